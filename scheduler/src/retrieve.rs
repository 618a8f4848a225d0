//! Serving results back: status, the response JSON, a summary, and downloading the outputs.

use crate::connect::{reader, writer};
use anyhow::{Context, bail};
use resonantgen_core::GenerationStatus;
use resonantgen_infra::generations::{self, GenerationRow};
use resonantgen_infra::store::{GenerationKeys, ObjectStore};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use ulid::Ulid;

pub async fn get(id: Ulid) -> anyhow::Result<ExitCode> {
    let pool = reader().await?;
    let row = generations::get_generation(&pool, id).await?;
    match &row.response {
        Some(resp) => {
            println!("{}", serde_json::to_string_pretty(resp)?);
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let why = row.error.as_deref().unwrap_or("no response yet");
            bail!("generation {id} is {}: {why}", row.status)
        }
    }
}

pub async fn status(id: Ulid, json: bool) -> anyhow::Result<ExitCode> {
    let pool = reader().await?;
    let row = generations::get_generation(&pool, id).await?;
    if json {
        let mut v = serde_json::to_value(&row)?;
        if let Some(o) = v.as_object_mut() {
            o.remove("response");
            o.remove("request");
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{id}  {}  attempts {}", row.status, row.attempts);
        if let Some(e) = &row.error {
            print!("  {e}");
        }
        println!();
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn wait(id: Ulid, timeout: u64) -> anyhow::Result<ExitCode> {
    let pool = reader().await?;
    let row = wait_terminal(&pool, id, Duration::from_secs(timeout)).await?;
    Ok(print_outcome(&row))
}

/// Prints "<id>  <status>[  <error>]" for a finished generation; its exit code.
pub fn print_outcome(row: &GenerationRow) -> ExitCode {
    match &row.error {
        Some(e) => println!("{}  {}  {e}", row.id, row.status),
        None => println!("{}  {}", row.id, row.status),
    }
    exit_code(row)
}

/// Success only for a generation that succeeded.
pub fn exit_code(row: &GenerationRow) -> ExitCode {
    if row.status == GenerationStatus::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Polls the generation row until it is succeeded, failed or cancelled.
pub async fn wait_terminal(
    pool: &sqlx::PgPool,
    id: Ulid,
    timeout: Duration,
) -> anyhow::Result<generations::GenerationRow> {
    let deadline = Instant::now() + timeout;
    loop {
        let row = generations::get_generation(pool, id).await?;
        if row.status.is_terminal() {
            return Ok(row);
        }
        if Instant::now() > deadline {
            bail!("{id} still {} after {} s", row.status, timeout.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn fetch(id: Ulid, out: &Path) -> anyhow::Result<ExitCode> {
    let pool = reader().await?;
    let row = generations::get_generation(&pool, id).await?;
    if row.status != GenerationStatus::Succeeded {
        bail!("generation {id} is {}; nothing to fetch", row.status);
    }
    let store = ObjectStore::from_env()?;
    let keys = GenerationKeys::new(id);
    let prefix = format!("{}/", keys.prefix());
    let objects = store.list(&prefix).await?;
    if objects.is_empty() {
        bail!("no objects under {prefix} in {}", store.describe());
    }
    for key in &objects {
        let bytes = store.get(key, u64::MAX).await?;
        let rel = key.strip_prefix(&prefix).unwrap_or(key);
        let path = out.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    println!("{} files → {}", objects.len(), out.display());
    Ok(ExitCode::SUCCESS)
}

pub async fn summary(id: Ulid) -> anyhow::Result<ExitCode> {
    let pool = reader().await?;
    let row = generations::get_generation(&pool, id).await?;
    let Some(r) = row.decode_response()? else {
        bail!(
            "generation {id} is {}: {}",
            row.status,
            row.error.unwrap_or_default()
        );
    };
    let c = &r.context;
    println!("generation  {}", r.id);
    println!("prompt      {}", r.prompt);
    println!("genre       {}", c.genre);
    match r.qa.measured_tempo_bpm {
        Some(m) => println!(
            "tempo       {} bpm (measured from the drums: {m:.2} bpm)",
            c.tempo_bpm
        ),
        None => println!("tempo       {} bpm", c.tempo_bpm),
    }
    println!("key         {}", c.key);
    println!(
        "chords      {}",
        c.chord_symbols
            .iter()
            .take(8)
            .cloned()
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "duration    {:.2} s ({} bars of {})",
        r.qa.duration_seconds, c.bars, c.meter
    );
    println!("arrangement {}", c.arrangement_summary());
    println!(
        "format      {} Hz, {}-bit stereo",
        c.sample_rate, c.bit_depth
    );
    println!(
        "mix         {:.1} LUFS (target {}), true peak {:.1} dBTP",
        r.mix.integrated_lufs, c.loudness_target, r.mix.true_peak_dbtp
    );
    for note in &c.conflicts {
        println!("note        {note}");
    }
    if let (Some(s), Some(c)) = (r.qa.frequency_separation, r.qa.rhythmic_coherence) {
        println!("qa          drums↔bass separation {s:.3}, bass↔drums coherence {c:.3}");
    }
    for flag in &r.qa.flags {
        println!("qa flag     {flag}");
    }
    for (t, out) in &r.tracks {
        if let Some(inst) = &out.instrument {
            let fx = if out.processing.is_empty() {
                String::new()
            } else {
                format!(" → {}", out.processing.join(" → "))
            };
            println!("{:<11} {inst}{fx}", t.as_str());
        }
    }
    println!("files");
    println!("  {:<10} {}", "mix", r.mix.audio.uri);
    for (t, out) in &r.tracks {
        let lock = if out.locked { " (locked)" } else { "" };
        println!(
            "  {:<10} {}{lock}  [{} events]",
            t.as_str(),
            out.audio.uri,
            out.events
        );
        for (ch, obj) in &out.channels {
            println!("    {:<8} {}", ch, obj.uri);
        }
        if let Some(m) = &out.midi {
            println!("    {:<8} {}", "midi", m.uri);
        }
    }
    let stages: Vec<String> = r
        .timings
        .iter()
        .map(|s| format!("{} {:.3}s", s.stage, s.seconds))
        .collect();
    println!("timings     {}", stages.join(", "));
    println!(
        "total       {:.2} s on {} (attempt {})",
        r.generation_seconds, r.worker, r.attempt
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn list(status: Option<String>, limit: i64, json: bool) -> anyhow::Result<ExitCode> {
    let status = status
        .map(|s| GenerationStatus::parse(&s).with_context(|| format!("unknown status '{s}'")))
        .transpose()?;
    let pool = reader().await?;
    let rows = generations::list_generations(&pool, status, limit.clamp(1, 10_000)).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    for r in rows {
        let mut prompt: String = r.prompt.chars().take(60).collect();
        if r.prompt.chars().count() > 60 {
            prompt.push('…');
        }
        println!(
            "{}  {:<9}  {}  {}",
            r.id,
            r.status.as_str(),
            r.created_at.format("%Y-%m-%d %H:%M:%S"),
            prompt
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `resonantgen cancel ID`.
pub async fn cancel(id: Ulid) -> anyhow::Result<ExitCode> {
    let pool = writer().await?;
    match generations::cancel_generation(&pool, id).await? {
        generations::CancelOutcome::Cancelled => println!("{id}  cancelled (it had not started)"),
        generations::CancelOutcome::Requested => {
            println!("{id}  cancel requested: it stops at its next stage boundary")
        }
        generations::CancelOutcome::AlreadyFinished(s) => {
            println!("{id}  already {s}; nothing to cancel");
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}
