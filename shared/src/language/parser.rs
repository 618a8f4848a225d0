//! PromptParser: reads the musical facts a producer would hear in a prompt — genres, moods,
//! tempo (numbers, ranges, words), key and mode, time signature, duration (seconds, minutes,
//! m:ss, bars), energy, tracks to leave out, instrument descriptors, structure and processing
//! words — and lists the words it did not understand.
//!
//! Matching is by whole words and phrases on a lower-cased token list; each token is claimed
//! by at most one fact, longest phrases first.

use super::genre::{GENRES, GenreProfile, default_genre, genre_by_name};
use super::vocabulary::{
    DESCRIPTORS, FILLER, MOODS, PROCESSING, STRUCTURE, TEMPO_WORDS, TRACK_WORDS,
};
use crate::theory::{Key, Mode, parse_pitch_class};
use crate::track::TrackType;
use serde::{Deserialize, Serialize};

/// Longest prompt text the parser reads; submission caps prompts far lower.
pub const MAX_PARSE_BYTES: usize = 16 * 1024;

/// An instrument descriptor attached to a track ("808" → bass, "piano" → harmony).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstrumentDescriptor {
    pub track: TrackType,
    pub descriptor: String,
}

/// What the parser understood.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParsedPrompt {
    /// Primary genre (the last one named — "jazzy hip hop" is hip hop), or the default.
    pub genre: String,
    /// Every genre named, in order.
    #[serde(default)]
    pub genres: Vec<String>,
    /// Whether the genre came from the prompt (false: default).
    pub genre_from_prompt: bool,
    pub moods: Vec<String>,
    pub tempo_bpm: Option<f64>,
    /// A tempo range as written ("120-130 bpm").
    #[serde(default)]
    pub tempo_range: Option<(f64, f64)>,
    /// slow, mid-tempo, fast, half-time, double-time (resolved against the genre).
    #[serde(default)]
    pub tempo_word: Option<String>,
    pub key: Option<Key>,
    #[serde(default)]
    pub time_signature: Option<(u32, u32)>,
    pub duration_seconds: Option<f64>,
    pub bars: Option<u32>,
    /// 0..1, from genre, mood and energy words.
    pub energy: f32,
    /// Tracks the prompt asked to leave out ("no melody", "drums only", "just bass and drums").
    pub excluded_tracks: Vec<TrackType>,
    #[serde(default)]
    pub instruments: Vec<InstrumentDescriptor>,
    #[serde(default)]
    pub structure: Vec<String>,
    #[serde(default)]
    pub processing: Vec<String>,
    pub unknown_words: Vec<String>,
}

pub struct PromptParser;

/// Tokens plus which of them a fact has claimed.
struct Tokens {
    words: Vec<String>,
    used: Vec<bool>,
}

impl Tokens {
    fn new(text: &str) -> Self {
        let words: Vec<String> = text
            .split(|c: char| !(c.is_alphanumeric() || "#:.-&'/♯♭".contains(c)))
            .map(|t| t.trim_matches(|c| ".-'/:".contains(c)))
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect();
        let used = vec![false; words.len()];
        Tokens { words, used }
    }

    fn len(&self) -> usize {
        self.words.len()
    }

    fn get(&self, i: usize) -> Option<&str> {
        self.words.get(i).map(String::as_str)
    }

    fn free(&self, i: usize) -> bool {
        i < self.len() && !self.used[i]
    }

    fn claim(&mut self, from: usize, n: usize) {
        for u in self.used.iter_mut().skip(from).take(n) {
            *u = true;
        }
    }

    /// Whether the free tokens at `i` spell `parts`; returns how many tokens that is.
    fn words_at(&self, i: usize, parts: &[&str]) -> Option<usize> {
        let fits = parts
            .iter()
            .enumerate()
            .all(|(k, p)| self.free(i + k) && self.words[i + k] == *p);
        fits.then_some(parts.len())
    }

    /// Whether the free tokens at `i` spell `phrase` (space-separated words).
    fn phrase_at(&self, i: usize, phrase: &str) -> Option<usize> {
        let parts: Vec<&str> = phrase.split(' ').collect();
        self.words_at(i, &parts)
    }

    /// Finds and claims every occurrence of the phrases, longest first; returns
    /// (position, value) in prompt order.
    fn take_phrases<V: Copy>(&mut self, table: &[(&str, V)]) -> Vec<(usize, V)> {
        let mut sorted: Vec<(Vec<&str>, V)> = table
            .iter()
            .map(|(p, v)| (p.split(' ').collect(), *v))
            .collect();
        sorted.sort_by_key(|(parts, _)| {
            std::cmp::Reverse(parts.len() * 100 + parts.iter().map(|w| w.len()).sum::<usize>())
        });
        // Index token positions by word so each phrase only looks where its first word is.
        let mut at: std::collections::HashMap<&str, Vec<usize>> = std::collections::HashMap::new();
        for (i, w) in self.words.iter().enumerate() {
            at.entry(w.as_str()).or_default().push(i);
        }
        let mut hits: Vec<(usize, usize, V)> = Vec::new();
        {
            let mut claimed = self.used.clone();
            for (parts, value) in &sorted {
                let Some(starts) = at.get(parts[0]) else {
                    continue;
                };
                for &i in starts {
                    let fits = parts.iter().enumerate().all(|(k, p)| {
                        i + k < self.words.len() && !claimed[i + k] && self.words[i + k] == *p
                    });
                    if fits {
                        for c in claimed.iter_mut().skip(i).take(parts.len()) {
                            *c = true;
                        }
                        hits.push((i, parts.len(), *value));
                    }
                }
            }
        }
        for (i, n, _) in &hits {
            self.claim(*i, *n);
        }
        let mut found: Vec<(usize, V)> = hits.into_iter().map(|(i, _, v)| (i, v)).collect();
        found.sort_by_key(|(i, _)| *i);
        found
    }
}

fn number_word(w: &str) -> Option<f64> {
    Some(match w {
        "one" | "a" => 1.0,
        "two" => 2.0,
        "three" => 3.0,
        "four" => 4.0,
        "five" => 5.0,
        "six" => 6.0,
        "eight" => 8.0,
        "ten" => 10.0,
        "twelve" => 12.0,
        "fifteen" => 15.0,
        "sixteen" => 16.0,
        "twenty" => 20.0,
        "thirty" => 30.0,
        "forty-five" => 45.0,
        "sixty" => 60.0,
        "ninety" => 90.0,
        _ => return num(w),
    })
}

/// A finite, non-negative number written with digits.
fn num(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|n| n.is_finite() && *n >= 0.0)
}

fn unit_seconds(t: &str) -> Option<f64> {
    match t {
        "s" | "sec" | "secs" | "second" | "seconds" | "second-long" => Some(1.0),
        "min" | "mins" | "minute" | "minutes" | "minute-long" => Some(60.0),
        _ => None,
    }
}

fn is_bar_word(t: &str) -> bool {
    matches!(t, "bar" | "bars" | "measure" | "measures")
}

impl PromptParser {
    pub fn parse(prompt: &str) -> ParsedPrompt {
        let mut end = prompt.len().min(MAX_PARSE_BYTES);
        while !prompt.is_char_boundary(end) {
            end -= 1;
        }
        let lower = prompt[..end].to_lowercase();
        let mut t = Tokens::new(&lower);

        let genres = find_genres(&mut t);
        // Instrument names first: "808s" is a bass, not 808 seconds.
        let instruments: Vec<InstrumentDescriptor> = t
            .take_phrases(
                &DESCRIPTORS
                    .iter()
                    .map(|(p, tr, d)| (*p, (*tr, *d)))
                    .collect::<Vec<_>>(),
            )
            .into_iter()
            .filter_map(|(_, (tr, d))| {
                TrackType::parse(tr).ok().map(|track| InstrumentDescriptor {
                    track,
                    descriptor: d.to_string(),
                })
            })
            .collect();
        let (duration_seconds, bars) = find_duration(&mut t);
        let time_signature = find_time_signature(&mut t);
        let (tempo_bpm, tempo_range) = find_tempo(&mut t);
        let key = find_key(&mut t);
        let excluded_tracks = find_exclusions(&mut t);
        let structure = dedup(t.take_phrases(STRUCTURE).into_iter().map(|(_, s)| s));
        let mut processing = dedup(t.take_phrases(PROCESSING).into_iter().map(|(_, s)| s));
        let tempo_word = t
            .take_phrases(&TEMPO_WORDS.iter().map(|w| (*w, *w)).collect::<Vec<_>>())
            .first()
            .map(|(_, w)| canonical_tempo_word(w).to_string());

        // Genre: the last named is the head noun; "lo-fi" next to another genre is processing.
        let mut genre_names: Vec<String> = Vec::new();
        for g in &genres {
            if !genre_names.iter().any(|n| n == g.name) {
                genre_names.push(g.name.to_string());
            }
        }
        if genre_names.len() > 1 && genre_names.iter().any(|g| g == "lo-fi") {
            genre_names.retain(|g| g != "lo-fi");
            if !processing.iter().any(|p| p == "lo-fi") {
                processing.push("lo-fi".into());
            }
        }
        // "breaks" alone names the genre; next to one it describes the drums.
        if genre_names.is_empty() && instruments.iter().any(|d| d.descriptor == "breaks") {
            genre_names.push("breakbeat".into());
        }
        let primary = genre_names
            .last()
            .and_then(|g| genre_by_name(g))
            .unwrap_or_else(default_genre);

        let mut energy = primary.energy;
        let mut moods = Vec::new();
        for (phrase, delta) in [
            ("high energy", 0.25f32),
            ("high-energy", 0.25),
            ("low energy", -0.25),
            ("low-energy", -0.25),
        ] {
            for i in 0..t.len() {
                if let Some(n) = t.phrase_at(i, phrase) {
                    t.claim(i, n);
                    energy += delta;
                }
            }
        }
        for i in 0..t.len() {
            if !t.free(i) {
                continue;
            }
            if let Some((m, e, _)) = MOODS.iter().find(|(m, _, _)| *m == t.words[i]) {
                if !moods.iter().any(|x| x == m) {
                    moods.push(m.to_string());
                    energy += e;
                }
                t.claim(i, 1);
            }
        }

        let known = |w: &str| {
            FILLER.contains(&w)
                || TRACK_WORDS.iter().any(|(x, _)| *x == w)
                || matches!(
                    w,
                    "kick"
                        | "kicks"
                        | "snare"
                        | "snares"
                        | "hats"
                        | "hi-hats"
                        | "hihats"
                        | "claps"
                        | "clap"
                        | "synth"
                )
                || number_word(w).is_some()
        };
        let unknown_words = t
            .words
            .iter()
            .zip(&t.used)
            .filter(|(w, used)| !**used && !known(w))
            .map(|(w, _)| w.clone())
            .collect();

        ParsedPrompt {
            genre: primary.name.to_string(),
            genre_from_prompt: !genre_names.is_empty(),
            genres: genre_names,
            moods,
            tempo_bpm,
            tempo_range,
            tempo_word,
            key,
            time_signature,
            duration_seconds,
            bars,
            energy: energy.clamp(0.0, 1.0),
            excluded_tracks,
            instruments,
            structure,
            processing,
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

fn dedup(items: impl Iterator<Item = &'static str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.iter().any(|o| o == i) {
            out.push(i.to_string());
        }
    }
    out
}

fn canonical_tempo_word(w: &str) -> &'static str {
    match w {
        "slow" | "slower" => "slow",
        "fast" | "faster" | "uptempo" | "up-tempo" => "fast",
        "half-time" | "halftime" => "half-time",
        "double-time" | "doubletime" => "double-time",
        _ => "mid-tempo",
    }
}

/// Every genre named, longest phrase first, in prompt order.
fn find_genres(t: &mut Tokens) -> Vec<&'static GenreProfile> {
    let table: Vec<(&str, &'static GenreProfile)> = GENRES
        .iter()
        .flat_map(|g| std::iter::once((g.name, g)).chain(g.aliases.iter().map(move |a| (*a, g))))
        .collect();
    t.take_phrases(&table).into_iter().map(|(_, g)| g).collect()
}

fn find_tempo(t: &mut Tokens) -> (Option<f64>, Option<(f64, f64)>) {
    let range = |s: &str| -> Option<(f64, f64)> {
        let (a, b) = s.split_once('-')?;
        let (a, b) = (num(a)?, num(b)?);
        (a > 0.0 && b >= a).then_some((a, b))
    };
    for i in 0..t.len() {
        if !t.free(i) {
            continue;
        }
        let w = t.words[i].clone();
        // "128bpm", "120-130bpm"
        if let Some(n) = w.strip_suffix("bpm") {
            if let Some(v) = num(n) {
                t.claim(i, 1);
                return (Some(v), None);
            }
            if let Some((a, b)) = range(n) {
                t.claim(i, 1);
                return (Some((a + b) / 2.0), Some((a, b)));
            }
        }
        // "128 bpm", "120-130 bpm", "between 120 and 130 bpm"
        if w == "bpm" && i > 0 && t.free(i - 1) {
            let prev = t.words[i - 1].clone();
            if let Some(v) = num(&prev) {
                if i >= 3
                    && t.get(i - 2) == Some("and")
                    && let Some(a) = t.get(i - 3).and_then(num)
                {
                    t.claim(i - 3, 4);
                    if i >= 4 && t.get(i - 4) == Some("between") {
                        t.claim(i - 4, 1);
                    }
                    return (Some((a + v) / 2.0), Some((a.min(v), a.max(v))));
                }
                t.claim(i - 1, 2);
                return (Some(v), None);
            }
            if let Some((a, b)) = range(&prev) {
                t.claim(i - 1, 2);
                return (Some((a + b) / 2.0), Some((a, b)));
            }
        }
        // "tempo 128", "at 128", "tempo of 128"
        if w == "tempo" || w == "at" {
            let j = if t.get(i + 1) == Some("of") {
                i + 2
            } else {
                i + 1
            };
            let unit_follows = t
                .get(j + 1)
                .is_some_and(|u| unit_seconds(u).is_some() || is_bar_word(u));
            if let Some(v) = t.get(j).and_then(num)
                && t.free(j)
                && !unit_follows
                && (20.0..=400.0).contains(&v)
            {
                t.claim(i, j - i + 1);
                return (Some(v), None);
            }
        }
    }
    // A bare number in a plausible tempo range ("house 124").
    for i in 0..t.len() {
        if t.free(i)
            && let Some(v) = num(&t.words[i])
            && (60.0..=220.0).contains(&v)
            && v.fract() == 0.0
        {
            t.claim(i, 1);
            return (Some(v), None);
        }
    }
    (None, None)
}

fn find_duration(t: &mut Tokens) -> (Option<f64>, Option<u32>) {
    for i in 0..t.len() {
        if !t.free(i) {
            continue;
        }
        let w = t.words[i].clone();
        // "1:30"
        if let Some((m, s)) = w.split_once(':')
            && let (Ok(m), Ok(s)) = (m.parse::<u32>(), s.parse::<u32>())
            && s < 60
            && m < 600
        {
            t.claim(i, 1);
            return (Some(f64::from(m * 60 + s)), None);
        }
        // "45s", "2min", "30-second", "16-bar", "8bar"
        let split = w.find(|c: char| c.is_alphabetic()).unwrap_or(w.len());
        if split > 0 && split < w.len() {
            let digits = w[..split].trim_end_matches('-');
            let unit = &w[split..];
            if let Some(n) = num(digits) {
                if let Some(u) = unit_seconds(unit) {
                    t.claim(i, 1);
                    return (Some(n * u), None);
                }
                if is_bar_word(unit) {
                    t.claim(i, 1);
                    return (None, Some(n.clamp(1.0, 10_000.0) as u32));
                }
            }
        }
        // "30 seconds", "2 minutes", "a minute", "half a minute", "16 bars", "8 bar loop"
        if let Some(n) = number_word(&w)
            && let Some(next) = t.get(i + 1).map(str::to_string)
        {
            if !t.free(i + 1) {
                continue;
            }
            if let Some(u) = unit_seconds(&next) {
                let half = i > 0 && t.get(i - 1) == Some("half") && w == "a";
                t.claim(i, 2);
                if half {
                    t.claim(i - 1, 1);
                    return (Some(0.5 * u), None);
                }
                return (Some(n * u), None);
            }
            if is_bar_word(&next) && w != "a" {
                t.claim(i, 2);
                return (None, Some(n.clamp(1.0, 10_000.0) as u32));
            }
        }
    }
    (None, None)
}

fn find_time_signature(t: &mut Tokens) -> Option<(u32, u32)> {
    for i in 0..t.len() {
        if !t.free(i) {
            continue;
        }
        if let Some((a, b)) = t.words[i].split_once('/')
            && let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>())
            && (2..=15).contains(&a)
            && [2, 4, 8, 16].contains(&b)
        {
            t.claim(i, 1);
            return Some((a, b));
        }
        if t.words[i] == "waltz" {
            t.claim(i, 1);
            return Some((3, 4));
        }
    }
    None
}

fn find_key(t: &mut Tokens) -> Option<Key> {
    for i in 0..t.len() {
        if !t.free(i) {
            continue;
        }
        let note = t.words[i].replace('♯', "#").replace('♭', "b");
        let marker = i > 0 && matches!(t.get(i - 1), Some("in" | "of" | "key"));
        // "<note> <mode>", "<note> sharp|flat <mode>"
        if let Some(pc) = parse_pitch_class(&note) {
            if let Some(mode) = t.get(i + 1).filter(|_| t.free(i + 1)).and_then(Mode::parse) {
                // A lone "a"/"b" is only a key when a marker or a mode makes it one.
                t.claim(i, 2);
                return Some(Key::new(pc, mode));
            }
            if let Some(acc @ ("sharp" | "flat")) = t.get(i + 1) {
                let acc = acc.to_string();
                if let Some(mode) = t.get(i + 2).and_then(Mode::parse)
                    && let Some(pc) = parse_pitch_class(&format!("{note}{acc}"))
                {
                    t.claim(i, 3);
                    return Some(Key::new(pc, mode));
                }
                if marker && let Some(pc) = parse_pitch_class(&format!("{note}{acc}")) {
                    t.claim(i, 2);
                    return Some(Key::new(pc, Mode::Major));
                }
            }
            // "key of G", "in the key of Bb": major when no mode is named.
            if i > 1 && t.get(i - 1) == Some("of") && t.get(i - 2) == Some("key") {
                t.claim(i, 1);
                return Some(Key::new(pc, Mode::Major));
            }
        }
        // "in Am", "key of C#m", "Ebm key"
        let compact = note.ends_with('m') && parse_pitch_class(&note[..note.len() - 1]).is_some();
        if compact
            && (marker || t.get(i + 1) == Some("key"))
            && let Ok(k) = Key::parse(&note)
        {
            t.claim(i, 1);
            return Some(k);
        }
    }
    None
}

fn track_word(w: Option<&str>) -> Option<TrackType> {
    let w = w?;
    TRACK_WORDS
        .iter()
        .find(|(x, _)| *x == w)
        .and_then(|(_, t)| TrackType::parse(t).ok())
}

fn find_exclusions(t: &mut Tokens) -> Vec<TrackType> {
    let mut out = Vec::new();
    for i in 0..t.len() {
        if !t.free(i) {
            continue;
        }
        match t.words[i].as_str() {
            "no" | "without" | "minus" => {
                if let Some(tr) = track_word(t.get(i + 1)) {
                    t.claim(i, 2);
                    out.push(tr);
                }
            }
            "only" if i > 0 => {
                if let Some(keep) = track_word(t.get(i - 1)) {
                    t.claim(i - 1, 2);
                    out.extend(TrackType::all().into_iter().filter(|x| *x != keep));
                }
            }
            "just" | "only" => {
                // "just bass and drums", "only drums"
                let mut keep = Vec::new();
                let mut j = i + 1;
                while let Some(tr) = track_word(t.get(j)) {
                    keep.push(tr);
                    j += 1;
                    if matches!(t.get(j), Some("and" | "&" | "plus"))
                        && track_word(t.get(j + 1)).is_some()
                    {
                        j += 1;
                    }
                }
                if !keep.is_empty() {
                    t.claim(i, j - i);
                    out.extend(TrackType::all().into_iter().filter(|x| !keep.contains(x)));
                }
            }
            _ => {}
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
    fn instrument_numbers_are_not_durations() {
        let p = PromptParser::parse("dark trap with 808s and rolling hi-hats");
        assert_eq!(p.duration_seconds, None);
        assert_eq!(p.instruments.len(), 2, "{p:?}");
    }

    #[test]
    fn hostile_inputs_do_not_panic() {
        let long = "techno ".repeat(200_000);
        for s in [
            "",
            "   ",
            "🎵🎶",
            "ß∂ƒ 1:xx 99999bpm",
            "-",
            "/",
            "1/0",
            "0:99",
            "a♭ minor",
            "E♭m key",
            "-1-2 bpm",
            "nan bpm",
            "inf seconds",
            "1e400 bpm",
            "between and bpm",
            long.as_str(),
        ] {
            let p = PromptParser::parse(s);
            assert!((0.0..=1.0).contains(&p.energy));
        }
        assert_eq!(PromptParser::parse("").genre, "techno");
        assert_eq!(PromptParser::parse("nan bpm").tempo_bpm, None);
    }
}
