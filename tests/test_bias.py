"""scimeta.bias against metafor's regtest / ranktest / trimfill / leave1out / influence
(tests/reference/bias.json, written by tests/reference/ref_bias.R)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from _reference import RTOL_CLOSED, RTOL_ITERATIVE, load_reference

from scimeta import bias

REF = load_reference("bias")
DATASETS = REF["datasets"]
CASES = REF["cases"]

# A tau² at the boundary 0 stops at a tiny positive value set by the stopping
# rule on each side (metafor threshold 1e-12 absolute, scimeta relative to the
# typical vi); below this absolute value both are the same zero.
ATOL_TAU2_BOUNDARY = 1e-9
# Fields that are proportional to tau² near the boundary.
TAU2_FIELDS = ("tau2", "tau2_del", "I2", "H2")
# metafor's ci_method name -> scimeta's
CI = {"z": "wald", "knha": "hksj"}


def _data(case):
    d = DATASETS[case["dataset"]]
    return np.asarray(d["yi"], dtype=float), np.asarray(d["vi"], dtype=float)


def _rtol(case) -> float:
    """DL fits are closed forms; REML (and all that depends on it) is iterative."""
    return RTOL_CLOSED if case["method"] == "DL" else RTOL_ITERATIVE


def _close(got, ref, rtol, what, atol=0.0):
    got = np.atleast_1d(np.asarray(got, dtype=float))
    ref = np.atleast_1d(np.asarray(ref, dtype=float))
    assert got.shape == ref.shape, f"{what}: shape {got.shape} vs metafor {ref.shape}"
    for g, r in zip(got, ref):
        if math.isnan(r):
            assert math.isnan(g), f"{what}: expected NaN, got {g!r}"
        else:
            assert abs(g - r) <= rtol * abs(r) + atol, f"{what}: got {g!r}, metafor {r!r}"


def _case_id(case) -> str:
    return f"{case['dataset']}-{case['method']}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_regtest_matches_metafor(case):
    y, v = _data(case)
    for ref in case["regtest"]:
        if ref["model"] == "rma":
            got = bias.egger_rma(y, v, tau2_method=case["method"], test=ref["test"],
                                 predictor=ref["predictor"])
            rtol = _rtol(case)
        else:
            got = bias.egger_lm(y, v, predictor=ref["predictor"])
            rtol = RTOL_CLOSED
        what = ref["call"]
        assert got.k == case["k"]
        for mine, theirs in (("statistic", "stat"), ("df", "df"), ("p", "p"),
                             ("estimate", "est"), ("ci_low", "ci_lb"), ("ci_high", "ci_ub")):
            _close(getattr(got, mine), ref[theirs], rtol, f"{what}: {mine}")


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_pet_peese_are_lm_regtest(case):
    y, v = _data(case)
    refs = {r["predictor"]: r for r in case["regtest"] if r["model"] == "lm"}
    for fn, pred in ((bias.pet, "sei"), (bias.peese, "vi")):
        got = fn(y, v)
        ref = refs[pred]
        assert (got.model, got.predictor, got.test) == ("lm", pred, "t")
        for mine, theirs in (("statistic", "stat"), ("df", "df"), ("p", "p"),
                             ("estimate", "est"), ("ci_low", "ci_lb"), ("ci_high", "ci_ub")):
            _close(getattr(got, mine), ref[theirs], RTOL_CLOSED, f"{fn.__name__}: {mine}")


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_ranktest_matches_metafor(case):
    y, v = _data(case)
    ref = case["ranktest"]
    got = bias.begg(y, v)
    assert got.ties == ref["ties"]
    assert got.method == ("normal" if ref["ties"] else "exact")
    _close(got.tau, ref["tau"], RTOL_CLOSED, "Kendall's tau")
    _close(got.p, ref["p"], RTOL_CLOSED, "p")


def test_reference_covers_exact_and_tied_rank_tests():
    ties = {c["ranktest"]["ties"] for c in CASES}
    assert ties == {True, False}
    assert max(c["k"] for c in CASES if not c["ranktest"]["ties"]) >= 50  # exact beyond n = 50


TF_CASES = [(c, tf) for c in CASES for tf in c["trimfill"]]


@pytest.mark.parametrize(
    "case,ref", TF_CASES,
    ids=[f"{_case_id(c)}-{tf['estimator']}-{tf['side_arg']}" for c, tf in TF_CASES],
)
def test_trimfill_matches_metafor(case, ref):
    y, v = _data(case)
    side = None if ref["side_arg"] == "default" else ref["side_arg"]
    got = bias.trimfill(y, v, estimator=ref["estimator"], side=side, tau2_method=case["method"])
    what = ref["call"]
    assert got.side == ref["side"], what
    assert got.k0 == ref["k0"], what
    assert got.k + got.k0 == ref["k"], what
    rtol = _rtol(case)
    if got.k0 > 0:
        _close(got.fill_yi, ref["fill_yi"], rtol, f"{what}: fill_yi")
        _close(got.fill_vi, ref["fill_vi"], RTOL_CLOSED, f"{what}: fill_vi")
    else:
        assert got.fill_yi == () and got.fill_vi == ()
    for mine, theirs in (("se_k0", "se_k0"), ("p_k0", "p_k0"), ("estimate", "estimate"),
                         ("se", "se"), ("ci_low", "ci_lb"), ("ci_high", "ci_ub"),
                         ("stat", "zval"), ("p", "pval"), ("tau2", "tau2"), ("I2", "I2"),
                         ("Q", "QE")):
        atol = ATOL_TAU2_BOUNDARY * (100.0 if mine == "I2" else 1.0) if mine in TAU2_FIELDS else 0.0
        _close(getattr(got, mine), ref[theirs], rtol, f"{what}: {mine}", atol)


def test_reference_has_imputed_studies_on_both_sides():
    filled = {tf["side"] for c in CASES for tf in c["trimfill"] if tf["k0"] > 0}
    assert filled == {"left", "right"}


L1O_CASES = [(c, lo) for c in CASES for lo in c["leave1out"]]


@pytest.mark.parametrize(
    "case,ref", L1O_CASES, ids=[f"{_case_id(c)}-{lo['test']}" for c, lo in L1O_CASES]
)
def test_leave1out_matches_metafor(case, ref):
    y, v = _data(case)
    got = bias.leave1out(y, v, tau2_method=case["method"], ci_method=CI[ref["test"]])
    rtol = _rtol(case)
    for mine, theirs in (("estimate", "estimate"), ("se", "se"), ("ci_low", "ci_lb"),
                         ("ci_high", "ci_ub"), ("p", "pval"), ("tau2", "tau2"), ("I2", "I2"),
                         ("H2", "H2"), ("Q", "Q"), ("Q_p", "Qp")):
        atol = ATOL_TAU2_BOUNDARY * (100.0 if mine == "I2" else 1.0) if mine in TAU2_FIELDS else 0.0
        _close(getattr(got, mine), ref[theirs], rtol, f"{ref['call']}: {mine}", atol)


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_influence_matches_metafor(case):
    y, v = _data(case)
    ref = case["influence"]
    got = bias.influence(y, v, tau2_method=case["method"])
    rtol = _rtol(case)
    for mine, theirs in (("rstudent", "rstudent"), ("dffits", "dffits"), ("cook_d", "cook_d"),
                         ("cov_r", "cov_r"), ("tau2_del", "tau2_del"), ("Q_del", "QE_del"),
                         ("hat", "hat"), ("weight", "weight"), ("dfbetas", "dfbetas")):
        atol = ATOL_TAU2_BOUNDARY if mine in TAU2_FIELDS else 0.0
        _close(getattr(got, mine), ref[theirs], rtol, f"{ref['call']}: {mine}", atol)
    assert list(got.influential) == list(ref["is_infl"])


def test_reference_flags_some_influential_study():
    assert any(any(c["influence"]["is_infl"]) for c in CASES)


# ---------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------
def _frame(case) -> pd.DataFrame:
    y, v = _data(case)
    ids = [f"s{i:03d}" for i in range(y.size)]
    return pd.DataFrame({"study_id": ids, "yi": y, "vi": v})


def _case(dataset, method):
    return next(c for c in CASES if c["dataset"] == dataset and c["method"] == method)


KEYS = {"outcome": "o", "comparison": "between_arms", "measure": "SMD"}


@pytest.mark.parametrize("method", ["REML", "DL"])
def test_bias_table_matches_metafor(method):
    case = _case("hackshaw1998", method)
    table = bias.bias_table(_frame(case), tau2_method=method, **KEYS)
    assert tuple(table.columns) == bias.BIAS_COLUMNS
    assert tuple(table["test"]) == bias.BIAS_TESTS
    assert (table["k"] == case["k"]).all()
    rows = table.set_index("test")
    rtol = _rtol(case)
    reg = {(r["model"], r["predictor"], r.get("test", "t")): r for r in case["regtest"]}
    for name, ref, tol in (("egger_rma", reg[("rma", "sei", "z")], rtol),
                           ("egger_lm", reg[("lm", "sei", "t")], RTOL_CLOSED),
                           ("pet", reg[("lm", "sei", "t")], RTOL_CLOSED),
                           ("peese", reg[("lm", "vi", "t")], RTOL_CLOSED)):
        for mine, theirs in (("statistic", "stat"), ("df", "df"), ("p", "p"),
                             ("estimate", "est"), ("ci_low", "ci_lb"), ("ci_high", "ci_ub")):
            _close(rows.loc[name, mine], ref[theirs], tol, f"{name}: {mine}")
    _close(rows.loc["begg", "statistic"], case["ranktest"]["tau"], RTOL_CLOSED, "begg tau")
    _close(rows.loc["begg", "p"], case["ranktest"]["p"], RTOL_CLOSED, "begg p")
    for tf in case["trimfill"]:
        if tf["side_arg"] != "default":
            continue
        r = rows.loc[f"trimfill_{tf['estimator']}"]
        assert r["k0"] == tf["k0"] and r["side"] == tf["side"]
        _close(r["p"], tf["p_k0"], RTOL_CLOSED, "p_k0")
        for mine, theirs in (("estimate", "estimate"), ("ci_low", "ci_lb"), ("ci_high", "ci_ub")):
            _close(r[mine], tf[theirs], rtol, f"trimfill {mine}")


def test_bias_table_small_k_rows_have_reasons():
    frame = pd.DataFrame({"study_id": ["a", "b"], "yi": [0.1, 0.4], "vi": [0.02, 0.05]})
    table = bias.bias_table(frame, tau2_method="REML", **KEYS)
    assert tuple(table["test"]) == bias.BIAS_TESTS
    numeric = ["statistic", "df", "p", "k0", "estimate", "ci_low", "ci_high"]
    assert table[numeric].isna().all().all()
    assert table["note"].str.contains("k = 2 < 3").all()


def test_bias_table_cautions_below_ten_studies():
    case = _case("normand1999_SMD", "REML")  # k = 9
    table = bias.bias_table(_frame(case), tau2_method="REML", **KEYS)
    assert table["note"].str.contains("low power").all()
    assert table.loc[table["test"] != "begg", "estimate"].notna().all()


@pytest.mark.parametrize("method", ["REML", "DL"])
def test_leave1out_table_matches_metafor(method):
    case = _case("bcg_RR", method)
    frame = _frame(case)
    table = bias.leave1out_table(frame, tau2_method=method, **KEYS)
    assert tuple(table.columns) == bias.LEAVE1OUT_COLUMNS
    assert list(table["study_id"]) == list(frame["study_id"])
    ref = next(lo for lo in case["leave1out"] if lo["test"] == "z")
    for mine, theirs in (("estimate", "estimate"), ("se", "se"), ("ci_low", "ci_lb"),
                         ("ci_high", "ci_ub"), ("tau2", "tau2"), ("I2", "I2"), ("Q", "Q")):
        atol = ATOL_TAU2_BOUNDARY * 100.0 if mine in TAU2_FIELDS else 0.0
        _close(table[mine], ref[theirs], _rtol(case), mine, atol)


@pytest.mark.parametrize("method", ["REML", "DL"])
def test_influence_table_matches_metafor(method):
    case = _case("hackshaw1998", method)
    frame = _frame(case)
    table = bias.influence_table(frame, tau2_method=method, **KEYS)
    assert tuple(table.columns) == bias.INFLUENCE_COLUMNS
    assert list(table["study_id"]) == list(frame["study_id"])
    ref = case["influence"]
    for mine, theirs in (("rstudent", "rstudent"), ("dffits", "dffits"), ("cook_d", "cook_d"),
                         ("cov_r", "cov_r"), ("tau2_del", "tau2_del"), ("Q_del", "QE_del"),
                         ("hat", "hat"), ("weight", "weight"), ("dfbetas", "dfbetas")):
        atol = ATOL_TAU2_BOUNDARY if mine in TAU2_FIELDS else 0.0
        _close(table[mine], ref[theirs], _rtol(case), mine, atol)
    assert list(table["influential"]) == list(ref["is_infl"])


@pytest.mark.parametrize("fn", [bias.leave1out_table, bias.influence_table])
def test_small_k_tables_are_empty(fn):
    frame = pd.DataFrame({"study_id": ["a", "b"], "yi": [0.1, 0.4], "vi": [0.02, 0.05]})
    table = fn(frame, tau2_method="REML", **KEYS)
    assert table.empty
    assert len(table.columns) > 5


def test_invalid_rows_name_the_study_and_column():
    frame = pd.DataFrame({"study_id": ["a", "b", "smith2020"], "yi": [0.1, 0.4, 0.2],
                          "vi": [0.02, 0.05, -1.0]})
    with pytest.raises(ValueError, match="smith2020.*vi"):
        bias.bias_table(frame, **KEYS)
    frame.loc[2, "vi"] = 0.1
    frame.loc[1, "yi"] = float("nan")
    with pytest.raises(ValueError, match="'b'.*yi"):
        bias.influence_table(frame, **KEYS)
    with pytest.raises(ValueError, match="study_id"):
        bias.leave1out_table(frame.drop(columns="study_id"), **KEYS)


@pytest.mark.parametrize("fn", [bias.egger_lm, bias.begg, bias.leave1out, bias.influence])
def test_functions_refuse_k_below_three(fn):
    with pytest.raises(ValueError, match="k >= 3"):
        fn([0.1, 0.2], [0.01, 0.02])


# ---------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------
def test_permuting_studies_changes_nothing():
    case = _case("bcg_RR", "REML")
    y, v = _data(case)
    perm = np.random.default_rng(20231122).permutation(y.size)
    for fn in (bias.egger_rma, bias.egger_lm, bias.begg):
        a, b = fn(y, v), fn(y[perm], v[perm])
        for name in ("statistic", "p", "tau", "estimate"):
            if hasattr(a, name):
                assert getattr(b, name) == pytest.approx(getattr(a, name), rel=RTOL_ITERATIVE)
    a = bias.influence(y, v)
    b = bias.influence(y[perm], v[perm])
    np.testing.assert_allclose(b.cook_d, a.cook_d[perm], rtol=RTOL_ITERATIVE)


def test_shift_moves_limit_estimate_not_the_test():
    case = _case("hackshaw1998", "DL")
    y, v = _data(case)
    a, b = bias.egger_lm(y, v), bias.egger_lm(y + 1.5, v)
    assert b.estimate == pytest.approx(a.estimate + 1.5, rel=RTOL_CLOSED)
    assert b.statistic == pytest.approx(a.statistic, rel=1e-8)


def test_mirroring_mirrors_trim_and_fill():
    case = _case("hackshaw1998", "DL")
    y, v = _data(case)
    a = bias.trimfill(y, v, tau2_method="DL")
    b = bias.trimfill(-y, v, tau2_method="DL")
    assert (a.side, b.side) == ("left", "right")
    assert a.k0 == b.k0 > 0
    assert b.estimate == pytest.approx(-a.estimate, rel=RTOL_CLOSED)
    np.testing.assert_allclose(b.fill_yi, -np.asarray(a.fill_yi), rtol=RTOL_CLOSED)


def test_kendall_distribution_running_sums_match_exact_convolution():
    n = bias._KENDALL_DIRECT_MAX + 5
    prob = np.ones(1)
    for m in range(2, n + 1):
        prob = np.convolve(prob, np.ones(m)) / m
    got = bias._kendall_cdf(n)
    np.testing.assert_allclose(got, np.cumsum(prob), rtol=0, atol=1e-13)
    assert got[-1] == pytest.approx(1.0, abs=1e-13)


def test_results_serialise():
    case = _case("hackshaw1998", "REML")
    y, v = _data(case)
    tf = bias.trimfill(y, v)
    assert len(tf.to_frame()) == tf.k0 and tf.to_dict()["k0"] == tf.k0
    assert len(bias.leave1out(y, v).to_frame()) == y.size
    assert len(bias.influence(y, v).to_frame()) == y.size
    assert bias.egger_rma(y, v).to_frame().shape[0] == 1
    assert bias.begg(y, v).to_dict()["k"] == y.size
