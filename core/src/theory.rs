//! Music theory the generators and the parser share: pitch classes, modes, keys, diatonic
//! chords. Pitches are MIDI note numbers; pitch classes are 0..12 with C = 0.

use serde::{Deserialize, Serialize};
use std::fmt;

pub const SHARP_NAMES: [&str; 12] = [
    "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
];
pub const FLAT_NAMES: [&str; 12] = [
    "C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Major,
    Minor,
    Dorian,
    Phrygian,
    Lydian,
    Mixolydian,
    Locrian,
}

impl Mode {
    /// Semitone offsets of the seven scale degrees from the tonic.
    pub fn intervals(self) -> [u8; 7] {
        match self {
            Mode::Major => [0, 2, 4, 5, 7, 9, 11],
            Mode::Minor => [0, 2, 3, 5, 7, 8, 10],
            Mode::Dorian => [0, 2, 3, 5, 7, 9, 10],
            Mode::Phrygian => [0, 1, 3, 5, 7, 8, 10],
            Mode::Lydian => [0, 2, 4, 6, 7, 9, 11],
            Mode::Mixolydian => [0, 2, 4, 5, 7, 9, 10],
            Mode::Locrian => [0, 1, 3, 5, 6, 8, 10],
        }
    }

    pub fn parse(word: &str) -> Option<Mode> {
        Some(match word.to_ascii_lowercase().as_str() {
            "major" | "maj" | "ionian" => Mode::Major,
            "minor" | "min" | "aeolian" => Mode::Minor,
            "dorian" => Mode::Dorian,
            "phrygian" => Mode::Phrygian,
            "lydian" => Mode::Lydian,
            "mixolydian" => Mode::Mixolydian,
            "locrian" => Mode::Locrian,
            _ => return None,
        })
    }

    /// Whether the mode's third is minor (decides spelling and default progressions).
    pub fn is_minor(self) -> bool {
        self.intervals()[2] == 3
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Major => "major",
            Mode::Minor => "minor",
            Mode::Dorian => "dorian",
            Mode::Phrygian => "phrygian",
            Mode::Lydian => "lydian",
            Mode::Mixolydian => "mixolydian",
            Mode::Locrian => "locrian",
        }
    }
}

/// A pitch class name: letter, optional accidental ("#", "b", " sharp", " flat").
pub fn parse_pitch_class(s: &str) -> Option<u8> {
    let s = s.trim().to_ascii_lowercase();
    let mut chars = s.chars();
    let base: i32 = match chars.next()? {
        'c' => 0,
        'd' => 2,
        'e' => 4,
        'f' => 5,
        'g' => 7,
        'a' => 9,
        'b' => 11,
        _ => return None,
    };
    let rest: String = chars.collect();
    let shift = match rest.trim() {
        "" => 0,
        "#" | "♯" | "sharp" | "-sharp" => 1,
        "b" | "♭" | "flat" | "-flat" => -1,
        _ => return None,
    };
    Some((base + shift).rem_euclid(12) as u8)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    pub tonic: u8,
    pub mode: Mode,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read key '{0}': expected e.g. 'A minor', 'F# major', 'Bb minor', 'Am', 'D dorian'")]
pub struct KeyParseError(pub String);

impl Key {
    pub fn new(tonic: u8, mode: Mode) -> Self {
        Key {
            tonic: tonic % 12,
            mode,
        }
    }

    /// Parses "A minor", "F# major", "E flat major", "Bb minor", "Am", "C#m", "D dorian".
    pub fn parse(s: &str) -> Result<Key, KeyParseError> {
        let err = || KeyParseError(s.to_string());
        let t = s.trim();
        let words: Vec<&str> = t.split_whitespace().collect();
        match words.as_slice() {
            [one] => {
                // "Am", "C#m", "Ebm", "F#", "C"
                let (note, mode) = if let Some(n) = one.strip_suffix('m') {
                    (n, Mode::Minor)
                } else {
                    (*one, Mode::Major)
                };
                let tonic = parse_pitch_class(note).ok_or_else(err)?;
                Ok(Key::new(tonic, mode))
            }
            [note, mode] => {
                let tonic = parse_pitch_class(note).ok_or_else(err)?;
                Ok(Key::new(tonic, Mode::parse(mode).ok_or_else(err)?))
            }
            [note, acc, mode] => {
                let tonic = parse_pitch_class(&format!("{note}{acc}")).ok_or_else(err)?;
                Ok(Key::new(tonic, Mode::parse(mode).ok_or_else(err)?))
            }
            _ => Err(err()),
        }
    }

    /// Whether the key signature has flats (F, Bb, Eb, Ab, Db major and their relatives).
    pub fn uses_flats(&self) -> bool {
        // The major key sharing this key's signature: the tonic minus the mode's offset
        // from ionian, i.e. the pitch class whose major scale equals this scale.
        let ionian = Mode::Major.intervals();
        let scale = self.scale();
        let relative_major = (0..12u8)
            .find(|t| {
                let s: Vec<u8> = ionian.iter().map(|i| (t + i) % 12).collect();
                scale.iter().all(|p| s.contains(p))
            })
            .unwrap_or(self.tonic);
        // Six accidentals either way: minor keys read as flats (Eb minor), major as sharps (F#).
        [5u8, 10, 3, 8, 1].contains(&relative_major)
            || (relative_major == 6 && self.mode.is_minor())
    }

    pub fn names(&self) -> [&'static str; 12] {
        if self.uses_flats() {
            FLAT_NAMES
        } else {
            SHARP_NAMES
        }
    }

    pub fn tonic_name(&self) -> &'static str {
        self.names()[self.tonic as usize]
    }

    /// Pitch classes of the scale, degree 1 first.
    pub fn scale(&self) -> [u8; 7] {
        self.mode.intervals().map(|i| (self.tonic + i) % 12)
    }

    pub fn contains(&self, pitch_class: u8) -> bool {
        self.scale().contains(&(pitch_class % 12))
    }

    /// The diatonic triad on a scale degree (0-based), stacked in thirds.
    pub fn triad(&self, degree: usize) -> Chord {
        let scale = self.scale();
        let root = scale[degree % 7];
        let third = (scale[(degree + 2) % 7] + 12 - root) % 12;
        let fifth = (scale[(degree + 4) % 7] + 12 - root) % 12;
        let quality = match (third, fifth) {
            (4, 7) => ChordQuality::Major,
            (3, 7) => ChordQuality::Minor,
            (3, 6) => ChordQuality::Diminished,
            (4, 8) => ChordQuality::Augmented,
            _ => ChordQuality::Major,
        };
        Chord {
            root,
            quality,
            degree: degree as u8 % 7,
            added: Added::NONE,
            bass: None,
        }
    }

    /// The scale degree (0-based) a chord rooted on `pc` stands on: its own where `pc` is in
    /// the key, else the degree just below (a bVII in major stands on the sixth).
    pub fn degree_of(&self, pc: u8) -> u8 {
        let scale = self.scale();
        let up = |from: u8| (pc % 12 + 12 - from) % 12;
        (0..7u8).min_by_key(|&d| up(scale[d as usize])).unwrap_or(0)
    }

    /// Whether `other` shares this key's notes with another tonic (C major / A minor): a
    /// listener, or a key finder, may hear either.
    pub fn is_relative_of(&self, other: &Key) -> bool {
        self != other && {
            let mut a = self.scale();
            let mut b = other.scale();
            a.sort_unstable();
            b.sort_unstable();
            a == b
        }
    }

    /// The MIDI pitch of this key's scale degree `degree` (may be negative or > 6) above `base`,
    /// where `base` is the tonic's MIDI pitch.
    pub fn degree_pitch(&self, base: i32, degree: i32) -> i32 {
        let iv = self.mode.intervals();
        let oct = degree.div_euclid(7);
        let d = degree.rem_euclid(7) as usize;
        base + 12 * oct + iv[d] as i32
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.tonic_name(), self.mode.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChordQuality {
    Major,
    Minor,
    Diminished,
    Augmented,
    /// The third replaced by the second (a requested "Csus2").
    Sus2,
    /// The third replaced by the fourth (a requested "Gsus4", "G7sus4").
    Sus4,
}

/// Notes a named chord carries beyond its three-note core, as semitones above the root
/// (maj7 = 11, 7 = 10, 6 = 9, 9 = 14, b9 = 13): a set, so it stays `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Added(u32);

impl Added {
    pub const NONE: Added = Added(0);

    pub fn of(intervals: &[u8]) -> Added {
        Added(intervals.iter().fold(0, |m, &i| m | 1 << (i % 32)))
    }

    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// The added intervals, lowest first.
    pub fn intervals(self) -> impl Iterator<Item = u8> {
        (0..32u8).filter(move |i| self.0 & (1 << i) != 0)
    }
}

/// Chord symbols as written and what they mean: (suffix, core, added intervals). The first
/// suffix of a meaning is how the system writes it; the rest are read as aliases.
pub const CHORD_SUFFIXES: &[(&str, ChordQuality, &[u8])] = &[
    ("", ChordQuality::Major, &[]),
    ("m", ChordQuality::Minor, &[]),
    ("dim", ChordQuality::Diminished, &[]),
    ("aug", ChordQuality::Augmented, &[]),
    ("sus2", ChordQuality::Sus2, &[]),
    ("sus4", ChordQuality::Sus4, &[]),
    ("maj7", ChordQuality::Major, &[11]),
    ("7", ChordQuality::Major, &[10]),
    ("m7", ChordQuality::Minor, &[10]),
    ("mmaj7", ChordQuality::Minor, &[11]),
    ("m7b5", ChordQuality::Diminished, &[10]),
    ("dim7", ChordQuality::Diminished, &[9]),
    ("aug7", ChordQuality::Augmented, &[10]),
    ("6", ChordQuality::Major, &[9]),
    ("m6", ChordQuality::Minor, &[9]),
    ("add9", ChordQuality::Major, &[14]),
    ("madd9", ChordQuality::Minor, &[14]),
    ("9", ChordQuality::Major, &[10, 14]),
    ("maj9", ChordQuality::Major, &[11, 14]),
    ("m9", ChordQuality::Minor, &[10, 14]),
    ("7b9", ChordQuality::Major, &[10, 13]),
    ("7sus4", ChordQuality::Sus4, &[10]),
    ("7sus2", ChordQuality::Sus2, &[10]),
    // aliases
    ("maj", ChordQuality::Major, &[]),
    ("M", ChordQuality::Major, &[]),
    ("min", ChordQuality::Minor, &[]),
    ("-", ChordQuality::Minor, &[]),
    ("o", ChordQuality::Diminished, &[]),
    ("°", ChordQuality::Diminished, &[]),
    ("+", ChordQuality::Augmented, &[]),
    ("sus", ChordQuality::Sus4, &[]),
    ("M7", ChordQuality::Major, &[11]),
    ("Δ", ChordQuality::Major, &[11]),
    ("Δ7", ChordQuality::Major, &[11]),
    ("ma7", ChordQuality::Major, &[11]),
    ("min7", ChordQuality::Minor, &[10]),
    ("-7", ChordQuality::Minor, &[10]),
    ("ø", ChordQuality::Diminished, &[10]),
    ("ø7", ChordQuality::Diminished, &[10]),
    ("o7", ChordQuality::Diminished, &[9]),
    ("°7", ChordQuality::Diminished, &[9]),
    ("+7", ChordQuality::Augmented, &[10]),
    ("min9", ChordQuality::Minor, &[10, 14]),
    ("M9", ChordQuality::Major, &[11, 14]),
    ("2", ChordQuality::Sus2, &[]),
    ("4", ChordQuality::Sus4, &[]),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chord {
    pub root: u8,
    pub quality: ChordQuality,
    /// Scale degree of the root in the key, 0-based.
    pub degree: u8,
    /// Notes beyond the core a request named (maj7, 9, …); planned chords carry none and
    /// take the genre's colour instead.
    #[serde(default, skip_serializing_if = "Added::is_empty")]
    pub added: Added,
    /// A slash chord's bass note (pitch class), when it is not the root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bass: Option<u8>,
}

impl Chord {
    /// Semitones of the chord tones above the root.
    pub fn intervals(&self) -> [u8; 3] {
        match self.quality {
            ChordQuality::Major => [0, 4, 7],
            ChordQuality::Minor => [0, 3, 7],
            ChordQuality::Diminished => [0, 3, 6],
            ChordQuality::Augmented => [0, 4, 8],
            ChordQuality::Sus2 => [0, 2, 7],
            ChordQuality::Sus4 => [0, 5, 7],
        }
    }

    /// Every pitch class the chord sounds: its core, what it adds and a slash bass.
    pub fn tones(&self) -> Vec<u8> {
        let mut t: Vec<u8> = self.pitch_classes().to_vec();
        t.extend(self.added.intervals().map(|i| (self.root + i) % 12));
        t.extend(self.bass);
        t.sort_unstable();
        t.dedup();
        t
    }

    /// Whether the chord names its notes exactly (a requested chord with a seventh, a sus or
    /// a slash bass), so a voicing must not colour it with the genre's extensions.
    pub fn is_spelled(&self) -> bool {
        !self.added.is_empty()
            || self.bass.is_some()
            || matches!(self.quality, ChordQuality::Sus2 | ChordQuality::Sus4)
    }

    pub fn pitch_classes(&self) -> [u8; 3] {
        self.intervals().map(|i| (self.root + i) % 12)
    }

    /// The dominant of a minor key as the harmonic minor has it: the V chord major, its
    /// third the leading tone (E–G#–B in A minor), which tells the ear the tonic is A, not the
    /// relative C major. Other chords are returned as they are.
    pub fn harmonic_dominant(self, key: &Key) -> Chord {
        if key.mode == Mode::Minor && self.degree == 4 && self.quality == ChordQuality::Minor {
            Chord {
                quality: ChordQuality::Major,
                ..self
            }
        } else {
            self
        }
    }

    /// Whether a line may sound `pc` over this chord in `key`: any chord tone, or a note of
    /// the key that does not rub a semitone against a chord tone from outside the key (no G
    /// over the E major dominant of A minor).
    pub fn admits(&self, key: &Key, pc: u8) -> bool {
        let pc = pc % 12;
        let tones = self.tones();
        if tones.contains(&pc) {
            return true;
        }
        let rubs = |t: u8| (t + 12 - pc) % 12 == 1 || (pc + 12 - t) % 12 == 1;
        key.contains(pc) && !tones.iter().any(|t| !key.contains(*t) && rubs(*t))
    }

    pub fn symbol(&self, key: &Key) -> String {
        self.symbol_spelled(key.names())
    }

    /// The symbol with the note names given (a requested "Bb" stays Bb in a sharp key).
    pub fn symbol_spelled(&self, names: [&str; 12]) -> String {
        let suffix = CHORD_SUFFIXES
            .iter()
            .find(|(_, q, added)| *q == self.quality && Added::of(added) == self.added)
            .map_or("", |(s, _, _)| s);
        match self.bass {
            Some(b) => format!(
                "{}{suffix}/{}",
                names[self.root as usize], names[b as usize]
            ),
            None => format!("{}{suffix}", names[self.root as usize]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_minor_dominant_carries_the_leading_tone() {
        let a = Key::parse("A minor").unwrap();
        let v = a.triad(4).harmonic_dominant(&a);
        assert_eq!(v.symbol(&a), "E");
        assert!(v.pitch_classes().contains(&8), "G#");
        assert!(
            v.admits(&a, 8) && v.admits(&a, 2) && !v.admits(&a, 7),
            "no G over E major"
        );
        let c = Key::parse("C major").unwrap();
        assert_eq!(c.triad(4).harmonic_dominant(&c), c.triad(4));
        assert!(c.triad(0).admits(&c, 2) && !c.triad(0).admits(&c, 1));
    }

    #[test]
    fn relative_keys_share_their_notes() {
        let c = Key::parse("C major").unwrap();
        assert!(Key::parse("A minor").unwrap().is_relative_of(&c));
        assert!(Key::parse("D dorian").unwrap().is_relative_of(&c));
        assert!(!Key::parse("E minor").unwrap().is_relative_of(&c));
        assert!(!c.is_relative_of(&c));
    }

    #[test]
    fn parses_key_spellings() {
        let cases = [
            ("A minor", 9, Mode::Minor),
            ("F# major", 6, Mode::Major),
            ("E flat major", 3, Mode::Major),
            ("Bb minor", 10, Mode::Minor),
            ("Am", 9, Mode::Minor),
            ("C#m", 1, Mode::Minor),
            ("D dorian", 2, Mode::Dorian),
            ("g", 7, Mode::Major),
        ];
        for (s, tonic, mode) in cases {
            assert_eq!(Key::parse(s).unwrap(), Key::new(tonic, mode), "{s}");
        }
        assert!(Key::parse("H major").is_err());
        assert!(Key::parse("A sideways").is_err());
    }

    #[test]
    fn diatonic_triads_in_a_minor() {
        let k = Key::parse("A minor").unwrap();
        let symbols: Vec<String> = (0..7).map(|d| k.triad(d).symbol(&k)).collect();
        assert_eq!(symbols, ["Am", "Bdim", "C", "Dm", "Em", "F", "G"]);
    }

    #[test]
    fn chords_spelled_by_key_signature() {
        let c = Key::parse("C minor").unwrap();
        let symbols: Vec<String> = (0..7).map(|d| c.triad(d).symbol(&c)).collect();
        assert_eq!(symbols, ["Cm", "Ddim", "Eb", "Fm", "Gm", "Ab", "Bb"]);
        let d = Key::parse("D dorian").unwrap();
        assert_eq!(d.triad(2).symbol(&d), "F");
        let e = Key::parse("E major").unwrap();
        assert_eq!(e.triad(2).symbol(&e), "G#m");
    }

    #[test]
    fn key_display_spells_flats() {
        assert_eq!(Key::parse("Bb minor").unwrap().to_string(), "Bb minor");
        assert_eq!(Key::parse("F# major").unwrap().to_string(), "F# major");
    }
}
