//! ResonantGen's infrastructure: everything that talks to Postgres, the job queue or the
//! object store, so the musical core (`resonantgen-core`) stays pure.
//!
//! Postgres is reached only through this crate. Every SQL statement lives in the module of
//! its table — `generations`, `batches`, `scenes`, `events` (generation_events) — and
//! `tasks` is the one module that reads or writes apalis's own tables. `db` connects and
//! migrates; `queue`, `batch` and `prune` compose table operations into the queue's
//! transactions; `store` is the object store (S3 or a local folder); `config` the settings
//! both binaries read from the environment.

pub mod batch;
pub mod batches;
pub mod config;
pub mod db;
pub mod events;
pub mod generations;
pub mod prune;
pub mod queue;
pub mod scenes;
pub mod store;
pub mod takes;
pub mod tasks;
