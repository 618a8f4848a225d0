//! The per-job pipeline: request → parsed prompt → context → locked stems → generators →
//! instruments → mix → WAV/MIDI → object store → response row. Every stage is timed and
//! announced on the worker's event bus; CPU stages run on the blocking pool so the queue's
//! heartbeats keep flowing. Before each stage up to the upload the generation's cancel flag
//! is checked: a cancelled job stops there, with nothing uploaded.

use crate::events::EventBus;
use crate::generators::{Part, Registry};
use crate::locks::{self, LockedStem};
use crate::production;
use crate::{midi, qa, telemetry};
use resonantgen_shared::audio::{encode_wav, peak_dbfs, rms_dbfs};
use resonantgen_shared::events::EventKind;
use resonantgen_shared::language::PromptParser;
use resonantgen_shared::queue::GenerationJob;
use resonantgen_shared::response::{
    GenerationResponse, GenerationStatus, MixOutput, ObjectRef, QaReport, StageTiming, TrackOutput,
};
use resonantgen_shared::rng::fnv1a;
use resonantgen_shared::store::{GenerationKeys, ObjectStore};
use resonantgen_shared::{TrackType, db};
use std::collections::BTreeMap;
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

/// Announces stages as they start (after the cancel check) and collects their timings as
/// they finish, reporting them to the event bus and Prometheus.
struct Stages<'a> {
    timings: Vec<StageTiming>,
    id: Ulid,
    events: &'a EventBus,
    pool: &'a sqlx::PgPool,
}

impl Stages<'_> {
    /// The boundary before `stage`: stops the job if a cancel was requested, else announces
    /// the stage and returns its start time. A failing check is logged and the job goes on
    /// (a cancel is then seen at the next boundary).
    async fn begin(&mut self, stage: &str) -> Result<Instant, JobError> {
        match db::cancel_requested(self.pool, self.id).await {
            Ok(true) => {
                return Err(JobError::Cancelled {
                    stage: stage.to_string(),
                });
            }
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(id = %self.id, stage, %error, "cancel check failed; going on")
            }
        }
        let started = self.announce(stage);
        crate::faults::delay_stage(stage).await;
        Ok(started)
    }

    /// Announces `stage` without a cancel check.
    fn announce(&mut self, stage: &str) -> Instant {
        self.events.publish(
            self.id,
            EventKind::StageStarted {
                stage: stage.to_string(),
            },
        );
        Instant::now()
    }

    fn record(&mut self, stage: &str, started: Instant) {
        let seconds = started.elapsed().as_secs_f64();
        telemetry::stage_finished(stage, seconds);
        self.events.publish(
            self.id,
            EventKind::StageFinished {
                stage: stage.to_string(),
                seconds,
            },
        );
        self.timings.push(StageTiming {
            stage: stage.to_string(),
            seconds,
        });
    }
}

async fn blocking<T: Send + 'static>(
    stage: &'static str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, JobError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| JobError::Permanent(format!("internal error in stage {stage}: {e}")))
}

/// Stereo interleaved copy of a locked stem at the output rate, cut or padded to `frames`.
/// A stem at another rate is resampled for the mix (band-limited sinc, as the analysis
/// does); its own object is still stored byte for byte.
fn fit_stereo(stem: &LockedStem, sample_rate: u32, frames: usize) -> Vec<f32> {
    let stereo = stem.pcm.to_stereo();
    let mut s = if stem.pcm.sample_rate == sample_rate {
        stereo
    } else {
        let channel = |c: usize| -> Vec<f32> {
            let x: Vec<f32> = stereo.iter().skip(c).step_by(2).copied().collect();
            resonantgen_shared::analysis::resample::resample(&x, stem.pcm.sample_rate, sample_rate)
        };
        let (l, r) = (channel(0), channel(1));
        l.into_iter().zip(r).flat_map(|(a, b)| [a, b]).collect()
    };
    s.resize(frames * 2, 0.0);
    s
}

impl Pipeline {
    pub async fn run(
        &self,
        job: &GenerationJob,
        attempt: u32,
    ) -> Result<GenerationResponse, JobError> {
        let started = Instant::now();
        let req = &job.request;
        let keys = GenerationKeys::new(job.id);
        let mut stages = Stages {
            timings: Vec::new(),
            id: job.id,
            events: &self.events,
            pool: &self.pool,
        };

        // Language → context.
        let t = stages.begin("parse").await?;
        let parsed = PromptParser::parse(&req.prompt);
        let seed = req
            .seed
            .unwrap_or_else(|| fnv1a(job.id.to_string().as_bytes()));
        let mapped = resonantgen_shared::language::mapper::map(req, &parsed, seed)
            .map_err(|e| JobError::Permanent(format!("invalid request: {e}")))?;
        let intent = mapped.intent;
        let mut ctx = mapped.context;
        let lock_uris = req
            .locks()
            .map_err(|e| JobError::Permanent(format!("invalid request: {e}")))?;
        stages.record("parse", t);

        // Locked stems, all at once.
        let t = stages.begin("locks").await?;
        let loads = lock_uris
            .iter()
            .map(|(track, uri)| locks::load(&self.store, track, uri, self.max_lock_bytes));
        let mut locked: BTreeMap<TrackType, LockedStem> = BTreeMap::new();
        for result in futures::future::join_all(loads).await {
            match result {
                Ok(stem) => {
                    telemetry::bytes_moved("download", stem.bytes.len() as u64);
                    self.events.publish(
                        job.id,
                        EventKind::TrackLocked {
                            track: stem.track.to_string(),
                            source: stem.source.clone(),
                        },
                    );
                    locked.insert(stem.track.clone(), stem);
                }
                Err(e) if e.is_transient() => return Err(JobError::Transient(e.to_string())),
                Err(e) => return Err(JobError::Permanent(e.to_string())),
            }
        }
        let mut foreign_groove: Option<Vec<(usize, u8)>> = None;
        for stem in locked.values() {
            if let Some(sidecar) = &stem.sidecar
                && let Some(note) = locks::adopt_sidecar(
                    &mut ctx,
                    sidecar,
                    req.tempo.is_some(),
                    req.key.is_some(),
                    &stem.source,
                )
            {
                ctx.conflicts.push(note);
            }
            // Foreign audio is analysed: it cannot follow us, so we follow it.
            if stem.sidecar.is_none() {
                let pcm = stem.pcm.clone();
                // The genre settles half-/double-time readings (drum & bass is 174, not 87).
                let hints =
                    resonantgen_shared::analysis::Hints::for_genre(&ctx.genre, ctx.tempo_bpm);
                let analysis = blocking("locks", move || {
                    resonantgen_shared::analysis::analyze_with(
                        &pcm.samples,
                        pcm.channels,
                        pcm.sample_rate,
                        &hints,
                    )
                })
                .await?;
                match analysis {
                    Ok(a) => {
                        let adopted = locks::adopt_analysis(&mut ctx, stem, &a, req.key.is_some());
                        ctx.conflicts.extend(adopted.notes);
                        if let Some(steps) = adopted.groove_steps {
                            foreign_groove = Some(steps);
                        }
                    }
                    Err(e) => ctx
                        .conflicts
                        .push(format!("locked {} could not be analysed: {e}", stem.track)),
                }
            }
            if stem.pcm.sample_rate != ctx.sample_rate {
                if req.sample_rate.is_none() && [44_100, 48_000].contains(&stem.pcm.sample_rate) {
                    ctx.sample_rate = stem.pcm.sample_rate;
                } else {
                    ctx.conflicts.push(format!(
                        "locked {} is {} Hz: resampled to {} Hz in the mix; its stem is kept as \
                         uploaded",
                        stem.track, stem.pcm.sample_rate, ctx.sample_rate
                    ));
                }
            }
        }
        stages.record("locks", t);

        // The Context Manager's harmonic plan (the harmony model), unless a locked stem
        // brought its own chords.
        let t = stages.begin("plan").await?;
        let chords_locked = locked
            .values()
            .any(|s| s.sidecar.as_ref().is_some_and(|c| !c.chords.is_empty()));
        if !chords_locked {
            self.engine
                .registry
                .plan(&mut ctx, &intent)
                .map_err(|e| JobError::Permanent(format!("planning failed: {e}")))?;
        }
        stages.record("plan", t);

        // Which tracks to generate.
        let wanted: Vec<TrackType> = match &req.tracks {
            Some(list) => list.clone(),
            None => TrackType::all()
                .into_iter()
                .filter(|t| !parsed.excluded_tracks.contains(t) && !locked.contains_key(t))
                .collect(),
        };
        if wanted.is_empty() && locked.is_empty() {
            return Err(JobError::Permanent(
                "the prompt excludes every track: nothing to generate".into(),
            ));
        }

        // Symbolic generation (ONNX step models + idiom generators), in dependency order.
        let t = stages.begin("generate").await?;
        let engine = self.engine.clone();
        let (bus, id) = (self.events.clone(), job.id);
        let gen_ctx = ctx.clone();
        let gen_intent = intent.clone();
        // Locked drums of ours bring their exact notes: the bass locks to their kick.
        let groove = locked
            .values()
            .find(|s| s.track.as_str() == "drums")
            .and_then(|s| s.notes.clone().or_else(|| foreign_groove.clone()))
            .map(|notes| crate::generators::Groove::from_notes(&notes, ctx.total_steps()));
        let parts: BTreeMap<TrackType, Part> = blocking("generate", move || {
            engine.registry.generate_all_with(
                &gen_ctx,
                &gen_intent,
                &wanted,
                groove,
                |track, secs| {
                    telemetry::stage_finished(&format!("generate:{track}"), secs);
                    bus.publish(
                        id,
                        EventKind::TrackGenerated {
                            track: track.to_string(),
                            seconds: secs,
                        },
                    );
                },
            )
        })
        .await?
        .map_err(|e| JobError::Permanent(format!("generation failed: {e}")))?;
        stages.record("generate", t);

        // Instruments and their processor chains: one thread per track.
        let t = stages.begin("render").await?;
        crate::faults::abort_if_prompt_matches(&req.prompt);
        let parts = Arc::new(parts);
        let (parts_r, ctx_r, intent_r) = (parts.clone(), ctx.clone(), intent.clone());
        let rendered = blocking("render", move || {
            production::render_tracks(&ctx_r, &intent_r, &parts_r)
        })
        .await?
        .ok_or_else(|| JobError::Permanent("internal error: a track failed to render".into()))?;
        stages.record("render", t);

        // Mix.
        let t = stages.begin("mix").await?;
        let frames = ctx.total_frames();
        let sr = ctx.sample_rate;
        let locked_stems: BTreeMap<TrackType, Vec<f32>> = locked
            .iter()
            .map(|(track, stem)| (track.clone(), fit_stereo(stem, sr, frames)))
            .collect();
        let (ctx_m, intent_m) = (ctx.clone(), intent.clone());
        let mixed = blocking("mix", move || {
            production::mixdown(&ctx_m, &intent_m, rendered, locked_stems)
        })
        .await?;
        stages.record("mix", t);

        // QA on our own output.
        let t = stages.begin("qa").await?;
        let drums_key =
            TrackType::parse("drums").map_err(|e| JobError::Permanent(e.to_string()))?;
        let measured_tempo = mixed
            .stems
            .get(&drums_key)
            .and_then(|d| qa::estimate_tempo(d, sr));
        let bass_key = TrackType::parse("bass").map_err(|e| JobError::Permanent(e.to_string()))?;
        let frequency_separation = match (mixed.stems.get(&drums_key), mixed.stems.get(&bass_key)) {
            (Some(d), Some(b)) => resonantgen_shared::features::separation(
                &resonantgen_shared::features::to_mono(d),
                &resonantgen_shared::features::to_mono(b),
            ),
            _ => None,
        };
        let rhythmic_coherence = parts
            .get(&bass_key)
            .and_then(|b| qa::rhythmic_coherence(b, &ctx));
        // The key the pitched stems actually sound in.
        let pitched: Vec<f32> = {
            let mut sum = vec![0.0f32; frames * 2];
            for t in ["bass", "harmony", "melody"] {
                if let Some(d) = TrackType::parse(t).ok().and_then(|t| mixed.stems.get(&t)) {
                    sum.iter_mut().zip(d).for_each(|(s, x)| *s += x);
                }
            }
            sum
        };
        let heard = blocking("qa", move || {
            resonantgen_shared::analysis::analyze(&pitched, 2, sr).ok()
        })
        .await?
        .filter(|a| a.tonal);
        let mut flags = Vec::new();
        if let Some(a) = &heard
            && a.key != ctx.key
            && !a.key.is_relative_of(&ctx.key)
        {
            flags.push(format!("measured key {} differs from {}", a.key, ctx.key));
        }
        if mixed.true_peak_dbtp > crate::mix::TRUE_PEAK_CEILING_DBTP + 0.05 {
            flags.push(format!(
                "true peak {:.2} dBTP above the {} dBTP ceiling",
                mixed.true_peak_dbtp,
                crate::mix::TRUE_PEAK_CEILING_DBTP
            ));
        }
        match measured_tempo {
            Some(m) if qa::tempo_error(m, ctx.tempo_bpm) > 0.02 => flags.push(format!(
                "measured tempo {m:.1} bpm differs from {:.1} bpm by more than 2%",
                ctx.tempo_bpm
            )),
            _ => {}
        }
        if mixed.integrated_lufs.is_finite()
            && (mixed.integrated_lufs - ctx.loudness_target).abs() > 1.0
        {
            flags.push(format!(
                "mix loudness {:.1} LUFS misses the {} LUFS target by more than 1 LU",
                mixed.integrated_lufs, ctx.loudness_target
            ));
        }
        stages.record("qa", t);

        // Encode WAV and MIDI.
        let t = stages.begin("encode").await?;
        let bits = ctx.bit_depth;
        let mixed = Arc::new(mixed);
        let mixed_e = mixed.clone();
        let parts_e = parts.clone();
        let tempo = ctx.tempo_bpm;
        let keys_e = keys.clone();
        let locked_tracks: Vec<TrackType> = locked.keys().cloned().collect();
        let encoded: Vec<(String, Vec<u8>)> = blocking("encode", move || {
            let mut out = Vec::new();
            let wav = |data: &[f32], name: &str| {
                encode_wav(data, 2, sr, bits, fnv1a(name.as_bytes()) ^ seed)
                    .map_err(|e| JobError::Permanent(format!("encode {name}: {e}")))
            };
            out.push((keys_e.mix(), wav(&mixed_e.mix, "mix")?));
            for (track, data) in &mixed_e.stems {
                if !locked_tracks.contains(track) {
                    out.push((keys_e.stem(track), wav(data, track.as_str())?));
                }
            }
            let drums =
                TrackType::parse("drums").map_err(|e| JobError::Permanent(e.to_string()))?;
            for (channel, data) in &mixed_e.channels {
                out.push((keys_e.channel(&drums, channel), wav(data, channel)?));
            }
            for (track, part) in parts_e.iter() {
                let bytes = midi::part_to_midi(part, tempo)
                    .map_err(|e| JobError::Permanent(format!("midi {track}: {e}")))?;
                out.push((keys_e.midi(track), bytes));
            }
            Ok::<_, JobError>(out)
        })
        .await??;
        stages.record("encode", t);

        // Upload: generated objects, and locked stems byte for byte. The last cancel point:
        // nothing of this generation is in the store yet.
        let t = stages.begin("upload").await?;
        let mut uploads = encoded;
        for (track, stem) in &locked {
            uploads.push((keys.stem(track), stem.bytes.clone()));
        }
        let stored = futures::future::join_all(
            uploads
                .into_iter()
                .map(|(key, bytes)| self.store.put_owned(key, bytes)),
        )
        .await;
        let mut objects: BTreeMap<String, ObjectRef> = BTreeMap::new();
        for r in stored {
            let obj = r.map_err(|e| {
                if e.is_transient() {
                    JobError::Transient(format!("upload: {e}"))
                } else {
                    JobError::Permanent(format!("upload: {e}"))
                }
            })?;
            telemetry::bytes_moved("upload", obj.bytes);
            objects.insert(obj.key.clone(), obj);
        }
        stages.record("upload", t);

        // The response.
        let take = |key: &str| -> Result<ObjectRef, JobError> {
            objects
                .get(key)
                .cloned()
                .ok_or_else(|| JobError::Permanent(format!("internal error: {key} was not stored")))
        };
        let mut tracks = BTreeMap::new();
        let soundfont = crate::render::sampler::soundfont().is_some();
        for (track, data) in &mixed.stems {
            let stem = locked.get(track);
            let channels = if track.as_str() == "drums" && stem.is_none() {
                mixed
                    .channels
                    .keys()
                    .map(|c| Ok((c.clone(), take(&keys.channel(track, c))?)))
                    .collect::<Result<BTreeMap<_, _>, JobError>>()?
            } else {
                BTreeMap::new()
            };
            tracks.insert(
                track.clone(),
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
                    sample_rate: stem.map(|s| s.pcm.sample_rate).unwrap_or(sr),
                    peak_dbfs: peak_dbfs(data),
                    locked: stem.is_some(),
                    source: stem.map(|s| s.source.clone()),
                    events: parts.get(track).map(|p| p.notes.len()).unwrap_or(0),
                    instrument: stem.is_none().then(|| {
                        crate::render::instruments::choose(track, &intent, soundfont).name()
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
        let generation_seconds = started.elapsed().as_secs_f64();
        let response = GenerationResponse {
            id: job.id,
            status: GenerationStatus::Succeeded,
            prompt: req.prompt.clone(),
            parsed,
            intent,
            context: ctx.clone(),
            tracks,
            mix: MixOutput {
                audio: take(&keys.mix())?,
                integrated_lufs: mixed.integrated_lufs,
                true_peak_dbtp: mixed.true_peak_dbtp,
                peak_dbfs: peak_dbfs(&mixed.mix),
                rms_dbfs: rms_dbfs(&mixed.mix),
            },
            qa: QaReport {
                measured_key: heard.as_ref().map(|a| a.key),
                key_confidence: heard.as_ref().map(|a| a.key_confidence),
                measured_tempo_bpm: measured_tempo,
                frequency_separation,
                rhythmic_coherence,
                duration_seconds: frames as f64 / f64::from(sr),
                flags,
            },
            timings: stages.timings.clone(),
            generation_seconds,
            worker: self.worker.clone(),
            attempt,
            models: self.engine.registry.models(),
        };

        // No cancel check here: the stems and mix are already uploaded, so a cancel that
        // lands after the upload stage began is too late — the generation is recorded as
        // succeeded (record_success only declines a row that is already `cancelled`), and
        // its cancel_requested_at stays as the trace of the late request.
        let t = stages.announce("record");
        let json = serde_json::to_vec_pretty(&response)
            .map_err(|e| JobError::Permanent(format!("encode response: {e}")))?;
        self.store.put(&keys.response(), json).await.map_err(|e| {
            if e.is_transient() {
                JobError::Transient(format!("upload response: {e}"))
            } else {
                JobError::Permanent(format!("upload response: {e}"))
            }
        })?;
        db::record_success(&self.pool, req, &response)
            .await
            .map_err(|e| JobError::Transient(format!("record response: {e}")))?;
        stages.record("record", t);
        telemetry::realtime_factor(ctx.duration_seconds / started.elapsed().as_secs_f64());

        let mut response = response;
        response.timings = stages.timings;
        Ok(response)
    }
}
