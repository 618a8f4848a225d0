//! Postgres access for our own tables (`generations`, `batches`, `scenes`): connecting,
//! migrations (ours and apalis-postgres's), and the queries both binaries run. Queries are
//! checked at run time (no live database needed to compile).

use crate::request::GenerationRequest;
use crate::response::{GenerationResponse, GenerationStatus};
use chrono::{DateTime, Utc};
use serde::Serialize;
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
    apalis_postgres::PostgresStorage::<()>::setup(pool).await?;
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

/// A `generations` row as users see it.
#[derive(Debug, Clone, Serialize)]
pub struct GenerationRow {
    pub id: String,
    pub status: GenerationStatus,
    pub prompt: String,
    pub request: serde_json::Value,
    pub response: Option<serde_json::Value>,
    pub error: Option<String>,
    pub attempts: i32,
    pub worker: Option<String>,
    pub batch_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

type RowTuple = (
    String,
    String,
    String,
    serde_json::Value,
    Option<serde_json::Value>,
    Option<String>,
    i32,
    Option<String>,
    Option<String>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

macro_rules! row_columns {
    () => {
        "id, status, prompt, request, response, error, attempts, worker, batch_id, created_at, \
         started_at, finished_at"
    };
}

fn row_from(t: RowTuple) -> GenerationRow {
    GenerationRow {
        status: GenerationStatus::parse(&t.1).unwrap_or(GenerationStatus::Failed),
        id: t.0,
        prompt: t.2,
        request: t.3,
        response: t.4,
        error: t.5,
        attempts: t.6,
        worker: t.7,
        batch_id: t.8,
        created_at: t.9,
        started_at: t.10,
        finished_at: t.11,
    }
}

impl GenerationRow {
    pub fn decode_response(&self) -> Result<Option<GenerationResponse>, DbError> {
        self.response
            .clone()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|source| DbError::Decode {
                id: self.id.clone(),
                source,
            })
    }
}

/// What [`insert_generation`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// A new row.
    New,
    /// The idempotency key names this generation, of the same request: nothing inserted.
    Existing(Ulid),
    /// The idempotency key names this generation of a different request: nothing inserted.
    Conflict(Ulid),
}

/// Inserts a queued generation row owned by `owner` (an API token's id; `None` for the
/// CLI), with the request's fingerprint beside its idempotency key, so a key reused with a
/// different request is told apart from a retry. Keys are per owner.
pub async fn insert_generation(
    conn: &mut sqlx::PgConnection,
    id: Ulid,
    request: &GenerationRequest,
    batch_id: Option<&str>,
    owner: Option<&str>,
) -> Result<Inserted, DbError> {
    let json = serde_json::to_value(request).map_err(|source| DbError::Decode {
        id: id.to_string(),
        source,
    })?;
    let hash = request.fingerprint();
    let inserted: Option<(String,)> = sqlx::query_as(
        "INSERT INTO generations (id, status, prompt, request, batch_id, idempotency_key,
                                  request_hash, owner)
         VALUES ($1, 'queued', $2, $3, $4, $5, $6, $7)
         ON CONFLICT ((COALESCE(owner, '')), idempotency_key) DO NOTHING
         RETURNING id",
    )
    .bind(id.to_string())
    .bind(&request.prompt)
    .bind(json)
    .bind(batch_id)
    .bind(&request.idempotency_key)
    .bind(&hash)
    .bind(owner)
    .fetch_optional(&mut *conn)
    .await?;
    if inserted.is_some() {
        return Ok(Inserted::New);
    }
    let (existing, stored): (String, Option<String>) = sqlx::query_as(
        "SELECT id, request_hash FROM generations
          WHERE idempotency_key = $1 AND COALESCE(owner, '') = COALESCE($2, '')",
    )
    .bind(&request.idempotency_key)
    .bind(owner)
    .fetch_one(&mut *conn)
    .await?;
    let existing = Ulid::from_string(&existing).unwrap_or(id);
    // Rows from before hashes were stored (NULL) are taken as the same request.
    Ok(match stored {
        Some(h) if h != hash => Inserted::Conflict(existing),
        _ => Inserted::Existing(existing),
    })
}

/// Marks a generation running for this attempt. Returns the status it had before, or `None`
/// when the row does not exist.
pub async fn mark_running(
    pool: &PgPool,
    id: Ulid,
    worker: &str,
    attempt: u32,
) -> Result<Option<GenerationStatus>, DbError> {
    let before: Option<(String,)> = sqlx::query_as(
        "WITH prev AS (SELECT status FROM generations WHERE id = $1 FOR UPDATE)
         UPDATE generations g
            SET status = CASE WHEN prev.status IN ('queued', 'running', 'failed')
                              THEN 'running' ELSE g.status END,
                attempts = GREATEST(g.attempts, $3),
                worker = $2,
                started_at = COALESCE(g.started_at, now()),
                updated_at = now()
           FROM prev
          WHERE g.id = $1
      RETURNING prev.status",
    )
    .bind(id.to_string())
    .bind(worker)
    .bind(attempt as i32)
    .fetch_optional(pool)
    .await?;
    Ok(before.and_then(|(s,)| GenerationStatus::parse(&s)))
}

/// Records a finished generation: an upsert keyed by the generation id, so a re-run after a
/// crash leaves one row with the latest response.
pub async fn record_success(
    pool: &PgPool,
    request: &GenerationRequest,
    response: &GenerationResponse,
) -> Result<(), DbError> {
    let id = response.id.to_string();
    let encode = |v: serde_json::Result<serde_json::Value>| {
        v.map_err(|source| DbError::Decode {
            id: id.clone(),
            source,
        })
    };
    let req = encode(serde_json::to_value(request))?;
    let resp = encode(serde_json::to_value(response))?;
    sqlx::query(
        "INSERT INTO generations (id, status, prompt, request, response, attempts, worker,
                                  started_at, finished_at)
         VALUES ($1, 'succeeded', $2, $3, $4, $5, $6, now(), now())
         ON CONFLICT (id) DO UPDATE
            SET status = 'succeeded', response = EXCLUDED.response, error = NULL,
                attempts = GREATEST(generations.attempts, EXCLUDED.attempts),
                worker = EXCLUDED.worker, finished_at = now(), updated_at = now()
          WHERE generations.status <> 'cancelled'",
    )
    .bind(&id)
    .bind(&request.prompt)
    .bind(req)
    .bind(resp)
    .bind(response.attempt as i32)
    .bind(&response.worker)
    .execute(pool)
    .await?;
    Ok(())
}

/// Records a failure with its reason. `terminal` failures end the generation; others leave
/// it queued for the next attempt with the last error visible.
pub async fn record_failure(
    pool: &PgPool,
    id: Ulid,
    error: &str,
    attempt: u32,
    terminal: bool,
) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE generations
            SET status = CASE WHEN $4 THEN 'failed' ELSE 'queued' END,
                error = $2, attempts = GREATEST(attempts, $3),
                finished_at = CASE WHEN $4 THEN now() ELSE finished_at END,
                updated_at = now()
          WHERE id = $1 AND status NOT IN ('succeeded', 'cancelled')",
    )
    .bind(id.to_string())
    .bind(error)
    .bind(attempt as i32)
    .bind(terminal)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn get_generation(pool: &PgPool, id: Ulid) -> Result<GenerationRow, DbError> {
    let row: Option<RowTuple> = sqlx::query_as(concat!(
        "SELECT ",
        row_columns!(),
        " FROM generations WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(pool)
    .await?;
    row.map(row_from).ok_or(DbError::NotFound(id))
}

/// Most recent generations first, optionally of one status.
pub async fn list_generations(
    pool: &PgPool,
    status: Option<GenerationStatus>,
    limit: i64,
) -> Result<Vec<GenerationRow>, DbError> {
    let rows: Vec<RowTuple> = sqlx::query_as(concat!(
        "SELECT ",
        row_columns!(),
        " FROM generations
          WHERE ($1::text IS NULL OR status = $1)
          ORDER BY created_at DESC, id DESC LIMIT $2"
    ))
    .bind(status.map(|s| s.as_str()))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(row_from).collect())
}

/// What a cancel request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "status")]
pub enum CancelOutcome {
    /// It was queued: it is cancelled and will never start.
    Cancelled,
    /// It is running: it stops at its next stage boundary and is then marked cancelled.
    Requested,
    /// It had already finished with this status; nothing changed.
    AlreadyFinished(GenerationStatus),
}

/// Cancels a generation: a queued one at once (its apalis task is killed so no worker
/// claims it), a running one by request (the worker checks between stages).
pub async fn cancel_generation(pool: &PgPool, id: Ulid) -> Result<CancelOutcome, DbError> {
    let mut tx = pool.begin().await?;
    let before: Option<(String,)> = sqlx::query_as(
        "WITH prev AS (SELECT status FROM generations WHERE id = $1 FOR UPDATE)
         UPDATE generations g
            SET status = CASE WHEN prev.status = 'queued' THEN 'cancelled' ELSE g.status END,
                error = CASE WHEN prev.status = 'queued' THEN 'cancelled before it started'
                             ELSE g.error END,
                finished_at = CASE WHEN prev.status = 'queued' THEN now() ELSE g.finished_at END,
                cancel_requested_at = CASE WHEN prev.status IN ('queued', 'running')
                                           THEN COALESCE(g.cancel_requested_at, now())
                                           ELSE g.cancel_requested_at END,
                updated_at = now()
           FROM prev
          WHERE g.id = $1
      RETURNING prev.status",
    )
    .bind(id.to_string())
    .fetch_optional(&mut *tx)
    .await?;
    let Some((before,)) = before else {
        return Err(DbError::NotFound(id));
    };
    let outcome = match GenerationStatus::parse(&before) {
        Some(GenerationStatus::Queued) => {
            sqlx::query(
                "UPDATE apalis.jobs SET status = 'Killed', done_at = now(),
                        last_result = '\"cancelled\"'::jsonb
                  WHERE id = $1 AND status IN ('Pending', 'Queued', 'Failed')",
            )
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
            CancelOutcome::Cancelled
        }
        Some(GenerationStatus::Running) => CancelOutcome::Requested,
        Some(other) => CancelOutcome::AlreadyFinished(other),
        None => CancelOutcome::AlreadyFinished(GenerationStatus::Failed),
    };
    tx.commit().await?;
    Ok(outcome)
}

/// Whether a cancel was asked for (workers check between stages).
pub async fn cancel_requested(pool: &PgPool, id: Ulid) -> Result<bool, DbError> {
    let row: Option<(bool,)> = sqlx::query_as(
        "SELECT cancel_requested_at IS NOT NULL OR status = 'cancelled' FROM generations WHERE id = $1",
    )
    .bind(id.to_string())
    .fetch_optional(pool)
    .await?;
    Ok(row.is_some_and(|(c,)| c))
}

/// Marks a running generation cancelled (by its worker, at a stage boundary).
pub async fn record_cancelled(pool: &PgPool, id: Ulid, at_stage: &str) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE generations
            SET status = 'cancelled', error = $2, finished_at = now(), updated_at = now()
          WHERE id = $1 AND status NOT IN ('succeeded', 'failed')",
    )
    .bind(id.to_string())
    .bind(format!("cancelled before stage {at_stage}"))
    .execute(pool)
    .await?;
    Ok(())
}

/// Who owns generation `id`: `None` when there is no such generation, `Some(None)` for work
/// submitted with the CLI (only admin tokens see it through the API).
pub async fn generation_owner(pool: &PgPool, id: Ulid) -> Result<Option<Option<String>>, DbError> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT owner FROM generations WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(o,)| o))
}

/// Queued and running generations of `owner` (its concurrent-job quota counts these).
pub async fn active_generations(pool: &PgPool, owner: &str) -> Result<i64, DbError> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM generations
          WHERE owner = $1 AND status IN ('queued', 'running')",
    )
    .bind(owner)
    .fetch_one(pool)
    .await?;
    Ok(n)
}

/// How many of `keys` (idempotency keys; `None`: no key, always new) name no generation of
/// `owner` yet, i.e. how many generations submitting them would add.
pub async fn new_generation_count(
    pool: &PgPool,
    owner: Option<&str>,
    keys: &[Option<&str>],
) -> Result<i64, DbError> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM UNNEST($1::text[]) AS k(key)
          WHERE k.key IS NULL
             OR NOT EXISTS (SELECT 1 FROM generations g
                             WHERE COALESCE(g.owner, '') = COALESCE($2, '')
                               AND g.idempotency_key = k.key)",
    )
    .bind(keys)
    .bind(owner)
    .fetch_one(pool)
    .await?;
    Ok(n)
}
