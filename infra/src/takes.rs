//! Takes: a request with `variations: N` becomes N generations of one plan — one seed, so
//! one tempo, key, chord plan and arrangement — each its own generation with its own parts
//! (take 0, 1, …), enqueued together as one batch: the batch is their parent, with the
//! batch's progress, results and export.
//!
//! The takes are written as a small catalog and go through the catalog path, so they are
//! all-or-nothing in one transaction and idempotent the same way: a request that names its
//! seed (or its idempotency key) finds its takes again when sent twice.

use crate::batch;
use crate::generations;
use crate::queue::SubmitError;
use resonantgen_core::catalog::{self, Defaults, Format};
use resonantgen_core::request::{GenerationRequest, ValidationError};
use serde::Serialize;
use sqlx::PgPool;
use ulid::Ulid;

/// The batch holding the takes and their generation ids, in take order.
#[derive(Debug, Clone, Serialize)]
pub struct Takes {
    pub batch_id: String,
    pub ids: Vec<String>,
    pub seed: u64,
    /// False when these takes were submitted before (their batch is returned).
    pub new_batch: bool,
}

/// Validates `request` and enqueues its takes for `owner`.
pub async fn submit(
    pool: &PgPool,
    request: &GenerationRequest,
    owner: Option<&str>,
) -> Result<Takes, SubmitError> {
    request.validate()?;
    // One seed for every take: the request's, or one drawn now.
    let seed = request
        .seed
        .unwrap_or_else(|| (Ulid::generate().random() & u128::from(u64::MAX)) as u64);
    let takes = request.takes(seed);
    let mut text = String::new();
    for take in &takes {
        take.validate()?;
        let mut line = serde_json::to_value(take)?;
        line["external_id"] = serde_json::json!(format!("take-{}", take.take.unwrap_or(0)));
        text.push_str(&serde_json::to_string(&line)?);
        text.push('\n');
    }
    let parsed = catalog::parse(&text, Format::Jsonl, &Defaults::default());
    let accepted = parsed
        .accept(false)
        .map_err(|_| ValidationError::Variations(request.variations.unwrap_or(1)))?;
    let name: String = request.prompt.chars().take(80).collect();
    let enqueued = batch::enqueue_owned(
        pool,
        Some(&format!("variations: {name}")),
        Some("variations"),
        accepted,
        owner,
        |_| {},
    )
    .await?;
    let lines = generations::of_batch(pool, &enqueued.batch_id).await?;
    // external ids are take-<N>: take order, whatever the ids' order
    let mut ids: Vec<(u32, String)> = lines
        .into_iter()
        .map(|l| {
            let take = l
                .external_id
                .as_deref()
                .and_then(|e| e.strip_prefix("take-"))
                .and_then(|n| n.parse().ok())
                .unwrap_or(u32::MAX);
            (take, l.id)
        })
        .collect();
    ids.sort();
    Ok(Takes {
        batch_id: enqueued.batch_id,
        ids: ids.into_iter().map(|(_, id)| id).collect(),
        seed,
        new_batch: enqueued.new_batch,
    })
}
