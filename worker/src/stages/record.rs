//! Stage `record`: the GenerationResponse assembled from the job, stored beside the stems
//! (response.json, which later locks read as the sidecar) and written to Postgres.

use super::{Job, not_run};
use crate::pipeline::{JobError, Pipeline};
use resonantgen_core::TrackType;
use resonantgen_core::audio::{SILENCE_DB, peak_dbfs, rms_dbfs};
use resonantgen_core::response::{
    GenerationResponse, GenerationStatus, MixOutput, ObjectRef, TrackOutput,
};
use resonantgen_infra::generations;
use std::collections::BTreeMap;

/// The response of a job whose upload has finished.
fn response(p: &Pipeline, job: &Job<'_>) -> Result<GenerationResponse, JobError> {
    let mixed = job.mixed()?;
    let qa = job.qa.clone().ok_or_else(|| not_run("qa"))?;
    let (keys, ctx, intent) = (&job.keys, job.ctx.context(), &job.intent);
    let take = |key: &str| -> Result<ObjectRef, JobError> {
        job.objects
            .get(key)
            .cloned()
            .ok_or_else(|| JobError::Permanent(format!("internal error: {key} was not stored")))
    };
    let mut tracks = BTreeMap::new();
    let soundfont = crate::render::sampler::available();
    for (track, data) in &mixed.stems {
        let stem = job.locked.get(track);
        let channels = if matches!(track, TrackType::Drums) && stem.is_none() {
            mixed
                .channels
                .keys()
                .map(|c| Ok((c.clone(), take(&keys.channel(track, c))?)))
                .collect::<Result<BTreeMap<_, _>, JobError>>()?
        } else {
            BTreeMap::new()
        };
        tracks.insert(
            *track,
            TrackOutput {
                audio: take(&keys.stem(track))?,
                channels,
                midi: if stem.is_none() {
                    Some(take(&keys.midi(track))?)
                } else {
                    None
                },
                duration_seconds: stem
                    .map(|s| s.pcm.frames() as f64 / f64::from(s.pcm.sample_rate))
                    .unwrap_or(ctx.duration_seconds),
                sample_rate: stem.map(|s| s.pcm.sample_rate).unwrap_or(ctx.sample_rate),
                peak_dbfs: peak_dbfs(data),
                locked: stem.is_some(),
                source: stem.map(|s| s.source.clone()),
                events: job.parts.get(track).map(|p| p.notes.len()).unwrap_or(0),
                instrument: stem.is_none().then(|| {
                    let played = crate::render::instruments::choose(*track, intent, soundfont);
                    match (played, crate::render::sampler::source()) {
                        (crate::render::Played::Sampled { .. }, Some(source)) => {
                            format!("{} ({source})", played.name())
                        }
                        _ => played.name(),
                    }
                }),
                processing: if stem.is_none() {
                    intent
                        .tracks
                        .get(track)
                        .map(|t| t.processing.clone())
                        .unwrap_or_default()
                } else {
                    Vec::new()
                },
            },
        );
    }
    Ok(GenerationResponse {
        id: job.id,
        status: GenerationStatus::Succeeded,
        prompt: job.request.prompt.clone(),
        parsed: job.parsed.clone(),
        intent: intent.clone(),
        context: ctx.clone(),
        tracks,
        mix: MixOutput {
            audio: take(&keys.mix())?,
            integrated_lufs: mixed.integrated_lufs.max(SILENCE_DB),
            true_peak_dbtp: mixed.true_peak_dbtp.max(SILENCE_DB),
            peak_dbfs: peak_dbfs(&mixed.mix),
            rms_dbfs: rms_dbfs(&mixed.mix),
            looped: job
                .ctx
                .looped
                .then(|| resonantgen_core::response::LoopLength {
                    bars: job.ctx.bars,
                    samples: job.ctx.total_frames() as u64,
                }),
        },
        qa,
        timings: job.timings.clone(),
        generation_seconds: job.started.elapsed().as_secs_f64(),
        worker: p.worker.clone(),
        attempt: job.attempt,
        models: p.engine.registry.models(),
    })
}

pub async fn run(p: &Pipeline, job: &mut Job<'_>) -> Result<(), JobError> {
    let response = response(p, job)?;
    let json = serde_json::to_vec_pretty(&response)
        .map_err(|e| JobError::Permanent(format!("encode response: {e}")))?;
    p.store.put(&job.keys.response(), json).await.map_err(|e| {
        if e.is_transient() {
            JobError::Transient(format!("upload response: {e}"))
        } else {
            JobError::Permanent(format!("upload response: {e}"))
        }
    })?;
    generations::record_success(&p.pool, job.request, &response)
        .await
        .map_err(|e| JobError::Transient(format!("record response: {e}")))?;
    job.response = Some(response);
    Ok(())
}
