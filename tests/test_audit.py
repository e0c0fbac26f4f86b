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
        (dict(mean=40, sd="", ci_low=-5, ci_high=85), "scale_range", "ci_low"),
        (dict(mean=40, sd="", se=1000), "sd_exceeds_scale", "se"),  # derived SD, like a reported
        (dict(mean=40, sd=60), "sd_exceeds_scale", "sd"),
        (dict(mean=40, sd=0), "sd_zero", "sd"),
        (dict(mean=40, sd=0.5), "se_as_sd", "sd"),
        (dict(mean=9, sd="", ci_low=1, ci_high=7), "ci_excludes_estimate", "mean"),
        (dict(kind="change", mean=-50, sd="", ci_low=-150, ci_high=50), "scale_range", "ci_low"),
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


def test_study_without_rows_is_a_finding(tmp_path):
    f, _, _ = _audit(tmp_path, [outcome_line()])
    lone = f[f["check"] == "study_without_rows"]
    assert set(lone["study_id"]) == {"shin2015", "srivastava2019"}
    assert set(lone["severity"]) == {"warning"} and "no rows in the outcomes sheet" in lone["message"].iloc[0]


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
    assert c.loc["asia_motor"].tolist() == [1, 1, 1, 0, 0, 0]
    assert c.loc["scim_total"].tolist() == [0, 1, 0, 1, 0, 0]
    assert c["rows_excluded"].sum() == len(exc)  # as many as the excluded table lists


# ---------------------------------------------------------------- reported_p

import shutil  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

from scimeta.audit import difference_test  # noqa: E402

#: difference_test is closed form; scipy's ttest_ind_from_stats is the independent oracle.
CLOSED_FORM_RTOL = 1e-10
REPO = Path(__file__).resolve().parents[1]

# review_ok rows 11-16: Shin 2015 Table 5, ASIA motor, mean ± SEM (n 17 treated, 15 control);
# row 11 T baseline, 12 T 12 months, 13 T change, 14 C baseline, 15 C 12 months, 16 C change.
_SHIN_BASE = REPO / "tests/data/extraction/review_ok/data/raw/outcomes.csv"


def _shin_lines(drop=()):
    lines = _SHIN_BASE.read_text(encoding="utf-8").splitlines()[1:]
    return [ln for i, ln in enumerate(lines, start=2) if i not in drop]


def _diff_line(**kw):
    base = dict(study_id="shin2015", timepoint=12, kind="difference", n=32, mean=4.0, sd="")
    base.update(kw)
    return outcome_line(**base)


def _scipy_ps(n1, se1, m1, n2, se2, m2):
    sd1, sd2 = se1 * np.sqrt(n1), se2 * np.sqrt(n2)
    welch = stats.ttest_ind_from_stats(m1, sd1, n1, m2, sd2, n2, equal_var=False).pvalue
    pooled = stats.ttest_ind_from_stats(m1, sd1, n1, m2, sd2, n2, equal_var=True).pvalue
    z = 2 * stats.norm.sf(abs(m1 - m2) / np.hypot(se1, se2))
    return welch, pooled, z


def _rp(f):
    return f[f["check"] == "reported_p"]


@pytest.mark.parametrize(
    "args", [(17, 7.9, 4.9477, 15, 3.9, 2.3238), (5, 1.0, 2.0, 40, 3.5, 0.7), (2, 0, 1, 2, 0, 3)]
)
def test_difference_test_matches_scipy(args):
    n1, m1, sd1, n2, m2, sd2 = args
    res = difference_test(*args)
    welch = stats.ttest_ind_from_stats(m1, sd1, n1, m2, sd2, n2, equal_var=False)
    pooled = stats.ttest_ind_from_stats(m1, sd1, n1, m2, sd2, n2, equal_var=True)
    if m1 == m2:
        assert res.p_welch == pytest.approx(1.0) and res.p_pooled == pytest.approx(1.0)
    else:
        assert res.p_welch == pytest.approx(welch.pvalue, rel=CLOSED_FORM_RTOL)
        assert res.p_pooled == pytest.approx(pooled.pvalue, rel=CLOSED_FORM_RTOL)
    assert res.df_pooled == n1 + n2 - 2
    se = np.hypot(sd1 / np.sqrt(n1), sd2 / np.sqrt(n2))
    assert res.p_z == pytest.approx(2 * stats.norm.sf(abs(m1 - m2) / se), rel=CLOSED_FORM_RTOL)
    assert set(res.to_dict()) == set(res.to_frame().columns)


def test_difference_test_rejects_bad_input():
    with pytest.raises(ValueError, match="n >= 2"):
        difference_test(1, 0, 1, 5, 0, 1)
    with pytest.raises(ValueError, match="sd2"):
        difference_test(5, 0, 1, 5, 0, -1)
    with pytest.raises(ValueError, match="m1"):
        difference_test(5, float("nan"), 1, 5, 0, 1)


def test_reported_p_outside_the_recomputed_range_is_flagged(tmp_path):
    f, _, _ = _audit(tmp_path, [*_shin_lines(), _diff_line(p_value=0.013, quote="4.0 p 0.013 32")])
    rp = _rp(f)
    assert rp[["severity", "study_id", "outcome", "rows", "column"]].values.tolist() == [
        ["warning", "shin2015", "asia_motor", "18;13;16", "p_value"]
    ]
    msg = rp["message"].iloc[0]
    welch, pooled, z = _scipy_ps(17, 1.2, 7.9, 15, 0.6, 3.9)
    for p in ("0.013", f"{welch:.3g}", f"{pooled:.3g}", f"{z:.3g}"):
        assert p in msg
    assert "Welch" in msg and "pooled-SD" in msg and "above" in msg
    # the reported p sits above even the largest p the printed values' rounding allows
    corners = [
        max(_scipy_ps(17, 1.2 + a, 7.9 - 0.05, 15, 0.6 + b, 3.9 + 0.05))
        for a in (-0.05, 0.05)
        for b in (-0.05, 0.05)
    ]
    assert max(corners) < 0.013 - 0.0005
    assert f"{max(corners):.3g}" in msg


@pytest.mark.parametrize("p", [0.007, 0.003, 0.012, 0.001])
def test_reported_p_within_the_range_is_quiet(tmp_path, p):
    # 0.001 stands for p < 0.001 (schema): an upper bound, consistent with p_z ~ 0.003 at the
    # rounding extremes (~0.0013) only because it is read as a bound with its rounding
    f, _, _ = _audit(tmp_path, [*_shin_lines(), _diff_line(p_value=p)])
    assert _rp(f).empty


def test_reported_p_far_below_is_flagged(tmp_path):
    f, _, _ = _audit(tmp_path, [*_shin_lines(), _diff_line(p_value=0.00001)])
    rp = _rp(f)
    assert rp["column"].tolist() == ["p_value"] and "below" in rp["message"].iloc[0]


@pytest.mark.parametrize(
    "kw,column,text",
    [
        (dict(mean=5.0, p_value=0.007), "mean", "does not match the arm means"),
        (dict(mean=-4.0, p_value=0.007), "mean", "check the direction"),
        (dict(n=34, p_value=0.007), "n", "add up to 32"),
    ],
)
def test_reported_difference_and_n_against_the_arms(tmp_path, kw, column, text):
    f, _, _ = _audit(tmp_path, [*_shin_lines(), _diff_line(**kw)])
    rp = _rp(f)
    assert column in rp["column"].tolist()
    assert text in rp.loc[rp["column"] == column, "message"].iloc[0]


def test_final_rows_used_when_the_difference_is_of_finals(tmp_path):
    # finals at 12 months: 17.4 (SEM 2.7) vs 19.5 (SEM 2.1) -> -2.1; p far from 0.9 -> flagged
    f, _, _ = _audit(tmp_path, [*_shin_lines(), _diff_line(mean=-2.1, p_value=0.001)])
    rp = _rp(f)
    assert rp["rows"].tolist() == ["18;12;15"] and rp["column"].tolist() == ["p_value"]
    welch, pooled, _ = _scipy_ps(17, 2.7, 17.4, 15, 2.1, 19.5)
    assert f"{welch:.3g}" in rp["message"].iloc[0] and "final rows" in rp["message"].iloc[0]


@pytest.mark.parametrize(
    "kw,flagged",
    [
        (dict(se=1.34), None),  # Welch SE 1.342
        (dict(se=0.6), "se"),
        (dict(ci_low=1.37, ci_high=6.63), None),  # 4.0 ± 1.96 * 1.342
        (dict(ci_low=3.0, ci_high=5.0), "ci_low"),
    ],
)
def test_reported_se_or_ci_against_the_arms(tmp_path, kw, flagged):
    f, _, _ = _audit(tmp_path, [*_shin_lines(), _diff_line(**kw)])
    rp = _rp(f)
    if flagged is None:
        assert rp.empty
    else:
        assert rp["column"].tolist() == [flagged]
        assert "Welch" in rp["message"].iloc[0]


def test_no_recomputation_without_both_arms(tmp_path):
    # without the control change and final rows (14-16) nothing can be recomputed
    f, _, _ = _audit(tmp_path, [*_shin_lines(drop={14, 15, 16}), _diff_line(p_value=0.5)])
    assert _rp(f).empty


def test_reported_p_same_from_arms_read_back_from_csv(tmp_path):
    review = copy_review(tmp_path)
    write_outcomes(review, [*_shin_lines(), _diff_line(p_value=0.013)])
    r = sio.read_review(review)
    arms, _ = build_arms(r)
    sio.write_csv(arms, tmp_path / "arms.csv")
    back = pd.read_csv(tmp_path / "arms.csv")
    a = _rp(audit_review(r, arms)).reset_index(drop=True)
    b = _rp(audit_review(r, back)).reset_index(drop=True)
    assert len(a) == 1
    pd.testing.assert_frame_equal(a, b)


def test_example_review_flags_shin_reported_p(tmp_path):
    """The example review: Shin 2015 reports p = 0.013; the SEMs give about 0.003-0.008."""
    review = tmp_path / "review"
    (review / "data").mkdir(parents=True)
    shutil.copytree(REPO / "config", review / "config")
    shutil.copytree(REPO / "data/raw", review / "data/raw")
    oc = review / "data/raw/outcomes.csv"
    r = sio.read_review(review)
    has = (
        (r.outcomes["study_id"] == "shin2015")
        & (r.outcomes["kind"] == "difference")
        & (r.outcomes["outcome"] == "asia_motor")
    ).any()
    if not has:  # the example sheet does not carry the reported difference yet
        text = oc.read_text(encoding="utf-8")
        cols = text.splitlines()[0].split(",")
        vals = dict(
            study_id="shin2015",
            outcome="asia_motor",
            arm="treatment",
            population="all",
            timepoint="12",
            kind="difference",
            n="32",
            mean="4.0",
            p_value="0.013",
            source="Results",
            quote="difference 4.0, p = 0.013",
        )
        text = text.rstrip("\n") + "\n" + ",".join(vals.get(c, "") for c in cols) + "\n"
        oc.write_text(text, encoding="utf-8")
        r = sio.read_review(review)
    arms, _ = build_arms(r)
    rp = _rp(audit_review(r, arms))
    shin = rp[rp["study_id"] == "shin2015"]
    assert shin["column"].tolist() == ["p_value"]
    msg = shin["message"].iloc[0]
    welch, pooled, z = _scipy_ps(17, 1.2, 7.9, 15, 0.6, 3.9)
    assert "0.013" in msg and f"{welch:.3g}" in msg and f"{z:.3g}" in msg
    assert (rp["study_id"] == "shin2015").all()  # no other study has both kinds of rows
