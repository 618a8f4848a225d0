//! BassGen: a chord-aware bass line locked to the drums' groove (the seed's GrooveLock): it
//! plays the bar's chord root (and fifths/octaves) in the rhythm the genre's idiom takes from
//! the kick — off-beats between four-on-the-floor kicks, notes on the kicks, rolling 16ths,
//! long 808s, or disco octaves.

use super::{GenInput, GenerateError, Note, Part, TrackGenerator};
use resonantgen_shared::TrackType;
use resonantgen_shared::language::genre::BassStyle;
use resonantgen_shared::rng::Rng;

pub struct BassGen;

/// MIDI pitch of a pitch class in the bass register E1..D#2.
pub fn bass_pitch(pc: u8) -> u8 {
    28 + (pc + 12 - 4) % 12
}

/// A walking line: the root on beat 1, chord tones on 2 and 3, and on 4 a chromatic approach
/// to the next bar's root.
fn walking_pitch(ctx: &resonantgen_shared::GenerationContext, step: usize, root: u8) -> u8 {
    let beat = (step % 16) / 4;
    let tones = ctx.chord_at_step(step).intervals();
    match beat {
        0 => root,
        1 => root + tones[1],
        2 => root + tones[2],
        _ => {
            let next = bass_pitch(ctx.chord_at_step(step + 4).root);
            if next > root { next - 1 } else { next + 1 }
        }
    }
}

impl TrackGenerator for BassGen {
    fn track(&self) -> &'static str {
        "bass"
    }

    fn generate(&self, input: &GenInput<'_>, rng: &mut Rng) -> Result<Part, GenerateError> {
        let ctx = input.ctx;
        let style = input.intent.bass_style;
        let total = ctx.total_steps();
        let kick = &input.groove.kick;
        let step_s = ctx.seconds_per_step();
        let mut onsets: Vec<(usize, u8, f32)> = Vec::new(); // (step, pitch, velocity)

        for step in 0..total {
            let chord = ctx.chord_at_step(step);
            let root = bass_pitch(chord.root);
            let fifth = root + 7;
            let in_bar = step % 16;
            let kick_here = kick.get(step).copied().unwrap_or(false);
            // The bass enters after the intro and rests through the breakdown.
            if matches!(ctx.section_name(step / 16), "intro" | "breakdown") {
                continue;
            }
            match style {
                BassStyle::Offbeat => {
                    if in_bar % 4 == 2 {
                        let p = if in_bar == 14 && rng.chance(0.3) {
                            root + 12
                        } else {
                            root
                        };
                        onsets.push((step, p, 0.9));
                    }
                }
                BassStyle::Rolling => {
                    if !kick_here {
                        let p = if in_bar % 4 == 3 && rng.chance(0.25) {
                            root + 12
                        } else {
                            root
                        };
                        onsets.push((step, p, if in_bar % 2 == 0 { 0.85 } else { 0.7 }));
                    }
                }
                BassStyle::Sub808 | BassStyle::KickLocked => {
                    if kick_here {
                        onsets.push((step, root, 0.95));
                    } else if style == BassStyle::KickLocked
                        && in_bar == 14
                        && !kick.get(step + 1).copied().unwrap_or(false)
                        && rng.chance(0.5)
                    {
                        onsets.push((step, fifth, 0.75));
                    }
                }
                BassStyle::Walking => {
                    if in_bar % 4 == 0 {
                        let v = if in_bar == 0 { 0.9 } else { 0.75 };
                        onsets.push((step, walking_pitch(ctx, step, root), v));
                    }
                }
                BassStyle::Octave => {
                    if in_bar % 2 == 0 {
                        let p = if (in_bar / 2) % 2 == 1 {
                            root + 12
                        } else {
                            root
                        };
                        onsets.push((step, p, if in_bar % 4 == 0 { 0.95 } else { 0.8 }));
                    }
                }
            }
        }

        let max_steps = match style {
            BassStyle::Sub808 => 8.0,
            BassStyle::KickLocked => 4.0,
            BassStyle::Offbeat => 1.6,
            BassStyle::Octave => 1.5,
            BassStyle::Rolling => 0.9,
            BassStyle::Walking => 4.0,
        };
        let notes = onsets
            .iter()
            .enumerate()
            .map(|(i, &(step, pitch, velocity))| {
                let next = onsets.get(i + 1).map(|o| o.0).unwrap_or(total);
                let gap = (next - step) as f64;
                Note {
                    time: ctx.step_time(step),
                    duration: (gap.min(max_steps) * 0.92) * step_s,
                    pitch,
                    velocity,
                    voice: 0,
                    step,
                }
            })
            .collect();

        Ok(Part {
            track: TrackType::parse("bass").map_err(|e| GenerateError::Model {
                track: "bass",
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

    #[test]
    fn bass_register() {
        assert_eq!(bass_pitch(4), 28); // E1
        assert_eq!(bass_pitch(9), 33); // A1
        assert_eq!(bass_pitch(3), 39); // D#2
    }
}
