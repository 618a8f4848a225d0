//! `/v1/scenes`: save a finished generation as a named scene, list, read, delete, and
//! submit new generations based on one. Scene names are one namespace; a token sees, uses
//! and deletes only its own scenes unless it is admin (others' read as 404), and saves only
//! generations it can see.

use super::limits::visible_generation;
use super::{ApiError, Caller, JsonBody, Shared, parse_ulid, path_param};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use resonantgen_infra::scenes::{self, FromScene, SceneError};
use serde::Deserialize;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/scenes", post(save).get(list))
        .route("/scenes/{name}", get(read).delete(remove))
        .route("/scenes/{name}/generations", post(generate))
}

impl From<SceneError> for ApiError {
    fn from(e: SceneError) -> Self {
        // Database errors map like every route's (503 while it is away).
        let e = match e {
            SceneError::Db(db) => return db.into(),
            e => e,
        };
        match &e {
            SceneError::BadName
            | SceneError::Invalid(_)
            | SceneError::Text(_)
            | SceneError::NoSuchTrack { .. } => ApiError::invalid(e.to_string()),
            SceneError::NotFinished(..) => {
                ApiError::new(StatusCode::CONFLICT, "not_finished", e.to_string())
            }
            SceneError::Exists(_) => ApiError::new(StatusCode::CONFLICT, "exists", e.to_string()),
            SceneError::NotFound(_) | SceneError::NoGeneration(_) => {
                ApiError::not_found(e.to_string())
            }
            SceneError::Db(_) | SceneError::Decode(_) => ApiError::internal(e),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SaveScene {
    name: String,
    generation_id: String,
    #[serde(default)]
    description: Option<String>,
}

/// 404 unless scene `name` exists and `caller` may see it.
async fn visible(s: &Shared, caller: &Caller, name: &str) -> Result<(), ApiError> {
    match scenes::owner(&s.pool, name).await? {
        Some(owner) if caller.sees(owner.as_deref()) => Ok(()),
        _ => Err(SceneError::NotFound(name.to_string()).into()),
    }
}

async fn save(
    State(s): State<Shared>,
    caller: Caller,
    JsonBody(body): JsonBody<SaveScene>,
) -> Result<Response, ApiError> {
    let id = parse_ulid(&body.generation_id)?;
    visible_generation(&s, &caller, id).await?;
    let scene = scenes::save_owned(
        &s.pool,
        &body.name,
        body.description.as_deref(),
        id,
        caller.owner(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(scene)).into_response())
}

async fn list(State(s): State<Shared>, caller: Caller) -> Result<Response, ApiError> {
    let all = scenes::list_owned(&s.pool, caller.listing_filter()).await?;
    Ok(Json(serde_json::json!({ "scenes": all })).into_response())
}

async fn read(
    State(s): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let name = path_param("name", &name)?;
    visible(&s, &caller, name).await?;
    Ok(Json(scenes::get(&s.pool, name).await?).into_response())
}

async fn remove(
    State(s): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let name = path_param("name", &name)?;
    visible(&s, &caller, name).await?;
    scenes::delete(&s.pool, name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn generate(
    State(s): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
    JsonBody(change): JsonBody<FromScene>,
) -> Result<Response, ApiError> {
    let name = path_param("name", &name)?;
    visible(&s, &caller, name).await?;
    let scene = scenes::get(&s.pool, name).await?;
    let request = scenes::request_from(&scene, &change)?;
    super::generations::submit(&s, &caller, request, None).await
}
