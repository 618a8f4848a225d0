//! Integrated loudness in LUFS after ITU-R BS.1770-4: K-weighting (high-shelf pre-filter and
//! RLB high-pass, designed for the input's own sample rate), 400 ms blocks with 75 % overlap,
//! absolute gate at −70 LUFS and relative gate 10 LU under the ungated level. Every channel
//! is weighted 1 — exact for mono and stereo; for surround layouts the +1.5 dB surround
//! weights and LFE exclusion are not applied, since channel roles are unknown here.

/// Reported for digital silence or audio entirely under the absolute gate (JSON has no −∞).
pub const SILENCE_LUFS: f64 = -120.0;
const ABSOLUTE_GATE: f64 = -70.0;
const RELATIVE_GATE: f64 = -10.0;

/// Integrated loudness of interleaved `samples` with `channels` channels.
pub fn integrated_lufs(samples: &[f32], channels: usize, sample_rate: u32) -> f64 {
    if channels == 0 || samples.len() < channels {
        return SILENCE_LUFS;
    }
    let frames = samples.len() / channels;
    let sub = ((f64::from(sample_rate) * 0.1).round() as usize).max(1);
    let n_sub = frames.div_ceil(sub);
    // Mean square per 100 ms sub-block, summed over channels.
    let mut sub_power = vec![0.0f64; n_sub];
    let (pre, rlb) = k_weighting(f64::from(sample_rate));
    for c in 0..channels {
        let (mut s1, mut s2) = (Biquad::new(pre), Biquad::new(rlb));
        for (i, frame) in samples.chunks_exact(channels).enumerate() {
            let y = s2.run(s1.run(f64::from(frame[c])));
            sub_power[i / sub] += y * y;
        }
    }
    // A gating block is four sub-blocks, stepping one (75 % overlap); short input is one block.
    let blocks: Vec<f64> = if n_sub < 4 {
        vec![sub_power.iter().sum::<f64>() / frames as f64]
    } else {
        sub_power
            .windows(4)
            .map(|w| w.iter().sum::<f64>() / (4 * sub) as f64)
            .collect()
    };
    let lufs = |p: f64| -0.691 + 10.0 * p.log10();
    let gated_mean = |threshold: f64| -> Option<f64> {
        let kept: Vec<f64> = blocks
            .iter()
            .copied()
            .filter(|p| *p > 0.0 && lufs(*p) > threshold)
            .collect();
        (!kept.is_empty()).then(|| kept.iter().sum::<f64>() / kept.len() as f64)
    };
    let Some(ungated) = gated_mean(ABSOLUTE_GATE) else {
        return SILENCE_LUFS;
    };
    let relative = lufs(ungated) + RELATIVE_GATE;
    gated_mean(relative.max(ABSOLUTE_GATE)).map_or(SILENCE_LUFS, lufs)
}

#[derive(Clone, Copy)]
struct Coeffs {
    b: [f64; 3],
    a: [f64; 2],
}

struct Biquad {
    c: Coeffs,
    z: [f64; 2],
}

impl Biquad {
    fn new(c: Coeffs) -> Self {
        Biquad { c, z: [0.0; 2] }
    }

    /// Transposed direct form II.
    fn run(&mut self, x: f64) -> f64 {
        let y = self.c.b[0] * x + self.z[0];
        self.z[0] = self.c.b[1] * x - self.c.a[0] * y + self.z[1];
        self.z[1] = self.c.b[2] * x - self.c.a[1] * y;
        y
    }
}

/// The two K-weighting stages for any sample rate, from the analog prototypes of BS.1770
/// (the same derivation libebur128 uses; at 48 kHz it reproduces the standard's table).
fn k_weighting(rate: f64) -> (Coeffs, Coeffs) {
    let (f0, gain_db, q) = (1681.974450955533, 3.999843853973347, 0.7071752369554196);
    let k = (std::f64::consts::PI * f0 / rate).tan();
    let vh = 10f64.powf(gain_db / 20.0);
    let vb = vh.powf(0.4996667741545416);
    let a0 = 1.0 + k / q + k * k;
    let pre = Coeffs {
        b: [
            (vh + vb * k / q + k * k) / a0,
            2.0 * (k * k - vh) / a0,
            (vh - vb * k / q + k * k) / a0,
        ],
        a: [2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0],
    };
    let (f0, q) = (38.13547087602444, 0.5003270373238773);
    let k = (std::f64::consts::PI * f0 / rate).tan();
    let a0 = 1.0 + k / q + k * k;
    let rlb = Coeffs {
        b: [1.0, -2.0, 1.0],
        a: [2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0],
    };
    (pre, rlb)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(hz: f64, amp: f64, sr: u32, seconds: f64, channels: usize) -> Vec<f32> {
        (0..(seconds * f64::from(sr)) as usize)
            .flat_map(|i| {
                let v = amp * (2.0 * std::f64::consts::PI * hz * i as f64 / f64::from(sr)).sin();
                std::iter::repeat_n(v as f32, channels)
            })
            .collect()
    }

    #[test]
    fn standard_reference_tone() {
        // BS.1770: a full-scale 1 kHz sine in one channel reads −3.01 LUFS (K-weighting adds
        // the 0.691 dB the formula subtracts). In both channels at amplitude 0.1: −20 LUFS.
        for sr in [44_100, 48_000, 96_000] {
            let l = integrated_lufs(&sine(1000.0, 0.1, sr, 5.0, 2), 2, sr);
            assert!((l + 20.0).abs() < 0.1, "{sr}: {l}");
        }
        assert_eq!(integrated_lufs(&vec![0.0; 96_000], 2, 48_000), SILENCE_LUFS);
    }
}
