"""GOSH and cumulative meta-analysis of every overall pool of an outcome: the tables.

Stage functions of the workflow (no Snakemake here). Each reads the outcome's
``effects.csv`` and ``membership.csv`` as written; the studies of each pool are
those of its overall pool (:func:`scimeta.analysis.overall_rows`, in the
order of the membership table), fitted with the primary model (the
random-effects model with the config's first estimator, as
:func:`scimeta.analysis.model_grid` says).

GOSH (:func:`scimeta.gosh.gosh`, metafor ``gosh``) of every pool of at least
``gosh.min_k`` studies (:func:`gosh_skip_reason`; below it the summary has a
row saying why, and no figure is planned): every subset of a pool
of up to ``gosh.max_exact_k`` studies, a seeded random sample of
``gosh.n_subsets`` subsets above it. The subsets of a pool are split into
``parts`` contiguous ranges (:func:`gosh_part`), each a job of its own when
the pool is large (the workflow's ``{chunk}``); random subsets are drawn in
seeded blocks, so a range is the same whatever the number of parts.
:func:`gosh_tables` joins the parts and derives the summary and the shift of
each study. Cumulative meta-analysis (:func:`cumulative_table`, metafor
``cumul``): the studies ordered by ``cumulative.order_by``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from scimeta.analysis import overall_rows, strata
from scimeta.cumulative import CUMULATIVE_COLUMNS, cumulative_effects
from scimeta.faults import attempt, not_computed
from scimeta.membership import ALL_DESIGNS
from scimeta.settings import analysis_settings
from scimeta.gosh import GOSH_COLUMNS, GOSH_INFLUENCE_COLUMNS, gosh, gosh_influence, subset_count

__all__ = [
    "CUMULATIVE_TABLE_COLUMNS",
    "GOSH_INFLUENCE_TABLE_COLUMNS",
    "GOSH_SUMMARY_COLUMNS",
    "GOSH_TABLE_COLUMNS",
    "POOL_KEYS",
    "cumulative_table",
    "gosh_parts",
    "gosh_part",
    "gosh_skip_reason",
    "gosh_tables",
    "robustness_pools",
]

#: The keys of a pool in every table of this module.
POOL_KEYS = ["outcome", "comparison", "measure", "model", "tau2_method"]
#: ``results/outcomes/<outcome>/gosh.csv``: one row per fitted subset of a pool.
GOSH_TABLE_COLUMNS = [*POOL_KEYS, "k_pool", "exact", "seed", *GOSH_COLUMNS, "note", "design"]
#: ``results/outcomes/<outcome>/gosh_influence.csv``: one row per study of a pool.
GOSH_INFLUENCE_TABLE_COLUMNS = [*POOL_KEYS, "rank", *GOSH_INFLUENCE_COLUMNS, "design"]
#: ``results/tables/gosh.csv`` (and ``gosh_summary.csv`` of each outcome): one row per pool.
GOSH_SUMMARY_COLUMNS = [
    *POOL_KEYS, "k_pool", "n_subsets", "exact", "seed", "n_fitted",
    "estimate_min", "estimate_median", "estimate_max", "I2_min", "I2_median", "I2_max",
    "top_study", "top_shift", "file", "note", "design",
]
#: ``results/tables/cumulative.csv``: one row per step of a pool.
CUMULATIVE_TABLE_COLUMNS = ["outcome", "comparison", "measure", "order_by", *CUMULATIVE_COLUMNS,
                            "design"]


def _primary_model(analysis) -> tuple[str, str, str]:
    """(model, tau2_method, ci_method) of the primary model: random effects with the
    config's first estimator and first CI method (:class:`scimeta.settings.AnalysisSettings`)."""
    settings = analysis_settings(analysis)
    return "random", settings.tau2_method, settings.ci_method


def robustness_pools(effects: pd.DataFrame, membership: pd.DataFrame | None):
    """(comparison, measure, design, rows) of every overall pool of the outcome, sorted (one
    per design stratum, :func:`scimeta.analysis.strata`); ``rows`` are the pool's effect
    sizes in the membership table's order. Without ``membership``, one pool across designs."""
    if effects.empty:
        return
    for (comparison, measure), group in effects.groupby(["comparison", "measure"], sort=True):
        if membership is None:
            rows, _ = overall_rows(group, None)
            yield comparison, measure, ALL_DESIGNS, rows.reset_index(drop=True)
            continue
        for design in strata(group, membership):
            rows, _ = overall_rows(group, membership, design=design)
            yield comparison, measure, design, rows.reset_index(drop=True)


def gosh_skip_reason(k: int, gosh_config: dict) -> str:
    """Why a pool of ``k`` studies gets no GOSH, or "" when it gets one.

    A GOSH plot is read as the shape of a cloud of subsets: with k studies there are
    2^k - 1 of them, and below ``gosh.min_k`` (the schema's default 6: 63 subsets) the
    cloud is a few points that say no more than the leave-one-out table.
    """
    min_k = int(gosh_config["min_k"])
    if int(k) >= min_k:
        return ""
    return (f"not run: {int(k)} {'study' if int(k) == 1 else 'studies'}, fewer than "
            f"gosh.min_k = {min_k}")


#: Most jobs the GOSH of one outcome is split into (:func:`gosh_parts`).
MAX_GOSH_PARTS = 256


def gosh_parts(k_max: int, gosh_config: dict) -> int:
    """Jobs the GOSH of an outcome is split into: subsets of its largest possible pool
    (``k_max`` studies) over ``gosh.part_size``, at least one and at most
    :data:`MAX_GOSH_PARTS`."""
    if gosh_skip_reason(k_max, gosh_config):
        return 1
    n = subset_count(k_max, gosh_config["max_exact_k"], gosh_config["n_subsets"])
    cost = n * k_max  # cells fitted: a part holds about part_size subsets of 1,000 studies
    return min(MAX_GOSH_PARTS, max(1, math.ceil(cost / (int(gosh_config["part_size"]) * 1000))))


def _pool_seed(seed: int, comparison: str, measure: str, design: str = ALL_DESIGNS) -> int:
    """A seed of its own for each pool, from the review's seed and the pool's keys (the
    design stratum's name only for a stratum of one design)."""
    key = f"{comparison}/{measure}" + ("" if design == ALL_DESIGNS else f"/{design}")
    digest = sum((i + 1) * ord(c) for i, c in enumerate(key))
    return int(seed) * 1_000_003 + digest


def gosh_part(
    effects: pd.DataFrame,
    membership: pd.DataFrame | None,
    *,
    outcome: str,
    analysis: dict,
    gosh_config: dict,
    seed: int,
    part: int = 0,
    parts: int = 1,
) -> pd.DataFrame:
    """Subsets ``part`` of ``parts`` (contiguous ranges) of every pool of the outcome with
    at least ``gosh.min_k`` studies (:func:`gosh_skip_reason`); columns
    :data:`GOSH_TABLE_COLUMNS`."""
    if not 0 <= int(part) < int(parts):
        raise ValueError(f"part must be in 0 .. {int(parts) - 1}, got {part!r}")
    model, method, _ = _primary_model(analysis)
    frames = []
    for comparison, measure, design, rows in robustness_pools(effects, membership):
        k = len(rows)
        if gosh_skip_reason(k, gosh_config):
            continue
        n = subset_count(k, gosh_config["max_exact_k"], gosh_config["n_subsets"])
        start, stop = n * int(part) // int(parts), n * (int(part) + 1) // int(parts)
        if start >= stop:
            continue
        pool_seed = _pool_seed(seed, comparison, measure, design)
        table, why = attempt(gosh, rows["yi"].to_numpy(float), rows["vi"].to_numpy(float),
                             model=model, tau2_method=method,
                             max_exact_k=int(gosh_config["max_exact_k"]),
                             n_subsets=int(gosh_config["n_subsets"]), seed=pool_seed,
                             start=start, stop=stop, study_id=rows["study_id"].tolist())
        if table is None:
            table = pd.DataFrame({"subset": [start + 1], "note": [not_computed(why)]})
        exact = k <= int(gosh_config["max_exact_k"])
        frames.append(table.assign(outcome=outcome, comparison=comparison, measure=measure,
                                   model=model, tau2_method=method, k_pool=k, exact=exact,
                                   seed=None if exact else pool_seed, design=design))
    if not frames:
        return pd.DataFrame(columns=GOSH_TABLE_COLUMNS)
    return pd.concat(frames, ignore_index=True).reindex(columns=GOSH_TABLE_COLUMNS)


def gosh_tables(
    parts: list[pd.DataFrame],
    effects: pd.DataFrame,
    membership: pd.DataFrame | None,
    *,
    outcome: str,
    analysis: dict,
    gosh_config: dict,
    file: str = "",
) -> dict[str, pd.DataFrame]:
    """The outcome's GOSH tables from its parts (:func:`gosh_part`, in part order).

    Returns ``gosh`` (every subset, :data:`GOSH_TABLE_COLUMNS`), ``influence``
    (:func:`scimeta.gosh.gosh_influence` of each pool, its studies in the pool's
    order, ``rank`` 1 for the largest ``shift``; :data:`GOSH_INFLUENCE_TABLE_COLUMNS`) and ``summary`` (one row
    per pool, :data:`GOSH_SUMMARY_COLUMNS`; ``file`` names the per-outcome
    table of the subsets; a pool of fewer than ``gosh.min_k`` studies has a row
    with the reason in ``note``, :func:`gosh_skip_reason`).
    """
    model, method, _ = _primary_model(analysis)
    parts = [p for p in parts if len(p)]
    table = (pd.concat(parts, ignore_index=True).reindex(columns=GOSH_TABLE_COLUMNS) if parts
             else pd.DataFrame(columns=GOSH_TABLE_COLUMNS))
    summaries, influences = [], []
    for comparison, measure, design, rows in robustness_pools(effects, membership):
        k = len(rows)
        keys = dict(outcome=outcome, comparison=comparison, measure=measure, model=model,
                    tau2_method=method, design=design)
        skip = gosh_skip_reason(k, gosh_config)
        if skip:
            summaries.append({**keys, "k_pool": k, "n_subsets": 0, "n_fitted": 0, "file": "",
                              "note": skip})
            continue
        sub = table[(table["comparison"] == comparison) & (table["measure"] == measure)
                    & (table["design"].astype(str) == design)]
        exact = k <= int(gosh_config["max_exact_k"])
        n = subset_count(k, gosh_config["max_exact_k"], gosh_config["n_subsets"])
        est, i2 = sub["estimate"].to_numpy(float), sub["I2"].to_numpy(float)
        ok = np.isfinite(est) & np.isfinite(i2)
        notes = [str(n) for n in sub["note"].dropna().unique() if str(n)]
        if len(sub) != n:
            notes.append(f"{n - len(sub)} of {n} subsets missing")
        row = {**keys, "k_pool": k, "n_subsets": n, "exact": exact,
               "seed": None if exact else sub["seed"].iloc[0] if len(sub) else None,
               "n_fitted": int(ok.sum()), "file": file}
        if ok.any():
            row.update(estimate_min=est[ok].min(), estimate_median=float(np.median(est[ok])),
                       estimate_max=est[ok].max(), I2_min=i2[ok].min(),
                       I2_median=float(np.median(i2[ok])), I2_max=i2[ok].max())
            infl = gosh_influence(sub.reset_index(drop=True), rows["study_id"].astype(str).tolist())
            # rows stay in the pool's order (that of the membership strings); rank 1 = largest shift
            by_shift = np.argsort(-infl["shift"].fillna(-np.inf).to_numpy(), kind="stable")
            rank = np.empty(len(infl), dtype=np.int64)
            rank[by_shift] = np.arange(1, len(infl) + 1)
            infl.insert(0, "rank", rank)
            influences.append(infl.assign(**keys))
            top = int(by_shift[0])
            row.update(top_study=infl["study"].iloc[top], top_shift=infl["shift"].iloc[top])
        else:
            notes.append("no subset could be fitted")
        row["note"] = "; ".join(notes)
        summaries.append(row)
    influence = (pd.concat(influences, ignore_index=True) if influences
                 else pd.DataFrame(columns=GOSH_INFLUENCE_TABLE_COLUMNS))
    return {
        "gosh": table,
        "influence": influence.reindex(columns=GOSH_INFLUENCE_TABLE_COLUMNS),
        "summary": pd.DataFrame(summaries).reindex(columns=GOSH_SUMMARY_COLUMNS),
    }


def _whole(values: pd.Series) -> pd.Series:
    """Order values as written: whole numbers (a year read as a float) without ``.0``."""
    num = pd.to_numeric(values, errors="coerce")
    if values.notna().any() and num[values.notna()].notna().all():
        finite = num.dropna()
        if (finite == finite.round()).all():
            return num.astype("Int64").astype(object).where(num.notna(), None)
    return values


def cumulative_table(
    effects: pd.DataFrame,
    membership: pd.DataFrame | None,
    studies: pd.DataFrame,
    *,
    outcome: str,
    analysis: dict,
    order_by: str,
) -> pd.DataFrame:
    """Cumulative meta-analysis of every overall pool (primary model and CI method), the
    studies ordered by ``order_by`` (a column of ``effects.csv`` or of the studies sheet),
    ties in the pool's order; columns :data:`CUMULATIVE_TABLE_COLUMNS`. A pool that cannot
    be computed has one row with the reason in ``note``."""
    model, method, ci = _primary_model(analysis)
    settings = analysis_settings(analysis)
    frames = []
    for comparison, measure, design, rows in robustness_pools(effects, membership):
        if rows.empty:
            continue
        table, why = attempt(cumulative_effects, rows, order_by, studies=studies, model=model,
                             tau2_method=method, ci_method=ci, level=settings.level,
                             pi_min_k=settings.pi_min_k)
        if table is None:
            table = pd.DataFrame({"note": [not_computed(why)]})
        frames.append(table.assign(outcome=outcome, comparison=comparison, measure=measure,
                                   design=design, order_by=order_by, order_value=_whole(table["order_value"])
                                   if "order_value" in table else None))
    if not frames:
        return pd.DataFrame(columns=CUMULATIVE_TABLE_COLUMNS)
    return pd.concat(frames, ignore_index=True).reindex(columns=CUMULATIVE_TABLE_COLUMNS)
