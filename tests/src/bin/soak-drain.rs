//! Soak of the queue loop (issue 13, item 1): short jobs through `--drain` workers, with
//! every worker's `apalis.workers.last_seen` sampled from outside, to show that no worker
//! stalls — every heartbeat gap stays under 3 × the 2 s interval — and every drain ends.
//!
//!     cargo build --release --bins
//!     cargo run --release -p resonantgen-e2e --bin soak-drain -- jobs 5000
//!     cargo run --release -p resonantgen-e2e --bin soak-drain -- runs 500
//!
//! `jobs N`: one worker (`--drain --concurrency 2`, as `ops/run.sh` runs it) over N queued
//! 1 s drums-only requests. `runs N`: N consecutive `--drain` workers of one such request
//! each (the README command's shape). A run, or the one worker, that neither finishes a job
//! nor heartbeats for 60 s counts as a stall and is killed. Prints a Markdown table; exits
//! non-zero when the gate fails. Needs DATABASE_URL naming a Postgres it may create a
//! database in, and ONNX Runtime where the worker finds it (ORT_DYLIB_PATH).

use anyhow::Context;
use resonantgen_core::{GenerationRequest, TrackType};
use resonantgen_e2e::{bin, fresh_database};
use resonantgen_infra::{db, queue};
use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// The gate: 3 × the 2 s heartbeat interval.
const GATE: f64 = 3.0 * 2.0;
/// No job finished and no heartbeat for this long: a stall.
const STALL: Duration = Duration::from_secs(60);
const SAMPLE: Duration = Duration::from_millis(100);

/// Heartbeats seen per worker name (distinct `last_seen` values, database clock).
#[derive(Default)]
struct Heartbeats {
    seen: BTreeMap<String, Vec<f64>>,
}

impl Heartbeats {
    async fn sample(&mut self, pool: &sqlx::PgPool) -> anyhow::Result<()> {
        let rows: Vec<(String, f64)> =
            sqlx::query_as("SELECT id, extract(epoch FROM last_seen)::float8 FROM apalis.workers")
                .fetch_all(pool)
                .await?;
        for (name, t) in rows {
            let v = self.seen.entry(name).or_default();
            if v.last().is_none_or(|last| t > *last) {
                v.push(t);
            }
        }
        Ok(())
    }

    /// The latest heartbeat of any worker.
    fn latest(&self) -> Option<f64> {
        self.seen
            .values()
            .filter_map(|v| v.last().copied())
            .reduce(f64::max)
    }

    /// Gaps between consecutive heartbeats of each worker (the first one is registration,
    /// stored at whole seconds: that gap reads up to 1 s long).
    fn gaps(&self) -> Vec<f64> {
        self.seen
            .values()
            .flat_map(|v| v.windows(2).map(|w| w[1] - w[0]))
            .collect()
    }

    /// Workers whose name marks a restarted queue loop (the watchdog's or an error's).
    fn restarts(&self) -> usize {
        self.seen.keys().filter(|n| n.contains("-r")).count()
    }
}

fn worker(db_url: &str, store: &std::path::Path) -> anyhow::Result<Child> {
    Command::new(bin("resonantgen-worker"))
        .args(["--drain", "--concurrency", "2", "--metrics-addr", "off"])
        .env("DATABASE_URL", db_url)
        .env("RESONANTGEN_STORE_DIR", store)
        .env("RUST_LOG", "warn")
        .env_remove("RESONANTGEN_S3_BUCKET")
        .env_remove("AWS_ENDPOINT_URL")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting resonantgen-worker (build it first: cargo build --release --bins)")
}

fn request(i: u64) -> anyhow::Result<GenerationRequest> {
    let mut r = GenerationRequest::new("techno");
    r.duration_seconds = Some(1.0);
    r.seed = Some(i);
    r.tracks = Some(vec![TrackType::Drums]);
    Ok(r)
}

async fn finished(pool: &sqlx::PgPool) -> anyhow::Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'succeeded'),
                count(*) FILTER (WHERE status IN ('failed', 'cancelled'))
           FROM generations",
    )
    .fetch_one(pool)
    .await?)
}

/// Runs `child` until it exits, sampling heartbeats; `Ok(false)` when it stalled (and was
/// killed). Progress is a finished job or a heartbeat.
async fn watch(
    child: &mut Child,
    pool: &sqlx::PgPool,
    beats: &mut Heartbeats,
) -> anyhow::Result<(bool, Option<std::process::ExitStatus>)> {
    let mut last_progress = Instant::now();
    let mut last_state = (finished(pool).await?, beats.latest());
    loop {
        if let Some(status) = child.try_wait()? {
            beats.sample(pool).await?;
            return Ok((true, Some(status)));
        }
        beats.sample(pool).await?;
        let state = (finished(pool).await?, beats.latest());
        if state != last_state {
            last_state = state;
            last_progress = Instant::now();
        } else if last_progress.elapsed() > STALL {
            child.kill().await?;
            return Ok((false, None));
        }
        tokio::time::sleep(SAMPLE).await;
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "jobs".into());
    let n: u64 = args
        .next()
        .map(|s| s.parse())
        .transpose()
        .context("N must be a number")?
        .unwrap_or(if mode == "runs" { 500 } else { 5000 });
    anyhow::ensure!(
        mode == "jobs" || mode == "runs",
        "usage: soak-drain jobs|runs [N]"
    );

    let db_url = fresh_database().await?;
    let pool = db::connect(&db_url, 4, Duration::from_secs(10)).await?;
    db::migrate(&pool).await?;
    let store = tempfile::tempdir()?;
    let mut beats = Heartbeats::default();
    let mut stalls = 0u64;
    let mut bad_exits = 0u64;
    let mut run_secs = Vec::new();
    let started = Instant::now();

    if mode == "jobs" {
        for i in 0..n {
            queue::submit(&pool, request(i)?, None).await?;
        }
        let mut child = worker(&db_url, store.path())?;
        let (ok, status) = watch(&mut child, &pool, &mut beats).await?;
        stalls += u64::from(!ok);
        bad_exits += u64::from(status.is_some_and(|s| !s.success()));
    } else {
        for i in 0..n {
            queue::submit(&pool, request(i)?, None).await?;
            let t = Instant::now();
            let mut child = worker(&db_url, store.path())?;
            let (ok, status) = watch(&mut child, &pool, &mut beats).await?;
            run_secs.push(t.elapsed().as_secs_f64());
            if !ok {
                stalls += 1;
                eprintln!("run {i}: stalled (killed after {STALL:?} without progress)");
            }
            if let Some(s) = status.filter(|s| !s.success()) {
                bad_exits += 1;
                eprintln!("run {i}: exited with {s}");
            }
            if (i + 1) % 50 == 0 {
                eprintln!("{} runs, {:.0} s", i + 1, started.elapsed().as_secs_f64());
            }
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let (succeeded, failed) = finished(&pool).await?;
    let mut gaps = beats.gaps();
    gaps.sort_by(f64::total_cmp);
    let max_gap = gaps.last().copied().unwrap_or(0.0);
    let over_gate = gaps.iter().filter(|g| **g >= GATE).count();
    run_secs.sort_by(f64::total_cmp);

    println!("| measure | value |");
    println!("|---|---|");
    println!("| mode | {mode} ({n}) |");
    println!("| jobs succeeded / failed | {succeeded} / {failed} |");
    println!(
        "| stalls (no job, no heartbeat for {} s) | {stalls} |",
        STALL.as_secs()
    );
    println!("| non-zero exits | {bad_exits} |");
    println!(
        "| queue loop restarts (workers named -rN) | {} |",
        beats.restarts()
    );
    println!("| heartbeat gaps measured | {} |", gaps.len());
    println!(
        "| heartbeat gap p50 / p99 / max (s) | {:.2} / {:.2} / {max_gap:.2} |",
        percentile(&gaps, 0.5),
        percentile(&gaps, 0.99)
    );
    println!("| gaps ≥ {GATE} s (3 × interval) | {over_gate} |");
    if !run_secs.is_empty() {
        println!(
            "| drain run wall time p50 / p99 / max (s) | {:.2} / {:.2} / {:.2} |",
            percentile(&run_secs, 0.5),
            percentile(&run_secs, 0.99),
            run_secs[run_secs.len() - 1]
        );
    }
    println!("| wall time (s) | {wall:.0} |");
    anyhow::ensure!(
        stalls == 0 && bad_exits == 0 && over_gate == 0 && succeeded == n as i64,
        "soak gate failed"
    );
    Ok(())
}
