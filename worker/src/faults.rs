//! Fault injection for tests, in the manner of failpoints: hooks at fixed places of the
//! pipeline that make a worker crash or stall on demand, so the queue's crash, rescue,
//! give-up and long-job paths can be tested against real processes (tests/tests/faults.rs)
//! instead of being hoped for. Inert unless its environment variables are set; they are
//! read once, at the first hook reached.
//!
//! - `RESONANTGEN_FAULT_ABORT_ON_PROMPT=<text>`: the process aborts (`std::process::abort`:
//!   no unwinding, no destructors, no ack — as a segfault or an OOM kill would end it) when
//!   a job whose prompt contains `<text>` reaches the render stage. Its apalis task is left
//!   `Running`, locked by a worker that no longer heartbeats.
//! - `RESONANTGEN_FAULT_STAGE_DELAY_MS=<stage>:<ms>[,<stage>:<ms>...]`: sleeps that long at
//!   the start of each named stage (`parse`, `locks`, `plan`, `generate`, `render`, `mix`,
//!   `qa`, `encode`, `upload`). The sleep is asynchronous, as a slow stage on the blocking
//!   pool is: the worker's heartbeats go on meanwhile.
//! - `RESONANTGEN_FAULT_FREEZE_QUEUE_ON_PROMPT=<text>`: once a job whose prompt contains
//!   `<text>` has succeeded (its generation row written, its ack not yet stored), the
//!   worker's apalis queue loop freezes: its backend answers "not ready" without arranging
//!   to be woken, so no heartbeat, no ack and no fetch happen any more — the stall of
//!   issue 13, made certain. Only the watchdog's restart of the loop ends it
//!   (worker/src/watchdog.rs); the new loop is not frozen.
//! - `RESONANTGEN_FAULT_WEDGE_QUEUE_ON_PROMPT=<text>`: the same, except that the loop does
//!   not answer the watchdog's restart either (as a loop stuck inside a poll would not): the
//!   watchdog's last resort, exiting the process, is then what ends it.
//!
//! A malformed value is logged and ignored, never fatal: these hooks must not be a way to
//! break a production worker by a typo.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const ABORT_ON_PROMPT: &str = "RESONANTGEN_FAULT_ABORT_ON_PROMPT";
const STAGE_DELAY_MS: &str = "RESONANTGEN_FAULT_STAGE_DELAY_MS";
const FREEZE_QUEUE_ON_PROMPT: &str = "RESONANTGEN_FAULT_FREEZE_QUEUE_ON_PROMPT";
const WEDGE_QUEUE_ON_PROMPT: &str = "RESONANTGEN_FAULT_WEDGE_QUEUE_ON_PROMPT";

#[derive(Debug, Default, PartialEq)]
struct Faults {
    abort_on_prompt: Option<String>,
    stage_delays: Vec<(String, Duration)>,
    freeze_queue_on_prompt: Option<String>,
    wedge_queue_on_prompt: Option<String>,
}

impl Faults {
    fn from_values(
        abort: Option<String>,
        delays: Option<String>,
        freeze: Option<String>,
        wedge: Option<String>,
    ) -> Faults {
        let abort_on_prompt = abort.filter(|s| !s.is_empty());
        let freeze_queue_on_prompt = freeze.filter(|s| !s.is_empty());
        let wedge_queue_on_prompt = wedge.filter(|s| !s.is_empty());
        let mut stage_delays = Vec::new();
        for item in delays.iter().flat_map(|d| d.split(',')) {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            match item
                .split_once(':')
                .and_then(|(stage, ms)| Some((stage.trim(), ms.trim().parse::<u64>().ok()?)))
            {
                Some((stage, ms)) if !stage.is_empty() => {
                    stage_delays.push((stage.to_string(), Duration::from_millis(ms)))
                }
                _ => tracing::warn!(
                    "{STAGE_DELAY_MS}: ignoring '{item}' (expected <stage>:<milliseconds>)"
                ),
            }
        }
        Faults {
            abort_on_prompt,
            stage_delays,
            freeze_queue_on_prompt,
            wedge_queue_on_prompt,
        }
    }

    fn get() -> &'static Faults {
        static FAULTS: OnceLock<Faults> = OnceLock::new();
        FAULTS.get_or_init(|| {
            let faults = Faults::from_values(
                std::env::var(ABORT_ON_PROMPT).ok(),
                std::env::var(STAGE_DELAY_MS).ok(),
                std::env::var(FREEZE_QUEUE_ON_PROMPT).ok(),
                std::env::var(WEDGE_QUEUE_ON_PROMPT).ok(),
            );
            if faults != Faults::default() {
                tracing::warn!(?faults, "fault injection is on (tests only)");
            }
            faults
        })
    }
}

/// The hook at the start of the render stage: aborts the process when the prompt contains
/// the text of `RESONANTGEN_FAULT_ABORT_ON_PROMPT`.
pub fn abort_if_prompt_matches(prompt: &str) {
    if let Some(needle) = &Faults::get().abort_on_prompt
        && prompt.contains(needle.as_str())
    {
        tracing::error!(
            prompt,
            "fault injection: aborting the process ({ABORT_ON_PROMPT})"
        );
        std::process::abort();
    }
}

/// The hook at the start of every stage: sleeps as long as `RESONANTGEN_FAULT_STAGE_DELAY_MS`
/// says for `stage`.
pub async fn delay_stage(stage: &str) {
    let delay: Duration = Faults::get()
        .stage_delays
        .iter()
        .filter(|(s, _)| s == stage)
        .map(|(_, d)| *d)
        .sum();
    if !delay.is_zero() {
        tracing::warn!(stage, ?delay, "fault injection: delaying the stage");
        tokio::time::sleep(delay).await;
    }
}

/// Whether the queue loop is frozen (see `RESONANTGEN_FAULT_FREEZE_QUEUE_ON_PROMPT`) or
/// wedged (`RESONANTGEN_FAULT_WEDGE_QUEUE_ON_PROMPT`).
static QUEUE_FROZEN: AtomicBool = AtomicBool::new(false);
static QUEUE_WEDGED: AtomicBool = AtomicBool::new(false);

/// The hook at the end of a successful job: freezes or wedges the queue loop when the
/// prompt contains the text of `RESONANTGEN_FAULT_FREEZE_QUEUE_ON_PROMPT` or
/// `RESONANTGEN_FAULT_WEDGE_QUEUE_ON_PROMPT`.
pub fn stall_queue_if_prompt_matches(prompt: &str) {
    let faults = Faults::get();
    let matches = |needle: &Option<String>| needle.as_deref().is_some_and(|n| prompt.contains(n));
    if matches(&faults.freeze_queue_on_prompt) && !QUEUE_FROZEN.swap(true, Ordering::SeqCst) {
        tracing::error!(
            prompt,
            "fault injection: freezing the queue loop ({FREEZE_QUEUE_ON_PROMPT})"
        );
    }
    if matches(&faults.wedge_queue_on_prompt) && !QUEUE_WEDGED.swap(true, Ordering::SeqCst) {
        tracing::error!(
            prompt,
            "fault injection: wedging the queue loop ({WEDGE_QUEUE_ON_PROMPT})"
        );
    }
}

/// Whether the queue loop must act frozen: not ready, nothing arranged to wake it.
pub fn queue_frozen() -> bool {
    QUEUE_FROZEN.load(Ordering::SeqCst)
}

/// Whether the queue loop must act wedged: frozen, and deaf to the watchdog too.
pub fn queue_wedged() -> bool {
    QUEUE_WEDGED.load(Ordering::SeqCst)
}

/// Ends the freeze: a restarted queue loop is a new one.
pub fn thaw_queue() {
    QUEUE_FROZEN.store(false, Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_is_inert() {
        assert_eq!(
            Faults::from_values(None, None, None, None),
            Faults::default()
        );
        assert_eq!(
            Faults::from_values(
                Some(String::new()),
                Some(" ".into()),
                Some(String::new()),
                Some(String::new())
            ),
            Faults::default()
        );
    }

    #[test]
    fn parses_delays_and_skips_malformed_items() {
        let f = Faults::from_values(
            Some("poison".into()),
            Some("mix:40000, render:5,bad,upload:x,:7".into()),
            Some("stall me".into()),
            Some("wedge me".into()),
        );
        assert_eq!(f.abort_on_prompt.as_deref(), Some("poison"));
        assert_eq!(f.freeze_queue_on_prompt.as_deref(), Some("stall me"));
        assert_eq!(f.wedge_queue_on_prompt.as_deref(), Some("wedge me"));
        assert_eq!(
            f.stage_delays,
            vec![
                ("mix".to_string(), Duration::from_millis(40_000)),
                ("render".to_string(), Duration::from_millis(5)),
            ]
        );
    }
}
