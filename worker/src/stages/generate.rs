//! Stage `generate`: the symbolic part of every wanted track (ONNX step models and idiom
//! generators), in dependency order, each announced as it is done.

use super::{Job, blocking};
use crate::generators::Part;
use crate::pipeline::{JobError, Pipeline};
use crate::telemetry;
use resonantgen_core::TrackType;
use resonantgen_infra::events::EventKind;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The tracks to generate: the request's list, or every track the prompt does not leave
/// out and no lock provides.
fn wanted(job: &Job<'_>) -> Vec<TrackType> {
    match &job.request.tracks {
        Some(list) => list.clone(),
        None => TrackType::all()
            .into_iter()
            .filter(|t| !job.parsed.excluded_tracks.contains(t) && !job.locked.contains_key(t))
            .collect(),
    }
}

pub async fn run(p: &Pipeline, job: &mut Job<'_>) -> Result<(), JobError> {
    let wanted = wanted(job);
    if wanted.is_empty() && job.locked.is_empty() {
        return Err(JobError::Permanent(
            "the prompt excludes every track: nothing to generate".into(),
        ));
    }
    let engine = p.engine.clone();
    let (bus, id) = (p.events.clone(), job.id);
    let (ctx, intent) = (job.ctx.context().clone(), job.intent.clone());
    // Locked drums bring their groove in the context: the bass locks to their kick.
    let groove = ctx.groove.clone();
    let parts: BTreeMap<TrackType, Part> = blocking("generate", move || {
        engine
            .registry
            .generate_all_with(&ctx, &intent, &wanted, groove, |track, secs| {
                telemetry::stage_finished(&format!("generate:{track}"), secs);
                bus.publish(
                    id,
                    EventKind::TrackGenerated {
                        track: track.to_string(),
                        seconds: secs,
                    },
                );
            })
    })
    .await?
    .map_err(|e| JobError::Permanent(format!("generation failed: {e}")))?;
    job.parts = Arc::new(parts);
    Ok(())
}
