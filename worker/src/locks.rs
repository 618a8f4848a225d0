//! Track Lock Manager: loads the stems a user keeps from S3, the store, or an earlier
//! generation. The stem's bytes are carried into the output unchanged. For our own
//! generations the exact symbolic sidecar is read (response.json's context: tempo, key,
//! chords; the MIDI: the notes), for foreign audio the analysis (shared::analysis): tempo and
//! beat phase, groove, and — when the stem is tonal — key and chords. The Context Manager
//! takes them, so the unlocked tracks are generated to fit.

use resonantgen_shared::GenerationContext;
use resonantgen_shared::TrackType;
use resonantgen_shared::audio::{AudioError, Pcm, decode_wav};
use resonantgen_shared::lock_uri::LockUri;
use resonantgen_shared::response::GenerationResponse;
use resonantgen_shared::store::{GenerationKeys, ObjectStore, StoreError};
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

/// Which of the context's settings the request fixed itself (a lock does not override them).
#[derive(Debug, Clone, Copy)]
pub struct Requested {
    pub tempo: bool,
    pub key: bool,
    pub sample_rate: bool,
}

/// Adopts every locked stem into the context: our own stems' sidecars (tempo, key, swing,
/// chords), foreign audio's analysis (it cannot follow us, so we follow it), and the stems'
/// sample rate. Each change is noted in the context's conflicts. Returns the context and the
/// onset grid of locked foreign drums, if any. CPU work (the analysis): call it off the
/// async threads.
pub fn adopt_all(
    mut ctx: GenerationContext,
    locked: &BTreeMap<TrackType, LockedStem>,
    request: Requested,
) -> (GenerationContext, Option<Vec<(usize, u8)>>) {
    let mut foreign_groove = None;
    for stem in locked.values() {
        if let Some(sidecar) = &stem.sidecar
            && let Some(note) =
                adopt_sidecar(&mut ctx, sidecar, request.tempo, request.key, &stem.source)
        {
            ctx.conflicts.push(note);
        }
        if stem.sidecar.is_none() {
            // The genre settles half-/double-time readings (drum & bass is 174, not 87).
            let hints = resonantgen_shared::analysis::Hints::for_genre(&ctx.genre, ctx.tempo_bpm);
            match crate::codec::for_track(stem.track).encode(&stem.pcm, &hints) {
                Ok(a) => {
                    let adopted = adopt_analysis(&mut ctx, stem, &a, request.key);
                    ctx.conflicts.extend(adopted.notes);
                    if let Some(steps) = adopted.groove_steps {
                        foreign_groove = Some(steps);
                    }
                }
                Err(e) => ctx
                    .conflicts
                    .push(format!("locked {} could not be analysed: {e}", stem.track)),
            }
        }
        if stem.pcm.sample_rate != ctx.sample_rate {
            if !request.sample_rate && [44_100, 48_000].contains(&stem.pcm.sample_rate) {
                ctx.sample_rate = stem.pcm.sample_rate;
            } else {
                ctx.conflicts.push(format!(
                    "locked {} is {} Hz: resampled to {} Hz in the mix; its stem is kept as \
                     uploaded",
                    stem.track, stem.pcm.sample_rate, ctx.sample_rate
                ));
            }
        }
    }
    (ctx, foreign_groove)
}

/// What a foreign stem's analysis changed in the context, and the groove it brings.
pub struct Adopted {
    pub notes: Vec<String>,
    /// Kick-like grid of a rhythmic stem: (16th step, pitch 36) where its onsets are strong.
    pub groove_steps: Option<Vec<(usize, u8)>>,
}

/// Adopts what the analysis of foreign audio (no sidecar) says. A locked stem cannot change
/// speed, so everything generated around it takes its tempo and beat phase — over the prompt,
/// and over the request (reported as a conflict). A tonal stem sets the key and the chords
/// unless the request fixed the key.
pub fn adopt_analysis(
    ctx: &mut GenerationContext,
    stem: &LockedStem,
    analysis: &resonantgen_shared::analysis::Analysis,
    request_key: bool,
) -> Adopted {
    let mut notes = Vec::new();
    let what = format!("locked {} ({})", stem.track, stem.source);
    let rhythmic = matches!(stem.track, TrackType::Drums) || analysis.tempo_confidence >= 0.3;
    if rhythmic && (40.0..=240.0).contains(&analysis.tempo_bpm) {
        let bpm = (analysis.tempo_bpm * 10.0).round() / 10.0;
        if (bpm - ctx.tempo_bpm).abs() / ctx.tempo_bpm >= 0.005 {
            let was = ctx.tempo_bpm;
            let chords = ctx.chords.clone();
            let period = chords.len().clamp(1, 4);
            ctx.retime(bpm, &chords[..period]);
            notes.push(format!(
                "tempo {bpm} bpm measured from {what} replaces {was} bpm"
            ));
        }
        // The grid starts at 0 s: loops are cut on the beat. (The analysis's beat phase can
        // lock onto loud off-beat hats, so it is not followed.)
    }
    if analysis.tonal && !request_key {
        if ctx.key != analysis.key {
            notes.push(format!(
                "key {} measured from {what} replaces {}",
                analysis.key, ctx.key
            ));
            ctx.key = analysis.key;
        }
        if !analysis.chords.is_empty() {
            let tempo = ctx.tempo_bpm;
            let asked = ctx.chords_requested.then(|| ctx.chord_symbols.clone());
            ctx.retime(tempo, &analysis.chords);
            report_chord_clash(ctx, asked, &what);
            notes.push(format!("chords taken from {what}"));
        }
    }
    // The stem's onset pattern as a groove: strong steps of its bar act as kicks — only when
    // the analysis's bar starts where ours does (its step pattern is read from its phase).
    let beat = 60.0 / ctx.tempo_bpm;
    let phase = analysis.beat_phase_seconds.rem_euclid(beat);
    let aligned = phase < 0.02 || phase > beat - 0.02;
    let groove_steps = (matches!(stem.track, TrackType::Drums) && aligned).then(|| {
        let bars = (analysis.duration_seconds / (240.0 / ctx.tempo_bpm))
            .ceil()
            .max(1.0) as usize;
        (0..bars * 16)
            .filter(|s| analysis.groove.step_strength[s % 16] >= 0.6)
            .map(|s| (s, 36u8))
            .collect()
    });
    Adopted {
        notes,
        groove_steps,
    }
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
    if ctx.swing != sidecar.swing || ctx.swing_unit != sidecar.swing_unit {
        ctx.swing = sidecar.swing;
        ctx.swing_unit = sidecar.swing_unit;
        taken.push("swing");
    }
    // Chords follow the locked stem's bars, repeating its progression past its end.
    if !sidecar.chords.is_empty() {
        let tempo = ctx.tempo_bpm;
        let asked = ctx.chords_requested.then(|| ctx.chord_symbols.clone());
        ctx.retime(tempo, &sidecar.chords);
        report_chord_clash(ctx, asked, &format!("locked {source}"));
        taken.push("chords");
    }
    (!taken.is_empty()).then(|| format!("{} taken from locked {source}", taken.join(", ")))
}

/// A locked stem's chords win over requested ones (its notes cannot change); when they
/// differ, the response says so, bar by bar where they part.
fn report_chord_clash(ctx: &mut GenerationContext, asked: Option<Vec<String>>, source: &str) {
    let Some(asked) = asked else { return };
    ctx.chords_requested = false;
    let differ: Vec<String> = asked
        .iter()
        .zip(&ctx.chord_symbols)
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .take(4)
        .map(|(bar, (a, b))| format!("bar {}: {a} asked, {b} played", bar + 1))
        .collect();
    if !differ.is_empty() {
        ctx.conflicts.push(format!(
            "chords: the {source} plays other chords than the request names ({}); \
             using the lock's",
            differ.join("; ")
        ));
    }
}
