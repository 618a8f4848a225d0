//! Table-driven test of the prompt parser over prompts written the way people write them
//! (tests/prompts.txt): each row names the fields the parser must read.

use resonantgen_core::language::PromptParser;

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn prompt_table() {
    let table = include_str!("prompts.txt");
    let mut failures = Vec::new();
    let mut rows = 0;
    for line in table
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let (prompt, expect) = line.rsplit_once(" | ").expect("row has 'prompt | fields'");
        rows += 1;
        let p = PromptParser::parse(prompt);
        for field in expect.split(';').map(str::trim).filter(|f| !f.is_empty()) {
            let (name, want) = if let Some((n, w)) = field.split_once(">=") {
                (format!("{n}>="), w.trim().to_string())
            } else if let Some((n, w)) = field.split_once("<=") {
                (format!("{n}<="), w.trim().to_string())
            } else {
                let (n, w) = field.split_once('=').expect("field=value");
                (n.trim().to_string(), w.trim().to_string())
            };
            let ok = match name.as_str() {
                "genre" => p.genre == want,
                "genres" => p.genres == list(&want),
                "bpm" => p.tempo_bpm == Some(want.parse::<f64>().unwrap()),
                "range" => {
                    let (a, b) = want.split_once('-').unwrap();
                    p.tempo_range == Some((a.parse().unwrap(), b.parse().unwrap()))
                }
                "tword" => p.tempo_word.as_deref() == Some(want.as_str()),
                "key" => p.key.map(|k| k.to_string()) == Some(want.clone()),
                "ts" => p.time_signature.map(|(a, b)| format!("{a}/{b}")) == Some(want.clone()),
                "secs" => p.duration_seconds == Some(want.parse::<f64>().unwrap()),
                "bars" => p.bars == Some(want.parse::<u32>().unwrap()),
                "moods" => p.moods == list(&want),
                "excluded" => {
                    let got: Vec<String> =
                        p.excluded_tracks.iter().map(|t| t.to_string()).collect();
                    got == list(&want)
                }
                "instr" => {
                    let got: Vec<String> = p
                        .instruments
                        .iter()
                        .map(|d| format!("{}:{}", d.track, d.descriptor))
                        .collect();
                    let mut g = got.clone();
                    let mut w = list(&want);
                    g.sort();
                    w.sort();
                    g == w
                }
                "proc" => {
                    let mut g = p.processing.clone();
                    let mut w = list(&want);
                    g.sort();
                    w.sort();
                    g == w
                }
                "struct" => p.structure == list(&want),
                "unknown" => p.unknown_words == list(&want),
                "energy>=" => p.energy >= want.parse::<f32>().unwrap(),
                "energy<=" => p.energy <= want.parse::<f32>().unwrap(),
                other => panic!("unknown field {other} in row: {line}"),
            };
            if !ok {
                failures.push(format!(
                    "{prompt:?}: {name} expected {want:?}, parsed {p:?}"
                ));
            }
        }
    }
    assert!(rows >= 150, "only {rows} rows");
    assert!(
        failures.is_empty(),
        "{} of {rows} rows failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
