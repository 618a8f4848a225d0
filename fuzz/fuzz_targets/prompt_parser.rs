//! Any text as a prompt: parsing, intent and mapping never panic, and an accepted request maps
//! to a context in range.
#![no_main]
use libfuzzer_sys::fuzz_target;
use resonantgen_core::GenerationRequest;
use resonantgen_core::language::{PromptParser, mapper};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let parsed = PromptParser::parse(text);
    let request = GenerationRequest::new(text);
    if request.validate().is_ok()
        && let Ok(m) = mapper::map(&request, &parsed, 1)
    {
        assert!((40.0..=240.0).contains(&m.context.tempo_bpm));
    }
});
