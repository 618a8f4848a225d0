//! GenerationContext: the musical facts every generator reads — tempo, key, chords per bar,
//! groove, energy, arrangement length, output format — resolved from the request, the prompt
//! and the genre's defaults by `language::mapper` (which documents the rule).
//!
//! Its state is harmonic (key, chords), rhythmic (tempo, meter, swing, the [`Groove`]),
//! spectral (the frequency allocation) and arrangement (sections, energy). During a job it
//! is held by the [`ContextManager`], which changes it only through named operations —
//! plan the harmony, adopt a locked stem, allocate frequencies — each recording the conflict
//! notes the response shows.

mod manager;
mod rhythmic;

pub use manager::{ContextManager, HarmonicPlan, Requested};
pub use rhythmic::Groove;

use crate::arrangement::{Section, SectionKind};
use crate::language::ParsedPrompt;
use crate::meter::Meter;
use crate::request::GenerationRequest;
use crate::theory::{Chord, Key};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationContext {
    pub genre: String,
    pub tempo_bpm: f64,
    pub key: Key,
    /// The time signature: the bar's length in 16ths and its felt beats (the tempo counts
    /// quarter notes in every meter).
    #[serde(default, rename = "time_signature")]
    pub meter: Meter,
    /// Exact length of every stem and the mix.
    pub duration_seconds: f64,
    /// Bars generated (the last one is cut at `duration_seconds`).
    pub bars: u32,
    /// One chord per bar.
    pub chords: Vec<Chord>,
    /// The arrangement: sections tiling the bars, each with its energy.
    #[serde(default)]
    pub sections: Vec<Section>,
    /// Chord symbols per bar, for people.
    pub chord_symbols: Vec<String>,
    /// The request (or its prompt) named the chords: the harmonic plan keeps them as they are
    /// (no model progression, no genre cadence) and voicings sound exactly their notes.
    #[serde(default)]
    pub chords_requested: bool,
    /// The request (or its prompt) named the sections: the arrangement is theirs and the
    /// bar count follows them (a tempo change keeps the bars, not the seconds).
    #[serde(default)]
    pub sections_requested: bool,
    /// 0 = straight, 1 = triplet swing of the note value `swing_unit` names.
    pub swing: f32,
    /// Which notes swing: the off-16ths (house, hip hop) or the off-8ths (jazz, blues).
    #[serde(default)]
    pub swing_unit: SwingUnit,
    pub energy: f32,
    pub sample_rate: u32,
    pub bit_depth: u16,
    /// A seamless loop was asked for: whole bars, and every tail wraps onto the start (a short
    /// piece arranged as one "loop" section is not one unless asked).
    #[serde(default)]
    pub looped: bool,
    /// Where the grid starts: a locked foreign loop whose first beat is not at 0 s moves
    /// every generated note with it.
    #[serde(default)]
    pub grid_offset_seconds: f64,
    /// The spectral plan: the band each generated track may occupy in the mix.
    #[serde(default)]
    pub frequency_allocation: std::collections::BTreeMap<crate::TrackType, crate::spectrum::Band>,
    /// Integrated loudness the mix is normalized to (LUFS).
    #[serde(default = "default_loudness")]
    pub loudness_target: f64,
    pub seed: u64,
    /// Which take of the seed's plan this is: the plan (tempo, key, chords, arrangement) is
    /// the seed's; take 0 plays the seed's own parts, another take other parts over it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub take: u32,
    /// Where a request parameter overrode what the prompt said.
    pub conflicts: Vec<String>,
    /// The groove of drums not generated here (a locked stem's), which the bass locks to;
    /// `None` until a lock brings one. Derived from the stems, so not part of the record.
    #[serde(skip)]
    pub groove: Option<Groove>,
}

/// The note value swing delays the off-beat of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SwingUnit {
    /// Swung 16ths: the second 16th of each 8th is late (house, garage, hip hop).
    #[default]
    Sixteenth,
    /// Swung 8ths: the "and" of each beat is late and the 16ths between move with it
    /// (jazz ride, blues shuffle, bebop lines).
    Eighth,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn default_loudness() -> f64 {
    crate::request::DEFAULT_LOUDNESS_LUFS
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ContextError {
    #[error("unknown genre '{0}'")]
    UnknownGenre(String),
    #[error(transparent)]
    Key(#[from] crate::theory::KeyParseError),
    #[error(transparent)]
    Chords(#[from] crate::progression::ProgressionError),
    #[error(transparent)]
    Form(#[from] crate::form::FormError),
    #[error(transparent)]
    Meter(#[from] crate::meter::MeterError),
    /// The requested sections do not fit the duration limits at the piece's tempo.
    #[error("sections: {0}")]
    Sections(String),
}

impl GenerationContext {
    /// Resolves the context for a request whose prompt was parsed into `parsed` (see
    /// `language::mapper` for the rule).
    pub fn resolve(
        request: &GenerationRequest,
        parsed: &ParsedPrompt,
        seed: u64,
    ) -> Result<Self, ContextError> {
        crate::language::mapper::map(request, parsed, seed).map(|m| m.context)
    }

    pub fn seconds_per_step(&self) -> f64 {
        60.0 / self.tempo_bpm / 4.0
    }

    pub fn steps_per_bar(&self) -> usize {
        self.meter.steps_per_bar()
    }

    /// The name the random stream of a part is derived under: the track's, and for a take
    /// other than 0 the take's too (planning streams never include it, so takes share
    /// the plan).
    pub fn part_stream(&self, track: &str) -> String {
        if self.take == 0 {
            track.to_string()
        } else {
            format!("{track}#take{}", self.take)
        }
    }

    /// One bar in seconds.
    pub fn bar_seconds(&self) -> f64 {
        self.meter.bar_seconds(self.tempo_bpm)
    }

    pub fn total_steps(&self) -> usize {
        self.bars as usize * self.steps_per_bar()
    }

    pub fn total_frames(&self) -> usize {
        (self.duration_seconds * f64::from(self.sample_rate)).round() as usize
    }

    /// Start time of a 16th step in seconds, with swing applied to the off-16ths or, for
    /// swung 8ths, to the "and" of each beat (at full swing on the beat's last triplet), the
    /// 16ths either side of it halfway between their neighbours.
    pub fn step_time(&self, step: usize) -> f64 {
        let sps = self.seconds_per_step();
        let base = self.grid_offset_seconds + step as f64 * sps;
        let swing = f64::from(self.swing);
        match self.swing_unit {
            SwingUnit::Sixteenth if step % 2 == 1 => base + swing * sps / 3.0,
            SwingUnit::Sixteenth => base,
            SwingUnit::Eighth => {
                // Where the "and" falls, in 16th steps from the beat (2 straight, 8/3 triplet).
                let and = 2.0 + swing * 2.0 / 3.0;
                let at = match step % 4 {
                    0 => 0.0,
                    1 => and / 2.0,
                    2 => and,
                    _ => and + (4.0 - and) / 2.0,
                };
                base + (at - (step % 4) as f64) * sps
            }
        }
    }

    /// How long `len` steps from `step` last on the swung grid (a swung "and" is short, the
    /// note before it long).
    pub fn steps_duration(&self, step: usize, len: usize) -> f64 {
        self.step_time(step + len) - self.step_time(step)
    }

    /// Changes the tempo (and with it the bar count), continuing `progression` — the chords
    /// to cycle, one per bar — and re-planning the arrangement for the new length.
    pub fn retime(&mut self, tempo_bpm: f64, progression: &[Chord]) {
        self.tempo_bpm = tempo_bpm;
        let bar_seconds = self.meter.bar_seconds(tempo_bpm);
        if self.sections_requested {
            // The requested form is kept bar for bar; the piece lasts as long as it takes.
            self.duration_seconds = f64::from(self.bars) * bar_seconds;
        } else {
            self.bars = (self.duration_seconds / bar_seconds - 1e-9).ceil().max(1.0) as u32;
        }
        if !progression.is_empty() {
            self.chords = (0..self.bars as usize)
                .map(|b| progression[b % progression.len()])
                .collect();
        }
        self.chord_symbols = self.chords.iter().map(|c| c.symbol(&self.key)).collect();
        if self.sections_requested {
            return;
        }
        let looped = self.sections.len() == 1 && self.sections[0].name == "loop";
        let song = self
            .sections
            .iter()
            .any(|s| s.name == "chorus" || s.name == "verse");
        self.sections = crate::arrangement::plan(self.bars, song, looped);
    }

    /// "intro 8, build 8, drop 16, … (bars)", for people.
    pub fn arrangement_summary(&self) -> String {
        let sections: Vec<String> = self
            .sections
            .iter()
            .map(|s| format!("{} {}", s.name, s.bars))
            .collect();
        format!("{} (bars)", sections.join(", "))
    }

    /// The section a bar belongs to.
    pub fn section_at(&self, bar: usize) -> Option<&Section> {
        self.sections.iter().find(|s| s.contains(bar as u32))
    }

    /// Energy of a bar: the prompt's energy shaped by the arrangement.
    pub fn bar_energy(&self, bar: usize) -> f32 {
        let shape = self
            .section_at(bar)
            .map(|s| s.energy_at(bar as u32))
            .unwrap_or(1.0);
        (self.energy * shape).clamp(0.0, 1.0)
    }

    /// The kind of section a bar belongs to (a loop when there is no arrangement).
    pub fn section_name(&self, bar: usize) -> SectionKind {
        self.section_at(bar)
            .map(|s| s.name)
            .unwrap_or(SectionKind::Loop)
    }

    pub fn chord_at_step(&self, step: usize) -> Chord {
        let bar = (step / self.steps_per_bar()).min(self.chords.len().saturating_sub(1));
        self.chords[bar]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(prompt: &str) -> GenerationRequest {
        GenerationRequest::new(prompt)
    }

    use crate::language::PromptParser;

    #[test]
    fn request_overrides_prompt_and_reports_it() {
        let mut r = req("techno at 128 bpm in A minor");
        r.tempo = Some(140.0);
        let parsed = PromptParser::parse(&r.prompt);
        let c = GenerationContext::resolve(&r, &parsed, 1).unwrap();
        assert_eq!(c.tempo_bpm, 140.0);
        assert_eq!(c.key.to_string(), "A minor");
        assert_eq!(c.conflicts.len(), 1, "{:?}", c.conflicts);
    }

    #[test]
    fn bars_cover_the_duration() {
        let mut r = req("house");
        r.tempo = Some(120.0);
        r.duration_seconds = Some(30.0);
        let c = GenerationContext::resolve(&r, &PromptParser::parse(&r.prompt), 1).unwrap();
        assert_eq!(c.bars, 15);
        assert_eq!(c.chords.len(), 15);
        assert_eq!(c.total_frames(), 30 * 44_100);
    }

    #[test]
    fn genre_defaults_apply() {
        let r = req("boom bap");
        let c = GenerationContext::resolve(&r, &PromptParser::parse(&r.prompt), 1).unwrap();
        assert_eq!(c.genre, "hip hop");
        assert_eq!(c.tempo_bpm, 90.0);
        assert!(c.swing > 0.0);
    }

    #[test]
    fn swung_eighths_put_the_and_on_the_last_triplet() {
        let r = req("jazz at 120 bpm");
        let mut c = GenerationContext::resolve(&r, &PromptParser::parse(&r.prompt), 1).unwrap();
        assert_eq!(c.swing_unit, SwingUnit::Eighth);
        c.swing = 1.0;
        let beat = 0.5;
        let at = |c: &GenerationContext, s: usize| c.step_time(s) / beat;
        assert!((at(&c, 2) - 2.0 / 3.0).abs() < 1e-9, "{}", at(&c, 2));
        assert!((0..4).all(|s| at(&c, s) < at(&c, s + 1)));
        assert!((at(&c, 4) - 1.0).abs() < 1e-9);
        c.swing = 0.0;
        assert!((at(&c, 3) - 0.75).abs() < 1e-9, "straight is the grid");
    }
}
