//! The commands' connections to Postgres, and their id arguments. Commands that write
//! (submit, batch, cancel, scene save/delete/use, serve, migrate) bring the schema up to date
//! first; commands that only read (get, status, wait, fetch, summary, list, batch-status,
//! export, scene list/show) never run DDL against a deployment — they check that the schema
//! is the one this build expects and say what to run when it is not.

use anyhow::Context;
use resonantgen_infra::{config, db};
use std::time::Duration;

async fn connect() -> anyhow::Result<sqlx::PgPool> {
    let url = config::database_url().map_err(anyhow::Error::msg)?;
    db::connect(&url, 4, Duration::from_secs(10))
        .await
        .context("connecting to Postgres")
}

/// A pool for a command that writes: migrations applied.
pub async fn writer() -> anyhow::Result<sqlx::PgPool> {
    let pool = connect().await?;
    db::migrate(&pool).await.context("applying migrations")?;
    Ok(pool)
}

/// A pool for a command that only reads: no DDL; refused when the schema is behind.
pub async fn reader() -> anyhow::Result<sqlx::PgPool> {
    let pool = connect().await?;
    if let Some(behind) = db::schema_behind(&pool)
        .await
        .context("checking the schema")?
    {
        anyhow::bail!("{behind}: run `resonantgen migrate` (or submit something) first");
    }
    Ok(pool)
}

/// A generation id argument, parsed strictly (`8…` is no alias of `0…`).
pub fn parse_id(id: &str) -> anyhow::Result<ulid::Ulid> {
    resonantgen_core::text::parse_ulid(id.trim()).map_err(|e| anyhow::anyhow!("generation id: {e}"))
}
