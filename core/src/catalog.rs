//! Catalogs: many GenerationRequests in one file — JSONL (one request object per line) or
//! CSV (a header naming request fields) — with batch-wide defaults that each line may
//! override and an optional external id.
//!
//! A catalog is read twice and never held as a whole: [`parse`] validates every line and
//! keeps only a bounded [`Report`] (counts by reason and the first [`MAX_LISTED_ERRORS`]
//! line errors), so memory stays flat however much garbage is sent; [`Catalog::entries`]
//! then reads the valid lines again, lazily, for the enqueue. Only an [`Accepted`] catalog
//! — one validated completely, with no invalid line or with `skip_invalid` chosen — can be
//! enqueued, so nothing is written before the last line has been checked.
//!
//! Each line also gets an idempotency key — its own, or one derived from its content — so
//! that submitting the same catalog twice enqueues nothing the second time.

use crate::request::GenerationRequest;
use crate::text::{self, TextError};
use crate::track::TrackType;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

/// Longest accepted external id, in characters.
pub const MAX_EXTERNAL_ID_CHARS: usize = 200;
/// Line errors listed in a report; the rest are only counted.
pub const MAX_LISTED_ERRORS: usize = 100;
/// A listed reason is cut to this many characters (serde errors quote the input).
const MAX_REASON_CHARS: usize = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Jsonl,
    Csv,
}

impl Format {
    /// From a file name's extension (`.jsonl`/`.ndjson`/`.json` or `.csv`).
    pub fn from_path(path: &str) -> Option<Format> {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".csv") {
            Some(Format::Csv)
        } else if [".jsonl", ".ndjson", ".json"]
            .iter()
            .any(|e| lower.ends_with(e))
        {
            Some(Format::Jsonl)
        } else {
            None
        }
    }
}

/// Batch-wide defaults, applied where a line leaves the field unset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    #[serde(default)]
    pub duration_seconds: Option<f64>,
    #[serde(default)]
    pub sample_rate: Option<u32>,
    #[serde(default)]
    pub bit_depth: Option<u16>,
    #[serde(default)]
    pub loudness_target: Option<f64>,
    #[serde(default)]
    pub priority: Option<i32>,
    #[serde(default)]
    pub tracks: Option<Vec<TrackType>>,
}

impl Defaults {
    fn apply(&self, r: &mut GenerationRequest) {
        r.duration_seconds = r.duration_seconds.or(self.duration_seconds);
        r.sample_rate = r.sample_rate.or(self.sample_rate);
        r.bit_depth = r.bit_depth.or(self.bit_depth);
        r.loudness_target = r.loudness_target.or(self.loudness_target);
        r.priority = r.priority.or(self.priority);
        if r.tracks.is_none() {
            r.tracks.clone_from(&self.tracks);
        }
    }
}

/// One valid line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// 1-based line number in the file (for CSV: the record's line).
    pub line: usize,
    pub external_id: Option<String>,
    /// Validated, defaults applied, idempotency key set.
    pub request: GenerationRequest,
}

/// One rejected line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineError {
    pub line: usize,
    /// Stable short name of the problem (`not_json`, `tempo`, `unstorable_text`, …): the
    /// report counts lines by it.
    pub kind: &'static str,
    pub reason: String,
}

impl LineError {
    fn new(line: usize, kind: &'static str, reason: impl Into<String>) -> Self {
        let reason: String = reason.into();
        let reason = if reason.chars().count() > MAX_REASON_CHARS {
            let mut cut: String = reason.chars().take(MAX_REASON_CHARS).collect();
            cut.push('…');
            cut
        } else {
            reason
        };
        LineError { line, kind, reason }
    }
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// What validating every line found: bounded in size whatever the input.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// Lines that can be enqueued.
    pub valid: usize,
    /// Lines that cannot (all of them, listed or not).
    pub invalid: usize,
    /// Invalid lines per [`LineError::kind`].
    pub invalid_by_reason: BTreeMap<&'static str, usize>,
    /// The first [`MAX_LISTED_ERRORS`] invalid lines, in file order.
    pub errors: Vec<LineError>,
    /// Fingerprint of the valid lines (their idempotency keys, in order): the same catalog
    /// submitted again has the same key.
    #[serde(skip)]
    key: String,
}

impl Report {
    /// Invalid lines counted but not listed.
    pub fn unlisted(&self) -> usize {
        self.invalid - self.errors.len()
    }

    fn record(&mut self, e: LineError) {
        self.invalid += 1;
        *self.invalid_by_reason.entry(e.kind).or_default() += 1;
        if self.errors.len() < MAX_LISTED_ERRORS {
            self.errors.push(e);
        }
    }
}

/// A validated catalog: the text it reads again, and the report of the first reading.
#[derive(Debug, Clone)]
pub struct Catalog<'a> {
    text: &'a str,
    format: Format,
    defaults: Defaults,
    report: Report,
}

/// Why a validated catalog cannot be enqueued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("{invalid} invalid line(s) of {lines}; nothing enqueued")]
    Invalid { invalid: usize, lines: usize },
    #[error("the catalog has no valid lines; nothing enqueued")]
    Empty,
}

/// A catalog that may be enqueued: validated completely, with no invalid line or with
/// invalid lines to be skipped, and at least one valid line.
#[derive(Debug, Clone, Copy)]
pub struct Accepted<'c>(&'c Catalog<'c>);

impl<'c> Accepted<'c> {
    pub fn catalog(&self) -> &'c Catalog<'c> {
        self.0
    }
}

impl<'a> Catalog<'a> {
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// See [`Report`]: the fingerprint of the valid lines.
    pub fn key(&self) -> &str {
        &self.report.key
    }

    /// Every line again, valid or not, read lazily.
    pub fn lines(&self) -> Lines<'_> {
        Lines::new(self.text, self.format, &self.defaults)
    }

    /// The valid lines, read again lazily, in file order.
    pub fn entries(&self) -> impl Iterator<Item = Entry> + '_ {
        self.lines().filter_map(Result::ok)
    }

    /// Whether this catalog may be enqueued.
    pub fn accept(&self, skip_invalid: bool) -> Result<Accepted<'_>, Refused> {
        if self.report.invalid > 0 && !skip_invalid {
            return Err(Refused::Invalid {
                invalid: self.report.invalid,
                lines: self.report.invalid + self.report.valid,
            });
        }
        if self.report.valid == 0 {
            return Err(Refused::Empty);
        }
        Ok(Accepted(self))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Validates every line of a catalog, keeping only a bounded report.
pub fn parse<'a>(text: &'a str, format: Format, defaults: &Defaults) -> Catalog<'a> {
    let mut report = Report::default();
    let mut key = Sha256::new();
    for line in Lines::new(text, format, defaults) {
        match line {
            Ok(e) => {
                report.valid += 1;
                key.update(e.request.idempotency_key.as_deref().unwrap_or_default());
                key.update(b"\n");
            }
            Err(e) => report.record(e),
        }
    }
    report.key = hex(&key.finalize());
    Catalog {
        text,
        format,
        defaults: defaults.clone(),
        report,
    }
}

/// A line read: (external id, request) or why not.
type RowResult = Result<(Option<String>, GenerationRequest), LineError>;

/// The lines of a catalog, each validated: an entry, or the reason it is refused. External
/// ids must be unique, so this remembers (a digest of) each one seen.
pub struct Lines<'a> {
    rows: Rows<'a>,
    defaults: &'a Defaults,
    /// First 16 bytes of SHA-256 of each external id → its line (digests keep the set
    /// small; a collision would need 2⁶⁴ ids).
    ids: HashMap<[u8; 16], usize>,
}

enum Rows<'a> {
    Jsonl(std::iter::Enumerate<std::str::Lines<'a>>),
    Csv {
        headers: Vec<String>,
        records: csv::StringRecordsIntoIter<&'a [u8]>,
    },
    /// A CSV whose header is unusable: one error, then nothing.
    Refused(Option<LineError>),
}

impl<'a> Lines<'a> {
    fn new(text: &'a str, format: Format, defaults: &'a Defaults) -> Self {
        let rows = match format {
            Format::Jsonl => Rows::Jsonl(text.lines().enumerate()),
            Format::Csv => csv_rows(text),
        };
        Lines {
            rows,
            defaults,
            ids: HashMap::new(),
        }
    }

    fn next_row(&mut self) -> Option<(usize, RowResult)> {
        match &mut self.rows {
            Rows::Jsonl(lines) => lines.find_map(|(i, l)| {
                let t = l.trim();
                (!t.is_empty() && !t.starts_with('#')).then(|| (i + 1, jsonl_line(i + 1, l)))
            }),
            Rows::Csv { headers, records } => records.next().map(|record| match record {
                Ok(r) => {
                    let line = r.position().map_or(0, |p| p.line() as usize);
                    (line, csv_request(line, headers, &r))
                }
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line() as usize);
                    let err =
                        LineError::new(line, "malformed_csv", format!("malformed CSV record: {e}"));
                    (line, Err(err))
                }
            }),
            Rows::Refused(e) => e.take().map(|e| (e.line, Err(e))),
        }
    }

    fn finish(&mut self, line: usize, row: RowResult) -> Result<Entry, LineError> {
        let (external_id, mut request) = row?;
        self.defaults.apply(&mut request);
        if let Some(id) = &external_id {
            text::check("external_id", id).map_err(|e| text_error(line, e))?;
            if id.is_empty() || id.chars().count() > MAX_EXTERNAL_ID_CHARS {
                return Err(LineError::new(
                    line,
                    "external_id",
                    format!("external_id must be 1–{MAX_EXTERNAL_ID_CHARS} characters"),
                ));
            }
            let mut digest = [0u8; 16];
            digest.copy_from_slice(&Sha256::digest(id.as_bytes())[..16]);
            if let Some(first) = self.ids.get(&digest) {
                return Err(LineError::new(
                    line,
                    "duplicate_external_id",
                    format!("external_id '{id}' is already used on line {first}"),
                ));
            }
            self.ids.insert(digest, line);
        }
        request
            .validate()
            .map_err(|e| LineError::new(line, e.code(), e.to_string()))?;
        if request.variations.is_some_and(|n| n > 1) {
            return Err(LineError::new(
                line,
                "variations",
                "variations: a catalog line is one generation; write a line per take, each \
                 with the same seed and its own take (0, 1, …)",
            ));
        }
        if request.idempotency_key.is_none() {
            request.idempotency_key = Some(derived_key(external_id.as_deref(), &request));
        }
        Ok(Entry {
            line,
            external_id,
            request,
        })
    }
}

impl Iterator for Lines<'_> {
    type Item = Result<Entry, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (line, row) = self.next_row()?;
        Some(self.finish(line, row))
    }
}

fn text_error(line: usize, e: TextError) -> LineError {
    LineError::new(line, "unstorable_text", e.to_string())
}

/// `catalog:<sha256>` of the request (and external id): the same line always gets the same
/// key, so re-submission finds its generation.
fn derived_key(external_id: Option<&str>, request: &GenerationRequest) -> String {
    let mut h = Sha256::new();
    h.update(external_id.unwrap_or_default());
    h.update(b"\0");
    h.update(serde_json::to_vec(request).unwrap_or_default());
    format!("catalog:{}", hex(&h.finalize()))
}

fn jsonl_line(line: usize, raw: &str) -> RowResult {
    let err = |kind, reason: String| LineError::new(line, kind, reason);
    let mut value: serde_json::Value =
        serde_json::from_str(raw).map_err(|e| err("not_json", format!("not valid JSON: {e}")))?;
    // Every string and key, before anything quotes one (jsonb refuses \u0000 too).
    text::check_json("", &value).map_err(|e| text_error(line, e))?;
    let obj = value.as_object_mut().ok_or_else(|| {
        err(
            "not_an_object",
            "expected a JSON object (a GenerationRequest)".into(),
        )
    })?;
    let external_id = match obj.remove("external_id") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(_) => return Err(err("external_id", "external_id must be a string".into())),
    };
    let request: GenerationRequest = serde_json::from_value(value)
        .map_err(|e| err("not_a_request", format!("not a GenerationRequest: {e}")))?;
    Ok((external_id, request))
}

/// CSV columns: `prompt` (required), `external_id`, and any request field by name
/// (`duration_seconds` or `duration`, `seed`, `tempo`, `key`, `sample_rate`, `bit_depth`,
/// `loudness_target` or `loudness`, `loop` (true/false), `chords`, `time_signature`, `take`, `sections` (as text:
/// `intro:4, verse:8, …`), `idempotency_key`, `priority`, `tracks` as `bass;melody`), plus
/// `lock_<track>` columns holding lock URIs. Empty cells are unset.
fn csv_rows(text: &str) -> Rows<'_> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let header_error =
        |reason: String| Rows::Refused(Some(LineError::new(1, "csv_header", reason)));
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|h| h.to_ascii_lowercase()).collect(),
        Err(e) => return header_error(format!("cannot read the CSV header: {e}")),
    };
    for h in &headers {
        if let Err(e) = text::check("the CSV header", h) {
            return header_error(e.to_string());
        }
    }
    if !headers.iter().any(|h| h == "prompt") {
        return header_error("the CSV header has no 'prompt' column".into());
    }
    for h in &headers {
        if !is_known_column(h) {
            return header_error(format!("unknown CSV column '{h}'"));
        }
    }
    Rows::Csv {
        headers,
        records: reader.into_records(),
    }
}

fn is_known_column(h: &str) -> bool {
    matches!(
        h,
        "prompt"
            | "external_id"
            | "duration_seconds"
            | "duration"
            | "seed"
            | "tempo"
            | "key"
            | "sample_rate"
            | "bit_depth"
            | "loudness_target"
            | "loudness"
            | "loop"
            | "chords"
            | "time_signature"
            | "sections"
            | "take"
            | "idempotency_key"
            | "priority"
            | "tracks"
    ) || h
        .strip_prefix("lock_")
        .is_some_and(|t| TrackType::parse(t).is_ok())
}

fn csv_request(line: usize, headers: &[String], r: &csv::StringRecord) -> RowResult {
    let err = |kind, reason: String| LineError::new(line, kind, reason);
    let num = |col: &str, v: &str| {
        err(
            "not_a_number",
            format!("column {col}: '{v}' is not a number"),
        )
    };
    let mut request = GenerationRequest::new("");
    let mut external_id = None;
    for (h, v) in headers.iter().zip(r.iter()) {
        if v.is_empty() {
            continue;
        }
        text::check(h, v).map_err(|e| text_error(line, e))?;
        match h.as_str() {
            "prompt" => request.prompt = v.to_string(),
            "external_id" => external_id = Some(v.to_string()),
            "duration_seconds" | "duration" => {
                request.duration_seconds = Some(v.parse().map_err(|_| num(h, v))?)
            }
            "seed" => request.seed = Some(v.parse().map_err(|_| num(h, v))?),
            "tempo" => request.tempo = Some(v.parse().map_err(|_| num(h, v))?),
            "key" => request.key = Some(v.to_string()),
            "sample_rate" => request.sample_rate = Some(v.parse().map_err(|_| num(h, v))?),
            "bit_depth" => request.bit_depth = Some(v.parse().map_err(|_| num(h, v))?),
            "loudness_target" | "loudness" => {
                request.loudness_target = Some(v.parse().map_err(|_| num(h, v))?)
            }
            "chords" => request.chords = Some(v.to_string()),
            "time_signature" => request.time_signature = Some(v.to_string()),
            "take" => request.take = Some(v.parse().map_err(|_| num(h, v))?),
            "sections" => {
                let form = crate::form::Form::parse(v)
                    .map_err(|e| err("sections", format!("column {e}")))?;
                request.sections = Some(form.to_request());
            }
            "loop" => {
                request.looped = Some(match v.to_ascii_lowercase().as_str() {
                    "true" | "yes" | "1" => true,
                    "false" | "no" | "0" => false,
                    _ => {
                        return Err(err(
                            "not_a_boolean",
                            format!("column loop: '{v}' is not true or false"),
                        ));
                    }
                })
            }
            "idempotency_key" => request.idempotency_key = Some(v.to_string()),
            "priority" => request.priority = Some(v.parse().map_err(|_| num(h, v))?),
            "tracks" => {
                request.tracks = Some(
                    v.split([';', ' '])
                        .filter(|t| !t.is_empty())
                        .map(|t| {
                            TrackType::parse(t)
                                .map_err(|e| err("unknown_track", format!("column tracks: {e}")))
                        })
                        .collect::<Result<_, _>>()?,
                )
            }
            other => {
                if let Some(track) = other.strip_prefix("lock_") {
                    let track =
                        TrackType::parse(track).map_err(|e| err("unknown_track", e.to_string()))?;
                    request.locked_tracks.insert(track, v.to_string());
                }
            }
        }
    }
    Ok((external_id, request))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every valid entry (read again) and the listed errors.
    fn read(text: &str, format: Format, d: &Defaults) -> (Vec<Entry>, Vec<LineError>, Report) {
        let c = parse(text, format, d);
        let entries: Vec<Entry> = c.entries().collect();
        assert_eq!(entries.len(), c.report().valid, "both readings agree");
        (entries, c.report().errors.clone(), c.report().clone())
    }

    #[test]
    fn jsonl_reports_each_bad_line_with_its_number() {
        let text = r#"{"prompt": "dark techno", "external_id": "a1"}
not json
{"prompt": "house", "duration_seconds": 9999}

{"prompt": "jazz", "bogus": 1}
{"prompt": "lofi", "external_id": "a1"}
{"prompt": "ambient pads", "seed": 3}
"#;
        let (entries, errors, report) = read(text, Format::Jsonl, &Defaults::default());
        let bad: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(bad, vec![2, 3, 5, 6], "{errors:?}");
        assert!(errors[1].reason.contains("duration"), "{:?}", errors[1]);
        assert!(errors[3].reason.contains("already used on line 1"));
        let kinds: Vec<&str> = errors.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                "not_json",
                "duration",
                "not_a_request",
                "duplicate_external_id"
            ]
        );
        assert_eq!((report.valid, report.invalid), (2, 4));
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].external_id.as_deref(), Some("a1"));
        assert!(
            entries[1]
                .request
                .idempotency_key
                .as_deref()
                .unwrap()
                .starts_with("catalog:")
        );
    }

    #[test]
    fn defaults_apply_where_lines_are_silent_and_keys_are_stable() {
        let d = Defaults {
            duration_seconds: Some(8.0),
            sample_rate: Some(44_100),
            ..Defaults::default()
        };
        let text = "{\"prompt\": \"techno\"}\n{\"prompt\": \"techno\", \"duration_seconds\": 12}\n";
        let (a, _, _) = read(text, Format::Jsonl, &d);
        assert_eq!(a[0].request.duration_seconds, Some(8.0));
        assert_eq!(a[1].request.duration_seconds, Some(12.0));
        assert_eq!(a[1].request.sample_rate, Some(44_100));
        assert_eq!(
            parse(text, Format::Jsonl, &d).key(),
            parse(text, Format::Jsonl, &d).key()
        );
        assert_ne!(a[0].request.idempotency_key, a[1].request.idempotency_key);
    }

    #[test]
    fn csv_columns_map_to_request_fields() {
        let text = "external_id,prompt,duration,tempo,tracks,lock_drums\n\
                    x1,\"dark techno, driving\",10,128,bass;melody,gen:01M8F9MYTCA9DADJ0QYYRVF5ZB/drums\n\
                    x2,house,abc,,,\n\
                    x3,,10,,,\n";
        let (entries, errors, _) = read(text, Format::Csv, &Defaults::default());
        assert_eq!(entries.len(), 1, "{errors:?}");
        let r = &entries[0].request;
        assert_eq!(r.prompt, "dark techno, driving");
        assert_eq!(r.tempo, Some(128.0));
        assert_eq!(r.tracks.as_ref().map(Vec::len), Some(2));
        assert_eq!(r.locked_tracks.len(), 1);
        let bad: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(bad, vec![3, 4]);
        assert!(errors[0].reason.contains("not a number"));
        assert!(errors[1].reason.contains("prompt is empty"));
        let (_, unknown, _) = read("prompt,colour\nx,y\n", Format::Csv, &Defaults::default());
        assert!(unknown[0].reason.contains("colour"));
    }

    #[test]
    fn sections_read_from_csv_text_and_jsonl_lists() {
        let text = "prompt,sections\n\
                    pop,\"intro:4, verse:8, chorus:8\"\n\
                    rock,\"intro, coda\"\n";
        let (entries, errors, _) = read(text, Format::Csv, &Defaults::default());
        assert_eq!(entries.len(), 1, "{errors:?}");
        let names: Vec<(String, Option<u32>)> = entries[0]
            .request
            .sections
            .iter()
            .flatten()
            .map(|s| (s.name.clone(), s.bars))
            .collect();
        assert_eq!(
            names,
            [
                ("intro".into(), Some(4)),
                ("verse".into(), Some(8)),
                ("chorus".into(), Some(8))
            ]
        );
        assert_eq!((errors[0].line, errors[0].kind), (3, "sections"));
        assert!(
            errors[0].reason.contains("unknown section 'coda'"),
            "{}",
            errors[0].reason
        );
        let jsonl =
            r#"{"prompt": "pop", "sections": [{"name": "verse"}, {"name": "chorus", "bars": 99}]}"#;
        let (_, errors, _) = read(jsonl, Format::Jsonl, &Defaults::default());
        assert!(
            errors[0].reason.contains("'chorus' holds 99 bars"),
            "{}",
            errors[0].reason
        );
    }

    #[test]
    fn nul_in_any_line_or_cell_is_an_invalid_line_naming_the_field() {
        let text = concat!(
            "{\"prompt\": \"techno\"}\n",
            "{\"prompt\": \"tech\\u0000no\"}\n",
            "{\"prompt\": \"house\", \"external_id\": \"e\\u0000\"}\n",
            "{\"prompt\": \"house\", \"locked_tracks\": {\"drums\": \"a\\u0000.wav\"}}\n",
            "{\"prompt\": \"house\", \"idempotency_key\": \"\\u0000\"}\n",
            "{\"prompt\": \"house\", \"\\u0000\": 1}\n",
        );
        let (entries, errors, report) = read(text, Format::Jsonl, &Defaults::default());
        assert_eq!(entries.len(), 1);
        assert_eq!(report.invalid_by_reason.get("unstorable_text"), Some(&5));
        let fields: Vec<&str> = errors
            .iter()
            .map(|e| e.reason.split(" contains").next().unwrap())
            .collect();
        assert_eq!(
            fields,
            [
                "prompt",
                "external_id",
                "locked_tracks.drums",
                "idempotency_key",
                "key \"\\0\" of the body"
            ]
        );
        let csv = "prompt,external_id,key\nhouse,x\0,\ntechno,,A\0 minor\n\0,,\n";
        let (entries, errors, _) = read(csv, Format::Csv, &Defaults::default());
        assert!(entries.is_empty());
        let fields: Vec<&str> = errors
            .iter()
            .map(|e| e.reason.split(" contains").next().unwrap())
            .collect();
        assert_eq!(fields, ["external_id", "key", "prompt"], "{errors:?}");
    }

    #[test]
    fn reports_are_bounded_whatever_the_number_of_bad_lines() {
        let lines = 50_000;
        let mut text = String::new();
        for i in 0..lines {
            match i % 3 {
                0 => text.push_str("garbage\n"),
                1 => text.push_str("{\"prompt\": \"x\", \"tempo\": 999}\n"),
                _ => text.push_str(&format!("{{\"{}\": 1}}\n", "k".repeat(2_000))),
            }
        }
        let c = parse(&text, Format::Jsonl, &Defaults::default());
        let r = c.report();
        assert_eq!(r.invalid, lines);
        assert_eq!(r.errors.len(), MAX_LISTED_ERRORS);
        assert_eq!(r.unlisted(), lines - MAX_LISTED_ERRORS);
        assert_eq!(r.invalid_by_reason.values().sum::<usize>(), lines);
        assert_eq!(r.invalid_by_reason["not_json"], 16_667);
        assert_eq!(r.invalid_by_reason["tempo"], 16_667);
        assert_eq!(r.invalid_by_reason["not_a_request"], 16_666);
        // Reasons that quote the input are cut.
        assert!(
            r.errors
                .iter()
                .all(|e| e.reason.chars().count() <= MAX_REASON_CHARS + 1)
        );
        assert_eq!(
            c.accept(false).unwrap_err(),
            Refused::Invalid {
                invalid: lines,
                lines
            }
        );
        assert_eq!(c.accept(true).unwrap_err(), Refused::Empty);
    }

    #[test]
    fn only_an_accepted_catalog_can_be_enqueued() {
        let text = "{\"prompt\": \"techno\"}\nbad\n";
        let c = parse(text, Format::Jsonl, &Defaults::default());
        assert!(matches!(
            c.accept(false),
            Err(Refused::Invalid {
                invalid: 1,
                lines: 2
            })
        ));
        let ok = c.accept(true).unwrap();
        assert_eq!(ok.catalog().entries().count(), 1);
    }
}
