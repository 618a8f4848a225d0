#!/usr/bin/env bash
# Runs every test: sets up ONNX Runtime and a local Postgres (unless DATABASE_URL is set),
# builds the binaries the end-to-end tests start, then `cargo test` over the workspace. The
# S3-compatible server (s3s-fs) runs inside the tests.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ensure_tools
ensure_ort
ensure_soundfont
ensure_postgres
ensure_promtool

cd "$ROOT"
say "checking formatting"
cargo fmt --all -- --check
say "linting"
cargo clippy --workspace --all-targets -q -- -D warnings
say "building"
cargo build --workspace --bins --tests -q
say "testing"
cargo test --workspace -q -- "$@"
