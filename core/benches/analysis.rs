//! Analysis throughput: seconds of audio analysed per CPU-second (the analyser is
//! single-threaded, so wall time on an idle core is its CPU time), for a 30 s mix of drums,
//! bass and chords at the rates and channel counts locked stems arrive in, whole and by
//! stage. Prints a markdown table.
//!
//!     cargo bench -p resonantgen-core --bench analysis

use resonantgen_core::analysis::{
    WORKING_RATE, analyze, chroma::Chromagram, onset::OnsetEnvelope, resample, tempo,
};
use std::f64::consts::TAU;
use std::hint::black_box;
use std::time::Instant;

const SECONDS: f64 = 30.0;
const ROUNDS: usize = 3;

/// A 120 bpm groove with a bass line and a I–vi–IV–V pad, interleaved over `channels`.
fn mix(rate: u32, channels: u16) -> Vec<f32> {
    let sr = f64::from(rate);
    let n = (SECONDS * sr) as usize;
    let beat = 0.5;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut noise = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    };
    let roots = [57.0, 54.0, 50.0, 52.0];
    let mut out = Vec::with_capacity(n * usize::from(channels));
    let hz = |m: f64| 440.0 * 2f64.powf((m - 69.0) / 12.0);
    for i in 0..n {
        let t = i as f64 / sr;
        let in_beat = t % beat;
        let step = (t / (beat / 4.0)) as usize;
        let in_step = t % (beat / 4.0);
        let kick = (TAU * (50.0 + 80.0 * (-in_beat * 30.0).exp()) * in_beat).sin()
            * (-in_beat * 8.0).exp();
        let snare = if (t / beat) as usize % 2 == 1 {
            noise() * (-in_beat * 20.0).exp() * 0.5
        } else {
            0.0
        };
        let hat = if step % 2 == 1 {
            noise() * (-in_step * 60.0).exp() * 0.2
        } else {
            0.0
        };
        let root = roots[(t / (4.0 * beat)) as usize % 4];
        let bass = (TAU * hz(root - 24.0) * t).sin() * 0.4;
        let pad: f64 = [0.0, 4.0, 7.0]
            .iter()
            .map(|iv| {
                (1..=4)
                    .map(|k| (TAU * hz(root + iv) * k as f64 * t).sin() / k as f64)
                    .sum::<f64>()
            })
            .sum::<f64>()
            * 0.08;
        let v = ((kick + snare + hat + bass + pad) * 0.4) as f32;
        for _ in 0..channels {
            out.push(v);
        }
    }
    out
}

fn per_cpu_second(seconds: f64) -> f64 {
    SECONDS / seconds
}

fn timed(mut f: impl FnMut()) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..ROUNDS {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    best
}

fn main() {
    println!("| input | whole analysis | resample | onsets + tempo + beats | chroma |");
    println!("|---|---|---|---|---|");
    for (rate, channels) in [
        (22_050, 1),
        (44_100, 2),
        (48_000, 2),
        (96_000, 2),
        (48_000, 6),
    ] {
        let x = mix(rate, channels);
        let whole = timed(|| {
            black_box(analyze(black_box(&x), channels, rate).ok());
        });
        let mono: Vec<f32> = x.iter().step_by(usize::from(channels)).copied().collect();
        let rs = timed(|| {
            black_box(resample::resample(black_box(&mono), rate, WORKING_RATE));
        });
        let w = resample::resample(&mono, rate, WORKING_RATE);
        let rhythm = timed(|| {
            let env = OnsetEnvelope::compute(black_box(&w), WORKING_RATE);
            black_box(tempo::estimate(&env, tempo::TempoPrior::LISTENER));
        });
        let chroma = timed(|| {
            black_box(Chromagram::compute(black_box(&w), WORKING_RATE));
        });
        println!(
            "| {:.2} kHz, {channels} ch | {:.0}× | {:.0}× | {:.0}× | {:.0}× |",
            f64::from(rate) / 1000.0,
            per_cpu_second(whole),
            per_cpu_second(rs),
            per_cpu_second(rhythm),
            per_cpu_second(chroma),
        );
    }
}
