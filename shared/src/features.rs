//! Feature extraction shared by QA and (later) locked-track analysis: short-time power
//! spectra and the measures built on them.

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

/// Estimates tempo in bpm (40–240) from interleaved stereo audio; `None` for silence.
pub fn estimate_tempo(stereo: &[f32], sample_rate: u32) -> Option<f64> {
    let hop = 256usize;
    let frames = stereo.len() / 2;
    let n = frames / hop;
    if n < 64 {
        return None;
    }
    // Onset strength: half-wave rectified rise of log energy per hop.
    let energy: Vec<f64> = (0..n)
        .map(|h| {
            let s = &stereo[h * hop * 2..(h + 1) * hop * 2];
            let e: f64 = s.iter().map(|x| f64::from(*x) * f64::from(*x)).sum();
            (1.0 + 1e4 * e / s.len() as f64).ln()
        })
        .collect();
    let rise: Vec<f64> = energy.windows(2).map(|w| (w[1] - w[0]).max(0.0)).collect();
    // A little smoothing widens the onset peaks so lags between hop boundaries still match.
    let kernel = [1.0, 2.0, 3.0, 2.0, 1.0];
    let mut onset: Vec<f64> = (0..rise.len())
        .map(|i| {
            kernel
                .iter()
                .enumerate()
                .filter_map(|(k, w)| {
                    (i + k)
                        .checked_sub(2)
                        .and_then(|j| rise.get(j))
                        .map(|x| x * w)
                })
                .sum::<f64>()
                / 9.0
        })
        .collect();
    let mean = onset.iter().sum::<f64>() / onset.len() as f64;
    if mean <= 1e-9 {
        return None;
    }
    onset.iter_mut().for_each(|x| *x -= mean);
    let sr = f64::from(sample_rate);
    let lag_of = |bpm: f64| 60.0 * sr / (bpm * hop as f64);
    let (lo, hi) = (lag_of(240.0), lag_of(40.0));
    let max_lag = ((hi * 4.0).ceil() as usize + 2).min(onset.len().saturating_sub(1));
    let acf_int: Vec<f64> = (0..=max_lag)
        .map(|lag| {
            onset[..onset.len() - lag]
                .iter()
                .zip(&onset[lag..])
                .map(|(a, b)| a * b)
                .sum::<f64>()
                / (onset.len() - lag) as f64
        })
        .collect();
    // Autocorrelation at a fractional lag (linear interpolation).
    let acf = |lag: f64| -> f64 {
        let i = lag.floor() as usize;
        match (acf_int.get(i), acf_int.get(i + 1)) {
            (Some(a), Some(b)) => a + (b - a) * (lag - i as f64),
            _ => 0.0,
        }
    };
    // Beat period: a comb over beat, half-bar and bar lags (a groove repeats every bar even
    // when its beats are syncopated), weighted by a broad prior around 120 bpm that settles
    // octave ambiguity the way listeners do. Candidates on a quarter-hop grid.
    let mut best = (0.0f64, f64::MIN);
    let mut lag = lo.max(1.0);
    while lag <= hi {
        let bpm = 60.0 * sr / (lag * hop as f64);
        let prior = (-0.5 * ((bpm / 120.0).log2() / 1.0).powi(2)).exp();
        let score = (acf(lag) + 0.5 * acf(2.0 * lag) + 0.25 * acf(4.0 * lag)) * prior;
        if score > best.1 {
            best = (lag, score);
        }
        lag += 0.25;
    }
    if best.0 <= 0.0 {
        return None;
    }
    // Refine on the bar (4 beats) peak: search ±1.5 hops on a fine grid.
    let bar = best.0 * 4.0;
    let mut peak = (bar, acf(bar));
    let mut x = bar - 1.5;
    while x <= bar + 1.5 {
        if acf(x) > peak.1 {
            peak = (x, acf(x));
        }
        x += 0.05;
    }
    Some(60.0 * sr / (peak.0 / 4.0 * hop as f64))
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

    fn clicks(bpm: f64, seconds: f64, sr: u32) -> Vec<f32> {
        let frames = (seconds * f64::from(sr)) as usize;
        let mut out = vec![0.0f32; frames * 2];
        let period = 60.0 / bpm * f64::from(sr);
        let mut t = 0.0;
        while (t as usize) < frames {
            for i in 0..400.min(frames - t as usize) {
                let v = (-(i as f32) / 60.0).exp() * ((i as f32) * 0.3).sin();
                out[(t as usize + i) * 2] += v;
                out[(t as usize + i) * 2 + 1] += v;
            }
            t += period;
        }
        out
    }

    #[test]
    fn finds_click_tempi_within_one_percent() {
        for bpm in [70.0, 90.0, 124.0, 128.0, 140.0, 174.0] {
            let est = estimate_tempo(&clicks(bpm, 20.0, 44_100), 44_100).unwrap();
            assert!(tempo_error(est, bpm) < 0.01, "{bpm}: {est}");
        }
    }

    #[test]
    fn silence_has_no_tempo() {
        assert_eq!(estimate_tempo(&vec![0.0; 44_100 * 4], 44_100), None);
    }
}
