//! The worker's in-process event bus.
//!
//! A job reports its progress (generation started, each stage started and finished, each
//! track generated or locked, and how it ended) as typed events
//! ([`resonantgen_infra::events::EventKind`] plus the generation id). The code that emits
//! them runs on async tasks and on blocking threads (the per-track callback of the generate
//! stage), and must never wait on — or fail because of — the database. So emitting is a
//! synchronous, non-blocking hand-off to the bus, and the bus fans each event out to its
//! subscribers. One subscriber is the Postgres bridge ([`EventBus::spawn_bridge`]): a single
//! task that writes the events to `generation_events` (and NOTIFYs listeners) one after
//! another, so the events of a generation are stored in the order they were emitted. A
//! database error there is logged and the event dropped; a job never fails because of it.
//!
//! Subscribers' queues are unbounded: events are small and a job emits a few dozen, and a
//! slow subscriber (the bridge while the database is slow) must not lose any.

use resonantgen_infra::events::{self, EventKind};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use ulid::Ulid;

/// One event of one generation.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationEvent {
    pub generation: Ulid,
    pub kind: EventKind,
}

/// What travels to a subscriber: an event, or a flush marker to acknowledge once every
/// earlier event has been handled.
enum Delivery {
    Event(Arc<GenerationEvent>),
    Flush(oneshot::Sender<()>),
}

/// Publish/subscribe inside the worker process. Cheap to clone; all clones share the
/// subscribers.
#[derive(Clone, Default)]
pub struct EventBus {
    subscribers: Arc<Mutex<Vec<mpsc::UnboundedSender<Delivery>>>>,
}

/// The receiving end of [`EventBus::subscribe`].
pub struct Subscription {
    rx: mpsc::UnboundedReceiver<Delivery>,
}

impl Subscription {
    /// The next event, in publication order; `None` once every clone of the bus is gone.
    pub async fn recv(&mut self) -> Option<Arc<GenerationEvent>> {
        loop {
            match self.rx.recv().await? {
                Delivery::Event(e) => return Some(e),
                // Everything before the marker has been taken by this subscriber.
                Delivery::Flush(done) => {
                    let _ = done.send(());
                }
            }
        }
    }
}

impl EventBus {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends `kind` of `generation` to every subscriber. Never blocks and never fails: with
    /// no subscriber the event goes nowhere.
    pub fn publish(&self, generation: Ulid, kind: EventKind) {
        let event = Arc::new(GenerationEvent { generation, kind });
        self.deliver(|| Delivery::Event(event.clone()));
    }

    fn deliver(&self, mut make: impl FnMut() -> Delivery) {
        // A poisoned lock only means a publisher panicked mid-push; the list is still sound.
        let mut subs = self
            .subscribers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        subs.retain(|tx| tx.send(make()).is_ok());
    }

    /// A new subscriber: it receives every event published from now on.
    pub fn subscribe(&self) -> Subscription {
        let (tx, rx) = mpsc::unbounded_channel();
        self.subscribers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(tx);
        Subscription { rx }
    }

    /// Waits (at most `timeout`) until every subscriber has handled every event published
    /// before this call — for the Postgres bridge: until they are written. Returns whether
    /// that happened in time.
    pub async fn flush(&self, timeout: Duration) -> bool {
        let mut acks = Vec::new();
        self.deliver(|| {
            let (tx, rx) = oneshot::channel();
            acks.push(rx);
            Delivery::Flush(tx)
        });
        tokio::time::timeout(timeout, async {
            for ack in acks {
                // A subscriber that went away has nothing left to handle.
                let _ = ack.await;
            }
        })
        .await
        .is_ok()
    }

    /// Starts the task that writes every event to Postgres (`generation_events` + NOTIFY)
    /// in publication order. It ends once every clone of the bus is dropped and the events
    /// published before that are written.
    pub fn spawn_bridge(&self, pool: sqlx::PgPool) -> tokio::task::JoinHandle<()> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        self.subscribers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(tx);
        tokio::spawn(async move {
            // One event at a time: the order of the rows is the order of publication.
            while let Some(delivery) = rx.recv().await {
                match delivery {
                    Delivery::Event(e) => {
                        if let Err(error) = events::publish(&pool, e.generation, &e.kind).await {
                            tracing::warn!(
                                generation = %e.generation,
                                event = e.kind.name(),
                                %error,
                                "could not store a progress event; dropped"
                            );
                        }
                    }
                    Delivery::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(name: &str) -> EventKind {
        EventKind::StageStarted {
            stage: name.to_string(),
        }
    }

    #[tokio::test]
    async fn every_subscriber_gets_every_event_in_order() {
        let bus = EventBus::new();
        let mut a = bus.subscribe();
        let mut b = bus.subscribe();
        let id = Ulid::generate();
        // From a blocking thread too, as the generate stage's callback does.
        let publisher = bus.clone();
        std::thread::spawn(move || {
            for s in ["parse", "locks", "plan"] {
                publisher.publish(id, stage(s));
            }
        })
        .join()
        .unwrap();
        for sub in [&mut a, &mut b] {
            for s in ["parse", "locks", "plan"] {
                let e = sub.recv().await.unwrap();
                assert_eq!(e.generation, id);
                assert_eq!(e.kind, stage(s));
            }
        }
    }

    #[tokio::test]
    async fn flush_waits_for_subscribers_and_dropped_ones_are_forgotten() {
        let bus = EventBus::new();
        let dropped = bus.subscribe();
        drop(dropped);
        let mut sub = bus.subscribe();
        bus.publish(Ulid::generate(), stage("mix"));
        // Nobody has read the event yet: the flush cannot complete.
        assert!(!bus.flush(Duration::from_millis(50)).await);
        let reader = tokio::spawn(async move {
            let first = sub.recv().await;
            // The flush marker is acknowledged inside recv; the bus then goes away.
            let rest = sub.recv().await;
            (first, rest)
        });
        assert!(bus.flush(Duration::from_secs(5)).await);
        assert_eq!(bus.subscribers.lock().unwrap().len(), 1);
        drop(bus);
        let (first, rest) = reader.await.unwrap();
        assert_eq!(first.unwrap().kind, stage("mix"));
        assert!(rest.is_none());
    }
}
