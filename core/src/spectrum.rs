//! Frequency allocation: the spectral part of the Context Manager. Each track is given the
//! band it may occupy in the mix, from its idiom — an 808 owns the sub, a walking or slap bass
//! keeps its upper harmonics, pads and keys start above the bass, the lead above the chords.
//! The mix engine's per-stem EQ cuts each generated stem to its band, so the tracks stop
//! fighting for the same frequencies.

use crate::language::MusicalIntent;
use crate::language::genre::{BassStyle, HarmonyStyle};
use crate::track::TrackType;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A pass band in Hz (the EQ's high-pass and low-pass corners).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Band {
    pub low_hz: f32,
    pub high_hz: f32,
}

impl Band {
    pub const fn new(low_hz: f32, high_hz: f32) -> Self {
        Band { low_hz, high_hz }
    }
}

/// Bands per track (drums are full range and get none; their channels split it).
pub fn allocate(intent: &MusicalIntent) -> BTreeMap<TrackType, Band> {
    let bass = match intent.bass_style {
        BassStyle::Sub808 => Band::new(28.0, 400.0),
        BassStyle::Walking | BassStyle::Slap => Band::new(70.0, 3000.0),
        BassStyle::Offbeat | BassStyle::Rolling => Band::new(70.0, 1500.0),
        BassStyle::KickLocked | BassStyle::Octave => Band::new(80.0, 2000.0),
    };
    let harmony = match intent.harmony_style {
        HarmonyStyle::Pad => Band::new(160.0, 10_000.0),
        HarmonyStyle::Stabs => Band::new(200.0, 9_000.0),
        HarmonyStyle::Keys | HarmonyStyle::Montuno => Band::new(130.0, 8_000.0),
        HarmonyStyle::Power => Band::new(100.0, 8_000.0),
        HarmonyStyle::Strum | HarmonyStyle::Arpeggio => Band::new(100.0, 10_000.0),
        HarmonyStyle::Skank => Band::new(250.0, 8_000.0),
    };
    // A played bass (upright, electric, contrabass) keeps its harmonics: they are its sound.
    let bass = match intent.tracks.get(&TrackType::Bass) {
        Some(t) if t.instrument.sampled() => Band::new(bass.low_hz, bass.high_hz.max(3000.0)),
        _ => bass,
    };
    BTreeMap::from([
        (TrackType::Bass, bass),
        (TrackType::Harmony, harmony),
        (TrackType::Melody, Band::new(250.0, 14_000.0)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::language::{MusicalIntentExtractor, PromptParser};

    #[test]
    fn chords_start_above_the_bass_and_808s_own_the_sub() {
        let trap = allocate(&MusicalIntentExtractor::extract(&PromptParser::parse(
            "trap",
        )));
        assert!(trap[&TrackType::Bass].high_hz <= 400.0);
        for prompt in ["techno", "jazz", "trap", "lo-fi"] {
            let a = allocate(&MusicalIntentExtractor::extract(&PromptParser::parse(
                prompt,
            )));
            assert!(
                a[&TrackType::Harmony].low_hz > a[&TrackType::Bass].low_hz,
                "{prompt}"
            );
            assert!(
                a[&TrackType::Melody].low_hz >= a[&TrackType::Harmony].low_hz,
                "{prompt}"
            );
            assert!(a.values().all(|b| b.low_hz < b.high_hz));
        }
    }
}
