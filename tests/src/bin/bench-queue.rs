//! Queue benchmark: pick-up latency (submit → handler start) of an idle worker — woken by
//! LISTEN/NOTIFY, and polling only (`--no-notify`: found at the next 2 s heartbeat) — and
//! end-to-end latency (submit → response row) of 30 s 4-stem requests, through the real
//! stack (Postgres, s3s-fs over HTTP, a worker process). Prints a Markdown table.
//!
//!     cargo build --release --bins && cargo run --release -p resonantgen-e2e --bin bench-queue
//!
//! Needs DATABASE_URL naming a Postgres it may create a database in (ops/lib.sh's
//! ensure_postgres provides one).

use resonantgen_core::{GenerationRequest, TrackType};
use resonantgen_e2e::Stack;
use resonantgen_infra::queue;
use std::time::Duration;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// One Markdown table row of a sorted sample.
fn row(label: &str, sorted: &[f64], decimals: usize) {
    println!(
        "| {label} | {} | {:.d$} | {:.d$} | {:.d$} |",
        sorted.len(),
        percentile(sorted, 0.5),
        percentile(sorted, 0.95),
        sorted[sorted.len() - 1],
        d = decimals
    );
}

async fn timings(stack: &Stack, ids: &[ulid::Ulid]) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let mut pickup = Vec::new();
    let mut total = Vec::new();
    for id in ids {
        let (p, t): (f64, f64) = sqlx::query_as(
            "SELECT extract(epoch FROM started_at - created_at)::float8,
                    extract(epoch FROM finished_at - created_at)::float8
               FROM generations WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_one(&stack.pool)
        .await?;
        pickup.push(p * 1000.0);
        total.push(t);
    }
    pickup.sort_by(f64::total_cmp);
    total.sort_by(f64::total_cmp);
    Ok((pickup, total))
}

async fn run_one(stack: &Stack, req: GenerationRequest) -> anyhow::Result<ulid::Ulid> {
    let id = queue::submit(&stack.pool, req, None).await?.id();
    let row = stack
        .wait_terminal(&id.to_string(), Duration::from_secs(300))
        .await?;
    anyhow::ensure!(row.error.is_none(), "{id}: {:?}", row.error);
    Ok(id)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let worker = stack.worker(&["--concurrency", "1"])?;
    // Warm up: the first job loads nothing new, but let the worker settle into idle.
    run_one(&stack, GenerationRequest::new("techno")).await?;

    let mut short = Vec::new();
    for i in 0..30 {
        tokio::time::sleep(Duration::from_millis(700)).await; // idle worker between jobs
        let mut r = GenerationRequest::new("techno");
        r.duration_seconds = Some(1.0);
        r.seed = Some(i);
        r.tracks = Some(vec![TrackType::Drums]);
        short.push(run_one(&stack, r).await?);
    }
    let mut full = Vec::new();
    for i in 0..8 {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let mut r = GenerationRequest::new("dark techno with driving bass at 128 bpm");
        r.duration_seconds = Some(30.0);
        r.seed = Some(100 + i);
        full.push(run_one(&stack, r).await?);
    }
    worker.stop().await?;

    // The same idle-worker pick-up with polling only.
    let worker = stack.worker(&["--concurrency", "1", "--no-notify"])?;
    run_one(&stack, GenerationRequest::new("techno")).await?;
    let mut polled = Vec::new();
    for i in 0..15 {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let mut r = GenerationRequest::new("techno");
        r.duration_seconds = Some(1.0);
        r.seed = Some(1000 + i);
        r.tracks = Some(vec![TrackType::Drums]);
        polled.push(run_one(&stack, r).await?);
    }
    worker.stop().await?;
    let (pickup_polled, _) = timings(&stack, &polled).await?;

    let (pickup, _) = timings(&stack, &short).await?;
    let (pickup_full, total_full) = timings(&stack, &full).await?;
    println!("| measure | n | p50 | p95 | max |");
    println!("|---|---|---|---|---|");
    row(
        "pick-up latency, idle worker, LISTEN/NOTIFY (ms)",
        &pickup,
        1,
    );
    row(
        "pick-up latency, idle worker, polling only (ms)",
        &pickup_polled,
        1,
    );
    row(
        "pick-up latency before a 30 s request (ms)",
        &pickup_full,
        1,
    );
    row(
        "submit → response row, 30 s 4-stem request (s)",
        &total_full,
        2,
    );
    Ok(())
}
