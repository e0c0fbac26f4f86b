"""Conversions against committed R reference values and the sources' own worked examples."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from scimeta import conversions as cv

REF = Path(__file__).parent / "reference" / "conversions.json"
#: Closed-form formulas: agreement with R up to floating-point rounding.
RTOL_CLOSED = 1e-10
#: Worked examples printed by the Handbook to 2-3 decimals: half a unit of the last digit.
HALF_3DP = 5e-4
HALF_2DP = 5e-3

_POSITIONAL = {
    "sd_from_se": ("se", "n"),
    "sd_from_ci_t": ("low", "high", "n", "level"),
    "sd_from_ci_z": ("low", "high", "n", "level"),
    "sd_change": ("sd_baseline", "sd_final", "r"),
    "r_from_sds": ("sd_baseline", "sd_final", "sd_change"),
    "wan2014_mean_range": ("minimum", "median", "maximum"),
    "wan2014_mean_iqr": ("q1", "median", "q3"),
    "wan2014_mean_both": ("minimum", "q1", "median", "q3", "maximum"),
    "wan2014_sd_range": ("minimum", "maximum", "n"),
    "wan2014_sd_iqr": ("q1", "q3", "n"),
    "wan2014_sd_both": ("minimum", "q1", "q3", "maximum", "n"),
    "luo2018_mean_range": ("minimum", "median", "maximum", "n"),
    "luo2018_mean_iqr": ("q1", "median", "q3", "n"),
    "luo2018_mean_both": ("minimum", "q1", "median", "q3", "maximum", "n"),
    "shi2020_sd_both": ("minimum", "q1", "q3", "maximum", "n"),
}


def _cases():
    data = json.loads(REF.read_text(encoding="utf-8"))
    return [pytest.param(c, id=f"{c['fun']}-{i}") for i, c in enumerate(data["cases"])]


def test_reference_file_records_versions():
    data = json.loads(REF.read_text(encoding="utf-8"))
    assert data["metafor_version"].startswith("3.8")
    assert "R version" in data["r_version"]
    assert all("call" in c for c in data["cases"])


@pytest.mark.parametrize("case", _cases())
def test_against_r_reference(case):
    fun, args, expected = case["fun"], case["args"], case["value"]
    if fun in _POSITIONAL:
        got = getattr(cv, fun)(*[args[k] for k in _POSITIONAL[fun]])
        assert got == pytest.approx(expected, rel=RTOL_CLOSED, abs=1e-14)
    elif fun == "effect_from_ci":
        yi, vi = cv.effect_from_ci(
            args["estimate"], args["low"], args["high"], args["level"], args.get("n")
        )
        assert yi == pytest.approx(expected["yi"], rel=RTOL_CLOSED)
        assert vi == pytest.approx(expected["vi"], rel=RTOL_CLOSED)
    elif fun == "effect_from_p":
        yi, vi = cv.effect_from_p(args["estimate"], args["p"], args.get("n"))
        assert yi == pytest.approx(expected["yi"], rel=RTOL_CLOSED)
        assert vi == pytest.approx(expected["vi"], rel=RTOL_CLOSED)
    elif fun == "combine_groups":
        n, m, s = cv.combine_groups(args["ns"], args["means"], args["sds"])
        assert n == expected["n"]
        assert m == pytest.approx(expected["mean"], rel=RTOL_CLOSED)
        assert s == pytest.approx(expected["sd"], rel=RTOL_CLOSED)
    else:  # pragma: no cover - a new case without a test mapping
        pytest.fail(f"no mapping for {fun}")


# ---------------------------------------------------------------- Handbook worked examples
def test_handbook_ci_divisor_n25():
    # Handbook 6.5.2.2: n = 25, 95% CI: t = 2.0639, divisor 2 x 2.0639 = 4.128
    sd = cv.sd_from_ci_t(0.0, 4.128, 25)
    assert sd == pytest.approx(math.sqrt(25), abs=HALF_3DP)
    # large samples: 3.92 = 2 x 1.96
    assert cv.sd_from_ci_z(0.0, 3.92, 1) == pytest.approx(1.0, abs=HALF_3DP)


def test_handbook_difference_from_p():
    # Handbook: p = 0.008 with 25 + 22 patients -> t(45) = 2.78; MD 3.8 -> SE 3.8 / 2.78 = 1.37
    yi, vi = cv.effect_from_p(3.8, 0.008, n=47)
    assert yi == 3.8
    assert math.sqrt(vi) == pytest.approx(1.37, abs=HALF_2DP)


def test_handbook_sd_of_differences_example():
    # Handbook 16.4.6.4: SDs 2.38 and 2.21, r = 0.68, n = 10 -> SE of MD 0.583
    sd = cv.sd_change(2.38, 2.21, 0.68)
    assert sd / math.sqrt(10) == pytest.approx(0.583, abs=HALF_3DP)


def test_r_from_sds_inverts_sd_change():
    r = cv.r_from_sds(4.2, 4.4, cv.sd_change(4.2, 4.4, 0.43))
    assert r == pytest.approx(0.43, rel=RTOL_CLOSED)
    assert math.isnan(cv.r_from_sds(0.0, 4.4, 4.4))


def test_combine_reproduces_oraee_yazdani_table3():
    # Oraee-Yazdani 2021 Table 3 (shared facts): thoracic 7 x 50.00 (0.00) + cervical
    # 4 x 15.75 (5.90) gives the printed total 37.54 (17.58). Inputs and total are both
    # printed to 2 decimals, so agreement is within two half-units of the last digit.
    n, m, s = cv.combine_groups([7, 4], [50.0, 15.75], [0.0, 5.9])
    assert n == 11
    assert m == pytest.approx(37.54, abs=2 * HALF_2DP)
    assert s == pytest.approx(17.58, abs=2 * HALF_2DP)


def test_combine_is_order_free_and_single_group_identity():
    a = cv.combine_groups([10, 20, 15], [3.1, 4.2, 5.0], [1.0, 1.5, 0.8])
    b = cv.combine_groups([15, 10, 20], [5.0, 3.1, 4.2], [0.8, 1.0, 1.5])
    assert a == pytest.approx(b, rel=RTOL_CLOSED)
    assert cv.combine_groups([12], [3.0], [2.0]) == (12.0, 3.0, 2.0)
    with pytest.raises(ValueError):
        cv.combine_groups([10, 0], [1, 2], [1, 1])


# ---------------------------------------------------------------- the papers' own numbers
# Wan et al. 2014, Table 1: exact 2 E(Z_(n)) for selected n. xi(n) is Blom's approximation
# (formula used by Wan, Luo and Shi's own calculators); the paper notes it is close to the
# exact values, within 0.6% for n >= 10 (checked here at that documented accuracy).
WAN_TABLE1 = {10: 3.078, 15: 3.472, 20: 3.735, 25: 3.931, 30: 4.086, 40: 4.322, 50: 4.498}
BLOM_REL = 6e-3


@pytest.mark.parametrize("n,exact", sorted(WAN_TABLE1.items()))
def test_xi_close_to_wan_table1(n, exact):
    assert cv.xi(n) == pytest.approx(exact, rel=BLOM_REL)


def test_eta_tends_to_normal_iqr():
    # (q3 - q1) / 1.349 for a large normal sample (2 x 0.6745)
    assert cv.eta(1e7) == pytest.approx(2 * 0.6744897501960817, rel=1e-6)


def test_symmetric_summaries_give_the_median():
    # For symmetric data every estimator returns the median (Wan 2014, Luo 2018).
    for n in (5, 30, 400):
        assert cv.luo2018_mean_both(0, 20, 30, 40, 60, n) == pytest.approx(30, rel=RTOL_CLOSED)
        assert cv.luo2018_mean_iqr(20, 30, 40, n) == pytest.approx(30, rel=RTOL_CLOSED)
        assert cv.luo2018_mean_range(0, 30, 60, n) == pytest.approx(30, rel=RTOL_CLOSED)
        assert cv.wan2014_mean_both(0, 20, 30, 40, 60) == pytest.approx(30, rel=RTOL_CLOSED)


def test_normal_quantiles_recover_sigma():
    # A sample whose quartiles and extremes sit at their expected normal positions
    # (sigma = 10) must give SD = 10 with every SD estimator.
    n = 101
    q = 10 * cv.eta(n) / 2
    r = 10 * cv.xi(n) / 2
    kw = dict(minimum=-r, q1=-q, q3=q, maximum=r, n=n)
    assert cv.wan2014_sd_both(**kw) == pytest.approx(10, rel=RTOL_CLOSED)
    assert cv.shi2020_sd_both(**kw) == pytest.approx(10, rel=RTOL_CLOSED)
    assert cv.wan2014_sd_iqr(-q, q, n) == pytest.approx(10, rel=RTOL_CLOSED)
    assert cv.wan2014_sd_range(-r, r, n) == pytest.approx(10, rel=RTOL_CLOSED)


def test_median_to_mean_sd_dispatch_and_names():
    m, s, mm, sm = cv.median_to_mean_sd(30, 25, q1=20, q3=33, method="luo_wan")
    assert (mm, sm) == ("luo2018_mean_iqr", "wan2014_sd_iqr")
    assert m == cv.luo2018_mean_iqr(20, 25, 33, 30) and s == cv.wan2014_sd_iqr(20, 33, 30)
    _, s2, mm2, sm2 = cv.median_to_mean_sd(
        30, 25, q1=20, q3=33, minimum=10, maximum=60, method="shi_wan"
    )
    assert (mm2, sm2) == ("luo2018_mean_both", "shi2020_sd_both")
    assert s2 == cv.shi2020_sd_both(10, 20, 33, 60, 30)
    _, _, mm3, sm3 = cv.median_to_mean_sd(30, 25, minimum=10, maximum=60, method="wan")
    assert (mm3, sm3) == ("wan2014_mean_range", "wan2014_sd_range")
    with pytest.raises(ValueError):
        cv.median_to_mean_sd(30, 25)
    with pytest.raises(ValueError):
        cv.median_to_mean_sd(30, 25, q1=1, q3=2, method="hozo")


def test_every_method_has_a_reference():
    names = {
        "reported",
        "from_se",
        "from_ci_t",
        "from_ci_z",
        "combined_subgroups",
        "imputed_mean",
        "imputed_max",
        "from_ci",
        "from_p",
    }
    for mean_p, sd_p in cv.MEDIAN_METHODS.values():
        for kind in ("iqr", "range", "both"):
            names.add(f"{mean_p}_mean_{kind}")
    names |= {"wan2014_sd_iqr", "wan2014_sd_range", "wan2014_sd_both", "shi2020_sd_both"}
    missing = names - set(cv.METHOD_REFERENCES)
    assert not missing
    assert "doi:10.1177/0962280216669183" in cv.METHOD_REFERENCES["luo2018_mean_iqr"]
    assert "doi:10.1002/jrsm.1429" in cv.METHOD_REFERENCES["shi2020_sd_both"]


def test_vectorised_equals_scalar():
    se = np.array([2.1, 0.6, 1.2])
    n = np.array([17, 15, 106])
    vec = cv.sd_from_se(se, n)
    assert isinstance(vec, np.ndarray)
    assert vec.tolist() == [cv.sd_from_se(a, b) for a, b in zip(se, n)]
    lo, hi = np.array([1.0, 2.3]), np.array([7.4, 28.5])
    vt = cv.sd_from_ci_t(lo, hi, np.array([9, 12]))
    assert vt.tolist() == [cv.sd_from_ci_t(1.0, 7.4, 9), cv.sd_from_ci_t(2.3, 28.5, 12)]


def test_t_wider_than_z_and_converges():
    assert cv.sd_from_ci_t(0, 4, 10) < cv.sd_from_ci_z(0, 4, 10)
    assert cv.sd_from_ci_t(0, 4, 10**7) == pytest.approx(cv.sd_from_ci_z(0, 4, 10**7), rel=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError):
        cv.sd_from_ci_t(0, 1, 10, level=95)
    with pytest.raises(ValueError):
        cv.sd_from_ci(0, 1, 10, distribution="normal")
    with pytest.raises(ValueError):
        cv.effect_from_p(1.0, 0.0)
    with pytest.raises(ValueError):
        cv.sd_change(1, 1, 1.5)
    yi, vi = cv.effect_from_p(0.0, 0.5)
    assert yi == 0 and math.isnan(vi)


def test_effect_from_ci_uses_midpoint_when_estimate_missing():
    yi, vi = cv.effect_from_ci(np.nan, 1.0, 3.0)
    assert yi == 2.0
    assert vi == pytest.approx((2.0 / (2 * 1.959963984540054)) ** 2, rel=RTOL_CLOSED)
