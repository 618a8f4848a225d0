//! DSP building blocks, written to read like the signal flow: band-limited oscillators
//! (PolyBLEP), a state-variable filter, envelopes, noise and panning.

use std::f32::consts::PI;

pub fn midi_hz(pitch: f32) -> f32 {
    440.0 * 2f32.powf((pitch - 69.0) / 12.0)
}

/// PolyBLEP residual: removes the aliasing of a hard edge at phase 0.
fn poly_blep(t: f32, dt: f32) -> f32 {
    if t < dt {
        let x = t / dt;
        x + x - x * x - 1.0
    } else if t > 1.0 - dt {
        let x = (t - 1.0) / dt;
        x * x + x + x + 1.0
    } else {
        0.0
    }
}

/// A phase accumulator with band-limited waveforms.
#[derive(Debug, Clone, Copy, Default)]
pub struct Osc {
    phase: f32,
}

impl Osc {
    pub fn with_phase(phase: f32) -> Self {
        Osc {
            phase: phase.rem_euclid(1.0),
        }
    }

    fn advance(&mut self, dt: f32) {
        self.phase += dt;
        if self.phase >= 1.0 {
            self.phase -= 1.0;
        }
    }

    pub fn sine(&mut self, hz: f32, sr: f32) -> f32 {
        let out = (2.0 * PI * self.phase).sin();
        self.advance(hz / sr);
        out
    }

    pub fn saw(&mut self, hz: f32, sr: f32) -> f32 {
        let dt = (hz / sr).min(0.5);
        let out = 2.0 * self.phase - 1.0 - poly_blep(self.phase, dt);
        self.advance(dt);
        out
    }

    pub fn square(&mut self, hz: f32, sr: f32) -> f32 {
        let dt = (hz / sr).min(0.5);
        let mut out = if self.phase < 0.5 { 1.0 } else { -1.0 };
        out += poly_blep(self.phase, dt);
        out -= poly_blep((self.phase + 0.5).rem_euclid(1.0), dt);
        self.advance(dt);
        out
    }

    /// Phase-modulated sine (FM synthesis): `pm` in cycles.
    pub fn sine_pm(&mut self, hz: f32, sr: f32, pm: f32) -> f32 {
        let out = (2.0 * PI * (self.phase + pm)).sin();
        self.advance(hz / sr);
        out
    }
}

/// Topology-preserving state-variable filter (Simper): stable under fast cutoff sweeps.
#[derive(Debug, Clone, Copy, Default)]
pub struct Svf {
    ic1: f32,
    ic2: f32,
}

pub struct SvfOut {
    pub low: f32,
    pub band: f32,
    pub high: f32,
}

impl Svf {
    pub fn process(&mut self, x: f32, cutoff: f32, q: f32, sr: f32) -> SvfOut {
        let g = (PI * (cutoff.clamp(10.0, sr * 0.45)) / sr).tan();
        let k = 1.0 / q.max(0.05);
        let a1 = 1.0 / (1.0 + g * (g + k));
        let a2 = g * a1;
        let a3 = g * a2;
        let v3 = x - self.ic2;
        let v1 = a1 * self.ic1 + a2 * v3;
        let v2 = self.ic2 + a2 * self.ic1 + a3 * v3;
        self.ic1 = 2.0 * v1 - self.ic1;
        self.ic2 = 2.0 * v2 - self.ic2;
        SvfOut {
            low: v2,
            band: v1,
            high: x - k * v1 - v2,
        }
    }

    pub fn lowpass(&mut self, x: f32, cutoff: f32, q: f32, sr: f32) -> f32 {
        self.process(x, cutoff, q, sr).low
    }

    pub fn highpass(&mut self, x: f32, cutoff: f32, q: f32, sr: f32) -> f32 {
        self.process(x, cutoff, q, sr).high
    }

    pub fn bandpass(&mut self, x: f32, cutoff: f32, q: f32, sr: f32) -> f32 {
        self.process(x, cutoff, q, sr).band
    }
}

/// Linear-attack, exponential-decay ADSR evaluated at time `t` of a note held for `hold`.
#[derive(Debug, Clone, Copy)]
pub struct Adsr {
    pub attack: f32,
    pub decay: f32,
    pub sustain: f32,
    pub release: f32,
}

impl Adsr {
    pub fn level(&self, t: f32, hold: f32) -> f32 {
        let held = |t: f32| {
            if t < self.attack {
                t / self.attack.max(1e-4)
            } else {
                let d = (t - self.attack) / self.decay.max(1e-4);
                self.sustain + (1.0 - self.sustain) * (-d * 3.0).exp()
            }
        };
        if t < hold {
            held(t)
        } else {
            let r = (t - hold) / self.release.max(1e-4);
            if r >= 1.0 {
                0.0
            } else {
                held(hold) * (1.0 - r) * (1.0 - r)
            }
        }
    }

    /// How long after the note starts the envelope is silent.
    pub fn length(&self, hold: f32) -> f32 {
        hold + self.release
    }
}

/// White noise from the deterministic RNG.
pub struct Noise(pub resonantgen_core::rng::Rng);

impl Noise {
    pub fn sample(&mut self) -> f32 {
        self.0.bipolar()
    }
}

/// Equal-power pan: -1 left .. 1 right → (left gain, right gain).
pub fn pan(p: f32) -> (f32, f32) {
    let a = (p.clamp(-1.0, 1.0) + 1.0) * PI / 4.0;
    (a.cos(), a.sin())
}

/// Soft saturation that leaves small signals nearly untouched.
pub fn saturate(x: f32, drive: f32) -> f32 {
    (x * drive).tanh() / drive.tanh()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oscillators_are_bounded_and_periodic() {
        let mut o = Osc::default();
        let sr = 44_100.0;
        let s: Vec<f32> = (0..44_100).map(|_| o.saw(441.0, sr)).collect();
        assert!(s.iter().all(|x| x.abs() <= 1.2));
        // 441 Hz at 44.1 kHz repeats every 100 samples
        assert!((s[1000] - s[1100]).abs() < 1e-3);
    }

    #[test]
    fn lowpass_attenuates_highs() {
        let sr = 44_100.0;
        let mut f = Svf::default();
        let mut o = Osc::default();
        let out: Vec<f32> = (0..44_100)
            .map(|_| f.lowpass(o.sine(8000.0, sr), 200.0, 0.7, sr))
            .collect();
        let peak = out[22_050..].iter().fold(0.0f32, |m, x| m.max(x.abs()));
        assert!(peak < 0.01, "{peak}");
    }

    #[test]
    fn envelope_shape() {
        let e = Adsr {
            attack: 0.01,
            decay: 0.1,
            sustain: 0.5,
            release: 0.1,
        };
        assert_eq!(e.level(0.0, 1.0), 0.0);
        assert!((e.level(0.01, 1.0) - 1.0).abs() < 1e-3);
        assert!((e.level(0.9, 1.0) - 0.5).abs() < 0.01);
        assert_eq!(e.level(1.2, 1.0), 0.0);
    }
}
