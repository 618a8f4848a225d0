//! Loudness after ITU-R BS.1770-4 / EBU R128, measured by one meter (the `ebur128` crate)
//! everywhere: the lock analysis reads a stem's integrated loudness with it and the mix
//! engine normalizes and limits to it, so a figure in a response means the same thing
//! wherever it was taken.

/// Reported for digital silence or audio entirely under the absolute gate (JSON has no −∞).
pub const SILENCE_LUFS: f64 = -120.0;

/// A meter over `channels` channels, each weighted 1: exact for mono and stereo; for more
/// channels every one is metered as a front channel, since channel roles are unknown here
/// (no +1.5 dB surround weights, no LFE exclusion).
fn meter(channels: usize, sample_rate: u32, mode: ebur128::Mode) -> Option<ebur128::EbuR128> {
    let mut m = ebur128::EbuR128::new(u32::try_from(channels).ok()?, sample_rate, mode).ok()?;
    if channels > 2 {
        for c in 0..channels {
            m.set_channel(c as u32, ebur128::Channel::Center).ok()?;
        }
    }
    Some(m)
}

/// Integrated loudness of interleaved `samples` with `channels` channels.
pub fn integrated_lufs(samples: &[f32], channels: usize, sample_rate: u32) -> f64 {
    if channels == 0 || samples.len() < channels {
        return SILENCE_LUFS;
    }
    let frames = samples.len() / channels * channels;
    let Some(mut m) = meter(channels, sample_rate, ebur128::Mode::I) else {
        return SILENCE_LUFS;
    };
    if m.add_frames_f32(&samples[..frames]).is_err() {
        return SILENCE_LUFS;
    }
    match m.loudness_global() {
        Ok(l) if l.is_finite() => l,
        _ => SILENCE_LUFS,
    }
}

/// (integrated loudness LUFS, true peak dBTP) of interleaved stereo; −∞ for silence (the
/// mix engine compares against it, so silence must not read as a level).
pub fn measure_stereo(buf: &[f32], sample_rate: u32) -> (f64, f64) {
    let Some(mut m) = meter(2, sample_rate, ebur128::Mode::I | ebur128::Mode::TRUE_PEAK) else {
        return (f64::NEG_INFINITY, f64::NEG_INFINITY);
    };
    if m.add_frames_f32(&buf[..buf.len() / 2 * 2]).is_err() {
        return (f64::NEG_INFINITY, f64::NEG_INFINITY);
    }
    let lufs = m.loudness_global().unwrap_or(f64::NEG_INFINITY);
    let tp = (0..2)
        .filter_map(|c| m.true_peak(c).ok())
        .fold(0.0f64, f64::max);
    (lufs, 20.0 * tp.max(1e-12).log10())
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
