//! Synthesized drum voices in the 808/909 tradition: a pitch-swept sine kick, a snare of
//! tone plus filtered noise, a multi-burst clap, metallic noise hats and a rim-shot perc.

use super::StereoBuf;
use super::dsp::{Noise, Osc, Svf, pan, saturate};
use crate::generators::Part;
use crate::generators::drums::{CLAP, HAT_CLOSED, HAT_OPEN, KICK, PERC, SNARE, VOICE_CHANNEL};
use resonantgen_shared::rng::Rng;
use std::collections::BTreeMap;

pub fn render(part: &Part, frames: usize, sr: f32, rng: &mut Rng) -> BTreeMap<String, StereoBuf> {
    let mut chans: BTreeMap<String, StereoBuf> = BTreeMap::new();
    for name in ["kick", "snare", "clap", "hats", "perc"] {
        chans.insert(name.to_string(), StereoBuf::new(frames));
    }
    let mut noise = Noise(Rng::new(rng.next_u32() as u64, 11));
    for note in &part.notes {
        let start = (note.time * f64::from(sr)).round() as usize;
        if start >= frames {
            continue;
        }
        let channel = VOICE_CHANNEL[note.voice as usize % VOICE_CHANNEL.len()];
        let Some(buf) = chans.get_mut(channel) else {
            continue;
        };
        let v = note.velocity;
        match note.voice {
            KICK => kick(buf, start, v, sr),
            SNARE => snare(buf, start, v, sr, &mut noise),
            CLAP => clap(buf, start, v, sr, &mut noise),
            HAT_CLOSED => hat(buf, start, v, sr, &mut noise, 0.045),
            HAT_OPEN => hat(buf, start, v, sr, &mut noise, 0.28),
            PERC => perc(buf, start, v, sr, &mut noise),
            _ => {}
        }
    }
    chans
}

fn kick(buf: &mut StereoBuf, start: usize, vel: f32, sr: f32) {
    let len = (0.5 * sr) as usize;
    let mut osc = Osc::default();
    for i in 0..len {
        let t = i as f32 / sr;
        let hz = 48.0 + 120.0 * (-t * 28.0).exp();
        let body = osc.sine(hz, sr) * (-t * 6.5).exp();
        let click = (-t * 300.0).exp() * 0.25 * (2.0 * std::f32::consts::PI * 1800.0 * t).sin();
        let s = saturate(body + click, 1.6) * vel * 0.9;
        buf.add(start + i, s, s);
    }
}

fn snare(buf: &mut StereoBuf, start: usize, vel: f32, sr: f32, noise: &mut Noise) {
    let len = (0.3 * sr) as usize;
    let mut osc = Osc::default();
    let mut hp = Svf::default();
    let mut bp = Svf::default();
    for i in 0..len {
        let t = i as f32 / sr;
        let tone = osc.sine(190.0 - 20.0 * (-t * 40.0).exp(), sr) * (-t * 22.0).exp() * 0.45;
        let n = noise.sample();
        let rattle = hp.highpass(n, 1400.0, 0.7, sr) * 0.6 + bp.bandpass(n, 4500.0, 1.2, sr) * 0.4;
        let s = (tone + rattle * (-t * 15.0).exp() * 0.7) * vel * 0.7;
        buf.add(start + i, s, s);
    }
}

fn clap(buf: &mut StereoBuf, start: usize, vel: f32, sr: f32, noise: &mut Noise) {
    let len = (0.3 * sr) as usize;
    let mut bp = Svf::default();
    let (l, r) = pan(0.05);
    for i in 0..len {
        let t = i as f32 / sr;
        // three quick bursts, then the room tail
        let burst = [0.0f32, 0.011, 0.022]
            .iter()
            .filter(|o| t >= **o)
            .map(|o| (-(t - o) * 220.0).exp())
            .sum::<f32>();
        let tail = if t > 0.022 {
            (-(t - 0.022) * 13.0).exp() * 0.6
        } else {
            0.0
        };
        let s = bp.bandpass(noise.sample(), 1250.0, 1.4, sr) * (burst + tail) * vel * 1.1;
        buf.add(start + i, s * l, s * r);
    }
}

fn hat(buf: &mut StereoBuf, start: usize, vel: f32, sr: f32, noise: &mut Noise, decay: f32) {
    let len = ((decay * 4.0).min(0.8) * sr) as usize;
    let mut hp = Svf::default();
    let mut oscs = [205.3f32, 304.4, 369.6, 522.7, 540.0, 800.0].map(|_| Osc::default());
    let ratios = [205.3f32, 304.4, 369.6, 522.7, 540.0, 800.0];
    let (l, r) = pan(0.25);
    for i in 0..len {
        let t = i as f32 / sr;
        let metal: f32 = oscs
            .iter_mut()
            .zip(ratios)
            .map(|(o, f)| o.square(f * 1.7, sr))
            .sum::<f32>()
            / 6.0;
        let x = noise.sample() * 0.7 + metal * 0.5;
        let s = hp.highpass(x, 7500.0, 0.8, sr) * (-t / decay).exp() * vel * 0.45;
        buf.add(start + i, s * l, s * r);
    }
}

fn perc(buf: &mut StereoBuf, start: usize, vel: f32, sr: f32, noise: &mut Noise) {
    let len = (0.12 * sr) as usize;
    let mut osc = Osc::default();
    let mut bp = Svf::default();
    let (l, r) = pan(-0.35);
    for i in 0..len {
        let t = i as f32 / sr;
        let tone = osc.sine(1650.0, sr) * (-t * 45.0).exp();
        let click = bp.bandpass(noise.sample(), 3200.0, 2.0, sr) * (-t * 120.0).exp();
        let s = (tone * 0.4 + click * 0.5) * vel * 0.6;
        buf.add(start + i, s * l, s * r);
    }
}
