//! The queue: the job payload and submission — the generation row and the apalis task are
//! written in one transaction, so a request is either fully accepted or not at all. The
//! apalis side (its configuration, the drain and settle queries) is `tasks`, re-exported
//! here so callers see one queue.

use crate::db::DbError;
use crate::generations;
use crate::tasks;
use resonantgen_core::request::{GenerationRequest, ValidationError};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use ulid::Ulid;

pub use crate::tasks::{
    HEARTBEAT, MAX_ATTEMPTS, MISSED_HEARTBEATS, QUEUE, Unacked, finished_unacked, settle_finished,
    storage_config, tasks_to_drain, unfinished_tasks,
};

/// The apalis task payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationJob {
    pub id: Ulid,
    pub request: GenerationRequest,
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("invalid request: {0}")]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("enqueue: {0}")]
    Queue(#[from] apalis_postgres::Error),
    #[error("encode job: {0}")]
    Encode(#[from] serde_json::Error),
    /// The idempotency key names a generation of a different request (on `line` of a
    /// catalog): returning that generation would silently drop this request.
    #[error(
        "{}idempotency_key '{key}' was already used by generation {existing} with a different \
         request; resend the same request to get that generation, or use a new key",
        line.map(|l| format!("line {l}: ")).unwrap_or_default()
    )]
    IdempotencyConflict {
        line: Option<usize>,
        key: String,
        existing: Ulid,
    },
}

impl From<sqlx::Error> for SubmitError {
    fn from(e: sqlx::Error) -> Self {
        SubmitError::Db(DbError::Sqlx(e))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "id", rename_all = "snake_case")]
pub enum Submitted {
    /// A new generation was queued.
    Queued(Ulid),
    /// The idempotency key named an existing generation; nothing was queued.
    Existing(Ulid),
}

impl Submitted {
    pub fn id(self) -> Ulid {
        match self {
            Submitted::Queued(id) | Submitted::Existing(id) => id,
        }
    }
}

/// Builds the apalis task for a generation.
pub fn task_for(job: &GenerationJob) -> Result<apalis_postgres::PgTask, serde_json::Error> {
    let priority = job.request.priority.unwrap_or(0).clamp(0, 1000) as usize;
    Ok(tasks::task(job.id, serde_json::to_vec(job)?, priority))
}

/// Validates and enqueues one request (CLI work: no owner).
pub async fn submit(
    pool: &PgPool,
    request: GenerationRequest,
    batch_id: Option<&str>,
) -> Result<Submitted, SubmitError> {
    submit_owned(pool, request, batch_id, None).await
}

/// Validates and enqueues one request owned by `owner` (an API token's id).
pub async fn submit_owned(
    pool: &PgPool,
    request: GenerationRequest,
    batch_id: Option<&str>,
    owner: Option<&str>,
) -> Result<Submitted, SubmitError> {
    request.validate()?;
    let id = Ulid::generate();
    let mut tx = pool.begin().await?;
    match generations::insert_generation(&mut tx, id, &request, batch_id, owner).await? {
        generations::Inserted::New => {}
        generations::Inserted::Existing(existing) => {
            tx.commit().await?;
            return Ok(Submitted::Existing(existing));
        }
        generations::Inserted::Conflict(existing) => {
            return Err(SubmitError::IdempotencyConflict {
                line: None,
                key: request.idempotency_key.unwrap_or_default(),
                existing,
            });
        }
    }
    let task = task_for(&GenerationJob { id, request })?;
    tasks::push(&mut tx, vec![task]).await?;
    tx.commit().await?;
    Ok(Submitted::Queued(id))
}
