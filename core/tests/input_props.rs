//! Property tests ("fuzzing" on stable Rust) of the untrusted-input readers besides the
//! prompt parser: WAV bytes (random, and valid files with bytes flipped, cut or spliced),
//! catalogs (JSONL/CSV soup) and request JSON. Each must return a value or a clear error —
//! never panic — and what it accepts must be usable. The same targets run under libFuzzer
//! with `cargo fuzz` (see fuzz/).

use proptest::prelude::*;
use resonantgen_core::GenerationRequest;
use resonantgen_core::audio::decode_wav;
use resonantgen_core::catalog::{self, Defaults, Format};

/// A small valid WAV to mutate.
fn wav(channels: u16, rate: u32, bits: u16, float: bool, frames: usize) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut w = hound::WavWriter::new(&mut out, spec).expect("spec is valid");
        for i in 0..frames * usize::from(channels) {
            let x = ((i as f32) * 0.01).sin() * 0.5;
            if float {
                w.write_sample(x).expect("in memory");
            } else {
                let max = (1i64 << (bits - 1)) - 1;
                w.write_sample((f64::from(x) * max as f64) as i32)
                    .expect("in memory");
            }
        }
        w.finalize().expect("in memory");
    }
    out.into_inner()
}

fn check_decoded(bytes: &[u8]) {
    if let Ok(pcm) = decode_wav(bytes) {
        assert!(pcm.channels >= 1);
        assert!((8_000..=192_000).contains(&pcm.sample_rate));
        assert_eq!(pcm.samples.len() % usize::from(pcm.channels), 0);
        assert!(pcm.samples.iter().all(|s| s.is_finite()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic_the_wav_reader(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        check_decoded(&bytes);
        let mut riff = b"RIFF\x24\x00\x00\x00WAVEfmt ".to_vec();
        riff.extend_from_slice(&bytes);
        check_decoded(&riff);
    }

    #[test]
    fn mutated_wavs_decode_or_fail_cleanly(
        channels in 1u16..=6,
        rate in prop::sample::select(vec![8_000u32, 22_050, 44_100, 48_000, 96_000, 192_000]),
        format in prop::sample::select(vec![(8u16, false), (16, false), (24, false), (32, false), (32, true)]),
        frames in 0usize..64,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
        cut in any::<usize>(),
    ) {
        let mut bytes = wav(channels, rate, format.0, format.1, frames);
        for (at, v) in flips {
            let n = bytes.len();
            bytes[at % n] ^= v;
        }
        check_decoded(&bytes);
        let n = bytes.len();
        check_decoded(&bytes[..cut % (n + 1)]);
    }

    #[test]
    fn catalog_soup_is_reported_line_by_line(
        lines in proptest::collection::vec(
            prop_oneof![
                Just(r#"{"prompt": "techno"}"#.to_string()),
                Just(r#"{"prompt": "", "duration_seconds": -1}"#.to_string()),
                Just("prompt,tempo".to_string()),
                Just(r#"{"prompt": "house", "external_id": 7}"#.to_string()),
                "[ -~]{0,40}",
                "\\PC{0,20}",
            ],
            0..30,
        ),
        csv in any::<bool>(),
    ) {
        let text = lines.join("\n");
        let format = if csv { Format::Csv } else { Format::Jsonl };
        let c = catalog::parse(&text, format, &Defaults::default());
        let mut valid = 0;
        for line in c.lines() {
            match line {
                Ok(e) => {
                    prop_assert!(e.request.validate().is_ok());
                    prop_assert!(e.request.idempotency_key.is_some());
                    valid += 1;
                }
                Err(e) => {
                    prop_assert!(!e.reason.is_empty());
                    prop_assert!(e.line >= 1 && e.line <= lines.len().max(1) + 1, "{e:?}");
                }
            }
        }
        prop_assert_eq!(valid, c.report().valid);
        if !csv {
            let nonblank = lines.iter().filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#')).count();
            prop_assert_eq!(c.report().valid + c.report().invalid, nonblank);
        }
    }

    #[test]
    fn request_json_either_validates_or_says_why(
        prompt in "\\PC{0,60}",
        duration in prop::option::of(-10.0f64..1000.0),
        tempo in prop::option::of(-10.0f64..500.0),
        rate in prop::option::of(0u32..200_000),
        key in prop::option::of("[A-Ha-h#b ]{0,12}(major|minor|dorian)?"),
    ) {
        let mut v = serde_json::json!({"prompt": prompt});
        if let Some(d) = duration { v["duration_seconds"] = d.into(); }
        if let Some(t) = tempo { v["tempo"] = t.into(); }
        if let Some(r) = rate { v["sample_rate"] = r.into(); }
        if let Some(k) = key { v["key"] = k.into(); }
        if let Ok(r) = serde_json::from_value::<GenerationRequest>(v) {
            match r.validate() {
                Ok(()) => prop_assert!(!r.prompt.trim().is_empty()),
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }
    }
}
