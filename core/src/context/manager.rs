//! The Context Manager: the one holder of a job's [`GenerationContext`] that may change it.
//! Everything else reads it (`Deref`); a change is one of the named operations below, and
//! each records in the context's `conflicts` what it overrode, so the response can say why
//! the music differs from what was asked:
//!
//! - [`allocate_frequencies`](ContextManager::allocate_frequencies) — the spectral plan;
//! - [`plan_harmony`](ContextManager::plan_harmony) — the chords per bar the harmony model
//!   planned;
//! - [`adopt_sidecar`](ContextManager::adopt_sidecar),
//!   [`adopt_analysis`](ContextManager::adopt_analysis),
//!   [`adopt_sample_rate`](ContextManager::adopt_sample_rate) and
//!   [`adopt_drums`](ContextManager::adopt_drums) — what a locked stem brings (it cannot
//!   follow us, so we follow it);
//! - [`note`](ContextManager::note) — a conflict found elsewhere (a lock that could not be
//!   analysed).

use super::{GenerationContext, Groove};
use crate::TrackType;
use crate::analysis::Analysis;
use crate::language::MusicalIntent;
use crate::theory::Chord;
use std::ops::Deref;

/// Which of the context's settings the request fixed itself (a lock does not override them).
#[derive(Debug, Clone, Copy, Default)]
pub struct Requested {
    pub tempo: bool,
    pub key: bool,
    pub sample_rate: bool,
    pub time_signature: bool,
}

/// A harmonic plan: one chord per bar and its symbol as people read it.
#[derive(Debug, Clone, PartialEq)]
pub struct HarmonicPlan {
    pub chords: Vec<Chord>,
    pub symbols: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContextManager {
    ctx: GenerationContext,
}

impl Deref for ContextManager {
    type Target = GenerationContext;

    fn deref(&self) -> &GenerationContext {
        &self.ctx
    }
}

impl From<GenerationContext> for ContextManager {
    fn from(ctx: GenerationContext) -> Self {
        ContextManager::new(ctx)
    }
}

impl ContextManager {
    pub fn new(ctx: GenerationContext) -> Self {
        ContextManager { ctx }
    }

    pub fn context(&self) -> &GenerationContext {
        &self.ctx
    }

    pub fn into_context(self) -> GenerationContext {
        self.ctx
    }

    /// Records a conflict found outside these operations.
    pub fn note(&mut self, conflict: impl Into<String>) {
        self.ctx.conflicts.push(conflict.into());
    }

    /// The spectral plan: the band each track of the intent may occupy in the mix.
    pub fn allocate_frequencies(&mut self, intent: &MusicalIntent) {
        self.ctx.frequency_allocation = crate::spectrum::allocate(intent);
    }

    /// Takes the harmony model's plan. Chords the request named are the plan already (no
    /// model progression), so a plan offered then is refused and noted.
    pub fn plan_harmony(&mut self, plan: HarmonicPlan) {
        if self.ctx.chords_requested {
            self.note(
                "a planned progression was offered over the requested chords; kept the request's",
            );
            return;
        }
        self.ctx.chords = plan.chords;
        self.ctx.chord_symbols = plan.symbols;
    }

    /// Adopts tempo, key, swing and chords from a locked stem's own context, unless the
    /// request set them explicitly; notes what it took.
    pub fn adopt_sidecar(&mut self, sidecar: &GenerationContext, fixed: Requested, source: &str) {
        let ctx = &mut self.ctx;
        let mut taken = Vec::new();
        if !fixed.tempo && (ctx.tempo_bpm - sidecar.tempo_bpm).abs() > 1e-9 {
            ctx.tempo_bpm = sidecar.tempo_bpm;
            taken.push("tempo");
        }
        if !fixed.key && ctx.key != sidecar.key {
            ctx.key = sidecar.key;
            taken.push("key");
        }
        if ctx.swing != sidecar.swing || ctx.swing_unit != sidecar.swing_unit {
            ctx.swing = sidecar.swing;
            ctx.swing_unit = sidecar.swing_unit;
            taken.push("swing");
        }
        // A locked part's bars cannot change: its meter wins, even over the request's.
        if ctx.meter != sidecar.meter {
            let asked = ctx.meter;
            ctx.meter = sidecar.meter;
            if fixed.time_signature {
                ctx.conflicts.push(format!(
                    "time signature: the request asks for {asked}; locked {source} is in {}: \
                     using {} (its notes cannot change)",
                    sidecar.meter, sidecar.meter
                ));
            }
            taken.push("time signature");
            if sidecar.chords.is_empty() {
                let (tempo, chords) = (ctx.tempo_bpm, ctx.chords.clone());
                ctx.retime(tempo, &chords);
            }
        }
        // Chords follow the locked stem's bars, repeating its progression past its end.
        if !sidecar.chords.is_empty() {
            let tempo = ctx.tempo_bpm;
            let asked = ctx.chords_requested.then(|| ctx.chord_symbols.clone());
            ctx.retime(tempo, &sidecar.chords);
            self.report_chord_clash(asked, &format!("locked {source}"));
            taken.push("chords");
        }
        if !taken.is_empty() {
            self.note(format!("{} taken from locked {source}", taken.join(", ")));
        }
    }

    /// Adopts what the analysis of foreign audio (no sidecar) says. A locked stem cannot
    /// change speed, so everything generated around it takes its tempo — over the prompt,
    /// and over the request (noted). A tonal stem sets the key and the chords unless the
    /// request fixed the key. Returns the kick-like grid of a drum stem — (16th step,
    /// pitch 36) where its onsets are strong — when its bar starts where ours does.
    pub fn adopt_analysis(
        &mut self,
        track: TrackType,
        source: &str,
        analysis: &Analysis,
        fixed: Requested,
    ) -> Option<Vec<(usize, u8)>> {
        let what = format!("locked {track} ({source})");
        // A chord clash is noted as it is found; what was taken, after it.
        let mut taken = Vec::new();
        let rhythmic = matches!(track, TrackType::Drums) || analysis.tempo_confidence >= 0.3;
        if rhythmic && (40.0..=240.0).contains(&analysis.tempo_bpm) {
            let bpm = (analysis.tempo_bpm * 10.0).round() / 10.0;
            let ctx = &mut self.ctx;
            if (bpm - ctx.tempo_bpm).abs() / ctx.tempo_bpm >= 0.005 {
                let was = ctx.tempo_bpm;
                let chords = ctx.chords.clone();
                let period = chords.len().clamp(1, 4);
                ctx.retime(bpm, &chords[..period]);
                taken.push(format!(
                    "tempo {bpm} bpm measured from {what} replaces {was} bpm"
                ));
            }
            // The grid starts at 0 s: loops are cut on the beat. (The analysis's beat phase
            // can lock onto loud off-beat hats, so it is not followed.)
        }
        if analysis.tonal && !fixed.key {
            if self.ctx.key != analysis.key {
                let was = self.ctx.key;
                self.ctx.key = analysis.key;
                taken.push(format!(
                    "key {} measured from {what} replaces {was}",
                    analysis.key
                ));
            }
            if !analysis.chords.is_empty() {
                let tempo = self.ctx.tempo_bpm;
                let asked = self
                    .ctx
                    .chords_requested
                    .then(|| self.ctx.chord_symbols.clone());
                self.ctx.retime(tempo, &analysis.chords);
                self.report_chord_clash(asked, &what);
                taken.push(format!("chords taken from {what}"));
            }
        }
        self.ctx.conflicts.extend(taken);
        // The stem's onset pattern as a groove: strong steps of its bar act as kicks — only
        // when the analysis's bar starts where ours does (its pattern is read from its phase).
        let beat = 60.0 / self.ctx.tempo_bpm;
        let phase = analysis.beat_phase_seconds.rem_euclid(beat);
        let aligned = phase < 0.02 || phase > beat - 0.02;
        (matches!(track, TrackType::Drums) && aligned).then(|| {
            let bars = (analysis.duration_seconds / (240.0 / self.ctx.tempo_bpm))
                .ceil()
                .max(1.0) as usize;
            (0..bars * 16)
                .filter(|s| analysis.groove.step_strength[s % 16] >= 0.6)
                .map(|s| (s, 36u8))
                .collect()
        })
    }

    /// A locked stem's sample rate: the output follows a 44.1 or 48 kHz stem unless the
    /// request fixed the rate; otherwise the stem is resampled in the mix (noted).
    pub fn adopt_sample_rate(&mut self, track: TrackType, sample_rate: u32, fixed: Requested) {
        if sample_rate == self.ctx.sample_rate {
            return;
        }
        if !fixed.sample_rate && [44_100, 48_000].contains(&sample_rate) {
            self.ctx.sample_rate = sample_rate;
        } else {
            let ours = self.ctx.sample_rate;
            self.note(format!(
                "locked {track} is {sample_rate} Hz: resampled to {ours} Hz in the mix; its \
                 stem is kept as uploaded"
            ));
        }
    }

    /// The groove of locked drums, from their notes (16th step, GM pitch): the bass locks to
    /// it instead of a generated kit. Call it after every other adoption: it is laid over
    /// the final bar count.
    pub fn adopt_drums(&mut self, notes: &[(usize, u8)]) {
        self.ctx.groove = Some(Groove::from_notes(
            notes,
            self.ctx.total_steps(),
            self.ctx.steps_per_bar(),
        ));
    }

    /// A locked stem's chords win over requested ones (its notes cannot change); when they
    /// differ, the response says so, bar by bar where they part.
    fn report_chord_clash(&mut self, asked: Option<Vec<String>>, source: &str) {
        let Some(asked) = asked else { return };
        self.ctx.chords_requested = false;
        let differ: Vec<String> = asked
            .iter()
            .zip(&self.ctx.chord_symbols)
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .take(4)
            .map(|(bar, (a, b))| format!("bar {}: {a} asked, {b} played", bar + 1))
            .collect();
        if !differ.is_empty() {
            self.note(format!(
                "chords: the {source} plays other chords than the request names ({}); \
                 using the lock's",
                differ.join("; ")
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GenerationRequest;
    use crate::language::PromptParser;

    fn manager(prompt: &str) -> ContextManager {
        let r = GenerationRequest::new(prompt);
        ContextManager::new(
            GenerationContext::resolve(&r, &PromptParser::parse(prompt), 1).unwrap(),
        )
    }

    #[test]
    fn a_locked_part_brings_its_meter_even_over_the_request() {
        let mut m = manager("house at 120 bpm, 12 seconds");
        let mut r = GenerationRequest::new("jazz waltz at 120 bpm");
        r.time_signature = Some("3/4".into());
        r.duration_seconds = Some(12.0);
        let mut theirs =
            GenerationContext::resolve(&r, &PromptParser::parse(&r.prompt), 1).unwrap();
        theirs.chords.clear();
        let fixed = Requested {
            time_signature: true,
            ..Requested::default()
        };
        m.adopt_sidecar(&theirs, fixed, "gen:w/drums");
        assert_eq!(m.meter, crate::meter::Meter::ThreeFour);
        assert_eq!(m.bars, 8, "12 s of 3/4 at 120 bpm");
        assert!(
            m.conflicts
                .iter()
                .any(|c| c.starts_with("time signature: the request asks for 4/4")),
            "{:?}",
            m.conflicts
        );
    }

    #[test]
    fn a_sidecar_sets_what_the_request_left_open_and_says_so() {
        let mut m = manager("house at 124 bpm in A minor");
        let mut theirs = manager("techno at 132 bpm in C major").into_context();
        theirs.swing = m.swing;
        theirs.swing_unit = m.swing_unit;
        let fixed = Requested {
            key: true,
            ..Requested::default()
        };
        m.adopt_sidecar(&theirs, fixed, "gen:x/drums");
        assert_eq!(m.tempo_bpm, 132.0);
        assert_eq!(m.key.to_string(), "A minor", "the request fixed the key");
        assert_eq!(m.chord_symbols.len(), m.bars as usize);
        let last = m.conflicts.last().unwrap();
        assert!(
            last.starts_with("tempo, chords taken from locked gen:x/drums"),
            "{last}"
        );
    }

    #[test]
    fn a_plan_does_not_replace_requested_chords() {
        let mut r = GenerationRequest::new("rock");
        r.chords = Some("E D A E".into());
        let mut m = ContextManager::new(
            GenerationContext::resolve(&r, &PromptParser::parse("rock"), 1).unwrap(),
        );
        let before = m.chords.clone();
        let other = manager("rock in G major");
        m.plan_harmony(HarmonicPlan {
            chords: other.chords.clone(),
            symbols: other.chord_symbols.clone(),
        });
        assert_eq!(m.chords, before);
        assert!(m.conflicts.iter().any(|c| c.contains("requested chords")));
    }

    #[test]
    fn an_odd_sample_rate_is_resampled_and_noted() {
        let mut m = manager("ambient");
        m.adopt_sample_rate(TrackType::Harmony, 48_000, Requested::default());
        assert_eq!(m.sample_rate, 48_000);
        assert!(m.conflicts.is_empty());
        m.adopt_sample_rate(TrackType::Bass, 22_050, Requested::default());
        assert_eq!(m.sample_rate, 48_000);
        assert!(m.conflicts[0].contains("22050 Hz"), "{:?}", m.conflicts);
    }

    #[test]
    fn locked_drums_bring_their_groove_over_the_whole_piece() {
        let mut m = manager("hip hop");
        assert_eq!(m.groove, None);
        m.adopt_drums(&[(0, 36), (4, 38), (10, 36), (12, 38)]);
        let g = m.groove.clone().unwrap();
        assert_eq!(g.kick.len(), m.total_steps());
        assert!(g.kick[16] && g.kick[26] && g.snare[20] && !g.kick[4]);
    }
}
