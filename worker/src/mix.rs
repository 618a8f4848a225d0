//! Mix engine: per-stem EQ to the context's frequency allocation, the kick's sidechain,
//! per-track faders from the genre's balance, master gain toward an EBU R128 integrated
//! loudness target (default -14 LUFS), and a look-ahead limiter that keeps the true peak
//! (4× oversampled, ebur128) at or below -1 dBTP. Stems are written at their in-mix level, so
//! summing them gives the mix before the limiter.

use crate::processors::{self, ProcessContext};
use crate::render::dsp::Svf;
use resonantgen_core::TrackType;
use resonantgen_core::language::Balance;
use resonantgen_core::spectrum::Band;
use std::collections::{BTreeMap, VecDeque};

/// True-peak ceiling of the master (dBTP).
pub const TRUE_PEAK_CEILING_DBTP: f64 = -1.0;
/// The sample-peak ceiling the limiter starts from: true peaks sit up to ~0.7 dB above sample
/// peaks in dense material, so it aims lower and the loop below trims what is left.
const LIMITER_CEILING_DBFS: f32 = -1.7;

pub struct MixResult {
    /// Interleaved stereo master.
    pub mix: Vec<f32>,
    /// Each stem at its in-mix level (track gain × master gain), stereo interleaved.
    pub stems: BTreeMap<TrackType, Vec<f32>>,
    /// Drum channels at their in-mix level.
    pub channels: BTreeMap<String, Vec<f32>>,
    pub master_gain: f32,
    /// EBU R128 integrated loudness of the master (LUFS; -inf for silence).
    pub integrated_lufs: f64,
    /// True peak of the master (dBTP).
    pub true_peak_dbtp: f64,
}

/// How deep the kick ducks the bass and chords of club music (the genre's `Balance` takes a
/// share of it: bands barely duck): electronic genres pump hard; beat music played with a
/// looser feel (hip hop, lo-fi) a little less.
pub fn duck_depth(intent: &resonantgen_core::language::MusicalIntent) -> f32 {
    if intent.tracks.values().any(|t| t.humanize >= 0.5) {
        0.8
    } else {
        0.85
    }
}

/// Ducks `target` (interleaved stereo) by the kick's envelope: full depth the instant the kick
/// hits, recovering over `release` seconds. `depth` 0..1 is the gain taken at the peak.
pub fn sidechain_duck(
    target: &mut [f32],
    kick: &[f32],
    depth: f32,
    release: f32,
    sample_rate: u32,
) {
    let peak = kick.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    if peak <= 1e-6 || depth <= 0.0 {
        return;
    }
    let fall = (-1.0 / (release * sample_rate as f32)).exp();
    let mut env = 0.0f32;
    for (frame, k) in target.chunks_exact_mut(2).zip(kick.chunks_exact(2)) {
        let level = (k[0].abs().max(k[1].abs()) / peak).min(1.0);
        env = if level > env { level } else { env * fall };
        let g = 1.0 - depth * env.sqrt().min(1.0);
        frame[0] *= g;
        frame[1] *= g;
    }
}

/// (integrated loudness LUFS, true peak dBTP) of interleaved stereo: the one meter.
pub use resonantgen_core::analysis::loudness::measure_stereo as measure;

fn db(x: f32) -> f32 {
    10f32.powf(x / 20.0)
}

/// How closely the mix follows the pre-master sum of its stems: the master chain (glue
/// compression, bus processors, limiter) reshapes it a little but must not change it.
#[derive(Debug, Clone, Copy)]
pub struct PremasterMatch {
    /// Pearson correlation of the two signals (1 = same waveform up to level).
    pub correlation: f64,
    /// RMS level of the mix minus that of the sum (dB).
    pub level_db: f64,
}

pub fn premaster_match(sum: &[f32], mix: &[f32]) -> PremasterMatch {
    let n = sum.len().min(mix.len());
    let (mut sxy, mut sxx, mut syy) = (0.0f64, 0.0f64, 0.0f64);
    for i in 0..n {
        let (x, y) = (f64::from(sum[i]), f64::from(mix[i]));
        sxy += x * y;
        sxx += x * x;
        syy += y * y;
    }
    PremasterMatch {
        correlation: sxy / (sxx * syy).sqrt().max(1e-30),
        level_db: 10.0 * (syy / sxx.max(1e-30)).log10(),
    }
}

/// Cuts interleaved stereo to `band`: a 12 dB/octave high-pass at its low corner and
/// low-pass at its high corner (Butterworth-damped state-variable filters).
pub fn eq_to_band(data: &mut [f32], band: Band, sample_rate: u32) {
    let sr = sample_rate as f32;
    let high = band.high_hz.min(sr * 0.45);
    for ch in 0..2 {
        let (mut hp, mut lp) = (Svf::default(), Svf::default());
        for frame in data.chunks_exact_mut(2) {
            let x = hp.highpass(frame[ch], band.low_hz, 0.707, sr);
            frame[ch] = lp.lowpass(x, high, 0.707, sr);
        }
    }
}

/// Folds interleaved stereo rendered past `frames` back onto its start (a loop's tails), and
/// cuts it to `frames`.
pub fn fold_onto_start(x: &mut Vec<f32>, frames: usize) {
    let n = frames * 2;
    if n == 0 {
        return;
    }
    for i in n..x.len() {
        let v = x[i];
        x[i % n] += v;
    }
    x.resize(n, 0.0);
}

/// Mixes stereo stems of equal length. `channels` are scaled like the drums stem; generated
/// stems are first cut to their band in `bands` (locked stems are the user's: untouched).
#[allow(clippy::too_many_arguments)]
pub fn mix(
    stems: BTreeMap<TrackType, Vec<f32>>,
    channels: BTreeMap<String, Vec<f32>>,
    locked: &BTreeMap<TrackType, bool>,
    bands: &BTreeMap<TrackType, Band>,
    bus_chain: &[String],
    fx: &ProcessContext,
    frames: usize,
    target_lufs: f64,
    duck_depth: f32,
    balance: Balance,
    looped: bool,
) -> MixResult {
    let sample_rate = fx.sample_rate;
    let mut stems = stems;
    for (track, data) in stems.iter_mut() {
        if let Some(band) = bands.get(track)
            && !locked.get(track).copied().unwrap_or(false)
        {
            eq_to_band(data, *band, sample_rate);
        }
    }
    // Sidechain from the generated kick (locked drums have no kick channel to key from).
    if let Some(kick) = channels.get("kick") {
        for (track, data) in stems.iter_mut() {
            let locked_track = locked.get(track).copied().unwrap_or(false);
            let depth = duck_depth * balance.duck_share(*track);
            if track.spec().ducked && !locked_track && depth > 0.0 {
                sidechain_duck(data, kick, depth, 0.12, sample_rate);
            }
        }
    }
    // The intent's bus color (warm, vinyl, dusty, wide, reverb...) is printed into every
    // generated stem — drum channels one by one — so the stems still add up to the mix.
    let color: Vec<String> = bus_chain
        .iter()
        .filter(|p| !matches!(p.as_str(), "compression" | "bus compression"))
        .cloned()
        .collect();
    let generated = stems
        .keys()
        .filter(|t| !locked.get(*t).copied().unwrap_or(false))
        .count()
        .max(1) as u32;
    let mut channels = channels;
    for (i, (track, data)) in stems.iter_mut().enumerate() {
        if color.is_empty() || locked.get(track).copied().unwrap_or(false) {
            continue;
        }
        let c = ProcessContext {
            seed: fx.seed.wrapping_add(i as u64 * 104_729),
            voices: generated,
            ..*fx
        };
        if matches!(track, TrackType::Drums) && !channels.is_empty() {
            data.iter_mut().for_each(|s| *s = 0.0);
            for (j, ch) in channels.values_mut().enumerate() {
                let cj = ProcessContext {
                    seed: c.seed.wrapping_add(j as u64 * 7919),
                    voices: generated * 4,
                    ..c
                };
                processors::apply_chain(&color, true, ch, &cj);
                for (d, x) in data.iter_mut().zip(ch.iter()) {
                    *d += x;
                }
            }
        } else {
            processors::apply_chain(&color, true, data, &c);
        }
    }
    // A seamless loop: the stems were rendered past the loop's end; what rings on (releases,
    // reverb and delay tails) is folded onto the start, where every repeat hears it — in
    // the phase it continues from, so a pad held over the bar line joins itself.
    if looped {
        stems.values_mut().for_each(|s| fold_onto_start(s, frames));
        channels
            .values_mut()
            .for_each(|s| fold_onto_start(s, frames));
    }
    let mut bus = vec![0.0f32; frames * 2];
    let mut track_gain = BTreeMap::new();
    for (track, data) in &stems {
        // Locked stems come in at unity: the user mixed them already.
        let g = if locked.get(track).copied().unwrap_or(false) {
            1.0
        } else {
            db(balance.gain_db(*track))
        };
        track_gain.insert(*track, g);
        for (b, s) in bus.iter_mut().zip(data) {
            *b += s * g;
        }
    }
    // A loop's master chain runs over it played twice and keeps the second pass: the
    // compressor and the look-ahead limiter then start each repeat in the state the end of
    // the last one left them.
    if looped {
        bus.extend_from_within(..);
    }
    // The master chain: glue compression on the bus, and no DC.
    processors::apply_chain(&["bus compression".to_string()], true, &mut bus, fx);
    processors::remove_dc(&mut bus, sample_rate as f32);

    // Loudness: gain to the target, limit, measure again; the limiter takes some loudness
    // away, so a second pass makes it up (three passes settle within 0.1 LU).
    let pre_limit = bus.clone();
    let (lufs, _) = measure(&bus, sample_rate);
    let mut master_gain = if lufs.is_finite() {
        db((target_lufs - lufs) as f32).min(db(24.0))
    } else {
        1.0
    };
    let (mut integrated_lufs, mut true_peak_dbtp) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    for _ in 0..3 {
        bus.iter_mut()
            .zip(&pre_limit)
            .for_each(|(b, p)| *b = p * master_gain);
        limit(&mut bus, db(LIMITER_CEILING_DBFS), sample_rate);
        (integrated_lufs, true_peak_dbtp) = measure(&bus, sample_rate);
        if !integrated_lufs.is_finite() || (integrated_lufs - target_lufs).abs() < 0.1 {
            break;
        }
        master_gain *= db((target_lufs - integrated_lufs) as f32).min(db(6.0));
    }
    // Whatever true peak is left above the ceiling is trimmed (costing a little loudness).
    if true_peak_dbtp > TRUE_PEAK_CEILING_DBTP {
        let trim = db((TRUE_PEAK_CEILING_DBTP - true_peak_dbtp) as f32 - 0.05);
        bus.iter_mut().for_each(|s| *s *= trim);
        (integrated_lufs, true_peak_dbtp) = measure(&bus, sample_rate);
    }
    if looped {
        bus.drain(..frames * 2);
        (integrated_lufs, true_peak_dbtp) = measure(&bus, sample_rate);
    }

    let drum_gain = track_gain
        .iter()
        .find(|(t, _)| matches!(t, TrackType::Drums))
        .map(|(_, g)| *g)
        .unwrap_or(1.0);
    let stems = stems
        .into_iter()
        .map(|(t, mut d)| {
            let g = track_gain.get(&t).copied().unwrap_or(1.0) * master_gain;
            d.iter_mut().for_each(|s| *s *= g);
            (t, d)
        })
        .collect();
    let channels = channels
        .into_iter()
        .map(|(c, mut d)| {
            d.iter_mut().for_each(|s| *s *= drum_gain * master_gain);
            (c, d)
        })
        .collect();
    MixResult {
        mix: bus,
        stems,
        channels,
        master_gain,
        integrated_lufs,
        true_peak_dbtp,
    }
}

/// Look-ahead peak limiter: the gain reaches its minimum before the peak arrives (5 ms
/// look-ahead via a sliding minimum) and recovers over ~80 ms; a final clamp guarantees the
/// ceiling.
pub fn limit(buf: &mut [f32], ceiling: f32, sample_rate: u32) {
    let frames = buf.len() / 2;
    let look = (0.005 * sample_rate as f32) as usize;
    let release = (-1.0 / (0.08 * sample_rate as f32)).exp();
    let attack = (-1.0 / (0.001 * sample_rate as f32)).exp();
    let target: Vec<f32> = (0..frames)
        .map(|i| {
            let peak = buf[i * 2].abs().max(buf[i * 2 + 1].abs());
            if peak > ceiling { ceiling / peak } else { 1.0 }
        })
        .collect();
    // Sliding minimum over [i, i + look] with a monotonic deque.
    let mut window: VecDeque<usize> = VecDeque::new();
    let mut g = 1.0f32;
    for i in 0..frames {
        let ahead = i + look;
        if ahead < frames {
            while window.back().is_some_and(|&j| target[j] >= target[ahead]) {
                window.pop_back();
            }
            window.push_back(ahead);
        }
        if i == 0 {
            for a in 0..look.min(frames) {
                while window.back().is_some_and(|&j| target[j] >= target[a]) {
                    window.pop_back();
                }
                window.push_back(a);
            }
            window.make_contiguous().sort_unstable();
        }
        while window.front().is_some_and(|&j| j < i) {
            window.pop_front();
        }
        let want = window.front().map(|&j| target[j]).unwrap_or(1.0);
        g = if want < g {
            want + (g - want) * attack
        } else {
            want + (g - want) * release
        };
        for c in 0..2 {
            let s = buf[i * 2 + c] * g;
            buf[i * 2 + c] = s.clamp(-ceiling, ceiling);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_holds_ceiling_and_passes_quiet_audio() {
        let sr = 44_100;
        let mut loud: Vec<f32> = (0..sr * 2)
            .map(|i| ((i / 2) as f32 * 0.05).sin() * 2.0)
            .collect();
        limit(&mut loud, db(-1.0), sr as u32);
        assert!(loud.iter().all(|s| s.abs() <= db(-1.0) + 1e-6));
        let quiet: Vec<f32> = (0..sr).map(|i| (i as f32 * 0.05).sin() * 0.1).collect();
        let mut q2 = quiet.clone();
        limit(&mut q2, db(-1.0), sr as u32);
        assert_eq!(quiet, q2);
    }

    #[test]
    fn loudness_target_and_true_peak_ceiling() {
        // A dense, peaky test mix: saw-ish tone plus clicks.
        let sr = 44_100u32;
        let frames = sr as usize * 6;
        let sig: Vec<f32> = (0..frames * 2)
            .map(|i| {
                let t = (i / 2) as f32 / sr as f32;
                let saw = ((t * 110.0).fract() * 2.0 - 1.0) * 0.3;
                let click = if (i / 2) % 11_025 < 40 { 0.9 } else { 0.0 };
                saw + click
            })
            .collect();
        let track = TrackType::Bass;
        for target in [-14.0, -9.0, -20.0] {
            let r = mix(
                BTreeMap::from([(track, sig.clone())]),
                BTreeMap::new(),
                &BTreeMap::new(),
                &BTreeMap::new(),
                &[],
                &fx(sr),
                frames,
                target,
                0.8,
                Balance::Club,
                false,
            );
            assert!(
                (r.integrated_lufs - target).abs() <= 1.0,
                "{target}: {}",
                r.integrated_lufs
            );
            assert!(
                r.true_peak_dbtp <= TRUE_PEAK_CEILING_DBTP + 1e-6,
                "{}",
                r.true_peak_dbtp
            );
            assert!(r.mix.iter().all(|s| s.is_finite() && s.abs() < 1.0));
        }
    }

    fn fx(sample_rate: u32) -> ProcessContext {
        ProcessContext {
            sample_rate,
            tempo_bpm: 120.0,
            seed: 1,
            voices: 1,
        }
    }

    #[test]
    fn eq_keeps_the_band_and_cuts_outside_it() {
        let sr = 44_100u32;
        let tone = |hz: f32| -> Vec<f32> {
            (0..sr as usize * 2)
                .map(|i| (2.0 * std::f32::consts::PI * hz * (i / 2) as f32 / sr as f32).sin())
                .collect()
        };
        let rms = |x: &[f32]| {
            let tail = &x[x.len() / 2..];
            (tail.iter().map(|s| s * s).sum::<f32>() / tail.len() as f32).sqrt()
        };
        let band = Band::new(200.0, 8000.0);
        for (hz, lo, hi) in [(1000.0, 0.6, 0.75), (50.0, 0.0, 0.05), (18_000.0, 0.0, 0.2)] {
            let mut x = tone(hz);
            eq_to_band(&mut x, band, sr);
            let r = rms(&x);
            assert!((lo..hi).contains(&r), "{hz} Hz: rms {r}");
        }
    }

    #[test]
    fn stems_sum_to_the_premaster() {
        let frames = 1000;
        let a = TrackType::Bass;
        let b = TrackType::Melody;
        let sig = |f: f32| {
            (0..frames * 2)
                .map(|i| (i as f32 * f).sin() * 0.1)
                .collect::<Vec<_>>()
        };
        let stems = BTreeMap::from([(a, sig(0.01)), (b, sig(0.03))]);
        let bands = BTreeMap::from([(TrackType::Melody, Band::new(250.0, 14_000.0))]);
        let r = mix(
            stems,
            BTreeMap::new(),
            &BTreeMap::new(),
            &bands,
            &["warm".to_string()],
            &fx(44_100),
            frames,
            -14.0,
            0.8,
            Balance::Club,
            false,
        );
        let sum: Vec<f32> = r.stems[&a]
            .iter()
            .zip(&r.stems[&b])
            .map(|(x, y)| x + y)
            .collect();
        let m = premaster_match(&sum, &r.mix);
        assert!(m.correlation >= 0.98, "{m:?}");
        assert!(m.level_db.abs() <= 1.0, "{m:?}");
    }
}
