//! The codec boundary (the seed's EnCodec Interface), one [`Codec`] per track type:
//! `decode` turns a symbolic part into audio, `encode` turns audio into what the rest of the
//! system reads — tempo and beat grid, groove, key, chords (what a locked stem brings).
//! Today every track type has the [`Symbolic`] codec: our instruments one way, the audio
//! analysis of `shared::analysis` the other. A neural codec (an ONNX model that decodes
//! tokens to audio) for a track type is another implementation returned by [`for_track`]; the
//! render stage and the lock manager only ever call through this trait.

use crate::generators::Part;
use crate::render::{self, Rendered};
use resonantgen_core::analysis::{self, Analysis, AnalysisError, Hints};
use resonantgen_core::audio::Pcm;
use resonantgen_core::language::MusicalIntent;
use resonantgen_core::{GenerationContext, TrackType};

pub trait Codec: Send + Sync {
    /// A symbolic part → stereo audio of exactly the context's length (drums also per channel).
    fn decode(&self, part: &Part, ctx: &GenerationContext, intent: &MusicalIntent) -> Rendered;
    /// Audio → its musical description, with `hints` settling ambiguous readings.
    fn encode(&self, pcm: &Pcm, hints: &Hints) -> Result<Analysis, AnalysisError>;
}

/// Instruments (synthesized, or sampled from the SoundFont when one is installed) to decode;
/// the DSP analysis to encode.
pub struct Symbolic;

impl Codec for Symbolic {
    fn decode(&self, part: &Part, ctx: &GenerationContext, intent: &MusicalIntent) -> Rendered {
        let soundfont = render::sampler::available();
        let played = render::instruments::choose(part.track, intent, soundfont);
        render::render_with(part, ctx, &played)
    }

    fn encode(&self, pcm: &Pcm, hints: &Hints) -> Result<Analysis, AnalysisError> {
        analysis::analyze_with(&pcm.samples, pcm.channels, pcm.sample_rate, hints)
    }
}

/// The codec of a track type.
pub fn for_track(track: TrackType) -> &'static dyn Codec {
    match track {
        TrackType::Drums | TrackType::Bass | TrackType::Harmony | TrackType::Melody => &Symbolic,
    }
}
