//! Peak memory of the API for garbage catalogs: a fresh `resonantgen serve` process per
//! case, a catalog of invalid lines POSTed to /v1/batches (as `application/x-ndjson`, and
//! as the `catalog` of a JSON envelope), then the process's VmHWM (peak resident set) and
//! VmRSS read from /proc/<pid>/status. Prints a Markdown table.
//!
//! A watchdog samples VmRSS every 20 ms and kills the server past `RSS_LIMIT_MIB` (default
//! 4096), so a build whose reports grow with the input cannot take the machine down; such a
//! case is reported as "killed".
//!
//!     cargo build --release --bins && DATABASE_URL=… target/release/bench-catalog-rss [MiB,…]
//!
//! `RESONANTGEN_BIN` names another `resonantgen` binary to measure (an older build, say).

use resonantgen_e2e::{free_port, http};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::process::Command;

const TOKEN: &str = "bench-token";

/// (VmHWM, VmRSS) in KiB.
fn memory(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

/// `bytes` of garbage JSONL: the shortest invalid lines, the most lines (and errors) per byte.
fn garbage(bytes: usize) -> String {
    "x\n".repeat(bytes / 2)
}

struct Case {
    form: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
    lines: usize,
}

struct Outcome {
    status: String,
    response_bytes: usize,
    idle_kib: u64,
    peak_kib: u64,
    after_kib: u64,
    seconds: f64,
}

async fn run(bin: &PathBuf, case: &Case, limit_kib: u64) -> anyhow::Result<Outcome> {
    let db = resonantgen_e2e::fresh_database().await?;
    let addr = format!("127.0.0.1:{}", free_port()?);
    let mut child = Command::new(bin)
        .args(["serve", "--listen", &addr, "--tokens", TOKEN])
        .args(["--max-catalog-bytes", &(64usize << 20).to_string()])
        .env("DATABASE_URL", &db)
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child
        .id()
        .ok_or_else(|| anyhow::anyhow!("server has no pid"))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !matches!(
        http(&addr, "GET", "/healthz", &[], b"").await,
        Ok((200, _, _))
    ) {
        anyhow::ensure!(Instant::now() < deadline, "server did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, idle_kib) = memory(pid).unwrap_or_default();
    let killed = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let killed = killed.clone();
        tokio::spawn(async move {
            loop {
                match memory(pid) {
                    Some((_, rss)) if rss > limit_kib => {
                        killed.store(true, Ordering::SeqCst);
                        // SAFETY: signalling the child this program started.
                        unsafe {
                            libc::kill(pid as i32, libc::SIGKILL);
                        }
                        return;
                    }
                    Some(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                    None => return,
                }
            }
        })
    };
    let auth = format!("Bearer {TOKEN}");
    let t = Instant::now();
    let answer = http(
        &addr,
        "POST",
        "/v1/batches",
        &[
            ("Authorization", auth.as_str()),
            ("Content-Type", case.content_type),
        ],
        &case.body,
    )
    .await;
    let seconds = t.elapsed().as_secs_f64();
    // Let the allocator settle before reading what is still held.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (peak_kib, after_kib) = memory(pid).unwrap_or_default();
    watchdog.abort();
    let _ = child.kill().await;
    let (status, response_bytes) = match answer {
        _ if killed.load(Ordering::SeqCst) => (format!("killed > {} MiB", limit_kib / 1024), 0),
        Ok((s, _, body)) => (s.to_string(), body.len()),
        Err(e) => (format!("error: {e}"), 0),
    };
    Ok(Outcome {
        status,
        response_bytes,
        idle_kib,
        peak_kib,
        after_kib,
        seconds,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sizes: Vec<usize> = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "1,8,32".into())
        .split(',')
        .map(|s| s.trim().parse())
        .collect::<Result<_, _>>()?;
    let bin = std::env::var_os("RESONANTGEN_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| resonantgen_e2e::bin("resonantgen"));
    let limit_kib: u64 = std::env::var("RSS_LIMIT_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4096)
        * 1024;
    println!("binary: {}", bin.display());
    println!();
    println!(
        "| body | catalog | invalid lines | status | response | idle RSS | peak RSS (VmHWM) | RSS after | seconds |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for mib in sizes {
        // Just under the size, so "32 MiB" fits the default 32 MiB limit too.
        let text = garbage((mib << 20) - 1024);
        let lines = text.len() / 2;
        let envelope = serde_json::to_vec(&serde_json::json!({ "catalog": text }))?;
        let cases = [
            Case {
                form: "application/x-ndjson",
                content_type: "application/x-ndjson",
                body: text.into_bytes(),
                lines,
            },
            Case {
                form: "JSON envelope",
                content_type: "application/json",
                body: envelope,
                lines,
            },
        ];
        for case in &cases {
            let o = run(&bin, case, limit_kib).await?;
            let mib = |kib: u64| kib as f64 / 1024.0;
            println!(
                "| {} | {:.1} MiB | {} | {} | {:.1} KiB | {:.1} MiB | {:.1} MiB | {:.1} MiB | {:.2} |",
                case.form,
                case.body.len() as f64 / (1 << 20) as f64,
                case.lines,
                o.status,
                o.response_bytes as f64 / 1024.0,
                mib(o.idle_kib),
                mib(o.peak_kib),
                mib(o.after_kib),
                o.seconds
            );
        }
    }
    Ok(())
}
