//! The groove profile: where in the bar the onsets fall and how far they sit from the straight grid —
//! the feel a drum part or a locked stem has beyond its tempo. The bar (4/4) is read as 16
//! steps laid between tracked beats (so tempo drift does not smear it). Swing is found
//! first, from where off-beat onsets sit inside the beat, because a triplet-swung 8th lies
//! two thirds of a 16th late: matched to the straight grid it would be mistaken for the next
//! 16th. Onsets are therefore assigned to the *swung* grid and their offsets reported
//! against the straight one.

use super::onset::OnsetEnvelope;
use serde::{Deserialize, Serialize};

pub const STEPS: usize = 16;
const STEPS_PER_BEAT: usize = 4;
/// Histogram resolution per beat for locating off-beat onsets.
const PHASE_BINS: usize = 96;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrooveProfile {
    /// Mean onset strength per 16th step of the bar, normalised so the strongest step is 1.
    pub step_strength: [f64; STEPS],
    /// Strength-weighted mean timing of each step's onsets relative to the straight 16th
    /// grid, in seconds (positive = late); 0 for steps without onsets.
    pub step_offset_seconds: [f64; STEPS],
    /// 0 = straight, 2/3 ≈ triplet swing, 1 = dotted (the late note at ¾ of its pair).
    pub swing: f64,
    /// The note value the swing applies to: 8 (swung 8ths) or 16 (swung 16ths).
    pub swing_subdivision: u8,
}

impl Default for GrooveProfile {
    fn default() -> Self {
        GrooveProfile {
            step_strength: [0.0; STEPS],
            step_offset_seconds: [0.0; STEPS],
            swing: 0.0,
            swing_subdivision: 8,
        }
    }
}

/// The groove profile of the onsets between `beats` (envelope frames), bars starting at beat `downbeat`.
pub fn analyze(env: &OnsetEnvelope, beats: &[f64], downbeat: usize) -> GrooveProfile {
    if beats.len() < 2 {
        return GrooveProfile::default();
    }
    let peaks = env.peaks();
    // Each onset's beat index and phase within its beat (0..1).
    let placed: Vec<(usize, f64, f64)> = peaks
        .iter()
        .filter_map(|&(t, s)| {
            let i = beats.partition_point(|b| *b <= t).checked_sub(1)?;
            let next = *beats.get(i + 1)?;
            Some((i, (t - beats[i]) / (next - beats[i]), s))
        })
        .collect();
    let mut hist = [0.0; PHASE_BINS];
    for &(_, phase, s) in &placed {
        hist[((phase * PHASE_BINS as f64) as usize).min(PHASE_BINS - 1)] += s;
    }
    let (ratio, subdivision) = swing_ratio(&hist);
    // Where each step is expected in the beat under that swing, and the straight position.
    let expected: [f64; STEPS_PER_BEAT] = if subdivision == 8 {
        [0.0, ratio / 2.0, ratio, ratio + (1.0 - ratio) / 2.0]
    } else {
        [0.0, ratio / 2.0, 0.5, 0.5 + ratio / 2.0]
    };

    let mut strength_sum = [0.0; STEPS];
    let mut offset_sum = [0.0; STEPS];
    let mut weight_sum = [0.0; STEPS];
    // Per (bar, step): the strongest onset, so a flam or a roll does not count many times.
    // Summing over bars then normalising to the loudest step gives the mean profile.
    let mut best: std::collections::BTreeMap<(usize, usize), (f64, f64)> = Default::default();
    for &(i, phase, s) in &placed {
        // Onsets just before a beat belong to that beat's first step ("pushed" notes).
        let (beat_idx, q, phase) = match nearest_step(&expected, phase) {
            STEPS_PER_BEAT => (i + 1, 0, phase - 1.0),
            q => (i, q, phase),
        };
        let Some(rel) = beat_idx.checked_sub(downbeat) else {
            continue;
        };
        let (bar, step) = (rel / 4, (rel % 4) * STEPS_PER_BEAT + q);
        // `placed` guarantees beats i and i + 1 exist.
        let beat_len = (beats[i + 1] - beats[i]) / env.frame_rate;
        let offset = (phase - q as f64 / STEPS_PER_BEAT as f64) * beat_len;
        let e = best.entry((bar, step)).or_insert((0.0, 0.0));
        if s > e.0 {
            *e = (s, offset);
        }
    }
    for (&(_, step), &(s, offset)) in &best {
        strength_sum[step] += s;
        offset_sum[step] += s * offset;
        weight_sum[step] += s;
    }
    let max = strength_sum.iter().copied().fold(0.0, f64::max);
    let mut groove = GrooveProfile {
        swing: ((ratio - 0.5) / 0.25).clamp(0.0, 1.0),
        swing_subdivision: subdivision,
        ..GrooveProfile::default()
    };
    for s in 0..STEPS {
        if max > 0.0 {
            groove.step_strength[s] = strength_sum[s] / max;
        }
        if weight_sum[s] > 0.0 {
            groove.step_offset_seconds[s] = offset_sum[s] / weight_sum[s];
        }
    }
    groove
}

/// Index of the expected step nearest to `phase`; STEPS_PER_BEAT means the next beat.
fn nearest_step(expected: &[f64; STEPS_PER_BEAT], phase: f64) -> usize {
    let mut best = (STEPS_PER_BEAT, (1.0 - phase).abs());
    for (q, e) in expected.iter().enumerate() {
        let d = (phase - e).abs();
        if d < best.1 {
            best = (q, d);
        }
    }
    best.0
}

/// Off-beat placement → (ratio, subdivision). The ratio is where the late note of a swung
/// pair sits inside the pair (0.5 straight … 0.75 dotted). Swung 8ths are recognised by an
/// off-beat peak later than the half-beat with little left at the half-beat itself;
/// otherwise 16ths are examined the same way within each half beat.
fn swing_ratio(hist: &[f64; PHASE_BINS]) -> (f64, u8) {
    // Onset weight around `centre` (in beats), triangular over ±0.04 beats so the best
    // centre is the peak itself, not the edge of a plateau.
    let mass = |centre: f64| -> f64 {
        hist.iter()
            .enumerate()
            .map(|(b, h)| {
                let phase = (b as f64 + 0.5) / PHASE_BINS as f64;
                h * (1.0 - (phase - centre).abs() / 0.04).max(0.0)
            })
            .sum()
    };
    let total: f64 = hist.iter().sum();
    if total <= 0.0 {
        return (0.5, 8);
    }
    let best_ratio = |eval: &dyn Fn(f64) -> f64| -> (f64, f64) {
        (0..=25)
            .map(|k| 0.5 + k as f64 * 0.01)
            .map(|r| (r, eval(r)))
            .fold(
                (0.5, f64::NEG_INFINITY),
                |a, b| if b.1 > a.1 { b } else { a },
            )
    };
    let straight8 = mass(0.5);
    let (r8, m8) = best_ratio(&|r| mass(r));
    // Swung 8ths: a clearly later off-beat that outweighs whatever is left at the half beat,
    // and not simply the straight 16th at ¾ (which comes with one at ¼).
    if r8 > 0.55
        && m8 > 1.5 * straight8
        && m8 > 0.05 * total
        && (r8 < 0.72 || mass(0.25) < 0.5 * m8)
    {
        return (r8, 8);
    }
    let straight16 = mass(0.25) + mass(0.75);
    let (r16, m16) = best_ratio(&|r| mass(r / 2.0) + mass(0.5 + r / 2.0));
    if r16 > 0.55 && m16 > 1.5 * straight16 && m16 > 0.05 * total {
        return (r16, 16);
    }
    (0.5, if straight16 > straight8 { 16 } else { 8 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist_of(phases: &[(f64, f64)]) -> [f64; PHASE_BINS] {
        let mut h = [0.0; PHASE_BINS];
        for (p, w) in phases {
            h[((p * PHASE_BINS as f64) as usize).min(PHASE_BINS - 1)] += w;
        }
        h
    }

    #[test]
    fn swing_ratio_levels() {
        let straight = hist_of(&[(0.0, 1.0), (0.5, 0.6)]);
        assert_eq!(swing_ratio(&straight), (0.5, 8));
        let (r, sub) = swing_ratio(&hist_of(&[(0.0, 1.0), (0.667, 0.6)]));
        assert!((r - 0.667).abs() < 0.02 && sub == 8, "{r}");
        let sixteenths = hist_of(&[(0.0, 1.0), (0.25, 0.5), (0.5, 0.8), (0.75, 0.5)]);
        assert_eq!(swing_ratio(&sixteenths).0, 0.5);
        let (r, sub) = swing_ratio(&hist_of(&[
            (0.0, 1.0),
            (0.31, 0.5),
            (0.5, 0.8),
            (0.81, 0.5),
        ]));
        assert!((r - 0.62).abs() < 0.02 && sub == 16, "{r} {sub}");
    }
}
