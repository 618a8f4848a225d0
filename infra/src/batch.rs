//! Batches: a validated catalog enqueued in bulk — statements of [`CHUNK`] rows (one
//! multi-row INSERT into `generations` plus one multi-row apalis push each) — and the
//! batch's progress and results read back.
//!
//! All or nothing: only an [`Accepted`] catalog (every line validated first) is enqueued,
//! and the batch row, every generation and every apalis task are written in ONE
//! transaction, so a failure on any line — a database error, an idempotency conflict, a
//! crash — leaves no batch row, no generation and no task behind. Workers see the whole
//! batch at once, at the commit.
//!
//! Idempotent by construction: a batch is found again by its catalog's fingerprint, and a
//! line whose idempotency key already names a generation of the same request enqueues
//! nothing; the same key naming a different request refuses the whole catalog.

use crate::queue::{self, GenerationJob, SubmitError};
use crate::{batches, generations, tasks};
use chrono::{DateTime, Utc};
use resonantgen_core::catalog::{Accepted, Entry};
use resonantgen_core::request::ValidationError;
use resonantgen_core::response::GenerationResponse;
use resonantgen_core::text;
use serde::Serialize;
use sqlx::PgPool;
use std::collections::{BTreeMap, HashMap, HashSet};
use ulid::Ulid;

/// Rows per statement: large enough to amortise round trips, small enough to keep each
/// statement's parameters modest.
pub const CHUNK: usize = 1_000;

#[derive(Debug, Clone, Serialize)]
pub struct Enqueued {
    pub batch_id: String,
    /// False when this catalog was submitted before (its batch is reused).
    pub new_batch: bool,
    pub enqueued: usize,
    /// Lines whose generation already existed (same idempotency key and request).
    pub existing: usize,
}

/// Creates (or finds) the batch of `catalog` and enqueues its valid entries in one
/// transaction, calling `progress` with the number of lines handled after each chunk
/// (CLI work: no owner).
pub async fn enqueue(
    pool: &PgPool,
    name: Option<&str>,
    source: Option<&str>,
    catalog: Accepted<'_>,
    progress: impl FnMut(usize),
) -> Result<Enqueued, SubmitError> {
    enqueue_owned(pool, name, source, catalog, None, progress).await
}

/// [`enqueue`] for `owner` (an API token's id): the batch and its generations are the
/// owner's, and a catalog is found again only among the owner's batches.
pub async fn enqueue_owned(
    pool: &PgPool,
    name: Option<&str>,
    source: Option<&str>,
    catalog: Accepted<'_>,
    owner: Option<&str>,
    mut progress: impl FnMut(usize),
) -> Result<Enqueued, SubmitError> {
    if let Some(n) = name {
        text::check("name", n).map_err(ValidationError::from)?;
    }
    if let Some(s) = source {
        text::check("source", s).map_err(ValidationError::from)?;
    }
    let catalog = catalog.catalog();
    let mut tx = pool.begin().await?;
    let (batch_id, inserted) = batches::insert_or_find(
        &mut tx,
        &batches::NewBatch {
            name,
            total: catalog.report().valid,
            catalog_key: catalog.key(),
            source,
            owner,
        },
    )
    .await?;
    let mut out = Enqueued {
        batch_id,
        new_batch: inserted,
        enqueued: 0,
        existing: 0,
    };
    let mut done = 0;
    let mut chunk: Vec<Entry> = Vec::with_capacity(CHUNK);
    let mut entries = catalog.entries().peekable();
    while entries.peek().is_some() {
        chunk.clear();
        chunk.extend(entries.by_ref().take(CHUNK));
        let n = enqueue_chunk(&mut tx, &out.batch_id, &chunk, owner).await?;
        out.enqueued += n;
        out.existing += chunk.len() - n;
        done += chunk.len();
        progress(done);
    }
    // Lines whose generation already exists (in an earlier batch, under the same idempotency
    // key) stay in that batch: a new batch holds only what it enqueued, so it can finish.
    if out.new_batch && out.existing > 0 {
        batches::set_total(&mut tx, &out.batch_id, out.enqueued).await?;
    }
    tx.commit().await?;
    Ok(out)
}

/// One chunk, inside the batch's transaction; returns how many were new.
async fn enqueue_chunk(
    conn: &mut sqlx::PgConnection,
    batch_id: &str,
    chunk: &[Entry],
    owner: Option<&str>,
) -> Result<usize, SubmitError> {
    let ids: Vec<Ulid> = chunk.iter().map(|_| Ulid::generate()).collect();
    let id_strings: Vec<String> = ids.iter().map(Ulid::to_string).collect();
    let prompts: Vec<&str> = chunk.iter().map(|e| e.request.prompt.as_str()).collect();
    let requests: Vec<serde_json::Value> = chunk
        .iter()
        .map(|e| serde_json::to_value(&e.request))
        .collect::<Result<_, _>>()?;
    let hashes: Vec<String> = chunk.iter().map(|e| e.request.fingerprint()).collect();
    let external: Vec<Option<&str>> = chunk.iter().map(|e| e.external_id.as_deref()).collect();
    let keys: Vec<Option<&str>> = chunk
        .iter()
        .map(|e| e.request.idempotency_key.as_deref())
        .collect();
    let inserted = generations::insert_queued_many(
        &mut *conn,
        &generations::QueuedRows {
            ids: &id_strings,
            prompts: &prompts,
            requests: &requests,
            external_ids: &external,
            idempotency_keys: &keys,
            request_hashes: &hashes,
        },
        batch_id,
        owner,
    )
    .await?;
    let new: HashSet<&str> = inserted.iter().map(String::as_str).collect();
    if new.len() < chunk.len() {
        check_existing(conn, chunk, &id_strings, &hashes, &new, owner).await?;
    }
    let tasks = ids
        .iter()
        .zip(&id_strings)
        .zip(chunk)
        .filter(|((_, s), _)| new.contains(s.as_str()))
        .map(|((id, _), e)| {
            queue::task_for(&GenerationJob {
                id: *id,
                request: e.request.clone(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let n = tasks.len();
    if n > 0 {
        tasks::push(&mut *conn, tasks).await?;
    }
    Ok(n)
}

/// The lines that were not inserted found a generation by their idempotency key: it must be
/// of the same request (a retry); another request under the key refuses the catalog.
async fn check_existing(
    conn: &mut sqlx::PgConnection,
    chunk: &[Entry],
    id_strings: &[String],
    hashes: &[String],
    new: &HashSet<&str>,
    owner: Option<&str>,
) -> Result<(), SubmitError> {
    let old: Vec<usize> = (0..chunk.len())
        .filter(|i| !new.contains(id_strings[*i].as_str()))
        .collect();
    let keys: Vec<&str> = old
        .iter()
        .filter_map(|i| chunk[*i].request.idempotency_key.as_deref())
        .collect();
    let rows = generations::by_idempotency_keys(&mut *conn, &keys, owner).await?;
    let stored: HashMap<&str, (&str, Option<&str>)> = rows
        .iter()
        .map(|(k, id, h)| (k.as_str(), (id.as_str(), h.as_deref())))
        .collect();
    for i in old {
        let e = &chunk[i];
        let Some(key) = e.request.idempotency_key.as_deref() else {
            continue;
        };
        // Rows from before hashes were stored (NULL) are taken as the same request.
        if let Some((id, Some(hash))) = stored.get(key)
            && *hash != hashes[i]
        {
            return Err(SubmitError::IdempotencyConflict {
                line: Some(e.line),
                key: key.to_string(),
                existing: text::parse_ulid(id).unwrap_or_default(),
            });
        }
    }
    Ok(())
}

/// A batch and how its generations stand.
#[derive(Debug, Clone, Serialize)]
pub struct BatchStatus {
    pub id: String,
    pub name: Option<String>,
    pub source: Option<String>,
    pub total: i64,
    /// Generations per status (queued, running, succeeded, failed, cancelled).
    pub counts: BTreeMap<String, i64>,
    pub created_at: DateTime<Utc>,
    pub first_started_at: Option<DateTime<Utc>>,
    pub last_finished_at: Option<DateTime<Utc>>,
}

impl BatchStatus {
    pub fn count(&self, status: &str) -> i64 {
        self.counts.get(status).copied().unwrap_or(0)
    }

    /// Finished generations (succeeded, failed or cancelled).
    pub fn finished(&self) -> i64 {
        self.count("succeeded") + self.count("failed") + self.count("cancelled")
    }

    pub fn is_done(&self) -> bool {
        self.finished() >= self.total
    }

    /// Seconds left at the rate finished so far (None before the first finishes).
    pub fn eta_seconds(&self) -> Option<f64> {
        let (start, last) = (self.first_started_at?, self.last_finished_at?);
        let done = self.finished();
        let elapsed = (last - start).num_milliseconds() as f64 / 1000.0;
        if done == 0 || elapsed <= 0.0 {
            return None;
        }
        Some((self.total - done).max(0) as f64 * elapsed / done as f64)
    }
}

pub async fn status(pool: &PgPool, batch_id: &str) -> Result<Option<BatchStatus>, sqlx::Error> {
    let Some(batch) = batches::get(pool, batch_id).await? else {
        return Ok(None);
    };
    let rows = generations::status_counts_of_batch(pool, batch_id).await?;
    let mut counts: BTreeMap<String, i64> =
        ["queued", "running", "succeeded", "failed", "cancelled"]
            .iter()
            .map(|s| (s.to_string(), 0))
            .collect();
    let (mut first, mut last) = (None, None);
    for generations::StatusCount {
        status,
        count,
        first_started,
        last_finished,
    } in rows
    {
        counts.insert(status, count);
        first = match (first, first_started) {
            (Some(a), Some(b)) => Some(std::cmp::min(a, b)),
            (a, b) => a.or(b),
        };
        last = match (last, last_finished) {
            (Some(a), Some(b)) => Some(std::cmp::max(a, b)),
            (a, b) => a.or(b),
        };
    }
    Ok(Some(BatchStatus {
        id: batch.id,
        name: batch.name,
        source: batch.source,
        total: i64::from(batch.total),
        counts,
        created_at: batch.created_at,
        first_started_at: first,
        last_finished_at: last,
    }))
}

/// Who owns batch `batch_id`: `None` when there is no such batch, `Some(None)` for a batch
/// submitted with the CLI (only admin tokens see it through the API).
pub async fn owner(pool: &PgPool, batch_id: &str) -> Result<Option<Option<String>>, sqlx::Error> {
    batches::owner(pool, batch_id).await
}

/// One exported line: a catalog entry's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct ExportRow {
    pub generation_id: String,
    pub external_id: Option<String>,
    pub status: String,
    pub prompt: String,
    pub mix_uri: Option<String>,
    /// Track → stem URI.
    pub stems: BTreeMap<String, String>,
    pub tempo_bpm: Option<f64>,
    pub key: Option<String>,
    pub measured_tempo_bpm: Option<f64>,
    pub measured_key: Option<String>,
    pub integrated_lufs: Option<f64>,
    pub true_peak_dbtp: Option<f64>,
    pub rhythmic_coherence: Option<f64>,
    pub frequency_separation: Option<f64>,
    pub qa_flags: Vec<String>,
    pub error: Option<String>,
}

/// Every generation of the batch, in submission order.
pub async fn export(pool: &PgPool, batch_id: &str) -> Result<Vec<ExportRow>, sqlx::Error> {
    let rows = generations::of_batch(pool, batch_id).await?;
    Ok(rows
        .into_iter()
        .map(|line| {
            let generations::BatchLine {
                id,
                external_id,
                status,
                prompt,
                response,
                error,
            } = line;
            let resp: Option<GenerationResponse> =
                response.and_then(|v| serde_json::from_value(v).ok());
            let mut row = ExportRow {
                generation_id: id,
                external_id,
                status,
                prompt,
                mix_uri: None,
                stems: BTreeMap::new(),
                tempo_bpm: None,
                key: None,
                measured_tempo_bpm: None,
                measured_key: None,
                integrated_lufs: None,
                true_peak_dbtp: None,
                rhythmic_coherence: None,
                frequency_separation: None,
                qa_flags: Vec::new(),
                error,
            };
            if let Some(r) = resp {
                row.mix_uri = Some(r.mix.audio.uri.clone());
                row.stems = r
                    .tracks
                    .iter()
                    .map(|(t, o)| (t.to_string(), o.audio.uri.clone()))
                    .collect();
                row.tempo_bpm = Some(r.context.tempo_bpm);
                row.key = Some(r.context.key.to_string());
                row.measured_tempo_bpm = r.qa.measured_tempo_bpm;
                row.measured_key = r.qa.measured_key.map(|k| k.to_string());
                row.integrated_lufs = Some(r.mix.integrated_lufs);
                row.true_peak_dbtp = Some(r.mix.true_peak_dbtp);
                row.rhythmic_coherence = r.qa.rhythmic_coherence;
                row.frequency_separation = r.qa.frequency_separation;
                row.qa_flags = r.qa.flags.clone();
            }
            row
        })
        .collect())
}
