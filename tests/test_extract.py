"""build_arms: every number used, how it was derived, and what was excluded."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "data" / "extraction"))
from review_factory import copy_review, outcome_line, snapshot, write_outcomes  # noqa: E402

from scimeta import conversions as cv  # noqa: E402
from scimeta import io as sio  # noqa: E402
from scimeta.extract import ARMS_ADDED_COLUMNS, EXCLUDED_COLUMNS, build_arms  # noqa: E402

RTOL = 1e-12  # values are produced by the same closed forms; only float rounding differs


def _arms(tmp_path, lines, config_edit=None):
    review = copy_review(tmp_path)
    write_outcomes(review, lines)
    if config_edit:
        cfg = review / "config/config.yaml"
        cfg.write_text(config_edit(cfg.read_text()))
    return build_arms(sio.read_review(review))


def test_columns_and_nothing_written(tmp_path):
    review = copy_review(tmp_path)
    before = snapshot(review)
    r = sio.read_review(review)
    arms, excluded = build_arms(r)
    assert snapshot(review) == before
    n_in = len(r.outcomes.columns) - 1
    assert list(arms.columns[:n_in]) == list(r.outcomes.columns[:-1])
    assert list(arms.columns[n_in:]) == ["source_row", *ARMS_ADDED_COLUMNS]
    assert list(excluded.columns) == list(EXCLUDED_COLUMNS)


def test_reported_se_ci_median(tmp_path):
    arms, exc = _arms(
        tmp_path,
        [
            outcome_line(),
            outcome_line(timepoint=12, mean=17.4, sd="", se=2.7, n=17),
            outcome_line(timepoint=6, mean="", sd="", ci_low=1.0, ci_high=7.4, n=9),
            outcome_line(timepoint=3, mean="", sd="", median=25, q1=20, q3=33, n=30),
            outcome_line(
                timepoint=4, mean="", sd="", median=25, q1=20, q3=33, min=10, max=60, n=30
            ),
        ],
    )
    assert exc.empty
    a = arms.set_index("timepoint")
    assert (a.loc[0.0, "mean_method"], a.loc[0.0, "sd_method"]) == ("reported", "reported")
    assert a.loc[12.0, "sd_method"] == "from_se"
    assert a.loc[12.0, "sd_used"] == pytest.approx(2.7 * math.sqrt(17), rel=RTOL)
    assert (a.loc[6.0, "mean_method"], a.loc[6.0, "sd_method"]) == ("ci_midpoint", "from_ci_t")
    assert a.loc[6.0, "mean_used"] == 4.2
    assert a.loc[6.0, "sd_used"] == pytest.approx(cv.sd_from_ci_t(1.0, 7.4, 9), rel=RTOL)
    assert (a.loc[3.0, "mean_method"], a.loc[3.0, "sd_method"]) == (
        "luo2018_mean_iqr",
        "wan2014_sd_iqr",
    )
    assert (a.loc[4.0, "mean_method"], a.loc[4.0, "sd_method"]) == (
        "luo2018_mean_both",
        "wan2014_sd_both",
    )
    # reported numbers are untouched
    assert math.isnan(a.loc[6.0, "mean"])


def test_ci_distribution_z_and_level(tmp_path):
    arms, _ = _arms(
        tmp_path,
        [outcome_line(mean=4, sd="", ci_low=1.0, ci_high=7.0, ci_level=0.9, n=9)],
        lambda t: t.replace("ci_distribution: t", "ci_distribution: z"),
    )
    assert arms.loc[0, "sd_method"] == "from_ci_z"
    assert arms.loc[0, "sd_used"] == pytest.approx(cv.sd_from_ci_z(1.0, 7.0, 9, 0.9), rel=RTOL)


def test_median_method_shi(tmp_path):
    arms, _ = _arms(
        tmp_path,
        [outcome_line(mean="", sd="", median=25, q1=20, q3=33, min=10, max=60, n=30)],
        lambda t: t.replace("median_method: luo_wan", "median_method: shi_wan"),
    )
    assert arms.loc[0, "sd_method"] == "shi2020_sd_both"
    assert arms.loc[0, "sd_used"] == pytest.approx(cv.shi2020_sd_both(10, 20, 33, 60, 30), rel=RTOL)


def test_difference_rows(tmp_path):
    arms, exc = _arms(
        tmp_path,
        [
            outcome_line(
                study_id="srivastava2019",
                timepoint=12,
                kind="difference",
                n="",
                mean=4.55,
                sd="",
                ci_low=1.282,
                ci_high=7.815,
                ci_level=0.95,
            ),
            outcome_line(
                study_id="srivastava2019",
                timepoint=6,
                kind="difference",
                n=40,
                mean=4.0,
                sd="",
                p_value=0.013,
            ),
            outcome_line(
                study_id="srivastava2019",
                timepoint=3,
                kind="difference",
                n="",
                mean=2.0,
                sd="",
                se=0.5,
            ),
        ],
    )
    assert exc.empty
    a = arms.set_index("timepoint")
    assert a.loc[12.0, "effect_method"] == "from_ci"
    assert a.loc[12.0, "vi_used"] == pytest.approx(
        ((7.815 - 1.282) / (2 * 1.959963984540054)) ** 2, rel=1e-12
    )
    assert a.loc[6.0, "effect_method"] == "from_p"
    assert a.loc[6.0, "vi_used"] == pytest.approx(cv.effect_from_p(4.0, 0.013, 40)[1], rel=RTOL)
    assert (a.loc[3.0, "effect_method"], a.loc[3.0, "vi_used"]) == ("from_se", 0.25)
    assert np.isnan(a["mean_used"]).all() and (a["sd_method"] == "").all()


def test_prepost_r_derived_and_invalid(tmp_path):
    arms, _ = _arms(
        tmp_path,
        [
            outcome_line(study_id="shin2015", n=17, mean=9.5, sd="", se=2.1),
            outcome_line(study_id="shin2015", n=17, timepoint=12, mean=17.4, sd="", se=2.7),
            outcome_line(
                study_id="shin2015", n=17, timepoint=12, kind="change", mean=7.9, sd="", se=1.2
            ),
            outcome_line(study_id="shin2015", arm="control", n=15, mean=1, sd=1),
            outcome_line(study_id="shin2015", arm="control", n=15, timepoint=12, mean=1, sd=1),
            outcome_line(
                study_id="shin2015", arm="control", n=15, timepoint=12, kind="change", mean=0, sd=5
            ),
        ],
    )
    t = arms[arms["arm"] == "treatment"]
    expected = cv.r_from_sds(2.1 * math.sqrt(17), 2.7 * math.sqrt(17), 1.2 * math.sqrt(17))
    assert t["prepost_r"].iloc[1] == pytest.approx(expected, rel=RTOL)
    assert t["prepost_r"].iloc[2] == pytest.approx(expected, rel=RTOL)
    assert t["flags"].iloc[1] == "r_derived;r_from_se_change" and math.isnan(t["prepost_r"].iloc[0])
    c = arms[arms["arm"] == "control"]
    assert c["flags"].iloc[2] == "r_derived_invalid" and math.isnan(c["prepost_r"].iloc[2])


def test_reported_r_kept_and_change_sd_from_sds(tmp_path):
    arms, _ = _arms(
        tmp_path,
        [
            outcome_line(sd=17),
            outcome_line(timepoint=12, mean=43.3, sd=15.9),
            outcome_line(timepoint=12, kind="change", mean=2.6, sd="", prepost_r=0.8),
        ],
    )
    chg = arms.iloc[2]
    assert chg["sd_method"] == "change_from_sds"
    assert chg["sd_used"] == pytest.approx(cv.sd_change(17, 15.9, 0.8), rel=RTOL)
    assert chg["prepost_r"] == 0.8 and "r_derived" not in chg["flags"]


def test_combined_subgroups_row(tmp_path):
    arms, _ = _arms(
        tmp_path,
        [
            outcome_line(population="cervical", n=32, mean=23.9, sd=15.8),
            outcome_line(population="thoracolumbar", n=74, mean=47.9, sd=11.7),
            outcome_line(
                population="subacute", n=29, mean=40, sd=10
            ),  # other variable: not mixed in
        ],
    )
    syn = arms[arms["flags"].str.contains("combined_from_subgroups")]
    assert len(syn) == 1
    s = syn.iloc[0]
    n, m, sd = cv.combine_groups([32, 74], [23.9, 47.9], [15.8, 11.7])
    assert (s["population"], s["source_rows"], s["source_row"], s["n_used"]) == ("all", "2;3", 2, n)
    assert s["mean_used"] == pytest.approx(m, rel=RTOL) and s["sd_used"] == pytest.approx(
        sd, rel=RTOL
    )
    assert s["mean_method"] == s["sd_method"] == "combined_subgroups"
    assert list(arms["source_rows"]) == ["2", "3", "2;3", "4"]
    assert arms["source_row"].tolist() == [2, 3, 2, 4]


def test_no_combination_when_overall_row_exists(tmp_path):
    arms, _ = _arms(
        tmp_path,
        [
            outcome_line(),
            outcome_line(population="cervical", n=32, mean=23.9, sd=15.8),
            outcome_line(population="thoracolumbar", n=74, mean=47.9, sd=11.7),
        ],
    )
    assert not arms["flags"].str.contains("combined").any()


def test_missing_sd_exclude(tmp_path):
    arms, exc = _arms(tmp_path, [outcome_line(), outcome_line(timepoint=12, mean=43.3, sd="")])
    assert exc[["row", "reason"]].values.tolist() == [
        [3, "no SD and none derivable (extraction.missing_sd = exclude)"]
    ]
    assert exc["file"].iloc[0] == "data/raw/outcomes.csv" and exc["stage"].iloc[0] == "extract"
    assert arms["included"].tolist() == [True, False]
    assert arms["flags"].iloc[1] == "excluded"


@pytest.mark.parametrize("rule,expected", [("impute_mean", 12.5), ("impute_max", 15.0)])
def test_missing_sd_imputed(tmp_path, rule, expected):
    arms, exc = _arms(
        tmp_path,
        [
            outcome_line(study_id="shin2015", timepoint=12, n=17, mean=17, sd=10),
            outcome_line(study_id="srivastava2019", timepoint=12, n=20, mean=17, sd=15),
            outcome_line(timepoint=12, mean=43.3, sd=""),
            outcome_line(timepoint=6, mean=43.3, sd=""),  # no donor at 6 months
        ],
        lambda t: t.replace("missing_sd: exclude", f"missing_sd: {rule}"),
    )
    row = arms.iloc[2]
    assert row["sd_used"] == expected and row["sd_method"] == f"imputed_{rule.split('_')[1]}"
    assert row["flags"] == "sd_imputed"
    assert exc["row"].tolist() == [5] and "no other study" in exc["reason"].iloc[0]


def test_n_missing_excluded(tmp_path):
    arms, exc = _arms(tmp_path, [outcome_line(n="", mean=15.4, sd="", ci_low=2.3, ci_high=28.5)])
    assert exc["reason"].tolist() == ["n missing"]
    assert not arms["included"].iloc[0]


def test_on_the_example_review():
    """The test review: Srivastava's CI gives a variance, Akhlaghpasand's phase rows are combined."""
    r = sio.read_review(Path(__file__).parent / "data/extraction/review_ok")
    arms, exc = build_arms(r)
    assert exc.empty
    syn = arms[arms["mean_method"] == "combined_subgroups"]
    assert syn[["outcome", "timepoint"]].values.tolist() == [["scim_total", 12.0]]
    # the paper prints 47.2 (17.1) for the whole series at 12 months
    assert syn["mean_used"].iloc[0] == pytest.approx(47.2, abs=0.05)
    assert syn["sd_used"].iloc[0] == pytest.approx(17.1, abs=0.05)
