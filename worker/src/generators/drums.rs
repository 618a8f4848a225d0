//! DrumGen: multi-voice drums (kick, snare, clap, closed/open hat, ride, crash, two toms,
//! percussion) sampled step by step from the `drumgen` ONNX step model, which learned our genre
//! pattern library with its fills and crashes, in every meter (`resonantgen_core::meter`): 4/4
//! from each genre's own patterns, 3/4, 5/4, 6/8, 7/8 and 12/8 from the patterns of the genre's
//! feel (a rock waltz, a jazz waltz, a 6/8 ballad, a 12/8 shuffle or bembé…). Conditioning:
//! genre, meter, the section's energy and the bar's place in its 8-bar phrase. The arrangement then shapes it (breakdowns drop the kick,
//! builds end in a snare roll, a crash opens each section) and the humanizer gives it feel.

use super::humanize::Humanizer;
use super::{GenInput, GenerateError, Note, Part, TrackGenerator};
use crate::onnx::{Device, ModelSession, OnnxError};
use crate::step_model::StepModel;
use resonantgen_core::TrackType;
use resonantgen_core::arrangement::SectionKind;
use resonantgen_core::meter::Meter;
use resonantgen_core::rng::Rng;
use serde::Deserialize;
use std::path::Path;

pub const KICK: u8 = 0;
pub const SNARE: u8 = 1;
pub const CLAP: u8 = 2;
pub const HAT_CLOSED: u8 = 3;
pub const HAT_OPEN: u8 = 4;
pub const RIDE: u8 = 5;
pub const CRASH: u8 = 6;
pub const TOM_HIGH: u8 = 7;
pub const TOM_LOW: u8 = 8;
pub const PERC: u8 = 9;
pub const VOICES: usize = 10;

/// The model's voice vocabulary, in its order.
pub const VOICE_NAMES: [&str; VOICES] = [
    "kick",
    "snare",
    "clap",
    "hat_closed",
    "hat_open",
    "ride",
    "crash",
    "tom_high",
    "tom_low",
    "perc",
];
/// GM drum notes per voice (MIDI channel 10).
pub const GM_NOTES: [u8; VOICES] = [36, 38, 39, 42, 46, 51, 49, 48, 45, 37];
/// Which channel stem each voice goes to (names from the track registry).
pub const VOICE_CHANNEL: [&str; VOICES] = [
    "kick", "snare", "clap", "hats", "hats", "cymbals", "cymbals", "toms", "toms", "perc",
];
const VOICE_SECONDS: [f64; VOICES] = [0.45, 0.25, 0.25, 0.08, 0.35, 1.2, 1.8, 0.4, 0.5, 0.15];

/// Sharpening exponent applied to the model's probabilities (temperature 0.5).
const SHARPEN: f32 = 2.0;
/// The same for a take other than 0 (temperature 0.67).
const TAKE_SHARPEN: f32 = 1.5;

#[derive(Debug, Clone, Deserialize)]
pub struct DrumManifest {
    pub voices: Vec<String>,
    pub genres: Vec<String>,
    pub history_steps: usize,
    /// Width of the one-hot step-in-bar input: the longest bar of any meter.
    pub position_steps: usize,
    /// The meters of the conditioning vector, in its order ("4/4", "3/4", …).
    pub meters: Vec<String>,
    pub phrase_bars: usize,
}

pub struct DrumGen {
    model: StepModel<DrumManifest>,
}

impl DrumGen {
    pub fn load(
        env: &ort::environment::Environment,
        models_dir: &Path,
        device: Device,
    ) -> Result<Self, OnnxError> {
        let dir = models_dir.join("drums");
        let session = ModelSession::<DrumManifest>::open(env, &dir, "drumgen", device)?;
        let m = &session.manifest;
        let meters_known = Meter::ALL
            .iter()
            .all(|meter| m.meters.contains(&meter.to_string()));
        if m.voices != VOICE_NAMES || m.position_steps < Meter::MAX_STEPS_PER_BAR || !meters_known {
            return Err(OnnxError::Model {
                path: dir.join("manifest.json"),
                message: format!(
                    "expected voices {VOICE_NAMES:?}, {} position steps and the meters {:?}; \
                     found {:?}, {} and {:?}",
                    Meter::MAX_STEPS_PER_BAR,
                    Meter::ALL.map(|m| m.to_string()),
                    m.voices,
                    m.position_steps,
                    m.meters
                ),
            });
        }
        let inputs = vec![
            ("history".to_string(), m.history_steps * VOICES),
            ("position".to_string(), m.position_steps),
            ("phrase".to_string(), m.phrase_bars),
            ("cond".to_string(), m.genres.len() + m.meters.len() + 1),
        ];
        let model = StepModel::new("drumgen", session, inputs, "onset_prob", VOICES)?;
        Ok(DrumGen { model })
    }

    pub fn step_model(&self) -> &StepModel<DrumManifest> {
        &self.model
    }

    fn genre_row(&self, style: &str) -> usize {
        self.model
            .manifest()
            .genres
            .iter()
            .position(|g| g == style)
            .unwrap_or(0)
    }

    fn meter_row(&self, meter: Meter) -> usize {
        let name = meter.to_string();
        self.model
            .manifest()
            .meters
            .iter()
            .position(|m| *m == name)
            .unwrap_or(0)
    }
}

impl TrackGenerator for DrumGen {
    fn track(&self) -> TrackType {
        TrackType::Drums
    }

    fn model(&self) -> Option<(&'static str, String)> {
        Some(("drumgen", self.model.sha256().to_string()))
    }

    fn set_batching(&mut self, on: bool) {
        self.model.set_batching(on);
    }

    fn step_stats(&self) -> Option<(u64, u64, f64)> {
        Some(self.model.stats())
    }

    fn generate(&self, input: &GenInput<'_>, rng: &mut Rng) -> Result<Part, GenerateError> {
        let ctx = input.ctx;
        let m = self.model.manifest();
        let genres = m.genres.len();
        let meters = m.meters.len();
        let positions = m.position_steps;
        let phrase_bars = m.phrase_bars;
        let meter = ctx.meter;
        let meter_row = self.meter_row(meter);
        let spb = ctx.steps_per_bar();
        let half = spb / 2;
        // Another take of the same plan samples the model a little looser (temperature
        // 0.67 instead of 0.5), so its hats, ghost notes and fills are its own.
        let sharpen = if ctx.take == 0 { SHARPEN } else { TAKE_SHARPEN };
        let mut history = vec![0.0f32; m.history_steps * VOICES];
        let genre = self.genre_row(&input.intent.drum_style);
        let total = ctx.total_steps();
        let humanizer = Humanizer::for_genre(ctx.swing, input.intent.drum_style.as_str(), meter);
        let mut notes = Vec::new();
        let _active = self.model.enter();

        for step in 0..total {
            let bar = step / spb;
            let in_bar = step % spb;
            let section = ctx.section_at(bar);
            let name = ctx.section_name(bar);
            let bar_in_section = section.map_or(bar as u32, |s| bar as u32 - s.start_bar);
            let last_bar_of_section =
                section.is_some_and(|s| bar as u32 + 1 == s.start_bar + s.bars);

            let mut row = Vec::with_capacity(self.model.row_width());
            row.extend_from_slice(&history);
            row.extend((0..positions).map(|i| f32::from(u8::from(i == in_bar))));
            // A loop is a groove that repeats: its bars are mid-phrase ones (the model fills
            // at a phrase's end and crashes at its start), so every repeat plays the same
            // groove and nothing builds up to the seam.
            let phrase = if ctx.looped {
                1 + bar % 2
            } else {
                (bar_in_section as usize) % phrase_bars
            };
            row.extend((0..phrase_bars).map(|i| f32::from(u8::from(i == phrase))));
            row.extend((0..genres).map(|i| f32::from(u8::from(i == genre))));
            row.extend((0..meters).map(|i| f32::from(u8::from(i == meter_row))));
            row.push(ctx.bar_energy(bar));
            let probs = self.model.infer(row)?;

            let mut hits = [false; VOICES];
            for (v, p) in probs.iter().enumerate().take(VOICES) {
                let a = p.powf(sharpen);
                let b = (1.0 - p).powf(sharpen);
                hits[v] = rng.chance(a / (a + b).max(1e-9));
            }
            // The arrangement: a breakdown drops the kick, backbeat and toms; the bar before a
            // drop gets a snare roll that rises into it; a crash opens every section after the
            // first one that has a kick.
            if name == SectionKind::Breakdown {
                for v in [KICK, SNARE, CLAP, TOM_HIGH, TOM_LOW] {
                    hits[v as usize] = false;
                }
            }
            let roll = name.leads_in() && last_bar_of_section && in_bar >= half;
            if roll {
                hits[SNARE as usize] = in_bar >= spb - spb / 4 || in_bar.is_multiple_of(2);
                hits[TOM_HIGH as usize] = false;
                hits[TOM_LOW as usize] = false;
            }
            if bar_in_section == 0 && in_bar == 0 {
                hits[CRASH as usize] =
                    bar > 0 && !matches!(name, SectionKind::Breakdown | SectionKind::Intro);
            }
            // One cymbal at a time, and an open hat chokes the closed one.
            if hits[CRASH as usize] {
                hits[HAT_CLOSED as usize] = false;
                hits[HAT_OPEN as usize] = false;
            }
            if hits[HAT_OPEN as usize] {
                hits[HAT_CLOSED as usize] = false;
            }
            history.drain(..VOICES);
            history.extend(hits.iter().map(|h| f32::from(u8::from(*h))));

            for (v, hit) in hits.iter().enumerate() {
                if !hit {
                    continue;
                }
                let voice = v as u8;
                let velocity = if roll && voice == SNARE {
                    0.45 + 0.5 * (in_bar - half) as f32 / half as f32
                } else {
                    humanizer.velocity(voice, in_bar, rng)
                };
                let time = ctx.step_time(step) + humanizer.offset(voice, in_bar, rng);
                notes.push(Note {
                    time: time.max(0.0),
                    duration: VOICE_SECONDS[v],
                    // the genre's percussion: side stick, clave, shaker, cowbell…
                    pitch: if voice == PERC {
                        input.intent.perc_note
                    } else {
                        GM_NOTES[v]
                    },
                    velocity,
                    voice,
                    step,
                });
            }
        }
        Ok(Part {
            track: TrackType::Drums,
            style: input.intent.drum_style.clone(),
            notes,
        })
    }
}
