"""Timings of the batched engine, and of the same work in metafor.

Not a test: prints one line per figure, ``<name>: <s> s``, and where Rscript
with metafor is installed ``<name> metafor: <s> s, ratio <x>`` (metafor's
time over scimeta's). Where the full metafor run would take minutes, a
smaller run is timed and scaled; the line says so. Run with

    python benchmarks/engine.py            # every figure
    python benchmarks/engine.py --no-r     # scimeta only

The figures (targets on a 2-core machine):

- ``pool_many``: 10,000 random-effects meta-analyses of k = 20 (REML,
  Knapp-Hartung, prediction interval, Q-profile CI): >= 100x a loop of
  metafor ``rma`` + ``predict``;
- ``gosh``: all 65,535 non-empty subsets of k = 16, REML: < 2 s and >= 100x
  metafor ``gosh``;
- ``permutest``: subgroup moderator, 1,000 permutations, k = 40: < 1 s;
- ``huge_k``: one fit (REML + Knapp-Hartung + PI + Q-profile CI) at
  k = 100,000: < 0.1 s;
- ``gosh_memory``: peak resident memory of GOSH over all 1,048,575 subsets
  of k = 20: < 2 GB.
"""

from __future__ import annotations

import argparse
import math
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from scimeta.gosh import gosh
from scimeta.permutation import permutest
from scimeta.pool import pool, pool_many

HERE = Path(__file__).resolve().parent
R_SCRIPT = HERE / "engine_metafor.R"
SEED = 20231122


def simulate(m: int, k: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """``m`` meta-analyses of ``k`` studies with between-study variance 0.05."""
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 0.3, size=(m, k))
    yi = 0.3 + rng.normal(0.0, np.sqrt(0.05 + vi))
    return yi, vi


def best_of(fn, repeat: int = 3) -> float:
    """Median wall time of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def have_metafor() -> bool:
    if shutil.which("Rscript") is None:
        return False
    check = subprocess.run(["Rscript", "-e", "library(metafor)"], capture_output=True)
    return check.returncode == 0


def metafor_seconds(task: str, frame: pd.DataFrame, n: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.csv"
        frame.to_csv(path, index=False)
        out = subprocess.run(["Rscript", str(R_SCRIPT), task, str(path), str(n)],
                             capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"metafor task {task} failed:\n{out.stderr}")
    return float(out.stdout.strip().splitlines()[-1])


def report(name: str, ours: float, theirs: float | None, how: str = "") -> None:
    print(f"{name}: {ours:.4f} s", flush=True)
    if theirs is not None:
        label = f" ({how})" if how else ""
        print(f"{name} metafor: {theirs:.3f} s{label}, ratio {theirs / ours:.0f}", flush=True)


def bench_pool_many(r: bool) -> None:
    m, k = 10_000, 20
    Y, V = simulate(m, k)
    ours = best_of(lambda: pool_many(Y, V, tau2_method="REML", ci_method="hksj"))
    theirs, how = None, ""
    if r:
        n = 500
        frame = pd.DataFrame({"analysis": np.repeat(np.arange(n), k), "yi": Y[:n].ravel(), "vi": V[:n].ravel()})
        theirs = metafor_seconds("re_many", frame, n) * m / n
        how = f"{n} fits timed, scaled to {m:,}"
    report(f"pool_many {m:,} x k={k} REML+KH+PI", ours, theirs, how)


def bench_gosh(r: bool) -> None:
    k = 16
    Y, V = simulate(1, k, seed=SEED + 1)
    y, v = Y[0], V[0]
    n_fits = 2**k - 1
    ours = best_of(lambda: gosh(y, v, tau2_method="REML"))
    theirs, how = None, ""
    if r:
        small = 10
        theirs = metafor_seconds("gosh", pd.DataFrame({"yi": y, "vi": v}), small) * n_fits / (2**small - 1)
        how = f"gosh of k = {small} ({2**small - 1} fits) timed, scaled to {n_fits:,} fits"
    report(f"gosh all {n_fits:,} subsets of k={k}", ours, theirs, how)


def bench_permutest(r: bool) -> None:
    k, n_perm = 40, 1000
    Y, V = simulate(1, k, seed=SEED + 2)
    y, v = Y[0], V[0]
    g = np.repeat([0.0, 1.0], k // 2)
    y = y + 0.2 * g
    ours = best_of(lambda: permutest(y, v, g, n_perm=n_perm, seed=SEED))
    theirs, how = None, ""
    if r:
        small = 200
        theirs = metafor_seconds("permutest", pd.DataFrame({"yi": y, "vi": v, "g": g}), small) * n_perm / small
        how = f"{small} permutations timed, scaled to {n_perm:,}"
    report(f"permutest subgroup moderator {n_perm:,} permutations k={k}", ours, theirs, how)


def bench_huge_k(r: bool) -> None:
    k = 100_000
    Y, V = simulate(1, k, seed=SEED + 3)
    y, v = Y[0], V[0]
    ours = best_of(lambda: pool(y, v, tau2_method="REML", ci_method="hksj"), repeat=5)
    theirs, how = None, ""
    if r:
        frame = pd.DataFrame({"yi": y[:1000], "vi": v[:1000]})
        t500 = metafor_seconds("rma_k", frame, 500)
        t1000 = metafor_seconds("rma_k", frame, 1000)
        power = max(1.0, math.log(t1000 / t500, 2)) if t500 > 0 else 3.0
        theirs = t1000 * (k / 1000) ** power
        how = (f"k = 500: {t500:.3f} s, k = 1000: {t1000:.3f} s; extrapolated to k = {k:,} "
               f"as k^{power:.2f}")
    report(f"huge_k one fit k={k:,} REML+KH+PI+Q-profile", ours, theirs, how)


def gosh_memory_child() -> None:
    k = 20
    Y, V = simulate(1, k, seed=SEED + 4)
    t0 = time.perf_counter()
    table = gosh(Y[0], V[0], tau2_method="REML", max_exact_k=k)
    dt = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(f"{len(table)} {dt:.3f} {peak}")


def bench_gosh_memory() -> None:
    out = subprocess.run([sys.executable, __file__, "--gosh-memory-child"], capture_output=True, text=True,
                         check=True)
    n, dt, peak_kib = out.stdout.split()
    print(f"gosh_memory all {int(n):,} subsets of k=20: peak {int(peak_kib) / 1024**2:.2f} GB "
          f"(whole process), {float(dt):.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-r", action="store_true", help="skip the metafor timings")
    parser.add_argument("--gosh-memory-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.gosh_memory_child:
        gosh_memory_child()
        return
    r = not args.no_r and have_metafor()
    if not args.no_r and not r:
        print("Rscript with metafor not found: metafor timings skipped", flush=True)
    pool(np.array([0.1, 0.2, 0.3]), np.array([0.01, 0.02, 0.03]))  # warm up imports
    bench_pool_many(r)
    bench_gosh(r)
    bench_permutest(r)
    bench_huge_k(r)
    bench_gosh_memory()


if __name__ == "__main__":
    main()
