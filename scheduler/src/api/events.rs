//! Server-sent events of a generation's progress. One LISTEN connection per API process
//! (the [`Hub`]) hears workers' NOTIFYs and fans them out to the open streams; each stream
//! first replays the stored events after the client's Last-Event-ID, then follows, and ends
//! after the final event (succeeded, failed for good, cancelled). Notifications only wake
//! streams up — the events themselves are read from `generation_events`, so none is lost
//! to a dropped notification or a reconnect (a 2 s re-check covers the gap).

use super::limits::visible_generation;
use super::{ApiError, Caller, Shared, parse_ulid};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::Stream;
use resonantgen_core::GenerationStatus;
use resonantgen_infra::events::{self, CHANNEL, Event};
use resonantgen_infra::generations;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast;
use ulid::Ulid;

/// How often an open stream re-reads the table even without a notification.
const RECHECK: Duration = Duration::from_secs(2);

pub struct Hub {
    tx: broadcast::Sender<String>,
}

impl Hub {
    /// Starts the listener task.
    pub async fn start(pool: PgPool) -> anyhow::Result<Hub> {
        let (tx, _) = broadcast::channel(1024);
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(CHANNEL).await?;
        let sender = tx.clone();
        tokio::spawn(async move {
            loop {
                // recv reconnects by itself when the connection drops.
                match listener.recv().await {
                    Ok(n) => {
                        // Payload "<event id> <generation id>": wake that generation's streams.
                        if let Some((_, generation)) = n.payload().split_once(' ') {
                            let _ = sender.send(generation.to_string());
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "event listener lost Postgres; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(Hub { tx })
    }
}

struct Follow {
    pool: PgPool,
    id: Ulid,
    last: i64,
    rx: broadcast::Receiver<String>,
    pending: VecDeque<Event>,
    done: bool,
}

impl Follow {
    /// Reads new events; marks the stream done after a final one, or when the row is
    /// finished and nothing more is stored.
    async fn refill(&mut self) {
        match events::since(&self.pool, self.id, self.last).await {
            Ok(new) => {
                if let Some(e) = new.last() {
                    self.last = e.id;
                }
                self.done |= new.iter().any(|e| e.kind.is_final());
                let empty = new.is_empty();
                self.pending.extend(new);
                if empty
                    && let Ok(row) = generations::get_generation(&self.pool, self.id).await
                    && row.status.is_terminal()
                {
                    self.done = true;
                }
            }
            Err(e) => tracing::warn!(id = %self.id, error = %e, "reading events"),
        }
    }

    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Some(e);
            }
            if self.done {
                return None;
            }
            let mine = self.id.to_string();
            // Woken by a notification or not, re-read the table after at most RECHECK.
            let _ = tokio::time::timeout(RECHECK, async {
                loop {
                    match self.rx.recv().await {
                        Ok(g) if g == mine => return,
                        Ok(_) => continue,
                        // Missed notifications: re-read the table anyway.
                        Err(broadcast::error::RecvError::Lagged(_)) => return,
                        Err(broadcast::error::RecvError::Closed) => {
                            std::future::pending::<()>().await
                        }
                    }
                }
            })
            .await;
            self.refill().await;
        }
    }
}

/// `GET /v1/generations/{id}/events`: `text/event-stream`, one SSE event per progress
/// event (`event:` its type, `id:` its sequence number, `data:` the JSON). Only the
/// generation's owner (or an admin token) may follow it.
pub async fn stream(
    State(s): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let id = parse_ulid(&id)?;
    visible_generation(&s, &caller, id).await?;
    let row = generations::get_generation(&s.pool, id).await?;
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(0);
    let mut follow = Follow {
        pool: s.pool.clone(),
        id,
        last,
        rx: s.events.tx.subscribe(),
        pending: VecDeque::new(),
        done: false,
    };
    follow.refill().await;
    // A generation cancelled before any worker saw it may have no events at all.
    if follow.pending.is_empty() && row.status == GenerationStatus::Cancelled {
        follow.done = true;
    }
    let stream = futures::stream::unfold(follow, |mut f| async move {
        let e = f.next().await?;
        let sse = SseEvent::default()
            .id(e.id.to_string())
            .event(e.kind.name())
            .json_data(&e)
            .unwrap_or_else(|_| SseEvent::default().comment("unencodable event"));
        Some((Ok(sse), f))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
