//! Production: what happens to a generation between its symbolic parts and its files — every
//! part through its instrument and its processor chain (one thread per track), then the mix
//! engine with the locked stems. The pipeline runs it per job; the mix-quality tests and the
//! render benchmark run exactly the same code without a queue around it.

use crate::generators::Part;
use crate::mix::{self, MixResult};
use crate::processors::{self, ProcessContext};
use crate::render::Rendered;
use resonantgen_core::language::MusicalIntent;
use resonantgen_core::rng::fnv1a;
use resonantgen_core::{GenerationContext, TrackType};
use std::collections::BTreeMap;

fn fx_context(ctx: &GenerationContext, what: &str) -> ProcessContext {
    ProcessContext {
        sample_rate: ctx.sample_rate,
        tempo_bpm: ctx.tempo_bpm,
        seed: fnv1a(format!("{}:fx:{what}", ctx.seed).as_bytes()),
        voices: 1,
    }
}

/// Renders every part with its instrument, then runs the track's processor chain from the
/// intent; a loop renders past its end (`looping`). `None` when a render thread panicked.
pub fn render_tracks(
    ctx: &GenerationContext,
    intent: &MusicalIntent,
    parts: &BTreeMap<TrackType, Part>,
) -> Option<BTreeMap<TrackType, Rendered>> {
    let extended;
    let ctx = if ctx.looped {
        extended = looping::context_extended(ctx);
        &extended
    } else {
        ctx
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .iter()
            .map(|(track, part)| {
                let chain = intent
                    .tracks
                    .get(track)
                    .map(|t| t.processing.clone())
                    .unwrap_or_default();
                let fx = fx_context(ctx, track.as_str());
                let codec = crate::codec::for_track(*track);
                let job = move || {
                    let mut r = codec.decode(part, ctx, intent);
                    processors::process_track(&mut r, &chain, &fx);
                    r
                };
                (*track, s.spawn(job))
            })
            .collect();
        handles
            .into_iter()
            .map(|(t, h)| h.join().ok().map(|r| (t, r)))
            .collect()
    })
}

/// The mix engine over rendered tracks plus locked stems (interleaved stereo, already cut to
/// the output length; they pass untouched).
pub fn mixdown(
    ctx: &GenerationContext,
    intent: &MusicalIntent,
    rendered: BTreeMap<TrackType, Rendered>,
    locked: BTreeMap<TrackType, Vec<f32>>,
) -> MixResult {
    let mut stems = BTreeMap::new();
    let mut channels = BTreeMap::new();
    for (track, r) in rendered {
        if matches!(track, TrackType::Drums) {
            channels = r.channels;
        }
        stems.insert(track, r.stereo);
    }
    let is_locked: BTreeMap<TrackType, bool> = locked.keys().map(|t| (*t, true)).collect();
    stems.extend(locked);
    let duck = mix::duck_depth(intent);
    mix::mix(
        stems,
        channels,
        &is_locked,
        &ctx.frequency_allocation,
        &intent.mix_processing,
        &fx_context(ctx, "mix"),
        ctx.total_frames(),
        ctx.loudness_target,
        duck,
        intent.balance,
        ctx.looped,
    )
}

/// Seamless loops. A loop's parts are rendered (and run through their processor chains)
/// past its end, for its releases and reverb and delay tails; the mix folds what rings on
/// past the end back onto the start (`mix::fold_onto_start`) and runs its master chain over
/// the loop played twice, so the file played end to end repeats without a seam.
pub mod looping {
    use super::*;

    /// How long a loop's parts ring on past its end: whole bars, at least 4 s (a long
    /// reverb's tail, a delay's repeats).
    const TAIL_SECONDS: f64 = 4.0;

    /// The context the parts of a loop are rendered in: its bars plus the tail's.
    pub fn context_extended(ctx: &GenerationContext) -> GenerationContext {
        let bar_seconds = ctx.bar_seconds();
        let tail_bars = (TAIL_SECONDS / bar_seconds).ceil().max(1.0);
        let mut ext = ctx.clone();
        ext.duration_seconds =
            ctx.total_frames() as f64 / f64::from(ctx.sample_rate) + tail_bars * bar_seconds;
        // the chords go on cycling over the tail's bars
        ext.retime(ctx.tempo_bpm, &ctx.chords);
        ext
    }
}
