"""Subgroup membership, pools and tests for differences.

Numbers are checked against tests/reference/subgroups.json (written by
tests/reference/ref_subgroups.R with metafor; R meta's separate-tau^2 test is
computed there from per-subgroup metafor fits).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _reference import load_reference
from _settings import config

from scimeta import subgroups as sg
from scimeta.pool import SINGLE_STUDY_NOTE
from scimeta.subgroups import (
    ASSIGNMENT_COLUMNS,
    MIXED,
    POOLED_COLUMNS,
    TEST_COLUMNS,
    assign_subgroups,
    exact_permutation_count,
)

#: The config's defaults (the schema's) for what a test does not set: the library has none.
DEFAULTS = config()


def pool_subgroups(*args, **kw):
    a = DEFAULTS["analysis"]
    return sg.pool_subgroups(*args, **{"tau2_methods": a["tau2"], "ci_methods": a["ci"],
                                       "level": a["level"], "pi_min_k": a["pi_min_k"],
                                       "common": a["common"], **kw})


def subgroup_tests(*args, **kw):
    a = DEFAULTS["analysis"]
    return sg.subgroup_tests(*args, **{"tau2_methods": a["tau2"], "ci_methods": a["ci"],
                                       "level": a["level"], "n_perm": DEFAULTS["permutations"],
                                       "seed": DEFAULTS["seed"], **kw})

REF = json.loads((Path(__file__).parent / "reference" / "subgroups.json").read_text())
CATEGORICAL = {c["name"]: c for c in REF["categorical"]}

#: Closed-form estimators: R and Python differ by rounding only.
CLOSED_RTOL = 1e-10
#: Iterative estimators (REML, ML, PM, EB): both converge to ~1e-12 on tau^2.
ITER_RTOL = 1e-6
CLOSED = {"DL", "HE", "SJ", "EE"}
#: Approximate permutation p-values come from different random streams (R's
#: Mersenne Twister vs numpy's PCG64): with 1000 draws each, the Monte Carlo SD
#: of the difference is at most sqrt(2 * 0.25 / 1000) = 0.022; 0.07 is ~3 SD.
PERM_APPROX_ATOL = 0.07
#: Exact permutation p-values are counts over the same finite set: identical
#: up to the representation of k/N.
PERM_EXACT_ATOL = 1e-12


def rtol(method):
    return CLOSED_RTOL if method in CLOSED else ITER_RTOL


def frames(case):
    k = len(case["yi"])
    ids = [f"s{i:02d}" for i in range(k)]
    effects = pd.DataFrame(
        {
            "study_id": ids,
            "cohort_id": "",
            "outcome": "o",
            "comparison": "between_arms",
            "measure": "MD",
            "population": "all",
            "yi": case["yi"],
            "vi": case["vi"],
            "n1": 10.0,
            "n2": 10.0,
        }
    )
    studies = pd.DataFrame({"study_id": ids, "g": [str(x) for x in case["g"]]})
    return effects, studies


# --------------------------------------------------------------------------
# tests for differences against metafor
# --------------------------------------------------------------------------
TAU2 = ["REML", "DL", "PM", "ML", "HE", "SJ", "EB"]


@pytest.mark.parametrize("name", sorted(CATEGORICAL))
def test_subgroup_tests_match_metafor(name):
    case = CATEGORICAL[name]
    effects, studies = frames(case)
    out = subgroup_tests(
        effects, studies, ["g"], tau2_methods=TAU2, ci_methods=["wald", "hksj"], n_perm=0
    )
    assert list(out.columns) == TEST_COLUMNS
    G = len(set(case["g"]))
    for sep in case["separate"]:
        m = sep["tau2_method"]
        # separate_tau2 uses Wald SEs under every CI method: one row per estimator
        row = out[(out.method == "separate_tau2") & (out.tau2_method == m)]
        assert len(row) == 1
        row = row.iloc[0]
        assert row["ci_method"] == "wald" and row["statistic"] == "Q_between"
        assert row["df"] == sep["df"] == G - 1
        np.testing.assert_allclose(row["Q_between"], sep["Q_between"], rtol=rtol(m))
        np.testing.assert_allclose(row["p"], sep["p"], rtol=rtol(m))
    for fit in case["fits"]:
        m, test = fit["tau2_method"], fit["test"]
        cm = "hksj" if test == "knha" else "wald"
        row = out[
            (out.method == "moderator_model") & (out.tau2_method == m) & (out.ci_method == cm)
        ]
        row = row.iloc[0]
        np.testing.assert_allclose(row["p"], fit["QMp"], rtol=rtol(m))
        if test == "knha":  # metafor's QM under knha is the F statistic
            assert row["statistic"] == "F" and math.isnan(row["Q_between"])
            np.testing.assert_allclose(row["F"], fit["QM"], rtol=rtol(m))
            assert row["df2"] == fit["QMdf"][1]
        else:
            assert row["statistic"] == "Q_between" and math.isnan(row["F"])
            np.testing.assert_allclose(row["Q_between"], fit["QM"], rtol=rtol(m))
        assert row["df"] == fit["QMdf"][0]
        assert row["k_groups"] == G and row["k"] == len(case["yi"])


def _perm_cases():
    for name, case in sorted(CATEGORICAL.items()):
        for pc in case["permutest"]:
            yield pytest.param(name, pc, id=f"{name}-{pc['tau2_method']}-{pc['test']}")


@pytest.mark.parametrize(("name", "pc"), list(_perm_cases()))
def test_permutation_p_matches_permutest(name, pc):
    case = CATEGORICAL[name]
    effects, studies = frames(case)
    cm = "hksj" if pc["test"] == "knha" else "wald"
    out = subgroup_tests(
        effects,
        studies,
        ["g"],
        tau2_methods=[pc["tau2_method"]],
        ci_methods=[cm],
        n_perm=pc["iter"],
        seed=REF["perm_seed"],
    )
    row = out[out.method == "moderator_model"].iloc[0]
    assert bool(row["perm_exact"]) == pc["exact"]
    assert math.isclose(exact_permutation_count(case["g"]), pc["exact_iter"], rel_tol=1e-12)
    if pc["exact"]:
        assert row["n_perm"] == pc["exact_iter"]
        np.testing.assert_allclose(row["p_perm"], pc["QMp_perm"], atol=PERM_EXACT_ATOL, rtol=0)
    else:
        assert row["n_perm"] == pc["iter"]
        np.testing.assert_allclose(row["p_perm"], pc["QMp_perm"], atol=PERM_APPROX_ATOL, rtol=0)


def test_exact_permutation_with_many_assignments():
    ref = REF["permutest_exact_large"]
    effects, studies = frames(CATEGORICAL[ref["dataset"]])
    out = subgroup_tests(
        effects,
        studies,
        ["g"],
        tau2_methods=[ref["tau2_method"]],
        ci_methods=["wald"],
        n_perm=ref["iter"],
        seed=None,
    )
    row = out[out.method == "moderator_model"].iloc[0]
    assert row["perm_exact"] and row["n_perm"] == ref["exact_iter"] == 25740
    np.testing.assert_allclose(row["p_perm"], ref["QMp_perm"], atol=PERM_EXACT_ATOL, rtol=0)


def test_permutation_deterministic_with_seed():
    case = CATEGORICAL["bcg_alloc"]
    effects, studies = frames(case)
    kw = dict(tau2_methods=["DL"], ci_methods=["wald"], n_perm=200, seed=7)
    a = subgroup_tests(effects, studies, ["g"], **kw)
    b = subgroup_tests(effects, studies, ["g"], **kw)
    pd.testing.assert_frame_equal(a, b)
    assert "seed 7" in a.loc[a.method == "moderator_model", "note"].iloc[0]


def test_no_seed_no_random_permutations():
    case = CATEGORICAL["bcg_alloc"]
    effects, studies = frames(case)
    out = subgroup_tests(
        effects, studies, ["g"], tau2_methods=["DL"], ci_methods=["wald"], n_perm=100, seed=None
    )
    row = out[out.method == "moderator_model"].iloc[0]
    assert math.isnan(row["p_perm"]) and "no seed" in row["note"]


def test_permuting_rows_changes_nothing():
    case = CATEGORICAL["raudenbush1985_tester"]
    effects, studies = frames(case)
    order = np.random.default_rng(3).permutation(len(effects))
    kw = dict(tau2_methods=["REML"], ci_methods=["wald", "hksj"], n_perm=0)
    a = subgroup_tests(effects, studies, ["g"], **kw)
    b = subgroup_tests(effects.iloc[order].reset_index(drop=True), studies, ["g"], **kw)
    num = ["Q_between", "df", "p", "F", "df2"]
    np.testing.assert_allclose(a[num].to_numpy(float), b[num].to_numpy(float), rtol=ITER_RTOL)


# --------------------------------------------------------------------------
# per-subgroup pools
# --------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(CATEGORICAL))
def test_common_tau2_pools_match_metafor(name):
    case = CATEGORICAL[name]
    effects, studies = frames(case)
    methods = sorted({c["tau2_method"] for c in case["common"]})
    out = pool_subgroups(
        effects,
        studies,
        ["g"],
        tau2_methods=methods,
        ci_methods=["wald", "hksj"],
        scopes=["common"],
        common=False,
    )
    for c in case["common"]:
        cm = "hksj" if c["test"] == "knha" else "wald"
        for sg in c["subgroups"]:
            row = out[
                (out.subgroup == str(sg["level"]))
                & (out.tau2_method == c["tau2_method"])
                & (out.ci_method == cm)
                & (out.tau2_scope == "common")
            ]
            assert len(row) == 1
            row = row.iloc[0]
            rt = rtol(c["tau2_method"])
            np.testing.assert_allclose(row["tau2"], c["tau2"], rtol=rt, atol=1e-12)
            for ours, theirs in [
                ("estimate", "estimate"),
                ("se", "se"),
                ("ci_low", "ci_lb"),
                ("ci_high", "ci_ub"),
                ("p", "pval"),
                ("Q", "QE"),
                ("Q_p", "QEp"),
                ("I2", "I2"),
                ("H2", "H2"),
            ]:
                np.testing.assert_allclose(
                    row[ours],
                    sg[theirs],
                    rtol=rt,
                    atol=1e-12,
                    err_msg=f"{name} {c['tau2_method']} {cm} {ours}",
                )
            if sg["k"] >= 3:
                np.testing.assert_allclose(row["pi_low"], sg["pi_lb"], rtol=rt, atol=1e-12)
                np.testing.assert_allclose(row["pi_high"], sg["pi_ub"], rtol=rt, atol=1e-12)
            else:
                assert math.isnan(row["pi_low"])


@pytest.mark.parametrize("name", sorted(CATEGORICAL))
def test_separate_tau2_pools_match_metafor(name):
    case = CATEGORICAL[name]
    effects, studies = frames(case)
    out = pool_subgroups(
        effects,
        studies,
        ["g"],
        tau2_methods=["REML", "DL"],
        ci_methods=["wald"],
        scopes=["separate"],
        common=True,
    )
    assert list(out.columns[: len(POOLED_COLUMNS)]) == POOLED_COLUMNS
    for sep in case["separate"]:
        m = sep["tau2_method"]
        if m not in ("REML", "DL"):
            continue
        for lev, est, se, t2 in zip(sep["levels"], sep["estimate"], sep["se"], sep["tau2"]):
            row = out[
                (out.subgroup == str(lev))
                & (out.tau2_method == m)
                & (out.model != "common")
                & (out.tau2_scope == "separate")
            ].iloc[0]
            np.testing.assert_allclose(row["estimate"], est, rtol=rtol(m))
            np.testing.assert_allclose(row["se"], se, rtol=rtol(m))
            np.testing.assert_allclose(row["tau2"], t2, rtol=rtol(m), atol=1e-12)
    common_rows = out[out.model == "common"]
    assert set(common_rows.subgroup) == {str(x) for x in case["g"]}
    assert (common_rows.tau2 == 0).all()


# --------------------------------------------------------------------------
# membership rules
# --------------------------------------------------------------------------
POPS = {"level": ["cervical", "thoracolumbar"], "phase": ["acute", "subacute", "chronic"]}


def toy():
    """Five studies: homogeneous, split-reporting, mixed, and two reports of one cohort."""
    studies = pd.DataFrame(
        {
            "study_id": ["a", "b", "c", "d1", "d2"],
            "cohort_id": ["", "", "", "D", "D"],
            "level": ["cervical", "mixed", "mixed", "thoracolumbar", "thoracolumbar"],
            "phase": ["chronic", "mixed", "", "acute", "acute"],
        }
    )
    rows = [
        ("a", "all", 1.0, 0.1, 10, 10),
        ("b", "all", 2.0, 0.1, 20, 20),
        ("b", "cervical", 1.5, 0.2, 8, 8),
        ("b", "thoracolumbar", 2.5, 0.2, 12, 12),
        ("b", "subacute", 2.2, 0.3, 5, 5),
        ("c", "all", 3.0, 0.2, 15, 15),
        ("d1", "all", 0.5, 0.3, 6, 6),
        ("d2", "all", 0.7, 0.2, 9, 9),
    ]
    eff = pd.DataFrame(rows, columns=["study_id", "population", "yi", "vi", "n1", "n2"])
    eff["cohort_id"] = eff["study_id"].map(dict(zip(studies.study_id, studies.cohort_id)))
    eff["outcome"], eff["comparison"], eff["measure"] = "asia_motor", "between_arms", "MD"
    return eff, studies


def test_assign_level_rules():
    eff, studies = toy()
    a = assign_subgroups(eff, studies, "level", POPS)
    assert list(a.columns) == ASSIGNMENT_COLUMNS
    inc = a[a.included]
    got = sorted(zip(inc.study_id, inc.population, inc.subgroup, inc.in_test))
    assert got == [
        ("a", "all", "cervical", True),  # homogeneous study -> overall row
        ("b", "cervical", "cervical", True),  # split reported -> split rows
        ("b", "thoracolumbar", "thoracolumbar", True),
        ("c", "all", MIXED, False),  # mixed, no split -> shown, not tested
        ("d2", "all", "thoracolumbar", True),  # cohort D: larger n wins
    ]
    reasons = dict(zip(zip(a.study_id, a.population), a.reason))
    assert "reports its level split" in reasons[("b", "all")]
    assert "belongs to variable 'phase'" in reasons[("b", "subacute")]
    assert "cohort D enters through study d2" in reasons[("d1", "all")]
    # each cohort at most once per pool
    for _, g in inc.groupby("subgroup"):
        assert not g.cohort_id.duplicated().any()


def test_assign_phase_and_overall():
    eff, studies = toy()
    ph = assign_subgroups(eff, studies, "phase", POPS)
    inc = ph[ph.included].set_index(["study_id", "population"])
    assert inc.loc[("a", "all"), "subgroup"] == "chronic"
    assert inc.loc[("b", "subacute"), "subgroup"] == "subacute"  # only part of b is split
    assert inc.loc[("c", "all"), "subgroup"] == MIXED  # empty phase -> not reported
    assert "not reported" in inc.loc[("c", "all"), "reason"]
    ov = assign_subgroups(eff, studies, "overall", POPS)
    inc = ov[ov.included]
    assert sorted(inc.study_id) == ["a", "b", "c", "d2"]
    assert set(inc.population) == {"all"}


def test_overall_combines_split_when_no_overall_row():
    eff, studies = toy()
    eff = eff[~((eff.study_id == "b") & (eff.population.isin(["all", "subacute"])))]
    ov = assign_subgroups(eff, studies, "overall", POPS)
    row = ov[ov.included & (ov.study_id == "b")].iloc[0]
    w = np.array([1 / 0.2, 1 / 0.2])
    assert row["population"] == "combined:cervical+thoracolumbar"
    np.testing.assert_allclose(row["yi"], (1.5 * w[0] + 2.5 * w[1]) / w.sum(), rtol=1e-15)
    np.testing.assert_allclose(row["vi"], 1 / w.sum(), rtol=1e-15)
    assert row["n"] == 40 and row["effect_row"] == -1


def test_unknown_variable_is_an_error():
    eff, studies = toy()
    with pytest.raises(ValueError, match="'route' is neither a column"):
        assign_subgroups(eff, studies, "route", POPS)


def test_bad_vi_names_study_and_column():
    eff, studies = toy()
    eff.loc[2, "vi"] = 0.0
    # the one yi/vi check of the library (scimeta.pool.check_yi_vi)
    with pytest.raises(ValueError, match=r"study 'b': vi = 0\.0; sampling variances must be > 0"):
        assign_subgroups(eff, studies, "level", POPS)


def test_small_k_guardrails_and_mixed_group():
    eff, studies = toy()
    pooled = pool_subgroups(
        eff,
        studies,
        ["level"],
        POPS,
        tau2_methods=["REML", "DL"],
        ci_methods=["hksj", "wald"],
        level=0.95,
        pi_min_k=3,
    )
    assert list(pooled.columns[: len(POOLED_COLUMNS)]) == POOLED_COLUMNS
    mixed = pooled[pooled.subgroup == MIXED]
    assert len(mixed) and not mixed.in_test.any()
    assert mixed.note.str.contains("left out of the tests").all()
    # k = 1 subgroups, separate tau^2: the pooling module's single study under every model
    # and CI method: its own effect and Wald CI, with the note
    k1 = pooled[(pooled.k == 1) & (pooled.tau2_scope == "separate")]
    assert len(k1) and set(k1.model) == {"common", "random"}
    assert k1.note.str.contains(SINGLE_STUDY_NOTE, regex=False).all()
    vi = eff.set_index("study_id").loc[k1.studies, "vi"].to_numpy()
    np.testing.assert_allclose(k1.se, np.sqrt(vi), rtol=1e-15)
    np.testing.assert_allclose(k1.ci_high - k1.ci_low, 2 * 1.959963984540054 * np.sqrt(vi),
                               rtol=1e-12)
    # under the common tau^2 the mixed-effects model estimates them: se^2 = vi + tau^2
    k1c = pooled[(pooled.k == 1) & (pooled.tau2_scope == "common")]
    assert len(k1c) and (k1c.model == "random").all()
    np.testing.assert_allclose(k1c.se**2, k1c.estimate * 0 + eff.set_index("study_id").loc[
        k1c.studies, "vi"].to_numpy() + k1c.tau2.to_numpy(), rtol=1e-12)
    c = pooled[
        (pooled.subgroup == "cervical")
        & (pooled.tau2_scope == "separate")
        & (pooled.model == "random")
    ]
    # k = 2 for cervical: pooled, but no prediction interval
    assert (c.k == 2).all() and c.pi_low.isna().all()
    tests = subgroup_tests(
        eff,
        studies,
        ["level"],
        POPS,
        tau2_methods=["REML"],
        ci_methods=["wald"],
        n_perm=100,
        seed=1,
    )
    sep = tests[tests.method == "separate_tau2"].iloc[0]
    assert sep.k_groups == 2 and sep.df == 1 and np.isfinite(sep.Q_between)
    assert "left out of the test" in sep.note
    mod = tests[tests.method == "moderator_model"].iloc[0]
    assert mod.k == 4 and np.isfinite(mod.Q_between)  # c (mixed) and d1 (cohort) not tested


def test_fewer_than_two_groups_is_a_note_not_an_error():
    eff, studies = toy()
    studies = studies.assign(level="cervical")
    eff = eff[eff.population == "all"]
    tests = subgroup_tests(
        eff,
        studies,
        ["level"],
        POPS,
        tau2_methods=["REML"],
        ci_methods=["wald", "hksj"],
        n_perm=10,
        seed=1,
    )
    assert len(tests) == 3  # separate_tau2 (one row: the test has no CI method) + 2 moderator rows
    assert tests.Q_between.isna().all()
    assert tests.note.str.contains("fewer than 2 subgroups").all()


def test_no_residual_df_is_a_note():
    eff, studies = toy()
    eff = eff[eff.study_id.isin(["a", "d2"])]
    tests = subgroup_tests(
        eff, studies, ["level"], POPS, tau2_methods=["REML"], ci_methods=["wald"], n_perm=0
    )
    mod = tests[tests.method == "moderator_model"].iloc[0]
    assert math.isnan(mod.Q_between) and "no residual degrees of freedom" in mod.note
    sep = tests[tests.method == "separate_tau2"].iloc[0]
    # two single-study subgroups: Q-between is the Wald test of their difference
    y, v = np.array([1.0, 0.7]), np.array([0.1, 0.2])
    np.testing.assert_allclose(sep.Q_between, (y[0] - y[1]) ** 2 / v.sum(), rtol=1e-12)


def test_exact_permutation_count():
    assert exact_permutation_count(["a"] * 7 + ["b"] * 4) == 330
    assert exact_permutation_count(list("aab")) == 3


FAULTS = load_reference("faults")["one_study_subgroup"]


@pytest.mark.parametrize("fit", FAULTS["common"], ids=lambda f: f["tau2_method"])
def test_one_study_subgroup_under_common_tau2_is_the_mixed_effects_model(fit):
    """metafor ``rma(yi, vi, mods = ~ factor(g) - 1)``: a one-study subgroup's estimate has
    standard error sqrt(vi + tau^2), not the study's own."""
    effects, studies = frames(FAULTS)
    pooled = pool_subgroups(effects, studies, ["g"], tau2_methods=[fit["tau2_method"]],
                            ci_methods=["wald"], common=False)
    common = pooled[pooled.tau2_scope == "common"].set_index("subgroup")
    tol = rtol(fit["tau2_method"])
    for i, level in enumerate(fit["levels"]):
        row = common.loc[level]
        np.testing.assert_allclose(row["tau2"], fit["tau2"], rtol=tol)
        np.testing.assert_allclose(row["estimate"], fit["estimate"][i], rtol=tol)
        np.testing.assert_allclose(row["se"], fit["se"][i], rtol=tol)
        np.testing.assert_allclose(row["ci_low"], fit["ci_lb"][i], rtol=tol)
        np.testing.assert_allclose(row["ci_high"], fit["ci_ub"][i], rtol=tol)
        np.testing.assert_allclose(row["p"], fit["pval"][i], rtol=tol)
    alone = common.loc["alternate"]
    assert alone["k"] == 1 and alone["model"] == "random"
    vi = FAULTS["vi"][FAULTS["g"].index("alternate")]
    assert alone["se"] > math.sqrt(vi)  # not the study's own standard error


def test_subgroup_test_rows_are_distinct_and_name_their_statistic():
    case = CATEGORICAL["bcg_alloc"]
    effects, studies = frames(case)
    out = subgroup_tests(effects, studies, ["g"], tau2_methods=["REML", "DL"],
                         ci_methods=["hksj", "wald"], n_perm=0)
    key = ["outcome", "comparison", "measure", "subgroup_var", "method", "tau2_method",
           "ci_method"]
    assert not out.duplicated(key).any()
    numbers = ["Q_between", "df", "p", "F", "df2"]
    assert not out.drop(columns=["note"]).duplicated(
        [c for c in out.columns if c in numbers + ["method", "tau2_method"]]).any()
    assert set(out["statistic"]) == {"Q_between", "F"}
    f_rows = out[out["statistic"] == "F"]
    assert (f_rows["method"] == "moderator_model").all() and (f_rows["ci_method"] == "hksj").all()
    assert f_rows["Q_between"].isna().all() and f_rows["F"].notna().all()
    q_rows = out[out["statistic"] == "Q_between"]
    assert q_rows["Q_between"].notna().all() and q_rows["F"].isna().all()
