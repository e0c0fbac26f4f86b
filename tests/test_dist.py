"""scimeta._dist against scipy.stats (the functions it replaces to keep imports fast)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from scimeta import _dist

# Both sides evaluate the same scipy.special function; only the argument
# handling differs, so the results agree to the last few ulps.
RTOL_SAME_FUNCTION = 1e-14

X = np.array([-40.0, -8.5, -3.2, -1.959963984540054, -1.0, -1e-9, 0.0, 1e-9, 0.5, 1.0, 2.7, 6.0, 38.0])
X_POS = np.array([0.0, 1e-12, 1e-3, 0.2, 1.0, 3.84, 7.5, 19.0, 60.0, 250.0, 1e4])
P = np.array([0.0, 1e-300, 1e-12, 1e-6, 0.001, 0.025, 0.05, 0.3, 0.5, 0.7, 0.95, 0.975, 0.999, 1 - 1e-12, 1.0])
DF = np.array([0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 9.0, 29.0, 105.0, 1e3, 1e6])

# (ours, scipy, kind of first argument, takes df)
PAIRS = {
    "norm_cdf": (_dist.norm_cdf, stats.norm.cdf, "x", 0),
    "norm_sf": (_dist.norm_sf, stats.norm.sf, "x", 0),
    "norm_sf2": (_dist.norm_sf2, lambda x: 2.0 * stats.norm.sf(np.abs(x)), "x", 0),
    "norm_ppf": (_dist.norm_ppf, stats.norm.ppf, "p", 0),
    "norm_isf": (_dist.norm_isf, stats.norm.isf, "p", 0),
    "t_cdf": (_dist.t_cdf, stats.t.cdf, "x", 1),
    "t_sf": (_dist.t_sf, stats.t.sf, "x", 1),
    "t_sf2": (_dist.t_sf2, lambda x, df: 2.0 * stats.t.sf(np.abs(x), df), "x", 1),
    "t_ppf": (_dist.t_ppf, stats.t.ppf, "p", 1),
    "t_isf": (_dist.t_isf, stats.t.isf, "p", 1),
    "chi2_sf": (_dist.chi2_sf, stats.chi2.sf, "x+", 1),
    "chi2_ppf": (_dist.chi2_ppf, stats.chi2.ppf, "p", 1),
    "chi2_isf": (_dist.chi2_isf, stats.chi2.isf, "p", 1),
    "f_sf": (_dist.f_sf, stats.f.sf, "x+", 2),
}


def _assert_same(got, ref, what):
    got = np.asarray(got, dtype=float)
    ref = np.asarray(ref, dtype=float)
    assert got.shape == ref.shape, what
    assert np.array_equal(np.isnan(got), np.isnan(ref)), f"{what}: NaN pattern {got} vs {ref}"
    inf = np.isinf(ref)
    assert np.array_equal(got[inf], ref[inf]), f"{what}: infinities"
    fin = np.isfinite(ref)
    err = np.abs(got[fin] - ref[fin])
    bound = RTOL_SAME_FUNCTION * np.abs(ref[fin])
    # absolute floor at the smallest normal number for results that underflow to 0
    assert np.all(err <= np.maximum(bound, np.finfo(float).tiny)), (
        f"{what}: max rel error {np.max(err / np.maximum(np.abs(ref[fin]), 1e-300))}"
    )


def _grid(kind):
    return {"x": X, "x+": np.concatenate([X_POS, [-1.0, -1e-9]]), "p": P}[kind]


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_matches_scipy_stats_on_a_grid(name):
    ours, ref, kind, n_df = PAIRS[name]
    first = _grid(kind)
    if n_df == 0:
        _assert_same(ours(first), ref(first), name)
        return
    if n_df == 1:
        a, d = np.meshgrid(first, DF, indexing="ij")
        _assert_same(ours(a, d), ref(a, d), name)
        return
    a, d1, d2 = np.meshgrid(first, DF, DF, indexing="ij")
    _assert_same(ours(a, d1, d2), ref(a, d1, d2), name)


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_scalars_give_floats(name):
    ours, ref, kind, n_df = PAIRS[name]
    arg = 0.3 if kind == "p" else 1.7
    args = (arg,) + (4.0,) * n_df
    got = ours(*args)
    assert isinstance(got, float)
    _assert_same(got, ref(*args), name)


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_invalid_and_missing_arguments_are_nan(name):
    ours, ref, kind, n_df = PAIRS[name]
    bad_first = [math.nan] + ([-0.1, 1.5] if kind == "p" else [])
    for value in bad_first:
        args = (value,) + (4.0,) * n_df
        assert math.isnan(ours(*args)), (name, value)
        _assert_same(ours(*args), ref(*args), name)
    for bad_df in (0.0, -1.0, math.nan):
        if n_df == 0:
            break
        args = (0.3,) + (bad_df,) * n_df
        assert math.isnan(ours(*args)), (name, bad_df)
        _assert_same(ours(*args), ref(*args), name)


@settings(max_examples=200, deadline=None)
@given(
    x=st.floats(-60, 60, allow_nan=False),
    p=st.floats(0, 1, allow_nan=False),
    df=st.floats(0.05, 1e5, allow_nan=False),
    df2=st.floats(0.05, 1e5, allow_nan=False),
)
def test_matches_scipy_stats_anywhere(x, p, df, df2):
    for name, (ours, ref, kind, n_df) in PAIRS.items():
        first = {"x": x, "x+": abs(x), "p": p}[kind]
        args = (first, df, df2)[: 1 + n_df]
        _assert_same(ours(*args), ref(*args), f"{name}{args}")


def test_core_modules_do_not_import_scipy_stats():
    # the statistics core must stay fast to import (one process per pipeline job)
    code = (
        "import sys, scimeta.pool, scimeta.effects, scimeta._dist; "
        "print(sorted(m for m in ('scipy.stats', 'scipy.optimize') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
