//! The apalis job handler: one generation per task, with the failure policy of the queue —
//! permanent errors fail the generation once (AbortError: never retried), transient ones are
//! retried after a backoff up to MAX_ATTEMPTS, and a job that keeps coming back (it crashed or
//! hung its worker each time) is given up with its reason recorded. A job whose cancel was
//! requested stops at its next stage boundary and ends `cancelled`, acknowledged (not
//! retried). Every outcome is announced on the worker's event bus. The ids of the jobs in
//! the handler are kept, so the watchdog never settles the ack of a job still running.

use crate::pipeline::{JobError, Pipeline};
use crate::telemetry;
use apalis::prelude::{AbortError, Attempt, BoxDynError, Data};
use resonantgen_core::response::GenerationStatus;
use resonantgen_infra::events::EventKind;
use resonantgen_infra::generations;
use resonantgen_infra::queue::{GenerationJob, MAX_ATTEMPTS};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct JobFailed(String);

fn abort(msg: String) -> BoxDynError {
    Box::new(AbortError::new(JobFailed(msg)))
}

/// How long a job waits for its final event to be stored before it is acknowledged.
const FINAL_EVENT_WAIT: Duration = Duration::from_secs(5);

/// Announces how a generation ended and waits (briefly) until the bridge has stored it, so
/// the event is in Postgres by the time the queue sees the job finish. Never fails the job.
async fn announce_end(pipeline: &Pipeline, id: ulid::Ulid, kind: EventKind) {
    pipeline.events.publish(id, kind);
    if !pipeline.events.flush(FINAL_EVENT_WAIT).await {
        tracing::warn!(%id, "final progress event not stored within {FINAL_EVENT_WAIT:?}");
    }
}

/// Generations whose job is in the handler of this process right now.
static IN_FLIGHT_IDS: Mutex<BTreeSet<ulid::Ulid>> = Mutex::new(BTreeSet::new());

/// The generations this process's handler is running now.
pub fn in_flight_ids() -> Vec<ulid::Ulid> {
    IN_FLIGHT_IDS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .copied()
        .collect()
}

/// Keeps the in-flight gauge and ids right whichever way the handler exits.
struct InFlight(ulid::Ulid);
impl InFlight {
    fn start(id: ulid::Ulid) -> Self {
        telemetry::in_flight(1.0);
        IN_FLIGHT_IDS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id);
        InFlight(id)
    }
}
impl Drop for InFlight {
    fn drop(&mut self) {
        telemetry::in_flight(-1.0);
        IN_FLIGHT_IDS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.0);
    }
}

/// A failed attempt, however it failed: the row, the job metric (`failed`, or `retried` when
/// another attempt follows) and the `generation.failed` event. `last`: no retry follows.
async fn record_failed(
    pipeline: &Pipeline,
    id: ulid::Ulid,
    reason: &str,
    attempt: u32,
    last: bool,
    started: Instant,
) -> Result<(), BoxDynError> {
    generations::record_failure(&pipeline.pool, id, reason, attempt, last).await?;
    let outcome = if last { "failed" } else { "retried" };
    telemetry::job_finished(outcome, started.elapsed().as_secs_f64());
    announce_end(
        pipeline,
        id,
        EventKind::Failed {
            reason: reason.to_string(),
            retrying: !last,
        },
    )
    .await;
    Ok(())
}

pub async fn handle(
    job: GenerationJob,
    attempt: Attempt,
    pipeline: Data<Arc<Pipeline>>,
) -> Result<(), BoxDynError> {
    let id = job.id;
    let _in_flight = InFlight::start(id);
    let started = Instant::now();
    let attempt = attempt.current().max(1) as u32;
    let span = tracing::info_span!("job", %id, attempt);
    let _enter = span.enter();
    drop(_enter);

    if attempt > MAX_ATTEMPTS {
        let reason = format!(
            "gave up after {} attempts: the job never finished (it crashed or timed out its worker each time)",
            attempt - 1
        );
        tracing::error!(%id, attempt, "{reason}");
        record_failed(&pipeline, id, &reason, attempt, true, started).await?;
        return Err(abort(reason));
    }

    match generations::mark_running(&pipeline.pool, id, &pipeline.worker, attempt).await? {
        Some(GenerationStatus::Succeeded) => {
            // Already done (the ack was lost in a crash): the outputs and row are in place.
            tracing::info!(%id, "generation already succeeded; nothing to do");
            telemetry::job_finished("skipped", started.elapsed().as_secs_f64());
            return Ok(());
        }
        Some(GenerationStatus::Cancelled) => {
            tracing::info!(%id, "generation was cancelled; not starting it");
            telemetry::job_finished("skipped", started.elapsed().as_secs_f64());
            return Ok(());
        }
        _ => {}
    }
    tracing::info!(%id, attempt, prompt = %job.request.prompt, "generation started");
    pipeline.events.publish(
        id,
        EventKind::Started {
            attempt,
            worker: pipeline.worker.clone(),
        },
    );

    match pipeline.run(&job, attempt).await {
        Ok(resp) => {
            let secs = started.elapsed().as_secs_f64();
            telemetry::job_finished("succeeded", secs);
            tracing::info!(
                %id,
                seconds = format!("{secs:.2}"),
                tempo = resp.context.tempo_bpm,
                key = %resp.context.key,
                "generation succeeded"
            );
            announce_end(&pipeline, id, EventKind::Succeeded { seconds: secs }).await;
            crate::faults::stall_queue_if_prompt_matches(&job.request.prompt);
            Ok(())
        }
        Err(JobError::Cancelled { stage }) => {
            // Stopped at a stage boundary before anything was uploaded: the generation ends
            // here, and the task is acknowledged so apalis does not run it again.
            tracing::info!(%id, %stage, "generation cancelled");
            generations::record_cancelled(&pipeline.pool, id, &stage).await?;
            telemetry::job_finished("cancelled", started.elapsed().as_secs_f64());
            announce_end(
                &pipeline,
                id,
                EventKind::Cancelled {
                    at_stage: Some(stage),
                },
            )
            .await;
            Ok(())
        }
        Err(JobError::Permanent(reason)) => {
            tracing::warn!(%id, %reason, "generation failed permanently");
            record_failed(&pipeline, id, &reason, attempt, true, started).await?;
            Err(abort(reason))
        }
        Err(JobError::Transient(reason)) => {
            let last = attempt >= MAX_ATTEMPTS;
            tracing::warn!(%id, %reason, attempt, last, "generation failed; will retry unless last");
            record_failed(&pipeline, id, &reason, attempt, last, started).await?;
            if last {
                return Err(abort(format!("{reason} (after {attempt} attempts)")));
            }
            // apalis re-claims a failed task at once; wait here so retries back off.
            tokio::time::sleep(Duration::from_secs(1 << attempt.min(5))).await;
            Err(Box::new(JobFailed(reason)))
        }
    }
}
