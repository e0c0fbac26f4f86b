"""Conversions of reported summary statistics to means, SDs and effect variances.

Pure, numpy-vectorised functions (scalars or arrays in, float or ndarray out).
Nothing is rounded. Every method name written to ``mean_method``,
``sd_method`` or ``effect_method`` by :mod:`scimeta.extract` is a key of
:data:`METHOD_REFERENCES`, which gives the formula's source so the report can
cite it.

References
----------
Higgins JPT, Li T, Deeks JJ (editors). Chapter 6: Choosing effect measures and
computing estimates of effect. In: Cochrane Handbook for Systematic Reviews of
Interventions, version 6.4 (2023), sections 6.5.2.2, 6.5.2.3, 6.5.2.8 and
Table 6.5.a.

Wan X, Wang W, Liu J, Tong T (2014). Estimating the sample mean and standard
deviation from the sample size, median, range and/or interquartile range.
BMC Med Res Methodol 14:135. doi:10.1186/1471-2288-14-135

Luo D, Wan X, Liu J, Tong T (2018). Optimally estimating the sample mean from
the sample size, median, mid-range, and/or mid-quartile range. Stat Methods
Med Res 27(6):1785-1805. doi:10.1177/0962280216669183

Shi J, Luo D, Weng H, et al. (2020). Optimally estimating the sample standard
deviation from the five-number summary. Res Synth Methods 11(5):641-654.
doi:10.1002/jrsm.1429
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from scimeta._dist import norm_ppf, t_ppf, t_sf2

__all__ = [
    "METHOD_REFERENCES",
    "MEDIAN_METHODS",
    "sd_from_se",
    "sd_from_ci_t",
    "sd_from_ci_z",
    "sd_from_ci",
    "mean_from_ci",
    "xi",
    "eta",
    "wan2014_mean_range",
    "wan2014_mean_iqr",
    "wan2014_mean_both",
    "wan2014_sd_range",
    "wan2014_sd_iqr",
    "wan2014_sd_both",
    "luo2018_mean_range",
    "luo2018_mean_iqr",
    "luo2018_mean_both",
    "shi2020_sd_both",
    "median_to_mean_sd",
    "effect_from_ci",
    "effect_from_se",
    "effect_from_p",
    "sd_change",
    "r_from_sds",
    "paired_t",
    "paired_p",
    "sd_change_from_t",
    "sd_change_from_p",
    "r_from_paired_t",
    "r_from_paired_p",
    "r_range_from_paired_p",
    "half_unit",
    "reported_p",
    "P_UPPER_BOUND",
    "combine_groups",
]

_HANDBOOK = (
    "Higgins JPT, Li T, Deeks JJ (eds). Cochrane Handbook for Systematic Reviews "
    "of Interventions v6.4 (2023), chapter 6"
)
_WAN = "Wan X et al. BMC Med Res Methodol 2014;14:135. doi:10.1186/1471-2288-14-135"
_LUO = "Luo D et al. Stat Methods Med Res 2018;27:1785-1805. doi:10.1177/0962280216669183"
_SHI = "Shi J et al. Res Synth Methods 2020;11:641-654. doi:10.1002/jrsm.1429"

#: Method name (as written to ``mean_method``/``sd_method``/``effect_method``)
#: -> formula and reference.
METHOD_REFERENCES: dict[str, str] = {
    "reported": "Value as reported in the paper",
    "from_se": f"SD = SE * sqrt(n); {_HANDBOOK}, section 6.5.2.2",
    "from_ci_t": (
        "SD = sqrt(n) (high - low) / (2 t_{1-alpha/2, n-1}); " f"{_HANDBOOK}, section 6.5.2.2"
    ),
    "from_ci_z": f"SD = sqrt(n) (high - low) / (2 z_{{1-alpha/2}}); {_HANDBOOK}, section 6.5.2.2",
    "ci_midpoint": f"mean = (low + high) / 2 (symmetric CI); {_HANDBOOK}, section 6.5.2.2",
    "wan2014_mean_range": f"mean = (min + 2 median + max) / 4; {_WAN}",
    "wan2014_mean_iqr": f"mean = (q1 + median + q3) / 3; {_WAN}",
    "wan2014_mean_both": f"mean = (min + 2 q1 + 2 median + 2 q3 + max) / 8; {_WAN}",
    "wan2014_sd_range": f"SD = (max - min) / xi(n), xi(n) = 2 Phi^-1((n - 0.375)/(n + 0.25)); {_WAN}",
    "wan2014_sd_iqr": f"SD = (q3 - q1) / eta(n), eta(n) = 2 Phi^-1((0.75 n - 0.125)/(n + 0.25)); {_WAN}",
    "wan2014_sd_both": f"SD = ((max - min)/xi(n) + (q3 - q1)/eta(n)) / 2; {_WAN}",
    "luo2018_mean_range": f"mean = w (min + max)/2 + (1 - w) median, w = 4/(4 + n^0.75); {_LUO}",
    "luo2018_mean_iqr": f"mean = w (q1 + q3)/2 + (1 - w) median, w = 0.7 + 0.39/n; {_LUO}",
    "luo2018_mean_both": (
        "mean = w1 (min + max)/2 + w2 (q1 + q3)/2 + (1 - w1 - w2) median, "
        f"w1 = 2.2/(2.2 + n^0.75), w2 = 0.7 - 0.72/n^0.55; {_LUO}"
    ),
    "shi2020_sd_both": (
        "SD = w (max - min)/xi(n) + (1 - w)(q3 - q1)/eta(n), w = 1/(1 + 0.07 n^0.6); " f"{_SHI}"
    ),
    "combined_subgroups": f"n = sum n_i, weighted mean, pooled SD; {_HANDBOOK}, Table 6.5.a",
    "imputed_mean": (
        "SD imputed as the mean SD of the other studies of the same outcome, timepoint and kind; "
        f"{_HANDBOOK}, section 6.5.2.7"
    ),
    "imputed_max": (
        "SD imputed as the largest SD of the other studies of the same outcome, timepoint and kind; "
        f"{_HANDBOOK}, section 6.5.2.7"
    ),
    "change_from_sds": (
        "SD_change = sqrt(SD_b^2 + SD_f^2 - 2 r SD_b SD_f); " f"{_HANDBOOK}, section 6.5.2.8"
    ),
    "change_from_t": (
        "SD_change = |mean change| sqrt(n) / |t|, t the paired t statistic; "
        f"{_HANDBOOK}, sections 6.5.2.3 and 6.5.2.8"
    ),
    "change_from_p": (
        "SD_change = |mean change| sqrt(n) / t_{1-p/2, n-1}, p the two-sided p of the paired t "
        f"test; {_HANDBOOK}, sections 6.5.2.3 and 6.5.2.8"
    ),
    "from_ci": (
        "yi = estimate, SE = (high - low) / (2 q), q = z_{1-alpha/2} (or t with n-2 df when n is "
        f"known); {_HANDBOOK}, section 6.5.2.3"
    ),
    "from_p": (
        "yi = estimate, SE = |yi| / q, q = z_{1-p/2} (or t_{1-p/2, n-2} when n is known), p two-sided; "
        f"{_HANDBOOK}, section 6.5.2.3"
    ),
    "from_t": (
        "yi = estimate, SE = |yi / t| with t the reported test statistic of the difference; "
        f"{_HANDBOOK}, section 6.5.2.3"
    ),
    "r_from_sds": (
        "r = (SD_b^2 + SD_f^2 - SD_change^2) / (2 SD_b SD_f); " f"{_HANDBOOK}, section 6.5.2.8"
    ),
}

#: ``extraction.median_method`` -> (mean method prefix, SD method prefix for
#: min/q1/median/q3/max). The range-only and IQR-only SDs are Wan's under every
#: choice (Shi et al. 2020 only improve the five-number case).
MEDIAN_METHODS: dict[str, tuple[str, str]] = {
    "luo_wan": ("luo2018", "wan2014"),
    "shi_wan": ("luo2018", "shi2020"),
    "wan": ("wan2014", "wan2014"),
}


def _f(x):
    """Float ndarray view of the input (scalars stay 0-d)."""
    return np.asarray(x, dtype=float)


def _out(x):
    """Return a Python float for 0-d results, an ndarray otherwise."""
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


def _check_level(level):
    level = _f(level)
    if np.any(~((level > 0) & (level < 1))):
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    return level


# --------------------------------------------------------------------------- SE / CI -> SD
def sd_from_se(se, n):
    r"""Standard deviation of a group from the standard error of its mean.

    .. math:: SD = SE \sqrt{n}

    Cochrane Handbook v6.4, section 6.5.2.2.
    """
    return _out(_f(se) * np.sqrt(_f(n)))


def sd_from_ci_t(low, high, n, level=0.95):
    r"""SD of a group from a confidence interval of its mean, t distribution.

    .. math:: SD = \sqrt{n}\,\frac{high - low}{2\,t_{1-\alpha/2,\,n-1}}

    with :math:`\alpha = 1 - level`. The Cochrane Handbook (v6.4, section
    6.5.2.2) recommends the t quantile for small samples (its example: n = 25,
    95% CI, divisor :math:`2 \times 2.0639 = 4.128`).
    """
    level = _check_level(level)
    n = _f(n)
    q = t_ppf(1 - (1 - level) / 2, n - 1)
    return _out(np.sqrt(n) * (_f(high) - _f(low)) / (2 * q))


def sd_from_ci_z(low, high, n, level=0.95):
    r"""SD of a group from a confidence interval of its mean, normal distribution.

    .. math:: SD = \sqrt{n}\,\frac{high - low}{2\,z_{1-\alpha/2}}

    (3.92 = 2 x 1.96 for a 95% interval; Cochrane Handbook v6.4, 6.5.2.2).
    """
    level = _check_level(level)
    q = norm_ppf(1 - (1 - level) / 2)
    return _out(np.sqrt(_f(n)) * (_f(high) - _f(low)) / (2 * q))


def sd_from_ci(low, high, n, level=0.95, distribution="t"):
    """Dispatch to :func:`sd_from_ci_t` or :func:`sd_from_ci_z`."""
    if distribution == "t":
        return sd_from_ci_t(low, high, n, level)
    if distribution == "z":
        return sd_from_ci_z(low, high, n, level)
    raise ValueError(f"distribution must be 't' or 'z', got {distribution!r}")


def mean_from_ci(low, high):
    r"""Mean as the midpoint of a symmetric confidence interval, :math:`(low + high)/2`."""
    return _out((_f(low) + _f(high)) / 2)


# --------------------------------------------------------------------------- median -> mean, SD
def xi(n):
    r"""Wan et al. (2014) range divisor.

    .. math:: \xi(n) = 2\,\Phi^{-1}\!\left(\frac{n - 0.375}{n + 0.25}\right)

    Blom's approximation of twice the expected maximum of n standard normal
    variables (Wan et al. 2014, doi:10.1186/1471-2288-14-135, formula 9; the
    paper's Table 1 lists the exact expectations, which this approximates to
    within 0.5% for n >= 10).
    """
    n = _f(n)
    return _out(2 * norm_ppf((n - 0.375) / (n + 0.25)))


def eta(n):
    r"""Wan et al. (2014) interquartile-range divisor.

    .. math:: \eta(n) = 2\,\Phi^{-1}\!\left(\frac{0.75 n - 0.125}{n + 0.25}\right)

    (doi:10.1186/1471-2288-14-135, formula 16). Tends to 1.349 = 2 x 0.6745.
    """
    n = _f(n)
    return _out(2 * norm_ppf((0.75 * n - 0.125) / (n + 0.25)))


def wan2014_mean_range(minimum, median, maximum):
    r"""Mean from {min, median, max} (Hozo 2005 / Wan 2014 scenario C1).

    .. math:: \bar X \approx \frac{a + 2m + b}{4}

    doi:10.1186/1471-2288-14-135.
    """
    return _out((_f(minimum) + 2 * _f(median) + _f(maximum)) / 4)


def wan2014_mean_iqr(q1, median, q3):
    r"""Mean from {q1, median, q3} (Wan 2014 scenario C3).

    .. math:: \bar X \approx \frac{q_1 + m + q_3}{3}

    doi:10.1186/1471-2288-14-135.
    """
    return _out((_f(q1) + _f(median) + _f(q3)) / 3)


def wan2014_mean_both(minimum, q1, median, q3, maximum):
    r"""Mean from the five-number summary (Wan 2014 scenario C2).

    .. math:: \bar X \approx \frac{a + 2q_1 + 2m + 2q_3 + b}{8}

    doi:10.1186/1471-2288-14-135.
    """
    return _out((_f(minimum) + 2 * _f(q1) + 2 * _f(median) + 2 * _f(q3) + _f(maximum)) / 8)


def wan2014_sd_range(minimum, maximum, n):
    r"""SD from the range (Wan 2014 scenario C1).

    .. math:: S \approx \frac{b - a}{\xi(n)}

    doi:10.1186/1471-2288-14-135.
    """
    return _out((_f(maximum) - _f(minimum)) / _f(xi(n)))


def wan2014_sd_iqr(q1, q3, n):
    r"""SD from the interquartile range (Wan 2014 scenario C3).

    .. math:: S \approx \frac{q_3 - q_1}{\eta(n)}

    doi:10.1186/1471-2288-14-135.
    """
    return _out((_f(q3) - _f(q1)) / _f(eta(n)))


def wan2014_sd_both(minimum, q1, q3, maximum, n):
    r"""SD from range and IQR (Wan 2014 scenario C2).

    .. math:: S \approx \frac{1}{2}\left(\frac{b - a}{\xi(n)} + \frac{q_3 - q_1}{\eta(n)}\right)

    doi:10.1186/1471-2288-14-135.
    """
    return _out(0.5 * ((_f(maximum) - _f(minimum)) / _f(xi(n)) + (_f(q3) - _f(q1)) / _f(eta(n))))


def luo2018_mean_range(minimum, median, maximum, n):
    r"""Mean from {min, median, max}, Luo et al. (2018) optimal weight.

    .. math::
        \bar X \approx w\,\frac{a + b}{2} + (1 - w)\,m, \qquad w = \frac{4}{4 + n^{0.75}}

    doi:10.1177/0962280216669183.
    """
    n = _f(n)
    w = 4 / (4 + n**0.75)
    return _out(w * (_f(minimum) + _f(maximum)) / 2 + (1 - w) * _f(median))


def luo2018_mean_iqr(q1, median, q3, n):
    r"""Mean from {q1, median, q3}, Luo et al. (2018) optimal weight.

    .. math::
        \bar X \approx w\,\frac{q_1 + q_3}{2} + (1 - w)\,m, \qquad w = 0.7 + \frac{0.39}{n}

    doi:10.1177/0962280216669183.
    """
    n = _f(n)
    w = 0.7 + 0.39 / n
    return _out(w * (_f(q1) + _f(q3)) / 2 + (1 - w) * _f(median))


def luo2018_mean_both(minimum, q1, median, q3, maximum, n):
    r"""Mean from the five-number summary, Luo et al. (2018) optimal weights.

    .. math::
        \bar X \approx w_1 \frac{a + b}{2} + w_2 \frac{q_1 + q_3}{2} + (1 - w_1 - w_2)\,m,
        \quad w_1 = \frac{2.2}{2.2 + n^{0.75}},\ w_2 = 0.7 - \frac{0.72}{n^{0.55}}

    doi:10.1177/0962280216669183.
    """
    n = _f(n)
    w1 = 2.2 / (2.2 + n**0.75)
    w2 = 0.7 - 0.72 / n**0.55
    return _out(
        w1 * (_f(minimum) + _f(maximum)) / 2
        + w2 * (_f(q1) + _f(q3)) / 2
        + (1 - w1 - w2) * _f(median)
    )


def shi2020_sd_both(minimum, q1, q3, maximum, n):
    r"""SD from the five-number summary, Shi et al. (2020) smoothly weighted estimator.

    .. math::
        S \approx w\,\frac{b - a}{\xi(n)} + (1 - w)\,\frac{q_3 - q_1}{\eta(n)},
        \qquad w = \frac{1}{1 + 0.07\,n^{0.6}}

    doi:10.1002/jrsm.1429.
    """
    n = _f(n)
    w = 1 / (1 + 0.07 * n**0.6)
    return _out(
        w * (_f(maximum) - _f(minimum)) / _f(xi(n)) + (1 - w) * (_f(q3) - _f(q1)) / _f(eta(n))
    )


def median_to_mean_sd(n, median, *, q1=None, q3=None, minimum=None, maximum=None, method="luo_wan"):
    """Mean and SD of one group from its median with IQR, range or both.

    Parameters
    ----------
    n, median : float
    q1, q3, minimum, maximum : float or None
        The quartiles and/or the range (both ends of each; ``None``/NaN = absent).
    method : {'luo_wan', 'shi_wan', 'wan'}
        ``extraction.median_method`` (see :data:`MEDIAN_METHODS`).

    Returns
    -------
    tuple
        ``(mean, sd, mean_method, sd_method)``; method names are keys of
        :data:`METHOD_REFERENCES`.

    Raises
    ------
    ValueError
        If neither a complete IQR nor a complete range is given, or the method is unknown.
    """
    if method not in MEDIAN_METHODS:
        raise ValueError(f"median_method must be one of {sorted(MEDIAN_METHODS)}, got {method!r}")
    mean_prefix, sd_prefix = MEDIAN_METHODS[method]

    def ok(x):
        return x is not None and np.isfinite(float(x))

    has_iqr = ok(q1) and ok(q3)
    has_range = ok(minimum) and ok(maximum)
    if has_iqr and has_range:
        kind = "both"
        mean = (
            luo2018_mean_both(minimum, q1, median, q3, maximum, n)
            if mean_prefix == "luo2018"
            else wan2014_mean_both(minimum, q1, median, q3, maximum)
        )
        sd = (
            shi2020_sd_both(minimum, q1, q3, maximum, n)
            if sd_prefix == "shi2020"
            else wan2014_sd_both(minimum, q1, q3, maximum, n)
        )
        sd_name = f"{sd_prefix}_sd_both"
    elif has_iqr:
        kind = "iqr"
        mean = (
            luo2018_mean_iqr(q1, median, q3, n)
            if mean_prefix == "luo2018"
            else wan2014_mean_iqr(q1, median, q3)
        )
        sd = wan2014_sd_iqr(q1, q3, n)
        sd_name = "wan2014_sd_iqr"
    elif has_range:
        kind = "range"
        mean = (
            luo2018_mean_range(minimum, median, maximum, n)
            if mean_prefix == "luo2018"
            else wan2014_mean_range(minimum, median, maximum)
        )
        sd = wan2014_sd_range(minimum, maximum, n)
        sd_name = "wan2014_sd_range"
    else:
        raise ValueError("a median needs q1 and q3, or min and max, to give a mean and SD")
    return float(mean), float(sd), f"{mean_prefix}_mean_{kind}", sd_name


# --------------------------------------------------------------------------- between-group differences
def _crit(prob_upper, n=None):
    """Upper quantile: t with n - 2 df where n (total of both arms) is known and > 2, else z."""
    prob_upper = _f(prob_upper)
    if n is None:
        return norm_ppf(prob_upper)
    n = _f(n)
    df = n - 2
    t = t_ppf(prob_upper, np.where(df > 0, df, np.nan))
    return np.where(np.isfinite(n) & (df > 0), t, norm_ppf(prob_upper))


def effect_from_ci(estimate, low, high, level=0.95, n=None):
    r"""Generic inverse-variance input from an estimate and its confidence interval.

    .. math::
        y_i = \hat\theta, \qquad SE = \frac{high - low}{2\,q_{1-\alpha/2}}, \qquad v_i = SE^2

    with :math:`q` the standard normal quantile, or the t quantile with
    :math:`n - 2` degrees of freedom when the total sample size :math:`n` of
    both arms is given (Cochrane Handbook v6.4, section 6.5.2.3). Where the
    estimate is missing (NaN) the CI midpoint is used. Same convention as
    metafor's ``conv.wald`` (metafor >= 4.0) with its default normal quantile.

    Returns
    -------
    tuple of (yi, vi)
    """
    level = _check_level(level)
    low, high = _f(low), _f(high)
    est = _f(estimate)
    est = np.where(np.isnan(est), (low + high) / 2, est)
    q = _crit(1 - (1 - level) / 2, n)
    sei = (high - low) / (2 * q)
    return _out(est), _out(sei**2)


def effect_from_se(estimate, se):
    r"""Generic inverse-variance input from an estimate and its standard error: :math:`v_i = SE^2`."""
    return _out(_f(estimate)), _out(_f(se) ** 2)


def effect_from_p(estimate, p, n=None):
    r"""Generic inverse-variance input from an estimate and its two-sided p-value.

    .. math::
        SE = \frac{|\hat\theta|}{q_{1 - p/2}}, \qquad v_i = SE^2

    with :math:`q` the standard normal quantile, or the t quantile with
    :math:`n - 2` df when the total sample size is known (Cochrane Handbook
    v6.4, section 6.5.2.3: e.g. p = 0.008 with 25 + 22 patients gives
    t = 2.78 and SE = 3.8 / 2.78 = 1.37 for MD = 3.8). An estimate of 0 or
    p = 1 gives no information (SE undefined): the result is NaN.
    """
    p = _f(p)
    if np.any((p <= 0) | (p > 1)):
        raise ValueError("p must be in (0, 1]")
    est = _f(estimate)
    q = _crit(1 - p / 2, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        sei = np.where((q > 0) & (est != 0), np.abs(est) / q, np.nan)
    return _out(est), _out(sei**2)


def effect_from_t(estimate, t):
    r"""Generic inverse-variance input from an estimate and its reported t (or z) statistic.

    .. math::
        SE = \left|\frac{\hat\theta}{t}\right|, \qquad v_i = SE^2

    (Cochrane Handbook v6.4, section 6.5.2.3: the SE is the difference divided
    by its test statistic). A statistic of 0 gives no information: NaN.
    """
    est, t = _f(estimate), _f(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        sei = np.where((t != 0) & np.isfinite(t), np.abs(est / t), np.nan)
    return _out(est), _out(sei**2)


# --------------------------------------------------------------------------- change scores
def sd_change(sd_baseline, sd_final, r):
    r"""SD of the change from baseline from the baseline and final SDs and their correlation.

    .. math:: SD_{change} = \sqrt{SD_b^2 + SD_f^2 - 2\,r\,SD_b\,SD_f}

    Cochrane Handbook v6.4, section 6.5.2.8 (its cross-over example: SDs 2.38
    and 2.21 with r = 0.68 give 1.84, SE 0.583 for n = 10).
    """
    b, f, r = _f(sd_baseline), _f(sd_final), _f(r)
    if np.any(np.abs(r[np.isfinite(r)]) > 1):
        raise ValueError("r must be in [-1, 1]")
    return _out(np.sqrt(b**2 + f**2 - 2 * r * b * f))


def r_from_sds(sd_baseline, sd_final, sd_change_):
    r"""Pre-post correlation implied by baseline, final and change SDs.

    .. math:: r = \frac{SD_b^2 + SD_f^2 - SD_{change}^2}{2\,SD_b\,SD_f}

    Cochrane Handbook v6.4, section 6.5.2.8. Not clipped: a value outside
    [-1, 1] means the three SDs are inconsistent, and callers must say so.
    NaN when a baseline or final SD is 0.
    """
    b, f, c = _f(sd_baseline), _f(sd_final), _f(sd_change_)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where((b > 0) & (f > 0), (b**2 + f**2 - c**2) / (2 * b * f), np.nan)
    return _out(r)


# --------------------------------------------------------------------------- the paired test
#: A ``p_value`` at or below this with no ``p_relation`` is read as "p < value" (the sheets
#: enter "p < 0.001" as 0.001).
P_UPPER_BOUND = 0.001


def half_unit(x: float) -> float:
    """Half a unit of the last decimal of ``x`` as printed (shortest repr, trailing zeros
    dropped): the rounding of a reported number (0.059 -> 0.0005, 41.0 -> 0.5)."""
    exponent = Decimal(repr(float(x))).normalize().as_tuple().exponent
    decimals = max(0, -exponent) if isinstance(exponent, int) else 0
    return 0.5 * 10.0 ** (-decimals)


def reported_p(p, relation: str = "") -> tuple[str, float, float]:
    """How a reported p-value reads: ``(relation, low, high)``, the range of the true p.

    ``relation`` (the ``p_relation`` column, or the sign of a quoted p) is ``exact`` or
    ``=`` (as printed: ``p`` ± half a unit of its last decimal), ``below`` or ``<``
    (``0`` to ``p``), ``above`` or ``>`` (``p`` to 1); ``<=``/``≤`` read as ``<``,
    ``>=``/``≥`` as ``>``. Empty: ``<`` when ``p`` <= :data:`P_UPPER_BOUND` ("p < 0.001"
    entered as 0.001), else ``=``. The returned relation is ``=``, ``<`` or ``>``.
    """
    p = float(p)
    text = str(relation).strip()
    rel = {"exact": "=", "below": "<", "above": ">", "<=": "<", "≤": "<", ">=": ">",
           "≥": ">"}.get(text, text)
    if rel == "":
        rel = "<" if p <= P_UPPER_BOUND else "="
    if rel == "<":
        return rel, 0.0, p
    if rel == ">":
        return rel, p, 1.0
    if rel != "=":
        raise ValueError(f"p relation must be one of exact, below, above (=, <, >); "
                         f"got {relation!r}")
    h = half_unit(p)
    return rel, max(p - h, 0.0), min(p + h, 1.0)


def paired_t(n, mean_baseline, sd_baseline, mean_final, sd_final, r):
    r"""t statistic of the paired test of follow-up against baseline, with ``n - 1`` df.

    .. math::
        t = \frac{\bar x_f - \bar x_b}{SD_{change} / \sqrt n}, \qquad
        SD_{change} = \sqrt{SD_b^2 + SD_f^2 - 2\,r\,SD_b\,SD_f}

    (Cochrane Handbook v6.4, sections 6.5.2.3 and 6.5.2.8). Infinite when the SD of
    change is 0 and the means differ.
    """
    n = _f(n)
    diff = _f(mean_final) - _f(mean_baseline)
    sdc = sd_change(sd_baseline, sd_final, r)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _out(np.where(diff == 0, 0.0, diff / (_f(sdc) / np.sqrt(n))))


def paired_p(n, mean_baseline, sd_baseline, mean_final, sd_final, r):
    """Two-sided p of :func:`paired_t` (t distribution with ``n - 1`` df)."""
    t = _f(paired_t(n, mean_baseline, sd_baseline, mean_final, sd_final, r))
    return _out(t_sf2(t, _f(n) - 1))


def sd_change_from_t(mean_change, t, n):
    r"""SD of change from the mean change and its paired t statistic.

    .. math:: SD_{change} = \frac{|\bar x_{change}|\,\sqrt n}{|t|}

    (Cochrane Handbook v6.4, sections 6.5.2.3 and 6.5.2.8: SE = mean / t, SD = SE·√n).
    NaN when t or the mean change is 0 (no information).
    """
    m, t, n = _f(mean_change), _f(t), _f(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        informative = (t != 0) & (m != 0) & np.isfinite(t)
        return _out(np.where(informative, np.abs(m) * np.sqrt(n) / np.abs(t), np.nan))


def sd_change_from_p(mean_change, p, n):
    r"""SD of change from the mean change and the two-sided p of its paired t test.

    :math:`t = t_{1 - p/2,\,n - 1}`, then :func:`sd_change_from_t`. p = 1 or a mean
    change of 0 gives NaN; p = 0 gives 0.
    """
    p = _f(p)
    if np.any((p < 0) | (p > 1)):
        raise ValueError("p must be in [0, 1]")
    t = t_ppf(1 - p / 2, _f(n) - 1)
    m, n = _f(mean_change), _f(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(np.isinf(t), 0.0, np.abs(m) * np.sqrt(n) / _f(t))
    return _out(np.where((m == 0) | (_f(t) == 0), np.nan, out))


def r_from_paired_t(n, mean_baseline, sd_baseline, mean_final, sd_final, t):
    r"""Pre-post correlation implied by the paired t statistic (not clipped).

    :func:`sd_change_from_t` of the mean change, then :func:`r_from_sds` (Cochrane
    Handbook v6.4, section 6.5.2.8). A value outside [-1, 1] means the reported
    numbers are inconsistent (or rounded), and callers must say so.
    """
    sdc = sd_change_from_t(_f(mean_final) - _f(mean_baseline), t, n)
    return r_from_sds(sd_baseline, sd_final, sdc)


def r_from_paired_p(n, mean_baseline, sd_baseline, mean_final, sd_final, p):
    """Pre-post correlation implied by the two-sided p of the paired t test (not clipped):
    :func:`sd_change_from_p`, then :func:`r_from_sds`."""
    sdc = sd_change_from_p(_f(mean_final) - _f(mean_baseline), p, n)
    return r_from_sds(sd_baseline, sd_final, sdc)


def r_range_from_paired_p(n, mean_baseline, sd_baseline, mean_final, sd_final, p_low, p_high):
    """The correlations in [-1, 1] whose paired p lies in ``[p_low, p_high]``: ``(low, high)``.

    The paired p falls as r rises (the SD of change shrinks), so the range runs from the r
    of ``p_high`` to the r of ``p_low``, each clipped to [-1, 1]. ``(nan, nan)`` when no r
    in [-1, 1] agrees, or when the means are equal (p = 1 whatever r).
    """
    if float(mean_final) == float(mean_baseline):
        return (np.nan, np.nan)
    lo = float(r_from_paired_p(n, mean_baseline, sd_baseline, mean_final, sd_final, p_high))
    hi = float(r_from_paired_p(n, mean_baseline, sd_baseline, mean_final, sd_final, p_low))
    lo = -1.0 if not np.isfinite(lo) and p_high >= 1 else lo
    hi = 1.0 if not np.isfinite(hi) and p_low <= 0 else hi
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo > 1 or hi < -1:
        return (np.nan, np.nan)
    return (max(lo, -1.0), min(hi, 1.0))


# --------------------------------------------------------------------------- subgroups
def combine_groups(ns, means, sds):
    r"""Combine the summaries of any number of groups into one group.

    Repeated use of the two-group formula of Cochrane Handbook v6.4 Table 6.5.a,
    written in closed form for k groups:

    .. math::
        N = \sum_i n_i, \quad M = \frac{\sum_i n_i m_i}{N}, \quad
        SD = \sqrt{\frac{\sum_i (n_i - 1) s_i^2 + \sum_i n_i (m_i - M)^2}{N - 1}}

    (for two groups the between-group sum of squares equals the Handbook's
    :math:`\frac{n_1 n_2}{n_1 + n_2}(m_1 - m_2)^2`).

    Returns
    -------
    tuple of (n, mean, sd) as floats
    """
    ns, means, sds = _f(ns).ravel(), _f(means).ravel(), _f(sds).ravel()
    if not (ns.size == means.size == sds.size) or ns.size == 0:
        raise ValueError("ns, means and sds must be non-empty and of equal length")
    if np.any(~np.isfinite(ns)) or np.any(ns < 1):
        raise ValueError("every n must be a finite number >= 1")
    n = ns.sum()
    mean = float(np.sum(ns * means) / n)
    ss = np.sum((ns - 1) * sds**2) + np.sum(ns * (means - mean) ** 2)
    return float(n), mean, float(np.sqrt(ss / (n - 1)))
