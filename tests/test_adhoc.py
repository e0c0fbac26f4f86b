"""The ad hoc Hartung-Knapp interval (``hksj_adhoc``) against metafor's ``test = "adhoc"``
(tests/reference/adhoc.json, written by tests/reference/ref_adhoc.R): pools of every
estimator, subgroup pools and tests (the common-tau² convention and metafor's single
model), meta-regression with ``predict`` and ``permutest``, Egger's regression test; and
the property that the interval is never narrower than the Wald one."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from _reference import RTOL_CLOSED, RTOL_ITERATIVE, load_reference
from hypothesis import given, settings
from hypothesis import strategies as st

from scimeta import subgroups as sg
from scimeta.bias import egger_rma
from scimeta.metareg import metareg, predict_line
from scimeta.permutation import permutest
from scimeta.pool import ADHOC_FLOOR_TEXT, TAU2_METHODS, pool, pool_many

REF = load_reference("adhoc")
ITERATIVE = ("REML", "ML", "PM", "EB")
#: A tau² at the boundary 0 stops at a tiny positive value set by each side's stopping
#: rule; absolute slack of this size on quantities of order 1 covers it.
ATOL_BOUNDARY = 1e-9


def rtol(method):
    return RTOL_ITERATIVE if method in ITERATIVE else RTOL_CLOSED


def close(got, ref, rt, what, atol=0.0):
    np.testing.assert_allclose(got, ref, rtol=rt, atol=atol, err_msg=what)


@pytest.mark.parametrize("case", REF["pools"], ids=lambda c: f"{c['dataset']}-{c['method']}")
def test_pool_matches_metafor_adhoc(case):
    d = REF["datasets"][case["dataset"]]
    m = case["method"]
    res = pool(d["yi"], d["vi"], tau2_method=m, ci_method="hksj_adhoc", pi_min_k=1)
    ref = case["adhoc"]
    rt = rtol(m)
    for ours, theirs in [("estimate", "estimate"), ("se", "se"), ("ci_low", "ci_lb"),
                         ("ci_high", "ci_ub"), ("stat", "stat"), ("p", "p"), ("tau2", "tau2")]:
        close(getattr(res, ours), ref[theirs], rt, f"{ours}", atol=ATOL_BOUNDARY)
    assert res.df == ref["ddf"] == case["k"] - 1
    if m == "EE":  # a common-effect model has no prediction interval (documented)
        assert math.isnan(res.pi_low)
    else:  # metafor's predict(): the floored SE and the t(k - 1) quantile
        close(res.pi_low, ref["pi_lb"], rt, "pi_low", atol=ATOL_BOUNDARY)
        close(res.pi_high, ref["pi_ub"], rt, "pi_high", atol=ATOL_BOUNDARY)
    # the factor before the floor is metafor's knha s2w; the note says when it was floored
    close(res.hk_factor, case["knha_s2w"], rt, "hk_factor", atol=ATOL_BOUNDARY)
    floored = case["knha_s2w"] < 1 - 1e-6
    assert (ADHOC_FLOOR_TEXT in res.note) == floored
    assert ref["s2w"] == max(1.0, case["knha_s2w"]) or not floored
    wald = pool(d["yi"], d["vi"], tau2_method=m, ci_method="wald", pi_min_k=1)
    close(wald.ci_low, case["wald"]["ci_lb"], rt, "wald ci_low", atol=ATOL_BOUNDARY)
    assert res.ci_high - res.ci_low >= wald.ci_high - wald.ci_low


def test_the_floor_bites_on_homogeneous_studies_and_not_on_heterogeneous_ones():
    by = {(c["dataset"], c["method"]): c for c in REF["pools"]}
    assert by["homogeneous_k3", "REML"]["knha_s2w"] < 0.01
    assert by["bcg_RR", "DL"]["knha_s2w"] > 1


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(
        st.tuples(st.floats(-5, 5, allow_nan=False), st.floats(0.01, 4.0, allow_nan=False)),
        min_size=2, max_size=12),
    level=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_adhoc_interval_is_never_narrower_than_wald(data, level):
    y = np.array([[a for a, _ in data]])
    v = np.array([[b for _, b in data]])
    for method in TAU2_METHODS:
        adhoc = pool_many(y, v, tau2_method=method, ci_method="hksj_adhoc", level=level, tau2_ci=False)
        wald = pool_many(y, v, tau2_method=method, ci_method="wald", level=level, tau2_ci=False)
        width_a = adhoc.ci_high - adhoc.ci_low
        width_w = wald.ci_high - wald.ci_low
        ok = np.isfinite(width_w)
        assert np.all(width_a[ok] >= width_w[ok] * (1 - 1e-12)), method


# --- subgroups -------------------------------------------------------------------------
def _frames(case):
    k = len(case["yi"])
    ids = [f"s{i:02d}" for i in range(k)]
    effects = pd.DataFrame({"study_id": ids, "cohort_id": "", "outcome": "o",
                            "comparison": "between_arms", "measure": "MD", "population": "all",
                            "yi": case["yi"], "vi": case["vi"], "n1": 10.0, "n2": 10.0,
                            "design": "rct"})
    return effects, pd.DataFrame({"study_id": ids, "g": [str(x) for x in case["g"]]})


@pytest.mark.parametrize("case", REF["subgroups"], ids=lambda c: f"{c['dataset']}-{c['method']}")
def test_subgroup_pools_and_tests_match_metafor_adhoc(case):
    effects, studies = _frames(case)
    m = case["method"]
    rt = rtol(m)
    pooled = sg.pool_subgroups(effects, studies, ["g"], tau2_methods=[m], ci_methods=["hksj_adhoc"],
                               level=0.95, pi_min_k=1, common=False,
                               scopes=["common", "single_model"])
    for lev, ref in case["common_pools"].items():
        row = pooled[(pooled.subgroup == lev) & (pooled.tau2_scope == "common")].iloc[0]
        for ours, theirs in [("estimate", "estimate"), ("se", "se"), ("ci_low", "ci_lb"),
                             ("ci_high", "ci_ub"), ("p", "p"), ("pi_low", "pi_lb"), ("pi_high", "pi_ub")]:
            close(row[ours], ref[theirs], rt, f"common {lev} {ours}", atol=1e-12)
    single = case["single_model"]
    for j, lev in enumerate(single["levels"]):
        row = pooled[(pooled.subgroup == lev) & (pooled.tau2_scope == "single_model")].iloc[0]
        for ours, theirs in [("estimate", "estimate"), ("se", "se"), ("ci_low", "ci_lb"),
                             ("ci_high", "ci_ub"), ("stat", "stat"), ("p", "p"),
                             ("pi_low", "pi_lb"), ("pi_high", "pi_ub")]:
            close(row[ours], single[theirs][j], rt, f"single {lev} {ours}", atol=1e-12)
        assert row["df"] == single["ddf"]
        close(row["hk_factor"], single["knha_s2w"], rt, "single hk_factor", atol=1e-12)
    tests = sg.subgroup_tests(effects, studies, ["g"], tau2_methods=[m], ci_methods=["hksj_adhoc"],
                              level=0.95, n_perm=0, seed=None)
    row = tests[tests.method == "moderator_model"].iloc[0]
    mod = case["moderator"]
    assert row["statistic"] == "F" and row["df"] == mod["F_df1"] and row["df2"] == mod["F_df2"]
    close(row["F"], mod["F"], rt, "F")
    close(row["p"], mod["F_p"], rt, "F p")


def test_single_model_differs_from_the_common_tau2_convention():
    """The common-tau² pools take each subgroup's own factor (k_g - 1 df); metafor's
    single model one factor for all (k - G df): different intervals, same estimates."""
    case = next(c for c in REF["subgroups"] if c["dataset"] == "bcg_alloc" and c["method"] == "REML")
    effects, studies = _frames(case)
    pooled = sg.pool_subgroups(effects, studies, ["g"], tau2_methods=["REML"], ci_methods=["hksj"],
                               level=0.95, pi_min_k=3, common=False,
                               scopes=["common", "single_model"])
    common = pooled[pooled.tau2_scope == "common"].set_index("subgroup")
    single = pooled[pooled.tau2_scope == "single_model"].set_index("subgroup")
    close(single["estimate"], common["estimate"], 1e-10, "estimates")
    assert (single["df"] == len(case["yi"]) - 3).all()
    assert not np.allclose(single["ci_low"], common["ci_low"])


# --- meta-regression and Egger's test ---------------------------------------------------
@pytest.mark.parametrize("case", REF["metaregs"], ids=lambda c: f"{c['dataset']}-{c['method']}")
def test_metareg_matches_metafor_adhoc(case):
    m = case["method"]
    rt = rtol(m)
    fit = metareg(case["yi"], case["vi"], np.array(case["x"]), tau2_method=m, test="adhoc")
    for ours, theirs in [("beta", "beta"), ("se", "se"), ("stat", "stat"), ("pval", "p"),
                         ("ci_low", "ci_lb"), ("ci_high", "ci_ub")]:
        close(getattr(fit, ours), case[theirs], rt, ours, atol=1e-12)
    assert fit.df == case["ddf"] and fit.F_df2 == case["F_df2"]
    close(fit.F, case["F"], rt, "F")
    close(fit.QM_p, case["F_p"], rt, "F p")
    assert fit.s2w == max(1.0, fit.s2w_raw)
    close(fit.s2w, case["s2w"], rt, "s2w")
    line = predict_line(fit, np.array(case["grid"]))
    # metafor's predict() of an equal-effects model has no prediction interval
    fields = [("pred", "pred"), ("se", "pred_se"), ("ci_low", "pred_ci_lb"), ("ci_high", "pred_ci_ub")]
    if m != "EE":
        fields += [("pi_low", "pred_pi_lb"), ("pi_high", "pred_pi_ub")]
    for ours, theirs in fields:
        close(getattr(line, ours), case[theirs], rt, f"predict {ours}", atol=1e-12)
    if "perm_p" in case:
        perm = permutest(case["yi"], case["vi"], np.array(case["x"]), tau2_method=m, test="adhoc",
                         n_perm=1000)
        assert perm.exact
        close(perm.p_perm, case["perm_p"], 1e-12, "permutest p")
        close(perm.QM_p_perm, case["perm_QMp"], 1e-12, "permutest QM p")


@pytest.mark.parametrize("case", REF["eggers"], ids=lambda c: f"{c['dataset']}-{c['method']}")
def test_egger_matches_regtest_adhoc(case):
    d = REF["datasets"][case["dataset"]]
    m = case["method"]
    rt = rtol(m)
    res = egger_rma(d["yi"], d["vi"], tau2_method=m, test="adhoc")
    for ours, theirs in [("statistic", "statistic"), ("p", "p"), ("estimate", "estimate"),
                         ("ci_low", "ci_lb"), ("ci_high", "ci_ub"), ("slope", "slope"),
                         ("slope_se", "slope_se")]:
        close(getattr(res, ours), case[theirs], rt, ours, atol=1e-12)
    assert res.df == case["ddf"]


# --- where the floor changed the interval, the table, the figure and the methods say so ---
def test_floor_is_stated_in_the_forest_footnote_and_the_methods_text():
    from test_plotting_forest import CFG, _frame, _pooled, forest_plot

    from scimeta.methods import _floor_text

    shown = ADHOC_FLOOR_TEXT.replace("Hartung-Knapp", "Hartung–Knapp")
    eff = _frame("MC", "pre_post", n1=[106, 10, 17], m1=[66.0, 53.0, 18.9], sd1=[23.4, 27.0, 6.6],
                 n2=[106, 10, 17], m2=[61.0, 48.54, 14.1], sd2=[23.3, 25.66, 4.54],
                 r=[0.5, 0.5, 0.59], labels=["A 2025", "B 2021", "C 2015"])
    pooled = _pooled(eff, ci_method="hksj_adhoc")
    assert (pooled["hk_factor"] < 1).all() and pooled["note"].str.contains(ADHOC_FLOOR_TEXT, regex=False).all()
    res = forest_plot(eff, pooled, outcome_cfg=CFG, comparison="pre_post", measure="MC",
                      ci_method="hksj_adhoc")
    footers = " ".join(t.get_text() for t in res.figure.axes[0].texts
                       if (t.get_gid() or "").startswith("footer-"))
    assert f"For this pool, {shown}." in footers
    wald = forest_plot(eff, _pooled(eff, ci_method="wald"), outcome_cfg=CFG,
                       comparison="pre_post", measure="MC", ci_method="wald")
    assert shown not in " ".join(t.get_text() for t in wald.figure.axes[0].texts)
    table = pooled.assign(primary=True)
    assert shown in _floor_text(table, "hksj_adhoc")
    assert _floor_text(table.assign(hk_factor=1.5), "hksj_adhoc") == ""
    assert _floor_text(table, "hksj") == ""


def test_metareg_table_permutation_follows_the_adhoc_test():
    """metareg.csv's permutation p-values under hksj_adhoc are permutest's with test = "adhoc"."""
    from _settings import analysis

    from scimeta.analysis import metareg_table

    case = next(c for c in REF["metaregs"] if "perm_p" in c)
    k = len(case["yi"])
    ids = [f"s{i}" for i in range(k)]
    effects = pd.DataFrame({"study_id": ids, "cohort_id": "", "outcome": "o",
                            "comparison": "between_arms", "measure": "MD", "population": "all",
                            "yi": case["yi"], "vi": case["vi"], "n1": 10.0, "n2": 10.0,
                            "design": "rct"})
    studies = pd.DataFrame({"study_id": ids, "x": case["x"]})
    table = metareg_table(effects, studies, moderators=["x"],
                          analysis=analysis(tau2=["REML"], ci=["hksj_adhoc", "hksj"]),
                          permutations=1000, seed=1)
    row = table[(table.ci_method == "hksj_adhoc") & (table.term == "x")].iloc[0]
    close(row["p"], case["p"][1], RTOL_ITERATIVE, "p")
    close(row["p_perm"], case["perm_p"][1], 1e-12, "p_perm")
    close(row["QM_p_perm"], case["perm_QMp"], 1e-12, "QM_p_perm")


def test_config_subgroup_pools_adds_the_single_model():
    from _settings import analysis

    from scimeta.analysis import subgroup_tables

    case = next(c for c in REF["subgroups"] if c["dataset"] == "homogeneous_two")
    effects, studies = _frames(case)
    pooled, _, _ = subgroup_tables(
        effects, studies, analysis=analysis(tau2=["REML"], ci=["hksj_adhoc"],
                                            subgroup_pools=["single_model"]),
        subgroups=["g"], populations={}, permutations=0, seed=1)
    assert set(pooled["tau2_scope"]) == {"single_model", "separate"}  # EE rows are per subgroup
    primary = pooled[pooled["primary"]]
    assert set(primary["tau2_scope"]) == {"single_model"} and len(primary) == 2
    close(primary["ci_low"].to_numpy(), case["single_model"]["ci_lb"], RTOL_ITERATIVE, "ci_low",
          atol=1e-12)
