//! `/v1/batches`: submit a catalog (JSON envelope, or the JSONL/CSV text itself), read a
//! batch's progress and its per-request results. A token sees only its own batches unless
//! it is admin (others' read as 404).

use super::{ApiError, Caller, Shared, body_error, limits};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use resonantgen_shared::batch;
use resonantgen_shared::catalog::{self, Defaults, Format};
use serde::Deserialize;

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
    /// …or the requests themselves (each may carry "external_id").
    #[serde(default)]
    requests: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    defaults: Defaults,
    #[serde(default)]
    skip_invalid: bool,
}

/// 202 `{batch, enqueued, existing, invalid: [{line, reason}]}`; 422 listing every invalid
/// line (nothing enqueued) unless `skip_invalid`.
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
        .to_ascii_lowercase();
    // Query flags apply to every body form (an envelope's own fields win), and are checked
    // even when unused, so a malformed one is never silently ignored.
    let query = axum::extract::Query::<std::collections::HashMap<String, String>>::try_from_uri(
        req.uri(),
    )
    .map_err(|e| ApiError::invalid(format!("query: {}", e.body_text())))?
    .0;
    let query_skip = match query.get("skip_invalid").map(String::as_str) {
        None | Some("false" | "0") => false,
        Some("true" | "1") => true,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "skip_invalid must be true or false, not '{other}'"
            ))
            .with_details(serde_json::json!({"field": "skip_invalid"})));
        }
    };
    let query_name = query.get("name").cloned();
    let bytes = Bytes::from_request(req, &s)
        .await
        .map_err(|e| body_error(&e.body_text()))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "bad_body", "body is not UTF-8"))?;
    let env = if content_type.starts_with("application/json") {
        let not_envelope = |e: serde_json::Error| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("body is not a batch envelope: {e}"),
            )
        };
        let mut value: serde_json::Value = serde_json::from_str(text).map_err(not_envelope)?;
        super::integral_numbers(&mut value);
        let mut env = serde_json::from_value::<Envelope>(value).map_err(not_envelope)?;
        env.skip_invalid |= query_skip;
        env.name = env.name.or(query_name);
        env
    } else {
        let format = if content_type.starts_with("text/csv") {
            "csv"
        } else if content_type.starts_with("application/x-ndjson")
            || content_type.starts_with("application/jsonl")
        {
            "jsonl"
        } else {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send application/json (an envelope), application/x-ndjson or text/csv",
            ));
        };
        Envelope {
            catalog: Some(text.to_string()),
            requests: None,
            format: Some(format.into()),
            name: query_name,
            defaults: Defaults::default(),
            skip_invalid: query_skip,
        }
    };
    let (text, format) = match (env.catalog, env.requests) {
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
                    return Err(ApiError::invalid(format!(
                        "unknown catalog format '{other}' (jsonl or csv)"
                    )));
                }
            };
            (c, format)
        }
        (None, Some(reqs)) => {
            let lines: Vec<String> = reqs.iter().map(|r| r.to_string()).collect();
            (lines.join("\n"), Format::Jsonl)
        }
        _ => {
            return Err(ApiError::invalid(
                "give exactly one of 'catalog' (JSONL/CSV text) or 'requests' (an array)",
            ));
        }
    };
    let catalog = catalog::parse(&text, format, &env.defaults);
    let invalid = serde_json::to_value(&catalog.errors).map_err(ApiError::internal)?;
    if !catalog.errors.is_empty() && !env.skip_invalid {
        return Err(ApiError::invalid(format!(
            "{} invalid line(s); nothing enqueued (fix them or set skip_invalid)",
            catalog.errors.len()
        ))
        .with_details(serde_json::json!({ "invalid": invalid })));
    }
    if catalog.entries.is_empty() {
        return Err(ApiError::invalid("the catalog has no valid lines"));
    }
    let requests: Vec<_> = catalog
        .entries
        .iter()
        .map(|e| (Some(e.line), &e.request))
        .collect();
    let _admitted = limits::admit(&s, &caller, &requests).await?;
    let out = batch::enqueue_owned(
        &s.pool,
        env.name.as_deref(),
        Some("api"),
        &catalog,
        caller.owner(),
        |_| {},
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({
            "batch": out.batch_id,
            "new_batch": out.new_batch,
            "enqueued": out.enqueued,
            "existing": out.existing,
            "invalid": invalid,
        })),
    )
        .into_response())
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
    visible(&s, &caller, &id).await?;
    if batch::status(&s.pool, &id).await?.is_none() {
        return Err(ApiError::not_found(format!("batch '{id}' not found")));
    }
    let rows = batch::export(&s.pool, &id).await?;
    Ok(Json(serde_json::json!({ "batch": id, "results": rows })).into_response())
}
