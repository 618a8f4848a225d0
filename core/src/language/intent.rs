//! MusicalIntentExtractor: turns what the prompt said (genre, moods, descriptors, processing
//! words) into concrete per-track parameters — pattern family, instrument, register, density,
//! swing, humanize amount, processing chain — the way a producer would set up a session.
//! "driving bass" becomes four-on-the-floor off-beats through distortion and compression.

use super::genre::{
    Balance, BassStyle, ChordColor, GenreProfile, HarmonyStyle, LeadStyle, Phrasing, default_genre,
    genre_by_name,
};
use super::parser::ParsedPrompt;
use crate::instrument::{Family, Instrument, Sound, SynthVoice};
use crate::track::TrackType;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackIntent {
    /// Rhythm/idiom family ("house", "offbeat", "walking", "arpeggio", ...).
    pub pattern: String,
    /// The instrument that plays it (the genre's palette unless a descriptor named another).
    pub instrument: Instrument,
    /// MIDI pitch range the part stays in.
    pub register: (u8, u8),
    /// 0..1: how busy the part is.
    pub density: f32,
    pub swing: f32,
    /// 0..1: timing and velocity looseness.
    pub humanize: f32,
    /// Processors for this track, in order.
    pub processing: Vec<String>,
    /// The prompt's descriptors that shaped it.
    pub descriptors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MusicalIntent {
    pub genre: String,
    pub energy: f32,
    /// Row of the drum model's genre vocabulary.
    pub drum_style: String,
    pub bass_style: BassStyle,
    pub harmony_style: HarmonyStyle,
    pub lead_style: LeadStyle,
    /// Which notes the chords carry beyond the triad.
    #[serde(default)]
    pub chord_color: ChordColor,
    /// How the lead phrases.
    #[serde(default)]
    pub phrasing: Phrasing,
    /// GM drum note the `perc` voice plays (side stick, clave, shaker, cowbell…).
    #[serde(default = "default_perc_note")]
    pub perc_note: u8,
    pub tracks: BTreeMap<TrackType, TrackIntent>,
    /// How the tracks sit against each other in the mix (the genre's).
    #[serde(default)]
    pub balance: Balance,
    /// Processors on the mix bus.
    pub mix_processing: Vec<String>,
}

fn default_perc_note() -> u8 {
    37
}

impl MusicalIntent {
    /// The instrument chosen for a track (the palette's when the intent has no entry).
    pub fn instrument(&self, track: TrackType) -> Instrument {
        self.tracks
            .get(&track)
            .map(|t| t.instrument)
            .unwrap_or_else(|| {
                genre_by_name(&self.genre)
                    .unwrap_or_else(default_genre)
                    .instrument(track)
            })
    }
}

/// Whether a comping idiom suits an instrument (a pad genre does not strum a piano; power
/// chords want a guitar).
fn fits(style: HarmonyStyle, instrument: Instrument) -> bool {
    use Family as F;
    let f = instrument.family();
    match style {
        HarmonyStyle::Pad => matches!(
            f,
            F::Strings | F::Choir | F::SynthPad | F::Organ | F::Brass | F::Folk
        ),
        HarmonyStyle::Stabs => matches!(
            f,
            F::SynthKeys
                | F::SynthPad
                | F::Brass
                | F::Organ
                | F::Strings
                | F::ElectricPiano
                | F::ElectricGuitar
                | F::AcousticGuitar
        ),
        HarmonyStyle::Keys => matches!(
            f,
            F::Piano
                | F::ElectricPiano
                | F::SynthKeys
                | F::Organ
                | F::AcousticGuitar
                | F::ElectricGuitar
                | F::Mallets
        ),
        HarmonyStyle::Power => matches!(f, F::DistortedGuitar | F::ElectricGuitar | F::Brass),
        HarmonyStyle::Strum => matches!(f, F::AcousticGuitar | F::ElectricGuitar | F::Folk),
        HarmonyStyle::Arpeggio => matches!(
            f,
            F::Piano
                | F::ElectricPiano
                | F::AcousticGuitar
                | F::ElectricGuitar
                | F::Strings
                | F::Mallets
                | F::Folk
        ),
        HarmonyStyle::Skank => matches!(
            f,
            F::ElectricGuitar | F::AcousticGuitar | F::Organ | F::Piano | F::ElectricPiano
        ),
        HarmonyStyle::Montuno => matches!(f, F::Piano | F::ElectricPiano | F::Mallets),
    }
}

/// The comping idiom an instrument plays when the genre's does not suit it.
fn natural_style(instrument: Instrument) -> HarmonyStyle {
    use Family as F;
    match instrument {
        Instrument::SawStabs | Instrument::Organ | Instrument::Clavinet => HarmonyStyle::Stabs,
        _ => match instrument.family() {
            F::DistortedGuitar => HarmonyStyle::Power,
            F::AcousticGuitar | F::Folk => HarmonyStyle::Strum,
            F::Strings | F::Choir | F::SynthPad | F::Brass | F::Organ => HarmonyStyle::Pad,
            _ => HarmonyStyle::Keys,
        },
    }
}

/// The synth lead timbre an instrument names (for the melody part's style), if it is one.
fn synth_lead(instrument: Instrument) -> Option<LeadStyle> {
    match instrument.spec().sound {
        Sound::Synth(SynthVoice::Pluck) => Some(LeadStyle::Pluck),
        Sound::Synth(SynthVoice::Saw) => Some(LeadStyle::Saw),
        Sound::Synth(SynthVoice::Square) => Some(LeadStyle::Square),
        Sound::Synth(SynthVoice::Bell) => Some(LeadStyle::Bell),
        _ => None,
    }
}

pub struct MusicalIntentExtractor;

impl MusicalIntentExtractor {
    pub fn extract(parsed: &ParsedPrompt) -> MusicalIntent {
        let genre: &GenreProfile = genre_by_name(&parsed.genre).unwrap_or_else(default_genre);
        let energy = parsed.energy;
        let descriptors = |track: TrackType| -> Vec<String> {
            parsed
                .instruments
                .iter()
                .filter(|d| d.track == track)
                .map(|d| d.descriptor.clone())
                .collect()
        };
        let has = |track: TrackType, words: &[&str]| {
            descriptors(track)
                .iter()
                .any(|d| words.contains(&d.as_str()))
        };
        // The first descriptor that names an instrument for the track, else the palette's.
        let chosen = |track: TrackType| -> Instrument {
            let palette = genre.instrument(track);
            descriptors(track)
                .iter()
                .find_map(|d| Instrument::for_descriptor(track, d, palette))
                .unwrap_or(palette)
        };
        let aggressive = parsed.moods.iter().any(|m| {
            matches!(
                m.as_str(),
                "aggressive" | "angry" | "hard" | "heavy" | "banging"
            )
        });
        let humanize = if genre.live { 0.6 } else { 0.2 };

        // Drums.
        let breaks_already = matches!(genre.drum_style, "drum_and_bass" | "breakbeat" | "hip_hop");
        let drum_style = if has(TrackType::Drums, &["breaks"]) && !breaks_already {
            "breakbeat"
        } else if has(TrackType::Drums, &["four on the floor"])
            && !matches!(genre.bass_style, BassStyle::Offbeat)
        {
            "house"
        } else if has(TrackType::Drums, &["double kick", "blast beats"]) {
            "metal"
        } else {
            genre.drum_style
        };
        let kit = chosen(TrackType::Drums);
        let mut drum_processing = vec!["compression".to_string(), "clipper".to_string()];
        if aggressive {
            drum_processing.push("saturation".into());
        }

        // Bass: descriptors override the genre's idiom.
        let bass_d = descriptors(TrackType::Bass);
        let bass_style = if has(TrackType::Bass, &["808", "sub", "wobble"]) {
            BassStyle::Sub808
        } else if has(TrackType::Bass, &["walking", "upright"]) {
            BassStyle::Walking
        } else if has(TrackType::Bass, &["driving"]) {
            BassStyle::Offbeat
        } else if has(TrackType::Bass, &["rolling"]) {
            BassStyle::Rolling
        } else if has(TrackType::Bass, &["slap", "funky"]) {
            BassStyle::Slap
        } else if has(TrackType::Bass, &["octave"]) {
            BassStyle::Octave
        } else {
            genre.bass_style
        };
        let mut bass_instrument = chosen(TrackType::Bass);
        if bass_instrument == genre.bass && bass_style != genre.bass_style {
            // An idiom asked for by name brings the instrument that plays it.
            bass_instrument = match (bass_style, bass_instrument.family()) {
                (BassStyle::Walking, Family::SynthBass) => Instrument::UprightBass,
                (BassStyle::Slap, _) => Instrument::SlapBass,
                (BassStyle::Sub808, Family::AcousticBass | Family::ElectricBass) => {
                    Instrument::Bass808
                }
                _ => bass_instrument,
            };
        }
        let mut bass_processing = Vec::new();
        if has(TrackType::Bass, &["driving", "acid", "reese", "wobble"]) || aggressive {
            bass_processing.push("distortion".to_string());
        }
        bass_processing.push("compression".to_string());
        bass_processing.push("clipper".to_string());

        // Harmony: the instrument first, then the idiom it plays.
        let harmony_instrument = chosen(TrackType::Harmony);
        let named_style = if has(TrackType::Harmony, &["power chords"]) {
            Some(HarmonyStyle::Power)
        } else if has(TrackType::Harmony, &["strummed"]) {
            Some(HarmonyStyle::Strum)
        } else if has(TrackType::Harmony, &["broken chords"]) {
            Some(HarmonyStyle::Arpeggio)
        } else if has(TrackType::Harmony, &["stabs"]) {
            Some(HarmonyStyle::Stabs)
        } else if has(TrackType::Harmony, &["pad"]) {
            Some(HarmonyStyle::Pad)
        } else {
            None
        };
        let harmony_style =
            named_style.unwrap_or(if fits(genre.harmony_style, harmony_instrument) {
                genre.harmony_style
            } else {
                natural_style(harmony_instrument)
            });
        let chord_color = if has(TrackType::Harmony, &["jazzy"]) {
            ChordColor::Ninth
        } else if harmony_style == HarmonyStyle::Power {
            ChordColor::RootFifth
        } else if genre.chord_color == ChordColor::RootFifth {
            ChordColor::Triad
        } else {
            genre.chord_color
        };

        // Melody.
        let arpeggio = has(TrackType::Melody, &["arpeggio"]);
        let lead_instrument = chosen(TrackType::Melody);
        let lead_style = synth_lead(lead_instrument).unwrap_or(genre.lead_style);

        let mut tracks = BTreeMap::new();
        let mut put = |track: TrackType, intent: TrackIntent| {
            tracks.insert(track, intent);
        };
        put(
            TrackType::Drums,
            TrackIntent {
                pattern: drum_style.to_string(),
                instrument: kit,
                register: (35, 81),
                density: energy,
                swing: genre.swing,
                humanize,
                processing: drum_processing,
                descriptors: descriptors(TrackType::Drums),
            },
        );
        put(
            TrackType::Bass,
            TrackIntent {
                pattern: style_name(&bass_style),
                instrument: bass_instrument,
                register: (28, 52),
                density: energy,
                swing: genre.swing,
                humanize: humanize * 0.5,
                processing: bass_processing,
                descriptors: bass_d,
            },
        );
        put(
            TrackType::Harmony,
            TrackIntent {
                pattern: style_name(&harmony_style),
                instrument: harmony_instrument,
                register: (48, 76),
                density: energy,
                swing: genre.swing,
                humanize: humanize * 0.5,
                processing: vec!["reverb".into()],
                descriptors: descriptors(TrackType::Harmony),
            },
        );
        put(
            TrackType::Melody,
            TrackIntent {
                pattern: if arpeggio {
                    "arpeggio".into()
                } else {
                    style_name(&genre.phrasing)
                },
                instrument: lead_instrument,
                register: (62, 86),
                density: energy,
                swing: genre.swing,
                humanize: humanize * 0.5,
                processing: vec!["delay".into()],
                descriptors: descriptors(TrackType::Melody),
            },
        );

        let mut mix_processing: Vec<String> =
            genre.processing.iter().map(|p| p.to_string()).collect();
        for p in &parsed.processing {
            if !mix_processing.contains(p) {
                mix_processing.push(p.clone());
            }
        }

        MusicalIntent {
            genre: genre.name.to_string(),
            energy,
            drum_style: drum_style.to_string(),
            bass_style,
            harmony_style,
            lead_style,
            chord_color,
            phrasing: genre.phrasing,
            perc_note: genre.perc_note,
            tracks,
            balance: genre.balance,
            mix_processing,
        }
    }
}

/// The serde name of a style enum, for the human-readable `pattern` fields.
fn style_name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::language::PromptParser;

    fn intent(p: &str) -> MusicalIntent {
        MusicalIntentExtractor::extract(&PromptParser::parse(p))
    }

    #[test]
    fn driving_bass_is_four_on_the_floor_and_distorted() {
        let i = intent("dark techno with driving bass at 128 bpm");
        assert_eq!(i.bass_style, BassStyle::Offbeat);
        let bass = &i.tracks[&TrackType::Bass];
        assert_eq!(bass.processing, ["distortion", "compression", "clipper"]);
        assert_eq!(bass.pattern, "offbeat");
    }

    #[test]
    fn descriptors_choose_idioms_and_instruments() {
        assert_eq!(intent("trap with 808s").bass_style, BassStyle::Sub808);
        assert_eq!(
            intent("jazz with walking bass").bass_style,
            BassStyle::Walking
        );
        assert_eq!(
            intent("house with strings").harmony_style,
            HarmonyStyle::Pad
        );
        assert_eq!(
            intent("techno with piano").harmony_style,
            HarmonyStyle::Keys
        );
        let arp = intent("trance with arpeggios");
        assert_eq!(arp.tracks[&TrackType::Melody].pattern, "arpeggio");
        assert_eq!(intent("jungle breaks").drum_style, "drum_and_bass");
        assert_eq!(
            intent("pop with four on the floor drums").drum_style,
            "house"
        );
    }

    #[test]
    fn live_genres_are_looser_and_processing_reaches_the_mix() {
        let jazz = intent("jazz");
        let techno = intent("techno");
        let d = TrackType::Drums;
        assert!(jazz.tracks[&d].humanize > techno.tracks[&d].humanize);
        assert!(
            intent("house, vinyl and wide")
                .mix_processing
                .contains(&"vinyl".to_string())
        );
    }
}
