//! The processor chain: effects added by name per track or on the mix bus, chosen by the
//! intent from what the prompt said ("distorted", "warm", "wide", "vinyl", "lo-fi", "dusty",
//! "spacious"...) and the genre's habits. Every processor works on interleaved stereo in place,
//! keeps the length, and is deterministic for a given seed (noise and crackle included).
//! Adding one is a struct implementing `Processor` and a line in `build`.

mod color;
mod dynamics;
mod space;
mod vinyl;

pub use color::{Distortion, Filter, Saturation, Warm, remove_dc};
pub use dynamics::{Clipper, Compressor};
pub use space::{Delay, Reverb, Wide};
pub use vinyl::{Dusty, LoFi, VinylEmulator};

/// What a processor may need to know about the music it processes.
#[derive(Debug, Clone, Copy)]
pub struct ProcessContext {
    pub sample_rate: u32,
    pub tempo_bpm: f64,
    pub seed: u64,
    /// How many stems a bus effect is printed into: event-like noise (vinyl crackle) is spread
    /// over them so the mix gets the amount one record would have.
    pub voices: u32,
}

pub trait Processor: Send {
    fn name(&self) -> &'static str;
    /// Processes interleaved stereo in place.
    fn process(&mut self, buf: &mut [f32], ctx: &ProcessContext);
}

/// Names the registry knows; words that select no processor (clean, dry) and the sidechain
/// (the mix engine's) are accepted and do nothing here.
pub const NAMES: &[&str] = &[
    "compression",
    "bus compression",
    "clipper",
    "distortion",
    "saturation",
    "warm",
    "filter",
    "reverb",
    "delay",
    "wide",
    "vinyl",
    "lo-fi",
    "dusty",
];

/// The processor called `name` for a track (`bus` = on the mix bus), or `None` for words that
/// select none.
pub fn build(name: &str, bus: bool) -> Option<Box<dyn Processor>> {
    Some(match name {
        "compression" if bus => Box::new(Compressor::glue()),
        "compression" => Box::new(Compressor::track()),
        "bus compression" => Box::new(Compressor::glue()),
        "clipper" => Box::new(Clipper::default()),
        // Distortion belongs on a track (the intent puts it on bass and drums when the prompt
        // is aggressive); on a whole mix it is mud.
        "distortion" if bus => return None,
        "distortion" => Box::new(Distortion::default()),
        "saturation" => Box::new(Saturation),
        "warm" => Box::new(Warm),
        "filter" => Box::new(Filter::default()),
        "reverb" if bus => Box::new(Reverb::room(0.12)),
        "reverb" => Box::new(Reverb::room(0.25)),
        "delay" => Box::new(Delay::default()),
        "wide" => Box::new(Wide::default()),
        "vinyl" => Box::new(VinylEmulator::default()),
        "lo-fi" => Box::new(LoFi::default()),
        "dusty" => Box::new(Dusty),
        _ => return None,
    })
}

/// Runs the named processors in order; returns the names that ran.
pub fn apply_chain(
    names: &[String],
    bus: bool,
    buf: &mut [f32],
    ctx: &ProcessContext,
) -> Vec<String> {
    let mut ran = Vec::new();
    for (i, name) in names.iter().enumerate() {
        if let Some(mut p) = build(name, bus) {
            // Each processor gets its own noise stream.
            let c = ProcessContext {
                seed: ctx.seed ^ (0x9E37_79B9_7F4A_7C15u64.wrapping_mul(i as u64 + 1)),
                ..*ctx
            };
            p.process(buf, &c);
            ran.push(p.name().to_string());
        }
    }
    ran
}

/// Runs a track's chain on its render. Drums are processed channel by channel, and the
/// drums stem is re-summed from the processed channels, so the channels still add up to it;
/// the clipper is the exception: it hears the summed kit (where kick, snare and crash peak
/// together) and its gain is applied to every channel alike.
pub fn process_track(
    rendered: &mut crate::render::Rendered,
    chain: &[String],
    ctx: &ProcessContext,
) -> Vec<String> {
    if chain.is_empty() {
        return Vec::new();
    }
    if rendered.channels.is_empty() {
        return apply_chain(chain, false, &mut rendered.stereo, ctx);
    }
    let (linked, per_channel): (Vec<String>, Vec<String>) =
        chain.iter().cloned().partition(|p| p == "clipper");
    let mut ran = Vec::new();
    for (i, (_, data)) in rendered.channels.iter_mut().enumerate() {
        let c = ProcessContext {
            seed: ctx.seed.wrapping_add(i as u64 * 7919),
            ..*ctx
        };
        ran = apply_chain(&per_channel, false, data, &c);
    }
    let resum = |r: &mut crate::render::Rendered| {
        r.stereo.iter_mut().for_each(|s| *s = 0.0);
        for data in r.channels.values() {
            for (s, d) in r.stereo.iter_mut().zip(data) {
                *s += d;
            }
        }
    };
    resum(rendered);
    if !linked.is_empty() {
        let gains = Clipper::default().gains(&rendered.stereo);
        for data in rendered.channels.values_mut() {
            for (f, g) in data.chunks_exact_mut(2).zip(&gains) {
                f[0] *= g;
                f[1] *= g;
            }
        }
        resum(rendered);
        ran.push("clipper".to_string());
    }
    ran
}

/// RMS of interleaved stereo.
pub(crate) fn rms(buf: &[f32]) -> f32 {
    if buf.is_empty() {
        return 0.0;
    }
    (buf.iter().map(|s| s * s).sum::<f32>() / buf.len() as f32).sqrt()
}

/// Scales `buf` back to `target` RMS: processors change color, not level (the mix engine
/// sets levels).
pub(crate) fn restore_rms(buf: &mut [f32], target: f32) {
    let now = rms(buf);
    if now > 1e-9 && target > 0.0 {
        let g = target / now;
        buf.iter_mut().for_each(|s| *s *= g);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn music(sr: u32, seconds: f32) -> Vec<f32> {
        // A plucked chord every half second over a sub: enough to exercise every processor.
        let n = (sr as f32 * seconds) as usize;
        (0..n * 2)
            .map(|i| {
                let t = (i / 2) as f32 / sr as f32;
                let ph = t % 0.5;
                let env = (-ph * 6.0).exp();
                let chord: f32 = [220.0f32, 277.2, 329.6]
                    .iter()
                    .map(|f| (std::f32::consts::TAU * f * t).sin())
                    .sum();
                0.2 * env * chord + 0.2 * (std::f32::consts::TAU * 55.0 * t).sin()
            })
            .collect()
    }

    #[test]
    fn every_processor_keeps_length_level_and_finiteness_and_is_deterministic() {
        let ctx = ProcessContext {
            sample_rate: 44_100,
            tempo_bpm: 120.0,
            seed: 7,
            voices: 1,
        };
        let input = music(44_100, 2.0);
        for name in NAMES {
            for bus in [false, true] {
                if bus && *name == "distortion" {
                    assert!(build(name, bus).is_none());
                    continue;
                }
                let run = || {
                    let mut x = input.clone();
                    let ran = apply_chain(&[name.to_string()], bus, &mut x, &ctx);
                    assert_eq!(ran.len(), 1, "{name}");
                    x
                };
                let (a, b) = (run(), run());
                assert_eq!(a, b, "{name}: not deterministic");
                assert_eq!(a.len(), input.len(), "{name}");
                assert!(a.iter().all(|s| s.is_finite()), "{name}: NaN/inf");
                assert_ne!(a, input, "{name}: did nothing");
                let ratio_db = 20.0 * (rms(&a) / rms(&input)).log10();
                assert!(ratio_db.abs() < 1.5, "{name}: level moved {ratio_db:.1} dB");
            }
        }
        assert!(build("clean", false).is_none());
        assert!(build("sidechain", true).is_none());
    }
}
