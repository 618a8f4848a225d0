//! Self-QA: the worker measures its own output instead of trusting it. First version: tempo
//! from the rendered drums (onset-strength autocorrelation, refined over a whole bar), length,
//! and flags where the output misses the request.

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
    let mut onset: Vec<f64> = energy.windows(2).map(|w| (w[1] - w[0]).max(0.0)).collect();
    let mean = onset.iter().sum::<f64>() / onset.len() as f64;
    if mean <= 1e-9 {
        return None;
    }
    onset.iter_mut().for_each(|x| *x -= mean);
    let acf = |lag: usize| -> f64 {
        if lag >= onset.len() {
            return 0.0;
        }
        onset[..onset.len() - lag]
            .iter()
            .zip(&onset[lag..])
            .map(|(a, b)| a * b)
            .sum::<f64>()
            / (onset.len() - lag) as f64
    };
    let sr = f64::from(sample_rate);
    let lag_of = |bpm: f64| 60.0 * sr / (bpm * hop as f64);
    let (lo, hi) = (lag_of(240.0).floor() as usize, lag_of(40.0).ceil() as usize);
    // Beat period: autocorrelation weighted by a broad prior around 120 bpm, which settles
    // octave ambiguity the way listeners do.
    let mut best = (0usize, f64::MIN);
    for lag in lo.max(1)..=hi {
        let bpm = 60.0 * sr / (lag as f64 * hop as f64);
        let prior = (-0.5 * ((bpm / 120.0).log2() / 1.0).powi(2)).exp();
        let score = (acf(lag) + 0.5 * acf(2 * lag)) * prior;
        if score > best.1 {
            best = (lag, score);
        }
    }
    let beat = best.0 as f64;
    // Refine on the bar (4 beats) peak with parabolic interpolation: 4× the resolution.
    let bar = (beat * 4.0).round() as usize;
    let search = (bar.saturating_sub(3)..=bar + 3).filter(|l| *l + 1 < onset.len() && *l > 1);
    let peak = search.max_by(|a, b| acf(*a).total_cmp(&acf(*b)))?;
    let (y0, y1, y2) = (acf(peak - 1), acf(peak), acf(peak + 1));
    let denom = y0 - 2.0 * y1 + y2;
    let offset = if denom.abs() > 1e-12 {
        0.5 * (y0 - y2) / denom
    } else {
        0.0
    };
    let bar_lag = peak as f64 + offset.clamp(-0.5, 0.5);
    Some(60.0 * sr / (bar_lag / 4.0 * hop as f64))
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
