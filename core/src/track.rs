//! Track types: a closed enum, so every `match` on a track is exhaustive and the compiler
//! lists each place a new track type touches, and one table of per-track facts
//! ([`TrackType::spec`]). Adding a track type (the seed's VocalGen example): a variant and
//! its row here, a generator module in the worker (`worker/src/generators/`), then what the
//! compiler lists (its instrument, its rendering). docs/ARCHITECTURE.md walks through it.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;

/// What the system knows about one kind of track.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackSpec {
    pub name: &'static str,
    /// Generation order: a track reads the context written by tracks of lower order.
    pub order: u8,
    /// The kick's sidechain ducks it, so the low end belongs to one of them at a time.
    pub ducked: bool,
    /// It sounds in the key (QA measures the key of the pitched stems together).
    pub pitched: bool,
}

/// A kind of track. Ordered by name (as maps of tracks were when tracks were strings, so
/// responses and mixes keep their order); [`TrackType::ALL`] is the generation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum TrackType {
    Drums,
    Bass,
    Harmony,
    Melody,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown track '{0}' (known tracks: {known})", known = known_names())]
pub struct UnknownTrack(pub String);

fn known_names() -> String {
    TrackType::ALL
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl TrackType {
    /// Every track type, in generation order.
    pub const ALL: [TrackType; 4] = [
        TrackType::Drums,
        TrackType::Bass,
        TrackType::Harmony,
        TrackType::Melody,
    ];

    /// The per-track facts: the one table of them.
    pub const fn spec(self) -> &'static TrackSpec {
        match self {
            TrackType::Drums => &TrackSpec {
                name: "drums",
                order: 0,
                ducked: false,
                pitched: false,
            },
            TrackType::Bass => &TrackSpec {
                name: "bass",
                order: 1,
                ducked: true,
                pitched: true,
            },
            TrackType::Harmony => &TrackSpec {
                name: "harmony",
                order: 2,
                ducked: true,
                pitched: true,
            },
            TrackType::Melody => &TrackSpec {
                name: "melody",
                order: 3,
                ducked: false,
                pitched: true,
            },
        }
    }

    pub fn parse(name: &str) -> Result<Self, UnknownTrack> {
        let lower = name.trim().to_ascii_lowercase();
        TrackType::ALL
            .into_iter()
            .find(|t| t.as_str() == lower)
            .ok_or_else(|| UnknownTrack(name.to_string()))
    }

    /// All track types in generation order.
    pub fn all() -> Vec<TrackType> {
        TrackType::ALL.to_vec()
    }

    pub const fn as_str(self) -> &'static str {
        self.spec().name
    }
}

impl Ord for TrackType {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for TrackType {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl TryFrom<String> for TrackType {
    type Error = UnknownTrack;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        TrackType::parse(&s)
    }
}

impl From<TrackType> for String {
    fn from(t: TrackType) -> String {
        t.as_str().to_string()
    }
}

impl fmt::Display for TrackType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_and_rejects_unknown() {
        assert_eq!(TrackType::parse("Drums").unwrap().as_str(), "drums");
        let err = TrackType::parse("kazoo").unwrap_err().to_string();
        assert!(err.contains("kazoo") && err.contains("melody"), "{err}");
    }

    #[test]
    fn maps_keep_the_order_of_names() {
        let mut sorted = TrackType::all();
        sorted.sort();
        let names: Vec<&str> = sorted.iter().map(|t| t.as_str()).collect();
        assert_eq!(names, ["bass", "drums", "harmony", "melody"]);
        for t in TrackType::ALL {
            assert_eq!(TrackType::parse(t.as_str()), Ok(t));
        }
    }

    #[test]
    fn all_is_in_generation_order() {
        let names: Vec<String> = TrackType::all().into_iter().map(String::from).collect();
        assert_eq!(names, ["drums", "bass", "harmony", "melody"]);
    }

    #[test]
    fn serde_rejects_unknown_track() {
        assert!(serde_json::from_str::<TrackType>("\"bass\"").is_ok());
        assert!(serde_json::from_str::<TrackType>("\"kazoo\"").is_err());
    }
}
