//! `resonantgen serve`: the HTTP API (axum over hyper). Routes are grouped one module per
//! resource (generations, batches, scenes, events); this module holds what they share: the
//! state, the connection loop (header-read / idle and request timeouts), body limits, and
//! errors as JSON with stable codes. Who may do what lives in [`auth`], the per-token
//! limits on enqueueing in [`limits`].

mod auth;
mod batches;
mod events;
mod generations;
mod limits;
mod metrics;
mod openapi;
mod scenes;

use crate::connect::writer;
use anyhow::Context;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use clap::Args;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use sqlx::PgPool;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

pub use auth::Caller;

/// Largest body of a single-generation or scene request.
pub const MAX_JSON_BODY: usize = 64 * 1024;
/// How long open connections may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "RESONANTGEN_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Accepted bearer tokens, comma-separated. Each may submit and read its own work
    /// (scopes submit + read) within the default limits below.
    #[arg(
        long,
        env = "RESONANTGEN_API_TOKENS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub tokens: Vec<String>,
    /// JSON file of tokens with ids, scopes (submit, read, admin) and limits:
    /// {"tokens": [{"id", "secret" | "sha256", "scopes", "rate_limit": {"per_second",
    /// "burst"}, "max_concurrent_jobs", "priority": {"min", "max"}}]}.
    #[arg(long, env = "RESONANTGEN_API_TOKENS_FILE")]
    pub tokens_file: Option<std::path::PathBuf>,
    /// Serve without authentication (local development only).
    #[arg(long)]
    pub insecure_no_auth: bool,
    /// Largest catalog accepted by POST /v1/batches, in bytes.
    #[arg(long, env = "RESONANTGEN_MAX_CATALOG_BYTES", default_value_t = 32 * 1024 * 1024)]
    pub max_catalog_bytes: usize,
    /// Requests per second a token may make on average (0: unlimited), unless its entry in
    /// the tokens file says otherwise.
    #[arg(long, env = "RESONANTGEN_API_RATE_LIMIT", default_value_t = 10.0)]
    pub rate_limit: f64,
    /// Requests a token may make in a burst above the average rate.
    #[arg(long, env = "RESONANTGEN_API_RATE_BURST", default_value_t = 100)]
    pub rate_burst: u32,
    /// Queued + running generations a token may own at once (0: unlimited).
    #[arg(
        long,
        env = "RESONANTGEN_API_MAX_CONCURRENT_JOBS",
        default_value_t = 10_000
    )]
    pub max_concurrent_jobs: u64,
    /// Highest priority a non-admin token may set (0–1000).
    #[arg(long, env = "RESONANTGEN_API_MAX_PRIORITY", default_value_t = 10)]
    pub max_priority: i32,
    /// Seconds a connection may take to send a request's headers, and may stay idle
    /// between requests, before it is closed.
    #[arg(long, env = "RESONANTGEN_API_HEADER_TIMEOUT", default_value_t = 10.0)]
    pub header_timeout: f64,
    /// Seconds a request (reading its body included) may take until its response starts.
    #[arg(long, env = "RESONANTGEN_API_REQUEST_TIMEOUT", default_value_t = 60.0)]
    pub request_timeout: f64,
}

pub struct AppState {
    pub pool: PgPool,
    pub tokens: auth::Tokens,
    pub events: events::Hub,
    pub metrics: metrics::Metrics,
    pub max_catalog_bytes: usize,
    pub request_timeout: Duration,
}

pub type Shared = Arc<AppState>;

fn seconds(name: &str, v: f64) -> anyhow::Result<Duration> {
    anyhow::ensure!(
        v.is_finite() && v > 0.0,
        "--{name} must be a positive number of seconds"
    );
    Ok(Duration::from_secs_f64(v))
}

fn tokens(args: &ServeArgs) -> anyhow::Result<auth::Tokens> {
    anyhow::ensure!(
        args.rate_limit.is_finite() && args.rate_limit >= 0.0 && args.rate_burst >= 1,
        "--rate-limit must be ≥ 0 (0: off) and --rate-burst ≥ 1"
    );
    anyhow::ensure!(
        auth::PRIORITY_BOUNDS.contains(&args.max_priority),
        "--max-priority must lie within 0–1000"
    );
    let file = match &args.tokens_file {
        Some(p) => {
            Some(std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?)
        }
        None => None,
    };
    let defaults = auth::Defaults {
        rate: (args.rate_limit > 0.0).then_some(auth::RateLimit {
            per_second: args.rate_limit,
            burst: args.rate_burst,
        }),
        max_concurrent_jobs: (args.max_concurrent_jobs > 0).then_some(args.max_concurrent_jobs),
        max_priority: args.max_priority,
    };
    let tokens = auth::Tokens::build(&args.tokens, file.as_deref(), defaults)?;
    if tokens.is_open() && !args.insecure_no_auth {
        anyhow::bail!(
            "no API tokens: set RESONANTGEN_API_TOKENS (comma-separated) or \
             RESONANTGEN_API_TOKENS_FILE, or pass --tokens; --insecure-no-auth serves without \
             authentication"
        );
    }
    Ok(tokens)
}

pub async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let tokens = tokens(&args)?;
    let header_timeout = seconds("header-timeout", args.header_timeout)?;
    let request_timeout = seconds("request-timeout", args.request_timeout)?;
    let pool = writer().await?;
    let state = Arc::new(AppState {
        events: events::Hub::start(pool.clone()).await?,
        metrics: metrics::Metrics::install()?,
        tokens,
        max_catalog_bytes: args.max_catalog_bytes,
        request_timeout,
        pool,
    });
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    tracing::info!(addr = %args.listen, "API listening");
    eprintln!("resonantgen API listening on http://{}", args.listen);
    serve_connections(listener, router(state), header_timeout).await;
    Ok(ExitCode::SUCCESS)
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

/// The accept loop. hyper's header-read timeout closes a connection that does not deliver
/// a request's headers in time — it runs from the moment the connection waits for a
/// request, so it also bounds idle keep-alive connections (and half-open ones that never
/// finish a header). On a shutdown signal, open connections get [`SHUTDOWN_GRACE`].
async fn serve_connections(
    listener: tokio::net::TcpListener,
    app: Router,
    header_timeout: Duration,
) {
    let mut http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new()).http1_only();
    http.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(());
    let mut conns = tokio::task::JoinSet::new();
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        while conns.try_join_next().is_some() {}
        let (socket, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let http = http.clone();
        let service = TowerToHyperService::new(app.clone());
        let mut stop = stop_rx.clone();
        conns.spawn(async move {
            let conn = http.serve_connection(TokioIo::new(socket), service);
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                }
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
    drop(listener);
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while conns.join_next().await.is_some() {}
    })
    .await;
}

pub fn router(state: Shared) -> Router {
    let v1 = Router::new()
        .merge(generations::routes())
        .merge(scenes::routes())
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .merge(batches::routes(state.max_catalog_bytes))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::middleware,
        ));
    Router::new()
        .nest("/v1", v1)
        .route("/v1/openapi.json", get(openapi::document))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::render))
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(middleware::from_fn_with_state(state.clone(), finish))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::count,
        ))
        .with_state(state)
}

/// Bounds the time to a response, and gives the router's own bare 405s our JSON error body
/// (keeping their `Allow` header).
async fn finish(State(s): State<Shared>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let Ok(resp) = tokio::time::timeout(s.request_timeout, next.run(req)).await else {
        return ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "the request took longer than {} s",
                s.request_timeout.as_secs_f64()
            ),
        )
        .into_response();
    };
    if resp.status() != StatusCode::METHOD_NOT_ALLOWED
        || resp.headers().contains_key(header::CONTENT_TYPE)
    {
        return resp;
    }
    let allow = resp.headers().get(header::ALLOW).cloned();
    let mut out = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{method} is not allowed here; allowed: {}",
            allow
                .as_ref()
                .and_then(|a| a.to_str().ok())
                .unwrap_or("none")
        ),
    )
    .into_response();
    if let Some(a) = allow {
        out.headers_mut().insert(header::ALLOW, a);
    }
    out
}

/// 200 `{"status": "ok"}` after a database round trip; 503 `{"status": "unavailable"}`
/// without details (they go to the log: the endpoint is unauthenticated).
async fn healthz(State(s): State<Shared>) -> Response {
    match resonantgen_infra::db::ping(&s.pool).await {
        Ok(_) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({"status": "ok"})),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            let mut r = (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({"status": "unavailable"})),
            )
                .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_UNAVAILABLE_S));
            r
        }
    }
}

/// Retry-After of a 503 while the database is away, in seconds.
const RETRY_UNAVAILABLE_S: u64 = 5;

/// An error response: `{"error": {"code": "...", "message": "..."}}`. Codes are stable;
/// messages are for people.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<serde_json::Value>,
    /// Sent as `Retry-After` (whole seconds, at least 1).
    pub retry_after: Option<Duration>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    /// A 500. The error goes to the log, not to the caller (it may name tables, queries or
    /// server paths).
    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "API internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error (logged by the server)",
        )
    }
    /// A 503 while the database is unreachable, with Retry-After.
    pub fn unavailable(e: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %e, "API: database unavailable");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the service is temporarily unavailable; retry later",
        )
        .retry_after(Duration::from_secs(RETRY_UNAVAILABLE_S))
    }
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }
    pub fn retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = serde_json::json!({ "code": self.code, "message": self.message });
        if let Some(d) = self.details {
            error["details"] = d;
        }
        let mut r = (
            self.status,
            axum::Json(serde_json::json!({ "error": error })),
        )
            .into_response();
        if let Some(wait) = self.retry_after {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        r
    }
}

/// Whether a database error means "the database is away" (connection lost or refused, pool
/// exhausted, server shutting down or starting) rather than a fault of the request or ours.
fn database_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|c| {
            // 08: connection exception; 57P01–03: shutdown, crash, starting up; 53300: too
            // many connections.
            c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if database_unavailable(&e) {
            return ApiError::unavailable(e);
        }
        // Class 22 (data exception): text the database cannot store (NUL, say) got past the
        // validation; the request is at fault, not the server.
        if let sqlx::Error::Database(d) = &e
            && d.code().is_some_and(|c| c.starts_with("22"))
        {
            tracing::warn!(error = %e, "API: value refused by the database");
            return ApiError::invalid(
                "a value in the request cannot be stored (NUL characters and similar are not allowed)",
            );
        }
        ApiError::internal(format!("database: {e}"))
    }
}

impl From<resonantgen_infra::db::DbError> for ApiError {
    fn from(e: resonantgen_infra::db::DbError) -> Self {
        use resonantgen_infra::db::DbError;
        match e {
            DbError::NotFound(id) => ApiError::not_found(format!("generation {id} not found")),
            DbError::Sqlx(e) => e.into(),
            DbError::Apalis(apalis_postgres::Error::Database(e)) => e.into(),
            other => ApiError::internal(other),
        }
    }
}

impl From<resonantgen_infra::queue::SubmitError> for ApiError {
    fn from(e: resonantgen_infra::queue::SubmitError) -> Self {
        use resonantgen_infra::queue::SubmitError;
        match e {
            SubmitError::Invalid(e) => ApiError::invalid(e.to_string()),
            e @ SubmitError::IdempotencyConflict { .. } => generations::idempotency_conflict(&e),
            SubmitError::Db(e) => e.into(),
            SubmitError::Queue(apalis_postgres::Error::Database(e)) => e.into(),
            other => ApiError::internal(other),
        }
    }
}

/// JSON body extraction with our error format: unreadable JSON is 400 `invalid_json`, an
/// oversized body 413 `payload_too_large`, the wrong content type 415; text that cannot be
/// stored (a NUL or `\u0000` in any string or key) or a body that is not the expected shape
/// 422 naming the field.
pub struct JsonBody<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::rejection::JsonRejection;
        // Read as a JSON value first: the input-text rule sees every string before the
        // typed decode (whose errors would quote it).
        match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(v)) => {
                resonantgen_core::text::check_json("", &v)
                    .map_err(|e| ApiError::invalid(e.to_string()))?;
                decode(v).map(JsonBody)
            }
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected Content-Type: application/json",
            )),
            Err(JsonRejection::BytesRejection(e)) => Err(body_error(&e.body_text())),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("body is not valid JSON: {}", e.body_text()),
            )),
            Err(e) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                e.body_text(),
            )),
        }
    }
}

/// Rewrites integral floats (`7.0`) as integers. JSON Schema, and so the OpenAPI document,
/// counts them as integers; serde reads them only into floats.
pub fn integral_numbers(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Number(n) => {
            // Every integral f64 in these ranges converts exactly.
            const TWO_63: f64 = 9_223_372_036_854_775_808.0;
            if let Some(f) = n.as_f64().filter(|f| n.is_f64() && f.fract() == 0.0) {
                if (0.0..2.0 * TWO_63).contains(&f) {
                    *v = Value::from(f as u64);
                } else if (-TWO_63..0.0).contains(&f) {
                    *v = Value::from(f as i64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        Value::Object(map) => map.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

/// Decodes a JSON body; a mismatch is 422 `invalid_request` naming the field's path.
pub fn decode<T: serde::de::DeserializeOwned>(mut v: serde_json::Value) -> Result<T, ApiError> {
    integral_numbers(&mut v);
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        ApiError::invalid(if path == "." {
            inner.to_string()
        } else {
            format!("{path}: {inner}")
        })
        .with_details(serde_json::json!({ "field": path }))
    })
}

/// A body read failure: over the limit → 413.
pub fn body_error(text: &str) -> ApiError {
    if text.to_ascii_lowercase().contains("length limit") {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("request body is too large: {text}"),
        )
    } else {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_body", text.to_string())
    }
}

/// A path parameter under the input-text rule: unstorable text (a `%00`) is 400 naming the
/// parameter, never a database error.
pub fn path_param<'a>(name: &str, value: &'a str) -> Result<&'a str, ApiError> {
    resonantgen_core::text::check(&format!("path parameter '{name}'"), value)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", e.to_string()))?;
    Ok(value)
}

/// A generation id (path parameter `id`, or an id in a body), parsed strictly: `8…` is not
/// an alias of `0…`.
pub fn parse_ulid(id: &str) -> Result<ulid::Ulid, ApiError> {
    resonantgen_core::text::parse_ulid(path_param("id", id)?)
        .map_err(|e| ApiError::not_found(format!("{e}: no such generation")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integral_floats_read_as_integers() {
        let mut v = serde_json::json!({"seed": 43714.0, "tempo": 120.5, "p": [-3.0, 1e19, 1e300]});
        integral_numbers(&mut v);
        assert_eq!(v["seed"], serde_json::json!(43714u64));
        assert!(v["seed"].is_u64());
        assert_eq!(v["tempo"], serde_json::json!(120.5));
        assert!(v["p"][0].is_i64());
        assert_eq!(v["p"][1].as_u64(), Some(10_000_000_000_000_000_000));
        assert!(v["p"][2].is_f64(), "beyond u64: left alone");
        let r: resonantgen_core::GenerationRequest =
            decode(serde_json::json!({"prompt": "x", "seed": 7.0})).unwrap();
        assert_eq!(r.seed, Some(7));
        let e = decode::<resonantgen_core::GenerationRequest>(
            serde_json::json!({"prompt": "x", "seed": "seven"}),
        )
        .unwrap_err();
        assert!(e.message.starts_with("seed: "), "{}", e.message);
    }
}
