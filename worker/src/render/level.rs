//! Levels of sampled parts: SoundFont programs come out 20 dB apart (a soft flute, a loud
//! power kit), so each sampled part is brought to the level the mix expects of its track —
//! the level our synthesizers render at — by one gain, which keeps the part's own dynamics.
//! The level is a gated RMS: the mean power of the 50 ms blocks within 30 dB of the loudest,
//! so rests and tails do not count.

use resonantgen_core::TrackType;

/// Gated RMS (dBFS) each track's synthesizers render at, measured on the render bench's
/// parts; a sampled part is brought to it.
pub fn target_rms_db(track: TrackType) -> f32 {
    match track {
        TrackType::Drums => -17.0,
        TrackType::Bass => -16.0,
        TrackType::Harmony => -19.0,
        TrackType::Melody => -20.0,
    }
}

/// Gated RMS of an interleaved stereo buffer in dBFS (`None` for silence).
pub fn gated_rms_db(stereo: &[f32], sample_rate: u32) -> Option<f32> {
    let block = ((sample_rate as usize) / 20).max(1) * 2;
    let powers: Vec<f32> = stereo
        .chunks(block)
        .map(|c| c.iter().map(|s| s * s).sum::<f32>() / c.len() as f32)
        .collect();
    let loudest = powers.iter().copied().fold(0.0f32, f32::max);
    if loudest <= 1e-12 {
        return None;
    }
    let gate = loudest * 1e-3; // -30 dB
    let (sum, n) = powers
        .iter()
        .filter(|p| **p >= gate)
        .fold((0.0f32, 0usize), |(s, n), p| (s + p, n + 1));
    Some(10.0 * (sum / n.max(1) as f32).log10())
}

/// The gain that brings `stereo` to `target_db` gated RMS (1 for silence), within ±40 dB.
pub fn gain_to(stereo: &[f32], sample_rate: u32, target_db: f32) -> f32 {
    match gated_rms_db(stereo, sample_rate) {
        Some(db) => 10f32.powf(((target_db - db).clamp(-40.0, 40.0)) / 20.0),
        None => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brings_a_quiet_tone_to_the_target_and_ignores_rests() {
        let sr = 44_100;
        // one second of a -40 dBFS-RMS sine, then two seconds of silence
        let amp = 0.01 * 2f32.sqrt();
        let mut buf = Vec::new();
        for i in 0..sr {
            let s = amp * (i as f32 * 440.0 * std::f32::consts::TAU / sr as f32).sin();
            buf.extend([s, s]);
        }
        buf.extend(std::iter::repeat_n(0.0, 2 * 2 * sr as usize));
        let db = gated_rms_db(&buf, sr as u32).unwrap();
        assert!((db + 40.0).abs() < 0.2, "{db}");
        let g = gain_to(&buf, sr as u32, -20.0);
        assert!((20.0 * g.log10() - 20.0).abs() < 0.2, "{g}");
        assert_eq!(gain_to(&[0.0; 100], sr as u32, -20.0), 1.0);
    }
}
