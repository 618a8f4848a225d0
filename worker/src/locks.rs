//! Track Lock Manager: loads the stems a user keeps from S3, the store, or an earlier
//! generation. The stem's bytes are carried into the output unchanged. For our own
//! generations the exact symbolic sidecar is read (response.json's context: tempo, key,
//! chords; the MIDI: the notes), for foreign audio the analysis (shared::analysis): tempo and
//! beat phase, groove, and — when the stem is tonal — key and chords. The Context Manager
//! takes them, so the unlocked tracks are generated to fit.

use resonantgen_core::GenerationContext;
use resonantgen_core::TrackType;
use resonantgen_core::audio::{AudioError, Pcm, decode_wav};
use resonantgen_core::context::ContextManager;
use resonantgen_core::lock_uri::LockUri;
use resonantgen_core::response::GenerationResponse;
use resonantgen_infra::store::{GenerationKeys, ObjectStore, StoreError};
use std::collections::BTreeMap;

pub struct LockedStem {
    pub track: TrackType,
    pub source: String,
    /// The object exactly as stored: written back unchanged.
    pub bytes: Vec<u8>,
    pub pcm: Pcm,
    /// The context the stem was generated in, when it is one of ours.
    pub sidecar: Option<GenerationContext>,
    /// Its exact notes as (16th step, MIDI pitch), from the MIDI written beside our own stems.
    pub notes: Option<Vec<(usize, u8)>>,
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
    max_bytes: u64,
) -> Result<LockedStem, LockError> {
    let source_uri = lock.to_string();
    let store_err = |error| LockError::Store {
        track: *track,
        source_uri: source_uri.clone(),
        error,
    };
    let (bytes, sidecar, notes) = match lock {
        LockUri::S3 { bucket, key } => (
            store
                .get_s3(bucket, key, max_bytes)
                .await
                .map_err(store_err)?,
            None,
            None,
        ),
        LockUri::Store { key } => (
            store.get(key, max_bytes).await.map_err(store_err)?,
            None,
            None,
        ),
        LockUri::Generation {
            id,
            track: source_track,
        } => {
            let keys = GenerationKeys::new(*id);
            let bytes = store
                .get(&keys.stem(source_track), max_bytes)
                .await
                .map_err(store_err)?;
            // The sidecar is a bonus: a missing or old response.json only loses the context.
            let sidecar = match store.get(&keys.response(), 16 << 20).await {
                Ok(json) => serde_json::from_slice::<GenerationResponse>(&json)
                    .ok()
                    .map(|r| r.context),
                Err(_) => None,
            };
            // So are the stem's notes (the exact groove of locked drums).
            let notes = match store.get(&keys.midi(source_track), 16 << 20).await {
                Ok(mid) => crate::midi::midi_steps(&mid),
                Err(_) => None,
            };
            (bytes, sidecar, notes)
        }
    };
    let pcm = decode_wav(&bytes).map_err(|error| LockError::Audio {
        track: *track,
        source_uri: source_uri.clone(),
        error,
    })?;
    Ok(LockedStem {
        track: *track,
        source: source_uri,
        bytes,
        pcm,
        sidecar,
        notes,
    })
}

pub use resonantgen_core::context::Requested;

/// Adopts every locked stem into the context through the Context Manager's named
/// operations: our own stems' sidecars (tempo, key, swing, chords), foreign audio's analysis
/// (it cannot follow us, so we follow it), the stems' sample rate, and last the groove of
/// locked drums (their notes, or the strong steps of their analysis), laid over the final
/// bar count. CPU work (the analysis): call it off the async threads.
pub fn adopt_all(
    mut ctx: ContextManager,
    locked: &BTreeMap<TrackType, LockedStem>,
    request: Requested,
) -> ContextManager {
    let mut foreign_groove = None;
    for stem in locked.values() {
        match &stem.sidecar {
            Some(sidecar) => ctx.adopt_sidecar(sidecar, request, &stem.source),
            None => {
                // The genre settles half-/double-time readings (drum & bass is 174, not 87).
                let hints = resonantgen_core::analysis::Hints::for_genre(&ctx.genre, ctx.tempo_bpm);
                match crate::codec::for_track(stem.track).encode(&stem.pcm, &hints) {
                    Ok(a) => {
                        if let Some(steps) =
                            ctx.adopt_analysis(stem.track, &stem.source, &a, request)
                        {
                            foreign_groove = Some(steps);
                        }
                    }
                    Err(e) => ctx.note(format!("locked {} could not be analysed: {e}", stem.track)),
                }
            }
        }
        ctx.adopt_sample_rate(stem.track, stem.pcm.sample_rate, request);
    }
    // Locked drums of ours bring their exact notes: the bass locks to their kick.
    if let Some(notes) = locked
        .values()
        .find(|s| matches!(s.track, TrackType::Drums))
        .and_then(|s| s.notes.clone().or(foreign_groove))
    {
        ctx.adopt_drums(&notes);
    }
    ctx
}
