//! Bulk enqueue rate: a 100,000-line catalog parsed, validated and enqueued through the same
//! code as `resonantgen batch` (chunks of 1,000 rows: one multi-row INSERT into
//! `generations` and one multi-row apalis push per statement, in one transaction: the valid
//! lines are read a second time for it), into a fresh database of
//! the Postgres named by DATABASE_URL; then the same catalog submitted again (everything
//! already there), and one-request-at-a-time submission for comparison. Prints a markdown
//! table.
//!
//!     cargo build --release --bins && DATABASE_URL=… target/release/bench-enqueue [LINES]

use resonantgen_core::GenerationRequest;
use resonantgen_core::catalog::{self, Defaults, Format};
use resonantgen_infra::{batch, db, queue};
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let lines: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let url = resonantgen_e2e::fresh_database().await?;
    let pool = db::connect(&url, 4, Duration::from_secs(10)).await?;
    db::migrate(&pool).await?;

    let genres = [
        "dark techno",
        "deep house",
        "lofi hip hop",
        "ambient",
        "drum and bass",
    ];
    let text: String = (0..lines)
        .map(|i| {
            format!(
                "{{\"prompt\": \"{} with warm pads, take {i}\", \"external_id\": \"cat-{i}\", \"duration_seconds\": 30, \"seed\": {i}}}\n",
                genres[i % genres.len()]
            )
        })
        .collect();

    let t = Instant::now();
    let parsed = catalog::parse(&text, Format::Jsonl, &Defaults::default());
    let parse_s = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        parsed.report().invalid == 0,
        "{:?}",
        parsed.report().errors.first()
    );
    let accepted = parsed.accept(false)?;

    let t = Instant::now();
    let first = batch::enqueue(&pool, Some("bench"), None, accepted, |_| {}).await?;
    let enqueue_s = t.elapsed().as_secs_f64();
    anyhow::ensure!(first.enqueued == lines, "enqueued {}", first.enqueued);

    let t = Instant::now();
    let again = batch::enqueue(&pool, Some("bench"), None, accepted, |_| {}).await?;
    let again_s = t.elapsed().as_secs_f64();
    anyhow::ensure!(again.enqueued == 0 && again.existing == lines);

    let single = 2_000.min(lines);
    let t = Instant::now();
    for i in 0..single {
        let mut r = GenerationRequest::new(format!("dark techno, single {i}"));
        r.duration_seconds = Some(30.0);
        queue::submit(&pool, r, None).await?;
    }
    let single_s = t.elapsed().as_secs_f64();
    let (jobs,): (i64,) = sqlx::query_as("SELECT count(*) FROM apalis.jobs")
        .fetch_one(&pool)
        .await?;
    anyhow::ensure!(jobs as usize == lines + single, "apalis has {jobs} jobs");

    println!("| step | requests | seconds | requests/second |");
    println!("|---|---|---|---|");
    let row = |what: &str, n: usize, s: f64| {
        println!("| {what} | {n} | {s:.2} | {:.0} |", n as f64 / s);
    };
    row("parse + validate (JSONL)", lines, parse_s);
    row("bulk enqueue (batch::enqueue)", lines, enqueue_s);
    row("parse + validate + enqueue", lines, parse_s + enqueue_s);
    row("re-submit, all existing", lines, again_s);
    row("one at a time (queue::submit)", single, single_s);
    Ok(())
}
