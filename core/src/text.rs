//! The one input-text rule of every edge (API bodies and path parameters, CLI arguments,
//! catalog lines and cells): text we would store must be storable. Postgres `text` cannot
//! hold U+0000 and `jsonb` rejects the escape `\u0000`, so a NUL anywhere used to reach the
//! database and come back as a 500 with the raw driver error — after part of a catalog had
//! been written. Checking here, before any I/O, turns it into a validation error that names
//! the field.
//!
//! Ids get the same treatment: [`parse_ulid`] accepts only canonical ULIDs, because the
//! `ulid` crate silently wraps a first character above `7` (`8…` decodes to the same id as
//! `0…`), which let two different strings name one generation.

use std::fmt;
use ulid::Ulid;

/// Why a text value cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextProblem {
    /// `at` counts characters (Unicode scalar values) from 0.
    #[error("contains a NUL character (U+0000) at character {at}, which cannot be stored")]
    Nul { at: usize },
}

/// A field whose text cannot be stored, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {problem}")]
pub struct TextError {
    /// The field as users name it: `prompt`, `locked_tracks.drums`, `name`, path parameter
    /// `id`, …
    pub field: String,
    pub problem: TextProblem,
}

/// The rule: `value` of `field` can be stored as Postgres `text` and inside `jsonb`.
pub fn check(field: &str, value: &str) -> Result<(), TextError> {
    // Fast path: almost all text has no NUL; find the byte, then count characters.
    match value.as_bytes().iter().position(|b| *b == 0) {
        None => Ok(()),
        Some(byte) => Err(TextError {
            field: field.to_string(),
            problem: TextProblem::Nul {
                at: value[..byte].chars().count(),
            },
        }),
    }
}

/// [`check`] for every string and every object key inside a JSON value; the error names the
/// path (`locked_tracks.drums`, `requests[3].prompt`). `field` is the value's own name, or
/// empty for a document's root.
pub fn check_json(field: &str, value: &serde_json::Value) -> Result<(), TextError> {
    fn join(parent: &str, child: impl fmt::Display) -> String {
        if parent.is_empty() {
            child.to_string()
        } else {
            format!("{parent}.{child}")
        }
    }
    match value {
        serde_json::Value::String(s) => check(if field.is_empty() { "value" } else { field }, s),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| check_json(&format!("{field}[{i}]"), v)),
        serde_json::Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            // A key with a NUL is named by its escaped form: the raw one is what is wrong.
            check(&format!("key {:?} of {}", k, field_or_body(field)), k)?;
            check_json(&join(field, k), v)
        }),
        _ => Ok(()),
    }
}

fn field_or_body(field: &str) -> &str {
    if field.is_empty() { "the body" } else { field }
}

/// A ULID that was not canonical: wrong length, a character outside Crockford base32, or a
/// first character above `7` (more than 128 bits).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{}' is not a ULID (26 characters of Crockford base32, the first 0–7)", .0.escape_debug())]
pub struct NotAUlid(pub String);

/// Parses a ULID strictly: exactly one string names each id (case aside).
pub fn parse_ulid(s: &str) -> Result<Ulid, NotAUlid> {
    let bad = || NotAUlid(s.chars().take(64).collect());
    // The first character carries only 3 bits: 0–7. The crate shifts the rest out.
    if !s
        .as_bytes()
        .first()
        .is_some_and(|c| (b'0'..=b'7').contains(c))
    {
        return Err(bad());
    }
    let id = Ulid::from_string(s).map_err(|_| bad())?;
    // Round trip: anything the crate decodes but would not write is not canonical.
    if !id.to_string().eq_ignore_ascii_case(s) {
        return Err(bad());
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_rejected_with_the_field_and_position() {
        assert!(check("prompt", "dark techno — ünïcode ok\n\ttabs ok").is_ok());
        let e = check("prompt", "dé\0x").unwrap_err();
        assert_eq!(e.field, "prompt");
        assert_eq!(e.problem, TextProblem::Nul { at: 2 });
        assert!(e.to_string().starts_with("prompt contains a NUL"), "{e}");
    }

    #[test]
    fn json_paths_name_the_nested_field() {
        let v: serde_json::Value = serde_json::from_str(
            r#"{"prompt": "ok", "locked_tracks": {"drums": "a\u0000b"}, "list": ["x"]}"#,
        )
        .unwrap();
        let e = check_json("", &v).unwrap_err();
        assert_eq!(e.field, "locked_tracks.drums");
        let v: serde_json::Value = serde_json::from_str(r#"{"tags": ["ok", "\u0000"]}"#).unwrap();
        assert_eq!(check_json("", &v).unwrap_err().field, "tags[1]");
        let v: serde_json::Value = serde_json::from_str(r#"{"a\u0000": 1}"#).unwrap();
        let e = check_json("", &v).unwrap_err();
        assert!(e.field.starts_with("key \"a\\0\""), "{e}");
        assert!(check_json("", &serde_json::json!({"a": [1, true, null, "fine"]})).is_ok());
    }

    #[test]
    fn ulids_parse_only_in_canonical_form() {
        let id = Ulid::generate();
        let s = id.to_string();
        assert_eq!(parse_ulid(&s), Ok(id));
        assert_eq!(parse_ulid(&s.to_ascii_lowercase()), Ok(id));
        // The crate would decode 8… as 0…: the aliasing this rejects.
        let zero = "01M8F9MYTCA9DADJ0QYYRVF5ZB";
        let eight = "81M8F9MYTCA9DADJ0QYYRVF5ZB";
        assert_eq!(Ulid::from_string(zero), Ulid::from_string(eight));
        assert!(parse_ulid(zero).is_ok());
        for bad in [
            eight,
            "ZZZZZZZZZZZZZZZZZZZZZZZZZZ",
            "",
            "nope",
            "01M8F9MYTCA9DADJ0QYYRVF5Z",
        ] {
            assert!(parse_ulid(bad).is_err(), "{bad}");
        }
        assert!(parse_ulid("01M8F9MYTCA9DADJ0QYYRVF5Z\0").is_err());
        assert!(
            parse_ulid("7ZZZZZZZZZZZZZZZZZZZZZZZZZ").is_ok(),
            "the largest ULID"
        );
    }
}
