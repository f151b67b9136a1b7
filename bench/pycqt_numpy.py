"""Reference-speed CQT in numpy/scipy, written from the spec (docs: ../shared/spec §2.1), for
`deno task bench extract`: the same algorithm as CoverHunter's PyCqt (float64 sparse spectral
kernel, 16384-point FFT per 640-sample hop), vectorised the way the original is.
Usage: python3 bench/pycqt_numpy.py <seconds> -> prints JSON {"seconds": s, "time_s": t, "x_realtime": r}
"""
import json
import sys
import time

import numpy as np
import scipy.sparse


def kernel(sr=16000, fmin=32.0, bins=96, bpo=12):
    q = 1.0 / (2 ** (1.0 / bpo) - 1)
    fft_len = int(2 ** np.ceil(np.log2(q * sr / fmin)))
    rows = np.zeros((bins, fft_len), dtype=np.complex128)
    for k in range(bins):
        f = fmin * 2 ** (k / bpo)
        n = 2 * round(q * sr / f / 2) + 1
        m = np.arange(n) - (n - 1) / 2
        t = np.hamming(n) * np.exp(2j * np.pi * q * m / n) / n
        p = int((fft_len - n + 1) / 2)
        rows[k, p:p + n] = t
    s = np.fft.fft(rows, axis=1)
    s[np.abs(s) < 0.01] = 0
    return scipy.sparse.csr_matrix(np.conj(s) / fft_len), fft_len


def cqt(y, m, fft_len, hop=640):
    frames = len(y) // hop
    pad = (fft_len - hop) // 2
    yp = np.pad(y, (int(np.ceil((fft_len - hop) / 2)), pad))
    out = np.zeros((m.shape[0], frames))
    for j in range(frames):
        x = np.fft.fft(yp[j * hop:j * hop + fft_len])
        out[:, j] = np.abs(m @ x)
    out += 1e-9
    return (20 * np.log10(out) - 20 * np.log10(out.max())).T


if __name__ == "__main__":
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    rng = np.random.default_rng(0)
    y = rng.standard_normal(int(seconds * 16000)) * 0.1
    m, fft_len = kernel()
    t0 = time.perf_counter()
    cqt(y, m, fft_len)
    dt = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "time_s": dt, "x_realtime": seconds / dt}))
