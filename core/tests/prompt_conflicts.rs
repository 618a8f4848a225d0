//! The language layer says what it resolved and what it could not use (issue 13, item 9):
//! every contradiction names both sides' words and the side taken; every number or key it
//! could not use is reported; a prompt that leaves nothing to generate is refused at
//! validation. Prompts that say each thing once get no notes at all.

use resonantgen_core::language::{PromptParser, mapper};
use resonantgen_core::{GenerationContext, GenerationRequest, TrackType};

fn ctx_for(request: &GenerationRequest) -> GenerationContext {
    mapper::map(request, &PromptParser::parse(&request.prompt), 1)
        .unwrap()
        .context
}

fn ctx(prompt: &str) -> GenerationContext {
    ctx_for(&GenerationRequest::new(prompt))
}

/// The one conflict containing every needle.
fn note<'a>(c: &'a GenerationContext, needles: &[&str]) -> &'a str {
    let hits: Vec<&String> = c
        .conflicts
        .iter()
        .filter(|n| needles.iter().all(|w| n.contains(w)))
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "want one conflict with {needles:?}, got {:?}",
        c.conflicts
    );
    hits[0]
}

#[test]
fn two_keys_and_two_tempos_name_both_and_the_one_taken() {
    let c = ctx("techno in A minor in C major at 120 bpm at 140 bpm");
    assert_eq!(c.tempo_bpm, 120.0);
    assert_eq!(c.key.to_string(), "A minor");
    note(
        &c,
        &[
            "tempo",
            "120 bpm",
            "'at 120 bpm'",
            "140 bpm",
            "'at 140 bpm'",
            "using the first, 120 bpm",
        ],
    );
    note(
        &c,
        &[
            "key",
            "A minor",
            "'a minor'",
            "C major",
            "'c major'",
            "using the first, A minor",
        ],
    );
}

#[test]
fn a_duration_out_of_range_says_so_with_its_words_and_what_is_used() {
    let c = ctx("ambient, 99999 hours long");
    assert_eq!(c.duration_seconds, 600.0);
    note(&c, &["duration", "'99999 hours'", "outside", "using 600 s"]);
    // Short ones are raised to the minimum, also with a note.
    let c = ctx("techno, 200 ms");
    assert_eq!(c.duration_seconds, 1.0);
    note(&c, &["duration", "'200 ms'", "using 1 s"]);
}

#[test]
fn a_key_that_does_not_exist_is_named_as_unknown() {
    let p = PromptParser::parse("jazz in H minor");
    assert!(!p.unknown_words.contains(&"h".to_string()), "{p:?}");
    let c = ctx("jazz in H minor");
    let n = note(&c, &["'H minor' is not a key"]);
    assert!(n.contains(&format!("using {}", c.key)), "{n}");
    // Other spellings of a note that does not exist.
    for prompt in [
        "house in the key of H",
        "trap in Hm",
        "techno in X sharp major",
    ] {
        let c = ctx(prompt);
        assert!(
            c.conflicts.iter().any(|n| n.contains("is not a key")),
            "{prompt}: {:?}",
            c.conflicts
        );
    }
    // With a real key as well, the real one is used and said.
    let c = ctx("jazz in H minor in F major");
    assert_eq!(c.key.to_string(), "F major");
    note(&c, &["'H minor' is not a key", "using F major"]);
}

#[test]
fn numbers_nothing_could_use_are_reported() {
    let c = ctx("techno 128 bpm with 7 hats and 3.5 claps");
    assert_eq!(c.tempo_bpm, 128.0);
    note(&c, &["numbers", "'7'", "'3.5'", "not used"]);
    // A tempo number outside the range "at" reads is not used either, and says so.
    let c = ctx("house at 999");
    note(&c, &["'999'", "not used"]);
}

#[test]
fn a_number_beats_a_word_and_says_so() {
    let c = ctx("slow techno at 135 bpm");
    assert_eq!(c.tempo_bpm, 135.0);
    note(&c, &["'slow'", "135 bpm", "a number beats a word"]);
    let c = ctx("slow fast house");
    note(&c, &["'slow'", "'fast'", "using the first"]);
}

#[test]
fn durations_named_twice_and_prompt_vs_request() {
    let c = ctx("house, 30 seconds, 16 bars");
    assert_eq!(c.duration_seconds, 30.0);
    note(
        &c,
        &[
            "duration",
            "'30 seconds'",
            "16 bars",
            "using the first, 30 s",
        ],
    );

    let mut r = GenerationRequest::new("techno at 130 bpm in A minor, 1 minute");
    r.tempo = Some(125.0);
    r.key = Some("C major".into());
    r.duration_seconds = Some(20.0);
    let c = ctx_for(&r);
    note(&c, &["tempo", "'at 130 bpm'", "using the request"]);
    note(&c, &["key", "'a minor'", "using the request"]);
    note(&c, &["duration", "'1 minute'", "using the request"]);
}

#[test]
fn descriptors_moods_and_tracks_that_contradict_are_reported() {
    let c = ctx("trap with 808s, no bass");
    note(&c, &["bass", "'808'", "leaves out"]);
    let c = ctx("happy house in A minor");
    note(&c, &["mood 'happy'", "major", "using A minor"]);
    let mut r = GenerationRequest::new("techno, no drums");
    r.tracks = Some(vec![TrackType::Drums]);
    let c = ctx_for(&r);
    note(&c, &["tracks", "drums", "leaves out"]);
}

#[test]
fn prompts_that_say_each_thing_once_have_no_conflicts() {
    for prompt in [
        "dark techno with driving bass at 128 bpm",
        "dark techno with driving bass at 128 bpm, 30 seconds",
        "lofi hip hop in D dorian",
        "deep house at 122 bpm, 2 minutes",
        "jazz with walking bass in the key of Bb",
        "house 124, 16 bars",
        "techno at 128 bpm, 128bpm, in A minor, Am key",
        "trap with 808s and rolling hi-hats",
        "drum and bass 174 bpm",
        "sad piano ballad in C minor",
    ] {
        let c = ctx(prompt);
        assert!(c.conflicts.is_empty(), "{prompt}: {:?}", c.conflicts);
    }
}

#[test]
fn a_prompt_that_leaves_out_every_track_is_refused_with_the_reason() {
    for prompt in [
        "no drums no bass no harmony no melody",
        "techno without drums, without bass, no chords, no lead",
    ] {
        let e = GenerationRequest::new(prompt).validate().unwrap_err();
        let m = e.to_string();
        assert!(
            m.starts_with("prompt: ") && m.contains("nothing to generate"),
            "{prompt}: {m}"
        );
    }
    let mut r = GenerationRequest::new("techno");
    r.tracks = Some(vec![]);
    let m = r.validate().unwrap_err().to_string();
    assert!(
        m.contains("tracks") && m.contains("nothing to generate"),
        "{m}"
    );
    // Leaving out all but one is fine.
    GenerationRequest::new("no drums no bass no harmony")
        .validate()
        .unwrap();
}
