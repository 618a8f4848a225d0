//! The monitoring files in ops/: the Prometheus config and alert rules pass `promtool` (config
//! check, rule check, the rule unit tests in alerts_test.yml), the Grafana dashboard is well
//! formed and its queries parse, and every metric name they use is one the code exports.
//!
//! Needs `promtool` (Debian package `prometheus`): on PATH, in .local/bin, or named by
//! $PROMTOOL. `source ops/lib.sh && ensure_promtool` puts it in .local/bin.

use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// The metric contract: every metric `resonantgen serve` (scheduler) and `resonantgen-worker`
/// export on /metrics, as the Rust code implements them. ops/ may only use these names (a
/// histogram also as `_bucket`, `_sum`, `_count`). Change the code, this list and ops/ together.
const METRICS: &[(&str, Kind)] = &[
    // scheduler
    ("resonantgen_queue_jobs", Kind::Gauge), // {state}: queued|running|succeeded|failed|cancelled
    ("resonantgen_queue_oldest_queued_age_seconds", Kind::Gauge),
    ("resonantgen_batch_requests", Kind::Gauge), // {batch, status}
    ("resonantgen_batches_active", Kind::Gauge),
    ("resonantgen_workers_live", Kind::Gauge), // heartbeat in the last 30 s
    ("resonantgen_api_requests_total", Kind::Counter), // {route, status}
    ("resonantgen_apalis_pruned_total", Kind::Counter),
    // worker
    ("resonantgen_jobs_total", Kind::Counter), // {status}: succeeded|failed|retried|skipped|cancelled
    ("resonantgen_job_duration_seconds", Kind::Histogram),
    ("resonantgen_stage_duration_seconds", Kind::Histogram), // {stage}
    ("resonantgen_jobs_in_flight", Kind::Gauge),
    ("resonantgen_realtime_factor", Kind::Gauge),
    ("resonantgen_object_bytes_total", Kind::Counter), // {direction}: upload|download
    ("resonantgen_model_inference_seconds", Kind::Histogram), // {model}
];

/// The alerts ops/prometheus/alerts.yml must define.
const ALERTS: &[&str] = &[
    "ResonantGenBacklogGrowing",
    "ResonantGenHighFailureRatio",
    "ResonantGenNoLiveWorkers",
    "ResonantGenSlowJobs",
];

const DASHBOARD: &str = "ops/grafana/resonantgen.json";
const DS_UID: &str = "${DS_PROMETHEUS}";

fn root() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    dir.canonicalize()
        .unwrap_or_else(|e| panic!("workspace root {}: {e}", dir.display()))
}

fn read(rel: &str) -> String {
    let path = root().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn promtool() -> PathBuf {
    if let Some(p) = std::env::var_os("PROMTOOL") {
        return p.into();
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("promtool"))
        .find(|p| p.is_file());
    if let Some(p) = on_path {
        return p;
    }
    let local = root().join(".local/bin/promtool");
    if local.is_file() {
        return local;
    }
    panic!(
        "promtool not found (not on PATH, not in .local/bin, PROMTOOL unset). Install it with \
         `source ops/lib.sh && ensure_promtool` (unpacks it from Debian's prometheus package)"
    );
}

/// Runs promtool in the workspace root and fails the test with its output unless it succeeds.
fn promtool_ok(args: &[&str]) -> String {
    let tool = promtool();
    let out = Command::new(&tool)
        .args(args)
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("running {} {}: {e}", tool.display(), args.join(" ")));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "promtool {} failed ({}):\n{text}",
        args.join(" "),
        out.status
    );
    text
}

#[test]
fn prometheus_config_is_valid() {
    let out = promtool_ok(&["check", "config", "ops/prometheus/prometheus.yml"]);
    assert!(out.contains("1 rule files found"), "{out}");
}

#[test]
fn alert_rules_are_valid() {
    promtool_ok(&["check", "rules", "ops/prometheus/alerts.yml"]);
    let rules = read("ops/prometheus/alerts.yml");
    for alert in ALERTS {
        assert!(
            rules.contains(&format!("- alert: {alert}\n")),
            "alerts.yml lacks {alert}"
        );
    }
    // Every rule waits a while, has a severity and says what to check.
    for block in rules.split("- alert: ").skip(1) {
        let name = block.lines().next().unwrap_or_default();
        for key in ["for: ", "severity: ", "summary: ", "description: "] {
            assert!(block.contains(key), "alert {name} has no `{key}`");
        }
    }
}

#[test]
fn alert_rule_unit_tests_pass() {
    promtool_ok(&["test", "rules", "ops/prometheus/alerts_test.yml"]);
}

/// The dashboard's panels, row panels replaced by the panels they hold.
fn dashboard_panels(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(panels: &'a [Value], out: &mut Vec<&'a Value>) {
        for p in panels {
            if p["type"] == "row" {
                walk(p["panels"].as_array().map_or(&[], Vec::as_slice), out);
            } else {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    let top = dashboard["panels"]
        .as_array()
        .expect("dashboard has a panels array");
    walk(top, &mut out);
    out
}

fn load_dashboard() -> Value {
    serde_json::from_str(&read(DASHBOARD)).unwrap_or_else(|e| panic!("{DASHBOARD}: {e}"))
}

fn is_our_datasource(ds: &Value) -> bool {
    ds["uid"] == DS_UID && ds["type"] == "prometheus"
}

#[test]
fn dashboard_panels_have_datasource_and_targets() {
    let d = load_dashboard();
    assert!(
        d["schemaVersion"].as_u64().is_some_and(|v| v >= 36),
        "schemaVersion: {}",
        d["schemaVersion"]
    );
    let inputs = d["__inputs"].as_array().expect("__inputs");
    assert!(
        inputs
            .iter()
            .any(|i| i["name"] == "DS_PROMETHEUS" && i["pluginId"] == "prometheus"),
        "no DS_PROMETHEUS input"
    );
    let vars = d["templating"]["list"].as_array().expect("templating.list");
    assert!(
        vars.iter()
            .any(|v| v["name"] == "DS_PROMETHEUS" && v["type"] == "datasource"),
        "no DS_PROMETHEUS datasource variable"
    );
    for v in vars.iter().filter(|v| v["type"] == "query") {
        assert!(
            is_our_datasource(&v["datasource"]),
            "variable {}",
            v["name"]
        );
    }

    let panels = dashboard_panels(&d);
    assert!(panels.len() >= 13, "only {} panels", panels.len());
    let mut ids = BTreeSet::new();
    let mut boxes: Vec<(String, [u64; 4])> = Vec::new();
    for p in &panels {
        let title = p["title"].as_str().unwrap_or_default().to_string();
        assert!(!title.is_empty(), "panel {} has no title", p["id"]);
        assert!(
            ids.insert(p["id"].to_string()),
            "duplicate panel id in {title}"
        );
        assert!(
            is_our_datasource(&p["datasource"]),
            "panel {title}: datasource {} is not {DS_UID}",
            p["datasource"]
        );
        let targets = p["targets"].as_array().map_or(&[][..], Vec::as_slice);
        assert!(!targets.is_empty(), "panel {title} has no targets");
        for t in targets {
            let expr = t["expr"].as_str().unwrap_or_default();
            assert!(
                !expr.trim().is_empty(),
                "panel {title}: target without expr"
            );
            assert!(
                t["refId"].is_string(),
                "panel {title}: target without refId"
            );
            if !t["datasource"].is_null() {
                assert!(
                    is_our_datasource(&t["datasource"]),
                    "panel {title}: target datasource"
                );
            }
        }
        let g = &p["gridPos"];
        let pos = ["x", "y", "w", "h"].map(|k| {
            g[k].as_u64()
                .unwrap_or_else(|| panic!("panel {title}: gridPos.{k}"))
        });
        let [x, y, w, h] = pos;
        assert!(w > 0 && h > 0 && x + w <= 24, "panel {title}: gridPos {g}");
        for (other, [ox, oy, ow, oh]) in &boxes {
            let overlap = x < ox + ow && *ox < x + w && y < oy + oh && *oy < y + h;
            assert!(!overlap, "panels {title} and {other} overlap");
        }
        boxes.push((title, pos));
    }
}

/// Every dashboard query parses as PromQL: they go through `promtool check rules` as
/// recording rules, with Grafana's variables filled in.
#[test]
fn dashboard_queries_are_valid_promql() {
    let d = load_dashboard();
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for p in dashboard_panels(&d) {
        for t in p["targets"].as_array().map_or(&[][..], Vec::as_slice) {
            let expr = t["expr"].as_str().unwrap_or_default();
            let filled = expr
                .replace("$__rate_interval", "5m")
                .replace("$__interval", "1m")
                .replace("$batch", ".*");
            assert!(
                !filled.contains('$'),
                "panel {}: unknown variable in {expr}",
                p["title"]
            );
            // A JSON string is a valid YAML double-quoted scalar.
            let quoted = serde_json::to_string(&filled).expect("string to JSON");
            let record = format!(
                "dashboard:panel_{}_{}",
                p["id"],
                t["refId"].as_str().unwrap_or("X")
            );
            writeln!(rules, "      - record: {record}\n        expr: {quoted}")
                .expect("write to String");
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("dashboard_rules.yml");
    std::fs::write(&path, &rules).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    let path = path.to_str().expect("UTF-8 temp path");
    promtool_ok(&["check", "rules", path]);
}

/// `resonantgen_…` names in `text` (a name starts at a non-identifier character).
fn metric_names(text: &str) -> BTreeSet<String> {
    const PREFIX: &str = "resonantgen_";
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let bytes = text.as_bytes();
    let mut names = BTreeSet::new();
    for (at, _) in text.match_indices(PREFIX) {
        if at > 0 && is_ident(bytes[at - 1]) {
            continue;
        }
        let end = bytes[at + PREFIX.len()..]
            .iter()
            .position(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_'))
            .map_or(bytes.len(), |n| at + PREFIX.len() + n);
        names.insert(text[at..end].to_string());
    }
    names
}

/// The contract metric `name` refers to (a histogram's series carry a suffix).
fn contract_metric(name: &str) -> Option<&'static str> {
    METRICS.iter().find_map(|&(metric, kind)| {
        let series = name == metric
            || (kind == Kind::Histogram
                && ["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|s| name.strip_suffix(s) == Some(metric)));
        series.then_some(metric)
    })
}

#[test]
fn metric_names_follow_the_contract() {
    let files = [
        "ops/prometheus/prometheus.yml",
        "ops/prometheus/alerts.yml",
        "ops/prometheus/alerts_test.yml",
        DASHBOARD,
    ];
    let mut unknown = Vec::new();
    for file in files {
        for name in metric_names(&read(file)) {
            if contract_metric(&name).is_none() {
                unknown.push(format!("{file}: {name}"));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "metric names outside the contract (tests/tests/ops.rs METRICS):\n{}",
        unknown.join("\n")
    );

    // The dashboard shows every metric of the contract.
    let shown: BTreeSet<_> = metric_names(&read(DASHBOARD))
        .iter()
        .filter_map(|n| contract_metric(n))
        .collect();
    let missing: Vec<_> = METRICS
        .iter()
        .map(|&(m, _)| m)
        .filter(|m| !shown.contains(m))
        .collect();
    assert!(missing.is_empty(), "dashboard does not show {missing:?}");
}

#[test]
fn metric_name_scan() {
    let names = metric_names(
        "x{resonantgen_jobs_total} rate(resonantgen_job_duration_seconds_bucket[5m]) \
         myresonantgen_other resonantgen-worker resonantgen_a1_b",
    );
    let names: Vec<_> = names.iter().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "resonantgen_a1_b",
            "resonantgen_job_duration_seconds_bucket",
            "resonantgen_jobs_total"
        ]
    );
    assert_eq!(
        contract_metric("resonantgen_job_duration_seconds_count"),
        Some("resonantgen_job_duration_seconds")
    );
    assert_eq!(contract_metric("resonantgen_jobs_total_count"), None);
    assert_eq!(contract_metric("resonantgen_queue_jobs_bucket"), None);
}
