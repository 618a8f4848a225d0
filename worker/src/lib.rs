//! ResonantGen's render worker: takes generation jobs from the Postgres queue, generates each
//! track (ONNX step models and idiom generators over a shared context), renders instruments,
//! mixes, and stores stems, drum channels, MIDI, the mix and the response.

pub mod codec;
pub mod events;
pub mod faults;
pub mod generators;
pub mod job;
pub mod locks;
pub mod midi;
pub mod mix;
pub mod onnx;
pub mod pipeline;
pub mod processors;
pub mod production;
pub mod qa;
pub mod render;
pub mod stages;
pub mod step_model;
pub mod telemetry;
pub mod watchdog;
