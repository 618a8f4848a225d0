//! Scenes (the SceneManager): a finished generation saved under a name — its prompt,
//! settings, context snapshot and stems — to be loaded as the base of new requests: same
//! tempo, key, length and format, optionally keeping some of its stems locked while the
//! rest is regenerated.

use crate::generations;
use chrono::{DateTime, Utc};
use resonantgen_core::context::GenerationContext;
use resonantgen_core::request::{GenerationRequest, ValidationError};
use resonantgen_core::response::{GenerationResponse, GenerationStatus};
use resonantgen_core::text::{self, TextError};
use resonantgen_core::track::TrackType;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use std::collections::BTreeMap;
use ulid::Ulid;

pub const MAX_NAME_BYTES: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum SceneError {
    #[error("scene name must be 1–{MAX_NAME_BYTES} bytes of letters, digits, '-', '_' or '.'")]
    BadName,
    #[error("scene '{0}' already exists")]
    Exists(String),
    #[error("scene '{0}' not found")]
    NotFound(String),
    #[error("generation {0} not found")]
    NoGeneration(Ulid),
    #[error("generation {0} is {1}; only a succeeded generation can be saved as a scene")]
    NotFinished(Ulid, GenerationStatus),
    #[error("scene '{scene}' has no {track} stem to keep")]
    NoSuchTrack { scene: String, track: TrackType },
    #[error("the request built from the scene is invalid: {0}")]
    Invalid(#[from] ValidationError),
    /// Text that cannot be stored (a NUL in the description), naming the field.
    #[error(transparent)]
    Text(#[from] TextError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("stored scene does not decode: {0}")]
    Decode(#[from] serde_json::Error),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scene {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub source_generation: Option<String>,
    /// The request the generation ran with.
    pub request: GenerationRequest,
    /// The context it resolved to (tempo, key, chords, arrangement, format).
    pub context: Option<GenerationContext>,
    /// Track → stem URI (`gen:<id>/<track>`, lockable in new requests).
    pub tracks: BTreeMap<String, String>,
    pub created_at: DateTime<Utc>,
}

/// Scene names are restricted to a URL- and shell-safe alphabet (they are path parameters).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_BYTES
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Saves succeeded generation `id` as scene `name` (CLI: no owner).
pub async fn save(
    pool: &PgPool,
    name: &str,
    description: Option<&str>,
    id: Ulid,
) -> Result<Scene, SceneError> {
    save_owned(pool, name, description, id, None).await
}

/// [`save`] for `owner` (an API token's id). Scene names are one namespace for everyone.
pub async fn save_owned(
    pool: &PgPool,
    name: &str,
    description: Option<&str>,
    id: Ulid,
    owner: Option<&str>,
) -> Result<Scene, SceneError> {
    if !valid_name(name) {
        return Err(SceneError::BadName);
    }
    if let Some(d) = description {
        text::check("description", d)?;
    }
    let Some((status, request, response)) = generations::outcome(pool, id).await? else {
        return Err(SceneError::NoGeneration(id));
    };
    let response = match (status, response) {
        (GenerationStatus::Succeeded, Some(r)) => r,
        _ => return Err(SceneError::NotFinished(id, status)),
    };
    let request: GenerationRequest = serde_json::from_value(request)?;
    let response: GenerationResponse = serde_json::from_value(response)?;
    let tracks: BTreeMap<String, String> = response
        .tracks
        .keys()
        .map(|t| (t.to_string(), format!("gen:{id}/{t}")))
        .collect();
    let scene = Scene {
        id: Ulid::generate().to_string(),
        name: name.to_string(),
        description: description.map(str::to_string),
        source_generation: Some(id.to_string()),
        request,
        context: Some(response.context),
        tracks,
        created_at: Utc::now(),
    };
    let inserted = sqlx::query(
        "INSERT INTO scenes (id, name, description, source_generation, request, context, tracks, created_at, owner)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (name) DO NOTHING",
    )
    .bind(&scene.id)
    .bind(&scene.name)
    .bind(&scene.description)
    .bind(&scene.source_generation)
    .bind(serde_json::to_value(&scene.request)?)
    .bind(serde_json::to_value(&scene.context)?)
    .bind(serde_json::to_value(&scene.tracks)?)
    .bind(scene.created_at)
    .bind(owner)
    .execute(pool)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(SceneError::Exists(name.to_string()));
    }
    Ok(scene)
}

type SceneRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    serde_json::Value,
    Option<serde_json::Value>,
    serde_json::Value,
    DateTime<Utc>,
);

fn from_row(r: SceneRow) -> Result<Scene, SceneError> {
    Ok(Scene {
        id: r.0,
        name: r.1,
        description: r.2,
        source_generation: r.3,
        request: serde_json::from_value(r.4)?,
        context: r.5.map(serde_json::from_value).transpose()?,
        tracks: serde_json::from_value(r.6)?,
        created_at: r.7,
    })
}

macro_rules! scene_columns {
    () => {
        "id, name, description, source_generation, request, context, tracks, created_at"
    };
}

pub async fn get(pool: &PgPool, name: &str) -> Result<Scene, SceneError> {
    // No scene has an invalid name; such text (a NUL, say) never reaches the database.
    if !valid_name(name) {
        return Err(SceneError::NotFound(name.escape_debug().to_string()));
    }
    let row: Option<SceneRow> = sqlx::query_as(concat!(
        "SELECT ",
        scene_columns!(),
        " FROM scenes WHERE name = $1"
    ))
    .bind(name)
    .fetch_optional(pool)
    .await?;
    from_row(row.ok_or_else(|| SceneError::NotFound(name.to_string()))?)
}

/// Every scene, newest first.
pub async fn list(pool: &PgPool) -> Result<Vec<Scene>, SceneError> {
    let rows: Vec<SceneRow> = sqlx::query_as(concat!(
        "SELECT ",
        scene_columns!(),
        " FROM scenes ORDER BY created_at DESC, name"
    ))
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Every scene of `owner` (`None`: every scene), newest first.
pub async fn list_owned(pool: &PgPool, owner: Option<&str>) -> Result<Vec<Scene>, SceneError> {
    let rows: Vec<SceneRow> = sqlx::query_as(concat!(
        "SELECT ",
        scene_columns!(),
        " FROM scenes WHERE $1::text IS NULL OR owner = $1 ORDER BY created_at DESC, name"
    ))
    .bind(owner)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Who owns scene `name`: `None` when there is no such scene, `Some(None)` for a scene
/// saved with the CLI (only admin tokens see it through the API).
pub async fn owner(pool: &PgPool, name: &str) -> Result<Option<Option<String>>, SceneError> {
    let row: Option<(Option<String>,)> = sqlx::query_as("SELECT owner FROM scenes WHERE name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|(o,)| o))
}

pub async fn delete(pool: &PgPool, name: &str) -> Result<(), SceneError> {
    if !valid_name(name) {
        return Err(SceneError::NotFound(name.escape_debug().to_string()));
    }
    let r = sqlx::query("DELETE FROM scenes WHERE name = $1")
        .bind(name)
        .execute(pool)
        .await?;
    if r.rows_affected() == 0 {
        return Err(SceneError::NotFound(name.to_string()));
    }
    Ok(())
}

/// What to change when starting from a scene.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FromScene {
    /// A new prompt (default: the scene's).
    #[serde(default)]
    pub prompt: Option<String>,
    /// Stems of the scene to keep locked; the others are regenerated.
    #[serde(default)]
    pub keep: Vec<TrackType>,
    /// A new seed (default: the scene's, so unchanged settings give the same music).
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

/// A request based on `scene`: its settings pinned to what the scene resolved to (tempo,
/// key, length, format, loudness), its kept stems locked.
pub fn request_from(scene: &Scene, change: &FromScene) -> Result<GenerationRequest, SceneError> {
    let mut r = scene.request.clone();
    if let Some(p) = &change.prompt {
        r.prompt = p.clone();
    }
    if let Some(ctx) = &scene.context {
        r.tempo = Some(ctx.tempo_bpm);
        r.key = Some(ctx.key.to_string());
        r.duration_seconds = Some(ctx.duration_seconds);
        r.sample_rate = Some(ctx.sample_rate);
        r.bit_depth = Some(ctx.bit_depth);
        r.loudness_target = Some(ctx.loudness_target);
        r.seed = Some(ctx.seed);
    }
    if change.seed.is_some() {
        r.seed = change.seed;
    }
    r.idempotency_key.clone_from(&change.idempotency_key);
    r.locked_tracks.clear();
    for t in &change.keep {
        let uri = scene
            .tracks
            .get(t.as_str())
            .ok_or_else(|| SceneError::NoSuchTrack {
                scene: scene.name.clone(),
                track: *t,
            })?;
        r.locked_tracks.insert(*t, uri.clone());
    }
    if let Some(tracks) = &mut r.tracks {
        tracks.retain(|t| !change.keep.contains(t));
    }
    r.validate()?;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_restricted() {
        assert!(valid_name("night-drive_v2.1"));
        assert!(!valid_name(""));
        assert!(!valid_name("../etc"));
        assert!(!valid_name("a b"));
        assert!(!valid_name(&"x".repeat(101)));
    }

    #[test]
    fn a_scene_request_keeps_stems_and_pins_settings() {
        let scene = Scene {
            id: "s".into(),
            name: "night".into(),
            description: None,
            source_generation: Some("01M8F9MYTCA9DADJ0QYYRVF5ZB".into()),
            request: GenerationRequest::new("dark techno"),
            context: None,
            tracks: [("drums", "gen:01M8F9MYTCA9DADJ0QYYRVF5ZB/drums")]
                .into_iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            created_at: Utc::now(),
        };
        let drums = TrackType::Drums;
        let r = request_from(
            &scene,
            &FromScene {
                prompt: Some("dark techno with acid bass".into()),
                keep: vec![drums],
                ..FromScene::default()
            },
        )
        .unwrap();
        assert_eq!(r.prompt, "dark techno with acid bass");
        assert_eq!(
            r.locked_tracks[&drums],
            "gen:01M8F9MYTCA9DADJ0QYYRVF5ZB/drums"
        );
        let bass = TrackType::Bass;
        assert!(matches!(
            request_from(
                &scene,
                &FromScene {
                    keep: vec![bass],
                    ..FromScene::default()
                }
            ),
            Err(SceneError::NoSuchTrack { .. })
        ));
    }
}
