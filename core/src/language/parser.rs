//! PromptParser: reads the musical facts a producer would hear in a prompt — genres, moods,
//! tempo (numbers, ranges, words), key and mode, time signature, duration (seconds, minutes,
//! m:ss, bars), energy, tracks to leave out, instrument descriptors, structure and processing
//! words — and lists the words it did not understand.
//!
//! Matching is by whole words and phrases on a lower-cased token list; each token is claimed
//! by at most one fact, longest phrases first.
//!
//! Nothing the prompt says is dropped silently: when it names a tempo, key or duration more
//! than once with different values the first is used and `conflicts` says which words lost;
//! a key that does not exist ("H minor") goes to `unknown_keys`; numbers no fact could use,
//! and descriptors of tracks the prompt leaves out, are reported in `conflicts` too.

use super::genre::{GENRES, GenreProfile, default_genre, genre_by_name, infer};
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

/// How the genre was chosen.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "how", rename_all = "snake_case")]
pub enum GenreChoice {
    /// The prompt names it (its words).
    Named { words: String },
    /// No genre word: chosen from the instrument, mood, processing and tempo words that
    /// point to it (`genre::infer`).
    Inferred { from: Vec<String> },
    /// Nothing in the prompt points to a genre: the default.
    #[default]
    Default,
}

impl std::fmt::Display for GenreChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GenreChoice::Named { words } => write!(f, "named: '{words}'"),
            GenreChoice::Inferred { from } => {
                let quoted: Vec<String> = from.iter().map(|w| format!("'{w}'")).collect();
                write!(f, "no genre named; inferred from {}", quoted.join(", "))
            }
            GenreChoice::Default => f.write_str(
                "no genre named and no instrument, mood or tempo word points to one: the default",
            ),
        }
    }
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
    /// How the genre was chosen: named, inferred from other words, or the default.
    #[serde(default)]
    pub genre_choice: GenreChoice,
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
    /// The words the tempo, key and duration above were read from.
    #[serde(default)]
    pub source_words: SourceWords,
    /// Keys the prompt names that do not exist ("H minor"), as written (capitalised).
    #[serde(default)]
    pub unknown_keys: Vec<String>,
    /// What the prompt said that could not all be used, with the words it came from: a
    /// tempo, key or duration named twice with different values (and which one was taken),
    /// numbers nothing could use, descriptors of tracks the prompt leaves out. The mapper
    /// puts these first in the context's `conflicts`.
    #[serde(default)]
    pub conflicts: Vec<String>,
    /// The chord progression the prompt names ("chords Am F C G", "ii-V-I", "12-bar blues"),
    /// as text `progression::Progression::parse` reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chords: Option<String>,
    /// The sections the prompt lists ("intro, two verses, chorus, outro"), in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<crate::form::Form>,
}

/// The prompt's words behind a fact ("at 128 bpm", "a minor", "99999 hours").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceWords {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tempo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
}

/// One place the prompt states a fact: the value and the words it came from.
#[derive(Debug, Clone, PartialEq)]
struct Mention<T> {
    value: T,
    words: String,
}

/// "tempo: the prompt names 120 bpm ('at 120 bpm') and 140 bpm ('at 140 bpm'); using the
/// first, 120 bpm" — when mentions after the first disagree with it.
fn contradiction<T: PartialEq>(
    fact: &str,
    mentions: &[Mention<T>],
    show: impl Fn(&T) -> String,
) -> Option<String> {
    let first = mentions.first()?;
    let mut named: Vec<&Mention<T>> = vec![first];
    for m in &mentions[1..] {
        if !named.iter().any(|n| n.value == m.value) {
            named.push(m);
        }
    }
    if named.len() < 2 {
        return None;
    }
    let parts: Vec<String> = named
        .iter()
        .map(|m| {
            let shown = show(&m.value);
            // 'slow' needs no ('slow') after it.
            if shown.trim_matches('\'') == m.words {
                shown
            } else {
                format!("{shown} ('{}')", m.words)
            }
        })
        .collect();
    let (last, rest) = parts.split_last()?;
    Some(format!(
        "{fact}: the prompt names {} and {last}; using the first, {}",
        rest.join(", "),
        show(&first.value)
    ))
}

/// A duration as the prompt stated it: seconds, or bars (resolved against the tempo later).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Length {
    Seconds(f64),
    Bars(u32),
}

fn show_length(l: &Length) -> String {
    match l {
        Length::Seconds(s) => format!("{} s", trim_number(*s)),
        Length::Bars(b) => format!("{b} bars"),
    }
}

/// 120 rather than 120.0, 0.5 as it is.
pub(crate) fn trim_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
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

    /// The words `from..from + n`, space-separated (for messages).
    fn text(&self, from: usize, n: usize) -> String {
        let end = (from + n).min(self.words.len());
        self.words[from.min(end)..end].join(" ")
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
        self.take_phrases_sized(table)
            .into_iter()
            .map(|(i, _, v)| (i, v))
            .collect()
    }

    /// [`Self::take_phrases`], with the number of tokens each phrase spans.
    fn take_phrases_sized<V: Copy>(&mut self, table: &[(&str, V)]) -> Vec<(usize, usize, V)> {
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
        hits.sort_by_key(|(i, _, _)| *i);
        hits
    }
}

pub(crate) fn number_word(w: &str) -> Option<f64> {
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
        "ms" | "millisecond" | "milliseconds" => Some(0.001),
        "s" | "sec" | "secs" | "second" | "seconds" | "second-long" => Some(1.0),
        "min" | "mins" | "minute" | "minutes" | "minute-long" => Some(60.0),
        // Not renderable (the mapper says so and clamps), but read, so it is not ignored.
        "h" | "hr" | "hrs" | "hour" | "hours" | "hour-long" => Some(3600.0),
        _ => None,
    }
}

pub(crate) fn is_bar_word(t: &str) -> bool {
    matches!(t, "bar" | "bars" | "measure" | "measures")
}

impl PromptParser {
    pub fn parse(prompt: &str) -> ParsedPrompt {
        let mut end = prompt.len().min(MAX_PARSE_BYTES);
        while !prompt.is_char_boundary(end) {
            end -= 1;
        }
        let (chords, rest) = crate::progression::find_in_prompt(&prompt[..end]);
        let lower = rest.to_lowercase();
        let form = crate::form::find_in_prompt(&lower);
        let mut t = Tokens::new(&lower);

        let genre_mentions = find_genres(&mut t);
        let genres: Vec<&'static GenreProfile> = genre_mentions.iter().map(|(_, g)| *g).collect();
        // Instrument names first: "808s" is a bass, not 808 seconds.
        let instruments: Vec<InstrumentDescriptor> = t
            .take_phrases(
                &DESCRIPTORS
                    .iter()
                    .map(|(p, tr, d)| (*p, (*tr, *d)))
                    .collect::<Vec<_>>(),
            )
            .into_iter()
            .map(|(_, (track, d))| InstrumentDescriptor {
                track,
                descriptor: d.to_string(),
            })
            .collect();
        let durations = find_duration(&mut t);
        let time_signature = find_time_signature(&mut t);
        let tempos = find_tempo(&mut t);
        let (keys, unknown_keys) = find_key(&mut t);
        let excluded_tracks = find_exclusions(&mut t);
        let structure = dedup(t.take_phrases(STRUCTURE).into_iter().map(|(_, s)| s));
        let mut processing = dedup(t.take_phrases(PROCESSING).into_iter().map(|(_, s)| s));
        let tempo_words: Vec<(usize, &str)> =
            t.take_phrases(&TEMPO_WORDS.iter().map(|w| (*w, *w)).collect::<Vec<_>>());
        let tempo_word = tempo_words
            .first()
            .map(|(_, w)| canonical_tempo_word(w).to_string());

        let mut conflicts = Vec::new();
        conflicts.extend(contradiction("tempo", &tempos, show_tempo));
        let tempo_word_mentions: Vec<Mention<&str>> = tempo_words
            .iter()
            .map(|(_, w)| Mention {
                value: canonical_tempo_word(w),
                words: w.to_string(),
            })
            .collect();
        conflicts.extend(contradiction("tempo", &tempo_word_mentions, |w| {
            format!("'{w}'")
        }));
        conflicts.extend(contradiction("key", &keys, |k| k.to_string()));
        conflicts.extend(contradiction("duration", &durations, show_length));
        let (tempo_bpm, tempo_range) = match tempos.first() {
            Some(m) => (Some(m.value.0), m.value.1),
            None => (None, None),
        };
        let key = keys.first().map(|m| m.value);
        let (duration_seconds, bars) = match durations.first().map(|m| m.value) {
            Some(Length::Seconds(s)) => (Some(s), None),
            Some(Length::Bars(b)) => (None, Some(b)),
            None => (None, None),
        };
        let source_words = SourceWords {
            tempo: tempos
                .first()
                .map(|m| m.words.clone())
                .or_else(|| tempo_words.first().map(|(_, w)| w.to_string())),
            key: keys.first().map(|m| m.words.clone()),
            duration: durations.first().map(|m| m.words.clone()),
        };

        let mut energy_delta = 0.0f32;
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
                    energy_delta += delta;
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
                    energy_delta += e;
                }
                t.claim(i, 1);
            }
        }

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
        // "folk ballad", "rock ballad": next to a genre, a ballad is the song's form — slower
        // and softer — not the genre.
        if genre_names.len() > 1 && genre_names.iter().any(|g| g == "ballad") {
            genre_names.retain(|g| g != "ballad");
            energy_delta -= 0.15;
        }
        // "breaks" alone names the genre; next to one it describes the drums.
        if genre_names.is_empty() && instruments.iter().any(|d| d.descriptor == "breaks") {
            genre_names.push("breakbeat".into());
        }
        let named = genre_names.last().and_then(|g| genre_by_name(g));
        let (primary, genre_choice) = match named {
            Some(g) => {
                let words = genre_mentions
                    .iter()
                    .rev()
                    .find(|(_, m)| m.name == g.name)
                    .map(|(w, _)| w.clone())
                    .unwrap_or_else(|| g.name.to_string());
                (g, GenreChoice::Named { words })
            }
            None => {
                let descriptors: Vec<&str> =
                    instruments.iter().map(|d| d.descriptor.as_str()).collect();
                let tempo_word = tempo_words.first().map(|(_, w)| canonical_tempo_word(w));
                match infer(&descriptors, &moods, &processing, tempo_bpm, tempo_word) {
                    Some((g, from)) => (g, GenreChoice::Inferred { from }),
                    None => (default_genre(), GenreChoice::Default),
                }
            }
        };
        let energy = primary.energy + energy_delta;

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
        // Numbers no fact claimed: said, but used for nothing.
        let unused: Vec<String> = t
            .words
            .iter()
            .zip(&t.used)
            .filter(|(w, used)| !**used && num(w).is_some())
            .map(|(w, _)| format!("'{w}'"))
            .collect();
        match unused.len() {
            0 => {}
            1 => conflicts.push(format!(
                "number {} was not used: it is not read as a tempo, a duration or a time \
                 signature",
                unused[0]
            )),
            _ => conflicts.push(format!(
                "numbers {} were not used: they are not read as a tempo, a duration or a time \
                 signature",
                unused.join(", ")
            )),
        }
        for d in &instruments {
            if excluded_tracks.contains(&d.track) {
                conflicts.push(format!(
                    "{}: '{}' describes a track the prompt leaves out; it is not generated",
                    d.track, d.descriptor
                ));
            }
        }

        ParsedPrompt {
            genre: primary.name.to_string(),
            genre_from_prompt: !genre_names.is_empty(),
            genre_choice,
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
            source_words,
            unknown_keys,
            conflicts,
            chords,
            form,
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

/// Every genre named (with the words naming it), longest phrase first, in prompt order.
fn find_genres(t: &mut Tokens) -> Vec<(String, &'static GenreProfile)> {
    let table: Vec<(&str, &'static GenreProfile)> = GENRES
        .iter()
        .flat_map(|g| std::iter::once((g.name, g)).chain(g.aliases.iter().map(move |a| (*a, g))))
        .collect();
    t.take_phrases_sized(&table)
        .into_iter()
        .map(|(at, n, g)| (t.text(at, n), g))
        .collect()
}

/// Records a mention of the words `from..from + n` and claims them.
fn take<T>(found: &mut Vec<Mention<T>>, t: &mut Tokens, from: usize, n: usize, value: T) {
    found.push(Mention {
        value,
        words: t.text(from, n),
    });
    t.claim(from, n);
}

/// A tempo as written: bpm, and the range when one was given ("120-130 bpm").
type Tempo = (f64, Option<(f64, f64)>);

fn show_tempo(t: &Tempo) -> String {
    match t.1 {
        Some((a, b)) => format!("{}–{} bpm", trim_number(a), trim_number(b)),
        None => format!("{} bpm", trim_number(t.0)),
    }
}

/// Every tempo the prompt states, in order; a bare number only counts when none is stated.
fn find_tempo(t: &mut Tokens) -> Vec<Mention<Tempo>> {
    let range = |s: &str| -> Option<(f64, f64)> {
        let (a, b) = s.split_once('-')?;
        let (a, b) = (num(a)?, num(b)?);
        (a > 0.0 && b >= a).then_some((a, b))
    };
    let mut found = Vec::new();
    for i in 0..t.len() {
        if !t.free(i) {
            continue;
        }
        let w = t.words[i].clone();
        // "128bpm", "120-130bpm"
        if let Some(n) = w.strip_suffix("bpm") {
            if let Some(v) = num(n) {
                take(&mut found, t, i, 1, (v, None));
                continue;
            }
            if let Some((a, b)) = range(n) {
                take(&mut found, t, i, 1, ((a + b) / 2.0, Some((a, b))));
                continue;
            }
        }
        // "128 bpm", "120-130 bpm", "between 120 and 130 bpm"
        if w == "bpm" && i > 0 && t.free(i - 1) {
            let prev = t.words[i - 1].clone();
            if let Some(v) = num(&prev) {
                if i >= 3
                    && t.get(i - 2) == Some("and")
                    && t.free(i - 2)
                    && t.free(i - 3)
                    && let Some(a) = t.get(i - 3).and_then(num)
                {
                    let from = if i >= 4 && t.get(i - 4) == Some("between") && t.free(i - 4) {
                        i - 4
                    } else {
                        i - 3
                    };
                    take(
                        &mut found,
                        t,
                        from,
                        i - from + 1,
                        ((a + v) / 2.0, Some((a.min(v), a.max(v)))),
                    );
                    continue;
                }
                take(&mut found, t, i - 1, 2, (v, None));
                continue;
            }
            if let Some((a, b)) = range(&prev) {
                take(&mut found, t, i - 1, 2, ((a + b) / 2.0, Some((a, b))));
                continue;
            }
        }
        // "tempo 128", "at 128", "tempo of 128", "at 128 bpm"
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
                let mut n = j - i + 1;
                if t.get(j + 1) == Some("bpm") && t.free(j + 1) {
                    n += 1;
                }
                take(&mut found, t, i, n, (v, None));
                continue;
            }
        }
    }
    if found.is_empty() {
        // A bare number in a plausible tempo range ("house 124").
        for i in 0..t.len() {
            if t.free(i)
                && let Some(v) = num(&t.words[i])
                && (60.0..=220.0).contains(&v)
                && v.fract() == 0.0
            {
                take(&mut found, t, i, 1, (v, None));
                break;
            }
        }
    }
    found
}

/// Every duration the prompt states, in order.
fn find_duration(t: &mut Tokens) -> Vec<Mention<Length>> {
    let mut found = Vec::new();
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
            take(&mut found, t, i, 1, Length::Seconds(f64::from(m * 60 + s)));
            continue;
        }
        // "45s", "2min", "30-second", "16-bar", "8bar", "2h"
        let split = w.find(|c: char| c.is_alphabetic()).unwrap_or(w.len());
        if split > 0 && split < w.len() {
            let digits = w[..split].trim_end_matches('-');
            let unit = &w[split..];
            if let Some(n) = num(digits) {
                if let Some(u) = unit_seconds(unit) {
                    take(&mut found, t, i, 1, Length::Seconds(n * u));
                    continue;
                }
                if is_bar_word(unit) {
                    take(
                        &mut found,
                        t,
                        i,
                        1,
                        Length::Bars(n.clamp(1.0, 10_000.0) as u32),
                    );
                    continue;
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
                if i > 0 && t.get(i - 1) == Some("half") && t.free(i - 1) && w == "a" {
                    take(&mut found, t, i - 1, 3, Length::Seconds(0.5 * u));
                } else {
                    take(&mut found, t, i, 2, Length::Seconds(n * u));
                }
                continue;
            }
            if is_bar_word(&next) && w != "a" {
                take(
                    &mut found,
                    t,
                    i,
                    2,
                    Length::Bars(n.clamp(1.0, 10_000.0) as u32),
                );
                continue;
            }
        }
    }
    found
}

/// A time signature: "3/4", "6/8", "waltz" (3/4), "in 3" (3/4), "in 5" (5/4), "in 7" (7/8),
/// "in 6" (6/8), "12/8 shuffle" reads as 12/8. Runs after the durations, so "in 3 minutes" is
/// already a length. Any fraction is returned: the mapper says which it cannot render.
fn find_time_signature(t: &mut Tokens) -> Option<(u32, u32)> {
    for i in 0..t.len() {
        if !t.free(i) {
            continue;
        }
        if let Some((a, b)) = t.words[i].split_once('/')
            && let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>())
            && (1..=32).contains(&a)
            && [1, 2, 4, 8, 16, 32].contains(&b)
        {
            t.claim(i, 1);
            return Some((a, b));
        }
        if t.words[i] == "waltz" {
            t.claim(i, 1);
            return Some((3, 4));
        }
        if t.words[i] == "in"
            && t.free(i + 1)
            && let Some(n) = t.get(i + 1).and_then(|w| match w {
                "3" | "three" => Some((3, 4)),
                "5" | "five" => Some((5, 4)),
                "6" | "six" => Some((6, 8)),
                "7" | "seven" => Some((7, 8)),
                _ => None,
            })
        {
            t.claim(i, 2);
            return Some(n);
        }
    }
    None
}

/// A word written where a note name goes but naming no note: one letter other than A–G,
/// with an optional accidental ("h", "h#", "xb").
fn note_shaped(w: &str) -> bool {
    let mut chars = w.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let rest: String = chars.collect();
    first.is_ascii_alphabetic()
        && ["", "#", "b", "♯", "♭"].contains(&rest.as_str())
        && parse_pitch_class(w).is_none()
}

/// "H minor" from "h minor": the note capitalised the way keys are written.
fn capitalised(words: &str) -> String {
    let mut c = words.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Every key the prompt states, in order, and the key-shaped phrases that name no key.
fn find_key(t: &mut Tokens) -> (Vec<Mention<Key>>, Vec<String>) {
    let mut found = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..t.len() {
        if !t.free(i) {
            continue;
        }
        let note = t.words[i].replace('♯', "#").replace('♭', "b");
        let marker = i > 0 && matches!(t.get(i - 1), Some("in" | "of" | "key"));
        let key_of = i > 1 && t.get(i - 1) == Some("of") && t.get(i - 2) == Some("key");
        let mode_at = |k: usize| t.get(k).filter(|_| t.free(k)).and_then(Mode::parse);
        // "<note> <mode>", "<note> sharp|flat <mode>"
        if let Some(pc) = parse_pitch_class(&note) {
            if let Some(mode) = mode_at(i + 1) {
                // A lone "a"/"b" is only a key when a marker or a mode makes it one.
                take(&mut found, t, i, 2, Key::new(pc, mode));
                continue;
            }
            if let Some(acc @ ("sharp" | "flat")) = t.get(i + 1) {
                let acc = acc.to_string();
                if let Some(mode) = mode_at(i + 2)
                    && let Some(pc) = parse_pitch_class(&format!("{note}{acc}"))
                {
                    take(&mut found, t, i, 3, Key::new(pc, mode));
                    continue;
                }
                if marker && let Some(pc) = parse_pitch_class(&format!("{note}{acc}")) {
                    take(&mut found, t, i, 2, Key::new(pc, Mode::Major));
                    continue;
                }
            }
            // "key of G", "in the key of Bb": major when no mode is named.
            if key_of {
                take(&mut found, t, i, 1, Key::new(pc, Mode::Major));
                continue;
            }
        }
        // "in Am", "key of C#m", "Ebm key"
        let compact = note.ends_with('m') && parse_pitch_class(&note[..note.len() - 1]).is_some();
        if compact
            && (marker || t.get(i + 1) == Some("key"))
            && let Ok(k) = Key::parse(&note)
        {
            take(&mut found, t, i, 1, k);
            continue;
        }
        // Key-shaped but no key: "H minor", "H sharp major", "key of H", "in Hm".
        if note_shaped(&note) {
            let n = if mode_at(i + 1).is_some() {
                2
            } else if matches!(t.get(i + 1), Some("sharp" | "flat")) && mode_at(i + 2).is_some() {
                3
            } else if key_of {
                1
            } else {
                0
            };
            if n > 0 {
                unknown.push(capitalised(&t.text(i, n)));
                t.claim(i, n);
                continue;
            }
        }
        if note.len() >= 2
            && note.ends_with('m')
            && note_shaped(&note[..note.len() - 1])
            && (marker || t.get(i + 1) == Some("key"))
        {
            unknown.push(capitalised(&note));
            t.claim(i, 1);
        }
    }
    (found, unknown)
}

fn track_word(w: Option<&str>) -> Option<TrackType> {
    let w = w?;
    TRACK_WORDS.iter().find(|(x, _)| *x == w).map(|(_, t)| *t)
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
