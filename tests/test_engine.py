"""GOSH, cumulative meta-analysis, permutation tests and the estimator core
against metafor (tests/reference/engine.json, from ref_engine.R)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scimeta.cumulative import CUMULATIVE_COLUMNS, cumulative, cumulative_effects
from scimeta.gosh import GOSH_COLUMNS, gosh, gosh_influence, gosh_membership
from scimeta.metareg import METAREG_TAU2_METHODS, fit_batch, metareg
from scimeta.permutation import PERMUTEST_COLUMNS, permutation_count, permutest
from scimeta.plotting import cumulative_forest_plot, gosh_plot
from scimeta.pool import TAU2_METHODS, pool, pool_many

from _reference import RTOL_CLOSED, RTOL_ITERATIVE, load_reference

REF = load_reference("engine")
CLOSED = {"EE", "DL", "HE", "SJ"}
#: Values that are 0 in one implementation can be ~1e-13 in the other.
ATOL = 1e-10


def rtol(method: str) -> float:
    return RTOL_CLOSED if method in CLOSED else RTOL_ITERATIVE


def _bcg(n=13):
    case = REF["cumul"][0]  # dat.bcg in input order
    return np.asarray(case["yi"])[:n], np.asarray(case["vi"])[:n]


# ---------------------------------------------------------------------------
# GOSH
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", REF["gosh"], ids=lambda c: f"{c['name']}-{c['tau2_method']}")
def test_gosh_matches_metafor(case):
    method = case["tau2_method"]
    table = gosh(case["yi"], case["vi"], tau2_method=method)
    assert tuple(table.columns) == GOSH_COLUMNS
    k = len(case["yi"])
    assert len(table) == 2**k - 1 == len(case["studies"])
    assert table.attrs["exact"] is True
    # the same subsets as metafor's incl matrix (metafor 3.8 lists them by size;
    # here subset s holds study j iff bit j of s is set)
    assert sorted(table["studies"]) == sorted(case["studies"])
    ref = pd.DataFrame({c: case[c] for c in ("studies", "k", "estimate", "QE", "I2", "H2", "tau2")})
    ref = ref.set_index("studies").loc[table["studies"]].reset_index()
    np.testing.assert_array_equal(table["k"], ref["k"])
    np.testing.assert_array_equal(table["k"], gosh_membership(table).sum(axis=1))
    tol = dict(rtol=rtol(method), atol=ATOL)
    np.testing.assert_allclose(table["estimate"], ref["estimate"], **tol)
    # heterogeneity of one-study subsets is NaN here (metafor: 0, 1, 0, 0);
    # the common-effect model has tau2 = 0 throughout
    several = table["k"].to_numpy() >= 2
    assert table.loc[~several, ["I2", "H2", "Q"]].isna().all().all()
    assert (table["tau2"][~several] == 0).all() if method == "EE" else table["tau2"][~several].isna().all()
    # metafor's gosh() takes a shortcut for DL that reports H2 = Q / (k - 1) even
    # where tau2 is truncated at 0 (its rma() reports H2 = 1 there, as here)
    q, kk = ref["QE"].to_numpy(), ref["k"].to_numpy()
    h2_rows = several & ((q >= kk - 1) if method == "DL" else True)
    for ours, theirs, rows in (("tau2", "tau2", several), ("I2", "I2", several), ("H2", "H2", h2_rows),
                               ("Q", "QE", several)):
        np.testing.assert_allclose(table[ours][rows], ref[theirs][rows], **tol)
    if method == "DL":
        assert (table["H2"][several & ~h2_rows] == 1.0).all()


def test_gosh_chunks_do_not_change_results():
    y, v = _bcg(9)
    whole = gosh(y, v, tau2_method="DL")
    chunked = gosh(y, v, tau2_method="DL", chunk_size=37)
    pd.testing.assert_frame_equal(whole, chunked)


def test_gosh_random_subsets_are_seeded():
    y, v = _bcg(13)
    a = gosh(y, v, tau2_method="DL", max_exact_k=8, n_subsets=500, seed=7)
    b = gosh(y, v, tau2_method="DL", max_exact_k=8, n_subsets=500, seed=7, chunk_size=64)
    c = gosh(y, v, tau2_method="DL", max_exact_k=8, n_subsets=500, seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not a["studies"].equals(c["studies"])
    assert len(a) == 500 and a.attrs == {"exact": False, "seed": 7, "tau2_method": "DL", "model": "random"}
    incl = gosh_membership(a)
    assert incl.any(axis=1).all()  # no empty subset
    # each study in about half of the subsets (each enters with probability 1/2)
    assert np.all(np.abs(incl.mean(axis=0) - 0.5) < 0.1)
    # a sampled subset gets the same fit as in the exhaustive run
    row = a.iloc[0]
    mask = incl[0]
    ref = pool(y[mask], v[mask], tau2_method="DL")
    np.testing.assert_allclose(row["estimate"], ref.estimate, rtol=1e-12)
    with pytest.raises(ValueError, match="need a seed"):
        gosh(y, v, max_exact_k=8)


def test_gosh_ranges_are_the_full_run():
    """Parts of a run (one job each in the workflow) are rows of the full run, exact or sampled,
    whatever the chunk size and wherever the ranges cut the seeded blocks."""
    y, v = _bcg(13)
    for kw in (dict(), dict(max_exact_k=8, n_subsets=2500, seed=3)):
        whole = gosh(y, v, tau2_method="DL", **kw)
        cuts = [0, 1, 700, 1024, 1500, len(whole)]
        parts = [gosh(y, v, tau2_method="DL", start=a, stop=b, chunk_size=97, **kw)
                 for a, b in zip(cuts[:-1], cuts[1:])]
        pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole)
    with pytest.raises(ValueError, match="outside"):
        gosh(y, v, max_exact_k=8, n_subsets=10, seed=1, start=5, stop=11)


def test_gosh_rejects_bad_input():
    with pytest.raises(ValueError, match="k >= 2"):
        gosh([0.1], [0.1])
    with pytest.raises(ValueError, match="study 1: vi = -1.0"):
        gosh([0.1, 0.2], [0.1, -1.0])


def test_gosh_influence_finds_the_outlier():
    y, v = _bcg(10)
    y = y.copy()
    y[6] += 3.0  # study 7 moves every subset it enters
    table = gosh(y, v, tau2_method="DL")
    infl = gosh_influence(table)
    assert infl["study"].tolist() == [str(i) for i in range(1, 11)]
    assert int(infl["shift"].idxmax()) == 6
    incl = gosh_membership(table)
    ok = np.isfinite(table["I2"].to_numpy())
    with_7 = table["estimate"].to_numpy()[ok & incl[:, 6]].mean()
    np.testing.assert_allclose(infl.loc[6, "estimate_with"], with_7, rtol=1e-12)
    fig = gosh_plot(table, influence=infl)
    assert fig.meta["highlight"] == "7"
    assert fig.data["includes_highlight"].sum() == (ok & incl[:, 6]).sum()
    assert len(fig.data) == ok.sum()  # every subset with an I² is drawn
    gids = {c.get_gid() for c in fig.figure.axes[0].collections}
    assert {"subsets-with", "subsets-without"} <= gids


# ---------------------------------------------------------------------------
# Cumulative meta-analysis
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", REF["cumul"], ids=lambda c: f"{c['name']}-{c['tau2_method']}-{c['test']}")
def test_cumulative_matches_metafor(case):
    method, ci = case["tau2_method"], "hksj" if case["test"] == "knha" else "wald"
    table = cumulative(case["yi"], case["vi"], case["order_values"], tau2_method=method, ci_method=ci)
    assert tuple(table.columns) == CUMULATIVE_COLUMNS
    assert table["study_id"].tolist() == case["slab"]  # metafor's order, ties stable
    k = len(case["yi"])
    assert table["k"].tolist() == list(range(1, k + 1))
    tol = dict(rtol=rtol(method), atol=ATOL)
    # step 1 is one study: its own Wald CI (metafor's knha at k = 1 is not defined here)
    first = 1 if ci == "hksj" else 0
    for ours, theirs in (("estimate", "estimate"), ("se", "se"), ("stat", "zval"), ("p", "pval"),
                         ("ci_low", "ci_lb"), ("ci_high", "ci_ub")):
        np.testing.assert_allclose(table[ours][first:], np.asarray(case[theirs])[first:], **tol)
    for ours, theirs in (("tau2", "tau2"), ("I2", "I2"), ("H2", "H2"), ("Q", "Q"), ("Q_p", "Qp")):
        np.testing.assert_allclose(table[ours][1:], np.asarray(case[theirs])[1:], **tol)
    assert np.isnan(table["tau2"][0])  # k = 1: not estimable (metafor: 0)


def test_cumulative_last_step_is_the_full_pool():
    y, v = _bcg()
    table = cumulative(y, v, REF["cumul"][0]["order_values"], tau2_method="REML", ci_method="hksj")
    full = pool(y, v, tau2_method="REML", ci_method="hksj")
    last = table.iloc[-1]
    for col in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "I2", "Q"):
        np.testing.assert_allclose(last[col], getattr(full, col), rtol=1e-12)


def test_cumulative_missing_order_ties_collapse_and_decreasing():
    y, v = [0.1, 0.5, 0.3, 0.7], [0.01, 0.02, 0.03, 0.04]
    t = cumulative(y, v, [2001, None, 1999, 2001], study_id=list("abcd"), collapse=True)
    assert t["study_id"].tolist() == ["c", "a; d", "b"]
    assert t["k"].tolist()[:2] == [1, 3] and pd.isna(t["k"].iloc[2]) and pd.isna(t["step"].iloc[2])
    assert "not in the cumulative sequence" in t["note"].iloc[2]
    np.testing.assert_allclose(t["estimate"].iloc[1], pool([0.3, 0.1, 0.7], [0.03, 0.01, 0.04]).estimate)
    t = cumulative(y, v, [2001, 2000, 1999, 2001], study_id=list("abcd"), decreasing=True)
    assert t["study_id"].tolist() == ["a", "d", "b", "c"]


def test_cumulative_effects_orders_by_a_studies_column():
    effects = pd.DataFrame({"study_id": ["s1", "s2", "s3"], "yi": [0.2, 0.4, 0.1], "vi": [0.02, 0.03, 0.01]})
    studies = pd.DataFrame({"study_id": ["s3", "s1", "s2"], "year": [2010, 2020, 2015]})
    t = cumulative_effects(effects, "year", studies=studies, tau2_method="DL")
    assert t["study_id"].tolist() == ["s3", "s2", "s1"]
    assert t["order_value"].tolist() == [2010, 2015, 2020]
    with pytest.raises(ValueError, match="'size' is neither a column"):
        cumulative_effects(effects, "size", studies=studies)
    fig = cumulative_forest_plot(t, order_label="Year")
    assert fig.data["label"].tolist() == ["+ s3", "+ s2", "+ s1"]
    texts = {t.get_text() for t in fig.figure.axes[0].texts}
    assert {"+ s3", "2015", "Year", "Study added"} <= texts


# ---------------------------------------------------------------------------
# Permutation tests
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", REF["permutest"], ids=lambda c: f"{c['name']}-{c['tau2_method']}-{c['test']}")
def test_permutest_matches_metafor_exact(case):
    X = None if not isinstance(case["X"], list) else np.column_stack(case["X"])
    res = permutest(case["yi"], case["vi"], X, tau2_method=case["tau2_method"], test=case["test"])
    assert res.exact and res.n_exact == case["n_exact"] == res.n_perm == case["iter"]
    assert res.n_failed == 0
    # exact p-values are multiples of 1 / N: equal up to rounding
    np.testing.assert_allclose(res.QM_p_perm, case["QMp_perm"], rtol=1e-12)
    np.testing.assert_allclose(res.p_perm, np.atleast_1d(case["pval_perm"]), rtol=1e-12)
    tol = dict(rtol=rtol(case["tau2_method"]), atol=ATOL)
    np.testing.assert_allclose(res.beta, np.atleast_1d(case["beta"]), **tol)
    np.testing.assert_allclose(res.stat, np.atleast_1d(case["zval"]), **tol)
    np.testing.assert_allclose(res.QM, case["QM"], **tol)
    frame = res.to_frame()
    assert tuple(frame.columns) == PERMUTEST_COLUMNS and len(frame) == len(res.names)


def test_permutation_count():
    assert permutation_count(np.array([0, 0, 1, 1, 1])) == 10
    assert permutation_count(None, 8) == 256
    assert permutation_count(np.arange(6.0)) == 720
    assert permutation_count(np.array([[1, 0], [1, 0], [0, 1]])) == 3


def test_permutest_random_sample_is_seeded_and_close_to_exact():
    y, v = _bcg()
    x = np.array([44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33], dtype=float)  # dat.bcg ablat
    a = permutest(y, v, x, n_perm=400, seed=11)
    b = permutest(y, v, x, n_perm=400, seed=11, chunk_size=50)
    assert not a.exact and a.n_perm == 400 and a.seed == 11
    assert a.QM_p_perm == b.QM_p_perm and np.array_equal(a.p_perm, b.p_perm)
    assert a.QM_p_perm >= 1 / 400  # the observed assignment counts
    # factor with few distinct assignments: exact even when asked for many
    g = (x > 30).astype(float)
    n_exact = permutation_count(g)
    assert n_exact == 1287
    ex = permutest(y, v, g, n_perm=2000)
    assert ex.exact and ex.n_perm == 1287
    sampled = permutest(y, v, g, n_perm=1000, seed=3)
    # a sample of 1000 estimates the exact p within a few Monte Carlo SEs
    se = np.sqrt(ex.QM_p_perm * (1 - ex.QM_p_perm) / 1000)
    assert abs(sampled.QM_p_perm - ex.QM_p_perm) < 4 * se + 1e-3
    with pytest.raises(ValueError, match="needs a seed"):
        permutest(y, v, x, n_perm=100)


def test_fit_batch_equals_metareg_row_by_row():
    y, v = _bcg()
    x = np.array([44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33], dtype=float)
    rng = np.random.default_rng(1)
    orders = np.array([rng.permutation(13) for _ in range(5)])
    M = np.column_stack([np.ones(13), x])
    for test in ("z", "knha"):
        beta, stat, qm = fit_batch(y, v, M[orders], tau2_method="REML", test=test)
        for i, o in enumerate(orders):
            fit = metareg(y, v, x[o], tau2_method="REML", test=test)
            np.testing.assert_allclose(beta[i], fit.beta, rtol=1e-12)
            np.testing.assert_allclose(stat[i], fit.stat, rtol=1e-12)
            np.testing.assert_allclose(qm[i], fit.F if test == "knha" else fit.QM, rtol=1e-12)


# ---------------------------------------------------------------------------
# One estimator core; huge k
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", [m for m in TAU2_METHODS if m != "EE"])
def test_pool_and_intercept_only_metareg_are_one_core(method):
    assert method in METAREG_TAU2_METHODS
    y, v = _bcg()
    for ci, test in (("wald", "z"), ("hksj", "knha")):
        p = pool(y, v, tau2_method=method, ci_method=ci)
        r = metareg(y, v, None, tau2_method=method, test=test)
        # the same iterations on the same quantities: equal to rounding
        np.testing.assert_allclose(r.tau2, p.tau2, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(r.beta[0], p.estimate, rtol=1e-13)
        np.testing.assert_allclose(r.se[0], p.se, rtol=1e-12)
        np.testing.assert_allclose([r.QE, r.I2, r.H2], [p.Q, p.I2, p.H2], rtol=1e-12)
        assert r.iterations == p.iterations


def test_huge_k_fit_is_consistent():
    rng = np.random.default_rng(20231122)
    k = 100_000
    v = rng.uniform(0.01, 0.3, k)
    y = 0.3 + rng.normal(0.0, np.sqrt(0.1 + v))
    res = pool(y, v, tau2_method="REML", ci_method="hksj")
    assert res.converged and res.k == k
    # the REML score is zero at the estimate: tr P = y'PPy
    w = 1.0 / (v + res.tau2)
    r = y - res.estimate
    sw, sw2 = w.sum(), (w * w).sum()
    np.testing.assert_allclose((w * w * r * r).sum(), sw - sw2 / sw, rtol=1e-8)
    # the Q-profile bounds solve Q(tau2) = chi2 quantiles
    from scipy.stats import chi2

    for bound, q in ((res.tau2_ci_low, chi2.isf(0.025, k - 1)), (res.tau2_ci_high, chi2.ppf(0.025, k - 1))):
        wb = 1.0 / (v + bound)
        mu = (wb * y).sum() / wb.sum()
        np.testing.assert_allclose((wb * (y - mu) ** 2).sum(), q, rtol=1e-9)
    batch = pool_many(y[None, :5000], v[None, :5000])
    np.testing.assert_allclose(batch.tau2[0], pool(y[:5000], v[:5000]).tau2, rtol=1e-14)
