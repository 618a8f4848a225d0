#!/usr/bin/env bash
# Fetches the ONNX Runtime shared library from a PyPI wheel (ort's own binary download cannot
# reach its host here) and prints the library path. Idempotent.
#
#   ops/setup-ort.sh         CPU build: the `onnxruntime` wheel -> .local/onnxruntime/
#   ops/setup-ort.sh --gpu   GPU build: the `onnxruntime-gpu` wheel -> .local/onnxruntime-gpu/
#                            (libonnxruntime plus libonnxruntime_providers_{shared,cuda}.so).
#                            It needs the CUDA 12 runtime, cuBLAS and cuDNN 9 on the library
#                            path of the GPU machine (e.g. the nvidia-*-cu12 wheels, or the CUDA
#                            toolkit); then run the worker with
#                            `ORT_DYLIB_PATH=<printed path> resonantgen-worker --device cuda`.
set -euo pipefail
ORT_VERSION="${ORT_VERSION:-1.31.1}"
root="$(cd "$(dirname "$0")/.." && pwd)"
package=onnxruntime
dest="$root/.local/onnxruntime"
if [ "${1:-}" = "--gpu" ]; then
  package=onnxruntime-gpu
  dest="$root/.local/onnxruntime-gpu"
fi
lib="$dest/libonnxruntime.so.$ORT_VERSION"
if [ ! -f "$lib" ]; then
  mkdir -p "$dest"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" "$package==$ORT_VERSION" >&2
  whl="$(ls "$tmp"/*.whl)"
  python3 - "$whl" "$dest" <<'PY'
import sys, zipfile, os
whl, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(whl) as z:
    for n in z.namelist():
        base = os.path.basename(n)
        if n.startswith("onnxruntime/capi/") and base.startswith("libonnxruntime") and ".so" in base:
            with z.open(n) as src, open(os.path.join(dest, base), "wb") as out:
                out.write(src.read())
PY
  [ -f "$lib" ] || { echo "setup-ort: $lib not found in $whl" >&2; exit 1; }
fi
echo "$lib"
