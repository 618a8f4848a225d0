//! Onset strength: how much new energy appears at each instant. Tempo, beats, downbeats and
//! groove are all read off this envelope. Spectral flux on log-compressed, log-spaced bands:
//! the log makes a soft hi-hat and a loud kick count as comparable events (so periodicity
//! reflects *when* things happen, not only how loud), and equal weight per band keeps the
//! many high-frequency bins of noisy cymbals from drowning the kick and snare.

use super::stft;

/// Analysis window and hop at the working rate: 46 ms windows every 5.8 ms, fine enough
/// for micro-timing in milliseconds.
pub const N_FFT: usize = 1024;
pub const HOP: usize = 128;
/// Bands span 30 Hz to the Nyquist frequency.
const LOW_EDGE_HZ: f64 = 30.0;
const BANDS: usize = 40;
/// Upper edge of the "low" envelope (kick drum, bass notes), used to find downbeats.
const KICK_EDGE_HZ: f64 = 160.0;
/// Log compression `ln(1 + γ·E/E_max)`: energy 50 dB under the loudest band is ~ignored.
const GAMMA: f64 = 1e5;
/// Frames between the compared spectra: a 2-hop lag catches rises smeared over the window.
const LAG: usize = 2;
/// How early the flux peak precedes the attack, in frames (≈ 10 ms).
const LEAD_FRAMES: f64 = 1.8;

#[derive(Debug, Clone)]
pub struct OnsetEnvelope {
    /// Broadband onset strength per frame (≥ 0).
    pub strength: Vec<f64>,
    /// Onset strength of the bands below ~160 Hz only.
    pub low: Vec<f64>,
    /// Frames per second.
    pub frame_rate: f64,
}

impl OnsetEnvelope {
    pub fn compute(x: &[f32], sample_rate: u32) -> Self {
        let sr = f64::from(sample_rate);
        let bins = N_FFT / 2 + 1;
        let bin_hz = sr / N_FFT as f64;
        // Log-spaced band edges in bins; bands narrower than a bin collapse into one.
        let nyquist = sr / 2.0;
        let mut edges: Vec<usize> = (0..=BANDS)
            .map(|b| {
                let hz = LOW_EDGE_HZ * (nyquist / LOW_EDGE_HZ).powf(b as f64 / BANDS as f64);
                ((hz / bin_hz).round() as usize).min(bins)
            })
            .collect();
        edges.dedup();
        let bands: Vec<(usize, usize)> = edges
            .windows(2)
            .map(|w| (w[0], w[1]))
            .filter(|(a, b)| b > a)
            .collect();
        let low_bands = bands
            .iter()
            .filter(|(_, hi)| (*hi as f64) * bin_hz <= KICK_EDGE_HZ)
            .count()
            .max(1);

        let mut energy: Vec<f64> = Vec::new();
        stft::for_each_frame(x, N_FFT, HOP, |_, mags| {
            for &(lo, hi) in &bands {
                energy.push(mags[lo..hi].iter().map(|m| f64::from(m * m)).sum());
            }
        });
        let nb = bands.len().max(1);
        let frames = energy.len() / nb;
        let peak = energy.iter().copied().fold(0.0, f64::max);
        let scale = if peak > 0.0 { GAMMA / peak } else { 0.0 };
        let compressed: Vec<f64> = energy.iter().map(|e| (1.0 + scale * e).ln()).collect();

        let mut strength = vec![0.0; frames];
        let mut low = vec![0.0; frames];
        for t in LAG..frames {
            let (now, before) = (
                &compressed[t * nb..(t + 1) * nb],
                &compressed[(t - LAG) * nb..(t - LAG + 1) * nb],
            );
            let rise: Vec<f64> = now
                .iter()
                .zip(before)
                .map(|(a, b)| (a - b).max(0.0))
                .collect();
            strength[t] = rise.iter().sum::<f64>() / nb as f64;
            low[t] = rise[..low_bands.min(rise.len())].iter().sum::<f64>() / low_bands as f64;
        }
        OnsetEnvelope {
            strength,
            low,
            frame_rate: sr / HOP as f64,
        }
    }

    pub fn len(&self) -> usize {
        self.strength.len()
    }

    pub fn is_empty(&self) -> bool {
        self.strength.is_empty()
    }

    /// Seconds of a (fractional) frame position. Log-compressed flux rises fastest while an
    /// attack is still entering the leading edge of the centred window, so its peak comes
    /// [`LEAD_FRAMES`] early (measured on sharp attacks); that is added back here.
    pub fn seconds(&self, frame: f64) -> f64 {
        (frame + LEAD_FRAMES) / self.frame_rate
    }

    /// Onset peaks: local maxima (±3 frames, ±17 ms) above a threshold relative to the
    /// envelope's loud end, refined to sub-frame positions. Returns (frame, strength).
    pub fn peaks(&self) -> Vec<(f64, f64)> {
        let o = &self.strength;
        let mut sorted: Vec<f64> = o.clone();
        sorted.sort_by(f64::total_cmp);
        let loud = sorted
            .get((sorted.len() as f64 * 0.99) as usize)
            .copied()
            .unwrap_or(0.0);
        let threshold = 0.1 * loud;
        if loud <= 0.0 {
            return Vec::new();
        }
        (3..o.len().saturating_sub(3))
            .filter(|&t| {
                o[t] > threshold
                    && o[t - 3..t].iter().all(|v| *v < o[t])
                    && o[t + 1..=t + 3].iter().all(|v| *v <= o[t])
            })
            .map(|t| (t as f64 + parabolic_offset(o[t - 1], o[t], o[t + 1]), o[t]))
            .collect()
    }
}

/// Sub-sample offset of a peak from three neighbouring values (−0.5..0.5).
pub fn parabolic_offset(a: f64, b: f64, c: f64) -> f64 {
    let d = a - 2.0 * b + c;
    if d.abs() < 1e-12 {
        0.0
    } else {
        (0.5 * (a - c) / d).clamp(-0.5, 0.5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clicks_make_peaks_at_their_times() {
        let sr = 22_050;
        let mut x = vec![0.0f32; sr * 3];
        let times = [0.5, 1.25, 2.0];
        for t in times {
            let at = (t * sr as f64) as usize;
            for i in 0..300 {
                x[at + i] += (-(i as f32) / 50.0).exp() * ((i as f32) * 0.7).sin();
            }
        }
        let env = OnsetEnvelope::compute(&x, sr as u32);
        let peaks = env.peaks();
        assert_eq!(peaks.len(), 3, "{peaks:?}");
        for ((f, _), t) in peaks.iter().zip(times) {
            assert!(
                (env.seconds(*f) - t).abs() < 0.012,
                "{} vs {t}",
                env.seconds(*f)
            );
        }
    }

    #[test]
    fn silence_is_flat() {
        let env = OnsetEnvelope::compute(&vec![0.0; 22_050], 22_050);
        assert!(env.strength.iter().all(|v| *v == 0.0));
        assert!(env.peaks().is_empty());
    }
}
