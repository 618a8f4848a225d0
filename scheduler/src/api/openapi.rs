//! The OpenAPI 3.1 description of the API, served at `/v1/openapi.json` (no auth), written
//! by hand next to the routes it describes. It is meant to be exact — what it calls valid
//! the server accepts, what it calls invalid the server refuses — and ops/schemathesis.sh
//! checks that against the running server.

use axum::Json;
use resonantgen_core::request::{
    BIT_DEPTHS, LOUDNESS_RANGE_LUFS, MAX_DURATION_SECONDS, MAX_IDEMPOTENCY_KEY_CHARS,
    MAX_PROMPT_CHARS, MAX_TEMPO, MIN_DURATION_SECONDS, MIN_TEMPO, SAMPLE_RATES,
};
use resonantgen_core::track::TrackType;
use resonantgen_infra::store::LockBuckets;
use serde_json::{Map, Value, json};

/// Whitespace as Rust's `str::trim` sees it (Unicode White_Space).
const WS: &str = r"\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// A ULID as the server parses it (Crockford base32, either case, at most 2^128 - 1).
const ULID: &str = "[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}";

/// Text Postgres can store: no NUL.
fn storable() -> String {
    r"^[^\u0000]*$".to_string()
}

/// Text with something other than whitespace in it, and no NUL.
fn not_blank() -> String {
    format!(r"^[^\u0000]*[^\u0000{WS}][^\u0000]*$")
}

/// Case-insensitive literal (JSON Schema patterns have no flags).
fn ci(word: &str) -> String {
    word.chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase())
            } else {
                regex_escape(c)
            }
        })
        .collect()
}

fn regex_escape(c: char) -> String {
    if r"\.^$|?*+()[]{}-/".contains(c) {
        format!("\\{c}")
    } else {
        c.to_string()
    }
}

fn track_names() -> Vec<String> {
    TrackType::all()
        .into_iter()
        .map(|t| t.as_str().to_string())
        .collect()
}

/// `Key::parse`: "A minor", "F# major", "E flat major", "Bb minor", "Am", "C#m", "D dorian".
fn key_pattern() -> String {
    let w = format!("[{WS}]");
    let letter = "[A-Ga-g]";
    let acc = format!("(?:#|♯|[Bb]|♭|-?{}|-?{})", ci("sharp"), ci("flat"));
    let modes = [
        "major",
        "maj",
        "ionian",
        "minor",
        "min",
        "aeolian",
        "dorian",
        "phrygian",
        "lydian",
        "mixolydian",
        "locrian",
    ]
    .iter()
    .map(|m| ci(m))
    .collect::<Vec<_>>()
    .join("|");
    format!(
        "^{w}*(?:{letter}{acc}?m?|{letter}{acc}?{w}+(?:{modes})|{letter}{w}+{acc}{w}+(?:{modes})){w}*$"
    )
}

/// `LockUri::parse`: `s3://bucket/key`, `gen:<id>/<track>`, or a store key of printable
/// ASCII segments that are not `.` or `..` — with `s3://` only for the buckets this
/// deployment's store may read (none when it stores objects in a local folder), as the
/// submission check refuses the others.
fn lock_pattern(buckets: &LockBuckets) -> String {
    let w = format!("[{WS}]");
    let c = r"[A-Za-z0-9\-_.~+=@,]";
    let nd = r"[A-Za-z0-9\-_~+=@,]";
    let seg = format!(r"(?:{nd}{c}*|\.{nd}{c}*|\.\.{c}+)");
    let key = format!("{seg}(?:/{seg})*");
    let tracks = track_names()
        .iter()
        .map(|t| ci(t))
        .collect::<Vec<_>>()
        .join("|");
    let s3 = match buckets {
        LockBuckets::LocalFolder => String::new(),
        LockBuckets::S3 { bucket, allowed } => {
            let names: Vec<String> = std::iter::once(bucket)
                .chain(allowed)
                .map(|b| b.replace('.', r"\.").replace('-', r"\-"))
                .collect();
            format!("s3://(?:{})/{key}|", names.join("|"))
        }
    };
    format!("^{w}*(?:{s3}gen:{ULID}/{w}*(?:{tracks}){w}*|{key}){w}*$")
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    })
}

fn json_response(description: &str, schema: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}
    })
}

fn retry_header() -> Value {
    json!({"Retry-After": {"description": "seconds to wait before retrying",
                           "schema": {"type": "integer", "minimum": 1}}})
}

fn with_retry(mut response: Value) -> Value {
    response["headers"] = retry_header();
    response
}

fn path_param(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description,
           "schema": schema})
}

fn generation_id() -> Value {
    path_param(
        "id",
        "generation id (ULID)",
        json!({"type": "string", "pattern": format!("^{ULID}$")}),
    )
}

/// Responses every authenticated operation can give, added to each one's own.
fn authenticated(own: Value) -> Value {
    let mut all: Map<String, Value> = own.as_object().cloned().unwrap_or_default();
    let common = [
        (
            "400",
            error_response(
                "a path parameter or query parameter holds text that cannot be stored, such as NUL (invalid_request)",
            ),
        ),
        (
            "401",
            error_response("missing or invalid bearer token (unauthorized)"),
        ),
        (
            "403",
            error_response("the token lacks the scope this method needs (forbidden)"),
        ),
        (
            "408",
            error_response(
                "the request took longer than the server's request timeout (request_timeout)",
            ),
        ),
        (
            "429",
            with_retry(error_response(
                "over the token's request rate (rate_limited) or its concurrent-job quota (quota_exceeded)",
            )),
        ),
        (
            "500",
            error_response("a fault of the server, logged (internal)"),
        ),
        (
            "503",
            with_retry(error_response("the database is unreachable (unavailable)")),
        ),
    ];
    for (code, response) in common {
        all.entry(code).or_insert(response);
    }
    Value::Object(all)
}

/// Responses of operations that read a JSON body.
fn with_json_body(own: Value) -> Value {
    let mut all: Map<String, Value> = own.as_object().cloned().unwrap_or_default();
    for (code, response) in [
        ("400", error_response("the body is not JSON (invalid_json)")),
        (
            "413",
            error_response("the body is over 64 KiB (payload_too_large)"),
        ),
        (
            "415",
            error_response("the body is not application/json (unsupported_media_type)"),
        ),
        (
            "422",
            error_response(
                "the body is not a valid request; the message says why (invalid_request)",
            ),
        ),
    ] {
        all.entry(code).or_insert(response);
    }
    authenticated(Value::Object(all))
}

fn nullable(kind: &str) -> Value {
    json!([kind, "null"])
}

fn schemas() -> Value {
    let tracks = track_names();
    let request_properties = json!({
        "prompt": {"type": "string", "minLength": 1, "maxLength": MAX_PROMPT_CHARS,
                   "pattern": not_blank(),
                   "description": "what to generate; at most 4096 characters, not only whitespace"},
        "duration_seconds": {"type": nullable("number"), "minimum": MIN_DURATION_SECONDS,
                             "maximum": MAX_DURATION_SECONDS},
        "seed": {"type": nullable("integer"), "minimum": 0, "maximum": u64::MAX},
        "tracks": {"type": nullable("array"), "items": {"enum": tracks}, "uniqueItems": true,
                   "description": "tracks to generate; [] only when something is locked"},
        "locked_tracks": {"type": "object", "propertyNames": {"enum": tracks},
            "additionalProperties": {"type": "string", "maxLength": 1024, "pattern": lock_pattern(LockBuckets::configured())},
            "description": "track → s3://bucket/key.wav, gen:<id>/<track> or a store key; a token may lock only stems of generations it can read"},
        "tempo": {"type": nullable("number"), "minimum": MIN_TEMPO, "maximum": MAX_TEMPO},
        "key": {"type": nullable("string"), "pattern": key_pattern(), "examples": ["A minor", "F# major", "Bbm"]},
        "sample_rate": {"enum": [SAMPLE_RATES[0], SAMPLE_RATES[1], null]},
        "bit_depth": {"enum": [BIT_DEPTHS[0], BIT_DEPTHS[1], null]},
        "loudness_target": {"type": nullable("number"), "minimum": LOUDNESS_RANGE_LUFS.0,
                            "maximum": LOUDNESS_RANGE_LUFS.1},
        "chords": {"type": nullable("string"), "maxLength": resonantgen_core::progression::MAX_TEXT_CHARS, "pattern": storable(),
                   "description": "a chord progression every pitched track follows: symbols (Am F C G, Cmaj7/E, Bb7sus4), roman numerals in the key (ii-V-I, i-VI-III-VII, bVII), ':N' bars per chord, or '12-bar blues'; it cycles to fill the piece",
                   "examples": ["Am F C G", "ii7-V7-Imaj7", "Am:2 F:2 C G"]},
        "variations": {"type": nullable("integer"), "minimum": 1, "maximum": resonantgen_core::request::MAX_VARIATIONS,
                       "description": "takes of one plan: that many generations in one batch sharing tempo, key, chords and arrangement (one seed), each with its own parts; the answer is {batch_id, ids, seed}"},
        "take": {"type": nullable("integer"), "minimum": 0, "maximum": 4294967295u64,
                 "description": "which take of the seed's plan to play: 0 is the seed's own parts"},
        "time_signature": {"enum": ["4/4", "3/4", "5/4", "6/8", "7/8", "12/8", null],
                           "description": "the meter the parts are generated and rendered in; the tempo counts quarter notes in every meter (a DAW's grid)"},
        "sections": {"type": nullable("array"), "maxItems": resonantgen_core::form::MAX_SECTIONS,
                     "items": {"type": "object", "required": ["name"], "additionalProperties": false,
                               "properties": {
                                   "name": {"type": "string", "maxLength": 40, "pattern": storable(),
                                            "examples": ["intro", "verse", "pre-chorus", "chorus", "bridge", "build", "drop", "breakdown", "solo", "outro"]},
                                   "bars": {"type": nullable("integer"), "minimum": 1, "maximum": resonantgen_core::form::MAX_SECTION_BARS}}},
                     "description": "the sections in order (intro, verse, pre-chorus, chorus, bridge, build, drop, breakdown, solo, outro), each with its bars (default: intro, outro, pre-chorus 4; drop 16; else 8); energy and instrumentation follow them and the piece lasts their bars"},
        "loop": {"type": nullable("boolean"),
                 "description": "a seamless loop: whole bars, every tail wrapped onto the start"},
        "idempotency_key": {"type": nullable("string"), "minLength": 1,
                            "maxLength": MAX_IDEMPOTENCY_KEY_CHARS, "pattern": storable()},
        "priority": {"type": nullable("integer"), "minimum": 0, "maximum": 1000,
                     "description": "0–1000, higher first; each token may set only its own range (default 0–10, admin 0–1000)"}
    });
    // A track may not be both locked and listed to generate; [] tracks need a lock.
    let mut rules: Vec<Value> = tracks
        .iter()
        .map(|t| {
            json!({"not": {"required": ["tracks", "locked_tracks"], "properties": {
                "tracks": {"type": "array", "contains": {"const": t}},
                "locked_tracks": {"type": "object", "required": [t]}}}})
        })
        .collect();
    rules.push(json!({"not": {"required": ["tracks"], "properties": {
        "tracks": {"type": "array", "maxItems": 0},
        "locked_tracks": {"type": "object", "maxProperties": 0}}}}));
    let request = json!({
        "type": "object", "required": ["prompt"], "additionalProperties": false,
        "properties": request_properties, "allOf": rules,
    });
    let mut line = request.clone();
    line["properties"]["external_id"] =
        json!({"type": nullable("string"), "maxLength": 200, "pattern": storable()});
    let at = json!({"type": "string", "format": "date-time"});
    let at_or_null = json!({"type": ["string", "null"], "format": "date-time"});
    let status = json!({"enum": ["queued", "running", "succeeded", "failed", "cancelled"]});
    let event_types = [
        (
            "generation.started",
            json!({"attempt": {"type": "integer"}, "worker": {"type": "string"}}),
        ),
        ("stage.started", json!({"stage": {"type": "string"}})),
        (
            "stage.finished",
            json!({"stage": {"type": "string"}, "seconds": {"type": "number"}}),
        ),
        (
            "track.generated",
            json!({"track": {"type": "string"}, "seconds": {"type": "number"}}),
        ),
        (
            "track.locked",
            json!({"track": {"type": "string"}, "source": {"type": "string"}}),
        ),
        (
            "generation.succeeded",
            json!({"seconds": {"type": "number"}}),
        ),
        (
            "generation.failed",
            json!({"reason": {"type": "string"}, "retrying": {"type": "boolean"}}),
        ),
        (
            "generation.cancelled",
            json!({"at_stage": {"type": ["string", "null"]}}),
        ),
    ];
    let one_event: Vec<Value> = event_types
        .iter()
        .map(|(name, props)| {
            let mut p = props.as_object().cloned().unwrap_or_default();
            p.insert("type".into(), json!({"const": name}));
            json!({"properties": p, "required": p.keys().collect::<Vec<_>>()})
        })
        .collect();
    json!({
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                           "details": {"type": "object"}}}}},
        "GenerationRequest": request,
        "CatalogLine": line,
        "Submitted": {"type": "object", "required": ["id", "status", "existing"], "properties": {
            "id": {"type": "string", "pattern": format!("^{ULID}$")}, "status": status,
            "existing": {"type": "boolean", "description": "true: the idempotency key named this existing generation of the token"}}},
        "SubmittedTakes": {"type": "object", "required": ["batch_id", "ids", "seed", "takes", "status", "existing"], "properties": {
            "batch_id": {"type": "string", "description": "the batch holding the takes: their parent"},
            "ids": {"type": "array", "items": {"type": "string", "pattern": format!("^{ULID}$")}, "description": "the takes' generation ids, take 0 first"},
            "seed": {"type": "integer", "minimum": 0, "description": "the one seed of every take"},
            "takes": {"type": "integer", "minimum": 1}, "status": {"enum": ["queued"]},
            "existing": {"type": "boolean", "description": "true: these takes were submitted before"}}},
        "Cancelled": {"type": "object", "required": ["id", "status"], "properties": {
            "id": {"type": "string"}, "status": {"enum": ["cancelled", "running"]},
            "cancel": {"type": "string", "description": "present while a running generation is yet to stop"}}},
        "Generation": {"type": "object",
            "required": ["id", "status", "prompt", "request", "attempts", "created_at"],
            "properties": {
                "id": {"type": "string"}, "status": status, "prompt": {"type": "string"},
                "request": {"type": "object"},
                "response": {"type": ["object", "null"], "description": "the GenerationResponse once succeeded: stems, mix, context, QA"},
                "error": {"type": ["string", "null"]}, "attempts": {"type": "integer"},
                "worker": {"type": ["string", "null"]}, "batch_id": {"type": ["string", "null"]},
                "created_at": at, "started_at": at_or_null, "finished_at": at_or_null}},
        "BatchSubmission": {"type": "object", "additionalProperties": false,
            "description": "exactly one of catalog or requests; each line is validated by the server (422 listing the invalid ones, unless skip_invalid)",
            "properties": {
                "catalog": {"type": ["string", "null"], "description": "JSONL or CSV text"},
                "requests": {"type": ["array", "null"], "description": "the lines as JSON values, each validated by the server as a CatalogLine"},
                "format": {"type": ["string", "null"], "description": "of catalog: jsonl (default), ndjson or csv, any case"},
                "name": {"type": ["string", "null"], "pattern": storable()},
                "defaults": {"type": "object", "additionalProperties": false,
                    "description": "applied where a line sets none",
                    "properties": {
                        "duration_seconds": {"type": nullable("number")},
                        "sample_rate": {"type": nullable("integer"), "minimum": 0, "maximum": u32::MAX},
                        "bit_depth": {"type": nullable("integer"), "minimum": 0, "maximum": u16::MAX},
                        "loudness_target": {"type": nullable("number")},
                        "priority": {"type": nullable("integer"), "minimum": i32::MIN, "maximum": i32::MAX},
                        "tracks": {"type": nullable("array"), "items": {"enum": track_names()}}}},
                "skip_invalid": {"type": "boolean"}},
            "oneOf": [
                {"required": ["catalog"], "properties": {
                    "catalog": {"type": "string"}, "requests": {"type": "null"},
                    "format": {"type": ["string", "null"], "pattern": format!("^(?:{}|{}|{})$", ci("jsonl"), ci("ndjson"), ci("csv"))}}},
                {"required": ["requests"], "properties": {"requests": {"type": "array"}, "catalog": {"type": "null"}}}]},
        "BatchSubmitted": {"type": "object", "required": ["batch", "enqueued", "existing"], "properties": {
            "batch": {"type": "string"}, "new_batch": {"type": "boolean"},
            "enqueued": {"type": "integer"}, "existing": {"type": "integer"},
            "invalid": {"type": "array", "items": {"type": "object"}, "description": "lines skipped (skip_invalid), with line and reason"}}},
        "BatchStatus": {"type": "object", "required": ["id", "total", "counts", "done"], "properties": {
            "id": {"type": "string"}, "name": {"type": ["string", "null"]}, "source": {"type": ["string", "null"]},
            "total": {"type": "integer"}, "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
            "created_at": at, "first_started_at": at_or_null, "last_finished_at": at_or_null,
            "done": {"type": "boolean"}, "eta_seconds": {"type": ["number", "null"]}}},
        "BatchResults": {"type": "object", "required": ["batch", "results"], "properties": {
            "batch": {"type": "string"},
            "results": {"type": "array", "items": {"type": "object", "required": ["generation_id", "status"], "properties": {
                "generation_id": {"type": "string"}, "external_id": {"type": ["string", "null"]},
                "status": status, "mix_uri": {"type": ["string", "null"]},
                "stems": {"type": "object", "additionalProperties": {"type": "string"}},
                "error": {"type": ["string", "null"]}}}}}},
        "Event": {"type": "object", "description": "one server-sent event's data",
            "required": ["id", "generation_id", "at", "type"],
            "properties": {"id": {"type": "integer", "description": "also the SSE id: (Last-Event-ID resumes after it)"},
                "generation_id": {"type": "string"}, "at": at,
                "type": {"enum": event_types.iter().map(|e| e.0).collect::<Vec<_>>()}},
            "oneOf": one_event},
        "SaveScene": {"type": "object", "required": ["name", "generation_id"], "additionalProperties": false,
            "properties": {
                "name": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,100}$"},
                "generation_id": {"type": "string", "pattern": format!("^{ULID}$")},
                "description": {"type": ["string", "null"], "pattern": storable()}}},
        "FromScene": {"type": "object", "additionalProperties": false, "properties": {
            "prompt": {"type": ["string", "null"], "minLength": 1, "maxLength": MAX_PROMPT_CHARS, "pattern": not_blank()},
            "keep": {"type": "array", "items": {"enum": track_names()}, "uniqueItems": true,
                     "description": "stems of the scene to keep locked"},
            "seed": {"type": nullable("integer"), "minimum": 0, "maximum": u64::MAX},
            "idempotency_key": {"type": nullable("string"), "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY_CHARS, "pattern": storable()}}},
        "Scene": {"type": "object", "required": ["id", "name", "request", "tracks", "created_at"], "properties": {
            "id": {"type": "string"}, "name": {"type": "string"},
            "description": {"type": ["string", "null"]}, "source_generation": {"type": ["string", "null"]},
            "request": {"type": "object"}, "context": {"type": ["object", "null"]},
            "tracks": {"type": "object", "additionalProperties": {"type": "string"}, "description": "track → gen:<id>/<track>"},
            "created_at": at}},
        "Scenes": {"type": "object", "required": ["scenes"], "properties": {
            "scenes": {"type": "array", "items": {"$ref": "#/components/schemas/Scene"}}}},
        "Health": {"type": "object", "required": ["status"], "properties": {"status": {"enum": ["ok", "unavailable"]}}},
    })
}

pub async fn document() -> Json<Value> {
    let components = schemas();
    let scene_name = path_param(
        "name",
        "scene name",
        json!({"type": "string", "minLength": 1, "pattern": storable()}),
    );
    let batch_id = path_param(
        "id",
        "batch id (ULID)",
        json!({"type": "string", "pattern": format!("^{ULID}$")}),
    );
    let json_body = |schema: &str| json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}});
    Json(json!({
        "openapi": "3.1.0",
        "info": {
            "title": "ResonantGen API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Queue music-stem generations (one or whole catalogs), follow their progress, fetch results, cancel, and work from saved scenes. Every /v1 operation needs a bearer token; a token has scopes (read: GET; submit: POST and DELETE; admin: everything, everyone's work) and sees only the work it submitted unless it is admin — others' work reads as 404. Errors are JSON objects {\"error\": {\"code\", \"message\", \"details\"?}} with stable codes: unauthorized, forbidden, rate_limited, quota_exceeded, invalid_json, bad_body, invalid_request, unsupported_media_type, payload_too_large, not_found, method_not_allowed, already_finished, not_finished, exists, request_timeout, internal, unavailable. 429 and 503 carry Retry-After."
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": components,
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v1/generations": {"post": {
                "operationId": "createGeneration",
                "summary": "Validate and enqueue one generation",
                "requestBody": json_body("GenerationRequest"),
                "responses": with_json_body(json!({
                    "202": {"description": "queued: one generation, or with variations > 1 the takes under one batch",
                        "content": {"application/json": {"schema": {"oneOf": [
                            {"$ref": "#/components/schemas/Submitted"},
                            {"$ref": "#/components/schemas/SubmittedTakes"}]}}}},
                    "200": {"description": "the idempotency key (or, for takes, the seed and request) names existing generations of this token",
                        "content": {"application/json": {"schema": {"oneOf": [
                            {"$ref": "#/components/schemas/Submitted"},
                            {"$ref": "#/components/schemas/SubmittedTakes"}]}}}},
                    "404": error_response("a lock (gen:<id>/… or generations/<id>/…) names no generation of this token (not_found)"),
                    "409": error_response("the idempotency key names a generation of a different request")}))}},
            "/v1/generations/{id}": {
                "parameters": [generation_id()],
                "get": {"operationId": "getGeneration", "summary": "A generation: status, error, response",
                    "responses": authenticated(json!({
                        "200": json_response("the generation", "Generation"),
                        "404": error_response("no such generation of this token (not_found)")}))},
                "delete": {"operationId": "cancelGeneration",
                    "summary": "Cancel: a queued generation never starts; a running one stops at its next stage boundary",
                    "responses": authenticated(json!({
                        "202": json_response("cancelled, or cancel requested", "Cancelled"),
                        "404": error_response("no such generation of this token (not_found)"),
                        "409": error_response("already finished (already_finished)")}))}},
            "/v1/generations/{id}/events": {
                "parameters": [generation_id()],
                "get": {"operationId": "streamGenerationEvents",
                    "summary": "Progress as server-sent events, replayed from the start (or after Last-Event-ID), ending after the final event",
                    "parameters": [{"name": "Last-Event-ID", "in": "header", "required": false,
                        "description": "resume after this event id", "schema": {"type": "string"}}],
                    "responses": authenticated(json!({
                        "200": {"description": "a text/event-stream; each event has `event:` its type, `id:` its sequence number and `data:` one Event as JSON (x-event-schema)",
                                "content": {"text/event-stream": {
                                    "schema": {"type": "string", "description": "the stream of events"},
                                    "x-event-schema": {"$ref": "#/components/schemas/Event"}}}},
                        "404": error_response("no such generation of this token (not_found)")}))}},
            "/v1/batches": {"post": {
                "operationId": "createBatch",
                "summary": "Validate every line of a catalog, then enqueue it in bulk (nothing enqueued on an invalid line unless skip_invalid); re-submitting the same catalog enqueues nothing new",
                "parameters": [
                    {"name": "skip_invalid", "in": "query", "schema": {"type": "boolean"},
                     "description": "for JSONL/CSV bodies: enqueue the valid lines, list the others"},
                    {"name": "name", "in": "query", "schema": {"type": "string", "pattern": storable()},
                     "description": "for JSONL/CSV bodies: the batch's name"}],
                "requestBody": {"required": true, "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/BatchSubmission"}},
                    "application/jsonl": {"schema": {"type": "string"}},
                    "application/x-ndjson": {"schema": {"type": "string"}},
                    "application/x-jsonlines": {"schema": {"type": "string"}},
                    "text/csv": {"schema": {"type": "string"}}}},
                "responses": authenticated(json!({
                    "202": json_response("enqueued", "BatchSubmitted"),
                    "400": error_response("the body is not a batch envelope, or not UTF-8 (invalid_json, bad_body)"),
                    "409": error_response("a line's idempotency key names a generation of another request (idempotency_conflict)"),
                    "413": error_response("the catalog is over the size limit (payload_too_large)"),
                    "415": error_response("not application/json, application/jsonl (application/x-ndjson, application/x-jsonlines) or text/csv (unsupported_media_type)"),
                    "422": error_response("invalid lines, listed in details, or more requests than the token's quota (invalid_request)")}))}},
            "/v1/batches/{id}": {
                "parameters": [batch_id.clone()],
                "get": {"operationId": "getBatch", "summary": "Counts per state, done, ETA",
                    "responses": authenticated(json!({
                        "200": json_response("the batch's status", "BatchStatus"),
                        "404": error_response("no such batch of this token (not_found)")}))}},
            "/v1/batches/{id}/results": {
                "parameters": [batch_id],
                "get": {"operationId": "getBatchResults", "summary": "One result per request: status, URIs, QA figures, error",
                    "responses": authenticated(json!({
                        "200": json_response("results", "BatchResults"),
                        "404": error_response("no such batch of this token (not_found)")}))}},
            "/v1/scenes": {
                "post": {"operationId": "saveScene", "summary": "Save a succeeded generation as a named scene",
                    "requestBody": json_body("SaveScene"),
                    "responses": with_json_body(json!({
                        "201": json_response("the scene", "Scene"),
                        "404": error_response("no such generation of this token (not_found)"),
                        "409": error_response("the name is taken (exists), or the generation has not succeeded (not_finished)")}))},
                "get": {"operationId": "listScenes", "summary": "This token's scenes (an admin's: every scene)",
                    "responses": authenticated(json!({"200": json_response("the scenes", "Scenes")}))}},
            "/v1/scenes/{name}": {
                "parameters": [scene_name.clone()],
                "get": {"operationId": "getScene", "summary": "One scene",
                    "responses": authenticated(json!({
                        "200": json_response("the scene", "Scene"),
                        "404": error_response("no such scene of this token (not_found)")}))},
                "delete": {"operationId": "deleteScene", "summary": "Delete a scene (its generation and stems stay)",
                    "responses": authenticated(json!({
                        "204": {"description": "deleted"},
                        "404": error_response("no such scene of this token (not_found)")}))}},
            "/v1/scenes/{name}/generations": {
                "parameters": [scene_name],
                "post": {"operationId": "generateFromScene",
                    "summary": "Enqueue a generation based on a scene: its tempo, key, length and format; keep lists stems to keep locked",
                    "requestBody": json_body("FromScene"),
                    "responses": with_json_body(json!({
                        "202": json_response("queued", "Submitted"),
                        "200": json_response("the idempotency key names an existing generation of this token", "Submitted"),
                        "404": error_response("no such scene of this token, or a kept stem's generation is gone (not_found)"),
                        "409": error_response("the idempotency key names a generation of a different request")}))}},
            "/healthz": {"get": {"operationId": "health", "summary": "Liveness with a database round trip", "security": [],
                "responses": {
                    "200": json_response("ok", "Health"),
                    "503": with_retry(json_response("unavailable (details are in the server log)", "Health"))}}},
            "/metrics": {"get": {"operationId": "metrics", "summary": "Prometheus metrics", "security": [],
                "responses": {"200": {"description": "Prometheus text exposition format",
                    "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
            "/v1/openapi.json": {"get": {"operationId": "openapi", "summary": "This document", "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}}}
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use resonantgen_core::lock_uri::LockUri;
    use resonantgen_core::theory::Key;

    /// A tiny matcher for the subset of regex syntax used above would be a project of its
    /// own; instead the patterns are checked by schemathesis against the server, and here
    /// for their shape: anchored, and naming every track.
    #[test]
    fn patterns_are_anchored_and_complete() {
        let s3 = LockBuckets::S3 {
            bucket: "stems.example-1".into(),
            allowed: vec!["other".into()],
        };
        let local = lock_pattern(&LockBuckets::LocalFolder);
        for p in [
            key_pattern(),
            lock_pattern(&s3),
            local.clone(),
            storable(),
            not_blank(),
        ] {
            assert!(p.starts_with('^') && p.ends_with('$'), "{p}");
        }
        for t in track_names() {
            assert!(lock_pattern(&s3).contains(&ci(&t)), "{t}");
        }
        // s3:// only for the buckets the store may read.
        assert!(!local.contains("s3://"), "{local}");
        assert!(
            lock_pattern(&s3).contains(r"s3://(?:stems\.example\-1|other)/"),
            "{}",
            lock_pattern(&s3)
        );
        // The examples in the document parse.
        for k in ["A minor", "F# major", "Bbm"] {
            Key::parse(k).unwrap();
        }
        LockUri::parse("gen:01M8F9MYTCA9DADJ0QYYRVF5ZB/drums").unwrap();
    }

    #[tokio::test]
    async fn every_operation_documents_its_errors() {
        let Json(doc) = document().await;
        let paths = doc["paths"].as_object().unwrap();
        for (path, item) in paths {
            for (method, op) in item.as_object().unwrap() {
                if method == "parameters" {
                    continue;
                }
                let responses = op["responses"].as_object().unwrap();
                if path.starts_with("/v1/") && path != "/v1/openapi.json" {
                    for code in ["401", "403", "429", "503"] {
                        assert!(responses.contains_key(code), "{method} {path}: {code}");
                    }
                    assert!(responses["429"]["headers"]["Retry-After"].is_object());
                }
                if op.get("requestBody").is_some() {
                    for code in ["400", "413", "415", "422"] {
                        assert!(responses.contains_key(code), "{method} {path}: {code}");
                    }
                }
            }
        }
        let prompt = &doc["components"]["schemas"]["GenerationRequest"]["properties"]["prompt"];
        assert_eq!(prompt["minLength"], 1);
        assert_eq!(prompt["maxLength"], 4096);
        let sse = &paths["/v1/generations/{id}/events"]["get"]["responses"]["200"]["content"];
        assert_eq!(sse["text/event-stream"]["schema"]["type"], "string");
        assert_eq!(
            sse["text/event-stream"]["x-event-schema"]["$ref"],
            "#/components/schemas/Event"
        );
    }
}
