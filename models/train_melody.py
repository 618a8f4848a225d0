"""Train and export MelodyGen's ONNX step model: a lead melody on a 16th-note grid.

Tokens (27): 0 = rest, 1 = hold (the previous note sustains), 2 + k = note onset k semitones
above the reference tonic (k in 0..24). Melodies are key-relative: transposed so the tonic pitch
class is 0, the octave chosen so the tune's median note lands near k = 9.5, notes outside 0..24
folded by octaves. For each step the model sees the last 16 tokens, the token 32 steps (two bars)
earlier, the step in the bar, the chord sounding at the step (root + chord-tone mask relative to
the tonic) and a conditioning vector (scale mask, note density, phrase position), and outputs a
softmax over the next token. The worker samples it step by step with a seeded RNG.

Training data (music21 corpus, parsed and cached by corpuslib.py under models/.cache/):
  Nottingham dataset tunes (ABC chord symbols), the corpus lead sheets (MusicXML chord symbols),
  a seeded subset of Essen folksongs and Bach chorale soprano lines (chords estimated per half
  bar as the best-fitting diatonic triad; chorales use all four voices). Only 4/4, 2/2 and 2/4
  (bars paired) tunes whose notes sit on the 16th grid. Validation holds out whole tunes.

    models/.venv/bin/pip install numpy onnx onnxruntime==1.31.1 music21==10.5.1
    models/.venv/bin/python models/train_melody.py                       # corpus -> models/melody/
    models/.venv/bin/python models/train_melody.py --midi-dir ~/midi     # corpus + your MIDI files
    models/.venv/bin/python models/train_melody.py --midi-dir ~/midi --only-midi
    models/.venv/bin/python models/train_melody.py --check               # sample the exported model
"""
import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import corpuslib  # noqa: E402
from corpuslib import HOLD, PITCH_RANGE, REST, SCALES, STEPS_PER_BAR, VOCAB  # noqa: E402
from steplib import export_mlp, train_mlp, verify, write_manifest  # noqa: E402

SEED = 20261127
HISTORY = 16
LOOKBACK = 2 * STEPS_PER_BAR
PHRASE_BARS = 4
# note density = onsets / steps, mapped to [0,1]: raw 0.15 (mostly quarter/half notes) -> 0,
# raw 0.50 (mostly eighths) -> 1; corpus tunes span raw 0.19..0.46 (5th..95th percentile)
DENSITY_LO, DENSITY_HI = 0.15, 0.50
INPUTS = [("history", HISTORY * VOCAB), ("two_bars_ago", VOCAB), ("position", STEPS_PER_BAR),
          ("chord", 24), ("cond", 14)]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def scaled_density(raw):
    return float(np.clip((raw - DENSITY_LO) / (DENSITY_HI - DENSITY_LO), 0.0, 1.0))


def scale_mask(mode):
    m = np.zeros(12, np.float32)
    m[list(SCALES[mode])] = 1.0
    return m


def encode(tunes):
    """All steps of all tunes -> the five input blocks, targets and group ids."""
    n = sum(len(t["tokens"]) for t in tunes)
    hist = np.zeros((n, HISTORY * VOCAB), np.float32)
    tba = np.zeros((n, VOCAB), np.float32)
    pos = np.zeros((n, STEPS_PER_BAR), np.float32)
    chord = np.zeros((n, 24), np.float32)
    cond = np.zeros((n, 14), np.float32)
    Y = np.zeros(n, np.int64)
    G = np.zeros(n, np.int64)
    E = np.vstack([np.eye(VOCAB, dtype=np.float32), np.zeros((1, VOCAB), np.float32)])  # row VOCAB = none
    bits = (np.arange(4096)[:, None] >> np.arange(12)[None, :]) & 1
    o = 0
    for gi, t in enumerate(tunes):
        T = np.asarray(t["tokens"], np.int64)
        m = len(T)
        steps = np.arange(m)
        pad = np.concatenate([np.full(HISTORY, VOCAB), T])
        win = np.lib.stride_tricks.sliding_window_view(pad, HISTORY)[:m]
        hist[o : o + m] = E[win].reshape(m, -1)
        back = np.where(steps >= LOOKBACK, T[np.maximum(steps - LOOKBACK, 0)], VOCAB)
        tba[o : o + m] = E[back]
        pos[o + steps, steps % STEPS_PER_BAR] = 1.0
        root = np.asarray(t["chord_root"])
        has = root >= 0
        chord[(o + steps)[has], root[has]] = 1.0
        chord[o : o + m, 12:] = bits[np.asarray(t["chord_mask"])]
        cond[o : o + m, :12] = scale_mask(t["mode"])
        cond[o : o + m, 12] = scaled_density(t["density_raw"])
        bar = steps // STEPS_PER_BAR - (1 if t["pickup"] else 0)
        cond[o : o + m, 13] = (bar % PHRASE_BARS) / (PHRASE_BARS - 1)
        Y[o : o + m] = T
        G[o : o + m] = gi
        o += m
    return [hist, tba, pos, chord, cond], Y, G


# ---------------------------------------------------------------------------------------------
# self-check: sample 8 bars over I-vi-IV-V in major


CHECK_PROG = [(0, (0, 4, 7)), (9, (9, 0, 4)), (5, (5, 9, 0)), (7, (7, 11, 2))]  # I vi IV V
CHECK_PROG_MINOR = [(0, (0, 3, 7)), (8, (8, 0, 3)), (3, (3, 7, 10)), (10, (10, 2, 5))]  # i VI III VII


def sample(sess, n_seqs, n_bars, prog, mode, density, temperature, seed):
    rng = np.random.default_rng(seed)
    n = n_bars * STEPS_PER_BAR
    toks = np.full((n_seqs, n), -1, np.int64)
    E = np.vstack([np.eye(VOCAB, dtype=np.float32), np.zeros((1, VOCAB), np.float32)])
    for t in range(n):
        bar = t // STEPS_PER_BAR
        root, pcs = prog[bar % len(prog)]
        hist_ix = np.full((n_seqs, HISTORY), VOCAB)
        lo = max(0, t - HISTORY)
        if t > 0:
            hist_ix[:, HISTORY - (t - lo):] = toks[:, lo:t]
        back = toks[:, t - LOOKBACK] if t >= LOOKBACK else np.full(n_seqs, VOCAB)
        ch = np.zeros(24, np.float32)
        ch[root] = 1.0
        ch[[12 + p for p in pcs]] = 1.0
        cond = np.concatenate([scale_mask(mode), [density, (bar % PHRASE_BARS) / (PHRASE_BARS - 1)]]).astype(np.float32)
        feed = {
            "history": E[hist_ix].reshape(n_seqs, -1),
            "two_bars_ago": E[back],
            "position": np.tile(np.eye(STEPS_PER_BAR, dtype=np.float32)[t % STEPS_PER_BAR], (n_seqs, 1)),
            "chord": np.tile(ch, (n_seqs, 1)),
            "cond": np.tile(cond, (n_seqs, 1)),
        }
        p = sess.run(None, feed)[0].astype(np.float64)
        p = np.power(np.maximum(p, 1e-12), 1.0 / temperature)
        p /= p.sum(axis=1, keepdims=True)
        u = rng.random((n_seqs, 1))
        toks[:, t] = np.minimum((p.cumsum(axis=1) < u).sum(axis=1), VOCAB - 1)
    return toks


def melody_stats(toks, prog, mode):
    sc = set(SCALES[mode])
    on = in_scale = beats = beat_ct = 0
    for seq in toks:
        for t, x in enumerate(seq):
            if x < 2:
                continue
            pc = (x - 2) % 12
            on += 1
            in_scale += pc in sc
            if t % 4 == 0:
                beats += 1
                beat_ct += pc in prog[(t // STEPS_PER_BAR) % len(prog)][1]
    n_bars = toks.shape[1] / STEPS_PER_BAR
    return {
        "in_scale_pct": round(100.0 * in_scale / max(1, on), 1),
        "chord_tone_on_beat_pct": round(100.0 * beat_ct / max(1, beats), 1),
        "onsets_per_bar": round(on / (len(toks) * n_bars), 2),
        "rest_pct": round(100.0 * float((toks == REST).mean()), 1),
    }


NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]


def render(seq):
    out = []
    for t, x in enumerate(seq):
        if t % STEPS_PER_BAR == 0:
            out.append("|")
        out.append("." if x == REST else "-" if x == HOLD else f"{NAMES[(x - 2) % 12]}{(x - 2) // 12}")
    return " ".join(out) + " |"


def self_check(path, temperature=0.8, density=0.5, n_seqs=32, seed=1):
    import onnxruntime as ort

    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    toks = sample(sess, n_seqs, 8, CHECK_PROG, "major", density, temperature, seed)
    st = melody_stats(toks, CHECK_PROG, "major")
    st.update({"samples": n_seqs, "bars": 8, "progression": "I vi IV V (1 bar each, twice)", "mode": "major",
               "temperature": temperature, "density": density})
    log("self-check (tonic = C, 8 bars of I vi IV V in major):")
    for s in toks[:2]:
        log("  " + render(s))
    log(f"  {json.dumps(st)}")
    toks = sample(sess, n_seqs, 8, CHECK_PROG_MINOR, "minor", density, temperature, seed + 1)
    mn = melody_stats(toks, CHECK_PROG_MINOR, "minor")
    log(f"  minor, i VI III VII: {json.dumps(mn)}")
    st["minor_i_VI_III_VII"] = mn
    return st


def reference_stats(tunes):
    """The same metrics on the training tunes (major, their own chords) for comparison."""
    on = ins = beats = ct = 0
    for t in tunes:
        if t["mode"] != "major":
            continue
        for i, x in enumerate(t["tokens"]):
            if x < 2:
                continue
            pc = (x - 2) % 12
            on += 1
            ins += pc in SCALES["major"]
            if i % 4 == 0:
                beats += 1
                ct += (t["chord_mask"][i] >> pc) & 1
    return {"in_scale_pct": round(100.0 * ins / max(1, on), 1),
            "chord_tone_on_beat_pct": round(100.0 * ct / max(1, beats), 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--midi-dir", help="also train on every .mid/.midi under DIR (top voice = melody)")
    ap.add_argument("--only-midi", action="store_true", help="train on the --midi-dir files only")
    ap.add_argument("--essen", type=int, default=corpuslib.N_ESSEN, help="max Essen folksongs to parse (seeded subset)")
    ap.add_argument("--chorales", type=int, default=corpuslib.N_CHORALES, help="Bach chorales to parse (seeded subset)")
    ap.add_argument("--epochs", type=int, default=7)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--out", default=os.path.join(HERE, "melody"), help="output folder")
    ap.add_argument("--check", action="store_true", help="only sample the exported model and print its stats")
    args = ap.parse_args()
    path = os.path.join(args.out, "melodygen.onnx")
    if args.check:
        self_check(path)
        return
    if args.only_midi and not args.midi_dir:
        ap.error("--only-midi needs --midi-dir")
    t0 = time.time()
    rng = np.random.default_rng(SEED)
    tunes, counts, corpus_counts = [], {}, {}
    if not args.only_midi:
        corpus = corpuslib.load_corpus(n_essen=args.essen, n_chorales=args.chorales)
        tunes += corpus["tunes"]
        corpus_counts = corpus["counts"]
    if args.midi_dir:
        tunes += corpuslib.load_midi_dir(args.midi_dir)
    for t in tunes:
        counts[t["source"]] = counts.get(t["source"], 0) + 1
    if not tunes:
        raise SystemExit("no training tunes")
    raw = np.array([t["density_raw"] for t in tunes])
    log(f"tunes: {counts}; steps {sum(len(t['tokens']) for t in tunes)}; raw density 5/50/95%: "
        f"{np.percentile(raw, [5, 50, 95]).round(3).tolist()}  ({time.time() - t0:.1f} s)")

    X, Y, G = encode(tunes)
    log(f"samples: {len(Y)}  ({time.time() - t0:.1f} s)")
    split = {}
    params, train_ce, val_ce, (n_tr, n_va) = train_mlp(
        X, Y, f"softmax:{VOCAB}", hidden=args.hidden, epochs=args.epochs, rng=rng, lr=2e-3, batch=512,
        groups=G, split_out=split, lr_final=2e-4)
    tr, va = split["train"], split["val"]
    freq = np.bincount(Y[tr], minlength=VOCAB).astype(float) + 1.0
    freq /= freq.sum()
    baseline = float(-np.log(freq[Y[va]]).mean())
    log(f"train CE {train_ce:.4f}  val CE {val_ce:.4f}  unigram baseline {baseline:.4f}  ({time.time() - t0:.1f} s)")

    os.makedirs(args.out, exist_ok=True)
    export_mlp(params, INPUTS, "probs", "softmax", "melodygen_step", path)
    verify(path, INPUTS, X, params, "softmax")
    del X
    check = self_check(path)
    ref = reference_stats(tunes)
    log(f"  training tunes (major, own chords): {ref}")

    data = {}
    if not args.only_midi:
        data["music21_corpus"] = (
            f"nottingham-dataset {counts.get('nottingham', 0)} tunes and leadSheet {counts.get('leadsheet', 0)} "
            f"(written chord symbols); essenFolksong {counts.get('essen', 0)} tunes (seeded subset of "
            f"min({args.essen}, {corpus_counts.get('essen_eligible')} eligible); han* Chinese collections excluded); "
            f"Bach chorale soprano lines {counts.get('chorale', 0)} (subset of {args.chorales}); chords estimated "
            "per half bar as the best-fitting diatonic triad (harmonic-minor V allowed)")
    if args.midi_dir:
        data["midi"] = f"{counts.get('midi', 0)} files from --midi-dir (top voice of the highest part)"
    manifest = {
        "name": "melodygen",
        "version": "1",
        "task": "next-step lead-melody token on a 16th-note grid, key-relative",
        "inputs": {
            "history": f"float32 [batch, {HISTORY * VOCAB}]: one-hot ({VOCAB}) of each of the last {HISTORY} tokens, "
                       "oldest first; all-zero rows before the start",
            "two_bars_ago": f"float32 [batch, {VOCAB}]: one-hot of the token exactly {LOOKBACK} steps earlier "
                            "(zeros if none)",
            "position": f"float32 [batch, {STEPS_PER_BAR}]: one-hot step within the bar",
            "chord": "float32 [batch, 24]: chord sounding at this step relative to the tonic: root pitch class "
                     "one-hot (12), then chord-tone pitch-class mask (12)",
            "cond": "float32 [batch, 14]: scale pitch-class mask relative to the tonic (12; major 0,2,4,5,7,9,11, "
                    "natural minor 0,2,3,5,7,8,10), then note density in [0,1] (see density_scale), then phrase "
                    "position (bar % 4) / 3",
        },
        "outputs": {"probs": f"float32 [batch, {VOCAB}]: softmax over the next token"},
        "vocabulary": {"0": "rest", "1": "hold (the previous note sustains)",
                       "2..26": "note onset k = token - 2 semitones above the reference tonic, k in 0..24"},
        "vocab_size": VOCAB,
        "history_steps": HISTORY,
        "two_bars_ago_steps": LOOKBACK,
        "steps_per_bar": STEPS_PER_BAR,
        "pitch_range_semitones": PITCH_RANGE,
        "reference_tonic": "training melodies were placed so their median note is near k = 9.5 (between 4 and 15); "
                           "a tonic around MIDI 60-67 as k = 0 gives a typical lead range",
        "density_scale": {
            "formula": "clip((onsets / steps - lo) / (hi - lo), 0, 1)",
            "lo": DENSITY_LO,
            "hi": DENSITY_HI,
            "note": "onsets / steps over the whole piece on the 16th grid; 0.25 = a quarter note per beat on "
                    "average, 0.5 = eighths",
        },
        "conditioning": {
            "scale_masks": {m: [int(x) for x in scale_mask(m)] for m in SCALES},
            "phrase_bars": PHRASE_BARS,
            "bar_index": "bar 0 = first full bar (a pickup bar is bar -1 -> phrase position 1.0)",
        },
        "architecture": f"concat -> dense {args.hidden} relu -> dense softmax",
        "training": {
            "data": data,
            "tunes": counts,
            "samples_train": n_tr,
            "samples_val": n_va,
            "validation": "held-out whole tunes (10%)",
            "seed": SEED,
            "epochs": args.epochs,
            "train_ce": round(train_ce, 5),
            "val_ce": round(val_ce, 5),
            "baseline_unigram_ce": round(baseline, 5),
            "self_check": check,
            "reference_training_tunes": ref,
        },
    }
    write_manifest(args.out, "melodygen.onnx", manifest)
    log(f"done in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
