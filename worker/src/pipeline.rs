//! The per-job pipeline: runs the stages of `stages/` (parse → locks → plan → generate →
//! render → mix → qa → encode → upload → record) over one job. Every stage is timed and
//! announced on the worker's event bus; CPU stages run on the blocking pool so the queue's
//! heartbeats keep flowing. Before each stage up to the upload the generation's cancel flag
//! is checked: a cancelled job stops there, with nothing uploaded.

use crate::events::EventBus;
use crate::generators::Registry;
use crate::stages::{self, Stage};
use crate::telemetry;
use resonantgen_core::response::{GenerationResponse, StageTiming};
use resonantgen_infra::events::EventKind;
use resonantgen_infra::generations;
use resonantgen_infra::queue::GenerationJob;
use resonantgen_infra::store::ObjectStore;
use std::sync::Arc;
use std::time::Instant;
use ulid::Ulid;

/// Why a job did not produce a response.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Will fail the same way on every attempt (bad input, missing object): fail once.
    #[error("{0}")]
    Permanent(String),
    /// May succeed later (store or database unreachable): retry with backoff.
    #[error("{0}")]
    Transient(String),
    /// A cancel was requested; the job stopped before `stage` (nothing was uploaded).
    #[error("cancelled before stage {stage}")]
    Cancelled { stage: String },
}

/// Process-wide, loaded once: the generators and their ONNX sessions.
pub struct Engine {
    pub registry: Registry,
}

pub struct Pipeline {
    pub engine: Arc<Engine>,
    pub store: ObjectStore,
    pub pool: sqlx::PgPool,
    pub worker: String,
    /// Size cap on a locked stem's object.
    pub max_lock_bytes: u64,
    /// Progress events (bridged to Postgres by the worker).
    pub events: EventBus,
}

/// Announces stages as they start (after the cancel check) and reports their timings as
/// they finish, to the event bus and Prometheus.
struct Clock<'a> {
    id: Ulid,
    events: &'a EventBus,
    pool: &'a sqlx::PgPool,
}

impl Clock<'_> {
    /// The boundary before `stage`: stops the job if a cancel was requested (for the stages
    /// a cancel may stop), else announces the stage and returns its start time. A failing
    /// check is logged and the job goes on (a cancel is then seen at the next boundary).
    async fn begin(&self, stage: Stage) -> Result<Instant, JobError> {
        let name = stage.name();
        if stage.cancellable() {
            match generations::cancel_requested(self.pool, self.id).await {
                Ok(true) => {
                    return Err(JobError::Cancelled {
                        stage: name.to_string(),
                    });
                }
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(id = %self.id, stage = name, %error, "cancel check failed; going on")
                }
            }
        }
        self.events.publish(
            self.id,
            EventKind::StageStarted {
                stage: name.to_string(),
            },
        );
        let started = Instant::now();
        if stage.cancellable() {
            crate::faults::delay_stage(name).await;
        }
        Ok(started)
    }

    fn record(&self, stage: Stage, started: Instant, timings: &mut Vec<StageTiming>) {
        let seconds = started.elapsed().as_secs_f64();
        telemetry::stage_finished(stage.name(), seconds);
        self.events.publish(
            self.id,
            EventKind::StageFinished {
                stage: stage.name().to_string(),
                seconds,
            },
        );
        timings.push(StageTiming {
            stage: stage.name().to_string(),
            seconds,
        });
    }
}

impl Pipeline {
    pub async fn run(
        &self,
        job: &GenerationJob,
        attempt: u32,
    ) -> Result<GenerationResponse, JobError> {
        let started = Instant::now();
        let clock = Clock {
            id: job.id,
            events: &self.events,
            pool: &self.pool,
        };
        let t = clock.begin(Stage::Parse).await?;
        let mut state = stages::parse::run(job, attempt, started)?;
        clock.record(Stage::Parse, t, &mut state.timings);
        for stage in Stage::AFTER_PARSE {
            let t = clock.begin(stage).await?;
            stage.run(self, &mut state).await?;
            clock.record(stage, t, &mut state.timings);
        }
        telemetry::realtime_factor(state.ctx.duration_seconds / started.elapsed().as_secs_f64());
        let mut response = state
            .response
            .take()
            .ok_or_else(|| stages::not_run("record"))?;
        // The stored response has the timings up to the upload; the returned one all of them.
        response.timings = state.timings;
        Ok(response)
    }
}
