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
    /// and backbeats (snare 38/40, clap 39, rim 37), tiled bar by bar over `total` steps.
    pub fn from_notes(notes: &[(usize, u8)], total: usize) -> Self {
        let span = notes.iter().map(|(s, _)| s + 1).max().unwrap_or(0);
        let bars = span.div_ceil(16).max(1);
        let mut kick = vec![false; bars * 16];
        let mut snare = vec![false; bars * 16];
        for &(step, pitch) in notes {
            match pitch {
                35 | 36 => kick[step] = true,
                37..=40 => snare[step] = true,
                _ => {}
            }
        }
        let period = bars * 16;
        Groove {
            kick: (0..total).map(|s| kick[s % period]).collect(),
            snare: (0..total).map(|s| snare[s % period]).collect(),
        }
    }

    /// Used when the drums are not generated here (locked or excluded) and brought no
    /// groove: the genre's basic kick grid.
    pub fn default_for(ctx: &GenerationContext, intent: &MusicalIntent) -> Self {
        let total = ctx.total_steps();
        let four = intent.bass_style == BassStyle::Offbeat;
        Groove {
            kick: (0..total)
                .map(|s| {
                    if four {
                        s % 4 == 0
                    } else {
                        s % 16 == 0 || s % 16 == 10
                    }
                })
                .collect(),
            snare: (0..total).map(|s| s % 16 == 4 || s % 16 == 12).collect(),
        }
    }
}
