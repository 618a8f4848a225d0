//! The key layout of a generation's outputs. Keys are built here from the generation id and
//! registered names only — never from user text.

use resonantgen_core::track::TrackType;
use ulid::Ulid;

#[derive(Debug, Clone)]
pub struct GenerationKeys {
    prefix: String,
}

impl GenerationKeys {
    pub fn new(id: Ulid) -> Self {
        GenerationKeys {
            prefix: format!("generations/{id}"),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn mix(&self) -> String {
        format!("{}/mix.wav", self.prefix)
    }

    pub fn stem(&self, track: &TrackType) -> String {
        format!("{}/stems/{track}.wav", self.prefix)
    }

    /// A channel of a multi-channel track; `channel` must come from the track registry.
    pub fn channel(&self, track: &TrackType, channel: &str) -> String {
        format!("{}/stems/{track}/{channel}.wav", self.prefix)
    }

    pub fn midi(&self, track: &TrackType) -> String {
        format!("{}/midi/{track}.mid", self.prefix)
    }

    pub fn response(&self) -> String {
        format!("{}/response.json", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let id = Ulid::nil();
        let k = GenerationKeys::new(id);
        let drums = TrackType::Drums;
        assert_eq!(k.mix(), format!("generations/{id}/mix.wav"));
        assert_eq!(k.stem(&drums), format!("generations/{id}/stems/drums.wav"));
        assert_eq!(
            k.channel(&drums, "kick"),
            format!("generations/{id}/stems/drums/kick.wav")
        );
        assert_eq!(k.midi(&drums), format!("generations/{id}/midi/drums.mid"));
        assert_eq!(k.response(), format!("generations/{id}/response.json"));
    }
}
