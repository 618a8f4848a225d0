//! The language layer: Prompt Parser (text → `ParsedPrompt`, with the words it did not
//! understand) → Musical Intent Extractor (→ per-track `MusicalIntent`) → Parameter Mapper
//! (request + prompt + genre defaults → `GenerationContext`, conflicts reported).

pub mod genre;
pub mod intent;
pub mod mapper;
pub mod parser;
pub mod vocabulary;

pub use genre::{Balance, GenreProfile, genre_by_name};
pub use intent::{MusicalIntent, MusicalIntentExtractor, TrackIntent};
pub use mapper::Mapped;
pub use parser::{InstrumentDescriptor, ParsedPrompt, PromptParser};
