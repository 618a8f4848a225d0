//! Spectral balance: the share of energy in five mixing bands. Computed at the input's own
//! sample rate (not the working rate), so air above 11 kHz counts in the top band.

use super::stft;
use serde::{Deserialize, Serialize};

/// Band edges in Hz: sub | low | low-mid | high-mid | high.
pub const EDGES_HZ: [f64; 4] = [60.0, 250.0, 2000.0, 6000.0];

/// Fractions of total energy per band; they sum to 1 (all 0 for silence).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct BandEnergy {
    /// Below 60 Hz.
    pub sub: f64,
    /// 60–250 Hz.
    pub low: f64,
    /// 250 Hz–2 kHz.
    pub low_mid: f64,
    /// 2–6 kHz.
    pub high_mid: f64,
    /// Above 6 kHz.
    pub high: f64,
}

pub fn band_energy(mono: &[f32], sample_rate: u32) -> BandEnergy {
    let sr = f64::from(sample_rate);
    // ≤ 12 Hz bins, so the 60 Hz edge is resolved at any rate.
    let n_fft = ((sr / 12.0).ceil() as usize).next_power_of_two().max(256);
    let bin_hz = sr / n_fft as f64;
    let mut sums = [0.0f64; 5];
    stft::for_each_frame(mono, n_fft, n_fft / 2, |_, mags| {
        for (k, m) in mags.iter().enumerate().skip(1) {
            let hz = k as f64 * bin_hz;
            let band = EDGES_HZ.iter().take_while(|e| hz >= **e).count();
            sums[band] += f64::from(m * m);
        }
    });
    let total: f64 = sums.iter().sum();
    if total <= 0.0 {
        return BandEnergy::default();
    }
    let [sub, low, low_mid, high_mid, high] = sums.map(|s| s / total);
    BandEnergy {
        sub,
        low,
        low_mid,
        high_mid,
        high,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tones_land_in_their_bands() {
        let sr = 48_000u32;
        let tone = |hz: f64| -> Vec<f32> {
            (0..sr as usize)
                .map(|i| (2.0 * std::f64::consts::PI * hz * i as f64 / f64::from(sr)).sin() as f32)
                .collect()
        };
        let b = band_energy(&tone(40.0), sr);
        assert!(b.sub > 0.95, "{b:?}");
        let b = band_energy(&tone(1000.0), sr);
        assert!(b.low_mid > 0.95, "{b:?}");
        let b = band_energy(&tone(15_000.0), sr);
        assert!(b.high > 0.95, "{b:?}");
        let sum = b.sub + b.low + b.low_mid + b.high_mid + b.high;
        assert!((sum - 1.0).abs() < 1e-9);
        assert_eq!(band_energy(&vec![0.0; 4800], sr), BandEnergy::default());
    }
}
