//! QA's measure of how well two stems stay out of each other's way: the share of their
//! time-frequency energy they do not have in common.

use super::stft::power_spectrogram;

/// Mono mixdown of interleaved stereo.
pub fn to_mono(stereo: &[f32]) -> Vec<f32> {
    stereo
        .chunks_exact(2)
        .map(|f| 0.5 * (f[0] + f[1]))
        .collect()
}

/// Time-frequency separation of two signals: 1 − Σ min(Pa, Pb) over their STFT power (2048
/// window, hop 1024), each normalized to sum 1. 1 = they never share a time-frequency cell;
/// 0 = identical distributions. `None` when either is silent.
pub fn separation(a: &[f32], b: &[f32]) -> Option<f64> {
    let (pa, _) = power_spectrogram(a, 2048, 1024);
    let (pb, _) = power_spectrogram(b, 2048, 1024);
    let (sa, sb): (f64, f64) = (pa.iter().sum(), pb.iter().sum());
    if sa <= 0.0 || sb <= 0.0 {
        return None;
    }
    let overlap: f64 = pa.iter().zip(&pb).map(|(x, y)| (x / sa).min(y / sb)).sum();
    Some(1.0 - overlap)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f32, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (2.0 * std::f32::consts::PI * hz * i as f32 / 44_100.0).sin())
            .collect()
    }

    #[test]
    fn separation_bounds() {
        let a = tone(60.0, 44_100);
        let b = tone(5000.0, 44_100);
        assert!(separation(&a, &b).unwrap() > 0.99);
        assert!(separation(&a, &a).unwrap() < 1e-9);
        assert_eq!(separation(&a, &vec![0.0; 44_100]), None);
    }
}
