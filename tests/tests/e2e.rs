//! The end-to-end path through real components: CLI → Postgres queue → worker process →
//! ONNX → stems + mix in S3 (s3s-fs over HTTP) → response row.

use resonantgen_core::audio::decode_wav;
use resonantgen_core::response::GenerationResponse;
use resonantgen_core::{GenerationStatus, TrackType};
use resonantgen_e2e::{Stack, free_port, http_get, submit};
use resonantgen_infra::store::{GenerationKeys, MAX_READ_BYTES};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(180);

fn drums() -> TrackType {
    TrackType::Drums
}

async fn response_of(stack: &Stack, id: &str) -> GenerationResponse {
    let row = stack.wait_terminal(id, WAIT).await.unwrap();
    assert_eq!(
        row.status,
        GenerationStatus::Succeeded,
        "error: {:?}",
        row.error
    );
    row.decode_response().unwrap().expect("response")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_render_store_record() {
    let stack = Stack::start().await.unwrap();
    let id = submit(
        &stack,
        &[
            "dark techno with driving bass at 128 bpm",
            "--duration",
            "8",
            "--seed",
            "7",
        ],
    )
    .await
    .unwrap();
    let metrics_addr = format!("127.0.0.1:{}", free_port().unwrap());
    let worker = stack
        .worker(&["--concurrency", "2", "--metrics-addr", &metrics_addr])
        .unwrap();
    let resp = response_of(&stack, &id).await;

    // The worker's Prometheus endpoint counts the job and times its stages. The response is
    // in Postgres a moment before the worker counts the job: scrape until it has (5 s).
    let mut metrics = String::new();
    for _ in 0..50 {
        metrics = http_get(&metrics_addr, "/metrics").await.unwrap();
        if metrics.contains("resonantgen_jobs_total{status=\"succeeded\"} 1") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        metrics.contains("resonantgen_jobs_total{status=\"succeeded\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("resonantgen_job_duration_seconds_count 1"),
        "{metrics}"
    );
    assert!(metrics.contains("resonantgen_stage_duration_seconds_bucket{stage=\"render\""));
    assert!(metrics.contains("resonantgen_object_bytes_total{direction=\"upload\"}"));
    // SIGTERM: a graceful exit.
    assert!(worker.stop().await.unwrap().success());

    // Every object of the layout is in S3.
    let store = stack.store();
    let keys = GenerationKeys::new(resp.id);
    let listed = store.list(&format!("{}/", keys.prefix())).await.unwrap();
    let mut expected = vec![keys.mix(), keys.response()];
    for t in TrackType::all() {
        expected.push(keys.stem(&t));
        expected.push(keys.midi(&t));
    }
    for ch in ["kick", "snare", "clap", "hats", "cymbals", "toms", "perc"] {
        expected.push(keys.channel(&drums(), ch));
    }
    expected.sort();
    assert_eq!(listed, expected);

    // Right length and tempo, real audio in every stem.
    assert_eq!(resp.context.tempo_bpm, 128.0);
    assert_eq!(resp.context.genre, "techno");
    // What the language layer understood travels with the result.
    assert_eq!(resp.parsed.moods, ["dark"]);
    let bass = TrackType::Bass;
    assert_eq!(resp.intent.tracks[&bass].pattern, "offbeat");
    assert_eq!(
        resp.intent.tracks[&bass].processing,
        ["distortion", "compression", "clipper"]
    );
    // ... and what played it.
    assert_eq!(
        resp.tracks[&bass].instrument.as_deref(),
        Some("synth acid bass")
    );
    assert_eq!(
        resp.tracks[&bass].processing,
        resp.intent.tracks[&bass].processing
    );
    for key in listed.iter().filter(|k| k.ends_with(".wav")) {
        let pcm = decode_wav(&store.get(key, MAX_READ_BYTES).await.unwrap()).unwrap();
        assert_eq!(pcm.frames(), 8 * 44_100, "{key}");
        assert_eq!(pcm.channels, 2);
        let peak = pcm.samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        // A drum channel may rest for a whole take (no clap in this groove); stems may not.
        let channel = key.contains("/stems/drums/");
        let essential = !channel || key.ends_with("kick.wav") || key.ends_with("hats.wav");
        assert!(!essential || peak > 0.01, "{key} is silent");
        assert!(peak <= 0.9, "{key} peaks at {peak}");
    }
    let measured = resp.qa.measured_tempo_bpm.expect("tempo measured");
    assert!(
        (measured - 128.0).abs() / 128.0 < 0.01,
        "measured {measured}"
    );
    assert!(resp.qa.flags.is_empty(), "{:?}", resp.qa.flags);
    assert!(
        (resp.mix.integrated_lufs + 14.0).abs() <= 1.0,
        "{} LUFS",
        resp.mix.integrated_lufs
    );
    assert!(
        resp.mix.true_peak_dbtp <= -1.0,
        "{} dBTP",
        resp.mix.true_peak_dbtp
    );
    assert!(resp.models.contains_key("drumgen"));
    let stage_names: Vec<&str> = resp.timings.iter().map(|s| s.stage.as_str()).collect();
    for s in ["parse", "generate", "render", "mix", "encode", "upload"] {
        assert!(stage_names.contains(&s), "{stage_names:?}");
    }
    // The stored response.json is the row's response.
    let json = store.get(&keys.response(), MAX_READ_BYTES).await.unwrap();
    let stored: GenerationResponse = serde_json::from_slice(&json).unwrap();
    assert_eq!(stored.id, resp.id);

    // `fetch` downloads the same layout.
    let out = tempfile::tempdir().unwrap();
    let fetched = stack
        .cli(&["fetch", &id, "-o", out.path().to_str().unwrap()])
        .await
        .unwrap();
    assert!(
        fetched.status.success(),
        "{}",
        String::from_utf8_lossy(&fetched.stderr)
    );
    assert!(out.path().join("stems/drums/kick.wav").is_file());
    assert!(out.path().join("midi/bass.mid").is_file());
    assert!(out.path().join("mix.wav").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_stems_stay_bit_identical() {
    let stack = Stack::start().await.unwrap();
    let store = stack.store();

    // A foreign loop: 24-bit mono at 48 kHz, uploaded by the user.
    let loop_wav = {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 48_000,
            bits_per_sample: 24,
            sample_format: hound::SampleFormat::Int,
        };
        let mut c = std::io::Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut c, spec).unwrap();
        for i in 0..48_000 * 4 {
            let t = (i % 24_000) as f32 / 48_000.0;
            let v = (2.0 * std::f32::consts::PI * 55.0 * t).sin() * (-t * 8.0).exp() * 0.7;
            w.write_sample((v * 8_388_607.0) as i32).unwrap();
        }
        w.finalize().unwrap();
        c.into_inner()
    };
    store
        .put("uploads/loop.wav", loop_wav.clone())
        .await
        .unwrap();

    let first = submit(
        &stack,
        &[
            "house groove",
            "--duration",
            "4",
            "--lock",
            "drums=uploads/loop.wav",
        ],
    )
    .await
    .unwrap();
    let worker = stack.worker(&["--concurrency", "2"]).unwrap();
    let resp = response_of(&stack, &first).await;
    let keys = GenerationKeys::new(resp.id);
    let kept = store
        .get(&keys.stem(&drums()), MAX_READ_BYTES)
        .await
        .unwrap();
    assert_eq!(kept, loop_wav, "locked stem must be byte-identical");
    let d = &resp.tracks[&drums()];
    assert!(d.locked);
    assert_eq!(d.source.as_deref(), Some("uploads/loop.wav"));
    assert_eq!(
        resp.context.sample_rate, 48_000,
        "output follows the locked stem's rate"
    );
    assert!(resp.tracks[&TrackType::Bass].events > 0);

    // Lock the bass of that generation: same bytes, and its tempo/key/chords are adopted.
    let bass = TrackType::Bass;
    let second = submit(
        &stack,
        &[
            "trance at 140 bpm",
            "--duration",
            "4",
            "--lock",
            &format!("bass=gen:{first}/bass"),
        ],
    )
    .await
    .unwrap();
    let resp2 = response_of(&stack, &second).await;
    worker.stop().await.unwrap();
    let a = store.get(&keys.stem(&bass), MAX_READ_BYTES).await.unwrap();
    let b = store
        .get(&GenerationKeys::new(resp2.id).stem(&bass), MAX_READ_BYTES)
        .await
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(resp2.context.key, resp.context.key);
    assert_eq!(
        resp2.context.chords[..resp.context.chords.len()],
        resp.context.chords[..]
    );
    assert!(
        resp2.tracks[&drums()].events > 0,
        "drums are generated this time"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_requests_are_rejected_at_submit() {
    let stack = Stack::start().await.unwrap();
    for (args, reason) in [
        (
            vec!["submit", "techno", "--tempo", "300"],
            "tempo 300 bpm is outside 40–240 bpm",
        ),
        (
            vec!["submit", "techno", "--duration", "0.2"],
            "duration 0.2 s is outside",
        ),
        (
            vec!["submit", "techno", "--lock", "drums=../etc/passwd"],
            "'.' or '..' segment",
        ),
        (
            vec!["submit", "techno", "--lock", "kazoo=uploads/a.wav"],
            "unknown track 'kazoo'",
        ),
        (
            vec!["submit", "techno", "--key", "H major"],
            "cannot read key 'H major'",
        ),
        (vec!["submit", "   "], "prompt is empty"),
    ] {
        let out = stack.cli(&args).await.unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
    }
    let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM generations")
        .fetch_one(&stack.pool)
        .await
        .unwrap();
    let (jobs,): (i64,) = sqlx::query_as("SELECT count(*) FROM apalis.jobs")
        .fetch_one(&stack.pool)
        .await
        .unwrap();
    assert_eq!((rows, jobs), (0, 0), "nothing may be enqueued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_locked_objects_fail_once_with_reason() {
    let stack = Stack::start().await.unwrap();
    let id = submit(
        &stack,
        &[
            "techno",
            "--duration",
            "2",
            "--lock",
            "drums=uploads/missing.wav",
        ],
    )
    .await
    .unwrap();
    // Submission refuses buckets its store configuration cannot read (hardening_store.rs);
    // a submitter whose allow-list is wider than the worker's still meets the worker's check.
    let out = stack
        .cli_env(
            &[
                "submit",
                "techno",
                "--duration",
                "2",
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
    let foreign = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    // Objects that exist but are not usable audio: garbage, a WAV cut mid-frame, one above
    // the worker's size cap.
    let store = stack.store();
    let tone = |frames: usize| {
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
    };
    let mut cut = tone(44_100);
    cut.truncate(cut.len() - 3);
    for (key, bytes) in [
        (
            "uploads/garbage.wav",
            b"ID3 this is an mp3, honest".to_vec(),
        ),
        ("uploads/cut.wav", cut),
        ("uploads/huge.wav", tone(200_000)),
    ] {
        store.put(key, bytes).await.unwrap();
    }
    let mut bad = Vec::new();
    for (key, reason) in [
        ("uploads/garbage.wav", "not usable audio"),
        ("uploads/cut.wav", "not usable audio"),
        ("uploads/huge.wav", "limit"),
    ] {
        let id = submit(
            &stack,
            &[
                "techno",
                "--duration",
                "2",
                "--lock",
                &format!("bass={key}"),
            ],
        )
        .await
        .unwrap();
        bad.push((id, key, reason));
    }
    let worker = stack
        .worker(&["--drain", "--max-lock-bytes", "500000"])
        .unwrap();
    let row = stack.wait_terminal(&id, WAIT).await.unwrap();
    let row2 = stack.wait_terminal(&foreign, WAIT).await.unwrap();
    for (id, key, reason) in &bad {
        let row = stack.wait_terminal(id, WAIT).await.unwrap();
        assert_eq!(row.status, GenerationStatus::Failed, "{key}");
        let err = row.error.unwrap_or_default();
        assert!(err.contains(key) && err.contains(reason), "{key}: {err}");
        assert_eq!(row.attempts, 1, "{key}: an unusable object is not retried");
        let listed = store.list(&format!("generations/{id}/")).await.unwrap();
        assert!(listed.is_empty(), "{key}: partial outputs {listed:?}");
    }
    worker.wait(WAIT).await.unwrap();
    assert_eq!(row.status, GenerationStatus::Failed);
    let err = row.error.unwrap_or_default();
    assert!(
        err.contains("uploads/missing.wav") && err.contains("does not exist"),
        "{err}"
    );
    assert_eq!(row.attempts, 1, "a missing object is not retried");
    assert_eq!(row2.status, GenerationStatus::Failed);
    assert!(row2.error.unwrap_or_default().contains("allow-list"));
    let (status, attempts): (String, i32) =
        sqlx::query_as("SELECT status, attempts FROM apalis.jobs WHERE id = $1")
            .bind(&id)
            .fetch_one(&stack.pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), attempts), ("Killed", 1));
    // No partial outputs are visible as success.
    let listed = stack
        .store()
        .list(&format!("generations/{id}/"))
        .await
        .unwrap();
    assert!(listed.is_empty(), "{listed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerun_of_same_job_leaves_one_row_and_same_objects() {
    let stack = Stack::start().await.unwrap();
    let id = submit(&stack, &["lofi hip hop in D dorian", "--duration", "3"])
        .await
        .unwrap();
    let worker = stack.worker(&["--drain"]).unwrap();
    let first = response_of(&stack, &id).await;
    worker.wait(WAIT).await.unwrap();
    let store = stack.store();
    let prefix = format!("generations/{id}/");
    let keys_before = store.list(&prefix).await.unwrap();
    let mix_before = store
        .get(&GenerationKeys::new(first.id).mix(), MAX_READ_BYTES)
        .await
        .unwrap();

    // Simulate a crash after the uploads but before the ack: the row is still running and
    // apalis hands the same task out again.
    sqlx::query("UPDATE generations SET status = 'running', response = NULL WHERE id = $1")
        .bind(&id)
        .execute(&stack.pool)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE apalis.jobs SET status = 'Pending', done_at = NULL, lock_by = NULL WHERE id = $1",
    )
    .bind(&id)
    .execute(&stack.pool)
    .await
    .unwrap();
    let worker = stack.worker(&["--drain"]).unwrap();
    let second = response_of(&stack, &id).await;
    worker.wait(WAIT).await.unwrap();

    let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM generations WHERE id = $1")
        .bind(&id)
        .fetch_one(&stack.pool)
        .await
        .unwrap();
    assert_eq!(rows, 1);
    assert_eq!(store.list(&prefix).await.unwrap(), keys_before);
    assert_eq!(second.attempt, 2);
    // Same request, same seed: the re-run writes the very same audio.
    let mix_after = store
        .get(&GenerationKeys::new(second.id).mix(), MAX_READ_BYTES)
        .await
        .unwrap();
    assert_eq!(mix_before, mix_after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_outage_is_retried_with_backoff_then_succeeds() {
    let mut stack = Stack::start().await.unwrap();
    let store = stack.store();
    let mut wav = std::io::Cursor::new(Vec::new());
    {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 44_100,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::new(&mut wav, spec).unwrap();
        for i in 0..44_100 * 2 * 2 {
            w.write_sample(((i as f32 * 0.01).sin() * 8000.0) as i16)
                .unwrap();
        }
        w.finalize().unwrap();
    }
    store
        .put("uploads/pad.wav", wav.into_inner())
        .await
        .unwrap();

    // The store goes away before the job starts: loading the locked stem fails transiently.
    stack.s3.stop().await;
    let id = submit(
        &stack,
        &[
            "ambient",
            "--duration",
            "2",
            "--lock",
            "harmony=uploads/pad.wav",
        ],
    )
    .await
    .unwrap();
    let worker = stack.worker(&[]).unwrap();
    // Wait until the first attempt has failed and been recorded for retry.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let row = resonantgen_infra::generations::get_generation(
            &stack.pool,
            ulid::Ulid::from_string(&id).unwrap(),
        )
        .await
        .unwrap();
        if row.attempts >= 1 && row.error.is_some() {
            assert_eq!(
                row.status,
                GenerationStatus::Queued,
                "a transient failure is retried"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "first attempt never failed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stack.s3.restart().await.unwrap();
    let row = stack.wait_terminal(&id, WAIT).await.unwrap();
    worker.stop().await.unwrap();
    assert_eq!(row.status, GenerationStatus::Succeeded, "{:?}", row.error);
    assert!(row.attempts >= 2, "attempts {}", row.attempts);
    assert_eq!(
        row.error, None,
        "the error of a retried attempt is cleared on success"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_drum_loop_sets_the_tempo() {
    let stack = Stack::start().await.unwrap();
    // A drum loop from elsewhere at 100 bpm: kicks on the beats, noisy hats on the off-beats,
    // at 96 kHz under a 48 kHz request (resampled into the mix, stored as uploaded).
    let sr = 96_000u32;
    let beat = 60.0 / 100.0;
    let frames = (beat * 16.0 * f64::from(sr)) as usize;
    let mut samples = vec![0.0f32; frames];
    let mut noise = 12345u32;
    for b in 0..16 {
        let start = (b as f64 * beat * f64::from(sr)) as usize;
        for i in 0..(0.25 * f64::from(sr)) as usize {
            let t = i as f32 / sr as f32;
            if let Some(s) = samples.get_mut(start + i) {
                *s += (2.0 * std::f32::consts::PI * 55.0 * t).sin() * (-t * 14.0).exp() * 0.8;
            }
        }
        let hat = start + (beat / 2.0 * f64::from(sr)) as usize;
        for i in 0..2000 {
            noise = noise.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let n = (noise >> 9) as f32 / (1u32 << 23) as f32 - 1.0;
            if let Some(s) = samples.get_mut(hat + i) {
                *s += n * (-(i as f32) / 300.0).exp() * 0.3;
            }
        }
    }
    let mut wav = std::io::Cursor::new(Vec::new());
    {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: sr,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::new(&mut wav, spec).unwrap();
        for s in &samples {
            let v = (s.clamp(-1.0, 1.0) * 32767.0) as i16;
            w.write_sample(v).unwrap();
            w.write_sample(v).unwrap();
        }
        w.finalize().unwrap();
    }
    let uploaded = wav.into_inner();
    stack
        .store()
        .put("uploads/loop100.wav", uploaded.clone())
        .await
        .unwrap();

    let id = submit(
        &stack,
        &[
            "deep house at 122 bpm",
            "--duration",
            "8",
            "--lock",
            "drums=uploads/loop100.wav",
            "--sample-rate",
            "48000",
        ],
    )
    .await
    .unwrap();
    let worker = stack.worker(&["--drain"]).unwrap();
    let resp = response_of(&stack, &id).await;
    worker.wait(WAIT).await.unwrap();
    assert_eq!(resp.context.sample_rate, 48_000);
    assert!(
        resp.context
            .conflicts
            .iter()
            .any(|c| c.contains("resampled")),
        "{:?}",
        resp.context.conflicts
    );
    let kept = stack
        .store()
        .get(&GenerationKeys::new(resp.id).stem(&drums()), MAX_READ_BYTES)
        .await
        .unwrap();
    assert!(kept == uploaded, "the locked loop is stored as uploaded");
    let tempo = resp.context.tempo_bpm;
    assert!(
        (tempo - 100.0).abs() / 100.0 < 0.01,
        "generated at {tempo} bpm"
    );
    assert!(
        resp.context
            .conflicts
            .iter()
            .any(|c| c.contains("measured from locked drums")),
        "{:?}",
        resp.context.conflicts
    );
    assert!(
        resp.qa.rhythmic_coherence.unwrap() >= 0.8,
        "{:?} {:?}",
        resp.qa,
        resp.context.conflicts
    );
    // The loop's first kick is at 0 s: no grid offset.
    assert!(
        resp.context.grid_offset_seconds < 0.02,
        "{:?}",
        resp.context.conflicts
    );
}

/// (seconds, pitch) of every note-on in one of our MIDI files.
fn midi_onsets(bytes: &[u8], tempo_bpm: f64) -> Vec<(f64, u8)> {
    resonantgen_worker::midi::midi_onsets(bytes, tempo_bpm).expect("one of our MIDI files")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selective_regeneration_around_locked_drums_and_harmony() {
    let stack = Stack::start().await.unwrap();
    let store = stack.store();
    let bass = TrackType::Bass;
    let harmony = TrackType::Harmony;
    let melody = TrackType::Melody;

    let first = submit(
        &stack,
        &[
            "boom bap hip hop at 92 bpm",
            "--duration",
            "12",
            "--seed",
            "3",
        ],
    )
    .await
    .unwrap();
    let worker = stack.worker(&["--concurrency", "2"]).unwrap();
    let r1 = response_of(&stack, &first).await;
    let k1 = GenerationKeys::new(r1.id);

    // 1. Keep the drums, regenerate the rest as hip hop (a kick-locked bass): the drums are
    //    byte-identical and the new bass locks to their kicks.
    let second = submit(
        &stack,
        &[
            "boom bap hip hop",
            "--duration",
            "12",
            "--seed",
            "4",
            "--lock",
            &format!("drums=gen:{first}/drums"),
        ],
    )
    .await
    .unwrap();
    // 2. Keep the harmony of the first, under another genre's prompt in another key: the
    //    new melody is in the harmony's key, over its chords.
    let third = submit(
        &stack,
        &[
            "synthpop in F# major",
            "--duration",
            "12",
            "--lock",
            &format!("harmony=gen:{first}/harmony"),
        ],
    )
    .await
    .unwrap();
    let r2 = response_of(&stack, &second).await;
    let r3 = response_of(&stack, &third).await;
    worker.stop().await.unwrap();
    let k2 = GenerationKeys::new(r2.id);
    let k3 = GenerationKeys::new(r3.id);

    let d1 = store.get(&k1.stem(&drums()), MAX_READ_BYTES).await.unwrap();
    let d2 = store.get(&k2.stem(&drums()), MAX_READ_BYTES).await.unwrap();
    assert_eq!(d1, d2, "locked drums must be byte-identical");
    assert_ne!(
        store.get(&k1.stem(&bass), MAX_READ_BYTES).await.unwrap(),
        store.get(&k2.stem(&bass), MAX_READ_BYTES).await.unwrap(),
        "the bass is new"
    );
    let tempo = r2.context.tempo_bpm;
    assert_eq!(tempo, r1.context.tempo_bpm);
    let drum_notes = midi_onsets(
        &store.get(&k1.midi(&drums()), 1 << 24).await.unwrap(),
        tempo,
    );
    let bass_notes = midi_onsets(&store.get(&k2.midi(&bass), 1 << 24).await.unwrap(), tempo);
    assert!(!bass_notes.is_empty());
    // coherence: bass onsets within 30 ms of a hit of the locked drums
    let near = |t: f64| drum_notes.iter().any(|(d, _)| (d - t).abs() <= 0.030);
    let coherence =
        bass_notes.iter().filter(|(t, _)| near(*t)).count() as f64 / bass_notes.len() as f64;
    assert!(
        coherence >= 0.8,
        "bass↔locked drums coherence {coherence:.2}"
    );
    // and the groove lock: most bass notes start on a locked kick
    let kicks: Vec<f64> = drum_notes
        .iter()
        .filter(|(_, p)| *p == 36)
        .map(|(t, _)| *t)
        .collect();
    let on_kick = bass_notes
        .iter()
        .filter(|(t, _)| kicks.iter().any(|k| (k - t).abs() <= 0.030))
        .count() as f64
        / bass_notes.len() as f64;
    // ... and it follows them: where the bass plays, most locked kicks get a bass note.
    let (from, to) = (bass_notes[0].0, bass_notes[bass_notes.len() - 1].0);
    let playing: Vec<&f64> = kicks.iter().filter(|k| **k >= from && **k <= to).collect();
    let followed = playing
        .iter()
        .filter(|k| bass_notes.iter().any(|(t, _)| (**k - t).abs() <= 0.030))
        .count() as f64
        / playing.len().max(1) as f64;
    eprintln!(
        "bass and locked drums: coherence {coherence:.2}, on kick {on_kick:.2}, kicks followed {followed:.2}"
    );
    assert!(
        on_kick >= 0.5,
        "only {on_kick:.2} of the bass notes start on a kick"
    );
    assert!(
        followed >= 0.6,
        "the bass follows only {followed:.2} of the locked kicks"
    );
    assert!(r2.qa.rhythmic_coherence.unwrap() >= 0.8);

    // The harmony's key and chords won over the prompt's F# major.
    assert_eq!(r3.context.key, r1.context.key);
    assert!(
        r3.context
            .conflicts
            .iter()
            .any(|c| c.contains("taken from locked"))
    );
    let h1 = store.get(&k1.stem(&harmony), MAX_READ_BYTES).await.unwrap();
    assert_eq!(
        h1,
        store.get(&k3.stem(&harmony), MAX_READ_BYTES).await.unwrap()
    );
    let tempo3 = r3.context.tempo_bpm;
    let lead = midi_onsets(
        &store.get(&k3.midi(&melody), 1 << 24).await.unwrap(),
        tempo3,
    );
    if !lead.is_empty() {
        let key = r3.context.key;
        // In the key, or a tone of the chord under it (the leading tone of a minor key's
        // major V).
        let bar_s = 60.0 / tempo3 * 4.0;
        let in_key = lead
            .iter()
            .filter(|(t, p)| {
                let chord = r3.context.chords.get((t / bar_s) as usize);
                key.contains(p % 12) || chord.is_some_and(|c| c.pitch_classes().contains(&(p % 12)))
            })
            .count();
        assert!(
            in_key * 100 >= lead.len() * 95,
            "{in_key}/{} melody notes in {key} or its chords",
            lead.len()
        );
        // strong beats (1 and 3) land on the locked harmony's chord tones
        let bar = 60.0 / tempo3 * 4.0;
        let strong: Vec<_> = lead
            .iter()
            .filter(|(t, _)| {
                let beat = (t / (bar / 4.0)).round();
                ((t / (bar / 4.0)) - beat).abs() * (bar / 4.0) < 0.03 && beat as i64 % 2 == 0
            })
            .collect();
        let on_chord = strong
            .iter()
            .filter(|(t, p)| {
                let b = ((t / bar).floor() as usize).min(r3.context.chords.len() - 1);
                r3.context.chords[b].pitch_classes().contains(&(p % 12))
            })
            .count();
        assert!(
            on_chord * 100 >= strong.len() * 80,
            "{on_chord}/{} strong-beat melody notes are chord tones",
            strong.len()
        );
    }
}

/// `--loop` through the queue: whole bars, the length in the response, and a mix whose end
/// runs into its start without a step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loop_is_whole_bars_and_repeats_without_a_seam() {
    let stack = Stack::start().await.unwrap();
    let id = submit(
        &stack,
        &[
            "house loop at 124 bpm",
            "--duration",
            "7",
            "--loop",
            "--seed",
            "3",
        ],
    )
    .await
    .unwrap();
    let worker = stack.worker(&["--metrics-addr", "off"]).unwrap();
    let resp = response_of(&stack, &id).await;
    assert!(worker.stop().await.unwrap().success());
    // 7 s at 124 bpm is 3.6 bars: the loop is 4 bars, and says so.
    let bar_seconds = 60.0 / 124.0 * 4.0;
    let frames = (4.0 * bar_seconds * 44_100.0_f64).round() as u64;
    let looped = resp.mix.looped.expect("mix.loop in the response");
    assert_eq!((looped.bars, looped.samples), (4, frames));
    assert!(
        resp.context
            .conflicts
            .iter()
            .any(|c| c.contains("whole bars"))
    );
    let store = stack.store();
    let keys = GenerationKeys::new(resp.id);
    let mix = decode_wav(&store.get(&keys.mix(), MAX_READ_BYTES).await.unwrap()).unwrap();
    assert_eq!(mix.frames() as u64, frames);
    for t in TrackType::all() {
        let stem = decode_wav(&store.get(&keys.stem(&t), MAX_READ_BYTES).await.unwrap()).unwrap();
        assert_eq!(stem.frames() as u64, frames, "{t}");
    }
    let x = mix.to_stereo();
    let n = x.len() / 2;
    for ch in 0..2 {
        let s: Vec<f32> = x.iter().skip(ch).step_by(2).copied().collect();
        let mut steps: Vec<f32> = s.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
        steps.sort_by(f32::total_cmp);
        let p999 = steps[(steps.len() as f64 * 0.999) as usize];
        let joint = (s[0] - s[n - 1]).abs();
        assert!(joint <= p999, "ch{ch}: {joint} at the joint > p99.9 {p999}");
    }
}
