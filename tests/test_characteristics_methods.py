"""The characteristics-of-included-studies table and the methods and results text."""

from pathlib import Path

import numpy as np
import pandas as pd
from _settings import config as validated_config

from scimeta import characteristics, methods, rob
from scimeta.io import read_review

REPO = Path(__file__).resolve().parents[1]


def _effects():
    return pd.DataFrame({
        "study_id": ["s1", "s1", "s2", "s2", "s3"],
        "outcome": ["motor", "motor", "motor", "motor", "motor"],
        "population": ["all", "all", "all", "cervical", "all"],
        "comparison": ["pre_post", "pre_post", "between_arms", "between_arms", "between_arms"],
        "measure": ["MC", "SMCR", "MD", "MD", "MD"],
        "n1": [20.0, 20.0, 15.0, 5.0, np.nan], "n2": [20.0, 20.0, 14.0, 4.0, np.nan],
        "timepoint": 12.0,
        "r_source": ["assumed (config prepost_r)", "assumed (config prepost_r)", "", "", ""],
    })


def _config():
    oc = {"label": "Motor *score*", "higher_is_better": True, "timepoint": 12, "unit": "points",
          "between_arms": ["MD"], "pre_post": ["MC", "SMCR"]}
    return validated_config(outcomes={"motor": oc, "pain": dict(oc, label="Pain")},
                            analysis={"tau2": ["REML", "DL"], "ci": ["hksj", "wald"]},
                            subgroups=["level"], populations={"level": ["cervical", "thoracic"]})


def _studies():
    return pd.DataFrame({
        "study_id": ["s1", "s2", "s3", "s4"],
        "author": ["Kim <b>J</b> et al.", "Lee K", "", "Park P"],
        "year": [2020.0, 2019.0, 2018.0, 2017.0],
        "design": ["single_arm", "rct", "controlled", "single_arm"],
        "level": ["cervical", "mixed", "", ""], "phase": ["chronic", "", "", ""],
        "ais": ["A", "", "", ""], "intervention": ["MSC"] * 4, "route": ["intrathecal"] * 4,
        "n_enrolled": [22.0, np.nan, 31.0, 5.0], "followup_months": [12.0] * 4,
        "doi": ["10.1/x"] * 4,
    })


def test_studies_table_columns_and_values():
    outcomes = pd.DataFrame({"study_id": ["s1", "s1", "s2", "s3", "s4"],
                             "outcome": ["pain", "motor", "motor", "motor", "pain"]})
    overall = pd.DataFrame({"study_id": ["s1", "s2"], "tool": ["jbi_case_series", "rob2"],
                            "overall": ["low", "high"], "overall_common": ["low", "high"],
                            "reason": ["", ""]})
    table = characteristics.studies_table(_studies(), outcomes, _effects(), _config(),
                                          rob_overall=overall).set_index("study_id")
    assert list(table.reset_index().columns) == characteristics.STUDY_COLUMNS
    s1 = table.loc["s1"]
    assert s1["study"] == "Kim 2020" and s1["design"] == "single-arm case series"
    assert s1["population"] == "level cervical; phase chronic; AIS A"
    assert s1["n_enrolled"] == 22 and s1["n_analysed"] == 20  # one arm before/after
    assert s1["outcomes_reported"] == "Motor *score*; Pain"  # config order, by label
    assert s1["outcomes_analysed"] == "Motor *score*"
    assert s1["risk_of_bias"] == "low" and s1["risk_of_bias_tool"] == "jbi_case_series"
    assert table.loc["s2", "n_analysed"] == 29  # both arms of the whole-population row
    assert table.loc["s3", "study"] == "s3" and "without n" in table.loc["s3", "note"]
    assert table.loc["s4", "note"] == "no effect size analysed (see excluded.csv)"
    assert table.loc["s4", "risk_of_bias"] == "not assessed"


def test_studies_table_of_the_example_review():
    review = read_review(REPO)
    sheet = pd.read_csv(REPO / rob.ROB_CSV, dtype=str, keep_default_na=False)
    effects = pd.DataFrame(columns=["study_id", "outcome", "population", "comparison", "n1",
                                    "n2"])
    table = characteristics.studies_table(review.studies, review.outcomes, effects, review.config,
                                          rob_overall=rob.overall_judgements(sheet,
                                                                             review.studies))
    assert table["study_id"].tolist() == review.studies["study_id"].tolist()
    row = table.set_index("study_id").loc["akhlaghpasand2025"]
    assert (row["n_enrolled"], row["ais"], row["route"]) == (106, "A", "intrathecal")
    assert row["risk_of_bias"] == "some concerns"


def _tables():
    pooled = pd.DataFrame([{
        "outcome": "motor", "comparison": "pre_post", "measure": "MC", "subgroup_var": "overall",
        "primary": True, "k": 3, "estimate": 5.128, "ci_low": -2.6188, "ci_high": 12.8757}])
    tests = pd.DataFrame([
        {"outcome": "motor", "comparison": "pre_post", "measure": "MC", "subgroup_var": "level",
         "method": "separate_tau2", "tau2_method": "REML", "ci_method": "hksj",
         "Q_between": 19.891, "df": 1, "p": 8.2e-6, "k_groups": 2, "k": 5},
        {"outcome": "motor", "comparison": "between_arms", "measure": "MD",
         "subgroup_var": "level", "method": "separate_tau2", "tau2_method": "REML",
         "ci_method": "hksj", "Q_between": np.nan, "df": np.nan, "p": np.nan, "k_groups": 1,
         "k": 1}])
    bias = pd.DataFrame([
        {"outcome": "motor", "comparison": "pre_post", "measure": "MC", "tau2_method": "REML",
         "test": "egger_rma", "p": 0.7331, "k": 3},
        {"outcome": "motor", "comparison": "between_arms", "measure": "MD",
         "tau2_method": "REML", "test": "egger_rma", "p": np.nan, "k": 1}])
    arms = pd.DataFrame({"included": [True, True, True, False],
                         "sd_method": ["reported", "from_se", "from_se", ""],
                         "mean_method": ["reported"] * 4, "effect_method": ["", "", "", ""]})
    sens = pd.DataFrame({"outcome": "motor", "measure": "MC", "r_assumed": [0.0, 0.5, 0.9],
                         "estimate": [4.7, 5.1, 5.47]})
    return pooled, tests, bias, arms, sens


def test_methods_text_says_what_was_done():
    pooled, tests, bias, arms, sens = _tables()
    text = methods.methods_text(_config(), arms=arms, effects=_effects(), pooled=pooled,
                                subgroup_tests=tests, bias=bias, sensitivity=sens)
    assert text.endswith("\n") and text.startswith("# Methods and results\n")
    assert "restricted maximum likelihood (REML) estimator" in text
    assert "; the DerSimonian–Laird estimator is reported as a sensitivity analysis." in text
    assert "Hartung–Knapp–Sidik–Jonkman (t distribution, k − 1 df) (primary)" in text
    assert "prediction intervals are reported where at least 3 studies" in text
    assert "Of 4 extracted rows, 3 entered an effect size; 1 did not" in text
    assert "- `from_se` (SD from the standard error, SD = SE·√n): 2 rows" in text
    assert "r = 0.5 was assumed (`prepost_r`); across the before/after comparisons: " \
           "assumed (config prepost\\_r) 1" in text
    assert "Motor \\*score\\* (MC) 4.70 to 5.47" in text
    assert "by level: Q = 19.89, df = 1, p < 0.001 (2 groups, k = 5)" in text
    assert "not computed for 1 outcome × variable combinations" in text
    assert "Egger's test was run for 1 of 2 pools and not run for 1" in text
    assert "- Motor \\*score\\*, follow-up vs baseline (MC, k = 3): 5.13 (95% CI −2.62 to " \
           "12.88)" in text


def test_methods_text_is_deterministic_and_escapes_review_text():
    pooled, tests, bias, arms, sens = _tables()
    config = _config()
    config["outcomes"]["motor"]["label"] = "<script>x</script> [link](http://e) `c` #1"
    one = methods.methods_text(config, arms=arms, effects=_effects(), pooled=pooled,
                               subgroup_tests=tests, bias=bias, sensitivity=sens)
    two = methods.methods_text(config, arms=arms.copy(), effects=_effects(), pooled=pooled.copy(),
                               subgroup_tests=tests, bias=bias, sensitivity=sens)
    assert one == two
    assert "<script>" not in one
    assert "&lt;script&gt;x&lt;/script&gt; \\[link\\](http://e) \\`c\\` \\#1" in one


def test_methods_results_use_the_summary_of_findings():
    pooled, tests, bias, arms, sens = _tables()
    sof = pd.DataFrame([{
        "outcome": "motor", "label": "Motor", "comparison": "pre_post", "k": 3, "n": 134.0,
        "effect": "MC 5.13 points (95% CI −2.62 to 12.88)", "I2": 70.1, "certainty": "very low",
        "note": ""}])
    overall = pd.DataFrame({"study_id": ["s1", "s2"], "tool": ["jbi_case_series", "rob2"],
                            "overall": ["some concerns", "high"],
                            "overall_common": ["some concerns", "high"], "reason": ["", ""]})
    text = methods.methods_text(_config(), arms=arms, effects=_effects(), pooled=pooled,
                                subgroup_tests=tests, bias=bias, sof=sof, rob_overall=overall)
    assert "- Motor, follow-up vs baseline (3 studies, 134 participants): MC 5.13 points " \
           "(95% CI −2.62 to 12.88); I² = 70%; draft GRADE certainty **very low**." in text
    assert "- RoB 2: 1 study (high 1)" in text
    assert "## Risk of bias" in text


def test_methods_text_lists_only_comparisons_with_data():
    """"Pain" was requested but has no effect size: not listed as analysed, named as without."""
    pooled, tests, bias, arms, sens = _tables()
    text = methods.methods_text(_config(), arms=arms, effects=_effects(), pooled=pooled,
                                subgroup_tests=tests, bias=bias, sensitivity=sens)
    measures = text.split("## Effect measures")[1].split("## Synthesis")[0]
    assert "- Pain at" not in measures
    assert ("Requested but without any effect size (reasons in excluded.csv): "
            "Pain (treatment vs control); Pain (follow-up vs baseline).") in measures


def test_methods_text_tests_of_the_primary_estimator_whatever_their_ci():
    """The separate-τ² test has a Wald row only: it is still listed under an HKSJ primary;
    the mixed-effects model's permutation p at its floor (1 / permutations) is said to be."""
    pooled, tests, bias, arms, sens = _tables()
    tests = tests.assign(ci_method="wald")
    model = {"outcome": "motor", "comparison": "pre_post", "measure": "MC",
             "subgroup_var": "level", "method": "moderator_model", "tau2_method": "REML",
             "ci_method": "hksj", "p": 0.00257, "p_perm": 0.1, "n_perm": 10, "perm_exact": True}
    tests = pd.concat([tests, pd.DataFrame([model])], ignore_index=True)
    text = methods.methods_text(_config(), arms=arms, effects=_effects(), pooled=pooled,
                                subgroup_tests=tests, bias=bias, sensitivity=sens)
    assert "- none" not in text
    assert ("by level: Q = 19.89, df = 1, p < 0.001 (2 groups, k = 5); mixed-effects model "
            "p = 0.003, permutation p = 0.100 (10 exact permutations; the smallest p-value "
            "10 permutations can give") in text
    tests.loc[tests["method"] == "moderator_model", "p_perm"] = 0.3
    text = methods.methods_text(_config(), arms=arms, effects=_effects(), pooled=pooled,
                                subgroup_tests=tests, bias=bias, sensitivity=sens)
    assert "permutation p = 0.300 (10 exact permutations)" in text


def test_permutation_floor():
    assert methods.permutation_floor(10) == 0.1
    assert methods.permutation_floor(1000) == 0.001
    assert np.isnan(methods.permutation_floor(0))


def test_methods_text_states_declared_overlap_next_to_the_cohort_rule():
    pooled, tests, bias, arms, sens = _tables()
    config = _config()
    config["caveats"] = [{"kind": "overlap", "studies": ["s1", "s3"], "text": "Same centre."},
                         {"kind": "other", "studies": [], "text": "Doses differ."}]
    caveats = pd.DataFrame({
        "caveat": 1, "kind": "overlap", "text": "Same centre.", "studies": "s1;s3",
        "outcome": "motor", "comparison": "pre_post", "measure": "MC",
        "left_out": ["", "s1", "s3"], "k": [3, 2, 2], "estimate": [5.128, 7.65, 5.36]})
    text = methods.methods_text(config, arms=arms, effects=_effects(), pooled=pooled,
                                subgroup_tests=tests, bias=bias, sensitivity=sens,
                                caveats=caveats)
    assert "enter a pool at most once. Possible overlaps the review could not rule out" in text
    assert ("- s1 and s3: Same centre. Each of the 1 pools holding two or more of them was "
            "re-estimated without each in turn (caveats.csv; primary measures: Motor \\*score\\* "
            "(MC) 5.13 with all 3, 7.65 without s1, 5.36 without s3).") in text
    assert "- Doses differ." in text
    plain = methods.methods_text(_config(), arms=arms, effects=_effects(), pooled=pooled,
                                 subgroup_tests=tests, bias=bias, sensitivity=sens)
    assert "Possible overlaps" not in plain
