//! GenerationRequest: what a user submits, and its validation at the edge. A request that
//! fails validation is rejected with the reason and never enqueued.
//!
//! Lengths count characters (Unicode scalar values), as JSON Schema's `maxLength` does, so
//! the OpenAPI document and the server agree on what fits.

use crate::lock_uri::{LockUri, LockUriError};
use crate::text::{self, TextError};
use crate::theory::{Key, KeyParseError};
use crate::track::TrackType;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const MIN_DURATION_SECONDS: f64 = 1.0;
pub const MAX_DURATION_SECONDS: f64 = 600.0;
pub const DEFAULT_DURATION_SECONDS: f64 = 30.0;
pub const MIN_TEMPO: f64 = 40.0;
pub const MAX_TEMPO: f64 = 240.0;
/// Longest prompt, in characters.
pub const MAX_PROMPT_CHARS: usize = 4096;
/// Longest idempotency key, in characters.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 200;
pub const SAMPLE_RATES: [u32; 2] = [44_100, 48_000];
pub const BIT_DEPTHS: [u16; 2] = [16, 24];
pub const DEFAULT_LOUDNESS_LUFS: f64 = -14.0;
/// Most takes one request may ask for (`variations`).
pub const MAX_VARIATIONS: u32 = 16;
pub const LOUDNESS_RANGE_LUFS: (f64, f64) = (-30.0, -6.0);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerationRequest {
    pub prompt: String,
    /// Length of every stem and the mix; default from the prompt, else 30 s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
    /// Seed for every random choice; default derived from the generation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Tracks to produce; default all registered tracks less those the prompt excludes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracks: Option<Vec<TrackType>>,
    /// Stems the user keeps: track → lock URI.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub locked_tracks: BTreeMap<TrackType, String>,
    /// Overrides the prompt's tempo (bpm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tempo: Option<f64>,
    /// Overrides the prompt's key ("A minor").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bit_depth: Option<u16>,
    /// Integrated loudness of the mix in LUFS (EBU R128); default -14.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loudness_target: Option<f64>,
    /// A chord progression every pitched track follows ("Am F C G", "ii-V-I", "Am:2 F:2",
    /// "12-bar blues"); overrides the prompt's. It cycles to fill the piece.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chords: Option<String>,
    /// The meter ("3/4", "6/8", "7/8", "5/4", "12/8", "4/4"); overrides the prompt's. The
    /// tempo counts quarter notes in every meter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_signature: Option<String>,
    /// A seamless loop: the duration snaps to whole bars and every tail wraps onto the start,
    /// so each stem and the mix repeat without a seam ("loop" in the prompt asks the same).
    #[serde(default, rename = "loop", skip_serializing_if = "Option::is_none")]
    pub looped: Option<bool>,
    /// The sections in order, `[{"name": "intro", "bars": 8}, …]` (structure as a control):
    /// energy and instrumentation follow them and the piece's length is their bars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sections: Option<Vec<crate::form::SectionRequest>>,
    /// Takes of this request (1–16): that many generations, one batch, sharing tempo, key,
    /// chords and arrangement (one seed) and differing in the parts (take 0, 1, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variations: Option<u32>,
    /// Which take this is: 0 (the default) plays the seed's own parts; another number plays
    /// other parts over the same plan — tempo, key, chords, arrangement — of the same seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub take: Option<u32>,
    /// Re-submitting with the same key returns the first generation instead of a new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValidationError {
    #[error("prompt is empty")]
    EmptyPrompt,
    #[error("prompt is {0} characters; the limit is {MAX_PROMPT_CHARS}")]
    PromptTooLong(usize),
    #[error("duration {0} s is outside {MIN_DURATION_SECONDS}–{MAX_DURATION_SECONDS} s")]
    Duration(f64),
    #[error("tempo {0} bpm is outside {MIN_TEMPO}–{MAX_TEMPO} bpm")]
    Tempo(f64),
    #[error("sample rate {0} Hz is not supported (44100 or 48000)")]
    SampleRate(u32),
    #[error("bit depth {0} is not supported (16 or 24)")]
    BitDepth(u16),
    #[error("loudness target {0} LUFS is outside -30 to -6 LUFS")]
    Loudness(f64),
    #[error(transparent)]
    Key(#[from] KeyParseError),
    #[error(transparent)]
    Chords(#[from] crate::progression::ProgressionError),
    #[error(transparent)]
    Sections(#[from] crate::form::FormError),
    #[error(transparent)]
    TimeSignature(#[from] crate::meter::MeterError),
    #[error("sections: {0}")]
    SectionsDontFit(String),
    #[error("locked track {track}: {source}")]
    LockUri {
        track: TrackType,
        source: LockUriError,
    },
    #[error(
        "track {0} is both locked and listed in 'tracks' to generate; a locked track is kept as is"
    )]
    LockedAndRequested(TrackType),
    #[error("'tracks' is empty and nothing is locked: there is nothing to generate")]
    NoTracks,
    /// An `s3://` lock the store's configuration cannot read (the worker would refuse it).
    #[error("locked_tracks.{track}: {reason}")]
    LockBucket { track: TrackType, reason: String },
    /// The prompt leaves every track out ("no drums no bass no harmony no melody").
    #[error(
        "prompt: it leaves out every track ({0}) and nothing is locked: there is nothing to \
         generate"
    )]
    NothingToGenerate(String),
    #[error("track {0} is listed twice")]
    DuplicateTrack(TrackType),
    #[error("variations: {0} takes asked for; one request makes 1–{MAX_VARIATIONS}")]
    Variations(u32),
    #[error("idempotency_key must be 1–{MAX_IDEMPOTENCY_KEY_CHARS} characters")]
    IdempotencyKey,
    /// Text that cannot be stored (a NUL), naming the field.
    #[error(transparent)]
    Text(#[from] TextError),
}

impl ValidationError {
    /// A stable short name of the problem (catalog reports count invalid lines by it).
    pub fn code(&self) -> &'static str {
        match self {
            ValidationError::EmptyPrompt => "empty_prompt",
            ValidationError::PromptTooLong(_) => "prompt_too_long",
            ValidationError::Duration(_) => "duration",
            ValidationError::Tempo(_) => "tempo",
            ValidationError::SampleRate(_) => "sample_rate",
            ValidationError::BitDepth(_) => "bit_depth",
            ValidationError::Loudness(_) => "loudness_target",
            ValidationError::Key(_) => "key",
            ValidationError::Chords(_) => "chords",
            ValidationError::TimeSignature(_) => "time_signature",
            ValidationError::Sections(_) | ValidationError::SectionsDontFit(_) => "sections",
            ValidationError::LockUri { .. } => "lock_uri",
            ValidationError::LockedAndRequested(_) => "locked_and_requested",
            ValidationError::NoTracks => "no_tracks",
            ValidationError::LockBucket { .. } => "lock_bucket",
            ValidationError::NothingToGenerate(_) => "nothing_to_generate",
            ValidationError::DuplicateTrack(_) => "duplicate_track",
            ValidationError::Variations(_) => "variations",
            ValidationError::IdempotencyKey => "idempotency_key",
            ValidationError::Text(_) => "unstorable_text",
        }
    }
}

impl GenerationRequest {
    pub fn new(prompt: impl Into<String>) -> Self {
        GenerationRequest {
            prompt: prompt.into(),
            duration_seconds: None,
            seed: None,
            tracks: None,
            locked_tracks: BTreeMap::new(),
            tempo: None,
            key: None,
            sample_rate: None,
            bit_depth: None,
            loudness_target: None,
            chords: None,
            time_signature: None,
            looped: None,
            sections: None,
            variations: None,
            take: None,
            idempotency_key: None,
            priority: None,
        }
    }

    /// Checks everything that can be checked without I/O; the first problem is returned.
    pub fn validate(&self) -> Result<(), ValidationError> {
        // Storable text first: every later message may quote the text.
        text::check("prompt", &self.prompt)?;
        if let Some(k) = &self.key {
            text::check("key", k)?;
        }
        if let Some(c) = &self.chords {
            text::check("chords", c)?;
        }
        if let Some(m) = &self.time_signature {
            text::check("time_signature", m)?;
        }
        for (track, uri) in &self.locked_tracks {
            text::check(&format!("locked_tracks.{track}"), uri)?;
        }
        if let Some(k) = &self.idempotency_key {
            text::check("idempotency_key", k)?;
        }
        for (i, section) in self.sections.iter().flatten().enumerate() {
            text::check(&format!("sections[{i}].name"), &section.name)?;
        }
        let prompt_chars = self.prompt.chars().count();
        if prompt_chars > MAX_PROMPT_CHARS {
            return Err(ValidationError::PromptTooLong(prompt_chars));
        }
        if self.prompt.trim().is_empty() {
            return Err(ValidationError::EmptyPrompt);
        }
        if let Some(d) = self.duration_seconds
            && !(MIN_DURATION_SECONDS..=MAX_DURATION_SECONDS).contains(&d)
        {
            return Err(ValidationError::Duration(d));
        }
        if let Some(t) = self.tempo
            && !(MIN_TEMPO..=MAX_TEMPO).contains(&t)
        {
            return Err(ValidationError::Tempo(t));
        }
        if let Some(sr) = self.sample_rate
            && !SAMPLE_RATES.contains(&sr)
        {
            return Err(ValidationError::SampleRate(sr));
        }
        if let Some(b) = self.bit_depth
            && !BIT_DEPTHS.contains(&b)
        {
            return Err(ValidationError::BitDepth(b));
        }
        if let Some(n) = self.variations
            && !(1..=MAX_VARIATIONS).contains(&n)
        {
            return Err(ValidationError::Variations(n));
        }
        if let Some(l) = self.loudness_target
            && !(LOUDNESS_RANGE_LUFS.0..=LOUDNESS_RANGE_LUFS.1).contains(&l)
        {
            return Err(ValidationError::Loudness(l));
        }
        if let Some(k) = &self.key {
            Key::parse(k)?;
        }
        if let Some(c) = &self.chords {
            crate::progression::Progression::parse(c)?;
        }
        if let Some(m) = &self.time_signature {
            crate::meter::Meter::parse(m)?;
        }
        if let Some(sections) = &self.sections {
            crate::form::Form::from_request(sections)?;
            if self.looped == Some(true) {
                return Err(ValidationError::SectionsDontFit(
                    "a loop is one section; ask for sections or loop: true, not both".into(),
                ));
            }
            // Their length depends on the tempo the prompt or genre sets: map it to know.
            let parsed = crate::language::PromptParser::parse(&self.prompt);
            if let Err(crate::context::ContextError::Sections(why)) =
                crate::language::mapper::map(self, &parsed, 0)
            {
                return Err(ValidationError::SectionsDontFit(why));
            }
        }
        for (track, uri) in &self.locked_tracks {
            let lock = LockUri::parse(uri).map_err(|source| ValidationError::LockUri {
                track: *track,
                source,
            })?;
            if let LockUri::S3 { bucket, .. } = &lock {
                crate::lock_uri::LockBuckets::configured()
                    .check(bucket)
                    .map_err(|reason| ValidationError::LockBucket {
                        track: *track,
                        reason,
                    })?;
            }
        }
        if let Some(tracks) = &self.tracks {
            let mut seen = std::collections::BTreeSet::new();
            for t in tracks {
                if !seen.insert(t) {
                    return Err(ValidationError::DuplicateTrack(*t));
                }
                if self.locked_tracks.contains_key(t) {
                    return Err(ValidationError::LockedAndRequested(*t));
                }
            }
            if tracks.is_empty() && self.locked_tracks.is_empty() {
                return Err(ValidationError::NoTracks);
            }
        }
        self.check_something_to_generate()?;
        if let Some(k) = &self.idempotency_key
            && (k.is_empty() || k.chars().count() > MAX_IDEMPOTENCY_KEY_CHARS)
        {
            return Err(ValidationError::IdempotencyKey);
        }
        Ok(())
    }

    /// With no `tracks` list and nothing locked, the tracks are those the prompt does not
    /// leave out: a prompt that leaves out all of them is refused here, not in the worker.
    fn check_something_to_generate(&self) -> Result<(), ValidationError> {
        if self.tracks.is_some() || !self.locked_tracks.is_empty() {
            return Ok(());
        }
        let excluded = crate::language::PromptParser::parse(&self.prompt).excluded_tracks;
        let all = TrackType::all();
        if all.iter().all(|t| excluded.contains(t)) {
            let names: Vec<String> = all.iter().map(|t| t.to_string()).collect();
            return Err(ValidationError::NothingToGenerate(names.join(", ")));
        }
        Ok(())
    }

    /// SHA-256 (hex) of the request without its idempotency key, as stored: stored beside
    /// the key, so the same key with a different request is told apart from a retry.
    /// Serialization is canonical (fields in declaration order, maps sorted, numbers as
    /// f64), so `30` and `30.0`, or fields in another order, hash the same.
    /// The takes `variations` asks for: one request each, all on one seed (`seed` when the
    /// request names none), numbered from the request's `take` on. Each take keeps the
    /// idempotency key, suffixed `#take<N>`, so re-sending the request finds them again.
    pub fn takes(&self, seed: u64) -> Vec<GenerationRequest> {
        let first = self.take.unwrap_or(0);
        (0..self.variations.unwrap_or(1))
            .map(|i| {
                let mut r = self.clone();
                r.variations = None;
                r.seed = Some(self.seed.unwrap_or(seed));
                r.take = Some(first.saturating_add(i));
                r.idempotency_key = self
                    .idempotency_key
                    .as_ref()
                    .map(|k| format!("{k}#take{}", first.saturating_add(i)));
                r
            })
            .collect()
    }

    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut bare = self.clone();
        bare.idempotency_key = None;
        let bytes = serde_json::to_vec(&bare).unwrap_or_default();
        Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Parsed lock URIs (call after `validate`).
    pub fn locks(&self) -> Result<BTreeMap<TrackType, LockUri>, ValidationError> {
        self.locked_tracks
            .iter()
            .map(|(t, u)| {
                LockUri::parse(u)
                    .map(|l| (*t, l))
                    .map_err(|source| ValidationError::LockUri { track: *t, source })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_default_request() {
        GenerationRequest::new("dark techno").validate().unwrap();
    }

    #[test]
    fn rejects_with_reasons() {
        let mut r = GenerationRequest::new("techno");
        r.tempo = Some(300.0);
        assert_eq!(
            r.validate().unwrap_err().to_string(),
            "tempo 300 bpm is outside 40–240 bpm"
        );

        let mut r = GenerationRequest::new("techno");
        r.duration_seconds = Some(0.5);
        assert!(r.validate().unwrap_err().to_string().contains("duration"));

        assert_eq!(
            GenerationRequest::new("  ").validate(),
            Err(ValidationError::EmptyPrompt)
        );
        let long = GenerationRequest::new("x".repeat(MAX_PROMPT_CHARS + 1));
        assert!(matches!(
            long.validate(),
            Err(ValidationError::PromptTooLong(4097))
        ));

        let mut r = GenerationRequest::new("techno");
        r.locked_tracks.insert(TrackType::Drums, "../x.wav".into());
        assert!(
            r.validate()
                .unwrap_err()
                .to_string()
                .starts_with("locked track drums")
        );

        let mut r = GenerationRequest::new("techno");
        r.sample_rate = Some(22_050);
        assert!(r.validate().is_err());

        let mut r = GenerationRequest::new("waltz");
        r.time_signature = Some("9/8".into());
        let e = r.validate().unwrap_err();
        assert_eq!(e.code(), "time_signature");
        assert!(
            e.to_string()
                .starts_with("time_signature: 9/8 is not supported"),
            "{e}"
        );
        r.time_signature = Some("three four".into());
        assert_eq!(r.validate().unwrap_err().code(), "time_signature");
        r.time_signature = Some("6/8".into());
        r.validate().unwrap();
    }

    #[test]
    fn a_prompt_that_leaves_out_every_track_is_refused() {
        let r = GenerationRequest::new("no drums no bass no harmony no melody");
        let e = r.validate().unwrap_err();
        assert!(matches!(e, ValidationError::NothingToGenerate(_)), "{e}");
        assert!(e.to_string().starts_with("prompt: "), "{e}");
        // A lock, or an explicit track list, leaves something to do.
        let mut locked = r.clone();
        locked
            .locked_tracks
            .insert(TrackType::Drums, "uploads/a.wav".into());
        locked.validate().unwrap();
        let mut listed = r.clone();
        listed.tracks = Some(vec![TrackType::Bass]);
        listed.validate().unwrap();
        GenerationRequest::new("drums only").validate().unwrap();
    }

    #[test]
    fn prompt_length_counts_characters_like_max_length() {
        // 4,096 characters of 2–4 bytes each: within the OpenAPI maxLength, so accepted
        // (this was "prompt is 8192 bytes" before).
        for c in ["é", "音", "🎵"] {
            GenerationRequest::new(c.repeat(MAX_PROMPT_CHARS))
                .validate()
                .unwrap();
            let over = GenerationRequest::new(c.repeat(MAX_PROMPT_CHARS + 1));
            assert_eq!(
                over.validate(),
                Err(ValidationError::PromptTooLong(MAX_PROMPT_CHARS + 1))
            );
        }
        let mut r = GenerationRequest::new("techno");
        r.idempotency_key = Some("ü".repeat(MAX_IDEMPOTENCY_KEY_CHARS));
        r.validate().unwrap();
    }

    /// A field's name and how to put a NUL in it.
    type Poison = (&'static str, fn(&mut GenerationRequest));

    #[test]
    fn nul_anywhere_is_rejected_naming_the_field() {
        let cases: [Poison; 4] = [
            ("prompt", |r| r.prompt = "dark\0techno".into()),
            ("key", |r| r.key = Some("A\0 minor".into())),
            ("idempotency_key", |r| {
                r.idempotency_key = Some("k\0".into())
            }),
            ("locked_tracks.drums", |r| {
                r.locked_tracks
                    .insert(TrackType::Drums, "up\0loads/a.wav".into());
            }),
        ];
        for (field, set) in cases {
            let mut r = GenerationRequest::new("techno");
            set(&mut r);
            match r.validate() {
                Err(ValidationError::Text(e)) => assert_eq!(e.field, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn fingerprint_ignores_the_key_and_form_but_not_the_content() {
        let a: GenerationRequest = serde_json::from_str(
            r#"{"prompt": "house", "duration_seconds": 30, "idempotency_key": "k1"}"#,
        )
        .unwrap();
        let b: GenerationRequest = serde_json::from_str(
            r#"{"idempotency_key": "k2", "duration_seconds": 30.0, "prompt": "house"}"#,
        )
        .unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        let mut c = a.clone();
        c.duration_seconds = Some(31.0);
        assert_ne!(a.fingerprint(), c.fingerprint());
    }

    #[test]
    fn unknown_fields_and_tracks_fail_to_deserialize() {
        assert!(serde_json::from_str::<GenerationRequest>(r#"{"prompt":"x","tempoo":1}"#).is_err());
        assert!(
            serde_json::from_str::<GenerationRequest>(r#"{"prompt":"x","tracks":["kazoo"]}"#)
                .is_err()
        );
    }
}
