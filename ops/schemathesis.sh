#!/usr/bin/env bash
# Checks the HTTP API against its own OpenAPI document with schemathesis (PyPI):
#   ops/schemathesis.sh [extra `schemathesis run` flags]
# Sets up what is missing (a local Postgres unless DATABASE_URL is set, schemathesis in a
# virtualenv at SCHEMATHESIS_VENV, default .local/venv-schemathesis), builds the CLI, makes a
# throwaway database, serves the API on a free loopback port with two submit+read tokens —
# two identities, so schemathesis also checks that neither can read the other's objects — and
# runs `schemathesis run --checks all` over every operation, at most SCHEMATHESIS_MAX_EXAMPLES
# (default 40) test cases each, seeded by SCHEMATHESIS_SEED (default 1). Exits non-zero on
# any failure. Settings: ops/schemathesis.toml.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ensure_tools
ensure_postgres
ensure_schemathesis

cd "$ROOT"
if [ -z "${RESONANTGEN_BIN_DIR:-}" ]; then
  say "building resonantgen"
  cargo build -q --workspace --bins
fi
BIN="${RESONANTGEN_BIN_DIR:-$ROOT/target/debug}"

tmp="$(mktemp -d)"
db="rg_schemathesis_$(date +%s)_$$"
base="${DATABASE_URL%/*}"
psql="$(command -v psql || echo "$(pg_bin)/psql")"
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  "$psql" -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
"$psql" -q "$DATABASE_URL" -c "CREATE DATABASE $db" >/dev/null

# Two identities with the document's whole priority range and no rate limit or quota (the
# limits have their own tests; here they would only turn cases into 429s).
alice="st-alice-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
bob="st-bob-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
cat >"$tmp/tokens.json" <<JSON
{"tokens": [
  {"id": "alice", "secret": "$alice", "scopes": ["submit", "read"], "priority": {"min": 0, "max": 1000},
   "rate_limit": {"per_second": 0, "burst": 1}, "max_concurrent_jobs": 0},
  {"id": "bob", "secret": "$bob", "scopes": ["submit", "read"], "priority": {"min": 0, "max": 1000},
   "rate_limit": {"per_second": 0, "burst": 1}, "max_concurrent_jobs": 0}]}
JSON
cat >"$tmp/auth.json" <<JSON
{"auth": [
  {"name": "alice", "fixedHeaders": [{"name": "Authorization", "value": "Bearer $alice"}]},
  {"name": "bob", "fixedHeaders": [{"name": "Authorization", "value": "Bearer $bob"}]}]}
JSON

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
DATABASE_URL="$base/$db" RUST_LOG="${RUST_LOG:-warn}" "$BIN/resonantgen" serve \
  --listen "127.0.0.1:$port" --tokens-file "$tmp/tokens.json" 2>"$tmp/serve.log" &
server=$!
for _ in $(seq 1 150); do
  if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/healthz', timeout=1)" 2>/dev/null; then
    break
  fi
  kill -0 "$server" 2>/dev/null || { cat "$tmp/serve.log" >&2; die "resonantgen serve exited"; }
  sleep 0.2
done

say "schemathesis against http://127.0.0.1:$port/v1/openapi.json"
status=0
"$SCHEMATHESIS" --config-file "$ROOT/ops/schemathesis.toml" run \
  "http://127.0.0.1:$port/v1/openapi.json" \
  --checks all \
  --auth-wfc "$tmp/auth.json" \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-40}" \
  --seed "${SCHEMATHESIS_SEED:-1}" \
  --request-timeout 20 \
  --workers 2 \
  --generation-database none \
  --no-color \
  "$@" || status=$?
if [ "$status" != 0 ]; then
  echo "server log (last 40 lines):" >&2
  tail -n 40 "$tmp/serve.log" >&2 || true
fi
exit "$status"
