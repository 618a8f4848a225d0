//! ResonantGen's musical core: the data contracts the scheduler and the worker both speak
//! (requests, responses, tracks, lock URIs, catalogs) and the pure music code under them —
//! the prompt language, theory, progressions, the generation context, arrangement, WAV and
//! the audio analysis.
//!
//! Pure data and functions: nothing here opens a socket, a database or a runtime (the crate
//! depends on no tokio, sqlx or aws), so the fuzzers and property tests build it alone in
//! seconds. Postgres, the queue and the object store live in `resonantgen-infra`.

pub mod analysis;
pub mod arrangement;
pub mod audio;
pub mod catalog;
pub mod context;
pub mod form;
pub mod instrument;
pub mod language;
pub mod lock_uri;
pub mod meter;
pub mod progression;
pub mod request;
pub mod response;
pub mod rng;
pub mod spectrum;
pub mod text;
pub mod theory;
pub mod track;

pub use context::GenerationContext;
pub use request::{GenerationRequest, ValidationError};
pub use response::{GenerationResponse, GenerationStatus};
pub use track::TrackType;
