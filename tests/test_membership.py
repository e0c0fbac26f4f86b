"""Who enters each pool, with how many patients: one decision, read by every consumer.

The decision (:mod:`scimeta.membership`): a before/after effect size counts
its follow-up n (``n1``), a between-arms one both arms; a study reporting
only subgroup rows enters the overall pool with them combined; a cohort
enters once. Each consumer -- pooled.csv, the subgroup pools, the r sweep,
meta-regression, the bias and influence tables and the figures -- must show
the same members and the same n.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scimeta.analysis import (
    bias_tables,
    metareg_table,
    pooled_table,
    r_sweep_table,
    subgroup_tables,
)
from scimeta.figures import draw_figure
from scimeta.membership import effect_patients, membership_table, pool_rows

from _settings import analysis, config, outcome

ANALYSIS = analysis(tau2=["REML", "DL"], ci=["hksj", "wald"])
POPULATIONS = {"level": ["cervical", "thoracolumbar"]}
#: follow-up n of each before/after study (its baseline n is 2 more)
FOLLOW_UP_N = {"a": 8, "b": 12, "c": 15, "d": 20, "e": 9}


def effects_and_studies() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Before/after MC rows: four whole-population studies, one study (``e``) with its
    level split only, and ``d2`` a second report of cohort ``d`` with fewer patients."""
    rows = []

    def add(sid, population, n1, yi, vi, cohort=None):
        rows.append(dict(
            study_id=sid, cohort_id=cohort or sid, label=f"{sid.upper()} 2020", outcome="o",
            population=population, design="single_arm", comparison="pre_post", measure="MC",
            timepoint=12, yi=yi, vi=vi, sei=np.sqrt(vi), ci_low=yi - 1.96 * np.sqrt(vi),
            ci_high=yi + 1.96 * np.sqrt(vi), n1=float(n1), mean1=10.0 + yi, sd1=3.0,
            n2=float(n1 + 2), mean2=10.0, sd2=3.0, r=0.5, r_source="assumed (config prepost_r)",
            effect_method="", source_rows="", note=""))

    for i, sid in enumerate("abcd"):
        add(sid, "all", FOLLOW_UP_N[sid], 1.0 + 0.4 * i, 0.3 + 0.1 * i)
    add("d2", "all", 10, 2.5, 0.6, cohort="d")
    add("e", "cervical", 4, 0.5, 0.8)
    add("e", "thoracolumbar", 5, 1.5, 0.7)
    effects = pd.DataFrame(rows)
    studies = pd.DataFrame({
        "study_id": ["a", "b", "c", "d", "d2", "e"],
        "cohort_id": ["", "", "", "d", "d", ""],
        "level": ["cervical", "thoracolumbar", "cervical", "thoracolumbar", "thoracolumbar",
                  "mixed"],
        "year": [2001, 2004, 2008, 2012, 2013, 2016],
    })
    return effects, studies


@pytest.fixture(scope="module")
def tables():
    effects, studies = effects_and_studies()
    membership = membership_table(effects, studies, ["level"], POPULATIONS,
                                  designs=ANALYSIS["designs"])
    by_group, tests, membership = subgroup_tables(
        effects, studies, analysis=ANALYSIS, subgroups=["level"], populations=POPULATIONS,
        permutations=0, seed=1, membership=membership)
    return dict(
        effects=effects, studies=studies, membership=membership,
        pooled=pd.concat([pooled_table(effects, ANALYSIS, membership), by_group],
                         ignore_index=True),
        subgroup_tests=tests,
        sensitivity=r_sweep_table(effects, r_grid=[0.3, 0.6], analysis=ANALYSIS,
                                  enabled=True, membership=membership),
        metareg=metareg_table(effects, studies, moderators=["year"], analysis=ANALYSIS,
                              membership=membership),
        **bias_tables(effects, ANALYSIS, membership),
    )


#: the overall pool: a, b, c, d (not d2: cohort d enters once, with its larger report), e combined
OVERALL = ["a", "b", "c", "d", "e"]
OVERALL_N = sum(FOLLOW_UP_N.values())


def test_a_before_after_row_counts_its_follow_up_patients():
    row = pd.Series({"comparison": "pre_post", "n1": 8.0, "n2": 10.0})
    assert effect_patients(row) == 8
    # study a of the crafted review is such a row: baseline 10, follow-up 8
    a = effects_and_studies()[0].iloc[0]
    assert (a["study_id"], a["n1"], a["n2"]) == ("a", 8.0, 10.0)
    assert effect_patients(pd.Series({"comparison": "between_arms", "n1": 8.0, "n2": 10.0})) == 18
    assert np.isnan(effect_patients(pd.Series({"comparison": "between_arms", "n1": 8.0,
                                               "n2": np.nan})))


def test_overall_membership(tables):
    m = tables["membership"]
    overall = m[(m["subgroup_var"] == "overall") & m["included"]]
    assert sorted(overall["study_id"]) == OVERALL
    combined = overall[overall["study_id"] == "e"].iloc[0]
    assert combined["effect_row"] == -1 and combined["n"] == FOLLOW_UP_N["e"]
    assert "d2" in set(m.loc[(m["subgroup_var"] == "overall") & ~m["included"], "study_id"])


def test_every_consumer_reads_the_same_members_and_patients(tables):
    pooled = tables["pooled"]
    overall = pooled[pooled["subgroup_var"] == "overall"]
    assert (overall["k"] == len(OVERALL)).all() and (overall["n"] == OVERALL_N).all()
    assert set(overall["studies"]) == {";".join(OVERALL)}
    assert "e: no overall row" in overall["note"].iloc[0]
    assert "d2 left out" in overall["note"].iloc[0]
    assert (tables["bias"]["k"] == len(OVERALL)).all()
    for name in ("leave1out", "influence"):
        for _, group in tables[name].groupby("tau2_method"):
            assert sorted(group["study_id"]) == OVERALL, name
    assert (tables["metareg"]["k"] == len(OVERALL)).all()
    assert (tables["sensitivity"]["k"] == len(OVERALL)).all()
    # subgroup pools: e's split rows, the homogeneous studies; n from the same decision
    sub = pooled[(pooled["subgroup_var"] == "level") & (pooled["tau2_scope"] == "separate")
                 & (pooled["model"] == "random")]
    n_by_level = sub.groupby("subgroup")["n"].first()
    assert n_by_level["cervical"] == FOLLOW_UP_N["a"] + FOLLOW_UP_N["c"] + 4
    assert n_by_level["thoracolumbar"] == FOLLOW_UP_N["b"] + FOLLOW_UP_N["d"] + 5
    # the tests for subgroup differences: the tested members of the same table
    m = tables["membership"]
    tested = m[(m["subgroup_var"] == "level") & m["included"] & m["in_test"]]
    tests = tables["subgroup_tests"]
    assert len(tests) and (tests["k"] == len(tested)).all()
    assert (tests["k_groups"] == tested["subgroup"].nunique()).all()
    assert (sub.groupby("subgroup")["k"].first() == tested.groupby("subgroup").size()).all()


def _draw(tables, **item):
    item = {"var": "", "comparison": "pre_post", "measure": "MC", **item}
    return draw_figure(item, outcome="o", outcome_config=outcome(label="O"), analysis=ANALYSIS,
                       layout="revman", populations=POPULATIONS, max_forest_rows=100,
                       figures=config()["figures"],
                       **{k: tables[k] for k in ("effects", "pooled", "subgroup_tests",
                                                 "membership", "sensitivity", "metareg", "bias",
                                                 "bias_filled", "studies")})


def test_the_forest_plot_shows_the_pool_and_its_patients(tables):
    fig = _draw(tables, kind="forest")
    studies = fig.data[fig.data["element"] == "study"]
    assert sorted(studies["study_id"]) == OVERALL
    total = fig.data[fig.data["element"] == "overall"].iloc[0]
    assert total["n1"] == OVERALL_N
    by_level = _draw(tables, kind="subgroup_forest", var="level")
    subtotals = by_level.data[by_level.data["element"] == "subtotal"].set_index("subgroup")
    sub = tables["pooled"][(tables["pooled"]["subgroup_var"] == "level")
                           & (tables["pooled"]["tau2_scope"] == "separate")]
    for level, row in subtotals.iterrows():
        assert row["n1"] == sub.loc[sub["subgroup"] == level, "n"].iloc[0]


def test_figures_draw_the_tables_without_refitting(tables, monkeypatch):
    def refit(*args, **kwargs):
        raise AssertionError("a figure refitted a model")

    for target in ("scimeta.bias.egger_rma", "scimeta.bias.trimfill", "scimeta.metareg.metareg",
                   "scimeta.pool.pool"):
        monkeypatch.setattr(target, refit)
    bias = tables["bias"]
    funnel = _draw(tables, kind="funnel")
    assert not funnel.meta.get("placeholder")
    egger = bias[(bias["test"] == "egger_rma") & (bias["tau2_method"] == "REML")].iloc[0]
    line = funnel.data[funnel.data["element"] == "egger"].set_index("label")["x"]
    assert line["intercept"] == egger["intercept"] and line["slope"] == egger["slope"]
    fill = bias[(bias["test"] == "trimfill_L0") & (bias["tau2_method"] == "REML")].iloc[0]
    filled = funnel.data[funnel.data["element"] == "filled"]
    assert fill["k0"] == 1 and len(filled) == 1
    imputed = tables["bias_filled"]
    imputed = imputed[(imputed["test"] == "trimfill_L0") & (imputed["tau2_method"] == "REML")]
    assert filled["x"].iloc[0] == imputed["yi"].iloc[0]
    bubble = _draw(tables, kind="bubble", var="year")
    assert not bubble.meta.get("placeholder")
    fit = tables["metareg"]
    fit = fit[(fit["tau2_method"] == "REML") & (fit["ci_method"] == "hksj")].set_index("term")
    line = bubble.data[bubble.data["element"] == "fit"]
    expected = fit.loc["intercept", "estimate"] + fit.loc["year", "estimate"] * line["x"]
    np.testing.assert_allclose(line["y"], expected, rtol=1e-12)
    assert (bubble.data["element"] == "study").sum() == len(OVERALL)


def test_pool_rows_reads_a_membership_table_read_back_from_csv(tables, tmp_path):
    path = tmp_path / "membership.csv"
    tables["membership"].to_csv(path, index=False)
    read = pd.read_csv(path)
    rows = pool_rows(tables["effects"], read, comparison="pre_post", measure="MC")
    assert sorted(rows["study_id"]) == OVERALL and rows["n"].sum() == OVERALL_N
