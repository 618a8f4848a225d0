//! Stage `mix`: the rendered tracks and the locked stems (fitted to the output rate and
//! length) into stems at their in-mix level and the mastered mix.

use super::{Job, blocking, not_run};
use crate::locks::LockedStem;
use crate::pipeline::JobError;
use crate::production;
use resonantgen_core::TrackType;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Stereo interleaved copy of a locked stem at the output rate, cut or padded to `frames`.
/// A stem at another rate is resampled for the mix (band-limited sinc, as the analysis
/// does); its own object is still stored byte for byte.
fn fit_stereo(stem: &LockedStem, sample_rate: u32, frames: usize) -> Vec<f32> {
    let stereo = stem.pcm.to_stereo();
    let mut s = if stem.pcm.sample_rate == sample_rate {
        stereo
    } else {
        let channel = |c: usize| -> Vec<f32> {
            let x: Vec<f32> = stereo.iter().skip(c).step_by(2).copied().collect();
            resonantgen_core::analysis::resample::resample(&x, stem.pcm.sample_rate, sample_rate)
        };
        let (l, r) = (channel(0), channel(1));
        l.into_iter().zip(r).flat_map(|(a, b)| [a, b]).collect()
    };
    s.resize(frames * 2, 0.0);
    s
}

pub async fn run(job: &mut Job<'_>) -> Result<(), JobError> {
    let rendered = job.rendered.take().ok_or_else(|| not_run("render"))?;
    let (frames, sr) = (job.ctx.total_frames(), job.ctx.sample_rate);
    let locked_stems: BTreeMap<TrackType, Vec<f32>> = job
        .locked
        .iter()
        .map(|(track, stem)| (*track, fit_stereo(stem, sr, frames)))
        .collect();
    let (ctx, intent) = (job.ctx.context().clone(), job.intent.clone());
    let mixed = blocking("mix", move || {
        production::mixdown(&ctx, &intent, rendered, locked_stems)
    })
    .await?;
    job.mixed = Some(Arc::new(mixed));
    Ok(())
}
