//! Stage `parse`: the prompt through the language layer into musical intent and the shared
//! context; the lock URIs read. Makes the [`Job`].

use super::Job;
use crate::pipeline::JobError;
use resonantgen_core::context::ContextManager;
use resonantgen_core::language::PromptParser;
use resonantgen_core::rng::fnv1a;
use resonantgen_infra::queue::GenerationJob;
use resonantgen_infra::store::GenerationKeys;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

pub fn run(job: &GenerationJob, attempt: u32, started: Instant) -> Result<Job<'_>, JobError> {
    let req = &job.request;
    let parsed = PromptParser::parse(&req.prompt);
    let seed = req
        .seed
        .unwrap_or_else(|| fnv1a(job.id.to_string().as_bytes()));
    let mapped = resonantgen_core::language::mapper::map(req, &parsed, seed)
        .map_err(|e| JobError::Permanent(format!("invalid request: {e}")))?;
    let lock_uris = req
        .locks()
        .map_err(|e| JobError::Permanent(format!("invalid request: {e}")))?;
    Ok(Job {
        id: job.id,
        request: req,
        attempt,
        started,
        keys: GenerationKeys::new(job.id),
        seed,
        parsed,
        intent: mapped.intent,
        ctx: ContextManager::new(mapped.context),
        lock_uris,
        locked: Arc::new(BTreeMap::new()),
        parts: Arc::new(BTreeMap::new()),
        rendered: None,
        mixed: None,
        qa: None,
        encoded: Vec::new(),
        objects: BTreeMap::new(),
        timings: Vec::new(),
        response: None,
    })
}
