//! Rendering: the decode side of the symbolic codec (`codec.rs`). Each `Part` is played by the
//! instrument the intent chose (`instruments`): our synthesizers or sampled SoundFont
//! instruments, into stereo buffers of exactly the context's length; drums also come out per
//! channel.

pub mod drums;
pub mod dsp;
pub mod instruments;
pub mod sampler;
pub mod synth;

pub use instruments::Instrument;

use crate::generators::Part;
use resonantgen_shared::rng::Rng;
use resonantgen_shared::{GenerationContext, TrackType};
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

/// Renders one part with our synthesizers (the instrument its style names).
pub fn render_part(part: &Part, ctx: &GenerationContext) -> Rendered {
    render_with(part, ctx, &Instrument::Synth(String::new()))
}

/// Renders one part with `instrument`; a sampled instrument whose SoundFont cannot be
/// played falls back to the synthesizer.
pub fn render_with(part: &Part, ctx: &GenerationContext, instrument: &Instrument) -> Rendered {
    let frames = ctx.total_frames();
    let sr = ctx.sample_rate as f32;
    let mut rng = Rng::derive(ctx.seed, &format!("render:{}", part.track));
    let sampled = match instrument {
        Instrument::Sampled { patch, .. } => sampler::soundfont().and_then(|sf| {
            if patch.drums {
                sampled_drums(part, &sf, *patch, frames, ctx.sample_rate)
            } else {
                sampler::play(&sf, *patch, &part.notes, frames, ctx.sample_rate)
                    .map(|b| (b, BTreeMap::new()))
            }
        }),
        Instrument::Synth(_) => None,
    };
    let voice = match instrument {
        Instrument::Synth(v) => v.as_str(),
        Instrument::Sampled { .. } => "",
    };
    let (mut out, channels) = match (sampled, part.track) {
        (Some(done), _) => done,
        (None, TrackType::Drums) => {
            let chans = drums::render(part, frames, sr, &mut rng);
            let mut sum = StereoBuf::new(frames);
            for buf in chans.values() {
                sum.mix_in(buf, 1.0);
            }
            (sum, chans)
        }
        (None, TrackType::Bass) => (
            synth::bass(part, frames, sr, voice, &mut rng),
            BTreeMap::new(),
        ),
        (None, TrackType::Harmony) => (synth::harmony(part, frames, sr, &mut rng), BTreeMap::new()),
        (None, TrackType::Melody) => (synth::lead(part, frames, sr, &mut rng), BTreeMap::new()),
    };
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
