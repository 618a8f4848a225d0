//! BassGen: a chord-aware bass line locked to the drums' groove (the seed's GrooveLock),
//! sampled step by step from the `bassgen` ONNX step model. At every 16th the model reads the
//! line so far, the kick and snare around the step (from the drums generated before it), the
//! chord's tones and the next chord's root, and the idiom (off-beat, rolling, 808, kick-locked,
//! octave, walking, slap); it answers rest, hold, or a note as an interval above the chord root.

use super::{GenInput, GenerateError, Note, Part, TrackGenerator, sample};
use crate::onnx::{Device, ModelSession, OnnxError};
use crate::step_model::StepModel;
use resonantgen_core::TrackType;
use resonantgen_core::language::genre::BassStyle;
use resonantgen_core::meter::Meter;
use resonantgen_core::rng::Rng;
use serde::Deserialize;
use std::path::Path;

const REST: usize = 0;
const HOLD: usize = 1;
/// Sampling temperature: below 1 keeps the idiom tight, above 0 keeps it alive.
const TEMPERATURE: f32 = 0.7;
/// The same for a take other than 0.
const TAKE_TEMPERATURE: f32 = 0.9;
/// Highest bass pitch (G3); notes above fold down an octave.
const TOP: u8 = 55;

#[derive(Debug, Clone, Deserialize)]
pub struct BassManifest {
    pub vocab_size: usize,
    pub styles: Vec<String>,
    pub history_steps: usize,
    pub steps_per_bar: usize,
}

pub struct BassGen {
    model: StepModel<BassManifest>,
}

/// MIDI pitch of a pitch class in the bass register G1..F#2: low enough to be bass, high
/// enough that the fundamental sits above the kick's body (the frequency allocation).
pub fn bass_pitch(pc: u8) -> u8 {
    31 + (pc + 12 - 7) % 12
}

/// The model's name for an idiom.
pub fn style_name(style: BassStyle) -> &'static str {
    match style {
        BassStyle::Offbeat => "offbeat",
        BassStyle::Rolling => "rolling",
        BassStyle::Sub808 => "sub808",
        BassStyle::KickLocked => "kick_locked",
        BassStyle::Octave => "octave",
        BassStyle::Walking => "walking",
        BassStyle::Slap => "slap",
    }
}

impl BassGen {
    pub fn load(
        env: &ort::environment::Environment,
        models_dir: &Path,
        device: Device,
    ) -> Result<Self, OnnxError> {
        let dir = models_dir.join("bass");
        let session = ModelSession::<BassManifest>::open(env, &dir, "bassgen", device)?;
        let m = &session.manifest;
        let inputs = vec![
            ("history".to_string(), m.history_steps * m.vocab_size),
            ("position".to_string(), m.steps_per_bar),
            ("groove".to_string(), 6),
            ("harmony".to_string(), 25),
            ("cond".to_string(), m.styles.len() + 1),
        ];
        let vocab = m.vocab_size;
        let model = StepModel::new("bassgen", session, inputs, "probs", vocab)?;
        Ok(BassGen { model })
    }

    pub fn step_model(&self) -> &StepModel<BassManifest> {
        &self.model
    }
}

impl TrackGenerator for BassGen {
    fn track(&self) -> TrackType {
        TrackType::Bass
    }

    fn model(&self) -> Option<(&'static str, String)> {
        Some(("bassgen", self.model.sha256().to_string()))
    }

    fn set_batching(&mut self, on: bool) {
        self.model.set_batching(on);
    }

    fn step_stats(&self) -> Option<(u64, u64, f64)> {
        Some(self.model.stats())
    }

    fn generate(&self, input: &GenInput<'_>, rng: &mut Rng) -> Result<Part, GenerateError> {
        let ctx = input.ctx;
        let m = self.model.manifest();
        let vocab = m.vocab_size;
        let style = input.intent.bass_style;
        let style_row = m
            .styles
            .iter()
            .position(|s| s == style_name(style))
            .unwrap_or(0);
        let total = ctx.total_steps();
        let kick = |s: usize| input.groove.kick.get(s).copied().unwrap_or(false);
        let snare = |s: usize| input.groove.snare.get(s).copied().unwrap_or(false);
        let flag = |b: bool| f32::from(u8::from(b));
        let mut history: Vec<usize> = Vec::with_capacity(total);
        let _active = self.model.enter();
        // The model learned 16-step bars: other meters show it the 4/4 step that plays the
        // same part in the bar, and every downbeat is anchored on the root (the model has
        // not heard these bars; the downbeat is what makes them heard as this meter).
        let meter = ctx.meter;
        let spb = ctx.steps_per_bar();
        let last_beat = meter.beats().last().copied().unwrap_or(12);
        let anchor_downbeats = meter != Meter::FourFour && style != BassStyle::Offbeat;
        // Another take of the same plan samples a little looser, so its line is its own.
        let temperature = if ctx.take == 0 {
            TEMPERATURE
        } else {
            TAKE_TEMPERATURE
        };

        for step in 0..total {
            let bar = step / spb;
            let in_bar = step % spb;
            // The bass enters after the intro and rests through the breakdown.
            if ctx.section_name(bar).bass_rests() {
                history.push(REST);
                continue;
            }
            let chord = ctx.chord_at_step(step);
            let next = ctx.chord_at_step((bar + 1) * spb);
            let mut row = Vec::with_capacity(self.model.row_width());
            for back in (1..=m.history_steps).rev() {
                let tok = step.checked_sub(back).map(|s| history[s]);
                row.extend((0..vocab).map(|v| flag(tok == Some(v))));
            }
            let position = meter.common_position(in_bar);
            row.extend((0..16).map(|i| flag(i == position)));
            row.extend([
                flag(kick(step)),
                flag(snare(step)),
                flag(kick(step + 1)),
                flag(step > 0 && kick(step - 1)),
                flag(snare(step + 1)),
                1.0,
            ]);
            let tones = chord.intervals();
            row.extend((0..12u8).map(|pc| flag(tones.contains(&pc))));
            let next_root = (next.root + 12 - chord.root) % 12;
            row.extend((0..12u8).map(|pc| flag(pc == next_root)));
            row.push((spb - in_bar) as f32 / spb as f32);
            row.extend((0..m.styles.len()).map(|i| flag(i == style_row)));
            row.push(ctx.bar_energy(bar));

            let probs = self.model.infer(row)?;
            let prev = history.last().copied().unwrap_or(REST);
            // Notes stay in the key (and off the semitones a chord from outside it rubs, such
            // as G under the E major dominant of A minor), except a walking line's chromatic
            // approach on beat 4.
            let root_pitch = bass_pitch(chord.root);
            let chromatic_ok = style == BassStyle::Walking && in_bar >= last_beat;
            let tok = if anchor_downbeats && in_bar == 0 {
                2
            } else {
                sample(&probs, temperature, rng, |t| match t {
                    REST => true,
                    HOLD => prev != REST,
                    t => chromatic_ok || chord.admits(&ctx.key, (root_pitch + (t - 2) as u8) % 12),
                })
            };
            history.push(tok);
        }

        // Tokens to notes: an onset plus the holds after it.
        let mut notes = Vec::new();
        let mut step = 0;
        while step < total {
            let tok = history[step];
            if tok < 2 {
                step += 1;
                continue;
            }
            let mut len = 1;
            while step + len < total && history[step + len] == HOLD {
                len += 1;
            }
            let chord = ctx.chord_at_step(step);
            // A slash chord's bass note stands where the root would (C/E: the bass plays E).
            let mut pitch = match chord.bass {
                Some(b) if tok == 2 => bass_pitch(b),
                _ => bass_pitch(chord.root) + (tok - 2) as u8,
            };
            while pitch > TOP {
                pitch -= 12;
            }
            let accent = if meter.is_beat(step % spb) { 1.0 } else { 0.86 };
            notes.push(Note {
                time: ctx.step_time(step),
                duration: ctx.steps_duration(step, len) * 0.92,
                pitch,
                velocity: (0.85 * accent + 0.1 * rng.f32()).min(1.0),
                voice: 0,
                step,
            });
            step += len;
        }

        Ok(Part {
            track: TrackType::Bass,
            style: format!("{style:?}").to_lowercase(),
            notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bass_register() {
        assert_eq!(bass_pitch(7), 31); // G1
        assert_eq!(bass_pitch(9), 33); // A1
        assert_eq!(bass_pitch(4), 40); // E2
        assert_eq!(bass_pitch(6), 42); // F#2
    }
}
