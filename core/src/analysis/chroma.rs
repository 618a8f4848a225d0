//! Chroma: how much of each of the 12 pitch classes sounds, per frame and overall — the input
//! to key and chord detection. Built from spectral *peaks* between 50 Hz and 5 kHz of a
//! long-window STFT (2.7 Hz bins at the working rate, enough for bass notes), after a median
//! over time that keeps sustained partials and drops drum transients. The peaks of each
//! frame are reduced to the fundamentals sounding (harmonic summation and cancellation), so
//! partials do not add each note's fifth and third; their saliences are log-compressed so
//! quiet chord tones still count, and the global tuning is estimated from the peaks so
//! detuned material does not split between neighbouring pitch classes.

use super::stft;

/// 8192-point frames (372 ms at 22.05 kHz) every quarter window.
const WINDOW_SECONDS: f64 = 0.37;
const MIN_HZ: f64 = 50.0;
const MAX_HZ: f64 = 5000.0;
/// Frames on each side of the temporal median (±280 ms): longer than a drum hit, shorter
/// than a chord.
const MEDIAN_RADIUS: usize = 3;
/// Peaks more than this many dB under the loudest peak are ignored.
const FLOOR_DB: f64 = 50.0;
/// A peak must stand this many times above the mean of its ±25-bin neighbourhood.
const PROMINENCE: f32 = 2.5;
/// Log compression of peak magnitudes: `ln(1 + γ·m/m_max)`.
const GAMMA: f64 = 100.0;
/// Tonal energy is judged where chords and melodies have their fundamentals: above kick-drum
/// bodies, below the inharmonic partials of cymbals and bells.
const TONAL_MIN_HZ: f64 = 100.0;
const TONAL_MAX_HZ: f64 = 2000.0;

#[derive(Debug, Clone)]
pub struct Chromagram {
    /// Pitch-class weights per frame (C = 0), not normalised.
    pub frames: Vec<[f64; 12]>,
    /// Seconds between frames; frame `f` is centred at `f · hop_seconds`.
    pub hop_seconds: f64,
    /// Detected deviation of the material's tuning from A = 440 Hz, in cents.
    pub tuning_cents: f64,
    /// Share of the 100 Hz–2 kHz spectral energy that sits in sustained, prominent peaks:
    /// near 1 for chords and melodies, low for drums and noise.
    pub tonal_energy: f64,
}

struct Peak {
    frame: usize,
    hz: f64,
    /// Magnitude relative to the loudest peak of the piece.
    amp: f64,
}

/// Share of a partial's smoothed level that cancellation removes: less than all of it, so
/// the fifth voiced above a bass root (its 3rd harmonic) keeps a share of its own.
const PARTIAL_CANCEL: f64 = 0.7;

/// Fundamentals sounding in one frame's peaks (ascending Hz), by iterative harmonic
/// summation and cancellation (after Klapuri 2006): the candidate whose harmonic series
/// collects the most residual magnitude is taken, its partials are removed — each only down
/// to the level of its neighbouring partials (spectral smoothness), so a chord tone that
/// coincides with a harmonic keeps its own excess — and the search repeats.
fn fundamentals(peaks: &[Peak]) -> Vec<(f64, f64)> {
    const MAX_NOTES: usize = 6;
    const HARMONICS: usize = 10;
    const MAX_F0: f64 = 2000.0;
    const TOLERANCE: f64 = 0.025;
    let mut residual: Vec<f64> = peaks.iter().map(|p| p.amp).collect();
    let find = |target: f64| -> Option<usize> {
        let i = peaks.partition_point(|p| p.hz < target * (1.0 - TOLERANCE));
        peaks[i..]
            .iter()
            .take_while(|p| p.hz <= target * (1.0 + TOLERANCE))
            .enumerate()
            .min_by(|a, b| (a.1.hz - target).abs().total_cmp(&(b.1.hz - target).abs()))
            .map(|(k, _)| i + k)
    };
    let mut notes = Vec::new();
    let mut first = 0.0;
    for _ in 0..MAX_NOTES {
        let mut best: Option<(usize, f64, Vec<Option<usize>>)> = None;
        for (i, p) in peaks.iter().enumerate() {
            if p.hz > MAX_F0 || residual[i] <= 0.0 {
                continue;
            }
            let partials: Vec<Option<usize>> =
                (1..=HARMONICS).map(|h| find(p.hz * h as f64)).collect();
            let s: f64 = partials
                .iter()
                .enumerate()
                .filter_map(|(h, j)| j.map(|j| residual[j] / (h + 1) as f64))
                .sum();
            if best.as_ref().is_none_or(|b| s > b.1) {
                best = Some((i, s, partials));
            }
        }
        let Some((i, s, partials)) = best else { break };
        if notes.is_empty() {
            first = s;
        } else if s < 0.1 * first {
            break;
        }
        notes.push((peaks[i].hz, s));
        let amps: Vec<f64> = partials
            .iter()
            .map(|j| j.map_or(0.0, |j| residual[j]))
            .collect();
        for (h, j) in partials.iter().enumerate() {
            let Some(j) = *j else { continue };
            let take = if h == 0 {
                amps[0]
            } else {
                let lo = amps[h - 1];
                let hi = amps.get(h + 1).copied().unwrap_or(0.0);
                amps[h].min((lo + amps[h] + hi) / 3.0) * PARTIAL_CANCEL
            };
            residual[j] = (residual[j] - take).max(0.0);
        }
    }
    notes
}

impl Chromagram {
    pub fn compute(x: &[f32], sample_rate: u32) -> Self {
        let sr = f64::from(sample_rate);
        let n_fft = ((WINDOW_SECONDS * sr) as usize)
            .next_power_of_two()
            .max(256);
        let hop = n_fft / 4;
        let bin_hz = sr / n_fft as f64;
        let k_lo = ((MIN_HZ / bin_hz).floor() as usize).max(2);
        let k_hi = ((MAX_HZ.min(sr / 2.0 - bin_hz) / bin_hz).ceil() as usize).max(k_lo + 1);
        // Two bins of margin each side for peak tests and interpolation.
        let (b0, b1) = (k_lo - 2, k_hi + 2);
        let width = b1 - b0;
        let mut mags: Vec<f32> = Vec::new();
        stft::for_each_frame(x, n_fft, hop, |_, m| {
            mags.extend_from_slice(&m[b0..b1.min(m.len())]);
            mags.extend(std::iter::repeat_n(0.0, b1.saturating_sub(m.len())));
        });
        let n_frames = mags.len() / width.max(1);
        let harmonic = temporal_median(&mags, n_frames, width);

        let ref_mag = harmonic.iter().copied().fold(0.0f32, f32::max);
        let mut peaks = Vec::new();
        let (mut tonal_e, mut total_e) = (0.0f64, 0.0f64);
        let tonal_lo = ((TONAL_MIN_HZ / bin_hz) as usize).saturating_sub(b0);
        let tonal_hi = ((TONAL_MAX_HZ / bin_hz) as usize)
            .saturating_sub(b0)
            .min(width);
        if ref_mag > 0.0 {
            let floor = ref_mag * 10f32.powf(-(FLOOR_DB as f32) / 20.0);
            for f in 0..n_frames {
                let h = &harmonic[f * width..(f + 1) * width];
                let raw = &mags[f * width..(f + 1) * width];
                total_e += raw[tonal_lo..tonal_hi]
                    .iter()
                    .map(|v| f64::from(*v).powi(2))
                    .sum::<f64>();
                // Prefix sums for the neighbourhood means of the prominence test.
                let mut prefix = Vec::with_capacity(width + 1);
                prefix.push(0.0f32);
                for v in h {
                    prefix.push(prefix.last().copied().unwrap_or(0.0) + v);
                }
                for b in 2..width - 2 {
                    let v = h[b];
                    if v < floor
                        || v <= h[b - 1]
                        || v < h[b + 1]
                        || v <= h[b - 2]
                        || v < h[b + 2]
                        || b + b0 < k_lo
                        || b + b0 > k_hi
                    {
                        continue;
                    }
                    let (lo, hi) = (b.saturating_sub(25), (b + 26).min(width));
                    let local = (prefix[hi] - prefix[lo]) / (hi - lo) as f32;
                    if v < PROMINENCE * local {
                        continue;
                    }
                    let (a, c) = (f64::from(h[b - 1]).ln(), f64::from(h[b + 1]).ln());
                    let off = super::onset::parabolic_offset(a, f64::from(v).ln(), c);
                    let hz = (b as f64 + b0 as f64 + off) * bin_hz;
                    if (tonal_lo..tonal_hi).contains(&b) {
                        tonal_e += h[b - 2..=b + 2]
                            .iter()
                            .map(|v| f64::from(*v).powi(2))
                            .sum::<f64>();
                    }
                    peaks.push(Peak {
                        frame: f,
                        hz,
                        amp: f64::from(v / ref_mag),
                    });
                }
            }
        }
        let tuning = tuning_offset(&peaks);
        // Count fundamentals, not partials: every harmonic would otherwise add the fifth
        // (3rd harmonic) and the major third (5th) above each note, pulling the key towards
        // the dominant.
        let mut notes: Vec<(usize, f64, f64)> = Vec::new();
        let mut i = 0;
        while i < peaks.len() {
            let f = peaks[i].frame;
            let j = peaks[i..]
                .iter()
                .position(|p| p.frame != f)
                .map_or(peaks.len(), |k| i + k);
            for (hz, sal) in fundamentals(&peaks[i..j]) {
                notes.push((f, hz, sal));
            }
            i = j;
        }
        let ref_s = notes.iter().map(|n| n.2).fold(0.0, f64::max);
        let mut frames = vec![[0.0; 12]; n_frames];
        for &(frame, hz, sal) in &notes {
            let m = 69.0 + 12.0 * (hz / 440.0).log2() - tuning;
            let nearest = m.round();
            let dev = m - nearest;
            // Full weight on pitch, none half a semitone off.
            let w = (1.0 + GAMMA * sal / ref_s).ln() * (std::f64::consts::PI * dev).cos().powi(2);
            frames[frame][(nearest as i64).rem_euclid(12) as usize] += w;
        }
        Chromagram {
            frames,
            hop_seconds: hop as f64 / sr,
            tuning_cents: tuning * 100.0,
            tonal_energy: if total_e > 0.0 {
                (tonal_e / total_e).min(1.0)
            } else {
                0.0
            },
        }
    }

    /// Mean chroma over frames centred in [start, end) seconds, normalised to max 1
    /// (all zeros when nothing pitched sounds there).
    pub fn mean_between(&self, start: f64, end: f64) -> [f64; 12] {
        let mut sum = [0.0; 12];
        for (f, c) in self.frames.iter().enumerate() {
            let t = f as f64 * self.hop_seconds;
            if t >= start && t < end {
                sum.iter_mut().zip(c).for_each(|(s, v)| *s += v);
            }
        }
        normalized(sum)
    }

    /// Chroma of the whole signal, normalised to max 1.
    pub fn global(&self) -> [f64; 12] {
        let mut sum = [0.0; 12];
        for c in &self.frames {
            sum.iter_mut().zip(c).for_each(|(s, v)| *s += v);
        }
        normalized(sum)
    }
}

pub fn normalized(mut c: [f64; 12]) -> [f64; 12] {
    let max = c.iter().copied().fold(0.0, f64::max);
    if max > 0.0 {
        c.iter_mut().for_each(|v| *v /= max);
    }
    c
}

/// Flatness (geometric over arithmetic mean) of a chroma vector: 1 = all pitch classes
/// equal, → 0 when a few dominate.
pub fn flatness(c: &[f64; 12]) -> f64 {
    let mean = c.iter().sum::<f64>() / 12.0;
    if mean <= 0.0 {
        return 1.0;
    }
    let geo = (c.iter().map(|v| (v + 1e-9).ln()).sum::<f64>() / 12.0).exp();
    geo / mean
}

/// Per-bin median over ±MEDIAN_RADIUS frames.
fn temporal_median(mags: &[f32], frames: usize, width: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; mags.len()];
    let mut win = Vec::with_capacity(2 * MEDIAN_RADIUS + 1);
    for f in 0..frames {
        let lo = f.saturating_sub(MEDIAN_RADIUS);
        let hi = (f + MEDIAN_RADIUS + 1).min(frames);
        for b in 0..width {
            win.clear();
            win.extend((lo..hi).map(|g| mags[g * width + b]));
            let mid = win.len() / 2;
            win.select_nth_unstable_by(mid, f32::total_cmp);
            out[f * width + b] = win[mid];
        }
    }
    out
}

/// Weighted circular mean of the peaks' deviation from equal temperament, in semitones
/// (−0.5..0.5).
fn tuning_offset(peaks: &[Peak]) -> f64 {
    let (s, c) = peaks.iter().fold((0.0, 0.0), |(s, c), p| {
        let midi = 69.0 + 12.0 * (p.hz / 440.0).log2();
        let a = 2.0 * std::f64::consts::PI * (midi - midi.round());
        let w = (1.0 + GAMMA * p.amp).ln();
        (s + w * a.sin(), c + w * a.cos())
    });
    if s == 0.0 && c == 0.0 {
        0.0
    } else {
        s.atan2(c) / (2.0 * std::f64::consts::PI)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chord(midis: &[f64], cents: f64, seconds: f64) -> Vec<f32> {
        let sr = 22_050.0;
        (0..(seconds * sr) as usize)
            .map(|i| {
                let t = i as f64 / sr;
                midis
                    .iter()
                    .map(|m| {
                        let hz = 440.0 * 2f64.powf((m + cents / 100.0 - 69.0) / 12.0);
                        (1..=4)
                            .map(|h| {
                                (2.0 * std::f64::consts::PI * hz * h as f64 * t).sin() / h as f64
                            })
                            .sum::<f64>()
                    })
                    .sum::<f64>() as f32
                    * 0.1
            })
            .collect()
    }

    #[test]
    fn c_major_triad_lights_c_e_g() {
        let c = Chromagram::compute(&chord(&[48.0, 60.0, 64.0, 67.0], 0.0, 3.0), 22_050);
        let g = c.global();
        let mut order: Vec<usize> = (0..12).collect();
        order.sort_by(|a, b| g[*b].total_cmp(&g[*a]));
        let mut top = order[..3].to_vec();
        top.sort();
        assert_eq!(top, vec![0, 4, 7], "{g:?}");
        assert!(c.tonal_energy > 0.8, "{}", c.tonal_energy);
    }

    #[test]
    fn detuned_material_is_retuned() {
        let c = Chromagram::compute(&chord(&[57.0, 61.0, 64.0], 30.0, 3.0), 22_050);
        assert!((c.tuning_cents - 30.0).abs() < 8.0, "{}", c.tuning_cents);
        let g = c.global();
        assert!(
            g[9] > 0.5 && g[1] > 0.5 && g[4] > 0.5 && g[10] < 0.3,
            "{g:?}"
        );
    }

    #[test]
    fn flatness_bounds() {
        assert!((flatness(&[1.0; 12]) - 1.0).abs() < 1e-6);
        let mut one = [0.0; 12];
        one[3] = 1.0;
        assert!(flatness(&one) < 0.01);
    }
}
