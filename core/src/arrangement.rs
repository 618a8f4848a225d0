//! Arrangement: a request longer than a loop becomes sections — intro, build, drop (or
//! chorus), breakdown, outro — in four-bar phrases, each with an energy level, so a two-minute
//! track rises and falls instead of repeating one bar. The generators read the section and
//! energy of every bar from the context.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// intro, build, drop, chorus, verse, breakdown, outro, or loop.
    pub name: String,
    pub start_bar: u32,
    pub bars: u32,
    /// Energy multiplier at the section's start and end (a build ramps).
    pub energy: (f32, f32),
}

impl Section {
    fn new(name: &str, start_bar: u32, bars: u32, energy: (f32, f32)) -> Self {
        Section {
            name: name.to_string(),
            start_bar,
            bars,
            energy,
        }
    }

    pub fn contains(&self, bar: u32) -> bool {
        bar >= self.start_bar && bar < self.start_bar + self.bars
    }

    /// Energy multiplier of a bar inside this section.
    pub fn energy_at(&self, bar: u32) -> f32 {
        let t = if self.bars > 1 {
            (bar.saturating_sub(self.start_bar)) as f32 / (self.bars - 1) as f32
        } else {
            0.0
        };
        self.energy.0 + (self.energy.1 - self.energy.0) * t.clamp(0.0, 1.0)
    }
}

/// Plans the sections of `bars` bars. `song_form` names the peak "chorus" and the first part
/// "verse" (pop, rock...); `looped` asks for one seamless loop section.
pub fn plan(bars: u32, song_form: bool, looped: bool) -> Vec<Section> {
    let bars = bars.max(1);
    // Four-bar phrases for short pieces, eight-bar phrases for full-length tracks.
    let phrase = if bars >= 48 { 8 } else { 4 };
    let phrases = bars / phrase;
    let (peak, pre) = if song_form {
        ("chorus", "verse")
    } else {
        ("drop", "build")
    };
    if looped || phrases < 2 {
        return vec![Section::new("loop", 0, bars, (1.0, 1.0))];
    }
    // Phrase counts per section; the last section takes the bars left over.
    let layout: Vec<(&str, u32, (f32, f32))> = match phrases {
        2 => vec![("intro", 1, (0.6, 0.6)), (peak, 1, (1.0, 1.0))],
        3 => vec![
            ("intro", 1, (0.6, 0.6)),
            (peak, 1, (1.0, 1.0)),
            ("outro", 1, (0.55, 0.55)),
        ],
        4 => vec![
            ("intro", 1, (0.55, 0.55)),
            (pre, 1, (0.65, 0.9)),
            (peak, 1, (1.0, 1.0)),
            ("outro", 1, (0.55, 0.55)),
        ],
        n => {
            // intro, build, then drop/breakdown cycles ending on a drop, then the outro.
            let mut v = vec![("intro", 1, (0.55, 0.55)), (pre, 1, (0.65, 0.9))];
            let mut middle = n - 3;
            while middle >= 4 {
                v.push((peak, 2, (1.0, 1.0)));
                v.push(("breakdown", 1, (0.4, 0.5)));
                middle -= 3;
            }
            v.push((peak, middle, (1.0, 1.0)));
            v.push(("outro", 1, (0.55, 0.5)));
            v
        }
    };
    // Bars left over past the last whole phrase go to the last peak, not the outro: a
    // 15-bar piece is intro 4, chorus 7, outro 4, not a 7-bar outro.
    let last_peak = layout.iter().rposition(|(name, _, _)| *name == peak);
    let whole: u32 = layout.iter().map(|(_, p, _)| p * phrase).sum();
    let mut out = Vec::new();
    let mut start = 0;
    for (i, (name, p, energy)) in layout.into_iter().enumerate() {
        let mut len = p * phrase;
        if Some(i) == last_peak {
            len += bars - whole;
        }
        out.push(Section::new(name, start, len, energy));
        start += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &[Section]) -> Vec<&str> {
        s.iter().map(|x| x.name.as_str()).collect()
    }

    #[test]
    fn sections_tile_the_bars() {
        for bars in 1..200 {
            for song in [false, true] {
                let s = plan(bars, song, false);
                assert_eq!(s[0].start_bar, 0);
                for w in s.windows(2) {
                    assert_eq!(w[0].start_bar + w[0].bars, w[1].start_bar, "{bars}");
                }
                let last = s.last().unwrap();
                assert_eq!(last.start_bar + last.bars, bars, "{bars}");
                assert!(s.iter().all(|x| x.bars > 0));
            }
        }
    }

    #[test]
    fn shapes() {
        assert_eq!(names(&plan(4, false, false)), ["loop"]);
        assert_eq!(names(&plan(64, false, true)), ["loop"]);
        assert_eq!(
            names(&plan(16, false, false)),
            ["intro", "build", "drop", "outro"]
        );
        assert_eq!(
            names(&plan(64, false, false)),
            ["intro", "build", "drop", "breakdown", "drop", "outro"]
        );
        assert_eq!(
            names(&plan(32, true, false))[..3],
            ["intro", "verse", "chorus"]
        );
        // Bars past the last phrase lengthen the peak, not the outro.
        let p = plan(15, true, false);
        assert_eq!(names(&p), ["intro", "chorus", "outro"]);
        assert_eq!(p.iter().map(|s| s.bars).collect::<Vec<_>>(), [4, 7, 4]);
        let p = plan(64, false, false);
        let drop = p.iter().find(|s| s.name == "drop").unwrap();
        let breakdown = p.iter().find(|s| s.name == "breakdown").unwrap();
        assert!(drop.energy_at(drop.start_bar) > breakdown.energy_at(breakdown.start_bar));
    }
}
