//! Input hardening (issue 13, items 2, 3, 7's idempotency conflict and 8's ULID aliasing,
//! JSONL media types, prompt length and CSV injection) against the real `resonantgen serve`
//! and CLI processes on a real Postgres: unstorable text is a 4xx naming the field at every
//! edge, catalogs are all or nothing, error reports are bounded, an idempotency key reused
//! with another request is a 409, ids parse strictly. No test here renders: each checks
//! what the edge answers and what the database holds afterwards.

use resonantgen_e2e::{ApiServer, Stack};

const TOKEN: &str = "hardening-token-0123456789";

struct Api(ApiServer);

impl Api {
    async fn start(stack: &Stack) -> Api {
        Api(ApiServer::start(stack, &["--tokens", TOKEN]).await.unwrap())
    }

    /// One call with a body of `content_type`; returns the status, the JSON body (Null when
    /// not JSON) and the raw body.
    async fn send(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> (u16, serde_json::Value, String) {
        let ct = (!content_type.is_empty()).then_some(content_type);
        let (status, _, text) = self.0.request(TOKEN, method, path, ct, body).await.unwrap();
        let v = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        (status, v, text)
    }

    async fn json(&self, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
        let ct = if body.is_empty() {
            ""
        } else {
            "application/json"
        };
        let (s, v, _) = self.send(method, path, ct, body.as_bytes()).await;
        (s, v)
    }
}

fn code(v: &serde_json::Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

/// The start of a long text, for failure messages.
fn head(s: &str) -> String {
    s.chars().take(2000).collect()
}

fn message(v: &serde_json::Value) -> &str {
    v["error"]["message"].as_str().unwrap_or("")
}

async fn count(stack: &Stack, sql: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&stack.pool)
        .await
        .unwrap();
    n
}

/// Generations, apalis tasks and batches in the database.
async fn rows(stack: &Stack) -> (i64, i64, i64) {
    (
        count(stack, "SELECT count(*) FROM generations").await,
        count(stack, "SELECT count(*) FROM apalis.jobs").await,
        count(stack, "SELECT count(*) FROM batches").await,
    )
}

/// A 4xx that is ours (a JSON error with a code), not a database error passed through.
fn assert_clean_4xx(what: &str, status: u16, raw: &str) {
    assert!((400..500).contains(&status), "{what}: {status} {raw}");
    let lower = raw.to_ascii_lowercase();
    for leak in [
        "database",
        "invalid byte sequence",
        "sqlx",
        "0x00",
        "unsupported unicode",
    ] {
        assert!(!lower.contains(leak), "{what}: leaks '{leak}': {raw}");
    }
}

/// Item 2: a NUL (raw or as `\u0000`) in any stored text — request fields, lock URIs and
/// their keys, unknown keys, scene fields, batch names, query and path parameters — is a
/// 4xx naming the field; nothing is written. Before: 500 with the raw database error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_in_any_text_is_a_4xx_naming_the_field_and_stores_nothing() {
    let stack = Stack::start().await.unwrap();
    let api = Api::start(&stack).await;

    let bodies = [
        (r#"{"prompt": "dark\u0000techno"}"#, "prompt"),
        (
            r#"{"prompt": "techno", "idempotency_key": "k\u0000"}"#,
            "idempotency_key",
        ),
        (r#"{"prompt": "techno", "key": "A\u0000 minor"}"#, "key"),
        (
            r#"{"prompt": "techno", "locked_tracks": {"drums": "up\u0000/a.wav"}}"#,
            "locked_tracks.drums",
        ),
        (
            r#"{"prompt": "techno", "locked_tracks": {"dr\u0000ums": "a.wav"}}"#,
            "key \"dr\\0ums\" of locked_tracks",
        ),
        (r#"{"prompt": "techno", "\u0000": 1}"#, "key \"\\0\""),
    ];
    for (body, field) in bodies {
        let (s, v) = api.json("POST", "/v1/generations", body).await;
        assert_eq!((s, code(&v)), (422, "invalid_request"), "{body}: {v}");
        assert!(
            message(&v).starts_with(field) && message(&v).contains("NUL"),
            "{body}: names {field}: {v}"
        );
    }

    // Scenes: the name and the description of a save, the prompt of a new generation.
    for (path, body, field) in [
        (
            "/v1/scenes",
            r#"{"name": "n\u0000", "generation_id": "01M8F9MYTCA9DADJ0QYYRVF5ZB"}"#,
            "name",
        ),
        (
            "/v1/scenes",
            r#"{"name": "ok", "generation_id": "01M8F9MYTCA9DADJ0QYYRVF5ZB", "description": "d\u0000"}"#,
            "description",
        ),
        (
            "/v1/scenes/night/generations",
            r#"{"prompt": "p\u0000"}"#,
            "prompt",
        ),
    ] {
        let (s, v) = api.json("POST", path, body).await;
        assert_eq!((s, code(&v)), (422, "invalid_request"), "{body}: {v}");
        assert!(message(&v).starts_with(field), "{body}: names {field}: {v}");
    }

    // Path parameters: 400 naming the parameter (or 404), never 500.
    for (method, path) in [
        ("GET", "/v1/batches/%00"),
        ("GET", "/v1/batches/%00/results"),
        ("GET", "/v1/scenes/%00"),
        ("DELETE", "/v1/scenes/%00"),
        ("GET", "/v1/generations/%00"),
        ("DELETE", "/v1/generations/%00"),
        ("GET", "/v1/generations/%00/events"),
        ("GET", "/v1/scenes/a%00b"),
    ] {
        let (s, v, raw) = api.send(method, path, "", b"").await;
        assert_clean_4xx(path, s, &raw);
        if s == 400 {
            assert!(message(&v).contains("path parameter"), "{path}: {v}");
        }
    }
    let (s, v) = api
        .json("POST", "/v1/scenes/%00/generations", r#"{"prompt": "x"}"#)
        .await;
    assert_eq!(s, 400, "{v}");

    // Batches: the envelope's name, a catalog line's external id, the ?name= of a bare
    // catalog, a CSV cell.
    let (s, v) = api
        .json(
            "POST",
            "/v1/batches",
            r#"{"name": "spring\u0000", "requests": [{"prompt": "techno"}]}"#,
        )
        .await;
    assert_eq!((s, code(&v)), (422, "invalid_request"), "{v}");
    assert!(message(&v).starts_with("name contains a NUL"), "{v}");
    let (s, v, raw) = api
        .send(
            "POST",
            "/v1/batches?name=sp%00ring",
            "application/x-ndjson",
            br#"{"prompt": "techno"}"#,
        )
        .await;
    assert_clean_4xx("?name=%00", s, &raw);
    assert!(message(&v).contains("'name'"), "{v}");
    let (s, v) = api
        .json(
            "POST",
            "/v1/batches",
            r#"{"requests": [{"prompt": "techno", "external_id": "e\u0000"}]}"#,
        )
        .await;
    assert_eq!(s, 422, "{v}");
    let invalid = &v["error"]["details"]["invalid"][0];
    assert_eq!(invalid["line"], 1, "{v}");
    assert_eq!(invalid["kind"], "unstorable_text", "{v}");
    assert!(
        invalid["reason"]
            .as_str()
            .unwrap()
            .starts_with("external_id"),
        "{v}"
    );
    let (s, v, _) = api
        .send(
            "POST",
            "/v1/batches",
            "text/csv",
            b"prompt,external_id\ntechno,a\nhouse,b\0\n",
        )
        .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["details"]["invalid"][0]["line"], 3, "{v}");

    // The CLI: a catalog file with a NUL in a cell is refused naming the line and column.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nul.csv");
    std::fs::write(&path, "prompt,external_id\ntechno,a\nhouse,b\0\n").unwrap();
    let out = stack.cli(&["batch", path.to_str().unwrap()]).await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("line 3: external_id contains a NUL"),
        "{stderr}"
    );

    assert_eq!(rows(&stack).await, (0, 0, 0), "nothing stored");
}

/// Item 2: a 1,001-line catalog whose line 1,001 holds a NUL is refused before the first
/// insert (before: the first 1,000 were enqueued, then a 500, and an orphan batch row);
/// a failure found only while inserting (an idempotency conflict on line 1,500 of 2,000,
/// past the first chunk) rolls back the whole catalog, batch row included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalogs_are_all_or_nothing() {
    let stack = Stack::start().await.unwrap();
    let api = Api::start(&stack).await;
    let line = |i: usize| format!(r#"{{"prompt": "techno take {i}", "seed": {i}}}"#);
    let mut lines: Vec<String> = (1..=1000).map(line).collect();
    lines.push(r#"{"prompt": "house \u0000 take 1001"}"#.to_string());
    let text = lines.join("\n");

    for ct in ["application/x-ndjson", "application/jsonl"] {
        let (s, v, raw) = api.send("POST", "/v1/batches", ct, text.as_bytes()).await;
        assert_clean_4xx(ct, s, &raw);
        assert_eq!(s, 422, "{v}");
        let details = &v["error"]["details"];
        assert_eq!(details["invalid_total"], 1, "{v}");
        assert_eq!(details["invalid"][0]["line"], 1001, "{v}");
        assert!(
            details["invalid"][0]["reason"]
                .as_str()
                .unwrap()
                .starts_with("prompt contains a NUL"),
            "{v}"
        );
        assert_eq!(rows(&stack).await, (0, 0, 0), "nothing left behind");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("catalog.jsonl");
    std::fs::write(&file, &text).unwrap();
    let out = stack.cli(&["batch", file.to_str().unwrap()]).await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("line 1001: prompt contains a NUL"),
        "{stderr}"
    );
    assert_eq!(rows(&stack).await, (0, 0, 0), "nothing left behind (CLI)");

    // skip_invalid: the 1,000 good lines, one batch of 1,000.
    let (s, v, _) = api
        .send(
            "POST",
            "/v1/batches?skip_invalid=true",
            "application/x-ndjson",
            text.as_bytes(),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    assert_eq!(
        (v["enqueued"].as_i64(), v["invalid_total"].as_i64()),
        (Some(1000), Some(1))
    );
    let total = count(
        &stack,
        "SELECT COALESCE(sum(total), 0)::bigint FROM batches",
    )
    .await;
    assert_eq!(rows(&stack).await, (1000, 1000, 1));
    assert_eq!(total, 1000);

    // A conflict found only at insert time, in the second chunk: nothing of this catalog
    // stays (its first 1,000 lines were inserted in the same transaction).
    let (s, v) = api
        .json(
            "POST",
            "/v1/generations",
            r#"{"prompt": "the first owner of the key", "idempotency_key": "taken"}"#,
        )
        .await;
    assert_eq!(s, 202, "{v}");
    let before = rows(&stack).await;
    let mut lines: Vec<String> = (2001..=4000).map(line).collect();
    lines[1499] = r#"{"prompt": "someone else", "idempotency_key": "taken"}"#.to_string();
    let (s, v, _) = api
        .send(
            "POST",
            "/v1/batches",
            "application/x-ndjson",
            lines.join("\n").as_bytes(),
        )
        .await;
    assert_eq!((s, code(&v)), (409, "idempotency_conflict"), "{v}");
    assert!(
        message(&v).starts_with("line 1500: idempotency_key 'taken'"),
        "{v}"
    );
    assert_eq!(rows(&stack).await, before, "the whole catalog rolled back");
}

/// Item 3: 100,000 garbage lines give a report of at most 100 listed lines plus counts by
/// reason, from the API and the CLI (before: one entry per line, ~860× the input).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_reports_are_bounded() {
    let stack = Stack::start().await.unwrap();
    let api = Api::start(&stack).await;
    let lines = 100_000;
    let text: String = (0..lines)
        .map(|i| match i % 4 {
            0 => "garbage\n".to_string(),
            1 => "[1, 2]\n".to_string(),
            2 => format!("{{\"prompt\": \"x{i}\", \"tempo\": 999}}\n"),
            _ => format!("{{\"prompt\": \"y{i}\", \"{}\": 1}}\n", "k".repeat(500)),
        })
        .collect();
    let (s, v, raw) = api
        .send(
            "POST",
            "/v1/batches",
            "application/x-ndjson",
            text.as_bytes(),
        )
        .await;
    assert_eq!(s, 422, "{}", head(&raw));
    let d = &v["error"]["details"];
    assert_eq!(d["invalid"].as_array().unwrap().len(), 100);
    assert_eq!(d["invalid_total"], lines);
    assert_eq!(d["invalid_unlisted"], lines - 100);
    assert_eq!(
        d["invalid_by_reason"],
        serde_json::json!({"not_json": 25_000, "not_an_object": 25_000, "tempo": 25_000, "not_a_request": 25_000})
    );
    assert!(
        raw.len() < 100 * 1024,
        "the report is bounded: {} bytes for {} input bytes",
        raw.len(),
        text.len()
    );
    // With skip_invalid the 202 carries the same bounded report.
    let mixed = format!("{text}{{\"prompt\": \"the one good line\"}}\n");
    let (s, v, raw) = api
        .send(
            "POST",
            "/v1/batches?skip_invalid=1",
            "application/x-ndjson",
            mixed.as_bytes(),
        )
        .await;
    assert_eq!(s, 202, "{}", head(&raw));
    assert_eq!(
        (v["enqueued"].as_i64(), v["invalid_total"].as_i64()),
        (Some(1), Some(lines as i64))
    );
    assert!(raw.len() < 100 * 1024, "{} bytes", raw.len());

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("garbage.jsonl");
    std::fs::write(&file, &text).unwrap();
    let out = stack.cli(&["batch", file.to_str().unwrap()]).await.unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let listed = stderr.lines().filter(|l| l.contains(": line ")).count();
    assert_eq!(listed, 100, "{}", head(&stderr));
    assert!(
        stderr.contains("99900 more invalid line(s) not listed"),
        "{stderr}"
    );
    assert!(stderr.contains("not_json 25000"), "{stderr}");
}

/// Item 7: the same idempotency key with the same request returns the generation (whatever
/// the JSON's field order or number form); with a different request it is a 409 naming the
/// field (before: 200 with the other request's generation). Catalogs' derived keys still
/// make a re-submission enqueue nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_key_with_another_request_is_a_conflict() {
    let stack = Stack::start().await.unwrap();
    let api = Api::start(&stack).await;
    let (s1, v1) = api
        .json(
            "POST",
            "/v1/generations",
            r#"{"prompt": "lofi", "duration_seconds": 30, "idempotency_key": "k-1"}"#,
        )
        .await;
    assert_eq!(s1, 202, "{v1}");
    let (s2, v2) = api
        .json(
            "POST",
            "/v1/generations",
            r#"{"idempotency_key": "k-1", "duration_seconds": 30.0, "prompt": "lofi"}"#,
        )
        .await;
    assert_eq!(
        (s2, &v2["id"], &v2["existing"]),
        (200, &v1["id"], &serde_json::json!(true))
    );
    let (s3, v3) = api
        .json(
            "POST",
            "/v1/generations",
            r#"{"prompt": "death metal", "duration_seconds": 30, "idempotency_key": "k-1"}"#,
        )
        .await;
    assert_eq!((s3, code(&v3)), (409, "idempotency_conflict"), "{v3}");
    assert_eq!(v3["error"]["details"]["field"], "idempotency_key");
    assert_eq!(v3["error"]["details"]["generation"], v1["id"]);
    assert!(message(&v3).contains("idempotency_key 'k-1'"), "{v3}");

    // The CLI says the same and exits non-zero. Its work has no owner, so its keys are a
    // namespace of their own (the API token's "k-1" is not the CLI's).
    let first = stack
        .cli(&["submit", "lofi", "--idempotency-key", "k-1"])
        .await
        .unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let out = stack
        .cli(&["submit", "jazz", "--idempotency-key", "k-1"])
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already used by generation"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The API's k-1 and the CLI's k-1.
    assert_eq!(count(&stack, "SELECT count(*) FROM generations").await, 2);

    // Catalog lines: derived keys — the same catalog again enqueues nothing.
    let catalog = "{\"prompt\": \"techno\"}\n{\"prompt\": \"house\", \"external_id\": \"h\"}\n";
    for (enqueued, existing) in [(2, 0), (0, 2)] {
        let (s, v, _) = api
            .send(
                "POST",
                "/v1/batches",
                "application/jsonl",
                catalog.as_bytes(),
            )
            .await;
        assert_eq!(s, 202, "{v}");
        assert_eq!(
            (v["enqueued"].as_i64(), v["existing"].as_i64()),
            (Some(enqueued), Some(existing)),
            "{v}"
        );
    }
    // Two lines of one catalog under one explicit key with different requests: refused.
    let (s, v, _) = api
        .send(
            "POST",
            "/v1/batches",
            "application/jsonl",
            b"{\"prompt\": \"a\", \"idempotency_key\": \"dup\"}\n{\"prompt\": \"b\", \"idempotency_key\": \"dup\"}\n",
        )
        .await;
    assert_eq!((s, code(&v)), (409, "idempotency_conflict"), "{v}");
    assert_eq!(v["error"]["details"]["line"], 2, "{v}");
    assert_eq!(count(&stack, "SELECT count(*) FROM generations").await, 4);
}

/// Item 8: ids parse strictly. `8…` decoded to the same id as `0…` (the first character
/// carries 3 bits), so another string named the same generation; now it names none, in
/// path parameters, CLI arguments and `gen:` lock URIs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ulids_whose_first_character_overflows_name_nothing() {
    let stack = Stack::start().await.unwrap();
    let api = Api::start(&stack).await;
    let (s, v) = api
        .json("POST", "/v1/generations", r#"{"prompt": "techno"}"#)
        .await;
    assert_eq!(s, 202, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    assert!(id.starts_with('0'), "{id}");
    let alias = format!("8{}", &id[1..]);
    assert_eq!(
        ulid::Ulid::from_string(&alias).unwrap().to_string(),
        id,
        "the alias the crate accepts"
    );
    let (s, _) = api.json("GET", &format!("/v1/generations/{id}"), "").await;
    assert_eq!(s, 200);
    for (method, path) in [
        ("GET", format!("/v1/generations/{alias}")),
        ("DELETE", format!("/v1/generations/{alias}")),
        ("GET", format!("/v1/generations/{alias}/events")),
    ] {
        let (s, v) = api.json(method, &path, "").await;
        assert_eq!((s, code(&v)), (404, "not_found"), "{method} {path}: {v}");
    }
    let (s, v) = api
        .json(
            "POST",
            "/v1/generations",
            &format!(r#"{{"prompt": "house", "locked_tracks": {{"drums": "gen:{alias}/drums"}}}}"#),
        )
        .await;
    assert_eq!((s, code(&v)), (422, "invalid_request"), "{v}");

    // Batch ids too.
    let (s, v, _) = api
        .send(
            "POST",
            "/v1/batches",
            "application/jsonl",
            br#"{"prompt": "dnb"}"#,
        )
        .await;
    assert_eq!(s, 202, "{v}");
    let batch = v["batch"].as_str().unwrap().to_string();
    let batch_alias = format!(
        "{}{}",
        (b'8' + (batch.as_bytes()[0] - b'0')) as char,
        &batch[1..]
    );
    let (s, _) = api.json("GET", &format!("/v1/batches/{batch}"), "").await;
    assert_eq!(s, 200);
    let (s, v) = api
        .json("GET", &format!("/v1/batches/{batch_alias}"), "")
        .await;
    assert_eq!((s, code(&v)), (404, "not_found"), "{v}");

    // The CLI.
    for args in [
        vec!["status", alias.as_str()],
        vec!["cancel", alias.as_str()],
        vec!["batch-status", batch_alias.as_str()],
    ] {
        let out = stack.cli(&args).await.unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr.contains("is not a ULID"), "{args:?}: {stderr}");
    }
    let out = stack.cli(&["status", &id]).await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (status,): (String,) = sqlx::query_as("SELECT status FROM generations WHERE id = $1")
        .bind(&id)
        .fetch_one(&stack.pool)
        .await
        .unwrap();
    assert_eq!(status, "queued", "the alias cancelled nothing");
}

/// Item 8: `application/jsonl`, `application/x-ndjson` and `application/x-jsonlines` are
/// JSONL catalogs (before: `application/jsonl` was taken for a JSON envelope and refused
/// as invalid JSON); other types are 415.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonl_media_types_are_catalogs() {
    let stack = Stack::start().await.unwrap();
    let api = Api::start(&stack).await;
    for (i, ct) in [
        "application/jsonl",
        "application/jsonl; charset=utf-8",
        "application/x-ndjson",
        "application/x-jsonlines",
    ]
    .iter()
    .enumerate()
    {
        let body = format!("{{\"prompt\": \"techno {i}\"}}\n{{\"prompt\": \"house {i}\"}}\n");
        let (s, v, _) = api.send("POST", "/v1/batches", ct, body.as_bytes()).await;
        assert_eq!(s, 202, "{ct}: {v}");
        assert_eq!(v["enqueued"], 2, "{ct}: {v}");
    }
    let (s, v, _) = api
        .send("POST", "/v1/batches", "application/jsonx", b"{}")
        .await;
    assert_eq!((s, code(&v)), (415, "unsupported_media_type"), "{v}");
    assert_eq!(count(&stack, "SELECT count(*) FROM generations").await, 8);
}

/// Item 8: the prompt limit counts characters, as the OpenAPI `maxLength` does: 4,096
/// two-byte characters (8,192 bytes) are accepted (before: "prompt is 8192 bytes"), 4,097
/// are not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_length_counts_characters() {
    let stack = Stack::start().await.unwrap();
    let api = Api::start(&stack).await;
    let body = |n: usize| serde_json::json!({ "prompt": "é".repeat(n) }).to_string();
    let (s, v) = api.json("POST", "/v1/generations", &body(4096)).await;
    assert_eq!(s, 202, "{v}");
    let (s, v) = api.json("POST", "/v1/generations", &body(4097)).await;
    assert_eq!((s, code(&v)), (422, "invalid_request"), "{v}");
    assert!(message(&v).contains("4097 characters"), "{v}");
}

/// Item 8: a CSV export escapes cells a spreadsheet would run (`=`, `+`, `-`, `@`, tab,
/// CR first) with a leading `'` (before: written as they came); numbers stay numbers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_export_escapes_formula_cells() {
    let stack = Stack::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("c.jsonl");
    let prompts = [
        "=HYPERLINK(\"http://evil.example\",\"x\")",
        "+1+cmd|' /C calc'!A0",
        "-2+3 techno",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "\t=1 house",
        "plain techno",
    ];
    let text: String = prompts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            serde_json::json!({"prompt": p, "external_id": format!("={i}+1"), "seed": i})
                .to_string()
                + "\n"
        })
        .collect();
    std::fs::write(&catalog, text).unwrap();
    let out = stack
        .cli(&["batch", catalog.to_str().unwrap(), "--json"])
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let batch = v["batch"]["batch_id"].as_str().unwrap().to_string();
    // Say one failed with an error quoting user text: the error column is escaped too.
    sqlx::query(
        "UPDATE generations SET status = 'failed', error = '=cmd|calc' WHERE external_id = '=5+1'",
    )
    .execute(&stack.pool)
    .await
    .unwrap();
    let export = dir.path().join("out.csv");
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
    assert_eq!(rows.len(), prompts.len());
    for r in &rows {
        for cell in r.iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "unescaped cell {cell:?} in {r:?}"
            );
        }
        assert!(r[col("external_id")].starts_with("'="), "{r:?}");
    }
    let exported: Vec<&str> = rows.iter().map(|r| &r[col("prompt")]).collect();
    for p in prompts {
        let expected = if p.starts_with(['=', '+', '-', '@', '\t']) {
            format!("'{p}")
        } else {
            p.to_string()
        };
        assert!(
            exported.contains(&expected.as_str()),
            "{expected:?} in {exported:?}"
        );
    }
    assert!(rows.iter().any(|r| &r[col("error")] == "'=cmd|calc"));
}
