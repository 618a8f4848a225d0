//! The `generations` table: one row per accepted request — its status, request, response,
//! attempts, owner and idempotency key — and every statement that reads or writes it.
//! Queries are checked at run time (no live database needed to compile).

use crate::db::DbError;
use crate::tasks;
use chrono::{DateTime, Utc};
use resonantgen_core::request::GenerationRequest;
use resonantgen_core::response::{GenerationResponse, GenerationStatus};
use serde::Serialize;
use sqlx::PgPool;
use ulid::Ulid;

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
            tasks::kill_unclaimed(&mut tx, id).await?;
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

/// Columns of queued rows inserted together (one entry per row, in the same order).
pub struct QueuedRows<'a> {
    pub ids: &'a [String],
    pub prompts: &'a [&'a str],
    pub requests: &'a [serde_json::Value],
    pub external_ids: &'a [Option<&'a str>],
    pub idempotency_keys: &'a [Option<&'a str>],
    pub request_hashes: &'a [String],
}

/// Inserts queued rows of batch `batch_id` in one statement; a row whose idempotency key
/// the owner already used is skipped. Returns the ids inserted.
pub async fn insert_queued_many(
    conn: &mut sqlx::PgConnection,
    rows: &QueuedRows<'_>,
    batch_id: &str,
    owner: Option<&str>,
) -> Result<Vec<String>, sqlx::Error> {
    let inserted: Vec<(String,)> = sqlx::query_as(
        "INSERT INTO generations (id, status, prompt, request, batch_id, external_id,
                                  idempotency_key, request_hash, owner)
         SELECT id, 'queued', prompt, request, $5, external_id, key, hash, $8
           FROM UNNEST($1::text[], $2::text[], $3::jsonb[], $4::text[], $6::text[], $7::text[])
                AS t(id, prompt, request, external_id, key, hash)
         ON CONFLICT ((COALESCE(owner, '')), idempotency_key) DO NOTHING
         RETURNING id",
    )
    .bind(rows.ids)
    .bind(rows.prompts)
    .bind(rows.requests)
    .bind(rows.external_ids)
    .bind(batch_id)
    .bind(rows.idempotency_keys)
    .bind(rows.request_hashes)
    .bind(owner)
    .fetch_all(&mut *conn)
    .await?;
    Ok(inserted.into_iter().map(|(id,)| id).collect())
}

/// The owner's generations under `keys`: (idempotency key, id, request hash).
pub async fn by_idempotency_keys(
    conn: &mut sqlx::PgConnection,
    keys: &[&str],
    owner: Option<&str>,
) -> Result<Vec<(String, String, Option<String>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT idempotency_key, id, request_hash FROM generations
          WHERE idempotency_key = ANY($1) AND COALESCE(owner, '') = COALESCE($2, '')",
    )
    .bind(keys)
    .bind(owner)
    .fetch_all(&mut *conn)
    .await
}

/// How many generations of a batch have one status, and when they started and finished.
#[derive(sqlx::FromRow)]
pub struct StatusCount {
    pub status: String,
    pub count: i64,
    pub first_started: Option<DateTime<Utc>>,
    pub last_finished: Option<DateTime<Utc>>,
}

pub async fn status_counts_of_batch(
    pool: &PgPool,
    batch_id: &str,
) -> Result<Vec<StatusCount>, sqlx::Error> {
    sqlx::query_as(
        "SELECT status, count(*) AS count, min(started_at) AS first_started,
                max(finished_at) AS last_finished
           FROM generations WHERE batch_id = $1 GROUP BY status",
    )
    .bind(batch_id)
    .fetch_all(pool)
    .await
}

/// A generation of a batch as its export reads it.
#[derive(sqlx::FromRow)]
pub struct BatchLine {
    pub id: String,
    pub external_id: Option<String>,
    pub status: String,
    pub prompt: String,
    pub response: Option<serde_json::Value>,
    pub error: Option<String>,
}

/// Every generation of the batch, in submission order.
pub async fn of_batch(pool: &PgPool, batch_id: &str) -> Result<Vec<BatchLine>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, external_id, status, prompt, response, error
               FROM generations WHERE batch_id = $1 ORDER BY id",
    )
    .bind(batch_id)
    .fetch_all(pool)
    .await
}

/// A generation's status, request and response (`None`: no such generation).
pub async fn outcome(
    pool: &PgPool,
    id: Ulid,
) -> Result<
    Option<(
        GenerationStatus,
        serde_json::Value,
        Option<serde_json::Value>,
    )>,
    sqlx::Error,
> {
    let row: Option<(String, serde_json::Value, Option<serde_json::Value>)> =
        sqlx::query_as("SELECT status, request, response FROM generations WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(status, request, response)| {
        (
            GenerationStatus::parse(&status).unwrap_or(GenerationStatus::Failed),
            request,
            response,
        )
    }))
}

/// Generations per status, over the whole table (the queue-depth gauges).
pub async fn count_by_status(pool: &PgPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT status, count(*) FROM generations GROUP BY status")
        .fetch_all(pool)
        .await
}

/// Seconds the oldest queued generation has waited (`None`: nothing queued).
pub async fn oldest_queued_age(pool: &PgPool) -> Result<Option<f64>, sqlx::Error> {
    let (age,): (Option<f64>,) = sqlx::query_as(
        "SELECT EXTRACT(EPOCH FROM now() - min(created_at))::float8 FROM generations
          WHERE status = 'queued'",
    )
    .fetch_one(pool)
    .await?;
    Ok(age)
}

/// (batch id, status, count) for every batch that still has queued or running work.
pub async fn active_batch_counts(pool: &PgPool) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT g.batch_id, g.status, count(*) FROM generations g
          WHERE g.batch_id IN (SELECT DISTINCT batch_id FROM generations
                                WHERE batch_id IS NOT NULL AND status IN ('queued', 'running'))
          GROUP BY g.batch_id, g.status",
    )
    .fetch_all(pool)
    .await
}
