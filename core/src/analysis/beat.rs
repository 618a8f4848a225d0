//! Beat tracking: places a beat grid on the onset envelope for a given beat period, and finds
//! which beat of the bar is the downbeat. Dynamic programming (Ellis 2007): each beat is put
//! where onsets are strong while the spacing stays close to the period, so a missing hit or
//! a syncopated accent bends the grid locally instead of breaking it.

/// How strongly spacing deviations are penalised against onset strength.
const TIGHTNESS: f64 = 100.0;

/// Beat positions (frames, ascending) for a beat period of `period` frames.
pub fn track(onset: &[f64], period: f64) -> Vec<f64> {
    let n = onset.len();
    if n < 4 || period < 2.0 || !period.is_finite() {
        return Vec::new();
    }
    let mean = onset.iter().sum::<f64>() / n as f64;
    let std = (onset.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
    if std <= 1e-12 {
        return Vec::new();
    }
    // Smooth by a Gaussian of σ = period/32 so beats can sit a few frames off a peak, and
    // centre it so beat-free stretches cost rather than pay.
    let local = smooth(
        &onset.iter().map(|v| v / std).collect::<Vec<_>>(),
        period / 32.0,
    );
    let local_mean = local.iter().sum::<f64>() / n as f64;
    let local: Vec<f64> = local.iter().map(|v| v - 0.5 * local_mean).collect();

    let lo = ((period * 0.5).round() as usize).max(1);
    let hi = ((period * 2.0).round() as usize).max(lo);
    let penalty: Vec<f64> = (0..=hi)
        .map(|d| {
            if d < lo {
                f64::INFINITY
            } else {
                TIGHTNESS * (d as f64 / period).ln().powi(2)
            }
        })
        .collect();
    let mut score = vec![0.0; n];
    let mut back: Vec<Option<usize>> = vec![None; n];
    for t in 0..n {
        let mut best = (f64::NEG_INFINITY, None);
        if t >= lo {
            for tau in t.saturating_sub(hi)..=t - lo {
                let v = score[tau] - penalty[t - tau];
                if v > best.0 {
                    best = (v, Some(tau));
                }
            }
        }
        if best.0 > 0.0 {
            score[t] = local[t] + best.0;
            back[t] = best.1;
        } else {
            score[t] = local[t];
        }
    }
    // The last beat: the best-scoring frame within the final period.
    let tail = n.saturating_sub(period.ceil() as usize);
    let Some(mut t) = (tail..n).max_by(|a, b| score[*a].total_cmp(&score[*b])) else {
        return Vec::new();
    };
    let mut beats = vec![t as f64];
    while let Some(prev) = back[t] {
        beats.push(prev as f64);
        t = prev;
    }
    beats.reverse();
    // Drop beats in silent lead-in/tail (the DP pads through silence at the period).
    let strong = |b: &f64| window_max(onset, *b, 2.0) > 0.1 * std;
    let first = beats.iter().position(strong).unwrap_or(0);
    let last = beats
        .iter()
        .rposition(strong)
        .map_or(beats.len(), |i| i + 1);
    beats[first..last.max(first)].to_vec()
}

/// The mean beat period (frames) by least squares over beat index, or `None` for < 3 beats.
pub fn fitted_period(beats: &[f64]) -> Option<f64> {
    if beats.len() < 3 {
        return None;
    }
    let n = beats.len() as f64;
    let mx = (n - 1.0) / 2.0;
    let my = beats.iter().sum::<f64>() / n;
    let (sxy, sxx) = beats
        .iter()
        .enumerate()
        .fold((0.0, 0.0), |(sxy, sxx), (i, y)| {
            let dx = i as f64 - mx;
            (sxy + dx * (y - my), sxx + dx * dx)
        });
    (sxx > 0.0).then(|| sxy / sxx)
}

/// Index (0..beats_per_bar) of the first downbeat: the beat phase whose beats carry the most
/// low-frequency onset energy (kick drums and bass notes land on the one), with the broadband
/// accent as a weaker second opinion.
pub fn downbeat_index(beats: &[f64], low: &[f64], broad: &[f64], beats_per_bar: usize) -> usize {
    if beats.len() < beats_per_bar || beats_per_bar == 0 {
        return 0;
    }
    let tol = fitted_period(beats).map_or(2.0, |p| (p * 0.06).max(2.0));
    let norm = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len().max(1) as f64;
        if m > 0.0 { 1.0 / m } else { 0.0 }
    };
    let (nl, nb) = (norm(low), norm(broad));
    let mut best = (0, f64::NEG_INFINITY);
    for phase in 0..beats_per_bar {
        let picked: Vec<f64> = beats
            .iter()
            .skip(phase)
            .step_by(beats_per_bar)
            .map(|b| nl * window_max(low, *b, tol) + 0.5 * nb * window_max(broad, *b, tol))
            .collect();
        let s = picked.iter().sum::<f64>() / picked.len().max(1) as f64;
        if s > best.1 {
            best = (phase, s);
        }
    }
    best.0
}

/// Largest value of `v` within ±`radius` frames of `at`.
pub fn window_max(v: &[f64], at: f64, radius: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let lo = (at - radius).floor().max(0.0) as usize;
    let hi = ((at + radius).ceil().max(0.0) as usize).min(v.len() - 1);
    v.get(lo..=hi)
        .map_or(0.0, |w| w.iter().copied().fold(0.0, f64::max))
}

fn smooth(v: &[f64], sigma: f64) -> Vec<f64> {
    if sigma < 0.5 {
        return v.to_vec();
    }
    let r = (3.0 * sigma).ceil() as i64;
    let k: Vec<f64> = (-r..=r)
        .map(|i| (-0.5 * (i as f64 / sigma).powi(2)).exp())
        .collect();
    let ksum: f64 = k.iter().sum();
    (0..v.len() as i64)
        .map(|t| {
            k.iter()
                .enumerate()
                .filter_map(|(j, w)| {
                    let i = t + j as i64 - r;
                    (0..v.len() as i64).contains(&i).then(|| w * v[i as usize])
                })
                .sum::<f64>()
                / ksum
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pulses(n: usize, period: f64, phase: f64, accent_every: usize) -> (Vec<f64>, Vec<f64>) {
        let mut broad = vec![0.0; n];
        let mut low = vec![0.0; n];
        let mut k = 0;
        loop {
            let t = (phase + k as f64 * period).round() as usize;
            if t >= n {
                break;
            }
            broad[t] = 1.0;
            if k % accent_every == 0 {
                low[t] = 1.0;
            }
            k += 1;
        }
        (broad, low)
    }

    #[test]
    fn tracks_a_pulse_train_and_its_period() {
        let (broad, _) = pulses(3000, 47.3, 20.0, 4);
        let beats = track(&broad, 45.0);
        assert!(beats.len() >= 60, "{}", beats.len());
        let p = fitted_period(&beats).unwrap();
        assert!((p - 47.3).abs() < 0.1, "{p}");
        assert!((beats[0] - 20.0).abs() <= 1.0);
    }

    #[test]
    fn downbeat_follows_the_low_accents() {
        let (broad, low) = pulses(3000, 50.0, 10.0, 4);
        // Shift the accents: the kick is on the second tracked beat.
        let low: Vec<f64> = std::iter::repeat_n(0.0, 50).chain(low).take(3000).collect();
        let beats = track(&broad, 50.0);
        assert_eq!(downbeat_index(&beats, &low, &broad, 4), 1);
    }

    #[test]
    fn flat_envelope_has_no_beats() {
        assert!(track(&[0.0; 500], 40.0).is_empty());
    }
}
