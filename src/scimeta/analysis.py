"""Overall pools of a review and every secondary analysis of them.

One pool per outcome × comparison × measure. Who enters it, with how many
patients, is decided once, by the membership table
(:func:`scimeta.membership.membership_table`, subgroup variable
``overall``): from each cohort one effect size for the whole population —
the study's ``population == "all"`` row (reported, or combined from its
subgroups by the extraction), or, for a study with subgroup rows only, its
rows of one subgroup variable combined by inverse variance (named in the
pool's ``note``); a cohort reported in several studies (same ``cohort_id``)
enters once, through the report with the most patients (named in ``note``).
Studies of different designs pool together only where the config's
``analysis.designs`` says so (:func:`scimeta.membership.design_stratum`):
otherwise each design stratum is a pool of its own, with its own secondary
analyses, and there is no pool across strata (column ``design`` of every table).
The pools, the r sweep, meta-regression, the bias and influence diagnostics
and the figures all read that table (:func:`overall_rows`).

Every secondary analysis runs on its own (:mod:`scimeta.faults`): one that
cannot be computed writes its row with empty numbers and the reason in
``note``, and the rest of the outcome is still written.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scimeta.faults import attempt, not_computed, with_gaps
from scimeta.membership import (
    OVERALL,
    membership_table,
    pool_notes,
    pool_patients,
    pool_rows,
    pool_strata,
)
from scimeta.pool import RESULT_FLOAT_FIELDS, pool
from scimeta.settings import analysis_settings, test_of
from scimeta.subgroups import OVERALL_POOLED_COLUMNS as POOLED_COLUMNS
from scimeta.tables import columns, conform

__all__ = [
    "POOLED_COLUMNS",
    "bias_tables",
    "membership_table",
    "strata",
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



def model_grid(analysis) -> list[tuple[str, str, str, bool]]:
    """Every (model, tau2_method, ci_method, primary) the config asks for
    (:meth:`scimeta.settings.AnalysisSettings.model_grid`).

    ``analysis``: the validated config's ``analysis`` block, or its
    :class:`scimeta.settings.AnalysisSettings`; here and in every function
    below a missing key is a ``KeyError``.
    """
    return analysis_settings(analysis).model_grid()


def _overall_membership(effects: pd.DataFrame, membership: pd.DataFrame | None) -> pd.DataFrame:
    if membership is None:
        return membership_table(effects, None, designs=None)
    return membership[membership["subgroup_var"] == OVERALL]


def overall_rows(
    effects: pd.DataFrame, membership: pd.DataFrame | None = None, *, outcome: str | None = None,
    design: str | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """The effect sizes of one comparison × measure that enter its overall pool.

    Read from ``membership`` (:func:`scimeta.membership.membership_table`;
    made from ``effects`` when not given, designs pooled); ``effects`` holds the rows of one
    comparison × measure, or all rows with the index the table refers to.
    ``design``: the pool of that design stratum (:func:`strata`); None: the
    members of every stratum (for a table with one stratum, its pool).
    Returns the rows (with ``n``, :func:`scimeta.membership.effect_patients`)
    and the notes on combined studies and cohorts left out.
    """
    overall = _overall_membership(effects, membership)
    if overall.empty or effects.empty:
        return effects.iloc[0:0].assign(n=pd.Series(dtype=float)), []
    keys = dict(comparison=effects["comparison"].iloc[0], measure=effects["measure"].iloc[0])
    if outcome is None and "outcome" in effects:
        outcome = effects["outcome"].iloc[0]
    rows = pool_rows(effects, overall, outcome=outcome, design=design,
                     **keys).drop(columns="subgroup")
    notes = pool_notes(overall, outcome=outcome, design=design, **keys)
    return rows, notes


def strata(effects: pd.DataFrame, membership: pd.DataFrame, *,
           outcome: str | None = None) -> list[str]:
    """The design strata of the overall pools of one comparison × measure (``effects`` holds
    its rows): :func:`scimeta.membership.pool_strata`, randomised first."""
    if outcome is None and "outcome" in effects and len(effects):
        outcome = effects["outcome"].iloc[0]
    return pool_strata(membership, comparison=effects["comparison"].iloc[0],
                       measure=effects["measure"].iloc[0], outcome=outcome)


def _analyses(effects: pd.DataFrame):
    """(outcome, comparison, measure) and the effect rows of each analysis, sorted."""
    return effects.groupby(["outcome", "comparison", "measure"], sort=True)


def _stratified(effects: pd.DataFrame, membership: pd.DataFrame):
    """Every pool: (outcome, comparison, measure, design), its member rows and notes; in the
    order of :func:`_analyses`, then of the design strata."""
    for (outcome, comparison, measure), group in _analyses(effects):
        for design in strata(group, membership, outcome=outcome):
            rows, notes = overall_rows(group, membership, outcome=outcome, design=design)
            yield (outcome, comparison, measure, design), rows, notes


def _membership(effects, membership, analysis) -> pd.DataFrame:
    """``membership`` as given, or that of the overall pools with the config's designs."""
    if membership is not None:
        return membership
    return membership_table(effects, None, designs=analysis_settings(analysis).designs)


def _pool_or_note(yi, vi, **options) -> dict:
    """One pooled row; without the tau² CI when only the Q-profile cannot be computed, with
    empty numbers when the pool itself cannot be."""
    res, why = attempt(pool, yi, vi, **options)
    if res is not None:
        return res.to_dict()
    res, why_ci = attempt(pool, yi, vi, **options, tau2_ci=False)
    if res is not None:
        row = res.to_dict()
        row["note"] = "; ".join(n for n in (row.get("note", ""),
                                            "tau^2 CI (Q-profile) " + not_computed(why)) if n)
        return row
    row = dict.fromkeys(RESULT_FLOAT_FIELDS, np.nan)
    row.update(k=len(yi), converged=False, note=not_computed(why))
    return row


def pool_models(yi, vi, analysis) -> list[dict]:
    """Pool one set of effect sizes under every model of :func:`model_grid`."""
    settings = analysis_settings(analysis)
    level, pi_min_k = settings.level, settings.pi_min_k
    out = []
    for model, method, ci, primary in settings.model_grid():
        row = _pool_or_note(
            np.asarray(yi, dtype=float),
            np.asarray(vi, dtype=float),
            model=model,
            tau2_method=method,
            ci_method=ci,
            level=level,
            pi_min_k=pi_min_k,
        )
        row.pop("level", None)
        row.update(model=model, tau2_method=method, ci_method=ci, primary=primary, conf_level=level)
        out.append(with_gaps(row))
    return out


def pooled_table(
    effects: pd.DataFrame, analysis, membership: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Overall pools (``subgroup_var == "overall"``) of every comparison × measure in ``effects``:
    one per design stratum (``design``; one pool across designs where
    ``analysis.designs`` pools them).

    ``membership``: the table of :func:`scimeta.membership.membership_table`
    (made from ``effects`` with ``analysis.designs`` when not given); ``n`` is
    the sum of its ``n``. ``primary`` marks the primary model of each pool: one
    row per outcome × comparison × measure × design.
    """
    records = []
    analysis = analysis_settings(analysis)
    if effects.empty:
        return conform("pooled", pd.DataFrame())
    membership = _membership(effects, membership, analysis)
    for (outcome, comparison, measure, design), rows, notes in _stratified(effects, membership):
        if rows.empty:
            continue
        n, unknown = pool_patients(rows)
        if unknown:
            notes.append("n not reported for " + ", ".join(unknown) + " (not counted in n)")
        for fit in pool_models(rows["yi"], rows["vi"], analysis):
            note = "; ".join([n_ for n_ in [fit.get("note", "")] + notes if n_])
            fit.update(
                outcome=outcome,
                comparison=comparison,
                measure=measure,
                design=design,
                subgroup_var=OVERALL,
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
    # every column of pooled.csv, ``design`` last; those of subgroup pools empty, the text and
    # boolean ones untyped, so that joined with the subgroup pools ``in_test`` stays True/False
    table = conform("pooled", table[POOLED_COLUMNS])
    return table.astype({"tau2_scope": object, "in_test": object})


def subgroup_tables(
    effects: pd.DataFrame,
    studies: pd.DataFrame,
    *,
    analysis,
    subgroups,
    populations: dict,
    permutations: int,
    seed: int,
    membership: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Subgroup pools, tests for subgroup differences and the membership table.

    Thin orchestration of :mod:`scimeta.subgroups` with the config's
    estimators and CI methods. ``membership`` (overall and subgroup pools,
    :func:`scimeta.membership.membership_table`; made here when not given)
    is shared by the pools and the tests, and returned whole: it is the
    ``subgroup_membership.csv`` of the outcome.
    """
    from scimeta import subgroups as sg

    analysis = analysis_settings(analysis)
    subgroups = list(subgroups)
    populations = dict(populations)
    if membership is None:
        membership = membership_table(effects, studies, subgroups, populations,
                                      designs=analysis.designs)
    if effects.empty or not subgroups:
        return conform("pooled", pd.DataFrame()), conform("subgroup_tests", pd.DataFrame()), membership
    by_group = membership[membership["subgroup_var"].isin(subgroups)]
    options = dict(
        tau2_methods=list(analysis.tau2_methods),
        ci_methods=list(analysis.ci_methods),
        level=analysis.level,
        assignments=by_group,
    )
    pooled = sg.pool_subgroups(
        effects, studies, subgroups, populations,
        pi_min_k=analysis.pi_min_k,
        common=analysis.common,
        scopes=analysis.subgroup_pools,
        **options,
    )
    primary = (
        (pooled["model"] == "random")
        & (pooled["tau2_method"] == analysis.tau2_method)
        & (pooled["ci_method"] == analysis.ci_method)
        & (pooled["tau2_scope"] == analysis.subgroup_scope)
    )
    pooled = pooled.drop(columns=["level"], errors="ignore").assign(
        primary=primary, conf_level=options["level"]
    )
    tests = sg.subgroup_tests(
        effects, studies, subgroups, populations, n_perm=int(permutations), seed=int(seed),
        **options,
    )
    return conform("pooled", pooled), conform("subgroup_tests", tests), membership


def r_sweep_table(
    effects: pd.DataFrame,
    *,
    r_grid,
    analysis,
    enabled: bool,
    membership: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The before/after overall pools recomputed at every assumed pre-post correlation.

    Uses the primary estimator and CI method on the members of each overall
    pool (:func:`overall_rows`, one sweep per design stratum); studies whose correlation was reported or
    derived keep it (:func:`scimeta.sensitivity.r_sweep`), and so does a
    study whose subgroup rows were combined (named in ``note``). A sweep
    that cannot be computed gives one row per grid value with the reason.
    """
    from scimeta.sensitivity import r_sweep

    if not enabled or effects.empty:
        return conform("sensitivity_r", pd.DataFrame())
    frames = []
    paired = effects[(effects["comparison"] == "pre_post") & effects["measure"].isin(["MC", "SMCR", "SMCC"])]
    analysis = analysis_settings(analysis)
    tau2_method, ci_method, level = analysis.tau2_method, analysis.ci_method, analysis.level
    membership = _membership(effects, membership, analysis)
    for (outcome, _, measure, design), rows, _ in _stratified(paired, membership):
        if rows.empty:
            continue
        sweep, why = attempt(
            r_sweep,
            rows,
            measure=measure,
            r_grid=list(r_grid),
            tau2_method=tau2_method,
            ci_method=ci_method,
            level=level,
        )
        if sweep is None:
            sweep = pd.DataFrame({"measure": measure, "r_assumed": list(r_grid), "k": len(rows),
                                  "model": "random", "tau2_method": tau2_method,
                                  "ci_method": ci_method,
                                  "level": level,
                                  "note": not_computed(why)})
        combined = rows["population"].astype(str).str.startswith("combined:")
        if combined.any():
            kept = ("; ".join(["combined from subgroup rows, kept at its own variance: "
                               + ", ".join(rows.loc[combined, "study_id"].astype(str))]))
            sweep["note"] = [("; ".join(x for x in (str(n) if pd.notna(n) else "", kept) if x))
                             for n in sweep.get("note", pd.Series([""] * len(sweep)))]
        sweep = sweep.assign(outcome=outcome, comparison="pre_post", measure=measure,
                             design=design)
        frames.append(sweep)
    if not frames:
        return conform("sensitivity_r", pd.DataFrame())
    return conform("sensitivity_r", pd.concat(frames, ignore_index=True))


METAREG_COLUMNS = columns("metareg")


def moderator_values(rows: pd.DataFrame, studies: pd.DataFrame, moderator: str) -> np.ndarray:
    """The study-level value of ``moderator`` for each effect row (NaN where missing or not a number)."""
    values = studies.set_index("study_id")[moderator]
    return pd.to_numeric(rows["study_id"].map(values), errors="coerce").to_numpy(float)


def metareg_table(
    effects: pd.DataFrame,
    studies: pd.DataFrame,
    *,
    moderators,
    analysis,
    membership: pd.DataFrame | None = None,
    permutations: int = 0,
    seed: int | None = None,
) -> pd.DataFrame:
    """Meta-regression of every overall pool on each continuous moderator of the config.

    One model per outcome × comparison × measure × design stratum × moderator × estimator × CI
    method (``wald`` → z tests, ``hksj`` → Knapp–Hartung t and F tests, ``hksj_adhoc`` the same
    with the factor floored at 1), on
    the effect sizes of the overall pool (:func:`overall_rows`); one row per
    coefficient (``intercept`` and the moderator). Studies without a value of
    the moderator are left out and named in ``note``; a model with fewer
    than three studies, or one that cannot be computed, is a row with the
    reason. What the bubble plot draws is in the table: the coefficients,
    ``cov_intercept`` and ``cov_slope`` (the row of the coefficients'
    covariance matrix that belongs to the term), ``crit`` (the normal or t
    quantile of the CIs) and ``tau2``. With ``permutations`` > 0, each model's
    permutation test (:func:`scimeta.permutation.permutest`, metafor
    ``permutest``: exact when there are at most ``permutations`` distinct
    orderings, else that many seeded random ones): ``p_perm`` of the term,
    ``QM_p_perm`` of the model, ``n_perm`` and ``perm_exact``.
    """
    from scimeta.metareg import metareg
    from scimeta.permutation import permutest_tests

    records = []
    analysis = analysis_settings(analysis)
    moderators = list(moderators)
    if effects.empty or not moderators:
        return conform("metareg", pd.DataFrame())
    level = analysis.level
    membership = _membership(effects, membership, analysis)
    for (outcome, comparison, measure, design), rows, _ in _stratified(effects, membership):
        for moderator in moderators:
            x = moderator_values(rows, studies, moderator)
            have = np.isfinite(x)
            notes = []
            if (~have).any():
                notes.append("no value of " + moderator + " for "
                             + ", ".join(rows.loc[~have, "study_id"]) + " (left out)")
            used = rows[have]
            base = dict(outcome=outcome, comparison=comparison, measure=measure, design=design,
                        moderator=moderator, k=int(have.sum()), studies=";".join(used["study_id"]))
            tests = tuple(dict.fromkeys(test_of(ci) for ci in analysis.ci_methods))
            for method in analysis.tau2_methods:
                permuted: dict = {}  # one set of permuted refits serves every CI method
                for ci in analysis.ci_methods:
                    if have.sum() < 3 or np.unique(x[have]).size < 2:
                        why = ("fewer than 3 studies" if have.sum() < 3
                               else f"{moderator} takes a single value")
                        records.append({**base, "tau2_method": method, "ci_method": ci,
                                        "note": "; ".join(notes + [f"not fitted: {why}"])})
                        continue
                    fit, why = attempt(metareg, used["yi"].to_numpy(float),
                                       used["vi"].to_numpy(float), x[have], tau2_method=method,
                                       test=test_of(ci), level=level)
                    if fit is None:
                        records.append({**base, "tau2_method": method, "ci_method": ci,
                                        "note": "; ".join(notes + [not_computed(why)])})
                        continue
                    note = "; ".join([n for n in [fit.note] + notes if n])
                    perm = {"p_perm": [np.nan, np.nan], "QM_p_perm": np.nan, "n_perm": 0,
                            "perm_exact": False}
                    if permutations and int(permutations) > 0:
                        if not permuted:
                            permuted.update(dict(zip(["results", "why"], attempt(
                                permutest_tests, used["yi"].to_numpy(float),
                                used["vi"].to_numpy(float), x[have], tau2_method=method,
                                tests=tests, n_perm=int(permutations), seed=seed))))
                        why = permuted["why"]
                        res = (permuted["results"] or {}).get(test_of(ci))
                        if res is None:
                            note = "; ".join(n for n in (note, "permutation test "
                                                         + not_computed(why)) if n)
                        else:
                            perm = {"p_perm": list(res.p_perm), "QM_p_perm": res.QM_p_perm,
                                    "n_perm": res.n_perm + res.n_failed,
                                    "perm_exact": res.exact}
                            note = "; ".join(n for n in (note, res.note) if n)
                    for i, term in enumerate(["intercept", moderator]):
                        records.append({
                            **base, "tau2_method": method, "ci_method": ci, "term": term,
                            "estimate": fit.beta[i], "se": fit.se[i], "stat": fit.stat[i],
                            "p": fit.pval[i], "ci_low": fit.ci_low[i], "ci_high": fit.ci_high[i],
                            "df": fit.df, "QM": fit.QM, "QM_df": fit.QM_df, "QM_p": fit.QM_p,
                            "F": fit.F, "F_df1": fit.F_df1, "F_df2": fit.F_df2, "tau2": fit.tau2,
                            "I2": fit.I2, "R2": fit.R2, "QE": fit.QE, "QE_df": fit.QE_df,
                            "QE_p": fit.QE_p, "converged": fit.converged,
                            "note": note if test_of(ci) != "z" else "; ".join(
                                n for n in (note, "z tests (wald): no F test, no df") if n),
                            "cov_intercept": fit.vcov[i, 0], "cov_slope": fit.vcov[i, 1],
                            "crit": fit.crit, "p_perm": perm["p_perm"][i],
                            "QM_p_perm": perm["QM_p_perm"], "n_perm": perm["n_perm"],
                            "perm_exact": perm["perm_exact"],
                        })
    return conform("metareg", pd.DataFrame(records))


def bias_tables(
    effects: pd.DataFrame, analysis, membership: pd.DataFrame | None = None
) -> dict[str, pd.DataFrame]:
    """Small-study and influence diagnostics of every overall pool (:mod:`scimeta.bias`).

    For each outcome × comparison × measure and design stratum (``design``), on
    the effect sizes of its overall pool (:func:`overall_rows`), and for each estimator of the config: the bias
    tests (Egger with the mixed-effects and the weighted-regression model,
    Begg, trim-and-fill L0 and R0 with the studies they impute (``bias_filled``),
    PET, PEESE; Egger's test uses the Knapp–Hartung t test when the primary CI
    method is ``hksj`` or ``hksj_adhoc``), leave-one-out
    pools (primary CI method) and influence diagnostics. Fewer than three
    studies give bias rows that say so and no leave-one-out or influence rows;
    a diagnostic that cannot be computed gives its rows with empty numbers and
    the reason in ``note``.
    """
    from scimeta import bias

    analysis = analysis_settings(analysis)
    methods, ci, level = analysis.tau2_methods, analysis.ci_method, analysis.level
    frames: dict[str, list] = {"bias": [], "bias_filled": [], "leave1out": [], "influence": []}

    def isolated(name, build, rows, design, **keys):
        table, why = attempt(build, rows, **keys)
        if table is None:
            table = pd.DataFrame({"study_id": rows["study_id"].to_numpy(),
                                  "note": not_computed(why)})
            table = table.assign(**{k: v for k, v in keys.items()
                                    if k in ("outcome", "comparison", "measure", "tau2_method")})
            table = conform(name, table)
        frames[name].append(table.assign(design=design))

    membership = _membership(effects, membership, analysis)
    for (outcome, comparison, measure, design), rows, _ in _stratified(effects, membership):
        if rows.empty:
            continue
        keys = dict(outcome=outcome, comparison=comparison, measure=measure)
        for method in methods:
            tests, filled = bias.bias_tables(rows, **keys, tau2_method=method,
                                             test=analysis.test, level=level)
            frames["bias"].append(tests.assign(design=design))
            frames["bias_filled"].append(filled.assign(design=design))
            if len(rows) >= bias.MIN_K:
                # the deleted fits, once: leave-one-out and influence both read them
                deleted, _ = attempt(bias.leave1out, rows["yi"].to_numpy(float),
                                     rows["vi"].to_numpy(float), tau2_method=method,
                                     ci_method=ci, level=level)
                isolated("leave1out", bias.leave1out_table, rows, design, **keys,
                         tau2_method=method, ci_method=ci, level=level, result=deleted)
                isolated("influence", bias.influence_table, rows, design, **keys,
                         tau2_method=method, deleted=deleted)
    out = {}
    for name, parts in frames.items():
        parts = [p for p in parts if len(p)]
        out[name] = conform(name, pd.concat(parts, ignore_index=True) if parts
                            else pd.DataFrame())
    return out
