//! Structure as a control: the sections a request names — in the request
//! (`"sections": [{"name": "intro", "bars": 8}, …]`), as text in a catalog or on the command
//! line (`intro:8, verse:16, chorus:8, outro:4`), or in the prompt ("intro, two verses,
//! chorus, outro", "8 bar intro then a 16 bar drop"). Read once at submission, so a form that
//! cannot be played is refused with its reason; the mapper lays it out as the arrangement
//! (`arrangement::requested`) and the piece's length follows it.

use crate::arrangement::SectionKind;
use crate::language::parser::{is_bar_word, number_word};
use serde::{Deserialize, Serialize};

/// Most sections one form may name.
pub const MAX_SECTIONS: usize = 32;
/// Most bars one section may hold.
pub const MAX_SECTION_BARS: u32 = 64;
/// Longest form text, in characters.
pub const MAX_TEXT_CHARS: usize = 1024;

/// One section as a request names it: the JSON form of `sections`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionRequest {
    /// intro, verse, pre-chorus, chorus, bridge, build, drop, breakdown, solo or outro.
    pub name: String,
    /// Bars (default: the kind's usual length — intro, outro, pre-chorus 4; drop 16; else 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bars: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("sections: no section named")]
    Empty,
    #[error("sections: more than {MAX_SECTIONS} sections")]
    TooMany,
    #[error("sections: longer than {MAX_TEXT_CHARS} characters")]
    TooLong,
    #[error(
        "sections: unknown section '{0}' (intro, verse, pre-chorus, chorus, bridge, build, drop, breakdown, solo, outro)"
    )]
    Unknown(String),
    #[error("sections: '{0}' holds {1} bars; a section holds 1 to {MAX_SECTION_BARS}")]
    BadLength(String, u32),
    #[error("sections: a loop is one section; ask for loop: true instead")]
    Loop,
    #[error("sections: cannot read '{0}': expected NAME or NAME:BARS, comma-separated")]
    Unreadable(String),
}

/// A checked form: sections in order with their bars.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Form(pub Vec<(SectionKind, u32)>);

impl Form {
    /// The request's JSON list.
    pub fn from_request(sections: &[SectionRequest]) -> Result<Form, FormError> {
        let mut out = Vec::with_capacity(sections.len());
        for s in sections {
            let kind =
                SectionKind::parse(&s.name).ok_or_else(|| FormError::Unknown(s.name.clone()))?;
            out.push((kind, s.bars.unwrap_or_else(|| kind.default_bars())));
        }
        Form::checked(out)
    }

    /// Text as a catalog cell or a CLI flag writes it: `intro:8, verse:16, chorus, outro:4`
    /// (also `intro 8` and `;` or `|` between sections).
    pub fn parse(text: &str) -> Result<Form, FormError> {
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(FormError::TooLong);
        }
        let mut out = Vec::new();
        for item in text
            .split([',', ';', '|'])
            .map(str::trim)
            .filter(|i| !i.is_empty())
        {
            let (name, bars) = match item.rsplit_once([':', ' ']) {
                Some((n, b)) if b.trim().parse::<u32>().is_ok() => {
                    (n.trim(), b.trim().parse::<u32>().ok())
                }
                _ => (item, None),
            };
            let kind = SectionKind::parse(name).ok_or_else(|| {
                if name.chars().any(|c| c.is_ascii_digit()) {
                    FormError::Unreadable(item.to_string())
                } else {
                    FormError::Unknown(name.to_string())
                }
            })?;
            out.push((kind, bars.unwrap_or_else(|| kind.default_bars())));
            if out.len() > MAX_SECTIONS {
                return Err(FormError::TooMany);
            }
        }
        Form::checked(out)
    }

    /// The JSON list of this form (what a CLI flag or a catalog cell becomes in the request).
    pub fn to_request(&self) -> Vec<SectionRequest> {
        self.0
            .iter()
            .map(|(k, b)| SectionRequest {
                name: k.to_string(),
                bars: Some(*b),
            })
            .collect()
    }

    pub fn bars(&self) -> u32 {
        self.0.iter().map(|(_, b)| b).sum()
    }

    /// "intro 4, verse 8, chorus 8", for people.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = self.0.iter().map(|(k, b)| format!("{k} {b}")).collect();
        parts.join(", ")
    }

    fn checked(sections: Vec<(SectionKind, u32)>) -> Result<Form, FormError> {
        if sections.is_empty() {
            return Err(FormError::Empty);
        }
        if sections.len() > MAX_SECTIONS {
            return Err(FormError::TooMany);
        }
        for (k, b) in &sections {
            if *k == SectionKind::Loop {
                return Err(FormError::Loop);
            }
            if !(1..=MAX_SECTION_BARS).contains(b) {
                return Err(FormError::BadLength(k.to_string(), *b));
            }
        }
        Ok(Form(sections))
    }
}

/// Words that only join sections in a list.
fn is_joiner(t: &str) -> bool {
    matches!(
        t,
        "," | ";"
            | "->"
            | "→"
            | "+"
            | "/"
            | "and"
            | "then"
            | "a"
            | "an"
            | "the"
            | "followed"
            | "by"
    )
}

/// How many times a section repeats: the parser's number words and digits (1–8), or
/// "2x", "twice", "double".
fn count_word(t: &str) -> Option<u32> {
    match t {
        "twice" | "double" => Some(2),
        _ => {
            let n = number_word(t.strip_suffix('x').unwrap_or(t))?;
            (n.fract() == 0.0 && (1.0..=8.0).contains(&n)).then_some(n as u32)
        }
    }
}

/// Lower-cased words and list punctuation of a prompt.
fn tokens(prompt: &str) -> Vec<String> {
    let lower = prompt.to_lowercase().replace('→', " -> ");
    let mut out = Vec::new();
    let mut word = String::new();
    let mut chars = lower.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric()
            || (c == '-' && !word.is_empty() && chars.peek().is_some_and(|n| n.is_alphanumeric()))
        {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        match c {
            '-' if chars.peek() == Some(&'>') => {
                chars.next();
                out.push("->".into());
            }
            ',' | ';' | '+' | '/' | ':' | '(' | ')' => out.push(c.to_string()),
            _ => {}
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// A section kind at `t[i]` (one word, or two: "pre chorus", "build up", "middle eight");
/// the kind and the words it took.
fn kind_at(t: &[String], i: usize) -> Option<(SectionKind, usize)> {
    let word = t.get(i)?;
    let next = t
        .get(i + 1)
        .filter(|w| w.chars().all(|c| c.is_alphanumeric()));
    let kind = match SectionKind::parse(word) {
        // "build up" is one section
        Some(k) if next.is_some_and(|n| n == "up") => return Some((k, 2)),
        Some(k) => k,
        None => {
            let k = SectionKind::parse(&format!("{word}{}", next?))?;
            return Some((k, 2));
        }
    };
    // "loop" alone is too common in prompts to start a section list.
    (kind != SectionKind::Loop).then_some((kind, 1))
}

/// "N bar" / "N-bar" / "N bars" at `t[i]`: the bars and the words taken.
fn bars_at(t: &[String], i: usize) -> Option<(u32, usize)> {
    let w = t.get(i)?;
    if let Some(n) = w.strip_suffix("-bar").or_else(|| w.strip_suffix("-bars")) {
        return n.parse().ok().map(|n| (n, 1));
    }
    let n: u32 = w.parse().ok()?;
    is_bar_word(t.get(i + 1)?).then_some((n, 2))
}

/// One list item at `t[i]`: `[count] [N bar] KIND [:N | (N bars) | N bars] [xN]`.
fn item_at(t: &[String], mut i: usize) -> Option<(SectionKind, u32, u32, usize)> {
    let start = i;
    let mut bars = None;
    let mut count = 1;
    if let Some((b, n)) = bars_at(t, i) {
        bars = Some(b);
        i += n;
    } else if let Some(c) = t.get(i).and_then(|w| count_word(w))
        && (kind_at(t, i + 1).is_some() || bars_at(t, i + 1).is_some())
    {
        count = c;
        i += 1;
        if let Some((b, n)) = bars_at(t, i) {
            bars = Some(b);
            i += n;
        }
    }
    let (kind, n) = kind_at(t, i)?;
    i += n;
    if t.get(i).map(String::as_str) == Some(":")
        && let Some(b) = t.get(i + 1).and_then(|w| w.parse().ok())
    {
        bars = Some(b);
        i += 2;
    } else if t.get(i).map(String::as_str) == Some("(")
        && let Some((b, n)) = bars_at(t, i + 1)
        && t.get(i + 1 + n).map(String::as_str) == Some(")")
    {
        bars = Some(b);
        i += n + 2;
    } else if let Some((b, n)) = bars_at(t, i)
        && kind_at(t, i + n).is_none()
    {
        bars = Some(b);
        i += n;
    }
    if let Some(c) = t
        .get(i)
        .and_then(|w| w.strip_prefix('x'))
        .and_then(|n| n.parse().ok())
    {
        count = c;
        i += 1;
    }
    Some((
        kind,
        bars.unwrap_or_else(|| kind.default_bars()),
        count,
        i - start,
    ))
}

/// The form a prompt lists, when it lists one: a run of at least three sections (counting
/// repeats: "intro, two verses" is three) joined by commas, "and", "then" or arrows, or any
/// run after "structure"/"form"/"sections". A lone "with a big drop" is a description, not
/// a form. `None` also for a run that breaks the limits (the prompt is free text: it
/// describes, and is never refused for it).
pub fn find_in_prompt(prompt: &str) -> Option<Form> {
    let t = tokens(prompt);
    let is_lead = |w: &str| matches!(w, "structure" | "form" | "sections" | "arrangement");
    let mut best: Option<Vec<(SectionKind, u32)>> = None;
    let mut i = 0;
    while i < t.len() {
        if item_at(&t, i).is_none() {
            i += 1;
            continue;
        }
        let lead =
            (i >= 1 && is_lead(&t[i - 1])) || (i >= 2 && t[i - 1] == ":" && is_lead(&t[i - 2]));
        let mut run = Vec::new();
        let mut j = i;
        while let Some((kind, bars, count, n)) = item_at(&t, j) {
            run.extend(std::iter::repeat_n((kind, bars), count as usize));
            j += n;
            // Items follow each other with or without joiners ("verse chorus verse").
            let mut k = j;
            while k < t.len() && is_joiner(&t[k]) {
                k += 1;
            }
            if item_at(&t, k).is_none() {
                break;
            }
            j = k;
        }
        if (run.len() >= 3 || (lead && !run.is_empty()))
            && best.as_ref().is_none_or(|b| run.len() > b.len())
        {
            best = Some(run);
        }
        i = j.max(i + 1);
    }
    best.and_then(|b| Form::checked(b).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use SectionKind::*;

    #[test]
    fn text_forms_read_with_and_without_bars() {
        let f = Form::parse("intro:8, verse:16, chorus, Pre-Chorus 2; outro").unwrap();
        assert_eq!(
            f.0,
            [
                (Intro, 8),
                (Verse, 16),
                (Chorus, 8),
                (PreChorus, 2),
                (Outro, 4)
            ]
        );
        assert_eq!(f.bars(), 38);
        assert_eq!(Form::parse(&f.summary().replace(' ', ":")).unwrap(), f);
    }

    #[test]
    fn impossible_forms_say_why() {
        assert_eq!(Form::parse(""), Err(FormError::Empty));
        assert_eq!(
            Form::parse("intro, coda"),
            Err(FormError::Unknown("coda".into()))
        );
        assert_eq!(
            Form::parse("verse:0"),
            Err(FormError::BadLength("verse".into(), 0))
        );
        assert_eq!(
            Form::parse("verse:65"),
            Err(FormError::BadLength("verse".into(), 65))
        );
        assert_eq!(Form::parse("loop:4"), Err(FormError::Loop));
        assert_eq!(Form::parse(&"verse, ".repeat(33)), Err(FormError::TooMany));
        let json = [SectionRequest {
            name: "chorus".into(),
            bars: Some(200),
        }];
        assert!(
            Form::from_request(&json)
                .unwrap_err()
                .to_string()
                .contains("'chorus' holds 200")
        );
    }

    #[test]
    fn prompts_that_list_sections_give_a_form() {
        let cases: &[(&str, &[(SectionKind, u32)])] = &[
            (
                "pop song with an intro, two verses, a chorus and an outro",
                &[(Intro, 4), (Verse, 8), (Verse, 8), (Chorus, 8), (Outro, 4)],
            ),
            (
                "techno: 8 bar intro then a 16 bar build, drop (32 bars), outro",
                &[(Intro, 8), (Build, 16), (Drop, 32), (Outro, 4)],
            ),
            (
                "rock, verse chorus verse chorus bridge chorus",
                &[
                    (Verse, 8),
                    (Chorus, 8),
                    (Verse, 8),
                    (Chorus, 8),
                    (Bridge, 8),
                    (Chorus, 8),
                ],
            ),
            (
                "ballad, structure: verse, chorus",
                &[(Verse, 8), (Chorus, 8)],
            ),
            (
                "intro -> verse x2 -> pre-chorus -> chorus",
                &[
                    (Intro, 4),
                    (Verse, 8),
                    (Verse, 8),
                    (PreChorus, 4),
                    (Chorus, 8),
                ],
            ),
        ];
        for (prompt, want) in cases {
            assert_eq!(
                find_in_prompt(prompt).map(|f| f.0),
                Some(want.to_vec()),
                "{prompt}"
            );
        }
    }

    #[test]
    fn prompts_that_describe_are_not_forms() {
        for p in [
            "house with a big drop",
            "dark techno with driving bass at 128 bpm, 30 seconds",
            "8 bar loop, lo-fi hip hop",
            "jazz with a drum break and a long intro",
            "drum and bass",
        ] {
            assert_eq!(find_in_prompt(p), None, "{p}");
        }
    }
}
