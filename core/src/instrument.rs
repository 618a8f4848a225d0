//! Instruments: the closed set of voices a track can be played by, and one table of what each
//! is ([`Instrument::spec`]): the name a response reports, its family (what a producer would
//! call it), the track it plays, how it sounds (a General MIDI program or drum kit of the
//! SoundFont, or one of our synthesizers), the GM program its MIDI file carries, and the
//! synthesizer that stands in when no SoundFont is installed.
//!
//! Genre palettes (`language::genre`) name one instrument per track; prompt descriptors
//! ("upright bass", "tenor sax") override them through [`Instrument::for_descriptor`].

use crate::track::TrackType;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a producer would call the instrument: the unit the genre tests assert on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Sampled acoustic drum kit (standard, room, power, jazz, brush).
    AcousticKit,
    /// Orchestral percussion: timpani, concert bass drum, cymbals.
    OrchestralPercussion,
    /// Drum machine: our synthesized 909/808 voices, or the SoundFont's electronic kits.
    DrumMachine,
    AcousticBass,
    ElectricBass,
    SynthBass,
    Piano,
    ElectricPiano,
    Organ,
    AcousticGuitar,
    ElectricGuitar,
    DistortedGuitar,
    Strings,
    Brass,
    Reed,
    Woodwind,
    Mallets,
    Choir,
    SynthPad,
    SynthKeys,
    SynthLead,
    /// Banjo, harmonica, accordion, fiddle, steel drums, kalimba: the folk and world voices.
    Folk,
}

/// Our synthesizers (worker/src/render/synth.rs and drums.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SynthVoice {
    /// Punchy 909-style machine: four-on-the-floor kick with boom, bright hats.
    Machine909,
    /// 808-style machine: tight clicky kick that leaves the low end to the 808 bass.
    Machine808,
    /// Breakbeat kit: tight kick, crisp snare, for jungle and breaks.
    MachineBreaks,
    Sub,
    Reese,
    Acid,
    FmBass,
    Bass808,
    Pulse,
    Wobble,
    /// Subtractive saw bass.
    Analog,
    Pad,
    Supersaw,
    Stabs,
    FmPiano,
    Pluck,
    Saw,
    Square,
    Bell,
}

/// How an instrument sounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sound {
    /// A General MIDI drum kit of the SoundFont (bank 128, this program), on channel 10.
    Kit(u8),
    /// A General MIDI melodic program (bank 0).
    Program(u8),
    /// A GM2 variation of a program (bank 8: Hawaiian guitar for the pedal steel).
    Variation(u8),
    /// One of our synthesizers.
    Synth(SynthVoice),
}

/// What the system knows about one instrument.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InstrumentSpec {
    pub name: &'static str,
    pub family: Family,
    pub track: TrackType,
    pub sound: Sound,
    /// The GM program its MIDI file carries (the kit program for drums).
    pub gm_program: u8,
    /// The synthesizer that plays it when no SoundFont is installed.
    pub fallback: SynthVoice,
}

macro_rules! instruments {
    ($($variant:ident => $name:literal, $family:ident, $track:ident, $sound:expr, gm $gm:literal, $fallback:ident;)+) => {
        /// An instrument. Serialized as its name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub enum Instrument { $($variant),+ }

        impl Instrument {
            /// Every instrument, in table order.
            pub const ALL: &'static [Instrument] = &[$(Instrument::$variant),+];

            /// The instrument's facts: the one table of them.
            pub const fn spec(self) -> &'static InstrumentSpec {
                match self {
                    $(Instrument::$variant => &InstrumentSpec {
                        name: $name,
                        family: Family::$family,
                        track: TrackType::$track,
                        sound: $sound,
                        gm_program: $gm,
                        fallback: SynthVoice::$fallback,
                    }),+
                }
            }
        }
    };
}

use Sound::{Kit, Program, Synth, Variation};
use SynthVoice as V;

instruments! {
    // Drum kits (GM2 kit programs, present in MuseScore General and FluidR3).
    StandardKit => "standard kit", AcousticKit, Drums, Kit(0), gm 0, Machine909;
    RoomKit => "room kit", AcousticKit, Drums, Kit(8), gm 8, Machine909;
    PowerKit => "power kit", AcousticKit, Drums, Kit(16), gm 16, Machine909;
    JazzKit => "jazz kit", AcousticKit, Drums, Kit(32), gm 32, Machine909;
    BrushKit => "brush kit", AcousticKit, Drums, Kit(40), gm 40, Machine909;
    OrchestraKit => "orchestral percussion", OrchestralPercussion, Drums, Kit(48), gm 48, Machine909;
    ElectronicKit => "electronic kit", DrumMachine, Drums, Kit(24), gm 24, Machine909;
    Tr808Kit => "TR-808 kit", DrumMachine, Drums, Kit(25), gm 25, Machine808;
    Machine909 => "909 drum machine", DrumMachine, Drums, Synth(V::Machine909), gm 24, Machine909;
    Machine808 => "808 drum machine", DrumMachine, Drums, Synth(V::Machine808), gm 25, Machine808;
    BreakbeatKit => "breakbeat kit", DrumMachine, Drums, Synth(V::MachineBreaks), gm 24, MachineBreaks;
    // Basses.
    UprightBass => "upright bass", AcousticBass, Bass, Program(32), gm 32, Sub;
    FingeredBass => "electric bass", ElectricBass, Bass, Program(33), gm 33, Analog;
    PickedBass => "picked bass", ElectricBass, Bass, Program(34), gm 34, Analog;
    FretlessBass => "fretless bass", ElectricBass, Bass, Program(35), gm 35, Sub;
    SlapBass => "slap bass", ElectricBass, Bass, Program(36), gm 36, Analog;
    Contrabass => "contrabass", Strings, Bass, Program(43), gm 43, Sub;
    Tuba => "tuba", Brass, Bass, Program(58), gm 58, Sub;
    SubBass => "sub bass", SynthBass, Bass, Synth(V::Sub), gm 38, Sub;
    ReeseBass => "reese bass", SynthBass, Bass, Synth(V::Reese), gm 39, Reese;
    AcidBass => "acid bass", SynthBass, Bass, Synth(V::Acid), gm 38, Acid;
    FmBass => "fm bass", SynthBass, Bass, Synth(V::FmBass), gm 39, FmBass;
    Bass808 => "808 bass", SynthBass, Bass, Synth(V::Bass808), gm 38, Bass808;
    PulseBass => "pulse bass", SynthBass, Bass, Synth(V::Pulse), gm 38, Pulse;
    WobbleBass => "wobble bass", SynthBass, Bass, Synth(V::Wobble), gm 39, Wobble;
    AnalogBass => "analog bass", SynthBass, Bass, Synth(V::Analog), gm 38, Analog;
    // Chords.
    Piano => "piano", Piano, Harmony, Program(0), gm 0, FmPiano;
    ElectricPiano => "electric piano", ElectricPiano, Harmony, Program(4), gm 4, FmPiano;
    Organ => "organ", Organ, Harmony, Program(16), gm 16, Pad;
    RockOrgan => "rock organ", Organ, Harmony, Program(18), gm 18, Pad;
    ChurchOrgan => "church organ", Organ, Harmony, Program(19), gm 19, Pad;
    Clavinet => "clavinet", ElectricPiano, Harmony, Program(7), gm 7, Stabs;
    NylonGuitar => "nylon guitar", AcousticGuitar, Harmony, Program(24), gm 24, Pluck;
    SteelGuitar => "steel-string guitar", AcousticGuitar, Harmony, Program(25), gm 25, Pluck;
    Banjo => "banjo", Folk, Harmony, Program(105), gm 105, Pluck;
    JazzGuitar => "jazz guitar", ElectricGuitar, Harmony, Program(26), gm 26, FmPiano;
    CleanGuitar => "clean electric guitar", ElectricGuitar, Harmony, Program(27), gm 27, Pluck;
    MutedGuitar => "muted guitar", ElectricGuitar, Harmony, Program(28), gm 28, Pluck;
    OverdriveGuitar => "overdriven guitar", DistortedGuitar, Harmony, Program(29), gm 29, Saw;
    DistortionGuitar => "distorted guitar", DistortedGuitar, Harmony, Program(30), gm 30, Saw;
    Strings => "strings", Strings, Harmony, Program(48), gm 48, Pad;
    SlowStrings => "slow strings", Strings, Harmony, Program(49), gm 49, Pad;
    BrassSection => "brass section", Brass, Harmony, Program(61), gm 61, Stabs;
    Choir => "choir", Choir, Harmony, Program(52), gm 52, Pad;
    Harp => "harp", Strings, Harmony, Program(46), gm 46, Pluck;
    Accordion => "accordion", Folk, Harmony, Program(21), gm 21, Pad;
    Marimba => "marimba", Mallets, Harmony, Program(12), gm 12, Pluck;
    SynthPad => "analog pad", SynthPad, Harmony, Synth(V::Pad), gm 89, Pad;
    SupersawPad => "supersaw", SynthPad, Harmony, Synth(V::Supersaw), gm 90, Supersaw;
    SawStabs => "saw stabs", SynthKeys, Harmony, Synth(V::Stabs), gm 81, Stabs;
    FmKeys => "fm electric piano", SynthKeys, Harmony, Synth(V::FmPiano), gm 5, FmPiano;
    // Leads.
    TenorSax => "tenor sax", Reed, Melody, Program(66), gm 66, Saw;
    AltoSax => "alto sax", Reed, Melody, Program(65), gm 65, Saw;
    Trumpet => "trumpet", Brass, Melody, Program(56), gm 56, Saw;
    MutedTrumpet => "muted trumpet", Brass, Melody, Program(59), gm 59, Square;
    Trombone => "trombone", Brass, Melody, Program(57), gm 57, Saw;
    FrenchHorn => "french horn", Brass, Melody, Program(60), gm 60, Saw;
    Clarinet => "clarinet", Reed, Melody, Program(71), gm 71, Square;
    Flute => "flute", Woodwind, Melody, Program(73), gm 73, Bell;
    PanFlute => "pan flute", Woodwind, Melody, Program(75), gm 75, Bell;
    Violin => "violin", Strings, Melody, Program(40), gm 40, Saw;
    Cello => "cello", Strings, Melody, Program(42), gm 42, Saw;
    Fiddle => "fiddle", Folk, Melody, Program(110), gm 110, Saw;
    Harmonica => "harmonica", Folk, Melody, Program(22), gm 22, Square;
    PedalSteel => "pedal steel", ElectricGuitar, Melody, Variation(26), gm 26, Saw;
    LeadGuitar => "lead guitar", DistortedGuitar, Melody, Program(29), gm 29, Saw;
    ShredGuitar => "distorted lead guitar", DistortedGuitar, Melody, Program(30), gm 30, Saw;
    CleanLead => "clean guitar lead", ElectricGuitar, Melody, Program(27), gm 27, Pluck;
    NylonLead => "nylon guitar lead", AcousticGuitar, Melody, Program(24), gm 24, Pluck;
    PianoLead => "piano lead", Piano, Melody, Program(0), gm 0, Bell;
    RhodesLead => "electric piano lead", ElectricPiano, Melody, Program(4), gm 4, Bell;
    OrganLead => "organ lead", Organ, Melody, Program(17), gm 17, Square;
    Vibraphone => "vibraphone", Mallets, Melody, Program(11), gm 11, Bell;
    Glockenspiel => "glockenspiel", Mallets, Melody, Program(9), gm 9, Bell;
    Kalimba => "kalimba", Folk, Melody, Program(108), gm 108, Bell;
    SteelDrums => "steel drums", Folk, Melody, Program(114), gm 114, Bell;
    Koto => "koto", Folk, Melody, Program(107), gm 107, Pluck;
    SynthPluck => "pluck", SynthLead, Melody, Synth(V::Pluck), gm 84, Pluck;
    SawLead => "saw lead", SynthLead, Melody, Synth(V::Saw), gm 81, Saw;
    SquareLead => "square lead", SynthLead, Melody, Synth(V::Square), gm 80, Square;
    SynthBell => "bell", SynthLead, Melody, Synth(V::Bell), gm 98, Bell;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown instrument '{0}'")]
pub struct UnknownInstrument(pub String);

/// Names responses written before the instrument table used, so stored responses still read.
const LEGACY_NAMES: &[(&str, Instrument)] = &[
    ("909 kit", Instrument::Machine909),
    ("electronic kit", Instrument::Machine909),
    ("808", Instrument::Bass808),
    ("reese", Instrument::ReeseBass),
    ("acid", Instrument::AcidBass),
    ("sub", Instrument::SubBass),
    ("fm", Instrument::FmBass),
    ("pulse", Instrument::PulseBass),
    ("wobble", Instrument::WobbleBass),
    ("subtractive", Instrument::AnalogBass),
    ("upright", Instrument::UprightBass),
    ("slap", Instrument::SlapBass),
    ("saw", Instrument::SawLead),
    ("square", Instrument::SquareLead),
];

impl Instrument {
    pub const fn name(self) -> &'static str {
        self.spec().name
    }

    pub const fn family(self) -> Family {
        self.spec().family
    }

    pub const fn track(self) -> TrackType {
        self.spec().track
    }

    /// Whether it is played from the SoundFont (else by our synthesizers).
    pub const fn sampled(self) -> bool {
        !matches!(self.spec().sound, Sound::Synth(_))
    }

    pub fn parse(name: &str) -> Result<Self, UnknownInstrument> {
        let n = name.trim().to_ascii_lowercase();
        Instrument::ALL
            .iter()
            .copied()
            .find(|i| i.name().eq_ignore_ascii_case(&n))
            .or_else(|| LEGACY_NAMES.iter().find(|(l, _)| *l == n).map(|(_, i)| *i))
            .ok_or_else(|| UnknownInstrument(name.to_string()))
    }

    /// The instrument a prompt descriptor names for `track` (`language::vocabulary`'s
    /// canonical descriptors), if it names one. `palette` is the genre's choice, kept when the
    /// descriptor only narrows it ("guitar" in a metal prompt stays distorted).
    pub fn for_descriptor(track: TrackType, descriptor: &str, palette: Instrument) -> Option<Self> {
        use Instrument::*;
        let i = match (track, descriptor) {
            (TrackType::Drums, "brushes") => BrushKit,
            (TrackType::Drums, "live kit") => {
                if palette.family() == Family::AcousticKit {
                    palette
                } else {
                    StandardKit
                }
            }
            (TrackType::Drums, "909 kit") => Machine909,
            (TrackType::Drums, "808 kit") => Machine808,
            (TrackType::Drums, "drum machine") => {
                if palette.family() == Family::DrumMachine {
                    palette
                } else {
                    Machine909
                }
            }
            (TrackType::Drums, "timpani") => OrchestraKit,
            (TrackType::Bass, "808") => Bass808,
            (TrackType::Bass, "reese") => ReeseBass,
            (TrackType::Bass, "acid") => AcidBass,
            (TrackType::Bass, "slap") => SlapBass,
            (TrackType::Bass, "upright") => UprightBass,
            (TrackType::Bass, "sub") => SubBass,
            (TrackType::Bass, "wobble") => WobbleBass,
            (TrackType::Bass, "fm") => FmBass,
            (TrackType::Bass, "electric bass") => FingeredBass,
            (TrackType::Bass, "fretless") => FretlessBass,
            (TrackType::Bass, "synth bass") => AnalogBass,
            (TrackType::Bass, "tuba") => Tuba,
            (TrackType::Harmony, "electric piano") => ElectricPiano,
            (TrackType::Harmony, "piano") => Piano,
            (TrackType::Harmony, "organ") => match palette {
                RockOrgan | ChurchOrgan | Organ => palette,
                _ => Organ,
            },
            (TrackType::Harmony, "church organ") => ChurchOrgan,
            (TrackType::Harmony, "strings") => match palette {
                SlowStrings | Strings => palette,
                _ => Strings,
            },
            (TrackType::Harmony, "supersaw") => SupersawPad,
            (TrackType::Harmony, "pad") => SynthPad,
            (TrackType::Harmony, "stabs") => {
                if palette.sampled() {
                    return None; // "piano stabs": the rhythm, not the sound
                }
                SawStabs
            }
            (TrackType::Harmony, "nylon guitar") => NylonGuitar,
            (TrackType::Harmony, "acoustic guitar") => SteelGuitar,
            (TrackType::Harmony, "steel guitar") => SteelGuitar,
            (TrackType::Harmony, "distorted guitar") => DistortionGuitar,
            (TrackType::Harmony, "guitar") => match palette.family() {
                Family::AcousticGuitar | Family::ElectricGuitar | Family::DistortedGuitar => {
                    palette
                }
                _ => CleanGuitar,
            },
            (TrackType::Harmony, "brass") => BrassSection,
            (TrackType::Harmony, "choir") => Choir,
            (TrackType::Harmony, "harp") => Harp,
            (TrackType::Harmony, "clavinet") => Clavinet,
            (TrackType::Harmony, "banjo") => Banjo,
            (TrackType::Harmony, "accordion") => Accordion,
            (TrackType::Harmony, "marimba") => Marimba,
            (TrackType::Melody, "pluck") => SynthPluck,
            (TrackType::Melody, "bell") => SynthBell,
            (TrackType::Melody, "saw lead") => SawLead,
            (TrackType::Melody, "square") => SquareLead,
            (TrackType::Melody, "flute") => Flute,
            (TrackType::Melody, "sax") => match palette {
                AltoSax | TenorSax => palette,
                _ => TenorSax,
            },
            (TrackType::Melody, "alto sax") => AltoSax,
            (TrackType::Melody, "trumpet") => Trumpet,
            (TrackType::Melody, "trombone") => Trombone,
            (TrackType::Melody, "horn") => FrenchHorn,
            (TrackType::Melody, "clarinet") => Clarinet,
            (TrackType::Melody, "violin") => Violin,
            (TrackType::Melody, "cello") => Cello,
            (TrackType::Melody, "fiddle") => Fiddle,
            (TrackType::Melody, "harmonica") => Harmonica,
            (TrackType::Melody, "pedal steel") => PedalSteel,
            (TrackType::Melody, "lead guitar") => match palette {
                ShredGuitar | LeadGuitar | CleanLead | NylonLead => palette,
                _ => LeadGuitar,
            },
            (TrackType::Melody, "vibraphone") => Vibraphone,
            (TrackType::Melody, "glockenspiel") => Glockenspiel,
            (TrackType::Melody, "kalimba") => Kalimba,
            (TrackType::Melody, "steel drums") => SteelDrums,
            (TrackType::Melody, "koto") => Koto,
            (TrackType::Melody, "piano") => PianoLead,
            (TrackType::Melody, "synth") => SawLead,
            _ => return None,
        };
        debug_assert_eq!(i.track(), track, "{descriptor}");
        Some(i)
    }
}

impl fmt::Display for Instrument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl TryFrom<String> for Instrument {
    type Error = UnknownInstrument;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Instrument::parse(&s)
    }
}

impl From<Instrument> for String {
    fn from(i: Instrument) -> String {
        i.name().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        let mut names: Vec<&str> = Instrument::ALL.iter().map(|i| i.name()).collect();
        names.sort();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "an instrument name is used twice");
        for i in Instrument::ALL {
            assert_eq!(Instrument::parse(i.name()), Ok(*i));
            let json = serde_json::to_string(i).unwrap();
            assert_eq!(serde_json::from_str::<Instrument>(&json).unwrap(), *i);
        }
        assert_eq!(Instrument::parse("909 kit"), Ok(Instrument::Machine909));
        assert!(Instrument::parse("theremin").is_err());
    }

    #[test]
    fn sampled_drums_are_kits_and_fallbacks_fit_the_track() {
        for i in Instrument::ALL {
            let s = i.spec();
            match s.sound {
                Sound::Kit(_) => assert_eq!(s.track, TrackType::Drums, "{}", s.name),
                Sound::Program(_) | Sound::Variation(_) => {
                    assert_ne!(s.track, TrackType::Drums, "{}", s.name)
                }
                Sound::Synth(_) => {}
            }
            let drum_voice = matches!(
                s.fallback,
                SynthVoice::Machine909 | SynthVoice::Machine808 | SynthVoice::MachineBreaks
            );
            assert_eq!(drum_voice, s.track == TrackType::Drums, "{}", s.name);
            if let Sound::Program(p) | Sound::Variation(p) = s.sound {
                assert_eq!(p, s.gm_program, "{}: MIDI carries what renders", s.name);
            }
        }
    }
}
