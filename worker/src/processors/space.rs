//! Space: reverb (a Freeverb network — eight damped combs into four all-passes per side, the
//! right side's delays spread so the tail is stereo), a tempo-synced ping-pong delay, and a
//! mid/side widener that keeps the low end mono.

use super::{ProcessContext, Processor, restore_rms, rms};
use crate::render::dsp::Svf;

const COMBS: [usize; 8] = [1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617];
const ALLPASSES: [usize; 4] = [556, 441, 341, 225];
const SPREAD: usize = 23;

struct Comb {
    buf: Vec<f32>,
    pos: usize,
    store: f32,
}

impl Comb {
    fn new(len: usize) -> Self {
        Comb {
            buf: vec![0.0; len.max(1)],
            pos: 0,
            store: 0.0,
        }
    }

    fn tick(&mut self, x: f32, feedback: f32, damp: f32) -> f32 {
        let out = self.buf[self.pos];
        self.store = out * (1.0 - damp) + self.store * damp;
        self.buf[self.pos] = x + self.store * feedback;
        self.pos = (self.pos + 1) % self.buf.len();
        out
    }
}

struct AllPass {
    buf: Vec<f32>,
    pos: usize,
}

impl AllPass {
    fn new(len: usize) -> Self {
        AllPass {
            buf: vec![0.0; len.max(1)],
            pos: 0,
        }
    }

    fn tick(&mut self, x: f32) -> f32 {
        let b = self.buf[self.pos];
        self.buf[self.pos] = x + b * 0.5;
        self.pos = (self.pos + 1) % self.buf.len();
        b - x
    }
}

pub struct Reverb {
    /// Wet level (0..1); the dry signal stays at unity.
    pub wet: f32,
    /// Comb feedback: the room's size.
    pub room: f32,
    pub damp: f32,
    pub predelay_s: f32,
}

impl Reverb {
    pub fn room(wet: f32) -> Self {
        Reverb {
            wet,
            room: 0.84,
            damp: 0.35,
            predelay_s: 0.02,
        }
    }
}

impl Processor for Reverb {
    fn name(&self) -> &'static str {
        "reverb"
    }

    fn process(&mut self, buf: &mut [f32], ctx: &ProcessContext) {
        let before = rms(buf);
        let sr = ctx.sample_rate as f32;
        let scale = sr / 44_100.0;
        let len = |n: usize| (n as f32 * scale) as usize;
        let mut combs: [Vec<Comb>; 2] = [
            COMBS.iter().map(|n| Comb::new(len(*n))).collect(),
            COMBS.iter().map(|n| Comb::new(len(n + SPREAD))).collect(),
        ];
        let mut alls: [Vec<AllPass>; 2] = [
            ALLPASSES.iter().map(|n| AllPass::new(len(*n))).collect(),
            ALLPASSES
                .iter()
                .map(|n| AllPass::new(len(n + SPREAD)))
                .collect(),
        ];
        let pre = (self.predelay_s * sr) as usize;
        let frames = buf.len() / 2;
        let mut pre_buf = vec![0.0f32; pre.max(1)];
        let mut hp = [Svf::default(), Svf::default()];
        let mut wet = vec![0.0f32; buf.len()];
        for i in 0..frames {
            let mono = (buf[i * 2] + buf[i * 2 + 1]) * 0.5;
            let delayed = if pre > 0 {
                let d = pre_buf[i % pre];
                pre_buf[i % pre] = mono;
                d
            } else {
                mono
            };
            let input = delayed * 0.03;
            for ch in 0..2 {
                let mut s: f32 = combs[ch]
                    .iter_mut()
                    .map(|c| c.tick(input, self.room, self.damp))
                    .sum();
                for a in alls[ch].iter_mut() {
                    s = a.tick(s);
                }
                // keep the low end dry: reverb below 200 Hz is mud
                wet[i * 2 + ch] = hp[ch].highpass(s, 200.0, 0.707, sr);
            }
        }
        let g = self.wet / rms(&wet).max(1e-9) * before;
        for (b, w) in buf.iter_mut().zip(&wet) {
            *b += w * g;
        }
        restore_rms(buf, before);
    }
}

/// Tempo-synced ping-pong echo: a dotted eighth on the left, a quarter on the right, each
/// repeat darker than the last.
pub struct Delay {
    pub feedback: f32,
    pub wet: f32,
}

impl Default for Delay {
    fn default() -> Self {
        Delay {
            feedback: 0.35,
            wet: 0.6,
        }
    }
}

impl Processor for Delay {
    fn name(&self) -> &'static str {
        "delay"
    }

    fn process(&mut self, buf: &mut [f32], ctx: &ProcessContext) {
        let before = rms(buf);
        let sr = ctx.sample_rate as f32;
        let step = 60.0 / ctx.tempo_bpm as f32 / 4.0;
        let dl = ((3.0 * step * sr) as usize).max(1);
        let dr = ((4.0 * step * sr) as usize).max(1);
        let frames = buf.len() / 2;
        let (mut el, mut er) = (vec![0.0f32; frames], vec![0.0f32; frames]);
        let (mut lp_l, mut lp_r) = (Svf::default(), Svf::default());
        for i in 0..frames {
            let (x_l, x_r) = (buf[i * 2], buf[i * 2 + 1]);
            let fb_l = if i >= dl { el[i - dl] } else { 0.0 };
            let fb_r = if i >= dr { er[i - dr] } else { 0.0 };
            el[i] = lp_l.lowpass(x_r * 0.35 + fb_r * self.feedback, 4500.0, 0.7, sr);
            er[i] = lp_r.lowpass(x_l * 0.35 + fb_l * self.feedback, 4500.0, 0.7, sr);
            buf[i * 2] = x_l + el[i] * self.wet;
            buf[i * 2 + 1] = x_r + er[i] * self.wet;
        }
        restore_rms(buf, before);
    }
}

/// Mid/side widening above 250 Hz; a mono source gets its side from a short (Haas) delay.
pub struct Wide {
    pub width: f32,
}

impl Default for Wide {
    fn default() -> Self {
        Wide { width: 1.6 }
    }
}

impl Processor for Wide {
    fn name(&self) -> &'static str {
        "wide"
    }

    fn process(&mut self, buf: &mut [f32], ctx: &ProcessContext) {
        let before = rms(buf);
        let sr = ctx.sample_rate as f32;
        let frames = buf.len() / 2;
        let haas = (0.011 * sr) as usize;
        let mono = buf.chunks_exact(2).all(|f| (f[0] - f[1]).abs() < 1e-6);
        let mids: Vec<f32> = buf.chunks_exact(2).map(|f| (f[0] + f[1]) * 0.5).collect();
        let mut hp = Svf::default();
        for i in 0..frames {
            let mid = mids[i];
            let side = if mono {
                let d = if i >= haas { mids[i - haas] } else { 0.0 };
                (mid - d) * 0.35
            } else {
                (buf[i * 2] - buf[i * 2 + 1]) * 0.5
            };
            let side = hp.highpass(side, 250.0, 0.707, sr) * self.width;
            buf[i * 2] = mid + side;
            buf[i * 2 + 1] = mid - side;
        }
        restore_rms(buf, before);
    }
}
