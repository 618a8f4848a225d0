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

/// Serves `/metrics` on `addr`.
pub fn install(addr: SocketAddr) -> anyhow::Result<()> {
    let buckets = [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
    ];
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets(&buckets)?
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
    // Export the status series from the start so rates work before the first failure.
    for status in ["succeeded", "failed", "retried", "skipped"] {
        counter!(JOBS_TOTAL, "status" => status).absolute(0);
    }
    gauge!(IN_FLIGHT).set(0.0);
    Ok(())
}

pub fn stage_finished(stage: &str, seconds: f64) {
    histogram!(STAGE_DURATION, "stage" => stage.to_string()).record(seconds);
}

pub fn job_finished(status: &'static str, seconds: f64) {
    counter!(JOBS_TOTAL, "status" => status).increment(1);
    histogram!(JOB_DURATION).record(seconds);
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
