//! `resonantgen serve`: the HTTP API (axum). Routes are grouped one module per resource
//! (generations, batches, scenes, events); this module holds what they share: the state,
//! bearer-token auth, body limits, and errors as JSON with stable codes.

mod batches;
mod events;
mod generations;
mod metrics;
mod openapi;
mod scenes;

use crate::cli::pool;
use anyhow::Context;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use clap::Args;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

/// Largest body of a single-generation or scene request.
pub const MAX_JSON_BODY: usize = 64 * 1024;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "RESONANTGEN_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Accepted bearer tokens, comma-separated.
    #[arg(
        long,
        env = "RESONANTGEN_API_TOKENS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub tokens: Vec<String>,
    /// Serve without authentication (local development only).
    #[arg(long)]
    pub insecure_no_auth: bool,
    /// Largest catalog accepted by POST /v1/batches, in bytes.
    #[arg(long, env = "RESONANTGEN_MAX_CATALOG_BYTES", default_value_t = 32 * 1024 * 1024)]
    pub max_catalog_bytes: usize,
}

pub struct AppState {
    pub pool: PgPool,
    /// SHA-256 of each accepted token (compared in constant time).
    token_digests: Vec<[u8; 32]>,
    pub events: events::Hub,
    pub metrics: metrics::Metrics,
    pub max_catalog_bytes: usize,
}

pub type Shared = Arc<AppState>;

pub async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let tokens: Vec<String> = args
        .tokens
        .iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    if tokens.is_empty() && !args.insecure_no_auth {
        anyhow::bail!(
            "no API tokens: set RESONANTGEN_API_TOKENS (comma-separated) or pass --tokens; \
             --insecure-no-auth serves without authentication"
        );
    }
    let pool = pool().await?;
    let state = Arc::new(AppState {
        events: events::Hub::start(pool.clone()).await?,
        metrics: metrics::Metrics::install()?,
        token_digests: tokens.iter().map(|t| digest(t.as_bytes())).collect(),
        max_catalog_bytes: args.max_catalog_bytes,
        pool,
    });
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    tracing::info!(addr = %args.listen, "API listening");
    eprintln!("resonantgen API listening on http://{}", args.listen);
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving")?;
    Ok(ExitCode::SUCCESS)
}

pub fn router(state: Shared) -> Router {
    let v1 = Router::new()
        .merge(generations::routes())
        .merge(scenes::routes())
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .merge(batches::routes(state.max_catalog_bytes))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth));
    Router::new()
        .nest("/v1", v1)
        .route("/v1/openapi.json", get(openapi::document))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::render))
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::count,
        ))
        .with_state(state)
}

async fn healthz(State(s): State<Shared>) -> Response {
    match sqlx::query("SELECT 1").execute(&s.pool).await {
        Ok(_) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({"status": "ok"})),
        )
            .into_response(),
        Err(e) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("database: {e}"),
        )
        .into_response(),
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Equal digests, in time independent of where they differ.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Bearer-token check: the presented token is hashed and compared with every accepted
/// token's hash in constant time (hashing first makes the comparison length-independent).
async fn auth(State(s): State<Shared>, headers: HeaderMap, req: Request, next: Next) -> Response {
    if s.token_digests.is_empty() {
        return next.run(req).await;
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        });
    let Some(token) = presented else {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing bearer token (Authorization: Bearer <token>)",
        )
        .into_response();
    };
    let d = digest(token.trim().as_bytes());
    let ok = s
        .token_digests
        .iter()
        .fold(false, |ok, t| ok | constant_time_eq(t, &d));
    if !ok {
        return ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "invalid token")
            .into_response();
    }
    next.run(req).await
}

/// An error response: `{"error": {"code": "...", "message": "..."}}`. Codes are stable;
/// messages are for people.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "API internal error");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
    }
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = serde_json::json!({ "code": self.code, "message": self.message });
        if let Some(d) = self.details {
            error["details"] = d;
        }
        (
            self.status,
            axum::Json(serde_json::json!({ "error": error })),
        )
            .into_response()
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::internal(format!("database: {e}"))
    }
}

impl From<resonantgen_shared::db::DbError> for ApiError {
    fn from(e: resonantgen_shared::db::DbError) -> Self {
        match e {
            resonantgen_shared::db::DbError::NotFound(id) => {
                ApiError::not_found(format!("generation {id} not found"))
            }
            other => ApiError::internal(other),
        }
    }
}

/// JSON body extraction with our error format: unreadable JSON is 400 `invalid_json`, an
/// oversized body 413 `payload_too_large`, the wrong content type 415; text that cannot be
/// stored (a NUL or `\u0000` in any string or key) 422 naming the field.
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
                resonantgen_shared::text::check_json("", &v)
                    .map_err(|e| ApiError::invalid(e.to_string()))?;
                serde_json::from_value(v)
                    .map(JsonBody)
                    .map_err(|e| ApiError::invalid(e.to_string()))
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
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError::invalid(e.body_text())),
            Err(e) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                e.body_text(),
            )),
        }
    }
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
    resonantgen_shared::text::check(&format!("path parameter '{name}'"), value)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", e.to_string()))?;
    Ok(value)
}

/// A generation id (path parameter `id`, or an id in a body), parsed strictly: `8…` is not
/// an alias of `0…`.
pub fn parse_ulid(id: &str) -> Result<ulid::Ulid, ApiError> {
    resonantgen_shared::text::parse_ulid(path_param("id", id)?)
        .map_err(|e| ApiError::not_found(format!("{e}: no such generation")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_comparison_is_exact() {
        let a = digest(b"secret-token");
        assert!(constant_time_eq(&a, &digest(b"secret-token")));
        assert!(!constant_time_eq(&a, &digest(b"secret-tokeN")));
        assert!(!constant_time_eq(&a, &digest(b"")));
    }
}
