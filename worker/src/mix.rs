//! Mix engine (first version): per-track gain from the registry, master gain toward a
//! loudness target, and a look-ahead peak limiter with a -1 dBFS ceiling. Stems are written at
//! their in-mix level, so summing them gives the mix before the limiter.

use resonantgen_shared::TrackType;
use std::collections::{BTreeMap, VecDeque};

/// RMS the master aims for before limiting (dBFS).
pub const TARGET_RMS_DBFS: f32 = -15.0;
/// Limiter ceiling (dBFS).
pub const CEILING_DBFS: f32 = -1.0;

pub struct MixResult {
    /// Interleaved stereo master.
    pub mix: Vec<f32>,
    /// Each stem at its in-mix level (track gain × master gain), stereo interleaved.
    pub stems: BTreeMap<TrackType, Vec<f32>>,
    /// Drum channels at their in-mix level.
    pub channels: BTreeMap<String, Vec<f32>>,
    pub master_gain: f32,
}

fn db(x: f32) -> f32 {
    10f32.powf(x / 20.0)
}

/// Mixes stereo stems of equal length. `channels` are scaled like the drums stem.
pub fn mix(
    stems: BTreeMap<TrackType, Vec<f32>>,
    channels: BTreeMap<String, Vec<f32>>,
    locked: &BTreeMap<TrackType, bool>,
    frames: usize,
    sample_rate: u32,
) -> MixResult {
    let mut bus = vec![0.0f32; frames * 2];
    let mut track_gain = BTreeMap::new();
    for (track, data) in &stems {
        // Locked stems come in at unity: the user mixed them already.
        let g = if locked.get(track).copied().unwrap_or(false) {
            1.0
        } else {
            db(track.spec().gain_db)
        };
        track_gain.insert(track.clone(), g);
        for (b, s) in bus.iter_mut().zip(data) {
            *b += s * g;
        }
    }
    let rms = (bus.iter().map(|s| s * s).sum::<f32>() / bus.len().max(1) as f32).sqrt();
    let master_gain = if rms > 1e-6 {
        (db(TARGET_RMS_DBFS) / rms).min(db(24.0))
    } else {
        1.0
    };
    for s in bus.iter_mut() {
        *s *= master_gain;
    }
    limit(&mut bus, db(CEILING_DBFS), sample_rate);

    let drum_gain = track_gain
        .iter()
        .find(|(t, _)| t.as_str() == "drums")
        .map(|(_, g)| *g)
        .unwrap_or(1.0);
    let stems = stems
        .into_iter()
        .map(|(t, mut d)| {
            let g = track_gain.get(&t).copied().unwrap_or(1.0) * master_gain;
            d.iter_mut().for_each(|s| *s *= g);
            (t, d)
        })
        .collect();
    let channels = channels
        .into_iter()
        .map(|(c, mut d)| {
            d.iter_mut().for_each(|s| *s *= drum_gain * master_gain);
            (c, d)
        })
        .collect();
    MixResult {
        mix: bus,
        stems,
        channels,
        master_gain,
    }
}

/// Look-ahead peak limiter: the gain reaches its minimum before the peak arrives (5 ms
/// look-ahead via a sliding minimum) and recovers over ~80 ms; a final clamp guarantees the
/// ceiling.
pub fn limit(buf: &mut [f32], ceiling: f32, sample_rate: u32) {
    let frames = buf.len() / 2;
    let look = (0.005 * sample_rate as f32) as usize;
    let release = (-1.0 / (0.08 * sample_rate as f32)).exp();
    let attack = (-1.0 / (0.001 * sample_rate as f32)).exp();
    let target: Vec<f32> = (0..frames)
        .map(|i| {
            let peak = buf[i * 2].abs().max(buf[i * 2 + 1].abs());
            if peak > ceiling { ceiling / peak } else { 1.0 }
        })
        .collect();
    // Sliding minimum over [i, i + look] with a monotonic deque.
    let mut window: VecDeque<usize> = VecDeque::new();
    let mut g = 1.0f32;
    for i in 0..frames {
        let ahead = i + look;
        if ahead < frames {
            while window.back().is_some_and(|&j| target[j] >= target[ahead]) {
                window.pop_back();
            }
            window.push_back(ahead);
        }
        if i == 0 {
            for a in 0..look.min(frames) {
                while window.back().is_some_and(|&j| target[j] >= target[a]) {
                    window.pop_back();
                }
                window.push_back(a);
            }
            window.make_contiguous().sort_unstable();
        }
        while window.front().is_some_and(|&j| j < i) {
            window.pop_front();
        }
        let want = window.front().map(|&j| target[j]).unwrap_or(1.0);
        g = if want < g {
            want + (g - want) * attack
        } else {
            want + (g - want) * release
        };
        for c in 0..2 {
            let s = buf[i * 2 + c] * g;
            buf[i * 2 + c] = s.clamp(-ceiling, ceiling);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_holds_ceiling_and_passes_quiet_audio() {
        let sr = 44_100;
        let mut loud: Vec<f32> = (0..sr * 2)
            .map(|i| ((i / 2) as f32 * 0.05).sin() * 2.0)
            .collect();
        limit(&mut loud, db(-1.0), sr as u32);
        assert!(loud.iter().all(|s| s.abs() <= db(-1.0) + 1e-6));
        let quiet: Vec<f32> = (0..sr).map(|i| (i as f32 * 0.05).sin() * 0.1).collect();
        let mut q2 = quiet.clone();
        limit(&mut q2, db(-1.0), sr as u32);
        assert_eq!(quiet, q2);
    }

    #[test]
    fn stems_sum_to_the_premaster() {
        let frames = 1000;
        let a = TrackType::parse("bass").unwrap();
        let b = TrackType::parse("melody").unwrap();
        let sig = |f: f32| {
            (0..frames * 2)
                .map(|i| (i as f32 * f).sin() * 0.1)
                .collect::<Vec<_>>()
        };
        let stems = BTreeMap::from([(a.clone(), sig(0.01)), (b.clone(), sig(0.03))]);
        let r = mix(stems, BTreeMap::new(), &BTreeMap::new(), frames, 44_100);
        for i in 0..frames * 2 {
            let sum = r.stems[&a][i] + r.stems[&b][i];
            if sum.abs() < db(-1.0) * 0.9 {
                assert!((sum - r.mix[i]).abs() < 1e-4);
            }
        }
    }
}
