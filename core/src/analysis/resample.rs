//! Sample-rate conversion to the analysis working rate. Every analyser is tuned in Hz and in
//! frames of one fixed rate, so inputs from 8 to 192 kHz are first brought to that rate.
//! Kaiser-windowed sinc, polyphase: band-limited (downsampling does not fold hi-hats into the
//! chroma range) and exact in its time base (rational positions, so beat times do not drift).

/// Sinc zero crossings on each side of the kernel centre (at the lower of the two rates).
const ZERO_CROSSINGS: f64 = 10.0;
/// Kaiser β: about 80 dB of stopband rejection, ample for analysis.
const KAISER_BETA: f64 = 8.0;
/// Passband edge as a fraction of the lower Nyquist frequency; the rest is transition band.
const PASSBAND: f64 = 0.92;
/// Most kernel phases kept. Rate pairs with a larger reduced numerator (e.g. 44 101 Hz) round
/// the fractional position to 1/4096 of an input sample — well under a microsecond.
const MAX_PHASES: u64 = 4096;

/// Resamples a mono signal from `from_hz` to `to_hz`. Output sample `n` sits at input
/// position `n · from / to`; the output has `floor(len · to / from)` samples.
pub fn resample(input: &[f32], from_hz: u32, to_hz: u32) -> Vec<f32> {
    if from_hz == to_hz || from_hz == 0 || to_hz == 0 || input.is_empty() {
        return input.to_vec();
    }
    let g = gcd(u64::from(from_hz), u64::from(to_hz));
    let (up, down) = (u64::from(to_hz) / g, u64::from(from_hz) / g);
    let bank = KernelBank::new(up, down);
    let out_len = (input.len() as u64 * up / down) as usize;
    let len = input.len() as i64;
    let mut out = Vec::with_capacity(out_len);
    for n in 0..out_len as u64 {
        let num = n * down;
        let base = (num / up) as i64;
        let weights = bank.weights(num % up);
        let start = base - bank.reach;
        let acc: f32 = if start >= 0 && start + weights.len() as i64 <= len {
            let s = start as usize;
            weights
                .iter()
                .zip(&input[s..s + weights.len()])
                .map(|(w, x)| w * x)
                .sum()
        } else {
            // Near either end: the taps that fall outside the signal read as silence.
            weights
                .iter()
                .enumerate()
                .filter_map(|(k, w)| {
                    let i = start + k as i64;
                    (0..len).contains(&i).then(|| w * input[i as usize])
                })
                .sum()
        };
        out.push(acc);
    }
    out
}

/// Precomputed taps for every fractional position ("phase") an output sample can take.
struct KernelBank {
    up: u64,
    phases: u64,
    /// Taps reach this many input samples left of the base sample.
    reach: i64,
    taps: usize,
    weights: Vec<f32>,
}

impl KernelBank {
    fn new(up: u64, down: u64) -> Self {
        let ratio = up as f64 / down as f64;
        // Cutoff in cycles per input sample: the lower rate's Nyquist, less the transition.
        let cutoff = 0.5 * ratio.min(1.0) * PASSBAND;
        let half_width = ZERO_CROSSINGS / (2.0 * cutoff);
        let reach = half_width.ceil() as i64;
        let taps = (2 * reach + 1) as usize;
        let phases = up.min(MAX_PHASES);
        let i0_beta = bessel_i0(KAISER_BETA);
        let mut weights = Vec::with_capacity(phases as usize * taps);
        for p in 0..phases {
            let frac = p as f64 / phases as f64;
            let row: Vec<f64> = (0..taps)
                .map(|k| {
                    let d = (k as i64 - reach) as f64 - frac;
                    let u = d / half_width;
                    if u.abs() >= 1.0 {
                        return 0.0;
                    }
                    let window = bessel_i0(KAISER_BETA * (1.0 - u * u).sqrt()) / i0_beta;
                    sinc(2.0 * cutoff * d) * window
                })
                .collect();
            // Unity DC gain for every phase, so no phase-dependent ripple in level.
            let sum: f64 = row.iter().sum();
            weights.extend(row.iter().map(|w| (w / sum) as f32));
        }
        KernelBank {
            up,
            phases,
            reach,
            taps,
            weights,
        }
    }

    fn weights(&self, phase_num: u64) -> &[f32] {
        let p = if self.phases == self.up {
            phase_num
        } else {
            ((phase_num as f64 / self.up as f64 * self.phases as f64).round() as u64)
                .min(self.phases - 1)
        };
        let start = p as usize * self.taps;
        &self.weights[start..start + self.taps]
    }
}

fn sinc(x: f64) -> f64 {
    if x.abs() < 1e-12 {
        1.0
    } else {
        let px = std::f64::consts::PI * x;
        px.sin() / px
    }
}

/// Modified Bessel function of the first kind, order 0 (power series; converges fast for
/// the arguments a Kaiser window needs).
fn bessel_i0(x: f64) -> f64 {
    let q = x * x / 4.0;
    let (mut sum, mut term) = (1.0, 1.0);
    for k in 1..64 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < sum * 1e-16 {
            break;
        }
    }
    sum
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(hz: f64, sr: u32, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (2.0 * std::f64::consts::PI * hz * i as f64 / f64::from(sr)).sin() as f32)
            .collect()
    }

    fn rms(x: &[f32]) -> f64 {
        (x.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
    }

    #[test]
    fn keeps_passband_tones_in_phase() {
        for sr in [8_000, 44_100, 48_000, 96_000, 44_101] {
            let x = sine(440.0, sr, sr as usize);
            let y = resample(&x, sr, 22_050);
            assert_eq!(y.len(), (x.len() as u64 * 22_050 / u64::from(sr)) as usize);
            let want = sine(440.0, 22_050, y.len());
            // Ignore the edges, where the kernel runs off the signal.
            let err: f64 = y[200..y.len() - 200]
                .iter()
                .zip(&want[200..want.len() - 200])
                .map(|(a, b)| f64::from(a - b).abs())
                .fold(0.0, f64::max);
            assert!(err < 2e-3, "{sr}: max error {err}");
        }
    }

    #[test]
    fn rejects_tones_above_the_new_nyquist() {
        let x = sine(15_000.0, 48_000, 48_000);
        let y = resample(&x, 48_000, 22_050);
        assert!(rms(&y[200..y.len() - 200]) < 1e-3, "{}", rms(&y));
    }

    #[test]
    fn identity_and_empty() {
        assert_eq!(resample(&[0.5, -0.5], 22_050, 22_050), vec![0.5, -0.5]);
        assert!(resample(&[], 44_100, 22_050).is_empty());
    }
}
