//! Generation benchmark: the symbolic generation stage (all ONNX step models, dependency
//! order) of a 30 s four-track request, one job alone and 8 concurrent jobs, with the steps of
//! concurrent jobs batched into shared ONNX runs and without. Writes a Markdown table.
//!
//!     cargo bench -p resonantgen-worker --bench generate

use resonantgen_core::language::{PromptParser, mapper};
use resonantgen_core::{GenerationRequest, TrackType};
use resonantgen_worker::generators::Registry;
use resonantgen_worker::onnx::{self, Device};
use std::time::Instant;

const PROMPTS: [&str; 8] = [
    "dark techno with driving bass at 128 bpm",
    "deep house with warm keys",
    "boom bap hip hop at 90 bpm",
    "funk with slap bass at 105",
    "trance at 138 bpm",
    "jazz trio in D dorian",
    "drum and bass at 174",
    "synthpop at 112 bpm",
];

fn job(registry: &Registry, i: usize) -> usize {
    let prompt = PROMPTS[i % PROMPTS.len()];
    let mut r = GenerationRequest::new(prompt);
    r.duration_seconds = Some(30.0);
    let m = mapper::map(&r, &PromptParser::parse(prompt), 1000 + i as u64).expect("prompt maps");
    let mut ctx = resonantgen_core::context::ContextManager::new(m.context);
    registry.plan(&mut ctx, &m.intent).expect("plan");
    let ctx = ctx.into_context();
    let parts = registry
        .generate_all(&ctx, &m.intent, &TrackType::all(), |_, _| {})
        .expect("generation");
    parts.values().map(|p| p.notes.len()).sum()
}

/// Runs `rounds` rounds of `jobs` concurrent jobs; returns (mean seconds per round, rows per run).
fn measure(registry: &Registry, jobs: usize, rounds: usize) -> (f64, f64) {
    let (runs0, rows0, _) = registry.step_stats();
    let started = Instant::now();
    for round in 0..rounds {
        std::thread::scope(|s| {
            for j in 0..jobs {
                s.spawn(move || job(registry, round * jobs + j));
            }
        });
    }
    let secs = started.elapsed().as_secs_f64() / rounds as f64;
    let (runs1, rows1, _) = registry.step_stats();
    (secs, (rows1 - rows0) as f64 / (runs1 - runs0).max(1) as f64)
}

fn main() {
    // BENCH_DEVICE=cuda measures the GPU build of ONNX Runtime (ops/setup-ort.sh --gpu).
    let device = Device::parse(&std::env::var("BENCH_DEVICE").unwrap_or_else(|_| "cpu".into()))
        .expect("BENCH_DEVICE is cpu or cuda");
    let env = onnx::init_runtime(None, device).expect("ONNX Runtime (run ops/setup-ort.sh)");
    let mut registry = match Registry::load(env, &onnx::models_dir(), device) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    job(&registry, 0); // warm-up
    let mut rows = Vec::new();
    for batching in [false, true] {
        registry.set_batching(batching);
        for jobs in [1usize, 8] {
            let rounds = if jobs == 1 { 10 } else { 3 };
            let (secs, per_run) = measure(&registry, jobs, rounds);
            rows.push(format!(
                "| {} | {jobs} | {:.1} | {:.1} | {:.2} | {per_run:.1} |",
                if batching { "on" } else { "off" },
                secs * 1e3,
                secs * 1e3 / jobs as f64,
                jobs as f64 * 30.0 / secs,
            ));
        }
    }
    println!(
        "Generation stage, 30 s four-track request ({cores} cores, ONNX Runtime CPU, models padded to batch 8)\n"
    );
    println!(
        "| step batching | concurrent jobs | wall ms | ms per job | audio s generated per s | rows per ONNX run |"
    );
    println!("|---|---|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
}
