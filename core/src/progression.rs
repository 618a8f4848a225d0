//! Chord progressions a request names: chord symbols ("Am F C G", "Cmaj7/E Dm7 G7"), roman
//! numerals relative to the key ("ii-V-I", "i-VI-III-VII", "bVII"), a length per chord
//! ("Am:2" or "Am*2" bars) and named forms ("12-bar blues"). Read once at submission, so a
//! progression that cannot be played is refused with its reason; resolved against the key
//! when the context is mapped, one chord per bar, cycling to fill the piece.

use crate::theory::{Added, CHORD_SUFFIXES, Chord, ChordQuality, Key, Mode, parse_pitch_class};

/// Most chords one progression may name (it cycles; a longer one is a song, not a control).
pub const MAX_CHORDS: usize = 64;
/// Longest progression text, in characters.
pub const MAX_TEXT_CHARS: usize = 1024;
/// Most bars one chord may hold.
pub const MAX_BARS_PER_CHORD: u32 = 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProgressionError {
    #[error("chords: the progression is empty")]
    Empty,
    #[error("chords: longer than {MAX_TEXT_CHARS} characters")]
    TooLong,
    #[error("chords: more than {MAX_CHORDS} chords")]
    TooMany,
    #[error(
        "chords: cannot read '{0}': expected a chord symbol (Am, F#m7, Cmaj7/E, Bb7sus4, G°) or a roman numeral (ii, V7, bVII, vi°), optionally ':N' bars"
    )]
    Unreadable(String),
    #[error("chords: '{0}' holds {1} bars; a chord holds 1 to {MAX_BARS_PER_CHORD}")]
    BadLength(String, u32),
}

/// Where a chord's root is: a named pitch, or a degree of the key (with a flat or sharp).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    /// A named note, and whether it was written with a flat (true) or sharp (false).
    Pitch(u8, Option<bool>),
    Degree {
        degree: u8,
        shift: i8,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Named {
    root: Root,
    quality: ChordQuality,
    added: Added,
    bass: Option<u8>,
    bars: u32,
}

/// A progression as the request wrote it, checked but not yet placed in a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progression {
    chords: Vec<Named>,
    /// "12-bar blues": minor keys get the minor blues (i7 iv7 v7).
    blues: bool,
}

const TWELVE_BAR_MAJOR: &str = "I7 I7 I7 I7 IV7 IV7 I7 I7 V7 IV7 I7 V7";
const TWELVE_BAR_MINOR: &str = "i7 i7 i7 i7 iv7 iv7 i7 i7 v7 iv7 i7 v7";

impl Progression {
    /// Reads "Am F C G", "ii-V-I", "I | V | vi | IV", "Am:2 F:2", "12-bar blues".
    pub fn parse(text: &str) -> Result<Progression, ProgressionError> {
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(ProgressionError::TooLong);
        }
        let t = text.trim();
        let lower = t.to_lowercase();
        if matches!(
            lower.as_str(),
            "12-bar blues" | "12 bar blues" | "twelve-bar blues" | "twelve bar blues"
        ) {
            let mut p = Progression::parse(TWELVE_BAR_MAJOR)?;
            p.blues = true;
            return Ok(p);
        }
        let tokens: Vec<&str> = t
            .split(|c: char| c.is_whitespace() || c == ',' || c == '|')
            .flat_map(split_roman_dashes)
            .filter(|s| !s.is_empty())
            .collect();
        if tokens.is_empty() {
            return Err(ProgressionError::Empty);
        }
        if tokens.len() > MAX_CHORDS {
            return Err(ProgressionError::TooMany);
        }
        let chords = tokens
            .iter()
            .map(|tok| read_chord(tok))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Progression {
            chords,
            blues: false,
        })
    }

    /// The key a progression of chord symbols implies when the request names none: its first
    /// chord's root, minor when that chord is. Roman numerals imply no key.
    pub fn implied_key(&self) -> Option<Key> {
        let first = self.chords.first()?;
        match first.root {
            Root::Pitch(pc, _) => {
                let mode = if matches!(
                    first.quality,
                    ChordQuality::Minor | ChordQuality::Diminished
                ) {
                    Mode::Minor
                } else {
                    Mode::Major
                };
                Some(Key::new(pc, mode))
            }
            Root::Degree { .. } => None,
        }
    }

    /// How many bars one pass of the progression lasts.
    pub fn bars(&self) -> u32 {
        self.chords.iter().map(|c| c.bars).sum()
    }

    /// One pass of the progression in `key`, one chord per bar.
    pub fn resolve(&self, key: &Key) -> Vec<Chord> {
        if let Some(minor) = self.minor_blues(key) {
            return minor.resolve(key);
        }
        let scale = key.scale();
        self.chords
            .iter()
            .flat_map(|n| {
                let root = match n.root {
                    Root::Pitch(pc, _) => pc,
                    Root::Degree { degree, shift } => {
                        ((i32::from(scale[degree as usize]) + i32::from(shift)).rem_euclid(12))
                            as u8
                    }
                };
                let chord = Chord {
                    root,
                    quality: n.quality,
                    degree: key.degree_of(root),
                    added: n.added,
                    bass: n.bass.filter(|b| *b != root),
                };
                std::iter::repeat_n(chord, n.bars as usize)
            })
            .collect()
    }

    /// The symbols of one pass in `key`, one per bar: as written (a "Bb" stays Bb in a sharp
    /// key), numerals spelled by the key.
    pub fn symbols(&self, key: &Key) -> Vec<String> {
        if let Some(minor) = self.minor_blues(key) {
            return minor.symbols(key);
        }
        let chords = self.resolve(key);
        let spellings = self.chords.iter().flat_map(|n| {
            let names = match n.root {
                Root::Pitch(_, Some(true)) => crate::theory::FLAT_NAMES,
                Root::Pitch(_, Some(false)) => crate::theory::SHARP_NAMES,
                _ => key.names(),
            };
            std::iter::repeat_n(names, n.bars as usize)
        });
        chords
            .iter()
            .zip(spellings)
            .map(|(c, names)| c.symbol_spelled(names))
            .collect()
    }

    /// The symbols over `bars` bars, cycling with [`Self::per_bar`].
    pub fn symbols_per_bar(&self, key: &Key, bars: u32) -> Vec<String> {
        cycle(self.symbols(key), bars)
    }

    /// "12-bar blues" in a minor key is the minor blues.
    fn minor_blues(&self, key: &Key) -> Option<Progression> {
        (self.blues && key.mode.is_minor())
            .then(|| Progression::parse(TWELVE_BAR_MINOR).ok())
            .flatten()
    }

    /// The progression over `bars` bars, cycling.
    pub fn per_bar(&self, key: &Key, bars: u32) -> Vec<Chord> {
        cycle(self.resolve(key), bars)
    }
}

/// One pass repeated to fill `bars` bars.
fn cycle<T: Clone>(pass: Vec<T>, bars: u32) -> Vec<T> {
    if pass.is_empty() {
        return pass;
    }
    (0..bars as usize)
        .map(|b| pass[b % pass.len()].clone())
        .collect()
}

/// The progression a prompt names, as text [`Progression::parse`] reads, and the prompt
/// with those words blanked (so "Am" is not also read as a key, nor "12-bar" as a length):
/// "chords Am F C G", "chords: ii-V-I", a dashed numeral run ("i-VI-III-VII") or
/// "12-bar blues" (whose "blues" stays, the genre). Case matters here (ii vs II), so this
/// reads the prompt before it is lower-cased.
pub fn find_in_prompt(prompt: &str) -> (Option<String>, String) {
    let words: Vec<(usize, &str)> = prompt
        .split_whitespace()
        .map(|w| (w.as_ptr() as usize - prompt.as_ptr() as usize, w))
        .collect();
    let mut rest = prompt.to_string();
    let blank = |rest: &mut String, from: usize, to: usize| {
        rest.replace_range(from..to, &" ".repeat(to - from));
    };
    for (i, (at, w)) in words.iter().enumerate() {
        let lower = w.to_lowercase();
        if matches!(bare(&lower), "12-bar" | "twelve-bar")
            && words
                .get(i + 1)
                .is_some_and(|(_, n)| bare(&n.to_lowercase()) == "blues")
        {
            blank(&mut rest, *at, at + w.len());
            return (Some("12-bar blues".to_string()), rest);
        }
        if matches!(
            bare(&lower),
            "chords" | "chords:" | "progression" | "progression:"
        ) {
            let mut taken = Vec::new();
            let mut end = at + w.len();
            for (at2, w2) in &words[i + 1..] {
                let b = bare(w2).trim_end_matches(':');
                if b.is_empty() || Progression::parse(b).is_err() {
                    break;
                }
                taken.push(b);
                end = at2 + w2.len();
                if w2.ends_with(['.', ';', '!', '?']) {
                    break;
                }
            }
            if !taken.is_empty() {
                blank(&mut rest, *at, end);
                return (Some(taken.join(" ")), rest);
            }
        }
        let b = bare(w);
        if b.contains('-') && split_roman_dashes(b).len() > 1 && Progression::parse(b).is_ok() {
            blank(&mut rest, *at, at + b.len());
            return (Some(b.to_string()), rest);
        }
    }
    (None, rest)
}

/// A word without the punctuation that ends a clause.
fn bare(w: &str) -> &str {
    w.trim_end_matches([',', '.', ';', '!', '?'])
}

/// "ii-V-I" is three chords; "C-7" (C minor seventh) and "Bb-" are one.
fn split_roman_dashes(tok: &str) -> Vec<&str> {
    let parts: Vec<&str> = tok.split('-').collect();
    if parts.len() > 1
        && parts
            .iter()
            .all(|p| !p.is_empty() && roman_prefix(p).is_some())
    {
        parts
    } else {
        vec![tok]
    }
}

/// A leading roman numeral (with an optional flat or sharp): (degree, shift, upper case,
/// bytes read).
fn roman_prefix(s: &str) -> Option<(u8, i8, bool, usize)> {
    let (shift, start) = match s.chars().next()? {
        'b' | '♭' if s.len() > 1 => (-1i8, s.chars().next()?.len_utf8()),
        '#' | '♯' => (1, s.chars().next()?.len_utf8()),
        _ => (0, 0),
    };
    let rest = &s[start..];
    // longest numeral first: "vii" before "vi" before "v"
    const NUMERALS: [(&str, u8); 7] = [
        ("vii", 6),
        ("iii", 2),
        ("iv", 3),
        ("vi", 5),
        ("ii", 1),
        ("v", 4),
        ("i", 0),
    ];
    for (n, degree) in NUMERALS {
        let Some(head) = rest.get(..n.len()) else {
            continue;
        };
        let upper = head == n.to_uppercase();
        if head == n || upper {
            return Some((degree, shift, upper, start + n.len()));
        }
    }
    None
}

fn read_chord(tok: &str) -> Result<Named, ProgressionError> {
    let unreadable = || ProgressionError::Unreadable(tok.to_string());
    let (body, bars) = match tok.rsplit_once([':', '*']) {
        Some((b, n)) => {
            let n: u32 = n.parse().map_err(|_| unreadable())?;
            (b, n)
        }
        None => (tok, 1),
    };
    if !(1..=MAX_BARS_PER_CHORD).contains(&bars) {
        return Err(ProgressionError::BadLength(tok.to_string(), bars));
    }
    let (body, bass) = match body.split_once('/') {
        Some((b, slash)) => (b, Some(parse_pitch_class(slash).ok_or_else(unreadable)?)),
        None => (body, None),
    };
    // A capital A–G is a chord symbol ("Bb", "E7"); otherwise a numeral when one reads
    // ("bVII", "vi°"); otherwise a lower-case letter chord ("bm" is B minor).
    let first = body.chars().next().ok_or_else(unreadable)?;
    let numeral = if "ABCDEFG".contains(first) {
        None
    } else {
        roman_prefix(body)
    };
    if let Some((degree, shift, upper, used)) = numeral {
        let suffix = &body[used..];
        let (quality, added) = roman_quality(suffix, upper).ok_or_else(unreadable)?;
        return Ok(Named {
            root: Root::Degree { degree, shift },
            quality,
            added,
            bass,
            bars,
        });
    }
    let letter_len = first.len_utf8();
    let mut root_len = letter_len;
    let mut accidental = None;
    for (acc, flat) in [("#", false), ("♯", false), ("b", true), ("♭", true)] {
        if body[letter_len..].starts_with(acc) {
            root_len += acc.len();
            accidental = Some(flat);
            break;
        }
    }
    let root = parse_pitch_class(&body[..root_len]).ok_or_else(unreadable)?;
    let (quality, added) = suffix_meaning(&body[root_len..]).ok_or_else(unreadable)?;
    Ok(Named {
        root: Root::Pitch(root, accidental),
        quality,
        added,
        bass,
        bars,
    })
}

fn suffix_meaning(suffix: &str) -> Option<(ChordQuality, Added)> {
    CHORD_SUFFIXES
        .iter()
        .find(|(s, _, _)| *s == suffix)
        .map(|(_, q, a)| (*q, Added::of(a)))
}

/// A numeral's quality: its case (V major, ii minor), then ° / + / ø marks, then any suffix
/// a chord symbol may carry ("V7", "ii7" = m7, "IVmaj7", "Vsus4").
fn roman_quality(suffix: &str, upper: bool) -> Option<(ChordQuality, Added)> {
    let (mark, rest) = match suffix.chars().next() {
        Some(c @ ('°' | 'o' | '+' | 'ø')) => (Some(c), &suffix[c.len_utf8()..]),
        _ => (None, suffix),
    };
    let base = match mark {
        Some('°' | 'o') => ChordQuality::Diminished,
        Some('+') => ChordQuality::Augmented,
        Some('ø') => return Some((ChordQuality::Diminished, Added::of(&[10]))),
        _ if upper => ChordQuality::Major,
        _ => ChordQuality::Minor,
    };
    if rest.is_empty() {
        return Some((base, Added::NONE));
    }
    let (q, added) = suffix_meaning(rest)?;
    // "ii7": a seventh on a minor numeral is m7; "V7" dominant; "vii°7" fully diminished.
    let quality = match (base, q) {
        (ChordQuality::Major, q) => q,
        (base, ChordQuality::Major) => base,
        (_, q) => q,
    };
    Some((quality, added))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbols(text: &str, key: &str) -> Vec<String> {
        let key = Key::parse(key).expect("key");
        Progression::parse(text).expect("reads").symbols(&key)
    }

    #[test]
    fn chord_symbols_keep_their_qualities() {
        assert_eq!(
            symbols("Am F C G", "A minor"),
            ["Am", "F", "C", "G"].map(String::from)
        );
        assert_eq!(
            symbols(
                "Cmaj7/E, Dm7 | G7 F#m7b5 Bbsus2 Ebaug Bdim7 A9 Gsus4",
                "C major"
            ),
            [
                "Cmaj7/E", "Dm7", "G7", "F#m7b5", "Bbsus2", "Ebaug", "Bdim7", "A9", "Gsus4"
            ]
            .map(String::from)
        );
        assert_eq!(
            symbols("Am:2 F*2", "A minor"),
            ["Am", "Am", "F", "F"].map(String::from)
        );
    }

    #[test]
    fn roman_numerals_follow_the_key() {
        assert_eq!(
            symbols("ii-V-I", "C major"),
            ["Dm", "G", "C"].map(String::from)
        );
        assert_eq!(
            symbols("ii7-V7-Imaj7", "Bb major"),
            ["Cm7", "F7", "Bbmaj7"].map(String::from)
        );
        assert_eq!(
            symbols("i-VI-III-VII", "A minor"),
            ["Am", "F", "C", "G"].map(String::from)
        );
        assert_eq!(
            symbols("I bVII IV", "D major"),
            ["D", "C", "G"].map(String::from)
        );
        assert_eq!(
            symbols("viiø7 vii°", "C major"),
            ["Bm7b5", "Bdim"].map(String::from)
        );
        assert_eq!(symbols("12-bar blues", "E major").len(), 12);
        assert_eq!(symbols("12-bar blues", "A minor")[4], "Dm7");
    }

    #[test]
    fn prompts_name_progressions() {
        let (c, rest) = find_in_prompt("pop song, chords Am F C G, warm pads in A minor");
        assert_eq!(c.as_deref(), Some("Am F C G"));
        assert!(!rest.contains("Am F") && rest.contains("warm pads in A minor"));
        let (c, _) = find_in_prompt("smooth jazz with a ii-V-I in Bb");
        assert_eq!(c.as_deref(), Some("ii-V-I"));
        let (c, rest) = find_in_prompt("a 12-bar blues shuffle");
        assert_eq!(c.as_deref(), Some("12-bar blues"));
        assert!(rest.contains("blues shuffle") && !rest.contains("12"));
        assert_eq!(find_in_prompt("dark techno at 128 bpm").0, None);
        assert_eq!(find_in_prompt("hip-hop with lo-fi chords").0, None);
    }

    #[test]
    fn a_key_is_implied_by_the_first_chord() {
        let p = Progression::parse("Em C G D").expect("reads");
        assert_eq!(p.implied_key(), Some(Key::new(4, Mode::Minor)));
        assert_eq!(
            Progression::parse("I V").expect("reads").implied_key(),
            None
        );
    }

    #[test]
    fn unplayable_progressions_say_why() {
        assert!(matches!(
            Progression::parse("Am Hm"),
            Err(ProgressionError::Unreadable(t)) if t == "Hm"
        ));
        assert!(matches!(
            Progression::parse("C:0"),
            Err(ProgressionError::BadLength(_, 0))
        ));
        assert_eq!(Progression::parse(" , "), Err(ProgressionError::Empty));
        assert_eq!(
            Progression::parse(&"C ".repeat(65)),
            Err(ProgressionError::TooMany)
        );
        assert!(Progression::parse("Cxyz").is_err());
    }
}
