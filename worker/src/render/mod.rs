//! Rendering: the decode side of the symbolic codec (`codec.rs`). Each `Part` is played by the
//! instrument the intent chose (`instruments` resolves it): sampled SoundFont instruments
//! brought to the track's level (`level`), or our synthesizers, into stereo buffers of
//! exactly the context's length; drums also come out per channel.

pub mod drums;
pub mod dsp;
pub mod instruments;
pub mod level;
pub mod sampler;
pub mod synth;

pub use instruments::Played;

use crate::generators::Part;
use resonantgen_core::instrument::SynthVoice;
use resonantgen_core::rng::Rng;
use resonantgen_core::{GenerationContext, TrackType};
use std::collections::BTreeMap;

/// A stereo rendering (interleaved L/R) plus per-channel stems where the track has them.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub stereo: Vec<f32>,
    pub channels: BTreeMap<String, Vec<f32>>,
}

/// Interleaved stereo buffer helper.
pub struct StereoBuf {
    pub data: Vec<f32>,
}

impl StereoBuf {
    pub fn new(frames: usize) -> Self {
        StereoBuf {
            data: vec![0.0; frames * 2],
        }
    }

    pub fn frames(&self) -> usize {
        self.data.len() / 2
    }

    #[inline]
    pub fn add(&mut self, frame: usize, l: f32, r: f32) {
        if let Some(s) = self.data.get_mut(frame * 2..frame * 2 + 2) {
            s[0] += l;
            s[1] += r;
        }
    }

    pub fn mix_in(&mut self, other: &StereoBuf, gain: f32) {
        for (a, b) in self.data.iter_mut().zip(&other.data) {
            *a += b * gain;
        }
    }

    /// A short fade at the very end so a cut never clicks.
    pub fn fade_out(&mut self, seconds: f32, sr: f32) {
        let n = ((seconds * sr) as usize).min(self.frames());
        let start = self.frames() - n;
        for i in 0..n {
            let g = 1.0 - (i as f32 + 1.0) / n as f32;
            self.data[(start + i) * 2] *= g;
            self.data[(start + i) * 2 + 1] *= g;
        }
    }
}

/// Renders one part with our synthesizers (the voice its intent would fall back to).
pub fn render_part(part: &Part, ctx: &GenerationContext) -> Rendered {
    let voice = match part.track {
        TrackType::Drums => SynthVoice::Machine909,
        TrackType::Bass => SynthVoice::Analog,
        TrackType::Harmony => match part.style.as_str() {
            "pad" => SynthVoice::Pad,
            "stabs" => SynthVoice::Stabs,
            _ => SynthVoice::FmPiano,
        },
        TrackType::Melody => match part.style.as_str() {
            "pluck" => SynthVoice::Pluck,
            "bell" => SynthVoice::Bell,
            "square" => SynthVoice::Square,
            _ => SynthVoice::Saw,
        },
    };
    render_synth(part, ctx, voice)
}

/// Renders one part the way it is `played`; a sampled instrument whose SoundFont cannot be
/// played falls back to its synthesizer.
pub fn render_with(part: &Part, ctx: &GenerationContext, played: &Played) -> Rendered {
    let frames = ctx.total_frames();
    let sampled = match played {
        Played::Sampled { patch, .. } => sampler::soundfont().and_then(|sf| {
            if patch.drums {
                sampled_drums(part, &sf, *patch, frames, ctx.sample_rate)
            } else {
                sampler::play(&sf, *patch, &part.notes, frames, ctx.sample_rate)
                    .map(|b| (b, BTreeMap::new()))
            }
        }),
        Played::Synth { .. } => None,
    };
    let Some((mut out, mut channels)) = sampled else {
        let voice = played
            .synth_voice()
            .unwrap_or(played.instrument().spec().fallback);
        return render_synth(part, ctx, voice);
    };
    // SoundFont programs differ in level by 20 dB; bring each to the level the mix expects
    // of the track, keeping the part's own dynamics.
    let gain = level::gain_to(&out.data, ctx.sample_rate, level::target_rms_db(part.track));
    for s in out.data.iter_mut() {
        *s *= gain;
    }
    for buf in channels.values_mut() {
        for s in buf.data.iter_mut() {
            *s *= gain;
        }
    }
    finish(out, channels, ctx.sample_rate as f32)
}

/// Renders one part with a synthesizer voice.
fn render_synth(part: &Part, ctx: &GenerationContext, voice: SynthVoice) -> Rendered {
    let frames = ctx.total_frames();
    let sr = ctx.sample_rate as f32;
    let mut rng = Rng::derive(
        ctx.seed,
        &ctx.part_stream(&format!("render:{}", part.track)),
    );
    let (out, channels) = match part.track {
        TrackType::Drums => {
            let tight = !matches!(voice, SynthVoice::Machine909);
            let chans = drums::render(part, frames, sr, tight, &mut rng);
            let mut sum = StereoBuf::new(frames);
            for buf in chans.values() {
                sum.mix_in(buf, 1.0);
            }
            (sum, chans)
        }
        TrackType::Bass => {
            let name = match voice {
                SynthVoice::Sub => "sub",
                SynthVoice::Reese => "reese",
                SynthVoice::Acid => "acid",
                SynthVoice::FmBass => "fm",
                SynthVoice::Bass808 => "808",
                SynthVoice::Pulse => "pulse",
                SynthVoice::Wobble => "wobble",
                _ => "subtractive",
            };
            (
                synth::bass(part, frames, sr, name, &mut rng),
                BTreeMap::new(),
            )
        }
        TrackType::Harmony => {
            let name = match voice {
                SynthVoice::Pad | SynthVoice::Supersaw => "pad",
                SynthVoice::Stabs | SynthVoice::Saw | SynthVoice::Square => "stabs",
                _ => "keys",
            };
            (
                synth::harmony(part, frames, sr, name, &mut rng),
                BTreeMap::new(),
            )
        }
        TrackType::Melody => {
            let name = match voice {
                SynthVoice::Pluck => "pluck",
                SynthVoice::Bell => "bell",
                SynthVoice::Square | SynthVoice::Pulse => "square",
                _ => "saw",
            };
            (
                synth::lead(part, frames, sr, name, &mut rng),
                BTreeMap::new(),
            )
        }
    };
    finish(out, channels, sr)
}

/// A short fade at the end of every buffer, so a cut never clicks.
fn finish(mut out: StereoBuf, channels: BTreeMap<String, StereoBuf>, sr: f32) -> Rendered {
    out.fade_out(0.01, sr);
    Rendered {
        stereo: out.data,
        channels: channels
            .into_iter()
            .map(|(k, mut v)| {
                v.fade_out(0.01, sr);
                (k, v.data)
            })
            .collect(),
    }
}

/// A sampled kit, one pass per drum channel so each channel is its own stem.
fn sampled_drums(
    part: &Part,
    sf: &std::sync::Arc<rustysynth::SoundFont>,
    patch: sampler::Patch,
    frames: usize,
    sample_rate: u32,
) -> Option<(StereoBuf, BTreeMap<String, StereoBuf>)> {
    use crate::generators::drums::VOICE_CHANNEL;
    let mut chans = BTreeMap::new();
    let mut sum = StereoBuf::new(frames);
    let mut names: Vec<&str> = VOICE_CHANNEL.to_vec();
    names.dedup();
    for name in names {
        let notes: Vec<_> = part
            .notes
            .iter()
            .filter(|n| VOICE_CHANNEL.get(n.voice as usize) == Some(&name))
            .copied()
            .collect();
        let buf = sampler::play(sf, patch, &notes, frames, sample_rate)?;
        sum.mix_in(&buf, 1.0);
        chans.insert(name.to_string(), buf);
    }
    Some((sum, chans))
}
