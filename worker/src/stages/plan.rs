//! Stage `plan`: the Context Manager's harmonic plan (the harmony model), unless a locked
//! stem brought its own chords: the generators propose, `ContextManager::plan_harmony` takes it.

use super::Job;
use crate::pipeline::{JobError, Pipeline};

pub fn run(p: &Pipeline, job: &mut Job<'_>) -> Result<(), JobError> {
    let chords_locked = job
        .locked
        .values()
        .any(|s| s.sidecar.as_ref().is_some_and(|c| !c.chords.is_empty()));
    if !chords_locked {
        p.engine
            .registry
            .plan(&mut job.ctx, &job.intent)
            .map_err(|e| JobError::Permanent(format!("planning failed: {e}")))?;
    }
    Ok(())
}
