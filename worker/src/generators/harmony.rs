//! HarmonyGen: plans the progression — the genre's form as written where it has one (12-bar
//! blues, the ii–V–I of jazz and bossa), else sampled with the `harmonygen` ONNX model (next
//! bar's diatonic degree from the last four chords, the bar's place in its 8-bar phrase, the
//! mode, the genre's style family and the energy), with the key established: every phrase
//! opens on the tonic and, outside the modal electronic families, closes with a
//! dominant-to-tonic cadence. Chords are voiced in close position with voice leading (each
//! takes the inversion nearest the previous one), coloured as the genre colours them
//! (sevenths, ninths, dominant sevenths, sus2, add9, power chords), and played in the genre's
//! comping idiom: pads, stabs, keys, power-chord eighths, strums, arpeggios, skanks, montunos.
//!
//! Planning runs before any track is generated (the Context Manager's harmonic state): every
//! other generator reads the chords it chose. Locked stems that bring their own chords
//! replace the plan afterwards.

use super::{GenInput, GenerateError, Note, Part, TrackGenerator, sample};
use crate::onnx::{Device, ModelSession, OnnxError};
use crate::step_model::StepModel;
use resonantgen_core::context::HarmonicPlan;
use resonantgen_core::language::MusicalIntent;
use resonantgen_core::language::genre::{ChordColor, HarmonyStyle, genre_by_name};
use resonantgen_core::meter::Meter;
use resonantgen_core::rng::Rng;
use resonantgen_core::theory::{Chord, ChordQuality, Key, Mode};
use resonantgen_core::{GenerationContext, TrackType};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Progressions want some surprise, not much.
const TEMPERATURE: f32 = 0.8;

#[derive(Debug, Clone, Deserialize)]
pub struct HarmonyManifest {
    pub modes: Vec<String>,
    pub families: Vec<String>,
    pub genre_family: BTreeMap<String, String>,
    pub history_bars: usize,
    pub phrase_bars: usize,
}

pub struct HarmonyGen {
    model: StepModel<HarmonyManifest>,
}
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

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Major => "major",
        Mode::Minor => "minor",
        Mode::Dorian => "dorian",
        Mode::Phrygian | Mode::Locrian => "phrygian",
        Mode::Lydian => "lydian",
        Mode::Mixolydian => "mixolydian",
    }
}

impl HarmonyGen {
    pub fn load(
        env: &ort::environment::Environment,
        models_dir: &Path,
        device: Device,
    ) -> Result<Self, OnnxError> {
        let dir = models_dir.join("harmony");
        let session = ModelSession::<HarmonyManifest>::open(env, &dir, "harmonygen", device)?;
        let m = &session.manifest;
        let inputs = vec![
            ("history".to_string(), m.history_bars * 8),
            ("position".to_string(), m.phrase_bars),
            ("cond".to_string(), m.modes.len() + m.families.len() + 1),
        ];
        let model = StepModel::new("harmonygen", session, inputs, "probs", 7)?;
        Ok(HarmonyGen { model })
    }

    pub fn step_model(&self) -> &StepModel<HarmonyManifest> {
        &self.model
    }

    /// Samples `bars` chords (diatonic degrees) as one phrase.
    fn phrase(
        &self,
        ctx: &GenerationContext,
        bars: usize,
        energy: f32,
        rng: &mut Rng,
    ) -> Result<Vec<usize>, GenerateError> {
        let m = self.model.manifest();
        let flag = |b: bool| f32::from(u8::from(b));
        let mode = mode_name(ctx.key.mode);
        let mode_row = m.modes.iter().position(|x| x == mode);
        let family = genre_by_name(&ctx.genre)
            .map(|g| g.harmony_family.to_string())
            .or_else(|| m.genre_family.get(&ctx.genre).cloned());
        let family_row = family
            .as_ref()
            .and_then(|f| m.families.iter().position(|x| x == f));
        let cadence = cadences(family.as_deref(), ctx.key.mode);
        let mut degrees: Vec<usize> = Vec::with_capacity(bars);
        for bar in 0..bars {
            let mut row = Vec::with_capacity(self.model.row_width());
            for back in (1..=m.history_bars).rev() {
                let tok = bar.checked_sub(back).map_or(0, |b| degrees[b] + 1);
                row.extend((0..8).map(|i| flag(i == tok)));
            }
            row.extend((0..m.phrase_bars).map(|i| flag(i == bar % m.phrase_bars)));
            row.extend((0..m.modes.len()).map(|i| flag(Some(i) == mode_row)));
            row.extend((0..m.families.len()).map(|i| flag(Some(i) == family_row)));
            row.push(energy);
            let probs = self.model.infer(row)?;
            // A phrase opens on the tonic (the key must be heard first) and, where the genre
            // cadences, closes V → I.
            let d = if bar == 0 || (cadence && bar + 1 == bars) {
                0
            } else if cadence && bar + 2 == bars {
                4
            } else {
                sample(&probs, TEMPERATURE, rng, |_| true)
            };
            degrees.push(d);
        }
        Ok(degrees)
    }

    /// The Context Manager's harmonic plan: an 8-bar phrase for the body of the track and a
    /// contrasting one for breakdowns, each restarting at its section's first bar.
    pub fn plan_progression(
        &self,
        ctx: &GenerationContext,
        color: ChordColor,
        rng: &mut Rng,
    ) -> Result<HarmonicPlan, GenerateError> {
        let phrase_bars = self.model.manifest().phrase_bars.max(1);
        let _active = self.model.enter();
        let form = genre_by_name(&ctx.genre)
            .filter(|g| g.fixed_form && !g.progression.is_empty())
            .map(|g| g.progression.to_vec());
        let (main, calm) = match form {
            Some(form) => (form.clone(), form),
            None => (
                self.phrase(ctx, phrase_bars, ctx.energy, rng)?,
                self.phrase(ctx, phrase_bars, (ctx.energy * 0.6).min(1.0), rng)?,
            ),
        };
        let key = ctx.key;
        let mut chords: Vec<Chord> = (0..ctx.bars as usize)
            .map(|bar| {
                let (start, breakdown) = ctx
                    .section_at(bar)
                    .map_or((0, false), |s| (s.start_bar as usize, s.name.contrasts()));
                let phrase = if breakdown { &calm } else { &main };
                key.triad(phrase[(bar - start) % phrase.len()])
            })
            .collect();
        // Where the genre cadences, the piece and each peak section (drop, chorus) close
        // V → I even when their length is not a whole phrase (a 7-bar drop would end on the
        // model's V), and in a minor key the V going home is major: its leading tone is what
        // makes the ear hear A minor rather than the relative C major.
        let family = genre_by_name(&ctx.genre).map(|g| g.harmony_family);
        if cadences(family, key.mode) {
            let last = chords.len().saturating_sub(1);
            let ends = ctx
                .sections
                .iter()
                .filter(|s| s.bars >= 4 && s.name.is_peak())
                .map(|s| (s.start_bar + s.bars) as usize - 1)
                .chain((chords.len() >= 4).then_some(last));
            if ctx.looped {
                // A loop's last bar is the V that leads back into its first (the tonic).
                if chords.len() >= 2 {
                    chords[0] = key.triad(0);
                    chords[last] = key.triad(4);
                }
            } else {
                for end in ends.collect::<Vec<_>>() {
                    if end < chords.len() && end >= 1 {
                        chords[end] = key.triad(0);
                        chords[end - 1] = key.triad(4);
                    }
                }
            }
            for i in 0..chords.len() {
                // (a loop's next bar after its last is its first)
                let next = chords.get(i + 1).or(ctx.looped.then_some(&chords[0]));
                let home = next.is_none_or(|c| c.degree == 0);
                if home {
                    chords[i] = chords[i].harmonic_dominant(&key);
                }
            }
        }
        Ok(HarmonicPlan {
            symbols: chords.iter().map(|c| symbol(c, &key, color)).collect(),
            chords,
        })
    }
}

/// Modal electronic families and hip hop's loops (trap, drill, boom bap) dwell (i–VII–VI,
/// a two-chord loop); the rest cadence home at phrase ends.
fn cadences(family: Option<&str>, mode: Mode) -> bool {
    !matches!(family, Some("dark_edm" | "edm" | "ambient" | "hiphop"))
        && matches!(mode, Mode::Major | Mode::Minor)
}

/// A chord's symbol with the genre's colour ("Dm7", "Cmaj9", "E7", "Asus2", "E5").
pub fn symbol(chord: &Chord, key: &Key, color: ChordColor) -> String {
    let plain = chord.symbol(key);
    let root = key.names()[chord.root as usize];
    // The seventh the voicing adds is the key's (`color_voicing`): a major chord whose
    // diatonic seventh is minor (V in major, the harmonic dominant) is a dominant 7th.
    let scale = key.scale();
    let dominant = (scale[(chord.degree as usize + 6) % 7] + 12 - chord.root) % 12 == 10;
    use ChordQuality::*;
    match (color, chord.quality) {
        (ChordColor::Seventh, Major) if dominant => format!("{root}7"),
        (ChordColor::Ninth, Major) if dominant => {
            let flat_ninth = (scale[(chord.degree as usize + 1) % 7] + 12 - chord.root) % 12 == 1;
            format!("{root}{}", if flat_ninth { "7b9" } else { "9" })
        }
        (ChordColor::Triad, _) | (_, Augmented | Sus2 | Sus4) => plain,
        (ChordColor::RootFifth, _) => format!("{root}5"),
        (ChordColor::Sus2, Major | Minor) => format!("{root}sus2"),
        (ChordColor::Add9, Major) => format!("{root}add9"),
        (ChordColor::Add9, Minor) => format!("{root}madd9"),
        (ChordColor::Seventh, Major) => format!("{root}maj7"),
        (ChordColor::Dominant, Major) => format!("{root}7"),
        (ChordColor::Ninth, Major) => format!("{root}maj9"),
        (ChordColor::Seventh | ChordColor::Dominant, Minor) => format!("{root}m7"),
        (ChordColor::Ninth, Minor) => format!("{root}m9"),
        (ChordColor::Seventh | ChordColor::Dominant | ChordColor::Ninth, Diminished) => {
            format!("{root}m7b5")
        }
        (ChordColor::Sus2 | ChordColor::Add9, Diminished) => plain,
    }
}

/// A chord the request spelled (a seventh, a sus, a slash bass) sounds exactly its notes:
/// the voice-led core, each added interval just above the voicing's lowest note (a ninth an
/// octave up), and a slash bass below it all.
fn spelled_voicing(chord: &Chord, prev: &[u8]) -> Vec<u8> {
    let triad_prev: Vec<u8> = prev.iter().take(3).copied().collect();
    let mut v = voice_lead(chord, &triad_prev);
    let low = v.iter().copied().min().unwrap_or(60);
    for i in chord.added.intervals() {
        let pc = (chord.root + i) % 12;
        let mut p = (low / 12) * 12 + pc;
        while p <= low {
            p += 12;
        }
        if i > 12 && p < low + 12 {
            p += 12;
        }
        v.push(p);
    }
    if let Some(b) = chord.bass {
        let p = (low / 12) * 12 + b;
        v.push(if p >= low { p.saturating_sub(12) } else { p });
    }
    v.sort_unstable();
    v.dedup();
    v
}

/// The chord's notes: the voice-led triad (`voice_lead`) with the genre's colour — the
/// diatonic seventh and ninth above it, the blues' flat seventh, the third turned into a
/// second — or a power chord (root, fifth, octave) low, where guitars play them.
pub fn color_voicing(chord: &Chord, key: &Key, color: ChordColor, prev: &[u8]) -> Vec<u8> {
    let scale = key.scale();
    let degree = chord.degree as usize;
    let pc = |steps: usize| scale[(degree + steps) % 7];
    if chord.is_spelled() {
        return spelled_voicing(chord, prev);
    }
    if color == ChordColor::RootFifth {
        // the chord's root on the guitar's low strings: E2 (MIDI 40) up to D#3
        let mut root = 36 + chord.root % 12;
        if root < 40 {
            root += 12;
        }
        return vec![root, root + 7, root + 12];
    }
    let triad_prev: Vec<u8> = prev.iter().take(3).copied().collect();
    let mut v = voice_lead(chord, &triad_prev);
    let top = v.iter().copied().max().unwrap_or(64);
    // a pitch class placed just above the lowest note of the voicing
    let above_low = |pc: u8, v: &[u8]| -> u8 {
        let low = v.iter().copied().min().unwrap_or(60);
        let mut p = (low / 12) * 12 + pc;
        while p <= low {
            p += 12;
        }
        p
    };
    let third = (chord.root
        + if chord.quality == ChordQuality::Minor {
            3
        } else {
            4
        })
        % 12;
    match (color, chord.quality) {
        (ChordColor::Triad, _)
        | (ChordColor::RootFifth, _)
        | (_, ChordQuality::Augmented | ChordQuality::Sus2 | ChordQuality::Sus4) => {}
        (ChordColor::Sus2, ChordQuality::Major | ChordQuality::Minor) => {
            let second = pc(1);
            for p in v.iter_mut() {
                if *p % 12 == third {
                    *p = (*p as i32 - ((third + 12 - second) % 12) as i32) as u8;
                }
            }
            v.sort_unstable();
        }
        (ChordColor::Sus2, ChordQuality::Diminished) => {}
        (ChordColor::Add9, _) => {
            let mut ninth = above_low(pc(1), &v) + 12;
            while ninth > top + 7 && ninth >= 12 {
                ninth -= 12;
            }
            v.push(ninth);
        }
        (ChordColor::Seventh | ChordColor::Ninth | ChordColor::Dominant, _) => {
            let seventh = if color == ChordColor::Dominant && chord.quality == ChordQuality::Major {
                (chord.root + 10) % 12
            } else {
                pc(6)
            };
            v.push(above_low(seventh, &v));
            if color == ChordColor::Ninth {
                v.push(above_low(pc(1), &v) + 12);
            }
        }
    }
    v.sort_unstable();
    v.dedup();
    // keep the voicing in the keys' sweet spot
    while v.last().is_some_and(|p| *p > 81) {
        v.iter_mut().for_each(|p| *p -= 12);
    }
    v
}

/// One chord hit: (step within the bar, length in steps, velocity, which voicing notes: all,
/// or the one at this index cycling upward).
type Hit = (usize, f64, f32, Option<usize>);

/// The comping rhythm of a bar in `style` and `meter` (4/4 has the genre's own figures;
/// the other meters the same idea laid over their felt beats).
fn hits(
    style: HarmonyStyle,
    meter: Meter,
    bar: usize,
    offbeat_skank: bool,
    rng: &mut Rng,
) -> Vec<Hit> {
    if meter != Meter::FourFour {
        return meter_hits(style, meter, bar, rng);
    }
    match style {
        HarmonyStyle::Pad => vec![(0, 16.0, 0.7, None)],
        HarmonyStyle::Stabs => [2usize, 6, 10, 14]
            .iter()
            .filter(|_| rng.chance(0.85))
            .map(|s| (*s, 1.0, 0.8, None))
            .collect(),
        HarmonyStyle::Keys => {
            let pattern: &[(usize, f64)] = if bar.is_multiple_of(2) {
                &[(0, 5.5), (6, 4.0), (10, 6.0)]
            } else {
                &[(0, 3.5), (3, 3.0), (8, 8.0)]
            };
            pattern.iter().map(|(s, d)| (*s, *d, 0.75, None)).collect()
        }
        // palm-muted eighths, the downbeats accented, the last eighth let ring
        HarmonyStyle::Power => (0..8)
            .map(|i| {
                let accent = if i % 2 == 0 { 0.9 } else { 0.72 };
                (i * 2, if i == 7 { 2.0 } else { 1.4 }, accent, None)
            })
            .collect(),
        // D . D U . U D U
        HarmonyStyle::Strum => [
            (0, 0.85),
            (4, 0.8),
            (6, 0.6),
            (10, 0.6),
            (12, 0.8),
            (14, 0.6),
        ]
        .iter()
        .map(|(s, v)| (*s, 2.0, *v, None))
        .collect(),
        HarmonyStyle::Arpeggio => {
            const UP_DOWN: [usize; 8] = [0, 1, 2, 3, 2, 1, 2, 3];
            UP_DOWN
                .iter()
                .enumerate()
                .map(|(i, n)| (i * 2, 6.0, if i == 0 { 0.8 } else { 0.62 }, Some(*n)))
                .collect()
        }
        HarmonyStyle::Skank => {
            let steps: &[usize] = if offbeat_skank {
                &[2, 6, 10, 14]
            } else {
                &[4, 12]
            };
            steps.iter().map(|s| (*s, 0.9, 0.8, None)).collect()
        }
        HarmonyStyle::Montuno => {
            let steps: &[usize] = if bar.is_multiple_of(2) {
                &[0, 3, 6, 8, 10, 13]
            } else {
                &[2, 4, 7, 10, 12, 14]
            };
            steps.iter().map(|s| (*s, 1.5, 0.78, None)).collect()
        }
    }
}

/// The comping of a bar in a meter other than 4/4. Felt beats (quarters, or the dotted
/// quarters of 6/8 and 12/8, or 7/8's 2+2+3) are where a chord is placed; "oom-pah-pah" is the
/// waltz: the bass takes the downbeat, the chord the other beats.
fn meter_hits(style: HarmonyStyle, meter: Meter, bar: usize, rng: &mut Rng) -> Vec<Hit> {
    let spb = meter.steps_per_bar();
    let beats = meter.beats();
    let span = |i: usize| beats.get(i + 1).copied().unwrap_or(spb) - beats[i];
    let eighths = (0..spb).step_by(2);
    match style {
        HarmonyStyle::Pad => vec![(0, spb as f64, 0.7, None)],
        // the eighth after every felt beat
        HarmonyStyle::Stabs | HarmonyStyle::Skank => beats
            .iter()
            .map(|b| b + 2)
            .filter(|s| *s < spb && (style == HarmonyStyle::Skank || rng.chance(0.85)))
            .map(|s| (s, 0.9, 0.8, None))
            .collect(),
        HarmonyStyle::Keys if meter == Meter::ThreeFour => {
            // the waltz: a light downbeat, the chord on 2 and 3
            vec![
                (0, 3.5, 0.6, None),
                (4, 3.5, 0.78, None),
                (8, 3.5, 0.74, None),
            ]
        }
        HarmonyStyle::Keys | HarmonyStyle::Montuno => beats
            .iter()
            .enumerate()
            .flat_map(|(i, b)| {
                let len = span(i);
                // every other bar anticipates the next beat by an eighth
                let push = bar % 2 == 1 && len >= 4 && i + 1 < beats.len();
                let first = (*b, (len - usize::from(push) * 2) as f64 - 0.5, 0.76, None);
                let second = push.then(|| (b + len - 2, 2.5, 0.7, None));
                std::iter::once(first).chain(second)
            })
            .collect(),
        HarmonyStyle::Power => eighths
            .map(|s| {
                let accent = if meter.is_beat(s) { 0.9 } else { 0.72 };
                (s, if s + 2 >= spb { 2.0 } else { 1.4 }, accent, None)
            })
            .collect(),
        // down on the felt beats, up on the eighths between them (a 6/8 strum: D U U D U U)
        HarmonyStyle::Strum => eighths
            .filter(|s| meter.is_beat(*s) || rng.chance(0.8))
            .map(|s| (s, 2.0, if meter.is_beat(s) { 0.82 } else { 0.6 }, None))
            .collect(),
        HarmonyStyle::Arpeggio => {
            const UP_DOWN: [usize; 8] = [0, 1, 2, 3, 2, 1, 2, 3];
            eighths
                .enumerate()
                .map(|(i, s)| {
                    let first = meter.is_beat(s);
                    (s, 6.0, if first { 0.8 } else { 0.62 }, Some(UP_DOWN[i % 8]))
                })
                .collect()
        }
    }
}

impl TrackGenerator for HarmonyGen {
    fn track(&self) -> TrackType {
        TrackType::Harmony
    }

    fn model(&self) -> Option<(&'static str, String)> {
        Some(("harmonygen", self.model.sha256().to_string()))
    }

    fn set_batching(&mut self, on: bool) {
        self.model.set_batching(on);
    }

    fn step_stats(&self) -> Option<(u64, u64, f64)> {
        Some(self.model.stats())
    }

    fn plan(
        &self,
        ctx: &GenerationContext,
        intent: &MusicalIntent,
        rng: &mut Rng,
    ) -> Result<Option<HarmonicPlan>, GenerateError> {
        // Chords the request named are the plan: no model progression, no genre cadence.
        if ctx.chords_requested {
            return Ok(None);
        }
        self.plan_progression(ctx, intent.chord_color, rng)
            .map(Some)
    }

    fn generate(&self, input: &GenInput<'_>, rng: &mut Rng) -> Result<Part, GenerateError> {
        let ctx = input.ctx;
        let style = input.intent.harmony_style;
        // Requested chords sound as named: the genre's sevenths and ninths are not added to
        // a requested triad (a power chord, root and fifth of it, still is).
        let color = match input.intent.chord_color {
            ChordColor::RootFifth => ChordColor::RootFifth,
            _ if ctx.chords_requested => ChordColor::Triad,
            c => c,
        };
        let offbeat_skank = input.intent.drum_style == "ska";
        let step_s = ctx.seconds_per_step();
        let mut notes = Vec::new();
        // Another take voices the same chords from another inversion: its first voicing is
        // led from the first chord's shape a third or a fifth higher (voice leading keeps it
        // there), and its two-bar comping figure starts on the other bar.
        let mut prev: Vec<u8> = match ctx.take % 3 {
            0 => Vec::new(),
            k => color_voicing(&ctx.chords[0], &ctx.key, color, &[])
                .iter()
                .map(|p| p.saturating_add(if k == 1 { 4 } else { 7 }))
                .collect(),
        };
        let figure_offset = ctx.take as usize % 2;
        for bar in 0..ctx.bars as usize {
            let chord = ctx.chords[bar];
            let mut voicing = color_voicing(&chord, &ctx.key, color, &prev);
            // power chords do not voice-lead: another take plays them an octave up the neck,
            // or with the fifth below the root (the same two pitch classes)
            if color == ChordColor::RootFifth {
                let fifth_below = |v: &[u8]| match (v.first(), v.get(1)) {
                    (Some(&root), Some(&fifth)) => vec![fifth.saturating_sub(12), root, fifth],
                    _ => v.to_vec(),
                };
                match ctx.take % 4 {
                    1 => voicing.iter_mut().for_each(|p| *p += 12),
                    2 => voicing = fifth_below(&voicing),
                    3 => {
                        voicing = fifth_below(&voicing);
                        voicing.iter_mut().for_each(|p| *p += 12);
                    }
                    _ => {}
                }
            }
            let led = voicing.clone();
            if style == HarmonyStyle::Arpeggio {
                // broken chords rise from the root an octave below
                if let Some(low) = voicing.first().copied() {
                    let mut root = (low / 12) * 12 + chord.root;
                    while root >= low {
                        root -= 12;
                    }
                    voicing.insert(0, root);
                }
            }
            let spb = ctx.steps_per_bar();
            let bar_end = ctx.step_time((bar + 1) * spb);
            let changes = ctx.chords.get(bar + 1).is_some_and(|next| *next != chord);
            let figure_bar = bar + figure_offset;
            for (s, dur, vel, which) in hits(style, ctx.meter, figure_bar, offbeat_skank, rng) {
                let step = bar * spb + s;
                let chosen: Vec<(usize, u8)> = match which {
                    Some(i) => vec![(0, voicing[i % voicing.len()])],
                    None => voicing.iter().copied().enumerate().collect(),
                };
                // a strum rolls the chord: 12 ms a string, upstrokes from the top
                let roll = if style == HarmonyStyle::Strum {
                    0.012
                } else {
                    0.004
                };
                let up = style == HarmonyStyle::Strum && !ctx.meter.is_beat(s);
                let n = chosen.len();
                for (i, p) in chosen {
                    let order = if up { n - 1 - i } else { i };
                    let time = ctx.step_time(step) + order as f64 * roll;
                    // A chord lets go at the change: a swung last "and" or a rolled strum
                    // would otherwise ring into the next chord's downbeat.
                    let held = dur * step_s;
                    let duration = if changes {
                        held.min(bar_end - time).max(0.02)
                    } else {
                        held
                    };
                    notes.push(Note {
                        time,
                        duration,
                        pitch: p,
                        velocity: vel * (0.92 + 0.08 * rng.f32()),
                        voice: 0,
                        step,
                    });
                }
            }
            prev = led;
        }
        notes.sort_by(|a, b| a.time.total_cmp(&b.time));
        Ok(Part {
            track: TrackType::Harmony,
            style: format!("{style:?}").to_lowercase(),
            notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resonantgen_core::theory::Key;

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
