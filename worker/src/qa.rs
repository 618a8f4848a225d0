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

/// Share of the bass notes that start within 30 ms of the drums' 16th-note grid (the grid
/// the drum part is played on, swing included).
pub fn rhythmic_coherence(
    bass: &crate::generators::Part,
    ctx: &resonantgen_shared::GenerationContext,
) -> Option<f64> {
    if bass.notes.is_empty() {
        return None;
    }
    let near = bass
        .notes
        .iter()
        .filter(|n| {
            let step = (n.time / ctx.seconds_per_step()).round().max(0.0) as usize;
            (step.saturating_sub(1)..=step + 1).any(|s| (ctx.step_time(s) - n.time).abs() <= 0.030)
        })
        .count();
    Some(near as f64 / bass.notes.len() as f64)
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
