//! Color: the processors that change timbre through nonlinearity and tone — distortion (hard
//! drive into a tone filter), saturation (gentle tanh), warm (tape: soft saturation, rounded
//! highs, a little low-mid weight) and filter (a resonant low-pass). Each restores the input's
//! RMS so the mix engine keeps control of levels.

use super::{ProcessContext, Processor, restore_rms, rms};
use crate::render::dsp::Svf;

/// Runs `f(sample, channel, state)` over both channels of interleaved stereo.
fn per_channel<S: Default>(buf: &mut [f32], mut f: impl FnMut(f32, &mut S) -> f32) {
    let (mut l, mut r) = (S::default(), S::default());
    for frame in buf.chunks_exact_mut(2) {
        frame[0] = f(frame[0], &mut l);
        frame[1] = f(frame[1], &mut r);
    }
}

/// Drive normalized to the material's RMS, so the same word distorts quiet and loud stems alike.
fn drive_for(buf: &[f32], amount: f32) -> f32 {
    amount / rms(buf).max(1e-4) * 0.25
}

pub struct Distortion {
    pub amount: f32,
    pub tone_hz: f32,
}

impl Default for Distortion {
    fn default() -> Self {
        Distortion {
            amount: 2.2,
            tone_hz: 5200.0,
        }
    }
}

impl Processor for Distortion {
    fn name(&self) -> &'static str {
        "distortion"
    }

    fn process(&mut self, buf: &mut [f32], ctx: &ProcessContext) {
        let before = rms(buf);
        let drive = drive_for(buf, self.amount);
        let sr = ctx.sample_rate as f32;
        let tone = self.tone_hz;
        per_channel::<Svf>(buf, |x, lp| {
            // asymmetric clipping adds the even harmonics of an overdriven amp
            let y = (x * drive + 0.1).tanh() - 0.1f32.tanh();
            lp.lowpass(y, tone, 0.7, sr)
        });
        remove_dc(buf, sr);
        restore_rms(buf, before);
    }
}

#[derive(Default)]
pub struct Saturation;

impl Processor for Saturation {
    fn name(&self) -> &'static str {
        "saturation"
    }

    fn process(&mut self, buf: &mut [f32], _ctx: &ProcessContext) {
        let before = rms(buf);
        let drive = drive_for(buf, 0.9);
        buf.iter_mut()
            .for_each(|s| *s = (*s * drive).tanh() / drive);
        restore_rms(buf, before);
    }
}

#[derive(Default)]
pub struct Warm;

impl Processor for Warm {
    fn name(&self) -> &'static str {
        "warm"
    }

    fn process(&mut self, buf: &mut [f32], ctx: &ProcessContext) {
        let before = rms(buf);
        let drive = drive_for(buf, 0.7);
        let sr = ctx.sample_rate as f32;
        per_channel::<(Svf, Svf)>(buf, |x, (lp, body)| {
            let sat = (x * drive).tanh() / drive;
            // roll the top off like tape and lift the low mids a touch
            let rounded = lp.lowpass(sat, 9000.0, 0.6, sr);
            rounded + 0.25 * body.bandpass(rounded, 250.0, 0.8, sr)
        });
        restore_rms(buf, before);
    }
}

pub struct Filter {
    pub cutoff_hz: f32,
    pub resonance: f32,
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            cutoff_hz: 1800.0,
            resonance: 1.4,
        }
    }
}

impl Processor for Filter {
    fn name(&self) -> &'static str {
        "filter"
    }

    fn process(&mut self, buf: &mut [f32], ctx: &ProcessContext) {
        let before = rms(buf);
        let sr = ctx.sample_rate as f32;
        let (c, q) = (self.cutoff_hz, self.resonance);
        per_channel::<Svf>(buf, |x, lp| lp.lowpass(x, c, q, sr));
        restore_rms(buf, before);
    }
}

/// A 10 Hz high-pass: nonlinear stages (and decaying sine drums) must not leave DC behind.
pub fn remove_dc(buf: &mut [f32], sr: f32) {
    per_channel::<Svf>(buf, |x, hp| hp.highpass(x, 10.0, 0.707, sr));
}
