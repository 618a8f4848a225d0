//! Arrangement: a request longer than a loop becomes sections — intro, build, drop (or
//! chorus), breakdown, outro — in four-bar phrases, each with an energy level, so a two-minute
//! track rises and falls instead of repeating one bar. A request may name the sections
//! itself (`form.rs` reads them). The generators read the section and energy of every bar
//! from the context, and ask its [`SectionKind`] how to play it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What a section is, and so how the parts play it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SectionKind {
    Intro,
    Verse,
    PreChorus,
    Chorus,
    Bridge,
    Build,
    Drop,
    Breakdown,
    Solo,
    Outro,
    /// One seamless loop (no arrangement).
    Loop,
}

impl SectionKind {
    pub const ALL: [SectionKind; 11] = [
        SectionKind::Intro,
        SectionKind::Verse,
        SectionKind::PreChorus,
        SectionKind::Chorus,
        SectionKind::Bridge,
        SectionKind::Build,
        SectionKind::Drop,
        SectionKind::Breakdown,
        SectionKind::Solo,
        SectionKind::Outro,
        SectionKind::Loop,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SectionKind::Intro => "intro",
            SectionKind::Verse => "verse",
            SectionKind::PreChorus => "pre-chorus",
            SectionKind::Chorus => "chorus",
            SectionKind::Bridge => "bridge",
            SectionKind::Build => "build",
            SectionKind::Drop => "drop",
            SectionKind::Breakdown => "breakdown",
            SectionKind::Solo => "solo",
            SectionKind::Outro => "outro",
            SectionKind::Loop => "loop",
        }
    }

    /// A section's name as people write it ("Pre-Chorus", "build-up", "middle 8", "hook").
    pub fn parse(word: &str) -> Option<Self> {
        let w: String = word
            .trim()
            .to_ascii_lowercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        Some(match w.as_str() {
            "intro" | "introduction" => SectionKind::Intro,
            "verse" | "verses" => SectionKind::Verse,
            "prechorus" | "prechoruses" => SectionKind::PreChorus,
            "chorus" | "choruses" | "refrain" | "hook" => SectionKind::Chorus,
            "bridge" | "bridges" | "middle8" | "middleeight" => SectionKind::Bridge,
            "build" | "builds" | "buildup" | "buildups" | "riser" => SectionKind::Build,
            "drop" | "drops" => SectionKind::Drop,
            "breakdown" | "breakdowns" | "break" => SectionKind::Breakdown,
            "solo" | "solos" => SectionKind::Solo,
            "outro" | "ending" => SectionKind::Outro,
            "loop" => SectionKind::Loop,
            _ => return None,
        })
    }

    /// Energy multiplier at the section's start and end when a request names it.
    pub fn energy(self) -> (f32, f32) {
        match self {
            SectionKind::Intro => (0.55, 0.55),
            SectionKind::Verse => (0.7, 0.8),
            SectionKind::PreChorus => (0.75, 0.95),
            SectionKind::Chorus | SectionKind::Drop | SectionKind::Loop => (1.0, 1.0),
            SectionKind::Bridge => (0.6, 0.7),
            SectionKind::Build => (0.65, 0.9),
            SectionKind::Breakdown => (0.4, 0.5),
            SectionKind::Solo => (0.95, 0.95),
            SectionKind::Outro => (0.55, 0.5),
        }
    }

    /// Bars when a prompt names the section without a length.
    pub fn default_bars(self) -> u32 {
        match self {
            SectionKind::Intro | SectionKind::Outro | SectionKind::PreChorus => 4,
            SectionKind::Drop => 16,
            _ => 8,
        }
    }

    /// The peak sections: the harmony closes them with a cadence.
    pub fn is_peak(self) -> bool {
        matches!(
            self,
            SectionKind::Drop | SectionKind::Chorus | SectionKind::Solo
        )
    }

    /// Sections that contrast with the body: the harmony takes its second, calmer phrase.
    pub fn contrasts(self) -> bool {
        matches!(self, SectionKind::Breakdown | SectionKind::Bridge)
    }

    /// Sections that lead into a peak: the drums roll in their last bar.
    pub fn leads_in(self) -> bool {
        matches!(
            self,
            SectionKind::Build | SectionKind::Verse | SectionKind::PreChorus
        )
    }

    /// Sections the bass sits out.
    pub fn bass_rests(self) -> bool {
        matches!(self, SectionKind::Intro | SectionKind::Breakdown)
    }
}

impl fmt::Display for SectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for SectionKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub name: SectionKind,
    pub start_bar: u32,
    pub bars: u32,
    /// Energy multiplier at the section's start and end (a build ramps).
    pub energy: (f32, f32),
}

impl Section {
    pub fn new(name: SectionKind, start_bar: u32, bars: u32, energy: (f32, f32)) -> Self {
        Section {
            name,
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

/// The sections a request named, laid end to end from bar 0, each with its kind's energy.
pub fn requested(form: &[(SectionKind, u32)]) -> Vec<Section> {
    let mut start = 0;
    form.iter()
        .map(|&(kind, bars)| {
            let s = Section::new(kind, start, bars, kind.energy());
            start += bars;
            s
        })
        .collect()
}

/// Plans the sections of `bars` bars. `song_form` names the peak "chorus" and the first part
/// "verse" (pop, rock...); `looped` asks for one seamless loop section.
pub fn plan(bars: u32, song_form: bool, looped: bool) -> Vec<Section> {
    let bars = bars.max(1);
    // Four-bar phrases for short pieces, eight-bar phrases for full-length tracks.
    let phrase = if bars >= 48 { 8 } else { 4 };
    let phrases = bars / phrase;
    use SectionKind::{Breakdown, Intro, Outro};
    let (peak, pre) = if song_form {
        (SectionKind::Chorus, SectionKind::Verse)
    } else {
        (SectionKind::Drop, SectionKind::Build)
    };
    if looped || phrases < 2 {
        return vec![Section::new(SectionKind::Loop, 0, bars, (1.0, 1.0))];
    }
    // Phrase counts per section; the last section takes the bars left over.
    let layout: Vec<(SectionKind, u32, (f32, f32))> = match phrases {
        2 => vec![(Intro, 1, (0.6, 0.6)), (peak, 1, (1.0, 1.0))],
        3 => vec![
            (Intro, 1, (0.6, 0.6)),
            (peak, 1, (1.0, 1.0)),
            (Outro, 1, (0.55, 0.55)),
        ],
        4 => vec![
            (Intro, 1, (0.55, 0.55)),
            (pre, 1, (0.65, 0.9)),
            (peak, 1, (1.0, 1.0)),
            (Outro, 1, (0.55, 0.55)),
        ],
        n => {
            // intro, build, then drop/breakdown cycles ending on a drop, then the outro.
            let mut v = vec![(Intro, 1, (0.55, 0.55)), (pre, 1, (0.65, 0.9))];
            let mut middle = n - 3;
            while middle >= 4 {
                v.push((peak, 2, (1.0, 1.0)));
                v.push((Breakdown, 1, (0.4, 0.5)));
                middle -= 3;
            }
            v.push((peak, middle, (1.0, 1.0)));
            v.push((Outro, 1, (0.55, 0.5)));
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
    fn kinds_read_and_write_their_names() {
        for k in SectionKind::ALL {
            assert_eq!(SectionKind::parse(k.as_str()), Some(k));
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{k}\""));
        }
        assert_eq!(
            SectionKind::parse("Pre-Chorus"),
            Some(SectionKind::PreChorus)
        );
        assert_eq!(SectionKind::parse("middle 8"), Some(SectionKind::Bridge));
        assert_eq!(SectionKind::parse("coda"), None);
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
