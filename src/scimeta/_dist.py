"""Distribution functions for the statistics core, on :mod:`scipy.special` only.

``scipy.stats`` takes most of a second to import, and every pipeline job is a
fresh Python process. The handful of tail probabilities and quantiles the
library needs are thin wrappers of the Cephes/Boost special functions, so they
are called here directly. Each function evaluates the same special function
as the corresponding ``scipy.stats`` method (``tests/test_dist.py`` checks the
two agree), without the generic argument checking of ``rv_continuous``:

* invalid parameters (``df <= 0``, probabilities outside [0, 1]) and NaN give
  NaN, as in ``scipy.stats``;
* all functions are vectorised and return a float for scalar input and an
  ndarray otherwise.

Standard normal (:math:`\\Phi`), Student's *t* with :math:`\\nu` degrees of
freedom, :math:`\\chi^2_\\nu` and :math:`F_{\\nu_1,\\nu_2}` (Abramowitz and
Stegun 1964, chapter 26).
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = [
    "chi2_isf",
    "chi2_ppf",
    "chi2_sf",
    "f_sf",
    "norm_cdf",
    "norm_isf",
    "norm_ppf",
    "norm_sf",
    "norm_sf2",
    "t_cdf",
    "t_isf",
    "t_ppf",
    "t_sf",
    "t_sf2",
]


def _out(value):
    """A float for 0-d results, the array otherwise."""
    arr = np.asarray(value, dtype=float)
    return float(arr) if arr.ndim == 0 else arr


def _prob(p):
    """Probabilities with values outside [0, 1] set to NaN."""
    p = np.asarray(p, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where((p >= 0.0) & (p <= 1.0), p, np.nan)


def _ends(value, p, at_zero, at_one):
    """Quantiles at the probability bounds set to the ends of the support.

    ``scipy.stats`` does this in ``rv_continuous``; the special functions do not
    all get it right (``stdtrit(df, 0)`` is ``+inf``). A NaN (invalid
    parameter) stays NaN.
    """
    valid = ~np.isnan(value)
    value = np.where(valid & (p == 0.0), at_zero, value)
    return np.where(valid & (p == 1.0), at_one, value)


def _df(df):
    """Degrees of freedom with values <= 0 set to NaN."""
    df = np.asarray(df, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(df > 0.0, df, np.nan)


# --- standard normal --------------------------------------------------------


def norm_cdf(x):
    """:math:`\\Phi(x)`."""
    return _out(special.ndtr(np.asarray(x, dtype=float)))


def norm_sf(x):
    """Upper tail :math:`1 - \\Phi(x) = \\Phi(-x)` (exact in the tail)."""
    return _out(special.ndtr(-np.asarray(x, dtype=float)))


def norm_sf2(x):
    """Two-sided p-value :math:`2\\,\\Phi(-|x|)` of a z statistic."""
    return _out(2.0 * special.ndtr(-np.abs(np.asarray(x, dtype=float))))


def norm_ppf(p):
    """Quantile :math:`\\Phi^{-1}(p)`."""
    p = _prob(p)
    return _out(_ends(special.ndtri(p), p, -np.inf, np.inf))


def norm_isf(q):
    """Upper quantile :math:`\\Phi^{-1}(1 - q) = -\\Phi^{-1}(q)`."""
    q = _prob(q)
    return _out(_ends(-special.ndtri(q), q, np.inf, -np.inf))


# --- Student's t --------------------------------------------------------------


def t_cdf(x, df):
    """:math:`P(T_\\nu \\le x)`."""
    return _out(special.stdtr(_df(df), np.asarray(x, dtype=float)))


def t_sf(x, df):
    """Upper tail :math:`P(T_\\nu > x) = P(T_\\nu < -x)`."""
    return _out(special.stdtr(_df(df), -np.asarray(x, dtype=float)))


def t_sf2(x, df):
    """Two-sided p-value :math:`2\\,P(T_\\nu > |x|)` of a t statistic."""
    return _out(2.0 * special.stdtr(_df(df), -np.abs(np.asarray(x, dtype=float))))


def t_ppf(p, df):
    """Quantile :math:`t_{\\nu}^{-1}(p)`."""
    p, df = np.broadcast_arrays(_prob(p), _df(df))
    return _out(_ends(special.stdtrit(df, p), p, -np.inf, np.inf))


def t_isf(q, df):
    """Upper quantile :math:`t_{\\nu}^{-1}(1 - q) = -t_{\\nu}^{-1}(q)`."""
    q, df = np.broadcast_arrays(_prob(q), _df(df))
    return _out(_ends(-special.stdtrit(df, q), q, np.inf, -np.inf))


# --- chi-squared and F -------------------------------------------------------


def chi2_sf(x, df):
    """Upper tail :math:`P(\\chi^2_\\nu > x)` (1 for ``x <= 0``)."""
    x = np.asarray(x, dtype=float)
    with np.errstate(invalid="ignore"):
        x = np.where(x < 0.0, 0.0, x)
    return _out(special.chdtrc(_df(df), x))


def chi2_ppf(p, df):
    """Quantile of :math:`\\chi^2_\\nu`: :math:`2\\,P^{-1}(\\nu/2, p)`.

    :math:`P^{-1}(a, \\cdot)` is the inverse of the regularised lower incomplete gamma function.
    """
    p, df = np.broadcast_arrays(_prob(p), _df(df))
    return _out(_ends(2.0 * special.gammaincinv(df / 2.0, p), p, 0.0, np.inf))


def chi2_isf(q, df):
    """Upper quantile of :math:`\\chi^2_\\nu`: the x with :math:`P(\\chi^2_\\nu > x) = q`."""
    q, df = np.broadcast_arrays(_prob(q), _df(df))
    return _out(_ends(special.chdtri(df, q), q, np.inf, 0.0))


def f_sf(x, dfn, dfd):
    """Upper tail :math:`P(F_{\\nu_1,\\nu_2} > x)` (1 for ``x <= 0``)."""
    x = np.asarray(x, dtype=float)
    with np.errstate(invalid="ignore"):
        x = np.where(x < 0.0, 0.0, x)
    return _out(special.fdtrc(_df(dfn), _df(dfd), x))
