//! The queue: the job payload, the apalis-postgres configuration both sides agree on, and
//! submission — the generation row and the apalis task are written in one transaction, so a
//! request is either fully accepted or not at all.

use crate::db::{self, DbError};
use crate::request::{GenerationRequest, ValidationError};
use apalis::prelude::{TaskBuilder, TaskId};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use std::time::Duration;
use ulid::Ulid;

/// The apalis queue (job_type) of generation jobs.
pub const QUEUE: &str = "resonantgen.generations";
/// Attempts before a job that keeps failing transiently is given up.
pub const MAX_ATTEMPTS: u32 = 5;
/// Short heartbeats so retried and rescued jobs start within seconds (apalis sleeps until the
/// next heartbeat after an empty fetch; LISTEN/NOTIFY only announces fresh inserts).
pub const HEARTBEAT: Duration = Duration::from_secs(2);
/// A worker unseen for HEARTBEAT × MISSED_HEARTBEATS (30 s) is presumed dead and its jobs
/// are re-queued.
pub const MISSED_HEARTBEATS: usize = 15;

/// The apalis task payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationJob {
    pub id: Ulid,
    pub request: GenerationRequest,
}

/// The apalis-postgres storage configuration for the generation queue.
pub fn storage_config(batch_size: usize) -> apalis_postgres::Config {
    apalis_postgres::Config::default()
        .queue(QUEUE)
        .batch_size(batch_size.max(1))
        .heartbeat_interval(HEARTBEAT)
        .missed_heartbeats(MISSED_HEARTBEATS)
        .persist_results(true)
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
    Ok(TaskBuilder::new(serde_json::to_vec(job)?)
        .task_id(TaskId::from_ulid(job.id))
        .max_attempts(MAX_ATTEMPTS as usize)
        .priority(priority)
        .build())
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
    if let Some(existing) = db::insert_generation(&mut tx, id, &request, batch_id, owner).await? {
        tx.commit().await?;
        return Ok(Submitted::Existing(existing));
    }
    let task = task_for(&GenerationJob { id, request })?;
    apalis_postgres::queries::push_tasks(&mut *tx, QUEUE, vec![task]).await?;
    tx.commit().await?;
    Ok(Submitted::Queued(id))
}

/// Counts of the queue's apalis tasks that are not finished (pending, queued, running, or
/// failed with attempts left).
pub async fn unfinished_tasks(pool: &PgPool) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM apalis.jobs
          WHERE job_type = $1
            AND (status IN ('Pending', 'Queued', 'Running')
                 OR (status = 'Failed' AND attempts < max_attempts))",
    )
    .bind(QUEUE)
    .fetch_one(pool)
    .await?;
    Ok(n)
}
