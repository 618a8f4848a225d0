//! MelodyGen: a lead line sampled step by step from the `melodygen` ONNX model, which learned
//! from real melodies (folk tunes and chorale sopranos of the music21 corpus) how a tune moves
//! over its chords. The model reads the line so far, the note two bars back (so motifs come
//! back), the step, the chord, the scale, the density and the place in the phrase. The
//! generator adds the songwriter's structure: every second four-bar phrase restates the one
//! before it, moved diatonically onto its chords, and answers it with a new last bar; every
//! note stays in the key's scale and the strong beats land on chord tones. The genre's
//! phrasing shapes the line: riffs (rock, metal, funk, blues) come back every second bar,
//! singable leads (ballads, soul, folk, orchestral) tie their off-beat sixteenths into longer
//! notes, bebop lines (jazz) approach on-beat notes chromatically from below; low leads
//! (tenor sax, trombone, cello, horn) sit an octave down.
//! Arpeggiated leads (the intent's "arpeggio" pattern) are an instrument idiom, not a tune,
//! and are played straight from the chords.

use super::{GenInput, GenerateError, Note, Part, TrackGenerator, sample};
use crate::onnx::{Device, ModelSession, OnnxError};
use crate::step_model::StepModel;
use resonantgen_core::TrackType;
use resonantgen_core::arrangement::SectionKind;
use resonantgen_core::instrument::Instrument;
use resonantgen_core::language::genre::Phrasing;
use resonantgen_core::rng::Rng;
use resonantgen_core::theory::{Chord, Key};
use serde::Deserialize;
use std::path::Path;

const REST: usize = 0;
const HOLD: usize = 1;
const TEMPERATURE: f32 = 0.85;

#[derive(Debug, Clone, Deserialize)]
pub struct MelodyManifest {
    pub vocab_size: usize,
    pub history_steps: usize,
    pub steps_per_bar: usize,
    pub pitch_range_semitones: usize,
}

pub struct MelodyGen {
    model: StepModel<MelodyManifest>,
}

/// Moves `k` (semitones above the tonic) by `steps` scale degrees, staying in the scale.
fn shift_diatonic(k: i32, steps: i32, key: &Key) -> i32 {
    let iv = key.mode.intervals();
    let oct = k.div_euclid(12);
    let pc = k.rem_euclid(12);
    // the scale degree at or just below the pitch
    let d = iv.iter().rposition(|i| i32::from(*i) <= pc).unwrap_or(0) as i32;
    key.degree_pitch(12 * oct, d + steps)
}

/// Moves `pitch` to the nearest chord tone (strong beats).
fn snap_to_chord(pitch: i32, chord: &Chord) -> i32 {
    let pcs = chord.pitch_classes();
    for delta in [0, -1, 1, -2, 2, -3, 3, -4, 4] {
        let p = pitch + delta;
        if pcs.contains(&(p.rem_euclid(12) as u8)) {
            return p;
        }
    }
    pitch
}

/// Up-and-down 16th-note arpeggio over each bar's chord, two octaves up from the tonic.
fn arpeggiate(ctx: &resonantgen_core::GenerationContext, tonic: i32) -> Vec<Note> {
    let step_s = ctx.seconds_per_step();
    (0..ctx.total_steps())
        .map(|step| {
            let chord = ctx.chord_at_step(step);
            let mut tones: Vec<i32> = (0..2)
                .flat_map(|octave| {
                    chord.intervals().map(|i| {
                        let mut p = i32::from(chord.root) + i32::from(i) + 12 * octave;
                        while p < tonic {
                            p += 12;
                        }
                        p
                    })
                })
                .collect();
            tones.sort_unstable();
            // up then down without repeating the ends: 0 1 2 3 4 5 4 3 2 1
            let n = tones.len();
            let cycle = 2 * n - 2;
            let k = step % cycle;
            let idx = if k < n { k } else { cycle - k };
            Note {
                time: ctx.step_time(step),
                duration: step_s * 0.8,
                pitch: tones[idx].clamp(60, 88) as u8,
                velocity: if ctx.meter.is_beat(step % ctx.steps_per_bar()) {
                    0.85
                } else {
                    0.65
                },
                voice: 0,
                step,
            }
        })
        .collect()
}

impl MelodyGen {
    pub fn load(
        env: &ort::environment::Environment,
        models_dir: &Path,
        device: Device,
    ) -> Result<Self, OnnxError> {
        let dir = models_dir.join("melody");
        let session = ModelSession::<MelodyManifest>::open(env, &dir, "melodygen", device)?;
        let m = &session.manifest;
        let v = m.vocab_size;
        let inputs = vec![
            ("history".to_string(), m.history_steps * v),
            ("two_bars_ago".to_string(), v),
            ("position".to_string(), m.steps_per_bar),
            ("chord".to_string(), 24),
            ("cond".to_string(), 14),
        ];
        let model = StepModel::new("melodygen", session, inputs, "probs", v)?;
        Ok(MelodyGen { model })
    }

    pub fn step_model(&self) -> &StepModel<MelodyManifest> {
        &self.model
    }
}

impl TrackGenerator for MelodyGen {
    fn track(&self) -> TrackType {
        TrackType::Melody
    }

    fn model(&self) -> Option<(&'static str, String)> {
        Some(("melodygen", self.model.sha256().to_string()))
    }

    fn set_batching(&mut self, on: bool) {
        self.model.set_batching(on);
    }

    fn step_stats(&self) -> Option<(u64, u64, f64)> {
        Some(self.model.stats())
    }

    fn generate(&self, input: &GenInput<'_>, rng: &mut Rng) -> Result<Part, GenerateError> {
        let ctx = input.ctx;
        let key = ctx.key;
        let track = TrackType::Melody;
        let style = format!("{:?}", input.intent.lead_style).to_lowercase();
        // The tonic the token range starts from: G3..F#4, so tunes sit around C5.
        let tonic = i32::from(key.tonic);
        let base = if tonic <= 6 { 60 + tonic } else { 48 + tonic };
        // Low leads (tenor sax, trombone, cello, horn) play an octave down, where they sing.
        let base = base - 12 * i32::from(low_lead(input.intent.instrument(track)));
        if input
            .intent
            .tracks
            .get(&track)
            .is_some_and(|t| t.pattern == "arpeggio")
        {
            return Ok(Part {
                track,
                style,
                notes: arpeggiate(ctx, base),
            });
        }

        let m = self.model.manifest();
        let vocab = m.vocab_size;
        let range = m.pitch_range_semitones as i32;
        let flag = |b: bool| f32::from(u8::from(b));
        // The model learned major and minor tunes: modes are conditioned on their parent
        // (dorian, phrygian → minor; lydian, mixolydian → major) and the sampling mask keeps
        // the notes in the real mode.
        let parent: [i32; 7] = if key.mode.is_minor() {
            [0, 2, 3, 5, 7, 8, 10]
        } else {
            [0, 2, 4, 5, 7, 9, 11]
        };
        let scale_mask: Vec<f32> = (0..12).map(|pc| flag(parent.contains(&pc))).collect();
        let density = (0.25 + 0.5 * ctx.energy).clamp(0.0, 1.0);
        let total = ctx.total_steps();
        let mut tokens: Vec<usize> = Vec::with_capacity(total);
        let _active = self.model.enter();
        // The model learned 16-step bars: another meter shows it the 4/4 step that plays the
        // same part in the bar (`Meter::common_position`); strong beats are the meter's.
        let meter = ctx.meter;
        let spb = ctx.steps_per_bar();

        for bar in 0..ctx.bars as usize {
            let name = ctx.section_name(bar);
            // An electronic lead waits for the drop: intro, build and outro belong to the
            // rhythm section. A played tune (riff, bebop head, sung line) rests only in the
            // intro and plays on to the end.
            let hook = input.intent.phrasing == Phrasing::Hook;
            if name == SectionKind::Intro
                || (hook
                    && matches!(
                        name,
                        SectionKind::Build | SectionKind::PreChorus | SectionKind::Outro
                    ))
            {
                tokens.extend(std::iter::repeat_n(REST, spb));
                continue;
            }
            let start = ctx.section_at(bar).map_or(0, |s| s.start_bar as usize);
            let in_section = bar - start;
            let chord = ctx.chords[bar];
            // Restate the previous phrase (bars 1-3 of every second phrase), moved onto the
            // new chords; its last bar is left to the model: the answer. A riff genre restates
            // every bar's riff in the bar after it.
            let riff = input.intent.phrasing == Phrasing::Riff;
            let echo = if riff && in_section % 2 == 1 {
                Some(bar - 1)
            } else if (in_section / 4) % 2 == 1 && in_section % 4 < 3 {
                Some(bar - 4)
            } else {
                None
            };
            if let Some(from) = echo {
                let then = ctx.chords[from];
                let steps = i32::from(chord.degree) - i32::from(then.degree);
                let steps = if steps > 3 {
                    steps - 7
                } else if steps < -3 {
                    steps + 7
                } else {
                    steps
                };
                for s in 0..spb {
                    let tok = tokens[from * spb + s];
                    tokens.push(if tok >= 2 {
                        let mut k = shift_diatonic(tok as i32 - 2, steps, &key);
                        if meter.is_strong(s) {
                            k = snap_to_chord(k + tonic, &chord) - tonic;
                        }
                        while k < 0 {
                            k += 12;
                        }
                        while k > range {
                            k -= 12;
                        }
                        k as usize + 2
                    } else {
                        tok
                    });
                }
                continue;
            }
            let root = (i32::from(chord.root) - tonic).rem_euclid(12);
            let tones: Vec<i32> = chord
                .pitch_classes()
                .iter()
                .map(|pc| (i32::from(*pc) - tonic).rem_euclid(12))
                .collect();
            // The tune starts with its section: before it the model sees no tokens at all (as
            // at the start of every training tune), not a wall of rests.
            let first = start * spb;
            for s in 0..spb {
                let step = bar * spb + s;
                let mut row = Vec::with_capacity(self.model.row_width());
                for back in (1..=m.history_steps).rev() {
                    let tok = step
                        .checked_sub(back)
                        .and_then(|i| (i >= first).then(|| tokens[i]));
                    row.extend((0..vocab).map(|v| flag(tok == Some(v))));
                }
                let two = step
                    .checked_sub(2 * spb)
                    .and_then(|i| (i >= first).then(|| tokens[i]));
                row.extend((0..vocab).map(|v| flag(two == Some(v))));
                let position = meter.common_position(s);
                row.extend((0..16).map(|i| flag(i == position)));
                row.extend((0..12).map(|pc| flag(pc == root)));
                row.extend((0..12).map(|pc| flag(tones.contains(&pc))));
                row.extend_from_slice(&scale_mask);
                row.push(density);
                row.push((in_section % 4) as f32 / 3.0);
                let probs = self.model.infer(row)?;
                let prev = tokens.last().copied().unwrap_or(REST);
                let strong = meter.is_strong(s);
                let tok = sample(&probs, TEMPERATURE, rng, |t| match t {
                    REST => true,
                    HOLD => prev != REST,
                    t => {
                        let k = t as i32 - 2;
                        let pc = (tonic + k).rem_euclid(12) as u8;
                        chord.admits(&key, pc) && (!strong || tones.contains(&k.rem_euclid(12)))
                    }
                });
                tokens.push(tok);
            }
        }
        phrase(
            &mut tokens,
            input.intent.phrasing,
            &key,
            tonic,
            range,
            |i| meter.is_beat(i % spb),
        );

        let mut notes = Vec::new();
        let mut step = 0;
        while step < total {
            let tok = tokens[step];
            if tok < 2 {
                step += 1;
                continue;
            }
            let mut len = 1;
            while step + len < total && tokens[step + len] == HOLD {
                len += 1;
            }
            let in_bar = step % spb;
            let accent = if meter.is_strong(in_bar) {
                0.92
            } else if meter.is_beat(in_bar) {
                0.84
            } else {
                0.74
            };
            notes.push(Note {
                time: ctx.step_time(step),
                duration: ctx.steps_duration(step, len) * 0.9,
                pitch: (base + tok as i32 - 2).clamp(0, 127) as u8,
                velocity: accent * (0.92 + 0.08 * rng.f32()),
                voice: 0,
                step,
            });
            step += len;
        }
        Ok(Part {
            track,
            style,
            notes,
        })
    }
}

/// Leads that sit an octave below the others.
fn low_lead(instrument: Instrument) -> bool {
    matches!(
        instrument,
        Instrument::TenorSax | Instrument::Trombone | Instrument::Cello | Instrument::FrenchHorn
    )
}

/// The genre's phrasing over the sampled line: singable leads tie their off-beat sixteenths
/// into the note before (longer, breathing notes); bebop lines approach each on-beat chord
/// tone from a semitone below, on the sixteenth before it.
fn phrase(
    tokens: &mut [usize],
    phrasing: Phrasing,
    key: &Key,
    tonic: i32,
    range: i32,
    on_beat: impl Fn(usize) -> bool,
) {
    match phrasing {
        Phrasing::Singable => {
            for i in 1..tokens.len() {
                if i % 2 == 1 && tokens[i] >= 2 && tokens[i - 1] != REST {
                    tokens[i] = HOLD;
                }
            }
        }
        Phrasing::Bebop => {
            for i in 2..tokens.len() {
                let target = tokens[i];
                if !on_beat(i) || target < 3 {
                    continue;
                }
                // only where the sixteenth before is a held or silent one
                if tokens[i - 1] != HOLD && tokens[i - 1] != REST {
                    continue;
                }
                let k = target as i32 - 2 - 1;
                let pc = (tonic + k).rem_euclid(12) as u8;
                if k >= 0 && k <= range && !key.contains(pc) {
                    tokens[i - 1] = k as usize + 2;
                }
            }
        }
        Phrasing::Hook | Phrasing::Riff => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapping_and_diatonic_shifts() {
        let k = Key::parse("C major").unwrap();
        let c = k.triad(0);
        assert_eq!(snap_to_chord(62, &c), 60); // D over C major moves to C
        assert_eq!(snap_to_chord(64, &c), 64);
        assert_eq!(shift_diatonic(4, 1, &k), 5); // E -> F
        assert_eq!(shift_diatonic(11, 1, &k), 12); // B -> C
        assert_eq!(shift_diatonic(0, -1, &k), -1); // C -> B below
        let a = Key::parse("A minor").unwrap();
        assert_eq!(shift_diatonic(3, 2, &a), 7); // C -> E in A minor (semitones above A)
    }
}
