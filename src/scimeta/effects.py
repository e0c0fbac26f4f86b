"""Effect sizes for continuous outcomes from summary statistics.

Six measures, with the names, argument names and default variance
estimators of metafor's ``escalc()`` (Viechtbauer 2010,
doi:10.18637/jss.v036.i03):

* between two independent groups: ``MD`` (raw mean difference), ``SMD``
  (Hedges' g), ``ROM`` (log ratio of means);
* within one group measured twice: ``MC`` (raw mean change), ``SMCR``
  (standardised mean change, raw-score standardisation) and ``SMCC``
  (standardised mean change, change-score standardisation).

For the pre-post measures ``m1i`` is the follow-up mean and ``m2i`` the
baseline mean, so a positive ``yi`` is an increase over time. ``SMCR`` is
standardised by ``sd1i`` exactly as metafor does; to standardise by the
baseline SD (Becker 1988; Morris 2008) pass the baseline SD as ``sd1i``
(``sd2i`` is not used by ``SMCR``).

All functions are vectorised over numpy arrays; scalars are broadcast to the
common length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from scimeta._dist import norm_ppf

__all__ = [
    "MEASURES",
    "MEASURES_BETWEEN",
    "MEASURES_PREPOST",
    "EffectSizes",
    "escalc",
    "hedges_correction",
]

MEASURES_BETWEEN = ("MD", "SMD", "ROM")
MEASURES_PREPOST = ("MC", "SMCR", "SMCC")
MEASURES = MEASURES_BETWEEN + MEASURES_PREPOST


@dataclass(frozen=True)
class EffectSizes:
    """Effect sizes and their sampling variances.

    Attributes
    ----------
    measure : str
        One of :data:`MEASURES`.
    yi : numpy.ndarray
        Observed effect sizes, shape ``(k,)``.
    vi : numpy.ndarray
        Sampling variances, shape ``(k,)``.
    """

    measure: str
    yi: np.ndarray
    vi: np.ndarray

    @property
    def sei(self) -> np.ndarray:
        """Standard errors, :math:`\\sqrt{v_i}`."""
        return np.sqrt(self.vi)

    @property
    def k(self) -> int:
        """Number of effect sizes."""
        return int(self.yi.shape[0])

    def ci(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Normal-theory (Wald) confidence limits :math:`y_i \\pm z_{1-\\alpha/2}\\sqrt{v_i}`.

        Parameters
        ----------
        level : float
            Confidence level in (0, 1).

        Returns
        -------
        (ci_low, ci_high) : tuple of numpy.ndarray
        """
        _check_level(level)
        crit = norm_ppf(0.5 + level / 2.0)
        return self.yi - crit * self.sei, self.yi + crit * self.sei

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """One row per effect: ``measure, yi, vi, sei, ci_low, ci_high``."""
        low, high = self.ci(level)
        return pd.DataFrame(
            {
                "measure": [self.measure] * self.k,
                "yi": self.yi,
                "vi": self.vi,
                "sei": self.sei,
                "ci_low": low,
                "ci_high": high,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python representation (lists of floats)."""
        return {
            "measure": self.measure,
            "yi": self.yi.tolist(),
            "vi": self.vi.tolist(),
        }


def _check_level(level: float) -> None:
    if not (0.0 < float(level) < 1.0):
        raise ValueError(f"level must be in (0, 1), got {level!r}")


def hedges_correction(m: np.ndarray | float) -> np.ndarray:
    """Exact small-sample bias correction of Hedges (1981).

    .. math::

        c(m) = \\frac{\\Gamma(m/2)}{\\sqrt{m/2}\\,\\Gamma((m-1)/2)}
             = \\exp\\Big(\\ln\\Gamma(m/2) - \\tfrac12\\ln(m/2)
                          - \\ln\\Gamma\\big((m-1)/2\\big)\\Big)

    computed on the log scale so that it is accurate for large ``m``.
    Undefined (NaN) for :math:`m \\le 1`.

    Parameters
    ----------
    m : array_like
        Degrees of freedom of the standardiser: :math:`n_1 + n_2 - 2` for
        ``SMD``, :math:`n - 1` for ``SMCR``/``SMCC``.

    References
    ----------
    Hedges, L. V. (1981). Distribution theory for Glass's estimator of effect
    size and related estimators. *Journal of Educational Statistics*, 6(2),
    107-128. doi:10.3102/10769986006002107
    """
    m = np.asarray(m, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.exp(special.gammaln(m / 2.0) - 0.5 * np.log(m / 2.0) - special.gammaln((m - 1.0) / 2.0))
    return np.where(m > 1.0, out, np.nan)


_ARGS_BETWEEN = ("n1i", "m1i", "sd1i", "n2i", "m2i", "sd2i")
_ARGS = {
    "MD": _ARGS_BETWEEN,
    "SMD": _ARGS_BETWEEN,
    "ROM": _ARGS_BETWEEN,
    "MC": ("m1i", "m2i", "sd1i", "sd2i", "ni", "ri"),
    "SMCC": ("m1i", "m2i", "sd1i", "sd2i", "ni", "ri"),
    "SMCR": ("m1i", "m2i", "sd1i", "ni", "ri"),
}


def _prepare(measure: str, given: dict[str, Any]) -> dict[str, np.ndarray]:
    """Convert, broadcast and check the arguments a measure needs."""
    needed = _ARGS[measure]
    missing = [name for name in needed if given.get(name) is None]
    if missing:
        raise ValueError(f"measure {measure!r} needs argument(s) {', '.join(missing)}")
    arrays: dict[str, np.ndarray] = {}
    for name in needed:
        try:
            arr = np.asarray(given[name], dtype=float)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}: values must be numeric ({exc})") from None
        if arr.ndim > 1:
            raise ValueError(f"{name}: expected a 1-d array, got shape {arr.shape}")
        arrays[name] = np.atleast_1d(arr)
    lengths = {name: a.shape[0] for name, a in arrays.items()}
    k = max(lengths.values())
    bad = {name: n for name, n in lengths.items() if n not in (1, k)}
    if bad:
        raise ValueError(f"arguments have different lengths: {lengths}")
    arrays = {name: np.broadcast_to(a, (k,)).copy() for name, a in arrays.items()}
    for name, a in arrays.items():
        nonfinite = np.flatnonzero(~np.isfinite(a))
        if nonfinite.size:
            i = int(nonfinite[0])
            raise ValueError(f"study {i}: {name} = {float(a[i])!r} is not a finite number")
    return arrays


def _fail_where(mask: np.ndarray, name: str, values: np.ndarray, message: str) -> None:
    idx = np.flatnonzero(mask)
    if idx.size:
        i = int(idx[0])
        raise ValueError(f"study {i}: {name} = {float(values[i])!r} {message}")


def escalc(
    measure: str,
    *,
    n1i=None,
    m1i=None,
    sd1i=None,
    n2i=None,
    m2i=None,
    sd2i=None,
    ni=None,
    ri=None,
) -> EffectSizes:
    """Compute effect sizes and sampling variances as metafor's ``escalc()``.

    Parameters
    ----------
    measure : {"MD", "SMD", "ROM", "MC", "SMCR", "SMCC"}
        Effect-size measure (metafor's names).
    n1i, m1i, sd1i, n2i, m2i, sd2i : array_like, optional
        Group sizes, means and SDs of group 1 (treatment) and group 2
        (control) for ``MD``/``SMD``/``ROM``. For the pre-post measures
        ``m1i``/``sd1i`` describe the follow-up and ``m2i``/``sd2i`` the
        baseline measurement.
    ni, ri : array_like, optional
        Sample size and pre-post correlation for ``MC``/``SMCR``/``SMCC``.

    Returns
    -------
    EffectSizes

    Raises
    ------
    ValueError
        If an argument the measure needs is missing, values are not finite,
        lengths differ, or a value is out of range; the message names the
        study (0-based index) and the argument.

    Notes
    -----
    With :math:`\\bar x_1, \\bar x_2` the means, :math:`s_1, s_2` the SDs and
    :math:`n_1, n_2` the sizes (metafor's default ``vtype = "LS"`` variances):

    ``MD`` (raw mean difference)

    .. math::

        y = \\bar x_1 - \\bar x_2, \\qquad v = s_1^2/n_1 + s_2^2/n_2

    ``SMD`` (Hedges' g; Hedges 1981, doi:10.3102/10769986006002107), with
    :math:`m = n_1 + n_2 - 2`, the pooled SD
    :math:`s_p^2 = ((n_1-1)s_1^2 + (n_2-1)s_2^2)/m` and the exact correction
    :math:`c(m)` of :func:`hedges_correction`:

    .. math::

        y = c(m)\\,\\frac{\\bar x_1 - \\bar x_2}{s_p}, \\qquad
        v = \\frac{1}{n_1} + \\frac{1}{n_2} + \\frac{y^2}{2(n_1+n_2)}

    ``ROM`` (log ratio of means; Hedges, Gurevitch & Curtis 1999,
    doi:10.1890/0012-9658(1999)080[1150:TMAORR]2.0.CO;2)

    .. math::

        y = \\ln(\\bar x_1/\\bar x_2), \\qquad
        v = \\frac{s_1^2}{n_1\\bar x_1^2} + \\frac{s_2^2}{n_2\\bar x_2^2}

    ``MC`` (raw mean change; follow-up 1, baseline 2, correlation r)

    .. math::

        y = \\bar x_1 - \\bar x_2, \\qquad
        v = (s_1^2 + s_2^2 - 2 r s_1 s_2)/n

    ``SMCC`` (change-score standardisation; Gibbons et al. 1993; Morris &
    DeShon 2002, doi:10.1037/1082-989X.7.1.105), with
    :math:`s_d^2 = s_1^2 + s_2^2 - 2 r s_1 s_2`:

    .. math::

        y = c(n-1)\\,\\frac{\\bar x_1 - \\bar x_2}{s_d}, \\qquad
        v = \\frac1n + \\frac{y^2}{2n}

    ``SMCR`` (raw-score standardisation by ``sd1i``; Becker 1988,
    doi:10.1111/j.2044-8317.1988.tb00901.x; Morris 2008,
    doi:10.1177/1094428106291059):

    .. math::

        y = c(n-1)\\,\\frac{\\bar x_1 - \\bar x_2}{s_1}, \\qquad
        v = \\frac{2(1-r)}{n} + \\frac{y^2}{2n}

    Examples
    --------
    >>> es = escalc("MD", n1i=[10], m1i=[5.0], sd1i=[2.0],
    ...             n2i=[12], m2i=[4.0], sd2i=[2.5])
    >>> float(es.yi[0])
    1.0
    """
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, got {measure!r}")
    a = _prepare(
        measure,
        {"n1i": n1i, "m1i": m1i, "sd1i": sd1i, "n2i": n2i, "m2i": m2i, "sd2i": sd2i, "ni": ni, "ri": ri},
    )

    for name in ("sd1i", "sd2i"):
        if name in a:
            _fail_where(a[name] < 0, name, a[name], "is negative; standard deviations must be >= 0")

    if measure in MEASURES_BETWEEN:
        for name in ("n1i", "n2i"):
            _fail_where(a[name] < 2, name, a[name], "is < 2; each group needs n >= 2 for a standard deviation")
        n1, n2 = a["n1i"], a["n2i"]
        x1, x2, s1, s2 = a["m1i"], a["m2i"], a["sd1i"], a["sd2i"]
        if measure == "MD":
            yi = x1 - x2
            vi = s1**2 / n1 + s2**2 / n2
        elif measure == "SMD":
            m = n1 + n2 - 2.0
            sp = np.sqrt(((n1 - 1.0) * s1**2 + (n2 - 1.0) * s2**2) / m)
            _fail_where(sp <= 0, "sd1i", s1, "and sd2i are both 0; the pooled SD must be > 0 for SMD")
            yi = hedges_correction(m) * (x1 - x2) / sp
            vi = 1.0 / n1 + 1.0 / n2 + yi**2 / (2.0 * (n1 + n2))
        else:  # ROM
            _fail_where(x1 == 0, "m1i", x1, "is 0; ROM needs non-zero means")
            _fail_where(x2 == 0, "m2i", x2, "is 0; ROM needs non-zero means")
            _fail_where(x1 * x2 < 0, "m1i", x1, "has a different sign from m2i; ROM needs means of the same sign")
            yi = np.log(x1 / x2)
            vi = s1**2 / (n1 * x1**2) + s2**2 / (n2 * x2**2)
        return EffectSizes(measure, yi, vi)

    # pre-post measures
    n, r = a["ni"], a["ri"]
    _fail_where(np.abs(r) > 1, "ri", r, "is outside [-1, 1]")
    min_n = 2 if measure == "MC" else 3
    reason = "a change SD" if measure == "MC" else "the small-sample correction c(n - 1)"
    _fail_where(n < min_n, "ni", n, f"is < {min_n}; {measure} needs ni >= {min_n} for {reason}")
    x1, x2, s1 = a["m1i"], a["m2i"], a["sd1i"]
    if measure == "MC":
        s2 = a["sd2i"]
        yi = x1 - x2
        vi = (s1**2 + s2**2 - 2.0 * r * s1 * s2) / n
    elif measure == "SMCC":
        s2 = a["sd2i"]
        sd_change = np.sqrt(np.maximum(s1**2 + s2**2 - 2.0 * r * s1 * s2, 0.0))
        _fail_where(sd_change <= 0, "sd1i", s1, "with sd2i and ri gives a change-score SD of 0; SMCC needs it > 0")
        yi = hedges_correction(n - 1.0) * (x1 - x2) / sd_change
        vi = 1.0 / n + yi**2 / (2.0 * n)
    else:  # SMCR
        _fail_where(s1 <= 0, "sd1i", s1, "is 0; SMCR is standardised by sd1i, which must be > 0")
        yi = hedges_correction(n - 1.0) * (x1 - x2) / s1
        vi = 2.0 * (1.0 - r) / n + yi**2 / (2.0 * n)
    return EffectSizes(measure, yi, vi)
