//! Synthesized drum voices in the 808/909 tradition: a pitch-swept sine kick, a snare of
//! tone plus filtered noise, a multi-burst clap, metallic noise hats, a ride and a crash built
//! from inharmonic square partials, pitch-dropping toms and a rim-shot perc.

use super::StereoBuf;
use super::dsp::{Noise, Osc, Svf, pan, saturate};
use crate::generators::Part;
use crate::generators::drums::{
    CLAP, CRASH, HAT_CLOSED, HAT_OPEN, KICK, PERC, RIDE, SNARE, TOM_HIGH, TOM_LOW, VOICE_CHANNEL,
};
use resonantgen_core::rng::Rng;
use std::collections::BTreeMap;

/// Renders the kit; `tight` voices the 808/breaks machines (a short punchy kick that leaves
/// the low end to the bass), else the 909 (a kick with boom).
pub fn render(
    part: &Part,
    frames: usize,
    sr: f32,
    tight: bool,
    rng: &mut Rng,
) -> BTreeMap<String, StereoBuf> {
    let mut chans: BTreeMap<String, StereoBuf> = BTreeMap::new();
    for name in ["kick", "snare", "clap", "hats", "cymbals", "toms", "perc"] {
        chans.insert(name.to_string(), StereoBuf::new(frames));
    }
    let mut noise = Noise(Rng::new(rng.next_u32() as u64, 11));
    // Where the bass plays with the kick (kick-locked lines, 808s), the kick is tight and
    // punchy and leaves the low end to the bass; four-on-the-floor kicks keep their boom.
    let tight = tight
        || matches!(
            part.style.as_str(),
            "trap" | "dubstep" | "hip_hop" | "lofi" | "drum_and_bass" | "garage" | "breakbeat"
        );
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
            KICK => kick(buf, start, v, sr, tight),
            SNARE => snare(buf, start, v, sr, &mut noise),
            CLAP => clap(buf, start, v, sr, &mut noise),
            HAT_CLOSED => hat(buf, start, v, sr, &mut noise, 0.045),
            HAT_OPEN => hat(buf, start, v, sr, &mut noise, 0.28),
            RIDE => cymbal(buf, start, v, sr, &mut noise, Cymbal::RIDE),
            CRASH => cymbal(buf, start, v, sr, &mut noise, Cymbal::CRASH),
            TOM_HIGH => tom(buf, start, v, sr, 165.0, 0.3),
            TOM_LOW => tom(buf, start, v, sr, 105.0, -0.3),
            PERC => perc(buf, start, v, sr, &mut noise),
            _ => {}
        }
    }
    chans
}

fn kick(buf: &mut StereoBuf, start: usize, vel: f32, sr: f32, tight: bool) {
    let len = (0.5 * sr) as usize;
    let mut osc = Osc::default();
    let (floor, decay) = if tight { (58.0, 13.0) } else { (48.0, 6.5) };
    for i in 0..len {
        let t = i as f32 / sr;
        let hz = floor + 120.0 * (-t * 28.0).exp();
        let body = osc.sine(hz, sr) * (-t * decay).exp();
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

/// A cymbal: six inharmonic square partials (the 808 "metal" cluster, pitched lower than the
/// hats) plus noise, high-passed, with a bell-like ping for the ride.
struct Cymbal {
    base: f32,
    decay: f32,
    noise: f32,
    ping: f32,
    cutoff: f32,
    pan: f32,
}

impl Cymbal {
    const RIDE: Cymbal = Cymbal {
        base: 1.05,
        decay: 0.55,
        noise: 0.25,
        ping: 0.35,
        cutoff: 4200.0,
        pan: 0.35,
    };
    const CRASH: Cymbal = Cymbal {
        base: 1.2,
        decay: 0.9,
        noise: 0.8,
        ping: 0.0,
        cutoff: 3000.0,
        pan: -0.3,
    };
}

fn cymbal(buf: &mut StereoBuf, start: usize, vel: f32, sr: f32, noise: &mut Noise, c: Cymbal) {
    let len = ((c.decay * 4.0) * sr) as usize;
    let ratios = [205.3f32, 304.4, 369.6, 522.7, 540.0, 800.0];
    let mut oscs = ratios.map(|_| Osc::default());
    let mut bell = Osc::default();
    let mut hp = Svf::default();
    let (l, r) = pan(c.pan);
    for i in 0..len {
        let t = i as f32 / sr;
        let metal: f32 = oscs
            .iter_mut()
            .zip(ratios)
            .map(|(o, f)| o.square(f * c.base * 2.0, sr))
            .sum::<f32>()
            / 6.0;
        let x = metal * 0.6 + noise.sample() * c.noise;
        let body = hp.highpass(x, c.cutoff, 0.7, sr) * (-t / c.decay).exp();
        let ping = bell.sine(3520.0 * c.base, sr) * (-t * 6.0).exp() * c.ping;
        // The crash swells for a few milliseconds; the ride speaks at once.
        let attack = if c.ping > 0.0 {
            1.0
        } else {
            (t / 0.004).min(1.0)
        };
        let s = (body + ping) * attack * vel * 0.32;
        buf.add(start + i, s * l, s * r);
    }
}

/// A tom: a sine whose pitch drops a fifth over its first 100 ms, with a soft stick click.
fn tom(buf: &mut StereoBuf, start: usize, vel: f32, sr: f32, hz: f32, position: f32) {
    let len = (0.6 * sr) as usize;
    let mut osc = Osc::default();
    let (l, r) = pan(position);
    for i in 0..len {
        let t = i as f32 / sr;
        let f = hz * (1.0 + 0.5 * (-t * 18.0).exp());
        let body = osc.sine(f, sr) * (-t * 7.0).exp();
        let click = (-t * 400.0).exp() * 0.2;
        let s = saturate(body + click, 1.3) * vel * 0.75;
        buf.add(start + i, s * l, s * r);
    }
}
