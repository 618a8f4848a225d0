//! Audio data and the WAV boundary (hound): interleaved f32 in memory, 16/24-bit PCM on disk.
//! Decoding accepts any PCM or float WAV so locked stems from anywhere can be read.

use crate::rng::Rng;
use serde::{Deserialize, Serialize};
use std::io::Cursor;

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("not a readable WAV file: {0}")]
    Wav(#[from] hound::Error),
    #[error("WAV uses an unsupported encoding: {0}")]
    Unsupported(String),
    #[error("WAV has no audio frames")]
    Empty,
    #[error("WAV sample rate {0} Hz is outside 8000–192000 Hz")]
    SampleRate(u32),
    #[error("WAV holds {0} non-finite (NaN or infinite) float samples")]
    NonFinite(usize),
    #[error("WAV data is cut short: {frames} whole frames, then {extra} stray samples")]
    Truncated { frames: usize, extra: usize },
}

/// Decoded WAV contents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pcm {
    pub samples: Vec<f32>,
    pub channels: u16,
    pub sample_rate: u32,
    pub bits_per_sample: u16,
}

impl Pcm {
    pub fn frames(&self) -> usize {
        self.samples.len() / self.channels.max(1) as usize
    }

    /// Stereo view: mono is duplicated, more than two channels keep the first two.
    pub fn to_stereo(&self) -> Vec<f32> {
        let ch = self.channels.max(1) as usize;
        let mut out = Vec::with_capacity(self.frames() * 2);
        for frame in self.samples.chunks_exact(ch) {
            let l = frame[0];
            let r = if ch > 1 { frame[1] } else { frame[0] };
            out.push(l);
            out.push(r);
        }
        out
    }
}

/// Decodes a WAV file of 8/16/24/32-bit integer or 32-bit float samples.
pub fn decode_wav(bytes: &[u8]) -> Result<Pcm, AudioError> {
    let mut reader = hound::WavReader::new(Cursor::new(bytes))?;
    let spec = reader.spec();
    if !(8_000..=192_000).contains(&spec.sample_rate) {
        return Err(AudioError::SampleRate(spec.sample_rate));
    }
    if spec.channels == 0 {
        return Err(AudioError::Unsupported("zero channels".into()));
    }
    let samples: Vec<f32> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => reader.samples::<f32>().collect::<Result<_, _>>()?,
        (hound::SampleFormat::Int, bits @ (8 | 16 | 24 | 32)) => {
            let scale = 1.0 / (1u64 << (bits - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()?
        }
        (fmt, bits) => {
            return Err(AudioError::Unsupported(format!("{fmt:?} {bits}-bit")));
        }
    };
    if samples.len() < spec.channels as usize {
        return Err(AudioError::Empty);
    }
    // A frame cut in half means the file was truncated mid-write.
    let extra = samples.len() % spec.channels as usize;
    if extra != 0 {
        return Err(AudioError::Truncated {
            frames: samples.len() / spec.channels as usize,
            extra,
        });
    }
    let bad = samples.iter().filter(|s| !s.is_finite()).count();
    if bad > 0 {
        return Err(AudioError::NonFinite(bad));
    }
    Ok(Pcm {
        samples,
        channels: spec.channels,
        sample_rate: spec.sample_rate,
        bits_per_sample: spec.bits_per_sample,
    })
}

/// Encodes interleaved f32 as 16- or 24-bit PCM WAV. 16-bit gets TPDF dither from a seeded
/// RNG so the same input always gives the same bytes.
pub fn encode_wav(
    samples: &[f32],
    channels: u16,
    sample_rate: u32,
    bits: u16,
    dither_seed: u64,
) -> Result<Vec<u8>, AudioError> {
    let spec = hound::WavSpec {
        channels,
        sample_rate,
        bits_per_sample: bits,
        sample_format: hound::SampleFormat::Int,
    };
    let mut cursor = Cursor::new(Vec::with_capacity(samples.len() * bits as usize / 8 + 64));
    {
        let mut w = hound::WavWriter::new(&mut cursor, spec)?;
        let max = ((1i64 << (bits - 1)) - 1) as f32;
        let mut rng = Rng::new(dither_seed, 0xd17e);
        for &s in samples {
            let s = if s.is_finite() { s } else { 0.0 };
            let dither = if bits == 16 {
                (rng.f32() - rng.f32()) / max
            } else {
                0.0
            };
            let v = ((s + dither).clamp(-1.0, 1.0) * max).round() as i32;
            w.write_sample(v)?;
        }
        w.finalize()?;
    }
    Ok(cursor.into_inner())
}

/// Peak level in dBFS (-inf for silence).
pub fn peak_dbfs(samples: &[f32]) -> f64 {
    let peak = samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    (20.0 * f64::from(peak).log10()).max(SILENCE_DB)
}

/// The level reported for silence (dBFS, LUFS): a stem can be silent (a lead resting through
/// a short take), and JSON has no −∞ — a response carrying it could not be read back.
pub const SILENCE_DB: f64 = -200.0;

/// RMS level in dBFS.
pub fn rms_dbfs(samples: &[f32]) -> f64 {
    if samples.is_empty() {
        return SILENCE_DB;
    }
    let sum: f64 = samples.iter().map(|s| f64::from(*s) * f64::from(*s)).sum();
    (10.0 * (sum / samples.len() as f64).log10()).max(SILENCE_DB)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_has_a_level_json_can_carry() {
        for level in [peak_dbfs(&[0.0; 8]), rms_dbfs(&[0.0; 8]), rms_dbfs(&[])] {
            assert_eq!(level, SILENCE_DB);
            assert!(serde_json::to_value(level).unwrap().is_number());
        }
        assert!((peak_dbfs(&[0.5, -1.0]) - 0.0).abs() < 1e-9);
    }

    fn wav(spec: hound::WavSpec, frames: usize, f: impl Fn(usize, usize) -> f64) -> Vec<u8> {
        let mut c = Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut c, spec).unwrap();
        for i in 0..frames {
            for ch in 0..spec.channels as usize {
                let v = f(i, ch);
                match (spec.sample_format, spec.bits_per_sample) {
                    (hound::SampleFormat::Float, _) => w.write_sample(v as f32).unwrap(),
                    (_, 8) => w.write_sample((v * 127.0) as i8).unwrap(),
                    (_, 16) => w.write_sample((v * 32_767.0) as i16).unwrap(),
                    (_, bits) => w
                        .write_sample((v * ((1i64 << (bits - 1)) - 1) as f64) as i32)
                        .unwrap(),
                }
            }
        }
        w.finalize().unwrap();
        c.into_inner()
    }

    #[test]
    fn any_pcm_or_float_wav_decodes_to_the_same_signal() {
        let sine = |i: usize, ch: usize| 0.5 * ((i as f64) * 0.05 + ch as f64).sin();
        for (format, bits) in [
            (hound::SampleFormat::Int, 8),
            (hound::SampleFormat::Int, 16),
            (hound::SampleFormat::Int, 24),
            (hound::SampleFormat::Int, 32),
            (hound::SampleFormat::Float, 32),
        ] {
            for channels in [1u16, 2, 4, 6] {
                for sample_rate in [8_000u32, 44_100, 96_000, 192_000] {
                    let spec = hound::WavSpec {
                        channels,
                        sample_rate,
                        bits_per_sample: bits,
                        sample_format: format,
                    };
                    let pcm = decode_wav(&wav(spec, 500, sine)).unwrap();
                    assert_eq!(
                        (pcm.channels, pcm.sample_rate, pcm.frames()),
                        (channels, sample_rate, 500)
                    );
                    let tolerance = if bits == 8 { 0.02 } else { 1e-4 };
                    for (i, frame) in pcm.samples.chunks_exact(channels as usize).enumerate() {
                        for (ch, v) in frame.iter().enumerate() {
                            let want = sine(i, ch);
                            assert!(
                                (f64::from(*v) - want).abs() < tolerance,
                                "{bits}-bit {format:?}"
                            );
                        }
                    }
                    assert_eq!(pcm.to_stereo().len(), 1000);
                }
            }
        }
    }

    #[test]
    fn broken_wavs_are_refused_with_the_reason() {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 44_100,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let good = wav(spec, 1000, |i, _| (i as f64 * 0.01).sin() * 0.3);
        // not a WAV at all
        assert!(matches!(
            decode_wav(b"ID3\x03 definitely an mp3"),
            Err(AudioError::Wav(_))
        ));
        assert!(matches!(decode_wav(&[]), Err(AudioError::Wav(_))));
        // the header alone, or a header cut in half
        assert!(decode_wav(&good[..20]).is_err());
        assert!(decode_wav(&good[..44]).is_err());
        // data cut mid-frame (the header still promises the full length)
        let cut = &good[..good.len() - 3];
        let e = decode_wav(cut).unwrap_err().to_string();
        assert!(!e.is_empty());
        // corrupt format chunk: 12-bit audio claims
        let mut odd = good.clone();
        odd[34] = 12; // bits per sample
        assert!(decode_wav(&odd).is_err());
        // NaN samples in a float file
        let fspec = hound::WavSpec {
            sample_format: hound::SampleFormat::Float,
            bits_per_sample: 32,
            ..spec
        };
        let nan = wav(fspec, 100, |i, _| if i == 50 { f64::NAN } else { 0.1 });
        assert!(matches!(decode_wav(&nan), Err(AudioError::NonFinite(2))));
        // sample rate out of range
        let slow = wav(
            hound::WavSpec {
                sample_rate: 4_000,
                ..spec
            },
            100,
            |_, _| 0.1,
        );
        assert!(matches!(
            decode_wav(&slow),
            Err(AudioError::SampleRate(4_000))
        ));
        // no frames
        let empty = wav(spec, 0, |_, _| 0.0);
        assert!(decode_wav(&empty).is_err());
    }

    #[test]
    fn roundtrip_16_and_24_bit() {
        let sig: Vec<f32> = (0..2000).map(|i| (i as f32 * 0.01).sin() * 0.5).collect();
        for bits in [16, 24] {
            let bytes = encode_wav(&sig, 2, 44_100, bits, 1).unwrap();
            let pcm = decode_wav(&bytes).unwrap();
            assert_eq!(pcm.channels, 2);
            assert_eq!(pcm.bits_per_sample, bits);
            let err = sig
                .iter()
                .zip(&pcm.samples)
                .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(err < 1e-3, "{bits}: {err}");
        }
    }

    #[test]
    fn encoding_is_deterministic() {
        let sig: Vec<f32> = (0..500).map(|i| (i as f32 * 0.03).sin()).collect();
        assert_eq!(
            encode_wav(&sig, 1, 48_000, 16, 9).unwrap(),
            encode_wav(&sig, 1, 48_000, 16, 9).unwrap()
        );
    }

    #[test]
    fn decodes_float_and_8_bit_and_rejects_garbage() {
        for (fmt, bits) in [
            (hound::SampleFormat::Float, 32),
            (hound::SampleFormat::Int, 8),
        ] {
            let spec = hound::WavSpec {
                channels: 1,
                sample_rate: 22_050,
                bits_per_sample: bits,
                sample_format: fmt,
            };
            let mut c = Cursor::new(Vec::new());
            let mut w = hound::WavWriter::new(&mut c, spec).unwrap();
            for i in 0..100 {
                if fmt == hound::SampleFormat::Float {
                    w.write_sample(i as f32 / 200.0).unwrap();
                } else {
                    w.write_sample((i % 100) as i8).unwrap();
                }
            }
            w.finalize().unwrap();
            let pcm = decode_wav(c.get_ref()).unwrap();
            assert_eq!(pcm.frames(), 100);
        }
        assert!(decode_wav(b"RIFF\x00\x00not a wav").is_err());
        assert!(decode_wav(&[]).is_err());
    }
}
