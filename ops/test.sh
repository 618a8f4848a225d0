#!/usr/bin/env bash
# Runs every test: sets up ONNX Runtime and a local Postgres (unless DATABASE_URL is set),
# builds the binaries the end-to-end tests start, then `cargo test` over the workspace. The
# S3-compatible server (s3s-fs) runs inside the tests.
#
# The tests get their own cluster, .local/pg-test (port 55433), which runs with fsync=off for
# speed: it only ever holds throwaway test databases. ops/run.sh's cluster (.local/pg) always
# runs with fsync on. Both require the generated password (ops/lib.sh, ensure_postgres).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ensure_tools
ensure_ort
ensure_soundfont
ensure_postgres test
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
