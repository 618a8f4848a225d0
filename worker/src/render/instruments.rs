//! Instrument choice: which voice plays each part, from the intent (the prompt's descriptors
//! and the genre's palette). Electronic genres get our synthesizers (808/909-style drums; sub,
//! reese, acid, FM, 808, pulse basses; pads, stabs, FM electric piano; pluck, saw, square,
//! bell leads); played genres get sampled instruments from the General MIDI SoundFont
//! (acoustic, brush and power kits; upright, fingered and slap bass; piano, organ, strings,
//! brass, guitars; flute), falling back to a synthesizer when no SoundFont is installed.

use super::sampler::Patch;
use resonantgen_shared::TrackType;
use resonantgen_shared::language::MusicalIntent;

#[derive(Debug, Clone, PartialEq)]
pub enum Instrument {
    /// One of our synthesizers; the string names the voice (e.g. "reese", "808").
    Synth(String),
    /// A SoundFont patch, with the name the response reports.
    Sampled { name: String, patch: Patch },
}

impl Instrument {
    pub fn name(&self) -> String {
        match self {
            Instrument::Synth(v) => format!("synth {v}"),
            Instrument::Sampled { name, .. } => format!("sampled {name}"),
        }
    }
}

const fn gm(program: u8, gain: f32) -> Patch {
    Patch {
        program,
        drums: false,
        gain,
    }
}

const fn kit(program: u8, gain: f32) -> Patch {
    Patch {
        program,
        drums: true,
        gain,
    }
}

/// The sampled patch a descriptor names, if any. Gains bring each patch to about the level
/// of the synthesizer it replaces (measured on FluidR3_GM).
fn sampled(track: TrackType, word: &str) -> Option<(&'static str, Patch)> {
    let w = word.to_ascii_lowercase();
    let has = |k: &str| w.contains(k);
    Some(match track {
        TrackType::Drums => {
            if has("brush") || has("jazz") {
                ("brush kit", kit(40, 7.6))
            } else if has("rock") || has("double kick") || has("power") {
                ("power kit", kit(16, 5.7))
            } else if has("acoustic")
                || has("live")
                || has("funk")
                || has("one drop")
                || has("soft")
                || has("dusty")
            {
                ("acoustic kit", kit(0, 10.0))
            } else {
                return None;
            }
        }
        TrackType::Bass => {
            if has("upright") || has("double") {
                ("upright bass", gm(32, 3.2))
            } else if has("slap") {
                ("slap bass", gm(36, 6.0))
            } else if has("electric") || has("dub") || has("finger") {
                ("electric bass", gm(33, 3.7))
            } else {
                return None;
            }
        }
        TrackType::Harmony => {
            if has("electric piano") {
                return None; // our FM electric piano
            } else if has("piano") {
                ("piano", gm(0, 3.6))
            } else if has("organ") {
                ("organ", gm(16, 1.4))
            } else if has("string") {
                ("strings", gm(48, 2.5))
            } else if has("brass") {
                ("brass", gm(61, 2.0))
            } else if has("nylon") {
                ("nylon guitar", gm(24, 2.5))
            } else if has("steel") || has("acoustic guitar") {
                ("steel guitar", gm(25, 2.5))
            } else if has("distorted guitar") {
                ("overdriven guitar", gm(29, 1.6))
            } else if has("clavinet") {
                ("clavinet", gm(7, 1.1))
            } else if has("guitar") || has("skank") {
                ("clean guitar", gm(27, 1.8))
            } else {
                return None;
            }
        }
        TrackType::Melody => {
            if has("flute") {
                ("flute", gm(73, 2.3))
            } else if has("piano") {
                ("piano", gm(0, 3.6))
            } else if has("trumpet") {
                ("trumpet", gm(56, 2.0))
            } else if has("sax") {
                ("saxophone", gm(65, 2.0))
            } else {
                return None;
            }
        }
    })
}

/// The instrument for `track` given the intent. `soundfont` says whether sampled
/// instruments can be played here.
pub fn choose(track: &TrackType, intent: &MusicalIntent, soundfont: bool) -> Instrument {
    let ti = intent.tracks.get(track);
    let instrument = ti.map(|t| t.instrument.as_str()).unwrap_or("");
    let descriptors = ti.map(|t| t.descriptors.clone()).unwrap_or_default();
    if soundfont {
        let words = descriptors.iter().map(String::as_str).chain([instrument]);
        for w in words {
            if let Some((name, patch)) = sampled(*track, w) {
                return Instrument::Sampled {
                    name: name.to_string(),
                    patch,
                };
            }
        }
    }
    let voice = match track {
        TrackType::Bass => match instrument {
            "808" => "808",
            "reese" => "reese",
            "acid" => "acid",
            "fm" => "fm",
            "sub" => "sub",
            "pulse" => "pulse",
            "wobble" => "wobble",
            _ => "subtractive",
        },
        TrackType::Drums => "drum machine",
        TrackType::Harmony | TrackType::Melody => "",
    };
    Instrument::Synth(if voice.is_empty() {
        instrument.to_string()
    } else {
        voice.to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use resonantgen_shared::language::{MusicalIntentExtractor, PromptParser};

    fn pick(prompt: &str, track: &str) -> Instrument {
        let intent = MusicalIntentExtractor::extract(&PromptParser::parse(prompt));
        choose(&TrackType::parse(track).unwrap(), &intent, true)
    }

    #[test]
    fn played_genres_get_sampled_instruments_and_electronic_ones_synths() {
        assert_eq!(pick("jazz trio", "drums").name(), "sampled brush kit");
        assert_eq!(pick("jazz trio", "bass").name(), "sampled upright bass");
        assert_eq!(pick("rock", "drums").name(), "sampled power kit");
        assert_eq!(
            pick("funk with slap bass", "bass").name(),
            "sampled slap bass"
        );
        assert_eq!(pick("bossa nova", "harmony").name(), "sampled nylon guitar");
        assert_eq!(pick("techno with acid bass", "bass").name(), "synth acid");
        assert_eq!(
            pick("drum and bass with reese", "bass").name(),
            "synth reese"
        );
        assert_eq!(pick("trap", "bass").name(), "synth 808");
        assert_eq!(pick("techno", "drums").name(), "synth drum machine");
        assert_eq!(
            pick("house with piano chords", "harmony").name(),
            "sampled piano"
        );
        assert_eq!(
            pick("cinematic with strings", "harmony").name(),
            "sampled strings"
        );
        // without a SoundFont, the synthesizers stand in
        let intent = MusicalIntentExtractor::extract(&PromptParser::parse("jazz trio"));
        let drums = choose(&TrackType::Drums, &intent, false);
        assert_eq!(drums.name(), "synth drum machine");
    }
}
