"""numpy, vectorized the way neural-tangents computes its kernels on CPU: whole-array formulas.

Usage: python3 numpy_baseline.py N RUNS FILE  (FILE: N*N nngp, N*N ntk, N cov1 as float64, native order)
Prints JSON: map -> {"median_ms", "best_ms"} of the nngp and ntk outputs together, one thread.
"""
import json
import sys
import time

import numpy as np


def relu(K, T, c1):
    prod = np.outer(c1, c1)
    sp = np.sqrt(prod)
    cos = np.clip(K / sp, -1.0, 1.0)
    theta = np.arccos(cos)
    nngp = sp * (np.sqrt(1.0 - cos**2) + (np.pi - theta) * cos) / (2 * np.pi)
    return nngp, T * ((np.pi - theta) / (2 * np.pi))


def erf(K, T, c1):
    prod = np.outer(1 + 2 * c1, 1 + 2 * c1)
    nngp = (2 / np.pi) * np.arcsin(2 * K / np.sqrt(prod))
    return nngp, T * (4 / (np.pi * np.sqrt(prod - 4 * K**2)))


def gelu(K, T, c1):
    p = np.outer(c1, c1)
    P1 = np.outer(1 + c1, 1 + c1)
    D2 = P1 - K**2
    Dd = np.sqrt(D2)
    at = np.arctan2(K, Dd)
    nngp = K / 4 + ((K**2 + p * D2) / (P1 * Dd) + K * at) / (2 * np.pi)
    d = 0.25 + at / (2 * np.pi) + (K / (2 * np.pi * Dd)) * (1 / D2 + (1 - p) / P1 + 1)
    return nngp, T * d


def main():
    n, runs, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    data = np.fromfile(path, dtype=np.float64)
    K = data[: n * n].reshape(n, n)
    T = data[n * n : 2 * n * n].reshape(n, n)
    c1 = data[2 * n * n : 2 * n * n + n]
    out = {}
    for name, f in (("relu", relu), ("erf", erf), ("gelu", gelu)):
        f(K, T, c1)  # warm-up
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            f(K, T, c1)
            times.append((time.perf_counter() - t) * 1e3)
        times.sort()
        out[name] = {"median_ms": times[len(times) // 2], "best_ms": times[0]}
    print(json.dumps({"numpy": np.__version__, "maps": out}))


main()
