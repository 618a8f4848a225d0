//! Spectral measures QA reads off the mix stems: short-time power spectra and the
//! drums↔bass separation built on them, and the tempo error allowed against a request. The
//! tempo itself is measured by the analysis (`analysis::estimate_tempo`), the one estimator.

use realfft::RealFftPlanner;

/// Power spectrogram of a mono signal: frames of `n_fft` with a Hann window every `hop`
/// samples; `frames × (n_fft/2 + 1)` values, row-major.
pub fn stft_power(mono: &[f32], n_fft: usize, hop: usize) -> (Vec<f64>, usize) {
    let bins = n_fft / 2 + 1;
    if mono.len() < n_fft || hop == 0 {
        return (Vec::new(), bins);
    }
    let mut planner = RealFftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(n_fft);
    let window: Vec<f32> = (0..n_fft)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / n_fft as f32).cos())
        .collect();
    let mut input = fft.make_input_vec();
    let mut spectrum = fft.make_output_vec();
    let frames = 1 + (mono.len() - n_fft) / hop;
    let mut out = Vec::with_capacity(frames * bins);
    for f in 0..frames {
        let chunk = &mono[f * hop..f * hop + n_fft];
        for ((x, s), w) in input.iter_mut().zip(chunk).zip(&window) {
            *x = s * w;
        }
        if fft.process(&mut input, &mut spectrum).is_err() {
            out.extend(std::iter::repeat_n(0.0, bins));
            continue;
        }
        out.extend(spectrum.iter().map(|c| f64::from(c.norm_sqr())));
    }
    (out, bins)
}

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
    let (pa, _) = stft_power(a, 2048, 1024);
    let (pb, _) = stft_power(b, 2048, 1024);
    let (sa, sb): (f64, f64) = (pa.iter().sum(), pb.iter().sum());
    if sa <= 0.0 || sb <= 0.0 {
        return None;
    }
    let overlap: f64 = pa.iter().zip(&pb).map(|(x, y)| (x / sa).min(y / sb)).sum();
    Some(1.0 - overlap)
}

/// Relative tempo error, allowing for half/double-time readings.
pub fn tempo_error(measured: f64, requested: f64) -> f64 {
    [0.5, 1.0, 2.0]
        .iter()
        .map(|k| ((measured * k - requested) / requested).abs())
        .fold(f64::MAX, f64::min)
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

    #[test]
    fn stft_shape() {
        let (p, bins) = stft_power(&tone(440.0, 10_000), 2048, 1024);
        assert_eq!(bins, 1025);
        assert_eq!(p.len(), (1 + (10_000 - 2048) / 1024) * 1025);
    }
}
