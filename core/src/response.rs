//! GenerationResponse: the record of one finished generation — what was understood, the
//! context the tracks were generated in, where every file is, the measured QA figures and
//! how long each stage took. Written to `generations.response` and `response.json`.

use crate::context::GenerationContext;
use crate::language::{MusicalIntent, ParsedPrompt};
use crate::track::TrackType;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use ulid::Ulid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GenerationStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl GenerationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            GenerationStatus::Queued => "queued",
            GenerationStatus::Running => "running",
            GenerationStatus::Succeeded => "succeeded",
            GenerationStatus::Failed => "failed",
            GenerationStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => Self::Queued,
            "running" => Self::Running,
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
}

impl fmt::Display for GenerationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One stored object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectRef {
    /// Key inside the store (`generations/<id>/stems/bass.wav`).
    pub key: String,
    /// URI for people and lock URIs: `s3://bucket/key`, or `store:<key>` for a local-folder
    /// store (never a server path).
    pub uri: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackOutput {
    pub audio: ObjectRef,
    /// Separate channel stems (drums: kick, snare, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub channels: BTreeMap<String, ObjectRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub midi: Option<ObjectRef>,
    pub duration_seconds: f64,
    pub sample_rate: u32,
    pub peak_dbfs: f64,
    /// Locked: carried over unchanged from `source`.
    pub locked: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Number of note/drum events the generator produced (0 for locked tracks).
    pub events: usize,
    /// The instrument that played it ("synth reese", "sampled upright bass"...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instrument: Option<String>,
    /// Its processor chain, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processing: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MixOutput {
    pub audio: ObjectRef,
    /// EBU R128 integrated loudness of the master (LUFS).
    pub integrated_lufs: f64,
    /// True peak of the master (dBTP, 4× oversampled).
    pub true_peak_dbtp: f64,
    pub peak_dbfs: f64,
    pub rms_dbfs: f64,
    /// A seamless loop's length: every stem and the mix are exactly this long and repeat
    /// without a seam.
    #[serde(default, rename = "loop", skip_serializing_if = "Option::is_none")]
    pub looped: Option<LoopLength>,
}

/// The length of a seamless loop.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LoopLength {
    pub bars: u32,
    /// Sample frames per channel.
    pub samples: u64,
}

/// What the worker measured on its own output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaReport {
    /// Tempo estimated from the rendered drums (None when there are no drums).
    pub measured_tempo_bpm: Option<f64>,
    /// Drums↔bass time-frequency separation of the stems (1 = no shared cells).
    #[serde(default)]
    pub frequency_separation: Option<f64>,
    /// Share of bass onsets within 30 ms of the drums' 16th grid.
    #[serde(default)]
    pub rhythmic_coherence: Option<f64>,
    /// Key heard in the pitched stems (bass, harmony, melody), by analysis of the audio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_key: Option<crate::theory::Key>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_confidence: Option<f64>,
    pub duration_seconds: f64,
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageTiming {
    pub stage: String,
    pub seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationResponse {
    pub id: Ulid,
    pub status: GenerationStatus,
    pub prompt: String,
    pub parsed: ParsedPrompt,
    pub intent: MusicalIntent,
    pub context: GenerationContext,
    pub tracks: BTreeMap<TrackType, TrackOutput>,
    pub mix: MixOutput,
    pub qa: QaReport,
    pub timings: Vec<StageTiming>,
    pub generation_seconds: f64,
    pub worker: String,
    pub attempt: u32,
    /// Model name → sha256 of the ONNX file that produced the tracks.
    pub models: BTreeMap<String, String>,
}
