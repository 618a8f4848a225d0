# Shared setup for ops/run.sh and ops/test.sh: sourced, not run. Brings up whatever is
# missing on a fresh Debian/Ubuntu machine: build tools check, ONNX Runtime library, a local
# Postgres cluster (when DATABASE_URL is unset), and the local-folder object store.
#
# RESONANTGEN_LOCAL_DIR moves the .local folder (a scratch copy, for trying these functions
# without touching the real clusters).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="${RESONANTGEN_LOCAL_DIR:-$ROOT/.local}"
mkdir -p "$LOCAL"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  command -v apt-get >/dev/null || die "missing $*; install it with your package manager"
  say "installing $* (apt)"
  if [ -z "${RG_APT_UPDATED:-}" ]; then as_root apt-get update -qq >&2; RG_APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
  # The downloaded .debs (the SoundFont's alone is ~330 MB) are not needed once installed.
  as_root apt-get clean >&2 || true
}

ensure_tools() {
  command -v cargo >/dev/null || die "cargo is not installed (Rust 1.95+: https://rustup.rs)"
  command -v python3 >/dev/null || apt_install python3
  python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
  command -v cc >/dev/null || apt_install build-essential
}

# The General MIDI SoundFont the sampled instruments play: MuseScore General (Debian's
# musescore-general-soundfont-lossless, MIT; ~330 MB download, 490 MB on disk). Without it
# the worker plays FluidR3 GM if present, else its synthesizers (and says so).
ensure_soundfont() {
  if [ -n "${RESONANTGEN_SOUNDFONT:-}" ] && [ -f "$RESONANTGEN_SOUNDFONT" ]; then return; fi
  [ -f /usr/share/sounds/sf2/MuseScore_General_Full.sf2 ] \
    || apt_install --no-install-recommends musescore-general-soundfont-lossless
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

# A project-local Postgres cluster, started when DATABASE_URL is unset (which it then sets).
#   ensure_postgres       .local/pg on port 55432 (RESONANTGEN_PG_PORT): ops/run.sh's data.
#                         Durable: fsync on (and full_page_writes, synchronous_commit at their
#                         defaults).
#   ensure_postgres test  .local/pg-test on port 55433 (RESONANTGEN_PG_TEST_PORT): only the
#                         test suite's throwaway databases, so fsync is OFF there for speed — a
#                         crash may lose them, which costs nothing. run.sh's data never runs
#                         without fsync.
# Both authenticate every connection (scram-sha-256) as `postgres` with a generated random
# password kept in <dir>/password (mode 0600; DATABASE_URL carries it), listen on 127.0.0.1
# only, and keep their Unix socket in <dir>/sock (mode 0700). A cluster made by an older
# version of this script (trust auth for every local user as superuser, fsync off) is
# upgraded in place: the password is set, pg_hba.conf is rewritten to scram-sha-256, and the
# server is restarted with fsync on after its files are flushed (initdb --sync-only).
ensure_postgres() {
  if [ -n "${DATABASE_URL:-}" ]; then return; fi
  local profile="${1:-run}" bin dir port fsync
  case "$profile" in
    run) dir="$LOCAL/pg"; port="${RESONANTGEN_PG_PORT:-55432}"; fsync=on ;;
    test) dir="$LOCAL/pg-test"; port="${RESONANTGEN_PG_TEST_PORT:-55433}"; fsync=off ;;
    *) die "ensure_postgres: unknown profile '$profile' (run or test)" ;;
  esac
  bin="$(pg_bin)"
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    apt_install postgresql
  fi
  local psql="$bin/psql"
  [ -x "$psql" ] || psql="psql"
  local data="$dir/data" pwfile="$dir/password" hba="$dir/data/pg_hba.conf"
  mkdir -p "$dir/sock"
  chmod 700 "$dir/sock"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir" "$dir/sock"

  if [ ! -s "$pwfile" ]; then
    if [ -f "$data/PG_VERSION" ] && ! pg_trusting "$hba"; then
      die "the cluster in $dir asks for a password but $pwfile is missing: restore the file, or remove $dir to start over (its databases are lost)"
    fi
    (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$pwfile.part") \
      || die "could not write $pwfile"
    mv "$pwfile.part" "$pwfile"
  fi
  chmod 600 "$pwfile"
  # initdb --pwfile reads it as the cluster owner.
  [ "$(id -u)" = 0 ] && chown postgres: "$pwfile"
  local pw
  pw="$(cat "$pwfile")"

  if [ ! -f "$data/PG_VERSION" ]; then
    say "creating a local Postgres cluster in $dir (password auth; fsync $fsync)"
    mkdir -p "$data"
    [ "$(id -u)" = 0 ] && chown -R postgres: "$dir"
    local nosync=()
    [ "$fsync" = off ] && nosync=(--no-sync)
    pg_as_owner "$bin/initdb" -D "$data" -U postgres -E UTF8 --auth=scram-sha-256 \
      --pwfile="$pwfile" "${nosync[@]}" >"$dir/initdb.log" 2>&1 \
      || die "initdb failed: see $dir/initdb.log"
  fi

  local opts="-p PORT -k $dir/sock -c listen_addresses=127.0.0.1 -c unix_socket_permissions=0700 -c max_connections=300 -c fsync=$fsync"
  local running=""
  pg_as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1 && running=1
  if [ -n "$running" ] && [ -f "$dir/port" ]; then port="$(cat "$dir/port")"; fi

  # An older script's cluster: trust for everyone. Set the password while trust still lets
  # us in, then require it.
  if pg_trusting "$hba"; then
    say "upgrading the Postgres cluster in $dir: trust auth → password (scram-sha-256)"
    [ -n "$running" ] || { pg_start "$bin" "$dir" "$port" "$opts" "$fsync"; running=1; port="$(cat "$dir/port")"; }
    printf "SET password_encryption = 'scram-sha-256';\nALTER ROLE postgres PASSWORD '%s';\n" "$pw" \
      | "$psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres -f - \
      || die "could not set the postgres password in $dir"
    pg_write_hba "$hba"
    pg_as_owner "$bin/pg_ctl" -D "$data" reload >/dev/null || die "pg_ctl reload failed in $dir"
  fi

  if [ -n "$running" ]; then
    # Started by an older script (fsync=off on every cluster) or with other options.
    local now
    now="$(PGPASSWORD="$pw" "$psql" -X -tA -h 127.0.0.1 -p "$port" -U postgres -d postgres \
      -c "SELECT current_setting('fsync') || ' ' || current_setting('listen_addresses')")" \
      || die "cannot log in to the Postgres in $dir with the password in $pwfile"
    if [ "$now" != "$fsync 127.0.0.1" ]; then
      say "restarting the Postgres in $dir (now: fsync/listen '$now'; wanted: fsync $fsync on 127.0.0.1)"
      pg_as_owner "$bin/pg_ctl" -D "$data" -w -t 60 -m fast stop >/dev/null \
        || die "could not stop the Postgres in $dir"
      running=""
    fi
  fi
  [ -n "$running" ] || pg_start "$bin" "$dir" "$port" "$opts" "$fsync"
  port="$(cat "$dir/port")"
  if ! PGPASSWORD="$pw" "$psql" -X -h 127.0.0.1 -p "$port" -U postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname='resonantgen'" postgres | grep -q 1; then
    PGPASSWORD="$pw" "$psql" -X -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE resonantgen" postgres \
      || die "could not create the resonantgen database in $dir"
  fi
  export DATABASE_URL="postgres://postgres:$pw@127.0.0.1:$port/resonantgen"
}

# Whether a pg_hba.conf lets anyone in without a password (`trust`, as older versions of
# this script set up).
pg_trusting() {
  [ -f "$1" ] && grep -Eq '^[[:space:]]*(local|host)[^#]*[[:space:]]trust([[:space:]]|$)' "$1"
}

# Password for every connection; TCP from loopback only.
pg_write_hba() {
  local hba="$1"
  cp -p "$hba" "$hba.trust-backup"
  cat >"$hba.part" <<'HBA'
# Written by ops/lib.sh: every connection needs the password (scram-sha-256); TCP only from
# loopback. The server listens on 127.0.0.1 only.
# TYPE  DATABASE        USER            ADDRESS                 METHOD
local   all             all                                     scram-sha-256
host    all             all             127.0.0.1/32            scram-sha-256
host    all             all             ::1/128                 scram-sha-256
local   replication     all                                     scram-sha-256
host    replication     all             127.0.0.1/32            scram-sha-256
host    replication     all             ::1/128                 scram-sha-256
HBA
  chmod 600 "$hba.part"
  [ "$(id -u)" = 0 ] && chown postgres: "$hba.part"
  mv "$hba.part" "$hba"
}

# Starts the cluster in $2 on port $3 or the next free one (another checkout's cluster or a
# system Postgres may hold it); OPTS ($4) has PORT where the port goes; $5 is fsync (on|off).
# Records the port.
pg_start() {
  local bin="$1" dir="$2" port="$3" opts="$4" fsync="$5"
  # Turning fsync on: first flush what a server running without it may have left unsynced
  # (postmaster.opts holds the options of its last start).
  if [ "$fsync" = on ] && grep -q 'fsync=off' "$dir/data/postmaster.opts" 2>/dev/null; then
    say "flushing $dir/data to disk (it last ran with fsync off)"
    pg_as_owner "$bin/initdb" -D "$dir/data" --sync-only >>"$dir/initdb.log" 2>&1 \
      || die "initdb --sync-only failed: see $dir/initdb.log"
  fi
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    port=$((port + 1))
  done
  echo "$port" >"$dir/port"
  say "starting Postgres on 127.0.0.1:$port ($dir)"
  pg_as_owner "$bin/pg_ctl" -D "$dir/data" -w -t 60 -l "$dir/server.log" \
    -o "${opts/PORT/$port}" start >/dev/null || die "Postgres did not start: see $dir/server.log"
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
    # CPython before 3.11.8 can fail inside hypothesis with "AST constructor recursion
    # depth mismatch" (a CPython bug, fixed in 3.11.8/3.12): take a newer Python when there is one.
    local py=python3 v
    for v in python3.13 python3.12; do
      if command -v "$v" >/dev/null 2>&1; then py="$v"; break; fi
    done
    say "installing schemathesis into $venv ($("$py" --version 2>&1))"
    "$py" -m venv "$venv" || apt_install python3-venv
    [ -x "$venv/bin/pip" ] || "$py" -m venv "$venv"
    "$venv/bin/pip" install -q "schemathesis>=4.32,<5" >&2 || die "could not install schemathesis"
  fi
  SCHEMATHESIS="$venv/bin/schemathesis"
  export SCHEMATHESIS
}
