"""Designs are a decision (``analysis.designs``): randomised and non-randomised evidence are
pooled apart unless the config says otherwise, by one rule
(:func:`scimeta.membership.design_stratum`) that every consumer reads."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.patches import Polygon
from matplotlib.text import Text

from scimeta import stages
from scimeta.figures import draw_figure
from scimeta.grade import summary_of_findings
from scimeta.io import read_review
from scimeta.membership import ALL_DESIGNS, design_stratum, membership_table
from scimeta.methods import designs_text
from scimeta.workflow import planned_figures

REPO = Path(__file__).resolve().parents[1]
RANDOMISED = {"rct"}


def _review(**designs):
    review = read_review(REPO)
    if designs:
        analysis = {**review.config["analysis"],
                    "designs": {**review.config["analysis"]["designs"], **designs}}
        review = dataclasses.replace(review, config={**review.config, "analysis": analysis})
    return review


def _run(review) -> dict:
    """Every table of pools of the review (all outcomes), as the stages make them."""
    config = review.config
    arms, excluded = stages.arms(review)
    effects, _ = stages.effect_sizes(review, arms, excluded)
    tables = stages.pools(effects, review.studies, analysis=config["analysis"],
                          subgroups=config["subgroups"], populations=config["populations"],
                          permutations=0, seed=config["seed"])
    tables.update(stages.bias(effects, tables["membership"], analysis=config["analysis"]))
    tables["sensitivity"] = stages.sensitivity(
        effects, tables["membership"], analysis=config["analysis"],
        r_grid=config["sensitivity"]["r_grid"], prepost_method=config["prepost_method"])
    tables["metareg"] = stages.metareg(effects, review.studies, tables["membership"],
                                       analysis=config["analysis"], moderators=["year"],
                                       permutations=0, seed=1)
    tables["effects"] = effects
    return tables


@pytest.fixture(scope="module")
def example():
    review = _review()
    return review, _run(review)


@pytest.fixture(scope="module")
def across():
    review = _review(between_arms="pooled")
    return review, _run(review)


POOL_KEYS = ["outcome", "comparison", "measure", "design", "subgroup_var", "subgroup"]


def _pool_designs(pooled: pd.DataFrame, membership: pd.DataFrame,
                  studies: pd.DataFrame) -> pd.DataFrame:
    """Each pool of pooled.csv with the designs (studies.csv) of its members."""
    design_of = dict(zip(studies["study_id"], studies["design"]))
    members = membership[membership["included"]].assign(
        study_design=lambda m: m["study_id"].map(design_of))
    have = members.groupby(POOL_KEYS)["study_design"].agg(lambda d: frozenset(d))
    pools = pooled.drop_duplicates(POOL_KEYS)[POOL_KEYS]
    return pools.assign(designs=[have[tuple(r)] for r in pools.itertuples(index=False)])


def test_the_rule():
    separate = {"between_arms": "separate", "pre_post": "pooled"}
    assert design_stratum("rct", "between_arms", separate) == "rct"
    assert design_stratum("controlled", "between_arms", separate) == "controlled"
    assert design_stratum("rct", "pre_post", separate) == ALL_DESIGNS
    assert design_stratum("rct", "between_arms", None) == ALL_DESIGNS
    with pytest.raises(ValueError, match="needs each study's design"):
        design_stratum("", "between_arms", separate)
    effects = pd.DataFrame({"study_id": ["a"], "outcome": ["o"], "comparison": ["between_arms"],
                            "measure": ["MD"], "population": ["all"], "yi": [1.0],
                            "vi": [0.5]})
    with pytest.raises(ValueError, match="missing column design"):
        membership_table(effects, None, designs=separate)


def test_no_example_pool_mixes_randomised_with_non_randomised(example):
    review, t = example
    assert review.config["analysis"]["designs"]["between_arms"] == "separate"
    pools = _pool_designs(t["pooled"], t["membership"], review.studies)
    for pool in pools.itertuples(index=False):
        if pool.comparison == "between_arms":
            mixed = pool.designs & RANDOMISED and pool.designs - RANDOMISED
            assert not mixed, pool
            assert pool.design != ALL_DESIGNS and pool.designs == {pool.design}, pool
        else:  # before/after changes pool across designs (analysis.designs.pre_post)
            assert pool.design == ALL_DESIGNS, pool
    motor = t["pooled"][(t["pooled"]["outcome"] == "asia_motor")
                        & (t["pooled"]["comparison"] == "between_arms")
                        & (t["pooled"]["measure"] == "MD")
                        & (t["pooled"]["subgroup_var"] == "overall") & t["pooled"]["primary"]]
    assert dict(zip(motor["design"], motor["studies"])) == {"rct": "srivastava2019",
                                                             "controlled": "shin2015"}


def test_one_primary_row_per_pool(example):
    _, t = example
    pooled = t["pooled"]
    scope = pooled["tau2_scope"].fillna("separate") == "separate"
    primary = pooled[pooled["primary"].astype(bool) & scope]
    assert not primary.duplicated(POOL_KEYS).any()  # at most one per pool and stratum
    overall = pooled[pooled["subgroup_var"] == "overall"]
    assert len(primary[primary["subgroup_var"] == "overall"]) == len(
        overall.drop_duplicates(POOL_KEYS))  # exactly one per overall pool


def test_every_analysis_of_a_pool_stays_in_its_stratum(example):
    review, t = example
    design_of = dict(zip(review.studies["study_id"], review.studies["design"]))
    strata = set(t["membership"]["design"])
    for name in ("subgroup_tests", "bias", "leave1out", "influence", "sensitivity", "metareg"):
        assert set(t[name]["design"].dropna()) <= strata, name
    for name in ("leave1out", "influence"):
        for row in t[name].itertuples(index=False):
            if row.design != ALL_DESIGNS:
                assert design_of[row.study_id] == row.design, (name, row)
    # between arms the example has one study per design: no diagnostic of 3 or more studies
    assert (t["leave1out"]["comparison"] == "pre_post").all()


def test_pooling_across_designs_is_a_choice_the_config_makes(across):
    review, t = across
    pools = _pool_designs(t["pooled"], t["membership"], review.studies)
    assert set(pools["design"]) == {ALL_DESIGNS}
    motor = pools[(pools["outcome"] == "asia_motor") & (pools["comparison"] == "between_arms")
                  & (pools["measure"] == "MD") & (pools["subgroup_var"] == "overall")]
    assert list(motor["designs"]) == [frozenset({"rct", "controlled"})]
    assert "pooled together" in designs_text(review.config["analysis"]["designs"])
    assert "never across designs" in designs_text(_review().config["analysis"]["designs"])


def _forest(review, t, comparison, measure, layout):
    item = {"kind": "forest", "outcome": "asia_motor", "comparison": comparison,
            "measure": measure, "var": ""}
    return draw_figure(
        item, outcome="asia_motor", outcome_config=review.config["outcomes"]["asia_motor"],
        analysis=review.config["analysis"], layout=layout, effects=t["effects"],
        pooled=t["pooled"], subgroup_tests=t["subgroup_tests"], membership=t["membership"],
        sensitivity=t["sensitivity"], studies=review.studies,
        populations=review.config["populations"], max_forest_rows=100,
        figures=review.config["figures"])


@pytest.mark.parametrize("layout", ["revman", "compact"])
def test_the_forest_plot_shows_designs(example, across, layout):
    review, t = example
    res = _forest(review, t, "between_arms", "MD", layout)
    diamonds = sorted(a.get_gid() for a in res.figure.findobj(Polygon)
                      if (a.get_gid() or "").startswith("diamond-"))
    assert diamonds == ["diamond-subgroup-1", "diamond-subgroup-2"]  # one per design, no total
    texts = [a.get_text() for a in res.figure.findobj(Text)]
    assert "Design: randomised controlled trial" in texts
    assert "Design: non-randomised controlled study" in texts
    assert {"Design", "RCT", "Non-randomised"} <= set(texts)
    assert ("Designs pooled separately (analysis.designs.between_arms = separate)"
            in " ".join(res.meta["footer"]))  # the footer's lines, as wrapped
    studies = res.data[res.data["element"] == "study"]
    assert dict(zip(studies["study_id"], studies["design"])) == {
        "srivastava2019": "rct", "shin2015": "controlled"}

    prepost = _forest(review, t, "pre_post", "MC", layout)
    studies = prepost.data[prepost.data["element"] == "study"]
    assert set(studies["design"]) == {"single_arm", "controlled"}
    assert {"Single-arm", "Non-randomised"} <= {a.get_text() for a in
                                                  prepost.figure.findobj(Text)}
    assert "pooled together (analysis.designs.pre_post = pooled)" in " ".join(
        prepost.meta["footer"])

    review, t = across
    res = _forest(review, t, "between_arms", "MD", layout)
    assert [a.get_gid() for a in res.figure.findobj(Polygon)
            if (a.get_gid() or "").startswith("diamond-")] == ["diamond-overall"]
    assert "pooled together (analysis.designs.between_arms = pooled)" in " ".join(
        res.meta["footer"])


def test_summary_of_findings_rates_each_stratum(example):
    review, t = example
    sof = summary_of_findings(t["pooled"], t["effects"], review.studies, review.config)
    motor = sof[(sof["outcome"] == "asia_motor") & (sof["comparison"] == "between_arms")]
    assert list(motor["design"]) == ["rct", "controlled"]
    assert list(motor["designs"]) == ["rct", "controlled"]


def test_figures_of_one_pool_are_planned_from_one_stratum():
    def subgroup_forests(review):
        return {(f["outcome"], f["var"]) for f in planned_figures(review, review.config)
                if f["kind"] == "subgroup_forest" and f["comparison"] == "between_arms"}

    # between arms each design is one study: no subgroup forest compares across designs
    assert subgroup_forests(_review()) == set()
    assert ("asia_motor", "level") in subgroup_forests(_review(between_arms="pooled"))


def test_in_test_stays_true_or_false_beside_the_design_column(example, tmp_path):
    """pooled.csv's ``in_test`` (subgroup pools only) reads True/False, written and read back."""
    from scimeta.io import write_csv

    _, t = example
    write_csv(t["pooled"], tmp_path / "pooled.csv", table="pooled")
    written = pd.read_csv(tmp_path / "pooled.csv", dtype=str, keep_default_na=False)
    assert set(written["in_test"]) == {"true", "false", ""}  # scimeta.io.write_csv's booleans
    assert list(written.columns)[-1] == "design"
