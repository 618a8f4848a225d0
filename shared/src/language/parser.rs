//! PromptParser: reads the musical facts a producer would hear in a prompt — genre, mood,
//! tempo, key, duration, energy, instruments to leave out — and lists the words it skipped.

use super::genre::{GENRES, GenreProfile, default_genre};
use crate::theory::{Key, Mode, parse_pitch_class};
use crate::track::TrackType;
use serde::{Deserialize, Serialize};

/// What the parser understood.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParsedPrompt {
    /// Canonical genre name; the default genre when none was named.
    pub genre: String,
    /// Whether the genre came from the prompt (false: default).
    pub genre_from_prompt: bool,
    pub moods: Vec<String>,
    pub tempo_bpm: Option<f64>,
    pub key: Option<Key>,
    pub duration_seconds: Option<f64>,
    pub bars: Option<u32>,
    /// 0..1, from genre and mood words.
    pub energy: f32,
    /// Tracks the prompt asked to leave out ("no melody", "without drums", "drums only").
    pub excluded_tracks: Vec<TrackType>,
    pub unknown_words: Vec<String>,
}

/// Mood words and the energy and mode they imply.
const MOODS: &[(&str, f32, Option<Mode>)] = &[
    ("dark", 0.0, Some(Mode::Minor)),
    ("sad", -0.2, Some(Mode::Minor)),
    ("melancholic", -0.2, Some(Mode::Minor)),
    ("moody", -0.1, Some(Mode::Minor)),
    ("happy", 0.1, Some(Mode::Major)),
    ("uplifting", 0.15, Some(Mode::Major)),
    ("bright", 0.05, Some(Mode::Major)),
    ("chill", -0.25, None),
    ("relaxed", -0.25, None),
    ("dreamy", -0.2, Some(Mode::Lydian)),
    ("mellow", -0.2, None),
    ("aggressive", 0.25, Some(Mode::Phrygian)),
    ("driving", 0.15, None),
    ("energetic", 0.2, None),
    ("hard", 0.2, None),
    ("epic", 0.15, None),
    ("groovy", 0.05, None),
    ("funky", 0.05, Some(Mode::Dorian)),
];

/// Words that carry no musical fact of their own.
const FILLER: &[&str] = &[
    "a", "an", "the", "with", "and", "at", "in", "of", "for", "to", "some", "track", "beat",
    "song", "music", "loop", "vibe", "vibes", "feel", "style", "bass", "drums", "melody",
    "harmony", "key", "bpm", "tempo", "seconds", "second", "secs", "sec", "s", "minutes", "minute",
    "min", "mins", "bars", "bar", "long", "please", "make", "me", "like", "that", "is", "on", "by",
    "very", "really", "no", "without", "only", "just", "sound", "sounds", "major", "minor", "kick",
    "synth", "pads", "pad", "chords",
];

pub struct PromptParser;

impl PromptParser {
    pub fn parse(prompt: &str) -> ParsedPrompt {
        let lower = prompt.to_lowercase();
        let (genre, genre_from_prompt, genre_spans) = find_genre(&lower);
        let tokens = tokenize(&lower);
        let mut consumed = vec![false; tokens.len()];
        for (i, t) in tokens.iter().enumerate() {
            if genre_spans.iter().any(|g| g.split(' ').any(|w| w == t)) {
                consumed[i] = true;
            }
        }

        let tempo = find_tempo(&tokens, &mut consumed);
        let key = find_key(&tokens, &mut consumed);
        let (duration_seconds, bars) = find_duration(&tokens, &mut consumed);
        let excluded_tracks = find_exclusions(&tokens, &mut consumed);

        let mut moods = Vec::new();
        let mut energy = genre.energy;
        for (i, t) in tokens.iter().enumerate() {
            if let Some((m, e, _)) = MOODS.iter().find(|(m, _, _)| m == t) {
                moods.push(m.to_string());
                energy += e;
                consumed[i] = true;
            }
        }
        let unknown_words = tokens
            .iter()
            .zip(&consumed)
            .filter(|(t, c)| !**c && !FILLER.contains(&t.as_str()) && t.parse::<f64>().is_err())
            .map(|(t, _)| t.clone())
            .collect();

        ParsedPrompt {
            genre: genre.name.to_string(),
            genre_from_prompt,
            moods,
            tempo_bpm: tempo,
            key,
            duration_seconds,
            bars,
            energy: energy.clamp(0.0, 1.0),
            excluded_tracks,
            unknown_words,
        }
    }

    /// The mode the moods imply, if any (first mood with a mode wins).
    pub fn mood_mode(parsed: &ParsedPrompt) -> Option<Mode> {
        parsed
            .moods
            .iter()
            .find_map(|m| MOODS.iter().find(|(n, _, _)| n == m).and_then(|x| x.2))
    }
}

fn tokenize(s: &str) -> Vec<String> {
    s.split(|c: char| !(c.is_alphanumeric() || c == '#' || c == ':' || c == '.' || c == '-'))
        .map(|t| t.trim_matches(|c| c == '.' || c == '-'))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// Longest genre name or alias that appears as whole words.
fn find_genre(lower: &str) -> (&'static GenreProfile, bool, Vec<&'static str>) {
    let padded = format!(
        " {} ",
        lower
            .chars()
            .map(|c| if c.is_alphanumeric() || c == '&' || c == '-' {
                c
            } else {
                ' '
            })
            .collect::<String>()
    );
    let mut best: Option<(&GenreProfile, &str)> = None;
    for g in GENRES {
        for name in std::iter::once(&g.name).chain(g.aliases.iter()) {
            if padded.contains(&format!(" {name} "))
                && best.is_none_or(|(_, b)| name.len() > b.len())
            {
                best = Some((g, name));
            }
        }
    }
    match best {
        Some((g, name)) => (g, true, vec![name]),
        None => (default_genre(), false, vec![]),
    }
}

fn find_tempo(tokens: &[String], consumed: &mut [bool]) -> Option<f64> {
    for (i, t) in tokens.iter().enumerate() {
        // "128bpm"
        if let Some(n) = t.strip_suffix("bpm").and_then(|n| n.parse::<f64>().ok()) {
            consumed[i] = true;
            return Some(n);
        }
        // "128 bpm"
        if t == "bpm"
            && i > 0
            && let Ok(n) = tokens[i - 1].parse::<f64>()
        {
            consumed[i - 1] = true;
            consumed[i] = true;
            return Some(n);
        }
        // "tempo 128", "at 128"
        if (t == "tempo" || t == "at") && i + 1 < tokens.len() {
            let next_is_unit = tokens
                .get(i + 2)
                .is_some_and(|u| is_duration_unit(u) || u == "bars" || u == "bar");
            if let Ok(n) = tokens[i + 1].parse::<f64>()
                && !next_is_unit
                && (40.0..=300.0).contains(&n)
            {
                consumed[i] = true;
                consumed[i + 1] = true;
                return Some(n);
            }
        }
    }
    None
}

fn is_duration_unit(t: &str) -> bool {
    matches!(
        t,
        "s" | "sec" | "secs" | "second" | "seconds" | "min" | "mins" | "minute" | "minutes"
    )
}

fn unit_seconds(t: &str) -> Option<f64> {
    match t {
        "s" | "sec" | "secs" | "second" | "seconds" => Some(1.0),
        "min" | "mins" | "minute" | "minutes" | "m" => Some(60.0),
        _ => None,
    }
}

fn find_duration(tokens: &[String], consumed: &mut [bool]) -> (Option<f64>, Option<u32>) {
    for (i, t) in tokens.iter().enumerate() {
        if consumed[i] {
            continue;
        }
        // "1:30"
        if let Some((m, s)) = t.split_once(':')
            && let (Ok(m), Ok(s)) = (m.parse::<u32>(), s.parse::<u32>())
        {
            consumed[i] = true;
            return (Some(f64::from(m * 60 + s)), None);
        }
        // "45s", "2min"
        let split = t.find(|c: char| c.is_alphabetic()).unwrap_or(t.len());
        if split > 0
            && split < t.len()
            && let (Ok(n), Some(u)) = (t[..split].parse::<f64>(), unit_seconds(&t[split..]))
        {
            consumed[i] = true;
            return (Some(n * u), None);
        }
        if let Ok(n) = t.parse::<f64>()
            && let Some(next) = tokens.get(i + 1)
        {
            if let Some(u) = unit_seconds(next) {
                consumed[i] = true;
                consumed[i + 1] = true;
                return (Some(n * u), None);
            }
            if next == "bar" || next == "bars" {
                consumed[i] = true;
                consumed[i + 1] = true;
                return (None, Some(n as u32));
            }
        }
    }
    (None, None)
}

fn find_key(tokens: &[String], consumed: &mut [bool]) -> Option<Key> {
    for i in 0..tokens.len() {
        // "<note> [sharp|flat|#|b] <mode>"
        let note = &tokens[i];
        if parse_pitch_class(note).is_none() && !is_compact_chord_key(note) {
            continue;
        }
        if let Some(next) = tokens.get(i + 1) {
            if let Some(mode) = Mode::parse(next)
                && let Some(pc) = parse_pitch_class(note)
            {
                consumed[i] = true;
                consumed[i + 1] = true;
                return Some(Key::new(pc, mode));
            }
            if let (Some(mode), true) = (
                tokens.get(i + 2).and_then(|m| Mode::parse(m)),
                next == "sharp" || next == "flat",
            ) && let Some(pc) = parse_pitch_class(&format!("{note}{next}"))
            {
                consumed[i..=i + 2].iter_mut().for_each(|c| *c = true);
                return Some(Key::new(pc, mode));
            }
        }
        // "in Am", "key of C#m": compact forms only after "in"/"of" so "a" or "b" alone is not a key
        let after_marker = i > 0 && (tokens[i - 1] == "in" || tokens[i - 1] == "of");
        if after_marker && let Ok(k) = Key::parse(note) {
            consumed[i] = true;
            return Some(k);
        }
    }
    None
}

fn is_compact_chord_key(t: &str) -> bool {
    t.ends_with('m') && parse_pitch_class(&t[..t.len() - 1]).is_some()
}

fn find_exclusions(tokens: &[String], consumed: &mut [bool]) -> Vec<TrackType> {
    let mut out = Vec::new();
    let track_at = |i: usize| tokens.get(i).and_then(|t| TrackType::parse(t).ok());
    for i in 0..tokens.len() {
        let t = tokens[i].as_str();
        if (t == "no" || t == "without")
            && track_at(i + 1).is_some()
            && let Some(tr) = track_at(i + 1)
        {
            consumed[i] = true;
            consumed[i + 1] = true;
            out.push(tr);
        }
        // "drums only"
        if t == "only"
            && i > 0
            && let Some(keep) = track_at(i - 1)
        {
            consumed[i] = true;
            consumed[i - 1] = true;
            out.extend(TrackType::all().into_iter().filter(|x| *x != keep));
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_prompt() {
        let p = PromptParser::parse("dark techno with driving bass at 128 bpm, 30 seconds");
        assert_eq!(p.genre, "techno");
        assert!(p.genre_from_prompt);
        assert_eq!(p.tempo_bpm, Some(128.0));
        assert_eq!(p.duration_seconds, Some(30.0));
        assert_eq!(p.moods, ["dark", "driving"]);
        assert!(p.unknown_words.is_empty(), "{:?}", p.unknown_words);
    }

    #[test]
    fn tempo_forms() {
        for (s, bpm) in [
            ("house 124bpm", 124.0),
            ("house at 122", 122.0),
            ("tempo 90 hip hop", 90.0),
            ("dnb 174 BPM", 174.0),
        ] {
            assert_eq!(PromptParser::parse(s).tempo_bpm, Some(bpm), "{s}");
        }
    }

    #[test]
    fn key_forms() {
        for (s, key) in [
            ("lofi in A minor", "A minor"),
            ("pop in F# major", "F# major"),
            ("house in E flat major", "Eb major"),
            ("trap in Bb minor", "Bb minor"),
            ("techno in Am", "A minor"),
            ("key of C#m", "C# minor"),
            ("funk in D dorian", "D dorian"),
        ] {
            let got = PromptParser::parse(s).key.map(|k| k.to_string());
            assert_eq!(got.as_deref(), Some(key), "{s}");
        }
        assert_eq!(PromptParser::parse("a techno track").key, None);
    }

    #[test]
    fn durations() {
        assert_eq!(
            PromptParser::parse("45s of house").duration_seconds,
            Some(45.0)
        );
        assert_eq!(
            PromptParser::parse("2 minutes of trance").duration_seconds,
            Some(120.0)
        );
        assert_eq!(
            PromptParser::parse("1:30 ambient").duration_seconds,
            Some(90.0)
        );
        assert_eq!(PromptParser::parse("16 bars of techno").bars, Some(16));
        // "at 30 seconds" is a duration, not a tempo
        let p = PromptParser::parse("techno at 30 seconds");
        assert_eq!((p.tempo_bpm, p.duration_seconds), (None, Some(30.0)));
    }

    #[test]
    fn exclusions_and_unknowns() {
        let p = PromptParser::parse("lofi beat with no melody and glorp");
        assert_eq!(p.excluded_tracks, vec![TrackType::parse("melody").unwrap()]);
        assert_eq!(p.unknown_words, ["glorp"]);
        let only = PromptParser::parse("drums only techno");
        assert_eq!(only.excluded_tracks.len(), 3);
    }

    #[test]
    fn any_input_is_safe() {
        for s in ["", "   ", "🎵🎶", "ß∂ƒ 1:xx 99999bpm", &"x".repeat(10_000)] {
            let _ = PromptParser::parse(s);
        }
        assert_eq!(PromptParser::parse("").genre, "techno");
    }
}
