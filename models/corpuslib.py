"""Melody/chord extraction from the music21 corpus and MIDI files, shared by train_melody.py and
train_harmony.py.

A tune becomes a key-relative 16th-note token grid (16 steps per 4/4 bar, 2/4 bars paired):
token 0 = rest, 1 = hold (the previous note sustains), 2 + k = onset k semitones above the
reference tonic (k in 0..24). Beside the tokens each tune carries the chord sounding at every
step relative to the tonic (root pitch class, or -1 for none, and a 12-bit pitch-class mask),
its mode (major / minor), its raw note density and, for the harmony model, the scale degree of
the chord on each bar's downbeat.

Chords come from the written ABC / MusicXML chord symbols where a source has them (Nottingham
dataset, lead sheets) and are otherwise estimated per half bar as the best-fitting diatonic triad
of the key (notes weighted by duration and metrical strength; in minor the harmonic-minor
major V is a candidate too). Keys come from the ABC K: field where it names a mode (Nottingham),
otherwise from a Krumhansl-Kessler key profile fit weighted by duration (the final note counts
extra: folk tunes end on the tonic).

Parsing with music21 is the slow part (~25 ms per folk tune, ~80 ms per chorale), so extraction
runs on 2 processes and its result is cached under models/.cache/ (gitignored).
"""
import glob
import gzip
import hashlib
import json
import os
import sys
import time
from fractions import Fraction

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE_DIR = os.path.join(HERE, ".cache")
STEPS_PER_BAR = 16
STEPS_PER_QUARTER = 4
PITCH_RANGE = 24
VOCAB = 2 + PITCH_RANGE + 1  # 27
REST, HOLD = 0, 1
SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
# meters accepted: quarter notes per notated bar (2/4 bars are paired into one 16-step bar)
METERS = {"4/4": 4, "C": 4, "2/2": 4, "C|": 4, "2/4": 2}
EXTRACT_VERSION = 5

KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


class Skip(Exception):
    pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def corpus_dir():
    from music21 import corpus

    return os.path.dirname(os.path.abspath(corpus.__file__))


# ---------------------------------------------------------------------------------------------
# keys, chords


def find_key(pc_weights):
    """Krumhansl-Kessler: (tonic pc, 'major'|'minor') maximising the profile correlation."""
    w = np.asarray(pc_weights, float)
    if w.sum() <= 0:
        return 0, "major"
    best = (-2.0, 0, "major")
    for tonic in range(12):
        x = np.roll(w, -tonic)
        for mode, prof in (("major", KK_MAJOR), ("minor", KK_MINOR)):
            r = np.corrcoef(x, prof)[0, 1]
            if r > best[0]:
                best = (r, tonic, mode)
    return best[1], best[2]


def triad_candidates(mode):
    """[(degree, root pc, frozenset pcs, prior)] relative to the tonic."""
    sc = SCALES[mode]
    if mode == "major":
        prior = [0.12, 0.0, -0.02, 0.06, 0.08, 0.02, -0.2]
    else:
        prior = [0.12, -0.2, 0.02, 0.06, 0.0, 0.03, 0.02]
    out = [(d, sc[d], frozenset((sc[d], sc[(d + 2) % 7], sc[(d + 4) % 7])), prior[d]) for d in range(7)]
    if mode == "minor":  # harmonic-minor dominant
        out.append((4, 7, frozenset((7, 11, 2)), 0.08))
    return out


def mask_of(pcs):
    m = 0
    for p in pcs:
        m |= 1 << (p % 12)
    return m


def estimate_chords(notes, n_steps, mode, window):
    """notes: [(start, end, rel_pc)]; returns per window [(degree, root, mask)], best-fitting
    diatonic triad per window (empty windows keep the previous chord)."""
    n_win = (n_steps + window - 1) // window
    W = np.zeros((n_win, 12))
    pos_w = np.ones(STEPS_PER_BAR)
    pos_w[::4] = 1.5
    pos_w[::8] = 2.0
    for s, e, pc in notes:
        for t in range(s, min(e, n_steps)):
            W[t // window, pc] += pos_w[t % STEPS_PER_BAR] + (1.0 if t == s else 0.0)
    cands = triad_candidates(mode)
    out = []
    prev = None
    for i in range(n_win):
        tot = W[i].sum()
        if tot <= 0:
            out.append(prev if prev is not None else (0, 0, mask_of(cands[0][2])))
            continue
        best, best_s = None, -1e9
        for c in cands:
            inside = sum(W[i, p] for p in c[2]) / tot
            s = inside - 0.7 * (1 - inside) + c[3]
            if prev is not None and c[1] == prev[1] and mask_of(c[2]) == prev[2]:
                s += 0.05
            if s > best_s:
                best, best_s = c, s
        prev = (best[0], best[1], mask_of(best[2]))
        out.append(prev)
    return out


def degree_of(root_rel, mode):
    sc = SCALES[mode]
    return sc.index(root_rel) if root_rel in sc else -1


# ---------------------------------------------------------------------------------------------
# music21 stream -> note events on the 16th grid


def _frac(x):
    return Fraction(x).limit_denominator(96)


def _steps(q):
    s = q * STEPS_PER_QUARTER
    if s.denominator != 1:
        raise Skip("not on the 16th grid")
    return int(s)


def part_events(part, bar_ql, want_symbols=False):
    """Note events of one part, bars aligned so that the first full bar starts at step 0 of grid
    bar `pickup` (a pickup measure is right-aligned into grid bar 0).

    Returns (notes [(start, end, midi, tied)], symbols [(step, root_pc, pcs)], pickup)."""
    from music21 import chord, harmony, note

    measures = list(part.getElementsByClass("Measure"))
    if not measures:
        raise Skip("no measures")
    bar_ql = Fraction(bar_ql)
    pos = Fraction(0)
    pickup = False
    notes, symbols = [], []
    for i, m in enumerate(measures):
        d = _frac(m.duration.quarterLength)
        if d > bar_ql:
            raise Skip("overfull bar")
        if i == 0 and 0 < d < bar_ql:
            pos = Fraction(STEPS_PER_BAR, STEPS_PER_QUARTER) - d  # right-aligned in grid bar 0
            pickup = True
        elif d == bar_ql and pos % bar_ql != 0:
            pos = (pos // bar_ql + 1) * bar_ql
        elems = m.flatten().notesAndRests if m.hasVoices() else m.notesAndRests
        for e in elems:
            if isinstance(e, harmony.ChordSymbol):
                if want_symbols:
                    st = _steps(pos + _frac(e.offset))
                    if isinstance(e, harmony.NoChord):
                        symbols.append((st, -1, ()))
                    else:
                        try:
                            pcs = tuple(sorted({p.pitchClass for p in e.pitches}))
                            symbols.append((st, e.root().pitchClass, pcs))
                        except Exception:
                            symbols.append((st, -1, ()))
                continue
            if e.duration.isGrace or e.quarterLength == 0:
                continue
            if e.duration.tuplets:
                raise Skip("tuplet")
            if isinstance(e, note.Rest):
                continue
            if isinstance(e, chord.Chord):
                if not e.pitches:
                    continue
                midi = max(p.midi for p in e.pitches)
            elif isinstance(e, note.Note):
                midi = e.pitch.midi
            else:
                continue
            st = _steps(pos + _frac(e.offset))
            en = _steps(pos + _frac(e.offset) + _frac(e.quarterLength))
            tied = e.tie is not None and e.tie.type in ("stop", "continue")
            notes.append((st, en, midi, tied))
        pos += d
    return notes, symbols, pickup


def flat_events(part, all_pitches=False):
    """MIDI parts: note events from absolute offsets (no pickup alignment: a MIDI file's bar 1
    starts at time 0). A chord gives its highest note, or all its notes with all_pitches."""
    from music21 import chord, harmony, note

    notes = []
    for e in part.flatten().notes:
        if isinstance(e, harmony.ChordSymbol) or e.duration.isGrace or e.quarterLength == 0:
            continue
        if isinstance(e, chord.Chord):
            midis = [p.midi for p in e.pitches] if all_pitches else [max(p.midi for p in e.pitches)]
        elif isinstance(e, note.Note):
            midis = [e.pitch.midi]
        else:
            continue
        st = _steps(_frac(e.offset))
        en = _steps(_frac(e.offset) + _frac(e.quarterLength))
        tied = e.tie is not None and e.tie.type in ("stop", "continue")
        notes += [(st, en, m, tied) for m in midis]
    return notes


def monophonic(notes):
    """Latest onset wins; a chord keeps its highest note; notes end at the next onset."""
    by_start = {}
    for s, e, m, tied in notes:
        if e <= s:
            continue
        if s not in by_start or m > by_start[s][1]:
            by_start[s] = (e, m, tied)
    starts = sorted(by_start)
    out = []
    for i, s in enumerate(starts):
        e, m, tied = by_start[s]
        if i + 1 < len(starts):
            e = min(e, starts[i + 1])
        out.append((s, e, m, tied))
    return out


def build_tune(tid, source, notes, tonic, mode, pickup, symbols=None, harmony_notes=None):
    """Key-relative token grid + per-step chords + per-bar degrees. `harmony_notes` (all voices,
    absolute midi) feed the chord estimate when there are no symbols; default the melody."""
    mel = monophonic(notes)
    if len(mel) < 8:
        raise Skip("too few notes")
    if min(s for s, _, _, _ in mel) < 0:
        raise Skip("negative offset")
    end = max(e for _, e, _, _ in mel)
    n_steps = ((end + STEPS_PER_BAR - 1) // STEPS_PER_BAR) * STEPS_PER_BAR
    if n_steps < 4 * STEPS_PER_BAR:
        raise Skip("shorter than 4 bars")
    med = float(np.median([m for _, _, m, _ in mel]))
    # reference tonic: an octave of the tonic placing the median near k = 9.5
    base = tonic + 12 * int(round((med - tonic - 9.5) / 12.0))
    tokens = [REST] * n_steps
    for s, e, m, tied in mel:
        k = m - base
        while k < 0:
            k += 12
        while k > PITCH_RANGE:
            k -= 12
        tokens[s] = HOLD if (tied and s > 0 and tokens[s - 1] != REST) else 2 + k
        for t in range(s + 1, e):
            tokens[t] = HOLD
    n_bars = n_steps // STEPS_PER_BAR
    croot = [-1] * n_steps
    cmask = [0] * n_steps
    bar_deg = [-1] * n_bars
    real = bool(symbols) and any(r >= 0 for _, r, _ in symbols)
    if real:
        syms = sorted(symbols)
        cur = next((s for s in syms if s[1] >= 0), None)
        j = 0
        for t in range(n_steps):
            while j < len(syms) and syms[j][0] <= t:
                cur = syms[j]
                j += 1
            if cur is not None and cur[1] >= 0:
                croot[t] = (cur[1] - tonic) % 12
                cmask[t] = mask_of((p - tonic) % 12 for p in cur[2])
        for b in range(n_bars):
            t = b * STEPS_PER_BAR
            if croot[t] >= 0:
                bar_deg[b] = degree_of(croot[t], mode)
    else:
        src = harmony_notes if harmony_notes is not None else mel
        rel = [(s, e, (m - tonic) % 12) for s, e, m, *_ in src if e > s]
        half = estimate_chords(rel, n_steps, mode, STEPS_PER_BAR // 2)
        for t in range(n_steps):
            _, r, mk = half[t // (STEPS_PER_BAR // 2)]
            croot[t], cmask[t] = r, mk
        bar_deg = [d for d, _, _ in estimate_chords(rel, n_steps, mode, STEPS_PER_BAR)]
    onsets = sum(1 for x in tokens if x >= 2)
    return {
        "id": tid,
        "source": source,
        "tonic": int(tonic),
        "mode": mode,
        "pickup": bool(pickup),
        "real_chords": real,
        "density_raw": round(onsets / n_steps, 5),
        "tokens": tokens,
        "chord_root": croot,
        "chord_mask": cmask,
        "bar_degrees": bar_deg,
    }


def _meter_of(stream):
    from music21 import meter

    ts = {t.ratioString for t in stream.recurse().getElementsByClass(meter.TimeSignature)}
    if len(ts) > 1:
        raise Skip("meter changes")
    r = ts.pop() if ts else "4/4"
    if r not in METERS:
        raise Skip(f"meter {r}")
    return METERS[r]


def _pc_weights(notes, final_bonus=4.0):
    w = np.zeros(12)
    for s, e, m, _ in notes:
        w[m % 12] += max(1, e - s)
    if notes:
        last = max(notes, key=lambda n: (n[0], -n[2]))
        w[last[2] % 12] += final_bonus * STEPS_PER_QUARTER
    return w


def _mode_of_key(k):
    return "minor" if k.mode in ("minor", "dorian", "phrygian", "aeolian", "locrian") else "major"


# ---------------------------------------------------------------------------------------------
# sources


def split_abc(path):
    with open(path, encoding="latin-1") as f:
        text = f.read()
    parts = text.split("\nX:")
    tunes = []
    for i, p in enumerate(parts):
        if i == 0 and not p.lstrip().startswith("X:"):
            continue
        tunes.append(p if i == 0 else "X:" + p)
    return tunes


def abc_header(tune):
    h = {}
    for line in tune.splitlines():
        if len(line) > 1 and line[1] == ":" and line[0].isalpha():
            h.setdefault(line[0], line[2:].strip())
            if line[0] == "K":
                break
    return h


def abc_eligible(tune):
    h = abc_header(tune)
    if h.get("M") not in METERS or "K" not in h:
        return False
    body = tune.split("\nK:", 1)[-1].split("\n", 1)[-1]
    if "(3" in body or "[M:" in body or "\nM:" in body or "(2" in body:
        return False
    return True


def _extract_abc(task):
    source, tid, text = task
    from music21 import converter, key

    try:
        s = converter.parse(text, format="abc")
        if hasattr(s, "scores"):
            s = s.scores[0]
        bar_ql = _meter_of(s)
        part = s.parts[0] if s.parts else s
        notes, symbols, pickup = part_events(part, bar_ql, want_symbols=(source == "nottingham"))
        if source == "nottingham":
            ks = list(s.recurse().getElementsByClass(key.Key))
            if ks:
                tonic, mode = ks[0].tonic.pitchClass, _mode_of_key(ks[0])
            else:
                tonic, mode = find_key(_pc_weights(notes))
        else:
            tonic, mode = find_key(_pc_weights(notes))
            symbols = None
        return build_tune(tid, source, notes, tonic, mode, pickup, symbols=symbols)
    except Skip as e:
        return {"skip": str(e)}
    except Exception as e:  # music21 parse failures on odd ABC
        return {"skip": f"error {type(e).__name__}"}


def _extract_score(task):
    """MusicXML chorales / lead sheets / MIDI: melody = top voice of the highest part."""
    source, tid, path = task
    from music21 import converter, note

    try:
        if source == "midi":
            s = converter.parse(path, quantizePost=True, quarterLengthDivisors=(4,))
        else:
            s = converter.parse(path)
        bar_ql = _meter_of(s)
        parts = []
        for p in s.parts:
            ns = [n for n in p.recurse().notes if not isinstance(n, note.Unpitched) and n.pitches]
            if len(ns) >= 8 and not any(isinstance(n, note.Unpitched) for n in ns[:20]):
                parts.append((float(np.mean([max(x.midi for x in n.pitches) for n in ns])), p))
        if not parts:
            raise Skip("no pitched part")
        if source == "midi":
            parts.sort(key=lambda x: -x[0])
            melody_part = parts[0][1]
        else:
            melody_part = s.parts[0]
        want = source == "leadsheet"
        if source == "midi":
            notes, symbols, pickup = flat_events(melody_part), [], False
            all_notes = [n for _, p in parts for n in flat_events(p, all_pitches=True)]
        else:
            notes, symbols, pickup = part_events(melody_part, bar_ql, want_symbols=want)
            all_notes = list(notes)
        if source not in ("leadsheet", "midi"):
            for _, p in parts:
                if p is melody_part:
                    continue
                try:
                    n2, _, pk2 = part_events(p, bar_ql)
                    if pk2 == pickup:
                        all_notes += n2
                except Skip:
                    pass
        w = _pc_weights(all_notes, final_bonus=2.0)
        if want and symbols:
            # lead sheets: the written chords say more about the key than the tune does
            syms = sorted(symbols)
            for (st, r, pcs), nxt in zip(syms, syms[1:] + [(syms[-1][0] + STEPS_PER_BAR, 0, ())]):
                for p in pcs:
                    w[p] += 2.0 * max(1, nxt[0] - st)
            if syms[-1][1] >= 0:
                w[syms[-1][1]] += 8.0 * STEPS_PER_QUARTER
        tonic, mode = find_key(w)
        return build_tune(tid, source, notes, tonic, mode, pickup, symbols=symbols if want else None,
                          harmony_notes=None if want else all_notes)
    except Skip as e:
        return {"skip": str(e)}
    except Exception as e:
        return {"skip": f"error {type(e).__name__}: {e}"[:120]}


def _run(tasks, fn, label, procs=2):
    t0 = time.time()
    out = []
    if procs > 1 and len(tasks) > 20:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(procs) as pool:
            for i, r in enumerate(pool.imap(fn, tasks, chunksize=8)):
                out.append(r)
                if (i + 1) % 250 == 0:
                    log(f"  {label}: {i + 1}/{len(tasks)} parsed ({time.time() - t0:.0f} s)")
    else:
        out = [fn(t) for t in tasks]
    kept = [r for r in out if "skip" not in r]
    reasons = {}
    for r in out:
        if "skip" in r:
            reasons[r["skip"]] = reasons.get(r["skip"], 0) + 1
    top = sorted(reasons.items(), key=lambda x: -x[1])[:5]
    log(f"  {label}: kept {len(kept)}/{len(tasks)} in {time.time() - t0:.1f} s; skipped {top}")
    return kept


def _cache_load(name):
    path = os.path.join(CACHE_DIR, name)
    if os.path.exists(path):
        with gzip.open(path, "rt") as f:
            return json.load(f)
    return None


def _cache_save(name, obj):
    os.makedirs(CACHE_DIR, exist_ok=True)
    tmp = os.path.join(CACHE_DIR, name + ".tmp")
    with gzip.open(tmp, "wt") as f:
        json.dump(obj, f)
    os.replace(tmp, os.path.join(CACHE_DIR, name))


N_ESSEN, N_CHORALES = 4000, 250  # defaults: all ~3500 eligible Essen tunes, 250 of 410 chorales


def load_corpus(n_essen=N_ESSEN, n_chorales=N_CHORALES, seed=7, procs=2):
    """The music21-corpus tunes: Nottingham dataset (chord symbols), lead sheets (chord symbols),
    a seeded subset of eligible Essen folksongs and Bach chorales (estimated chords). Cached."""
    import music21

    cfg = f"v{EXTRACT_VERSION}-m21{music21.__version__}-essen{n_essen}-ch{n_chorales}-s{seed}"
    name = f"corpus-{hashlib.sha1(cfg.encode()).hexdigest()[:12]}.json.gz"
    cached = _cache_load(name)
    if cached is not None:
        log(f"corpus: {len(cached['tunes'])} tunes from cache models/.cache/{name}")
        return cached
    log(f"corpus: extracting ({cfg}); cached afterwards in models/.cache/{name}")
    root = corpus_dir()
    rng = np.random.default_rng(seed)
    tunes = []
    # Nottingham dataset: ABC with chord symbols
    tasks = []
    for path in sorted(glob.glob(os.path.join(root, "nottingham-dataset", "*.abc"))):
        for i, t in enumerate(split_abc(path)):
            if abc_eligible(t):
                tasks.append(("nottingham", f"nottingham/{os.path.basename(path)}#{i}", t))
    tunes += _run(tasks, _extract_abc, "nottingham", procs)
    # lead sheets (MusicXML with chord symbols)
    tasks = [("leadsheet", "leadsheet/" + os.path.basename(p), p)
             for p in sorted(glob.glob(os.path.join(root, "leadSheet", "*.mxl")))]
    tunes += _run(tasks, _extract_score, "leadsheets", procs)
    # Essen folksongs
    tasks = []
    for path in sorted(glob.glob(os.path.join(root, "essenFolksong", "*.abc"))):
        b = os.path.basename(path)
        # test*/variant* are music21 test files; han* are Chinese pentatonic tunes whose
        # major/minor label is ambiguous
        if b.startswith(("test", "variant", "han")):
            continue
        for i, t in enumerate(split_abc(path)):
            if abc_eligible(t):
                tasks.append(("essen", f"essen/{b}#{i}", t))
    n_eligible = len(tasks)
    if n_essen and len(tasks) > n_essen:
        pick = np.sort(rng.choice(len(tasks), n_essen, replace=False))
        tasks = [tasks[i] for i in pick]
    log(f"  essen: {n_eligible} eligible tunes (2/4, 4/4, 2/2, no triplets), parsing {len(tasks)}")
    tunes += _run(tasks, _extract_abc, "essen", procs)
    # Bach chorales
    n_ch_total = 0
    if n_chorales:
        from music21 import corpus

        paths = sorted(str(p) for p in corpus.getComposer("bach") if str(p).endswith((".mxl", ".xml")))
        n_ch_total = len(paths)
        if len(paths) > n_chorales:
            pick = np.sort(rng.choice(len(paths), n_chorales, replace=False))
            paths = [paths[i] for i in pick]
        tasks = [("chorale", "bach/" + os.path.basename(p), p) for p in paths]
        tunes += _run(tasks, _extract_score, "chorales", procs)
    data = {
        "config": cfg,
        "counts": {"essen_eligible": n_eligible, "bach_files": n_ch_total},
        "tunes": tunes,
    }
    _cache_save(name, data)
    return data


def load_midi_dir(folder, procs=2):
    files = sorted(
        os.path.join(dp, f)
        for dp, _, fs in os.walk(folder)
        for f in fs
        if f.lower().endswith((".mid", ".midi"))
    )
    if not files:
        raise SystemExit(f"no .mid/.midi files in {folder}")
    h = hashlib.sha1(f"v{EXTRACT_VERSION}".encode())
    for p in files:
        st = os.stat(p)
        h.update(f"{os.path.abspath(p)}:{st.st_size}:{st.st_mtime_ns}".encode())
    name = f"midi-{h.hexdigest()[:12]}.json.gz"
    cached = _cache_load(name)
    if cached is not None:
        log(f"midi: {len(cached)} tunes from cache models/.cache/{name}")
        return cached
    log(f"midi: parsing {len(files)} files from {folder}")
    tasks = [("midi", "midi/" + os.path.relpath(p, folder), p) for p in files]
    tunes = _run(tasks, _extract_score, "midi", procs)
    _cache_save(name, tunes)
    return tunes
