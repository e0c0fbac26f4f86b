"""Summary of findings and the draft GRADE rules, each with a crafted case."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _reference import RTOL_CLOSED, RTOL_ITERATIVE, load_reference
from _settings import config as validated_config
from _settings import outcome

from scimeta import grade
from scimeta.pool import pool

REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- weights
@pytest.mark.parametrize("case", load_reference("journal")["cases"],
                         ids=lambda c: f"{c['name']}-{c['method']}")
def test_pool_weights_match_metafor(case):
    yi, vi = np.array(case["yi"]), np.array(case["vi"])
    ids = [f"s{i}" for i in range(len(yi))]
    fit = pool(yi, vi, model="common" if case["method"] == "EE" else "random",
               tau2_method=case["method"], ci_method="wald")
    effects = pd.DataFrame({"study_id": ids, "outcome": "o", "comparison": "pre_post",
                            "measure": "MC", "population": "all", "yi": yi, "vi": vi})
    row = {"outcome": "o", "comparison": "pre_post", "measure": "MC", "studies": ";".join(ids),
           "model": "common" if case["method"] == "EE" else "random", "tau2": fit.tau2}
    rtol = RTOL_ITERATIVE if case["method"] == "REML" else RTOL_CLOSED
    np.testing.assert_allclose(fit.tau2, case["tau2"], rtol=rtol, atol=1e-12)
    weights = grade.pool_weights(effects, row)
    assert list(weights) == ids
    np.testing.assert_allclose([100 * weights[s] for s in ids], case["weights_pct"], rtol=rtol)


# --------------------------------------------------------------------------- rules
def test_start_certainty():
    assert grade.start_certainty("between_arms", ["rct", "rct"])[0] == "high"
    level, why = grade.start_certainty("between_arms", ["rct", "controlled"])
    assert level == "low" and "non-randomised controlled study" in why
    assert grade.start_certainty("between_arms", ["single_arm"])[0] == "low"
    level, why = grade.start_certainty("pre_post", ["rct"])
    assert level == "low" and "single-arm before/after" in why


def _overall(**levels):
    return pd.DataFrame({"study_id": list(levels), "overall_common": list(levels.values())})


@pytest.mark.parametrize("weights, levels, expected, share", [
    ({"a": 0.8, "b": 0.2}, {"a": "low", "b": "high"}, 0, "20%"),
    ({"a": 0.7, "b": 0.3}, {"a": "low", "b": "high"}, 1, "30%"),
    ({"a": 0.75, "b": 0.25}, {"a": "low", "b": "high"}, 1, "25%"),  # boundary: serious
    ({"a": 0.2, "b": 0.8}, {"a": "some concerns", "b": "high"}, 2, "80%"),
    # some concerns count: half the weight with concerns is serious, less is not
    ({"a": 0.5, "b": 0.5}, {"a": "some concerns", "b": "some concerns"}, 1, "0%"),
    ({"a": 0.5, "b": 0.5}, {"a": "some concerns", "b": "low"}, 1, "0%"),
    ({"a": 0.4, "b": 0.6}, {"a": "some concerns", "b": "low"}, 0, "0%"),
    ({"a": 0.3, "b": 0.1, "c": 0.6}, {"a": "some concerns", "b": "high", "c": "low"}, 0, "10%"),
    ({"a": 0.4, "b": 0.1, "c": 0.5}, {"a": "some concerns", "b": "high", "c": "low"}, 1, "10%"),
])
def test_risk_of_bias_share_of_weight(weights, levels, expected, share):
    level, why = grade.risk_of_bias_rule(weights, _overall(**levels))
    assert level == expected
    assert why.startswith(f"{share} of the weight from studies at high risk of bias")


def test_risk_of_bias_not_assessed_is_said():
    assert grade.risk_of_bias_rule({"a": 1.0}, None) == (
        0, "not assessed: the review has no risk-of-bias assessments")
    level, why = grade.risk_of_bias_rule({"a": 0.6, "b": 0.4}, _overall(a="low"))
    assert level == 0 and "not assessed: b (40% of the weight)" in why


@pytest.mark.parametrize("k, i2, ci, pi, expected, text", [
    (1, float("nan"), (1, 2), (math.nan, math.nan), 0, "not applicable: a single study"),
    (4, 20.0, (1, 3), (0.5, 3.5), 0, "excludes no effect"),
    (4, 55.0, (1, 3), (0.5, 3.5), 1, "I² = 55%"),
    (4, 30.0, (1, 3), (-0.5, 4.5), 1, "although the CI excludes it"),
    (4, 80.0, (-1, 3), (-4, 6), 2, "includes no effect"),
    (4, 80.0, (1, 3), (0.2, 3.8), 1, "I² = 80%"),  # considerable I², PI still excludes 0
    (2, 76.0, (1, 3), (math.nan, math.nan), 1, "no prediction interval"),
])
def test_inconsistency(k, i2, ci, pi, expected, text):
    level, why = grade.inconsistency_rule(k, i2, ci, pi)
    assert level == expected and text in why


def test_indirectness_from_config():
    # nothing declared: not assessed (no level), never "not serious" by default
    level, why = grade.indirectness_rule(outcome())
    assert level is None and why.startswith("not assessed")
    assert grade.indirectness_rule(outcome(indirectness="not serious"))[0] == 0
    assert grade.indirectness_rule(outcome(indirectness="serious",
                                           indirectness_reason="animal-derived cells")) == (
        1, "animal-derived cells")
    assert grade.indirectness_rule(outcome(indirectness="very serious",
                                           indirectness_reason="surrogate"))[0] == 2
    with pytest.raises(KeyError):  # the default is the schema's, never guessed here
        grade.indirectness_rule({})


def test_indirectness_of_an_uncontrolled_change():
    """A change from baseline without a control: one level more than declared, at most two."""
    level, why = grade.indirectness_rule(outcome(), "pre_post")
    assert level == 1 and why.startswith("uncontrolled before/after estimate")
    assert "not assessed" in why
    assert grade.indirectness_rule(outcome(indirectness="not serious"), "pre_post")[0] == 1
    assert grade.indirectness_rule(outcome(indirectness="serious", indirectness_reason="x"),
                                   "pre_post")[0] == 2
    assert grade.indirectness_rule(outcome(indirectness="very serious",
                                           indirectness_reason="x"), "pre_post")[0] == 2


def test_optimal_information_size_formula():
    """Two arms of equal size, alpha 0.05 two-sided, power 0.8: N = 4 (z + z)^2 SD^2 / MID^2
    (SD 10, MID 5: 2 * 7.85 * 100 / 25 = 62.8, so 63 per arm)."""
    z = 1.959963984540054 + 0.8416212335729143
    ois = grade.optimal_information_size(10, 5)
    assert ois == pytest.approx(4 * z * z * 100 / 25, rel=1e-12)
    assert math.ceil(ois / 2) == 63


@pytest.mark.parametrize("ci, mid, n, ois, expected, text", [
    ((1.0, 3.0), None, 100, math.nan, 0, "no minimal important difference declared"),
    ((-1.0, 3.0), None, 100, math.nan, 1, "includes no effect"),
    ((1.0, 3.0), 2.0, 100, math.nan, 1, "crosses the minimal important difference (2.00)"),
    ((2.5, 4.0), 2.0, 100, math.nan, 0, "does not cross the minimal important difference"),
    ((-3.0, 4.0), 2.0, 100, math.nan, 2, "both an important benefit and an important harm"),
    ((-1.0, 1.5), 2.0, 100, math.nan, 1, "includes no effect"),
    ((2.5, 4.0), 2.0, 50, 126.0, 1,
     "50 participants, fewer than the optimal information size of 126"),
    ((-1.0, 1.5), 2.0, 50, 126.0, 2, "optimal information size"),
    ((2.5, 4.0), 2.0, 200, 126.0, 0, "optimal information size of 126 met"),
])
def test_imprecision(ci, mid, n, ois, expected, text):
    level, why = grade.imprecision_rule(ci, mid=mid, n=n, ois=ois)
    assert level == expected and text in why, why


def test_imprecision_of_a_single_study():
    """One study is at least serious, even when its CI excludes no effect and the MID."""
    level, why = grade.imprecision_rule((1.0, 3.0), k=1)
    assert level == 1 and "a single study" in why
    assert grade.imprecision_rule((2.5, 4.0), k=1, mid=2.0, n=500, ois=126.0)[0] == 1
    assert grade.imprecision_rule((2.5, 4.0), k=1, mid=2.0, n=50, ois=126.0)[0] == 2
    assert grade.imprecision_rule((2.5, 4.0), k=2, mid=2.0, n=500, ois=126.0)[0] == 0
    assert grade.imprecision_rule((math.nan, math.nan), k=1)[0] == 1


def test_imprecision_follows_direction_of_benefit():
    # lower is better: the important benefit is at -MID
    assert grade.imprecision_rule((-3.0, -1.0), mid=2.0, higher_is_better=False)[0] == 1
    assert grade.imprecision_rule((-4.0, -2.5), mid=2.0, higher_is_better=False)[0] == 0


def test_publication_bias_only_from_ten_studies():
    bias = pd.DataFrame({"test": ["egger_rma", "begg"], "p": [0.04, 0.2]})
    level, why = grade.publication_bias_rule(9, bias)
    assert level == 0 and why == ("not assessed: with 9 studies (fewer than 10) neither a "
                                  "funnel plot nor a test of small-study effects can detect "
                                  "publication bias")
    level, why = grade.publication_bias_rule(12, bias)
    assert level == 1 and why.startswith("Egger's test p = 0.040 (k = 12)")
    assert grade.publication_bias_rule(12, bias.assign(p=[0.3, 0.2]))[0] == 0
    assert grade.publication_bias_rule(12, None)[1] == "not assessed: no result of Egger's test"


@pytest.mark.parametrize("start, downgrades, expected", [
    ("high", 0, "high"), ("high", 1, "moderate"), ("high", 2, "low"), ("high", 3, "very low"),
    ("high", 5, "very low"), ("low", 0, "low"), ("low", 1, "very low"), ("low", 3, "very low"),
])
def test_certainty(start, downgrades, expected):
    assert grade.certainty(start, downgrades) == expected


# --------------------------------------------------------------------------- the table
def _review(k=12, design="rct", mid=None, spread=0.0, declared=True):
    rng = np.random.default_rng(1)
    ids = [f"s{i:02d}" for i in range(k)]
    yi = 2.0 + spread * rng.standard_normal(k)
    sd = 10.0
    n = np.full(k, 30.0)
    vi = sd ** 2 * (1 / n + 1 / n)
    effects = pd.DataFrame({
        "study_id": ids, "outcome": "motor", "population": "all", "comparison": "between_arms",
        "measure": "MD", "yi": yi, "vi": vi, "n1": n, "n2": n, "sd1": sd, "sd2": sd,
        "r": np.nan, "design": design})
    fit = pool(yi, vi, tau2_method="REML", ci_method="hksj")
    row = fit.to_dict()
    row.update(outcome="motor", comparison="between_arms", measure="MD", subgroup_var="overall",
               subgroup="all", model="random", tau2_method="REML", ci_method="hksj",
               primary=True, k=k, n=float(n.sum() * 2), studies=";".join(ids), note="")
    pooled = pd.DataFrame([row])
    studies = pd.DataFrame({"study_id": ids, "design": design})
    oc = {"label": "Motor score", "higher_is_better": True, "timepoint": 12, "unit": "points",
          "between_arms": ["MD"], "pre_post": ["MC"], "indirectness": "not serious",
          "indirectness_reason": ""}
    if mid is not None:
        oc["mid"] = mid
    if not declared:
        del oc["indirectness"], oc["indirectness_reason"]
    config = validated_config(outcomes={"motor": oc, "empty": dict(oc, label="E")})
    return pooled, effects, studies, config, fit


def test_summary_of_findings_row_from_crafted_analysis():
    pooled, effects, studies, config, fit = _review()
    bias = pd.DataFrame({"outcome": "motor", "comparison": "between_arms", "measure": "MD",
                         "tau2_method": "REML", "test": ["egger_rma"], "p": [0.02]})
    rob = pd.DataFrame({"study_id": studies["study_id"],
                        "overall_common": ["high"] * 4 + ["low"] * 8})
    sof = grade.summary_of_findings(pooled, effects, studies, config, bias=bias, rob_overall=rob)
    assert list(sof.columns) == grade.SOF_COLUMNS
    row = sof.iloc[0]
    assert (row["k"], row["n"], row["start"]) == (12, 720.0, "high")
    assert row["estimate"] == fit.estimate and row["ci_low"] == fit.ci_low
    assert row["risk_of_bias"] == "serious" and row["risk_of_bias_reason"].startswith("33%")
    assert row["publication_bias"] == "suspected"
    assert row["imprecision"] == "not serious"
    assert row["certainty"] == "low" and row["downgrades"] == 2
    assert row["status"] == grade.DRAFT_LABEL
    assert row["effect"].startswith("MD 2.00 points (95% CI ")
    # an outcome without effect sizes keeps its row, with the reason
    empty = sof[sof["outcome"] == "empty"].iloc[0]
    assert empty["note"].startswith("no effect size") and empty["status"] == grade.DRAFT_LABEL


def test_summary_of_findings_mid_and_ois():
    pooled, effects, studies, config, _ = _review(k=2, mid=4.0, declared=False)
    sof = grade.summary_of_findings(pooled, effects, studies, config)
    row = sof[sof["outcome"] == "motor"].iloc[0]
    ois = grade.optimal_information_size(10.0, 4.0)
    assert f"optimal information size of {math.ceil(ois)}" in row["imprecision_reason"]
    assert row["n"] == 120.0 < ois
    assert row["publication_bias_reason"].startswith("not assessed: with 2 studies (fewer than")
    assert row["risk_of_bias_reason"] == ("not assessed: the review has no risk-of-bias "
                                          "assessments")
    assert row["indirectness"] == "not assessed"  # nothing declared
    assert row["indirectness_reason"].startswith("not assessed: the review team has not judged")


def test_summary_of_findings_of_the_example_review(tmp_path):
    """On the example's tables: starts, and the series-weighted risk of bias."""
    effects = pd.DataFrame({
        "study_id": ["akhlaghpasand2025", "oraeeyazdani2021", "shin2015"], "outcome": "asia_motor",
        "population": "all", "comparison": "pre_post", "measure": "MC",
        "yi": [2.5999999999999943, 3.460000000000001, 7.899999999999999],
        "vi": [2.561415094339622, 24.119672727272725, 1.4399999999999995],
        "n1": [106.0, 11.0, 17.0], "n2": [106.0, 11.0, 17.0], "sd1": np.nan, "sd2": np.nan,
        "r": np.nan})
    ref = [c for c in load_reference("journal")["cases"]
           if c["name"] == "example_asia_motor_mc" and c["method"] == "REML"][0]
    fit = pool(effects["yi"].to_numpy(), effects["vi"].to_numpy(), tau2_method="REML",
               ci_method="hksj")
    row = fit.to_dict()
    row.update(outcome="asia_motor", comparison="pre_post", measure="MC", subgroup_var="overall",
               model="random", tau2_method="REML", ci_method="hksj", primary=True, k=3, n=134.0,
               studies=";".join(effects["study_id"]), note="")
    studies = pd.DataFrame({"study_id": effects["study_id"],
                            "design": ["single_arm", "single_arm", "controlled"]})
    rob = pd.DataFrame({"study_id": effects["study_id"],
                        "overall_common": ["some concerns", "high", "high"]})
    config = validated_config(outcomes={"asia_motor": {"label": "ASIA motor",
                                                       "higher_is_better": True,
                                                       "timepoint": 12, "pre_post": ["MC"]}})
    sof = grade.summary_of_findings(pd.DataFrame([row]), effects, studies, config,
                                    rob_overall=rob).iloc[0]
    high_share = sum(ref["weights_pct"][1:]) / 100
    assert sof["risk_of_bias_reason"].startswith(f"{100 * high_share:.0f}% of the weight")
    assert sof["start"] == "low" and sof["imprecision"] == "serious"  # CI includes 0
    assert sof["indirectness"] == "serious"  # an uncontrolled change from baseline
    assert sof["note"].startswith(grade.UNCONTROLLED)
    assert sof["certainty"] == "very low"


def test_summary_of_findings_notes_are_for_readers_not_the_engine():
    """The pool's own note (engine wording: "tau2 CI upper bound is the search limit …") stays
    in pooled.csv; the summary of findings says only what changes how the interval reads:
    the ad hoc floor of the Hartung–Knapp factor, in words."""
    from scimeta.pool import ADHOC_FLOOR_TEXT

    effects = pd.DataFrame({
        "study_id": ["a", "b", "c"], "outcome": "o", "population": "all",
        "comparison": "between_arms", "measure": "MD", "yi": [1.0, 1.1, 0.9],
        "vi": [0.5, 0.4, 0.6], "n1": 20.0, "n2": 20.0, "sd1": np.nan, "sd2": np.nan,
        "r": np.nan})
    fit = pool(effects["yi"].to_numpy(), effects["vi"].to_numpy(), tau2_method="REML",
               ci_method="hksj_adhoc")
    row = fit.to_dict()
    row.update(outcome="o", comparison="between_arms", measure="MD", subgroup_var="overall",
               model="random", tau2_method="REML", ci_method="hksj_adhoc", primary=True, k=3,
               n=120.0, studies="a;b;c",
               note="tau2 CI upper bound is the search limit 100.0 (true bound is larger)")
    assert row["hk_factor"] < 1  # homogeneous: the floor applies
    studies = pd.DataFrame({"study_id": ["a", "b", "c"], "design": "rct"})
    config = validated_config(outcomes={"o": {"label": "O", "higher_is_better": True,
                                              "timepoint": 12, "between_arms": ["MD"]}})
    sof = grade.summary_of_findings(pd.DataFrame([row]), effects, studies, config).iloc[0]
    assert "search limit" not in sof["note"] and "tau2" not in sof["note"]
    assert sof["note"] == ADHOC_FLOOR_TEXT.replace("Hartung-Knapp", "Hartung–Knapp")
    row.update(hk_factor=1.5)
    sof = grade.summary_of_findings(pd.DataFrame([row]), effects, studies, config).iloc[0]
    assert sof["note"] == ""


def test_summary_of_findings_single_study_is_imprecise():
    """A randomised single study whose CI excludes no effect: imprecision serious, moderate."""
    pooled, effects, studies, config, _ = _review(k=1)
    row = grade.summary_of_findings(pooled, effects, studies, config).iloc[0]
    assert row["k"] == 1 and row["start"] == "high"
    assert row["imprecision"] == "serious" and "a single study" in row["imprecision_reason"]
    assert row["certainty"] == "moderate"


def test_reasons_are_words_for_readers():
    """No config keys, code names or snake_case in any reason a footnote shows."""
    pooled, effects, studies, config, _ = _review(k=3, design="controlled", declared=False)
    row = grade.summary_of_findings(pooled, effects, studies, config).iloc[0]
    for col in [c for c in grade.SOF_COLUMNS if c.endswith("_reason")]:
        text = row[col]
        assert "`" not in text and "config" not in text, text
        assert not any("_" in word for word in text.split()), text


def test_summary_of_findings_does_not_depend_on_row_order():
    pooled, effects, studies, config, _ = _review(k=12, spread=1.0)
    rob = pd.DataFrame({"study_id": studies["study_id"],
                        "overall_common": ["high"] * 5 + ["low"] * 7})
    one = grade.summary_of_findings(pooled, effects, studies, config, rob_overall=rob)
    perm = np.random.default_rng(3).permutation(len(effects))
    two = grade.summary_of_findings(pooled, effects.iloc[perm], studies.iloc[perm[::-1]],
                                    config, rob_overall=rob.iloc[perm])
    pd.testing.assert_frame_equal(one, two)
