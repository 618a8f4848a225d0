//! apalis's own tables (`apalis.jobs`, `apalis.workers`): the one module that reads or
//! writes them, so an apalis-postgres upgrade that changes its schema is checked here and
//! nowhere else. It holds the queue's configuration both sides agree on, building and
//! pushing tasks, the queries a worker uses to know when it has drained the queue and to
//! settle tasks whose acknowledgement was lost, killing a cancelled task, pruning finished
//! ones, and counting live workers.

use apalis::prelude::{TaskBuilder, TaskId};
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

/// The apalis-postgres storage configuration for the generation queue.
///
/// Tasks are fetched one at a time, whatever the worker's concurrency. apalis-core 1.0's
/// `Persisted` backend sends heartbeats (and stores acks) only while its fetch buffer is
/// empty: a fetch that returns more tasks than the worker has free slots leaves the rest
/// buffered, and the loop then waits for a slot without heartbeating — for as long as the
/// running jobs take. Past the orphan window other workers re-queue this worker's jobs and
/// run them a second time. A batch of one never leaves anything buffered (a worker with
/// two free slots simply fetches twice); worker/src/watchdog.rs has the whole story.
pub fn storage_config() -> apalis_postgres::Config {
    apalis_postgres::Config::default()
        .queue(QUEUE)
        .batch_size(1)
        .heartbeat_interval(HEARTBEAT)
        .missed_heartbeats(MISSED_HEARTBEATS)
        .persist_results(true)
}

/// Creates or upgrades apalis-postgres's schema.
pub async fn setup(pool: &PgPool) -> Result<(), apalis_postgres::Error> {
    apalis_postgres::PostgresStorage::<()>::setup(pool).await
}

/// An apalis task of our queue: `payload` under the generation's id.
pub fn task(id: Ulid, payload: Vec<u8>, priority: usize) -> apalis_postgres::PgTask {
    TaskBuilder::new(payload)
        .task_id(TaskId::from_ulid(id))
        .max_attempts(MAX_ATTEMPTS as usize)
        .priority(priority)
        .build()
}

/// Pushes tasks inside the caller's transaction (so they commit with their generations).
pub async fn push(
    conn: &mut sqlx::PgConnection,
    tasks: Vec<apalis_postgres::PgTask>,
) -> Result<(), apalis_postgres::Error> {
    apalis_postgres::queries::push_tasks(&mut *conn, QUEUE, tasks).await
}

/// Kills the task of a generation cancelled before any worker ran it, so none claims it.
pub async fn kill_unclaimed(conn: &mut sqlx::PgConnection, id: Ulid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE apalis.jobs SET status = 'Killed', done_at = now(),
                last_result = '\"cancelled\"'::jsonb
          WHERE id = $1 AND status IN ('Pending', 'Queued', 'Failed')",
    )
    .bind(id.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Deletes the queue's tasks that are Done or Killed, or Failed with no attempt left,
/// finished at least `older_than` ago; returns how many.
pub async fn prune_finished(
    conn: &mut sqlx::PgConnection,
    older_than: Duration,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "DELETE FROM apalis.jobs
          WHERE job_type = $1
            AND (status IN ('Done', 'Killed')
                 OR (status = 'Failed' AND attempts >= max_attempts))
            AND done_at IS NOT NULL
            AND done_at <= now() - make_interval(secs => $2)",
    )
    .bind(QUEUE)
    .bind(older_than.as_secs_f64())
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// Workers of our queue seen within `within_seconds`.
pub async fn live_workers(pool: &PgPool, within_seconds: f64) -> Result<i64, sqlx::Error> {
    let (live,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM apalis.workers
          WHERE worker_type = $1 AND last_seen > now() - make_interval(secs => $2)",
    )
    .bind(QUEUE)
    .bind(within_seconds)
    .fetch_one(pool)
    .await?;
    Ok(live)
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

/// What a draining worker still waits for: the unfinished tasks of [`unfinished_tasks`],
/// except claimed ones (`Queued`/`Running`) whose generation has already ended. Such a task
/// has nothing left to do but its acknowledgement — which its worker writes on the way out,
/// or [`settle_finished`] does — so a drain never waits forever on a lost ack. Pending and
/// retrying tasks still count even when their generation ended (a cancel): a worker takes
/// them, sees that, and acknowledges them within moments.
pub async fn tasks_to_drain(pool: &PgPool) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM apalis.jobs j
           LEFT JOIN generations g ON g.id = j.id
          WHERE j.job_type = $1
            AND (j.status IN ('Pending', 'Queued', 'Running')
                 OR (j.status = 'Failed' AND j.attempts < j.max_attempts))
            AND NOT (j.status IN ('Queued', 'Running')
                     AND g.status IN ('succeeded', 'failed', 'cancelled'))",
    )
    .bind(QUEUE)
    .fetch_one(pool)
    .await?;
    Ok(n)
}

/// A claimed task whose generation has ended but which is not acknowledged.
#[derive(Debug, Clone, PartialEq)]
pub struct Unacked {
    pub id: String,
    /// The worker (run name) that claimed it.
    pub worker: String,
    /// Seconds since its generation ended.
    pub finished_secs: f64,
}

/// Claimed tasks of `workers` whose generation ended at least `older_than` ago and that
/// are still not acknowledged: the ack was lost on its way to the database.
pub async fn finished_unacked(
    pool: &PgPool,
    workers: &[String],
    older_than: Duration,
) -> Result<Vec<Unacked>, sqlx::Error> {
    let rows: Vec<(String, String, f64)> = sqlx::query_as(
        "SELECT j.id, j.lock_by,
                extract(epoch FROM now() - COALESCE(g.finished_at, g.updated_at))::float8
           FROM apalis.jobs j
           JOIN generations g ON g.id = j.id
          WHERE j.job_type = $1
            AND j.lock_by = ANY($2)
            AND j.status IN ('Queued', 'Running')
            AND g.status IN ('succeeded', 'failed', 'cancelled')
            AND COALESCE(g.finished_at, g.updated_at) <= now() - $3 * interval '1 second'
          ORDER BY j.id",
    )
    .bind(QUEUE)
    .bind(workers)
    .bind(older_than.as_secs_f64())
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, worker, finished_secs)| Unacked {
            id,
            worker,
            finished_secs,
        })
        .collect())
}

/// Acknowledges, as apalis would have, the claimed tasks of `workers` whose generation has
/// ended (`ids` narrows it to those tasks): `Done` for a generation that succeeded or was
/// cancelled, `Killed` (never retried) for one that failed for good. Only for workers of
/// this process that no longer run those tasks: the queue loop that claimed them was
/// restarted, or the process is exiting. Returns the ids settled.
pub async fn settle_finished(
    pool: &PgPool,
    workers: &[String],
    ids: Option<&[String]>,
) -> Result<Vec<String>, sqlx::Error> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "UPDATE apalis.jobs j
            SET status = CASE WHEN g.status = 'failed' THEN 'Killed' ELSE 'Done' END,
                attempts = GREATEST(j.attempts, g.attempts),
                done_at = now(),
                last_result = CASE WHEN g.status = 'failed'
                                   THEN jsonb_build_object('Err', COALESCE(g.error, 'failed'))
                                   ELSE '{\"Ok\": null}'::jsonb END
           FROM generations g
          WHERE g.id = j.id
            AND j.job_type = $1
            AND j.lock_by = ANY($2)
            AND ($3::text[] IS NULL OR j.id = ANY($3))
            AND j.status IN ('Queued', 'Running')
            AND g.status IN ('succeeded', 'failed', 'cancelled')
      RETURNING j.id",
    )
    .bind(QUEUE)
    .bind(workers)
    .bind(ids)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}
