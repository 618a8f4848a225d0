//! Any bytes as a locked stem: the WAV reader returns audio or an error, never panics, and
//! what it returns is finite, whole frames at a supported rate.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(pcm) = resonantgen_core::audio::decode_wav(data) {
        assert!(pcm.channels >= 1);
        assert_eq!(pcm.samples.len() % usize::from(pcm.channels), 0);
        assert!(pcm.samples.iter().all(|s| s.is_finite()));
    }
});
