//! Queue overhead: no-op jobs per second through raw apalis-postgres (push a trivial task,
//! a handler that returns at once) and through our path (queue::submit writing the
//! generations row and the task in one transaction; a handler doing our bookkeeping —
//! mark_running, the started/succeeded events, the success record — and no rendering), on the
//! same Postgres with the same storage configuration (LISTEN/NOTIFY, 2 s heartbeat,
//! concurrency 2). Prints a Markdown table.
//!
//!     cargo build --release --bins && DATABASE_URL=… target/release/bench-overhead [JOBS]

use apalis::prelude::*;
use apalis_postgres::PostgresStorage;
use resonantgen_core::GenerationRequest;
use resonantgen_infra::db;
use resonantgen_infra::events::{self, EventKind};
use resonantgen_infra::generations;
use resonantgen_infra::queue::{self, GenerationJob};
use sqlx::PgPool;
use std::time::{Duration, Instant};

const CONCURRENCY: usize = 2;
const RAW_QUEUE: &str = "bench.raw";

async fn raw_handler(_job: u64) -> Result<(), BoxDynError> {
    Ok(())
}

async fn our_handler(job: GenerationJob, pool: Data<PgPool>) -> Result<(), BoxDynError> {
    generations::mark_running(&pool, job.id, "bench", 1).await?;
    events::publish(
        &pool,
        job.id,
        &EventKind::Started {
            attempt: 1,
            worker: "bench".into(),
        },
    )
    .await?;
    sqlx::query(
        "UPDATE generations SET status = 'succeeded', finished_at = now(), updated_at = now()
          WHERE id = $1",
    )
    .bind(job.id.to_string())
    .execute(&*pool)
    .await?;
    events::publish(&pool, job.id, &EventKind::Succeeded { seconds: 0.0 }).await?;
    Ok(())
}

/// Runs a monitor until `done()` reports every job finished; returns the wall seconds.
async fn drain(pool: &PgPool, queue_name: &str, jobs: i64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM apalis.jobs WHERE job_type = $1 AND status = 'Done'",
        )
        .bind(queue_name)
        .fetch_one(pool)
        .await?;
        if n >= jobs {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "only {n}/{jobs} done");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let jobs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000);
    let url = resonantgen_e2e::fresh_database().await?;
    let pool = db::connect(&url, 10, Duration::from_secs(10)).await?;
    db::migrate(&pool).await?;

    // Raw apalis-postgres: push one by one (as a client would), consume concurrently.
    let raw_config = apalis_postgres::Config::default()
        .queue(RAW_QUEUE)
        .batch_size(CONCURRENCY)
        .heartbeat_interval(queue::HEARTBEAT)
        .missed_heartbeats(queue::MISSED_HEARTBEATS)
        .persist_results(true);
    let mut raw_storage = PostgresStorage::<u64>::new(&pool).with_config(raw_config.clone());
    let t = Instant::now();
    for i in 0..jobs as u64 {
        raw_storage.push(i).await?;
    }
    let raw_push = t.elapsed().as_secs_f64();
    let p = pool.clone();
    let t = Instant::now();
    let monitor = tokio::spawn(async move {
        Monitor::new()
            .register(move |_| {
                WorkerBuilder::new("bench-raw")
                    .backend(
                        PostgresStorage::<u64>::new(&p)
                            .with_config(raw_config.clone())
                            .with_pubsub(),
                    )
                    .concurrency(CONCURRENCY)
                    .build(raw_handler)
            })
            .run()
            .await
    });
    drain(&pool, RAW_QUEUE, jobs as i64).await?;
    let raw_run = t.elapsed().as_secs_f64();
    monitor.abort();

    // Our path.
    let t = Instant::now();
    for i in 0..jobs {
        let mut r = GenerationRequest::new(format!("techno {i}"));
        r.duration_seconds = Some(1.0);
        queue::submit(&pool, r, None).await?;
    }
    let ours_push = t.elapsed().as_secs_f64();
    let p = pool.clone();
    let t = Instant::now();
    let monitor = tokio::spawn(async move {
        Monitor::new()
            .register(move |_| {
                WorkerBuilder::new("bench-ours")
                    .backend(
                        PostgresStorage::<GenerationJob>::new(&p)
                            .with_config(queue::storage_config())
                            .with_pubsub(),
                    )
                    .data(p.clone())
                    .concurrency(CONCURRENCY)
                    .build(our_handler)
            })
            .run()
            .await
    });
    drain(&pool, queue::QUEUE, jobs as i64).await?;
    let ours_run = t.elapsed().as_secs_f64();
    monitor.abort();

    println!("| path | jobs | enqueue jobs/s | process no-op jobs/s |");
    println!("|---|---|---|---|");
    println!(
        "| raw apalis-postgres (push, empty handler) | {jobs} | {:.0} | {:.0} |",
        jobs as f64 / raw_push,
        jobs as f64 / raw_run
    );
    println!(
        "| ours (submit with generations row; bookkeeping + 2 events per job) | {jobs} | {:.0} | {:.0} |",
        jobs as f64 / ours_push,
        jobs as f64 / ours_run
    );
    Ok(())
}
