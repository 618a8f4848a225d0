"""Mel-spectrogram pictures and simple measurements of ResonantGen output, for people who
cannot listen: one row per stem plus the mix.

    models/.venv/bin/python ops/spectrogram.py out/<id> docs/<name>.png

Needs numpy and matplotlib (models/.venv has them after `pip install matplotlib`).
"""
import os
import sys
import wave

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def read_wav(path):
    with wave.open(path) as w:
        sr, ch, width, n = w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()
        raw = w.readframes(n)
    if width == 2:
        x = np.frombuffer(raw, "<i2").astype(np.float32) / 32768
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3)
        x = (b[:, 0].astype(np.int32) | b[:, 1].astype(np.int32) << 8 | b[:, 2].astype(np.int32) << 16)
        x = np.where(x >= 1 << 23, x - (1 << 24), x).astype(np.float32) / (1 << 23)
    else:
        raise ValueError(f"{path}: {width * 8}-bit")
    return x.reshape(-1, ch).mean(axis=1), sr


def mel_filters(sr, n_fft, n_mels=96, fmin=30.0, fmax=16000.0):
    mel = lambda f: 2595 * np.log10(1 + f / 700)
    inv = lambda m: 700 * (10 ** (m / 2595) - 1)
    pts = inv(np.linspace(mel(fmin), mel(min(fmax, sr / 2)), n_mels + 2))
    bins = np.floor((n_fft + 1) * pts / sr).astype(int)
    fb = np.zeros((n_mels, n_fft // 2 + 1))
    for i in range(n_mels):
        a, b, c = bins[i], bins[i + 1], bins[i + 2]
        fb[i, a:b] = (np.arange(a, b) - a) / max(b - a, 1)
        fb[i, b:c] = (c - np.arange(b, c)) / max(c - b, 1)
    return fb


def melspec(x, sr, n_fft=2048, hop=512):
    win = np.hanning(n_fft)
    frames = 1 + (len(x) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    spec = np.abs(np.fft.rfft(x[idx] * win, axis=1)) ** 2
    m = spec @ mel_filters(sr, n_fft).T
    return 10 * np.log10(m.T + 1e-10)


def main():
    folder, out = sys.argv[1], sys.argv[2]
    title = sys.argv[3] if len(sys.argv) > 3 else os.path.basename(folder.rstrip("/"))
    stems = [("mix", "mix.wav")] + [
        (t, f"stems/{t}.wav") for t in ("drums", "bass", "harmony", "melody")
        if os.path.exists(os.path.join(folder, f"stems/{t}.wav"))
    ]
    fig, axes = plt.subplots(len(stems), 1, figsize=(12, 2.0 * len(stems)), sharex=True)
    for ax, (name, rel) in zip(np.atleast_1d(axes), stems):
        x, sr = read_wav(os.path.join(folder, rel))
        s = melspec(x, sr)
        dur = len(x) / sr
        ax.imshow(s, origin="lower", aspect="auto", extent=[0, dur, 0, s.shape[0]],
                  vmin=s.max() - 80, vmax=s.max(), cmap="magma")
        rms = 20 * np.log10(np.sqrt(np.mean(x ** 2)) + 1e-12)
        ax.set_ylabel(name)
        ax.set_yticks([])
        ax.text(0.005, 0.85, f"{name}: rms {rms:.1f} dBFS", transform=ax.transAxes, color="w", fontsize=8)
    np.atleast_1d(axes)[-1].set_xlabel("seconds")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=80)


if __name__ == "__main__":
    main()
