"""Subgroup analyses: membership, per-subgroup pools and tests for differences.

Three steps, each a plain function on DataFrames in the shape of the
pipeline's tables:

1. :func:`scimeta.membership.assign_subgroups` decides which effect-size
   rows enter which subgroup pool, never counting a patient twice, and says
   why for every row (re-exported here).
2. :func:`pool_subgroups` pools each subgroup (rows in ``pooled.csv`` shape)
   under separate tau^2 per subgroup and under a common tau^2.
3. :func:`subgroup_tests` tests for subgroup differences (rows in
   ``subgroup_tests.csv`` shape): Q-between on the subgroup random-effects
   estimates (as RevMan and R's meta) and the mixed-effects moderator model
   (as metafor), with a permutation p-value (as metafor's ``permutest``).

Small-k guardrails (each written in the ``note`` column, never an exception):

- a subgroup with k = 1 under separate tau^2 is the pooling module's single
  study (:data:`scimeta.pool.SINGLE_STUDY_NOTE`): its own effect and Wald CI;
  under the common tau^2 it is estimated by the mixed-effects model (as
  metafor's ``rma(yi, vi, mods = ~ factor(g) - 1)``): its own effect with
  standard error :math:`\\sqrt{v_i + \\hat\\tau^2}`;
- no prediction interval below ``pi_min_k`` studies;
- fewer than two tested subgroups, or no residual degrees of freedom, give a
  test row with NaN and the reason;
- studies that are mixed for the variable and report no split form the group
  :data:`MIXED`, which is pooled and shown but left out of every test.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from scimeta._dist import chi2_sf
from scimeta.faults import attempt, not_computed, with_gaps
from scimeta.membership import (
    ANALYSIS_KEYS,
    ASSIGNMENT_COLUMNS,
    MIXED,
    assign_subgroups,
    combine_rows,
)
from scimeta.metareg import metareg
from scimeta.permutation import permutation_count, permutest_tests
from scimeta.estimators import KNHA_TESTS
from scimeta.pool import KNHA_CI_METHODS, RESULT_FLOAT_FIELDS, adhoc_floor_note, adhoc_floored
from scimeta.pool import pool as _pool
from scimeta.settings import test_of
from scimeta.tables import columns

__all__ = [
    "MIXED",
    "SCOPES",
    "ASSIGNMENT_COLUMNS",
    "OVERALL_POOLED_COLUMNS",
    "POOLED_COLUMNS",
    "TEST_COLUMNS",
    "assign_subgroups",
    "combine_rows",
    "pool_subgroups",
    "subgroup_tests",
    "exact_permutation_count",
]


#: The columns of the overall pools (:mod:`scimeta.analysis`): ``pooled.csv`` without
#: what only a subgroup pool has.
OVERALL_POOLED_COLUMNS = [c for c in columns("pooled")
                          if c not in ("tau2_scope", "in_test", "iterations")]

#: The columns of the overall pools and what a subgroup pool adds: which
#: tau^2 it used, whether its subgroup enters the tests for differences, the
#: estimator's iterations.
POOLED_COLUMNS = [c for c in OVERALL_POOLED_COLUMNS if c not in ("conf_level", "primary")] + [
    "tau2_scope",
    "in_test",
    "iterations",
]

TEST_COLUMNS = columns("subgroup_tests")

#: The ``tau2_scope`` values of subgroup pools (config ``subgroup_pools``).
SCOPES = ("separate", "common", "single_model")
SINGLE_MODEL_NOTE = ("one model of all tested subgroups (subgroup factor without intercept): "
                     "common tau^2, one Hartung-Knapp factor on k - G df")

#: ``statistic`` of a test row: which statistic its ``p`` belongs to.
STATISTIC_Q, STATISTIC_F = "Q_between", "F"


def _assignments(effects, studies, subgroups, populations_map, assignments):
    if assignments is not None:
        return assignments
    frames = [assign_subgroups(effects, studies, var, populations_map) for var in subgroups]
    return (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=ASSIGNMENT_COLUMNS)
    )


# --------------------------------------------------------------------------
# pools
# --------------------------------------------------------------------------
def _nan_row() -> dict:
    return dict.fromkeys(RESULT_FLOAT_FIELDS, math.nan)


def _single_study_row(pool_fn, y: float, v: float, *, model, tau2_method, ci_method, level) -> dict:
    """A subgroup of one study: the pooling module's one rule for a single study
    (:data:`scimeta.pool.SINGLE_STUDY_NOTE`), as every other pool of one study."""
    return _pool_row(pool_fn, [y], [v], model=model, tau2_method=tau2_method,
                     ci_method=ci_method, level=level, pi_min_k=1)


def _attempted_row(build, *args, tau2_method, ci_method, **kwargs) -> dict:
    """``build(...)``'s row, or a row of NaN with the reason when it cannot be computed."""
    r, why = attempt(build, *args, tau2_method=tau2_method, ci_method=ci_method, **kwargs)
    if r is None:
        r = _nan_row()
        r.update(model=kwargs.get("model", "random"), tau2_method=tau2_method,
                 ci_method=ci_method, converged=False, iterations=0, note=not_computed(why))
    return r


def _pool_row(pool_fn, y, v, *, model, tau2_method, ci_method, level, pi_min_k) -> dict:
    kwargs = dict(model=model, ci_method=ci_method, level=level, pi_min_k=pi_min_k)
    if model == "random":
        kwargs["tau2_method"] = tau2_method
    res = pool_fn(y, v, **kwargs)
    d = dict(res.to_dict())
    return d


def _common_scope_row(y, v, tau2, *, tau2_method, ci_method, level, pi_min_k, conv, note):
    """Pool one subgroup with tau^2 fixed at the common (moderator-model) value."""
    k = len(y)
    if k == 1 and ci_method in KNHA_CI_METHODS:
        note = "; ".join(x for x in (note, "k = 1: no Knapp-Hartung adjustment (no residual "
                                     "degrees of freedom in the subgroup), Wald CI") if x)
    test = test_of(ci_method) if k > 1 else "z"
    fit = metareg(y, v, None, tau2=tau2, test=test, level=level)
    row = _nan_row()
    est, se = float(fit.beta[0]), float(fit.se[0])
    row.update(
        estimate=est,
        se=se,
        ci_low=float(fit.ci_low[0]),
        ci_high=float(fit.ci_high[0]),
        stat=float(fit.stat[0]),
        p=float(fit.pval[0]),
        tau2=tau2,
        tau=math.sqrt(tau2),
        I2=fit.I2,
        H2=fit.H2,
        Q=fit.QE if k > 1 else math.nan,
        Q_df=k - 1,
        Q_p=fit.QE_p if k > 1 else math.nan,
        df=fit.df,
        hk_factor=fit.s2w_raw if test in KNHA_TESTS else math.nan,
    )
    notes = [note] if note else []
    if adhoc_floored(ci_method, row["hk_factor"]):
        notes.append(adhoc_floor_note(row["hk_factor"]))
    if k >= pi_min_k:
        half = fit.crit * math.sqrt(se**2 + tau2)
        row.update(pi_low=est - half, pi_high=est + half)
    else:
        notes.append(f"prediction interval not reported for k < {pi_min_k}")
    if fit.note:
        notes.append(fit.note)
    row.update(
        model="random",
        tau2_method=tau2_method,
        ci_method=ci_method,
        converged=conv,
        iterations=0,
        note="; ".join(notes),
    )
    return row


def _dummies(labels: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    levels = sorted(set(labels))
    X = np.array([[1.0 if lab == lev else 0.0 for lev in levels[1:]] for lab in labels])
    return X.reshape(len(labels), len(levels) - 1), levels


def _moderator_fit(y, v, labels, tau2_method, test, level):
    if len(set(labels)) < 2:
        return None, "fewer than 2 subgroups with data: no test"
    X, levels = _dummies(labels)
    k, g = len(y), len(levels)
    if tau2_method != "EE" and k <= g:
        return None, f"k = {k} <= {g} subgroups: no residual degrees of freedom for tau^2"
    if test in KNHA_TESTS and k <= g:
        return None, f"k = {k} <= {g} subgroups: no Knapp-Hartung test"
    return metareg(y, v, X, tau2_method=tau2_method, test=test, level=level), ""


def _single_model_fit(y, v, labels, tau2_method, test, level):
    """metafor's ``rma(yi, vi, mods = ~ factor(g) - 1, test = test)``: one coefficient per
    subgroup (levels sorted), one tau^2 and one Knapp-Hartung factor on k - G df."""
    levels = sorted(set(labels))
    X = np.array([[1.0 if lab == lev else 0.0 for lev in levels] for lab in labels])
    X = pd.DataFrame(X.reshape(len(labels), len(levels)), columns=levels)
    return metareg(y, v, X, tau2_method=tau2_method, test=test, level=level, intercept=False)


def _single_model_row(fit, level_name, *, k, tau2_method, ci_method, pi_min_k, note) -> dict:
    """Subgroup ``level_name``'s row of the single model (:func:`_single_model_fit`)."""
    row = _nan_row()
    j = fit.names.index(level_name)
    est, se = float(fit.beta[j]), float(fit.se[j])
    test = test_of(ci_method)
    row.update(estimate=est, se=se, ci_low=float(fit.ci_low[j]), ci_high=float(fit.ci_high[j]),
               stat=float(fit.stat[j]), p=float(fit.pval[j]), tau2=fit.tau2,
               tau=math.sqrt(fit.tau2) if np.isfinite(fit.tau2) else math.nan, df=fit.df,
               hk_factor=fit.s2w_raw if test in KNHA_TESTS else math.nan)
    notes = [note]
    if adhoc_floored(ci_method, row["hk_factor"]):
        notes.append(adhoc_floor_note(row["hk_factor"]))
    if k >= pi_min_k and np.isfinite(se) and np.isfinite(fit.tau2):
        # metafor's predict(): the coefficient's SE and the CI's quantile
        half = fit.crit * math.sqrt(se**2 + fit.tau2)
        row.update(pi_low=est - half, pi_high=est + half)
    else:
        notes.append(f"prediction interval not reported for k < {pi_min_k}")
    if fit.note:
        notes.append(fit.note)
    row.update(model="random", tau2_method=tau2_method, ci_method=ci_method,
               converged=fit.converged, iterations=fit.iterations, note="; ".join(notes))
    return row


def pool_subgroups(
    effects: pd.DataFrame,
    studies: pd.DataFrame,
    subgroups: Iterable[str],
    populations_map: Mapping[str, Sequence[str]] | None = None,
    *,
    tau2_methods: Sequence[str],
    ci_methods: Sequence[str],
    level: float,
    pi_min_k: int,
    common: bool,
    scopes: Sequence[str] = ("separate", "common"),
    assignments: pd.DataFrame | None = None,
    pool_fn=None,
) -> pd.DataFrame:
    """Pool every subgroup of every variable in ``subgroups``.

    Parameters
    ----------
    effects, studies, subgroups, populations_map
        As :func:`assign_subgroups` (``subgroups`` is the config's list).
    tau2_methods, ci_methods : sequences
        Every combination is pooled (config ``analysis.tau2`` / ``analysis.ci``).
    level, pi_min_k
        Confidence level; no prediction interval below ``pi_min_k`` studies.
    common : bool
        Also pool each subgroup with the common-effect model (one row per
        CI method, ``tau2_scope = separate``).
    scopes : subset of ("separate", "common", "single_model")
        ``separate``: each subgroup has its own tau^2 (the pooling module's
        random-effects pool). ``common``: one tau^2 for all subgroups, from
        the mixed-effects model with the subgroup factor as moderator (as
        R meta's ``tau.common = TRUE``), each subgroup pooled with it by
        :func:`scimeta.metareg.metareg` with ``tau2`` fixed: Wald or
        Knapp-Hartung CI, the Knapp-Hartung factor from the subgroup's own
        residuals on :math:`k_g - 1` df; prediction interval
        :math:`\\hat\\mu \\pm c\\sqrt{SE^2 + \\hat\\tau^2}` with c the normal
        or t(k_g-1) quantile (as metafor's ``predict``); no CI for that tau^2.
        The common tau^2 is estimated on the tested subgroups only; the
        :data:`MIXED` group is pooled with it and says so. ``single_model``:
        metafor's one model ``rma(yi, vi, mods = ~ factor(g) - 1, test =
        ...)`` of the tested subgroups: the same tau^2 as ``common``, but one
        Knapp-Hartung factor from all residuals, on k - G df, for every
        subgroup's CI, test and prediction interval (``predict``); the
        :data:`MIXED` group is not in that model (a row that says so).
    assignments : DataFrame, optional
        Output of :func:`assign_subgroups` (computed when not given).
    pool_fn : callable, optional
        The pooling function (default :func:`scimeta.pool.pool`).

    Returns
    -------
    DataFrame
        :data:`POOLED_COLUMNS`: the ``pooled.csv`` columns plus
        ``tau2_scope`` (``separate``/``common``), ``in_test``,
        ``iterations``, ``studies`` (``;``-joined) and ``level`` (the
        confidence level, as in the pooling module's results). Sorted by analysis,
        variable, subgroup, scope, model, tau2_method, ci_method.

    Notes
    -----
    k = 1: the study's own effect with its Wald CI under every (model,
    tau2_method, ci_method), as every pool of one study
    (:data:`scimeta.pool.SINGLE_STUDY_NOTE`). Rows are never dropped silently.
    """
    if pool_fn is None:
        pool_fn = _pool
    bad = [s for s in scopes if s not in SCOPES]
    if bad:
        raise ValueError(f"scopes: unknown value(s) {bad}; use any of {', '.join(SCOPES)}")
    subgroups = list(subgroups)
    a = _assignments(effects, studies, subgroups, populations_map, assignments)
    rows: list[dict] = []
    inc = a[a["included"]]
    for (outcome, comparison, measure, design, var), g in inc.groupby(
        ANALYSIS_KEYS + ["subgroup_var"], sort=True
    ):
        base = {
            "outcome": outcome,
            "comparison": comparison,
            "measure": measure,
            "design": design,
            "subgroup_var": var,
        }
        tested = g[g["in_test"]]
        common_tau2 = {}
        if "common" in scopes:
            for tm in tau2_methods:
                result, failed = attempt(
                    _moderator_fit,
                    tested["yi"].to_numpy(float),
                    tested["vi"].to_numpy(float),
                    list(tested["subgroup"]),
                    tm,
                    "z",
                    level,
                )
                fit, why = result if result is not None else (None, not_computed(failed))
                if fit is None:
                    common_tau2[tm] = (math.nan, False, why)
                else:
                    common_tau2[tm] = (fit.tau2, fit.converged, fit.note)
        single = {}
        if "single_model" in scopes:
            for tm in tau2_methods:
                for cm in ci_methods:
                    result, failed = attempt(
                        _single_model_fit, tested["yi"].to_numpy(float), tested["vi"].to_numpy(float),
                        list(tested["subgroup"].astype(str)), tm, test_of(cm), level)
                    single[tm, cm] = (result, not_computed(failed) if result is None else "")
        for sub, sg in g.groupby("subgroup", sort=True):
            sg = sg.sort_values(["study_id", "population"], kind="mergesort")
            y = sg["yi"].to_numpy(float)
            v = sg["vi"].to_numpy(float)
            k = len(y)
            info = {
                **base,
                "subgroup": sub,
                "k": k,
                "n": (
                    float(np.nansum(sg["n"].to_numpy(float))) if sg["n"].notna().any() else math.nan
                ),
                "in_test": bool(sg["in_test"].iloc[0]),
                "studies": ";".join(sg["study_id"].astype(str)),
                "level": level,
            }
            mixed_note = (
                "mixed / not reported: shown, left out of the tests for differences"
                if sub == MIXED
                else ""
            )
            for tm in tau2_methods:
                for cm in ci_methods:
                    for scope in scopes:
                        if k == 1 and scope == "separate":
                            r = _single_study_row(pool_fn, float(y[0]), float(v[0]),
                                                  model="random", tau2_method=tm,
                                                  ci_method=cm, level=level)
                        elif scope == "single_model":
                            fit, why = single[tm, cm]
                            if sub == MIXED or fit is None:
                                r = _nan_row()
                                r.update(model="random", tau2_method=tm, ci_method=cm,
                                         converged=False, iterations=0,
                                         note=("not in the single model (left out of the tests)"
                                               if sub == MIXED else f"no single model: {why}"))
                            else:
                                r = _attempted_row(
                                    _single_model_row, fit, str(sub), k=k, tau2_method=tm,
                                    ci_method=cm, pi_min_k=pi_min_k,
                                    note=SINGLE_MODEL_NOTE)
                        elif scope == "separate":
                            r = _attempted_row(
                                _pool_row,
                                pool_fn,
                                y,
                                v,
                                model="random",
                                tau2_method=tm,
                                ci_method=cm,
                                level=level,
                                pi_min_k=pi_min_k,
                            )
                        else:
                            t2, conv, why = common_tau2[tm]
                            if not np.isfinite(t2):
                                r = _nan_row()
                                r.update(
                                    model="random",
                                    tau2_method=tm,
                                    ci_method=cm,
                                    converged=False,
                                    iterations=0,
                                    note=f"no common tau^2: {why}",
                                )
                            else:
                                extra = "common tau^2 from the mixed-effects model (subgroup as moderator)"
                                if sub == MIXED:
                                    extra += ", estimated without this group"
                                if why:
                                    extra += f"; {why}"
                                r = _attempted_row(
                                    _common_scope_row,
                                    y,
                                    v,
                                    t2,
                                    tau2_method=tm,
                                    ci_method=cm,
                                    level=level,
                                    pi_min_k=pi_min_k,
                                    conv=conv,
                                    note=extra,
                                )
                        r["note"] = "; ".join(x for x in (r.get("note", ""), mixed_note) if x)
                        rows.append(with_gaps({**r, **info, "tau2_scope": scope}))
            if common:
                for cm in ci_methods:
                    if k == 1:
                        r = _single_study_row(pool_fn, float(y[0]), float(v[0]), model="common",
                                              tau2_method="EE", ci_method=cm, level=level)
                    else:
                        r = _attempted_row(
                            _pool_row,
                            pool_fn,
                            y,
                            v,
                            model="common",
                            tau2_method="EE",
                            ci_method=cm,
                            level=level,
                            pi_min_k=pi_min_k,
                        )
                    r["note"] = "; ".join(x for x in (r.get("note", ""), mixed_note) if x)
                    rows.append(with_gaps({**r, **info, "tau2_scope": "separate"}))
    out = pd.DataFrame.from_records(rows)
    if out.empty:
        return pd.DataFrame(columns=POOLED_COLUMNS)
    for c in POOLED_COLUMNS:
        if c not in out.columns:
            out[c] = math.nan
    out = out[POOLED_COLUMNS + [c for c in out.columns if c not in POOLED_COLUMNS]]
    out = out.sort_values(
        ANALYSIS_KEYS
        + ["subgroup_var", "subgroup", "tau2_scope", "model", "tau2_method", "ci_method"],
        kind="mergesort",
    )
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------
# tests for subgroup differences
# --------------------------------------------------------------------------
def exact_permutation_count(labels: Sequence) -> int:
    """Number of distinct assignments of the labels to the studies.

    .. math:: N = \\frac{k!}{\\prod_g k_g!}

    metafor's ``permutest`` runs an exact test (all N assignments) when
    :math:`N` does not exceed the requested number of permutations.
    """
    levels = sorted(set(labels))
    return permutation_count(np.array([levels.index(x) for x in labels], dtype=float))


def _permutation_p(y, v, labels, *, tau2_method, tests, n_perm, seed):
    """p-value of QM (or F) by permuting the subgroup labels, for each test of ``tests``
    (``"z"``, ``"knha"``, ``"adhoc"``; the refits are shared): :func:`scimeta.permutation.permutest_tests`
    on the factor's contrast columns (levels sorted, the first the reference).

    Returns ``{test: (p_perm, n_run, exact, note)}``; ``n_run`` counts the refits run,
    failed ones included (the note says how many failed and were left out of the p-value).
    """
    levels = sorted(set(labels))
    codes = np.array([levels.index(x) for x in labels])
    contrasts = pd.DataFrame({f"g{lev}": (codes == j).astype(float)
                              for j, lev in enumerate(levels) if j})
    if exact_permutation_count(labels) > n_perm and seed is None:
        return dict.fromkeys(tests, (math.nan, 0, False, "no seed given: permutation test not run"))
    out = {}
    for test, res in permutest_tests(y, v, contrasts, tau2_method=tau2_method, tests=tests,
                                     n_perm=n_perm, seed=seed).items():
        if not math.isfinite(res.QM_p_perm):
            out[test] = (math.nan, res.n_perm, res.exact, "permutation refits failed")
        else:
            out[test] = (res.QM_p_perm, res.n_perm + res.n_failed, res.exact, res.note)
    return out

def _separate_tau2_row(base, y, v, labels, levels, tau2_method, mixed_note) -> dict:
    """Q-between on the subgroup estimates, each with its own tau^2 and Wald SE (one row
    per estimator: the test is the same under every CI method)."""
    G = len(levels)
    row = {**base, "method": "separate_tau2", "tau2_method": tau2_method, "ci_method": "wald",
           "statistic": STATISTIC_Q, "F": math.nan, "df2": math.nan, "p_perm": math.nan,
           "n_perm": 0, "perm_exact": False}
    notes = []
    if G < 2:
        row.update(Q_between=math.nan, df=math.nan, p=math.nan)
        notes.append("fewer than 2 subgroups with data: no test")
    else:
        thetas, ses = [], []
        for lev in levels:
            m = np.array([lab == lev for lab in labels])
            if m.sum() == 1:
                thetas.append(float(y[m][0]))
                ses.append(math.sqrt(float(v[m][0])))
                notes.append(f"{lev}: k = 1, own effect")
                continue
            fit, why = attempt(metareg, y[m], v[m], None, tau2_method=tau2_method)
            if fit is None:
                thetas.append(math.nan)
                ses.append(math.nan)
                notes.append(f"{lev}: {why}")
                continue
            if not fit.converged:
                notes.append(f"{lev}: {tau2_method} did not converge")
            thetas.append(float(fit.beta[0]))
            ses.append(float(fit.se[0]))
        th, se = np.array(thetas), np.array(ses)
        if np.all(np.isfinite(th)) and np.all(np.isfinite(se)):
            w = 1 / se**2
            qb = float(np.sum(w * (th - np.sum(w * th) / np.sum(w)) ** 2))
            row.update(Q_between=qb, df=G - 1, p=float(chi2_sf(qb, G - 1)))
            notes.insert(0, "Q on the subgroup estimates with their Wald SEs (under every CI method; "
                                 "no F or permutation test for this method)")
        else:
            row.update(Q_between=math.nan, df=G - 1, p=math.nan)
            notes.insert(0, not_computed("a subgroup estimate could not be computed"))
    if mixed_note:
        notes.append(mixed_note)
    row["note"] = "; ".join(notes)
    return row


def _moderator_row(base, y, v, labels, tau2_method, ci_method, level, n_perm, seed,
                   mixed_note, permutations=None) -> dict:
    """The mixed-effects model with the subgroup factor: chi^2 test of Q_M (``wald``) or
    the Knapp-Hartung F test (``hksj``; ``hksj_adhoc``: its factor floored at 1), with its
    permutation p-value."""
    G = len(set(labels))
    test = test_of(ci_method)
    row = {**base, "method": "moderator_model", "tau2_method": tau2_method,
           "ci_method": ci_method, "statistic": STATISTIC_F if test in KNHA_TESTS else STATISTIC_Q,
           "Q_between": math.nan, "df": G - 1 if G >= 2 else math.nan, "p": math.nan,
           "F": math.nan, "df2": math.nan, "p_perm": math.nan, "n_perm": 0,
           "perm_exact": False}
    notes = []
    if G >= 2:
        result, failed = attempt(_moderator_fit, y, v, labels, tau2_method, test, level)
        fit, why = result if result is not None else (None, not_computed(failed))
    else:
        fit, why = None, "fewer than 2 subgroups with data: no test"
    if fit is None:
        notes.append(why)
    else:
        if test in KNHA_TESTS:
            row.update(df=fit.F_df1, p=fit.QM_p, F=fit.F, df2=fit.F_df2)
            notes.append("Knapp-Hartung F test: the statistic is F on (df, df2); "
                         "no chi-square Q_between")
        else:
            row.update(Q_between=fit.QM, df=fit.QM_df, p=fit.QM_p)
            notes.append("no F test under wald (chi-square test of Q_between)")
        notes.append(f"mixed-effects model, common tau^2 = {fit.tau2:.6g} ({tau2_method})")
        if fit.note:
            notes.append(fit.note)
        if n_perm and n_perm > 0:
            perm, failed = attempt(permutations, test) if permutations is not None else attempt(
                lambda t: _permutation_p(y, v, labels, tau2_method=tau2_method, tests=(t,),
                                         n_perm=int(n_perm), seed=seed)[t], test)
            if perm is None:
                notes.append("permutation p-value " + not_computed(failed))
            else:
                pp, nn, exact, pnote = perm
                row.update(p_perm=pp, n_perm=nn, perm_exact=exact)
                notes.append(pnote)
        else:
            notes.append("no permutation test (permutations: 0)")
    if mixed_note:
        notes.append(mixed_note)
    row["note"] = "; ".join(notes)
    return row


def subgroup_tests(
    effects: pd.DataFrame,
    studies: pd.DataFrame,
    subgroups: Iterable[str],
    populations_map: Mapping[str, Sequence[str]] | None = None,
    *,
    tau2_methods: Sequence[str],
    ci_methods: Sequence[str],
    level: float,
    n_perm: int,
    seed: int | None,
    assignments: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Tests for subgroup differences, one row per analysis, variable, method and estimator.

    Methods
    -------
    ``separate_tau2``
        Q-between on the subgroup random-effects estimates, each subgroup
        with its own tau^2 (as RevMan and R meta's ``metagen(...,
        subgroup = )``; Borenstein & Higgins 2013, doi:10.1007/s11121-013-0377-7):

        .. math::

            Q_B = \\sum_g w_g (\\hat\\theta_g - \\bar\\theta)^2, \\quad
            w_g = 1/\\mathrm{SE}_g^2, \\quad
            \\bar\\theta = \\frac{\\sum_g w_g\\hat\\theta_g}{\\sum_g w_g},
            \\quad Q_B \\sim \\chi^2_{G-1},

        with the Wald standard errors :math:`\\mathrm{SE}_g = (\\sum_i
        1/(v_i + \\hat\\tau_g^2))^{-1/2}` (a subgroup with k = 1 enters with
        its own effect and SE). The test does not depend on the CI method:
        one row per estimator, ``ci_method = "wald"``, ``statistic =
        "Q_between"``.
    ``moderator_model``
        The mixed-effects model with the subgroup factor as moderator
        (metafor ``rma(yi, vi, mods = ~ factor(g))``, one tau^2):
        :math:`Q_M = \\hat\\beta_b^\\top V_{bb}^{-1}\\hat\\beta_b` on the G - 1
        contrasts, chi^2 test for ``wald`` (``statistic = "Q_between"``,
        ``F`` empty); for ``hksj`` (``hksj_adhoc``: the factor floored at 1) the Knapp-Hartung F test
        :math:`F = Q_M/(G-1)` on (``df``, ``df2``) = (G - 1, k - G)
        (``statistic = "F"``, ``Q_between`` empty, ``p`` the F-test
        p-value). ``p_perm``: the
        permutation p-value of metafor's ``permutest`` (Higgins & Thompson
        2004, doi:10.1002/sim.1752; Viechtbauer et al. 2015): labels
        permuted, model refitted (vectorised), proportion of statistics
        >= the observed one; exact over all :math:`k!/\\prod k_g!` distinct
        assignments when that number is <= ``n_perm``, otherwise ``n_perm``
        draws from ``numpy.random.default_rng(seed)`` with the observed
        assignment as the first.

    The :data:`MIXED` group never enters a test (the note says when it
    exists). Fewer than two tested subgroups, or k <= G for the moderator
    model, give a row with NaN and the reason in ``note``; so does a model
    or a permutation test that cannot be computed (the other rows are still
    written). Every row is distinct: (analysis, variable, method,
    tau2_method, ci_method) is a key.

    Returns
    -------
    DataFrame
        :data:`TEST_COLUMNS`, sorted by analysis, variable, method,
        tau2_method, ci_method.
    """
    subgroups = list(subgroups)
    a = _assignments(effects, studies, subgroups, populations_map, assignments)
    rows: list[dict] = []
    inc = a[a["included"]]
    for (outcome, comparison, measure, design, var), g in inc.groupby(
        ANALYSIS_KEYS + ["subgroup_var"], sort=True
    ):
        tested = g[g["in_test"]].sort_values(
            ["subgroup", "study_id", "population"], kind="mergesort"
        )
        y = tested["yi"].to_numpy(float)
        v = tested["vi"].to_numpy(float)
        labels = list(tested["subgroup"].astype(str))
        levels = sorted(set(labels))
        G = len(levels)
        mixed_k = int((g["subgroup"] == MIXED).sum())
        mixed_note = (
            f"{mixed_k} stud{'y' if mixed_k == 1 else 'ies'} in '{MIXED}' left out of the test"
            if mixed_k
            else ""
        )
        base = {
            "outcome": outcome,
            "comparison": comparison,
            "measure": measure,
            "design": design,
            "subgroup_var": var,
            "k_groups": G,
            "k": len(y),
        }
        tests = tuple(dict.fromkeys(test_of(cm) for cm in ci_methods))
        for tm in tau2_methods:
            rows.append(_separate_tau2_row(base, y, v, labels, levels, tm, mixed_note))
            # one set of permuted refits serves every CI method (tau² does not depend on it)
            cache: dict = {}

            def permutations(test, tm=tm, cache=cache):
                if not cache:
                    cache.update(_permutation_p(y, v, labels, tau2_method=tm, tests=tests,
                                                n_perm=int(n_perm), seed=seed))
                return cache[test]

            for cm in ci_methods:
                rows.append(_moderator_row(base, y, v, labels, tm, cm, level, n_perm, seed,
                                           mixed_note, permutations))
    out = (
        pd.DataFrame.from_records(rows, columns=TEST_COLUMNS)
        if rows
        else pd.DataFrame(columns=TEST_COLUMNS)
    )
    out = out.sort_values(
        ANALYSIS_KEYS + ["subgroup_var", "method", "tau2_method", "ci_method"], kind="mergesort"
    ).reset_index(drop=True)
    return out
