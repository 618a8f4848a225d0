//! One ONNX step model shared by every job in the process, with steps of concurrent jobs
//! batched into one ONNX run.
//!
//! Generators sample autoregressively, one 16th-note step at a time, so each job makes
//! hundreds of tiny calls. When several jobs generate the same track type at once, the first
//! caller to find no batch in flight becomes the leader: it waits (at most `window`) until every
//! job currently inside the model has queued its row, runs them as one batch and hands each
//! caller its row of the output. A job alone never waits.
//!
//! Determinism: a row's output must not depend on which other rows share its batch, or the
//! same seed could give different stems under load. Every run is therefore padded to the same
//! fixed batch size, so ONNX Runtime always takes the same kernel path; the generator tests
//! check that a row's output is bit-identical at every position of the batch.

use crate::onnx::{ModelSession, OnnxError};
use ndarray::Array2;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// Rows per ONNX run (and the padded batch size).
pub const MAX_BATCH: usize = 8;
/// How long a leader waits for the other active jobs' rows by default.
const WINDOW: Duration = Duration::from_micros(300);

#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("{model}: row has {got} values, the model's inputs take {want}")]
    Width {
        model: String,
        got: usize,
        want: usize,
    },
    #[error("{model}: {message}")]
    Run { model: String, message: String },
}

#[derive(Default)]
struct Pending {
    /// Queued rows: (ticket, concatenated inputs).
    rows: Vec<(u64, Vec<f32>)>,
    leader: bool,
    results: HashMap<u64, Result<Vec<f32>, String>>,
}

/// Counters for the benchmark and the metrics endpoint.
#[derive(Default)]
pub struct StepStats {
    pub runs: AtomicU64,
    pub rows: AtomicU64,
    pub nanos: AtomicU64,
}

pub struct StepModel<M> {
    pub name: String,
    model: ModelSession<M>,
    /// (input name, width) in the graph's order; a row is their concatenation.
    inputs: Vec<(String, usize)>,
    output: String,
    out_width: usize,
    pending: Mutex<Pending>,
    ready: Condvar,
    active: AtomicUsize,
    next_ticket: AtomicU64,
    batching: bool,
    window: Duration,
    pub stats: StepStats,
}

/// Marks a job as generating with this model for as long as it lives, so leaders know how
/// many rows to wait for.
pub struct Active<'a, M> {
    model: &'a StepModel<M>,
}

impl<M> Drop for Active<'_, M> {
    fn drop(&mut self) {
        self.model.active.fetch_sub(1, Ordering::SeqCst);
        // A leader may be waiting for this job's row; it no longer comes.
        self.model.ready.notify_all();
    }
}

impl<M> StepModel<M> {
    /// Wraps a loaded session and checks it with one padded zero batch, so a model whose
    /// inputs disagree with the manifest fails at start-up, not in the middle of a job.
    pub fn new(
        name: &str,
        model: ModelSession<M>,
        inputs: Vec<(String, usize)>,
        output: &str,
        out_width: usize,
    ) -> Result<Self, OnnxError> {
        let m = StepModel {
            name: name.to_string(),
            model,
            inputs,
            output: output.to_string(),
            out_width,
            pending: Mutex::new(Pending::default()),
            ready: Condvar::new(),
            active: AtomicUsize::new(0),
            next_ticket: AtomicU64::new(0),
            batching: std::env::var("RESONANTGEN_STEP_BATCHING").is_ok_and(|v| v == "1"),
            window: std::env::var("RESONANTGEN_STEP_WINDOW_US")
                .ok()
                .and_then(|v| v.parse().ok())
                .map_or(WINDOW, Duration::from_micros),
            stats: StepStats::default(),
        };
        let zero = vec![0.0f32; m.row_width()];
        m.run_batch(&[&zero])
            .map_err(|e| OnnxError::Ort(format!("{name}: self-check run failed: {e}")))?;
        Ok(m)
    }

    pub fn manifest(&self) -> &M {
        &self.model.manifest
    }

    pub fn sha256(&self) -> &str {
        &self.model.sha256
    }

    /// Width of one input row (all inputs concatenated).
    pub fn row_width(&self) -> usize {
        self.inputs.iter().map(|(_, w)| w).sum()
    }

    pub fn out_width(&self) -> usize {
        self.out_width
    }

    /// Whether steps of concurrent jobs share ONNX runs. Off unless turned on: the worker
    /// turns it on for CUDA (every run pays a kernel launch) and on machines with 8 or more
    /// cores, where it measured 1.26× faster for 8 concurrent jobs; on 2 cores the hand-off
    /// cost more than it saved (docs/BENCHMARKS.md). `RESONANTGEN_STEP_BATCHING=1|0`
    /// overrides.
    pub fn set_batching(&mut self, on: bool) {
        self.batching = on;
    }

    /// (runs, rows, seconds inside ONNX Runtime) so far.
    pub fn stats(&self) -> (u64, u64, f64) {
        (
            self.stats.runs.load(Ordering::Relaxed),
            self.stats.rows.load(Ordering::Relaxed),
            self.stats.nanos.load(Ordering::Relaxed) as f64 * 1e-9,
        )
    }

    pub fn enter(&self) -> Active<'_, M> {
        self.active.fetch_add(1, Ordering::SeqCst);
        Active { model: self }
    }

    /// Runs rows (each the concatenation of the inputs) padded to `MAX_BATCH`.
    fn run_batch(&self, rows: &[&[f32]]) -> Result<Vec<Vec<f32>>, String> {
        let started = Instant::now();
        let mut arrays = Vec::with_capacity(self.inputs.len());
        let mut offset = 0;
        for (_, width) in &self.inputs {
            let mut a = Array2::<f32>::zeros((MAX_BATCH, *width));
            for (r, row) in rows.iter().enumerate() {
                a.row_mut(r)
                    .as_slice_mut()
                    .ok_or("non-contiguous row")?
                    .copy_from_slice(&row[offset..offset + width]);
            }
            offset += width;
            arrays.push(a);
        }
        let mut session = self
            .model
            .session
            .lock()
            .map_err(|_| "session lock poisoned".to_string())?;
        let mut feed: Vec<(String, ort::value::DynValue)> = Vec::with_capacity(arrays.len());
        for ((name, _), a) in self.inputs.iter().zip(arrays) {
            let v = ort::value::Tensor::from_array(a).map_err(|e| e.to_string())?;
            feed.push((name.clone(), v.into_dyn()));
        }
        let run_started = Instant::now();
        let outputs = session.run(feed).map_err(|e| e.to_string())?;
        crate::telemetry::model_inference(&self.name, run_started.elapsed().as_secs_f64());
        let (_, flat) = outputs[self.output.as_str()]
            .try_extract_tensor::<f32>()
            .map_err(|e| e.to_string())?;
        if flat.len() != MAX_BATCH * self.out_width {
            return Err(format!(
                "output has {} values, expected {}",
                flat.len(),
                MAX_BATCH * self.out_width
            ));
        }
        let out = (0..rows.len())
            .map(|r| flat[r * self.out_width..(r + 1) * self.out_width].to_vec())
            .collect();
        self.stats.runs.fetch_add(1, Ordering::Relaxed);
        self.stats
            .rows
            .fetch_add(rows.len() as u64, Ordering::Relaxed);
        self.stats
            .nanos
            .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        Ok(out)
    }

    /// One step: the model's output row for `row`. Call between `enter()` and the guard's drop.
    pub fn infer(&self, row: Vec<f32>) -> Result<Vec<f32>, StepError> {
        let want = self.row_width();
        if row.len() != want {
            return Err(StepError::Width {
                model: self.name.clone(),
                got: row.len(),
                want,
            });
        }
        let fail = |message: String| StepError::Run {
            model: self.name.clone(),
            message,
        };
        if !self.batching {
            return self
                .run_batch(&[&row])
                .map_err(fail)?
                .pop()
                .ok_or_else(|| fail("empty output".into()));
        }
        let ticket = self.next_ticket.fetch_add(1, Ordering::Relaxed);
        let mut p = self
            .pending
            .lock()
            .map_err(|_| fail("batch queue poisoned".into()))?;
        p.rows.push((ticket, row));
        // A leader may be waiting for this row.
        self.ready.notify_all();
        loop {
            if let Some(result) = p.results.remove(&ticket) {
                return result.map_err(fail);
            }
            if p.leader {
                p = self
                    .ready
                    .wait(p)
                    .map_err(|_| fail("batch queue poisoned".into()))?;
                continue;
            }
            // Lead: wait until every active job has queued a row (or the window closes).
            p.leader = true;
            let deadline = Instant::now() + self.window;
            loop {
                let want = self.active.load(Ordering::SeqCst).clamp(1, MAX_BATCH);
                let now = Instant::now();
                if p.rows.len() >= want || now >= deadline {
                    break;
                }
                p = self
                    .ready
                    .wait_timeout(p, deadline - now)
                    .map_err(|_| fail("batch queue poisoned".into()))?
                    .0;
            }
            let take = p.rows.len().min(MAX_BATCH);
            let batch: Vec<(u64, Vec<f32>)> = p.rows.drain(..take).collect();
            drop(p);
            let refs: Vec<&[f32]> = batch.iter().map(|(_, r)| r.as_slice()).collect();
            let outcome = self.run_batch(&refs);
            p = self
                .pending
                .lock()
                .map_err(|_| fail("batch queue poisoned".into()))?;
            match outcome {
                Ok(outs) => {
                    for ((t, _), o) in batch.iter().zip(outs) {
                        p.results.insert(*t, Ok(o));
                    }
                }
                Err(e) => {
                    for (t, _) in &batch {
                        p.results.insert(*t, Err(e.clone()));
                    }
                }
            }
            p.leader = false;
            self.ready.notify_all();
        }
    }

    /// Runs explicit rows in one padded batch (the determinism test uses it).
    pub fn infer_rows(&self, rows: &[&[f32]]) -> Result<Vec<Vec<f32>>, StepError> {
        self.run_batch(rows).map_err(|message| StepError::Run {
            model: self.name.clone(),
            message,
        })
    }
}
