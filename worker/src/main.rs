//! `resonantgen-worker`: the worker process. Loads ONNX Runtime and the models once, then runs
//! an apalis worker on the generation queue until SIGTERM/SIGINT (graceful: in-flight jobs
//! finish) or, with `--drain`, until the queue is empty. Beside the jobs it runs the bridge
//! that stores progress events in Postgres, on a schedule the pruning of finished queue
//! rows and old events, and the watchdog of the queue loop (worker/src/watchdog.rs).

use anyhow::Context;
use apalis::prelude::*;
use apalis_postgres::PostgresStorage;
use clap::Parser;
use resonantgen_infra::prune;
use resonantgen_infra::queue::{self, GenerationJob};
use resonantgen_infra::store::ObjectStore;
use resonantgen_infra::{config, db};
use resonantgen_worker::events::EventBus;
use resonantgen_worker::generators::Registry;
use resonantgen_worker::onnx::{self, Device};
use resonantgen_worker::pipeline::{Engine, Pipeline};
use resonantgen_worker::watchdog::{self, LoopHandle, QueueLoop};
use resonantgen_worker::{job, telemetry};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "resonantgen-worker",
    version,
    about = "ResonantGen render worker"
)]
struct Args {
    /// Jobs rendered at the same time.
    #[arg(long, env = "RESONANTGEN_CONCURRENCY", default_value_t = 2)]
    concurrency: usize,
    /// Exit once the queue has no unfinished jobs left.
    #[arg(long)]
    drain: bool,
    /// Address for Prometheus `/metrics`, or `off`.
    #[arg(
        long,
        env = "RESONANTGEN_METRICS_ADDR",
        default_value = "127.0.0.1:9464"
    )]
    metrics_addr: String,
    /// Inference device: cpu or cuda.
    #[arg(long, env = "RESONANTGEN_DEVICE", default_value = "cpu")]
    device: String,
    /// Path of libonnxruntime.so (default: ORT_DYLIB_PATH, then .local/onnxruntime/).
    #[arg(long)]
    ort_lib: Option<PathBuf>,
    /// Folder with the ONNX models and manifests (default: RESONANTGEN_MODELS_DIR, then models/).
    #[arg(long)]
    models_dir: Option<PathBuf>,
    /// Worker name prefix (default: host name); the process id is always appended.
    #[arg(long)]
    name: Option<String>,
    /// Poll only (no LISTEN/NOTIFY wake-up on new jobs): idle workers then find new jobs at
    /// their next heartbeat. For measuring what NOTIFY buys (bench-queue); off by default.
    #[arg(long, env = "RESONANTGEN_NO_NOTIFY")]
    no_notify: bool,
    /// Heartbeats (2 s apart) a worker may miss before the other workers presume it dead and
    /// re-queue its jobs: the orphan window is 2 s × this (default 15: 30 s). Every worker
    /// of a queue should use the same value.
    #[arg(long, env = "RESONANTGEN_MISSED_HEARTBEATS", default_value_t = queue::MISSED_HEARTBEATS as u16,
          value_parser = clap::value_parser!(u16).range(3..))]
    missed_heartbeats: u16,
    /// Seconds without a heartbeat after which the watchdog restarts the queue loop (and,
    /// if it does not restart either, exits with status 70 for its supervisor).
    #[arg(long, env = "RESONANTGEN_STALL_AFTER_SECS", default_value_t = 15,
          value_parser = clap::value_parser!(u64).range(3..))]
    stall_after: u64,
    /// A job running longer than this is stopped and retried.
    #[arg(long, default_value_t = 900)]
    job_timeout_secs: u64,
    /// Largest locked stem accepted, in bytes (a larger one fails the job with the reason).
    #[arg(long, env = "RESONANTGEN_MAX_LOCK_BYTES", default_value_t = 1 << 30)]
    max_lock_bytes: u64,
    /// Seconds between prunings of finished queue rows and old progress events (0: never).
    #[arg(long, env = "RESONANTGEN_PRUNE_EVERY", default_value_t = 600)]
    prune_every: u64,
    /// Prune finished queue rows and events of finished generations older than this, in
    /// seconds (`generations` rows are never pruned).
    #[arg(long, env = "RESONANTGEN_PRUNE_AFTER", default_value_t = 3600)]
    prune_after: u64,
}

/// Prunes every `every`, the first time at start-up. With several workers on one database
/// only one prunes at a time (the others skip that round).
async fn prune_periodically(pool: sqlx::PgPool, every: Duration, after: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match prune::prune(&pool, after).await {
            Ok(report) if report.skipped => {
                tracing::debug!("another process is pruning; skipped this round")
            }
            Ok(report) => {
                telemetry::apalis_pruned(report.apalis_jobs);
                if report.apalis_jobs + report.events > 0 {
                    tracing::info!(
                        apalis_jobs = report.apalis_jobs,
                        events = report.events,
                        older_than_secs = after.as_secs(),
                        "pruned finished queue rows and progress events"
                    );
                } else {
                    tracing::debug!("nothing to prune");
                }
            }
            Err(error) => tracing::warn!(%error, "pruning failed; trying again next round"),
        }
    }
}

/// When the apalis worker's own queries fail (heartbeat, fetch, ack: Postgres restarted, or
/// unreachable past the pool's 10 s acquire timeout) its future ends with the error. Without
/// a restart policy the monitor then stops — and, with a shutdown timeout set, reports
/// success: the process used to exit 0 on a lost database (tests/tests/faults.rs). So the
/// worker is restarted under a new name (`<name>-r<n>`; the jobs the old run held are
/// re-queued after the orphan window). Each restart waits out the pool's acquire timeout
/// while the database is away, so restarts during an outage are ~10 s apart; failures that
/// repeat at once (a query that fails the same way every time) are a hot loop, and after
/// [`RestartPolicy::MAX_QUICK`] of them in a row the process gives up and exits with an
/// error for its supervisor to see. The watchdog stops a stalled loop the same way.
struct RestartPolicy {
    /// When the current run started, and how many runs in a row ended within QUICK.
    state: std::sync::Mutex<(std::time::Instant, u32)>,
    gave_up: std::sync::atomic::AtomicBool,
    watch: LoopHandle,
}

impl RestartPolicy {
    const QUICK: Duration = Duration::from_secs(5);
    const MAX_QUICK: u32 = 20;

    fn new(watch: LoopHandle) -> Arc<Self> {
        Arc::new(RestartPolicy {
            state: std::sync::Mutex::new((std::time::Instant::now(), 0)),
            gave_up: false.into(),
            watch,
        })
    }

    fn should_restart(&self, worker: &WorkerContext, error: &WorkerError) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (started, quick) = &mut *state;
        *quick = if started.elapsed() < Self::QUICK {
            *quick + 1
        } else {
            0
        };
        *started = std::time::Instant::now();
        if *quick >= Self::MAX_QUICK {
            tracing::error!(
                worker = worker.name(),
                %error,
                "queue worker failed {} times in a row at once; giving up",
                Self::MAX_QUICK
            );
            self.gave_up
                .store(true, std::sync::atomic::Ordering::SeqCst);
            return false;
        }
        if self.watch.restart_requested() {
            // Logged and counted by the watchdog when it asked.
            tracing::info!(worker = worker.name(), "restarting the stalled queue loop");
        } else {
            telemetry::queue_restart("error");
            tracing::warn!(
                worker = worker.name(),
                %error,
                "queue worker failed (database away?); restarting it"
            );
        }
        true
    }
}

fn worker_name(prefix: Option<String>) -> String {
    let host = prefix
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".into());
    format!("{host}-{}", std::process::id())
}

/// Resolves on SIGTERM/SIGINT, or with `drain` once no job is left to wait for: claimed
/// tasks whose generation has already ended do not count (their ack is written on the way
/// out, or settled), so a lost ack cannot keep a drain waiting forever.
async fn stop_signal(drain: bool, pool: sqlx::PgPool, watch: LoopHandle) -> std::io::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let drained = async {
        if !drain {
            return std::future::pending::<()>().await;
        }
        let mut empty_checks = 0;
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            match queue::tasks_to_drain(&pool).await {
                Ok(0) => {
                    empty_checks += 1;
                    // twice in a row: an ack written between checks cannot fool us
                    if empty_checks >= 2 {
                        tracing::info!("queue drained; stopping");
                        return;
                    }
                }
                Ok(_) => empty_checks = 0,
                Err(e) => tracing::warn!(error = %e, "drain check failed"),
            }
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: finishing in-flight jobs, taking no new ones"),
        r = tokio::signal::ctrl_c() => { r?; tracing::info!("SIGINT: finishing in-flight jobs") }
        _ = drained => {}
    }
    watch.shutting_down();
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,apalis=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    anyhow::ensure!(args.concurrency >= 1, "--concurrency must be at least 1");

    let device = Device::parse(&args.device)?;
    let ort_env = onnx::init_runtime(args.ort_lib.as_deref(), device)?;
    let models_dir = args.models_dir.clone().unwrap_or_else(onnx::models_dir);
    let mut registry =
        Registry::load(ort_env, &models_dir, device).context("loading the generator models")?;
    // Batching steps of concurrent jobs pays where runs are expensive (a GPU) or cores are
    // plentiful; on a 2-core box the hand-off costs more than it saves (docs/BENCHMARKS.md).
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let batching = match std::env::var("RESONANTGEN_STEP_BATCHING").as_deref() {
        Ok("1") => true,
        Ok("0") => false,
        _ => device == Device::Cuda || (cores >= 8 && args.concurrency > 1),
    };
    registry.set_batching(batching);
    let engine = Arc::new(Engine { registry });

    let store = ObjectStore::from_env()?;
    let url = config::database_url().map_err(anyhow::Error::msg)?;
    let pool = db::connect(&url, args.concurrency as u32 + 6, Duration::from_secs(30)).await?;
    db::migrate(&pool).await?;

    if args.metrics_addr != "off" {
        // Metrics are worth having, not worth refusing to render for.
        if let Err(e) = telemetry::install(args.metrics_addr.parse().context("--metrics-addr")?) {
            tracing::warn!(error = %e, addr = %args.metrics_addr, "metrics endpoint not started");
        }
    }
    let name = worker_name(args.name.clone());
    tracing::info!(
        worker = %name,
        concurrency = args.concurrency,
        store = %store.describe(),
        models = ?engine.registry.models(),
        device = ?device,
        step_batching = batching,
        "worker starting"
    );
    let events = EventBus::new();
    let bridge = events.spawn_bridge(pool.clone());
    let pruner = (args.prune_every > 0).then(|| {
        tokio::spawn(prune_periodically(
            pool.clone(),
            Duration::from_secs(args.prune_every),
            Duration::from_secs(args.prune_after),
        ))
    });
    let pipeline = Arc::new(Pipeline {
        engine,
        store,
        pool: pool.clone(),
        worker: name.clone(),
        max_lock_bytes: args.max_lock_bytes,
        events: events.clone(),
    });

    let concurrency = args.concurrency;
    let timeout = Duration::from_secs(args.job_timeout_secs);
    let worker_pool = pool.clone();
    let storage_config =
        queue::storage_config().missed_heartbeats(usize::from(args.missed_heartbeats));
    let watch = LoopHandle::new();
    watchdog::spawn(watch.clone(), Duration::from_secs(args.stall_after))
        .context("starting the watchdog thread")?;
    let settler = tokio::spawn(watchdog::settle_lost_acks(watch.clone(), pool.clone()));
    let restarts = RestartPolicy::new(watch.clone());
    let loop_watch = watch.clone();
    // One monitor either way; the two backends are different types, hence the macro.
    macro_rules! run_monitor {
        ($backend:expr) => {
            Monitor::new()
                .on_event({
                    let watch = watch.clone();
                    move |_, event| {
                        if matches!(event, Event::HeartBeat) {
                            watch.heartbeat();
                        }
                    }
                })
                .should_restart({
                    let restarts = restarts.clone();
                    move |worker, error| restarts.should_restart(worker, error)
                })
                .register(move |run| {
                    let name = if run == 0 {
                        name.clone()
                    } else {
                        format!("{name}-r{run}")
                    };
                    let run = loop_watch.new_run(&name);
                    WorkerBuilder::new(name)
                        .backend(QueueLoop::new($backend, loop_watch.clone(), run))
                        .data(pipeline.clone())
                        .concurrency(concurrency)
                        .timeout(timeout)
                        .build(job::handle)
                })
                .shutdown_timeout(timeout)
                .run_with_signal(stop_signal(args.drain, pool.clone(), watch.clone()))
                .await?
        };
    }
    if args.no_notify {
        run_monitor!(
            PostgresStorage::<GenerationJob>::new(&worker_pool).with_config(storage_config.clone())
        );
    } else {
        run_monitor!(
            PostgresStorage::<GenerationJob>::new(&worker_pool)
                .with_config(storage_config.clone())
                .with_pubsub()
        );
    }
    if let Some(pruner) = pruner {
        pruner.abort();
    }
    settler.abort();
    // Tasks of ours whose generation ended but whose ack never got out (a loop restarted by
    // the watchdog loses the acks it held): acknowledged here rather than left `Running`
    // for the orphan sweep of some other worker, some time later.
    match queue::settle_finished(&pool, &watch.names(), None).await {
        Ok(ids) if !ids.is_empty() => tracing::warn!(
            tasks = ?ids,
            "acknowledged tasks whose generation had ended but whose ack was lost"
        ),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "settling unacknowledged tasks failed"),
    }
    // Events of jobs that ended during shutdown are still on their way to Postgres.
    if !events.flush(Duration::from_secs(10)).await {
        tracing::warn!("some progress events were not stored before exit");
    }
    bridge.abort();
    anyhow::ensure!(
        !restarts.gave_up.load(std::sync::atomic::Ordering::SeqCst),
        "the queue worker kept failing; see the errors above"
    );
    tracing::info!("worker stopped");
    Ok(())
}
