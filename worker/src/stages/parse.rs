//! Stage `parse`: the prompt through the language layer into musical intent and the shared
//! context; the lock URIs read. Makes the [`Job`].

use super::Job;
use crate::pipeline::JobError;
use resonantgen_shared::language::PromptParser;
use resonantgen_shared::queue::GenerationJob;
use resonantgen_shared::rng::fnv1a;
use resonantgen_shared::store::GenerationKeys;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

pub fn run(job: &GenerationJob, attempt: u32, started: Instant) -> Result<Job<'_>, JobError> {
    let req = &job.request;
    let parsed = PromptParser::parse(&req.prompt);
    let seed = req
        .seed
        .unwrap_or_else(|| fnv1a(job.id.to_string().as_bytes()));
    let mapped = resonantgen_shared::language::mapper::map(req, &parsed, seed)
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
        ctx: mapped.context,
        lock_uris,
        locked: Arc::new(BTreeMap::new()),
        foreign_groove: None,
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
