//! Production: what happens to a generation between its symbolic parts and its files — every
//! part through its instrument and its processor chain (one thread per track), then the mix
//! engine with the locked stems. The pipeline runs it per job; the mix-quality tests and the
//! render benchmark run exactly the same code without a queue around it.

use crate::generators::Part;
use crate::mix::{self, MixResult};
use crate::processors::{self, ProcessContext};
use crate::render::Rendered;
use resonantgen_shared::language::MusicalIntent;
use resonantgen_shared::rng::fnv1a;
use resonantgen_shared::{GenerationContext, TrackType};
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
/// intent. `None` when a render thread panicked.
pub fn render_tracks(
    ctx: &GenerationContext,
    intent: &MusicalIntent,
    parts: &BTreeMap<TrackType, Part>,
) -> Option<BTreeMap<TrackType, Rendered>> {
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
    )
}

/// Seamless loops. A loop is played twice (plus a bar of room for the last tails) and the
/// second pass kept: its start carries the releases, reverb and delay tails of the first
/// exactly as every repeat of the loop will, and the compressors and the limiter are in the
/// state a repeat finds them in, so the file played end to end repeats without a seam.
pub mod looping {
    use super::*;

    /// Seconds of one pass: exactly the loop's frames.
    fn pass_seconds(ctx: &GenerationContext) -> f64 {
        ctx.total_frames() as f64 / f64::from(ctx.sample_rate)
    }

    /// The context of the loop played twice, with one more bar after the second pass for
    /// its tails (the renders' end fade falls there, outside the kept pass).
    pub fn context_twice(ctx: &GenerationContext) -> GenerationContext {
        let bar_seconds = 60.0 / ctx.tempo_bpm * f64::from(ctx.beats_per_bar);
        let mut twice = ctx.clone();
        twice.duration_seconds = 2.0 * pass_seconds(ctx) + bar_seconds;
        twice.bars = 2 * ctx.bars + 1;
        twice.chords = ctx
            .chords
            .iter()
            .cycle()
            .take(twice.bars as usize)
            .copied()
            .collect();
        twice.chord_symbols = ctx
            .chord_symbols
            .iter()
            .cycle()
            .take(twice.bars as usize)
            .cloned()
            .collect();
        twice
    }

    /// The loop's parts played twice: every note again one pass later.
    pub fn parts_twice(
        ctx: &GenerationContext,
        parts: &BTreeMap<TrackType, Part>,
    ) -> BTreeMap<TrackType, Part> {
        let (pass_seconds, steps) = (pass_seconds(ctx), ctx.total_steps());
        parts
            .iter()
            .map(|(track, part)| {
                let mut p = part.clone();
                p.notes
                    .extend(part.notes.iter().map(|n| crate::generators::Note {
                        time: n.time + pass_seconds,
                        step: n.step + steps,
                        ..*n
                    }));
                (*track, p)
            })
            .collect()
    }

    /// A locked stem tiled to the played-twice length (it is the user's loop already).
    pub fn tile(stem: &[f32], frames: usize) -> Vec<f32> {
        if stem.is_empty() {
            return vec![0.0; frames * 2];
        }
        stem.iter().cycle().take(frames * 2).copied().collect()
    }

    /// The second pass of a mix of the loop played twice: `frames` frames from `frames` on,
    /// for the mix, every stem and every drum channel; loudness and true peak measured again
    /// on what is kept.
    pub fn second_pass(mut r: MixResult, frames: usize, sample_rate: u32) -> MixResult {
        let keep = |v: &mut Vec<f32>| {
            v.resize(v.len().max(4 * frames), 0.0);
            v.drain(..2 * frames);
            v.truncate(2 * frames);
        };
        keep(&mut r.mix);
        r.stems.values_mut().for_each(keep);
        r.channels.values_mut().for_each(keep);
        (r.integrated_lufs, r.true_peak_dbtp) = mix::measure(&r.mix, sample_rate);
        r
    }
}
