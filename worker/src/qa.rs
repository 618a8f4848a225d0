//! Self-QA: the worker measures its own output instead of trusting it — tempo from the
//! rendered drums (shared::features), drums↔bass separation, bass↔drums rhythmic coherence,
//! loudness — and flags where the output misses the request.

pub use resonantgen_shared::features::{estimate_tempo, tempo_error};

/// Share of the bass notes that start within 30 ms of the drums' 16th-note grid (the grid
/// the drum part is played on, swing included).
pub fn rhythmic_coherence(
    bass: &crate::generators::Part,
    ctx: &resonantgen_shared::GenerationContext,
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
