"""Train and export HarmonyGen's ONNX step model: the next bar's chord as a diatonic scale degree.

Token d in 0..6 = the diatonic triad on degree d of the mode. The model sees the last 4 bars'
chords, the bar's position in an 8-bar phrase and a conditioning vector (mode one-hot, style
family one-hot, energy) and outputs a softmax over the 7 degrees. The worker samples it bar by
bar with a seeded RNG.

Training data, all expanded into 16-32-bar sequences:
  (a) harmony/progressions.json, authored for this project: per style family idiomatic 4- and
      8-bar progressions tagged with the modes they suit, cycled with phrase-end turnarounds,
      section changes to another progression of the family, occasional functional substitutions
      and (at low energy) half-time harmonic rhythm;
  (b) a functional-harmony grammar (tonic -> predominant -> dominant -> tonic, authentic or half
      cadences at 8-bar phrase ends) in major and minor;
  (c) real music from the music21 corpus, family "folk": the Nottingham dataset (downbeat ABC
      chord symbols -> degree in the tune's key), the two corpus lead sheets (MusicXML chord
      symbols) and Essen folksongs (per-bar best-fitting diatonic triad of the melody, see
      corpuslib.py; shares train_melody.py's cache).
Validation holds out whole progressions / grammar walks / tunes.

    models/.venv/bin/pip install numpy onnx onnxruntime==1.31.1 music21==10.5.1
    models/.venv/bin/python models/train_harmony.py   # writes models/harmony/harmonygen.onnx + manifest.json
    models/.venv/bin/python models/train_harmony.py --check   # sample the exported model
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
from steplib import export_mlp, one_hot, train_mlp, verify, write_manifest  # noqa: E402

OUT = os.path.join(HERE, "harmony")
SEED = 20261127
HISTORY = 4
PHRASE = 8
N_DEG = 7
# turnaround chords (last bar of an 8-bar phrase) per mode
TURNAROUND = {"major": [4], "minor": [4, 6], "dorian": [6, 3], "phrygian": [1], "lydian": [1, 4], "mixolydian": [6, 3]}
# functional substitutes (same function) used for occasional variation in major / minor
SUBSTITUTE = {"major": {0: [5, 2], 5: [0], 3: [1], 1: [3], 4: [6]}, "minor": {0: [5], 5: [0, 3], 3: [1, 5], 2: [0]}}
THEORY_FAMILIES = ["pop", "rock", "folk", "soul", "cinematic", "latin"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def perform(rng, prog, pool, n_bars, energy, mode, turnaround_p):
    """A performance of a library progression: cycled, with section changes and variation."""
    def expand(p):
        # low energy: slower harmonic rhythm (each chord held 2 bars) for 4-bar progressions
        if len(p) == 4 and rng.random() < 0.5 * (1.0 - energy):
            return [d for d in p for _ in range(2)]
        return list(p)

    cur = expand(prog)
    start = 0
    seq = []
    for b in range(n_bars):
        if b > 0 and b % PHRASE == 0 and len(pool) > 1 and rng.random() < 0.25:
            cur = expand(pool[rng.integers(len(pool))])
            start = b
        d = cur[(b - start) % len(cur)]
        if b % PHRASE == PHRASE - 1 and rng.random() < turnaround_p:
            d = int(rng.choice(TURNAROUND[mode]))
        elif mode in SUBSTITUTE and d in SUBSTITUTE[mode] and rng.random() < 0.04:
            d = int(rng.choice(SUBSTITUTE[mode][d]))
        seq.append(int(d))
    return seq


def theory_walk(rng, mode, n_bars):
    """Functional harmony: T -> S -> D -> T walks, cadences on 8-bar phrase ends."""
    if mode == "major":
        fn = {"T": ([0, 5, 2], [0.65, 0.25, 0.10]), "S": ([3, 1], [0.55, 0.45]), "D": ([4, 6], [0.88, 0.12])}
    else:
        fn = {"T": ([0, 5, 2], [0.7, 0.15, 0.15]), "S": ([3, 5, 1], [0.6, 0.3, 0.1]), "D": ([4, 6], [0.7, 0.3])}
    nxt = {"T": (["T", "S", "D"], [0.2, 0.5, 0.3]), "S": (["S", "D", "T"], [0.25, 0.6, 0.15]), "D": (["T", "D"], [0.8, 0.2])}

    def pick(f):
        ch, p = fn[f]
        return int(rng.choice(ch, p=p))

    seq = []
    f, d = "T", 0
    for b in range(n_bars):
        pos = b % PHRASE
        if pos == 0:
            f, d = "T", 0 if rng.random() < 0.85 else pick("T")
        elif pos == PHRASE - 2:
            authentic = rng.random() < 0.7
            f = "D" if authentic else "S"
            d = pick(f)
        elif pos == PHRASE - 1:
            if f == "D":  # authentic cadence (sometimes deceptive)
                f, d = "T", 0 if rng.random() < 0.88 else 5
            else:  # half cadence
                f, d = "D", 4
        elif rng.random() < 0.25:
            pass  # chord held another bar
        else:
            ch, p = nxt[f]
            f = str(rng.choice(ch, p=p))
            d = pick(f)
        seq.append(d)
    return seq


def tune_sequences(rng, corpus):
    """(degrees, mode, group) from the corpus tunes; non-diatonic downbeat chords are replaced
    by the previous chord, tunes with more than 25% of them are dropped."""
    out, counts = [], {}
    for t in corpus["tunes"]:
        if t["source"] not in ("nottingham", "leadsheet", "essen"):
            continue
        degs = t["bar_degrees"][1:] if t["pickup"] else list(t["bar_degrees"])
        if len(degs) < 4 or sum(d < 0 for d in degs) > 0.25 * len(degs):
            continue
        prev = 0
        clean = []
        for d in degs:
            prev = d if d >= 0 else prev
            clean.append(prev)
        target = int(rng.integers(16, 33))
        seq = (clean * (target // len(clean) + 1))[: max(target, min(len(clean), 32))]
        out.append((seq, t["mode"], t["id"], t["source"]))
        counts[t["source"]] = counts.get(t["source"], 0) + 1
    return out, counts


def encode(seqs, families, modes):
    """seqs: [(degrees, mode, family, energy, group, source)] -> inputs, targets, groups, sources."""
    H, P, C, Y, G, S = [], [], [], [], [], []
    fam_ix = {f: i for i, f in enumerate(families)}
    mode_ix = {m: i for i, m in enumerate(modes)}
    eye8 = np.eye(8, dtype=np.float32)
    for degs, mode, fam, energy, group, source in seqs:
        cond = np.concatenate([one_hot(mode_ix[mode], len(modes)), one_hot(fam_ix[fam], len(families)),
                               np.array([energy], np.float32)])
        toks = [0] * HISTORY + [d + 1 for d in degs]
        for t, d in enumerate(degs):
            H.append(eye8[toks[t : t + HISTORY]].reshape(-1))
            P.append(one_hot(t % PHRASE, PHRASE))
            C.append(cond)
            Y.append(d)
            G.append(group)
            S.append(source)
    return (np.array(H), np.array(P), np.array(C)), np.array(Y), np.array(G), np.array(S)


CHECK_CASES = [("pop", "major", 0.7), ("edm", "minor", 0.8), ("dark_edm", "phrygian", 0.8), ("jazz", "major", 0.5),
               ("folk", "major", 0.5), ("soul", "dorian", 0.6), ("rock", "mixolydian", 0.8),
               ("ambient", "lydian", 0.1), ("cinematic", "minor", 0.3)]


def self_check(path, seed=1, temperature=1.0):
    """Samples 16 bars per (family, mode) and prints them as Roman numerals."""
    import onnxruntime as ort

    with open(os.path.join(os.path.dirname(path), "manifest.json")) as f:
        man = json.load(f)
    modes, families = man["modes"], man["families"]
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    names = ["I", "II", "III", "IV", "V", "VI", "VII"]
    eye8 = np.eye(8, dtype=np.float32)
    for fam, mode, energy in CHECK_CASES:
        cond = np.concatenate([one_hot(modes.index(mode), len(modes)), one_hot(families.index(fam), len(families)),
                               np.array([energy], np.float32)])[None]
        toks, out = [0] * HISTORY, []
        for b in range(16):
            feed = {"history": eye8[toks[-HISTORY:]].reshape(1, -1), "position": one_hot(b % PHRASE, PHRASE)[None],
                    "cond": cond}
            p = sess.run(None, feed)[0][0].astype(np.float64) ** (1.0 / temperature)
            d = int(rng.choice(N_DEG, p=p / p.sum()))
            out.append(names[d])
            toks.append(d + 1)
        log(f"  {fam:10s} {mode:10s} energy {energy:.1f}: " + " ".join(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--hidden", type=int, default=96)
    ap.add_argument("--check", action="store_true", help="only sample the exported model (16 bars per family)")
    args = ap.parse_args()
    if args.check:
        self_check(os.path.join(OUT, "harmonygen.onnx"))
        return
    t0 = time.time()
    rng = np.random.default_rng(SEED)
    with open(os.path.join(OUT, "progressions.json")) as f:
        lib = json.load(f)
    modes = lib["modes"]
    families = list(lib["families"].keys())
    genre_family = lib["genre_family"]

    seqs = []
    n_prog = 0
    per_family = 260  # performances per family, spread over its (progression, mode) pairs
    for fam in families:
        progs = lib["families"][fam]["progressions"]
        tp = lib["families"][fam]["turnaround"]
        pairs = [(pi, m) for pi, p in enumerate(progs) for m in p["modes"]]
        n_prog += len(progs)
        reps = int(np.ceil(per_family / len(pairs)))
        for pi, m in pairs:
            pool = [p["degrees"] for p in progs if m in p["modes"]]
            for _ in range(reps):
                energy = float(rng.random())
                n_bars = int(rng.integers(16, 33))
                seq = perform(rng, progs[pi]["degrees"], pool, n_bars, energy, m, tp)
                # group = the progression itself, so validation plays unseen progressions
                seqs.append((seq, m, fam, energy, "lib/" + ",".join(map(str, progs[pi]["degrees"])), "library"))
    n_lib = len(seqs)
    n_theory = 1200
    for i in range(n_theory):
        m = "major" if rng.random() < 0.6 else "minor"
        fam = THEORY_FAMILIES[rng.integers(len(THEORY_FAMILIES))]
        seqs.append((theory_walk(rng, m, int(rng.choice([16, 24, 32]))), m, fam, float(rng.random()),
                     f"theory/{i}", "theory"))
    corpus = corpuslib.load_corpus()
    tunes, tune_counts = tune_sequences(rng, corpus)
    for seq, m, tid, src in tunes:
        seqs.append((seq, m, "folk", float(rng.random()), tid, src))
    log(f"sequences: library {n_lib}, theory {n_theory}, corpus {len(tunes)} {tune_counts}")

    X, Y, G, S = encode(seqs, families, modes)
    log(f"samples: {len(Y)}  ({time.time() - t0:.1f} s)")
    split = {}
    params, train_ce, val_ce, (n_tr, n_va) = train_mlp(
        X, Y, f"softmax:{N_DEG}", hidden=args.hidden, epochs=args.epochs, rng=rng, lr=2e-3, groups=G,
        split_out=split, lr_final=2e-4)

    # baselines and per-source validation CE on the same split
    tr, va = split["train"], split["val"]
    freq = np.bincount(Y[tr], minlength=N_DEG).astype(float) + 1.0
    freq /= freq.sum()
    baseline = float(-np.log(freq[Y[va]]).mean())
    Xc = np.concatenate(X, axis=1)
    z = np.maximum(Xc[va] @ params[0] + params[1], 0) @ params[2] + params[3]
    z -= z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    nll = -logp[np.arange(len(va)), Y[va]]
    per_source = {}
    for src in np.unique(S[va]):
        msk = S[va] == src
        per_source[str(src)] = {"samples": int(msk.sum()), "val_ce": round(float(nll[msk].mean()), 4),
                                "baseline_unigram_ce": round(float(-np.log(freq[Y[va][msk]]).mean()), 4)}
    log(f"train CE {train_ce:.4f}  val CE {val_ce:.4f}  unigram baseline {baseline:.4f}  {per_source}")

    inputs = [("history", HISTORY * 8), ("position", PHRASE), ("cond", len(modes) + len(families) + 1)]
    path = os.path.join(OUT, "harmonygen.onnx")
    export_mlp(params, inputs, "probs", "softmax", "harmonygen_step", path)
    verify(path, inputs, X, params, "softmax")

    n_cond = len(modes) + len(families) + 1
    manifest = {
        "name": "harmonygen",
        "version": "1",
        "task": "next-bar chord as a diatonic scale degree of the mode (0 = I ... 6 = VII)",
        "inputs": {
            "history": f"float32 [batch, {HISTORY * 8}]: last {HISTORY} bars' chords, oldest first, each one-hot of 8 "
                       "(index 0 = no chord yet / before the start, index d+1 = degree d)",
            "position": f"float32 [batch, {PHRASE}]: one-hot bar index within an {PHRASE}-bar phrase (bar % {PHRASE})",
            "cond": f"float32 [batch, {n_cond}]: mode one-hot (order of 'modes'), then style family one-hot "
                    "(order of 'families'), then energy in [0,1]",
        },
        "outputs": {"probs": f"float32 [batch, {N_DEG}]: softmax over scale degrees 0..6"},
        "vocabulary": {str(d): f"diatonic triad on scale degree {d} of the mode ({r})"
                       for d, r in enumerate(["I", "II", "III", "IV", "V", "VI", "VII"])},
        "conditioning": {
            "layout": ["mode one-hot x6", f"family one-hot x{len(families)}", "energy"],
            "modes": modes,
            "families": families,
            "energy": "0 = calm (slower harmonic rhythm more likely), 1 = driving",
        },
        "modes": modes,
        "families": families,
        "genre_family": genre_family,
        "history_bars": HISTORY,
        "phrase_bars": PHRASE,
        "architecture": f"concat -> dense {args.hidden} relu -> dense softmax",
        "training": {
            "data": {
                "library": f"models/harmony/progressions.json: {n_prog} authored progressions in {len(families)} "
                           f"families, {n_lib} seeded performances (cycled, turnarounds, section changes)",
                "theory": f"{n_theory} functional-harmony grammar walks (major/minor), families {THEORY_FAMILIES}",
                "corpus": f"music21 corpus tunes as family 'folk': {tune_counts} "
                          "(nottingham/leadsheet: downbeat chord symbols; essen: per-bar best-fit diatonic triad "
                          "of the melody)",
            },
            "samples_train": n_tr,
            "samples_val": n_va,
            "validation": "held-out whole progressions / grammar walks / tunes (10% of groups)",
            "seed": SEED,
            "epochs": args.epochs,
            "train_ce": round(train_ce, 5),
            "val_ce": round(val_ce, 5),
            "baseline_unigram_ce": round(baseline, 5),
            "val_by_source": per_source,
        },
    }
    write_manifest(OUT, "harmonygen.onnx", manifest)
    log("self-check, sampled at temperature 1:")
    self_check(path)
    log(f"done in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
