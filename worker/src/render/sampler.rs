//! Sampled instruments: a General MIDI SoundFont played by rustysynth — by default MuseScore
//! General (Debian's musescore-general-soundfont-lossless, MIT; installed by the ops
//! scripts), else FluidR3 GM (fluid-soundfont-gm, MIT): the GM2 drum kits (standard, room,
//! power, jazz, brush, orchestra, electronic, TR-808) and every GM program. The SoundFont is
//! loaded once per process and shared by every job; when none is installed the instruments
//! fall back to the synthesizers and say so (once in the log, and in each response).

use super::StereoBuf;
use crate::generators::Note;
use rustysynth::{SoundFont, Synthesizer, SynthesizerSettings};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// Where the General MIDI SoundFont is looked for, in order.
pub fn soundfont_path() -> Option<PathBuf> {
    let explicit = std::env::var_os("RESONANTGEN_SOUNDFONT").map(PathBuf::from);
    explicit
        .into_iter()
        .chain(
            [
                "/usr/share/sounds/sf2/MuseScore_General_Full.sf2",
                "/usr/share/sounds/sf2/MuseScore_General.sf2",
                "/usr/share/sounds/sf2/FluidR3_GM.sf2",
                "/usr/share/sounds/sf2/default-GM.sf2",
            ]
            .map(PathBuf::from),
        )
        .find(|p| p.is_file())
}

/// The sound source a response names: the SoundFont's name and the licence of its samples.
pub fn source() -> Option<String> {
    if !available() {
        return None;
    }
    // the path and its name do not change while the process runs: read them once
    static SOURCE: OnceLock<Option<String>> = OnceLock::new();
    SOURCE.get_or_init(describe_source).clone()
}

fn describe_source() -> Option<String> {
    let path = soundfont_path()?;
    let file = path.file_name()?.to_string_lossy().to_string();
    let canonical = std::fs::canonicalize(&path).unwrap_or(path);
    let real = canonical
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_else(|| file.clone());
    Some(if real.starts_with("MuseScore_General") {
        "MuseScore General SoundFont, MIT".to_string()
    } else if real.starts_with("FluidR3") {
        "FluidR3 GM SoundFont, MIT".to_string()
    } else {
        format!("SoundFont {file}: see its licence")
    })
}

static SF: OnceLock<Option<Arc<SoundFont>>> = OnceLock::new();

/// Whether sampled instruments can be played here, without loading the SoundFont (490 MB):
/// a job of synthesizers only never pays for it.
pub fn available() -> bool {
    match SF.get() {
        Some(loaded) => loaded.is_some(),
        None => soundfont_path().is_some(),
    }
}

/// The shared SoundFont, loaded on first use (`None` when there is none or it is unreadable).
pub fn soundfont() -> Option<Arc<SoundFont>> {
    SF.get_or_init(|| {
        let Some(path) = soundfont_path() else {
            tracing::warn!(
                "no General MIDI SoundFont (install musescore-general-soundfont-lossless \
                 or set RESONANTGEN_SOUNDFONT): acoustic instruments fall back to synthesizers"
            );
            return None;
        };
        let loaded = std::fs::File::open(&path)
            .map_err(|e| e.to_string())
            .and_then(|f| {
                SoundFont::new(&mut std::io::BufReader::new(f)).map_err(|e| e.to_string())
            });
        match loaded {
            Ok(sf) => {
                tracing::info!(path = %path.display(), "SoundFont loaded");
                Some(Arc::new(sf))
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "SoundFont unreadable");
                None
            }
        }
    })
    .clone()
}

/// A General MIDI patch: `program` of `bank` on a melodic channel, or a drum kit (`drums`,
/// bank 128) on channel 10.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Patch {
    pub bank: u8,
    pub program: u8,
    pub drums: bool,
}

/// RMS a reference note of every patch is brought to (about what FluidR3's programs give).
const REFERENCE_RMS: f32 = 0.025;

/// The gain that brings `patch` to the reference level: the SoundFont's presets differ by up
/// to 30 dB under rustysynth (MuseScore General's grand piano relies on attenuation
/// modulators rustysynth does not apply). Measured once per patch on a reference note (a
/// middle C, or kick–snare–hat on a kit, at velocity 100) and cached.
fn calibration(sf: &Arc<SoundFont>, patch: Patch, sample_rate: u32) -> f32 {
    type Key = (u8, u8, bool, u32);
    static CACHE: OnceLock<std::sync::Mutex<std::collections::HashMap<Key, f32>>> = OnceLock::new();
    let key = (patch.bank, patch.program, patch.drums, sample_rate);
    let cache = CACHE.get_or_init(Default::default);
    if let Some(g) = cache.lock().ok().and_then(|c| c.get(&key).copied()) {
        return g;
    }
    let at = |time: f64, pitch: u8| Note {
        time,
        duration: 0.8,
        pitch,
        velocity: 100.0 / 127.0,
        voice: 0,
        step: 0,
    };
    let reference: Vec<Note> = if patch.drums {
        vec![at(0.0, 36), at(0.25, 38), at(0.5, 42)]
    } else {
        vec![at(0.0, 60)]
    };
    let gain = render(sf, patch, &reference, sample_rate as usize, sample_rate)
        .and_then(|b| {
            let rms = (b.data.iter().map(|s| s * s).sum::<f32>() / b.data.len() as f32).sqrt();
            (rms > 1e-7).then(|| (REFERENCE_RMS / rms).clamp(0.05, 100.0))
        })
        .unwrap_or(1.0);
    if let Ok(mut c) = cache.lock() {
        c.insert(key, gain);
    }
    gain
}

/// Plays `notes` on `patch` into a stereo buffer of `frames`, at the patch's calibrated
/// level. Notes must be in time order.
pub fn play(
    sf: &Arc<SoundFont>,
    patch: Patch,
    notes: &[Note],
    frames: usize,
    sample_rate: u32,
) -> Option<StereoBuf> {
    let gain = calibration(sf, patch, sample_rate);
    let mut out = render(sf, patch, notes, frames, sample_rate)?;
    out.data.iter_mut().for_each(|s| *s *= gain);
    Some(out)
}

/// The SoundFont's own output for `notes` on `patch`.
fn render(
    sf: &Arc<SoundFont>,
    patch: Patch,
    notes: &[Note],
    frames: usize,
    sample_rate: u32,
) -> Option<StereoBuf> {
    let mut settings = SynthesizerSettings::new(sample_rate as i32);
    // Our processors add the room; the SoundFont's own reverb would double it.
    settings.enable_reverb_and_chorus = false;
    settings.maximum_polyphony = 96;
    let mut synth = Synthesizer::new(sf, &settings).ok()?;
    let channel = if patch.drums { 9 } else { 0 };
    if !patch.drums {
        // bank select (CC 0); rustysynth puts channel 10 on the drum bank itself
        synth.process_midi_message(channel, 0xB0, 0, i32::from(patch.bank));
    }
    synth.process_midi_message(channel, 0xC0, i32::from(patch.program), 0);
    // Events: (frame, on?, key, velocity)
    let sr = f64::from(sample_rate);
    let mut events: Vec<(usize, bool, i32, i32)> = Vec::with_capacity(notes.len() * 2);
    for n in notes {
        let on = (n.time * sr).round() as usize;
        let off = ((n.time + n.duration) * sr).round() as usize;
        let vel = (n.velocity.clamp(0.0, 1.0) * 126.0).round() as i32 + 1;
        events.push((on, true, i32::from(n.pitch), vel));
        events.push((off.max(on + 1), false, i32::from(n.pitch), 0));
    }
    // note-offs before note-ons at the same frame, so a repeated key restarts cleanly
    events.sort_by_key(|e| (e.0, e.1));
    let mut left = vec![0.0f32; frames];
    let mut right = vec![0.0f32; frames];
    let mut at = 0usize;
    for (frame, on, key, vel) in events {
        let frame = frame.min(frames);
        if frame > at {
            synth.render(&mut left[at..frame], &mut right[at..frame]);
            at = frame;
        }
        if on {
            synth.note_on(channel, key, vel);
        } else if !patch.drums {
            synth.note_off(channel, key);
        }
    }
    if at < frames {
        synth.render(&mut left[at..], &mut right[at..]);
    }
    let mut out = StereoBuf::new(frames);
    for i in 0..frames {
        out.data[i * 2] = left[i];
        out.data[i * 2 + 1] = right[i];
    }
    Some(out)
}
