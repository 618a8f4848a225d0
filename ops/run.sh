#!/usr/bin/env bash
# The main job end to end on embedded defaults:
#   ops/run.sh "dark techno with driving bass at 128 bpm" [resonantgen submit flags...]
# Sets up what is missing (ONNX Runtime, a local Postgres — durable and password-protected,
# see ensure_postgres in lib.sh —, the local-folder store), builds,
# submits the request, runs a worker until the queue is drained, fetches the result into
# out/<id>/ and prints a summary.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[ $# -ge 1 ] || die "usage: ops/run.sh \"PROMPT\" [submit flags, e.g. --duration 30 --seed 7]"
ensure_tools
ensure_ort
ensure_soundfont
ensure_postgres
ensure_store

say "building the worker and the CLI (release; the first build takes a few minutes)"
(cd "$ROOT" && cargo build --release -q -p resonantgen-worker -p resonantgen-scheduler --bins)
BIN="$ROOT/target/release"

id="$("$BIN/resonantgen" submit "$@" | awk '{print $1}')"
[ -n "$id" ] || die "submit printed no id"
say "submitted $id; rendering"

log="$LOCAL/worker.log"
"$BIN/resonantgen-worker" --drain --concurrency "${RESONANTGEN_CONCURRENCY:-2}" \
  --metrics-addr "${RESONANTGEN_METRICS_ADDR:-off}" 2>"$log" &
worker=$!
trap 'kill -TERM $worker 2>/dev/null || true' EXIT

"$BIN/resonantgen" wait "$id" --timeout "${RESONANTGEN_WAIT_SECS:-900}" >/dev/null || {
  "$BIN/resonantgen" status "$id" >&2 || true
  echo "worker log: $log" >&2
  exit 1
}
wait "$worker" 2>/dev/null || true
trap - EXIT

out="$ROOT/out/$id"
"$BIN/resonantgen" fetch "$id" -o "$out" >/dev/null
"$BIN/resonantgen" summary "$id"
echo "output      $out"
