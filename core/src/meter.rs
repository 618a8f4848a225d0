//! Meter: the time signature a piece is generated, rendered and reported in. One closed set —
//! 4/4, 3/4, 5/4, 6/8, 7/8, 12/8 — because every generator has to know how a drummer, a
//! bassist and a comping player move through each one; a time signature outside it is refused
//! at submission rather than rendered in another.
//!
//! The grid is always 16th notes and the tempo always counts quarter notes (as a DAW's and a
//! MIDI file's does), so stems drop onto a DAW grid at the stated bpm whatever the meter: a
//! 6/8 bar at 120 bpm is three quarter notes long, 1.5 s. What changes per meter is the bar's
//! length in 16ths and its felt beats — the pulses a player counts and accents: four quarters
//! in 4/4, two dotted quarters in 6/8, 2+2+3 eighths in 7/8, 3+2 quarters in 5/4.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A supported time signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Meter {
    #[default]
    #[serde(rename = "4/4")]
    FourFour,
    #[serde(rename = "3/4")]
    ThreeFour,
    #[serde(rename = "5/4")]
    FiveFour,
    #[serde(rename = "6/8")]
    SixEight,
    #[serde(rename = "7/8")]
    SevenEight,
    #[serde(rename = "12/8")]
    TwelveEight,
}

/// A time signature that cannot be read or is not one of [`Meter::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MeterError {
    #[error("time_signature: cannot read '{0}': write it as 3/4, 6/8, 7/8…")]
    Unreadable(String),
    #[error(
        "time_signature: {0} is not supported; supported: 4/4, 3/4, 5/4, 6/8, 7/8, 12/8 \
         (the tempo counts quarter notes in every one)"
    )]
    Unsupported(String),
}

impl Meter {
    pub const ALL: [Meter; 6] = [
        Meter::FourFour,
        Meter::ThreeFour,
        Meter::FiveFour,
        Meter::SixEight,
        Meter::SevenEight,
        Meter::TwelveEight,
    ];

    /// The longest bar in 16th steps (12/8): the width of a model's position input.
    pub const MAX_STEPS_PER_BAR: usize = 24;

    /// Reads "3/4", "6/8", " 12 / 8 ".
    pub fn parse(text: &str) -> Result<Meter, MeterError> {
        // the message quotes the text: a bounded piece of it
        let unreadable = || MeterError::Unreadable(text.chars().take(16).collect());
        let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let Some((a, b)) = t.split_once('/') else {
            return Err(unreadable());
        };
        let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>()) else {
            return Err(unreadable());
        };
        Meter::from_fraction(a, b).ok_or_else(|| MeterError::Unsupported(format!("{a}/{b}")))
    }

    pub fn from_fraction(numerator: u32, denominator: u32) -> Option<Meter> {
        Meter::ALL
            .into_iter()
            .find(|m| m.numerator() == numerator && m.denominator() == denominator)
    }

    pub fn numerator(self) -> u32 {
        match self {
            Meter::FourFour => 4,
            Meter::ThreeFour => 3,
            Meter::FiveFour => 5,
            Meter::SixEight => 6,
            Meter::SevenEight => 7,
            Meter::TwelveEight => 12,
        }
    }

    pub fn denominator(self) -> u32 {
        match self {
            Meter::FourFour | Meter::ThreeFour | Meter::FiveFour => 4,
            Meter::SixEight | Meter::SevenEight | Meter::TwelveEight => 8,
        }
    }

    /// The bar's length in 16th steps.
    pub fn steps_per_bar(self) -> usize {
        self.numerator() as usize * 16 / self.denominator() as usize
    }

    /// The bar's length in quarter notes (what the tempo counts).
    pub fn quarter_notes(self) -> f64 {
        self.steps_per_bar() as f64 / 4.0
    }

    /// The bar's length in seconds at `tempo_bpm` (quarter notes).
    pub fn bar_seconds(self, tempo_bpm: f64) -> f64 {
        60.0 / tempo_bpm * self.quarter_notes()
    }

    /// A compound meter: its felt beats are dotted quarters of three eighths (a triplet feel
    /// is the meter itself, so nothing is swung on top of it).
    pub fn is_compound(self) -> bool {
        matches!(self, Meter::SixEight | Meter::TwelveEight)
    }

    /// The felt beats: the 16th step where each pulse a player counts begins.
    pub fn beats(self) -> &'static [usize] {
        match self {
            Meter::FourFour => &[0, 4, 8, 12],
            Meter::ThreeFour => &[0, 4, 8],
            Meter::FiveFour => &[0, 4, 8, 12, 16],
            Meter::SixEight => &[0, 6],
            Meter::SevenEight => &[0, 4, 8],
            Meter::TwelveEight => &[0, 6, 12, 18],
        }
    }

    /// The strong beats: the downbeat and where a bar's second half or group begins (beat 3
    /// of 4/4, the "2" of 3+2 in 5/4, the third dotted quarter of 12/8, the 3 of 2+2+3).
    pub fn strong_beats(self) -> &'static [usize] {
        match self {
            Meter::FourFour => &[0, 8],
            Meter::ThreeFour | Meter::SixEight => &[0],
            Meter::FiveFour | Meter::TwelveEight => &[0, 12],
            Meter::SevenEight => &[0, 8],
        }
    }

    /// The step a felt beat starts on.
    pub fn is_beat(self, step_in_bar: usize) -> bool {
        self.beats().contains(&step_in_bar)
    }

    pub fn is_strong(self, step_in_bar: usize) -> bool {
        self.strong_beats().contains(&step_in_bar)
    }

    /// The backbeat: felt beats other than the downbeat and the other strong beats (2 and 4
    /// of 4/4, 2 and 3 of a waltz, the second dotted quarter of 6/8).
    pub fn is_backbeat(self, step_in_bar: usize) -> bool {
        self.is_beat(step_in_bar) && !self.is_strong(step_in_bar)
    }

    /// Metric weight of a step: 1 on the downbeat, 0.95 on other strong beats, 0.9 on felt
    /// beats, 0.78 on the eighths between them, 0.62 on the 16ths.
    pub fn accent(self, step_in_bar: usize) -> f32 {
        let s = step_in_bar % self.steps_per_bar();
        if s == 0 {
            1.0
        } else if self.is_strong(s) {
            0.95
        } else if self.is_beat(s) {
            0.9
        } else if s.is_multiple_of(2) {
            0.78
        } else {
            0.62
        }
    }

    /// The felt beat a step falls in: (its index, its start step, its length in steps).
    pub fn beat_of(self, step_in_bar: usize) -> (usize, usize, usize) {
        let beats = self.beats();
        let s = step_in_bar % self.steps_per_bar();
        let i = beats.iter().rposition(|b| *b <= s).unwrap_or(0);
        let end = beats.get(i + 1).copied().unwrap_or(self.steps_per_bar());
        (i, beats[i], end - beats[i])
    }

    /// The step of a 4/4 bar that plays the same part in the bar as `step_in_bar` does here,
    /// for step models that learned 16-step bars (bass, lead): the downbeat stays the
    /// downbeat, the last beat becomes beat 4 (pickups into the next bar), another strong
    /// beat becomes beat 3 and any other beat beat 2; within a beat the 16ths keep their
    /// place, a dotted-quarter's three eighths falling on the beat, its "and" and its "a".
    pub fn common_position(self, step_in_bar: usize) -> usize {
        if self == Meter::FourFour {
            return step_in_bar % 16;
        }
        let (i, start, len) = self.beat_of(step_in_bar);
        let beats = self.beats().len();
        let beat = if i == 0 {
            0
        } else if i + 1 == beats {
            3
        } else if self.is_strong(start) {
            2
        } else {
            1
        };
        let offset = step_in_bar % self.steps_per_bar() - start;
        let within = if len == 6 {
            [0, 1, 2, 2, 3, 3][offset]
        } else {
            offset.min(3)
        };
        beat * 4 + within
    }
}

impl fmt::Display for Meter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.numerator(), self.denominator())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_supported_and_names_the_rest() {
        assert_eq!(Meter::parse("3/4"), Ok(Meter::ThreeFour));
        assert_eq!(Meter::parse(" 12 / 8 "), Ok(Meter::TwelveEight));
        assert_eq!(
            Meter::parse("11/8"),
            Err(MeterError::Unsupported("11/8".into()))
        );
        assert!(matches!(
            Meter::parse("waltz"),
            Err(MeterError::Unreadable(_))
        ));
        assert!(
            Meter::parse("9/8")
                .unwrap_err()
                .to_string()
                .contains("time_signature")
        );
        for m in Meter::ALL {
            assert_eq!(Meter::parse(&m.to_string()), Ok(m));
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{m}\""));
        }
    }

    #[test]
    fn bars_and_beats_per_meter() {
        let steps: Vec<usize> = Meter::ALL.iter().map(|m| m.steps_per_bar()).collect();
        assert_eq!(steps, [16, 12, 20, 12, 14, 24]);
        assert_eq!(Meter::SixEight.bar_seconds(120.0), 1.5);
        assert_eq!(Meter::SevenEight.beat_of(10), (2, 8, 6));
        for m in Meter::ALL {
            assert!(m.beats().iter().all(|b| *b < m.steps_per_bar()));
            assert!(m.strong_beats().iter().all(|b| m.is_beat(*b)));
            assert_eq!(m.accent(0), 1.0);
        }
    }

    #[test]
    fn common_positions_keep_the_downbeat_and_the_pickup() {
        for m in Meter::ALL {
            let spb = m.steps_per_bar();
            assert_eq!(m.common_position(0), 0);
            let last = *m.beats().last().unwrap();
            assert_eq!(m.common_position(last), 12, "{m}");
            assert!((0..spb).all(|s| m.common_position(s) < 16));
        }
        assert_eq!(Meter::SixEight.common_position(2), 2);
        assert_eq!(Meter::SixEight.common_position(4), 3);
        assert!(Meter::SixEight.is_backbeat(6) && Meter::ThreeFour.is_backbeat(8));
        assert_eq!(Meter::FiveFour.common_position(12), 8);
        assert_eq!(Meter::ThreeFour.common_position(6), 6);
    }
}
