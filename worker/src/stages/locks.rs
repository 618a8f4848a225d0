//! Stage `locks`: loads every locked stem at once, then lets the Track Lock Manager adopt
//! what they bring into the context (tempo, key, chords, groove, sample rate).

use super::{Job, blocking};
use crate::locks::{self, LockedStem};
use crate::pipeline::{JobError, Pipeline};
use crate::telemetry;
use resonantgen_core::TrackType;
use resonantgen_infra::events::EventKind;
use std::collections::BTreeMap;
use std::sync::Arc;

pub async fn run(p: &Pipeline, job: &mut Job<'_>) -> Result<(), JobError> {
    let loads = job
        .lock_uris
        .iter()
        .map(|(track, uri)| locks::load(&p.store, track, uri, p.max_lock_bytes));
    let mut locked: BTreeMap<TrackType, LockedStem> = BTreeMap::new();
    for result in futures::future::join_all(loads).await {
        match result {
            Ok(stem) => {
                telemetry::bytes_moved("download", stem.bytes.len() as u64);
                p.events.publish(
                    job.id,
                    EventKind::TrackLocked {
                        track: stem.track.to_string(),
                        source: stem.source.clone(),
                    },
                );
                locked.insert(stem.track, stem);
            }
            Err(e) if e.is_transient() => return Err(JobError::Transient(e.to_string())),
            Err(e) => return Err(JobError::Permanent(e.to_string())),
        }
    }
    if locked.is_empty() {
        return Ok(());
    }
    // Foreign audio is analysed (CPU work), so adoption runs on the blocking pool.
    let locked = Arc::new(locked);
    let (ctx, stems) = (job.ctx.clone(), locked.clone());
    let request = locks::Requested {
        tempo: job.request.tempo.is_some(),
        key: job.request.key.is_some(),
        sample_rate: job.request.sample_rate.is_some(),
        time_signature: job.request.time_signature.is_some(),
    };
    job.ctx = blocking("locks", move || locks::adopt_all(ctx, &stems, request)).await?;
    job.locked = locked;
    Ok(())
}
