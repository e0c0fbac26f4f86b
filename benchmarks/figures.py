"""Time to draw and save the figures (not a test; prints its numbers).

    python benchmarks/figures.py [--out DIR]

Renders a set of figures (forest plots of 5, 20 and 200 studies, a funnel,
an r-sensitivity and a bubble plot) and saves each as SVG, PNG (300 dpi)
and PDF. Target: the 200-study forest plot drawn and saved in all three
formats in under 3 s; timed once with one process and once with
``save_figure(..., jobs=2)``. Synthetic data from a seeded generator.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from scimeta.effects import escalc
from scimeta.plotting import (
    bubble_plot,
    forest_plot,
    funnel_plot,
    r_sensitivity_plot,
    save_figure,
)
from scimeta.pool import pool
from scimeta.sensitivity import r_sweep
from scimeta.settings import Settings
from scimeta.validate import config_defaults

SEED = 20231122
#: a config with the schema's defaults (its outcome as validation fills it in)
CONFIG = config_defaults({"outcomes": {"asia_motor": {"label": "ASIA motor score",
                                                      "higher_is_better": True,
                                                      "timepoint": 12}}})
CFG = CONFIG["outcomes"]["asia_motor"]
_A = Settings.from_config(CONFIG).analysis
FOREST = dict(layout=CONFIG["figures"]["layout"], tau2_method=_A.tau2_method,
              ci_method=_A.ci_method, level=_A.level, pi_min_k=_A.pi_min_k)


def synthetic_effects(k: int, rng: np.random.Generator, *, prepost: bool = False) -> pd.DataFrame:
    n1 = rng.integers(8, 60, k).astype(float)
    n2 = n1.copy() if prepost else rng.integers(8, 60, k).astype(float)
    m2 = rng.uniform(20, 50, k).round(1)
    m1 = (m2 + rng.normal(6, 5, k)).round(1)
    sd1, sd2 = rng.uniform(5, 18, k).round(2), rng.uniform(5, 18, k).round(2)
    if prepost:
        r = np.full(k, 0.5)
        es = escalc("MC", ni=n1, m1i=m1, sd1i=sd1, m2i=m2, sd2i=sd2, ri=r)
    else:
        es = escalc("MD", n1i=n1, m1i=m1, sd1i=sd1, n2i=n2, m2i=m2, sd2i=sd2)
    se = np.sqrt(es.vi)
    df = pd.DataFrame({
        "study_id": [f"s{i:03d}" for i in range(k)],
        "label": [f"Author{i} {1990 + i % 35}" for i in range(k)],
        "outcome": "asia_motor", "comparison": "pre_post" if prepost else "between_arms",
        "measure": "MC" if prepost else "MD", "yi": es.yi, "vi": es.vi, "sei": se,
        "ci_low": es.yi - 1.959963984540054 * se, "ci_high": es.yi + 1.959963984540054 * se,
        "n1": n1, "mean1": m1, "sd1": sd1, "n2": n2, "mean2": m2, "sd2": sd2,
        "level": np.where(np.arange(k) % 2, "cervical", "thoracolumbar"),
    })
    if prepost:
        df["r"] = 0.5
        df["r_source"] = "assumed (config prepost_r)"
    return df


def pooled_rows(eff: pd.DataFrame, subgroup_var: str | None = None) -> pd.DataFrame:
    rows = []

    def add(df, var, level):
        res = pool(df["yi"].to_numpy(), df["vi"].to_numpy(), tau2_method="REML",
                   ci_method="hksj").to_dict()
        res.update(outcome="asia_motor", comparison=df["comparison"].iloc[0],
                   measure=df["measure"].iloc[0], subgroup_var=var, subgroup=level)
        rows.append(res)

    add(eff, "overall", "all")
    if subgroup_var:
        for level, df in eff.groupby(subgroup_var, sort=True):
            add(df, subgroup_var, level)
    return pd.DataFrame(rows)


def timed(label: str, fn) -> float:
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    print(f"{label:<46s} {dt:7.2f} s wall {dc:7.2f} s cpu")
    return dt


def main(out_dir: Path) -> None:
    rng = np.random.default_rng(SEED)
    jobs = []
    for k in (5, 20):
        eff = synthetic_effects(k, rng)
        jobs.append((f"forest, {k} studies, 2 subgroups", eff, pooled_rows(eff, "level"), "level"))
    big = synthetic_effects(200, rng)
    big_pooled = pooled_rows(big)
    pp = synthetic_effects(8, rng, prepost=True)
    # warm-up: font loading and first-use caches are not what we measure
    save_figure(forest_plot(jobs[0][1], jobs[0][2], outcome_cfg=CFG, comparison="between_arms",
                            measure="MD", **FOREST), out_dir / "warmup")
    total = 0.0
    for label, eff, pooled, var in jobs:
        total += timed(label, lambda eff=eff, pooled=pooled, var=var: save_figure(
            forest_plot(eff, pooled, outcome_cfg=CFG, comparison="between_arms", measure="MD",
                        subgroup_var=var, **FOREST), out_dir / "forest"))
    total += timed("funnel, 20 studies", lambda: save_figure(funnel_plot(
        jobs[1][1]["yi"], jobs[1][1]["vi"], estimate=5.0, measure="MD"), out_dir / "funnel"))
    total += timed("r sweep (10 values) + r-sensitivity plot", lambda: save_figure(
        r_sensitivity_plot(r_sweep(pp, measure="MC", r_grid=np.arange(10) / 10,
                                   tau2_method="REML", ci_method="hksj", level=0.95),
                           primary_r=0.5), out_dir / "rsens"))
    x = np.arange(20, dtype=float)
    total += timed("bubble, 20 studies", lambda: save_figure(bubble_plot(
        jobs[1][1]["yi"], jobs[1][1]["vi"], x, coef=(4.0, 0.1), vcov=[[1, 0], [0, 0.01]],
        xlabel="x"), out_dir / "bubble"))
    holder = {}
    big_total = timed("forest, 200 studies: layout + draw", lambda: holder.update(
        res=forest_plot(big, big_pooled, outcome_cfg=CFG, comparison="between_arms",
                        measure="MD", **FOREST)))
    for fmt in ("svg", "png", "pdf"):
        big_total += timed(f"forest, 200 studies: save {fmt}", lambda fmt=fmt: save_figure(
            holder["res"], out_dir / "forest200", formats=(fmt,), write_data=fmt == "svg"))
    print(f"{'forest, 200 studies: total wall (target < 3 s)':<46s} {big_total:7.2f} s")
    print(f"{'all figures, wall':<46s} {total + big_total:7.2f} s")
    par = timed("forest, 200 studies: layout + draw", lambda: holder.update(
        res=forest_plot(big, big_pooled, outcome_cfg=CFG, comparison="between_arms",
                        measure="MD", **FOREST)))
    par += timed("forest, 200 studies: save svg+png+pdf, jobs=2", lambda: save_figure(
        holder["res"], out_dir / "forest200", jobs=2))
    print(f"{'forest, 200 studies, jobs=2: total wall':<46s} {par:7.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="keep the figures in this folder")
    args = parser.parse_args()
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        main(args.out)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))
