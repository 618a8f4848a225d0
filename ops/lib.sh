# Shared setup for ops/run.sh and ops/test.sh: sourced, not run. Brings up whatever is
# missing on a fresh Debian/Ubuntu machine: build tools check, ONNX Runtime library, a local
# Postgres cluster (when DATABASE_URL is unset), and the local-folder object store.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$ROOT/.local"
mkdir -p "$LOCAL"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  command -v apt-get >/dev/null || die "missing $*; install it with your package manager"
  say "installing $* (apt)"
  if [ -z "${RG_APT_UPDATED:-}" ]; then as_root apt-get update -qq >&2; RG_APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

ensure_tools() {
  command -v cargo >/dev/null || die "cargo is not installed (Rust 1.95+: https://rustup.rs)"
  command -v python3 >/dev/null || apt_install python3
  python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
  command -v cc >/dev/null || apt_install build-essential
}

# The General MIDI SoundFont the sampled instruments play (Debian's fluid-soundfont-gm).
ensure_soundfont() {
  if [ -n "${RESONANTGEN_SOUNDFONT:-}" ] && [ -f "$RESONANTGEN_SOUNDFONT" ]; then return; fi
  [ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || apt_install fluid-soundfont-gm
}

# promtool (checks the Prometheus config and unit-tests the alert rules, tests/tests/ops.rs),
# from Debian's `prometheus` package. Only /usr/bin/promtool is unpacked, into .local/bin:
# installing the package would pull in ~37 packages and enable and start a Prometheus server
# (its postinst runs invoke-rc.d/systemctl; without systemd the init script daemonizes one).
ensure_promtool() {
  if command -v promtool >/dev/null; then return; fi
  local bin="$LOCAL/bin"
  if [ ! -x "$bin/promtool" ]; then
    command -v apt-get >/dev/null || die "missing promtool; install Prometheus (it ships promtool)"
    say "unpacking promtool from the Debian prometheus package into $bin"
    if [ -z "${RG_APT_UPDATED:-}" ]; then as_root apt-get update -qq >&2; RG_APT_UPDATED=1; fi
    local tmp deb
    tmp="$(mktemp -d)"
    # As root, apt fetches as the _apt user: let it write there (else it warns and falls back).
    if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$tmp"; fi
    (cd "$tmp" && apt-get download -qq prometheus >&2) || { rm -rf "$tmp"; die "apt-get download prometheus failed"; }
    deb="$(ls "$tmp"/prometheus_*.deb)"
    mkdir -p "$bin"
    dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/bin/promtool >"$bin/promtool.part" \
      || { rm -rf "$tmp" "$bin/promtool.part"; die "could not unpack promtool from $deb"; }
    rm -rf "$tmp"
    chmod +x "$bin/promtool.part"
    mv "$bin/promtool.part" "$bin/promtool"
  fi
  export PATH="$bin:$PATH"
}

# ONNX Runtime shared library from the onnxruntime PyPI wheel.
ensure_ort() {
  ORT_DYLIB_PATH="$("$ROOT/ops/setup-ort.sh")" || die "could not set up ONNX Runtime"
  export ORT_DYLIB_PATH
}

pg_bin() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$d" ]; then
    apt_install postgresql postgresql-contrib
    d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  fi
  [ -n "$d" ] || die "no Postgres server binaries found"
  echo "$d"
}

# Runs a Postgres server command as the cluster owner (initdb refuses root).
pg_as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# A project-local Postgres cluster under .local/pg, started when DATABASE_URL is unset.
ensure_postgres() {
  if [ -n "${DATABASE_URL:-}" ]; then return; fi
  local bin port dir
  bin="$(pg_bin)"
  port="${RESONANTGEN_PG_PORT:-55432}"
  dir="$LOCAL/pg"
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    apt_install postgresql
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    say "creating a local Postgres cluster in $dir"
    mkdir -p "$dir/data" "$dir/sock"
    [ "$(id -u)" = 0 ] && chown -R postgres: "$dir"
    pg_as_owner "$bin/initdb" -D "$dir/data" --auth=trust -U postgres >"$dir/initdb.log" 2>&1 \
      || die "initdb failed: see $dir/initdb.log"
  fi
  if ! pg_as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    # Another server (another checkout's cluster, a system Postgres) may hold the port.
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
      port=$((port + 1))
    done
    echo "$port" >"$dir/port"
    say "starting Postgres on 127.0.0.1:$port"
    pg_as_owner "$bin/pg_ctl" -D "$dir/data" -w -t 60 -l "$dir/server.log" \
      -o "-p $port -k $dir/sock -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" \
      start >/dev/null || die "Postgres did not start: see $dir/server.log"
  fi
  [ -f "$dir/port" ] && port="$(cat "$dir/port")"
  local psql="$bin/psql"
  [ -x "$psql" ] || psql="psql"
  if ! "$psql" -h 127.0.0.1 -p "$port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='resonantgen'" postgres | grep -q 1; then
    "$psql" -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE resonantgen" postgres
  fi
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/resonantgen"
}

# Local-folder store unless S3 is configured.
ensure_store() {
  if [ -z "${RESONANTGEN_S3_BUCKET:-}" ]; then
    export RESONANTGEN_STORE_DIR="${RESONANTGEN_STORE_DIR:-$LOCAL/store}"
    mkdir -p "$RESONANTGEN_STORE_DIR"
  fi
}

# schemathesis (PyPI) in its own virtualenv, for ops/schemathesis.sh; sets SCHEMATHESIS.
# Pinned to a 4.x release (the checks and the config file format of ops/schemathesis.toml).
ensure_schemathesis() {
  local venv="${SCHEMATHESIS_VENV:-$LOCAL/venv-schemathesis}"
  case "$venv" in /*) ;; *) venv="$ROOT/$venv" ;; esac
  if [ ! -x "$venv/bin/schemathesis" ]; then
    say "installing schemathesis into $venv"
    python3 -m venv "$venv" || apt_install python3-venv
    [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install -q "schemathesis>=4.32,<5" >&2 || die "could not install schemathesis"
  fi
  SCHEMATHESIS="$venv/bin/schemathesis"
  export SCHEMATHESIS
}
