//! Settings both binaries read from the environment.

/// The Postgres URL: `DATABASE_URL`. Scripts in `ops/` start a local cluster and set it.
pub fn database_url() -> Result<String, String> {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            "DATABASE_URL is not set (ops/run.sh starts a local Postgres and sets it)".to_string()
        })
}
