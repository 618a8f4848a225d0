//! Who is calling the API, and what they may do. Every accepted bearer token has an id (the
//! owner recorded on the work it submits), scopes (`submit`, `read`, `admin`), a request rate
//! limit, a concurrent-job quota and a priority range. Tokens come from
//! `RESONANTGEN_API_TOKENS` (plain secrets: `submit` + `read`, the serve flags' limits) or
//! from `RESONANTGEN_API_TOKENS_FILE` (JSON, one entry per token, secrets or their SHA-256).
//! The middleware here authenticates (constant-time), checks the scope the method needs,
//! applies the rate limit, and hands the [`Caller`] to the handlers, which check ownership.

use super::{ApiError, Shared};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The priority range apalis accepts (task_for clamps to it).
pub const PRIORITY_BOUNDS: RangeInclusive<i32> = 0..=1000;
/// Longest token id.
const MAX_ID_BYTES: usize = 64;

/// What a token may do. `admin` implies the others and lifts ownership: an admin token sees
/// and cancels everyone's work, including the CLI's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Submit generations, batches and scenes; cancel and delete one's own.
    Submit,
    /// Read one's own generations, events, batches and scenes.
    Read,
    Admin,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Scope::Submit => "submit",
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }

    /// The scope a request needs: reading methods need `read`, the others `submit`.
    fn for_method(m: &Method) -> Scope {
        if m == Method::GET || m == Method::HEAD {
            Scope::Read
        } else {
            Scope::Submit
        }
    }
}

/// A token bucket: `per_second` requests on average, bursts of up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorityRange {
    pub min: i32,
    pub max: i32,
}

/// The limits a token gets where its entry sets none (the serve flags).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Defaults {
    pub rate: Option<RateLimit>,
    pub max_concurrent_jobs: Option<u64>,
    /// Highest priority a non-admin token may set (admin: up to 1000).
    pub max_priority: i32,
}

/// One entry of the tokens file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    id: String,
    #[serde(default)]
    secret: Option<String>,
    /// Hex SHA-256 of the secret (so the file need not hold the secret itself).
    #[serde(default)]
    sha256: Option<String>,
    scopes: Vec<Scope>,
    /// `{"per_second", "burst"}`; `per_second` 0 turns the limit off.
    #[serde(default)]
    rate_limit: Option<RateLimit>,
    /// Queued + running generations the token may own at once; 0: unlimited.
    #[serde(default)]
    max_concurrent_jobs: Option<u64>,
    #[serde(default)]
    priority: Option<PriorityRange>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokensFile {
    tokens: Vec<TokenEntry>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TokenConfigError {
    #[error("tokens file: {0}")]
    Parse(String),
    #[error("token id '{0}' must be 1–{MAX_ID_BYTES} bytes of letters, digits, '-', '_' or '.'")]
    BadId(String),
    #[error("token id '{0}' is used twice")]
    DuplicateId(String),
    #[error("token '{0}': give exactly one of \"secret\" or \"sha256\"")]
    SecretOrDigest(String),
    #[error("token '{0}': sha256 must be 64 hex digits")]
    BadDigest(String),
    #[error("token '{0}': the same secret is configured twice")]
    DuplicateSecret(String),
    #[error("token '{0}': no scopes (submit, read, admin)")]
    NoScopes(String),
    #[error("token '{0}': rate_limit needs per_second ≥ 0 and burst ≥ 1")]
    BadRate(String),
    #[error("token '{id}': priority range must lie within 0–1000 with min ≤ max")]
    BadPriority { id: String },
}

/// An accepted token, resolved.
#[derive(Debug, Clone)]
struct Token {
    digest: [u8; 32],
    caller: Caller,
    rate: Option<RateLimit>,
}

/// The request's authenticated caller, put into the request by the middleware.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    /// The owner recorded on the work it submits; `None` only without authentication
    /// (`--insecure-no-auth`), where everything is the CLI's.
    id: Option<Arc<str>>,
    scopes: BTreeSet<Scope>,
    max_concurrent_jobs: Option<u64>,
    priority: RangeInclusive<i32>,
}

impl Caller {
    /// The caller of a server without authentication: sees everything, owns nothing.
    fn unauthenticated() -> Caller {
        Caller {
            id: None,
            scopes: [Scope::Admin].into(),
            max_concurrent_jobs: None,
            priority: PRIORITY_BOUNDS,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.scopes.contains(&Scope::Admin)
    }

    fn has(&self, scope: Scope) -> bool {
        self.is_admin() || self.scopes.contains(&scope)
    }

    /// The owner to record on work this caller submits.
    pub fn owner(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// Whether this caller may see work owned by `owner` (`None`: the CLI's).
    pub fn sees(&self, owner: Option<&str>) -> bool {
        self.is_admin() || (self.id.is_some() && owner == self.id.as_deref())
    }

    /// The owner to filter listings by: `None` for an admin (everything).
    pub fn listing_filter(&self) -> Option<&str> {
        if self.is_admin() { None } else { self.owner() }
    }

    /// The concurrent-job quota, when one applies.
    pub fn quota(&self) -> Option<(&str, u64)> {
        Some((self.owner()?, self.max_concurrent_jobs?))
    }

    /// A request's priority is within this caller's range (422 naming `priority` if not).
    /// Unset means 0, which a token with a floor above 0 must not get by omission.
    pub fn check_priority(&self, priority: Option<i32>) -> Result<(), ApiError> {
        let (min, max) = (*self.priority.start(), *self.priority.end());
        let problem = match priority {
            Some(p) if !self.priority.contains(&p) => format!("priority {p} is outside"),
            None if min > 0 => "priority: unset is 0, outside".to_string(),
            _ => return Ok(()),
        };
        Err(
            ApiError::invalid(format!("{problem} this token's range {min}–{max}"))
                .with_details(serde_json::json!({"field": "priority", "min": min, "max": max})),
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::internal("route served without the auth middleware"))
    }
}

/// Every accepted token, the rate-limit buckets and the quota locks.
pub struct Tokens {
    tokens: Vec<Token>,
    /// Token id → (available requests, when last refilled).
    buckets: Mutex<HashMap<Arc<str>, (f64, Instant)>>,
    /// Token id → lock held while its quota is checked and work enqueued, so concurrent
    /// submissions of one token cannot both pass the check.
    quota_locks: Mutex<HashMap<Arc<str>, Arc<tokio::sync::Mutex<()>>>>,
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Equal digests, in time independent of where they differ.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_BYTES
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn parse_digest(hexed: &str) -> Option<[u8; 32]> {
    let h = hexed.trim();
    if h.len() != 64 || !h.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&h[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

impl Tokens {
    /// No authentication: every request is the [`Caller::unauthenticated`].
    pub fn is_open(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Plain secrets (`RESONANTGEN_API_TOKENS`) and the tokens file's entries. A plain
    /// secret gets the id `token-<first 12 hex digits of its SHA-256>` (stable however the
    /// list is ordered), the scopes `submit` and `read`, and the default limits.
    pub fn build(
        plain: &[String],
        file: Option<&str>,
        defaults: Defaults,
    ) -> Result<Tokens, TokenConfigError> {
        let mut tokens = Vec::new();
        for secret in plain.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
            let d = digest(secret.as_bytes());
            tokens.push(Token {
                digest: d,
                rate: defaults.rate,
                caller: Caller {
                    id: Some(format!("token-{}", &hex(&d)[..12]).into()),
                    scopes: [Scope::Submit, Scope::Read].into(),
                    max_concurrent_jobs: defaults.max_concurrent_jobs,
                    priority: PRIORITY_BOUNDS.start().to_owned()..=defaults.max_priority,
                },
            });
        }
        if let Some(text) = file {
            let parsed: TokensFile =
                serde_json::from_str(text).map_err(|e| TokenConfigError::Parse(e.to_string()))?;
            for e in parsed.tokens {
                tokens.push(Self::resolve(e, defaults)?);
            }
        }
        let mut ids = BTreeSet::new();
        for (i, t) in tokens.iter().enumerate() {
            let id = t.caller.id.as_deref().unwrap_or_default();
            if !ids.insert(id) {
                return Err(TokenConfigError::DuplicateId(id.to_string()));
            }
            if tokens[..i].iter().any(|o| o.digest == t.digest) {
                return Err(TokenConfigError::DuplicateSecret(id.to_string()));
            }
        }
        Ok(Tokens {
            tokens,
            buckets: Mutex::new(HashMap::new()),
            quota_locks: Mutex::new(HashMap::new()),
        })
    }

    fn resolve(e: TokenEntry, defaults: Defaults) -> Result<Token, TokenConfigError> {
        if !valid_id(&e.id) {
            return Err(TokenConfigError::BadId(e.id));
        }
        let digest = match (&e.secret, &e.sha256) {
            (Some(s), None) if !s.trim().is_empty() => digest(s.trim().as_bytes()),
            (None, Some(h)) => parse_digest(h).ok_or(TokenConfigError::BadDigest(e.id.clone()))?,
            _ => return Err(TokenConfigError::SecretOrDigest(e.id)),
        };
        if e.scopes.is_empty() {
            return Err(TokenConfigError::NoScopes(e.id));
        }
        let rate = match e.rate_limit {
            None => defaults.rate,
            Some(r) if !(r.per_second.is_finite() && r.per_second >= 0.0) || r.burst == 0 => {
                return Err(TokenConfigError::BadRate(e.id));
            }
            Some(r) if r.per_second == 0.0 => None,
            Some(r) => Some(r),
        };
        let scopes: BTreeSet<Scope> = e.scopes.into_iter().collect();
        let priority = match e.priority {
            Some(p)
                if p.min > p.max
                    || !PRIORITY_BOUNDS.contains(&p.min)
                    || !PRIORITY_BOUNDS.contains(&p.max) =>
            {
                return Err(TokenConfigError::BadPriority { id: e.id });
            }
            Some(p) => p.min..=p.max,
            None if scopes.contains(&Scope::Admin) => PRIORITY_BOUNDS,
            None => PRIORITY_BOUNDS.start().to_owned()..=defaults.max_priority,
        };
        let max_concurrent_jobs = match e.max_concurrent_jobs {
            Some(0) => None,
            Some(n) => Some(n),
            None => defaults.max_concurrent_jobs,
        };
        Ok(Token {
            digest,
            rate,
            caller: Caller {
                id: Some(e.id.into()),
                scopes,
                max_concurrent_jobs,
                priority,
            },
        })
    }

    /// The token whose secret is `presented`: every accepted token's digest is compared,
    /// in constant time (hashing first makes the comparison length-independent).
    fn find(&self, presented: &str) -> Option<&Token> {
        let d = digest(presented.as_bytes());
        self.tokens.iter().fold(None, |found, t| {
            found.or(constant_time_eq(&t.digest, &d).then_some(t))
        })
    }

    /// Takes one request from the token's bucket, or says how long until one is available.
    fn take(&self, id: &Arc<str>, rate: RateLimit, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let burst = f64::from(rate.burst);
        let (available, last) = buckets.entry(id.clone()).or_insert((burst, now));
        let refilled = (*available
            + now.saturating_duration_since(*last).as_secs_f64() * rate.per_second)
            .min(burst);
        *last = now;
        if refilled >= 1.0 {
            *available = refilled - 1.0;
            Ok(())
        } else {
            *available = refilled;
            Err(Duration::from_secs_f64((1.0 - refilled) / rate.per_second))
        }
    }

    /// The lock serialising `owner`'s quota checks and enqueues (within this process).
    pub fn quota_lock(&self, owner: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.quota_locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(owner.into()).or_default().clone()
    }
}

/// Authenticates, checks the scope the method needs and the token's rate limit, and puts
/// the [`Caller`] into the request.
pub async fn middleware(State(s): State<Shared>, mut req: Request, next: Next) -> Response {
    if s.tokens.is_open() {
        req.extensions_mut().insert(Caller::unauthenticated());
        return next.run(req).await;
    }
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        });
    let Some(presented) = presented else {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing bearer token (Authorization: Bearer <token>)",
        )
        .into_response();
    };
    let Some(token) = s.tokens.find(presented.trim()) else {
        return ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "invalid token")
            .into_response();
    };
    let needed = Scope::for_method(req.method());
    if !token.caller.has(needed) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("this token lacks the '{}' scope", needed.as_str()),
        )
        .into_response();
    }
    if let (Some(rate), Some(id)) = (token.rate, &token.caller.id)
        && let Err(wait) = s.tokens.take(id, rate, Instant::now())
    {
        return ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "this token's rate limit is {} requests/s (bursts of {}); retry later",
                rate.per_second, rate.burst
            ),
        )
        .retry_after(wait)
        .into_response();
    }
    req.extensions_mut().insert(token.caller.clone());
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULTS: Defaults = Defaults {
        rate: Some(RateLimit {
            per_second: 2.0,
            burst: 3,
        }),
        max_concurrent_jobs: Some(100),
        max_priority: 10,
    };

    #[test]
    fn token_comparison_is_exact() {
        let a = digest(b"secret-token");
        assert!(constant_time_eq(&a, &digest(b"secret-token")));
        assert!(!constant_time_eq(&a, &digest(b"secret-tokeN")));
        assert!(!constant_time_eq(&a, &digest(b"")));
    }

    #[test]
    fn plain_tokens_submit_and_read_their_own_work() {
        let t = Tokens::build(&["s1".into(), " s2 ".into(), "".into()], None, DEFAULTS).unwrap();
        assert_eq!(t.tokens.len(), 2);
        let c = &t.find("s2").unwrap().caller;
        assert!(c.has(Scope::Submit) && c.has(Scope::Read) && !c.is_admin());
        assert!(c.sees(c.owner()));
        assert!(!c.sees(None), "CLI work is admin-only");
        assert!(!c.sees(t.find("s1").unwrap().caller.owner()));
        assert_eq!(c.priority, 0..=10);
        assert!(t.find("s3").is_none());
        // Ids do not depend on the order of the list.
        let swapped = Tokens::build(&["s2".into(), "s1".into()], None, DEFAULTS).unwrap();
        assert_eq!(swapped.find("s2").unwrap().caller.id, c.id);
    }

    #[test]
    fn the_tokens_file_sets_scopes_and_limits() {
        let sha = hex(&digest(b"reader-secret"));
        let file = format!(
            r#"{{"tokens": [
                {{"id": "ops", "secret": "admin-secret", "scopes": ["admin"]}},
                {{"id": "dash", "sha256": "{sha}", "scopes": ["read"],
                  "rate_limit": {{"per_second": 0, "burst": 1}}, "max_concurrent_jobs": 0,
                  "priority": {{"min": 0, "max": 0}}}}]}}"#
        );
        let t = Tokens::build(&[], Some(&file), DEFAULTS).unwrap();
        let ops = t.find("admin-secret").unwrap();
        assert!(ops.caller.is_admin() && ops.caller.sees(None));
        assert_eq!(ops.caller.priority, PRIORITY_BOUNDS);
        assert_eq!(ops.rate, DEFAULTS.rate);
        let dash = t.find("reader-secret").unwrap();
        assert!(dash.caller.has(Scope::Read) && !dash.caller.has(Scope::Submit));
        assert_eq!(dash.rate, None);
        assert_eq!(dash.caller.max_concurrent_jobs, None);
        assert!(dash.caller.check_priority(Some(1)).is_err());
        assert!(dash.caller.check_priority(Some(0)).is_ok());
    }

    #[test]
    fn bad_token_files_are_refused_with_the_reason() {
        let cases = [
            (
                r#"{"tokens": [{"id": "a b", "secret": "x", "scopes": ["read"]}]}"#,
                "a b",
            ),
            (
                r#"{"tokens": [{"id": "a", "scopes": ["read"]}]}"#,
                "exactly one",
            ),
            (
                r#"{"tokens": [{"id": "a", "sha256": "zz", "scopes": ["read"]}]}"#,
                "64 hex",
            ),
            (
                r#"{"tokens": [{"id": "a", "secret": "x", "scopes": []}]}"#,
                "no scopes",
            ),
            (
                r#"{"tokens": [{"id": "a", "secret": "x", "scopes": ["root"]}]}"#,
                "root",
            ),
            (
                r#"{"tokens": [{"id": "a", "secret": "x", "scopes": ["read"], "priority": {"min": 5, "max": 1}}]}"#,
                "priority",
            ),
            (
                r#"{"tokens": [{"id": "a", "secret": "x", "scopes": ["read"]}, {"id": "a", "secret": "y", "scopes": ["read"]}]}"#,
                "twice",
            ),
            (
                r#"{"tokens": [{"id": "a", "secret": "x", "scopes": ["read"]}, {"id": "b", "secret": "x", "scopes": ["read"]}]}"#,
                "twice",
            ),
        ];
        for (file, needle) in cases {
            let err = Tokens::build(&[], Some(file), DEFAULTS)
                .err()
                .unwrap_or_else(|| panic!("accepted {file}"))
                .to_string();
            assert!(err.contains(needle), "{file}: {err}");
        }
    }

    #[test]
    fn the_bucket_allows_bursts_then_the_rate() {
        let t = Tokens::build(&["s".into()], None, DEFAULTS).unwrap();
        let id: Arc<str> = "x".into();
        let rate = DEFAULTS.rate.unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(t.take(&id, rate, t0).is_ok());
        }
        let wait = t.take(&id, rate, t0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-6, "{wait:?}");
        assert!(t.take(&id, rate, t0 + Duration::from_millis(500)).is_ok());
        assert!(t.take(&id, rate, t0 + Duration::from_millis(500)).is_err());
    }
}
