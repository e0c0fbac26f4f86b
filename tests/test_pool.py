"""scimeta.pool against metafor's rma.uni / predict / confint (tests/reference/core.json)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from _reference import (
    METAFOR_FIELDS,
    ROOT_FIELDS,
    RTOL_CLOSED,
    RTOL_ITERATIVE,
    TAU2_FIELDS,
    as_float,
    load_reference,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from scimeta.pool import (
    CI_METHODS,
    SINGLE_STUDY_NOTE,
    TAU2_METHODS,
    PoolBatch,
    PoolResult,
    pool,
    pool_many,
)

REF = load_reference("core")
DATASETS = REF["datasets"]
FITS = REF["fits"]

ITERATIVE = ("REML", "ML", "PM", "EB")
# A tau² that converges to the boundary 0 stops at a tiny positive value set by
# the stopping rule (metafor: absolute threshold 1e-12; scimeta: 1e-12 relative
# to the harmonic mean of vi); below this multiple of the typical sampling
# variance both are the same zero.
ATOL_TAU2_BOUNDARY = 1e-9



def _ci_method(test: str) -> str:
    return {"z": "wald", "knha": "hksj", "adhoc": "hksj_adhoc"}[test]


def _typical_v(vi) -> float:
    vi = np.asarray(vi, dtype=float)
    return len(vi) / np.sum(1.0 / vi)


def _fit_id(case) -> str:
    return f"{case['dataset']}-{case['method']}-{case['test']}"


def _assert_close(got: float, ref: float, rtol: float, atol: float, what: str) -> None:
    if math.isnan(ref):
        assert math.isnan(got), f"{what}: expected NaN, got {got!r}"
        return
    if math.isinf(ref):
        assert got == ref, f"{what}: expected {ref!r}, got {got!r}"
        return
    assert abs(got - ref) <= rtol * abs(ref) + atol, f"{what}: got {got!r}, metafor {ref!r}"


FITS_K2 = [c for c in FITS if c["k"] >= 2]


@pytest.mark.parametrize("case", FITS_K2, ids=[_fit_id(c) for c in FITS_K2])
def test_pool_matches_metafor(case):
    data = DATASETS[case["dataset"]]
    res = pool(
        data["yi"],
        data["vi"],
        tau2_method=case["method"],
        ci_method=_ci_method(case["test"]),
        pi_min_k=1,
    )
    assert res.k == case["k"]
    assert res.converged
    rtol = RTOL_ITERATIVE if case["method"] in ITERATIVE else RTOL_CLOSED
    ref_tau2 = as_float(case["tau2"])
    scale = _typical_v(data["vi"])
    boundary = case["method"] in ITERATIVE and ref_tau2 <= ATOL_TAU2_BOUNDARY * scale
    for ref_name, name in METAFOR_FIELDS.items():
        got = getattr(res, name)
        if case["method"] == "EE" and name in ("pi_low", "pi_high", "tau2_ci_low", "tau2_ci_high"):
            # a common-effect model has no prediction interval and no tau² CI
            # (metafor's predict() gives none, confint() stops with an error)
            assert math.isnan(got), name
            continue
        ref = as_float(case.get(ref_name))
        field_rtol = RTOL_ITERATIVE if name in ROOT_FIELDS else rtol
        atol = 0.0
        if boundary and name in TAU2_FIELDS:
            atol = TAU2_FIELDS[name] * ATOL_TAU2_BOUNDARY
        if boundary and name == "tau":
            atol = math.sqrt(ATOL_TAU2_BOUNDARY * scale)
        _assert_close(got, ref, field_rtol, atol, f"{_fit_id(case)} {name}")
    assert res.Q_df == case["df"]
    expected_df = case["k"] - 1.0 if case["test"] == "knha" else math.nan
    _assert_close(res.df, expected_df, 0.0, 0.0, "df")


@pytest.mark.parametrize("case", REF["level_cases"], ids=lambda c: c["dataset"])
def test_level_is_used_everywhere(case):
    data = DATASETS[case["dataset"]]
    res = pool(data["yi"], data["vi"], tau2_method="REML", ci_method="hksj", level=case["level"], pi_min_k=1)
    for ref_name in ("estimate", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "tau2", "tau2_ci_lb", "tau2_ci_ub"):
        name = METAFOR_FIELDS[ref_name]
        _assert_close(getattr(res, name), as_float(case[ref_name]), RTOL_ITERATIVE, 0.0, name)


# --- k = 1 -------------------------------------------------------------------

K1_FITS = [c for c in FITS if c["k"] == 1]


@pytest.mark.parametrize("case", K1_FITS, ids=[_fit_id(c) for c in K1_FITS])
@pytest.mark.parametrize("ci_method", CI_METHODS)
def test_k1_is_the_single_study(case, ci_method):
    """One rule for a single study (SINGLE_STUDY_NOTE) under every CI method: its own Wald
    CI, as metafor, which sets test = "z" when k = 1 (the knha fits of core.json)."""
    data = DATASETS[case["dataset"]]
    res = pool(data["yi"], data["vi"], tau2_method=case["method"], ci_method=ci_method, pi_min_k=1)
    for ref_name in ("estimate", "se", "ci_lb", "ci_ub", "stat", "p"):
        _assert_close(getattr(res, METAFOR_FIELDS[ref_name]), as_float(case[ref_name]), RTOL_CLOSED, 0.0, ref_name)
    assert math.isnan(res.df) and math.isnan(res.hk_factor)
    assert SINGLE_STUDY_NOTE in res.note
    # metafor reports Q = 0, I2 = 0, H2 = 1 here; with one study they are not estimable
    for name in ("Q", "Q_p", "Q_df", "I2", "H2", "pi_low", "pi_high", "tau2_ci_low", "tau2_ci_high"):
        assert math.isnan(getattr(res, name)), name
    if case["method"] == "EE":
        assert res.model == "common" and res.tau2 == 0.0
    else:
        assert math.isnan(res.tau2) and math.isnan(res.tau)
        assert "k = 1" in res.note


def test_k2_prediction_interval_needs_pi_min_k():
    data = DATASETS["edge_k2"]
    res = pool(data["yi"], data["vi"])
    assert math.isnan(res.pi_low) and math.isnan(res.pi_high)
    assert "prediction interval not reported for k < 3" in res.note
    assert math.isfinite(pool(data["yi"], data["vi"], pi_min_k=2).pi_low)


def test_identical_effects():
    # metafor: tau2 = 0, Q = 0, Q-profile CI [0, 0]; HKSJ factor 0 so SE = 0 (no truncation)
    data = DATASETS["edge_identical"]
    for method in TAU2_METHODS:
        res = pool(data["yi"], data["vi"], tau2_method=method, ci_method="hksj")
        assert res.tau2 == 0.0 and res.Q == 0.0 and res.I2 == 0.0
        if method == "EE":
            assert math.isnan(res.tau2_ci_low) and math.isnan(res.tau2_ci_high)
        else:
            assert (res.tau2_ci_low, res.tau2_ci_high) == (0.0, 0.0)
        assert res.se == 0.0 and "HKSJ scale factor is 0" in res.note


def test_capped_tau2_ci_upper_bound_is_noted():
    # two very different precise studies: the Q-profile upper bound exceeds 100
    res = pool([-20.0, 20.0], [0.01, 0.01], tau2_method="DL")
    assert res.tau2_ci_high == pytest.approx(max(100.0, 10 * res.tau2), rel=1e-15)
    assert "search limit" in res.note


# --- non-convergence ---------------------------------------------------------


@pytest.mark.parametrize("method", ITERATIVE)
def test_non_convergence_is_flagged(method):
    data = DATASETS["normand1999_MD"]
    res = pool(data["yi"], data["vi"], tau2_method=method, max_iter=1)
    assert res.converged is False
    assert "did not converge" in res.note
    for name in ("tau2", "estimate", "se", "ci_low", "ci_high", "pi_low", "I2", "H2", "tau2_ci_low"):
        assert math.isnan(getattr(res, name)), name
    assert math.isfinite(res.Q)  # Q does not depend on tau2
    assert pool(data["yi"], data["vi"], tau2_method=method).converged


# --- batch ---------------------------------------------------------------------


def _ragged():
    names = ["bcg_RR", "normand1999_SMD", "edge_k2", "edge_k1", "morris2008_SMCR", "edge_strong_heterogeneity"]
    rows = [(np.atleast_1d(DATASETS[n]["yi"]), np.atleast_1d(DATASETS[n]["vi"])) for n in names]
    kmax = max(len(y) for y, _ in rows)
    Y = np.full((len(rows), kmax + 1), np.nan)
    V = np.full_like(Y, np.nan)
    rng = np.random.default_rng(20231122)
    for i, (y, v) in enumerate(rows):
        cols = np.sort(rng.choice(kmax + 1, size=len(y), replace=False))  # padding anywhere
        Y[i, cols], V[i, cols] = y, v
    return rows, Y, V


@pytest.mark.parametrize("method", TAU2_METHODS)
@pytest.mark.parametrize("ci_method", CI_METHODS)
def test_pool_many_equals_pool_row_by_row(method, ci_method):
    rows, Y, V = _ragged()
    batch = pool_many(Y, V, tau2_method=method, ci_method=ci_method, pi_min_k=1)
    assert isinstance(batch, PoolBatch) and len(batch) == len(rows)
    frame = batch.to_frame()
    assert len(frame) == len(rows)
    for i, (y, v) in enumerate(rows):
        one = pool(y, v, tau2_method=method, ci_method=ci_method, pi_min_k=1)
        got = batch.result(i)
        for f in dataclasses.fields(PoolResult):
            a, b = getattr(got, f.name), getattr(one, f.name)
            if isinstance(a, float):
                _assert_close(a, b, RTOL_CLOSED, 0.0, f"row {i} {f.name}")
            else:
                assert a == b, (i, f.name)
        assert frame.loc[i, "note"] == one.note


def test_empty_row():
    batch = pool_many([[np.nan, np.nan], [0.1, 0.2]], [[np.nan, np.nan], [0.01, 0.02]])
    assert batch.k.tolist() == [0, 2]
    assert math.isnan(batch.estimate[0]) and "k = 0" in batch.note[0]
    assert math.isfinite(batch.estimate[1])


# --- contract and validation ---------------------------------------------------


def test_result_fields_follow_the_contract():
    data = DATASETS["bcg_RR"]
    res = pool(data["yi"], data["vi"], ci_method="hksj")
    expected = [
        "k", "model", "tau2_method", "ci_method", "estimate", "se", "ci_low", "ci_high", "stat", "p", "df",
        "pi_low", "pi_high", "tau2", "tau2_ci_low", "tau2_ci_high", "tau", "I2", "H2", "Q", "Q_df", "Q_p",
        "converged", "iterations", "note",
    ]  # fmt: skip
    d = res.to_dict()
    assert all(name in d for name in expected)
    assert list(res.to_frame().columns) == list(d)
    assert res.model == "random" and res.tau2_method == "REML" and res.iterations > 0
    common = pool(data["yi"], data["vi"], model="common", tau2_method="REML")
    assert (common.model, common.tau2_method, common.tau2) == ("common", "EE", 0.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.k = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        (dict(yi=[0.1, 0.2], vi=[0.01, 0.0]), r"study 1: vi = 0\.0; sampling variances must be > 0"),
        (dict(yi=[0.1, float("nan")], vi=[0.01, 0.02]), r"study 1: yi = nan is not a finite number"),
        (dict(yi=[0.1, 0.2], vi=[0.01]), r"different lengths"),
        (dict(yi=[0.1, 0.2], vi=[0.01, 0.02], tau2_method="XX"), r"tau2_method must be one of"),
        (dict(yi=[0.1, 0.2], vi=[0.01, 0.02], ci_method="t"), r"ci_method must be one of"),
        (dict(yi=[0.1, 0.2], vi=[0.01, 0.02], level=95), r"level must be in \(0, 1\)"),
    ],
)
def test_pool_validation(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        pool(**kwargs)


def test_pool_many_validation():
    with pytest.raises(ValueError, match=r"analysis 1, study 0: yi = 0\.3 but vi = nan"):
        pool_many([[0.1, 0.2], [0.3, np.nan]], [[0.01, 0.02], [np.nan, np.nan]])
    with pytest.raises(ValueError, match=r"analysis 0, study 1: vi = -0\.02"):
        pool_many([[0.1, 0.2]], [[0.01, -0.02]])


# --- invariances (hypothesis) --------------------------------------------------

_effects = st.lists(
    st.tuples(
        st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False),
        st.floats(0.005, 2.0, allow_nan=False, allow_infinity=False),
    ),
    min_size=2,
    max_size=12,
)
# invariance tolerance: the same computation in a different order / scale, so
# rounding differences only (amplified by the iterative stopping rules).
_RTOL_INVARIANT = 1e-7


def _close(a: float, b: float, scale: float = 1.0) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= _RTOL_INVARIANT * (abs(b) + scale)


@settings(max_examples=60, deadline=None)
@given(_effects, st.sampled_from(TAU2_METHODS), st.randoms(use_true_random=False))
def test_permutation_invariance(studies, method, rnd):
    yi, vi = (np.asarray(x) for x in zip(*studies))
    order = list(range(len(yi)))
    rnd.shuffle(order)
    a = pool(yi, vi, tau2_method=method, ci_method="hksj", pi_min_k=1)
    b = pool(yi[order], vi[order], tau2_method=method, ci_method="hksj", pi_min_k=1)
    scale = float(np.mean(vi))
    for name in ("estimate", "se", "tau2", "Q", "I2", "pi_low", "tau2_ci_low", "tau2_ci_high"):
        assert _close(getattr(a, name), getattr(b, name), scale if name.startswith("tau2") else 1e-8), name


@settings(max_examples=60, deadline=None)
@given(_effects, st.sampled_from(TAU2_METHODS), st.floats(-50.0, 50.0))
def test_shift_moves_only_the_estimate(studies, method, c):
    yi, vi = (np.asarray(x) for x in zip(*studies))
    a = pool(yi, vi, tau2_method=method)
    b = pool(yi + c, vi, tau2_method=method)
    scale = float(np.mean(vi))
    assert _close(b.estimate, a.estimate + c, 1.0 + abs(c))
    assert _close(b.tau2, a.tau2, scale)
    assert _close(b.se, a.se, math.sqrt(scale))
    assert _close(b.Q, a.Q, 1.0)


@settings(max_examples=60, deadline=None)
@given(_effects, st.sampled_from(TAU2_METHODS), st.floats(0.01, 100.0))
def test_scaling(studies, method, s):
    yi, vi = (np.asarray(x) for x in zip(*studies))
    a = pool(yi, vi, tau2_method=method, tau2_ci=False)
    b = pool(s * yi, s * s * vi, tau2_method=method, tau2_ci=False)
    scale = float(np.mean(vi))
    assert _close(b.estimate, s * a.estimate, s)
    assert _close(b.tau2, s * s * a.tau2, s * s * scale)
    assert _close(b.se, s * a.se, s * math.sqrt(scale))
    assert _close(b.I2, a.I2, 1.0)
