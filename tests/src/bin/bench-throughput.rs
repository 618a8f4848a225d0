//! Throughput and memory: a backlog of 30 s 4-stem requests rendered by 1 worker, then by 2
//! worker processes, through the real stack (Postgres, s3s-fs over HTTP). Reports tracks
//! (stems) per hour, seconds of audio per CPU-second of the workers (their user + system
//! time, from getrusage of the reaped children), and the peak resident memory of a worker.
//! Prints a Markdown table.
//!
//!     cargo build --release --bins && DATABASE_URL=… target/release/bench-throughput [JOBS]

use resonantgen_core::GenerationRequest;
use resonantgen_e2e::Stack;
use resonantgen_infra::queue;
use std::time::{Duration, Instant};

/// CPU seconds and peak RSS (KiB) of all reaped children so far.
fn children_usage() -> (f64, i64) {
    // SAFETY: getrusage fills the struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (secs(u.ru_utime) + secs(u.ru_stime), u.ru_maxrss)
}

async fn round(stack: &Stack, workers: usize, jobs: usize, seed: u64) -> anyhow::Result<()> {
    let mut ids = Vec::new();
    for i in 0..jobs {
        let mut r = GenerationRequest::new(
            [
                "dark techno with driving bass",
                "deep house with warm pads",
                "lofi hip hop with jazzy piano",
            ][i % 3],
        );
        r.duration_seconds = Some(30.0);
        r.seed = Some(seed + i as u64);
        ids.push(queue::submit(&stack.pool, r, None).await?.id());
    }
    let (cpu0, _) = children_usage();
    let t = Instant::now();
    let per_worker = (2 / workers).max(1).to_string();
    let procs: Vec<_> = (0..workers)
        .map(|_| stack.worker(&["--drain", "--concurrency", &per_worker]))
        .collect::<Result<_, _>>()?;
    for p in procs {
        p.wait(Duration::from_secs(3600)).await?;
    }
    let wall = t.elapsed().as_secs_f64();
    let (cpu1, maxrss) = children_usage();
    let mut stems = 0usize;
    for id in &ids {
        let row = resonantgen_infra::generations::get_generation(&stack.pool, *id).await?;
        anyhow::ensure!(row.error.is_none(), "{id}: {:?}", row.error);
        let n = row
            .response
            .as_ref()
            .and_then(|r| r["tracks"].as_object().map(|t| t.len()))
            .unwrap_or(0);
        stems += n;
    }
    let audio = jobs as f64 * 30.0;
    println!(
        "| {workers} × concurrency {per_worker} | {jobs} | {wall:.1} | {:.0} | {:.0} | {:.1} | {:.1} | {:.0} |",
        jobs as f64 / wall * 3600.0,
        stems as f64 / wall * 3600.0,
        audio / wall,
        audio / (cpu1 - cpu0),
        maxrss as f64 / 1024.0,
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let jobs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(24);
    let stack = Stack::start().await?;
    // Warm the page cache (models, binary) outside the measurement.
    let mut warm = GenerationRequest::new("techno");
    warm.duration_seconds = Some(1.0);
    queue::submit(&stack.pool, warm, None).await?;
    stack
        .worker(&["--drain"])?
        .wait(Duration::from_secs(300))
        .await?;

    println!(
        "| workers | requests (30 s, 4 stems) | wall s | requests/hour | stems/hour | audio s per wall s | audio s per worker CPU s | peak RSS of a worker (MiB) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    round(&stack, 1, jobs, 10_000).await?;
    round(&stack, 2, jobs, 20_000).await?;
    let (n,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM generations WHERE status <> 'succeeded'")
            .fetch_one(&stack.pool)
            .await?;
    anyhow::ensure!(n == 0, "{n} generations did not succeed");
    Ok(())
}
