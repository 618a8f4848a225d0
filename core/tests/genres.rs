//! The genre table test: prompts across every genre (and prompts that name none) must
//! resolve to the genre a producer would hear in them, say how it was chosen, and put an
//! instrument of the right family on every track — a ride kit and an upright bass for jazz,
//! distorted guitars for metal, our 909 for techno. Data in `genres.txt`.

use resonantgen_core::TrackType;
use resonantgen_core::instrument::Family;
use resonantgen_core::language::parser::GenreChoice;
use resonantgen_core::language::{MusicalIntentExtractor, PromptParser};

fn family_name(f: Family) -> String {
    serde_json::to_value(f)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

#[test]
fn genre_table() {
    let table = include_str!("genres.txt");
    let mut failures = Vec::new();
    let mut rows = 0;
    let mut seen = std::collections::BTreeSet::new();
    for line in table.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        rows += 1;
        let cols: Vec<&str> = line.split(" | ").map(str::trim).collect();
        let prompt = cols[0];
        let parsed = PromptParser::parse(prompt);
        let intent = MusicalIntentExtractor::extract(&parsed);
        seen.insert(parsed.genre.clone());
        let how = match &parsed.genre_choice {
            GenreChoice::Named { .. } => "named",
            GenreChoice::Inferred { .. } => "inferred",
            GenreChoice::Default => "default",
        };
        let families: Vec<String> = TrackType::ALL
            .iter()
            .map(|t| family_name(intent.instrument(*t).family()))
            .collect();
        let got = format!(
            "{} | {} | {} | {} | {} | {} | {}",
            prompt, parsed.genre, how, families[0], families[1], families[2], families[3]
        );
        let want_genre = cols.get(1).copied().unwrap_or("");
        let want_how = cols.get(2).copied().unwrap_or("named");
        let mut ok = parsed.genre == want_genre && how == want_how;
        for (i, want) in cols.iter().skip(3).enumerate() {
            ok &= families.get(i).is_some_and(|f| f == want);
        }
        // a genre nobody named is never silent about how it was chosen
        ok &= parsed.genre_from_prompt || !matches!(parsed.genre_choice, GenreChoice::Named { .. });
        if std::env::var_os("GENRES_DUMP").is_some() {
            println!("{got}");
        }
        if !ok {
            failures.push(got);
        }
    }
    assert!(rows >= 80, "{rows} rows");
    assert!(
        failures.is_empty(),
        "{} of {rows} rows differ (got):\n{}",
        failures.len(),
        failures.join("\n")
    );
    // every genre in the table is exercised
    for g in resonantgen_core::language::genre::GENRES {
        assert!(seen.contains(g.name), "no prompt resolves to {}", g.name);
    }
}
