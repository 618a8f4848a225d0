//! Tempo: the beat rate, 40–240 bpm. Autocorrelation of the onset envelope finds the bar
//! first — loops repeat by the bar far more clearly than by the beat once kicks are
//! syncopated (a 3-3-2 kick pattern correlates at 3 sixteenths, which is no beat) — and the
//! bar's binary divisions are the candidate beat levels; only without a clear bar do the
//! strongest beat-range peaks and their octaves stand in. Each level is beat-tracked and
//! judged by what makes a level the beat: periodicity at the beat and its multiples up to
//! the bar, evenly accented beats (strong–weak alternation means twice too fast), beats
//! clearly stronger than the points halfway between them (comparable midpoints mean twice
//! too slow — how swung 8ths keep their tempo), at most a handful of onsets per beat.
//!
//! What the audio alone cannot settle is the octave of half-time and double-time styles:
//! drum & bass is 174 with its snare on 2 and 4 but reads equally as 87, a trap beat is
//! notated at 140 with its snare on 3. A [`TempoPrior`] decides: the listener's 80–160 bpm
//! by default, the style's conventional range when the caller knows the style.

use super::beat;
use super::onset::OnsetEnvelope;
use realfft::RealFftPlanner;
use serde::{Deserialize, Serialize};

pub const MIN_BPM: f64 = 40.0;
pub const MAX_BPM: f64 = 240.0;
/// Octaves outside this range are penalised by the prior.
const PRIOR_LOW: f64 = 80.0;
const PRIOR_HIGH: f64 = 160.0;
const PRIOR_SIGMA_OCTAVES: f64 = 0.5;
/// With an expected range (the genre's), octaves outside it are penalised this steeply:
/// the range decides the octave, the audio decides the tempo within it.
const EXPECTED_SIGMA_OCTAVES: f64 = 0.25;
/// Weights of the autocorrelation at 1, 2, 3 and 4 beats in a level's periodicity; the
/// bar (4 beats) counts double.
const COMB_WEIGHTS: [f64; 4] = [1.0, 1.0, 0.5, 2.0];
/// The shortest bar looked for, in beats at the fastest tempo.
const BAR_BEATS_MIN: f64 = 4.0;
/// Autocorrelation at the bar lag above which the music is taken to repeat by the bar.
const CLEAR_BAR: f64 = 0.3;
/// Bar lags kept: octaves of the best scoring at least this share of it…
const BAR_SHARE: f64 = 0.85;
/// …and other lags at least this share (a near tie).
const BAR_TIE: f64 = 0.95;

/// One beat level considered, with the evidence it was judged on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TempoCandidate {
    pub bpm: f64,
    /// Autocorrelation at the beat period (−1..1).
    pub periodicity: f64,
    /// Mean onset at the midpoints between beats over the mean onset on beats.
    pub midpoint_ratio: f64,
    /// 1 − weaker/stronger of the even and odd beats' mean onsets.
    pub alternation: f64,
    /// Onset peaks per beat.
    pub density: f64,
    pub score: f64,
}

#[derive(Debug, Clone)]
pub struct TempoEstimate {
    pub bpm: f64,
    pub confidence: f64,
    /// Tracked beats in envelope frames.
    pub beats: Vec<f64>,
    /// Every level considered, best first.
    pub candidates: Vec<TempoCandidate>,
}

/// Estimates tempo and beats, choosing between octaves with `prior`; `None` when the envelope has no usable pulse (silence, drones).
/// Where a tempo is expected to lie, a priori.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TempoPrior {
    pub low_bpm: f64,
    pub high_bpm: f64,
    pub sigma_octaves: f64,
}

impl TempoPrior {
    /// What a listener taps without context: 80–160 bpm, gently.
    pub const LISTENER: TempoPrior = TempoPrior {
        low_bpm: PRIOR_LOW,
        high_bpm: PRIOR_HIGH,
        sigma_octaves: PRIOR_SIGMA_OCTAVES,
    };

    /// The range a style's tempo conventionally lies in (drum & bass 160–180, trap's
    /// half-time 130–160, hip hop 80–100): decides between octaves that the audio alone
    /// leaves open.
    pub fn expected(low_bpm: f64, high_bpm: f64) -> TempoPrior {
        TempoPrior {
            low_bpm: low_bpm.min(high_bpm),
            high_bpm: high_bpm.max(low_bpm),
            sigma_octaves: EXPECTED_SIGMA_OCTAVES,
        }
    }

    /// Log-weight of a tempo: 0 inside the range, Gaussian in octaves outside.
    pub fn log_weight(&self, bpm: f64) -> f64 {
        let outside = if bpm < self.low_bpm {
            (self.low_bpm / bpm).log2()
        } else if bpm > self.high_bpm {
            (bpm / self.high_bpm).log2()
        } else {
            0.0
        };
        -0.5 * (outside / self.sigma_octaves).powi(2)
    }
}

pub fn estimate(env: &OnsetEnvelope, prior: TempoPrior) -> Option<TempoEstimate> {
    let o = &env.strength;
    let fr = env.frame_rate;
    let lag_of = |bpm: f64| 60.0 * fr / bpm;
    let max_lag = ((lag_of(MIN_BPM) * 4.0).ceil() as usize + 2).min(o.len().saturating_sub(1));
    let acf = autocorrelation(o, max_lag)?;
    let r = |lag: f64| -> f64 {
        let i = lag.floor() as usize;
        match (acf.get(i), acf.get(i + 1)) {
            (Some(a), Some(b)) => a + (b - a) * (lag - i as f64),
            _ => 0.0,
        }
    };
    // The strongest autocorrelation peaks in the tempo range seed the candidate levels.
    let (lo, hi) = (lag_of(MAX_BPM), lag_of(MIN_BPM).min(max_lag as f64 - 1.0));
    let comb = |l: f64| comb_periodicity(&r, l, max_lag as f64 - 1.0);
    let mut peaks: Vec<(f64, f64)> = ((lo.floor() as usize).max(1)..=(hi.ceil() as usize))
        .filter(|&l| l + 1 < acf.len() && acf[l] > acf[l - 1] && acf[l] >= acf[l + 1])
        .map(|l| {
            let off = super::onset::parabolic_offset(acf[l - 1], acf[l], acf[l + 1]);
            (l as f64 + off, acf[l])
        })
        .filter(|(l, v)| *v > 0.0 && (lo..=hi).contains(l))
        .collect();
    peaks.sort_by(|a, b| b.1.total_cmp(&a.1));
    peaks.truncate(4);
    if peaks.is_empty() {
        return None;
    }
    // Loops repeat by the bar (or two), which the autocorrelation shows far more clearly
    // than the beat among syncopations: the beat levels are the bar's binary divisions.
    let bar_lo = lag_of(MAX_BPM) * BAR_BEATS_MIN;
    let mut bars: Vec<(f64, f64)> = ((bar_lo.floor() as usize).max(1)..max_lag)
        .filter(|&l| l + 1 < acf.len() && acf[l] > acf[l - 1] && acf[l] >= acf[l + 1])
        .map(|l| {
            let off = super::onset::parabolic_offset(acf[l - 1], acf[l], acf[l + 1]);
            (l as f64 + off, acf[l])
        })
        .filter(|(_, v)| *v > 0.0)
        .map(|(l, v)| {
            // A bar divides into beats: its half and quarter repeat too (a 3-beat or 1.5-bar
            // lag that happens to correlate does not).
            let sub = [l / 2.0, l / 4.0, 2.0 * l]
                .iter()
                .filter(|x| **x <= max_lag as f64 - 1.0)
                .map(|x| r(refine_peak(&r, *x)))
                .sum::<f64>();
            (l, v + 0.5 * sub)
        })
        .collect();
    bars.sort_by(|a, b| b.1.total_cmp(&a.1));
    // The best bar's octaves (half bar, two bars) stay candidates; any other lag must all
    // but tie with it (a 3-beat lag of a tresillo kick comes close, and is no bar).
    let (best_lag, best_bar) = bars.first().map_or((1.0, 0.0), |b| (b.0, b.1));
    let octave_of_best = |l: f64| {
        let k = (l / best_lag).log2();
        (k - k.round()).abs() < 0.04
    };
    bars.retain(|b| {
        b.1 >= if octave_of_best(b.0) {
            BAR_SHARE
        } else {
            BAR_TIE
        } * best_bar
    });
    bars.truncate(3);
    let mut periods: Vec<f64> = Vec::new();
    let mut add = |l: f64| {
        if (lo..=hi).contains(&l) && !periods.iter().any(|q| (q / l - 1.0).abs() < 0.03) {
            periods.push(l);
        }
    };
    for (p, _) in &bars {
        for k in [1.0, 2.0, 4.0, 8.0, 16.0, 32.0] {
            add(p / k);
        }
    }
    // Without a clear bar (too short, not a loop), the strongest beat-range peaks decide.
    if bars.first().is_none_or(|b| b.1 < CLEAR_BAR) {
        for (p, _) in &peaks {
            for k in [1.0, 0.5, 2.0] {
                add(p * k);
            }
        }
    }

    let onset_peaks: Vec<f64> = env.peaks().into_iter().map(|(t, _)| t).collect();
    let mut candidates: Vec<(TempoCandidate, Vec<f64>)> = periods
        .iter()
        .filter_map(|&l| {
            // Settle the period on the nearest autocorrelation peak before tracking.
            let l = refine_peak(&r, l);
            let beats = beat::track(o, l);
            let period = beat::fitted_period(&beats)?;
            if !(lo * 0.97..=hi * 1.03).contains(&period) {
                return None;
            }
            let c = judge(
                env,
                &beats,
                period,
                &onset_peaks,
                comb(period),
                60.0 * fr / period,
                prior,
            );
            Some((c, beats))
        })
        .collect();
    candidates.sort_by(|a, b| b.0.score.total_cmp(&a.0.score));
    let (best, beats) = candidates.first()?.clone();
    let runner_up = candidates
        .iter()
        .find(|(c, _)| (c.bpm / best.bpm - 1.0).abs() > 0.03)
        .map_or(f64::NEG_INFINITY, |(c, _)| c.score);
    let margin = best.score - runner_up;
    let confidence = best.periodicity.clamp(0.0, 1.0) * (1.0 - (-margin).exp()).clamp(0.0, 1.0);
    Some(TempoEstimate {
        bpm: best.bpm,
        confidence,
        beats,
        candidates: candidates.into_iter().map(|(c, _)| c).collect(),
    })
}

/// Scores one beat level from its tracked beats (see the module comment).
fn judge(
    env: &OnsetEnvelope,
    beats: &[f64],
    period: f64,
    onset_peaks: &[f64],
    periodicity: f64,
    bpm: f64,
    prior: TempoPrior,
) -> TempoCandidate {
    let o = &env.strength;
    let tol = (period * 0.06).max(2.0);
    let on: Vec<f64> = beats.iter().map(|b| beat::window_max(o, *b, tol)).collect();
    let mid: Vec<f64> = beats
        .windows(2)
        .map(|w| beat::window_max(o, 0.5 * (w[0] + w[1]), tol))
        .collect();

    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let on_mean = mean(&on);
    let midpoint_ratio = if on_mean > 0.0 {
        mean(&mid) / on_mean
    } else {
        1.0
    };
    let even: Vec<f64> = on.iter().step_by(2).copied().collect();
    let odd: Vec<f64> = on.iter().skip(1).step_by(2).copied().collect();
    let (e, d) = (mean(&even), mean(&odd));
    let alternation = if e.max(d) > 0.0 {
        1.0 - e.min(d) / e.max(d)
    } else {
        0.0
    };
    let span = match (beats.first(), beats.last()) {
        (Some(a), Some(b)) if b > a => (*a - tol, *b - tol),
        _ => (0.0, 0.0),
    };
    let inside = onset_peaks
        .iter()
        .filter(|t| (span.0..span.1).contains(*t))
        .count();
    let density = inside as f64 / (beats.len().saturating_sub(1).max(1)) as f64;

    let score = periodicity.max(0.01).ln() + prior.log_weight(bpm)
        - 4.0 * (midpoint_ratio - 0.7).max(0.0)
        - 3.0 * (alternation - 0.15).max(0.0)
        - 0.5 * (density - 4.5).max(0.0);
    TempoCandidate {
        bpm,
        periodicity,
        midpoint_ratio,
        alternation,
        density,
        score,
    }
}

/// Periodicity of a beat level: the mean autocorrelation at the beat period and its
/// multiples up to the bar (k = 1..4, each sharpened to its nearest peak), so a level
/// whose multiples also repeat — beats that group into bars — beats one that only
/// repeats by itself, like the 3-3-2 spacing of a syncopated kick.
fn comb_periodicity(r: &impl Fn(f64) -> f64, period: f64, max_lag: f64) -> f64 {
    let (mut sum, mut weight) = (0.0, 0.0);
    for (k, wk) in COMB_WEIGHTS.iter().enumerate() {
        let lag = period * (k + 1) as f64;
        if lag > max_lag {
            break;
        }
        let l = refine_peak(r, lag);
        sum += wk * r(l);
        weight += wk;
    }
    if weight > 0.0 {
        sum / weight
    } else {
        r(period)
    }
}

/// The autocorrelation peak nearest to `lag` (within ±4%), or `lag` itself.
fn refine_peak(r: &impl Fn(f64) -> f64, lag: f64) -> f64 {
    let mut best = (lag, r(lag));
    let mut x = lag * 0.96;
    while x <= lag * 1.04 {
        let v = r(x);
        if v > best.1 {
            best = (x, v);
        }
        x += 0.05;
    }
    best.0
}

/// Unbiased autocorrelation of the mean-removed signal, normalised to 1 at lag 0, for lags
/// 0..=max_lag. `None` for a constant signal.
pub fn autocorrelation(x: &[f64], max_lag: usize) -> Option<Vec<f64>> {
    let n = x.len();
    if n < 2 {
        return None;
    }
    let mean = x.iter().sum::<f64>() / n as f64;
    let size = (2 * n).next_power_of_two();
    let mut planner = RealFftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(size);
    let inv = planner.plan_fft_inverse(size);
    let mut buf = fwd.make_input_vec();
    for (b, v) in buf.iter_mut().zip(x) {
        *b = v - mean;
    }
    let mut spec = fwd.make_output_vec();
    fwd.process(&mut buf, &mut spec).ok()?;
    for c in spec.iter_mut() {
        *c = realfft::num_complex::Complex::new(c.norm_sqr(), 0.0);
    }
    inv.process(&mut spec, &mut buf).ok()?;
    let zero = buf[0];
    if zero <= 1e-12 {
        return None;
    }
    Some(
        (0..=max_lag.min(n - 1))
            .map(|l| buf[l] / zero * n as f64 / (n - l) as f64)
            .collect(),
    )
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

    #[test]
    fn autocorrelation_of_a_pulse_train_peaks_at_its_period() {
        let x: Vec<f64> = (0..1000).map(|i| f64::from(i % 25 == 0)).collect();
        let r = autocorrelation(&x, 100).unwrap();
        assert!((r[0] - 1.0).abs() < 1e-9);
        assert!(r[25] > 0.9 && r[50] > 0.9 && r[12] < 0.0);
        assert!(autocorrelation(&[1.0; 100], 10).is_none());
    }
}
