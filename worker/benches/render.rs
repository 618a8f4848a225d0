//! Render benchmark: seconds of audio rendered per CPU-second for each instrument family (one
//! thread, a 30 s part generated for a genre that uses it), then the whole production of a
//! 30 s four-track request (instruments + processor chains in parallel threads, then the mix
//! engine). Writes a Markdown table.
//!
//!     cargo bench -p resonantgen-worker --bench render

use resonantgen_core::language::{PromptParser, mapper};
use resonantgen_core::{GenerationRequest, TrackType};
use resonantgen_worker::generators::{Part, Registry};
use resonantgen_worker::onnx::{self, Device};
use resonantgen_worker::production;
use resonantgen_worker::render::instruments::{self, Played};
use resonantgen_worker::render::{self, sampler};
use std::time::Instant;

/// CPU seconds this process has used (user + system), from /proc.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // after the ')' : state is field 0, utime 11, stime 12
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let env = onnx::init_runtime(None, Device::Cpu).expect("ONNX Runtime (run ops/setup-ort.sh)");
    let registry = Registry::load(env, &onnx::models_dir(), Device::Cpu).expect("models");
    let has_sf = sampler::soundfont().is_some();
    let setup = |prompt: &str| {
        let mut r = GenerationRequest::new(prompt);
        r.duration_seconds = Some(30.0);
        let m = mapper::map(&r, &PromptParser::parse(prompt), 5).expect("maps");
        let mut ctx = resonantgen_core::context::ContextManager::new(m.context);
        registry.plan(&mut ctx, &m.intent).expect("plan");
        let ctx = ctx.into_context();
        let parts = registry
            .generate_all(&ctx, &m.intent, &TrackType::all(), |_, _| {})
            .expect("generate");
        (ctx, m.intent, parts)
    };
    // (track, prompt, the instrument the prompt should select)
    let cases: [(&str, &str, &str); 20] = [
        ("drums", "techno", "synth 909 drum machine"),
        ("drums", "rock", "sampled standard kit"),
        ("drums", "metal", "sampled power kit"),
        ("drums", "jazz trio", "sampled jazz kit"),
        ("drums", "cinematic", "sampled orchestral percussion"),
        ("bass", "techno with acid bass", "synth acid bass"),
        ("bass", "drum and bass with reese", "synth reese bass"),
        ("bass", "trap", "synth 808 bass"),
        ("bass", "house with fm bass", "synth fm bass"),
        ("bass", "jazz trio", "sampled upright bass"),
        ("bass", "funk with slap bass", "sampled slap bass"),
        ("harmony", "trance", "synth supersaw"),
        ("harmony", "deep house", "synth fm electric piano"),
        ("harmony", "pop", "sampled piano"),
        ("harmony", "rock", "sampled overdriven guitar"),
        ("harmony", "cinematic", "sampled slow strings"),
        ("harmony", "bossa nova", "sampled nylon guitar"),
        ("melody", "techno", "synth saw lead"),
        ("melody", "jazz trio", "sampled tenor sax"),
        ("melody", "bossa nova with flute", "sampled flute"),
    ];
    let mut rows = Vec::new();
    for (track, prompt, label) in cases {
        let (ctx, intent, parts) = setup(prompt);
        let t = TrackType::parse(track).expect("track");
        let part: &Part = &parts[&t];
        let inst: Played = instruments::choose(t, &intent, has_sf);
        if has_sf && inst.name() != label {
            eprintln!(
                "note: {prompt} selects {} for {track}, not {label}",
                inst.name()
            );
        }
        let reps = 3;
        let (c0, w0) = (cpu_seconds(), Instant::now());
        for _ in 0..reps {
            std::hint::black_box(render::render_with(part, &ctx, &inst));
        }
        let wall = w0.elapsed().as_secs_f64() / reps as f64;
        let cpu = ((cpu_seconds() - c0) / reps as f64).max(wall);
        rows.push(format!(
            "| {track} | {prompt} | {} | {} | {:.0} | {:.0} |",
            inst.name(),
            part.notes.len(),
            wall * 1e3,
            30.0 / cpu
        ));
    }
    // The whole production of a 30 s request.
    let mut full = Vec::new();
    for prompt in [
        "dark techno with driving bass at 128 bpm",
        "jazz trio",
        "lofi hip hop with vinyl crackle",
    ] {
        let (ctx, intent, parts) = setup(prompt);
        let reps = 3;
        let (c0, w0) = (cpu_seconds(), Instant::now());
        for _ in 0..reps {
            let rendered = production::render_tracks(&ctx, &intent, &parts).expect("render");
            std::hint::black_box(production::mixdown(
                &ctx,
                &intent,
                rendered,
                Default::default(),
            ));
        }
        let wall = w0.elapsed().as_secs_f64() / reps as f64;
        let cpu = (cpu_seconds() - c0) / reps as f64;
        full.push(format!(
            "| {prompt} | {:.0} | {:.0} | {:.1} | {:.1} |",
            wall * 1e3,
            cpu * 1e3,
            30.0 / wall,
            30.0 / cpu.max(1e-9)
        ));
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("Instruments, one 30 s part each, one thread ({cores} cores, release build)\n");
    println!("| track | prompt | instrument | notes | ms per render | audio s per CPU-s |");
    println!("|---|---|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
    println!("\nFull production of a 30 s four-track request (render + processors + mix)\n");
    println!("| prompt | wall ms | CPU ms | audio s per wall-s | audio s per CPU-s |");
    println!("|---|---|---|---|---|");
    for r in full {
        println!("{r}");
    }
}
