//! ResonantGen's shared crate: the data contracts and musical core that the scheduler and the
//! worker both speak, plus thin adapters to Postgres and the object store.
//!
//! The musical core (`track`, `instrument`, `theory`, `language`, `context`, `request`, `response`, `audio`,
//! `rng`, `lock_uri`) is pure data and functions; the adapters (`db`, `queue`, `store`,
//! `config`) are the only modules that do I/O.

pub mod analysis;
pub mod arrangement;
pub mod audio;
pub mod batch;
pub mod catalog;
pub mod config;
pub mod context;
pub mod db;
pub mod events;
pub mod features;
pub mod instrument;
pub mod language;
pub mod lock_uri;
pub mod progression;
pub mod prune;
pub mod queue;
pub mod request;
pub mod response;
pub mod rng;
pub mod scenes;
pub mod spectrum;
pub mod store;
pub mod text;
pub mod theory;
pub mod track;

pub use context::GenerationContext;
pub use request::{GenerationRequest, ValidationError};
pub use response::{GenerationResponse, GenerationStatus};
pub use track::TrackType;
