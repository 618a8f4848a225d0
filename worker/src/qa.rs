//! Self-QA: the worker measures its own output instead of trusting it — tempo from the
//! rendered drums (core::analysis), drums↔bass separation, bass↔drums rhythmic coherence,
//! loudness — and flags where the output misses the request (the thresholds live here; the
//! `qa` stage in `stages/qa.rs` takes the measurements).

use crate::mix::{MixResult, TRUE_PEAK_CEILING_DBTP};
use resonantgen_core::GenerationContext;
pub use resonantgen_core::analysis::tempo::tempo_error;
pub use resonantgen_core::analysis::{estimate_tempo, estimate_tempo_with};
use resonantgen_core::theory::Key;

/// Largest relative tempo error of the drums before it is flagged.
pub const TEMPO_TOLERANCE: f64 = 0.02;
/// Largest miss of the loudness target, in LU.
pub const LOUDNESS_TOLERANCE_LU: f64 = 1.0;
/// Measurement slack over the true-peak ceiling, in dB.
pub const TRUE_PEAK_SLACK_DB: f64 = 0.05;

/// Where the output misses the request: the key heard (unless the same or the relative
/// key), the true-peak ceiling, the tempo of the drums, the loudness target.
pub fn flags(
    ctx: &GenerationContext,
    mixed: &MixResult,
    heard_key: Option<Key>,
    measured_tempo: Option<f64>,
) -> Vec<String> {
    let mut flags = Vec::new();
    if let Some(k) = heard_key
        && k != ctx.key
        && !k.is_relative_of(&ctx.key)
    {
        flags.push(format!("measured key {k} differs from {}", ctx.key));
    }
    if mixed.true_peak_dbtp > TRUE_PEAK_CEILING_DBTP + TRUE_PEAK_SLACK_DB {
        flags.push(format!(
            "true peak {:.2} dBTP above the {TRUE_PEAK_CEILING_DBTP} dBTP ceiling",
            mixed.true_peak_dbtp
        ));
    }
    if let Some(m) = measured_tempo
        && tempo_error(m, ctx.tempo_bpm) > TEMPO_TOLERANCE
    {
        flags.push(format!(
            "measured tempo {m:.1} bpm differs from {:.1} bpm by more than 2%",
            ctx.tempo_bpm
        ));
    }
    if mixed.integrated_lufs.is_finite()
        && (mixed.integrated_lufs - ctx.loudness_target).abs() > LOUDNESS_TOLERANCE_LU
    {
        flags.push(format!(
            "mix loudness {:.1} LUFS misses the {} LUFS target by more than 1 LU",
            mixed.integrated_lufs, ctx.loudness_target
        ));
    }
    flags
}

/// Share of the bass notes that start within 30 ms of the drums' 16th-note grid (the grid
/// the drum part is played on, swing included).
pub fn rhythmic_coherence(
    bass: &crate::generators::Part,
    ctx: &resonantgen_core::GenerationContext,
) -> Option<f64> {
    if bass.notes.is_empty() {
        return None;
    }
    let near = bass
        .notes
        .iter()
        .filter(|n| {
            let step = ((n.time - ctx.grid_offset_seconds) / ctx.seconds_per_step())
                .round()
                .max(0.0) as usize;
            (step.saturating_sub(1)..=step + 1).any(|s| (ctx.step_time(s) - n.time).abs() <= 0.030)
        })
        .count();
    Some(near as f64 / bass.notes.len() as f64)
}
