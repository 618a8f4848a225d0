//! MusicalIntentExtractor: turns what the prompt said (genre, moods, descriptors, processing
//! words) into concrete per-track parameters — pattern family, instrument, register, density,
//! swing, humanize amount, processing chain — the way a producer would set up a session.
//! "driving bass" becomes four-on-the-floor off-beats through distortion and compression.

use super::genre::{
    BassStyle, GenreProfile, HarmonyStyle, LeadStyle, default_genre, genre_by_name,
};
use super::parser::ParsedPrompt;
use crate::track::TrackType;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackIntent {
    /// Rhythm/idiom family ("house", "offbeat", "walking", "arpeggio", ...).
    pub pattern: String,
    /// Instrument or timbre ("909 kit", "808", "electric piano", "pluck", ...).
    pub instrument: String,
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
    pub tracks: BTreeMap<TrackType, TrackIntent>,
    /// Processors on the mix bus.
    pub mix_processing: Vec<String>,
}

/// The genre palette's bass instrument, when it names one the bass idiom can play.
fn palette_bass(genre: &GenreProfile, style: BassStyle) -> Option<String> {
    genre.palette.iter().find_map(|p| {
        let name = match *p {
            "upright bass" => "upright",
            "slap bass" => "slap",
            "808s" => "808",
            "reese bass" => "reese",
            "acid bass" => "acid",
            "sub bass" | "sub" => "sub",
            "pulse bass" => "pulse",
            "wobble bass" => "wobble",
            "electric bass" | "bass" | "dub bass" => "electric bass",
            _ => return None,
        };
        // an 808 line wants a sub or an 808, not a fingered bass
        (style != BassStyle::Sub808 || matches!(name, "808" | "sub" | "wobble"))
            .then(|| name.to_string())
    })
}

/// The genre palette's chord instrument, when it matches the comping style (a pad genre does
/// not get a guitar strum).
fn palette_harmony(genre: &GenreProfile, style: HarmonyStyle) -> Option<String> {
    genre.palette.iter().find_map(|p| {
        let fits = match style {
            HarmonyStyle::Pad => matches!(*p, "strings" | "analog pads" | "pads" | "supersaw"),
            HarmonyStyle::Stabs => matches!(
                *p,
                "strings"
                    | "organ stabs"
                    | "saw stabs"
                    | "stabs"
                    | "skank chords"
                    | "clavinet"
                    | "piano montuno"
                    | "guitar"
            ),
            HarmonyStyle::Keys => matches!(
                *p,
                "piano" | "electric piano" | "nylon guitar" | "steel guitar" | "guitar"
            ),
        };
        fits.then(|| p.to_string())
    })
}

/// Genres played by people on acoustic kits: looser timing.
const LIVE_GENRES: &[&str] = &[
    "hip hop",
    "lo-fi",
    "rock",
    "metal",
    "jazz",
    "bossa nova",
    "latin",
    "reggae",
    "funk",
    "r&b",
    "country",
    "trip hop",
    "afrobeat",
];

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
        let aggressive = parsed.moods.iter().any(|m| {
            matches!(
                m.as_str(),
                "aggressive" | "angry" | "hard" | "heavy" | "banging"
            )
        });
        let live = LIVE_GENRES.contains(&genre.name);
        let humanize = if live { 0.6 } else { 0.2 };

        // Drums.
        let breaks_already = matches!(genre.drum_style, "drum_and_bass" | "breakbeat" | "hip_hop");
        let drum_style = if has(TrackType::Drums, &["breaks"]) && !breaks_already {
            "breakbeat"
        } else if has(TrackType::Drums, &["four on the floor"])
            && !matches!(genre.bass_style, BassStyle::Offbeat)
        {
            "house"
        } else {
            genre.drum_style
        };
        let kit = genre
            .palette
            .iter()
            .find(|p| p.contains("kit") || p.contains("drums") || p.contains("breaks"))
            .copied()
            .unwrap_or("electronic kit");
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
        let bass_instrument = bass_d
            .iter()
            .find(|d| {
                !matches!(
                    d.as_str(),
                    "driving" | "rolling" | "walking" | "octave" | "funky"
                )
            })
            .cloned()
            .or_else(|| palette_bass(genre, bass_style))
            .unwrap_or_else(|| match bass_style {
                BassStyle::Sub808 => "808".into(),
                BassStyle::Walking => "upright".into(),
                BassStyle::Slap => "slap".into(),
                _ => "subtractive".into(),
            });
        let mut bass_processing = Vec::new();
        if has(TrackType::Bass, &["driving", "acid", "reese", "wobble"]) || aggressive {
            bass_processing.push("distortion".to_string());
        }
        bass_processing.push("compression".to_string());
        bass_processing.push("clipper".to_string());

        // Harmony.
        let harmony_style = if has(TrackType::Harmony, &["strings", "pad", "supersaw", "brass"]) {
            HarmonyStyle::Pad
        } else if has(TrackType::Harmony, &["stabs", "organ"]) {
            HarmonyStyle::Stabs
        } else if has(
            TrackType::Harmony,
            &[
                "piano",
                "electric piano",
                "guitar",
                "nylon guitar",
                "acoustic guitar",
                "steel guitar",
            ],
        ) {
            HarmonyStyle::Keys
        } else {
            genre.harmony_style
        };
        let harmony_instrument = descriptors(TrackType::Harmony)
            .first()
            .cloned()
            .or_else(|| palette_harmony(genre, harmony_style))
            .unwrap_or_else(|| {
                match harmony_style {
                    HarmonyStyle::Pad => "analog pad",
                    HarmonyStyle::Stabs => "saw stabs",
                    HarmonyStyle::Keys => "electric piano",
                }
                .into()
            });

        // Melody.
        let arpeggio = has(TrackType::Melody, &["arpeggio"]);
        let lead_style = if has(TrackType::Melody, &["bell", "flute"]) {
            LeadStyle::Bell
        } else if has(TrackType::Melody, &["pluck", "arpeggio"]) {
            LeadStyle::Pluck
        } else if has(TrackType::Melody, &["saw lead"]) {
            LeadStyle::Saw
        } else if has(TrackType::Melody, &["square"]) {
            LeadStyle::Square
        } else {
            genre.lead_style
        };

        let mut tracks = BTreeMap::new();
        let mut put = |track: TrackType, intent: TrackIntent| {
            tracks.insert(track, intent);
        };
        put(
            TrackType::Drums,
            TrackIntent {
                pattern: drum_style.to_string(),
                instrument: kit.to_string(),
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
                    "motif".into()
                },
                instrument: style_name(&lead_style),
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
            tracks,
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
