//! Housekeeping of the tables that only grow: apalis-postgres never deletes finished jobs
//! (DESIGN.md §9), and every generation leaves a few dozen rows in `generation_events`.
//! [`prune`] deletes what nobody needs any more once it is older than a cutoff — finished
//! apalis jobs of our queue, and the events of finished generations. Our `generations` rows
//! (the user-facing record, with the response) are never deleted.
//!
//! Workers (and anything else) may call it on a schedule; a transaction-scoped advisory lock
//! makes concurrent callers skip instead of deleting the same rows at once.

use crate::{events, tasks};
use sqlx::PgPool;
use std::time::Duration;

/// Advisory lock key of the pruner ("rgprune" in ASCII), shared by every process.
pub const PRUNE_LOCK_KEY: i64 = 0x0072_6770_7275_6e65;

/// What one [`prune`] call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Rows deleted from `apalis.jobs`.
    pub apalis_jobs: u64,
    /// Rows deleted from `generation_events`.
    pub events: u64,
    /// Another process held the lock: nothing was done this time.
    pub skipped: bool,
}

/// Deletes, when finished at least `older_than` ago:
/// - apalis jobs of our queue that are Done or Killed, or Failed with no attempt left;
/// - `generation_events` rows of generations that are succeeded, failed or cancelled.
///
/// Runs in one transaction holding `pg_try_advisory_xact_lock(PRUNE_LOCK_KEY)`: when another
/// process holds it, returns at once with `skipped` set. (The transaction-scoped form of
/// `pg_try_advisory_lock` is released by commit or rollback, so an error can never leave a
/// pooled connection holding the lock.)
pub async fn prune(pool: &PgPool, older_than: Duration) -> Result<PruneReport, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let (locked,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_xact_lock($1)")
        .bind(PRUNE_LOCK_KEY)
        .fetch_one(&mut *tx)
        .await?;
    if !locked {
        tx.rollback().await?;
        return Ok(PruneReport {
            skipped: true,
            ..PruneReport::default()
        });
    }
    let jobs = tasks::prune_finished(&mut tx, older_than).await?;
    let events = events::prune_finished(&mut tx, older_than).await?;
    tx.commit().await?;
    Ok(PruneReport {
        apalis_jobs: jobs,
        events,
        skipped: false,
    })
}
