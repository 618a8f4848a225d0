//! `/v1/scenes`: save a finished generation as a named scene, list, read, delete, and
//! submit new generations based on one.

use super::{ApiError, JsonBody, Shared, parse_ulid, path_param};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use resonantgen_shared::scenes::{self, FromScene, SceneError};
use serde::Deserialize;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/scenes", post(save).get(list))
        .route("/scenes/{name}", get(read).delete(remove))
        .route("/scenes/{name}/generations", post(generate))
}

impl From<SceneError> for ApiError {
    fn from(e: SceneError) -> Self {
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

async fn save(
    State(s): State<Shared>,
    JsonBody(body): JsonBody<SaveScene>,
) -> Result<Response, ApiError> {
    let id = parse_ulid(&body.generation_id)?;
    let scene = scenes::save(&s.pool, &body.name, body.description.as_deref(), id).await?;
    Ok((StatusCode::CREATED, Json(scene)).into_response())
}

async fn list(State(s): State<Shared>) -> Result<Response, ApiError> {
    Ok(Json(serde_json::json!({ "scenes": scenes::list(&s.pool).await? })).into_response())
}

async fn read(State(s): State<Shared>, Path(name): Path<String>) -> Result<Response, ApiError> {
    let name = path_param("name", &name)?;
    Ok(Json(scenes::get(&s.pool, name).await?).into_response())
}

async fn remove(State(s): State<Shared>, Path(name): Path<String>) -> Result<Response, ApiError> {
    scenes::delete(&s.pool, path_param("name", &name)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn generate(
    State(s): State<Shared>,
    Path(name): Path<String>,
    JsonBody(change): JsonBody<FromScene>,
) -> Result<Response, ApiError> {
    let scene = scenes::get(&s.pool, path_param("name", &name)?).await?;
    let request = scenes::request_from(&scene, &change)?;
    super::generations::submit(&s, request, None).await
}
