//! Track generators: each track type has one module that turns the GenerationContext (and the
//! parts generated before it) into a symbolic `Part` — notes on the beat grid. Generators run
//! in generation order (`TrackSpec::order`); adding a track type is one module here plus its
//! line in `Registry::load` (and its variant in `core/src/track.rs`).

pub mod bass;
pub mod drums;
pub mod harmony;
pub mod humanize;
pub mod melody;

use resonantgen_core::GenerationContext;
use resonantgen_core::TrackType;
use resonantgen_core::context::{ContextManager, HarmonicPlan};
use resonantgen_core::language::MusicalIntent;
use resonantgen_core::rng::Rng;
use std::collections::BTreeMap;

/// One note or drum hit. Times are in seconds from the start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Note {
    pub time: f64,
    pub duration: f64,
    /// MIDI pitch (drums: the GM drum note of the voice).
    pub pitch: u8,
    /// 0..1
    pub velocity: f32,
    /// Drum voice index (0 for pitched tracks).
    pub voice: u8,
    /// 16th-note step the note belongs to (before humanizing).
    pub step: usize,
}

/// A generated track in symbolic form.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub track: TrackType,
    /// Instrument / idiom the renderer should use ("offbeat", "pad", "drums"...).
    pub style: String,
    pub notes: Vec<Note>,
}

impl Part {
    /// Steps (16ths) where a drum voice hits.
    pub fn steps_of_voice(&self, voice: u8, total_steps: usize) -> Vec<bool> {
        let mut grid = vec![false; total_steps];
        for n in self.notes.iter().filter(|n| n.voice == voice) {
            if n.step < total_steps {
                grid[n.step] = true;
            }
        }
        grid
    }
}

pub use resonantgen_core::context::Groove;

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("{track} model: {message}")]
    Model {
        track: &'static str,
        message: String,
    },
    #[error(transparent)]
    Step(#[from] crate::step_model::StepError),
}

/// Samples a token from `probs` at `temperature` (p^(1/T), renormalized), among the tokens
/// `allowed` accepts. Deterministic for a given RNG state.
pub fn sample(
    probs: &[f32],
    temperature: f32,
    rng: &mut Rng,
    allowed: impl Fn(usize) -> bool,
) -> usize {
    let inv = 1.0 / temperature.max(1e-3);
    let weights: Vec<f32> = probs
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if allowed(i) {
                p.max(0.0).powf(inv)
            } else {
                0.0
            }
        })
        .collect();
    let sum: f32 = weights.iter().sum();
    if !(sum > 0.0 && sum.is_finite()) {
        return (0..probs.len()).find(|i| allowed(*i)).unwrap_or(0);
    }
    let mut x = rng.f32() * sum;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.iter().rposition(|w| *w > 0.0).unwrap_or(0)
}

/// Everything a generator may read.
pub struct GenInput<'a> {
    pub ctx: &'a GenerationContext,
    pub intent: &'a MusicalIntent,
    pub groove: &'a Groove,
    pub parts: &'a BTreeMap<TrackType, Part>,
}

pub trait TrackGenerator: Send + Sync {
    fn track(&self) -> TrackType;
    /// Model name and sha256 when the generator runs an ONNX model.
    fn model(&self) -> Option<(&'static str, String)> {
        None
    }
    fn generate(&self, input: &GenInput<'_>, rng: &mut Rng) -> Result<Part, GenerateError>;
    /// This generator's proposal for the shared context, made before any track is
    /// generated (HarmonyGen plans the progression here); the Context Manager takes it.
    fn plan(
        &self,
        _ctx: &GenerationContext,
        _intent: &MusicalIntent,
        _rng: &mut Rng,
    ) -> Result<Option<HarmonicPlan>, GenerateError> {
        Ok(None)
    }
    /// Turns cross-job step batching on or off (the benchmark's baseline runs it off).
    fn set_batching(&mut self, _on: bool) {}
    /// ONNX runs and rows so far: (runs, rows, seconds inside ONNX Runtime).
    fn step_stats(&self) -> Option<(u64, u64, f64)> {
        None
    }
}

/// The generators, in dependency order.
pub struct Registry {
    generators: Vec<Box<dyn TrackGenerator>>,
}

impl Registry {
    /// The standard generators with their models from `models_dir`.
    pub fn load(
        env: &ort::environment::Environment,
        models_dir: &std::path::Path,
        device: crate::onnx::Device,
    ) -> Result<Self, crate::onnx::OnnxError> {
        Ok(Registry {
            generators: vec![
                Box::new(drums::DrumGen::load(env, models_dir, device)?),
                Box::new(bass::BassGen::load(env, models_dir, device)?),
                Box::new(harmony::HarmonyGen::load(env, models_dir, device)?),
                Box::new(melody::MelodyGen::load(env, models_dir, device)?),
            ],
        })
    }

    pub fn set_batching(&mut self, on: bool) {
        for g in &mut self.generators {
            g.set_batching(on);
        }
    }

    /// (runs, rows, seconds) summed over every model.
    pub fn step_stats(&self) -> (u64, u64, f64) {
        self.generators
            .iter()
            .filter_map(|g| g.step_stats())
            .fold((0, 0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2))
    }

    pub fn get(&self, track: &TrackType) -> Option<&dyn TrackGenerator> {
        self.generators
            .iter()
            .find(|g| g.track() == *track)
            .map(|g| g.as_ref())
    }

    pub fn models(&self) -> BTreeMap<String, String> {
        self.generators
            .iter()
            .filter_map(|g| g.model())
            .map(|(n, s)| (n.to_string(), s))
            .collect()
    }

    /// The Context Manager's planning pass: each generator proposes its part of the shared
    /// context (the harmonic plan) before any track is generated, and the manager takes it.
    pub fn plan(
        &self,
        ctx: &mut ContextManager,
        intent: &MusicalIntent,
    ) -> Result<(), GenerateError> {
        for g in &self.generators {
            let mut rng = Rng::derive(ctx.seed, &format!("plan:{}", g.track()));
            if let Some(plan) = g.plan(ctx, intent, &mut rng)? {
                ctx.plan_harmony(plan);
            }
        }
        Ok(())
    }

    /// Generates the wanted tracks in order; each sees the parts before it.
    pub fn generate_all(
        &self,
        ctx: &GenerationContext,
        intent: &MusicalIntent,
        wanted: &[TrackType],
        on_track: impl FnMut(&TrackType, f64),
    ) -> Result<BTreeMap<TrackType, Part>, GenerateError> {
        self.generate_all_with(ctx, intent, wanted, None, on_track)
    }

    /// `generate_all` around drums that are not generated here: `groove` is their kick and
    /// snare (from a locked stem's notes or analysis), which the bass then locks to.
    pub fn generate_all_with(
        &self,
        ctx: &GenerationContext,
        intent: &MusicalIntent,
        wanted: &[TrackType],
        groove: Option<Groove>,
        mut on_track: impl FnMut(&TrackType, f64),
    ) -> Result<BTreeMap<TrackType, Part>, GenerateError> {
        let mut parts = BTreeMap::new();
        let mut groove = groove.unwrap_or_else(|| Groove::default_for(ctx, intent));
        let mut ordered: Vec<&TrackType> = wanted.iter().collect();
        ordered.sort_by_key(|t| t.spec().order);
        for track in ordered {
            let Some(generator) = self.get(track) else {
                continue;
            };
            let started = std::time::Instant::now();
            let mut rng = Rng::derive(ctx.seed, &ctx.part_stream(track.as_str()));
            let mut part = generator.generate(
                &GenInput {
                    ctx,
                    intent,
                    groove: &groove,
                    parts: &parts,
                },
                &mut rng,
            )?;
            // The last bar is cut at the requested length: so are its notes (the MIDI and
            // the QA read them).
            let end = ctx.duration_seconds;
            part.notes.retain(|n| n.time < end);
            for n in &mut part.notes {
                n.duration = n.duration.min(end - n.time);
            }
            if matches!(track, TrackType::Drums) {
                let total = ctx.total_steps();
                groove = Groove {
                    kick: part.steps_of_voice(drums::KICK, total),
                    snare: part.steps_of_voice(drums::SNARE, total),
                };
            }
            on_track(track, started.elapsed().as_secs_f64());
            parts.insert(*track, part);
        }
        Ok(parts)
    }
}
