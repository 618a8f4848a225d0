//! Track types as an open registry: adding a track type ("vocal", "percussion") is one entry
//! here plus one generator module in the worker; nothing else names track types.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What the system knows about one kind of track.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackSpec {
    pub name: &'static str,
    /// Separate channel stems written beside the summed stem (drums: kick, snare, ...).
    pub channels: &'static [&'static str],
    /// Generation order: a track reads the context written by tracks of lower order.
    pub order: u8,
    /// Frequency band the mix reserves for it, in Hz (the context's spectral allocation).
    pub band_hz: (f32, f32),
    /// Mix gain in dB before the master bus.
    pub gain_db: f32,
}

/// The registry, in generation order.
pub const REGISTRY: &[TrackSpec] = &[
    TrackSpec {
        name: "drums",
        channels: &["kick", "snare", "clap", "hats", "cymbals", "toms", "perc"],
        order: 0,
        band_hz: (30.0, 16000.0),
        gain_db: -3.0,
    },
    TrackSpec {
        name: "bass",
        channels: &[],
        order: 1,
        band_hz: (30.0, 400.0),
        gain_db: 0.0,
    },
    TrackSpec {
        name: "harmony",
        channels: &[],
        order: 2,
        band_hz: (200.0, 5000.0),
        gain_db: -1.0,
    },
    TrackSpec {
        name: "melody",
        channels: &[],
        order: 3,
        band_hz: (400.0, 8000.0),
        gain_db: -4.0,
    },
];

/// A track type name that is present in [`REGISTRY`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TrackType(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown track '{0}' (known tracks: {known})", known = known_names())]
pub struct UnknownTrack(pub String);

fn known_names() -> String {
    REGISTRY
        .iter()
        .map(|s| s.name)
        .collect::<Vec<_>>()
        .join(", ")
}

impl TrackType {
    pub fn parse(name: &str) -> Result<Self, UnknownTrack> {
        let lower = name.trim().to_ascii_lowercase();
        REGISTRY
            .iter()
            .find(|s| s.name == lower)
            .map(|s| TrackType(s.name.to_string()))
            .ok_or_else(|| UnknownTrack(name.to_string()))
    }

    /// All registered track types in generation order.
    pub fn all() -> Vec<TrackType> {
        let mut specs: Vec<&TrackSpec> = REGISTRY.iter().collect();
        specs.sort_by_key(|s| s.order);
        specs
            .into_iter()
            .map(|s| TrackType(s.name.to_string()))
            .collect()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn spec(&self) -> &'static TrackSpec {
        // Construction goes through `parse`, so the name is always registered.
        REGISTRY
            .iter()
            .find(|s| s.name == self.0)
            .unwrap_or(&REGISTRY[0])
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
        t.0
    }
}

impl fmt::Display for TrackType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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
