//! Rendering: the codec boundary from symbols to audio. Each `Part` is played by an
//! instrument chosen from its style (synthesized drum voices, basses, pads, keys, leads) into
//! stereo buffers of exactly the context's length; drums also come out per channel.

pub mod drums;
pub mod dsp;
pub mod synth;

use crate::generators::Part;
use resonantgen_shared::GenerationContext;
use resonantgen_shared::rng::Rng;
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

/// Renders one part with the instrument its style names.
pub fn render_part(part: &Part, ctx: &GenerationContext) -> Rendered {
    let frames = ctx.total_frames();
    let sr = ctx.sample_rate as f32;
    let mut rng = Rng::derive(ctx.seed, &format!("render:{}", part.track));
    let (mut out, channels) = match part.track.as_str() {
        "drums" => {
            let chans = drums::render(part, frames, sr, &mut rng);
            let mut sum = StereoBuf::new(frames);
            for buf in chans.values() {
                sum.mix_in(buf, 1.0);
            }
            (sum, chans)
        }
        "bass" => (synth::bass(part, frames, sr, &mut rng), BTreeMap::new()),
        "harmony" => (synth::harmony(part, frames, sr, &mut rng), BTreeMap::new()),
        _ => (synth::lead(part, frames, sr, &mut rng), BTreeMap::new()),
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
