//! Regression tests of issue 13's store and language items against the real binaries, a real
//! Postgres and a real local-folder store (or the S3 server): the local store refuses to
//! follow symbolic links for reads (a planted locked stem) and writes (a linked
//! `generations/<id>`); responses and the API name objects by store-relative `store:` URIs,
//! never server paths, and those URIs lock again; `s3://` locks on buckets the store cannot
//! read, and requests that leave nothing to generate, are refused at submission (CLI and API)
//! naming the field; contradictions in a prompt reach the response's conflicts.

use resonantgen_core::response::GenerationResponse;
use resonantgen_core::{GenerationStatus, TrackType};
use resonantgen_e2e::{Stack, api_request, free_port, submit, wait_api_up};
use std::path::Path;
use std::time::Duration;
use tokio::process::Child;

const WAIT: Duration = Duration::from_secs(300);
const TOKEN: &str = "hardening-store-token-0123";

/// A short valid stereo WAV (a quiet tone).
fn tone(frames: usize) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut c = std::io::Cursor::new(Vec::new());
    let mut w = hound::WavWriter::new(&mut c, spec).unwrap();
    for i in 0..frames * 2 {
        w.write_sample(((i as f32 * 0.01).sin() * 8000.0) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
    c.into_inner()
}

/// The CLI on the local store; returns stdout, or the stderr when it failed.
async fn local_cli(stack: &Stack, store: &Path, args: &[&str]) -> Result<String, String> {
    let out = stack
        .local_command("resonantgen", store)
        .args(args)
        .output()
        .await
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).to_string())
    }
}

async fn local_submit(stack: &Stack, store: &Path, args: &[&str]) -> String {
    let mut all = vec!["submit"];
    all.extend_from_slice(args);
    let out = local_cli(stack, store, &all).await.unwrap();
    out.split_whitespace().next().unwrap().to_string()
}

/// A `--drain` worker on the local store, to completion.
async fn local_drain(stack: &Stack, store: &Path) {
    let mut worker: Child = stack
        .local_command("resonantgen-worker", store)
        .args(["--drain", "--metrics-addr", "off"])
        .spawn()
        .unwrap();
    let status = tokio::time::timeout(WAIT, worker.wait())
        .await
        .expect("the drain worker exits")
        .unwrap();
    assert!(status.success(), "worker: {status}");
}

async fn response(stack: &Stack, id: &str) -> GenerationResponse {
    let row = stack.wait_terminal(id, WAIT).await.unwrap();
    assert_eq!(
        row.status,
        GenerationStatus::Succeeded,
        "{id}: {:?}",
        row.error
    );
    row.decode_response().unwrap().unwrap()
}

/// Every object URI of a response.
fn uris(r: &GenerationResponse) -> Vec<String> {
    let mut out = vec![r.mix.audio.uri.clone()];
    for t in r.tracks.values() {
        out.push(t.audio.uri.clone());
        out.extend(t.channels.values().map(|o| o.uri.clone()));
        out.extend(t.midi.iter().map(|o| o.uri.clone()));
    }
    out
}

/// Waits for `resonantgen serve` on `addr`.
async fn api_call(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let ct = (!body.is_empty()).then_some("application/json");
    let (status, _, text) = api_request(addr, TOKEN, method, path, ct, body.as_bytes())
        .await
        .unwrap();
    (status, text)
}

async fn enqueued(stack: &Stack) -> (i64, i64) {
    let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM generations")
        .fetch_one(&stack.pool)
        .await
        .unwrap();
    let (jobs,): (i64,) = sqlx::query_as("SELECT count(*) FROM apalis.jobs")
        .fetch_one(&stack.pool)
        .await
        .unwrap();
    (rows, jobs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_store_refuses_links_and_names_objects_by_store_uris() {
    let stack = Stack::start().await.unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let store = scratch.path().join("store");
    let outside = scratch.path().join("outside");
    std::fs::create_dir_all(store.join("uploads")).unwrap();
    std::fs::create_dir_all(outside.join("written")).unwrap();
    // A file outside the store, and a link to it planted inside.
    let secret = tone(22_050);
    std::fs::write(outside.join("secret.wav"), &secret).unwrap();
    std::os::unix::fs::symlink(
        outside.join("secret.wav"),
        store.join("uploads/planted.wav"),
    )
    .unwrap();
    // A real upload beside it, to show a store key still locks.
    let upload = tone(44_100);
    std::fs::write(store.join("uploads/loop.wav"), &upload).unwrap();

    // A contradicting prompt: the response's conflicts must name both sides (item 9).
    let plain = local_submit(
        &stack,
        &store,
        &[
            "techno in A minor in C major at 120 bpm at 140 bpm",
            "--duration",
            "2",
        ],
    )
    .await;
    let planted = local_submit(
        &stack,
        &store,
        &[
            "techno",
            "--duration",
            "2",
            "--lock",
            "drums=uploads/planted.wav",
        ],
    )
    .await;
    let escaped = local_submit(&stack, &store, &["techno", "--duration", "2"]).await;
    // The output folder of `escaped` is a link out of the store before any worker runs.
    std::fs::create_dir_all(store.join("generations")).unwrap();
    std::os::unix::fs::symlink(
        outside.join("written"),
        store.join(format!("generations/{escaped}")),
    )
    .unwrap();
    local_drain(&stack, &store).await;

    // Reads through a link are refused: the job fails once, with the reason, and the outside
    // file is not copied into any output.
    let row = stack.wait_terminal(&planted, WAIT).await.unwrap();
    assert_eq!(row.status, GenerationStatus::Failed);
    let err = row.error.unwrap_or_default();
    assert!(
        err.contains("uploads/planted.wav") && err.contains("symbolic link"),
        "{err}"
    );
    assert_eq!(row.attempts, 1, "a refused path is not retried");
    assert!(!store.join(format!("generations/{planted}")).exists());

    // Writes through a linked generations/<id> are refused: nothing lands outside.
    let row = stack.wait_terminal(&escaped, WAIT).await.unwrap();
    assert_eq!(row.status, GenerationStatus::Failed);
    let err = row.error.unwrap_or_default();
    assert!(
        err.contains(&format!("generations/{escaped}")) && err.contains("symbolic link"),
        "{err}"
    );
    assert_eq!(row.attempts, 1);
    assert_eq!(
        std::fs::read_dir(outside.join("written")).unwrap().count(),
        0,
        "the worker wrote outside the store"
    );

    // A normal job: every URI is store-relative, none names the server's folder.
    let r = response(&stack, &plain).await;
    let root = store.canonicalize().unwrap().display().to_string();
    for uri in uris(&r) {
        assert!(
            uri.starts_with(&format!("store:generations/{plain}/")),
            "{uri}"
        );
        assert!(!uri.contains(&root) && !uri.contains("file:"), "{uri}");
    }
    let c = &r.context.conflicts;
    assert!(
        c.iter().any(|n| n.contains("120 bpm")
            && n.contains("140 bpm")
            && n.contains("using the first, 120 bpm")),
        "{c:?}"
    );
    assert!(
        c.iter().any(|n| n.contains("A minor")
            && n.contains("C major")
            && n.contains("using the first, A minor")),
        "{c:?}"
    );
    assert_eq!(r.context.tempo_bpm, 120.0);

    // `summary` prints the same URIs; `fetch` still downloads every object.
    let summary = local_cli(&stack, &store, &["summary", &plain])
        .await
        .unwrap();
    assert!(summary.contains(&format!("store:generations/{plain}/mix.wav")));
    assert!(!summary.contains(&root), "{summary}");
    let fetched = scratch.path().join("fetched");
    local_cli(
        &stack,
        &store,
        &["fetch", &plain, "-o", &fetched.display().to_string()],
    )
    .await
    .unwrap();
    let mix = std::fs::read(fetched.join("mix.wav")).unwrap();
    assert_eq!(
        mix,
        std::fs::read(store.join(format!("generations/{plain}/mix.wav"))).unwrap()
    );

    // The API shows the same store-relative URIs (no server path anywhere in the body).
    let port = free_port().unwrap();
    let addr = format!("127.0.0.1:{port}");
    // The generation was submitted with the CLI (no owner): only an admin token sees it.
    let tokens = tempfile::tempdir().unwrap();
    let tokens_file = tokens.path().join("tokens.json");
    std::fs::write(
        &tokens_file,
        serde_json::json!({"tokens": [{"id": "ops", "secret": TOKEN, "scopes": ["admin"]}]})
            .to_string(),
    )
    .unwrap();
    let _api = stack
        .local_command("resonantgen", &store)
        .args(["serve", "--listen", &addr, "--tokens-file"])
        .arg(&tokens_file)
        .env_remove("RESONANTGEN_API_TOKENS")
        .spawn()
        .unwrap();
    wait_api_up(&addr).await.unwrap();
    let (status, body) = api_call(&addr, "GET", &format!("/v1/generations/{plain}"), "").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&format!("store:generations/{plain}/mix.wav")));
    assert!(!body.contains(&root), "the API exposes the store folder");

    // A response URI locks again, as do store keys and gen: locks.
    let drums_uri = r
        .tracks
        .iter()
        .find(|(t, _)| matches!(t, TrackType::Drums))
        .unwrap()
        .1;
    let again = local_submit(
        &stack,
        &store,
        &[
            "techno",
            "--duration",
            "2",
            "--lock",
            &format!("drums={}", drums_uri.audio.uri),
            "--lock",
            &format!("bass=gen:{plain}/bass"),
            "--lock",
            "harmony=uploads/loop.wav",
        ],
    )
    .await;
    local_drain(&stack, &store).await;
    let r2 = response(&stack, &again).await;
    let stem = |id: &str, track: &str| {
        std::fs::read(store.join(format!("generations/{id}/stems/{track}.wav"))).unwrap()
    };
    assert_eq!(stem(&again, "drums"), stem(&plain, "drums"));
    assert_eq!(stem(&again, "bass"), stem(&plain, "bass"));
    assert_eq!(stem(&again, "harmony"), upload);
    assert!(r2.tracks.values().filter(|t| t.locked).count() == 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_buckets_and_empty_requests_are_refused_at_submission() {
    let stack = Stack::start().await.unwrap();

    // CLI: a bucket that is neither the store's nor allowed; the store's own bucket passes.
    let out = stack
        .cli(&[
            "submit",
            "techno",
            "--lock",
            "drums=s3://other-bucket/loop.wav",
        ])
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "accepted a foreign bucket");
    assert!(
        stderr.contains("locked_tracks.drums") && stderr.contains("other-bucket"),
        "{stderr}"
    );
    // Nothing to generate: the prompt leaves every track out.
    let out = stack
        .cli(&["submit", "no drums no bass no harmony no melody"])
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a prompt with nothing to generate was accepted"
    );
    assert!(
        stderr.contains("prompt: ") && stderr.contains("nothing to generate"),
        "{stderr}"
    );
    // A local-store deployment cannot read any s3:// object.
    let scratch = tempfile::tempdir().unwrap();
    let err = local_cli(
        &stack,
        scratch.path(),
        &[
            "submit",
            "techno",
            "--lock",
            "bass=s3://resonantgen-test/a.wav",
        ],
    )
    .await
    .unwrap_err();
    assert!(
        err.contains("locked_tracks.bass") && err.contains("local folder"),
        "{err}"
    );
    assert_eq!(enqueued(&stack).await, (0, 0), "nothing may be enqueued");

    // The API: 422 naming the field, nothing enqueued.
    let port = free_port().unwrap();
    let addr = format!("127.0.0.1:{port}");
    let _api = stack
        .serve(&["--listen", &addr, "--tokens", TOKEN])
        .unwrap();
    wait_api_up(&addr).await.unwrap();
    for (body, field) in [
        (
            r#"{"prompt": "techno", "locked_tracks": {"drums": "s3://other-bucket/loop.wav"}}"#,
            "locked_tracks.drums",
        ),
        (
            r#"{"prompt": "no drums no bass no harmony no melody"}"#,
            "prompt",
        ),
        (r#"{"prompt": "techno", "tracks": []}"#, "tracks"),
    ] {
        let (status, text) = api_call(&addr, "POST", "/v1/generations", body).await;
        assert_eq!(status, 422, "{body}: {text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let message = v["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(field), "{body}: {text}");
        assert_eq!(v["error"]["code"], "invalid_request", "{text}");
    }
    assert_eq!(enqueued(&stack).await, (0, 0), "nothing may be enqueued");

    // The store's own bucket, and an allow-listed one, are accepted.
    submit(
        &stack,
        &["techno", "--lock", "drums=s3://resonantgen-test/loop.wav"],
    )
    .await
    .unwrap();
    let out = stack
        .cli_env(
            &[
                "submit",
                "techno",
                "--lock",
                "drums=s3://other-bucket/loop.wav",
            ],
            &[("RESONANTGEN_S3_ALLOWED_BUCKETS", "other-bucket")],
        )
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(enqueued(&stack).await, (2, 2));
}
