//! Stage `encode`: WAV of the mix, of every generated stem and drum channel, and MIDI of
//! every generated part. Locked stems are not re-encoded (upload stores their bytes).

use super::{Job, blocking};
use crate::midi;
use crate::pipeline::JobError;
use resonantgen_core::TrackType;
use resonantgen_core::audio::encode_wav;
use resonantgen_core::rng::fnv1a;

pub async fn run(job: &mut Job<'_>) -> Result<(), JobError> {
    let mixed = job.mixed()?;
    let parts = job.parts.clone();
    let (sr, bits, seed) = (job.ctx.sample_rate, job.ctx.bit_depth, job.seed);
    let keys = job.keys.clone();
    let locked: Vec<TrackType> = job.locked.keys().cloned().collect();
    // Each MIDI file names and programs the instrument that rendered its part.
    let metas: Vec<(TrackType, midi::MidiMeta)> = parts
        .keys()
        .map(|t| (*t, midi::MidiMeta::for_track(&job.ctx, &job.intent, *t)))
        .collect();
    job.encoded = blocking("encode", move || {
        let mut out = Vec::new();
        // Dither noise seeded per object: the same request encodes to the same bytes.
        let wav = |data: &[f32], name: &str| {
            encode_wav(data, 2, sr, bits, fnv1a(name.as_bytes()) ^ seed)
                .map_err(|e| JobError::Permanent(format!("encode {name}: {e}")))
        };
        out.push((keys.mix(), wav(&mixed.mix, "mix")?));
        for (track, data) in &mixed.stems {
            if !locked.contains(track) {
                out.push((keys.stem(track), wav(data, track.as_str())?));
            }
        }
        let drums = TrackType::Drums;
        for (channel, data) in &mixed.channels {
            out.push((keys.channel(&drums, channel), wav(data, channel)?));
        }
        for (track, meta) in &metas {
            let Some(part) = parts.get(track) else {
                continue;
            };
            let bytes = midi::part_to_midi_with(part, meta)
                .map_err(|e| JobError::Permanent(format!("midi {track}: {e}")))?;
            out.push((keys.midi(track), bytes));
        }
        Ok::<_, JobError>(out)
    })
    .await??;
    Ok(())
}
