//! Genre profiles: the defaults a producer would pick for a genre — tempo, swing, mode, the
//! drum pattern family, the bass, comping and lead idioms, the chord colour and progression,
//! and the palette: one instrument per track (`instrument.rs`), so a jazz prompt gets a ride
//! kit, an upright bass, piano comping and a tenor sax, and a techno prompt our 909 and acid.

use crate::context::SwingUnit;
use crate::instrument::Instrument;
use crate::theory::Mode;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GenreProfile {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    /// (min, default, max) in bpm.
    pub tempo: (f64, f64, f64),
    /// 0 = straight, 1 = full triplet swing of the off-beats `swing_unit` names.
    pub swing: f32,
    /// Swung 16ths (house, hip hop) or swung 8ths (jazz, blues shuffle).
    pub swing_unit: SwingUnit,
    /// Typical modes, the default first.
    pub modes: &'static [Mode],
    /// Default tonic pitch class when the prompt names no key.
    pub tonic: u8,
    /// Genre row of the drum model's conditioning vector (its pattern family).
    pub drum_style: &'static str,
    pub bass_style: BassStyle,
    pub harmony_style: HarmonyStyle,
    pub lead_style: LeadStyle,
    /// How the lead phrases (hooks, riffs, bebop lines, singable phrases).
    pub phrasing: Phrasing,
    /// Chord progression as 0-based scale degrees, one chord per bar.
    pub progression: &'static [usize],
    /// The progression is the genre's form (12-bar blues, ii–V–I) and is played as written,
    /// not sampled from the harmony model.
    pub fixed_form: bool,
    /// Which notes the chords carry beyond the triad.
    pub chord_color: ChordColor,
    /// Row of the harmony model's style families (models/harmony/manifest.json).
    pub harmony_family: &'static str,
    pub energy: f32,
    /// Played by people: looser timing, velocity, a kit that drags a little.
    pub live: bool,
    /// How the tracks sit against each other in the mix.
    pub balance: Balance,
    /// The palette: the drum kit and the instrument of every pitched track.
    pub kit: Instrument,
    pub bass: Instrument,
    pub harmony: Instrument,
    pub lead: Instrument,
    /// GM drum note of the drum model's `perc` voice: side stick, clave, conga, shaker, cowbell.
    pub perc_note: u8,
    /// Processing the genre usually gets.
    pub processing: &'static [&'static str],
}

impl GenreProfile {
    /// The genre's default mode.
    pub fn mode(&self) -> Mode {
        self.modes.first().copied().unwrap_or(Mode::Minor)
    }

    /// The palette's instrument for a track.
    pub fn instrument(&self, track: crate::TrackType) -> Instrument {
        match track {
            crate::TrackType::Drums => self.kit,
            crate::TrackType::Bass => self.bass,
            crate::TrackType::Harmony => self.harmony,
            crate::TrackType::Melody => self.lead,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BassStyle {
    /// Bass on the off-beat 8ths between four-on-the-floor kicks.
    Offbeat,
    /// Rolling 16ths on the root.
    Rolling,
    /// Long sub notes that follow the kick.
    Sub808,
    /// Root notes that follow the kick pattern.
    KickLocked,
    /// Octave-jumping disco/funk line.
    Octave,
    /// Quarter-note walking line through chord and passing tones.
    Walking,
    /// Funk slap: thumbed roots on the kick, popped octaves on the off-16ths, ghost notes.
    Slap,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HarmonyStyle {
    /// Sustained detuned-saw pad, one chord per bar.
    Pad,
    /// Short off-beat chord stabs.
    Stabs,
    /// Keys comping: syncopated chords, two patterns alternating.
    Keys,
    /// Power chords (root, fifth, octave) in driving eighths: rock, punk, metal.
    Power,
    /// Guitar strumming: down-up eighths, accents on the beat, the chord rolled.
    Strum,
    /// Broken chords, one note at a time: ballad piano, fingerpicked folk, harp.
    Arpeggio,
    /// Off-beat chops: reggae on 2 and 4, ska on every off-beat eighth.
    Skank,
    /// Latin piano montuno: a syncopated two-bar figure in octaves.
    Montuno,
}

/// The notes chords carry beyond the triad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChordColor {
    #[default]
    Triad,
    /// Diatonic sevenths (maj7, m7, 7, m7b5): jazz, bossa, lo-fi, r&b, soul.
    Seventh,
    /// Sevenths plus the ninth: neo-soul, lo-fi, deep house.
    Ninth,
    /// Every major chord a dominant seventh: the blues.
    Dominant,
    /// Root and fifth only (the power chord), doubled at the octave.
    RootFifth,
    /// The third replaced by the second: trance and progressive sus chords.
    Sus2,
    /// The triad plus the ninth: pop, future bass.
    Add9,
}

/// How the tracks sit against each other in the mix: club music puts kick and bass in
/// front and the lead on top as a colour; a band or a jazz combo puts the tune in front.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Balance {
    /// Kick and bass up front, the lead a colour on top (electronic, hip hop).
    #[default]
    Club,
    /// A band: the lead — the singer's part — level with the rhythm section.
    Band,
    /// A jazz or blues combo: the soloist in front, the drums behind their ride cymbal.
    Combo,
    /// Piano, guitar, strings or an orchestra carry it; drums, where any, far back.
    Chamber,
}

impl Balance {
    /// Fader of a generated track in the mix (dB; the parts themselves are rendered at
    /// one level per track, `render/level.rs`).
    pub fn gain_db(self, track: crate::TrackType) -> f32 {
        use crate::TrackType::{Bass, Drums, Harmony, Melody};
        match (self, track) {
            (Balance::Club, Drums) => -3.0,
            (Balance::Club, Bass) => 0.0,
            (Balance::Club, Harmony) => -1.0,
            (Balance::Club, Melody) => -4.0,
            (Balance::Band, Drums) => -4.0,
            (Balance::Band, Bass) => -1.0,
            (Balance::Band, Harmony) => -2.0,
            (Balance::Band, Melody) => -1.0,
            (Balance::Combo, Drums) => -8.0,
            (Balance::Combo, Bass) => -1.0,
            (Balance::Combo, Harmony) => -3.0,
            (Balance::Combo, Melody) => 0.0,
            (Balance::Chamber, Drums) => -9.0,
            (Balance::Chamber, Bass) => -3.0,
            (Balance::Chamber, Harmony) => 0.0,
            (Balance::Chamber, Melody) => -1.0,
        }
    }

    /// Share of the club sidechain depth the kick ducks a (ducked) track by: club music
    /// pumps bass and chords; a band does not pump, its bass only gives the kick a little
    /// room (a double-kick metal part ducking the guitars 8 dB buried them).
    pub fn duck_share(self, track: crate::TrackType) -> f32 {
        match (self, track) {
            (Balance::Club, _) => 1.0,
            (_, crate::TrackType::Bass) => 0.5,
            _ => 0.0,
        }
    }
}

/// How the lead phrases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phrasing {
    /// Syncopated repeated hooks (electronic, pop).
    #[default]
    Hook,
    /// A one-bar riff repeated and varied (rock, metal, funk).
    Riff,
    /// Eighth-note lines with chromatic approach notes into chord tones (jazz).
    Bebop,
    /// Long, stepwise, breathing phrases (ballads, classical, cinematic).
    Singable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadStyle {
    Pluck,
    Saw,
    Square,
    Bell,
}

use BassStyle::*;
use ChordColor::*;
use HarmonyStyle::*;
use Instrument as I;
use LeadStyle::*;
use Mode::{Dorian, Lydian, Major, Minor, Mixolydian, Phrygian};
use Phrasing::*;

/// GM drum notes for the `perc` voice.
const SIDE_STICK: u8 = 37;
const COWBELL: u8 = 56;
const HIGH_CONGA: u8 = 63;
const CLAVES: u8 = 75;
const SHAKER: u8 = 82;
const TAMBOURINE: u8 = 54;

/// What every genre starts from; each row below says how it differs.
const BASE: GenreProfile = GenreProfile {
    name: "",
    aliases: &[],
    tempo: (60.0, 120.0, 180.0),
    swing: 0.0,
    swing_unit: SwingUnit::Sixteenth,
    modes: &[Minor],
    tonic: 9,
    drum_style: "pop",
    bass_style: KickLocked,
    harmony_style: Pad,
    lead_style: Pluck,
    phrasing: Hook,
    progression: &[0, 5, 2, 6],
    fixed_form: false,
    chord_color: Triad,
    harmony_family: "pop",
    energy: 0.6,
    live: false,
    balance: Balance::Club,
    kit: I::Machine909,
    bass: I::AnalogBass,
    harmony: I::SynthPad,
    lead: I::SynthPluck,
    perc_note: SIDE_STICK,
    processing: &[],
};

/// The genre table. Drum styles name rows of the drum model's genre vocabulary
/// (models/drums/manifest.json); harmony families rows of the harmony model's. Aliases are
/// matched as whole words, longest first.
pub const GENRES: &[GenreProfile] = &[
    // Electronic genres keep our synthesizers, each with the machine its records use.
    GenreProfile {
        name: "techno",
        aliases: &[
            "tekno",
            "minimal techno",
            "industrial techno",
            "acid techno",
            "hard techno",
            "detroit techno",
        ],
        tempo: (120.0, 130.0, 150.0),
        modes: &[Minor, Phrygian],
        tonic: 9,
        drum_style: "techno",
        bass_style: Offbeat,
        harmony_style: Stabs,
        lead_style: Saw,
        progression: &[0, 0, 5, 6],
        harmony_family: "dark_edm",
        energy: 0.8,
        kit: I::Machine909,
        bass: I::AcidBass,
        harmony: I::SawStabs,
        lead: I::SawLead,
        processing: &["compression", "saturation"],
        ..BASE
    },
    GenreProfile {
        name: "house",
        aliases: &["chicago house", "classic house", "vocal house"],
        tempo: (115.0, 124.0, 130.0),
        swing: 0.1,
        modes: &[Minor, Dorian],
        tonic: 2,
        drum_style: "house",
        bass_style: Offbeat,
        harmony_style: Keys,
        progression: &[0, 5, 2, 6],
        chord_color: Seventh,
        harmony_family: "house",
        energy: 0.7,
        kit: I::Machine909,
        bass: I::SubBass,
        harmony: I::FmKeys,
        lead: I::SynthPluck,
        processing: &["compression"],
        ..BASE
    },
    GenreProfile {
        name: "deep house",
        aliases: &["deephouse"],
        tempo: (115.0, 122.0, 125.0),
        swing: 0.15,
        modes: &[Minor, Dorian],
        tonic: 7,
        drum_style: "house",
        bass_style: Offbeat,
        harmony_style: Keys,
        lead_style: Bell,
        progression: &[0, 3, 6, 2],
        chord_color: Ninth,
        harmony_family: "house",
        energy: 0.55,
        kit: I::Machine909,
        bass: I::SubBass,
        harmony: I::FmKeys,
        lead: I::SynthBell,
        processing: &["warm", "compression"],
        ..BASE
    },
    GenreProfile {
        name: "lo-fi house",
        aliases: &["lofi house", "lo fi house", "outsider house"],
        tempo: (115.0, 122.0, 127.0),
        swing: 0.15,
        modes: &[Dorian, Minor],
        tonic: 5,
        drum_style: "house",
        bass_style: Offbeat,
        harmony_style: Keys,
        progression: &[0, 3, 6, 2],
        chord_color: Ninth,
        harmony_family: "house",
        energy: 0.55,
        kit: I::Machine909,
        bass: I::SubBass,
        harmony: I::ElectricPiano,
        lead: I::SynthPluck,
        processing: &["lo-fi", "vinyl", "warm"],
        ..BASE
    },
    GenreProfile {
        name: "tech house",
        aliases: &["techhouse", "tech-house"],
        tempo: (122.0, 126.0, 130.0),
        swing: 0.1,
        tonic: 5,
        drum_style: "house",
        bass_style: Rolling,
        harmony_style: Stabs,
        progression: &[0, 0, 6, 0],
        harmony_family: "house",
        energy: 0.75,
        kit: I::Machine909,
        bass: I::AnalogBass,
        harmony: I::SawStabs,
        lead: I::SynthPluck,
        processing: &["compression", "saturation"],
        ..BASE
    },
    GenreProfile {
        name: "progressive house",
        aliases: &["prog house"],
        tempo: (120.0, 126.0, 130.0),
        tonic: 1,
        drum_style: "house",
        bass_style: Rolling,
        harmony_style: Pad,
        progression: &[0, 5, 2, 6],
        chord_color: Sus2,
        harmony_family: "edm",
        energy: 0.7,
        kit: I::Machine909,
        bass: I::AnalogBass,
        harmony: I::SynthPad,
        lead: I::SynthPluck,
        processing: &["wide", "reverb"],
        ..BASE
    },
    GenreProfile {
        name: "trance",
        aliases: &["psytrance", "psy trance", "goa"],
        tempo: (130.0, 138.0, 145.0),
        tonic: 9,
        drum_style: "trance",
        bass_style: Rolling,
        harmony_style: Pad,
        lead_style: Saw,
        progression: &[0, 5, 2, 6],
        chord_color: Sus2,
        harmony_family: "edm",
        energy: 0.85,
        kit: I::Machine909,
        bass: I::AnalogBass,
        harmony: I::SupersawPad,
        lead: I::SawLead,
        processing: &["wide", "reverb"],
        ..BASE
    },
    GenreProfile {
        name: "drum and bass",
        aliases: &[
            "dnb",
            "drum & bass",
            "drum n bass",
            "drum'n'bass",
            "d&b",
            "jungle",
            "liquid",
            "neurofunk",
        ],
        tempo: (160.0, 174.0, 180.0),
        tonic: 4,
        drum_style: "drum_and_bass",
        bass_style: Rolling,
        harmony_style: Pad,
        progression: &[0, 5, 3, 4],
        harmony_family: "dark_edm",
        energy: 0.85,
        kit: I::BreakbeatKit,
        bass: I::ReeseBass,
        harmony: I::SynthPad,
        lead: I::SynthPluck,
        processing: &["compression"],
        ..BASE
    },
    GenreProfile {
        name: "dubstep",
        aliases: &["brostep", "riddim"],
        tempo: (138.0, 140.0, 150.0),
        modes: &[Minor, Phrygian],
        tonic: 5,
        drum_style: "dubstep",
        bass_style: Sub808,
        harmony_style: Pad,
        lead_style: Square,
        progression: &[0, 0, 5, 6],
        harmony_family: "dark_edm",
        energy: 0.8,
        kit: I::Machine808,
        bass: I::WobbleBass,
        harmony: I::SynthPad,
        lead: I::SquareLead,
        processing: &["distorted", "compression"],
        ..BASE
    },
    GenreProfile {
        name: "future bass",
        aliases: &["future-bass", "kawaii future bass"],
        tempo: (130.0, 150.0, 160.0),
        modes: &[Major],
        tonic: 2,
        drum_style: "future_bass",
        bass_style: Sub808,
        harmony_style: Stabs,
        lead_style: Bell,
        progression: &[3, 4, 5, 0],
        chord_color: Add9,
        harmony_family: "edm",
        energy: 0.75,
        kit: I::Machine808,
        bass: I::Bass808,
        harmony: I::SupersawPad,
        lead: I::SynthBell,
        processing: &["wide", "compression"],
        ..BASE
    },
    GenreProfile {
        name: "trap",
        aliases: &["trap beat"],
        tempo: (130.0, 140.0, 160.0),
        modes: &[Minor, Phrygian],
        tonic: 1,
        drum_style: "trap",
        bass_style: Sub808,
        harmony_style: Pad,
        lead_style: Bell,
        progression: &[0, 5, 2, 6],
        harmony_family: "hiphop",
        energy: 0.7,
        kit: I::Machine808,
        bass: I::Bass808,
        harmony: I::SynthPad,
        lead: I::SynthBell,
        processing: &["saturation"],
        ..BASE
    },
    GenreProfile {
        name: "drill",
        aliases: &["uk drill", "ny drill", "brooklyn drill", "drill beat"],
        tempo: (138.0, 142.0, 146.0),
        modes: &[Minor, Phrygian],
        tonic: 6,
        drum_style: "drill",
        bass_style: Sub808,
        harmony_style: Pad,
        lead_style: Bell,
        progression: &[0, 5, 6, 4],
        harmony_family: "hiphop",
        energy: 0.7,
        kit: I::Machine808,
        bass: I::Bass808,
        harmony: I::Strings,
        lead: I::PianoLead,
        processing: &["saturation"],
        ..BASE
    },
    GenreProfile {
        name: "phonk",
        aliases: &["drift phonk", "memphis phonk", "memphis rap"],
        tempo: (125.0, 135.0, 150.0),
        modes: &[Phrygian, Minor],
        tonic: 4,
        drum_style: "phonk",
        bass_style: Sub808,
        harmony_style: Pad,
        lead_style: Bell,
        progression: &[0, 0, 5, 6],
        harmony_family: "dark_edm",
        energy: 0.8,
        kit: I::Tr808Kit,
        bass: I::Bass808,
        harmony: I::SynthPad,
        lead: I::SynthBell,
        perc_note: COWBELL,
        processing: &["distorted", "dusty"],
        ..BASE
    },
    GenreProfile {
        name: "synthwave",
        aliases: &["retrowave", "outrun", "80s synth", "darksynth"],
        tempo: (80.0, 100.0, 118.0),
        tonic: 4,
        drum_style: "pop",
        bass_style: Octave,
        harmony_style: Pad,
        lead_style: Saw,
        progression: &[0, 5, 2, 6],
        harmony_family: "edm",
        energy: 0.65,
        kit: I::ElectronicKit,
        bass: I::AnalogBass,
        harmony: I::SynthPad,
        lead: I::SawLead,
        processing: &["warm", "wide", "reverb"],
        ..BASE
    },
    GenreProfile {
        name: "garage",
        aliases: &["uk garage", "2-step", "2 step", "two step", "speed garage"],
        tempo: (128.0, 132.0, 138.0),
        swing: 0.3,
        tonic: 6,
        drum_style: "garage",
        bass_style: KickLocked,
        harmony_style: Stabs,
        progression: &[0, 5, 3, 4],
        chord_color: Seventh,
        harmony_family: "house",
        energy: 0.7,
        kit: I::Machine909,
        bass: I::SubBass,
        harmony: I::Organ,
        lead: I::SynthPluck,
        processing: &["compression"],
        ..BASE
    },
    GenreProfile {
        name: "breakbeat",
        aliases: &["big beat", "nu skool breaks"],
        tempo: (120.0, 130.0, 140.0),
        tonic: 9,
        drum_style: "breakbeat",
        bass_style: KickLocked,
        harmony_style: Stabs,
        lead_style: Saw,
        progression: &[0, 0, 6, 5],
        harmony_family: "edm",
        energy: 0.75,
        kit: I::BreakbeatKit,
        bass: I::AcidBass,
        harmony: I::SawStabs,
        lead: I::SawLead,
        processing: &["distorted", "compression"],
        ..BASE
    },
    GenreProfile {
        name: "hardstyle",
        aliases: &["hardcore", "gabber", "hard dance", "rawstyle"],
        tempo: (145.0, 150.0, 180.0),
        tonic: 9,
        drum_style: "hardstyle",
        bass_style: Offbeat,
        harmony_style: Pad,
        lead_style: Saw,
        progression: &[0, 5, 6, 4],
        harmony_family: "edm",
        energy: 0.95,
        kit: I::Machine909,
        bass: I::AnalogBass,
        harmony: I::SupersawPad,
        lead: I::SawLead,
        processing: &["distorted", "compression"],
        ..BASE
    },
    GenreProfile {
        name: "chiptune",
        aliases: &["8-bit", "8bit", "chip tune", "video game", "nes"],
        tempo: (120.0, 140.0, 170.0),
        modes: &[Major, Minor],
        tonic: 0,
        drum_style: "pop",
        bass_style: Octave,
        harmony_style: Stabs,
        lead_style: Square,
        progression: &[0, 5, 3, 4],
        harmony_family: "pop",
        energy: 0.75,
        kit: I::Machine909,
        bass: I::PulseBass,
        harmony: I::SawStabs,
        lead: I::SquareLead,
        processing: &["lo-fi"],
        ..BASE
    },
    GenreProfile {
        name: "ambient",
        aliases: &["drone", "chillout", "new age", "soundscape"],
        tempo: (60.0, 80.0, 100.0),
        modes: &[Lydian, Major],
        tonic: 4,
        drum_style: "ambient",
        bass_style: Sub808,
        harmony_style: Pad,
        lead_style: Bell,
        progression: &[0, 5, 3, 4],
        chord_color: Add9,
        harmony_family: "ambient",
        energy: 0.25,
        kit: I::ElectronicKit,
        bass: I::SubBass,
        harmony: I::SynthPad,
        lead: I::SynthBell,
        processing: &["reverb", "wide"],
        balance: Balance::Chamber,
        ..BASE
    },
    // Hip hop and its neighbours: sampled kits and keys, 808s where the records have them.
    GenreProfile {
        name: "hip hop",
        aliases: &[
            "hiphop",
            "hip-hop",
            "boom bap",
            "boombap",
            "rap",
            "old school hip hop",
        ],
        tempo: (80.0, 90.0, 100.0),
        swing: 0.35,
        modes: &[Minor, Dorian],
        tonic: 0,
        drum_style: "hip_hop",
        bass_style: KickLocked,
        harmony_style: Keys,
        lead_style: Bell,
        progression: &[0, 3, 5, 4],
        chord_color: Seventh,
        harmony_family: "hiphop",
        energy: 0.6,
        live: true,
        kit: I::RoomKit,
        bass: I::UprightBass,
        harmony: I::Piano,
        lead: I::Vibraphone,
        processing: &["dusty", "compression"],
        ..BASE
    },
    GenreProfile {
        name: "lo-fi",
        aliases: &[
            "lofi",
            "lo fi",
            "chillhop",
            "lofi hip hop",
            "lo-fi hip hop",
            "study beats",
        ],
        tempo: (70.0, 82.0, 95.0),
        swing: 0.45,
        modes: &[Minor, Dorian],
        tonic: 2,
        drum_style: "lofi",
        bass_style: KickLocked,
        harmony_style: Keys,
        lead_style: Bell,
        progression: &[0, 3, 6, 2],
        chord_color: Ninth,
        harmony_family: "soul",
        energy: 0.4,
        live: true,
        kit: I::RoomKit,
        bass: I::FingeredBass,
        harmony: I::ElectricPiano,
        lead: I::NylonLead,
        processing: &["vinyl", "warm", "lo-fi"],
        ..BASE
    },
    GenreProfile {
        name: "trip hop",
        aliases: &["trip-hop", "triphop", "downtempo", "bristol"],
        tempo: (70.0, 85.0, 100.0),
        swing: 0.2,
        tonic: 7,
        drum_style: "hip_hop",
        bass_style: KickLocked,
        harmony_style: Pad,
        lead_style: Bell,
        progression: &[0, 5, 3, 4],
        chord_color: Seventh,
        harmony_family: "hiphop",
        energy: 0.4,
        live: true,
        kit: I::RoomKit,
        bass: I::SubBass,
        harmony: I::Strings,
        lead: I::RhodesLead,
        processing: &["dusty", "vinyl", "reverb"],
        ..BASE
    },
    GenreProfile {
        name: "r&b",
        aliases: &["rnb", "r and b", "contemporary r&b", "neo soul", "neo-soul"],
        tempo: (65.0, 85.0, 105.0),
        swing: 0.25,
        modes: &[Minor, Dorian],
        tonic: 3,
        drum_style: "hip_hop",
        bass_style: KickLocked,
        harmony_style: Keys,
        lead_style: Bell,
        progression: &[0, 3, 6, 5],
        chord_color: Ninth,
        harmony_family: "soul",
        energy: 0.5,
        live: true,
        kit: I::Tr808Kit,
        bass: I::SubBass,
        harmony: I::ElectricPiano,
        lead: I::CleanLead,
        processing: &["warm"],
        balance: Balance::Band,
        ..BASE
    },
    GenreProfile {
        name: "soul",
        aliases: &["gospel", "motown", "classic soul", "northern soul"],
        tempo: (60.0, 96.0, 120.0),
        swing: 0.2,
        modes: &[Major, Dorian],
        tonic: 10,
        drum_style: "soul",
        bass_style: KickLocked,
        harmony_style: Keys,
        phrasing: Singable,
        progression: &[0, 3, 0, 4],
        chord_color: Seventh,
        harmony_family: "soul",
        energy: 0.6,
        live: true,
        kit: I::RoomKit,
        bass: I::FingeredBass,
        harmony: I::Organ,
        lead: I::AltoSax,
        perc_note: TAMBOURINE,
        processing: &["warm"],
        balance: Balance::Band,
        ..BASE
    },
    // Pop.
    GenreProfile {
        name: "pop",
        aliases: &["synthpop", "electropop", "dance pop", "pop song"],
        tempo: (95.0, 112.0, 128.0),
        modes: &[Major],
        tonic: 0,
        drum_style: "pop",
        bass_style: KickLocked,
        harmony_style: Keys,
        progression: &[0, 4, 5, 3],
        chord_color: Add9,
        harmony_family: "pop",
        energy: 0.65,
        kit: I::ElectronicKit,
        bass: I::FingeredBass,
        harmony: I::Piano,
        lead: I::SynthPluck,
        processing: &["compression", "wide"],
        balance: Balance::Band,
        ..BASE
    },
    GenreProfile {
        name: "k-pop",
        aliases: &["kpop", "j-pop", "jpop", "idol pop", "city pop"],
        tempo: (100.0, 122.0, 135.0),
        modes: &[Minor, Major],
        tonic: 11,
        drum_style: "pop",
        bass_style: Octave,
        harmony_style: Stabs,
        progression: &[3, 4, 2, 5],
        chord_color: Seventh,
        harmony_family: "pop",
        energy: 0.75,
        kit: I::Machine909,
        bass: I::FingeredBass,
        harmony: I::ElectricPiano,
        lead: I::SynthPluck,
        processing: &["compression", "wide"],
        balance: Balance::Band,
        ..BASE
    },
    GenreProfile {
        name: "ballad",
        aliases: &["piano ballad", "power ballad", "love song"],
        tempo: (56.0, 70.0, 84.0),
        modes: &[Major, Minor],
        tonic: 3,
        drum_style: "ballad",
        bass_style: KickLocked,
        harmony_style: Arpeggio,
        phrasing: Singable,
        progression: &[0, 4, 5, 3],
        harmony_family: "pop",
        energy: 0.35,
        live: true,
        kit: I::BrushKit,
        bass: I::FretlessBass,
        harmony: I::Piano,
        lead: I::Violin,
        processing: &["reverb", "warm"],
        balance: Balance::Chamber,
        ..BASE
    },
    // Played genres: sampled kits and instruments.
    GenreProfile {
        name: "rock",
        aliases: &[
            "indie rock",
            "alt rock",
            "alternative rock",
            "grunge",
            "rock and roll",
            "hard rock",
            "classic rock",
        ],
        tempo: (100.0, 120.0, 170.0),
        modes: &[Minor, Mixolydian, Major],
        tonic: 4,
        drum_style: "rock",
        bass_style: KickLocked,
        harmony_style: Power,
        lead_style: Saw,
        phrasing: Riff,
        progression: &[0, 5, 6, 0],
        chord_color: RootFifth,
        harmony_family: "rock",
        energy: 0.8,
        live: true,
        kit: I::StandardKit,
        bass: I::PickedBass,
        harmony: I::OverdriveGuitar,
        lead: I::LeadGuitar,
        processing: &["compression"],
        balance: Balance::Band,
        ..BASE
    },
    GenreProfile {
        name: "punk",
        aliases: &["punk rock", "pop punk", "pop-punk", "skate punk"],
        tempo: (150.0, 175.0, 200.0),
        modes: &[Major, Mixolydian],
        tonic: 9,
        drum_style: "punk",
        bass_style: KickLocked,
        harmony_style: Power,
        lead_style: Saw,
        phrasing: Riff,
        progression: &[0, 3, 4, 3],
        chord_color: RootFifth,
        harmony_family: "rock",
        energy: 0.9,
        live: true,
        kit: I::RoomKit,
        bass: I::PickedBass,
        harmony: I::DistortionGuitar,
        lead: I::LeadGuitar,
        processing: &["compression"],
        balance: Balance::Band,
        ..BASE
    },
    GenreProfile {
        name: "metal",
        aliases: &[
            "heavy metal",
            "metalcore",
            "thrash",
            "thrash metal",
            "djent",
            "death metal",
        ],
        tempo: (100.0, 140.0, 200.0),
        modes: &[Phrygian, Minor],
        tonic: 4,
        drum_style: "metal",
        bass_style: KickLocked,
        harmony_style: Power,
        lead_style: Saw,
        phrasing: Riff,
        progression: &[0, 1, 0, 6],
        chord_color: RootFifth,
        harmony_family: "rock",
        energy: 0.95,
        live: true,
        kit: I::PowerKit,
        bass: I::PickedBass,
        harmony: I::DistortionGuitar,
        lead: I::ShredGuitar,
        processing: &["compression"],
        balance: Balance::Band,
        ..BASE
    },
    GenreProfile {
        name: "blues",
        aliases: &[
            "delta blues",
            "chicago blues",
            "blues rock",
            "12-bar blues",
            "twelve bar blues",
        ],
        tempo: (70.0, 92.0, 130.0),
        swing: 0.9,
        swing_unit: SwingUnit::Eighth,
        modes: &[Major],
        tonic: 4,
        drum_style: "shuffle",
        bass_style: Walking,
        harmony_style: Keys,
        lead_style: Saw,
        phrasing: Riff,
        progression: &[0, 0, 0, 0, 3, 3, 0, 0, 4, 3, 0, 4],
        fixed_form: true,
        chord_color: Dominant,
        harmony_family: "soul",
        energy: 0.6,
        live: true,
        kit: I::RoomKit,
        bass: I::FingeredBass,
        harmony: I::Piano,
        lead: I::LeadGuitar,
        processing: &["warm"],
        balance: Balance::Combo,
        ..BASE
    },
    GenreProfile {
        name: "jazz",
        aliases: &[
            "swing",
            "bebop",
            "cool jazz",
            "jazz trio",
            "jazz quartet",
            "big band",
        ],
        tempo: (90.0, 140.0, 220.0),
        swing: 0.75,
        swing_unit: SwingUnit::Eighth,
        modes: &[Major, Dorian],
        tonic: 2,
        drum_style: "jazz",
        bass_style: Walking,
        harmony_style: Keys,
        lead_style: Bell,
        phrasing: Bebop,
        progression: &[0, 5, 1, 4, 1, 4, 0, 0],
        fixed_form: true,
        chord_color: Seventh,
        harmony_family: "jazz",
        energy: 0.5,
        live: true,
        kit: I::JazzKit,
        bass: I::UprightBass,
        harmony: I::Piano,
        lead: I::TenorSax,
        processing: &["warm"],
        balance: Balance::Combo,
        ..BASE
    },
    GenreProfile {
        name: "bossa nova",
        aliases: &["bossa", "bossanova", "samba"],
        tempo: (110.0, 130.0, 145.0),
        modes: &[Major, Dorian],
        tonic: 5,
        drum_style: "bossa_nova",
        bass_style: Walking,
        harmony_style: Keys,
        phrasing: Singable,
        progression: &[0, 1, 4, 0],
        fixed_form: true,
        chord_color: Seventh,
        harmony_family: "jazz",
        energy: 0.45,
        live: true,
        kit: I::BrushKit,
        bass: I::UprightBass,
        harmony: I::NylonGuitar,
        lead: I::Flute,
        perc_note: SHAKER,
        processing: &["warm"],
        balance: Balance::Combo,
        ..BASE
    },
    GenreProfile {
        name: "latin",
        aliases: &[
            "salsa",
            "cumbia",
            "latin pop",
            "mambo",
            "son cubano",
            "timba",
        ],
        tempo: (90.0, 100.0, 180.0),
        modes: &[Minor, Major],
        tonic: 7,
        drum_style: "salsa",
        bass_style: Octave,
        harmony_style: Montuno,
        progression: &[0, 3, 4, 0],
        harmony_family: "latin",
        energy: 0.75,
        live: true,
        kit: I::StandardKit,
        bass: I::FingeredBass,
        harmony: I::Piano,
        lead: I::Trumpet,
        perc_note: CLAVES,
        processing: &["compression"],
        balance: Balance::Band,
        ..BASE
    },
    GenreProfile {
        name: "reggaeton",
        aliases: &["dembow", "perreo", "latin trap"],
        tempo: (85.0, 95.0, 105.0),
        tonic: 2,
        drum_style: "dembow",
        bass_style: KickLocked,
        harmony_style: Stabs,
        progression: &[0, 5, 2, 6],
        fixed_form: true,
        harmony_family: "latin",
        energy: 0.75,
        kit: I::Tr808Kit,
        bass: I::SubBass,
        harmony: I::SawStabs,
        lead: I::SynthPluck,
        perc_note: HIGH_CONGA,
        processing: &["compression"],
        ..BASE
    },
    GenreProfile {
        name: "reggae",
        aliases: &["dub", "roots reggae", "dancehall"],
        tempo: (65.0, 75.0, 95.0),
        swing: 0.2,
        modes: &[Major, Minor],
        tonic: 7,
        drum_style: "reggae",
        bass_style: KickLocked,
        harmony_style: Skank,
        lead_style: Bell,
        progression: &[0, 3, 0, 4],
        harmony_family: "reggae",
        energy: 0.5,
        live: true,
        kit: I::RoomKit,
        bass: I::FingeredBass,
        harmony: I::CleanGuitar,
        lead: I::OrganLead,
        processing: &["reverb", "warm"],
        balance: Balance::Band,
        ..BASE
    },
    GenreProfile {
        name: "ska",
        aliases: &["ska punk", "rocksteady", "two tone"],
        tempo: (120.0, 150.0, 180.0),
        modes: &[Major],
        tonic: 10,
        drum_style: "ska",
        bass_style: Walking,
        harmony_style: Skank,
        progression: &[0, 3, 4, 3],
        harmony_family: "reggae",
        energy: 0.8,
        live: true,
        kit: I::StandardKit,
        bass: I::FingeredBass,
        harmony: I::CleanGuitar,
        lead: I::Trumpet,
        processing: &["compression"],
        balance: Balance::Band,
        ..BASE
    },
    GenreProfile {
        name: "disco",
        aliases: &["nu disco", "nu-disco", "boogie", "italo disco"],
        tempo: (110.0, 118.0, 128.0),
        swing: 0.1,
        modes: &[Minor, Dorian],
        tonic: 7,
        drum_style: "disco",
        bass_style: Octave,
        harmony_style: Stabs,
        progression: &[0, 3, 0, 4],
        chord_color: Seventh,
        harmony_family: "soul",
        energy: 0.75,
        live: true,
        kit: I::StandardKit,
        bass: I::FingeredBass,
        harmony: I::Strings,
        lead: I::Violin,
        perc_note: TAMBOURINE,
        processing: &["compression", "warm"],
        balance: Balance::Band,
        ..BASE
    },
    GenreProfile {
        name: "funk",
        aliases: &["p-funk", "g-funk", "funk rock"],
        tempo: (95.0, 108.0, 120.0),
        swing: 0.15,
        modes: &[Dorian, Mixolydian],
        tonic: 4,
        drum_style: "funk",
        bass_style: Slap,
        harmony_style: Stabs,
        lead_style: Square,
        phrasing: Riff,
        progression: &[0, 3, 0, 3],
        chord_color: Ninth,
        harmony_family: "soul",
        energy: 0.75,
        live: true,
        kit: I::StandardKit,
        bass: I::SlapBass,
        harmony: I::Clavinet,
        lead: I::AltoSax,
        processing: &["compression"],
        balance: Balance::Band,
        ..BASE
    },
    GenreProfile {
        name: "afrobeat",
        aliases: &["afrobeats", "afro house", "afro", "highlife", "afropop"],
        tempo: (100.0, 110.0, 125.0),
        swing: 0.2,
        modes: &[Major, Dorian],
        tonic: 5,
        drum_style: "afrobeat",
        bass_style: KickLocked,
        harmony_style: Stabs,
        progression: &[0, 3, 4, 3],
        harmony_family: "soul",
        energy: 0.7,
        live: true,
        kit: I::StandardKit,
        bass: I::FingeredBass,
        harmony: I::CleanGuitar,
        lead: I::Trumpet,
        perc_note: SHAKER,
        processing: &["warm"],
        balance: Balance::Band,
        ..BASE
    },
    GenreProfile {
        name: "amapiano",
        aliases: &["log drum", "log drums", "amapiano house"],
        tempo: (108.0, 113.0, 118.0),
        swing: 0.1,
        modes: &[Dorian, Minor],
        tonic: 5,
        drum_style: "amapiano",
        bass_style: KickLocked,
        harmony_style: Keys,
        progression: &[0, 3, 6, 2],
        chord_color: Ninth,
        harmony_family: "soul",
        energy: 0.6,
        kit: I::ElectronicKit,
        bass: I::FmBass,
        harmony: I::Piano,
        lead: I::Flute,
        perc_note: SHAKER,
        processing: &["warm", "wide"],
        ..BASE
    },
    GenreProfile {
        name: "country",
        aliases: &["americana", "bluegrass", "country rock", "honky tonk"],
        tempo: (80.0, 110.0, 140.0),
        swing: 0.1,
        modes: &[Major, Mixolydian],
        tonic: 7,
        drum_style: "country",
        bass_style: KickLocked,
        harmony_style: Strum,
        phrasing: Singable,
        progression: &[0, 3, 4, 0],
        harmony_family: "folk",
        energy: 0.55,
        live: true,
        kit: I::RoomKit,
        bass: I::FingeredBass,
        harmony: I::SteelGuitar,
        lead: I::Fiddle,
        processing: &["warm"],
        balance: Balance::Band,
        ..BASE
    },
    GenreProfile {
        name: "folk",
        aliases: &["folk rock", "indie folk", "singer-songwriter", "campfire"],
        tempo: (70.0, 96.0, 130.0),
        modes: &[Major, Dorian],
        tonic: 2,
        drum_style: "folk",
        bass_style: KickLocked,
        harmony_style: Arpeggio,
        phrasing: Singable,
        progression: &[0, 4, 5, 3],
        harmony_family: "folk",
        energy: 0.45,
        live: true,
        kit: I::BrushKit,
        bass: I::UprightBass,
        harmony: I::SteelGuitar,
        lead: I::Harmonica,
        perc_note: TAMBOURINE,
        processing: &["warm"],
        balance: Balance::Chamber,
        ..BASE
    },
    // Orchestral.
    GenreProfile {
        name: "classical",
        aliases: &[
            "symphonic",
            "baroque",
            "chamber music",
            "string quartet",
            "romantic era",
        ],
        tempo: (60.0, 88.0, 140.0),
        modes: &[Major, Minor],
        tonic: 2,
        drum_style: "orchestral",
        bass_style: Sub808,
        harmony_style: Pad,
        phrasing: Singable,
        progression: &[0, 3, 4, 0],
        harmony_family: "cinematic",
        energy: 0.45,
        live: true,
        kit: I::OrchestraKit,
        bass: I::Contrabass,
        harmony: I::Strings,
        lead: I::Flute,
        processing: &["reverb"],
        balance: Balance::Chamber,
        ..BASE
    },
    GenreProfile {
        name: "cinematic",
        aliases: &[
            "film score",
            "soundtrack",
            "score",
            "orchestral",
            "movie score",
        ],
        tempo: (70.0, 90.0, 140.0),
        modes: &[Minor],
        tonic: 2,
        drum_style: "orchestral",
        bass_style: Sub808,
        harmony_style: Pad,
        phrasing: Singable,
        progression: &[0, 5, 2, 6],
        harmony_family: "cinematic",
        energy: 0.6,
        live: true,
        kit: I::OrchestraKit,
        bass: I::Contrabass,
        harmony: I::SlowStrings,
        lead: I::FrenchHorn,
        processing: &["reverb", "wide"],
        balance: Balance::Chamber,
        ..BASE
    },
    GenreProfile {
        name: "trailer",
        aliases: &[
            "trailer music",
            "epic trailer",
            "hybrid trailer",
            "action trailer",
        ],
        tempo: (80.0, 100.0, 140.0),
        modes: &[Minor],
        tonic: 0,
        drum_style: "trailer",
        bass_style: Sub808,
        harmony_style: Pad,
        phrasing: Singable,
        progression: &[0, 5, 2, 6],
        chord_color: RootFifth,
        harmony_family: "cinematic",
        energy: 0.9,
        live: true,
        kit: I::OrchestraKit,
        bass: I::Contrabass,
        harmony: I::BrassSection,
        lead: I::Violin,
        processing: &["reverb", "wide", "compression"],
        balance: Balance::Band,
        ..BASE
    },
];

/// Looks a genre up by name or alias (case-insensitive).
pub fn genre_by_name(name: &str) -> Option<&'static GenreProfile> {
    let n = name.trim().to_ascii_lowercase();
    GENRES
        .iter()
        .find(|g| g.name == n || g.aliases.contains(&n.as_str()))
}

/// Words that point to a genre when the prompt names none: (canonical descriptor, mood,
/// processing or tempo word; genre; weight). "sad piano and soft drums" is a ballad, "upright
/// bass and brushes" jazz, "distorted guitars, heavy" metal.
const CUES: &[(&str, &str, f32)] = &[
    // instruments (parser descriptors)
    ("808", "trap", 2.0),
    ("808 kit", "trap", 2.0),
    ("rolling hi-hats", "trap", 2.0),
    ("reese", "drum and bass", 3.0),
    ("acid", "techno", 3.0),
    ("909 kit", "techno", 2.0),
    ("drum machine", "techno", 1.0),
    ("driving", "techno", 1.0),
    ("wobble", "dubstep", 3.0),
    ("supersaw", "trance", 2.0),
    ("saw lead", "trance", 1.0),
    ("arpeggio", "trance", 1.0),
    ("four on the floor", "house", 2.0),
    ("pluck", "house", 0.5),
    ("square", "chiptune", 2.0),
    ("synth bass", "synthwave", 1.0),
    ("slap", "funk", 3.0),
    ("funky", "funk", 2.0),
    ("clavinet", "funk", 3.0),
    ("octave", "disco", 2.0),
    ("walking", "jazz", 3.0),
    ("upright", "jazz", 2.0),
    ("brushes", "jazz", 2.0),
    ("sax", "jazz", 2.0),
    ("alto sax", "jazz", 2.0),
    ("trumpet", "jazz", 1.0),
    ("vibraphone", "jazz", 2.0),
    ("fretless", "jazz", 1.0),
    ("jazzy", "jazz", 2.0),
    ("double kick", "metal", 3.0),
    ("blast beats", "metal", 3.0),
    ("distorted guitar", "rock", 2.0),
    ("distorted guitar", "metal", 1.5),
    ("power chords", "rock", 2.0),
    ("lead guitar", "rock", 2.0),
    ("guitar", "rock", 1.0),
    ("live kit", "rock", 1.0),
    ("fiddle", "country", 3.0),
    ("banjo", "country", 3.0),
    ("pedal steel", "country", 3.0),
    ("harmonica", "blues", 2.0),
    ("harmonica", "folk", 1.0),
    ("acoustic guitar", "folk", 2.0),
    ("steel guitar", "folk", 2.0),
    ("strummed", "folk", 1.0),
    ("accordion", "folk", 2.0),
    ("nylon guitar", "bossa nova", 2.0),
    ("organ", "soul", 2.0),
    ("church organ", "soul", 3.0),
    ("electric piano", "lo-fi", 1.0),
    ("electric piano", "r&b", 0.5),
    ("piano", "ballad", 1.0),
    ("broken chords", "ballad", 1.0),
    ("soft drums", "ballad", 2.0),
    ("strings", "cinematic", 1.0),
    ("choir", "cinematic", 2.0),
    ("timpani", "cinematic", 3.0),
    ("horn", "cinematic", 2.0),
    ("violin", "classical", 2.0),
    ("cello", "classical", 2.0),
    ("harp", "classical", 2.0),
    ("flute", "classical", 1.0),
    ("clarinet", "classical", 1.0),
    ("tuba", "classical", 1.0),
    ("congas", "latin", 3.0),
    ("steel drums", "latin", 1.0),
    ("marimba", "afrobeat", 1.0),
    ("kalimba", "afrobeat", 2.0),
    ("koto", "ambient", 1.0),
    ("pad", "ambient", 1.0),
    ("bell", "ambient", 0.5),
    // moods
    ("sad", "ballad", 1.0),
    ("melancholic", "ballad", 1.0),
    ("melancholy", "ballad", 1.0),
    ("romantic", "ballad", 1.0),
    ("sombre", "ballad", 1.0),
    ("somber", "ballad", 1.0),
    ("calm", "ambient", 1.0),
    ("peaceful", "ambient", 1.0),
    ("dreamy", "ambient", 1.0),
    ("ethereal", "ambient", 1.0),
    ("chill", "lo-fi", 1.0),
    ("chilled", "lo-fi", 1.0),
    ("relaxed", "lo-fi", 1.0),
    ("relaxing", "lo-fi", 1.0),
    ("mellow", "lo-fi", 1.0),
    ("nostalgic", "lo-fi", 1.0),
    ("smooth", "r&b", 1.0),
    ("epic", "cinematic", 1.0),
    ("heroic", "cinematic", 1.0),
    ("haunting", "cinematic", 1.0),
    ("ominous", "cinematic", 1.0),
    ("menacing", "cinematic", 1.0),
    ("tense", "cinematic", 1.0),
    ("aggressive", "metal", 1.0),
    ("angry", "metal", 1.0),
    ("heavy", "metal", 1.0),
    ("happy", "pop", 1.0),
    ("joyful", "pop", 1.0),
    ("uplifting", "pop", 1.0),
    ("sunny", "pop", 1.0),
    ("playful", "pop", 1.0),
    ("euphoric", "trance", 1.0),
    ("groovy", "funk", 1.0),
    ("dark", "techno", 1.0),
    ("hypnotic", "techno", 1.0),
    ("minimal", "techno", 1.0),
    // processing
    ("lo-fi", "lo-fi", 2.0),
    ("vinyl", "lo-fi", 1.0),
    ("dusty", "lo-fi", 1.0),
    ("distortion", "rock", 1.0),
    // tempo words
    ("slow", "ballad", 1.0),
];

/// The genre the prompt's other words point to when it names none, and those words; `None`
/// when nothing points anywhere. Ties go to the genre listed first in [`GENRES`].
pub fn infer(
    descriptors: &[&str],
    moods: &[String],
    processing: &[String],
    tempo_bpm: Option<f64>,
    tempo_word: Option<&str>,
) -> Option<(&'static GenreProfile, Vec<String>)> {
    let words: Vec<&str> = descriptors
        .iter()
        .copied()
        .chain(moods.iter().map(String::as_str))
        .chain(processing.iter().map(String::as_str))
        .chain(tempo_word)
        .collect();
    let mut scores: Vec<(usize, f32, Vec<String>)> = Vec::new();
    let mut add = |genre: &str, weight: f32, why: String| {
        let Some(row) = GENRES.iter().position(|g| g.name == genre) else {
            return;
        };
        match scores.iter_mut().find(|(r, _, _)| *r == row) {
            Some((_, s, from)) => {
                *s += weight;
                if !from.contains(&why) {
                    from.push(why);
                }
            }
            None => scores.push((row, weight, vec![why])),
        }
    };
    for w in &words {
        for (cue, genre, weight) in CUES {
            if cue == w {
                add(genre, *weight, w.to_string());
            }
        }
    }
    // Only drum and bass lives above 165 bpm; a tempo alone says nothing else.
    if let Some(bpm) = tempo_bpm.filter(|b| *b >= 165.0) {
        add("drum and bass", 1.0, format!("{} bpm", bpm.round()));
    }
    scores
        .into_iter()
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(row, _, from)| (&GENRES[row], from))
}

/// The genre used when the prompt names none.
pub fn default_genre() -> &'static GenreProfile {
    &GENRES[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_least_25_genres_with_unique_names() {
        assert!(GENRES.len() >= 25, "{}", GENRES.len());
        let mut names: Vec<&str> = GENRES
            .iter()
            .flat_map(|g| std::iter::once(g.name).chain(g.aliases.iter().copied()))
            .collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n, "a name or alias is used twice");
    }

    #[test]
    fn drum_styles_exist_in_the_model() {
        let manifest = include_str!("../../../models/drums/manifest.json");
        for g in GENRES {
            assert!(
                manifest.contains(&format!("\"{}\"", g.drum_style)),
                "{}",
                g.drum_style
            );
        }
    }

    #[test]
    fn aliases_resolve() {
        assert_eq!(genre_by_name("DnB").unwrap().name, "drum and bass");
        assert_eq!(genre_by_name("boom bap").unwrap().name, "hip hop");
        assert!(genre_by_name("polka").is_none());
    }

    #[test]
    fn harmony_families_exist_in_the_model() {
        let manifest = include_str!("../../../models/harmony/manifest.json");
        for g in GENRES {
            assert!(
                manifest.contains(&format!("\"{}\"", g.harmony_family)),
                "{}: {}",
                g.name,
                g.harmony_family
            );
        }
    }

    #[test]
    fn palettes_name_instruments_of_their_tracks() {
        use crate::TrackType;
        for g in GENRES {
            for t in TrackType::ALL {
                assert_eq!(g.instrument(t).track(), t, "{}", g.name);
            }
        }
    }

    #[test]
    fn cues_name_real_genres() {
        for (_, genre, _) in CUES {
            assert!(genre_by_name(genre).is_some(), "{genre}");
        }
    }

    #[test]
    fn defaults_are_inside_ranges() {
        for g in GENRES {
            assert!(
                g.tempo.0 <= g.tempo.1 && g.tempo.1 <= g.tempo.2,
                "{}",
                g.name
            );
            assert!(!g.progression.is_empty());
        }
    }
}
