//! Lock URIs: where a locked stem comes from. Parsed and checked before any read — keys are
//! never concatenated from unchecked user text.
//!
//! Forms: `s3://bucket/key.wav`, `gen:<generation id>/<track>`, or a store-relative key
//! (`uploads/loop.wav`, also written `store:uploads/loop.wav` — the form responses use for
//! objects of a local-folder store, so any URI a response shows can be locked again).
//! Whether an `s3://` bucket is readable is the store's configuration ([`LockBuckets`]),
//! read from the same environment as the store and checked at submission.

use crate::track::TrackType;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::OnceLock;
use ulid::Ulid;

pub const MAX_URI_LEN: usize = 1024;

/// Scheme of the URIs of local-store objects: `store:generations/<id>/mix.wav`.
pub const STORE_URI_SCHEME: &str = "store:";

/// Which buckets `s3://` lock URIs may name, as this process's environment configures the
/// store. Submitters read the same variables as the workers (`RESONANTGEN_S3_BUCKET`,
/// `RESONANTGEN_S3_ALLOWED_BUCKETS`), so a lock a worker would refuse is refused at
/// submission instead of failing the job later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockBuckets {
    /// No bucket configured: the store is a local folder and no `s3://` object is readable.
    LocalFolder,
    /// The store's bucket plus the allow-list.
    S3 {
        bucket: String,
        allowed: Vec<String>,
    },
}

impl LockBuckets {
    pub fn from_env() -> Self {
        match env("RESONANTGEN_S3_BUCKET") {
            Some(bucket) => LockBuckets::S3 {
                bucket,
                allowed: allowed_buckets_from_env(),
            },
            None => LockBuckets::LocalFolder,
        }
    }

    /// The process's configuration, read once (the environment does not change under a
    /// running server).
    pub fn configured() -> &'static LockBuckets {
        static BUCKETS: OnceLock<LockBuckets> = OnceLock::new();
        BUCKETS.get_or_init(LockBuckets::from_env)
    }

    /// Whether a lock may read `s3://<bucket>/…`; the reason when not.
    pub fn check(&self, bucket: &str) -> Result<(), String> {
        match self {
            LockBuckets::LocalFolder => Err(format!(
                "s3://{bucket}/… needs an S3 store, and this deployment stores objects in a \
                 local folder (RESONANTGEN_S3_BUCKET is unset); use a store key or gen:<id>/<track>"
            )),
            LockBuckets::S3 {
                bucket: own,
                allowed,
            } => {
                if bucket == own || allowed.iter().any(|b| b == bucket) {
                    Ok(())
                } else {
                    Err(format!(
                        "bucket '{bucket}' is neither the store's bucket '{own}' nor in \
                         RESONANTGEN_S3_ALLOWED_BUCKETS"
                    ))
                }
            }
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// `RESONANTGEN_S3_ALLOWED_BUCKETS`, split on commas.
pub fn allowed_buckets_from_env() -> Vec<String> {
    env("RESONANTGEN_S3_ALLOWED_BUCKETS")
        .map(|v| {
            v.split(',')
                .map(|b| b.trim().to_string())
                .filter(|b| !b.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LockUri {
    S3 { bucket: String, key: String },
    Generation { id: Ulid, track: TrackType },
    Store { key: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockUriError {
    #[error("lock URI is empty")]
    Empty,
    #[error("lock URI is longer than {MAX_URI_LEN} bytes")]
    TooLong,
    #[error("lock URI '{0}': expected s3://bucket/key, gen:<id>/<track> or a store key")]
    Form(String),
    #[error("lock URI '{0}': bucket name is not valid")]
    Bucket(String),
    #[error("lock URI '{uri}': key {reason}")]
    Key { uri: String, reason: &'static str },
    #[error("lock URI '{0}': generation id is not a ULID")]
    GenerationId(String),
    #[error("lock URI '{uri}': {source}")]
    Track {
        uri: String,
        source: crate::track::UnknownTrack,
    },
}

/// Checks an object key: relative, no `..` or empty segments, printable ASCII only.
pub fn check_key(key: &str) -> Result<(), &'static str> {
    if key.is_empty() {
        return Err("is empty");
    }
    if key.starts_with('/') {
        return Err("must be relative (starts with '/')");
    }
    if key.split('/').any(|seg| seg == ".." || seg == ".") {
        return Err("contains a '.' or '..' segment");
    }
    if key.split('/').any(str::is_empty) {
        return Err("contains an empty segment");
    }
    if !key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.~/+=@,".contains(c))
    {
        return Err("contains characters outside [A-Za-z0-9-_.~/+=@,]");
    }
    Ok(())
}

fn valid_bucket(b: &str) -> bool {
    (3..=63).contains(&b.len())
        && b.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && !b.starts_with(['-', '.'])
        && !b.contains("..")
}

impl LockUri {
    pub fn parse(uri: &str) -> Result<LockUri, LockUriError> {
        let uri = uri.trim();
        if uri.is_empty() {
            return Err(LockUriError::Empty);
        }
        if uri.len() > MAX_URI_LEN {
            return Err(LockUriError::TooLong);
        }
        let key_err = |reason| LockUriError::Key {
            uri: uri.to_string(),
            reason,
        };
        if let Some(rest) = uri.strip_prefix("s3://") {
            let (bucket, key) = rest
                .split_once('/')
                .ok_or_else(|| LockUriError::Form(uri.to_string()))?;
            if !valid_bucket(bucket) {
                return Err(LockUriError::Bucket(uri.to_string()));
            }
            check_key(key).map_err(key_err)?;
            return Ok(LockUri::S3 {
                bucket: bucket.to_string(),
                key: key.to_string(),
            });
        }
        if let Some(rest) = uri.strip_prefix("gen:") {
            let (id, track) = rest
                .split_once('/')
                .ok_or_else(|| LockUriError::Form(uri.to_string()))?;
            // Strict: `gen:8…` must not alias `gen:0…`.
            let id = crate::text::parse_ulid(id)
                .map_err(|_| LockUriError::GenerationId(uri.to_string()))?;
            let track = TrackType::parse(track).map_err(|source| LockUriError::Track {
                uri: uri.to_string(),
                source,
            })?;
            return Ok(LockUri::Generation { id, track });
        }
        if let Some(key) = uri.strip_prefix(STORE_URI_SCHEME) {
            check_key(key).map_err(key_err)?;
            return Ok(LockUri::Store {
                key: key.to_string(),
            });
        }
        if uri.contains("://") {
            return Err(LockUriError::Form(uri.to_string()));
        }
        check_key(uri).map_err(key_err)?;
        Ok(LockUri::Store {
            key: uri.to_string(),
        })
    }
}

impl fmt::Display for LockUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockUri::S3 { bucket, key } => write!(f, "s3://{bucket}/{key}"),
            LockUri::Generation { id, track } => write!(f, "gen:{id}/{track}"),
            LockUri::Store { key } => f.write_str(key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_buckets_are_the_stores_own_and_the_allow_list() {
        let s3 = LockBuckets::S3 {
            bucket: "ours".into(),
            allowed: vec!["shared-loops".into()],
        };
        assert!(s3.check("ours").is_ok());
        assert!(s3.check("shared-loops").is_ok());
        let e = s3.check("theirs").unwrap_err();
        assert!(
            e.contains("'theirs'") && e.contains("RESONANTGEN_S3_ALLOWED_BUCKETS"),
            "{e}"
        );
        let e = LockBuckets::LocalFolder.check("ours").unwrap_err();
        assert!(e.contains("local folder"), "{e}");
    }

    #[test]
    fn parses_three_forms() {
        assert!(matches!(
            LockUri::parse("s3://my-bucket/loops/a.wav"),
            Ok(LockUri::S3 { .. })
        ));
        let id = Ulid::generate();
        assert!(matches!(
            LockUri::parse(&format!("gen:{id}/drums")),
            Ok(LockUri::Generation { .. })
        ));
        assert!(matches!(
            LockUri::parse("uploads/a.wav"),
            Ok(LockUri::Store { .. })
        ));
        // The store: form of a response URI is the same store key.
        assert_eq!(
            LockUri::parse("store:generations/01ABC/stems/drums.wav"),
            LockUri::parse("generations/01ABC/stems/drums.wav")
        );
    }

    #[test]
    fn rejects_traversal_and_junk() {
        for bad in [
            "",
            "s3://b/../etc/passwd",
            "../secret.wav",
            "/etc/passwd",
            "s3://UPPER/x.wav",
            "s3://bucket",
            "http://example.com/a.wav",
            "gen:notanid/drums",
            "gen:81M8F9MYTCA9DADJ0QYYRVF5ZB/drums",
            "uploads//a.wav",
            "a b.wav",
            "store:",
            "store:../x.wav",
            "store:/etc/passwd",
            "file:///etc/passwd",
        ] {
            assert!(LockUri::parse(bad).is_err(), "{bad}");
        }
        let e = LockUri::parse(&format!("gen:{}/kazoo", Ulid::generate())).unwrap_err();
        assert!(e.to_string().contains("kazoo"));
    }
}
