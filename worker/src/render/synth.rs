//! Pitched instruments: subtractive and 808 basses, detuned-saw pads, saw stabs, an FM
//! electric piano, and pluck/saw/square/bell leads.

use super::StereoBuf;
use super::dsp::{Adsr, Osc, Svf, midi_hz, pan, saturate};
use crate::generators::{Note, Part};
use resonantgen_core::rng::Rng;

/// Renders each note with `voice(note, t, state) -> (l, r)` for the note's envelope length.
fn play<S>(
    buf: &mut StereoBuf,
    notes: &[Note],
    sr: f32,
    tail: f32,
    mut init: impl FnMut(&Note) -> S,
    mut voice: impl FnMut(&Note, f32, &mut S) -> (f32, f32),
) {
    let frames = buf.frames();
    for note in notes {
        let start = (note.time * f64::from(sr)).round() as usize;
        if start >= frames {
            continue;
        }
        let len = ((note.duration as f32 + tail) * sr) as usize;
        let mut state = init(note);
        for i in 0..len.min(frames - start) {
            let (l, r) = voice(note, i as f32 / sr, &mut state);
            buf.add(start + i, l, r);
        }
    }
}

/// The bass synthesizers, by voice: "808" (also any sub808 line), "reese", "acid", "fm",
/// "sub", "pulse" (chiptune), "wobble", else subtractive.
pub fn bass(part: &Part, frames: usize, sr: f32, voice: &str, _rng: &mut Rng) -> StereoBuf {
    let mut buf = StereoBuf::new(frames);
    if let Some(b) = bass_voice(part, frames, sr, voice) {
        return b;
    }
    if part.style == "sub808" || voice == "808" {
        // 808: a sine with a short pitch drop and a long decay, driven warm. A note that
        // follows the previous one legato at another pitch glides up or down to it instead
        // (the trap 808 slide).
        let glide_from: Vec<Option<f32>> = part
            .notes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let prev = i.checked_sub(1).map(|j| &part.notes[j])?;
                let legato = prev.time + prev.duration >= n.time - 0.02;
                (legato && prev.pitch != n.pitch).then(|| midi_hz(f32::from(prev.pitch)))
            })
            .collect();
        let mut next = 0;
        play(
            &mut buf,
            &part.notes,
            sr,
            0.05,
            |_| {
                let g = glide_from.get(next).copied().flatten();
                next += 1;
                (Osc::default(), g)
            },
            |n, t, (osc, glide)| {
                let hold = n.duration as f32;
                let target = midi_hz(f32::from(n.pitch));
                let hz = match glide {
                    // exponential slide, ~70 ms to land
                    Some(from) => target * (*from / target).powf((-t * 45.0).exp()),
                    None => target * (1.0 + 0.25 * (-t * 30.0).exp()),
                };
                let env = if glide.is_some() {
                    (-t * 0.9).exp() * 0.95
                } else {
                    (-t * 1.1).exp()
                } * if t > hold {
                    (1.0 - (t - hold) / 0.05).max(0.0)
                } else {
                    1.0
                };
                let click_in = (t * sr / 64.0).min(1.0);
                let s = saturate(osc.sine(hz, sr) * env * click_in, 2.0) * n.velocity * 0.8;
                (s, s)
            },
        );
        return buf;
    }
    // Subtractive bass: saw + sub sine through a low-pass whose envelope follows velocity.
    let env = Adsr {
        attack: 0.003,
        decay: 0.18,
        sustain: 0.75,
        release: 0.04,
    };
    play(
        &mut buf,
        &part.notes,
        sr,
        env.release,
        |_| (Osc::default(), Osc::default(), Svf::default()),
        |n, t, (saw, sub, lp)| {
            let hz = midi_hz(f32::from(n.pitch));
            let cutoff = 140.0 + 1100.0 * n.velocity * (-t * 14.0).exp();
            let raw = saw.saw(hz, sr) * 0.55 + sub.sine(hz, sr) * 0.6;
            let s = lp.lowpass(raw, cutoff, 0.9, sr)
                * env.level(t, n.duration as f32)
                * n.velocity
                * 0.75;
            let s = saturate(s, 1.3);
            (s, s)
        },
    );
    buf
}

/// The chord synthesizers, by voice: "pad" (detuned saws), "stabs", else the FM electric
/// piano.
pub fn harmony(part: &Part, frames: usize, sr: f32, voice: &str, rng: &mut Rng) -> StereoBuf {
    let mut buf = StereoBuf::new(frames);
    match voice {
        "pad" => {
            let env = Adsr {
                attack: 0.35,
                decay: 0.8,
                sustain: 0.8,
                release: 0.6,
            };
            let seed = rng.next_u32();
            play(
                &mut buf,
                &part.notes,
                sr,
                env.release,
                |n| {
                    // three detuned saws per side, random start phases: width without chorus
                    let mut r = Rng::new(u64::from(seed), u64::from(n.pitch) + n.step as u64);
                    let oscs: [Osc; 6] = std::array::from_fn(|_| Osc::with_phase(r.f32()));
                    (oscs, Svf::default(), Svf::default())
                },
                |n, t, (oscs, fl, fr)| {
                    let hz = midi_hz(f32::from(n.pitch));
                    let det = [-0.11f32, 0.0, 0.09, -0.07, 0.02, 0.12];
                    let mut l = 0.0;
                    let mut r = 0.0;
                    for (i, o) in oscs.iter_mut().enumerate() {
                        let s = o.saw(hz * 2f32.powf(det[i] / 12.0), sr);
                        if i < 3 { l += s } else { r += s }
                    }
                    let cutoff = 900.0 + 1400.0 * n.velocity;
                    let e = env.level(t, n.duration as f32) * n.velocity * 0.16;
                    (
                        fl.lowpass(l, cutoff, 0.7, sr) * e,
                        fr.lowpass(r, cutoff, 0.7, sr) * e,
                    )
                },
            );
        }
        "stabs" => {
            let env = Adsr {
                attack: 0.002,
                decay: 0.12,
                sustain: 0.3,
                release: 0.08,
            };
            play(
                &mut buf,
                &part.notes,
                sr,
                env.release,
                |n| {
                    (
                        Osc::default(),
                        Osc::with_phase(0.37),
                        Svf::default(),
                        pan(if n.pitch % 2 == 0 { -0.3 } else { 0.3 }),
                    )
                },
                |n, t, (a, b, lp, (pl, pr))| {
                    let hz = midi_hz(f32::from(n.pitch));
                    let raw = a.saw(hz * 1.003, sr) + b.saw(hz * 0.997, sr);
                    let cutoff = 500.0 + 3500.0 * n.velocity * (-t * 16.0).exp();
                    let s = lp.lowpass(raw, cutoff, 1.1, sr)
                        * env.level(t, n.duration as f32)
                        * n.velocity
                        * 0.2;
                    (s * *pl, s * *pr)
                },
            );
        }
        _ => {
            // FM electric piano: bright attack that mellows as the modulation index decays.
            let env = Adsr {
                attack: 0.002,
                decay: 1.2,
                sustain: 0.25,
                release: 0.25,
            };
            play(
                &mut buf,
                &part.notes,
                sr,
                env.release,
                |n| {
                    (
                        Osc::default(),
                        Osc::default(),
                        pan((f32::from(n.pitch) - 60.0) / 24.0),
                    )
                },
                |n, t, (car, modu, (pl, pr))| {
                    let hz = midi_hz(f32::from(n.pitch));
                    let index = (0.25 + 1.1 * n.velocity) * (-t * 3.5).exp();
                    let m = modu.sine(hz, sr) * index;
                    let tine = (-t * 30.0).exp()
                        * 0.15
                        * (2.0 * std::f32::consts::PI * hz * 7.0 * t).sin();
                    let s = (car.sine_pm(hz, sr, m * 0.5) + tine)
                        * env.level(t, n.duration as f32)
                        * n.velocity
                        * 0.28;
                    (s * *pl, s * *pr)
                },
            );
        }
    }
    buf
}

/// The lead synthesizers, by voice: "pluck", "bell", "square", else a saw.
pub fn lead(part: &Part, frames: usize, sr: f32, voice: &str, _rng: &mut Rng) -> StereoBuf {
    let mut dry = StereoBuf::new(frames);
    let style = voice.to_string();
    let env = match style.as_str() {
        "pluck" => Adsr {
            attack: 0.002,
            decay: 0.25,
            sustain: 0.0,
            release: 0.08,
        },
        "bell" => Adsr {
            attack: 0.002,
            decay: 0.9,
            sustain: 0.1,
            release: 0.3,
        },
        _ => Adsr {
            attack: 0.01,
            decay: 0.3,
            sustain: 0.7,
            release: 0.08,
        },
    };
    play(
        &mut dry,
        &part.notes,
        sr,
        env.release,
        |_| (Osc::default(), Osc::default(), Svf::default()),
        |n, t, (a, b, lp)| {
            let hz = midi_hz(f32::from(n.pitch));
            let vibrato =
                1.0 + 0.004 * (t * 5.5 * std::f32::consts::TAU).sin() * (t * 2.0).min(1.0);
            let s = match style.as_str() {
                "pluck" => {
                    let raw = a.saw(hz, sr) + 0.5 * b.square(hz * 0.5, sr);
                    lp.lowpass(
                        raw,
                        400.0 + 5000.0 * n.velocity * (-t * 22.0).exp(),
                        0.9,
                        sr,
                    )
                }
                "square" => lp.lowpass(a.square(hz * vibrato, sr), 3200.0, 0.7, sr),
                "bell" => {
                    let m = b.sine(hz * 3.5, sr) * 1.6 * (-t * 5.0).exp();
                    a.sine_pm(hz, sr, m * 0.4)
                }
                _ => {
                    let raw = a.saw(hz * vibrato * 1.002, sr) + b.saw(hz * vibrato * 0.998, sr);
                    lp.lowpass(raw * 0.6, 2600.0, 0.8, sr)
                }
            };
            let s = s * env.level(t, n.duration as f32) * n.velocity * 0.3;
            (s, s)
        },
    );
    // Echo is the "delay" processor's job (processors::Delay), chosen by the intent.
    dry
}

/// The bass voices beyond the subtractive default and the 808.
fn bass_voice(part: &Part, frames: usize, sr: f32, voice: &str) -> Option<StereoBuf> {
    let mut buf = StereoBuf::new(frames);
    let env = Adsr {
        attack: 0.004,
        decay: 0.2,
        sustain: 0.8,
        release: 0.05,
    };
    match voice {
        // Reese: two saws detuned against each other over a sine sub, the filter breathing.
        "reese" | "wobble" => {
            let lfo_hz = if voice == "wobble" { 2.0 } else { 0.35 };
            play(
                &mut buf,
                &part.notes,
                sr,
                env.release,
                |_| {
                    (
                        Osc::default(),
                        Osc::default(),
                        Osc::default(),
                        Svf::default(),
                    )
                },
                |n, t, (a, b, sub, lp)| {
                    let hz = midi_hz(f32::from(n.pitch));
                    let raw = a.saw(hz * 1.007, sr) + b.saw(hz * 0.993, sr);
                    let lfo = 0.5 + 0.5 * (std::f32::consts::TAU * lfo_hz * t).sin();
                    let cutoff = 250.0 + 900.0 * lfo * n.velocity;
                    let s = lp.lowpass(raw * 0.4, cutoff, 1.2, sr) + sub.sine(hz, sr) * 0.45;
                    let s = saturate(s * env.level(t, n.duration as f32) * n.velocity, 1.6) * 0.7;
                    (s, s)
                },
            );
        }
        // Acid: a saw through a resonant low-pass whose envelope snaps with every note;
        // accented (loud) notes open further.
        "acid" => play(
            &mut buf,
            &part.notes,
            sr,
            env.release,
            |_| (Osc::default(), Svf::default()),
            |n, t, (a, lp)| {
                let hz = midi_hz(f32::from(n.pitch));
                let accent = if n.velocity > 0.9 { 1.6 } else { 1.0 };
                let cutoff = 180.0 + 2600.0 * n.velocity * accent * (-t * 9.0).exp();
                let s = lp.lowpass(a.saw(hz, sr), cutoff, 5.5, sr)
                    * env.level(t, n.duration as f32)
                    * n.velocity
                    * 0.45;
                let s = saturate(s, 1.8);
                (s, s)
            },
        ),
        // FM: a sine modulated at the same frequency, the index decaying — a bright pluck
        // settling into a round tone.
        "fm" => play(
            &mut buf,
            &part.notes,
            sr,
            env.release,
            |_| (Osc::default(), Osc::default()),
            |n, t, (car, modu)| {
                let hz = midi_hz(f32::from(n.pitch));
                let index = 0.4 + 2.5 * n.velocity * (-t * 12.0).exp();
                let m = modu.sine(hz, sr) * index;
                let s = car.sine_pm(hz, sr, m) * env.level(t, n.duration as f32) * n.velocity * 0.7;
                (s, s)
            },
        ),
        // Sub: a pure sine with a soft attack, nothing above the second harmonic.
        "sub" => play(
            &mut buf,
            &part.notes,
            sr,
            env.release,
            |_| Osc::default(),
            |n, t, o| {
                let hz = midi_hz(f32::from(n.pitch));
                let a = (t / 0.01).min(1.0);
                let s = saturate(o.sine(hz, sr) * a * env.level(t, n.duration as f32), 1.2)
                    * n.velocity
                    * 0.32;
                (s, s)
            },
        ),
        // Pulse: the chiptune bass, a band-limited square an octave up through a gentle filter.
        "pulse" => play(
            &mut buf,
            &part.notes,
            sr,
            env.release,
            |_| (Osc::default(), Svf::default()),
            |n, t, (o, lp)| {
                let hz = midi_hz(f32::from(n.pitch));
                let s = lp.lowpass(o.square(hz, sr), 3000.0, 0.7, sr)
                    * env.level(t, n.duration as f32)
                    * n.velocity
                    * 0.35;
                (s, s)
            },
        ),
        _ => return None,
    }
    Some(buf)
}
