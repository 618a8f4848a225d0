//! The rhythmic state of the context: the groove the parts lock to — which 16th steps the
//! kick and the backbeat hit over the whole piece. Generated drums write it as they are
//! generated; a locked drum stem brings it (its exact notes, or the strong steps of its
//! measured [`GrooveProfile`](crate::analysis::GrooveProfile)); otherwise the genre's basic
//! grid stands in, so the bass always has a pulse to follow.

use super::GenerationContext;
use crate::language::MusicalIntent;
use crate::language::genre::BassStyle;

/// Kick and backbeat per 16th step of the piece.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Groove {
    pub kick: Vec<bool>,
    pub snare: Vec<bool>,
}

impl Groove {
    /// The groove of drums whose notes are known as (16th step, GM pitch): kicks (35, 36)
    /// and backbeats (snare 38/40, clap 39, rim 37), tiled bar by bar (`steps_per_bar`
    /// long) over `total` steps.
    pub fn from_notes(notes: &[(usize, u8)], total: usize, steps_per_bar: usize) -> Self {
        let span = notes.iter().map(|(s, _)| s + 1).max().unwrap_or(0);
        let spb = steps_per_bar.max(1);
        let bars = span.div_ceil(spb).max(1);
        let mut kick = vec![false; bars * spb];
        let mut snare = vec![false; bars * spb];
        for &(step, pitch) in notes {
            match pitch {
                35 | 36 => kick[step] = true,
                37..=40 => snare[step] = true,
                _ => {}
            }
        }
        let period = bars * spb;
        Groove {
            kick: (0..total).map(|s| kick[s % period]).collect(),
            snare: (0..total).map(|s| snare[s % period]).collect(),
        }
    }

    /// Used when the drums are not generated here (locked or excluded) and brought no
    /// groove: the genre's basic kick grid in the piece's meter — every felt beat for
    /// four-on-the-floor styles, else the strong beats (and the "and" of 3 in 4/4) — with the
    /// backbeat on the others.
    pub fn default_for(ctx: &GenerationContext, intent: &MusicalIntent) -> Self {
        let total = ctx.total_steps();
        let meter = ctx.meter;
        let spb = meter.steps_per_bar();
        let four = intent.bass_style == BassStyle::Offbeat;
        let common = meter == crate::meter::Meter::FourFour;
        Groove {
            kick: (0..total)
                .map(|s| {
                    let s = s % spb;
                    if four {
                        meter.is_beat(s)
                    } else {
                        meter.is_strong(s) && !(common && s == 8) || (common && s == 10)
                    }
                })
                .collect(),
            snare: (0..total).map(|s| meter.is_backbeat(s % spb)).collect(),
        }
    }
}
