//! HarmonyGen: plans the progression with the `harmonygen` ONNX model (next bar's diatonic
//! degree from the last four chords, the bar's place in its 8-bar phrase, the mode, the genre's
//! style family and the energy), voices it in close position around middle C with voice
//! leading (each chord takes the inversion nearest the previous one), and plays it in the
//! genre's comping rhythm: sustained pads, off-beat stabs, or keys comping.
//!
//! Planning runs before any track is generated (the Context Manager's harmonic state): every
//! other generator reads the chords it chose. Locked stems that bring their own chords
//! replace the plan afterwards.

use super::{GenInput, GenerateError, Note, Part, TrackGenerator, sample};
use crate::onnx::{Device, ModelSession, OnnxError};
use crate::step_model::StepModel;
use resonantgen_shared::language::MusicalIntent;
use resonantgen_shared::language::genre::HarmonyStyle;
use resonantgen_shared::rng::Rng;
use resonantgen_shared::theory::{Chord, Mode};
use resonantgen_shared::{GenerationContext, TrackType};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Progressions want some surprise, not much.
const TEMPERATURE: f32 = 0.8;

#[derive(Debug, Clone, Deserialize)]
pub struct HarmonyManifest {
    pub modes: Vec<String>,
    pub families: Vec<String>,
    pub genre_family: BTreeMap<String, String>,
    pub history_bars: usize,
    pub phrase_bars: usize,
}

pub struct HarmonyGen {
    model: StepModel<HarmonyManifest>,
}
/// Voicing of `chord` (3 notes, plus the root an octave up for 4) closest to `prev`.
pub fn voice_lead(chord: &Chord, prev: &[u8]) -> Vec<u8> {
    let pcs = chord.pitch_classes();
    let center = if prev.is_empty() {
        60.0
    } else {
        prev.iter().map(|p| f32::from(*p)).sum::<f32>() / prev.len() as f32
    };
    let mut best: Option<(f32, Vec<u8>)> = None;
    for inversion in 0..3 {
        for base_oct in [48u8, 60] {
            let mut v: Vec<u8> = Vec::new();
            let mut last = 0u8;
            for i in 0..3 {
                let pc = pcs[(inversion + i) % 3];
                let mut p = base_oct + pc;
                while p <= last {
                    p += 12;
                }
                v.push(p);
                last = p;
            }
            let mean = v.iter().map(|p| f32::from(*p)).sum::<f32>() / 3.0;
            if !(52.0..=72.0).contains(&mean) {
                continue;
            }
            let cost = if prev.len() == 3 {
                v.iter()
                    .zip(prev)
                    .map(|(a, b)| (f32::from(*a) - f32::from(*b)).abs())
                    .sum()
            } else {
                (mean - center).abs()
            };
            if best.as_ref().is_none_or(|(c, _)| cost < *c) {
                best = Some((cost, v));
            }
        }
    }
    best.map(|(_, v)| v)
        .unwrap_or_else(|| pcs.iter().map(|pc| 60 + pc).collect())
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Major => "major",
        Mode::Minor => "minor",
        Mode::Dorian => "dorian",
        Mode::Phrygian | Mode::Locrian => "phrygian",
        Mode::Lydian => "lydian",
        Mode::Mixolydian => "mixolydian",
    }
}

impl HarmonyGen {
    pub fn load(
        env: &ort::environment::Environment,
        models_dir: &Path,
        device: Device,
    ) -> Result<Self, OnnxError> {
        let dir = models_dir.join("harmony");
        let session = ModelSession::<HarmonyManifest>::open(env, &dir, "harmonygen", device)?;
        let m = &session.manifest;
        let inputs = vec![
            ("history".to_string(), m.history_bars * 8),
            ("position".to_string(), m.phrase_bars),
            ("cond".to_string(), m.modes.len() + m.families.len() + 1),
        ];
        let model = StepModel::new("harmonygen", session, inputs, "probs", 7)?;
        Ok(HarmonyGen { model })
    }

    pub fn step_model(&self) -> &StepModel<HarmonyManifest> {
        &self.model
    }

    /// Samples `bars` chords (diatonic degrees) as one phrase.
    fn phrase(
        &self,
        ctx: &GenerationContext,
        bars: usize,
        energy: f32,
        rng: &mut Rng,
    ) -> Result<Vec<usize>, GenerateError> {
        let m = self.model.manifest();
        let flag = |b: bool| f32::from(u8::from(b));
        let mode = mode_name(ctx.key.mode);
        let mode_row = m.modes.iter().position(|x| x == mode);
        let family = m.genre_family.get(&ctx.genre);
        let family_row = family.and_then(|f| m.families.iter().position(|x| x == f));
        let mut degrees: Vec<usize> = Vec::with_capacity(bars);
        for bar in 0..bars {
            let mut row = Vec::with_capacity(self.model.row_width());
            for back in (1..=m.history_bars).rev() {
                let tok = bar.checked_sub(back).map_or(0, |b| degrees[b] + 1);
                row.extend((0..8).map(|i| flag(i == tok)));
            }
            row.extend((0..m.phrase_bars).map(|i| flag(i == bar % m.phrase_bars)));
            row.extend((0..m.modes.len()).map(|i| flag(Some(i) == mode_row)));
            row.extend((0..m.families.len()).map(|i| flag(Some(i) == family_row)));
            row.push(energy);
            let probs = self.model.infer(row)?;
            // A phrase opens on the tonic: the key must be heard first.
            let d = if bar == 0 {
                0
            } else {
                sample(&probs, TEMPERATURE, rng, |_| true)
            };
            degrees.push(d);
        }
        Ok(degrees)
    }

    /// The Context Manager's harmonic plan: an 8-bar phrase for the body of the track and a
    /// contrasting one for breakdowns, each restarting at its section's first bar.
    pub fn plan_progression(
        &self,
        ctx: &mut GenerationContext,
        rng: &mut Rng,
    ) -> Result<(), GenerateError> {
        let phrase_bars = self.model.manifest().phrase_bars.max(1);
        let _active = self.model.enter();
        let main = self.phrase(ctx, phrase_bars, ctx.energy, rng)?;
        let calm = self.phrase(ctx, phrase_bars, (ctx.energy * 0.6).min(1.0), rng)?;
        let key = ctx.key;
        let chords: Vec<Chord> = (0..ctx.bars as usize)
            .map(|bar| {
                let (start, breakdown) = ctx.section_at(bar).map_or((0, false), |s| {
                    (s.start_bar as usize, s.name == "breakdown")
                });
                let phrase = if breakdown { &calm } else { &main };
                key.triad(phrase[(bar - start) % phrase.len()])
            })
            .collect();
        ctx.chord_symbols = chords.iter().map(|c| c.symbol(&key)).collect();
        ctx.chords = chords;
        Ok(())
    }
}

impl TrackGenerator for HarmonyGen {
    fn track(&self) -> TrackType {
        TrackType::Harmony
    }

    fn model(&self) -> Option<(&'static str, String)> {
        Some(("harmonygen", self.model.sha256().to_string()))
    }

    fn set_batching(&mut self, on: bool) {
        self.model.set_batching(on);
    }

    fn step_stats(&self) -> Option<(u64, u64, f64)> {
        Some(self.model.stats())
    }

    fn plan(
        &self,
        ctx: &mut GenerationContext,
        _intent: &MusicalIntent,
        rng: &mut Rng,
    ) -> Result<(), GenerateError> {
        self.plan_progression(ctx, rng)
    }

    fn generate(&self, input: &GenInput<'_>, rng: &mut Rng) -> Result<Part, GenerateError> {
        let ctx = input.ctx;
        let style = input.intent.harmony_style;
        let step_s = ctx.seconds_per_step();
        let mut notes = Vec::new();
        let mut prev: Vec<u8> = Vec::new();
        for bar in 0..ctx.bars as usize {
            let chord = ctx.chords[bar];
            let voicing = voice_lead(&chord, &prev);
            let hits: Vec<(usize, f64, f32)> = match style {
                HarmonyStyle::Pad => vec![(0, 16.0, 0.7)],
                HarmonyStyle::Stabs => [2usize, 6, 10, 14]
                    .iter()
                    .filter(|_| rng.chance(0.85))
                    .map(|s| (*s, 1.0, 0.8))
                    .collect(),
                HarmonyStyle::Keys => {
                    let pattern: &[(usize, f64)] = if bar % 2 == 0 {
                        &[(0, 5.5), (6, 4.0), (10, 6.0)]
                    } else {
                        &[(0, 3.5), (3, 3.0), (8, 8.0)]
                    };
                    pattern.iter().map(|(s, d)| (*s, *d, 0.75)).collect()
                }
            };
            for (s, dur, vel) in hits {
                let step = bar * 16 + s;
                for (i, p) in voicing.iter().enumerate() {
                    notes.push(Note {
                        time: ctx.step_time(step) + i as f64 * 0.004,
                        duration: dur * step_s,
                        pitch: *p,
                        velocity: vel * (0.92 + 0.08 * rng.f32()),
                        voice: 0,
                        step,
                    });
                }
            }
            prev = voicing;
        }
        Ok(Part {
            track: TrackType::Harmony,
            style: format!("{style:?}").to_lowercase(),
            notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resonantgen_shared::theory::Key;

    #[test]
    fn voice_leading_moves_little() {
        let k = Key::parse("A minor").unwrap();
        let mut prev = Vec::new();
        for d in [0usize, 5, 2, 6, 0] {
            let v = voice_lead(&k.triad(d), &prev);
            assert_eq!(v.len(), 3);
            if !prev.is_empty() {
                let moved: i32 = v
                    .iter()
                    .zip(&prev)
                    .map(|(a, b)| (*a as i32 - *b as i32).abs())
                    .sum();
                assert!(moved <= 7, "{prev:?} -> {v:?}");
            }
            for p in &v {
                assert!(k.triad(d).pitch_classes().contains(&(p % 12)));
            }
            prev = v;
        }
    }
}
