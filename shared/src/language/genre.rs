//! Genre profiles: the defaults a producer would pick for a genre (tempo, swing, mode, drum
//! family, bass idiom, harmony and lead instruments, chord progression).

use crate::theory::Mode;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GenreProfile {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    /// (min, default, max) in bpm.
    pub tempo: (f64, f64, f64),
    /// 0 = straight 16ths, 1 = full triplet swing of the off-16ths.
    pub swing: f32,
    /// Time signature numerator over a quarter note.
    pub beats_per_bar: u32,
    /// Typical modes, the default first.
    pub modes: &'static [Mode],
    /// Default tonic pitch class when the prompt names no key.
    pub tonic: u8,
    /// Genre row of the drum model's conditioning vector (its pattern family).
    pub drum_style: &'static str,
    pub bass_style: BassStyle,
    pub harmony_style: HarmonyStyle,
    pub lead_style: LeadStyle,
    /// Chord progression as 0-based scale degrees, one chord per bar.
    pub progression: &'static [usize],
    pub energy: f32,
    /// The instrument palette a producer reaches for.
    pub palette: &'static [&'static str],
    /// Processing the genre usually gets.
    pub processing: &'static [&'static str],
}

impl GenreProfile {
    /// The genre's default mode.
    pub fn mode(&self) -> Mode {
        self.modes.first().copied().unwrap_or(Mode::Minor)
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
    /// Electric-piano comping.
    Keys,
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
use HarmonyStyle::*;
use LeadStyle::*;
use Mode::{Dorian, Lydian, Major, Minor, Mixolydian, Phrygian};

macro_rules! genre {
    ($name:expr, [$($alias:expr),*], ($lo:expr, $def:expr, $hi:expr), swing $swing:expr, [$($mode:expr),+],
     tonic $tonic:expr, drums $drums:expr, $bass:expr, $harm:expr, $lead:expr, [$($deg:expr),*],
     energy $energy:expr, palette [$($pal:expr),*], processing [$($proc:expr),*]) => {
        GenreProfile {
            name: $name,
            aliases: &[$($alias),*],
            tempo: ($lo, $def, $hi),
            swing: $swing,
            beats_per_bar: 4,
            modes: &[$($mode),+],
            tonic: $tonic,
            drum_style: $drums,
            bass_style: $bass,
            harmony_style: $harm,
            lead_style: $lead,
            progression: &[$($deg),*],
            energy: $energy,
            palette: &[$($pal),*],
            processing: &[$($proc),*],
        }
    };
}

/// The genre table. Drum styles name rows of the drum model's genre vocabulary
/// (models/drums/manifest.json). Aliases are matched as whole words, longest first.
pub const GENRES: &[GenreProfile] = &[
    genre!("techno", ["tekno", "minimal techno", "industrial techno", "acid techno", "hard techno", "detroit techno"], (120.0, 130.0, 150.0), swing 0.0, [Minor, Phrygian],
        tonic 9, drums "techno", Offbeat, Stabs, Saw, [0, 0, 5, 6], energy 0.8, palette ["909 kit", "acid bass", "saw stabs"], processing ["compression", "saturation"]),
    genre!("house", ["chicago house", "classic house", "vocal house"], (115.0, 124.0, 130.0), swing 0.1, [Minor, Dorian],
        tonic 2, drums "house", Offbeat, Keys, Pluck, [0, 5, 2, 6], energy 0.7, palette ["909 kit", "electric piano", "sub bass"], processing ["compression"]),
    genre!("deep house", ["deephouse"], (115.0, 122.0, 125.0), swing 0.15, [Minor, Dorian],
        tonic 7, drums "house", Offbeat, Keys, Bell, [0, 3, 6, 2], energy 0.55, palette ["909 kit", "electric piano", "sub bass"], processing ["warm", "compression"]),
    genre!("tech house", ["techhouse", "tech-house"], (122.0, 126.0, 130.0), swing 0.1, [Minor],
        tonic 5, drums "house", Rolling, Stabs, Pluck, [0, 0, 6, 0], energy 0.75, palette ["909 kit", "rolling bass", "percussion"], processing ["compression", "saturation"]),
    genre!("progressive house", ["prog house"], (120.0, 126.0, 130.0), swing 0.0, [Minor],
        tonic 1, drums "house", Rolling, Pad, Pluck, [0, 5, 2, 6], energy 0.7, palette ["pads", "plucks", "rolling bass"], processing ["wide", "reverb"]),
    genre!("trance", ["psytrance", "psy trance", "goa"], (130.0, 138.0, 145.0), swing 0.0, [Minor],
        tonic 9, drums "trance", Rolling, Pad, Saw, [0, 5, 2, 6], energy 0.85, palette ["supersaw", "rolling bass", "arpeggios"], processing ["wide", "reverb"]),
    genre!("drum and bass", ["dnb", "drum & bass", "drum n bass", "drum'n'bass", "d&b", "jungle", "liquid", "neurofunk"], (160.0, 174.0, 180.0), swing 0.0, [Minor],
        tonic 4, drums "drum_and_bass", Rolling, Pad, Pluck, [0, 5, 3, 4], energy 0.85, palette ["breaks", "reese bass", "pads"], processing ["compression"]),
    genre!("dubstep", ["brostep", "riddim"], (138.0, 140.0, 150.0), swing 0.0, [Minor, Phrygian],
        tonic 5, drums "dubstep", Sub808, Pad, Square, [0, 0, 5, 6], energy 0.8, palette ["wobble bass", "sub bass", "half-time drums"], processing ["distorted", "compression"]),
    genre!("trap", ["drill", "trap beat"], (130.0, 140.0, 160.0), swing 0.0, [Minor, Phrygian],
        tonic 1, drums "trap", Sub808, Pad, Bell, [0, 5, 2, 6], energy 0.7, palette ["808s", "rolling hi-hats", "bells"], processing ["saturation"]),
    genre!("hip hop", ["hiphop", "hip-hop", "boom bap", "boombap", "rap", "old school hip hop"], (80.0, 90.0, 100.0), swing 0.35, [Minor, Dorian],
        tonic 0, drums "hip_hop", KickLocked, Keys, Bell, [0, 3, 5, 4], energy 0.6, palette ["dusty kit", "upright bass", "piano"], processing ["dusty", "compression"]),
    genre!("lo-fi", ["lofi", "lo fi", "chillhop", "lofi hip hop", "lo-fi hip hop", "study beats"], (70.0, 82.0, 95.0), swing 0.45, [Minor, Dorian],
        tonic 2, drums "lofi", KickLocked, Keys, Bell, [0, 3, 6, 2], energy 0.4, palette ["dusty kit", "electric piano", "nylon guitar"], processing ["vinyl", "warm", "lo-fi"]),
    genre!("pop", ["synthpop", "electropop", "dance pop", "k-pop", "kpop"], (95.0, 112.0, 128.0), swing 0.0, [Major],
        tonic 0, drums "pop", KickLocked, Keys, Pluck, [0, 4, 5, 3], energy 0.65, palette ["pop kit", "piano", "plucks"], processing ["compression", "wide"]),
    genre!("synthwave", ["retrowave", "outrun", "80s synth", "darksynth"], (80.0, 100.0, 118.0), swing 0.0, [Minor],
        tonic 4, drums "pop", Octave, Pad, Saw, [0, 5, 2, 6], energy 0.65, palette ["linn drums", "analog pads", "saw lead"], processing ["warm", "wide", "reverb"]),
    genre!("rock", ["indie rock", "alt rock", "punk", "grunge", "rock and roll"], (100.0, 120.0, 170.0), swing 0.0, [Minor, Mixolydian, Major],
        tonic 4, drums "rock", KickLocked, Pad, Saw, [0, 5, 6, 0], energy 0.8, palette ["rock kit", "electric bass", "distorted guitar"], processing ["distorted", "compression"]),
    genre!("metal", ["heavy metal", "metalcore", "thrash", "djent"], (100.0, 140.0, 200.0), swing 0.0, [Phrygian, Minor],
        tonic 4, drums "rock", KickLocked, Pad, Saw, [0, 1, 0, 6], energy 0.95, palette ["double kick", "distorted guitar", "bass"], processing ["distorted", "compression"]),
    genre!("jazz", ["swing", "bebop", "jazzy", "cool jazz", "jazz trio"], (90.0, 140.0, 220.0), swing 0.6, [Major, Dorian],
        tonic 2, drums "jazz", Walking, Keys, Bell, [1, 4, 0, 0], energy 0.5, palette ["brushes kit", "upright bass", "piano"], processing ["warm"]),
    genre!("bossa nova", ["bossa", "bossanova", "samba"], (110.0, 130.0, 145.0), swing 0.0, [Major, Dorian],
        tonic 5, drums "bossa_nova", Walking, Keys, Pluck, [1, 4, 0, 5], energy 0.45, palette ["nylon guitar", "shaker", "upright bass"], processing ["warm"]),
    genre!("latin", ["salsa", "reggaeton", "cumbia", "latin pop"], (90.0, 100.0, 180.0), swing 0.0, [Minor, Major],
        tonic 7, drums "afrobeat", Octave, Stabs, Pluck, [0, 3, 4, 0], energy 0.75, palette ["congas", "piano montuno", "bass"], processing ["compression"]),
    genre!("reggae", ["dub", "roots reggae", "dancehall", "ska"], (65.0, 75.0, 95.0), swing 0.2, [Major, Minor],
        tonic 7, drums "reggae", KickLocked, Stabs, Bell, [0, 3, 0, 4], energy 0.5, palette ["one drop kit", "dub bass", "skank chords"], processing ["reverb", "warm"]),
    genre!("disco", ["nu disco", "nu-disco", "boogie", "italo disco"], (110.0, 118.0, 128.0), swing 0.1, [Minor, Dorian],
        tonic 7, drums "disco", Octave, Stabs, Pluck, [0, 3, 0, 4], energy 0.75, palette ["disco kit", "octave bass", "strings"], processing ["compression", "warm"]),
    genre!("funk", ["p-funk", "g-funk"], (95.0, 108.0, 120.0), swing 0.15, [Dorian, Mixolydian],
        tonic 4, drums "funk", Slap, Stabs, Square, [0, 3, 0, 3], energy 0.75, palette ["funk kit", "slap bass", "clavinet"], processing ["compression"]),
    genre!("r&b", ["rnb", "r and b", "soul", "neo soul", "neo-soul", "motown"], (65.0, 85.0, 105.0), swing 0.25, [Minor, Dorian],
        tonic 3, drums "hip_hop", KickLocked, Keys, Bell, [0, 3, 6, 5], energy 0.5, palette ["soft kit", "electric piano", "sub bass"], processing ["warm"]),
    genre!("ambient", ["drone", "chillout", "new age", "soundscape"], (60.0, 80.0, 100.0), swing 0.0, [Lydian, Major],
        tonic 4, drums "ambient", Sub808, Pad, Bell, [0, 5, 3, 4], energy 0.25, palette ["pads", "bells", "sub"], processing ["reverb", "wide"]),
    genre!("cinematic", ["orchestral", "film score", "soundtrack", "trailer"], (70.0, 90.0, 140.0), swing 0.0, [Minor],
        tonic 2, drums "ambient", Sub808, Pad, Saw, [0, 5, 2, 6], energy 0.6, palette ["strings", "brass", "taikos"], processing ["reverb", "wide"]),
    genre!("garage", ["uk garage", "2-step", "2 step", "two step", "speed garage"], (128.0, 132.0, 138.0), swing 0.3, [Minor],
        tonic 6, drums "garage", KickLocked, Stabs, Pluck, [0, 5, 3, 4], energy 0.7, palette ["2-step kit", "organ stabs", "sub bass"], processing ["compression"]),
    genre!("breakbeat", ["big beat", "nu skool breaks"], (120.0, 130.0, 140.0), swing 0.0, [Minor],
        tonic 9, drums "breakbeat", KickLocked, Stabs, Saw, [0, 0, 6, 5], energy 0.75, palette ["amen break", "acid bass", "stabs"], processing ["distorted", "compression"]),
    genre!("afrobeat", ["afrobeats", "afro house", "afro", "amapiano", "highlife"], (100.0, 110.0, 125.0), swing 0.2, [Major, Dorian],
        tonic 5, drums "afrobeat", KickLocked, Stabs, Pluck, [0, 3, 4, 3], energy 0.7, palette ["shakers", "log drums", "guitar"], processing ["warm"]),
    genre!("country", ["americana", "bluegrass", "folk", "country rock"], (80.0, 110.0, 140.0), swing 0.1, [Major, Mixolydian],
        tonic 7, drums "country", KickLocked, Keys, Pluck, [0, 3, 4, 0], energy 0.55, palette ["steel guitar", "acoustic kit", "bass"], processing ["warm"]),
    genre!("chiptune", ["8-bit", "8bit", "chip tune", "video game", "nes"], (120.0, 140.0, 170.0), swing 0.0, [Major, Minor],
        tonic 0, drums "pop", Octave, Stabs, Square, [0, 5, 3, 4], energy 0.75, palette ["square lead", "pulse bass", "noise drums"], processing ["lo-fi"]),
    genre!("hardstyle", ["hardcore", "gabber", "hard dance", "rawstyle"], (145.0, 150.0, 180.0), swing 0.0, [Minor],
        tonic 9, drums "hardstyle", Offbeat, Pad, Saw, [0, 5, 6, 4], energy 0.95, palette ["distorted kick", "screech lead", "supersaw"], processing ["distorted", "compression"]),
    genre!("trip hop", ["trip-hop", "triphop", "downtempo", "bristol"], (70.0, 85.0, 100.0), swing 0.2, [Minor],
        tonic 7, drums "hip_hop", KickLocked, Pad, Bell, [0, 5, 3, 4], energy 0.4, palette ["dusty breaks", "sub bass", "strings"], processing ["dusty", "vinyl", "reverb"]),
];

/// Looks a genre up by name or alias (case-insensitive).
pub fn genre_by_name(name: &str) -> Option<&'static GenreProfile> {
    let n = name.trim().to_ascii_lowercase();
    GENRES
        .iter()
        .find(|g| g.name == n || g.aliases.contains(&n.as_str()))
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
