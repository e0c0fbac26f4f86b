"""Meta-regression against metafor (tests/reference/subgroups.json, from ref_subgroups.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _settings import analysis

from scimeta.metareg import METAREG_TAU2_METHODS, metareg, predict_line, qm_batch

from _reference import load_reference

REF = json.loads((Path(__file__).parent / "reference" / "subgroups.json").read_text())

#: Closed-form estimators (EE, DL, HE, SJ): only floating-point rounding differs.
CLOSED_RTOL = 1e-10
#: Iterative estimators (REML, ML, PM, EB): both sides converge to ~1e-12 on tau^2,
#: results then agree to rounding; 1e-6 is the documented bound for iterative fits.
ITER_RTOL = 1e-6
#: Absolute floor for values that are ~0 (e.g. a coefficient near zero).
ATOL = 1e-12
#: Designs with `year` (about 1950) next to the intercept have cond(X'WX) ~ 1e11:
#: the linear solves in both implementations lose digits, measured up to ~1.3e-9.
ILL_CONDITIONED_RTOL = 1e-8
CLOSED = {"EE", "DL", "HE", "SJ"}


def rtol_for(method: str, moderators=()) -> float:
    base = CLOSED_RTOL if method in CLOSED else ITER_RTOL
    return max(base, ILL_CONDITIONED_RTOL) if "year" in moderators else base


def case_id(case):
    return f"{case['name']}-{case['tau2_method']}-{case['test']}"


@pytest.mark.parametrize("case", REF["metareg"], ids=case_id)
def test_metareg_matches_metafor(case):
    X = np.column_stack(case["X"])
    res = metareg(
        REF["bcg_yi"], REF["bcg_vi"], X, tau2_method=case["tau2_method"], test=case["test"]
    )
    rt = rtol_for(case["tau2_method"], case["moderators"])
    close = dict(rtol=rt, atol=ATOL)
    np.testing.assert_allclose(res.tau2, case["tau2"], rtol=rt, atol=1e-10)
    np.testing.assert_allclose(res.beta, case["beta"], **close)
    np.testing.assert_allclose(res.se, case["se"], **close)
    np.testing.assert_allclose(res.stat, case["zval"], **close)
    np.testing.assert_allclose(res.pval, case["pval"], **close)
    np.testing.assert_allclose(res.ci_low, case["ci_lb"], **close)
    np.testing.assert_allclose(res.ci_high, case["ci_ub"], **close)
    np.testing.assert_allclose(res.QE, case["QE"], rtol=max(rt, CLOSED_RTOL))
    np.testing.assert_allclose(res.QE_p, case["QEp"], rtol=max(rt, CLOSED_RTOL), atol=ATOL)
    np.testing.assert_allclose(res.I2, case["I2"], rtol=rt, atol=1e-9)
    np.testing.assert_allclose(res.H2, case["H2"], rtol=rt)
    if case["test"] == "knha":
        # metafor's QM under knha is the F statistic
        np.testing.assert_allclose(res.F, case["QM"], **close)
        assert res.F_df1 == case["QMdf"][0] and res.F_df2 == case["QMdf"][1]
        np.testing.assert_allclose(res.QM, case["QM"] * case["QMdf"][0], **close)
    else:
        np.testing.assert_allclose(res.QM, case["QM"], **close)
        assert res.QM_df == case["QMdf"][0]
    np.testing.assert_allclose(res.QM_p, case["QMp"], **close)
    if case["tau2_method"] == "EE":
        assert np.isnan(res.R2)  # metafor's EE R2 is an adjusted lm R2: not provided
    else:
        np.testing.assert_allclose(res.tau2_RE, case["tau2_RE"], rtol=rt, atol=1e-10)
        np.testing.assert_allclose(res.R2, case["R2"], rtol=rt, atol=1e-8)
    pred = predict_line(res, np.column_stack(case["grid"]))
    np.testing.assert_allclose(pred.pred, case["pred"], **close)
    np.testing.assert_allclose(pred.se, case["pred_se"], **close)
    np.testing.assert_allclose(pred.ci_low, case["pred_ci_lb"], **close)
    np.testing.assert_allclose(pred.ci_high, case["pred_ci_ub"], **close)
    if case["tau2_method"] == "EE":  # metafor gives no PI for EE; ours equals the CI (tau2 = 0)
        np.testing.assert_allclose(pred.pi_low, pred.ci_low, rtol=1e-15)
    else:
        np.testing.assert_allclose(pred.pi_low, case["pred_pi_lb"], **close)
        np.testing.assert_allclose(pred.pi_high, case["pred_pi_ub"], **close)


def test_reference_covers_estimators():
    assert {c["tau2_method"] for c in REF["metareg"]} >= {"REML", "ML", "DL", "EE"}
    assert set(METAREG_TAU2_METHODS) >= {c["tau2_method"] for c in REF["metareg"]}


def test_dataframe_names_and_frame():
    X = pd.DataFrame({"ablat": REF["metareg"][0]["X"][0]})
    res = metareg(REF["bcg_yi"], REF["bcg_vi"], X)
    frame = res.to_frame()
    assert list(frame["term"]) == ["intrcpt", "ablat"]
    d = res.to_dict()
    assert d["k"] == 13 and d["p"] == 2 and len(d["coefficients"]) == 2
    one = predict_line(res, np.array([10.0, 20.0])).to_frame()
    assert list(one.columns[:2]) == ["x", "pred"]


def test_permuting_studies_changes_nothing():
    case = REF["metareg"][0]
    X = np.asarray(case["X"][0])
    y, v = np.asarray(REF["bcg_yi"]), np.asarray(REF["bcg_vi"])
    order = np.random.default_rng(1).permutation(y.size)
    a = metareg(y, v, X)
    b = metareg(y[order], v[order], X[order])
    np.testing.assert_allclose(a.beta, b.beta, rtol=ITER_RTOL)
    np.testing.assert_allclose(a.tau2, b.tau2, rtol=ITER_RTOL)


def test_shift_moves_intercept_only():
    case = REF["metareg"][0]
    X = np.asarray(case["X"][0])
    y, v = np.asarray(REF["bcg_yi"]), np.asarray(REF["bcg_vi"])
    a = metareg(y, v, X)
    b = metareg(y + 2.5, v, X)
    np.testing.assert_allclose(b.beta[0] - a.beta[0], 2.5, rtol=ITER_RTOL)
    np.testing.assert_allclose(b.beta[1], a.beta[1], rtol=ITER_RTOL)


def test_homogeneous_data_tau2_zero():
    y = np.array([0.1, 0.1, 0.1, 0.1])
    v = np.array([0.1, 0.2, 0.3, 0.4])
    for m in ("DL", "REML", "ML", "PM", "HE"):
        res = metareg(y, v, np.array([1.0, 2.0, 3.0, 4.0]), tau2_method=m)
        assert res.tau2 == 0.0
        assert res.R2 == 0.0


def test_fixed_tau2_and_qm_batch_consistent():
    y, v = np.asarray(REF["bcg_yi"]), np.asarray(REF["bcg_vi"])
    X = np.asarray(REF["metareg"][0]["X"][0])
    res = metareg(y, v, X, test="knha")
    Xf = np.column_stack([np.ones(y.size), X])[None]
    np.testing.assert_allclose(qm_batch(y, v, Xf, test="knha")[0], res.F, rtol=ITER_RTOL)
    fixed = metareg(y, v, X, tau2=res.tau2, test="knha")
    np.testing.assert_allclose(fixed.beta, res.beta, rtol=1e-12)
    assert fixed.tau2_fixed and np.isnan(fixed.R2)


def test_small_k_no_exception():
    res = metareg([0.1, 0.3], [0.01, 0.02], [1.0, 2.0])  # k = p
    assert res.tau2 == 0.0 and "not estimable" in res.note


def test_validation_names_row_and_column():
    # the one yi/vi check of pool, bias and metareg (scimeta.pool.check_yi_vi)
    with pytest.raises(ValueError, match=r"study 1: vi = 0.0; sampling variances must be > 0"):
        metareg([0.1, 0.2, 0.3], [0.1, 0.0, 0.1], [1, 2, 3])
    with pytest.raises(ValueError, match=r"study 2: yi = nan is not a finite number"):
        metareg([0.1, 0.2, np.nan], [0.1, 0.1, 0.1], [1, 2, 3])
    with pytest.raises(ValueError, match="column 'x1'"):
        metareg([0.1, 0.2, 0.3], [0.1, 0.1, 0.1], [1, np.nan, 3])
    with pytest.raises(ValueError, match="rank deficient"):
        metareg([0.1, 0.2, 0.3], [0.1, 0.1, 0.1], np.ones(3))


def test_identical_effect_sizes_under_knapp_hartung_have_a_note_not_silent_gaps():
    """Every effect size on the fitted line: metafor's ``rma(..., test = "knha")`` gives
    se 0 and t = +-Inf (the sign following rounding noise); here the statistic, p and F
    are empty and the note says why, in the meta-regression and in Egger's test."""
    from scimeta.analysis import metareg_table
    from scimeta.bias import bias_table

    vi = np.array([0.1, 0.2, 0.3, 0.4])
    fit = metareg(np.ones(4), vi, np.array([1.0, 2.0, 3.0, 4.0]), test="knha")
    assert np.allclose(fit.beta, [1.0, 0.0]) and np.all(fit.se == 0)
    assert np.isnan(fit.stat).all() and np.isnan(fit.pval).all() and np.isnan(fit.F)
    assert "residual variance 0" in fit.note
    z = metareg(np.ones(4), vi, np.array([1.0, 2.0, 3.0, 4.0]), test="z")
    assert np.isfinite(z.stat).all() and "residual variance" not in z.note
    rows = pd.DataFrame({"study_id": list("abcd"), "outcome": "o", "comparison": "between_arms",
                         "measure": "MD", "population": "all", "design": "rct", "yi": 1.0,
                         "vi": vi, "n1": 10.0, "n2": 10.0, "year": [1.0, 2.0, 3.0, 4.0]})
    table = metareg_table(rows, rows[["study_id", "year"]], moderators=["year"],
                          analysis=analysis(tau2=["REML"], ci=["hksj"]))
    assert table["p"].isna().all() and table["note"].str.contains("residual variance 0").all()
    bias = bias_table(rows, outcome="o", comparison="between_arms", measure="MD",
                      tau2_method="REML", test="knha", level=0.95)
    egger = bias[bias["test"] == "egger_rma"].iloc[0]
    assert np.isnan(egger["p"]) and "residual variance 0" in egger["note"]


def _metareg_frames(yi, vi, x):
    """One between-arms MD pool of whole-population studies with moderator ``x``."""
    ids = [f"s{i}" for i in range(len(yi))]
    effects = pd.DataFrame({
        "study_id": ids, "cohort_id": ids, "outcome": "o", "population": "all",
        "design": "rct", "comparison": "between_arms", "measure": "MD", "timepoint": 12,
        "yi": yi, "vi": vi, "n1": 20.0, "n2": 20.0,
    })
    studies = pd.DataFrame({"study_id": ids, "cohort_id": "", "x": x})
    return effects, studies


@pytest.mark.parametrize("test", ["z", "knha"])
def test_metareg_table_permutation_matches_permutest(test):
    """metareg.csv's permutation p-values are metafor's exact ``permutest`` (6!/2! = 360
    distinct orderings: two studies share a latitude)."""
    from scimeta.analysis import metareg_table

    case = next(c for c in load_reference("engine")["permutest"]
                if c["name"] == "bcg_1_6_ablat" and c["tau2_method"] == "REML" and c["test"] == test)
    effects, studies = _metareg_frames(case["yi"], case["vi"], case["X"][0])
    table = metareg_table(effects, studies, moderators=["x"],
                          analysis=analysis(tau2=["REML"], ci=["hksj" if test == "knha" else "wald"]),
                          permutations=1000, seed=1)
    assert list(table["term"]) == ["intercept", "x"]
    assert table["perm_exact"].all() and case["n_exact"] == case["iter"] == 360
    assert (table["n_perm"] == case["iter"]).all()
    np.testing.assert_allclose(table["p_perm"], case["pval_perm"], rtol=1e-12)
    np.testing.assert_allclose(table["QM_p_perm"], case["QMp_perm"], rtol=1e-12)


@pytest.mark.parametrize("method", ["REML", "ML", "DL", "HE", "SJ", "PM", "EB"])
def test_refits_of_permuted_effects_equal_refits_of_permuted_designs(method):
    """A permutation test refits the observed design with the effects permuted (one
    design for the whole batch) instead of each permuted design: the same data sets."""
    from scimeta.metareg import fit_batch_tests, fit_rows_tests

    rng = np.random.default_rng(7)
    k = 14
    y = rng.normal(0.3, 0.4, k)
    v = rng.uniform(0.02, 0.3, k)
    X = np.column_stack([np.ones(k), rng.normal(size=k), rng.integers(0, 2, k)])
    orders = np.array([rng.permutation(k) for _ in range(25)])
    Y, V = np.empty(orders.shape), np.empty(orders.shape)
    np.put_along_axis(Y, orders, np.broadcast_to(y, orders.shape), axis=1)
    np.put_along_axis(V, orders, np.broadcast_to(v, orders.shape), axis=1)
    designs = fit_batch_tests(y, v, X[orders], tau2_method=method, tests=("z", "knha"))
    effects = fit_rows_tests(Y, V, X, tau2_method=method, tests=("z", "knha"))
    for test in ("z", "knha"):
        for a, b in zip(designs[test], effects[test], strict=True):
            np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)
