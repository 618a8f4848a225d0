//! The object store: one interface over S3 (aws-sdk-s3: AWS, MinIO, R2, s3s...) and a local
//! folder (the embedded default). Both use the same key layout (`keys`).
//!
//! Writes retry with backoff so a store that is briefly away does not fail a render; reads of
//! user-supplied objects are size-capped and, for `s3://` URIs, limited to allowed buckets
//! (checked at submission too: [`LockBuckets`]). The local folder never follows a symbolic
//! link (`local`).
//!
//! URIs handed to users never name a server path: S3 objects are `s3://bucket/key`, local
//! objects `store:<key>` (the key inside the store, which a lock URI also accepts).

pub mod keys;
mod local;
mod s3;

pub use keys::GenerationKeys;
pub use local::LocalStore;
pub use s3::{S3Settings, S3Store};

pub use resonantgen_core::lock_uri::{LockBuckets, STORE_URI_SCHEME};
use resonantgen_core::response::ObjectRef;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Largest object a worker will read (locked stems): 10 minutes of 24-bit 192 kHz stereo.
pub const MAX_READ_BYTES: u64 = 1 << 30;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("object '{0}' does not exist")]
    NotFound(String),
    #[error("object '{key}' is {size} bytes; the limit is {limit}")]
    TooLarge { key: String, size: u64, limit: u64 },
    #[error("bucket '{0}' is not in the allow-list of readable buckets")]
    BucketNotAllowed(String),
    #[error("s3:// URIs need an S3 store; this worker uses a local folder")]
    NoS3,
    #[error("invalid key '{key}': {reason}")]
    InvalidKey { key: String, reason: &'static str },
    /// The local store met a symbolic link (or a non-regular file) on the object's path.
    #[error("object '{key}' refused: {reason}")]
    Refused { key: String, reason: String },
    #[error("local store I/O on '{path}': {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("S3 {op} '{key}': {message}")]
    S3 {
        op: &'static str,
        key: String,
        message: String,
    },
    #[error("store configuration: {0}")]
    Config(String),
}

impl StoreError {
    /// Whether trying again may succeed (network or server trouble) — as opposed to a
    /// missing object or a forbidden bucket, which will fail the same way every time.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::S3 { .. } | StoreError::Io { .. })
    }
}

#[derive(Debug, Clone)]
pub enum ObjectStore {
    Local(LocalStore),
    S3(S3Store),
}

impl ObjectStore {
    /// S3 when `RESONANTGEN_S3_BUCKET` is set, else the folder `RESONANTGEN_STORE_DIR`
    /// (default `.local/store`).
    pub fn from_env() -> Result<Self, StoreError> {
        match S3Settings::from_env()? {
            Some(settings) => Ok(ObjectStore::S3(S3Store::new(settings))),
            None => {
                let root = std::env::var_os("RESONANTGEN_STORE_DIR")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from(".local/store"));
                Ok(ObjectStore::Local(LocalStore::new(root)?))
            }
        }
    }

    pub fn describe(&self) -> String {
        match self {
            ObjectStore::Local(l) => format!("local folder {}", l.root().display()),
            ObjectStore::S3(s) => format!("s3://{} at {}", s.bucket(), s.endpoint()),
        }
    }

    /// The URI users see for an object: `s3://bucket/key`, or `store:<key>` for the local
    /// folder (never the server's path).
    pub fn uri(&self, key: &str) -> String {
        match self {
            ObjectStore::Local(_) => format!("{STORE_URI_SCHEME}{key}"),
            ObjectStore::S3(s) => format!("s3://{}/{key}", s.bucket()),
        }
    }

    /// Writes an object, retrying transient failures with exponential backoff (about a minute
    /// in all) before giving up.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<ObjectRef, StoreError> {
        resonantgen_core::lock_uri::check_key(key).map_err(|reason| StoreError::InvalidKey {
            key: key.to_string(),
            reason,
        })?;
        let len = bytes.len() as u64;
        let bytes = Arc::new(bytes);
        let mut delay = Duration::from_millis(200);
        let mut attempt = 1;
        loop {
            let result = match self {
                ObjectStore::Local(l) => l.put(key, bytes.clone()).await,
                ObjectStore::S3(s) => s.put(key, bytes.as_ref().clone()).await,
            };
            match result {
                Ok(()) => break,
                Err(e) if e.is_transient() && attempt < 10 => {
                    tracing::warn!(key, attempt, error = %e, "store write failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(10));
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(ObjectRef {
            key: key.to_string(),
            uri: self.uri(key),
            bytes: len,
        })
    }

    /// `put` for an owned key (convenient with `join_all`).
    pub async fn put_owned(&self, key: String, bytes: Vec<u8>) -> Result<ObjectRef, StoreError> {
        self.put(&key, bytes).await
    }

    /// Reads an object of the store, refusing objects above `max_bytes`.
    pub async fn get(&self, key: &str, max_bytes: u64) -> Result<Vec<u8>, StoreError> {
        resonantgen_core::lock_uri::check_key(key).map_err(|reason| StoreError::InvalidKey {
            key: key.to_string(),
            reason,
        })?;
        match self {
            ObjectStore::Local(l) => l.get(key, max_bytes).await,
            ObjectStore::S3(s) => s.get(s.bucket(), key, max_bytes).await,
        }
    }

    /// Reads `s3://bucket/key`; the bucket must be the store's own or in the allow-list.
    pub async fn get_s3(
        &self,
        bucket: &str,
        key: &str,
        max_bytes: u64,
    ) -> Result<Vec<u8>, StoreError> {
        match self {
            ObjectStore::Local(_) => Err(StoreError::NoS3),
            ObjectStore::S3(s) => {
                if !s.bucket_allowed(bucket) {
                    return Err(StoreError::BucketNotAllowed(bucket.to_string()));
                }
                s.get(bucket, key, max_bytes).await
            }
        }
    }

    /// Keys under a prefix, sorted.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut keys = match self {
            ObjectStore::Local(l) => l.list(prefix).await?,
            ObjectStore::S3(s) => s.list(prefix).await?,
        };
        keys.sort();
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_uris_name_the_key_not_a_server_path() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::Local(LocalStore::new(dir.path().to_path_buf()).unwrap());
        let uri = store.uri("generations/01ABC/mix.wav");
        assert_eq!(uri, "store:generations/01ABC/mix.wav");
        assert!(!uri.contains(&dir.path().display().to_string()));
        // What a response shows is accepted back as a lock URI for the same object.
        assert_eq!(
            resonantgen_core::lock_uri::LockUri::parse(&uri),
            Ok(resonantgen_core::lock_uri::LockUri::Store {
                key: "generations/01ABC/mix.wav".into()
            })
        );
    }

    #[tokio::test]
    async fn a_refused_write_is_not_retried() {
        let dir = tempfile::tempdir().unwrap();
        let local = LocalStore::new(dir.path().join("store")).unwrap();
        std::os::unix::fs::symlink(dir.path(), local.root().join("generations")).unwrap();
        let store = ObjectStore::Local(local);
        let e = store
            .put("generations/x/mix.wav", b"x".to_vec())
            .await
            .unwrap_err();
        // Not transient: the retry loop gives up at once and the job fails with the reason.
        assert!(
            matches!(e, StoreError::Refused { .. }) && !e.is_transient(),
            "{e}"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "only the store"
        );
    }
}
