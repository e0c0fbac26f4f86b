"""A between-arm difference reported with its t statistic only (Cochrane Handbook 6.5.2.3)."""

import sys
from pathlib import Path

import numpy as np
import pytest

from scimeta import conversions as cv
from scimeta.compare import build_effects
from scimeta.extract import build_arms
from scimeta.io import read_review

sys.path.insert(0, str(Path(__file__).parent / "data" / "extraction"))
from review_factory import OUTCOMES_HEADER, copy_review, outcome_line  # noqa: E402

RTOL = 1e-12  # closed form: SE = |difference / t|


def test_effect_from_t_is_the_difference_over_its_statistic():
    yi, vi = cv.effect_from_t([3.8, -2.0], [2.78, -4.0])
    np.testing.assert_allclose(yi, [3.8, -2.0], rtol=RTOL)
    np.testing.assert_allclose(vi, [(3.8 / 2.78) ** 2, 0.25], rtol=RTOL)
    # the Handbook's example: MD 3.8 with t = 2.78 has SE 1.37 (to its printed precision)
    assert np.sqrt(vi[0]) == pytest.approx(1.37, abs=0.005)


def test_effect_from_t_of_zero_is_not_informative():
    _, vi = cv.effect_from_t(1.0, 0.0)
    assert np.isnan(vi)


def test_difference_row_with_t_enters_as_generic_inverse_variance(tmp_path):
    review = copy_review(tmp_path)
    row = outcome_line(
        study_id="akhlaghpasand2025", timepoint="12", kind="difference", n="40", mean="3.8",
        sd="", quote="MD 3.8, t = 2.78",
    ).split(",")
    header = OUTCOMES_HEADER + ",t_value"
    path = review / "data/raw/outcomes.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    body = [line + "," for line in lines[1:]] + [",".join(row) + ",2.78"]
    path.write_text(header + "\n" + "\n".join(body) + "\n", encoding="utf-8")
    r = read_review(review)
    arms, excluded = build_arms(r)
    diff = arms[arms["quote"] == "MD 3.8, t = 2.78"].iloc[0]
    assert diff["effect_method"] == "from_t"
    assert diff["vi_used"] == pytest.approx((3.8 / 2.78) ** 2, rel=RTOL)
    effects, _ = build_effects(arms, r.studies, r.config)
    md = effects[effects["effect_method"] == "reported_difference_from_t"]
    assert len(md) == 1 and md["measure"].iloc[0] == "MD"
    assert md["yi"].iloc[0] == pytest.approx(3.8, rel=RTOL)
    assert md["vi"].iloc[0] == pytest.approx((3.8 / 2.78) ** 2, rel=RTOL)
