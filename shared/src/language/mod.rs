//! The language layer: prompt text → what the user asked for (`ParsedPrompt`) → genre defaults
//! (`GenreProfile`). A first version; it reports the words it did not understand so users can
//! see what it missed.

pub mod genre;
pub mod parser;
pub mod vocabulary;

pub use genre::{GenreProfile, genre_by_name};
pub use parser::{InstrumentDescriptor, ParsedPrompt, PromptParser};
