//! Property tests: the parser takes any text — random Unicode, vocabulary soup, numbers in
//! odd places — without panicking, and what it returns is always in range.

use proptest::prelude::*;
use resonantgen_core::GenerationRequest;
use resonantgen_core::language::{PromptParser, mapper};

const WORDS: &[&str] = &[
    "techno",
    "house",
    "deep",
    "dnb",
    "drum",
    "and",
    "bass",
    "no",
    "only",
    "just",
    "drums",
    "in",
    "a",
    "minor",
    "f#",
    "e",
    "flat",
    "major",
    "key",
    "of",
    "at",
    "bpm",
    "128",
    "120-130",
    "1:30",
    "16",
    "bars",
    "bar",
    "seconds",
    "45s",
    "2min",
    "slow",
    "half-time",
    "808s",
    "rolling",
    "hi-hats",
    "piano",
    "strings",
    "arpeggios",
    "drop",
    "intro",
    "build",
    "up",
    "vinyl",
    "lo-fi",
    "dark",
    "happy",
    "3/4",
    "waltz",
    "between",
    "tempo",
    "melody",
    "without",
    "Am",
    "C#m",
    "☃",
    "-",
    "nan",
    "inf",
    "1e9",
    "0",
    "999999999999",
    "half",
    "minute",
    ",",
    ".",
    "!!",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(WORDS), 0..24).prop_map(|w| w.join(" "))
}

fn unicode() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..300).prop_map(|v| v.into_iter().collect())
}

fn check(s: &str) {
    let p = PromptParser::parse(s);
    assert!((0.0..=1.0).contains(&p.energy));
    if let Some(t) = p.tempo_bpm {
        assert!(t.is_finite() && t >= 0.0);
    }
    if let Some(d) = p.duration_seconds {
        assert!(d.is_finite() && d >= 0.0);
    }
    let m = mapper::map(&GenerationRequest::new(s), &p, 0).expect("maps");
    let c = m.context;
    assert!(
        (40.0..=240.0).contains(&c.tempo_bpm),
        "{s:?} → {}",
        c.tempo_bpm
    );
    assert!(
        (1.0..=600.0).contains(&c.duration_seconds),
        "{s:?} → {}",
        c.duration_seconds
    );
    assert_eq!(c.chords.len(), c.bars as usize);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn vocabulary_soup_never_panics(s in soup()) {
        check(&s);
    }

    #[test]
    fn any_unicode_never_panics(s in unicode()) {
        check(&s);
    }

    #[test]
    fn case_and_punctuation_do_not_change_the_reading(s in soup()) {
        let a = PromptParser::parse(&s);
        let b = PromptParser::parse(&s.to_uppercase());
        prop_assert_eq!(a.genre, b.genre);
        prop_assert_eq!(a.tempo_bpm, b.tempo_bpm);
        prop_assert_eq!(a.key, b.key);
    }
}
