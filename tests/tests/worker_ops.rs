//! The worker's operations against real processes: progress events stored in order,
//! cancellation of queued and of running generations, and pruning of finished queue rows.

use resonantgen_core::GenerationStatus;
use resonantgen_e2e::{Stack, free_port, http_get, submit};
use resonantgen_infra::events::{self, Event, EventKind};
use resonantgen_infra::generations::{self, CancelOutcome};
use resonantgen_infra::prune::{self, PRUNE_LOCK_KEY};
use std::time::{Duration, Instant};
use ulid::Ulid;

const WAIT: Duration = Duration::from_secs(180);

fn ulid(id: &str) -> Ulid {
    Ulid::from_string(id).unwrap()
}

/// The events of `id`, once its final event is stored (or panics after `timeout`).
async fn final_events(stack: &Stack, id: &str, timeout: Duration) -> Vec<Event> {
    let deadline = Instant::now() + timeout;
    loop {
        let evs = events::since(&stack.pool, ulid(id), 0).await.unwrap();
        if evs.last().is_some_and(|e| e.kind.is_final()) {
            return evs;
        }
        assert!(
            Instant::now() < deadline,
            "no final event for {id} after {timeout:?}: {evs:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The apalis status of a task, or `None` when its row is gone.
async fn apalis_status(stack: &Stack, id: &str) -> Option<String> {
    sqlx::query_as::<_, (String,)>("SELECT status FROM apalis.jobs WHERE id = $1")
        .bind(id)
        .fetch_optional(&stack.pool)
        .await
        .unwrap()
        .map(|(s,)| s)
}

/// Polls until the apalis task has `status` (acks are written in batches, a moment after the
/// handler returns).
async fn wait_apalis(stack: &Stack, id: &str, status: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let now = apalis_status(stack, id).await;
        if now.as_deref() == Some(status) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "apalis task {id} is {now:?}, not {status}, after {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls until the generation is `running`.
async fn wait_running(stack: &Stack, id: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let row = generations::get_generation(&stack.pool, ulid(id))
            .await
            .unwrap();
        match row.status {
            GenerationStatus::Running => return,
            GenerationStatus::Queued => {}
            other => panic!(
                "{id} is {other} before it was seen running: {:?}",
                row.error
            ),
        }
        assert!(
            Instant::now() < deadline,
            "{id} not running after {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `name` sample of a Prometheus text page (first series that starts with `name`).
fn sample(metrics: &str, name: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_a_generation_arrive_in_order() {
    let stack = Stack::start().await.unwrap();
    let id = submit(
        &stack,
        &[
            "house with piano at 124 bpm",
            "--duration",
            "4",
            "--seed",
            "3",
        ],
    )
    .await
    .unwrap();
    let metrics_addr = format!("127.0.0.1:{}", free_port().unwrap());
    let worker = stack
        .worker(&["--concurrency", "1", "--metrics-addr", &metrics_addr])
        .unwrap();
    let row = stack.wait_terminal(&id, WAIT).await.unwrap();
    assert_eq!(row.status, GenerationStatus::Succeeded, "{:?}", row.error);
    let resp = row.decode_response().unwrap().expect("response");
    let evs = final_events(&stack, &id, Duration::from_secs(10)).await;

    // Started first, succeeded last, nothing final in between.
    let kinds: Vec<&EventKind> = evs.iter().map(|e| &e.kind).collect();
    assert!(
        matches!(kinds[0], EventKind::Started { attempt: 1, worker } if worker == &resp.worker),
        "{kinds:#?}"
    );
    assert!(
        matches!(kinds.last(), Some(EventKind::Succeeded { seconds }) if *seconds > 0.0),
        "{kinds:#?}"
    );
    assert!(kinds[..kinds.len() - 1].iter().all(|k| !k.is_final()));
    assert!(evs.windows(2).all(|w| w[0].id < w[1].id));
    assert!(evs.iter().all(|e| e.generation_id == id));

    // Stages come as started/finished pairs, one at a time, in the pipeline's order; they are
    // the stages of the response's timings (plus `record`, which ends after the response is
    // written). Tracks are generated inside the generate stage.
    let mut stages = Vec::new();
    let mut open: Option<String> = None;
    let mut generated = Vec::new();
    for k in &kinds[1..kinds.len() - 1] {
        match k {
            EventKind::StageStarted { stage } => {
                assert!(open.is_none(), "{stage} started inside {open:?}");
                open = Some(stage.clone());
            }
            EventKind::StageFinished { stage, seconds } => {
                assert_eq!(open.take().as_ref(), Some(stage), "{kinds:#?}");
                assert!(*seconds >= 0.0);
                stages.push(stage.clone());
            }
            EventKind::TrackGenerated { track, .. } => {
                assert_eq!(open.as_deref(), Some("generate"), "{kinds:#?}");
                generated.push(track.clone());
            }
            other => panic!("unexpected {other:?} in {kinds:#?}"),
        }
    }
    assert!(open.is_none());
    let mut expected: Vec<String> = resp.timings.iter().map(|t| t.stage.clone()).collect();
    expected.push("record".into());
    assert_eq!(stages, expected);
    for s in [
        "parse", "locks", "plan", "generate", "render", "mix", "qa", "encode", "upload",
    ] {
        assert!(stages.iter().any(|x| x == s), "{stages:?}");
    }
    // One track.generated per generated track, and nothing locked.
    let mut tracks: Vec<String> = resp
        .tracks
        .iter()
        .filter(|(_, t)| !t.locked)
        .map(|(t, _)| t.to_string())
        .collect();
    tracks.sort();
    generated.sort();
    assert!(!generated.is_empty());
    assert_eq!(generated, tracks);

    // The worker timed its model runs and exports the cancelled series from the start.
    let metrics = http_get(&metrics_addr, "/metrics").await.unwrap();
    let drum_runs = sample(
        &metrics,
        "resonantgen_model_inference_seconds_count{model=\"drumgen\"}",
    );
    assert!(drum_runs.is_some_and(|n| n >= 1.0), "{metrics}");
    assert!(
        metrics.contains("resonantgen_jobs_total{status=\"cancelled\"} 0"),
        "{metrics}"
    );
    assert!(worker.stop().await.unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_queued_job_never_starts() {
    let stack = Stack::start().await.unwrap();
    let cancelled = submit(&stack, &["techno at 130 bpm", "--duration", "3"])
        .await
        .unwrap();
    let other = submit(&stack, &["lofi hip hop", "--duration", "3"])
        .await
        .unwrap();
    assert_eq!(
        generations::cancel_generation(&stack.pool, ulid(&cancelled))
            .await
            .unwrap(),
        CancelOutcome::Cancelled
    );
    let row = generations::get_generation(&stack.pool, ulid(&cancelled))
        .await
        .unwrap();
    assert_eq!(row.status, GenerationStatus::Cancelled);
    assert_eq!(
        apalis_status(&stack, &cancelled).await.as_deref(),
        Some("Killed")
    );
    // Cancelling again changes nothing.
    assert_eq!(
        generations::cancel_generation(&stack.pool, ulid(&cancelled))
            .await
            .unwrap(),
        CancelOutcome::AlreadyFinished(GenerationStatus::Cancelled)
    );

    // A worker drains the queue: it renders the other job and never starts the cancelled one.
    let worker = stack.worker(&["--drain", "--concurrency", "2"]).unwrap();
    assert!(worker.wait(WAIT).await.unwrap().success());
    let done = generations::get_generation(&stack.pool, ulid(&other))
        .await
        .unwrap();
    assert_eq!(done.status, GenerationStatus::Succeeded, "{:?}", done.error);
    let row = generations::get_generation(&stack.pool, ulid(&cancelled))
        .await
        .unwrap();
    assert_eq!(row.status, GenerationStatus::Cancelled);
    assert!(row.started_at.is_none(), "{row:?}");
    assert!(row.worker.is_none(), "{row:?}");
    assert!(row.response.is_none());
    assert_eq!(
        apalis_status(&stack, &cancelled).await.as_deref(),
        Some("Killed")
    );
    let evs = events::since(&stack.pool, ulid(&cancelled), 0)
        .await
        .unwrap();
    assert!(evs.is_empty(), "{evs:#?}");
    // ... while the other job's events were stored.
    let other_evs = events::since(&stack.pool, ulid(&other), 0).await.unwrap();
    assert!(matches!(
        other_evs.first().map(|e| &e.kind),
        Some(EventKind::Started { .. })
    ));
    let listed = stack
        .store()
        .list(&format!("generations/{cancelled}/"))
        .await
        .unwrap();
    assert!(listed.is_empty(), "{listed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_job_stops_at_the_next_stage_boundary() {
    let stack = Stack::start().await.unwrap();
    let long = submit(
        &stack,
        &[
            "cinematic orchestral strings",
            "--duration",
            "120",
            "--seed",
            "5",
        ],
    )
    .await
    .unwrap();
    let metrics_addr = format!("127.0.0.1:{}", free_port().unwrap());
    let worker = stack
        .worker(&["--concurrency", "1", "--metrics-addr", &metrics_addr])
        .unwrap();
    wait_running(&stack, &long, Duration::from_secs(60)).await;
    // Queued behind the long one (one job at a time).
    let next = submit(&stack, &["dub techno", "--duration", "3"])
        .await
        .unwrap();

    let asked = Instant::now();
    assert_eq!(
        generations::cancel_generation(&stack.pool, ulid(&long))
            .await
            .unwrap(),
        CancelOutcome::Requested
    );
    let row = stack
        .wait_terminal(&long, Duration::from_secs(60))
        .await
        .unwrap();
    let took = asked.elapsed();
    assert_eq!(row.status, GenerationStatus::Cancelled, "{:?}", row.error);
    assert!(row.response.is_none());
    assert!(
        row.error
            .as_deref()
            .is_some_and(|e| e.starts_with("cancelled before stage ")),
        "{:?}",
        row.error
    );
    // The 120-second render was stopped, not finished: far sooner than rendering it.
    assert!(took < Duration::from_secs(45), "cancel took {took:?}");

    let evs = final_events(&stack, &long, Duration::from_secs(10)).await;
    let kinds: Vec<&EventKind> = evs.iter().map(|e| &e.kind).collect();
    assert!(matches!(kinds[0], EventKind::Started { .. }), "{kinds:#?}");
    let Some(EventKind::Cancelled {
        at_stage: Some(stage),
    }) = kinds.last()
    else {
        panic!("last event is not generation.cancelled: {kinds:#?}");
    };
    assert!(
        row.error.as_deref() == Some(&format!("cancelled before stage {stage}")[..]),
        "{:?} vs {stage}",
        row.error
    );
    // The stage it stopped before never started, and no upload happened.
    assert!(
        !kinds
            .iter()
            .any(|k| matches!(k, EventKind::StageStarted { stage: s } if s == stage)),
        "{kinds:#?}"
    );
    assert!(
        !kinds.iter().any(
            |k| matches!(k, EventKind::StageStarted { stage } if stage == "upload" || stage == "record")
        ),
        "{kinds:#?}"
    );
    assert!(
        !kinds
            .iter()
            .any(|k| matches!(k, EventKind::Succeeded { .. }))
    );
    let listed = stack
        .store()
        .list(&format!("generations/{long}/"))
        .await
        .unwrap();
    assert!(listed.is_empty(), "{listed:?}");
    // Acknowledged, not retried.
    wait_apalis(&stack, &long, "Done", Duration::from_secs(30)).await;

    // The worker goes on with the queue.
    let row = stack.wait_terminal(&next, WAIT).await.unwrap();
    assert_eq!(row.status, GenerationStatus::Succeeded, "{:?}", row.error);
    let metrics = http_get(&metrics_addr, "/metrics").await.unwrap();
    assert!(
        metrics.contains("resonantgen_jobs_total{status=\"cancelled\"} 1"),
        "{metrics}"
    );
    assert!(worker.stop().await.unwrap().success());
    let row = generations::get_generation(&stack.pool, ulid(&long))
        .await
        .unwrap();
    assert_eq!(row.status, GenerationStatus::Cancelled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_removes_finished_queue_rows_and_keeps_generations() {
    let stack = Stack::start().await.unwrap();
    let done = submit(&stack, &["drum and bass", "--duration", "3"])
        .await
        .unwrap();
    let worker = stack.worker(&["--drain", "--prune-every", "0"]).unwrap();
    assert!(worker.wait(WAIT).await.unwrap().success());
    let row = generations::get_generation(&stack.pool, ulid(&done))
        .await
        .unwrap();
    assert_eq!(row.status, GenerationStatus::Succeeded, "{:?}", row.error);
    assert_eq!(apalis_status(&stack, &done).await.as_deref(), Some("Done"));
    assert!(
        !events::since(&stack.pool, ulid(&done), 0)
            .await
            .unwrap()
            .is_empty()
    );
    // Still waiting for a worker: never pruned.
    let pending = submit(&stack, &["ambient pads", "--duration", "3"])
        .await
        .unwrap();

    // Too recent for an hour's cutoff.
    let report = prune::prune(&stack.pool, Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(
        (report.apalis_jobs, report.events, report.skipped),
        (0, 0, false)
    );
    assert!(apalis_status(&stack, &done).await.is_some());

    // Another process pruning (holding the lock): this call skips.
    let mut other = stack.pool.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(PRUNE_LOCK_KEY)
        .execute(&mut *other)
        .await
        .unwrap();
    let report = prune::prune(&stack.pool, Duration::ZERO).await.unwrap();
    assert!(report.skipped);
    assert_eq!(report.apalis_jobs, 0);
    assert!(apalis_status(&stack, &done).await.is_some());
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(PRUNE_LOCK_KEY)
        .execute(&mut *other)
        .await
        .unwrap();
    drop(other);

    let report = prune::prune(&stack.pool, Duration::ZERO).await.unwrap();
    assert!(!report.skipped);
    assert_eq!(report.apalis_jobs, 1, "{report:?}");
    assert!(report.events > 0, "{report:?}");
    assert_eq!(apalis_status(&stack, &done).await, None);
    assert!(
        events::since(&stack.pool, ulid(&done), 0)
            .await
            .unwrap()
            .is_empty()
    );
    // Our record stays, with its response.
    let row = generations::get_generation(&stack.pool, ulid(&done))
        .await
        .unwrap();
    assert_eq!(row.status, GenerationStatus::Succeeded);
    assert!(row.decode_response().unwrap().is_some());
    assert_eq!(
        apalis_status(&stack, &pending).await.as_deref(),
        Some("Pending")
    );

    // The worker prunes on its own schedule and counts what it pruned.
    let metrics_addr = format!("127.0.0.1:{}", free_port().unwrap());
    let worker = stack
        .worker(&[
            "--prune-every",
            "1",
            "--prune-after",
            "0",
            "--metrics-addr",
            &metrics_addr,
        ])
        .unwrap();
    let row = stack.wait_terminal(&pending, WAIT).await.unwrap();
    assert_eq!(row.status, GenerationStatus::Succeeded, "{:?}", row.error);
    let deadline = Instant::now() + Duration::from_secs(30);
    while apalis_status(&stack, &pending).await.is_some() {
        assert!(Instant::now() < deadline, "worker did not prune {pending}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let metrics = http_get(&metrics_addr, "/metrics").await.unwrap();
    assert!(
        sample(&metrics, "resonantgen_apalis_pruned_total").is_some_and(|n| n >= 1.0),
        "{metrics}"
    );
    assert!(worker.stop().await.unwrap().success());
    let row = generations::get_generation(&stack.pool, ulid(&pending))
        .await
        .unwrap();
    assert_eq!(row.status, GenerationStatus::Succeeded);
}
