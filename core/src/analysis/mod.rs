//! Audio analysis: describes finished audio the way a musician would — tempo and beat grid,
//! groove, key and chords, spectral balance, loudness — from samples alone, independent of
//! the renderer. It lets generated stems be checked against the context they were asked
//! for, and uploaded or locked audio be read into that context.
//!
//! Everything rhythmic and tonal runs on a mono downmix resampled to [`WORKING_RATE`];
//! loudness and band energy use the original channels and rate.

pub mod bands;
pub mod beat;
pub mod chords;
pub mod chroma;
pub mod groove;
pub mod key;
pub mod loudness;
pub mod onset;
pub mod resample;
pub mod separation;
pub mod stft;
pub mod tempo;

pub use bands::BandEnergy;
pub use groove::GrooveProfile;

use crate::theory::{Chord, Key, Mode};
use serde::{Deserialize, Serialize};

/// Rate the rhythm and pitch analysers work at: covers the 5 kHz chroma range and onsets.
pub const WORKING_RATE: u32 = 22_050;
pub const MIN_SECONDS: f64 = 1.0;
pub const MIN_SAMPLE_RATE: u32 = 8_000;
pub const MAX_SAMPLE_RATE: u32 = 192_000;
/// The bar the groove and chords are read in (4/4).
pub const BEATS_PER_BAR: usize = 4;
/// Tonal material puts a fair share of its 100 Hz–2 kHz energy into sustained spectral
/// peaks (pads alone ≈ 1, a pluck under loud drums ≈ 0.1); drums and noise ≈ 0.02.
const TONAL_ENERGY_MIN: f64 = 0.06;
/// …spread over at least a triad's worth of pitch classes (a tuned snare or a kick is one)…
const TONAL_MIN_PITCH_CLASSES: usize = 3;
/// …in proportions that fit a major or minor key (correlation with its profile; inharmonic
/// cymbal and bell partials land on arbitrary pitch classes and score ≈ 0.4, music ≥ 0.75).
const TONAL_KEY_FIT_MIN: f64 = 0.6;
/// Chroma novelty (1 − cosine) a downbeat's chord change must reach on average.
const HARMONIC_CHANGE_MIN: f64 = 0.1;
/// A pitch class counts when it reaches this share of the strongest.
const PITCH_CLASS_PRESENT: f64 = 0.3;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub duration_seconds: f64,
    /// Beats per minute (40–240); 0 when no steady pulse was found.
    pub tempo_bpm: f64,
    /// 0..1: periodicity strength times the margin over the next-best tempo reading.
    pub tempo_confidence: f64,
    /// Time of the first downbeat (the beat the bar grid starts on), in seconds.
    pub beat_phase_seconds: f64,
    /// Every tracked beat, in seconds.
    pub beats_seconds: Vec<f64>,
    pub groove: GrooveProfile,
    /// Pitch-class profile of the whole piece (C = 0), normalised to max 1.
    pub chroma: [f64; 12],
    /// Tuning of the material relative to A = 440 Hz, in cents.
    pub tuning_cents: f64,
    /// Best major/minor key: a guess without meaning when `tonal` is false (confidence 0
    /// then), C major for silence.
    pub key: Key,
    /// 0..1: how clearly this key beats the other 23.
    pub key_confidence: f64,
    /// One diatonic triad of `key` per bar from the first downbeat; empty when not tonal or
    /// without a beat grid.
    pub chords: Vec<Chord>,
    pub band_energy: BandEnergy,
    /// Integrated loudness, ITU-R BS.1770 K-weighted and gated (see [`loudness`]).
    pub loudness_lufs: f64,
    /// Whether the audio carries pitched harmony/melody; false for drums, noise, silence.
    pub tonal: bool,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnalysisError {
    #[error("no audio: the sample buffer is empty")]
    Empty,
    #[error("audio must have at least one channel")]
    NoChannels,
    #[error("{samples} samples do not form whole frames of {channels} channels")]
    PartialFrame { samples: usize, channels: u16 },
    #[error("sample rate {0} Hz is outside the supported 8000–192000 Hz")]
    SampleRate(u32),
    #[error("audio is {seconds:.3} s long; analysis needs at least 1 s")]
    TooShort { seconds: f64 },
    #[error("sample {index} is not a finite number")]
    NonFinite { index: usize },
}

/// What the caller knows about the audio beforehand.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hints {
    /// Where the tempo is expected (the style's range), to settle octave ambiguity.
    pub tempo: tempo::TempoPrior,
}

impl Hints {
    /// Hints for audio heard under a prompt: the genre's conventional tempo range, widened
    /// to include the tempo the prompt or request asked for (a "half-time drum & bass at
    /// 87" leaves both octaves to the audio). Unknown genres give the listener's prior.
    pub fn for_genre(genre: &str, expected_bpm: f64) -> Hints {
        match crate::language::genre::genre_by_name(genre) {
            Some(g) => {
                let (lo, hi) = (g.tempo.0, g.tempo.2);
                let (lo, hi) = if expected_bpm.is_finite() && expected_bpm > 0.0 {
                    (lo.min(expected_bpm), hi.max(expected_bpm))
                } else {
                    (lo, hi)
                };
                Hints {
                    tempo: tempo::TempoPrior::expected(lo, hi),
                }
            }
            None => Hints::default(),
        }
    }
}

impl Default for Hints {
    fn default() -> Self {
        Hints {
            tempo: tempo::TempoPrior::LISTENER,
        }
    }
}

/// Tempo (bpm) of interleaved stereo — the drum stem QA measures — by the one tempo
/// estimator the analysis uses (`tempo::estimate`) with the listener's prior; `None` when
/// there is no pulse (silence, drones) or the audio is shorter than a beat can show.
pub fn estimate_tempo(stereo: &[f32], sample_rate: u32) -> Option<f64> {
    estimate_tempo_with(stereo, sample_rate, &Hints::default())
}

/// [`estimate_tempo`] with what is known beforehand (the genre's tempo range).
pub fn estimate_tempo_with(stereo: &[f32], sample_rate: u32, hints: &Hints) -> Option<f64> {
    if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&sample_rate)
        || stereo.len() < 2
        || stereo.iter().any(|v| !v.is_finite())
    {
        return None;
    }
    let mono = downmix(stereo, 2);
    if mono.len() as f64 / f64::from(sample_rate) < MIN_SECONDS {
        return None;
    }
    let x = resample::resample(&mono, sample_rate, WORKING_RATE);
    let env = onset::OnsetEnvelope::compute(&x, WORKING_RATE);
    tempo::estimate(&env, hints.tempo).map(|t| t.bpm)
}

/// Analyses interleaved `samples` of any channel count at any rate from 8 to 192 kHz.
pub fn analyze(
    samples: &[f32],
    channels: u16,
    sample_rate: u32,
) -> Result<Analysis, AnalysisError> {
    analyze_with(samples, channels, sample_rate, &Hints::default())
}

/// [`analyze`] with what is known beforehand (the style's tempo range).
pub fn analyze_with(
    samples: &[f32],
    channels: u16,
    sample_rate: u32,
    hints: &Hints,
) -> Result<Analysis, AnalysisError> {
    if channels == 0 {
        return Err(AnalysisError::NoChannels);
    }
    if samples.is_empty() {
        return Err(AnalysisError::Empty);
    }
    if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&sample_rate) {
        return Err(AnalysisError::SampleRate(sample_rate));
    }
    let ch = usize::from(channels);
    if !samples.len().is_multiple_of(ch) {
        return Err(AnalysisError::PartialFrame {
            samples: samples.len(),
            channels,
        });
    }
    if let Some(index) = samples.iter().position(|v| !v.is_finite()) {
        return Err(AnalysisError::NonFinite { index });
    }
    let frames = samples.len() / ch;
    let duration_seconds = frames as f64 / f64::from(sample_rate);
    if duration_seconds < MIN_SECONDS {
        return Err(AnalysisError::TooShort {
            seconds: duration_seconds,
        });
    }

    let mono = downmix(samples, ch);
    let loudness_lufs = loudness::integrated_lufs(samples, ch, sample_rate);
    let band_energy = bands::band_energy(&mono, sample_rate);
    let x = resample::resample(&mono, sample_rate, WORKING_RATE);
    drop(mono);

    let env = onset::OnsetEnvelope::compute(&x, WORKING_RATE);
    let tempo = tempo::estimate(&env, hints.tempo);
    let (tempo_bpm, tempo_confidence, beats) = match tempo {
        Some(t) => (t.bpm, t.confidence, t.beats),
        None => (0.0, 0.0, Vec::new()),
    };
    let beats_seconds: Vec<f64> = beats.iter().map(|b| env.seconds(*b)).collect();
    let chromagram = chroma::Chromagram::compute(&x, WORKING_RATE);
    let chroma = chromagram.global();
    // Chords change on the downbeat: in pitched material that outweighs where the low
    // onsets fall (a four-on-the-floor kick is the same on every beat).
    let downbeat = if chromagram.tonal_energy >= TONAL_ENERGY_MIN {
        harmonic_downbeat(&chromagram, &beats_seconds, BEATS_PER_BAR)
    } else {
        None
    }
    .unwrap_or_else(|| beat::downbeat_index(&beats, &env.low, &env.strength, BEATS_PER_BAR));
    let groove = groove::analyze(&env, &beats, downbeat);
    let beat_phase_seconds = beats_seconds.get(downbeat).copied().unwrap_or(0.0);

    let bar_spans = bars(&beats_seconds, downbeat, duration_seconds);
    // The first and last bars anchor the key (phrases open and close on the tonic).
    let anchors: Vec<[f64; 12]> = match (bar_spans.first(), bar_spans.last()) {
        (Some(a), Some(b)) if bar_spans.len() >= 2 => {
            vec![
                chromagram.mean_between(a.0, a.1),
                chromagram.mean_between(b.0, b.1),
            ]
        }
        _ => Vec::new(),
    };
    let estimate = key::detect_anchored(&chroma, &anchors);
    let tonal = estimate
        .as_ref()
        .is_some_and(|e| e.correlation >= TONAL_KEY_FIT_MIN)
        && chromagram.tonal_energy >= TONAL_ENERGY_MIN
        && chroma.iter().filter(|v| **v >= PITCH_CLASS_PRESENT).count() >= TONAL_MIN_PITCH_CLASSES;
    let (key, key_confidence) = match &estimate {
        Some(e) => (e.key, if tonal { e.confidence } else { 0.0 }),
        None => (Key::new(0, Mode::Major), 0.0),
    };
    let chords = if tonal {
        bar_spans
            .into_iter()
            .filter_map(|(a, b)| chords::best_triad(&chromagram.mean_between(a, b), &key))
            .collect()
    } else {
        Vec::new()
    };

    Ok(Analysis {
        duration_seconds,
        tempo_bpm,
        tempo_confidence,
        beat_phase_seconds,
        beats_seconds,
        groove,
        chroma,
        tuning_cents: chromagram.tuning_cents,
        key,
        key_confidence,
        chords,
        band_energy,
        loudness_lufs,
        tonal,
    })
}

/// Mean of the channels of each frame.
fn downmix(samples: &[f32], channels: usize) -> Vec<f32> {
    if channels == 1 {
        return samples.to_vec();
    }
    let scale = 1.0 / channels as f32;
    samples
        .chunks_exact(channels)
        .map(|f| f.iter().sum::<f32>() * scale)
        .collect()
}

/// The beat of the bar (0..beats_per_bar) where the harmony changes most — chroma
/// novelty between the beat before and the beat after — when one phase clearly stands out;
/// `None` for static harmony.
fn harmonic_downbeat(
    chroma: &chroma::Chromagram,
    beats: &[f64],
    beats_per_bar: usize,
) -> Option<usize> {
    if beats.len() < 2 * beats_per_bar + 1 {
        return None;
    }
    let per_beat: Vec<[f64; 12]> = beats
        .windows(2)
        .map(|w| chroma.mean_between(w[0], w[1]))
        .collect();
    let novelty = |a: &[f64; 12], b: &[f64; 12]| {
        let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let na = a.iter().map(|x| x * x).sum::<f64>().sqrt();
        let nb = b.iter().map(|x| x * x).sum::<f64>().sqrt();
        if na > 0.0 && nb > 0.0 {
            1.0 - dot / (na * nb)
        } else {
            0.0
        }
    };
    // Novelty at beat i: between the beat ending at i and the beat starting at i.
    let mut sums = vec![(0.0, 0usize); beats_per_bar];
    for i in 1..per_beat.len() {
        let s = &mut sums[i % beats_per_bar];
        s.0 += novelty(&per_beat[i - 1], &per_beat[i]);
        s.1 += 1;
    }
    let means: Vec<f64> = sums.iter().map(|(s, n)| s / (*n).max(1) as f64).collect();
    let (best, top) = means
        .iter()
        .copied()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    let rest = means.iter().sum::<f64>() - top;
    let others = rest / (beats_per_bar - 1) as f64;
    (top >= HARMONIC_CHANGE_MIN && top >= 2.0 * others).then_some(best)
}

/// Bar spans (seconds) of BEATS_PER_BAR beats from the downbeat; a final partial bar counts
/// when at least half of it is there (its end extrapolated at the mean beat period).
fn bars(beats: &[f64], downbeat: usize, duration: f64) -> Vec<(f64, f64)> {
    let Some(period) = beat::fitted_period(beats) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut i = downbeat;
    while i < beats.len() {
        let start = beats[i];
        let end = beats
            .get(i + BEATS_PER_BAR)
            .copied()
            .unwrap_or(start + period * BEATS_PER_BAR as f64);
        let covered = (duration.min(end) - start) / (end - start);
        if covered >= 0.5 {
            out.push((start, end));
        }
        i += BEATS_PER_BAR;
    }
    out
}

#[cfg(test)]
mod tempo_tests {
    use super::*;
    use crate::analysis::tempo::tempo_error;

    fn clicks(bpm: f64, seconds: f64, sr: u32) -> Vec<f32> {
        let frames = (seconds * f64::from(sr)) as usize;
        let mut out = vec![0.0f32; frames * 2];
        let period = 60.0 / bpm * f64::from(sr);
        let mut t = 0.0;
        while (t as usize) < frames {
            for i in 0..400.min(frames - t as usize) {
                let v = (-(i as f32) / 60.0).exp() * ((i as f32) * 0.3).sin();
                out[(t as usize + i) * 2] += v;
                out[(t as usize + i) * 2 + 1] += v;
            }
            t += period;
        }
        out
    }

    #[test]
    fn finds_click_tempi_within_one_percent() {
        for bpm in [70.0, 90.0, 124.0, 128.0, 140.0, 174.0] {
            let est = estimate_tempo(&clicks(bpm, 20.0, 44_100), 44_100).unwrap();
            assert!(tempo_error(est, bpm) < 0.01, "{bpm}: {est}");
        }
    }

    #[test]
    fn silence_has_no_tempo() {
        assert_eq!(estimate_tempo(&vec![0.0; 44_100 * 4], 44_100), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_input() {
        assert_eq!(analyze(&[], 2, 44_100), Err(AnalysisError::Empty));
        assert_eq!(
            analyze(&[0.0; 10], 0, 44_100),
            Err(AnalysisError::NoChannels)
        );
        assert_eq!(
            analyze(&[0.0; 44_100], 1, 4_000),
            Err(AnalysisError::SampleRate(4_000))
        );
        assert!(matches!(
            analyze(&[0.0; 44_100], 2, 44_100),
            Err(AnalysisError::TooShort { .. })
        ));
        assert!(matches!(
            analyze(&[0.0; 44_101], 2, 44_100),
            Err(AnalysisError::PartialFrame { .. })
        ));
        let mut x = vec![0.0; 48_000];
        x[7] = f32::NAN;
        assert_eq!(
            analyze(&x, 1, 48_000),
            Err(AnalysisError::NonFinite { index: 7 })
        );
    }

    #[test]
    fn silence_is_analysed_as_nothing() {
        let a = analyze(&vec![0.0; 2 * 44_100 * 2], 2, 44_100).unwrap();
        assert_eq!(a.tempo_bpm, 0.0);
        assert!(!a.tonal && a.chords.is_empty());
        assert_eq!(a.loudness_lufs, loudness::SILENCE_LUFS);
        assert!((a.duration_seconds - 2.0).abs() < 1e-9);
        // The record survives JSON (no infinities or NaNs in it).
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Analysis>(&json).unwrap(), a);
    }
}
