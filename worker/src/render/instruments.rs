//! Instrument resolution: how the instrument the intent chose (`shared::instrument`, from the
//! genre's palette and the prompt's descriptors) is played here — a General MIDI program or
//! drum kit of the SoundFont, or one of our synthesizers. A sampled instrument with no
//! SoundFont installed is played by the synthesizer its table row names, and the response
//! says so.

use super::sampler::Patch;
use resonantgen_core::TrackType;
use resonantgen_core::instrument::{Instrument, Sound, SynthVoice};
use resonantgen_core::language::MusicalIntent;

/// How a part is played.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Played {
    /// From the SoundFont.
    Sampled {
        instrument: Instrument,
        patch: Patch,
    },
    /// By one of our synthesizers; `standing_in` when it replaces a sampled instrument for
    /// want of a SoundFont.
    Synth {
        instrument: Instrument,
        voice: SynthVoice,
        standing_in: bool,
    },
}

impl Played {
    /// What played it, for the response ("sampled tenor sax", "synth acid bass").
    pub fn name(&self) -> String {
        match self {
            Played::Sampled { instrument, .. } => format!("sampled {instrument}"),
            Played::Synth {
                instrument,
                standing_in: false,
                ..
            } => format!("synth {instrument}"),
            Played::Synth {
                instrument, voice, ..
            } => format!(
                "synth {} standing in for {instrument} (no SoundFont installed)",
                voice_name(*voice)
            ),
        }
    }

    pub fn instrument(&self) -> Instrument {
        match self {
            Played::Sampled { instrument, .. } | Played::Synth { instrument, .. } => *instrument,
        }
    }

    /// The synthesizer voice, when a synthesizer plays it.
    pub fn synth_voice(&self) -> Option<SynthVoice> {
        match self {
            Played::Synth { voice, .. } => Some(*voice),
            Played::Sampled { .. } => None,
        }
    }
}

/// The name of a synthesizer voice: that of the instrument it is in the table.
fn voice_name(v: SynthVoice) -> &'static str {
    Instrument::ALL
        .iter()
        .find(|i| i.spec().sound == Sound::Synth(v))
        .map_or("synthesizer", |i| i.name())
}

/// How `instrument` is played here; `soundfont` says whether a SoundFont is installed.
pub fn resolve(instrument: Instrument, soundfont: bool) -> Played {
    let spec = instrument.spec();
    let patch = match spec.sound {
        Sound::Synth(voice) => {
            return Played::Synth {
                instrument,
                voice,
                standing_in: false,
            };
        }
        Sound::Kit(program) => Patch {
            bank: 128,
            program,
            drums: true,
        },
        Sound::Program(program) => Patch {
            bank: 0,
            program,
            drums: false,
        },
        Sound::Variation(program) => Patch {
            bank: 8,
            program,
            drums: false,
        },
    };
    if soundfont {
        Played::Sampled { instrument, patch }
    } else {
        Played::Synth {
            instrument,
            voice: spec.fallback,
            standing_in: true,
        }
    }
}

/// How the intent's instrument for `track` is played here.
pub fn choose(track: TrackType, intent: &MusicalIntent, soundfont: bool) -> Played {
    resolve(intent.instrument(track), soundfont)
}

#[cfg(test)]
mod tests {
    use super::*;
    use resonantgen_core::language::{MusicalIntentExtractor, PromptParser};

    fn pick(prompt: &str, track: TrackType) -> String {
        let intent = MusicalIntentExtractor::extract(&PromptParser::parse(prompt));
        choose(track, &intent, true).name()
    }

    #[test]
    fn played_genres_get_sampled_instruments_and_electronic_ones_synths() {
        use TrackType::*;
        assert_eq!(pick("jazz trio", Drums), "sampled jazz kit");
        assert_eq!(pick("jazz trio", Bass), "sampled upright bass");
        assert_eq!(pick("jazz trio", Melody), "sampled tenor sax");
        assert_eq!(pick("jazz with brushes", Drums), "sampled brush kit");
        assert_eq!(pick("metal", Drums), "sampled power kit");
        assert_eq!(pick("metal", Harmony), "sampled distorted guitar");
        assert_eq!(pick("funk with slap bass", Bass), "sampled slap bass");
        assert_eq!(pick("bossa nova", Harmony), "sampled nylon guitar");
        assert_eq!(pick("techno with acid bass", Bass), "synth acid bass");
        assert_eq!(pick("drum and bass with reese", Bass), "synth reese bass");
        assert_eq!(pick("trap", Bass), "synth 808 bass");
        assert_eq!(pick("techno", Drums), "synth 909 drum machine");
        assert_eq!(pick("trap", Drums), "synth 808 drum machine");
        assert_eq!(pick("house with piano chords", Harmony), "sampled piano");
        assert_eq!(
            pick("cinematic with strings", Harmony),
            "sampled slow strings"
        );
        // without a SoundFont, the synthesizers stand in and say so
        let intent = MusicalIntentExtractor::extract(&PromptParser::parse("jazz trio"));
        let drums = choose(Drums, &intent, false);
        assert_eq!(
            drums.name(),
            "synth 909 drum machine standing in for jazz kit (no SoundFont installed)"
        );
    }
}
