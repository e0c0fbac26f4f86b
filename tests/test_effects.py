"""scimeta.effects against metafor's escalc() (tests/reference/core.json)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from _reference import RTOL_CLOSED, load_reference

from scimeta.effects import MEASURES, EffectSizes, escalc, hedges_correction

REF = load_reference("core")
ESCALC_CASES = REF["escalc"]


@pytest.mark.parametrize("case", ESCALC_CASES, ids=[c["name"] for c in ESCALC_CASES])
def test_escalc_matches_metafor(case):
    es = escalc(case["measure"], **{k: np.asarray(v, dtype=float) for k, v in case["inputs"].items()})
    assert es.measure == case["measure"]
    np.testing.assert_allclose(es.yi, case["yi"], rtol=RTOL_CLOSED, atol=0)
    np.testing.assert_allclose(es.vi, case["vi"], rtol=RTOL_CLOSED, atol=0)


def test_reference_covers_every_measure():
    assert {c["measure"] for c in ESCALC_CASES} == set(MEASURES)


def test_hedges_correction_closed_forms():
    # c(2) = Gamma(1) / (1 * Gamma(1/2)) = 1/sqrt(pi); c(3) = Gamma(3/2)/(sqrt(3/2) Gamma(1)) = sqrt(pi/6)
    np.testing.assert_allclose(hedges_correction([2.0, 3.0]), [1 / math.sqrt(math.pi), math.sqrt(math.pi / 6)], rtol=1e-14)
    # c(4) = Gamma(2) / (sqrt(2) Gamma(3/2)) = sqrt(2/pi)
    assert hedges_correction(4.0)[()] == pytest.approx(math.sqrt(2 / math.pi), rel=1e-14)
    assert np.isnan(hedges_correction(1.0))


def test_smcr_standardises_by_sd1i_only():
    kw = dict(m1i=[12.0], m2i=[10.0], sd1i=[4.0], ni=[20], ri=[0.5])
    a = escalc("SMCR", **kw)
    b = escalc("SMCR", sd2i=[100.0], **kw)
    np.testing.assert_array_equal(a.yi, b.yi)
    assert a.yi[0] == pytest.approx(hedges_correction(19.0)[()] * 2.0 / 4.0, rel=1e-14)


def test_scalars_broadcast():
    a = escalc("MC", m1i=[5.0, 6.0], m2i=[4.0, 4.0], sd1i=[1.0, 2.0], sd2i=[1.5, 1.0], ni=[10, 12], ri=0.5)
    b = escalc("MC", m1i=[5.0, 6.0], m2i=[4.0, 4.0], sd1i=[1.0, 2.0], sd2i=[1.5, 1.0], ni=[10, 12], ri=[0.5, 0.5])
    np.testing.assert_array_equal(a.vi, b.vi)


def test_effectsizes_helpers():
    es = escalc("MD", n1i=[10, 20], m1i=[5.0, 6.0], sd1i=[2.0, 3.0], n2i=[12, 18], m2i=[4.0, 6.5], sd2i=[2.5, 2.0])
    np.testing.assert_allclose(es.sei, np.sqrt(es.vi), rtol=0)
    low, high = es.ci(0.95)
    np.testing.assert_allclose((high - low) / 2, 1.959963984540054 * es.sei, rtol=1e-14)
    frame = es.to_frame()
    assert list(frame.columns) == ["measure", "yi", "vi", "sei", "ci_low", "ci_high"]
    assert len(frame) == es.k == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        es.measure = "SMD"  # type: ignore[misc]
    assert isinstance(es, EffectSizes)


BETWEEN = dict(n1i=[10, 12], m1i=[5.0, 6.0], sd1i=[2.0, 3.0], n2i=[11, 13], m2i=[4.0, 5.0], sd2i=[2.5, 2.0])
PREPOST = dict(m1i=[5.0, 6.0], m2i=[4.0, 5.0], sd1i=[2.0, 3.0], sd2i=[2.5, 2.0], ni=[10, 12], ri=[0.5, 0.6])


def _with(base, **changes):
    out = {k: list(v) for k, v in base.items()}
    out.update(changes)
    return out


@pytest.mark.parametrize(
    ("measure", "kwargs", "pattern"),
    [
        ("MD", _with(BETWEEN, sd2i=[2.5, -1.0]), r"study 1: sd2i = -1\.0 is negative"),
        ("SMD", _with(BETWEEN, n1i=[1, 12]), r"study 0: n1i = 1\.0 is < 2"),
        ("SMD", _with(BETWEEN, sd1i=[0.0, 3.0], sd2i=[0.0, 2.0]), r"study 0: sd1i = 0\.0 and sd2i are both 0"),
        ("ROM", _with(BETWEEN, m2i=[4.0, -5.0]), r"study 1: m1i = 6\.0 has a different sign"),
        ("ROM", _with(BETWEEN, m1i=[0.0, 6.0]), r"study 0: m1i = 0\.0 is 0"),
        ("MD", _with(BETWEEN, m1i=[float("nan"), 6.0]), r"study 0: m1i = nan is not a finite number"),
        ("MC", _with(PREPOST, ri=[0.5, 1.2]), r"study 1: ri = 1\.2 is outside \[-1, 1\]"),
        ("MC", _with(PREPOST, ni=[1, 12]), r"study 0: ni = 1\.0 is < 2"),
        ("SMCR", _with(PREPOST, ni=[10, 2]), r"study 1: ni = 2\.0 is < 3"),
        ("SMCC", _with(PREPOST, sd1i=[2.0, 2.0], sd2i=[2.5, 2.0], ri=[0.5, 1.0]), r"study 1: sd1i = 2\.0 with sd2i and ri"),
        ("MD", _with(BETWEEN, n2i=[11, 13, 14]), r"different lengths"),
        ("SMD", {k: v for k, v in BETWEEN.items() if k != "sd2i"}, r"needs argument\(s\) sd2i"),
        ("XYZ", BETWEEN, r"measure must be one of"),
    ],
)
def test_escalc_validation(measure, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        escalc(measure, **kwargs)
