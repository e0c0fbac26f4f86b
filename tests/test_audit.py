"""audit_review findings and outcome_counts."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "data" / "extraction"))
from review_factory import copy_review, outcome_line, write_outcomes  # noqa: E402

from scimeta import io as sio  # noqa: E402
from scimeta.audit import AUDIT_COLUMNS, audit_review, numbers_in_text, outcome_counts  # noqa: E402
from scimeta.extract import build_arms  # noqa: E402


def _audit(tmp_path, lines, studies_edit=None):
    review = copy_review(tmp_path)
    write_outcomes(review, lines)
    if studies_edit:
        p = review / "data/raw/studies.csv"
        p.write_text(studies_edit(p.read_text(encoding="utf-8")), encoding="utf-8")
    r = sio.read_review(review)
    arms, exc = build_arms(r)
    return audit_review(r, arms), arms, exc


def _checks(f, severity=None):
    if severity:
        f = f[f["severity"] == severity]
    return set(zip(f["check"], f["rows"], f["column"]))


def test_example_review_flags_the_known_inconsistencies():
    r = sio.read_review(Path(__file__).parent / "data/extraction/review_ok")
    arms, _ = build_arms(r)
    f = audit_review(r, arms)
    assert list(f.columns) == list(AUDIT_COLUMNS)
    pct = f[f["check"] == "percent_statement"]
    assert len(pct) == 1 and "32 cervical (39.2%)" in pct["message"].iloc[0]
    assert "30.2%" in pct["message"].iloc[0]
    sub = f[f["check"] == "subgroup_mean"]
    assert sub["rows"].tolist() == ["6;7;8"]  # SCIM by level; the ASIA motor split is consistent
    assert (f["severity"].isin(["error", "warning", "info"])).all()


def test_numbers_in_text_tolerances():
    assert numbers_in_text("40.7 ± 17") == [40.7, 17.0]
    assert numbers_in_text("４０．７（ＳＤ １７）") == [40.7, 17.0]
    assert numbers_in_text("n = 1,234; 12.0") == [1234.0, 12.0]
    assert numbers_in_text("−3.2 (1.282–7.815)") == [-3.2, 1.282, 7.815]


def test_quote_numbers(tmp_path):
    f, _, _ = _audit(
        tmp_path,
        [
            outcome_line(mean=41, sd=17, quote="41.0 (SD 17.00), n = 106"),
            outcome_line(timepoint=12, mean=43.3, sd=15.9, quote="４３．３ ± １５．９"),
            outcome_line(timepoint=6, mean=43.3, sd=15.2, quote="43.3 (15.9)"),
        ],
    )
    q = f[f["check"] == "quote_numbers"]
    assert set(zip(q["rows"], q["column"], q["severity"])) == {
        ("3", "n", "info"),
        ("4", "n", "info"),
        ("4", "sd", "warning"),
    }


@pytest.mark.parametrize(
    "kw,check,column",
    [
        (dict(mean=140, sd=10), "scale_range", "mean"),
        (dict(mean=40, sd=60), "sd_exceeds_scale", "sd"),
        (dict(mean=40, sd=0), "sd_zero", "sd"),
        (dict(mean=40, sd=0.5), "se_as_sd", "sd"),
        (dict(mean="", sd="", median=40, q1=42, q3=50), "median_outside_iqr", "median"),
        (dict(mean=9, sd="", ci_low=1, ci_high=7), "ci_excludes_estimate", "mean"),
        (dict(kind="change", mean=-150, sd=5), "scale_range", "mean"),
    ],
)
def test_row_checks(tmp_path, kw, check, column):
    f, _, _ = _audit(tmp_path, [outcome_line(**kw)])
    assert (check, "2", column) in _checks(f)


def test_subgroup_n_and_mean(tmp_path):
    f, _, _ = _audit(
        tmp_path,
        [
            outcome_line(n=106, mean=40.7),
            outcome_line(population="cervical", n=30, mean=23.9, sd=15.8),
            outcome_line(population="thoracolumbar", n=74, mean=47.9, sd=11.7),
        ],
    )
    assert ("subgroup_n_sum", "2;3;4", "n") in _checks(f)


def test_subgroup_mean_within_rounding_is_quiet(tmp_path):
    f, _, _ = _audit(
        tmp_path,
        [
            outcome_line(n=106, mean=40.7),
            outcome_line(population="cervical", n=32, mean=23.9, sd=15.8),
            outcome_line(population="thoracolumbar", n=74, mean=47.9, sd=11.7),
        ],
    )
    assert not f["check"].isin(["subgroup_mean", "subgroup_n_sum"]).any()


def test_percent_statements_consistent_ones_pass(tmp_path):
    f, _, _ = _audit(
        tmp_path, [outcome_line(quote="headache 34 (70.8%), nausea 27 (56.3%) 40.7 17")]
    )
    pct = f[f["check"] == "percent_statement"]
    # only the studies sheet's "32 cervical (39.2%)" is flagged, not the quote of row 2
    assert pct["rows"].tolist() == ["data/raw/studies.csv:2:notes"]


def test_same_cohort_and_duplicates(tmp_path):
    def edit(text):
        return text.replace("shin2015,,", "shin2015,akhlaghpasand2025,")

    f, _, _ = _audit(
        tmp_path,
        [
            outcome_line(),
            outcome_line(study_id="shin2015"),
            outcome_line(timepoint=6),
        ],
        edit,
    )
    coh = f[f["check"] == "same_cohort"]
    assert coh["study_id"].tolist() == ["akhlaghpasand2025;shin2015"]
    dup = f[f["check"] == "duplicate_values"]
    assert dup["rows"].tolist() == ["2;3;4"] and dup["severity"].tolist() == ["warning"]


def test_outcome_counts(tmp_path):
    _, arms, exc = _audit(
        tmp_path,
        [
            outcome_line(),
            outcome_line(timepoint=12, sd=""),
            outcome_line(outcome="scim_total", study_id="shin2015", sd=""),
        ],
    )
    c = outcome_counts(arms, exc).set_index("outcome")
    assert c.loc["asia_motor"].tolist() == [1, 1, 1, 0]
    assert c.loc["scim_total"].tolist() == [0, 1, 0, 1]
