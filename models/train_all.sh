#!/usr/bin/env bash
# Retrains every step model from scratch (deterministic; about 6 minutes on 2 cores, the
# corpus parse cached in models/.cache/ after the first run) and rewrites the .onnx files and
# their manifests. CI never runs this: it loads the committed models.
#
#   bash models/train_all.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet numpy onnx onnxruntime==1.31.1 music21==10.5.1
cd "$here"
for script in train_drums.py train_bass.py train_harmony.py train_melody.py; do
  echo "==> $script" >&2
  "$venv/bin/python" "$script"
done
