"""Timing of scimeta.pool.pool_many on many simulated meta-analyses.

Not a test: prints wall-clock seconds. Run with
``python benchmarks/bench_pool_many.py [m] [k]`` (default 10000 x 20).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from scimeta.pool import pool_many


def simulate(m: int, k: int, seed: int = 20231122) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    tau2 = rng.choice([0.0, 0.02, 0.1, 0.5], size=(m, 1))
    vi = rng.uniform(0.01, 0.3, size=(m, k))
    yi = 0.3 + rng.normal(0.0, np.sqrt(tau2 + vi))
    ragged = rng.integers(2, k + 1, size=m)  # ragged k, NaN padded
    pad = np.arange(k)[None, :] >= ragged[:, None]
    pad[: m // 2] = False  # half the analyses use all k studies
    return np.where(pad, np.nan, yi), np.where(pad, np.nan, vi)


def main(m: int = 10_000, k: int = 20) -> None:
    Y, V = simulate(m, k)
    for method in ("REML", "DL", "PM", "ML", "EB", "SJ", "HE"):
        for tau2_ci in (True, False):
            t0 = time.perf_counter()
            batch = pool_many(Y, V, tau2_method=method, ci_method="hksj", tau2_ci=tau2_ci)
            dt = time.perf_counter() - t0
            print(
                f"{method:5s} tau2_ci={tau2_ci!s:5s} m={m} k<={k}: {dt:.3f} s "
                f"(max iterations {batch.iterations.max()}, all converged {bool(batch.converged.all())})"
            )


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
