"""The pre-post correlation from what a paper reports (r_method), and the audit of reported p.

Reference values: ``tests/reference/ref_prepost_r.R`` derives r independently in R
(qt, uniroot on the paired t test) and computes MC, SMCR and SMCC with metafor's
``escalc(ri = r)``; here the same rows go through the extraction and the pairing.
"""

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from _reference import RTOL_CLOSED, load_reference

sys.path.insert(0, str(Path(__file__).parent / "data" / "extraction"))
from review_factory import OUTCOMES_HEADER, copy_review, write_outcomes  # noqa: E402

from scimeta import conversions as cv  # noqa: E402
from scimeta import io as sio  # noqa: E402
from scimeta.audit import audit_review  # noqa: E402
from scimeta.compare import build_effects  # noqa: E402
from scimeta.extract import build_arms  # noqa: E402
from scimeta.sensitivity import agreeing_r, r_sweep  # noqa: E402
from scimeta.textextract import p_values  # noqa: E402

REF = load_reference("prepost_r")
# r from a uniroot on the paired p (tol 1e-14 in R) against the closed form here
RTOL_ROOT = 1e-8
HEADER = OUTCOMES_HEADER.replace("p_value,", "p_value,p_relation,t_value,")
COLS = HEADER.split(",")


def line(**kw):
    base = {"study_id": "akhlaghpasand2025", "outcome": "asia_motor", "arm": "treatment",
            "population": "all", "timepoint": "0", "kind": "final"}
    base.update({k: str(v) for k, v in kw.items()})
    cells = []
    for c in COLS:
        v = base.get(c, "")
        if any(ch in v for ch in ',"\n|'):
            v = '"' + v.replace('"', '""') + '"'
        cells.append(v)
    return ",".join(cells)


def _review(tmp_path, lines, name="review"):
    review = copy_review(tmp_path, name)
    write_outcomes(review, lines, header=HEADER)
    cfg = review / "config/config.yaml"
    text = cfg.read_text()
    cfg.write_text(text.replace("    scale: [0, 100]\n", "    scale: [0, 100]\n"
                                "    pre_post: [MC, SMCR, SMCC]\n", 1))
    r = sio.read_review(review)
    arms, _ = build_arms(r)
    effects, excluded = build_effects(arms, r.studies, r.config)
    return r, arms, effects


def _lines_of(inp):
    n = int(inp["n"])
    base = dict(n=n, mean=inp["m_pre"], sd=inp["sd_pre"])
    follow = dict(timepoint=12, n=n, mean=inp["m_post"], sd=inp["sd_post"])
    rows = [line(**base)]
    if inp["report"] == "p":
        follow.update(p_value=inp["value"], p_relation=inp["relation"])
    elif inp["report"] == "t":
        follow.update(t_value=inp["value"])
    rows.append(line(**follow))
    if inp["report"] == "se_change":
        rows.append(line(timepoint=12, kind="change", n=n, mean=inp["change"], se=inp["value"]))
    elif inp["report"] == "ci_change":
        rows.append(line(timepoint=12, kind="change", n=n, mean=inp["change"],
                         ci_low=inp["low"], ci_high=inp["high"]))
    return rows


@pytest.mark.parametrize("case", REF["cases"], ids=[c["name"] for c in REF["cases"]])
def test_derived_r_and_effects_agree_with_metafor(tmp_path, case):
    _, _, effects = _review(tmp_path, _lines_of(case["input"]))
    pre = effects[effects["comparison"] == "pre_post"]
    assert set(pre["measure"]) == {"MC", "SMCR", "SMCC"}
    tol = RTOL_ROOT if case["r_method"] in ("from_p_bound",) else RTOL_CLOSED
    for want in case["effects"]:
        got = pre[pre["measure"] == want["measure"]].iloc[0]
        assert got["r_method"] == case["r_method"]
        assert got["r"] == pytest.approx(case["r"], rel=tol, abs=1e-12)
        assert got["yi"] == pytest.approx(want["yi"], rel=tol), want["call"]
        assert got["vi"] == pytest.approx(want["vi"], rel=tol), want["call"]
        if math.isfinite(case["r_agree_low"]):
            assert got["r_agree_low"] == pytest.approx(case["r_agree_low"], rel=RTOL_ROOT)
            assert got["r_agree_high"] == pytest.approx(case["r_agree_high"], rel=RTOL_ROOT)
        else:
            assert math.isnan(got["r_agree_low"]) and math.isnan(got["r_agree_high"])
    note = pre["note"].iloc[0]
    if case["r"] != case["r_raw"]:
        assert "clipped to [-1, 1]" in note
    if case["r_method"] in ("from_p", "from_t"):
        assert "from the paired test" in note
    if case["r_method"] == "from_p_bound":
        assert "needs r ≥" in note and "nearest to the assumed 0.5" in note
    if case["name"] == "p_bound_keeps_r":
        assert "agrees with the paired p < 0.001" in note


def test_reported_paired_p_is_reproduced_by_the_effect(tmp_path):
    # WHOQOL overall of the example: p = 0.059, which no r in [0, 0.9] reproduces
    inp = REF["cases"][0]["input"]
    r, arms, effects = _review(tmp_path, _lines_of(inp))
    mc = effects[(effects["measure"] == "MC")].iloc[0]
    p = cv.paired_p(mc["n1"], mc["mean2"], mc["sd2"], mc["mean1"], mc["sd1"], mc["r"])
    assert p == pytest.approx(0.059, rel=1e-10)
    assert mc["r"] < 0 and "negative correlation is unusual" in mc["note"]
    # the z test of the effect (what a one-study pool reports) is near it, not 0.002
    z_p = math.erfc(abs(mc["yi"]) / math.sqrt(mc["vi"]) / math.sqrt(2))
    assert 0.05 < z_p < 0.06
    audit = audit_review(r, arms, effects=effects)
    assert (audit["check"] == "paired_p").sum() == 0
    derived = audit[(audit["check"] == "prepost_r") & (audit["column"] == "p_value")]
    assert len(derived) == 1 and derived["severity"].iloc[0] == "warning"  # r < 0
    assert "from the paired test (p = 0.059, n = 106)" in derived["message"].iloc[0]


def test_example_review_whoqol_overall_reproduces_its_p():
    repo = Path(__file__).resolve().parents[1]
    r = sio.read_review(repo)
    arms, _ = build_arms(r)
    effects, _ = build_effects(arms, r.studies, r.config)
    who = effects[(effects["outcome"] == "whoqol_overall") & (effects["measure"] == "MC")].iloc[0]
    assert who["r_method"] == "from_p"
    p = cv.paired_p(who["n1"], who["mean2"], who["sd2"], who["mean1"], who["sd1"], who["r"])
    assert p == pytest.approx(0.059, rel=1e-10)
    motor = effects[(effects["outcome"] == "asia_motor") & (effects["measure"] == "MC")
                    & (effects["study_id"] == "akhlaghpasand2025")
                    & (effects["population"] == "all")].iloc[0]
    # "p < 0.001" needs r >= 0.887: the assumed 0.5 is moved to it
    assert motor["r_method"] == "from_p_bound"
    assert motor["r"] == pytest.approx(motor["r_agree_low"]) and 0.88 < motor["r"] < 0.89
    audit = audit_review(r, arms, effects=effects)
    assert not (audit["check"] == "paired_p").any()


def _quoted(p_text, **extra):
    quote = f"ASIA motor | all | 106 | 37.8 (21.7) | 43.9 (16.6) | {p_text}"
    return [line(n=106, mean=37.8, sd=21.7, quote=quote),
            line(timepoint=12, n=106, mean=43.9, sd=16.6, quote=quote, **extra)]


@pytest.mark.parametrize("p_text,flagged", [
    ("p=0.059", True),           # r = 0.5 gives p = 0.002
    ("P = 0.059", True),
    ("P>0.05", True),
    ("P＜0.01", False),           # full-width: a bound that r = 0.5 satisfies
    ("p<.05", False),
    ("p=0.00184", False),        # what r = 0.5 gives, to its printed decimals
    ("p=0.0018", False),         # 0.00175 to 0.00185 holds it
    ("p=0.0017", True),          # 0.00165 to 0.00175 does not
])
def test_quoted_paired_p_that_disagrees_is_flagged(tmp_path, p_text, flagged):
    r, arms, effects = _review(tmp_path, _quoted(p_text))
    f = audit_review(r, arms, effects=effects)
    hits = f[f["check"] == "paired_p"]
    assert len(hits) == int(flagged)  # one finding per pair, whatever the measure
    if flagged:
        msg = hits["message"].iloc[0]
        assert "(in the quote)" in msg and "at r = 0.5" in msg
        if "0.059" in p_text:
            assert "needs r in [-0.472, -0.460]" in msg
        assert hits["severity"].iloc[0] == "warning" and hits["column"].iloc[0] == "quote"


def test_quoted_p_is_attributed_only_when_unambiguous(tmp_path):
    # two p-values in the quote: none is attributed
    r, arms, effects = _review(tmp_path, _quoted("p=0.059; between groups p=0.2"), "two")
    assert not (audit_review(r, arms, effects=effects)["check"] == "paired_p").any()
    # the quote does not hold the baseline mean: not this pair's p
    lines = [line(n=106, mean=37.8, sd=21.7),
             line(timepoint=12, n=106, mean=43.9, sd=16.6, quote="QoL 43.9 (16.6), p=0.059")]
    r, arms, effects = _review(tmp_path, lines, "pair")
    assert not (audit_review(r, arms, effects=effects)["check"] == "paired_p").any()
    # the same quote on a control row: a between-arm p, not the change's
    quote = "QoL | 37.8 (21.7) | 43.9 (16.6) | control 40.1 (20) | p=0.059"
    lines = [line(n=106, mean=37.8, sd=21.7, quote=quote),
             line(timepoint=12, n=106, mean=43.9, sd=16.6, quote=quote),
             line(timepoint=12, arm="control", n=50, mean=40.1, sd=20, quote=quote)]
    r, arms, effects = _review(tmp_path, lines, "arms")
    assert not (audit_review(r, arms, effects=effects)["check"] == "paired_p").any()
    # without the control row, the same quote's p is the change's, and it disagrees
    r, arms, effects = _review(tmp_path, lines[:2], "one_arm")
    assert (audit_review(r, arms, effects=effects)["check"] == "paired_p").sum() == 1


def test_reported_r_that_contradicts_the_p_column_is_flagged(tmp_path):
    lines = [line(n=106, mean=37.8, sd=21.7),
             line(timepoint=12, n=106, mean=43.9, sd=16.6, p_value=0.059, p_relation="exact",
                  prepost_r=0.6)]
    r, arms, effects = _review(tmp_path, lines)
    mc = effects[effects["measure"] == "MC"].iloc[0]
    assert mc["r_method"] == "reported" and mc["r"] == 0.6
    f = audit_review(r, arms, effects=effects)
    hits = f[f["check"] == "paired_p"]
    assert len(hits) == 1 and "(p_value column)" in hits["message"].iloc[0]


def test_quoted_p_of_a_difference_row_is_checked(tmp_path):
    shin = [
        line(study_id="shin2015", n=17, mean=9.5, se=2.1),
        line(study_id="shin2015", timepoint=12, kind="change", n=17, mean=7.9, se=1.2),
        line(study_id="shin2015", arm="control", n=15, mean=15.5, se=2.1),
        line(study_id="shin2015", arm="control", timepoint=12, kind="change", n=15, mean=3.9,
             se=0.6),
    ]
    diff = line(study_id="shin2015", timepoint=12, kind="difference", n=32, mean=4.0, se=1.34,
                quote="motor change 7.9 vs 3.9, difference 4.0, P = 0.25")
    r, arms, effects = _review(tmp_path, [*shin, diff])
    f = audit_review(r, arms, effects=effects)
    hits = f[(f["check"] == "reported_p") & (f["column"] == "quote")]
    assert len(hits) == 1 and "reported p = 0.25 (in the quote)" in hits["message"].iloc[0]


@pytest.mark.parametrize("p_text,flagged", [("p = 0.5", True), ("P<0.001", False)])
def test_quoted_p_shared_by_the_arms_is_a_between_arm_p(tmp_path, p_text, flagged):
    quote = f"QoL at 12 months: cells 43.9 (16.6) vs control 30.1 (15.2), {p_text}"
    lines = [line(n=106, mean=37.8, sd=21.7),
             line(timepoint=12, n=106, mean=43.9, sd=16.6, quote=quote),
             line(arm="control", n=50, mean=35.0, sd=20.0),
             line(timepoint=12, arm="control", n=50, mean=30.1, sd=15.2, quote=quote)]
    r, arms, effects = _review(tmp_path, lines)
    f = audit_review(r, arms, effects=effects)
    hits = f[(f["check"] == "reported_p") & (f["column"] == "quote")]
    assert len(hits) == int(flagged)
    if flagged:
        message = hits["message"].iloc[0]
        assert "(in the quote shared by the arms) for the difference 13.8" in message
    assert not (f["check"] == "paired_p").any()  # the p is the arms', not the change's


def test_change_row_with_a_paired_t_or_p_gets_its_sd(tmp_path):
    lines = [line(n=20, mean=30.6, sd=15.0), line(timepoint=12, n=20, mean=38.5, sd=11.6),
             line(timepoint=12, kind="change", n=20, mean=7.9, p_value=0.004,
                  p_relation="exact")]
    r, arms, effects = _review(tmp_path, lines)
    change = arms[arms["kind"] == "change"].iloc[0]
    assert change["sd_method"] == "change_from_p"
    # SE = mean / t, t the quantile of the two-sided p with n - 1 df; SD = SE sqrt(n)
    assert change["sd_used"] == pytest.approx(7.9 / stats.t.ppf(1 - 0.004 / 2, 19) * math.sqrt(20),
                                              rel=1e-12)
    mc = effects[effects["measure"] == "MC"].iloc[0]
    assert mc["r_method"] == "from_p_change"
    assert mc["r"] == pytest.approx(cv.r_from_sds(15.0, 11.6, change["sd_used"]), rel=1e-12)


def test_p_values_in_quotes():
    got = [(q.relation, q.value) for q in p_values(
        "p < 0.001, P = 0.059, P<.05, p=.03, P＜0.01, P>0.05, p ≤ 0.01, p = 1.2 × 10-3")]
    assert got == [("<", 0.001), ("=", 0.059), ("<", 0.05), ("=", 0.03), ("<", 0.01),
                   (">", 0.05), ("<", 0.01), ("=", 0.0012)]
    assert p_values("ASIA 40.7 (17) | 43.3 (15.9)") == []


def test_reported_p_reads_the_relation():
    assert cv.reported_p(0.059, "exact") == ("=", pytest.approx(0.0585), pytest.approx(0.0595))
    assert cv.reported_p(0.001, "") == ("<", 0.0, 0.001)
    assert cv.reported_p(0.05, "below") == ("<", 0.0, 0.05)
    assert cv.reported_p(0.05, "above") == (">", 0.05, 1.0)
    with pytest.raises(ValueError, match="exact, below, above"):
        cv.reported_p(0.05, "about")


def test_sweep_moves_a_bounded_study_and_reports_the_agreeing_r():
    rows = pd.DataFrame({
        "study_id": ["a", "b"], "measure": "MC", "n1": [106, 20], "mean1": [43.3, 38.5],
        "sd1": [15.9, 11.6], "mean2": [40.7, 30.6], "sd2": [17.0, 15.0], "r": [0.8866, 0.5],
        "r_method": ["from_p_bound", "assumed"], "r_agree_low": [0.8866, np.nan],
        "r_agree_high": [1.0, np.nan], "yi": [2.6, 7.9], "vi": [1.0, 1.0],
    })
    out = r_sweep(rows, measure="MC", r_grid=[0.0, 0.5, 0.9])
    assert (out["k_assumed_r"] == 2).all()
    assert out["r_agree_low"].iloc[0] == 0.8866 and out["r_agree_high"].iloc[0] == 1.0
    assert out["r_agree_studies"].iloc[0] == "a"
    # the bounded study stays at 0.8866 below it: r = 0 and 0.5 differ only through study b
    from scimeta.effects import escalc
    from scimeta.pool import pool

    for r_grid, row in zip([0.0, 0.5, 0.9], out.itertuples()):
        ri = np.array([max(r_grid, 0.8866), r_grid])
        es = escalc("MC", ni=rows["n1"].to_numpy(float), m1i=rows["mean1"].to_numpy(float),
                    m2i=rows["mean2"].to_numpy(float), sd1i=rows["sd1"].to_numpy(float),
                    sd2i=rows["sd2"].to_numpy(float), ri=ri)
        want = pool(es.yi, es.vi, tau2_method="REML", ci_method="hksj")
        assert row.estimate == pytest.approx(want.estimate, rel=1e-6)
    low, high, studies = agreeing_r(rows.assign(r_agree_low=[0.2, 0.7],
                                                r_agree_high=[0.6, 1.0]), np.array([True, True]))
    assert math.isnan(low) and studies == ["a", "b"]  # no r agrees with both


def test_r_sensitivity_figure_hatches_the_agreeing_r():
    from scimeta.plotting.sensitivity import r_sensitivity_plot

    grid = np.round(np.arange(0, 1.0, 0.1), 1)
    sweep = pd.DataFrame({"measure": "MC", "r_assumed": grid, "estimate": 5.0, "ci_low": 1.0,
                          "ci_high": 9.0, "k": 3, "k_own_r": 1, "r_agree_low": 0.8866,
                          "r_agree_high": 1.0, "r_agree_studies": "akhlaghpasand2025"})
    res = r_sensitivity_plot(sweep, primary_r=0.5)
    ax = res.figure.axes[0]
    band = [p for p in ax.patches if p.get_gid() == "r-agree-band"]
    assert len(band) == 1
    labels = ax.get_legend_handles_labels()[1]
    assert "r that reproduces the reported p (r ≥ 0.89)" in labels
    texts = " ".join(t.get_text() for t in res.figure.texts)
    assert "akhlaghpasand2025 reproduces the paired p reported" in texts
    # every r agrees: no band, a footnote
    res = r_sensitivity_plot(sweep.assign(r_agree_low=-1.0), primary_r=0.5)
    assert not [p for p in res.figure.axes[0].patches if p.get_gid() == "r-agree-band"]
    assert "Every r shown reproduces" in " ".join(t.get_text() for t in res.figure.texts)


def test_validation_names_a_paired_test_that_would_not_be_read(tmp_path):
    review = copy_review(tmp_path)
    write_outcomes(review, [line(n=106, mean=37.8, sd=21.7, p_value=0.059),
                            line(timepoint=12, n=106, mean=43.9, sd=16.6, p_relation="below"),
                            line(timepoint=12, kind="change", n=106, mean=6.1, p_value=0.3,
                                 p_relation="about")], header=HEADER)
    msgs = [str(p) for p in sio.validate_review(review)]
    assert any(":2:p_value:" in m and "on a baseline row is not read" in m for m in msgs), msgs
    assert any(":3:p_relation:" in m and "without a p_value" in m for m in msgs), msgs
    assert any(":4:p_relation:" in m and "'about' is not one of: exact, below, above" in m
               for m in msgs), msgs
    # a change row with its paired p needs no SD: no missing-SD warning for it
    assert not any(":4:sd:" in m for m in msgs), msgs


def test_paired_test_conversions_round_trip_and_edges():
    args = (106, 37.8, 21.7, 43.9, 16.6)
    for p in (0.059, 0.01, 1e-4):
        r = cv.r_from_paired_p(*args, p)
        assert cv.paired_p(*args, r) == pytest.approx(p, rel=1e-10)
        t = cv.paired_t(*args, r)
        assert cv.r_from_paired_t(*args, t) == pytest.approx(r, rel=1e-12)
    assert math.isnan(cv.sd_change_from_p(0.0, 0.05, 20))  # no change: no information
    assert math.isnan(cv.sd_change_from_p(2.0, 1.0, 20))   # p = 1: t = 0
    assert cv.sd_change_from_p(2.0, 0.0, 20) == 0.0
    assert math.isnan(cv.sd_change_from_t(2.0, 0.0, 20))
    assert all(math.isnan(v) for v in cv.r_range_from_paired_p(20, 5, 2, 5, 2, 0.01, 0.02))
    # p decreases as r rises: the range runs from the r of the high p to that of the low p
    lo, hi = cv.r_range_from_paired_p(*args, 0.0585, 0.0595)
    assert lo < cv.r_from_paired_p(*args, 0.059) < hi
    assert cv.r_range_from_paired_p(*args, 0.0, 0.001)[1] == 1.0
    with pytest.raises(ValueError, match="p must be in"):
        cv.sd_change_from_p(2.0, 1.5, 20)
