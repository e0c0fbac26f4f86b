"""Overall pools of a review: which effect sizes enter, and every model asked for.

One pool per outcome × comparison × measure. The overall pool takes, from
each cohort, one effect size for the whole population:

1. the study's ``population == "all"`` row (reported, or combined from its
   subgroups by the extraction); a study with subgroup rows only is named in
   the pool's ``note``;
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

__all__ = [
    "POOLED_COLUMNS",
    "METAREG_COLUMNS",
    "metareg_table",
    "model_grid",
    "moderator_values",
    "overall_rows",
    "pool_models",
    "pooled_table",
    "r_sweep_table",
    "subgroup_tables",
]

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
    "conf_level",
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
    split_only = sorted(set(effects["study_id"]) - set(rows["study_id"]))
    if split_only:
        notes.append(
            "no whole-population row (only subgroup rows, whose n could not be combined) for "
            + ", ".join(split_only) + ": not in the overall pool, see the subgroup pools"
        )
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
        row.pop("level", None)
        row.update(model=model, tau2_method=method, ci_method=ci, primary=primary, conf_level=level)
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


def subgroup_tables(
    effects: pd.DataFrame,
    studies: pd.DataFrame,
    *,
    analysis: dict,
    subgroups,
    populations: dict,
    permutations: int,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Subgroup pools, tests for subgroup differences and the membership table.

    Thin orchestration of :mod:`scimeta.subgroups` with the config's
    estimators and CI methods: membership is decided once
    (:func:`scimeta.subgroups.assign_subgroups`) and shared by the pools and
    the tests.
    """
    from scimeta import subgroups as sg

    subgroups = list(subgroups or [])
    if effects.empty or not subgroups:
        return (
            pd.DataFrame(columns=POOLED_COLUMNS),
            pd.DataFrame(columns=sg.TEST_COLUMNS),
            pd.DataFrame(columns=sg.ASSIGNMENT_COLUMNS),
        )
    populations = dict(populations or {})
    membership = pd.concat(
        [sg.assign_subgroups(effects, studies, var, populations) for var in subgroups],
        ignore_index=True,
    )
    options = dict(
        tau2_methods=list(analysis.get("tau2", ["REML"])),
        ci_methods=list(analysis.get("ci", ["wald"])),
        level=float(analysis.get("level", 0.95)),
        assignments=membership,
    )
    pooled = sg.pool_subgroups(
        effects, studies, subgroups, populations,
        pi_min_k=int(analysis.get("pi_min_k", 3)),
        common=bool(analysis.get("common", True)),
        **options,
    )
    primary = (
        (pooled["model"] == "random")
        & (pooled["tau2_method"] == options["tau2_methods"][0])
        & (pooled["ci_method"] == options["ci_methods"][0])
        & (pooled.get("tau2_scope", "separate") == "separate")
    )
    pooled = pooled.drop(columns=["level"], errors="ignore").assign(
        primary=primary, conf_level=options["level"]
    )
    tests = sg.subgroup_tests(
        effects, studies, subgroups, populations, n_perm=int(permutations), seed=int(seed),
        **options,
    )
    extra = [c for c in pooled.columns if c not in POOLED_COLUMNS]
    for col in POOLED_COLUMNS:
        if col not in pooled:
            pooled[col] = np.nan
    return pooled[POOLED_COLUMNS + extra], tests, membership


def r_sweep_table(effects: pd.DataFrame, *, r_grid, analysis: dict, enabled: bool = True) -> pd.DataFrame:
    """The before/after overall pools recomputed at every assumed pre-post correlation.

    Uses the primary estimator and CI method; studies whose correlation was
    reported or derived keep it (:func:`scimeta.sensitivity.r_sweep`).
    """
    from scimeta.sensitivity import SWEEP_COLUMNS, r_sweep

    columns = ["outcome", "comparison", "measure", *[c for c in SWEEP_COLUMNS
                                                      if c not in ("outcome", "comparison", "measure")]]
    if not enabled or effects.empty:
        return pd.DataFrame(columns=columns)
    frames = []
    paired = effects[(effects["comparison"] == "pre_post") & effects["measure"].isin(["MC", "SMCR", "SMCC"])]
    for (outcome, measure), group in paired.groupby(["outcome", "measure"], sort=True):
        rows, _ = overall_rows(group)
        if rows.empty:
            continue
        sweep = r_sweep(
            rows,
            measure=measure,
            r_grid=list(r_grid),
            tau2_method=list(analysis.get("tau2", ["REML"]))[0],
            ci_method=list(analysis.get("ci", ["wald"]))[0],
            level=float(analysis.get("level", 0.95)),
        )
        sweep = sweep.assign(outcome=outcome, comparison="pre_post", measure=measure)
        frames.append(sweep)
    if not frames:
        return pd.DataFrame(columns=columns)
    table = pd.concat(frames, ignore_index=True)
    return table[[c for c in columns if c in table.columns] + [c for c in table.columns if c not in columns]]


METAREG_COLUMNS = [
    "outcome",
    "comparison",
    "measure",
    "moderator",
    "tau2_method",
    "ci_method",
    "k",
    "term",
    "estimate",
    "se",
    "stat",
    "p",
    "ci_low",
    "ci_high",
    "df",
    "QM",
    "QM_df",
    "QM_p",
    "F",
    "F_df1",
    "F_df2",
    "tau2",
    "I2",
    "R2",
    "QE",
    "QE_df",
    "QE_p",
    "converged",
    "studies",
    "note",
]


def moderator_values(rows: pd.DataFrame, studies: pd.DataFrame, moderator: str) -> np.ndarray:
    """The study-level value of ``moderator`` for each effect row (NaN where missing or not a number)."""
    values = studies.set_index("study_id")[moderator]
    return pd.to_numeric(rows["study_id"].map(values), errors="coerce").to_numpy(float)


def metareg_table(effects: pd.DataFrame, studies: pd.DataFrame, *, moderators, analysis: dict) -> pd.DataFrame:
    """Meta-regression of every overall pool on each continuous moderator of the config.

    One model per outcome × comparison × measure × moderator × estimator × CI
    method (``wald`` → z tests, ``hksj`` → Knapp–Hartung t and F tests), on
    the effect sizes of the overall pool (:func:`overall_rows`); one row per
    coefficient (``intercept`` and the moderator). Studies without a value of
    the moderator are left out and named in ``note``; a model with fewer
    than three studies is not fitted (a row with the reason).
    """
    from scimeta.metareg import metareg

    records = []
    moderators = list(moderators or [])
    if effects.empty or not moderators:
        return pd.DataFrame(columns=METAREG_COLUMNS)
    level = float(analysis.get("level", 0.95))
    for (outcome, comparison, measure), group in effects.groupby(
        ["outcome", "comparison", "measure"], sort=True
    ):
        rows, _ = overall_rows(group)
        for moderator in moderators:
            x = moderator_values(rows, studies, moderator)
            have = np.isfinite(x)
            notes = []
            if (~have).any():
                notes.append("no value of " + moderator + " for "
                             + ", ".join(rows.loc[~have, "study_id"]) + " (left out)")
            used = rows[have]
            base = dict(outcome=outcome, comparison=comparison, measure=measure,
                        moderator=moderator, k=int(have.sum()), studies=";".join(used["study_id"]))
            for method in analysis.get("tau2", ["REML"]):
                for ci in analysis.get("ci", ["wald"]):
                    if have.sum() < 3 or np.unique(x[have]).size < 2:
                        why = ("fewer than 3 studies" if have.sum() < 3
                               else f"{moderator} takes a single value")
                        records.append({**base, "tau2_method": method, "ci_method": ci,
                                        "note": "; ".join(notes + [f"not fitted: {why}"])})
                        continue
                    fit = metareg(used["yi"].to_numpy(float), used["vi"].to_numpy(float),
                                  x[have], tau2_method=method,
                                  test="knha" if ci == "hksj" else "z", level=level)
                    note = "; ".join([n for n in [fit.note] + notes if n])
                    for i, term in enumerate(["intercept", moderator]):
                        records.append({
                            **base, "tau2_method": method, "ci_method": ci, "term": term,
                            "estimate": fit.beta[i], "se": fit.se[i], "stat": fit.stat[i],
                            "p": fit.pval[i], "ci_low": fit.ci_low[i], "ci_high": fit.ci_high[i],
                            "df": fit.df, "QM": fit.QM, "QM_df": fit.QM_df, "QM_p": fit.QM_p,
                            "F": fit.F, "F_df1": fit.F_df1, "F_df2": fit.F_df2, "tau2": fit.tau2,
                            "I2": fit.I2, "R2": fit.R2, "QE": fit.QE, "QE_df": fit.QE_df,
                            "QE_p": fit.QE_p, "converged": fit.converged, "note": note,
                        })
    table = pd.DataFrame(records)
    for col in METAREG_COLUMNS:
        if col not in table:
            table[col] = np.nan
    return table[METAREG_COLUMNS]


def bias_tables(effects: pd.DataFrame, analysis: dict) -> dict[str, pd.DataFrame]:
    """Small-study and influence diagnostics of every overall pool (:mod:`scimeta.bias`).

    For each outcome × comparison × measure, on the effect sizes of the overall
    pool, and for each estimator of the config: the bias tests (Egger with the
    mixed-effects and the weighted-regression model, Begg, trim-and-fill L0 and
    R0, PET, PEESE; Egger's test uses the Knapp–Hartung t test when the primary
    CI method is ``hksj``), leave-one-out pools (primary CI method) and
    influence diagnostics. Fewer than three studies give bias rows that say so
    and no leave-one-out or influence rows.
    """
    from scimeta import bias

    methods = list(analysis.get("tau2", ["REML"]))
    ci = list(analysis.get("ci", ["wald"]))[0]
    level = float(analysis.get("level", 0.95))
    frames: dict[str, list] = {"bias": [], "leave1out": [], "influence": []}
    if not effects.empty:
        for (outcome, comparison, measure), group in effects.groupby(
            ["outcome", "comparison", "measure"], sort=True
        ):
            rows, _ = overall_rows(group)
            if rows.empty:
                continue
            keys = dict(outcome=outcome, comparison=comparison, measure=measure)
            for method in methods:
                frames["bias"].append(bias.bias_table(
                    rows, **keys, tau2_method=method, test="knha" if ci == "hksj" else "z",
                    level=level))
                if len(rows) >= bias.MIN_K:
                    frames["leave1out"].append(bias.leave1out_table(
                        rows, **keys, tau2_method=method, ci_method=ci, level=level))
                    frames["influence"].append(bias.influence_table(
                        rows, **keys, tau2_method=method))
    columns = {
        "bias": list(bias.BIAS_COLUMNS),
        "leave1out": list(bias.LEAVE1OUT_COLUMNS),
        "influence": list(bias.INFLUENCE_COLUMNS),
    }
    out = {}
    for name, parts in frames.items():
        parts = [p for p in parts if len(p)]
        out[name] = (pd.concat(parts, ignore_index=True) if parts
                     else pd.DataFrame(columns=columns[name]))
    return out
