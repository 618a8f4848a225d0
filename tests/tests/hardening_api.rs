//! Hardening of the HTTP API (issue 13), against the real server process, a real Postgres
//! and, for scenes, a real worker: bounded metric labels under random methods and paths;
//! header-read, idle and request timeouts; token scopes, ownership, per-token rate limits,
//! concurrent-job quotas and priority ranges; JSON 405s with Allow; 503 (not 500, and no
//! details) while the database is down; the served OpenAPI document.

use resonantgen_e2e::{ApiServer, Stack, TempCluster, api_request, http};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WAIT: Duration = Duration::from_secs(240);

struct Api {
    addr: String,
    _server: ApiServer,
    _dir: Option<tempfile::TempDir>,
}

impl Api {
    /// `resonantgen serve` with `args`, up when /healthz answers 200.
    async fn start(stack: &Stack, args: &[&str]) -> Api {
        let server = ApiServer::start(stack, args).await.unwrap();
        Api {
            addr: server.addr.clone(),
            _server: server,
            _dir: None,
        }
    }

    /// With a tokens file holding `json`.
    async fn with_tokens_file(stack: &Stack, json: &serde_json::Value, args: &[&str]) -> Api {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        std::fs::write(&path, json.to_string()).unwrap();
        let mut all = vec!["--tokens-file", path.to_str().unwrap()];
        all.extend_from_slice(args);
        let mut api = Api::start(stack, &all).await;
        api._dir = Some(dir);
        api
    }

    async fn call(&self, token: &str, method: &str, path: &str, body: &str) -> Reply {
        let ct = (!body.is_empty()).then_some("application/json");
        let (status, head, text) =
            api_request(&self.addr, token, method, path, ct, body.as_bytes())
                .await
                .unwrap();
        Reply {
            status,
            head,
            body: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        }
    }
}

#[derive(Debug)]
struct Reply {
    status: u16,
    head: String,
    body: serde_json::Value,
}

impl Reply {
    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
    fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
    fn id(&self) -> String {
        self.body["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id: {self:?}"))
            .to_string()
    }
}

/// A small deterministic generator (xorshift), enough for random methods and paths.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn word(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize] as char)
            .collect()
    }
}

/// The `route` label values of `resonantgen_api_requests_total` in a scrape.
fn api_series(metrics: &str) -> Vec<String> {
    metrics
        .lines()
        .filter(|l| l.starts_with("resonantgen_api_requests_total{"))
        .filter_map(|l| l.split_once('}').map(|(labels, _)| labels.to_string()))
        .collect()
}

/// 3,000 requests with random methods and paths — with and without a valid token — leave
/// the API's request counter with a small, fixed label set: methods outside the known ones
/// count as "other", paths outside the router as "unmatched". (Before: every random method
/// became a label value, ~3,000 series.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metric_labels_stay_bounded_under_random_methods_and_paths() {
    let stack = Stack::start().await.unwrap();
    let api = Api::start(&stack, &["--tokens", "metrics-token", "--rate-limit", "0"]).await;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let known = ["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"];
    let paths = [
        "/v1/generations",
        "/v1/generations/01M8F9MYTCA9DADJ0QYYRVF5ZB",
        "/v1/batches/x",
        "/v1/scenes",
        "/healthz",
    ];
    let mut jobs = Vec::new();
    for i in 0..3000usize {
        let method = if i % 3 == 0 {
            known[(rng.next() % known.len() as u64) as usize].to_string()
        } else {
            let len = 3 + (rng.next() % 8) as usize;
            rng.word(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", len)
        };
        let path = if i % 2 == 0 {
            paths[(rng.next() % paths.len() as u64) as usize].to_string()
        } else {
            format!(
                "/{}/{}",
                rng.word(b"abcdefv1", 4),
                rng.word(b"0123456789", 6)
            )
        };
        let authed = i % 4 == 0;
        jobs.push((method, path, authed));
    }
    let addr = api.addr.clone();
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in jobs.chunks(3000 / 16) {
        let chunk = chunk.to_vec();
        let addr = addr.clone();
        tasks.spawn(async move {
            for (method, path, authed) in chunk {
                let headers: &[(&str, &str)] = if authed {
                    &[("Authorization", "Bearer metrics-token")]
                } else {
                    &[]
                };
                // A HEAD answer has no body and some methods get no answer we parse: only
                // that the server served them matters here.
                let _ = http(&addr, &method, &path, headers, b"").await;
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    let (s, _, text) = http(&api.addr, "GET", "/metrics", &[], b"").await.unwrap();
    assert_eq!(s, 200);
    let series = api_series(&text);
    let routes: BTreeSet<String> = series
        .iter()
        .filter_map(|l| {
            l.split("route=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .map(str::to_string)
        })
        .collect();
    for r in &routes {
        let (method, route) = r.split_once(' ').unwrap();
        assert!(
            known.contains(&method) || method == "other",
            "method label {method:?} in {r:?}"
        );
        assert!(
            route == "unmatched"
                || route.starts_with("/v1/")
                || route == "/healthz"
                || route == "/metrics",
            "route label {route:?}"
        );
        assert!(
            !route.contains("01M8F9"),
            "raw ids never become labels: {r}"
        );
    }
    // 8 method values × (5 routes hit + unmatched + /metrics) × a few statuses.
    assert!(
        series.len() <= 120,
        "{} series after 3,000 random requests:\n{}",
        series.len(),
        series.join("\n")
    );
    assert!(routes.iter().any(|r| r.starts_with("other ")), "{routes:?}");
}

/// Reads from `s` until the peer closes (Ok(true)) or `limit` passes (Ok(false)).
async fn closed_within(s: &mut tokio::net::TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

/// 300 connections that send half a request header, and a keep-alive connection left idle
/// after its first response, are closed by the server after the header timeout; the server
/// keeps answering meanwhile. A body that trickles in slower than the request timeout gets
/// 408. (Before: axum::serve ran hyper without a timer, so none of these was ever closed.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_idle_and_slow_connections_are_closed() {
    let stack = Stack::start().await.unwrap();
    let api = Api::start(
        &stack,
        &[
            "--tokens",
            "timeout-token",
            "--header-timeout",
            "1",
            "--request-timeout",
            "2",
        ],
    )
    .await;
    let mut half_open = Vec::new();
    for _ in 0..300 {
        let mut s = tokio::net::TcpStream::connect(&api.addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Partial: ")
            .await
            .unwrap();
        half_open.push(s);
    }
    // The server still serves others while they hang.
    let (s, _, _) = http(&api.addr, "GET", "/healthz", &[], b"").await.unwrap();
    assert_eq!(s, 200);
    let start = Instant::now();
    for s in &mut half_open {
        assert!(
            closed_within(s, Duration::from_secs(10)).await,
            "a half-open connection is still open after {:?}",
            start.elapsed()
        );
    }
    assert!(start.elapsed() < Duration::from_secs(10));

    // Keep-alive: one full request, then silence.
    let mut s = tokio::net::TcpStream::connect(&api.addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 512];
    let n = s.read(&mut first).await.unwrap();
    assert!(
        String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&first[..n])
    );
    let idle = Instant::now();
    assert!(closed_within(&mut s, Duration::from_secs(10)).await);
    assert!(
        idle.elapsed() >= Duration::from_millis(900),
        "closed before the timeout: {:?}",
        idle.elapsed()
    );

    // A catalog body that never completes: 408 after the request timeout.
    let mut s = tokio::net::TcpStream::connect(&api.addr).await.unwrap();
    s.write_all(
        b"POST /v1/batches HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer timeout-token\r\n\
          Content-Type: application/x-ndjson\r\nContent-Length: 1000\r\n\r\n{\"prompt\"",
    )
    .await
    .unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    assert!(started.elapsed() >= Duration::from_millis(1900));
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM batches")
        .fetch_one(&stack.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

fn tokens_file() -> serde_json::Value {
    let reader_sha: String = {
        use sha2::Digest;
        sha2::Sha256::digest(b"reader-secret")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    serde_json::json!({"tokens": [
        {"id": "alice", "secret": "alice-secret", "scopes": ["submit", "read"],
         "max_concurrent_jobs": 3, "priority": {"min": 0, "max": 5},
         "rate_limit": {"per_second": 1000, "burst": 1000}},
        {"id": "bob", "secret": "bob-secret", "scopes": ["submit", "read"],
         "rate_limit": {"per_second": 1000, "burst": 1000}},
        {"id": "dash", "sha256": reader_sha, "scopes": ["read"]},
        {"id": "ops", "secret": "ops-secret", "scopes": ["admin"],
         "rate_limit": {"per_second": 0, "burst": 1}},
        {"id": "slow", "secret": "slow-secret", "scopes": ["read"],
         "rate_limit": {"per_second": 1, "burst": 2}},
    ]})
}

const ALICE: &str = "alice-secret";
const BOB: &str = "bob-secret";
const OPS: &str = "ops-secret";

fn request(prompt: &str, extra: serde_json::Value) -> String {
    let mut r = serde_json::json!({"prompt": prompt, "duration_seconds": 1, "tracks": ["drums"]});
    if let (Some(o), Some(e)) = (r.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    r.to_string()
}

/// Scopes, ownership and limits from a tokens file (plain tokens alongside): a token sees,
/// streams and cancels only its own generations, batches and scenes, and locks only stems
/// it can read; idempotency keys and catalogs are per token; the admin sees everything,
/// CLI work included; a read-only token cannot submit; priorities outside the token's
/// range, submissions over its concurrent-job quota and requests over its rate are refused
/// with the reason (422 / 429 with Retry-After). (Before: any token read and cancelled any
/// generation, priority 1,000 was anyone's, and there were no quotas or rate limits.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_have_scopes_owners_quotas_priorities_and_rate_limits() {
    let stack = Stack::start().await.unwrap();
    let api = Api::with_tokens_file(&stack, &tokens_file(), &["--tokens", "plain-secret"]).await;

    // Ownership of generations.
    let a1 = api
        .call(
            ALICE,
            "POST",
            "/v1/generations",
            &request("techno a1", serde_json::json!({})),
        )
        .await;
    assert_eq!(a1.status, 202, "{a1:?}");
    let a1 = a1.id();
    for (method, path) in [
        ("GET", format!("/v1/generations/{a1}")),
        ("GET", format!("/v1/generations/{a1}/events")),
        ("DELETE", format!("/v1/generations/{a1}")),
    ] {
        let r = api.call(BOB, method, &path, "").await;
        assert_eq!(
            (r.status, r.code()),
            (404, "not_found"),
            "bob {method} {path}: {r:?}"
        );
        let r = api.call("plain-secret", method, &path, "").await;
        assert_eq!(r.status, 404, "plain token {method} {path}: {r:?}");
    }
    let (status,): (String,) = sqlx::query_as("SELECT status FROM generations WHERE id = $1")
        .bind(&a1)
        .fetch_one(&stack.pool)
        .await
        .unwrap();
    assert_eq!(status, "queued", "bob's cancel did nothing");
    let r = api
        .call(ALICE, "GET", &format!("/v1/generations/{a1}"), "")
        .await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("queued")));
    let r = api
        .call(OPS, "GET", &format!("/v1/generations/{a1}"), "")
        .await;
    assert_eq!(r.status, 200, "admin sees everyone's work");
    let (owner,): (Option<String>,) = sqlx::query_as("SELECT owner FROM generations WHERE id = $1")
        .bind(&a1)
        .fetch_one(&stack.pool)
        .await
        .unwrap();
    assert_eq!(owner.as_deref(), Some("alice"));

    // CLI work belongs to nobody: admin only.
    let cli = resonantgen_e2e::submit(&stack, &["house from the cli", "--duration", "1"])
        .await
        .unwrap();
    let r = api
        .call(ALICE, "GET", &format!("/v1/generations/{cli}"), "")
        .await;
    assert_eq!(r.status, 404, "{r:?}");
    let r = api
        .call(OPS, "GET", &format!("/v1/generations/{cli}"), "")
        .await;
    assert_eq!(r.status, 200, "{r:?}");

    // Plain tokens keep working on their own work.
    let p = api
        .call(
            "plain-secret",
            "POST",
            "/v1/generations",
            &request("plain", serde_json::json!({})),
        )
        .await;
    assert_eq!(p.status, 202, "{p:?}");
    let r = api
        .call(
            "plain-secret",
            "GET",
            &format!("/v1/generations/{}", p.id()),
            "",
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");

    // Scopes: the read-only token cannot submit or cancel.
    for (method, path, body) in [
        (
            "POST",
            "/v1/generations".to_string(),
            request("x", serde_json::json!({})),
        ),
        ("DELETE", format!("/v1/generations/{a1}"), String::new()),
    ] {
        let r = api.call("reader-secret", method, &path, &body).await;
        assert_eq!((r.status, r.code()), (403, "forbidden"), "{r:?}");
        assert!(r.message().contains("submit"), "{r:?}");
    }
    let r = api.call("reader-secret", "GET", "/v1/scenes", "").await;
    assert_eq!(r.status, 200, "{r:?}");

    // Priority range: alice may set 0–5, the admin up to 1000.
    let r = api
        .call(
            ALICE,
            "POST",
            "/v1/generations",
            &request("p", serde_json::json!({"priority": 1000})),
        )
        .await;
    assert_eq!((r.status, r.code()), (422, "invalid_request"), "{r:?}");
    assert!(r.message().contains("priority"), "{r:?}");
    assert_eq!(r.body["error"]["details"]["field"], "priority");
    let r = api
        .call(
            OPS,
            "POST",
            "/v1/generations",
            &request("p", serde_json::json!({"priority": 1000})),
        )
        .await;
    assert_eq!(r.status, 202, "{r:?}");
    let a2 = api
        .call(
            ALICE,
            "POST",
            "/v1/generations",
            &request(
                "p",
                serde_json::json!({"priority": 5, "idempotency_key": "k"}),
            ),
        )
        .await;
    assert_eq!(a2.status, 202, "{a2:?}");

    // Idempotency keys are per token: bob's "k" is his own generation.
    let b = api
        .call(
            BOB,
            "POST",
            "/v1/generations",
            &request(
                "p",
                serde_json::json!({"priority": 5, "idempotency_key": "k"}),
            ),
        )
        .await;
    assert_eq!(
        (b.status, b.body["existing"].as_bool()),
        (202, Some(false)),
        "{b:?}"
    );
    assert_ne!(b.id(), a2.id());

    // Locks only of readable work: bob cannot copy alice's stems.
    for uri in [
        format!("gen:{a1}/drums"),
        format!("generations/{a1}/stems/drums.wav"),
    ] {
        let body = serde_json::json!({"prompt": "steal", "tracks": ["bass"], "locked_tracks": {"drums": uri}});
        let r = api
            .call(BOB, "POST", "/v1/generations", &body.to_string())
            .await;
        // As if it did not exist: 404, naming the field.
        assert_eq!((r.status, r.code()), (404, "not_found"), "{uri}: {r:?}");
        assert!(r.message().contains("locked_tracks.drums"), "{r:?}");
    }

    // Quota: alice has 2 queued of 3. One more fits, the next does not (429, Retry-After);
    // re-submitting an existing key adds nothing and still answers.
    let a3 = api
        .call(
            ALICE,
            "POST",
            "/v1/generations",
            &request("a3", serde_json::json!({})),
        )
        .await;
    assert_eq!(a3.status, 202, "{a3:?}");
    let r = api
        .call(
            ALICE,
            "POST",
            "/v1/generations",
            &request("a4", serde_json::json!({})),
        )
        .await;
    assert_eq!((r.status, r.code()), (429, "quota_exceeded"), "{r:?}");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(retry >= 1);
    let r = api
        .call(
            ALICE,
            "POST",
            "/v1/generations",
            &request(
                "p",
                serde_json::json!({"priority": 5, "idempotency_key": "k"}),
            ),
        )
        .await;
    assert_eq!(
        (r.status, r.body["existing"].as_bool()),
        (200, Some(true)),
        "{r:?}"
    );
    // A batch larger than the whole quota can never fit: 422, nothing written.
    let batch = serde_json::json!({"requests": [
        {"prompt": "b1", "duration_seconds": 1}, {"prompt": "b2", "duration_seconds": 1},
        {"prompt": "b3", "duration_seconds": 1}, {"prompt": "b4", "duration_seconds": 1}]});
    let r = api
        .call(ALICE, "POST", "/v1/batches", &batch.to_string())
        .await;
    assert_eq!((r.status, r.code()), (422, "invalid_request"), "{r:?}");
    assert!(r.message().contains("at most 3"), "{r:?}");
    // Cancelling frees the quota.
    let r = api
        .call(ALICE, "DELETE", &format!("/v1/generations/{}", a3.id()), "")
        .await;
    assert_eq!(r.status, 202, "{r:?}");
    let small = serde_json::json!({"requests": [{"prompt": "b1", "duration_seconds": 1}]});
    let ab = api
        .call(ALICE, "POST", "/v1/batches", &small.to_string())
        .await;
    assert_eq!(ab.status, 202, "{ab:?}");
    let alice_batch = ab.body["batch"].as_str().unwrap().to_string();

    // Batches are per token: bob's identical catalog is his own batch; alice's is hidden.
    let bb = api
        .call(BOB, "POST", "/v1/batches", &small.to_string())
        .await;
    assert_eq!(
        (bb.status, bb.body["enqueued"].as_i64()),
        (202, Some(1)),
        "{bb:?}"
    );
    assert_ne!(bb.body["batch"], ab.body["batch"]);
    for path in [
        format!("/v1/batches/{alice_batch}"),
        format!("/v1/batches/{alice_batch}/results"),
    ] {
        let r = api.call(BOB, "GET", &path, "").await;
        assert_eq!(r.status, 404, "{path}: {r:?}");
        let r = api.call(ALICE, "GET", &path, "").await;
        assert_eq!(r.status, 200, "{path}: {r:?}");
    }

    // Rate limit: "slow" has bursts of 2 at 1/s.
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..3 {
        let r = api.call("slow-secret", "GET", "/v1/scenes", "").await;
        if r.status == 429 {
            assert_eq!(r.code(), "rate_limited");
            retry_after = r.header("retry-after");
        }
        statuses.push(r.status);
    }
    assert_eq!(statuses, vec![200, 200, 429]);
    assert_eq!(retry_after.as_deref(), Some("1"));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        api.call("slow-secret", "GET", "/v1/scenes", "")
            .await
            .status,
        200
    );

    // Scenes: alice's scene from alice's finished generation; bob sees none of it. (Her
    // queued a1 and b1 leave room for one more.)
    let r = api
        .call(ALICE, "DELETE", &format!("/v1/generations/{}", a2.id()), "")
        .await;
    assert_eq!(r.status, 202, "{r:?}");
    let done = api
        .call(
            ALICE,
            "POST",
            "/v1/generations",
            &request("dark techno scene", serde_json::json!({"seed": 3})),
        )
        .await;
    assert_eq!(done.status, 202, "{done:?}");
    let done = done.id();
    // Finish everything queued (a few 1 s drum renders).
    let worker = stack.worker(&["--drain", "--concurrency", "2"]).unwrap();
    stack.wait_terminal(&done, WAIT).await.unwrap();
    worker.wait(WAIT).await.unwrap();
    let scene = serde_json::json!({"name": "alice-scene", "generation_id": done}).to_string();
    let r = api
        .call(
            BOB,
            "POST",
            "/v1/scenes",
            &scene.replace("alice-scene", "bob-scene"),
        )
        .await;
    assert_eq!(r.status, 404, "bob cannot save alice's generation: {r:?}");
    let r = api.call(ALICE, "POST", "/v1/scenes", &scene).await;
    assert_eq!(r.status, 201, "{r:?}");
    for (method, path, body) in [
        ("GET", "/v1/scenes/alice-scene", ""),
        ("DELETE", "/v1/scenes/alice-scene", ""),
        (
            "POST",
            "/v1/scenes/alice-scene/generations",
            r#"{"keep": ["drums"]}"#,
        ),
    ] {
        let r = api.call(BOB, method, path, body).await;
        assert_eq!(r.status, 404, "bob {method} {path}: {r:?}");
    }
    let r = api.call(BOB, "GET", "/v1/scenes", "").await;
    assert_eq!(r.body["scenes"].as_array().map(Vec::len), Some(0), "{r:?}");
    let r = api.call(ALICE, "GET", "/v1/scenes", "").await;
    assert_eq!(r.body["scenes"].as_array().map(Vec::len), Some(1), "{r:?}");
    let r = api.call(OPS, "GET", "/v1/scenes/alice-scene", "").await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = api
        .call(ALICE, "DELETE", "/v1/scenes/alice-scene", "")
        .await;
    assert_eq!(r.status, 204, "{r:?}");
}

/// A bad tokens file stops the server at start with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_tokens_file_is_refused_at_start() {
    let stack = Stack::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    std::fs::write(
        &path,
        r#"{"tokens": [{"id": "a", "secret": "x", "scopes": ["root"]}]}"#,
    )
    .unwrap();
    let out = stack
        .cli(&[
            "serve",
            "--listen",
            "127.0.0.1:1",
            "--tokens-file",
            path.to_str().unwrap(),
        ])
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tokens file") && err.contains("root"), "{err}");
}

/// 405s carry the JSON error body and the Allow header; unknown routes stay 404 JSON.
/// (Before: 405 with an empty body.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn method_not_allowed_is_json_with_allow() {
    let stack = Stack::start().await.unwrap();
    let api = Api::start(&stack, &["--tokens", "t405"]).await;
    for (method, path, allowed) in [
        ("PUT", "/v1/generations", "POST"),
        (
            "PATCH",
            "/v1/generations/01M8F9MYTCA9DADJ0QYYRVF5ZB",
            "DELETE",
        ),
        ("POST", "/healthz", "GET"),
        ("DELETE", "/metrics", "GET"),
    ] {
        let r = api.call("t405", method, path, "").await;
        assert_eq!(
            (r.status, r.code()),
            (405, "method_not_allowed"),
            "{method} {path}: {r:?}"
        );
        let allow = r.header("allow").unwrap_or_default();
        assert!(allow.contains(allowed), "{method} {path}: Allow {allow:?}");
        assert!(r.message().contains(method), "{r:?}");
    }
    let r = api.call("t405", "GET", "/v2/nothing", "").await;
    assert_eq!((r.status, r.code()), (404, "not_found"));
}

/// While the database is down, routes answer 503 `unavailable` with Retry-After (not 500
/// with the driver's text), and /healthz says only `{"status": "unavailable"}`; when it is
/// back, everything answers again. (Before: 500 with "database: …", and a /healthz body
/// naming the database and its error.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_down_is_503_without_details() {
    let mut cluster = TempCluster::start().await.unwrap();
    let stack = Stack::start_in(&cluster).await.unwrap();
    let api = Api::start(&stack, &["--tokens", "db-token", "--rate-limit", "0"]).await;
    let g = api
        .call(
            "db-token",
            "POST",
            "/v1/generations",
            &request("before", serde_json::json!({})),
        )
        .await;
    assert_eq!(g.status, 202, "{g:?}");
    let id = g.id();
    cluster.stop().await.unwrap();

    let (s, head, body) = http(&api.addr, "GET", "/healthz", &[], b"").await.unwrap();
    assert_eq!(s, 503, "{head}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        serde_json::json!({"status": "unavailable"})
    );
    for (method, path, body) in [
        ("GET", format!("/v1/generations/{id}"), String::new()),
        ("DELETE", format!("/v1/generations/{id}"), String::new()),
        (
            "POST",
            "/v1/generations".to_string(),
            request("during", serde_json::json!({})),
        ),
        (
            "GET",
            "/v1/batches/01M8F9MYTCA9DADJ0QYYRVF5ZB".to_string(),
            String::new(),
        ),
        ("GET", "/v1/scenes".to_string(), String::new()),
    ] {
        let r = api.call("db-token", method, &path, &body).await;
        assert_eq!(
            (r.status, r.code()),
            (503, "unavailable"),
            "{method} {path}: {r:?}"
        );
        assert!(r.header("retry-after").is_some(), "{r:?}");
        let text = r.body.to_string().to_lowercase();
        for leak in ["database:", "connection", "postgres", "127.0.0.1", "sqlx"] {
            assert!(
                !text.contains(leak),
                "{method} {path} leaks {leak:?}: {text}"
            );
        }
    }

    cluster.start_server().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = api
            .call("db-token", "GET", &format!("/v1/generations/{id}"), "")
            .await;
        if r.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "not back: {r:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (s, _, _) = http(&api.addr, "GET", "/healthz", &[], b"").await.unwrap();
    assert_eq!(s, 200);
}

/// The served document describes what the server does: errors of scene routes, the
/// prompt's bounds, the SSE stream as text/event-stream with one event's schema beside it,
/// 401/403/429/503 on authenticated routes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_exact_about_errors_and_streams() {
    let stack = Stack::start().await.unwrap();
    let api = Api::start(&stack, &["--tokens", "doc-token"]).await;
    let (s, _, body) = http(&api.addr, "GET", "/v1/openapi.json", &[], b"")
        .await
        .unwrap();
    assert_eq!(s, 200);
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    let op = |path: &str, method: &str| doc["paths"][path][method].clone();
    for (path, method) in [
        ("/v1/scenes", "post"),
        ("/v1/scenes/{name}/generations", "post"),
    ] {
        for code in ["400", "415", "413", "422", "401", "403", "429", "503"] {
            assert!(
                op(path, method)["responses"][code].is_object(),
                "{method} {path} {code}"
            );
        }
    }
    let prompt = &doc["components"]["schemas"]["GenerationRequest"]["properties"]["prompt"];
    assert_eq!(
        (prompt["minLength"].as_u64(), prompt["maxLength"].as_u64()),
        (Some(1), Some(4096))
    );
    let sse = &op("/v1/generations/{id}/events", "get")["responses"]["200"]["content"]["text/event-stream"];
    assert_eq!(sse["schema"]["type"], "string");
    assert_eq!(sse["x-event-schema"]["$ref"], "#/components/schemas/Event");
    assert!(doc["components"]["schemas"]["Event"]["oneOf"].is_array());
}
