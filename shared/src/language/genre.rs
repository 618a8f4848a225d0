//! Genre profiles: the defaults a producer would pick for a genre (tempo, swing, mode, drum
//! family, bass idiom, harmony and lead instruments, chord progression).

use crate::theory::Mode;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GenreProfile {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    /// (min, default, max) in bpm.
    pub tempo: (f64, f64, f64),
    /// 0 = straight 16ths, 1 = full triplet swing of the off-16ths.
    pub swing: f32,
    pub mode: Mode,
    /// Default tonic pitch class when the prompt names no key.
    pub tonic: u8,
    /// Genre row of the drum model's conditioning vector.
    pub drum_style: &'static str,
    pub bass_style: BassStyle,
    pub harmony_style: HarmonyStyle,
    pub lead_style: LeadStyle,
    /// Chord progression as 0-based scale degrees, one chord per bar.
    pub progression: &'static [usize],
    pub energy: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HarmonyStyle {
    /// Sustained detuned-saw pad, one chord per bar.
    Pad,
    /// Short off-beat chord stabs.
    Stabs,
    /// Electric-piano comping.
    Keys,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

macro_rules! genre {
    ($name:expr, [$($alias:expr),*], ($lo:expr, $def:expr, $hi:expr), $swing:expr, $mode:expr, $tonic:expr,
     $drums:expr, $bass:expr, $harm:expr, $lead:expr, [$($deg:expr),*], $energy:expr) => {
        GenreProfile {
            name: $name,
            aliases: &[$($alias),*],
            tempo: ($lo, $def, $hi),
            swing: $swing,
            mode: $mode,
            tonic: $tonic,
            drum_style: $drums,
            bass_style: $bass,
            harmony_style: $harm,
            lead_style: $lead,
            progression: &[$($deg),*],
            energy: $energy,
        }
    };
}

/// The genre table. Drum styles name rows of the drum model's genre vocabulary.
pub const GENRES: &[GenreProfile] = &[
    genre!(
        "techno",
        ["tekno", "minimal techno", "industrial techno"],
        (120.0, 130.0, 145.0),
        0.0,
        Mode::Minor,
        9,
        "techno",
        Offbeat,
        Stabs,
        Saw,
        [0, 0, 5, 6],
        0.8
    ),
    genre!(
        "house",
        ["deep house", "tech house", "progressive house"],
        (115.0, 124.0, 130.0),
        0.1,
        Mode::Minor,
        2,
        "house",
        Offbeat,
        Keys,
        Pluck,
        [0, 5, 2, 6],
        0.7
    ),
    genre!(
        "trance",
        ["psytrance", "uplifting trance"],
        (130.0, 138.0, 145.0),
        0.0,
        Mode::Minor,
        9,
        "trance",
        Rolling,
        Pad,
        Saw,
        [0, 5, 2, 6],
        0.85
    ),
    genre!(
        "drum and bass",
        ["dnb", "drum & bass", "drum n bass", "jungle", "liquid"],
        (160.0, 174.0, 180.0),
        0.0,
        Mode::Minor,
        4,
        "drum_and_bass",
        KickLocked,
        Pad,
        Pluck,
        [0, 5, 3, 4],
        0.85
    ),
    genre!(
        "dubstep",
        ["brostep"],
        (138.0, 140.0, 150.0),
        0.0,
        Mode::Minor,
        5,
        "dubstep",
        Sub808,
        Pad,
        Square,
        [0, 0, 5, 6],
        0.8
    ),
    genre!(
        "hip hop",
        ["hiphop", "hip-hop", "boom bap", "boombap", "rap"],
        (80.0, 90.0, 100.0),
        0.35,
        Mode::Minor,
        0,
        "hip_hop",
        KickLocked,
        Keys,
        Bell,
        [0, 3, 5, 4],
        0.6
    ),
    genre!(
        "trap",
        ["drill"],
        (130.0, 140.0, 160.0),
        0.0,
        Mode::Minor,
        1,
        "trap",
        Sub808,
        Pad,
        Bell,
        [0, 5, 2, 6],
        0.7
    ),
    genre!(
        "lo-fi",
        ["lofi", "lo fi", "chillhop", "lofi hip hop"],
        (70.0, 82.0, 95.0),
        0.45,
        Mode::Dorian,
        2,
        "lofi",
        KickLocked,
        Keys,
        Bell,
        [0, 3, 6, 2],
        0.4
    ),
    genre!(
        "rock",
        ["punk", "indie rock", "metal", "grunge"],
        (100.0, 120.0, 170.0),
        0.0,
        Mode::Minor,
        4,
        "rock",
        KickLocked,
        Pad,
        Saw,
        [0, 5, 6, 0],
        0.8
    ),
    genre!(
        "pop",
        ["synthpop", "electropop", "synthwave", "retrowave"],
        (95.0, 112.0, 128.0),
        0.0,
        Mode::Major,
        0,
        "pop",
        KickLocked,
        Keys,
        Pluck,
        [0, 4, 5, 3],
        0.65
    ),
    genre!(
        "disco",
        ["funk", "nu disco", "nu-disco", "boogie"],
        (110.0, 118.0, 128.0),
        0.15,
        Mode::Minor,
        7,
        "disco",
        Octave,
        Stabs,
        Pluck,
        [0, 3, 0, 4],
        0.75
    ),
    genre!(
        "ambient",
        ["drone", "chillout", "downtempo", "cinematic"],
        (60.0, 80.0, 100.0),
        0.0,
        Mode::Major,
        4,
        "ambient",
        Sub808,
        Pad,
        Bell,
        [0, 5, 3, 4],
        0.25
    ),
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
