//! The stages of a job, one module each, in the order they run over one [`Job`]:
//! parse → locks → plan → generate → render → mix → qa → encode → upload → record.
//! Each stage reads what the earlier ones left in the `Job` and adds its own result;
//! [`crate::pipeline::Pipeline::run`] is the loop that checks for a cancel before each,
//! announces it, runs it and times it.

pub mod encode;
pub mod generate;
pub mod locks;
pub mod mix;
pub mod parse;
pub mod plan;
pub mod qa;
pub mod record;
pub mod render;
pub mod upload;

use crate::generators::Part;
use crate::locks::LockedStem;
use crate::mix::MixResult;
use crate::pipeline::{JobError, Pipeline};
use crate::render::Rendered;
use resonantgen_core::context::ContextManager;
use resonantgen_core::language::{MusicalIntent, ParsedPrompt};
use resonantgen_core::lock_uri::LockUri;
use resonantgen_core::response::{GenerationResponse, ObjectRef, QaReport, StageTiming};
use resonantgen_core::{GenerationRequest, TrackType};
use resonantgen_infra::store::GenerationKeys;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
use ulid::Ulid;

/// A stage of a job, named as events, metrics and the response's timings name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Parse,
    Locks,
    Plan,
    Generate,
    Render,
    Mix,
    Qa,
    Encode,
    Upload,
    Record,
}

impl Stage {
    /// Every stage after `parse` (which makes the [`Job`]), in order.
    pub const AFTER_PARSE: [Stage; 9] = [
        Stage::Locks,
        Stage::Plan,
        Stage::Generate,
        Stage::Render,
        Stage::Mix,
        Stage::Qa,
        Stage::Encode,
        Stage::Upload,
        Stage::Record,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Parse => "parse",
            Stage::Locks => "locks",
            Stage::Plan => "plan",
            Stage::Generate => "generate",
            Stage::Render => "render",
            Stage::Mix => "mix",
            Stage::Qa => "qa",
            Stage::Encode => "encode",
            Stage::Upload => "upload",
            Stage::Record => "record",
        }
    }

    /// Whether a cancel stops the job before this stage. Not before `record`: the stems and
    /// mix are already uploaded, so a cancel that lands after the upload began is too late
    /// — the generation is recorded as succeeded (record_success only declines a row that is
    /// already `cancelled`), and its cancel_requested_at stays as the trace of the request.
    pub fn cancellable(self) -> bool {
        self != Stage::Record
    }

    /// Runs this stage (not `parse`: that one makes the job).
    pub async fn run(self, p: &Pipeline, job: &mut Job<'_>) -> Result<(), JobError> {
        match self {
            Stage::Parse => Err(JobError::Permanent(
                "internal error: parse runs before the job exists".into(),
            )),
            Stage::Locks => locks::run(p, job).await,
            Stage::Plan => plan::run(p, job),
            Stage::Generate => generate::run(p, job).await,
            Stage::Render => render::run(job).await,
            Stage::Mix => mix::run(job).await,
            Stage::Qa => qa::run(job).await,
            Stage::Encode => encode::run(job).await,
            Stage::Upload => upload::run(p, job).await,
            Stage::Record => record::run(p, job).await,
        }
    }
}

/// One job's state as it goes through the stages. `parse` fills the first block; each later
/// stage fills its own field (an empty map or `None` until it has run).
pub struct Job<'a> {
    pub id: Ulid,
    pub request: &'a GenerationRequest,
    pub attempt: u32,
    pub started: Instant,
    pub keys: GenerationKeys,
    /// The request's seed, or one derived from the id.
    pub seed: u64,
    pub parsed: ParsedPrompt,
    pub intent: MusicalIntent,
    /// The shared context every track is generated in, held by the Context Manager: stages
    /// read it freely and change it only through the manager's named operations.
    pub ctx: ContextManager,
    pub lock_uris: BTreeMap<TrackType, LockUri>,
    /// locks: the stems the request keeps.
    pub locked: Arc<BTreeMap<TrackType, LockedStem>>,
    /// generate: the symbolic part of every generated track.
    pub parts: Arc<BTreeMap<TrackType, Part>>,
    /// render: each generated track's audio (taken by mix).
    pub rendered: Option<BTreeMap<TrackType, Rendered>>,
    /// mix: stems at their in-mix level and the master.
    pub mixed: Option<Arc<MixResult>>,
    /// qa: what the worker measured of its own output.
    pub qa: Option<QaReport>,
    /// encode: (object key, bytes) of every generated object.
    pub encoded: Vec<(String, Vec<u8>)>,
    /// upload: every stored object, by key.
    pub objects: BTreeMap<String, ObjectRef>,
    /// The stages that have finished, with their durations.
    pub timings: Vec<StageTiming>,
    /// record: the response as stored.
    pub response: Option<GenerationResponse>,
}

impl Job<'_> {
    /// The mix stage's result (an internal error if it has not run).
    pub fn mixed(&self) -> Result<Arc<MixResult>, JobError> {
        self.mixed.clone().ok_or_else(|| not_run("mix"))
    }
}

/// A stage ran before the one it depends on: a bug, reported as a permanent failure.
pub fn not_run(stage: &str) -> JobError {
    JobError::Permanent(format!("internal error: stage {stage} has not run"))
}

/// Runs CPU work on the blocking pool, so the queue's heartbeats keep flowing.
pub async fn blocking<T: Send + 'static>(
    stage: &'static str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, JobError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| JobError::Permanent(format!("internal error in stage {stage}: {e}")))
}
