//! `/metrics` of the API process: queue depth per state, the oldest queued request's age,
//! progress of batches still rendering, live workers (apalis heartbeats) — read from
//! Postgres at scrape time, so any number of API processes report the same truth — and
//! the API's own request counts.

use super::Shared;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics::{counter, gauge};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use metrics_util::MetricKindMask;
use resonantgen_infra::{generations, tasks};
use std::time::Duration;

pub const QUEUE_JOBS: &str = "resonantgen_queue_jobs";
pub const OLDEST_QUEUED: &str = "resonantgen_queue_oldest_queued_age_seconds";
pub const BATCH_REQUESTS: &str = "resonantgen_batch_requests";
pub const BATCHES_ACTIVE: &str = "resonantgen_batches_active";
pub const WORKERS_LIVE: &str = "resonantgen_workers_live";
pub const API_REQUESTS: &str = "resonantgen_api_requests_total";
/// A worker is live when its apalis heartbeat is this recent.
const LIVE_WITHIN_SECONDS: f64 = 30.0;

pub struct Metrics {
    handle: PrometheusHandle,
}

impl Metrics {
    pub fn install() -> anyhow::Result<Metrics> {
        let handle = PrometheusBuilder::new()
            // Batches that stop reporting (finished) drop out of the series after 10 min.
            .idle_timeout(MetricKindMask::GAUGE, Some(Duration::from_secs(600)))
            .install_recorder()?;
        metrics::describe_gauge!(QUEUE_JOBS, "Generations per state");
        metrics::describe_gauge!(OLDEST_QUEUED, "Age of the oldest queued generation");
        metrics::describe_gauge!(
            BATCH_REQUESTS,
            "Generations of unfinished batches per state"
        );
        metrics::describe_gauge!(BATCHES_ACTIVE, "Batches with unfinished generations");
        metrics::describe_gauge!(WORKERS_LIVE, "Workers with a heartbeat in the last 30 s");
        metrics::describe_counter!(API_REQUESTS, "API requests by route and status");
        Ok(Metrics { handle })
    }
}

/// Methods that get their own label value; any other (HTTP allows arbitrary tokens) is
/// counted as "other", so no request can add a label value.
const KNOWN_METHODS: [Method; 7] = [
    Method::GET,
    Method::POST,
    Method::DELETE,
    Method::PUT,
    Method::PATCH,
    Method::HEAD,
    Method::OPTIONS,
];

/// The `route` label: the known method and the matched route template (never the raw path:
/// ids would explode the label set), or "unmatched". The set is fixed by the router.
pub fn route_label(method: &Method, matched: Option<&MatchedPath>) -> String {
    let method = KNOWN_METHODS
        .iter()
        .find(|m| *m == method)
        .map_or("other", Method::as_str);
    let route = matched.map_or("unmatched", MatchedPath::as_str);
    format!("{method} {route}")
}

/// Counts every request by its route label and status.
pub async fn count(State(_): State<Shared>, req: Request, next: Next) -> Response {
    let route = route_label(req.method(), req.extensions().get::<MatchedPath>());
    let resp = next.run(req).await;
    counter!(API_REQUESTS, "route" => route, "status" => resp.status().as_u16().to_string())
        .increment(1);
    resp
}

pub async fn render(State(s): State<Shared>) -> Response {
    if let Err(e) = refresh(&s).await {
        tracing::warn!(error = %e, "queue metrics not refreshed");
    }
    (
        StatusCode::OK,
        [("content-type", "text/plain; version=0.0.4")],
        s.metrics.handle.render(),
    )
        .into_response()
}

async fn refresh(s: &Shared) -> Result<(), sqlx::Error> {
    let counts = generations::count_by_status(&s.pool).await?;
    for state in ["queued", "running", "succeeded", "failed", "cancelled"] {
        let n = counts.iter().find(|(s, _)| s == state).map_or(0, |c| c.1);
        gauge!(QUEUE_JOBS, "state" => state).set(n as f64);
    }
    let age = generations::oldest_queued_age(&s.pool).await?;
    gauge!(OLDEST_QUEUED).set(age.unwrap_or(0.0));
    let batches = generations::active_batch_counts(&s.pool).await?;
    let active: std::collections::BTreeSet<&str> =
        batches.iter().map(|(b, _, _)| b.as_str()).collect();
    gauge!(BATCHES_ACTIVE).set(active.len() as f64);
    for b in &active {
        for state in ["queued", "running", "succeeded", "failed", "cancelled"] {
            let n = batches
                .iter()
                .find(|(id, st, _)| id == b && st == state)
                .map_or(0, |r| r.2);
            gauge!(BATCH_REQUESTS, "batch" => b.to_string(), "status" => state).set(n as f64);
        }
    }
    let live = tasks::live_workers(&s.pool, LIVE_WITHIN_SECONDS).await?;
    gauge!(WORKERS_LIVE).set(live as f64);
    Ok(())
}
