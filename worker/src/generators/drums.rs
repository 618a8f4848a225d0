//! DrumGen: multi-voice drums sampled step by step from the `drumgen` ONNX step model
//! (trained on our genre pattern library), conditioned on genre and a per-bar energy curve,
//! then humanized (velocity accents, micro-timing off the kick).

use super::{GenInput, GenerateError, Note, Part, TrackGenerator};
use crate::onnx::{ModelSession, OnnxError};
use ndarray::Array2;
use resonantgen_shared::TrackType;
use resonantgen_shared::rng::Rng;
use serde::Deserialize;
use std::path::Path;

pub const KICK: u8 = 0;
pub const SNARE: u8 = 1;
pub const CLAP: u8 = 2;
pub const HAT_CLOSED: u8 = 3;
pub const HAT_OPEN: u8 = 4;
pub const PERC: u8 = 5;

/// GM drum notes per voice (MIDI channel 10).
pub const GM_NOTES: [u8; 6] = [36, 38, 39, 42, 46, 37];
/// Which channel stem each voice goes to (names from the track registry).
pub const VOICE_CHANNEL: [&str; 6] = ["kick", "snare", "clap", "hats", "hats", "perc"];
const VOICE_SECONDS: [f64; 6] = [0.45, 0.25, 0.25, 0.08, 0.35, 0.15];

/// Sharpening exponent applied to the model's probabilities (temperature 0.5).
const SHARPEN: f32 = 2.0;

#[derive(Debug, Clone, Deserialize)]
pub struct DrumManifest {
    pub voices: Vec<String>,
    pub genres: Vec<String>,
    pub history_steps: usize,
    pub steps_per_bar: usize,
}

pub struct DrumGen {
    model: ModelSession<DrumManifest>,
}

impl DrumGen {
    pub fn load(env: &ort::environment::Environment, models_dir: &Path) -> Result<Self, OnnxError> {
        let model = ModelSession::<DrumManifest>::open(env, &models_dir.join("drums"), "drumgen")?;
        let m = &model.manifest;
        if m.voices.len() != GM_NOTES.len() || m.steps_per_bar != 16 {
            return Err(OnnxError::Model {
                path: models_dir.join("drums/manifest.json"),
                message: format!(
                    "expected 6 voices and 16 steps per bar, found {} and {}",
                    m.voices.len(),
                    m.steps_per_bar
                ),
            });
        }
        Ok(DrumGen { model })
    }

    fn genre_row(&self, style: &str) -> usize {
        self.model
            .manifest
            .genres
            .iter()
            .position(|g| g == style)
            .unwrap_or(0)
    }

    /// Runs the step model once: onset probabilities for each voice.
    fn step_probs(
        &self,
        history: &[f32],
        step_in_bar: usize,
        cond: &[f32],
    ) -> Result<[f32; 6], GenerateError> {
        let err = |e: String| GenerateError::Model {
            track: "drums",
            message: e,
        };
        let h = Array2::from_shape_vec((1, history.len()), history.to_vec())
            .map_err(|e| err(e.to_string()))?;
        let mut pos = Array2::<f32>::zeros((1, 16));
        pos[[0, step_in_bar]] = 1.0;
        let c = Array2::from_shape_vec((1, cond.len()), cond.to_vec())
            .map_err(|e| err(e.to_string()))?;
        let mut session = self
            .model
            .session
            .lock()
            .map_err(|_| err("session lock poisoned".into()))?;
        let inputs = ort::inputs![
            "history" => ort::value::TensorRef::from_array_view(&h).map_err(|e| err(e.to_string()))?,
            "position" => ort::value::TensorRef::from_array_view(&pos).map_err(|e| err(e.to_string()))?,
            "cond" => ort::value::TensorRef::from_array_view(&c).map_err(|e| err(e.to_string()))?,
        ];
        let outputs = session.run(inputs).map_err(|e| err(e.to_string()))?;
        let (_, probs) = outputs["onset_prob"]
            .try_extract_tensor::<f32>()
            .map_err(|e| err(e.to_string()))?;
        let mut out = [0.0f32; 6];
        for (o, p) in out.iter_mut().zip(probs) {
            *o = *p;
        }
        Ok(out)
    }
}

impl TrackGenerator for DrumGen {
    fn track(&self) -> &'static str {
        "drums"
    }

    fn model(&self) -> Option<(&'static str, String)> {
        Some(("drumgen", self.model.sha256.clone()))
    }

    fn generate(&self, input: &GenInput<'_>, rng: &mut Rng) -> Result<Part, GenerateError> {
        let ctx = input.ctx;
        let genres = self.model.manifest.genres.len();
        let hist_steps = self.model.manifest.history_steps;
        let voices = GM_NOTES.len();
        let mut history = vec![0.0f32; hist_steps * voices];
        let mut cond = vec![0.0f32; genres + 1];
        cond[self.genre_row(&input.intent.drum_style)] = 1.0;
        let total = ctx.total_steps();
        let mut notes = Vec::new();

        for step in 0..total {
            let bar = step / 16;
            let in_bar = step % 16;
            cond[genres] = ctx.bar_energy(bar);
            let probs = self.step_probs(&history, in_bar, &cond)?;
            let section = ctx.section_name(bar);
            let last_bar_of_section = ctx
                .section_at(bar)
                .is_some_and(|s| bar as u32 + 1 == s.start_bar + s.bars);
            let mut hits = [false; 6];
            for (v, p) in probs.iter().enumerate() {
                let a = p.powf(SHARPEN);
                let b = (1.0 - p).powf(SHARPEN);
                hits[v] = rng.chance(a / (a + b).max(1e-9));
            }
            // The arrangement: a breakdown drops the kick and backbeat; the bar before a drop
            // gets a snare roll that rises into it.
            if section == "breakdown" {
                hits[KICK as usize] = false;
                hits[SNARE as usize] = false;
                hits[CLAP as usize] = false;
            }
            let roll =
                (section == "build" || section == "verse") && last_bar_of_section && in_bar >= 8;
            if roll {
                hits[SNARE as usize] = in_bar >= 12 || in_bar % 2 == 0;
            }
            // An open hat chokes the closed one on the same step.
            if hits[HAT_OPEN as usize] {
                hits[HAT_CLOSED as usize] = false;
            }
            history.drain(..voices);
            history.extend(hits.iter().map(|h| if *h { 1.0 } else { 0.0 }));

            for (v, hit) in hits.iter().enumerate() {
                if !hit {
                    continue;
                }
                let accent = match in_bar {
                    s if s % 4 == 0 => 1.0,
                    s if s % 2 == 0 => 0.82,
                    _ => 0.66,
                };
                let velocity = if roll && v == SNARE as usize {
                    0.45 + 0.5 * (in_bar - 8) as f32 / 8.0
                } else if v == KICK as usize {
                    0.95 + 0.05 * rng.f32()
                } else {
                    (accent * (0.9 + 0.1 * rng.f32())).clamp(0.2, 1.0)
                };
                // The kick stays on the grid (it carries the tempo); the rest breathes.
                let jitter = if v == KICK as usize {
                    0.0
                } else {
                    f64::from(rng.bipolar()) * 0.003
                };
                notes.push(Note {
                    time: (ctx.step_time(step) + jitter).max(0.0),
                    duration: VOICE_SECONDS[v],
                    pitch: GM_NOTES[v],
                    velocity,
                    voice: v as u8,
                    step,
                });
            }
        }
        Ok(Part {
            track: TrackType::parse("drums").map_err(|e| GenerateError::Model {
                track: "drums",
                message: e.to_string(),
            })?,
            style: input.intent.drum_style.clone(),
            notes,
        })
    }
}
