"""Overall pools of a review: which effect sizes enter, and every model asked for.

One pool per outcome × comparison × measure. The overall pool takes, from
each cohort, one effect size for the whole population:

1. the study's ``population == "all"`` row (reported, or combined from its
   subgroups by the extraction);
2. a cohort reported in several studies (same ``cohort_id``) enters once:
   the report with the most patients is kept, ties broken by ``study_id``;
   the others are named in the pool's ``note``.

Subgroup rows never enter an overall pool; they belong to the subgroup
analyses (:mod:`scimeta.subgroups`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from scimeta.pool import pool

__all__ = ["POOLED_COLUMNS", "model_grid", "overall_rows", "pool_models", "pooled_table"]

POOLED_COLUMNS = [
    "outcome",
    "comparison",
    "measure",
    "subgroup_var",
    "subgroup",
    "k",
    "n",
    "model",
    "tau2_method",
    "ci_method",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "stat",
    "p",
    "pi_low",
    "pi_high",
    "tau2",
    "tau2_ci_low",
    "tau2_ci_high",
    "tau",
    "I2",
    "H2",
    "Q",
    "Q_df",
    "Q_p",
    "df",
    "level",
    "primary",
    "converged",
    "studies",
    "note",
]


def model_grid(analysis: dict) -> list[tuple[str, str, str, bool]]:
    """Every (model, tau2_method, ci_method, primary) the config asks for.

    The primary model is the random-effects model with the first estimator
    and the first CI method of the config.
    """
    tau2 = list(analysis.get("tau2", ["REML"]))
    cis = list(analysis.get("ci", ["wald"]))
    grid = []
    if analysis.get("common", True):
        grid += [("common", "EE", ci, False) for ci in cis]
    for i, method in enumerate(tau2):
        for j, ci in enumerate(cis):
            grid.append(("random", method, ci, i == 0 and j == 0))
    return grid


def overall_rows(effects: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The effect sizes of one comparison × measure that enter its overall pool.

    Returns the selected rows (sorted by label) and notes on what was left out.
    """
    rows = effects[effects["population"] == "all"]
    notes = []
    if rows.empty:
        return rows, notes
    n_patients = rows[["n1", "n2"]].sum(axis=1, min_count=1)
    paired = rows["comparison"] == "pre_post"
    n_patients = n_patients.where(~paired, rows["n1"])
    ranked = rows.assign(_n=n_patients.fillna(-1)).sort_values(
        ["cohort_id", "_n", "study_id"], ascending=[True, False, True], kind="mergesort"
    )
    keep = ranked.drop_duplicates("cohort_id", keep="first")
    dropped = ranked.drop(index=keep.index)
    for _, row in dropped.iterrows():
        notes.append(
            f"{row['study_id']} left out: cohort {row['cohort_id']} already enters as "
            f"{keep.loc[keep['cohort_id'] == row['cohort_id'], 'study_id'].iloc[0]}"
        )
    keep = keep.drop(columns="_n").sort_values(["label", "study_id"], kind="mergesort")
    return keep, notes


def patients(rows: pd.DataFrame) -> tuple[float, list[str]]:
    """Patients in a set of effect sizes (both arms; one arm for before/after)."""
    total, unknown = 0.0, []
    for _, row in rows.iterrows():
        if row["comparison"] == "pre_post":
            n = row["n1"]
        else:
            n = row["n1"] + row["n2"] if not (pd.isna(row["n1"]) or pd.isna(row["n2"])) else math.nan
        if pd.isna(n):
            unknown.append(row["study_id"])
        else:
            total += float(n)
    return total, unknown


def pool_models(yi, vi, analysis: dict) -> list[dict]:
    """Pool one set of effect sizes under every model of :func:`model_grid`."""
    level = float(analysis.get("level", 0.95))
    pi_min_k = int(analysis.get("pi_min_k", 3))
    out = []
    for model, method, ci, primary in model_grid(analysis):
        res = pool(
            np.asarray(yi, dtype=float),
            np.asarray(vi, dtype=float),
            model=model,
            tau2_method=method,
            ci_method=ci,
            level=level,
            pi_min_k=pi_min_k,
        )
        row = res.to_dict()
        row.update(model=model, tau2_method=method, ci_method=ci, primary=primary, level=level)
        out.append(row)
    return out


def pooled_table(effects: pd.DataFrame, analysis: dict) -> pd.DataFrame:
    """Overall pools (``subgroup_var == "overall"``) of every comparison × measure in ``effects``."""
    records = []
    if effects.empty:
        return pd.DataFrame(columns=POOLED_COLUMNS)
    for (outcome, comparison, measure), group in effects.groupby(
        ["outcome", "comparison", "measure"], sort=True
    ):
        rows, notes = overall_rows(group)
        if rows.empty:
            continue
        n, unknown = patients(rows)
        if unknown:
            notes.append("n not reported for " + ", ".join(unknown) + " (not counted in n)")
        for fit in pool_models(rows["yi"], rows["vi"], analysis):
            note = "; ".join([n_ for n_ in [fit.get("note", "")] + notes if n_])
            fit.update(
                outcome=outcome,
                comparison=comparison,
                measure=measure,
                subgroup_var="overall",
                subgroup="all",
                n=n,
                studies=";".join(rows["study_id"]),
                note=note,
            )
            records.append(fit)
    table = pd.DataFrame(records)
    for col in POOLED_COLUMNS:
        if col not in table:
            table[col] = np.nan
    return table[POOLED_COLUMNS]
