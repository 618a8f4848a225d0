//! Vintage media: the seed's VinylEmulator (a record's band-limits, wow, surface noise,
//! crackle and the odd pop), lo-fi (a cheap sampler's bit depth and sample rate) and dusty (an
//! old drum break: dull top, a little grit and hiss). Noise and crackle come from
//! a seeded generator, so a re-render is bit-identical.

use super::color::remove_dc;
use super::{ProcessContext, Processor, restore_rms, rms};
use crate::render::dsp::Svf;
use resonantgen_core::rng::Rng;

/// Band-limits each channel to [low, high] Hz.
fn band_limit(buf: &mut [f32], low: f32, high: f32, sr: f32) {
    for ch in 0..2 {
        let (mut hp, mut lp) = (Svf::default(), Svf::default());
        for frame in buf.chunks_exact_mut(2) {
            let x = hp.highpass(frame[ch], low, 0.707, sr);
            frame[ch] = lp.lowpass(x, high, 0.707, sr);
        }
    }
}

pub struct VinylEmulator {
    /// Surface noise below the program's RMS (dB).
    pub noise_db: f32,
    /// Crackle events per second.
    pub crackle_rate: f32,
    /// Wow depth in milliseconds at 0.55 Hz (one turn of a 33⅓ record).
    pub wow_ms: f32,
}

impl Default for VinylEmulator {
    fn default() -> Self {
        VinylEmulator {
            noise_db: -38.0,
            crackle_rate: 9.0,
            wow_ms: 0.35,
        }
    }
}

impl Processor for VinylEmulator {
    fn name(&self) -> &'static str {
        "vinyl"
    }

    fn process(&mut self, buf: &mut [f32], ctx: &ProcessContext) {
        let before = rms(buf);
        if before <= 1e-9 {
            return;
        }
        let sr = ctx.sample_rate as f32;
        let frames = buf.len() / 2;
        // Wow: read through a slowly modulated delay line (linear interpolation), at the
        // whole number of cycles per 4/4 bar nearest a record's 0.55 Hz turn, so a loop of
        // whole bars wows the same on every repeat (a free 0.55 Hz shifted the audio at the
        // seam).
        let src = buf.to_vec();
        let depth = self.wow_ms * 1e-3 * sr;
        let bar_seconds = (240.0 / ctx.tempo_bpm.max(1.0)) as f32;
        let wow_hz = (0.55 * bar_seconds).round().max(1.0) / bar_seconds;
        for i in 0..frames {
            let d = depth * (1.0 + (std::f32::consts::TAU * wow_hz * i as f32 / sr).sin());
            let pos = i as f32 - d;
            if pos < 0.0 {
                continue;
            }
            let j = pos.floor() as usize;
            let f = pos - j as f32;
            for ch in 0..2 {
                let a = src[j * 2 + ch];
                let b = src[((j + 1).min(frames - 1)) * 2 + ch];
                buf[i * 2 + ch] = a + (b - a) * f;
            }
        }
        // A record's bandwidth.
        band_limit(buf, 45.0, 12_000.0, sr);
        // Surface noise (pinkish: white through a gentle low-pass) and crackle.
        let mut rng = Rng::new(ctx.seed, 0x5149);
        let noise_amp = before * 10f32.powf(self.noise_db / 20.0) * 2.0;
        let click_amp = before * 1.6;
        let p_click = self.crackle_rate / sr / ctx.voices.max(1) as f32;
        let mut click_env = [0.0f32; 2];
        let mut tone = [Svf::default(), Svf::default()];
        let mut crackle_hp = [Svf::default(), Svf::default()];
        for i in 0..frames {
            if rng.f32() < p_click {
                // most crackles are tiny ticks; one in twenty is a pop
                let big = if rng.chance(0.05) {
                    3.0
                } else {
                    0.3 + rng.f32() * 0.7
                };
                let side = rng.below(3); // left, right or both
                let amp = big * (if rng.chance(0.5) { 1.0 } else { -1.0 });
                if side != 1 {
                    click_env[0] = amp;
                }
                if side != 0 {
                    click_env[1] = amp;
                }
            }
            for ch in 0..2 {
                let hiss = tone[ch].lowpass(rng.bipolar(), 3500.0, 0.5, sr) * noise_amp;
                let crackle = crackle_hp[ch].highpass(click_env[ch], 1500.0, 0.7, sr) * click_amp;
                click_env[ch] *= 0.55;
                buf[i * 2 + ch] += hiss + crackle * 0.1;
            }
        }
        remove_dc(buf, sr);
        restore_rms(buf, before);
    }
}

/// A cheap sampler: 10-bit samples held at ~11 kHz, then its anti-imaging filter.
pub struct LoFi {
    pub bits: u32,
    pub rate_hz: f32,
}

impl Default for LoFi {
    fn default() -> Self {
        LoFi {
            bits: 10,
            rate_hz: 11_025.0,
        }
    }
}

impl Processor for LoFi {
    fn name(&self) -> &'static str {
        "lo-fi"
    }

    fn process(&mut self, buf: &mut [f32], ctx: &ProcessContext) {
        let before = rms(buf);
        if before <= 1e-9 {
            return;
        }
        let sr = ctx.sample_rate as f32;
        let peak = buf.iter().fold(0.0f32, |m, s| m.max(s.abs())).max(1e-6);
        let levels = (1u32 << (self.bits - 1)) as f32;
        let hold = (sr / self.rate_hz).max(1.0);
        let mut held = [0.0f32; 2];
        let mut phase = hold;
        // The sample-and-hold grid restarts on every 4/4 bar line, so a loop of whole bars
        // holds the same samples on every repeat.
        let bar_frames = 240.0 / ctx.tempo_bpm.max(1.0) * f64::from(ctx.sample_rate);
        let mut bar = 0u64;
        for (i, frame) in buf.chunks_exact_mut(2).enumerate() {
            phase += 1.0;
            let this_bar = (i as f64 / bar_frames) as u64;
            if this_bar != bar {
                bar = this_bar;
                phase = hold;
            }
            if phase >= hold {
                phase -= hold;
                for ch in 0..2 {
                    held[ch] = (frame[ch] / peak * levels).round() / levels * peak;
                }
            }
            frame[0] = held[0];
            frame[1] = held[1];
        }
        band_limit(buf, 30.0, self.rate_hz * 0.45, sr);
        restore_rms(buf, before);
    }
}

/// An old break off a worn record: dull top, grit, hiss.
#[derive(Default)]
pub struct Dusty;

impl Processor for Dusty {
    fn name(&self) -> &'static str {
        "dusty"
    }

    fn process(&mut self, buf: &mut [f32], ctx: &ProcessContext) {
        let before = rms(buf);
        if before <= 1e-9 {
            return;
        }
        let sr = ctx.sample_rate as f32;
        let drive = 0.6 / before.max(1e-4) * 0.25;
        buf.iter_mut()
            .for_each(|s| *s = (*s * drive).tanh() / drive);
        band_limit(buf, 35.0, 8_500.0, sr);
        let mut rng = Rng::new(ctx.seed, 0xD057);
        let hiss = before * 10f32.powf(-42.0 / 20.0) * 1.7;
        buf.iter_mut().for_each(|s| *s += rng.bipolar() * hiss);
        restore_rms(buf, before);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vinyl_band_limits_and_adds_crackle() {
        let sr = 44_100u32;
        let ctx = ProcessContext {
            sample_rate: sr,
            tempo_bpm: 90.0,
            seed: 3,
            voices: 1,
        };
        // A steady 1 kHz tone: after the emulator, the part that is not the tone is the
        // record: hiss and crackle, well below the music but present.
        let tone: Vec<f32> = (0..sr as usize * 4)
            .map(|i| 0.3 * (std::f32::consts::TAU * 1000.0 * (i / 2) as f32 / sr as f32).sin())
            .collect();
        let mut v = tone.clone();
        VinylEmulator::default().process(&mut v, &ctx);
        // The same record without noise or crackle: the difference is the surface.
        let mut clean = tone.clone();
        VinylEmulator {
            noise_db: -200.0,
            crackle_rate: 0.0,
            ..VinylEmulator::default()
        }
        .process(&mut clean, &ctx);
        let a = v.iter().zip(&clean).map(|(x, y)| x * y).sum::<f32>()
            / clean.iter().map(|y| y * y).sum::<f32>();
        let residual: Vec<f32> = v.iter().zip(&clean).map(|(x, y)| x - a * y).collect();
        let noise_db = 20.0 * (rms(&residual) / rms(&v)).log10();
        assert!(
            (-50.0..-25.0).contains(&noise_db),
            "surface at {noise_db:.1} dB"
        );
        // crackle: sparse peaks well above the hiss floor
        let mut mags: Vec<f32> = residual.iter().map(|s| s.abs()).collect();
        mags.sort_by(f32::total_cmp);
        let median = mags[mags.len() / 2];
        let spikes = residual.iter().filter(|s| s.abs() > median * 8.0).count();
        assert!(spikes > 10, "{spikes} crackle samples");
    }
}
