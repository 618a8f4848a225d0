//! `/v1/generations`: submit one request, read it back, cancel it. A token sees and
//! cancels only its own generations unless it is admin (others' read as 404).

use super::limits::{self, visible_generation};
use super::{ApiError, Caller, JsonBody, Shared, parse_ulid};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use resonantgen_core::GenerationRequest;
use resonantgen_infra::events::{self, EventKind};
use resonantgen_infra::generations;
use resonantgen_infra::queue::{self, SubmitError, Submitted};
use resonantgen_infra::takes;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/generations", post(create))
        .route("/generations/{id}", get(read).delete(cancel))
        .route("/generations/{id}/events", get(super::events::stream))
}

/// 202 with `{"id", "status": "queued"}`; 200 with the existing id when the idempotency key
/// was used before with the same request; 409 `idempotency_conflict` when it was used with
/// a different one; 422 with the reason for an invalid request. With `variations: N` (N > 1):
/// 202 with `{"batch_id", "ids", "seed", "takes"}` — N generations of one plan, one batch.
async fn create(
    State(s): State<Shared>,
    caller: Caller,
    JsonBody(request): JsonBody<GenerationRequest>,
) -> Result<Response, ApiError> {
    if request.variations.is_some_and(|n| n > 1) {
        return submit_takes(&s, &caller, request).await;
    }
    submit(&s, &caller, request, None).await
}

/// The takes of a request with `variations`, within the caller's limits (every take counts
/// against the concurrent-job quota).
async fn submit_takes(
    s: &Shared,
    caller: &Caller,
    request: GenerationRequest,
) -> Result<Response, ApiError> {
    request
        .validate()
        .map_err(|e| ApiError::from(SubmitError::Invalid(e)))?;
    let takes: Vec<(Option<usize>, GenerationRequest)> =
        request.takes(0).into_iter().map(|t| (None, t)).collect();
    let _admitted = limits::admit(s, caller, takes).await?;
    let out = takes::submit(&s.pool, &request, caller.owner()).await?;
    let status = if out.new_batch {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(serde_json::json!({
            "batch_id": out.batch_id,
            "ids": out.ids,
            "seed": out.seed,
            "takes": out.ids.len(),
            "status": "queued",
            "existing": !out.new_batch,
        })),
    )
        .into_response())
}

/// Enqueues one request for `caller` within its limits (priority range, locks it can see,
/// concurrent-job quota).
pub async fn submit(
    s: &Shared,
    caller: &Caller,
    request: GenerationRequest,
    batch: Option<&str>,
) -> Result<Response, ApiError> {
    let _admitted = limits::admit(s, caller, [(None, &request)]).await?;
    match queue::submit_owned(&s.pool, request, batch, caller.owner()).await {
        Ok(Submitted::Queued(id)) => Ok((
            StatusCode::ACCEPTED,
            Json(serde_json::json!({"id": id, "status": "queued", "existing": false})),
        )
            .into_response()),
        Ok(Submitted::Existing(id)) => {
            let row = generations::get_generation(&s.pool, id).await?;
            Ok((
                StatusCode::OK,
                Json(serde_json::json!({"id": id, "status": row.status, "existing": true})),
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// 409 naming the field and the generation the key belongs to.
pub fn idempotency_conflict(e: &SubmitError) -> ApiError {
    let mut err = ApiError::new(StatusCode::CONFLICT, "idempotency_conflict", e.to_string());
    if let SubmitError::IdempotencyConflict {
        line,
        key,
        existing,
    } = e
    {
        err = err.with_details(serde_json::json!({
            "field": "idempotency_key",
            "idempotency_key": key,
            "generation": existing,
            "line": line,
        }));
    }
    err
}

/// The generation row: status, error, timings, and the GenerationResponse once succeeded.
async fn read(
    State(s): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_ulid(&id)?;
    visible_generation(&s, &caller, id).await?;
    let row = generations::get_generation(&s.pool, id).await?;
    Ok(Json(row).into_response())
}

/// 202 when the cancel is in effect or requested; 409 when it already finished.
async fn cancel(
    State(s): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_ulid(&id)?;
    visible_generation(&s, &caller, id).await?;
    match generations::cancel_generation(&s.pool, id).await? {
        generations::CancelOutcome::Cancelled => {
            // No worker will say so: announce it here.
            if let Err(e) =
                events::publish(&s.pool, id, &EventKind::Cancelled { at_stage: None }).await
            {
                tracing::warn!(%id, error = %e, "could not publish the cancel event");
            }
            Ok((
                StatusCode::ACCEPTED,
                Json(serde_json::json!({"id": id, "status": "cancelled"})),
            )
                .into_response())
        }
        generations::CancelOutcome::Requested => Ok((
            StatusCode::ACCEPTED,
            Json(serde_json::json!({
                "id": id,
                "status": "running",
                "cancel": "requested: it stops at its next stage boundary"
            })),
        )
            .into_response()),
        generations::CancelOutcome::AlreadyFinished(status) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_finished",
            format!("generation {id} already {status}; nothing to cancel"),
        )),
    }
}
