//! The `batches` table: one row per enqueued catalog (its name, source, size, fingerprint
//! and owner), and every statement that reads or writes it.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use ulid::Ulid;

/// A batch about to be written.
pub struct NewBatch<'a> {
    pub name: Option<&'a str>,
    /// Valid lines of the catalog.
    pub total: usize,
    /// The catalog's fingerprint: the same catalog submitted again finds this batch.
    pub catalog_key: &'a str,
    pub source: Option<&'a str>,
    pub owner: Option<&'a str>,
}

/// A stored batch.
#[derive(sqlx::FromRow)]
pub struct BatchRow {
    pub id: String,
    pub name: Option<String>,
    pub source: Option<String>,
    pub total: i32,
    pub created_at: DateTime<Utc>,
}

/// Inserts the batch, or finds the owner's batch of the same catalog; returns its id and
/// whether it is new.
pub async fn insert_or_find(
    conn: &mut sqlx::PgConnection,
    batch: &NewBatch<'_>,
) -> Result<(String, bool), sqlx::Error> {
    sqlx::query_as(
        "INSERT INTO batches (id, name, total, catalog_key, source, owner)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT ((COALESCE(owner, '')), catalog_key)
            DO UPDATE SET catalog_key = EXCLUDED.catalog_key
         RETURNING id, (xmax = 0)",
    )
    .bind(Ulid::generate().to_string())
    .bind(batch.name)
    .bind(i32::try_from(batch.total).unwrap_or(i32::MAX))
    .bind(batch.catalog_key)
    .bind(batch.source)
    .bind(batch.owner)
    .fetch_one(&mut *conn)
    .await
}

/// Sets how many generations the batch holds.
pub async fn set_total(
    conn: &mut sqlx::PgConnection,
    id: &str,
    total: usize,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE batches SET total = $2 WHERE id = $1")
        .bind(id)
        .bind(i32::try_from(total).unwrap_or(i32::MAX))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn get(pool: &PgPool, id: &str) -> Result<Option<BatchRow>, sqlx::Error> {
    sqlx::query_as("SELECT id, name, source, total, created_at FROM batches WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Who owns batch `id`: `None` when there is no such batch, `Some(None)` for a batch
/// submitted with the CLI.
pub async fn owner(pool: &PgPool, id: &str) -> Result<Option<Option<String>>, sqlx::Error> {
    let row: Option<(Option<String>,)> = sqlx::query_as("SELECT owner FROM batches WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|(o,)| o))
}
