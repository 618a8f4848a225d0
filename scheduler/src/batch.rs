//! `resonantgen batch`, `batch-status` and `export`: bulk catalogs from the command line.
//! Every line is validated before anything is enqueued; bad lines are reported with their
//! line numbers (the first 100, then counts by reason) and, unless `--skip-invalid`,
//! nothing is enqueued. Enqueueing runs in one transaction of multi-row statements under a
//! progress bar; `--follow` then follows rendering with counts and an ETA. CSV exports
//! escape cells that a spreadsheet would run as formulas.

use crate::connect::{reader, writer};
use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use resonantgen_core::catalog::{self, Defaults, Format};
use resonantgen_infra::batch::{self, BatchStatus};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct BatchArgs {
    /// Catalog file: JSONL (one GenerationRequest object per line, optional "external_id")
    /// or CSV (header row naming request fields; see the README). `-` reads standard input.
    pub file: PathBuf,
    /// jsonl or csv (default: from the file extension).
    #[arg(long)]
    pub format: Option<String>,
    /// Enqueue the valid lines even when some are invalid (they are still reported).
    #[arg(long)]
    pub skip_invalid: bool,
    /// A name for the batch.
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub output: crate::flags::OutputFlags,
    /// Follow rendering progress until the batch is done.
    #[arg(long)]
    pub follow: bool,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
}

fn read(path: &Path) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).context("reading stdin")?;
        Ok(s)
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
    }
}

pub fn format_of(explicit: Option<&str>, path: &Path) -> anyhow::Result<Format> {
    match explicit.map(str::to_ascii_lowercase).as_deref() {
        Some("jsonl" | "ndjson" | "json") => Ok(Format::Jsonl),
        Some("csv") => Ok(Format::Csv),
        Some(other) => bail!("unknown catalog format '{other}' (jsonl or csv)"),
        None => Format::from_path(&path.to_string_lossy()).with_context(|| {
            format!(
                "cannot tell the format of {} from its extension; pass --format jsonl|csv",
                path.display()
            )
        }),
    }
}

pub async fn run(a: BatchArgs) -> anyhow::Result<ExitCode> {
    let format = format_of(a.format.as_deref(), &a.file)?;
    let text = read(&a.file)?;
    let defaults = Defaults {
        duration_seconds: a.output.duration,
        sample_rate: a.output.sample_rate,
        bit_depth: a.output.bit_depth,
        loudness_target: a.output.loudness,
        priority: a.output.priority,
        tracks: None,
    };
    let catalog = catalog::parse(&text, format, &defaults);
    let report = catalog.report();
    for e in &report.errors {
        eprintln!("{}: {e}", a.file.display());
    }
    if report.invalid > 0 {
        if report.unlisted() > 0 {
            eprintln!(
                "{}: … and {} more invalid line(s) not listed",
                a.file.display(),
                report.unlisted()
            );
        }
        let by: Vec<String> = report
            .invalid_by_reason
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        eprintln!("invalid lines by reason: {}", by.join(", "));
    }
    let accepted = match catalog.accept(a.skip_invalid) {
        Ok(accepted) => accepted,
        Err(e @ catalog::Refused::Invalid { .. }) => {
            bail!("{e} (fix them, or pass --skip-invalid)")
        }
        Err(e) => bail!("{}: {e}", a.file.display()),
    };
    let pool = writer().await?;
    let bar = if a.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(report.valid as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("enqueueing {bar:40} {pos}/{len} ({per_sec}, {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let source = a.file.to_string_lossy().to_string();
    let out = batch::enqueue(&pool, a.name.as_deref(), Some(&source), accepted, |done| {
        bar.set_position(done as u64)
    })
    .await?;
    bar.finish_and_clear();
    if a.json {
        let v = serde_json::json!({
            "batch": out,
            "invalid": report.errors,
            "invalid_total": report.invalid,
            "invalid_unlisted": report.unlisted(),
            "invalid_by_reason": report.invalid_by_reason,
        });
        println!("{}", serde_json::to_string(&v)?);
    } else {
        println!(
            "batch {}  {} enqueued, {} already submitted, {} invalid{}",
            out.batch_id,
            out.enqueued,
            out.existing,
            report.invalid,
            if out.new_batch {
                ""
            } else {
                " (this catalog was submitted before)"
            }
        );
    }
    if a.follow {
        return follow(&pool, &out.batch_id, a.json).await;
    }
    Ok(ExitCode::SUCCESS)
}

/// Polls the batch until every generation has finished; exits non-zero if any failed.
async fn follow(pool: &sqlx::PgPool, batch_id: &str, quiet: bool) -> anyhow::Result<ExitCode> {
    let mut status = fetch(pool, batch_id).await?;
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(status.total.max(0) as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("rendering {bar:40} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    loop {
        bar.set_position(status.finished().max(0) as u64);
        bar.set_message(progress_line(&status));
        if status.is_done() {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        status = fetch(pool, batch_id).await?;
    }
    bar.finish_and_clear();
    println!("batch {batch_id}  {}", progress_line(&status));
    Ok(if status.count("failed") > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn progress_line(s: &BatchStatus) -> String {
    let eta = match s.eta_seconds() {
        Some(e) if !s.is_done() => format!(", ETA {}", human(e)),
        _ => String::new(),
    };
    format!(
        "{} succeeded, {} failed, {} cancelled, {} running, {} queued{eta}",
        s.count("succeeded"),
        s.count("failed"),
        s.count("cancelled"),
        s.count("running"),
        s.count("queued")
    )
}

fn human(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

async fn fetch(pool: &sqlx::PgPool, batch_id: &str) -> anyhow::Result<BatchStatus> {
    batch::status(pool, batch_id)
        .await?
        .with_context(|| format!("batch '{batch_id}' not found"))
}

/// A batch id argument, parsed strictly (a ULID; `8…` is no alias of `0…`).
fn parse_batch_id(id: &str) -> anyhow::Result<String> {
    resonantgen_core::text::parse_ulid(id.trim())
        .map(|u| u.to_string())
        .map_err(|e| anyhow::anyhow!("batch id: {e}"))
}

/// A CSV cell a spreadsheet will not run: text starting with `=`, `+`, `-`, `@`, a tab or
/// a carriage return is prefixed with `'` (OWASP, CSV injection). Numbers stay numbers:
/// `-14.000` cannot be a formula.
pub fn csv_cell(s: &str) -> std::borrow::Cow<'_, str> {
    let risky = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && s.parse::<f64>().is_err() {
        std::borrow::Cow::Owned(format!("'{s}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// `resonantgen batch-status BATCH`.
pub async fn status(batch_id: &str, json: bool) -> anyhow::Result<ExitCode> {
    let batch_id = parse_batch_id(batch_id)?;
    let pool = reader().await?;
    let s = fetch(&pool, &batch_id).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        println!(
            "batch {}{}  {} requests",
            s.id,
            s.name
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default(),
            s.total
        );
        for (state, n) in &s.counts {
            println!("  {state:<10} {n}");
        }
        if let Some(eta) = s.eta_seconds().filter(|_| !s.is_done()) {
            println!("  ETA        {}", human(eta));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `resonantgen export BATCH -o results.jsonl|csv`.
pub async fn export(batch_id: &str, out: &Path, format: Option<&str>) -> anyhow::Result<ExitCode> {
    let format = format_of(format, out)?;
    let batch_id = parse_batch_id(batch_id)?;
    let pool = reader().await?;
    fetch(&pool, &batch_id).await?;
    let rows = batch::export(&pool, &batch_id).await?;
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut w = std::io::BufWriter::new(file);
    match format {
        Format::Jsonl => {
            for r in &rows {
                serde_json::to_writer(&mut w, r)?;
                w.write_all(b"\n")?;
            }
        }
        Format::Csv => {
            let mut c = csv::Writer::from_writer(&mut w);
            c.write_record([
                "generation_id",
                "external_id",
                "status",
                "prompt",
                "mix_uri",
                "stems",
                "tempo_bpm",
                "key",
                "measured_tempo_bpm",
                "measured_key",
                "integrated_lufs",
                "true_peak_dbtp",
                "rhythmic_coherence",
                "frequency_separation",
                "qa_flags",
                "error",
            ])?;
            let opt = |v: Option<f64>| v.map(|x| format!("{x:.3}")).unwrap_or_default();
            for r in &rows {
                let stems: Vec<String> = r.stems.iter().map(|(t, u)| format!("{t}={u}")).collect();
                let cells = [
                    r.generation_id.clone(),
                    r.external_id.clone().unwrap_or_default(),
                    r.status.clone(),
                    r.prompt.clone(),
                    r.mix_uri.clone().unwrap_or_default(),
                    stems.join(" "),
                    opt(r.tempo_bpm),
                    r.key.clone().unwrap_or_default(),
                    opt(r.measured_tempo_bpm),
                    r.measured_key.clone().unwrap_or_default(),
                    opt(r.integrated_lufs),
                    opt(r.true_peak_dbtp),
                    opt(r.rhythmic_coherence),
                    opt(r.frequency_separation),
                    r.qa_flags.join("; "),
                    r.error.clone().unwrap_or_default(),
                ];
                c.write_record(cells.iter().map(|cell| csv_cell(cell).into_owned()))?;
            }
            c.flush()?;
        }
    }
    w.flush()?;
    eprintln!("{} rows written to {}", rows.len(), out.display());
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_escaped_and_numbers_kept() {
        for (cell, out) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("-14.000", "-14.000"),
            ("+3", "+3"),
            ("dark techno = good", "dark techno = good"),
            ("", ""),
        ] {
            assert_eq!(csv_cell(cell), out, "{cell:?}");
        }
    }
}
