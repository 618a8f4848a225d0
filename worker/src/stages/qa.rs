//! Stage `qa`: the worker measures its own output (tempo of the drums, drums↔bass
//! separation, rhythmic coherence, the key the pitched stems sound in) and flags where it
//! misses the request by [`crate::qa`]'s thresholds.

use super::{Job, blocking};
use crate::pipeline::JobError;
use crate::qa;
use resonantgen_core::TrackType;
use resonantgen_core::response::QaReport;

pub async fn run(job: &mut Job<'_>) -> Result<(), JobError> {
    let mixed = job.mixed()?;
    let (ctx, sr) = (job.ctx.context(), job.ctx.sample_rate);
    let frames = ctx.total_frames();
    let (drums, bass) = (TrackType::Drums, TrackType::Bass);
    let measured_tempo = mixed.stems.get(&drums).and_then(|d| {
        let hints = resonantgen_core::analysis::Hints::for_genre(&ctx.genre, ctx.tempo_bpm);
        qa::estimate_tempo_with(d, sr, &hints)
    });
    let frequency_separation = match (mixed.stems.get(&drums), mixed.stems.get(&bass)) {
        (Some(d), Some(b)) => resonantgen_core::analysis::separation::separation(
            &resonantgen_core::analysis::separation::to_mono(d),
            &resonantgen_core::analysis::separation::to_mono(b),
        ),
        _ => None,
    };
    let rhythmic_coherence = job
        .parts
        .get(&bass)
        .and_then(|b| qa::rhythmic_coherence(b, ctx));
    // The key the pitched stems actually sound in.
    let mut pitched = vec![0.0f32; frames * 2];
    for (_, d) in mixed.stems.iter().filter(|(t, _)| t.spec().pitched) {
        pitched.iter_mut().zip(d).for_each(|(s, x)| *s += x);
    }
    let heard = blocking("qa", move || {
        resonantgen_core::analysis::analyze(&pitched, 2, sr).ok()
    })
    .await?
    .filter(|a| a.tonal);
    let flags = qa::flags(ctx, &mixed, heard.as_ref().map(|a| a.key), measured_tempo);
    job.qa = Some(QaReport {
        measured_key: heard.as_ref().map(|a| a.key),
        key_confidence: heard.as_ref().map(|a| a.key_confidence),
        measured_tempo_bpm: measured_tempo,
        frequency_separation,
        rhythmic_coherence,
        duration_seconds: frames as f64 / f64::from(sr),
        flags,
    });
    Ok(())
}
