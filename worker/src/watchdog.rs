//! Keeps the worker's apalis queue loop moving, and acts when it stops anyway.
//!
//! # Why: the stall of issue 13
//!
//! A `--drain` worker (concurrency 2, as `ops/run.sh` runs it) finished its job — the
//! generation row written — and then went quiet for good: its `apalis.workers.last_seen`
//! froze, its task stayed `Running` with 0 attempts (claimed, never acknowledged), nothing
//! more was fetched and the drain never ended; SIGTERM ended it at once. The cause is a lost
//! wake-up in apalis-core 1.0's `Persisted` backend (`backend/persistence/mod.rs`), which
//! drives apalis-postgres's heartbeats, acks and fetches:
//!
//! 1. The heartbeat is a `futures_timer::Delay` that only `poll_ready` polls, and only in
//!    `State::Ready`. Acks (the `Complete` events the task layer sends into a channel) are
//!    drained there too, with `try_recv`, which registers no waker. In `State::Fetch` (a
//!    fetch query in flight) `poll_ready` answers `Ready(Ok)` at once and looks at neither.
//! 2. With a free slot (concurrency 2, one job running) the worker loop starts a fetch every
//!    time it is woken, and a running job wakes it often: a fetch is often in flight when
//!    the job ends, and the job's `Complete` then waits in the channel behind that fetch.
//! 3. If the heartbeat timer fires while such a fetch is in flight, its single wake-up is
//!    spent on a pass that does not poll it. When the fetch comes back empty, `poll_next`
//!    answers `Pending` having registered only the worker context's waker, which stopping
//!    wakes, time does not. Nothing is armed any more — the timer has fired, the channel
//!    cannot wake anyone, no job runs — so the loop sleeps until something outside wakes
//!    it: a NOTIFY for a new task (never, when draining) or SIGTERM, whose shutdown path
//!    drains the channel (hence the ack written and the exit at once).
//!
//! The window is one fetch (milliseconds; more on a loaded machine) per 2 s heartbeat,
//! hit by a fetch that spans a job's end: about one run in 60 there. A second defect has the
//! same shape: a fetch returning more tasks than there are free slots leaves
//! `State::Buffered`, where `poll_ready` does not heartbeat either, until a job ends —
//! long enough, for long renders, that other workers re-queue the jobs and run them twice.
//! `queue::storage_config` fetches one task at a time, so nothing is ever left buffered.
//! tests/tests/hardening_stall.rs reproduces both against a real Postgres, deterministically
//! (a table lock holds a fetch in flight across the job's end and a heartbeat).
//!
//! # What this module does
//!
//! - [`QueueLoop`] wraps the backend (the registry crate cannot be patched): whenever its
//!   `poll_next` answers `Pending`, it calls the inner `poll_ready` once more. After an
//!   empty fetch the state is `Ready`, so that call starts a due heartbeat (or re-registers
//!   the timer's waker) and stores pending acks; while a fetch is still in flight it does
//!   nothing, and the fetch's own completion brings the loop back for the same check.
//! - The watchdog (a thread of its own, [`spawn`]) restarts the queue loop when it makes no
//!   progress regardless — no heartbeat for `stall_after`, whatever the reason — by making
//!   the loop's backend fail (the monitor then restarts it under a new name, as it does
//!   when the database goes away), and exits the process with [`EXIT_STALLED`] for its
//!   supervisor when even that gets no answer. It stands down once shutdown begins.
//! - [`settle_lost_acks`] acknowledges tasks of this process whose generation ended but
//!   whose ack never reached the database (a restarted loop loses the acks it held).
//!
//! The heartbeat gap is exported (`resonantgen_worker_heartbeat_age_seconds`, and a
//! histogram of gaps) so that a stall shows on a dashboard, not only in the logs.

use crate::{faults, job, telemetry};
use apalis_core::backend::{Backend, BackendConfig, WireFormatBackend};
use apalis_core::worker::context::WorkerContext;
use futures::task::AtomicWaker;
use resonantgen_infra::queue;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Exit status of a worker whose queue loop stopped and could not be restarted in-process.
pub const EXIT_STALLED: i32 = 70;

/// How often the watchdog looks.
const TICK: Duration = Duration::from_millis(500);
/// How often claimed tasks are checked for a lost ack, and how long after its generation
/// ended a task may stay unacknowledged before it counts as lost (a job acknowledges within
/// moments of its final event being stored, which waits at most 5 s).
const ACK_CHECK_EVERY: Duration = Duration::from_secs(5);
const ACK_GRACE: Duration = Duration::from_secs(10);

/// A restart the watchdog asked for.
#[derive(Debug)]
struct Abort {
    run: u64,
    reason: String,
    at: Instant,
}

#[derive(Debug)]
struct State {
    /// The current run of the queue loop (0, then one more per restart) and its name.
    run: u64,
    name: String,
    /// Every name this process's loop has had: tasks claimed under any of them are ours.
    names: Vec<String>,
    started: Instant,
    last_heartbeat: Option<Instant>,
    abort: Option<Abort>,
    shutting_down: bool,
}

impl State {
    /// The last sign of progress: a heartbeat, or the start of the current run.
    fn progress(&self) -> Instant {
        self.last_heartbeat
            .map_or(self.started, |h| h.max(self.started))
    }
}

#[derive(Debug)]
struct Shared {
    /// The queue loop's task, to wake it for an abort.
    waker: AtomicWaker,
    state: Mutex<State>,
}

/// What the queue loop's backend, the event hook, the watchdog and `main` share.
#[derive(Debug, Clone)]
pub struct LoopHandle {
    shared: Arc<Shared>,
}

impl Default for LoopHandle {
    fn default() -> Self {
        Self::new()
    }
}

impl LoopHandle {
    pub fn new() -> Self {
        LoopHandle {
            shared: Arc::new(Shared {
                waker: AtomicWaker::new(),
                state: Mutex::new(State {
                    run: 0,
                    name: String::new(),
                    names: Vec::new(),
                    started: Instant::now(),
                    last_heartbeat: None,
                    abort: None,
                    shutting_down: false,
                }),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves plain data behind; keep going.
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A (re)started queue loop named `name`: forgets any pending abort and counts the
    /// start as progress. Returns the run number its backend carries.
    pub fn new_run(&self, name: &str) -> u64 {
        let mut s = self.state();
        if !s.names.is_empty() {
            s.run += 1;
        }
        s.name = name.to_string();
        s.names.push(name.to_string());
        s.started = Instant::now();
        s.abort = None;
        faults::thaw_queue();
        s.run
    }

    /// The loop completed a heartbeat (apalis's `Event::HeartBeat`).
    pub fn heartbeat(&self) {
        let now = Instant::now();
        let mut s = self.state();
        // The gap runs from the previous heartbeat, across restarts: what other workers see.
        let since = s.last_heartbeat.unwrap_or(s.started);
        telemetry::heartbeat(now.duration_since(since).as_secs_f64());
        s.last_heartbeat = Some(now);
    }

    /// Shutdown has begun: in-flight jobs finish without heartbeats, which is no stall.
    pub fn shutting_down(&self) {
        self.state().shutting_down = true;
    }

    /// Every name this process's queue loop has had.
    pub fn names(&self) -> Vec<String> {
        self.state().names.clone()
    }

    /// Seconds since the last heartbeat (or since the loop started, before the first).
    pub fn heartbeat_age(&self) -> Duration {
        let s = self.state();
        s.last_heartbeat.unwrap_or(s.started).elapsed()
    }

    /// Whether the watchdog asked the current run to stop (its failure is then expected).
    pub fn restart_requested(&self) -> bool {
        let s = self.state();
        s.abort.as_ref().is_some_and(|a| a.run == s.run)
    }

    /// The abort reason when the watchdog asked run `run` to stop.
    fn abort_for(&self, run: u64) -> Option<String> {
        let s = self.state();
        s.abort
            .as_ref()
            .filter(|a| a.run == run)
            .map(|a| a.reason.clone())
    }

    /// One look of the watchdog at `now`.
    fn inspect(&self, now: Instant, stall_after: Duration) -> Verdict {
        let mut s = self.state();
        if s.shutting_down {
            return Verdict::Fine;
        }
        if let Some(abort) = &s.abort {
            return if now.duration_since(abort.at) > stall_after {
                Verdict::Unresponsive {
                    name: s.name.clone(),
                    reason: abort.reason.clone(),
                }
            } else {
                Verdict::Waiting
            };
        }
        let idle = now.duration_since(s.progress());
        if idle <= stall_after {
            return Verdict::Fine;
        }
        let reason = match s.last_heartbeat {
            Some(_) => format!(
                "no heartbeat for {:.1} s (limit {} s)",
                idle.as_secs_f64(),
                stall_after.as_secs()
            ),
            None => format!(
                "no heartbeat in the {:.1} s since it started (limit {} s)",
                idle.as_secs_f64(),
                stall_after.as_secs()
            ),
        };
        s.abort = Some(Abort {
            run: s.run,
            reason: reason.clone(),
            at: now,
        });
        Verdict::Restart {
            name: s.name.clone(),
            reason,
        }
    }
}

#[derive(Debug, PartialEq)]
enum Verdict {
    Fine,
    /// Stalled: a restart was just asked for.
    Restart {
        name: String,
        reason: String,
    },
    /// A restart was asked for and is under way.
    Waiting,
    /// A restart was asked for `stall_after` ago and no new loop started.
    Unresponsive {
        name: String,
        reason: String,
    },
}

/// Starts the watchdog thread. A thread, not a task: it must see a stall even when the
/// runtime's threads are all stuck.
pub fn spawn(handle: LoopHandle, stall_after: Duration) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("queue-watchdog".into())
        .spawn(move || {
            loop {
                std::thread::sleep(TICK);
                telemetry::heartbeat_age(handle.heartbeat_age().as_secs_f64());
                match handle.inspect(Instant::now(), stall_after) {
                    Verdict::Fine => {}
                    Verdict::Restart { name, reason } => {
                        tracing::error!(
                            worker = %name,
                            %reason,
                            "watchdog: the queue loop stalled; restarting it"
                        );
                        telemetry::queue_restart("stalled");
                        handle.shared.waker.wake();
                    }
                    // Woken again in case the first wake-up raced the loop's registration.
                    Verdict::Waiting => handle.shared.waker.wake(),
                    Verdict::Unresponsive { name, reason } => {
                        tracing::error!(
                            worker = %name,
                            %reason,
                            "watchdog: the queue loop does not restart; exiting with status \
                             {EXIT_STALLED} for the supervisor to restart the process"
                        );
                        std::process::exit(EXIT_STALLED);
                    }
                }
            }
        })
        .map(|_| ())
}

/// Every [`ACK_CHECK_EVERY`], acknowledges the tasks claimed by this process whose
/// generation ended more than [`ACK_GRACE`] ago, that no job of ours is still handling,
/// and whose ack never arrived (the stall; a restarted loop drops the acks it held).
/// Without this they would stay `Running` until other workers' orphan sweep re-queued them.
pub async fn settle_lost_acks(handle: LoopHandle, pool: sqlx::PgPool) {
    loop {
        tokio::time::sleep(ACK_CHECK_EVERY).await;
        if handle.state().shutting_down {
            continue;
        }
        let names = handle.names();
        let lost = match queue::finished_unacked(&pool, &names, ACK_GRACE).await {
            Ok(rows) => rows,
            Err(error) => {
                tracing::debug!(%error, "lost-ack check failed; trying again later");
                continue;
            }
        };
        let in_flight = job::in_flight_ids();
        let ids: Vec<String> = lost
            .iter()
            .filter(|t| !in_flight.iter().any(|id| id.to_string() == t.id))
            .map(|t| t.id.clone())
            .collect();
        if ids.is_empty() {
            continue;
        }
        match queue::settle_finished(&pool, &names, Some(&ids)).await {
            Ok(settled) => {
                for t in lost.iter().filter(|t| settled.contains(&t.id)) {
                    tracing::warn!(
                        id = %t.id,
                        worker = %t.worker,
                        finished_secs_ago = format!("{:.0}", t.finished_secs),
                        "generation ended but its queue task was never acknowledged; \
                         acknowledged it now"
                    );
                }
                telemetry::acks_settled(settled.len() as u64);
            }
            Err(error) => tracing::warn!(%error, "settling unacknowledged tasks failed"),
        }
    }
}

/// The queue loop's backend failed, or the watchdog stopped it.
#[derive(Debug, thiserror::Error)]
pub enum QueueLoopError<E> {
    #[error(transparent)]
    Backend(E),
    #[error("queue loop stalled: {0}")]
    Stalled(String),
}

/// The backend of the queue loop, wrapped: see the module documentation.
#[derive(Debug, Clone)]
pub struct QueueLoop<B> {
    inner: B,
    handle: LoopHandle,
    run: u64,
}

impl<B> QueueLoop<B> {
    /// Wraps the backend of run `run` (from [`LoopHandle::new_run`]).
    pub fn new(inner: B, handle: LoopHandle, run: u64) -> Self {
        QueueLoop { inner, handle, run }
    }

    /// Registers the loop's waker for the watchdog; the abort, if one was asked for.
    fn abort_requested<E>(&self, cx: &Context<'_>) -> Option<QueueLoopError<E>> {
        self.handle.shared.waker.register(cx.waker());
        self.handle.abort_for(self.run).map(QueueLoopError::Stalled)
    }
}

impl<B: Backend> Backend for QueueLoop<B> {
    type Task = B::Task;
    type Error = QueueLoopError<B::Error>;

    fn poll_ready(
        &mut self,
        cx: &mut Context<'_>,
        worker: &WorkerContext,
    ) -> Poll<Result<(), Self::Error>> {
        if faults::queue_wedged() {
            return Poll::Pending;
        }
        if let Some(e) = self.abort_requested(cx) {
            return Poll::Ready(Err(e));
        }
        if faults::queue_frozen() {
            return Poll::Pending;
        }
        self.inner
            .poll_ready(cx, worker)
            .map_err(QueueLoopError::Backend)
    }

    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
        worker: &WorkerContext,
    ) -> Poll<Option<Result<Self::Task, Self::Error>>> {
        if faults::queue_wedged() {
            return Poll::Pending;
        }
        if let Some(e) = self.abort_requested(cx) {
            return Poll::Ready(Some(Err(e)));
        }
        if faults::queue_frozen() {
            return Poll::Pending;
        }
        match self.inner.poll_next(cx, worker) {
            // The fix: after an empty fetch the inner state is `Ready` again; poll it as
            // the loop will not — a heartbeat that came due during the fetch starts now, its
            // timer's waker is registered again, acks queued behind the fetch are stored.
            // While the fetch is still in flight this is a no-op.
            Poll::Pending => match self.inner.poll_ready(cx, worker) {
                Poll::Ready(Err(e)) => Poll::Ready(Some(Err(QueueLoopError::Backend(e)))),
                Poll::Ready(Ok(())) | Poll::Pending => Poll::Pending,
            },
            Poll::Ready(next) => Poll::Ready(next.map(|r| r.map_err(QueueLoopError::Backend))),
        }
    }

    fn poll_close(
        &mut self,
        cx: &mut Context<'_>,
        worker: &WorkerContext,
    ) -> Poll<Result<(), Self::Error>> {
        // Not frozen here: the real stall ended on SIGTERM too (its shutdown path drains
        // the acks), and a drain must be able to finish.
        if faults::queue_wedged() {
            return Poll::Pending;
        }
        if let Some(e) = self.abort_requested(cx) {
            return Poll::Ready(Err(e));
        }
        self.inner
            .poll_close(cx, worker)
            .map_err(QueueLoopError::Backend)
    }
}

impl<B: BackendConfig> BackendConfig for QueueLoop<B> {
    type Args = B::Args;
    type Id = B::Id;
    type Kind = B::Kind;
    type Config = B::Config;
    type Layer = B::Layer;

    fn config(&self) -> &Self::Config {
        self.inner.config()
    }

    fn middleware(&mut self, worker: &mut WorkerContext) -> Self::Layer {
        self.inner.middleware(worker)
    }
}

impl<B: WireFormatBackend> WireFormatBackend for QueueLoop<B> {
    type Codec = B::Codec;
    type Compact = B::Compact;

    fn codec(&self) -> &Self::Codec {
        self.inner.codec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STALL: Duration = Duration::from_secs(15);

    #[test]
    fn heartbeats_keep_it_quiet() {
        let h = LoopHandle::new();
        h.new_run("w-1");
        let t0 = Instant::now();
        assert_eq!(
            h.inspect(t0 + Duration::from_secs(10), STALL),
            Verdict::Fine
        );
        h.heartbeat();
        let t1 = Instant::now();
        assert_eq!(
            h.inspect(t1 + Duration::from_secs(14), STALL),
            Verdict::Fine
        );
    }

    #[test]
    fn no_heartbeat_asks_for_one_restart_then_gives_up() {
        let h = LoopHandle::new();
        let run = h.new_run("w-1");
        h.heartbeat();
        let later = Instant::now() + Duration::from_secs(16);
        match h.inspect(later, STALL) {
            Verdict::Restart { name, reason } => {
                assert_eq!(name, "w-1");
                assert!(reason.contains("no heartbeat for"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        // The backend of that run now fails; another run's would not.
        assert!(h.abort_for(run).is_some());
        assert!(h.abort_for(run + 1).is_none());
        assert_eq!(
            h.inspect(later + Duration::from_secs(1), STALL),
            Verdict::Waiting
        );
        assert!(matches!(
            h.inspect(later + Duration::from_secs(16), STALL),
            Verdict::Unresponsive { .. }
        ));
    }

    #[test]
    fn a_new_run_clears_the_abort_and_counts_as_progress() {
        let h = LoopHandle::new();
        let first = h.new_run("w-1");
        let later = Instant::now() + Duration::from_secs(16);
        assert!(matches!(h.inspect(later, STALL), Verdict::Restart { .. }));
        let second = h.new_run("w-1-r1");
        assert_eq!(second, first + 1);
        assert!(h.abort_for(first).is_none());
        assert_eq!(h.names(), vec!["w-1".to_string(), "w-1-r1".to_string()]);
        assert_eq!(
            h.inspect(Instant::now() + Duration::from_secs(5), STALL),
            Verdict::Fine
        );
    }

    #[test]
    fn shutdown_is_no_stall() {
        let h = LoopHandle::new();
        h.new_run("w-1");
        h.shutting_down();
        assert_eq!(
            h.inspect(Instant::now() + Duration::from_secs(600), STALL),
            Verdict::Fine
        );
    }
}
