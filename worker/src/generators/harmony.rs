//! HarmonyGen: the context's chord progression, voiced in close position around middle C
//! with voice leading (each chord takes the inversion nearest the previous one), played in
//! the genre's comping rhythm: sustained pads, off-beat stabs, or keys comping.

use super::{GenInput, GenerateError, Note, Part, TrackGenerator};
use resonantgen_shared::TrackType;
use resonantgen_shared::language::genre::HarmonyStyle;
use resonantgen_shared::rng::Rng;
use resonantgen_shared::theory::Chord;

pub struct HarmonyGen;

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

impl TrackGenerator for HarmonyGen {
    fn track(&self) -> &'static str {
        "harmony"
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
            track: TrackType::parse("harmony").map_err(|e| GenerateError::Model {
                track: "harmony",
                message: e.to_string(),
            })?,
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
