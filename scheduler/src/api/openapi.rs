//! The OpenAPI 3.1 description of the API, served at `/v1/openapi.json` (no auth), written
//! by hand next to the routes it describes.

use axum::Json;
use serde_json::{Value, json};

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    })
}

fn id_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description,
           "schema": {"type": "string"}})
}

pub async fn document() -> Json<Value> {
    let auth = json!([{"bearer": []}]);
    let common = json!({
        "401": error_response("missing or invalid bearer token (code: unauthorized)"),
    });
    let with = |mut responses: Value| {
        if let (Some(r), Some(c)) = (responses.as_object_mut(), common.as_object()) {
            for (k, v) in c {
                r.insert(k.clone(), v.clone());
            }
        }
        responses
    };
    Json(json!({
        "openapi": "3.1.0",
        "info": {
            "title": "ResonantGen API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Queue music-stem generations (one or whole catalogs), follow their progress, fetch results, cancel, and work from saved scenes. Errors are JSON objects {\"error\": {\"code\", \"message\", \"details\"?}} with stable codes: unauthorized, invalid_json, invalid_request, unsupported_media_type, payload_too_large, not_found, already_finished, not_finished, exists, internal, unavailable."
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                                   "details": {"type": "object"}}}}},
                "GenerationRequest": {"type": "object", "required": ["prompt"], "additionalProperties": false,
                    "properties": {
                        "prompt": {"type": "string", "maxLength": 4096},
                        "duration_seconds": {"type": "number", "minimum": 1, "maximum": 600},
                        "seed": {"type": "integer", "minimum": 0},
                        "tracks": {"type": "array", "items": {"type": "string"}},
                        "locked_tracks": {"type": "object", "additionalProperties": {"type": "string"},
                            "description": "track → s3://bucket/key.wav, gen:<id>/<track> or a store key"},
                        "tempo": {"type": "number", "minimum": 40, "maximum": 240},
                        "key": {"type": "string", "examples": ["A minor"]},
                        "sample_rate": {"enum": [44100, 48000]},
                        "bit_depth": {"enum": [16, 24]},
                        "loudness_target": {"type": "number", "minimum": -30, "maximum": -6},
                        "idempotency_key": {"type": "string", "maxLength": 200},
                        "priority": {"type": "integer"}}},
                "Submitted": {"type": "object", "properties": {
                    "id": {"type": "string"}, "status": {"type": "string"}, "existing": {"type": "boolean"}}},
                "Generation": {"type": "object", "description": "The generations row: id, status (queued|running|succeeded|failed|cancelled), prompt, request, response (the GenerationResponse once succeeded: stems, mix, context, QA), error, attempts, worker, batch_id, timestamps."},
                "BatchSubmission": {"type": "object", "additionalProperties": false, "properties": {
                    "catalog": {"type": "string", "description": "JSONL or CSV text"},
                    "requests": {"type": "array", "items": {"$ref": "#/components/schemas/GenerationRequest"}},
                    "format": {"enum": ["jsonl", "csv"]},
                    "name": {"type": "string"},
                    "defaults": {"type": "object", "description": "duration_seconds, sample_rate, bit_depth, loudness_target, priority, tracks applied where a line sets none"},
                    "skip_invalid": {"type": "boolean"}}},
                "Event": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "generation_id": {"type": "string"}, "at": {"type": "string", "format": "date-time"},
                    "type": {"enum": ["generation.started", "stage.started", "stage.finished", "track.generated", "track.locked", "generation.succeeded", "generation.failed", "generation.cancelled"]}}},
                "Scene": {"type": "object", "description": "name, description, source_generation, request, context, tracks (track → gen:<id>/<track>), created_at"}
            }
        },
        "security": auth,
        "paths": {
            "/v1/generations": {"post": {
                "summary": "Validate and enqueue one generation",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/GenerationRequest"}}}},
                "responses": with(json!({
                    "202": {"description": "queued", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Submitted"}}}},
                    "200": {"description": "the idempotency key names an existing generation"},
                    "400": error_response("body is not JSON (invalid_json)"),
                    "413": error_response("body over 64 KiB (payload_too_large)"),
                    "415": error_response("not application/json"),
                    "422": error_response("invalid request, with the reason (invalid_request)")}))}},
            "/v1/generations/{id}": {
                "parameters": [id_param("id", "generation id (ULID)")],
                "get": {"summary": "A generation: status, error, response",
                    "responses": with(json!({"200": {"description": "the generation", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Generation"}}}},
                                       "404": error_response("unknown id")}))},
                "delete": {"summary": "Cancel: a queued generation never starts; a running one stops at its next stage boundary",
                    "responses": with(json!({"202": {"description": "cancelled or cancel requested"},
                                       "404": error_response("unknown id"),
                                       "409": error_response("already finished (already_finished)")}))}},
            "/v1/generations/{id}/events": {
                "parameters": [id_param("id", "generation id (ULID)")],
                "get": {"summary": "Progress as server-sent events, replayed from the start (or after Last-Event-ID), ending after the final event",
                    "responses": with(json!({"200": {"description": "text/event-stream; each event's data is an Event", "content": {"text/event-stream": {"schema": {"$ref": "#/components/schemas/Event"}}}},
                                       "404": error_response("unknown id")}))}},
            "/v1/batches": {"post": {
                "summary": "Validate every line of a catalog, then enqueue it in bulk (nothing enqueued on an invalid line unless skip_invalid); re-submitting the same catalog enqueues nothing new",
                "parameters": [{"name": "skip_invalid", "in": "query", "schema": {"type": "boolean"}},
                               {"name": "name", "in": "query", "schema": {"type": "string"}}],
                "requestBody": {"required": true, "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/BatchSubmission"}},
                    "application/x-ndjson": {"schema": {"type": "string"}},
                    "text/csv": {"schema": {"type": "string"}}}},
                "responses": with(json!({"202": {"description": "{batch, new_batch, enqueued, existing, invalid}"},
                                   "413": error_response("catalog over the size limit"),
                                   "422": error_response("invalid lines listed in details.invalid as {line, reason}")}))}},
            "/v1/batches/{id}": {
                "parameters": [id_param("id", "batch id")],
                "get": {"summary": "Counts per state, done, ETA",
                    "responses": with(json!({"200": {"description": "batch status"}, "404": error_response("unknown batch")}))}},
            "/v1/batches/{id}/results": {
                "parameters": [id_param("id", "batch id")],
                "get": {"summary": "One result per request: status, URIs, QA figures, error",
                    "responses": with(json!({"200": {"description": "results"}, "404": error_response("unknown batch")}))}},
            "/v1/scenes": {
                "post": {"summary": "Save a succeeded generation as a named scene",
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["name", "generation_id"],
                        "properties": {"name": {"type": "string"}, "generation_id": {"type": "string"}, "description": {"type": "string"}}}}}},
                    "responses": with(json!({"201": {"description": "the scene", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Scene"}}}},
                                       "404": error_response("unknown generation"), "409": error_response("exists, or the generation has not succeeded"),
                                       "422": error_response("bad name")}))},
                "get": {"summary": "Every scene", "responses": with(json!({"200": {"description": "{scenes: [Scene]}"}}))}},
            "/v1/scenes/{name}": {
                "parameters": [id_param("name", "scene name")],
                "get": {"summary": "One scene", "responses": with(json!({"200": {"description": "the scene"}, "404": error_response("unknown scene")}))},
                "delete": {"summary": "Delete a scene (its generation and stems stay)", "responses": with(json!({"204": {"description": "deleted"}, "404": error_response("unknown scene")}))}},
            "/v1/scenes/{name}/generations": {
                "parameters": [id_param("name", "scene name")],
                "post": {"summary": "Enqueue a generation based on a scene: its tempo, key, length and format; keep lists stems to keep locked",
                    "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {
                        "prompt": {"type": "string"}, "keep": {"type": "array", "items": {"type": "string"}},
                        "seed": {"type": "integer"}, "idempotency_key": {"type": "string"}}}}}},
                    "responses": with(json!({"202": {"description": "queued"}, "404": error_response("unknown scene"), "422": error_response("invalid")}))}},
            "/healthz": {"get": {"summary": "Liveness with a database round trip", "security": [],
                "responses": {"200": {"description": "ok"}, "503": error_response("database unreachable")}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "security": [], "responses": {"200": {"description": "text exposition format"}}}},
            "/v1/openapi.json": {"get": {"summary": "This document", "security": [], "responses": {"200": {"description": "OpenAPI 3.1"}}}}
        }
    }))
}
