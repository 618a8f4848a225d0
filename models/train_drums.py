"""Train and export DrumGen's ONNX step model.

The model predicts, for the next sixteenth-note step, the probability that each drum voice hits
(kick, snare, clap, closed/open hat, ride, crash, high/low tom, percussion), from the last 24
steps of all voices, the step's position in the bar (one-hot over 24 steps, the longest bar),
the bar's position in an 8-bar phrase and a conditioning vector (genre one-hot + meter one-hot +
energy). The worker samples it autoregressively with a seeded RNG.

Training data: the genre pattern library in drums/patterns.json (authored for this project),
expanded into long sequences with the variations a drummer plays: dropped ghost hits, extra hats,
crashes on phrase starts, snare and tom fills at phrase ends, sparser playing at low energy.
4/4 performances play each genre's own patterns; 3/4, 5/4, 6/8, 7/8 and 12/8 performances of a
genre play the patterns of its feel ("feels" and "meters" in the library).
Pure numpy (no torch, see steplib.py): a 2-layer MLP trained with Adam on binary cross-entropy,
exported with onnx.helper and checked in onnxruntime.

    models/.venv/bin/python models/train_drums.py   # writes models/drums/drumgen.onnx + manifest.json
"""
import json
import os

import numpy as np

from steplib import export_mlp, one_hot, train_mlp, verify, write_manifest

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "drums")
HISTORY = 24
POSITIONS = 24
PHRASE_BARS = 8
# The meters, their bar length in 16ths and felt beats (core/src/meter.rs says the same).
METERS = ["4/4", "3/4", "5/4", "6/8", "7/8", "12/8"]
METER_STEPS = {"4/4": 16, "3/4": 12, "5/4": 20, "6/8": 12, "7/8": 14, "12/8": 24}
METER_BEATS = {
    "4/4": [0, 4, 8, 12],
    "3/4": [0, 4, 8],
    "5/4": [0, 4, 8, 12, 16],
    "6/8": [0, 6],
    "7/8": [0, 4, 8],
    "12/8": [0, 6, 12, 18],
}
SEED = 20261127


def to_bar(p, voices, steps, where):
    bar = np.zeros((steps, len(voices)), dtype=np.float32)
    for vi, v in enumerate(voices):
        s = p.get(v, "." * steps)
        assert len(s) == steps, (where, v, s)
        for i, ch in enumerate(s):
            bar[i, vi] = 1.0 if ch in "xo" else 0.0
    return bar


def load_library(path):
    """patterns[meter][genre]: one-bar arrays; 4/4 from each genre, other meters by feel."""
    with open(path) as f:
        lib = json.load(f)
    voices = lib["voices"]
    genres = sorted(lib["genres"].keys())
    patterns = {m: {} for m in METERS}
    for g in genres:
        patterns["4/4"][g] = [to_bar(p, voices, 16, g) for p in lib["genres"][g]]
        feel = lib["feels"][g]
        for m in METERS[1:]:
            patterns[m][g] = [
                to_bar(p, voices, METER_STEPS[m], (m, feel)) for p in lib["meters"][m][feel]
            ]
    return voices, genres, patterns


def sequence(rng, bars, voices, n_bars, energy, meter="4/4"):
    """One performance: bars of the genre's patterns in `meter` with human variation."""
    STEPS_PER_BAR = METER_STEPS[meter]
    beats = METER_BEATS[meter]
    half = beats[len(beats) // 2] if len(beats) > 1 else STEPS_PER_BAR // 2
    last = beats[-1]
    out = []
    current = bars[rng.integers(len(bars))]
    V = {v: voices.index(v) for v in voices}
    kick, snare, hat_c, perc = V["kick"], V["snare"], V["hat_closed"], V["perc"]
    four_on_floor = all(b[beats, kick].all() for b in bars)
    filled = False
    for b in range(n_bars):
        if b % 4 == 0 and rng.random() < 0.3:
            current = bars[rng.integers(len(bars))]
        bar = current.copy()
        # low energy drops hats and percussion, high energy adds hats
        drop = 0.05 + 0.35 * (1.0 - energy)
        for v in (hat_c, perc):
            mask = rng.random(STEPS_PER_BAR) < drop
            bar[mask, v] = 0.0
        if energy > 0.6:
            add = rng.random(STEPS_PER_BAR) < 0.08 * energy
            bar[add, hat_c] = 1.0
        # occasional ghost kick removal, never the four-on-the-floor backbone
        if not four_on_floor:
            for i in range(STEPS_PER_BAR):
                if i not in beats and bar[i, kick] and rng.random() < 0.1:
                    bar[i, kick] = 0.0
        # a crash marks the start of a phrase, above all after a fill
        if b % PHRASE_BARS == 0 and b > 0 and rng.random() < (0.9 if filled else 0.5):
            bar[0, V["crash"]] = 1.0
            bar[0, kick] = 1.0
            bar[0, hat_c] = 0.0
        filled = False
        # fills: toms rolling down at the end of 8-bar phrases, snare at the end of 4-bar ones
        if b % PHRASE_BARS == PHRASE_BARS - 1 and rng.random() < 0.55:
            start = half if rng.random() < 0.5 else last
            bar[start:, [hat_c, V["hat_open"], V["ride"], perc]] = 0.0
            for i in range(start, STEPS_PER_BAR):
                if rng.random() < 0.25 + 0.5 * energy:
                    high = i < start + (STEPS_PER_BAR - start) // 2
                    bar[i, V["tom_high"] if high else V["tom_low"]] = 1.0
                elif rng.random() < 0.5:
                    bar[i, snare] = 1.0
            filled = True
        elif b % 4 == 3 and rng.random() < 0.6:
            for i in range(last, STEPS_PER_BAR):
                if rng.random() < 0.5 + 0.3 * energy:
                    bar[i, snare] = 1.0
            filled = True
        out.append(bar)
    return np.concatenate(out, axis=0)


def build_dataset(rng, voices, genres, patterns, seqs_per_genre, seqs_per_meter, n_bars):
    X_hist, X_pos, X_phrase, X_cond, Y, G = [], [], [], [], [], []
    for mi, meter in enumerate(METERS):
        spb = METER_STEPS[meter]
        count = seqs_per_genre if meter == "4/4" else seqs_per_meter
        for gi, g in enumerate(genres):
            for k in range(count):
                energy = float(rng.random())
                seq = sequence(rng, patterns[meter][g], voices, n_bars, energy, meter)
                padded = np.concatenate([np.zeros((HISTORY, len(voices)), np.float32), seq])
                cond = np.zeros(len(genres) + len(METERS) + 1, np.float32)
                cond[gi] = 1.0
                cond[len(genres) + mi] = 1.0
                cond[-1] = energy
                for t in range(len(seq)):
                    X_hist.append(padded[t : t + HISTORY].reshape(-1))
                    X_pos.append(one_hot(t % spb, POSITIONS))
                    X_phrase.append(one_hot((t // spb) % PHRASE_BARS, PHRASE_BARS))
                    X_cond.append(cond)
                    Y.append(seq[t])
                    G.append((mi * 100 + gi) * 1000 + k)
    X = [
        np.array(X_hist, np.float32),
        np.array(X_pos, np.float32),
        np.array(X_phrase, np.float32),
        np.array(X_cond, np.float32),
    ]
    return X, np.array(Y, np.float32), np.array(G)


def main():
    rng = np.random.default_rng(SEED)
    voices, genres, patterns = load_library(os.path.join(OUT, "patterns.json"))
    X, Y, G = build_dataset(rng, voices, genres, patterns, seqs_per_genre=24, seqs_per_meter=6, n_bars=32)
    params, train_loss, val_loss, (n_tr, n_va) = train_mlp(
        X, Y, "sigmoid", hidden=192, epochs=16, rng=rng, groups=G, lr_final=3e-4
    )
    inputs = [
        ("history", HISTORY * len(voices)),
        ("position", POSITIONS),
        ("phrase", PHRASE_BARS),
        ("cond", len(genres) + len(METERS) + 1),
    ]
    path = os.path.join(OUT, "drumgen.onnx")
    export_mlp(params, inputs, "onset_prob", "sigmoid", "drumgen_step", path)
    verify(path, inputs, X, params, "sigmoid")
    base = Y[: n_tr].mean(0).clip(1e-6, 1 - 1e-6)
    baseline = float(-(Y * np.log(base) + (1 - Y) * np.log(1 - base)).mean())
    write_manifest(
        OUT,
        "drumgen.onnx",
        {
            "name": "drumgen",
            "version": "3",
            "task": "next-step multi-voice drum onset probabilities on a 16th-note grid",
            "inputs": {
                "history": f"float32 [batch, {HISTORY * len(voices)}]: last {HISTORY} steps x voices, oldest first, 1 = hit",
                "position": f"float32 [batch, {POSITIONS}]: one-hot step within the bar (bars of 12-24 steps by meter)",
                "phrase": f"float32 [batch, {PHRASE_BARS}]: one-hot bar within the {PHRASE_BARS}-bar phrase (fills at its end, crash at its start)",
                "cond": f"float32 [batch, {len(genres) + len(METERS) + 1}]: genre one-hot (order of 'genres'), meter one-hot (order of 'meters'), then energy in [0,1]",
            },
            "outputs": {"onset_prob": f"float32 [batch, {len(voices)}]: sigmoid probability per voice"},
            "voices": voices,
            "genres": genres,
            "history_steps": HISTORY,
            "position_steps": POSITIONS,
            "meters": METERS,
            "steps_per_bar": {m: METER_STEPS[m] for m in METERS},
            "phrase_bars": PHRASE_BARS,
            "architecture": "concat -> dense 192 relu -> dense sigmoid",
            "training": {
                "data": "models/drums/patterns.json genre pattern library (4/4 per genre, 3/4 5/4 6/8 7/8 12/8 per feel), expanded with seeded human variation, crashes and fills (train_drums.py)",
                "samples_train": n_tr,
                "samples_val": n_va,
                "validation": "held-out performances",
                "seed": SEED,
                "train_bce": round(train_loss, 5),
                "val_bce": round(val_loss, 5),
                "baseline_marginal_bce": round(baseline, 5),
            },
        },
    )


if __name__ == "__main__":
    main()
