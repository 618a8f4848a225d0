//! Any text as a catalog (JSONL and CSV): every line is accepted valid or reported with a
//! reason, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use resonantgen_core::catalog::{self, Defaults, Format};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for format in [Format::Jsonl, Format::Csv] {
        let c = catalog::parse(text, format, &Defaults::default());
        for line in c.lines() {
            match line {
                Ok(e) => assert!(e.request.validate().is_ok()),
                Err(e) => assert!(!e.reason.is_empty()),
            }
        }
        assert!(c.report().errors.len() <= catalog::MAX_LISTED_ERRORS);
    }
});
