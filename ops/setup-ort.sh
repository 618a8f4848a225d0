#!/usr/bin/env bash
# Fetches the ONNX Runtime shared library from the `onnxruntime` PyPI wheel (ort's own binary
# download cannot reach its host here) into .local/onnxruntime/, and prints the library path.
# Idempotent: does nothing when the library is already there.
set -euo pipefail
ORT_VERSION="${ORT_VERSION:-1.31.1}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.local/onnxruntime"
lib="$dest/libonnxruntime.so.$ORT_VERSION"
if [ ! -f "$lib" ]; then
  mkdir -p "$dest"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" "onnxruntime==$ORT_VERSION" >&2
  whl="$(ls "$tmp"/onnxruntime-*.whl)"
  python3 - "$whl" "$dest" <<'PY'
import sys, zipfile, os
whl, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(whl) as z:
    for n in z.namelist():
        if n.startswith("onnxruntime/capi/libonnxruntime.so"):
            with z.open(n) as src, open(os.path.join(dest, os.path.basename(n)), "wb") as out:
                out.write(src.read())
PY
  [ -f "$lib" ] || { echo "setup-ort: $lib not found in $whl" >&2; exit 1; }
fi
echo "$lib"
