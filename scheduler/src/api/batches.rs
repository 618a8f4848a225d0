//! `/v1/batches`: submit a catalog (JSON envelope, or the JSONL/CSV text itself), read a
//! batch's progress and its per-request results. A token sees only its own batches unless
//! it is admin (others' read as 404).
//!
//! Memory stays flat in the catalog's size: the body is read once, validated line by line
//! into a bounded report (the first 100 line errors plus counts by reason), and read again
//! for the enqueue; `requests` arrays are turned into JSONL text as they are decoded rather
//! than held as a JSON tree.

use super::{ApiError, Caller, Shared, body_error, limits, path_param};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use resonantgen_core::catalog::{self, Defaults, Format, Refused, Report};
use resonantgen_core::text;
use resonantgen_infra::batch;
use serde::Deserialize;
use std::collections::HashMap;

pub fn routes(max_catalog_bytes: usize) -> Router<Shared> {
    Router::new()
        .route(
            "/batches",
            post(create).layer(DefaultBodyLimit::max(max_catalog_bytes)),
        )
        .route("/batches/{id}", get(read))
        .route("/batches/{id}/results", get(results))
}

/// The JSON form of a batch submission.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    /// The catalog text (JSONL or CSV)…
    #[serde(default)]
    catalog: Option<String>,
    /// …or the requests themselves (each may carry "external_id"), kept as JSONL text.
    #[serde(default, deserialize_with = "requests_as_jsonl")]
    requests: Option<String>,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "defaults_integral")]
    defaults: Defaults,
    #[serde(default)]
    skip_invalid: bool,
}

/// `defaults` with integral floats (`48000.0`) read as the integers the document says.
fn defaults_integral<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Defaults, D::Error> {
    use serde::Deserialize as _;
    use serde::de::Error as _;
    let mut v = serde_json::Value::deserialize(d)?;
    super::integral_numbers(&mut v);
    Defaults::deserialize(v).map_err(D::Error::custom)
}

/// `requests` as JSONL: each element written back compactly on a line of its own (line n is
/// element n), so the array is read like any catalog without a JSON tree of all of it.
fn requests_as_jsonl<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct Lines;
    impl<'de> serde::de::Visitor<'de> for Lines {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an array of GenerationRequest objects, or null")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = String::new();
            while let Some(mut v) = seq.next_element::<serde_json::Value>()? {
                super::integral_numbers(&mut v);
                // Compact JSON has no raw newline: one element, one line.
                out.push_str(&v.to_string());
                out.push('\n');
            }
            Ok(Some(out))
        }
    }
    d.deserialize_any(Lines)
}

/// What a Content-Type says the body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    Envelope,
    Catalog(Format),
}

/// The media type alone (parameters such as `; charset=utf-8` dropped), matched exactly:
/// `application/jsonl` is a catalog, not shadowed by `application/json`.
fn body_kind(content_type: &str) -> Option<Body> {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "application/json" => Some(Body::Envelope),
        "application/jsonl" | "application/x-ndjson" | "application/x-jsonlines" => {
            Some(Body::Catalog(Format::Jsonl))
        }
        "text/csv" => Some(Body::Catalog(Format::Csv)),
        _ => None,
    }
}

/// The report's bounded JSON: at most 100 listed lines, plus the counts.
fn report_json(r: &Report) -> serde_json::Value {
    serde_json::json!({
        "invalid": r.errors,
        "invalid_total": r.invalid,
        "invalid_unlisted": r.unlisted(),
        "invalid_by_reason": r.invalid_by_reason,
    })
}

/// 202 `{batch, enqueued, existing, invalid: [{line, kind, reason}], invalid_total,
/// invalid_by_reason}`; 422 with the same report in `details` (nothing enqueued) unless
/// `skip_invalid`; 409 when a line's idempotency key names a different request.
async fn create(
    State(s): State<Shared>,
    caller: Caller,
    req: Request,
) -> Result<Response, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let kind = body_kind(&content_type).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send application/json (an envelope), application/jsonl (or application/x-ndjson, \
             application/x-jsonlines) or text/csv",
        )
    })?;
    let query: HashMap<String, String> = Query::try_from_uri(req.uri())
        .map(|Query(q)| q)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", e.body_text()))?;
    for (k, v) in &query {
        text::check(&format!("query parameter '{}'", k.escape_debug()), v)
            .and_then(|()| text::check("query parameter name", k))
            .map_err(|e| {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", e.to_string())
            })?;
    }
    // Checked even when an envelope's own field wins, so a malformed flag is never ignored.
    let query_skip = match query.get("skip_invalid").map(String::as_str) {
        None | Some("false" | "0") => false,
        Some("true" | "1") => true,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "skip_invalid must be true or false, not '{}'",
                other.escape_debug()
            ))
            .with_details(serde_json::json!({"field": "skip_invalid"})));
        }
    };
    let bytes = Bytes::from_request(req, &s)
        .await
        .map_err(|e| body_error(&e.body_text()))?;
    let body = std::str::from_utf8(&bytes)
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "bad_body", "body is not UTF-8"))?;
    // The envelope owns its catalog text; a bare catalog is read in place.
    let envelope;
    let (text, format, defaults, name, skip_invalid): (&str, Format, Defaults, Option<&str>, bool) =
        match kind {
            Body::Envelope => {
                envelope = serde_json::from_str::<Envelope>(body).map_err(|e| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_json",
                        format!("body is not a batch envelope: {e}"),
                    )
                })?;
                let env = &envelope;
                if let Some(f) = &env.format {
                    text::check("format", f).map_err(|e| ApiError::invalid(e.to_string()))?;
                }
                let (text, format) = match (&env.catalog, &env.requests) {
                    (Some(c), None) => {
                        let format = match env
                            .format
                            .as_deref()
                            .map(str::to_ascii_lowercase)
                            .as_deref()
                        {
                            Some("csv") => Format::Csv,
                            Some("jsonl" | "ndjson") | None => Format::Jsonl,
                            Some(other) => {
                                let shown: String = other.chars().take(64).collect();
                                return Err(ApiError::invalid(format!(
                                    "unknown catalog format '{}' (jsonl or csv)",
                                    shown.escape_debug()
                                ))
                                .with_details(serde_json::json!({"field": "format"})));
                            }
                        };
                        (c.as_str(), format)
                    }
                    (None, Some(lines)) => (lines.as_str(), Format::Jsonl),
                    _ => {
                        return Err(ApiError::invalid(
                            "give exactly one of 'catalog' (JSONL/CSV text) or 'requests' (an array)",
                        ));
                    }
                };
                (
                    text,
                    format,
                    env.defaults.clone(),
                    env.name
                        .as_deref()
                        .or(query.get("name").map(String::as_str)),
                    env.skip_invalid || query_skip,
                )
            }
            Body::Catalog(format) => (
                body,
                format,
                Defaults::default(),
                query.get("name").map(String::as_str),
                query_skip,
            ),
        };
    let catalog = catalog::parse(text, format, &defaults);
    let report = report_json(catalog.report());
    let accepted = match catalog.accept(skip_invalid) {
        Ok(a) => a,
        Err(e @ Refused::Invalid { .. }) => {
            return Err(
                ApiError::invalid(format!("{e} (fix them, or set skip_invalid)"))
                    .with_details(report),
            );
        }
        Err(e @ Refused::Empty) => {
            return Err(ApiError::invalid(e.to_string()).with_details(report));
        }
    };
    let _admitted = limits::admit(
        &s,
        &caller,
        accepted
            .catalog()
            .entries()
            .map(|e| (Some(e.line), e.request)),
    )
    .await?;
    let out =
        batch::enqueue_owned(&s.pool, name, Some("api"), accepted, caller.owner(), |_| {}).await?;
    let mut v = serde_json::json!({
        "batch": out.batch_id,
        "new_batch": out.new_batch,
        "enqueued": out.enqueued,
        "existing": out.existing,
    });
    if let (Some(o), serde_json::Value::Object(r)) = (v.as_object_mut(), report) {
        o.extend(r);
    }
    Ok((StatusCode::ACCEPTED, Json(v)).into_response())
}

/// Batch ids are ULIDs, parsed strictly (no `8…` alias of `0…`); anything else names no
/// batch.
fn batch_id(id: &str) -> Result<String, ApiError> {
    text::parse_ulid(path_param("id", id)?)
        .map(|u| u.to_string())
        .map_err(|e| ApiError::not_found(format!("{e}: no such batch")))
}

/// 404 unless batch `id` exists and `caller` may see it.
async fn visible(s: &Shared, caller: &Caller, id: &str) -> Result<(), ApiError> {
    match batch::owner(&s.pool, id).await? {
        Some(owner) if caller.sees(owner.as_deref()) => Ok(()),
        _ => Err(ApiError::not_found(format!("batch '{id}' not found"))),
    }
}

async fn read(
    State(s): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = batch_id(&id)?;
    visible(&s, &caller, &id).await?;
    let status = batch::status(&s.pool, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("batch '{id}' not found")))?;
    let eta = status.eta_seconds().filter(|_| !status.is_done());
    let mut v = serde_json::to_value(&status).map_err(ApiError::internal)?;
    v["done"] = serde_json::json!(status.is_done());
    v["eta_seconds"] = serde_json::json!(eta);
    Ok(Json(v).into_response())
}

async fn results(
    State(s): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = batch_id(&id)?;
    // Visible means it exists: no second lookup.
    visible(&s, &caller, &id).await?;
    let rows = batch::export(&s.pool, &id).await?;
    Ok(Json(serde_json::json!({ "batch": id, "results": rows })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_are_matched_exactly() {
        for (ct, kind) in [
            ("application/json", Some(Body::Envelope)),
            ("Application/JSON; charset=utf-8", Some(Body::Envelope)),
            ("application/jsonl", Some(Body::Catalog(Format::Jsonl))),
            (
                "application/jsonl; charset=utf-8",
                Some(Body::Catalog(Format::Jsonl)),
            ),
            ("application/x-ndjson", Some(Body::Catalog(Format::Jsonl))),
            (
                "application/x-jsonlines",
                Some(Body::Catalog(Format::Jsonl)),
            ),
            ("text/csv", Some(Body::Catalog(Format::Csv))),
            ("application/jsonx", None),
            ("text/csvx", None),
            ("", None),
        ] {
            assert_eq!(body_kind(ct), kind, "{ct}");
        }
    }

    #[test]
    fn requests_become_one_line_each() {
        let env: Envelope = serde_json::from_str(
            r#"{"requests": [{"prompt": "a\nb"}, {"prompt": "c", "external_id": 7}]}"#,
        )
        .unwrap();
        let text = env.requests.unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.lines().next().unwrap().contains(r"a\nb"));
    }
}
