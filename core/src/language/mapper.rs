//! Parameter mapper: request parameters + parsed prompt + genre defaults → the
//! GenerationContext and MusicalIntent a generation runs with.
//!
//! The rule, per parameter (tempo, key, duration): an explicit request parameter beats the
//! prompt, the prompt beats the genre's default. Within the prompt, a number beats a word
//! ("slow techno at 125" is 125 bpm); tempo words are relative to the genre's range (slow =
//! its lowest, fast = its highest, half-/double-time = half/double its default). Every time a
//! request parameter overrides something the prompt said, the context's `conflicts` says so,
//! and so does any prompt fact the renderer cannot honour yet (time signatures other than 4/4).
//! The parser's own conflicts (a fact named twice, unused numbers) come first; the mapper adds
//! what needs the genre or the request — a tempo word beaten by a number, a value out of
//! range, a key that does not exist, a mood whose mode the key contradicts, a requested track
//! the prompt leaves out — each with the prompt's words and the value used instead.

use super::genre::{GenreProfile, genre_by_name};
use super::intent::{MusicalIntent, MusicalIntentExtractor};
use super::parser::{ParsedPrompt, trim_number};
use super::vocabulary::MOODS;
use crate::context::{ContextError, GenerationContext};
use crate::form::Form;
use crate::meter::Meter;
use crate::progression::Progression;
use crate::request::{
    DEFAULT_DURATION_SECONDS, GenerationRequest, MAX_DURATION_SECONDS, MAX_TEMPO,
    MIN_DURATION_SECONDS, MIN_TEMPO,
};
use crate::theory::{Chord, Key};

/// Genres arranged as songs (verse/chorus) rather than DJ tracks (build/drop).
pub fn song_form(genre: &GenreProfile) -> bool {
    matches!(
        genre.name,
        "pop"
            | "k-pop"
            | "ballad"
            | "rock"
            | "punk"
            | "metal"
            | "blues"
            | "country"
            | "folk"
            | "r&b"
            | "soul"
            | "reggae"
            | "ska"
            | "latin"
            | "reggaeton"
            | "funk"
            | "synthwave"
            | "chiptune"
    )
}

/// The prompt asks for a loop ("8 bar loop", "loopable"): no arrangement.
pub fn looped(parsed: &ParsedPrompt) -> bool {
    parsed.structure.iter().any(|s| s == "loop")
}

/// The sections the request (over the prompt) names, checked against the duration limits at
/// the piece's tempo: a request's form that does not fit is an error, a prompt's is set aside
/// with a note (free text describes; it is never refused).
fn requested_form(
    request: &GenerationRequest,
    parsed: &ParsedPrompt,
    tempo_bpm: f64,
    bar_seconds: f64,
    conflicts: &mut Vec<String>,
) -> Result<Option<Form>, ContextError> {
    let (form, from_request) = match (&request.sections, &parsed.form) {
        (Some(r), p) => {
            let form = Form::from_request(r)?;
            if let Some(p) = p
                && *p != form
            {
                conflicts.push(format!(
                    "sections: request says '{}', prompt says '{}'; using the request",
                    form.summary(),
                    p.summary()
                ));
            }
            (form, true)
        }
        (None, Some(p)) => (p.clone(), false),
        (None, None) => return Ok(None),
    };
    if from_request && request.looped == Some(true) {
        return Err(ContextError::Sections(
            "a loop is one section; ask for sections or loop: true, not both".into(),
        ));
    }
    let seconds = f64::from(form.bars()) * bar_seconds;
    if !(MIN_DURATION_SECONDS..=MAX_DURATION_SECONDS).contains(&seconds) {
        let why = format!(
            "{} bars ({}) last {seconds:.1} s at {} bpm; a piece lasts \
             {MIN_DURATION_SECONDS}–{MAX_DURATION_SECONDS} s",
            form.bars(),
            form.summary(),
            trim_number(tempo_bpm)
        );
        if from_request {
            return Err(ContextError::Sections(why));
        }
        conflicts.push(format!(
            "sections: the prompt's {why}; using the usual arrangement"
        ));
        return Ok(None);
    }
    Ok(Some(form))
}

pub struct Mapped {
    pub context: GenerationContext,
    pub intent: MusicalIntent,
}

/// The tempo a word asks for in a genre.
pub fn tempo_for_word(word: &str, genre: &GenreProfile) -> f64 {
    let (lo, def, hi) = genre.tempo;
    match word {
        "slow" => lo,
        "fast" => hi,
        "half-time" => def / 2.0,
        "double-time" => def * 2.0,
        _ => def,
    }
    .clamp(MIN_TEMPO, MAX_TEMPO)
}

pub fn map(
    request: &GenerationRequest,
    parsed: &ParsedPrompt,
    seed: u64,
) -> Result<Mapped, ContextError> {
    let genre: &GenreProfile = genre_by_name(&parsed.genre)
        .ok_or_else(|| ContextError::UnknownGenre(parsed.genre.clone()))?;
    let mut conflicts = parsed.conflicts.clone();
    let words = &parsed.source_words;
    // " ('at 128 bpm')": the prompt's words behind a value, when the parser kept them.
    let quoted = |w: &Option<String>| match w {
        Some(w) => format!(" ('{w}')"),
        None => String::new(),
    };

    let word_tempo = parsed
        .tempo_word
        .as_deref()
        .map(|w| (w, tempo_for_word(w, genre)));
    let prompt_tempo = parsed
        .tempo_bpm
        .map(|t| t.clamp(MIN_TEMPO, MAX_TEMPO))
        .or(word_tempo.map(|(_, t)| t));
    if let (Some(t), Some(raw)) = (prompt_tempo, parsed.tempo_bpm)
        && (t - raw).abs() > f64::EPSILON
    {
        conflicts.push(format!(
            "tempo: the prompt's {} bpm{} is outside {MIN_TEMPO}–{MAX_TEMPO} bpm; using {} bpm",
            trim_number(raw),
            quoted(&words.tempo),
            trim_number(t)
        ));
    }
    if let (Some(n), Some((w, wt))) = (parsed.tempo_bpm, word_tempo)
        && (n.clamp(MIN_TEMPO, MAX_TEMPO) - wt).abs() > 0.5
    {
        conflicts.push(format!(
            "tempo: the prompt says '{w}' ({} bpm in {}) and {} bpm{}; a number beats a word: \
             using {} bpm",
            trim_number(wt),
            genre.name,
            trim_number(n),
            quoted(&words.tempo),
            trim_number(n.clamp(MIN_TEMPO, MAX_TEMPO))
        ));
    }
    let tempo_bpm = match (request.tempo, prompt_tempo) {
        (Some(r), Some(p)) if (r - p).abs() > f64::EPSILON => {
            conflicts.push(format!(
                "tempo: request says {r} bpm, prompt says {p} bpm{}; using the request",
                quoted(&words.tempo)
            ));
            r
        }
        (Some(r), _) => r,
        (None, Some(p)) => p,
        (None, None) => genre.tempo.1,
    };

    let requested_key = request.key.as_deref().map(Key::parse).transpose()?;
    // The request's chords beat the prompt's; a progression of chord symbols implies its key
    // (first chord) when neither the request nor the prompt names one.
    let progression = match (&request.chords, &parsed.chords) {
        (Some(r), p) => {
            if let Some(p) = p
                && p != r
            {
                conflicts.push(format!(
                    "chords: request says '{r}', prompt says '{p}'; using the request"
                ));
            }
            Some(Progression::parse(r)?)
        }
        (None, Some(p)) => Some(Progression::parse(p)?),
        (None, None) => None,
    };
    let implied_key = progression.as_ref().and_then(Progression::implied_key);
    let mood = parsed.moods.iter().find_map(|m| {
        MOODS
            .iter()
            .find(|(n, _, _)| n == m)
            .and_then(|x| x.2)
            .map(|mode| (m.as_str(), mode))
    });
    let (key, key_source) = match (requested_key, parsed.key) {
        (Some(r), Some(p)) if r != p => {
            conflicts.push(format!(
                "key: request says {r}, prompt says {p}{}; using the request",
                quoted(&words.key)
            ));
            (r, "from the request".to_string())
        }
        (Some(r), _) => (r, "from the request".to_string()),
        (None, Some(p)) => (p, format!("from the prompt{}", quoted(&words.key))),
        (None, None) => match (implied_key, mood) {
            (Some(k), _) => (k, "from the first chord".to_string()),
            (None, Some((m, mode))) => (
                Key::new(genre.tonic, mode),
                format!("the {} tonic in the mode of '{m}'", genre.name),
            ),
            (None, None) => (
                Key::new(genre.tonic, genre.mode()),
                format!("the {} default", genre.name),
            ),
        },
    };
    for unknown in &parsed.unknown_keys {
        conflicts.push(format!(
            "key: '{unknown}' is not a key (a key is a note A–G, optionally with # or b, and \
             a mode); using {key}, {key_source}"
        ));
    }
    if (requested_key.is_some() || parsed.key.is_some())
        && let Some((m, mode)) = mood
        && mode.is_minor() != key.mode.is_minor()
    {
        conflicts.push(format!(
            "key: the mood '{m}' suggests a {} key; using {key}, {key_source}",
            if mode.is_minor() { "minor" } else { "major" }
        ));
    }

    // The meter: the request's beats the prompt's; a prompt's meter we cannot render is
    // said and set aside (4/4), a request's is refused at submission.
    let requested_meter = request
        .time_signature
        .as_deref()
        .map(Meter::parse)
        .transpose()?;
    let prompt_meter = match parsed.time_signature {
        Some((a, b)) => match Meter::from_fraction(a, b) {
            Some(m) => Some(m),
            None => {
                conflicts.push(format!(
                    "time signature: the prompt asks for {a}/{b}, which is not supported \
                     (4/4, 3/4, 5/4, 6/8, 7/8, 12/8); rendered in {}",
                    requested_meter.unwrap_or_default()
                ));
                None
            }
        },
        None => None,
    };
    let meter = match (requested_meter, prompt_meter) {
        (Some(r), Some(p)) if r != p => {
            conflicts.push(format!(
                "time signature: request says {r}, prompt says {p}; using the request"
            ));
            r
        }
        (Some(r), _) => r,
        (None, Some(p)) => p,
        (None, None) => Meter::FourFour,
    };
    let bar_seconds = meter.bar_seconds(tempo_bpm);
    let prompt_duration = parsed
        .duration_seconds
        .or(parsed.bars.map(|b| f64::from(b) * bar_seconds));
    let duration_seconds = match (request.duration_seconds, prompt_duration) {
        (Some(r), Some(p)) if (r - p).abs() > 1e-6 => {
            conflicts.push(format!(
                "duration: request says {r} s, prompt says {p:.2} s{}; using the request",
                quoted(&words.duration)
            ));
            r
        }
        (Some(r), _) => r,
        (None, Some(p)) => {
            let clamped = p.clamp(MIN_DURATION_SECONDS, MAX_DURATION_SECONDS);
            if (clamped - p).abs() > 1e-9 {
                conflicts.push(format!(
                    "duration: the prompt's {} s{} is outside {MIN_DURATION_SECONDS}–{MAX_DURATION_SECONDS} s; using {clamped} s",
                    trim_number((p * 100.0).round() / 100.0),
                    quoted(&words.duration)
                ));
            }
            clamped
        }
        (None, None) => DEFAULT_DURATION_SECONDS,
    };
    if let Some(tracks) = &request.tracks {
        for t in tracks.iter().filter(|t| parsed.excluded_tracks.contains(t)) {
            conflicts.push(format!(
                "tracks: the request lists {t}, which the prompt leaves out; generating it (the \
                 request wins)"
            ));
        }
    }
    let form = requested_form(request, parsed, tempo_bpm, bar_seconds, &mut conflicts)?;
    // A loop is whole bars (the nearest count inside the duration limits).
    let looped = match (request.looped, looped(parsed)) {
        (_, true) if form.is_some() => {
            conflicts.push(
                "loop: the prompt asks for a loop and names sections; the sections win, not \
                 looping"
                    .to_string(),
            );
            false
        }
        (Some(false), true) => {
            conflicts.push(
                "loop: the prompt asks for a loop, the request says loop: false; not looping"
                    .to_string(),
            );
            false
        }
        (Some(r), _) => r,
        (None, p) => p,
    };
    let duration_seconds = if looped {
        let fits =
            |b: f64| (MIN_DURATION_SECONDS..=MAX_DURATION_SECONDS).contains(&(b * bar_seconds));
        let mut b = (duration_seconds / bar_seconds).round().max(1.0);
        while !fits(b) && b * bar_seconds > MAX_DURATION_SECONDS && b > 1.0 {
            b -= 1.0;
        }
        while !fits(b) && b * bar_seconds < MIN_DURATION_SECONDS {
            b += 1.0;
        }
        let snapped = b * bar_seconds;
        if (snapped - duration_seconds).abs() > 1e-6 {
            conflicts.push(format!(
                "duration: a loop is whole bars; {} s is {b} bars of {tempo_bpm} bpm = {snapped:.3} s",
                trim_number((duration_seconds * 1000.0).round() / 1000.0)
            ));
        }
        snapped
    } else if let Some(form) = &form {
        // The sections set the length; a length stated in seconds is set aside, and said.
        let seconds = f64::from(form.bars()) * bar_seconds;
        if let Some(stated) = request.duration_seconds.or(parsed.duration_seconds)
            && (stated - seconds).abs() > bar_seconds / 2.0
        {
            conflicts.push(format!(
                "duration: the sections ({} bars) last {seconds:.1} s at {} bpm; {} s is not \
                 used",
                form.bars(),
                trim_number(tempo_bpm),
                trim_number((stated * 100.0).round() / 100.0)
            ));
        }
        seconds
    } else {
        duration_seconds
    };
    let bars = (duration_seconds / bar_seconds - 1e-9).ceil().max(1.0) as u32;
    let chords: Vec<Chord> = match &progression {
        Some(p) => p.per_bar(&key, bars),
        None => (0..bars as usize)
            .map(|b| key.triad(genre.progression[b % genre.progression.len()]))
            .collect(),
    };
    let chord_symbols = match &progression {
        Some(p) => p.symbols_per_bar(&key, bars),
        None => chords.iter().map(|c| c.symbol(&key)).collect(),
    };
    let intent = MusicalIntentExtractor::extract(parsed);
    let sections = match &form {
        Some(form) => crate::arrangement::requested(&form.0),
        None => crate::arrangement::plan(bars, song_form(genre), looped),
    };

    let mut context = crate::context::ContextManager::new(GenerationContext {
        genre: genre.name.to_string(),
        tempo_bpm,
        key,
        meter,
        duration_seconds,
        bars,
        chords,
        sections,
        chord_symbols,
        chords_requested: progression.is_some(),
        sections_requested: form.is_some(),
        // a compound meter's triplet feel is the meter: nothing swings on top of it
        swing: if meter.is_compound() {
            0.0
        } else {
            genre.swing
        },
        swing_unit: genre.swing_unit,
        energy: parsed.energy,
        sample_rate: request.sample_rate.unwrap_or(44_100),
        bit_depth: request.bit_depth.unwrap_or(16),
        loudness_target: request
            .loudness_target
            .unwrap_or(crate::request::DEFAULT_LOUDNESS_LUFS),
        seed,
        take: request.take.unwrap_or(0),
        conflicts,
        frequency_allocation: Default::default(),
        grid_offset_seconds: 0.0,
        looped,
        groove: None,
    });
    context.allocate_frequencies(&intent);
    Ok(Mapped {
        context: context.into_context(),
        intent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::language::PromptParser;

    fn ctx(prompt: &str) -> GenerationContext {
        let r = GenerationRequest::new(prompt);
        map(&r, &PromptParser::parse(prompt), 1).unwrap().context
    }

    #[test]
    fn a_loop_is_whole_bars_and_says_so() {
        let mut r = GenerationRequest::new("techno at 128 bpm");
        r.duration_seconds = Some(10.0);
        r.looped = Some(true);
        let c = map(&r, &PromptParser::parse(&r.prompt), 1).unwrap().context;
        assert!(c.looped);
        let bar = 60.0 / 128.0 * 4.0;
        assert!(
            (c.duration_seconds - 5.0 * bar).abs() < 1e-9,
            "{}",
            c.duration_seconds
        );
        assert_eq!(c.bars, 5);
        assert!(
            c.conflicts.iter().any(|x| x.contains("whole bars")),
            "{:?}",
            c.conflicts
        );
        // the prompt's word asks the same; the request's `false` wins over it
        assert!(ctx("techno loop").looped);
        assert!(!ctx("techno").looped);
        r.prompt = "techno loop".into();
        r.looped = Some(false);
        let c = map(&r, &PromptParser::parse(&r.prompt), 1).unwrap().context;
        assert!(!c.looped && c.conflicts.iter().any(|x| x.starts_with("loop:")));
    }

    #[test]
    fn tempo_words_follow_the_genre() {
        assert_eq!(ctx("slow techno").tempo_bpm, 120.0);
        assert_eq!(ctx("fast house").tempo_bpm, 130.0);
        assert_eq!(ctx("half-time dnb").tempo_bpm, 87.0);
        assert_eq!(ctx("double-time hip hop").tempo_bpm, 180.0);
        assert_eq!(
            ctx("slow techno at 125").tempo_bpm,
            125.0,
            "a number beats a word"
        );
        assert_eq!(ctx("house 120-130 bpm").tempo_bpm, 125.0);
    }

    #[test]
    fn out_of_range_prompt_values_are_clamped_and_reported() {
        let c = ctx("techno at 400 bpm");
        assert_eq!(c.tempo_bpm, 240.0);
        assert_eq!(c.conflicts.len(), 1, "{:?}", c.conflicts);
        let c = ctx("jazz waltz");
        assert_eq!(c.meter, Meter::ThreeFour);
        assert!(c.conflicts.is_empty(), "{:?}", c.conflicts);
        let c = ctx("prog rock in 11/8");
        assert_eq!(c.meter, Meter::FourFour);
        assert!(c.conflicts[0].contains("11/8"), "{:?}", c.conflicts);
    }

    #[test]
    fn sections_set_the_arrangement_and_the_length() {
        use crate::arrangement::SectionKind;
        use crate::form::SectionRequest;
        let mut r = GenerationRequest::new("pop at 120 bpm, 30 seconds");
        r.sections = Some(vec![
            SectionRequest {
                name: "Intro".into(),
                bars: Some(2),
            },
            SectionRequest {
                name: "chorus".into(),
                bars: None,
            },
        ]);
        let c = map(&r, &PromptParser::parse(&r.prompt), 1).unwrap().context;
        assert!(c.sections_requested);
        assert_eq!(c.bars, 10);
        assert_eq!(c.duration_seconds, 20.0);
        assert_eq!(c.sections[1].name, SectionKind::Chorus);
        assert_eq!((c.sections[1].start_bar, c.sections[1].bars), (2, 8));
        assert_eq!(c.chords.len(), 10);
        assert!(
            c.conflicts.iter().any(|x| x.contains("30 s is not used")),
            "{:?}",
            c.conflicts
        );

        // The prompt's list, when the request names none.
        let p = "rock: intro, two verses, a chorus, outro at 100 bpm";
        let c = ctx(p);
        let names: Vec<&str> = c.sections.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["intro", "verse", "verse", "chorus", "outro"]);
        assert_eq!(c.bars, 32);

        // A form that does not fit the limits: refused from the request, set aside from the
        // prompt.
        r.prompt = "ambient at 40 bpm".into();
        r.sections = Some(vec![
            SectionRequest {
                name: "verse".into(),
                bars: Some(64),
            };
            3
        ]);
        let Err(e) = map(&r, &PromptParser::parse(&r.prompt), 1) else {
            panic!("192 bars at 40 bpm cannot fit");
        };
        assert!(e.to_string().contains("192 bars"), "{e}");
        assert_eq!(r.validate().unwrap_err().code(), "sections");
        let p = "ambient at 40 bpm, verse (64 bars), verse (64 bars), verse (64 bars)";
        let c = ctx(p);
        assert!(!c.sections_requested);
        assert!(
            c.conflicts
                .iter()
                .any(|x| x.contains("using the usual arrangement"))
        );
    }

    #[test]
    fn impossible_sections_are_refused_at_submission_with_the_field() {
        use crate::form::SectionRequest;
        let mut r = GenerationRequest::new("house");
        r.sections = Some(vec![SectionRequest {
            name: "coda".into(),
            bars: Some(4),
        }]);
        let e = r.validate().unwrap_err();
        assert_eq!(e.code(), "sections");
        assert!(e.to_string().contains("unknown section 'coda'"), "{e}");
        r.sections = Some(vec![SectionRequest {
            name: "intro\0".into(),
            bars: Some(4),
        }]);
        assert!(
            r.validate()
                .unwrap_err()
                .to_string()
                .contains("sections[0].name")
        );
        r.sections = Some(vec![SectionRequest {
            name: "drop".into(),
            bars: Some(8),
        }]);
        r.looped = Some(true);
        assert_eq!(r.validate().unwrap_err().code(), "sections");
        r.looped = None;
        assert!(r.validate().is_ok());
    }
}
