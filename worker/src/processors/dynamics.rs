//! Dynamics: a feed-forward compressor with a stereo-linked, smoothed peak detector. Its
//! threshold is set from the material's own level (so "compression" means the same on a quiet
//! pad and a loud kick), and make-up gain restores the RMS it took.

use super::{ProcessContext, Processor, restore_rms, rms};

pub struct Compressor {
    name: &'static str,
    /// Threshold relative to the input's RMS (dB).
    threshold_over_rms_db: f32,
    ratio: f32,
    attack_s: f32,
    release_s: f32,
}

impl Compressor {
    /// Track compression: punchy, catches transients.
    pub fn track() -> Self {
        Compressor {
            name: "compression",
            threshold_over_rms_db: 3.0,
            ratio: 3.0,
            attack_s: 0.005,
            release_s: 0.08,
        }
    }

    /// Bus "glue": gentle ratio, slower attack that lets the transients through.
    pub fn glue() -> Self {
        Compressor {
            name: "bus compression",
            threshold_over_rms_db: 4.0,
            ratio: 2.0,
            attack_s: 0.01,
            release_s: 0.15,
        }
    }

    /// Gain reduction (dB, ≥ 0) for a detector level in dB, with a 6 dB soft knee.
    fn reduction_db(&self, level_db: f32, threshold_db: f32) -> f32 {
        let knee = 6.0;
        let over = level_db - threshold_db;
        let slope = 1.0 - 1.0 / self.ratio;
        if over <= -knee / 2.0 {
            0.0
        } else if over >= knee / 2.0 {
            over * slope
        } else {
            slope * (over + knee / 2.0).powi(2) / (2.0 * knee)
        }
    }
}

impl Processor for Compressor {
    fn name(&self) -> &'static str {
        self.name
    }

    fn process(&mut self, buf: &mut [f32], ctx: &ProcessContext) {
        let before = rms(buf);
        if before <= 1e-9 {
            return;
        }
        let sr = ctx.sample_rate as f32;
        let threshold_db = 20.0 * before.log10() + self.threshold_over_rms_db;
        let att = (-1.0 / (self.attack_s * sr)).exp();
        let rel = (-1.0 / (self.release_s * sr)).exp();
        let mut env_db = -120.0f32;
        for frame in buf.chunks_exact_mut(2) {
            let peak = frame[0].abs().max(frame[1].abs()).max(1e-6);
            let level_db = 20.0 * peak.log10();
            let coeff = if level_db > env_db { att } else { rel };
            env_db = level_db + coeff * (env_db - level_db);
            let g = 10f32.powf(-self.reduction_db(env_db, threshold_db) / 20.0);
            frame[0] *= g;
            frame[1] *= g;
        }
        restore_rms(buf, before);
    }
}

/// A soft clipper: shaves the drum transients that stick out more than `max_crest_db` above
/// the material's RMS — what a mastering engineer's clipper does to real kits, so the master
/// limiter does not have to.
pub struct Clipper {
    pub max_crest_db: f32,
}

impl Default for Clipper {
    fn default() -> Self {
        Clipper { max_crest_db: 12.0 }
    }
}

impl Clipper {
    /// The gain the clipper applies to each frame of `buf` (stereo-linked), including the
    /// make-up that restores the RMS. Applying these gains to the parts of a sum (drum
    /// channels) clips the sum while the parts still add up to it.
    pub fn gains(&self, buf: &[f32]) -> Vec<f32> {
        let frames = buf.len() / 2;
        let before = rms(buf);
        if before <= 1e-9 {
            return vec![1.0; frames];
        }
        let ceiling = before * 10f32.powf(self.max_crest_db / 20.0);
        // knee at half the ceiling: below it nothing changes, above it tanh rounds into it
        let knee = ceiling * 0.5;
        let shape = |a: f32| {
            if a > knee {
                knee + (ceiling - knee) * ((a - knee) / (ceiling - knee)).tanh()
            } else {
                a
            }
        };
        let mut g: Vec<f32> = buf
            .chunks_exact(2)
            .map(|f| {
                let a = f[0].abs().max(f[1].abs());
                if a > knee { shape(a) / a } else { 1.0 }
            })
            .collect();
        let after = (buf
            .chunks_exact(2)
            .zip(&g)
            .map(|(f, g)| (f[0] * g).powi(2) + (f[1] * g).powi(2))
            .sum::<f32>()
            / buf.len() as f32)
            .sqrt();
        if after > 1e-9 {
            let makeup = before / after;
            g.iter_mut().for_each(|x| *x *= makeup);
        }
        g
    }
}

impl Processor for Clipper {
    fn name(&self) -> &'static str {
        "clipper"
    }

    fn process(&mut self, buf: &mut [f32], _ctx: &ProcessContext) {
        let g = self.gains(buf);
        for (f, g) in buf.chunks_exact_mut(2).zip(g) {
            f[0] *= g;
            f[1] *= g;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_narrows_loud_against_quiet() {
        let sr = 44_100u32;
        // Loud hits over a quiet bed.
        let x: Vec<f32> = (0..sr as usize * 2 * 4)
            .map(|i| {
                let t = (i / 2) as f32 / sr as f32;
                let hit = if t % 1.0 < 0.1 { 0.9 } else { 0.05 };
                hit * (std::f32::consts::TAU * 200.0 * t).sin()
            })
            .collect();
        // Level of the hits over the level of the bed, in dB: compression narrows it.
        let contrast = |b: &[f32]| {
            let (mut hit, mut bed) = ((0.0f32, 0usize), (0.0f32, 0usize));
            for (i, s) in b.iter().enumerate() {
                let t = (i / 2) as f32 / sr as f32;
                let w = if t % 1.0 < 0.1 { &mut hit } else { &mut bed };
                w.0 += s * s;
                w.1 += 1;
            }
            10.0 * ((hit.0 / hit.1 as f32) / (bed.0 / bed.1 as f32)).log10()
        };
        let mut y = x.clone();
        Compressor::track().process(
            &mut y,
            &ProcessContext {
                sample_rate: sr,
                tempo_bpm: 120.0,
                seed: 1,
                voices: 1,
            },
        );
        assert!(
            contrast(&y) < contrast(&x) - 4.0,
            "{:.1} dB vs {:.1} dB",
            contrast(&y),
            contrast(&x)
        );
    }
}
