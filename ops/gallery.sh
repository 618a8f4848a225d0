#!/usr/bin/env bash
# Renders docs/gallery/: one 30 s render per genre family through the product's own path
# (submit → worker → fetch), a mel-spectrogram PNG of each mix and its stems (ops/spectrogram.py) and a table of what played
# it. A development aid for judging the sound (CI never runs it); the WAVs stay in
# out/gallery/ (not committed), reproducible from the fixed seeds.
#
#   ops/gallery.sh              # every genre family
#   ops/gallery.sh jazz blues   # only these rows (slugs below)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ensure_tools
ensure_ort
ensure_soundfont
ensure_postgres
ensure_store

venv="$LOCAL/venv-gallery"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet numpy matplotlib
fi

say "building (release)"
(cd "$ROOT" && cargo build --release -q -p resonantgen-worker -p resonantgen-scheduler --bins)
BIN="$ROOT/target/release"

# slug | prompt
prompts=(
  "techno|dark techno with driving bass at 128 bpm"
  "house|deep house at 122 with rhodes chords"
  "trance|uplifting trance at 138 with arpeggios"
  "drum-and-bass|liquid drum and bass at 174"
  "trap|trap beat with 808s and rolling hi-hats"
  "hip-hop|boom bap hip hop at 90 bpm with jazzy chords"
  "lo-fi|lofi hip hop study beats"
  "r-and-b|smooth r&b at 85 bpm"
  "pop|upbeat pop song"
  "ballad|slow melancholic piano ballad in E flat major, 70 bpm"
  "rock|indie rock with guitars"
  "metal|heavy metal with double kick"
  "blues|12-bar blues shuffle in E"
  "jazz|jazz trio"
  "bossa-nova|bossa nova with nylon guitar"
  "latin|salsa with piano montuno and trumpets"
  "reggae|roots reggae one drop at 75"
  "funk|funk with slap bass"
  "country|country with fiddle"
  "folk|indie folk, acoustic guitar"
  "cinematic|cinematic orchestral score, epic"
  "ambient|ambient soundscape, calm"
)

if [ $# -gt 0 ]; then
  chosen=()
  for entry in "${prompts[@]}"; do
    for slug in "$@"; do [ "${entry%%|*}" = "$slug" ] && chosen+=("$entry"); done
  done
  [ ${#chosen[@]} -gt 0 ] || die "no gallery row named: $*"
  prompts=("${chosen[@]}")
fi

gallery="$ROOT/docs/gallery"
outdir="$ROOT/out/gallery"
mkdir -p "$gallery" "$outdir"
ids=()
for entry in "${prompts[@]}"; do
  prompt="${entry#*|}"
  id="$("$BIN/resonantgen" submit "$prompt" --duration 30 --seed 7 | awk '{print $1}')"
  ids+=("$id")
done
say "submitted ${#ids[@]}; rendering"
"$BIN/resonantgen-worker" --drain --concurrency 2 --metrics-addr off 2>"$outdir/worker.log"

table="$outdir/table.md"
: >"$table"
for i in "${!prompts[@]}"; do
  slug="${prompts[$i]%%|*}"
  prompt="${prompts[$i]#*|}"
  id="${ids[$i]}"
  "$BIN/resonantgen" wait "$id" --timeout 600 >/dev/null
  rm -rf "$outdir/$slug"
  "$BIN/resonantgen" fetch "$id" -o "$outdir/$slug" >/dev/null
  "$venv/bin/python" "$ROOT/ops/spectrogram.py" "$outdir/$slug" "$gallery/$slug.png" "$prompt"
  python3 - "$outdir/$slug/response.json" "$slug" "$prompt" >>"$table" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
inst = "; ".join(f"{t}: {o.get('instrument') or 'locked'}".split(" (")[0] for t, o in r["tracks"].items())
qa = r["qa"]
names = ["C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
key = lambda k: f"{names[k['tonic']]} {k['mode']}" if k else "-"
print(f"| {sys.argv[2]} | {sys.argv[3]} | {r['context']['genre']} | {r['context']['tempo_bpm']:.0f} / {qa.get('measured_tempo_bpm') or 0:.0f} | "
      f"{key(r['context']['key'])} / {key(qa.get('measured_key'))} | {r['mix']['integrated_lufs']:.1f} | {inst} |")
PY
done
say "wrote $gallery (PNGs) and $table (the rows of docs/gallery/README.md)"
