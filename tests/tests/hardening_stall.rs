//! Issue 13, item 1: a worker whose queue loop stops — no heartbeat, no ack, no fetch —
//! after a job succeeded. Against a real Postgres:
//!
//! - The cause, reproduced deterministically in-process with apalis-postgres itself
//!   (worker/src/watchdog.rs explains it): a table lock holds a fetch in flight across the
//!   end of a job and a heartbeat tick. apalis alone then never heartbeats or acks again;
//!   through our `QueueLoop` it does both as soon as the fetch returns.
//! - The sibling defect: a fetch that returns more tasks than there are free slots stops
//!   the heartbeat until a job ends (fixed by fetching one task at a time).
//! - The real worker binary with the stall forced by a fault hook
//!   (`RESONANTGEN_FAULT_FREEZE_QUEUE_ON_PROMPT` / `..._WEDGE_...`, worker/src/faults.rs):
//!   the watchdog restarts the loop and the lost ack is settled; a loop that does not
//!   restart makes the process exit with status 70; `--drain` ends even when the ack is lost.
//!
//! Build the binaries first (`cargo build --workspace --bins`).

use apalis::prelude::*;
use apalis_postgres::PostgresStorage;
use resonantgen_core::{GenerationRequest, GenerationStatus, TrackType};
use resonantgen_e2e::{Stack, free_port, fresh_database, http_get};
use resonantgen_infra::db;
use resonantgen_infra::events::{self, EventKind};
use resonantgen_infra::generations;
use resonantgen_infra::queue;
use resonantgen_worker::watchdog::{LoopHandle, QueueLoop};
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use ulid::Ulid;

/// Heartbeat interval of the in-process workers (the product's is 2 s): short, to keep the
/// tests short, long enough that a loaded machine keeps to it.
const H: Duration = Duration::from_secs(1);

/// Polls `check` every 50 ms until it yields a value; `None` after `timeout`.
async fn poll_until<T, F, Fut>(timeout: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `apalis.workers.last_seen` of `worker`, as seconds since the epoch (database clock).
async fn last_seen(pool: &sqlx::PgPool, worker: &str) -> Option<f64> {
    sqlx::query_as::<_, (f64,)>(
        "SELECT extract(epoch FROM last_seen)::float8 FROM apalis.workers WHERE id = $1",
    )
    .bind(worker)
    .fetch_optional(pool)
    .await
    .ok()
    .flatten()
    .map(|(t,)| t)
}

async fn db_now(pool: &sqlx::PgPool) -> f64 {
    let (t,): (f64,) = sqlx::query_as("SELECT extract(epoch FROM clock_timestamp())::float8")
        .fetch_one(pool)
        .await
        .unwrap();
    t
}

/// Status of the apalis task `id`.
async fn task_status(pool: &sqlx::PgPool, id: &str) -> String {
    let (s,): (String,) = sqlx::query_as("SELECT status FROM apalis.jobs WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap();
    s
}

/// Which in-process jobs have started, and which the test has let finish.
#[derive(Clone, Default)]
struct Gate {
    started: Arc<Mutex<BTreeSet<u64>>>,
    released: Arc<Mutex<BTreeSet<u64>>>,
}

impl Gate {
    fn started(&self, n: u64) -> bool {
        self.started.lock().unwrap().contains(&n)
    }
    fn release(&self, n: u64) {
        self.released.lock().unwrap().insert(n);
    }
}

/// A job that runs until the test releases it, waking every 20 ms meanwhile as a rendering
/// job does (each wake-up is a turn of the worker loop: with a free slot, a fetch).
async fn held(n: u64, gate: Data<Gate>) -> Result<(), BoxDynError> {
    gate.started.lock().unwrap().insert(n);
    while !gate.released.lock().unwrap().contains(&n) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Pushes one task per payload in one statement (so a fetch sees all or none); their ids.
async fn push(pool: &sqlx::PgPool, payloads: &[u64]) -> Vec<String> {
    let mut tasks = Vec::new();
    let mut ids = Vec::new();
    for n in payloads {
        let id = Ulid::generate();
        ids.push(id.to_string());
        tasks.push(
            TaskBuilder::new(serde_json::to_vec(n).unwrap())
                .task_id(TaskId::from_ulid(id))
                .build(),
        );
    }
    let mut conn = pool.acquire().await.unwrap();
    apalis_postgres::queries::push_tasks(&mut *conn, queue::QUEUE, tasks)
        .await
        .unwrap();
    ids
}

/// An in-process apalis worker on the generation queue's configuration (heartbeat `H`),
/// with NOTIFY wake-ups and concurrency 2 as `ops/run.sh` runs it; through our
/// `QueueLoop` when `wrapped`.
fn start_worker(
    pool: &sqlx::PgPool,
    name: &str,
    config: apalis_postgres::Config,
    wrapped: bool,
    gate: &Gate,
) -> tokio::task::JoinHandle<()> {
    let (pool, name, gate) = (pool.clone(), name.to_string(), gate.clone());
    tokio::spawn(async move {
        let storage = PostgresStorage::<u64>::new(&pool)
            .with_config(config)
            .with_pubsub();
        let monitor = if wrapped {
            let handle = LoopHandle::new();
            let run = handle.new_run(&name);
            Monitor::new().register(move |_| {
                WorkerBuilder::new(name.clone())
                    .backend(QueueLoop::new(storage.clone(), handle.clone(), run))
                    .data(gate.clone())
                    .concurrency(2)
                    .build(held)
            })
        } else {
            Monitor::new().register(move |_| {
                WorkerBuilder::new(name.clone())
                    .backend(storage.clone())
                    .data(gate.clone())
                    .concurrency(2)
                    .build(held)
            })
        };
        let _ = monitor.run().await;
    })
}

/// What became of the worker after the slow fetch.
#[derive(Debug)]
struct AfterFetch {
    /// Seconds from the lock's release to the task's ack, if within the wait.
    acked_after: Option<f64>,
    /// Seconds from the release to the first heartbeat after it, if within the wait.
    heartbeat_after: Option<f64>,
}

/// The stall, made certain: a job runs with a slot to spare, so the loop keeps fetching.
/// Right after a heartbeat the test locks `apalis.jobs` (EXCLUSIVE: reads go on, the
/// fetch's row locks wait), so the loop's next fetch hangs; the job ends while it hangs
/// (its ack queues behind the fetch) and the heartbeat timer fires while it hangs (its one
/// wake-up spent on a pass that does not look at it). Then the lock is released and the
/// fetch returns empty. Returns what happened within 4 heartbeat intervals after that.
async fn slow_fetch_across_job_end(wrapped: bool) -> AfterFetch {
    let pool = db::connect(
        &fresh_database().await.unwrap(),
        10,
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    db::migrate(&pool).await.unwrap();
    let gate = Gate::default();
    let name = if wrapped {
        "stall-wrapped"
    } else {
        "stall-raw"
    };
    let config = queue::storage_config()
        .heartbeat_interval(H)
        .missed_heartbeats(60);
    let worker = start_worker(&pool, name, config, wrapped, &gate);
    let id = push(&pool, &[1]).await.remove(0);
    poll_until(Duration::from_secs(30), || async {
        (gate.started(1) && task_status(&pool, &id).await == "Running").then_some(())
    })
    .await
    .expect("the job started and its lock was stored");

    // Lock right after a heartbeat: the next one is due a whole interval later.
    let seen = last_seen(&pool, name).await.expect("worker registered");
    poll_until(Duration::from_secs(10), || async {
        (last_seen(&pool, name).await? > seen).then_some(())
    })
    .await
    .expect("a heartbeat");
    let heartbeat_at = Instant::now();
    let mut lock = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE apalis.jobs IN EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await; // the job wakes, the loop fetches
    gate.release(1);
    tokio::time::sleep((heartbeat_at + H + H / 2).saturating_duration_since(Instant::now())).await;
    assert_eq!(
        task_status(&pool, &id).await,
        "Running",
        "the ack must wait for the lock"
    );
    // Heartbeats and acks after the release are stamped later than this.
    let (released,): (f64,) =
        sqlx::query_as("SELECT extract(epoch FROM clock_timestamp())::float8")
            .fetch_one(&mut *lock)
            .await
            .unwrap();
    lock.commit().await.unwrap();

    let wait = 4 * H;
    let acked_after = poll_until(wait, || async {
        (task_status(&pool, &id).await == "Done").then_some(db_now(&pool).await - released)
    })
    .await;
    let heartbeat_after = poll_until(wait, || async {
        let t = last_seen(&pool, name).await?;
        (t > released).then_some(t - released)
    })
    .await;
    worker.abort();
    AfterFetch {
        acked_after,
        heartbeat_after,
    }
}

#[tokio::test]
async fn queue_loop_heartbeats_and_acks_after_a_fetch_spanning_a_job_end() {
    let after = slow_fetch_across_job_end(true).await;
    let (Some(acked), Some(heartbeat)) = (after.acked_after, after.heartbeat_after) else {
        panic!("the loop stalled after the slow fetch: {after:?}");
    };
    // Both come with the first pass after the fetch returns, well inside one interval.
    assert!(acked < H.as_secs_f64(), "{after:?}");
    assert!(heartbeat < H.as_secs_f64(), "{after:?}");
}

/// The same scenario without our wrapper: apalis-core 1.0 stalls. Kept as the proof of the
/// cause — when this fails, apalis has fixed the lost wake-up and `QueueLoop`'s workaround
/// (worker/src/watchdog.rs) can go.
#[tokio::test]
async fn apalis_alone_stalls_after_a_fetch_spanning_a_job_end() {
    let after = slow_fetch_across_job_end(false).await;
    assert!(
        after.acked_after.is_none() && after.heartbeat_after.is_none(),
        "apalis no longer loses the wake-up: {after:?}"
    );
}

/// A fetch while one slot is free, with two tasks pending: fetching two would leave one
/// buffered, and apalis sends no heartbeat while a task waits in its buffer for a slot —
/// for as long as the running jobs take. The queue's configuration fetches one at a time.
#[tokio::test]
async fn heartbeats_go_on_while_every_slot_is_busy_and_tasks_wait() {
    let pool = db::connect(
        &fresh_database().await.unwrap(),
        10,
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    db::migrate(&pool).await.unwrap();
    let gate = Gate::default();
    let name = "stall-buffered";
    let config = queue::storage_config()
        .heartbeat_interval(H)
        .missed_heartbeats(60);
    let worker = start_worker(&pool, name, config, true, &gate);
    let first = push(&pool, &[1]).await;
    poll_until(Duration::from_secs(30), || async {
        gate.started(1).then_some(())
    })
    .await
    .expect("job 1 started");
    // Two at once, while one slot is free.
    let more = push(&pool, &[2, 3]).await;
    poll_until(Duration::from_secs(30), || async {
        (gate.started(2) || gate.started(3)).then_some(())
    })
    .await
    .expect("a second job started");

    // Both slots busy for 6 intervals: every heartbeat gap must stay under 3 intervals.
    let mut seen = vec![last_seen(&pool, name).await.unwrap()];
    let watch_until = Instant::now() + 6 * H;
    while Instant::now() < watch_until {
        let t = last_seen(&pool, name).await.unwrap();
        if t > *seen.last().unwrap() {
            seen.push(t);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    seen.push(db_now(&pool).await); // the gap still open at the end counts too
    let max_gap = seen.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
    assert!(
        max_gap < 3.0 * H.as_secs_f64(),
        "heartbeat gap of {max_gap:.1} s while tasks waited for a slot (heartbeats at {seen:?})"
    );

    for n in 1..=3 {
        gate.release(n);
    }
    for id in first.iter().chain(&more) {
        poll_until(Duration::from_secs(30), || async {
            (task_status(&pool, id).await == "Done").then_some(())
        })
        .await
        .unwrap_or_else(|| panic!("{id} not done"));
    }
    worker.abort();
}

// --- The worker binary, with the stall forced -------------------------------------------

const FREEZE: &str = "RESONANTGEN_FAULT_FREEZE_QUEUE_ON_PROMPT";
const WEDGE: &str = "RESONANTGEN_FAULT_WEDGE_QUEUE_ON_PROMPT";

async fn submit(stack: &Stack, prompt: &str, seed: u64) -> String {
    let mut r = GenerationRequest::new(prompt);
    r.duration_seconds = Some(1.0);
    r.seed = Some(seed);
    r.tracks = Some(vec![TrackType::Drums]);
    queue::submit(&stack.pool, r, None)
        .await
        .unwrap()
        .id()
        .to_string()
}

async fn generation_status(stack: &Stack, id: &str) -> GenerationStatus {
    generations::get_generation(&stack.pool, Ulid::from_string(id).unwrap())
        .await
        .unwrap()
        .status
}

/// Workers named in the `generation.started` events of `id`.
async fn started_by(stack: &Stack, id: &str) -> Vec<String> {
    events::since(&stack.pool, Ulid::from_string(id).unwrap(), 0)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::Started { worker, .. } => Some(worker),
            _ => None,
        })
        .collect()
}

/// A long-running worker whose queue loop freezes after its first job: the watchdog sees
/// no heartbeat, restarts the loop (a new name, `-r1`), the lost ack is settled, and the
/// next job is taken. Without the watchdog the worker would hold no job and take none.
#[tokio::test]
async fn watchdog_restarts_a_frozen_queue_loop_and_settles_its_ack() {
    let stack = Stack::start().await.unwrap();
    let metrics = format!("127.0.0.1:{}", free_port().unwrap());
    let worker = stack
        .worker_env(
            &[
                "--concurrency",
                "2",
                "--stall-after",
                "4",
                "--name",
                "frozen",
                "--metrics-addr",
                &metrics,
            ],
            &[(FREEZE, "freeze-me")],
        )
        .unwrap();
    let first = submit(&stack, "techno freeze-me", 1).await;
    poll_until(Duration::from_secs(120), || async {
        (generation_status(&stack, &first).await == GenerationStatus::Succeeded).then_some(())
    })
    .await
    .expect("the first job succeeded");

    // The ack: lost with the frozen loop, then settled by the restarted worker.
    let settled = poll_until(Duration::from_secs(60), || async {
        (task_status(&stack.pool, &first).await == "Done").then_some(())
    })
    .await;
    assert!(
        settled.is_some(),
        "the first task is still {}",
        task_status(&stack.pool, &first).await
    );
    // The next job is taken, by the restarted loop.
    let second = submit(&stack, "techno", 2).await;
    stack
        .wait_terminal(&second, Duration::from_secs(120))
        .await
        .unwrap();
    assert_eq!(
        generation_status(&stack, &second).await,
        GenerationStatus::Succeeded
    );
    let (restarted,): (String,) = sqlx::query_as("SELECT lock_by FROM apalis.jobs WHERE id = $1")
        .bind(&second)
        .fetch_one(&stack.pool)
        .await
        .unwrap();
    assert!(
        restarted.starts_with("frozen-") && restarted.ends_with("-r1"),
        "second job taken by {restarted}"
    );
    assert_eq!(started_by(&stack, &first).await.len(), 1, "run once");
    // Its heartbeats go on.
    let t = last_seen(&stack.pool, &restarted).await.unwrap();
    poll_until(Duration::from_secs(10), || async {
        (last_seen(&stack.pool, &restarted).await? > t).then_some(())
    })
    .await
    .expect("the restarted loop heartbeats");
    let body = http_get(&metrics, "/metrics").await.unwrap();
    let restarts = body
        .lines()
        .find(|l| l.starts_with("resonantgen_worker_queue_restarts_total{reason=\"stalled\"}"))
        .unwrap_or_default()
        .to_string();
    assert!(restarts.ends_with(" 1"), "{restarts:?}");
    assert!(body.contains("resonantgen_worker_heartbeat_gap_seconds_bucket"));
    assert!(
        body.contains("resonantgen_worker_acks_settled_total 1"),
        "{body}"
    );
    assert!(worker.stop().await.unwrap().success());
}

/// A loop the watchdog cannot restart (stuck inside a poll, say): the process exits with
/// status 70, for its supervisor to restart it.
#[tokio::test]
async fn a_loop_that_does_not_restart_exits_with_status_70() {
    let stack = Stack::start().await.unwrap();
    let worker = stack
        .worker_env(
            &["--concurrency", "1", "--stall-after", "3"],
            &[(WEDGE, "wedge-me")],
        )
        .unwrap();
    let id = submit(&stack, "techno wedge-me", 3).await;
    let status = worker.wait(Duration::from_secs(120)).await.unwrap();
    assert_eq!(status.code(), Some(70), "{status}");
    assert_eq!(
        generation_status(&stack, &id).await,
        GenerationStatus::Succeeded
    );
}

/// `--drain` with the ack lost (the loop frozen, the watchdog out of the way): the worker
/// still exits once every generation has ended — 0, the queue task acknowledged.
#[tokio::test]
async fn drain_ends_when_the_ack_is_lost() {
    let stack = Stack::start().await.unwrap();
    let id = submit(&stack, "techno freeze-me", 4).await;
    let worker = stack
        .worker_env(
            &["--drain", "--concurrency", "2", "--stall-after", "600"],
            &[(FREEZE, "freeze-me")],
        )
        .unwrap();
    let status = worker.wait(Duration::from_secs(120)).await.unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(
        generation_status(&stack, &id).await,
        GenerationStatus::Succeeded
    );
    assert_eq!(task_status(&stack.pool, &id).await, "Done");
}
