//! MelodyGen: a lead line built the way songwriters build one — a one-bar motif (rhythm +
//! scale-step contour) stated, repeated over the next chord, restated and answered in
//! four-bar phrases; every note in the key's scale and chord tones on the strong beats.

use super::{GenInput, GenerateError, Note, Part, TrackGenerator};
use resonantgen_shared::TrackType;
use resonantgen_shared::rng::Rng;
use resonantgen_shared::theory::{Chord, Key};

pub struct MelodyGen;

const RHYTHMS: &[&[usize]] = &[
    &[0, 3, 6, 8, 10, 12],
    &[0, 2, 4, 7, 8, 12, 14],
    &[0, 4, 6, 8, 12],
    &[2, 4, 6, 10, 12, 14],
    &[0, 3, 6, 10, 12],
    &[0, 6, 8, 11, 12],
];
const SPARSE_RHYTHMS: &[&[usize]] = &[&[0, 8], &[0, 6, 12], &[4, 8]];

/// A motif: onset steps within the bar and scale-degree offsets from its first note.
#[derive(Debug, Clone)]
struct Motif {
    rhythm: Vec<usize>,
    contour: Vec<i32>,
}

impl Motif {
    fn new(rng: &mut Rng, sparse: bool) -> Self {
        let pool = if sparse { SPARSE_RHYTHMS } else { RHYTHMS };
        let rhythm = pool[rng.below(pool.len())].to_vec();
        let mut contour = vec![0];
        let mut d = 0i32;
        for _ in 1..rhythm.len() {
            let step = [-2, -1, -1, 1, 1, 2, 0, 3][rng.below(8)];
            d = (d + step).clamp(-3, 5);
            contour.push(d);
        }
        Motif { rhythm, contour }
    }

    /// The answer phrase: same rhythm, contour turned downward toward resolution.
    fn answer(&self) -> Self {
        let n = self.contour.len() as i32;
        Motif {
            rhythm: self.rhythm.clone(),
            contour: self
                .contour
                .iter()
                .enumerate()
                .map(|(i, c)| c / 2 - (i as i32 * 3) / n)
                .collect(),
        }
    }
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

/// Moves `pitch` into the key's scale.
fn snap_to_scale(pitch: i32, key: &Key) -> i32 {
    for delta in [0, -1, 1] {
        let p = pitch + delta;
        if key.contains(p.rem_euclid(12) as u8) {
            return p;
        }
    }
    pitch
}

/// Up-and-down 16th-note arpeggio over each bar's chord, two octaves up from the tonic.
fn arpeggiate(ctx: &resonantgen_shared::GenerationContext, tonic: i32) -> Vec<Note> {
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
                velocity: if step % 4 == 0 { 0.85 } else { 0.65 },
                voice: 0,
                step,
            }
        })
        .collect()
}

impl TrackGenerator for MelodyGen {
    fn track(&self) -> &'static str {
        "melody"
    }

    fn generate(&self, input: &GenInput<'_>, rng: &mut Rng) -> Result<Part, GenerateError> {
        let ctx = input.ctx;
        let key = ctx.key;
        let step_s = ctx.seconds_per_step();
        let tonic = 60 + i32::from(key.tonic);
        let tonic = if tonic > 66 { tonic - 12 } else { tonic };
        let sparse = ctx.energy < 0.35;
        let mut notes = Vec::new();
        let mut motif = Motif::new(rng, sparse);
        let total_steps = ctx.total_steps();

        let track = TrackType::parse("melody").map_err(|e| GenerateError::Model {
            track: "melody",
            message: e.to_string(),
        })?;
        if input
            .intent
            .tracks
            .get(&track)
            .is_some_and(|t| t.pattern == "arpeggio")
        {
            return Ok(Part {
                track,
                style: format!("{:?}", input.intent.lead_style).to_lowercase(),
                notes: arpeggiate(ctx, tonic),
            });
        }
        for bar in 0..ctx.bars as usize {
            let phrase_bar = bar % 4;
            if bar % 8 == 0 && bar > 0 {
                motif = Motif::new(rng, sparse); // a new idea every 8 bars
            }
            let m = if phrase_bar == 3 {
                motif.answer()
            } else {
                motif.clone()
            };
            let chord = ctx.chords[bar];
            // Start each statement on the chord's root degree, so the motif follows the harmony.
            let start_degree = i32::from(chord.degree) + if phrase_bar == 2 { 2 } else { 0 };
            let start_degree = if start_degree > 5 {
                start_degree - 7
            } else {
                start_degree
            };
            // The lead waits for the drop: intro, build and outro belong to the rhythm section.
            if matches!(ctx.section_name(bar), "intro" | "build" | "outro") {
                continue;
            }
            for (i, &s) in m.rhythm.iter().enumerate() {
                let step = bar * 16 + s;
                if step >= total_steps {
                    break;
                }
                let mut pitch = key.degree_pitch(tonic + 12, start_degree + m.contour[i] - 7);
                pitch = if s % 4 == 0 {
                    snap_to_chord(pitch, &chord)
                } else {
                    snap_to_scale(pitch, &key)
                };
                while pitch < 62 {
                    pitch += 12;
                }
                while pitch > 86 {
                    pitch -= 12;
                }
                let next = m.rhythm.get(i + 1).copied().unwrap_or(16);
                let gap = (next - s) as f64;
                let last_of_phrase = phrase_bar == 3 && i + 1 == m.rhythm.len();
                let dur = if last_of_phrase {
                    gap.max(3.0)
                } else {
                    gap.min(4.0) * 0.85
                };
                notes.push(Note {
                    time: ctx.step_time(step),
                    duration: dur * step_s,
                    pitch: pitch as u8,
                    velocity: if s % 4 == 0 { 0.9 } else { 0.75 } * (0.92 + 0.08 * rng.f32()),
                    voice: 0,
                    step,
                });
            }
        }
        Ok(Part {
            track: TrackType::parse("melody").map_err(|e| GenerateError::Model {
                track: "melody",
                message: e.to_string(),
            })?,
            style: format!("{:?}", input.intent.lead_style).to_lowercase(),
            notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapping() {
        let k = Key::parse("C major").unwrap();
        let c = k.triad(0);
        assert_eq!(snap_to_chord(62, &c), 60); // D over C major moves to C
        assert_eq!(snap_to_chord(64, &c), 64);
        assert_eq!(snap_to_scale(61, &k), 60);
    }
}
