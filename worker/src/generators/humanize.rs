//! The humanizer: what separates a drummer from a step sequencer. Velocity follows the metric
//! accent (downbeats strongest, 16th subdivisions softest, snare ghost notes softer still) and
//! each voice sits at its own place around the grid: the kick on it (it carries the tempo the
//! QA measures), the backbeat laid back in the genres that drag, hats loose. Swing itself is
//! part of the grid (`GenerationContext::step_time`), so it is not repeated here.

use super::drums::{CRASH, HAT_CLOSED, HAT_OPEN, KICK, PERC, RIDE, SNARE};
use resonantgen_core::meter::Meter;
use resonantgen_core::rng::Rng;

#[derive(Debug, Clone, Copy)]
pub struct Humanizer {
    /// Seconds the backbeat (snare, clap) sits behind the grid.
    laid_back: f64,
    /// Spread of the random timing of hats and percussion, in seconds.
    looseness: f64,
    /// How much velocity varies at random (0..1).
    velocity_spread: f32,
    /// Where the bar's accents and backbeats fall.
    meter: Meter,
}

impl Humanizer {
    pub fn for_genre(swing: f32, drum_style: &str, meter: Meter) -> Self {
        let dragging = matches!(drum_style, "hip_hop" | "lofi" | "jazz" | "reggae");
        let machine = matches!(
            drum_style,
            "techno" | "trance" | "hardstyle" | "house" | "trap" | "dubstep"
        );
        Humanizer {
            laid_back: if dragging { 0.012 } else { 0.0 },
            looseness: if machine {
                0.0015
            } else {
                0.004 + 0.004 * f64::from(swing)
            },
            velocity_spread: if machine { 0.08 } else { 0.18 },
            meter,
        }
    }

    /// Timing offset from the grid, in seconds.
    pub fn offset(&self, voice: u8, step_in_bar: usize, rng: &mut Rng) -> f64 {
        let jitter = f64::from(rng.bipolar());
        match voice {
            KICK => 0.0,
            SNARE | super::drums::CLAP if self.meter.is_beat(step_in_bar) => {
                self.laid_back + jitter * self.looseness * 0.5
            }
            _ => jitter * self.looseness,
        }
    }

    /// Velocity in 0.2..=1 for a hit of `voice` on `step_in_bar`.
    pub fn velocity(&self, voice: u8, step_in_bar: usize, rng: &mut Rng) -> f32 {
        let accent = self.meter.accent(step_in_bar);
        let base = match voice {
            KICK => 0.92 + 0.08 * accent,
            // Snare hits off the backbeat are ghost notes.
            SNARE if !self.meter.is_beat(step_in_bar) => 0.38,
            CRASH => 0.9,
            RIDE => 0.55 + 0.3 * accent,
            HAT_CLOSED | HAT_OPEN | PERC => accent * 0.85,
            _ => accent,
        };
        let spread = if voice == KICK {
            0.03
        } else {
            self.velocity_spread
        };
        (base * (1.0 - spread * 0.5 + spread * rng.f32())).clamp(0.2, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kick_on_grid_backbeat_laid_back_in_hip_hop() {
        let h = Humanizer::for_genre(0.35, "hip_hop", Meter::FourFour);
        let mut rng = Rng::new(1, 1);
        for _ in 0..50 {
            assert_eq!(h.offset(KICK, 0, &mut rng), 0.0);
            let s = h.offset(SNARE, 4, &mut rng);
            assert!((0.005..0.02).contains(&s), "{s}");
        }
    }

    #[test]
    fn ghost_notes_are_soft_and_downbeats_strong() {
        let h = Humanizer::for_genre(0.0, "funk", Meter::FourFour);
        let mut rng = Rng::new(2, 1);
        for _ in 0..50 {
            assert!(h.velocity(SNARE, 7, &mut rng) < 0.5);
            assert!(h.velocity(SNARE, 4, &mut rng) > 0.7);
            assert!(h.velocity(HAT_CLOSED, 0, &mut rng) > h.velocity(HAT_CLOSED, 3, &mut rng));
        }
    }
}
