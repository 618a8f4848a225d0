//! Track Lock Manager (first version): loads the stems a user keeps from S3, the store, or an
//! earlier generation. The stem's bytes are carried into the output unchanged; for our own
//! generations the exact context written beside them (response.json) is read too, so the new
//! tracks are generated in the locked stem's tempo, key and chords.

use resonantgen_shared::GenerationContext;
use resonantgen_shared::TrackType;
use resonantgen_shared::audio::{AudioError, Pcm, decode_wav};
use resonantgen_shared::lock_uri::LockUri;
use resonantgen_shared::response::GenerationResponse;
use resonantgen_shared::store::{GenerationKeys, MAX_READ_BYTES, ObjectStore, StoreError};

pub struct LockedStem {
    pub track: TrackType,
    pub source: String,
    /// The object exactly as stored: written back unchanged.
    pub bytes: Vec<u8>,
    pub pcm: Pcm,
    /// The context the stem was generated in, when it is one of ours.
    pub sidecar: Option<GenerationContext>,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("locked {track} ({source_uri}): {error}")]
    Store {
        track: TrackType,
        source_uri: String,
        error: StoreError,
    },
    #[error("locked {track} ({source_uri}) is not usable audio: {error}")]
    Audio {
        track: TrackType,
        source_uri: String,
        error: AudioError,
    },
}

impl LockError {
    /// Whether a retry could succeed (store unreachable) rather than fail the same way.
    pub fn is_transient(&self) -> bool {
        matches!(self, LockError::Store { error, .. } if error.is_transient())
    }
}

pub async fn load(
    store: &ObjectStore,
    track: &TrackType,
    lock: &LockUri,
) -> Result<LockedStem, LockError> {
    let source_uri = lock.to_string();
    let store_err = |error| LockError::Store {
        track: track.clone(),
        source_uri: source_uri.clone(),
        error,
    };
    let (bytes, sidecar) = match lock {
        LockUri::S3 { bucket, key } => (
            store
                .get_s3(bucket, key, MAX_READ_BYTES)
                .await
                .map_err(store_err)?,
            None,
        ),
        LockUri::Store { key } => (
            store.get(key, MAX_READ_BYTES).await.map_err(store_err)?,
            None,
        ),
        LockUri::Generation {
            id,
            track: source_track,
        } => {
            let keys = GenerationKeys::new(*id);
            let bytes = store
                .get(&keys.stem(source_track), MAX_READ_BYTES)
                .await
                .map_err(store_err)?;
            // The sidecar is a bonus: a missing or old response.json only loses the context.
            let sidecar = match store.get(&keys.response(), 16 << 20).await {
                Ok(json) => serde_json::from_slice::<GenerationResponse>(&json)
                    .ok()
                    .map(|r| r.context),
                Err(_) => None,
            };
            (bytes, sidecar)
        }
    };
    let pcm = decode_wav(&bytes).map_err(|error| LockError::Audio {
        track: track.clone(),
        source_uri: source_uri.clone(),
        error,
    })?;
    Ok(LockedStem {
        track: track.clone(),
        source: source_uri,
        bytes,
        pcm,
        sidecar,
    })
}

/// The tempo of foreign audio (no sidecar), measured. A locked stem cannot change speed, so
/// everything generated around it takes its tempo — over the prompt, and over the request
/// (reported as a conflict).
pub fn adopt_measured_tempo(ctx: &mut GenerationContext, stem: &LockedStem) -> Option<String> {
    let bpm =
        resonantgen_shared::features::estimate_tempo(&stem.pcm.to_stereo(), stem.pcm.sample_rate)?;
    let bpm = (bpm * 10.0).round() / 10.0;
    if (bpm - ctx.tempo_bpm).abs() / ctx.tempo_bpm < 0.005 {
        return None;
    }
    let was = ctx.tempo_bpm;
    let chords = ctx.chords.clone();
    let period = chords.len().clamp(1, 4);
    ctx.retime(bpm, &chords[..period]);
    Some(format!(
        "tempo {bpm} bpm measured from locked {} ({}) replaces {was} bpm",
        stem.track, stem.source
    ))
}

/// Adopts tempo, key, chords and sample rate from a locked stem's own context, unless the
/// request set them explicitly. Returns a note for the response when it changed anything.
pub fn adopt_sidecar(
    ctx: &mut GenerationContext,
    sidecar: &GenerationContext,
    request_tempo: bool,
    request_key: bool,
    source: &str,
) -> Option<String> {
    let mut taken = Vec::new();
    if !request_tempo && (ctx.tempo_bpm - sidecar.tempo_bpm).abs() > 1e-9 {
        ctx.tempo_bpm = sidecar.tempo_bpm;
        taken.push("tempo");
    }
    if !request_key && ctx.key != sidecar.key {
        ctx.key = sidecar.key;
        taken.push("key");
    }
    if ctx.swing != sidecar.swing {
        ctx.swing = sidecar.swing;
        taken.push("swing");
    }
    // Chords follow the locked stem's bars, repeating its progression past its end.
    if !sidecar.chords.is_empty() {
        let tempo = ctx.tempo_bpm;
        ctx.retime(tempo, &sidecar.chords);
        taken.push("chords");
    }
    (!taken.is_empty()).then(|| format!("{} taken from locked {source}", taken.join(", ")))
}
