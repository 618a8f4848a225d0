"""Train and export DrumGen's ONNX step model.

The model predicts, for the next sixteenth-note step, the probability that each drum voice hits,
from the last 16 steps of all voices, the step's position in the bar and a conditioning vector
(genre one-hot + energy). The worker samples it autoregressively with a seeded RNG.

Training data: the genre pattern library in drums/patterns.json (authored for this project),
expanded into long sequences with the variations a drummer plays: dropped ghost hits, extra hats,
fills at phrase ends, sparser playing at low energy. Pure numpy (no torch): a 2-layer MLP trained
with Adam on binary cross-entropy, exported with onnx.helper and checked in onnxruntime.

    models/.venv/bin/python models/train_drums.py   # writes models/drums/drumgen.onnx + manifest.json
"""
import hashlib
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "drums")
HISTORY = 16
STEPS_PER_BAR = 16
SEED = 20261127


def load_library(path):
    with open(path) as f:
        lib = json.load(f)
    voices = lib["voices"]
    genres = sorted(lib["genres"].keys())
    patterns = {}
    for g in genres:
        bars = []
        for p in lib["genres"][g]:
            bar = np.zeros((STEPS_PER_BAR, len(voices)), dtype=np.float32)
            for vi, v in enumerate(voices):
                s = p[v]
                assert len(s) == STEPS_PER_BAR, (g, v, s)
                for i, ch in enumerate(s):
                    bar[i, vi] = 1.0 if ch in "xo" else 0.0
            bars.append(bar)
        patterns[g] = bars
    return voices, genres, patterns


def sequence(rng, bars, voices, n_bars, energy):
    """One performance: bars of the genre's patterns with human variation."""
    out = []
    current = bars[rng.integers(len(bars))]
    kick, snare, hat_c, perc = (voices.index(v) for v in ("kick", "snare", "hat_closed", "perc"))
    four_on_floor = all(b[[0, 4, 8, 12], kick].all() for b in bars)
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
        # occasional ghost kick/snare removal, never the four-on-the-floor backbone
        if not four_on_floor:
            off = [i for i in range(STEPS_PER_BAR) if i % 4 != 0]
            for i in off:
                if bar[i, kick] and rng.random() < 0.1:
                    bar[i, kick] = 0.0
        # fill at the end of 4- and 8-bar phrases
        if b % 4 == 3 and rng.random() < 0.6:
            for i in range(12, 16):
                if rng.random() < 0.5 + 0.3 * energy:
                    bar[i, snare] = 1.0
        out.append(bar)
    return np.concatenate(out, axis=0)


def build_dataset(rng, voices, genres, patterns, seqs_per_genre, n_bars):
    X_hist, X_pos, X_cond, Y = [], [], [], []
    for gi, g in enumerate(genres):
        for _ in range(seqs_per_genre):
            energy = float(rng.random())
            seq = sequence(rng, patterns[g], voices, n_bars, energy)
            padded = np.concatenate([np.zeros((HISTORY, len(voices)), np.float32), seq])
            cond = np.zeros(len(genres) + 1, np.float32)
            cond[gi] = 1.0
            cond[-1] = energy
            for t in range(len(seq)):
                X_hist.append(padded[t : t + HISTORY].reshape(-1))
                pos = np.zeros(STEPS_PER_BAR, np.float32)
                pos[t % STEPS_PER_BAR] = 1.0
                X_pos.append(pos)
                X_cond.append(cond)
                Y.append(seq[t])
    return (np.array(X_hist), np.array(X_pos), np.array(X_cond)), np.array(Y)


def train(X, Y, hidden, epochs, rng):
    Xc = np.concatenate(X, axis=1)
    n, d = Xc.shape
    k = Y.shape[1]
    W1 = rng.normal(0, np.sqrt(2.0 / d), (d, hidden)).astype(np.float32)
    b1 = np.zeros(hidden, np.float32)
    W2 = rng.normal(0, np.sqrt(1.0 / hidden), (hidden, k)).astype(np.float32)
    b2 = np.zeros(k, np.float32)
    params = [W1, b1, W2, b2]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    lr, beta1, beta2, eps = 2e-3, 0.9, 0.999, 1e-8
    idx = np.arange(n)
    split = int(n * 0.9)
    rng.shuffle(idx)
    tr, va = idx[:split], idx[split:]
    step = 0

    def forward(x):
        h = np.maximum(x @ W1 + b1, 0.0)
        z = h @ W2 + b2
        return h, 1.0 / (1.0 + np.exp(-z))

    def bce(p, y):
        p = np.clip(p, 1e-6, 1 - 1e-6)
        return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())

    for ep in range(epochs):
        rng.shuffle(tr)
        for s in range(0, len(tr), 512):
            bi = tr[s : s + 512]
            x, y = Xc[bi], Y[bi]
            h, p = forward(x)
            dz = (p - y) / len(bi)
            gW2 = h.T @ dz
            gb2 = dz.sum(0)
            dh = dz @ W2.T
            dh[h <= 0] = 0
            gW1 = x.T @ dh
            gb1 = dh.sum(0)
            step += 1
            for i, g in enumerate([gW1, gb1, gW2, gb2]):
                m[i] = beta1 * m[i] + (1 - beta1) * g
                v[i] = beta2 * v[i] + (1 - beta2) * g * g
                mh = m[i] / (1 - beta1**step)
                vh = v[i] / (1 - beta2**step)
                params[i] -= lr * mh / (np.sqrt(vh) + eps)
        _, pv = forward(Xc[va])
        print(f"epoch {ep + 1}/{epochs}: val bce {bce(pv, Y[va]):.4f}", file=sys.stderr)
    _, pt = forward(Xc[tr])
    return params, bce(pt, Y[tr]), bce(pv, Y[va]), (len(tr), len(va))


def export(params, voices, genres, path):
    W1, b1, W2, b2 = params
    n_cond = len(genres) + 1
    inputs = [
        helper.make_tensor_value_info("history", TensorProto.FLOAT, ["batch", HISTORY * len(voices)]),
        helper.make_tensor_value_info("position", TensorProto.FLOAT, ["batch", STEPS_PER_BAR]),
        helper.make_tensor_value_info("cond", TensorProto.FLOAT, ["batch", n_cond]),
    ]
    outputs = [helper.make_tensor_value_info("onset_prob", TensorProto.FLOAT, ["batch", len(voices)])]
    inits = [
        numpy_helper.from_array(W1.astype(np.float32), "W1"),
        numpy_helper.from_array(b1.astype(np.float32), "b1"),
        numpy_helper.from_array(W2.astype(np.float32), "W2"),
        numpy_helper.from_array(b2.astype(np.float32), "b2"),
    ]
    nodes = [
        helper.make_node("Concat", ["history", "position", "cond"], ["x"], axis=1),
        helper.make_node("MatMul", ["x", "W1"], ["h0"]),
        helper.make_node("Add", ["h0", "b1"], ["h1"]),
        helper.make_node("Relu", ["h1"], ["h"]),
        helper.make_node("MatMul", ["h", "W2"], ["z0"]),
        helper.make_node("Add", ["z0", "b2"], ["z"]),
        helper.make_node("Sigmoid", ["z"], ["onset_prob"]),
    ]
    graph = helper.make_graph(nodes, "drumgen_step", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="resonantgen")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def main():
    rng = np.random.default_rng(SEED)
    voices, genres, patterns = load_library(os.path.join(OUT, "patterns.json"))
    X, Y = build_dataset(rng, voices, genres, patterns, seqs_per_genre=24, n_bars=32)
    params, train_loss, val_loss, (n_tr, n_va) = train(X, Y, hidden=96, epochs=12, rng=rng)
    path = os.path.join(OUT, "drumgen.onnx")
    export(params, voices, genres, path)

    import onnxruntime as ort

    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    probe = sess.run(None, {"history": X[0][:4], "position": X[1][:4], "cond": X[2][:4]})[0]
    Xc = np.concatenate([x[:4] for x in X], axis=1)
    ref = 1 / (1 + np.exp(-(np.maximum(Xc @ params[0] + params[1], 0) @ params[2] + params[3])))
    assert np.allclose(probe, ref, atol=1e-5), "onnxruntime disagrees with numpy"

    with open(path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    manifest = {
        "name": "drumgen",
        "version": "1",
        "task": "next-step multi-voice drum onset probabilities on a 16th-note grid",
        "inputs": {
            "history": f"float32 [batch, {HISTORY * len(voices)}]: last {HISTORY} steps x voices, oldest first, 1 = hit",
            "position": f"float32 [batch, {STEPS_PER_BAR}]: one-hot step within the bar",
            "cond": f"float32 [batch, {len(genres) + 1}]: genre one-hot (order of 'genres') then energy in [0,1]",
        },
        "outputs": {"onset_prob": f"float32 [batch, {len(voices)}]: sigmoid probability per voice"},
        "voices": voices,
        "genres": genres,
        "history_steps": HISTORY,
        "steps_per_bar": STEPS_PER_BAR,
        "architecture": "concat -> dense 96 relu -> dense sigmoid",
        "training": {
            "data": "models/drums/patterns.json genre pattern library, expanded with seeded human variation (train_drums.py)",
            "samples_train": n_tr,
            "samples_val": n_va,
            "seed": SEED,
            "train_bce": round(train_loss, 5),
            "val_bce": round(val_loss, 5),
        },
        "sha256": sha,
    }
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(json.dumps(manifest["training"]), file=sys.stderr)


if __name__ == "__main__":
    main()
