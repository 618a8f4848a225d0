//! Parse throughput: the language layer (parser + intent + mapper) over the 183-prompt table,
//! repeated; prints prompts per second for each stage.
//!
//!     cargo bench -p resonantgen-core --bench parse

use resonantgen_core::GenerationRequest;
use resonantgen_core::language::{MusicalIntentExtractor, PromptParser, mapper};
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let prompts: Vec<&str> = include_str!("../tests/prompts.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(" | ").map(|(p, _)| p))
        .collect();
    let rounds = 300;
    let n = (prompts.len() * rounds) as f64;

    let t = Instant::now();
    for _ in 0..rounds {
        for p in &prompts {
            black_box(PromptParser::parse(black_box(p)));
        }
    }
    let parse = n / t.elapsed().as_secs_f64();

    let parsed: Vec<_> = prompts.iter().map(|p| PromptParser::parse(p)).collect();
    let t = Instant::now();
    for _ in 0..rounds {
        for p in &parsed {
            black_box(MusicalIntentExtractor::extract(black_box(p)));
        }
    }
    let intent = n / t.elapsed().as_secs_f64();

    let t = Instant::now();
    for _ in 0..rounds {
        for (p, text) in parsed.iter().zip(&prompts) {
            let r = GenerationRequest::new(*text);
            black_box(mapper::map(&r, black_box(p), 1).ok());
        }
    }
    let map = n / t.elapsed().as_secs_f64();

    let long =
        "dark techno with driving bass and rolling hi-hats at 128 bpm in A minor, ".repeat(55);
    let t = Instant::now();
    for _ in 0..200 {
        black_box(PromptParser::parse(black_box(&long)));
    }
    let long_rate = 200.0 / t.elapsed().as_secs_f64();

    println!("| stage | prompts/second |");
    println!("|---|---|");
    println!(
        "| PromptParser::parse ({} prompts × {rounds}) | {parse:.0} |",
        prompts.len()
    );
    println!("| MusicalIntentExtractor::extract | {intent:.0} |");
    println!("| mapper::map (context + intent) | {map:.0} |");
    println!(
        "| PromptParser::parse, {}-byte prompt | {long_rate:.0} |",
        long.len()
    );
}
