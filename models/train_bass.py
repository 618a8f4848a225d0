"""Train and export BassGen's ONNX step model.

The model predicts the bass's next sixteenth-note token — rest, hold, or a note given as its
interval above the current chord's root — from the last 16 tokens, the step's position in the
bar, the drums around this step (kick and snare: the groove lock), the harmony (the chord's
tones, the next chord's root, how far away the change is) and the style + energy.

Training data: a bass-idiom library authored for this project (`IDIOMS` below): the way a
player of each style builds a line over a given kick pattern and chord progression —
off-beat house/techno bass, rolling 16ths, 808s on the kick, kick-locked root/fifth lines with
pickups, disco octaves, walking lines with chromatic approaches, funk slap with octave pops and
ghost notes. Each idiom is played over the kick/snare patterns of the genres that use it (from
drums/patterns.json) and random diatonic progressions, with seeded variation.

    models/.venv/bin/python models/train_bass.py   # writes models/bass/bassgen.onnx + manifest.json
"""
import json
import os
import sys

import numpy as np

from steplib import export_mlp, one_hot, train_mlp, verify, write_manifest

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "bass")
HISTORY = 16
STEPS = 16
RANGE = 24  # note tokens: 0..23 semitones above the chord root in the bass register
VOCAB = 2 + RANGE
REST, HOLD = 0, 1
STYLES = ["offbeat", "rolling", "sub808", "kick_locked", "octave", "walking", "slap"]
# Which genres' drum patterns each idiom is played over.
STYLE_GENRES = {
    "offbeat": ["techno", "house", "trance", "hardstyle"],
    "rolling": ["trance", "house", "techno", "drum_and_bass"],
    "sub808": ["trap", "dubstep", "ambient", "hip_hop", "drill", "phonk", "future_bass", "orchestral", "trailer"],
    "kick_locked": ["hip_hop", "rock", "pop", "garage", "breakbeat", "drum_and_bass", "reggae", "lofi", "afrobeat", "country",
                    "metal", "punk", "ballad", "soul", "folk", "dembow", "amapiano"],
    "octave": ["disco", "pop", "funk", "afrobeat", "salsa"],
    "walking": ["jazz", "bossa_nova", "country", "shuffle", "ska"],
    "slap": ["funk", "disco"],
}
MAJOR = [0, 2, 4, 5, 7, 9, 11]
MINOR = [0, 2, 3, 5, 7, 8, 10]
SEED = 20261128


def note(k):
    return 2 + int(np.clip(k, 0, RANGE - 1))


def triad(scale, degree):
    root = scale[degree % 7]
    third = (scale[(degree + 2) % 7] - root) % 12
    fifth = (scale[(degree + 4) % 7] - root) % 12
    return root, (0, third, fifth)


def load_grooves():
    with open(os.path.join(HERE, "drums", "patterns.json")) as f:
        lib = json.load(f)
    out = {}
    for g, pats in lib["genres"].items():
        out[g] = [([c in "xo" for c in p["kick"]], [c in "xo" for c in p["snare"]] if "snare" in p else [False] * 16) for p in pats]
        # clap-only backbeats count as the snare for the bass
        for i, p in enumerate(pats):
            clap = [c in "xo" for c in p.get("clap", "." * 16)]
            k, s = out[g][i]
            out[g][i] = (k, [a or b for a, b in zip(s, clap)])
    return out


def idiom(style, rng, kick, snare, chords, energy):
    """Tokens for one bar per chord. `chords[b]` = (root_pc, tones, next_root_pc)."""
    toks = []
    for b, (root, tones, nxt) in enumerate(chords):
        bar = [REST] * STEPS
        k = kick[b % len(kick)]
        s = snare[b % len(snare)]
        third, fifth = tones[1], tones[2]
        approach = (nxt - root) % 12  # interval of the next root above this root
        up = approach if approach <= 6 else approach - 12

        def put(i, tok, length):
            if 0 <= i < STEPS:
                bar[i] = tok
                for j in range(i + 1, min(STEPS, i + length)):
                    bar[j] = HOLD

        if style == "offbeat":
            for i in (2, 6, 10, 14):
                t = note(12) if (i == 14 and rng.random() < 0.3) else note(0)
                put(i, t, 2 if rng.random() < 0.7 else 1)
            if rng.random() < 0.2 * energy:
                put(15, note(fifth), 1)
        elif style == "rolling":
            for i in range(STEPS):
                if not k[i]:
                    t = note(12) if (i % 4 == 3 and rng.random() < 0.25) else note(0)
                    if rng.random() < 0.05:
                        t = note(fifth)
                    put(i, t, 1)
        elif style == "sub808":
            hits = [i for i in range(STEPS) if k[i]]
            for n_i, i in enumerate(hits):
                nxt_hit = hits[n_i + 1] if n_i + 1 < len(hits) else STEPS
                t = note(0)
                if n_i > 0 and rng.random() < 0.25:
                    t = note(rng.choice([12, fifth, 10 if third == 3 else 12]))
                put(i, t, nxt_hit - i)
        elif style == "kick_locked":
            for i in range(STEPS):
                if k[i]:
                    t = note(0) if (i == 0 or rng.random() < 0.8) else note(rng.choice([fifth, 12]))
                    length = 2 if rng.random() < 0.5 else 3
                    put(i, t, length)
            if not k[14] and rng.random() < 0.5:
                put(14, note(fifth), 1)
            if rng.random() < 0.3 and not k[15]:
                put(15, note(max(0, up - 1 if up > 0 else up + 1) % 12), 1)
        elif style == "octave":
            for i in range(0, STEPS, 2):
                t = note(12) if (i // 2) % 2 == 1 else note(0)
                put(i, t, 1)
            if rng.random() < 0.3:
                put(15, note(fifth + 12 if fifth + 12 < RANGE else fifth), 1)
        elif style == "walking":
            line = [0, rng.choice([third, fifth, 12]), rng.choice([fifth, third + 12 if third + 12 < RANGE else third, 12])]
            target = 12 + up  # next root placed around the octave
            line.append(target - 1 if rng.random() < 0.5 else target + 1)
            for beat, iv in enumerate(line):
                put(beat * 4, note(iv % RANGE), 3)
            if rng.random() < 0.2:
                put(14, note(line[3] % RANGE), 1)
                put(15, note((line[3] + 1) % RANGE), 1)
        elif style == "slap":
            put(0, note(0), 2)
            for i in range(2, STEPS):
                if k[i]:
                    put(i, note(0), 1)
                elif i % 4 == 3 and rng.random() < 0.7:
                    put(i, note(12), 1)  # the pop
                elif s[i] and rng.random() < 0.5:
                    put(i, note(rng.choice([10 if third == 3 else 12, fifth])), 1)
                elif rng.random() < 0.15 * energy:
                    put(i, note(rng.choice([0, 7, 12])), 1)  # ghost
        # occasional dropped note and pickup variation
        if rng.random() < 0.1:
            idx = [i for i in range(1, STEPS) if bar[i] >= 2]
            if idx:
                i = idx[rng.integers(len(idx))]
                bar[i] = REST
                j = i + 1
                while j < STEPS and bar[j] == HOLD:
                    bar[j] = REST
                    j += 1
        toks.extend(bar)
    return toks


def build_dataset(rng, grooves, perfs_per_style=160, bars=16):
    Xh, Xp, Xg, Xc, Xs, Y, G = [], [], [], [], [], [], []
    gid = 0
    for si, style in enumerate(STYLES):
        for _ in range(perfs_per_style):
            genre = STYLE_GENRES[style][rng.integers(len(STYLE_GENRES[style]))]
            pats = grooves[genre]
            pat = pats[rng.integers(len(pats))]
            kick = [pat[0]]
            snare = [pat[1]]
            scale = MAJOR if rng.random() < 0.5 else MINOR
            prog_len = int(rng.choice([2, 4, 4, 8]))
            prog = [int(rng.integers(7)) for _ in range(prog_len)]
            prog[0] = 0
            chords = []
            for b in range(bars):
                root, tones = triad(scale, prog[b % prog_len])
                nroot, _ = triad(scale, prog[(b + 1) % prog_len])
                chords.append((root, tones, nroot))
            energy = float(rng.random())
            toks = idiom(style, rng, kick, snare, chords, energy)
            hist = [None] * HISTORY
            for t, tok in enumerate(toks):
                b, i = divmod(t, STEPS)
                root, tones, nroot = chords[b]
                kb, sb = kick[0], snare[0]
                h = np.zeros((HISTORY, VOCAB), np.float32)
                for j, pt in enumerate(hist):
                    if pt is not None:
                        h[j, pt] = 1.0
                Xh.append(h.reshape(-1))
                Xp.append(one_hot(i, STEPS))
                Xg.append(np.array([kb[i], sb[i], kb[(i + 1) % STEPS], kb[(i - 1) % STEPS], sb[(i + 1) % STEPS], 1.0], np.float32))
                mask = np.zeros(12, np.float32)
                for iv in tones:
                    mask[iv % 12] = 1.0
                Xc.append(np.concatenate([mask, one_hot((nroot - root) % 12, 12), [(STEPS - i) / STEPS]]).astype(np.float32))
                Xs.append(np.concatenate([one_hot(si, len(STYLES)), [energy]]).astype(np.float32))
                Y.append(tok)
                G.append(gid)
                hist = hist[1:] + [tok]
            gid += 1
    X = [np.array(Xh), np.array(Xp), np.array(Xg), np.array(Xc), np.array(Xs)]
    return X, np.array(Y), np.array(G)


def main():
    rng = np.random.default_rng(SEED)
    grooves = load_grooves()
    X, Y, G = build_dataset(rng, grooves)
    params, tr_loss, va_loss, (n_tr, n_va) = train_mlp(X, Y, f"softmax:{VOCAB}", hidden=128, epochs=10, rng=rng, groups=G)
    freq = np.bincount(Y, minlength=VOCAB) / len(Y)
    baseline = float(-np.log(np.clip(freq[Y], 1e-9, 1)).mean())
    inputs = [
        ("history", HISTORY * VOCAB),
        ("position", STEPS),
        ("groove", 6),
        ("harmony", 25),
        ("cond", len(STYLES) + 1),
    ]
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "bassgen.onnx")
    export_mlp(params, inputs, "probs", "softmax", "bassgen_step", path)
    verify(path, inputs, X, params, "softmax")
    write_manifest(
        OUT,
        "bassgen.onnx",
        {
            "name": "bassgen",
            "version": "1",
            "task": "next 16th-note bass token (rest, hold, or note as interval above the chord root)",
            "inputs": {
                "history": f"float32 [batch, {HISTORY * VOCAB}]: one-hot of the last {HISTORY} tokens, oldest first",
                "position": f"float32 [batch, {STEPS}]: one-hot step within the bar",
                "groove": "float32 [batch, 6]: kick now, snare now, kick next step, kick previous step, snare next step, drums present",
                "harmony": "float32 [batch, 25]: chord-tone mask relative to the chord root (12), next bar's root relative to this root (12 one-hot), steps left in the bar / 16",
                "cond": f"float32 [batch, {len(STYLES) + 1}]: style one-hot (order of 'styles') then energy in [0,1]",
            },
            "outputs": {"probs": f"float32 [batch, {VOCAB}]: softmax over the vocabulary"},
            "vocabulary": {"0": "rest", "1": "hold (previous note sustains)", f"2..{VOCAB - 1}": f"note onset 0..{RANGE - 1} semitones above the chord root in the bass register"},
            "vocab_size": VOCAB,
            "styles": STYLES,
            "history_steps": HISTORY,
            "steps_per_bar": STEPS,
            "architecture": "concat -> dense 128 relu -> dense softmax",
            "training": {
                "data": "bass idiom library in train_bass.py (7 styles) over kick/snare patterns of drums/patterns.json and random diatonic progressions",
                "performances": int(G.max() + 1),
                "samples_train": n_tr,
                "samples_val": n_va,
                "validation": "held-out performances",
                "seed": SEED,
                "train_ce": round(tr_loss, 5),
                "val_ce": round(va_loss, 5),
                "baseline_unigram_ce": round(baseline, 5),
            },
        },
    )
    print(f"baseline unigram ce {baseline:.4f}", file=sys.stderr)


if __name__ == "__main__":
    main()
