#!/usr/bin/env python3
"""Mel-spectrogram PNG of a WAV (development aid for judging renders; not used by tests).

    python3 ops/melspec.py IN.wav OUT.png [title]

Reads 16/24/32-bit PCM WAV (any rate, mono or stereo), plots a 128-band log-mel
spectrogram (0-16 kHz) with time in seconds. Needs numpy and matplotlib.
"""
import struct
import sys
import wave

import numpy as np


def read_wav(path):
    with wave.open(path, "rb") as w:
        ch, width, sr, n = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
        raw = w.readframes(n)
    if width == 2:
        x = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3)
        v = b[:, 0].astype(np.int32) | (b[:, 1].astype(np.int32) << 8) | (b[:, 2].astype(np.int32) << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        x = v.astype(np.float32) / float(1 << 23)
    elif width == 4:
        x = np.frombuffer(raw, "<i4").astype(np.float32) / float(1 << 31)
    else:
        raise SystemExit(f"unsupported sample width {width}")
    return x.reshape(-1, ch).mean(axis=1), sr


def mel_filters(sr, n_fft, n_mels, fmax):
    hz_to_mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)
    mel_to_hz = lambda m: 700.0 * (10 ** (m / 2595.0) - 1.0)
    mels = np.linspace(hz_to_mel(20.0), hz_to_mel(fmax), n_mels + 2)
    hz = mel_to_hz(mels)
    bins = np.floor((n_fft + 1) * hz / sr).astype(int)
    fb = np.zeros((n_mels, n_fft // 2 + 1))
    for m in range(1, n_mels + 1):
        a, b, c = bins[m - 1], bins[m], bins[m + 1]
        for k in range(a, b):
            fb[m - 1, k] = (k - a) / max(b - a, 1)
        for k in range(b, c):
            fb[m - 1, k] = (c - k) / max(c - b, 1)
    return fb


def main():
    src, dst = sys.argv[1], sys.argv[2]
    title = sys.argv[3] if len(sys.argv) > 3 else src
    x, sr = read_wav(src)
    n_fft, hop = 2048, 512
    win = np.hanning(n_fft)
    frames = 1 + max(0, (len(x) - n_fft) // hop)
    spec = np.empty((n_fft // 2 + 1, frames))
    for i in range(frames):
        seg = x[i * hop:i * hop + n_fft] * win
        spec[:, i] = np.abs(np.fft.rfft(seg)) ** 2
    mel = mel_filters(sr, n_fft, 128, min(16000.0, sr / 2)) @ spec
    db = 10 * np.log10(np.maximum(mel, 1e-10))
    db = np.maximum(db, db.max() - 80.0)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(10, 3.2), dpi=100)
    ax.imshow(db, origin="lower", aspect="auto", cmap="magma",
              extent=[0, len(x) / sr, 0, 128])
    ticks = [100, 250, 500, 1000, 2000, 4000, 8000, 16000]
    hz_to_mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)
    m0, m1 = hz_to_mel(20.0), hz_to_mel(min(16000.0, sr / 2))
    ax.set_yticks([(hz_to_mel(t) - m0) / (m1 - m0) * 128 for t in ticks])
    ax.set_yticklabels([f"{t // 1000}k" if t >= 1000 else str(t) for t in ticks])
    ax.set_xlabel("seconds")
    ax.set_ylabel("Hz (mel)")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(dst)


if __name__ == "__main__":
    main()
