//! The Postgres connection: connecting (with retries while the server starts), the
//! migrations (ours and apalis-postgres's), the check that read-only commands make instead
//! of migrating, and the error type every table module returns. The statements themselves
//! live in one module per table (`generations`, `batches`, `scenes`, `events`, `tasks`).

use sqlx::postgres::{PgPool, PgPoolOptions};
use std::time::Duration;
use ulid::Ulid;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("apalis setup: {0}")]
    Apalis(#[from] apalis_postgres::Error),
    #[error("generation {0} not found")]
    NotFound(Ulid),
    #[error("stored JSON of generation {id} does not decode: {source}")]
    Decode {
        id: String,
        source: serde_json::Error,
    },
}

/// Connects, retrying for up to `wait` while the server is starting.
pub async fn connect(url: &str, max_connections: u32, wait: Duration) -> Result<PgPool, DbError> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
        {
            Ok(pool) => return Ok(pool),
            Err(e) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(error = %e, "database not reachable yet; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Applies apalis-postgres's migrations and ours. Safe to run from many processes at once
/// (sqlx takes an advisory lock).
pub async fn migrate(pool: &PgPool) -> Result<(), DbError> {
    crate::tasks::setup(pool).await?;
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// Our migrations (migrations/), embedded at build time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Whether the schema lacks migrations of this build, without applying any (for read-only
/// commands): `Some(what is missing)` when it does.
pub async fn schema_behind(pool: &PgPool) -> Result<Option<String>, DbError> {
    let latest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let applied: Option<i64> =
        match sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await
        {
            Ok(v) => v,
            // 42P01 undefined_table: nothing was ever migrated here.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => None,
            Err(e) => return Err(e.into()),
        };
    Ok(match applied {
        Some(v) if v >= latest => None,
        Some(v) => Some(format!(
            "the database's schema is at migration {v}; this build needs {latest}"
        )),
        None => Some("the database has no ResonantGen schema yet".to_string()),
    })
}

/// Whether the database answers (the API's readiness probe).
pub async fn ping(pool: &PgPool) -> Result<(), DbError> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}
