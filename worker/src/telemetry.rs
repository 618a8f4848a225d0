//! Prometheus metrics of the worker (metrics + metrics-exporter-prometheus). Names follow
//! Prometheus conventions and are listed in ops/prometheus.

use metrics::{counter, gauge, histogram};
use std::net::SocketAddr;

pub const JOBS_TOTAL: &str = "resonantgen_jobs_total";
pub const JOB_DURATION: &str = "resonantgen_job_duration_seconds";
pub const STAGE_DURATION: &str = "resonantgen_stage_duration_seconds";
pub const IN_FLIGHT: &str = "resonantgen_jobs_in_flight";
pub const REALTIME_FACTOR: &str = "resonantgen_realtime_factor";
pub const OBJECT_BYTES: &str = "resonantgen_object_bytes_total";
pub const MODEL_INFERENCE: &str = "resonantgen_model_inference_seconds";
pub const APALIS_PRUNED: &str = "resonantgen_apalis_pruned_total";
pub const HEARTBEAT_AGE: &str = "resonantgen_worker_heartbeat_age_seconds";
pub const HEARTBEAT_GAP: &str = "resonantgen_worker_heartbeat_gap_seconds";
pub const QUEUE_RESTARTS: &str = "resonantgen_worker_queue_restarts_total";
pub const ACKS_SETTLED: &str = "resonantgen_worker_acks_settled_total";

/// Buckets of one ONNX run: the step models answer in tens to hundreds of microseconds on a
/// CPU, below the job-sized default buckets.
const INFERENCE_BUCKETS: [f64; 12] = [
    0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.25,
];

/// Buckets of the gap between two heartbeats: 2 s when healthy; the soak's gate is 3 × 2 s,
/// the watchdog's default limit 15 s.
const HEARTBEAT_BUCKETS: [f64; 14] = [
    0.5, 1.0, 1.5, 2.0, 2.25, 2.5, 3.0, 4.0, 6.0, 8.0, 10.0, 15.0, 30.0, 60.0,
];

/// Serves `/metrics` on `addr`.
pub fn install(addr: SocketAddr) -> anyhow::Result<()> {
    let buckets = [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
        600.0, 900.0, 1800.0,
    ];
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets(&buckets)?
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Full(MODEL_INFERENCE.to_string()),
            &INFERENCE_BUCKETS,
        )?
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Full(HEARTBEAT_GAP.to_string()),
            &HEARTBEAT_BUCKETS,
        )?
        .install()?;
    metrics::describe_counter!(JOBS_TOTAL, "Generation jobs finished, by status");
    metrics::describe_histogram!(
        JOB_DURATION,
        metrics::Unit::Seconds,
        "Wall time of a generation job"
    );
    metrics::describe_histogram!(
        STAGE_DURATION,
        metrics::Unit::Seconds,
        "Wall time of a pipeline stage"
    );
    metrics::describe_gauge!(IN_FLIGHT, "Jobs running in this worker");
    metrics::describe_gauge!(
        REALTIME_FACTOR,
        "Seconds of audio per second of wall time, last job"
    );
    metrics::describe_counter!(
        OBJECT_BYTES,
        metrics::Unit::Bytes,
        "Bytes moved to/from the object store"
    );
    metrics::describe_histogram!(
        MODEL_INFERENCE,
        metrics::Unit::Seconds,
        "Wall time of one ONNX model run (a step, or a batch of steps), by model"
    );
    metrics::describe_counter!(
        APALIS_PRUNED,
        "Finished apalis job rows deleted by housekeeping"
    );
    metrics::describe_gauge!(
        HEARTBEAT_AGE,
        metrics::Unit::Seconds,
        "Seconds since the queue loop's last heartbeat (2 s apart when healthy)"
    );
    metrics::describe_histogram!(
        HEARTBEAT_GAP,
        metrics::Unit::Seconds,
        "Time between two heartbeats of the queue loop"
    );
    metrics::describe_counter!(
        QUEUE_RESTARTS,
        "Restarts of the queue loop, by reason (error: its queries failed; stalled: the watchdog saw no heartbeat)"
    );
    metrics::describe_counter!(
        ACKS_SETTLED,
        "Queue tasks of ended generations whose lost ack the worker wrote itself"
    );
    // Export the status series from the start so rates work before the first failure.
    for status in ["succeeded", "failed", "retried", "skipped", "cancelled"] {
        counter!(JOBS_TOTAL, "status" => status).absolute(0);
    }
    counter!(APALIS_PRUNED).absolute(0);
    for reason in ["error", "stalled"] {
        counter!(QUEUE_RESTARTS, "reason" => reason).absolute(0);
    }
    counter!(ACKS_SETTLED).absolute(0);
    gauge!(IN_FLIGHT).set(0.0);
    gauge!(HEARTBEAT_AGE).set(0.0);
    Ok(())
}

pub fn stage_finished(stage: &str, seconds: f64) {
    histogram!(STAGE_DURATION, "stage" => stage.to_string()).record(seconds);
}

pub fn job_finished(status: &'static str, seconds: f64) {
    counter!(JOBS_TOTAL, "status" => status).increment(1);
    histogram!(JOB_DURATION).record(seconds);
}

/// One ONNX session run of `model` (drumgen, bassgen, harmonygen, melodygen).
pub fn model_inference(model: &str, seconds: f64) {
    histogram!(MODEL_INFERENCE, "model" => model.to_string()).record(seconds);
}

pub fn apalis_pruned(rows: u64) {
    counter!(APALIS_PRUNED).increment(rows);
}

pub fn in_flight(delta: f64) {
    gauge!(IN_FLIGHT).increment(delta);
}

pub fn realtime_factor(x: f64) {
    gauge!(REALTIME_FACTOR).set(x);
}

pub fn bytes_moved(direction: &'static str, bytes: u64) {
    counter!(OBJECT_BYTES, "direction" => direction).increment(bytes);
}

/// A heartbeat of the queue loop, `gap` seconds after the previous one.
pub fn heartbeat(gap: f64) {
    histogram!(HEARTBEAT_GAP).record(gap);
    gauge!(HEARTBEAT_AGE).set(0.0);
}

pub fn heartbeat_age(seconds: f64) {
    gauge!(HEARTBEAT_AGE).set(seconds);
}

/// A restart of the queue loop; `reason` is `error` or `stalled`.
pub fn queue_restart(reason: &'static str) {
    counter!(QUEUE_RESTARTS, "reason" => reason).increment(1);
}

pub fn acks_settled(n: u64) {
    counter!(ACKS_SETTLED).increment(n);
}
