//! Catalogs: many GenerationRequests in one file — JSONL (one request object per line) or
//! CSV (a header naming request fields) — with batch-wide defaults that each line may
//! override and an optional external id. Every line is validated before anything is
//! enqueued, and each bad line is reported with its line number and reason.
//!
//! Each line also gets an idempotency key — its own, or one derived from its content — so
//! that submitting the same catalog twice enqueues nothing the second time.

use crate::request::GenerationRequest;
use crate::track::TrackType;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Longest accepted external id.
pub const MAX_EXTERNAL_ID_BYTES: usize = 200;

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
    pub reason: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// A parsed catalog: its valid entries and its bad lines, in file order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Catalog {
    pub entries: Vec<Entry>,
    pub errors: Vec<LineError>,
}

impl Catalog {
    /// Fingerprint of the catalog's requests (their idempotency keys, in order): the same
    /// catalog submitted again has the same key.
    pub fn key(&self) -> String {
        let mut h = Sha256::new();
        for e in &self.entries {
            h.update(e.request.idempotency_key.as_deref().unwrap_or_default());
            h.update(b"\n");
        }
        hex(&h.finalize())
    }
}

/// A line read: (external id, request) or why not.
type RowResult = Result<(Option<String>, GenerationRequest), String>;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses and validates a catalog.
pub fn parse(text: &str, format: Format, defaults: &Defaults) -> Catalog {
    let mut catalog = Catalog::default();
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    let rows: Vec<(usize, RowResult)> = match format {
        Format::Jsonl => text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .map(|(i, l)| (i + 1, jsonl_line(l)))
            .collect(),
        Format::Csv => match csv_rows(text) {
            Ok(rows) => rows,
            Err(e) => {
                catalog.errors.push(e);
                return catalog;
            }
        },
    };
    for (line, row) in rows {
        let result = row.and_then(|(external_id, mut request)| {
            defaults.apply(&mut request);
            if let Some(id) = &external_id {
                if id.is_empty() || id.len() > MAX_EXTERNAL_ID_BYTES {
                    return Err(format!(
                        "external_id must be 1–{MAX_EXTERNAL_ID_BYTES} bytes"
                    ));
                }
                if let Some(first) = ids.insert(id.clone(), line) {
                    return Err(format!(
                        "external_id '{id}' is already used on line {first}"
                    ));
                }
            }
            request.validate().map_err(|e| e.to_string())?;
            if request.idempotency_key.is_none() {
                request.idempotency_key = Some(derived_key(external_id.as_deref(), &request));
            }
            Ok(Entry {
                line,
                external_id,
                request,
            })
        });
        match result {
            Ok(e) => catalog.entries.push(e),
            Err(reason) => catalog.errors.push(LineError { line, reason }),
        }
    }
    catalog
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

fn jsonl_line(line: &str) -> Result<(Option<String>, GenerationRequest), String> {
    let mut value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("not valid JSON: {e}"))?;
    let obj = value
        .as_object_mut()
        .ok_or("expected a JSON object (a GenerationRequest)")?;
    let external_id = match obj.remove("external_id") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(_) => return Err("external_id must be a string".into()),
    };
    let request: GenerationRequest =
        serde_json::from_value(value).map_err(|e| format!("not a GenerationRequest: {e}"))?;
    Ok((external_id, request))
}

/// CSV columns: `prompt` (required), `external_id`, and any request field by name
/// (`duration_seconds` or `duration`, `seed`, `tempo`, `key`, `sample_rate`, `bit_depth`,
/// `loudness_target` or `loudness`, `idempotency_key`, `priority`, `tracks` as
/// `bass;melody`), plus `lock_<track>` columns holding lock URIs. Empty cells are unset.
fn csv_rows(text: &str) -> Result<Vec<(usize, RowResult)>, LineError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| LineError {
            line: 1,
            reason: format!("cannot read the CSV header: {e}"),
        })?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    if !headers.iter().any(|h| h == "prompt") {
        return Err(LineError {
            line: 1,
            reason: "the CSV header has no 'prompt' column".into(),
        });
    }
    for h in &headers {
        if !is_known_column(h) {
            return Err(LineError {
                line: 1,
                reason: format!("unknown CSV column '{h}'"),
            });
        }
    }
    let mut out = Vec::new();
    for record in reader.records() {
        let (line, row) = match record {
            Ok(r) => {
                let line = r.position().map_or(0, |p| p.line() as usize);
                (line, csv_request(&headers, &r))
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                (line, Err(format!("malformed CSV record: {e}")))
            }
        };
        out.push((line, row));
    }
    Ok(out)
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
            | "idempotency_key"
            | "priority"
            | "tracks"
    ) || h
        .strip_prefix("lock_")
        .is_some_and(|t| TrackType::parse(t).is_ok())
}

fn csv_request(
    headers: &[String],
    r: &csv::StringRecord,
) -> Result<(Option<String>, GenerationRequest), String> {
    fn num<T: std::str::FromStr>(col: &str, v: &str) -> Result<T, String> {
        v.parse()
            .map_err(|_| format!("column {col}: '{v}' is not a number"))
    }
    let mut request = GenerationRequest::new("");
    let mut external_id = None;
    for (h, v) in headers.iter().zip(r.iter()) {
        if v.is_empty() {
            continue;
        }
        match h.as_str() {
            "prompt" => request.prompt = v.to_string(),
            "external_id" => external_id = Some(v.to_string()),
            "duration_seconds" | "duration" => request.duration_seconds = Some(num(h, v)?),
            "seed" => request.seed = Some(num(h, v)?),
            "tempo" => request.tempo = Some(num(h, v)?),
            "key" => request.key = Some(v.to_string()),
            "sample_rate" => request.sample_rate = Some(num(h, v)?),
            "bit_depth" => request.bit_depth = Some(num(h, v)?),
            "loudness_target" | "loudness" => request.loudness_target = Some(num(h, v)?),
            "idempotency_key" => request.idempotency_key = Some(v.to_string()),
            "priority" => request.priority = Some(num(h, v)?),
            "tracks" => {
                request.tracks = Some(
                    v.split([';', ' '])
                        .filter(|t| !t.is_empty())
                        .map(|t| TrackType::parse(t).map_err(|e| format!("column tracks: {e}")))
                        .collect::<Result<_, _>>()?,
                )
            }
            other => {
                if let Some(track) = other.strip_prefix("lock_") {
                    let track = TrackType::parse(track).map_err(|e| e.to_string())?;
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

    #[test]
    fn jsonl_reports_each_bad_line_with_its_number() {
        let text = r#"{"prompt": "dark techno", "external_id": "a1"}
not json
{"prompt": "house", "duration_seconds": 9999}

{"prompt": "jazz", "bogus": 1}
{"prompt": "lofi", "external_id": "a1"}
{"prompt": "ambient pads", "seed": 3}
"#;
        let c = parse(text, Format::Jsonl, &Defaults::default());
        let bad: Vec<usize> = c.errors.iter().map(|e| e.line).collect();
        assert_eq!(bad, vec![2, 3, 5, 6], "{:?}", c.errors);
        assert!(c.errors[1].reason.contains("duration"), "{:?}", c.errors[1]);
        assert!(c.errors[3].reason.contains("already used on line 1"));
        assert_eq!(c.entries.len(), 2);
        assert_eq!(c.entries[0].external_id.as_deref(), Some("a1"));
        assert!(
            c.entries[1]
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
        let a = parse(text, Format::Jsonl, &d);
        assert_eq!(a.entries[0].request.duration_seconds, Some(8.0));
        assert_eq!(a.entries[1].request.duration_seconds, Some(12.0));
        assert_eq!(a.entries[1].request.sample_rate, Some(44_100));
        let b = parse(text, Format::Jsonl, &d);
        assert_eq!(a.key(), b.key());
        assert_ne!(
            a.entries[0].request.idempotency_key,
            a.entries[1].request.idempotency_key
        );
    }

    #[test]
    fn csv_columns_map_to_request_fields() {
        let text = "external_id,prompt,duration,tempo,tracks,lock_drums\n\
                    x1,\"dark techno, driving\",10,128,bass;melody,gen:01M8F9MYTCA9DADJ0QYYRVF5ZB/drums\n\
                    x2,house,abc,,,\n\
                    x3,,10,,,\n";
        let c = parse(text, Format::Csv, &Defaults::default());
        assert_eq!(c.entries.len(), 1, "{:?}", c.errors);
        let r = &c.entries[0].request;
        assert_eq!(r.prompt, "dark techno, driving");
        assert_eq!(r.tempo, Some(128.0));
        assert_eq!(r.tracks.as_ref().map(Vec::len), Some(2));
        assert_eq!(r.locked_tracks.len(), 1);
        let bad: Vec<usize> = c.errors.iter().map(|e| e.line).collect();
        assert_eq!(bad, vec![3, 4]);
        assert!(c.errors[0].reason.contains("not a number"));
        assert!(c.errors[1].reason.contains("prompt is empty"));
        let unknown = parse("prompt,colour\nx,y\n", Format::Csv, &Defaults::default());
        assert!(unknown.errors[0].reason.contains("colour"));
    }
}
