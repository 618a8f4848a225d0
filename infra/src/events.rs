//! Progress events of a generation — stage started/finished, track generated or locked,
//! started/succeeded/failed/cancelled — as one typed record. Workers publish them in-process
//! (their EventBus) and bridge them here: each event is a row of `generation_events` plus a
//! NOTIFY on [`CHANNEL`] carrying the row id, so other processes (the API's server-sent
//! event streams) learn of it at once and can replay what they missed from the table.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use ulid::Ulid;

/// The Postgres NOTIFY channel; the payload is `"<event id> <generation id>"`.
pub const CHANNEL: &str = "resonantgen_events";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum EventKind {
    #[serde(rename = "generation.started")]
    Started { attempt: u32, worker: String },
    #[serde(rename = "stage.started")]
    StageStarted { stage: String },
    #[serde(rename = "stage.finished")]
    StageFinished { stage: String, seconds: f64 },
    #[serde(rename = "track.generated")]
    TrackGenerated { track: String, seconds: f64 },
    #[serde(rename = "track.locked")]
    TrackLocked { track: String, source: String },
    #[serde(rename = "generation.succeeded")]
    Succeeded { seconds: f64 },
    #[serde(rename = "generation.failed")]
    Failed { reason: String, retrying: bool },
    #[serde(rename = "generation.cancelled")]
    Cancelled { at_stage: Option<String> },
}

impl EventKind {
    /// The dotted name (`stage.started`), the SSE `event:` field.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Started { .. } => "generation.started",
            EventKind::StageStarted { .. } => "stage.started",
            EventKind::StageFinished { .. } => "stage.finished",
            EventKind::TrackGenerated { .. } => "track.generated",
            EventKind::TrackLocked { .. } => "track.locked",
            EventKind::Succeeded { .. } => "generation.succeeded",
            EventKind::Failed { .. } => "generation.failed",
            EventKind::Cancelled { .. } => "generation.cancelled",
        }
    }

    /// Whether nothing follows this event for the generation (a failure that will be
    /// retried is not final).
    pub fn is_final(&self) -> bool {
        match self {
            EventKind::Succeeded { .. } | EventKind::Cancelled { .. } => true,
            EventKind::Failed { retrying, .. } => !retrying,
            _ => false,
        }
    }
}

/// An event as stored and streamed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Row id: increasing, the SSE `id:` (Last-Event-ID resumes after it).
    pub id: i64,
    pub generation_id: String,
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Stores an event and notifies listeners, in one statement. Returns its id.
pub async fn publish(
    pool: &PgPool,
    generation: Ulid,
    kind: &EventKind,
) -> Result<i64, sqlx::Error> {
    let payload = serde_json::to_value(kind).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let (id,): (i64,) = sqlx::query_as(
        "WITH e AS (
            INSERT INTO generation_events (generation_id, kind, payload)
            VALUES ($1, $2, $3) RETURNING id, generation_id)
         SELECT id FROM e, LATERAL (SELECT pg_notify($4, e.id::text || ' ' || e.generation_id)) n",
    )
    .bind(generation.to_string())
    .bind(kind.name())
    .bind(payload)
    .bind(CHANNEL)
    .fetch_one(pool)
    .await?;
    Ok(id)
}

/// Events of a generation after `after` (exclusive), oldest first.
pub async fn since(pool: &PgPool, generation: Ulid, after: i64) -> Result<Vec<Event>, sqlx::Error> {
    let rows: Vec<(i64, String, DateTime<Utc>, serde_json::Value)> = sqlx::query_as(
        "SELECT id, generation_id, created_at, payload FROM generation_events
          WHERE generation_id = $1 AND id > $2 ORDER BY id",
    )
    .bind(generation.to_string())
    .bind(after)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, generation_id, at, payload)| {
            // A payload this build does not know (a newer worker) is skipped, not fatal.
            let kind = serde_json::from_value(payload).ok()?;
            Some(Event {
                id,
                generation_id,
                at,
                kind,
            })
        })
        .collect())
}

/// Deletes the events of finished (succeeded, failed or cancelled) generations recorded at
/// least `older_than` ago; returns how many.
pub async fn prune_finished(
    conn: &mut sqlx::PgConnection,
    older_than: std::time::Duration,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "DELETE FROM generation_events e
          USING generations g
          WHERE g.id = e.generation_id
            AND g.status IN ('succeeded', 'failed', 'cancelled')
            AND e.created_at <= now() - make_interval(secs => $1)",
    )
    .bind(older_than.as_secs_f64())
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_serialise_with_their_dotted_names() {
        let k = EventKind::StageFinished {
            stage: "mix".into(),
            seconds: 0.5,
        };
        let v = serde_json::to_value(&k).unwrap();
        assert_eq!(v["type"], "stage.finished");
        assert_eq!(v["stage"], "mix");
        assert_eq!(k.name(), "stage.finished");
        let back: EventKind = serde_json::from_value(v).unwrap();
        assert_eq!(back, k);
        assert!(EventKind::Succeeded { seconds: 1.0 }.is_final());
        assert!(
            !EventKind::Failed {
                reason: "x".into(),
                retrying: true
            }
            .is_final()
        );
    }
}
