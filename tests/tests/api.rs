//! The HTTP API against the real server process (`resonantgen serve`), a real Postgres and
//! real workers: auth, submission and its errors, server-sent events in order, results,
//! cancellation, batches and scenes, metrics.

use resonantgen_e2e::{ApiServer, Stack, http};
use std::time::{Duration, Instant};

const TOKEN: &str = "test-token-0123456789";
const WAIT: Duration = Duration::from_secs(240);

struct Api(ApiServer);

impl Api {
    async fn start(stack: &Stack) -> Api {
        Api::start_with(stack, &["--tokens", &format!("other-token,{TOKEN}")]).await
    }

    async fn start_with(stack: &Stack, args: &[&str]) -> Api {
        Api(ApiServer::start(stack, args).await.unwrap())
    }

    async fn call(&self, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
        let ct = (!body.is_empty()).then_some("application/json");
        let (status, _, text) = self
            .0
            .request(TOKEN, method, path, ct, body.as_bytes())
            .await
            .unwrap();
        let v = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        (status, v)
    }

    /// Reads a generation's event stream to its end: (event name, id, data) in order.
    async fn events(&self, id: &str) -> Vec<(String, i64, serde_json::Value)> {
        let auth = format!("Bearer {TOKEN}");
        let (status, head, body) = tokio::time::timeout(
            WAIT,
            http(
                &self.0.addr,
                "GET",
                &format!("/v1/generations/{id}/events"),
                &[
                    ("Authorization", auth.as_str()),
                    ("Accept", "text/event-stream"),
                ],
                b"",
            ),
        )
        .await
        .expect("the event stream ends after the final event")
        .unwrap();
        assert_eq!(status, 200, "{head}\n{body}");
        assert!(head.contains("text/event-stream"), "{head}");
        body.split("\n\n")
            .filter_map(|block| {
                let mut name = None;
                let mut eid = None;
                let mut data = None;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = Some(v.trim().to_string());
                    } else if let Some(v) = line.strip_prefix("id:") {
                        eid = v.trim().parse().ok();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data = serde_json::from_str(v.trim()).ok();
                    }
                }
                Some((name?, eid?, data?))
            })
            .collect()
    }
}

fn code(v: &serde_json::Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_submit_events_result_cancel_and_errors() {
    let stack = Stack::start().await.unwrap();
    let api = Api::start(&stack).await;
    let good = r#"{"prompt": "dark techno with driving bass", "duration_seconds": 4, "seed": 7}"#;

    // Auth: no token, a wrong token, a wrong scheme.
    for headers in [
        vec![("Content-Type", "application/json")],
        vec![
            ("Content-Type", "application/json"),
            ("Authorization", "Bearer not-the-token"),
        ],
        vec![
            ("Content-Type", "application/json"),
            ("Authorization", "Basic dGVzdDp0ZXN0"),
        ],
    ] {
        let (status, _, body) = http(
            &api.0.addr,
            "POST",
            "/v1/generations",
            &headers,
            good.as_bytes(),
        )
        .await
        .unwrap();
        assert_eq!(status, 401, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(code(&v), "unauthorized");
    }
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM generations")
        .fetch_one(&stack.pool)
        .await
        .unwrap();
    assert_eq!(n, 0, "rejected requests must not be enqueued");

    // Bad bodies: 4xx with a stable code and a reason.
    let (s, v) = api.call("POST", "/v1/generations", "{not json").await;
    assert_eq!((s, code(&v)), (400, "invalid_json"), "{v}");
    let (s, v) = api
        .call(
            "POST",
            "/v1/generations",
            r#"{"prompt": "house", "duration_seconds": 9999}"#,
        )
        .await;
    assert_eq!((s, code(&v)), (422, "invalid_request"), "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("duration"),
        "{v}"
    );
    let (s, v) = api
        .call(
            "POST",
            "/v1/generations",
            r#"{"prompt": "house", "colour": "red"}"#,
        )
        .await;
    assert_eq!((s, code(&v)), (422, "invalid_request"), "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("colour"),
        "{v}"
    );
    let huge = format!(r#"{{"prompt": "{}"}}"#, "a".repeat(100 * 1024));
    let (s, v) = api.call("POST", "/v1/generations", &huge).await;
    assert_eq!((s, code(&v)), (413, "payload_too_large"), "{v}");
    let (s, v) = api.call("GET", "/v1/generations/nope", "").await;
    assert_eq!((s, code(&v)), (404, "not_found"), "{v}");

    // The OpenAPI document, without auth.
    let (s, _, body) = http(&api.0.addr, "GET", "/v1/openapi.json", &[], b"")
        .await
        .unwrap();
    assert_eq!(s, 200);
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/v1/generations/{id}/events"].is_object());

    // Submit → events in order → the result.
    let (s, v) = api.call("POST", "/v1/generations", good).await;
    assert_eq!(s, 202, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let worker = stack.worker(&["--drain"]).unwrap();
    let events = api.events(&id).await;
    worker.wait(WAIT).await.unwrap();
    let names: Vec<&str> = events.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(names.first(), Some(&"generation.started"), "{names:?}");
    assert_eq!(names.last(), Some(&"generation.succeeded"), "{names:?}");
    assert!(names.contains(&"track.generated"), "{names:?}");
    let ids: Vec<i64> = events.iter().map(|e| e.1).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids in order: {ids:?}");
    // Every stage that started finished, before the next started.
    let mut open: Option<String> = None;
    for (name, _, data) in &events {
        let stage = data["stage"].as_str().map(str::to_string);
        match name.as_str() {
            "stage.started" => {
                assert!(open.is_none(), "stage {open:?} still open at {stage:?}");
                open = stage;
            }
            "stage.finished" => {
                assert_eq!(open.take(), stage, "finished a stage that was not open");
            }
            _ => {}
        }
    }
    let (s, v) = api.call("GET", &format!("/v1/generations/{id}"), "").await;
    assert_eq!(s, 200);
    assert_eq!(v["status"], "succeeded", "{v}");
    assert!(
        v["response"]["mix"]["audio"]["uri"].as_str().is_some(),
        "{v}"
    );
    // A late subscriber gets the same events replayed; Last-Event-ID resumes after one.
    assert_eq!(api.events(&id).await.len(), events.len());

    // Resubmitting with the same idempotency key returns the first generation.
    let keyed = r#"{"prompt": "lofi hip hop", "duration_seconds": 2, "idempotency_key": "k-1"}"#;
    let (s1, v1) = api.call("POST", "/v1/generations", keyed).await;
    let (s2, v2) = api.call("POST", "/v1/generations", keyed).await;
    assert_eq!((s1, s2), (202, 200));
    assert_eq!(v1["id"], v2["id"]);
    assert_eq!(v2["existing"], true);

    // Cancel: the keyed generation is queued (no worker runs now): it never starts.
    let cid = v1["id"].as_str().unwrap().to_string();
    let (s, v) = api
        .call("DELETE", &format!("/v1/generations/{cid}"), "")
        .await;
    assert_eq!(s, 202, "{v}");
    assert_eq!(v["status"], "cancelled");
    let (s, v) = api
        .call("DELETE", &format!("/v1/generations/{cid}"), "")
        .await;
    assert_eq!((s, code(&v)), (409, "already_finished"), "{v}");
    let cancelled = api.events(&cid).await;
    assert_eq!(
        cancelled.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        vec!["generation.cancelled"]
    );
    let worker = stack.worker(&["--drain"]).unwrap();
    worker.wait(WAIT).await.unwrap();
    let (_, v) = api.call("GET", &format!("/v1/generations/{cid}"), "").await;
    assert_eq!(v["status"], "cancelled", "{v}");
    assert!(
        v["started_at"].is_null(),
        "a cancelled queued job never starts: {v}"
    );

    // Scenes: save the finished generation, start a new one from it keeping the drums.
    let (s, v) = api
        .call(
            "POST",
            "/v1/scenes",
            &format!(r#"{{"name": "night-drive", "generation_id": "{id}"}}"#),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["tracks"]["drums"], format!("gen:{id}/drums"));
    let (s, v) = api
        .call(
            "POST",
            "/v1/scenes",
            &format!(r#"{{"name": "night-drive", "generation_id": "{id}"}}"#),
        )
        .await;
    assert_eq!((s, code(&v)), (409, "exists"), "{v}");
    let (s, v) = api.call("GET", "/v1/scenes", "").await;
    assert_eq!(s, 200);
    assert_eq!(v["scenes"].as_array().unwrap().len(), 1);
    let (s, v) = api
        .call(
            "POST",
            "/v1/scenes/night-drive/generations",
            r#"{"prompt": "dark techno with acid bass", "keep": ["drums"]}"#,
        )
        .await;
    assert_eq!(s, 202, "{v}");
    let from_scene = v["id"].as_str().unwrap().to_string();
    let worker = stack.worker(&["--drain"]).unwrap();
    let row = stack.wait_terminal(&from_scene, WAIT).await.unwrap();
    worker.wait(WAIT).await.unwrap();
    let resp = row.response.expect("succeeded");
    assert_eq!(resp["tracks"]["drums"]["locked"], true);
    assert_eq!(
        resp["context"]["tempo_bpm"],
        v_of(&api, &id, "tempo_bpm").await
    );
    let (s, _) = api.call("DELETE", "/v1/scenes/night-drive", "").await;
    assert_eq!(s, 204);
    let (s, v) = api.call("GET", "/v1/scenes/night-drive", "").await;
    assert_eq!((s, code(&v)), (404, "not_found"));

    // Metrics reflect the queue.
    let (s, _, text) = http(&api.0.addr, "GET", "/metrics", &[], b"")
        .await
        .unwrap();
    assert_eq!(s, 200);
    assert!(
        text.contains("resonantgen_queue_jobs{state=\"succeeded\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("resonantgen_queue_jobs{state=\"cancelled\"} 1"),
        "{text}"
    );
    assert!(text.contains("resonantgen_api_requests_total"), "{text}");
}

async fn v_of(api: &Api, id: &str, field: &str) -> serde_json::Value {
    let (_, v) = api.call("GET", &format!("/v1/generations/{id}"), "").await;
    v["response"]["context"][field].clone()
}

/// A 200-line catalog with 5 invalid lines: the report names exactly those lines and
/// nothing is enqueued; with --skip-invalid the other 195 all complete; submitting again
/// (CLI or API) enqueues nothing; batch-status and export agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_with_invalid_lines_then_skip_invalid_then_resubmit() {
    let stack = Stack::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bad_lines = [7usize, 42, 99, 150, 200];
    let genres = [
        "techno",
        "house",
        "lofi hip hop",
        "ambient",
        "drum and bass",
    ];
    let mut lines = Vec::new();
    for i in 1..=200usize {
        let line = match bad_lines.iter().position(|b| *b == i) {
            Some(0) => "{\"prompt\": \"techno\", \"duration_seconds\": 0.2}".to_string(),
            Some(1) => "this is not json".to_string(),
            Some(2) => {
                format!("{{\"prompt\": \"house\", \"tempo\": 900, \"external_id\": \"e{i}\"}}")
            }
            Some(3) => "{\"prompt\": \"\"}".to_string(),
            Some(_) => "{\"prompt\": \"jazz\", \"sample_rate\": 12345}".to_string(),
            None => format!(
                "{{\"prompt\": \"{} sketch {i}\", \"external_id\": \"e{i}\", \"seed\": {i}, \"tracks\": [\"drums\", \"bass\"]}}",
                genres[i % genres.len()]
            ),
        };
        lines.push(line);
    }
    let path = dir.path().join("catalog.jsonl");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let path_s = path.to_str().unwrap();

    let out = stack
        .cli(&["batch", path_s, "--duration", "1"])
        .await
        .unwrap();
    assert!(
        !out.status.success(),
        "invalid lines must refuse the catalog"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let reported: Vec<usize> = stderr
        .lines()
        .filter_map(|l| l.split("line ").nth(1))
        .filter_map(|rest| rest.split(':').next())
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    assert_eq!(reported, bad_lines, "{stderr}");
    let count = || async {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM generations")
            .fetch_one(&stack.pool)
            .await
            .unwrap();
        n
    };
    assert_eq!(count().await, 0, "nothing enqueued on error");

    let out = stack
        .cli(&[
            "batch",
            path_s,
            "--duration",
            "1",
            "--skip-invalid",
            "--json",
        ])
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["batch"]["enqueued"], 195, "{v}");
    assert_eq!(v["invalid"].as_array().unwrap().len(), 5);
    let batch = v["batch"]["batch_id"].as_str().unwrap().to_string();

    let w1 = stack.worker(&["--drain", "--concurrency", "2"]).unwrap();
    let w2 = stack.worker(&["--drain", "--concurrency", "2"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        let out = stack
            .cli(&["batch-status", &batch, "--json"])
            .await
            .unwrap();
        let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let done = ["succeeded", "failed", "cancelled"]
            .iter()
            .map(|k| s["counts"][k].as_i64().unwrap_or(0))
            .sum::<i64>();
        if done == 195 {
            assert_eq!(s["counts"]["succeeded"], 195, "{s}");
            break;
        }
        assert!(Instant::now() < deadline, "batch not done: {s}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    w1.wait(WAIT).await.unwrap();
    w2.wait(WAIT).await.unwrap();

    // Re-submission enqueues nothing, through the CLI and through the API.
    let out = stack
        .cli(&[
            "batch",
            path_s,
            "--duration",
            "1",
            "--skip-invalid",
            "--json",
        ])
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["batch"]["enqueued"], 0, "{v}");
    assert_eq!(v["batch"]["existing"], 195, "{v}");
    assert_eq!(v["batch"]["batch_id"], batch.as_str());
    // Without tokens the API works in the CLI's namespace; a token's catalogs are its own
    // (tests/tests/hardening_api.rs).
    let api = Api::start_with(&stack, &["--insecure-no-auth"]).await;
    let envelope = serde_json::json!({
        "catalog": lines.join("\n"),
        "defaults": {"duration_seconds": 1},
        "skip_invalid": true,
    });
    let (s, v) = api.call("POST", "/v1/batches", &envelope.to_string()).await;
    assert_eq!(s, 202, "{v}");
    assert_eq!(
        (v["enqueued"].as_i64(), v["existing"].as_i64()),
        (Some(0), Some(195))
    );
    let strict =
        serde_json::json!({"catalog": lines.join("\n"), "defaults": {"duration_seconds": 1}});
    let (s, v) = api.call("POST", "/v1/batches", &strict.to_string()).await;
    assert_eq!((s, code(&v)), (422, "invalid_request"), "{v}");
    let api_lines: Vec<i64> = v["error"]["details"]["invalid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_i64().unwrap())
        .collect();
    assert_eq!(api_lines, vec![7, 42, 99, 150, 200]);
    assert_eq!(count().await, 195);
    let (s, v) = api.call("GET", &format!("/v1/batches/{batch}"), "").await;
    assert_eq!(s, 200);
    assert_eq!(v["done"], true, "{v}");

    // Export: one line per request with its status, URIs and QA figures.
    let export = dir.path().join("results.csv");
    let out = stack
        .cli(&["export", &batch, "-o", export.to_str().unwrap()])
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut reader = csv::Reader::from_path(&export).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 195);
    for r in &rows {
        assert_eq!(&r[col("status")], "succeeded");
        assert!(r[col("mix_uri")].starts_with("s3://"), "{r:?}");
        assert!(r[col("external_id")].starts_with('e'));
        assert!(!r[col("integrated_lufs")].is_empty());
    }
    let ext: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| &r[col("external_id")]).collect();
    assert_eq!(ext.len(), 195, "each line exported once");
}

/// `variations: 3` in one request: three generations under one batch, sharing tempo, key,
/// chords and arrangement (one seed) and differing in their notes; sent again it finds the
/// same takes; 17 takes, and variations in a catalog line, are refused with the field named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variations_are_takes_of_one_plan_under_one_batch() {
    let stack = Stack::start().await.unwrap();
    let api = Api::start(&stack).await;
    let (s, v) = api
        .call(
            "POST",
            "/v1/generations",
            r#"{"prompt": "soul", "duration_seconds": 6, "variations": 17}"#,
        )
        .await;
    assert_eq!((s, code(&v)), (422, "invalid_request"), "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("variations: 17"),
        "{v}"
    );
    let body =
        r#"{"prompt": "soul with piano", "duration_seconds": 6, "seed": 99, "variations": 3}"#;
    let (s, v) = api.call("POST", "/v1/generations", body).await;
    assert_eq!(s, 202, "{v}");
    let batch = v["batch_id"].as_str().unwrap().to_string();
    let ids: Vec<String> = v["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3, "{v}");
    assert_eq!(v["seed"], 99);
    let (s2, v2) = api.call("POST", "/v1/generations", body).await;
    assert_eq!(
        (s2, &v2["batch_id"], &v2["ids"]),
        (200, &v["batch_id"], &v["ids"]),
        "{v2}"
    );
    let worker = stack.worker(&["--drain"]).unwrap();
    worker.wait(WAIT).await.unwrap();
    let (s, b) = api.call("GET", &format!("/v1/batches/{batch}"), "").await;
    assert_eq!(s, 200, "{b}");
    let mut plans = Vec::new();
    for (take, id) in ids.iter().enumerate() {
        let (_, g) = api.call("GET", &format!("/v1/generations/{id}"), "").await;
        assert_eq!(g["status"], "succeeded", "{g}");
        assert_eq!(g["batch_id"], batch.as_str(), "{g}");
        let c = &g["response"]["context"];
        assert_eq!(c["take"].as_u64().unwrap_or(0), take as u64, "{c}");
        plans.push((
            c["tempo_bpm"].clone(),
            c["key"].clone(),
            c["chord_symbols"].clone(),
            c["sections"].clone(),
        ));
    }
    for p in &plans[1..] {
        assert_eq!(
            (&p.0, &p.1, &p.2, &p.3),
            (&plans[0].0, &plans[0].1, &plans[0].2, &plans[0].3),
            "takes share tempo, key, chords and arrangement"
        );
    }
    // A catalog line cannot ask for takes: it is one generation.
    let (s, v) = api
        .call(
            "POST",
            "/v1/batches",
            &serde_json::json!({"format": "jsonl", "catalog": "{\"prompt\": \"soul\", \"variations\": 2}\n"})
                .to_string(),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    assert!(v.to_string().contains("variations"), "{v}");
}
