"""Small-study effects (publication bias) and influence diagnostics.

The functions reproduce metafor 3.8 (Viechtbauer 2010,
doi:10.18637/jss.v036.i03) for an intercept-only random-effects model:

* :func:`egger_rma` -- ``regtest(fit, model = "rma")``: Egger's regression
  test as a mixed-effects meta-regression on the standard error (or the
  variance), with the limit estimate (intercept);
* :func:`egger_lm` -- ``regtest(fit, model = "lm")``: the classical Egger
  test, weighted least squares with a multiplicative dispersion parameter;
  :func:`pet` and :func:`peese` are its two PET-PEESE forms;
* :func:`begg` -- ``ranktest(fit)``: Begg and Mazumdar's rank correlation;
* :func:`trimfill` -- ``trimfill(fit)``: Duval and Tweedie's trim and fill;
* :func:`leave1out` -- ``leave1out(fit)``;
* :func:`influence` -- ``influence(fit)`` (Viechtbauer & Cheung 2010);
* :func:`bias_tables`, :func:`leave1out_table` and :func:`influence_table`
  build the ``bias.csv`` (with ``bias_filled.csv``, the studies imputed by
  trim and fill, one row each), ``leave1out.csv`` and ``influence.csv``
  tables of the data contract from a DataFrame of effect rows.

Pooling goes through :func:`scimeta.pool.pool` / :func:`scimeta.pool.pool_many`
(the k leave-one-out fits are one batched call) and the regression tests
through :func:`scimeta.metareg.metareg`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from scimeta._dist import chi2_sf, norm_cdf, norm_sf, t_isf, t_sf2
from scimeta.faults import attempt, not_computed
from scimeta.metareg import metareg
from scimeta.pool import (
    CI_METHODS,
    TAU2_METHODS,
    OneRow,
    PoolBatch,
    PoolResult,
    check_yi_vi,
    pool,
    pool_many,
    refit_start,
)
from scimeta.tables import columns

__all__ = [
    "BIAS_COLUMNS",
    "BIAS_TESTS",
    "INFLUENCE_COLUMNS",
    "LEAVE1OUT_COLUMNS",
    "MIN_K",
    "MIN_K_POWER",
    "InfluenceResult",
    "LeaveOneOutResult",
    "RankTestResult",
    "RegTestResult",
    "TrimFillResult",
    "begg",
    "bias_table",
    "bias_tables",
    "egger_lm",
    "egger_rma",
    "FILLED_COLUMNS",
    "influence",
    "influence_table",
    "leave1out",
    "leave1out_table",
    "peese",
    "pet",
    "trimfill",
]

#: Tests of :func:`bias_table`, in the order of its rows.
BIAS_TESTS = ("egger_rma", "egger_lm", "begg", "trimfill_L0", "trimfill_R0", "pet", "peese")
BIAS_COLUMNS = tuple(columns("bias"))
#: Columns of ``bias_filled.csv``: one row per study imputed by trim and fill.
FILLED_COLUMNS = tuple(columns("bias_filled"))
LEAVE1OUT_COLUMNS = tuple(columns("leave1out"))
INFLUENCE_COLUMNS = tuple(columns("influence"))
#: Smallest k for which the tables run a test or a leave-one-out analysis:
#: the regression tests have two coefficients and need k - 2 >= 1 residual
#: degrees of freedom; the rank test and trim and fill (whose side is chosen
#: by the same regression) use the same minimum; leaving one study out of
#: k >= 3 keeps at least two studies to estimate tau^2.
MIN_K = 3
#: Below this k the tests have low power (Sterne et al. 2011,
#: doi:10.1136/bmj.d4002): reported with a caution in ``note``.
MIN_K_POWER = 10
#: Largest k whose exact Kendall distribution is computed by direct
#: convolution (exact sums); above it by running sums (absolute error ~1e-16).
_KENDALL_DIRECT_MAX = 150
#: Largest k without ties whose p-value is exact: the distribution costs k^3/6
#: operations (0.1 s at 500, minutes at 2,000). Above it the normal
#: approximation, whose error there is far below the p-value's rounding (R's
#: ``cor.test`` has no exact p-value above 170 either: it overflows to NaN).
KENDALL_EXACT_MAX = 500
#: Cells of one block of pairs (rows x k) in the sums over pairs.
_PAIR_CELLS = 1_000_000
#: Iteration cap of trim and fill (metafor's ``maxiter``).
TRIMFILL_MAX_ITER = 100


# ---------------------------------------------------------------------------
# input handling
# ---------------------------------------------------------------------------
def _check_level(level: float) -> float:
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    return float(level)


def _predictor(vi: np.ndarray, predictor: str) -> np.ndarray:
    if predictor == "sei":
        return np.sqrt(vi)
    if predictor == "vi":
        return vi
    raise ValueError(f"predictor must be 'sei' or 'vi', got {predictor!r}")


def _min_k(k: int, need: int, what: str) -> None:
    if k < need:
        raise ValueError(f"{what} needs k >= {need} studies, got k = {k}")


#: metafor's ``regtest`` refusal when the predictor is collinear with the intercept.
METAFOR_RANK_REFUSAL = "Model matrix no longer of full rank after addition of predictor. Cannot fit model."


def _check_full_rank(x: np.ndarray, predictor: str) -> None:
    """Refuse, as metafor does, a precision predictor that is collinear with the intercept."""
    if np.linalg.matrix_rank(np.column_stack([np.ones(x.size), x])) < 2:
        same = "standard error" if predictor == "sei" else "sampling variance"
        raise ValueError(
            f"every study has the same {same}, so the predictor {predictor} is collinear "
            f"with the intercept (metafor: {METAFOR_RANK_REFUSAL})"
        )


# ---------------------------------------------------------------------------
# regression tests
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RegTestResult(OneRow):
    """A regression test for funnel-plot asymmetry and its limit estimate.

    Attributes
    ----------
    model : {"rma", "lm"}
        Mixed-effects meta-regression (:func:`egger_rma`) or weighted
        regression with multiplicative dispersion (:func:`egger_lm`).
    predictor : {"sei", "vi"}
        The study-precision predictor.
    tau2_method : str
        Residual-heterogeneity estimator (``""`` for ``model="lm"``).
    test : {"z", "knha", "adhoc", "t"}
        Distribution of ``statistic``: normal, Knapp-Hartung t (``adhoc``: its
        factor floored at 1), or t from the weighted regression.
    k : int
        Number of studies.
    statistic, df, p : float
        Test of the predictor's coefficient (z or t), its degrees of
        freedom (NaN for z) and two-sided p-value.
    slope, slope_se : float
        The predictor's coefficient and its standard error.
    estimate, se, ci_low, ci_high : float
        Limit estimate (intercept: the effect as the predictor goes to 0),
        its standard error and confidence interval.
    level : float
        Confidence level of the interval.
    tau2 : float
        Residual tau² of the meta-regression (NaN for ``model="lm"``).
    note : str
        Anything to know (``""`` if nothing).
    """

    model: str
    predictor: str
    tau2_method: str
    test: str
    k: int
    statistic: float
    df: float
    p: float
    slope: float
    slope_se: float
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    level: float
    tau2: float
    note: str



def egger_rma(
    yi,
    vi,
    *,
    tau2_method: str = "REML",
    test: str = "z",
    predictor: str = "sei",
    level: float = 0.95,
) -> RegTestResult:
    """Egger's regression test as a mixed-effects meta-regression.

    As metafor's ``regtest(rma(yi, vi, method = tau2_method, test = test),
    model = "rma", predictor = predictor)``: the model

    .. math::

        y_i = \\beta_0 + \\beta_1 x_i + u_i + e_i, \\qquad
        u_i \\sim N(0, \\tau^2),\\; e_i \\sim N(0, v_i),

    with :math:`x_i = \\sqrt{v_i}` (``"sei"``) or :math:`x_i = v_i`
    (``"vi"``) is fitted by :func:`scimeta.metareg.metareg`; the test of
    funnel-plot asymmetry is :math:`z = \\hat\\beta_1/\\mathrm{SE}(\\hat\\beta_1)`
    (or t on k - 2 df with the Knapp-Hartung adjustment, ``test="knha"``, or
    with its factor floored at 1, ``test="adhoc"``: metafor's ``regtest`` keeps
    the test of the model it is given),
    and the limit estimate is :math:`\\hat\\beta_0`, the expected effect of
    a study with infinite precision (Egger et al. 1997,
    doi:10.1136/bmj.315.7109.629; Sterne & Egger 2005).

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
        Effect sizes and sampling variances (finite, ``vi > 0``), k >= 3.
    tau2_method : str
        Estimator of the residual tau² (as :func:`scimeta.metareg.metareg`).
    test : {"z", "knha", "adhoc"}
    predictor : {"sei", "vi"}
    level : float
        Confidence level of the limit estimate's interval.

    Returns
    -------
    RegTestResult

    Raises
    ------
    ValueError
        For invalid input, k < 3 (the model has two coefficients and
        needs a residual degree of freedom for tau²), or a predictor that is
        collinear with the intercept (every study with the same standard
        error): metafor refuses that model too, and the message quotes it.
    """
    y, v = check_yi_vi(yi, vi)
    level = _check_level(level)
    k = y.size
    _min_k(k, MIN_K, "egger_rma")
    _check_full_rank(_predictor(v, predictor), predictor)
    fit = metareg(y, v, _predictor(v, predictor), tau2_method=tau2_method, test=test, level=level)
    return RegTestResult(
        model="rma",
        predictor=predictor,
        tau2_method=fit.tau2_method,
        test=test,
        k=k,
        statistic=float(fit.stat[1]),
        df=float(fit.df),
        p=float(fit.pval[1]),
        slope=float(fit.beta[1]),
        slope_se=float(fit.se[1]),
        estimate=float(fit.beta[0]),
        se=float(fit.se[0]),
        ci_low=float(fit.ci_low[0]),
        ci_high=float(fit.ci_high[0]),
        level=level,
        tau2=float(fit.tau2),
        note=fit.note,
    )


def egger_lm(yi, vi, *, predictor: str = "sei", level: float = 0.95) -> RegTestResult:
    """Egger's regression test by weighted least squares (metafor ``model = "lm"``).

    As metafor's ``regtest(fit, model = "lm", predictor = predictor)``, i.e.
    R's ``lm(yi ~ x, weights = 1/vi)``: with :math:`w_i = 1/v_i` and
    :math:`X = [1, x]`,

    .. math::

        \\hat\\beta = (X^\\top W X)^{-1} X^\\top W y, \\quad
        \\hat\\phi = \\frac{\\sum_i w_i (y_i - x_i^\\top\\hat\\beta)^2}{k - 2}, \\quad
        \\widehat{\\operatorname{Var}}(\\hat\\beta) = \\hat\\phi\\,(X^\\top W X)^{-1},

    the multiplicative-dispersion model of Egger et al. (1997,
    doi:10.1136/bmj.315.7109.629; the regression of the standard normal
    deviate :math:`y_i/\\sqrt{v_i}` on the precision :math:`1/\\sqrt{v_i}`
    has the same slope test). The test is
    :math:`t = \\hat\\beta_1/\\mathrm{SE}(\\hat\\beta_1)` on k - 2 df; the
    limit estimate is :math:`\\hat\\beta_0` with a :math:`t_{k-2}` interval.

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
        Effect sizes and sampling variances, k >= 3.
    predictor : {"sei", "vi"}
        ``"sei"`` is Egger's test / PET, ``"vi"`` is PEESE.
    level : float

    Returns
    -------
    RegTestResult
        ``test = "t"``, ``tau2_method = ""``, ``tau2 = NaN``.
    """
    y, v = check_yi_vi(yi, vi)
    level = _check_level(level)
    k = y.size
    _min_k(k, MIN_K, "egger_lm")
    _check_full_rank(_predictor(v, predictor), predictor)
    X = np.column_stack([np.ones(k), _predictor(v, predictor)])
    sw = 1.0 / np.sqrt(v)
    Xw, yw = X * sw[:, None], y * sw
    Q, R = np.linalg.qr(Xw)
    beta = np.linalg.solve(R, Q.T @ yw)
    resid = yw - Xw @ beta
    df = float(k - 2)
    phi = float(resid @ resid) / df
    Rinv = np.linalg.inv(R)
    se = np.sqrt(phi * np.sum(Rinv * Rinv, axis=1))
    stat = beta[1] / se[1]
    crit = t_isf((1.0 - level) / 2.0, df)
    notes = []
    if phi == 0.0:
        notes.append("residual variance is 0 (exact fit): statistic undefined")
    return RegTestResult(
        model="lm",
        predictor=predictor,
        tau2_method="",
        test="t",
        k=k,
        statistic=float(stat),
        df=df,
        p=float(t_sf2(stat, df)),
        slope=float(beta[1]),
        slope_se=float(se[1]),
        estimate=float(beta[0]),
        se=float(se[0]),
        ci_low=float(beta[0] - crit * se[0]),
        ci_high=float(beta[0] + crit * se[0]),
        level=level,
        tau2=float("nan"),
        note="; ".join(notes),
    )


def pet(yi, vi, *, level: float = 0.95) -> RegTestResult:
    """Precision-effect test (PET): :func:`egger_lm` with predictor ``sei``.

    .. math:: y_i = \\beta_0 + \\beta_1 \\sqrt{v_i} + \\varepsilon_i, \\quad
              \\operatorname{Var}(\\varepsilon_i) = \\phi\\, v_i

    ``estimate`` is the PET estimate :math:`\\hat\\beta_0`; ``statistic``
    and ``p`` test :math:`\\beta_1 = 0` (Stanley & Doucouliagos 2014,
    doi:10.1002/jrsm.1095).
    """
    return egger_lm(yi, vi, predictor="sei", level=level)


def peese(yi, vi, *, level: float = 0.95) -> RegTestResult:
    """Precision-effect estimate with standard error (PEESE): predictor ``vi``.

    .. math:: y_i = \\beta_0 + \\beta_1 v_i + \\varepsilon_i, \\quad
              \\operatorname{Var}(\\varepsilon_i) = \\phi\\, v_i

    ``estimate`` is the PEESE estimate :math:`\\hat\\beta_0` (Stanley &
    Doucouliagos 2014, doi:10.1002/jrsm.1095); as metafor
    ``regtest(fit, model = "lm", predictor = "vi")``.
    """
    return egger_lm(yi, vi, predictor="vi", level=level)


# ---------------------------------------------------------------------------
# rank correlation test
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RankTestResult(OneRow):
    """Begg and Mazumdar's rank correlation test.

    Attributes
    ----------
    k : int
    tau : float
        Kendall's tau-b between standardized deviates and variances.
    p : float
        Two-sided p-value.
    method : {"exact", "normal"}
        Exact null distribution (no ties) or normal approximation with the
        tie-corrected variance.
    statistic : float
        T (number of concordant pairs) for ``exact``, z for ``normal``.
    ties : bool
    note : str
    """

    k: int
    tau: float
    p: float
    method: str
    statistic: float
    ties: bool
    note: str



def _kendall_cdf(n: int) -> np.ndarray:
    """P(T <= q), q = 0..n(n-1)/2, for the number of concordant pairs T.

    Under independence without ties T has the distribution of the number of
    inversions of a random permutation of n items, built by adding one item
    at a time (the new item adds 0..m-1 inversions with equal chance).
    """
    prob = np.ones(1)
    for m in range(2, n + 1):
        if n <= _KENDALL_DIRECT_MAX:
            prob = np.convolve(prob, np.ones(m)) / m
        else:
            # new[j] = sum_{i<m} prob[j - i] as a difference of running sums
            size = prob.size + m - 1
            c = np.concatenate([np.zeros(m), np.cumsum(prob), np.full(m - 1, prob.sum())])
            prob = np.maximum(c[m : m + size] - c[:size], 0.0) / m
    return np.cumsum(prob)


def begg(yi, vi) -> RankTestResult:
    """Rank correlation test for funnel-plot asymmetry (metafor ``ranktest``).

    Begg & Mazumdar (1994, doi:10.2307/2533446): with the common-effect
    estimate :math:`\\hat\\theta = \\sum w_i y_i/\\sum w_i`, :math:`w_i = 1/v_i`,
    the standardized deviates

    .. math::

        y_i^* = \\frac{y_i - \\hat\\theta}{\\sqrt{v_i^*}}, \\qquad
        v_i^* = v_i - \\Big(\\sum_j w_j\\Big)^{-1},

    are correlated with :math:`v_i` by Kendall's tau-b,

    .. math::

        \\tau_b = \\frac{\\sum_{i<j} \\operatorname{sgn}(y_i^*-y_j^*)
        \\operatorname{sgn}(v_i-v_j)}{\\sqrt{(n_0-n_1)(n_0-n_2)}},

    (:math:`n_0 = k(k-1)/2`; :math:`n_1, n_2` the tied pairs). As metafor
    (which calls R's ``cor.test(..., exact = TRUE)``): without ties the
    p-value is exact for every k, from the distribution of the number of
    concordant pairs :math:`T = (\\tau+1)k(k-1)/4`,
    :math:`p = \\min(1, 2P(T \\le q))` or :math:`\\min(1, 2P(T \\ge q))` on
    the side of :math:`q` beyond :math:`k(k-1)/4`; with ties it is the
    normal approximation without continuity correction,
    :math:`z = \\tau_b\\sqrt{(n_0-n_1)(n_0-n_2)}/\\sqrt{\\operatorname{Var}(S)}`
    with the tie-corrected variance of Kendall's S (Kendall 1970).
    Difference from R: for k > 170 without ties R's exact distribution
    overflows (``cor.test`` returns a NaN p-value); here it is computed in
    probabilities and stays finite up to :data:`KENDALL_EXACT_MAX`, and
    beyond it the normal approximation is used (said in ``note``).

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
        Effect sizes and sampling variances, k >= 3.

    Returns
    -------
    RankTestResult
    """
    y, v = check_yi_vi(yi, vi)
    n = y.size
    _min_k(n, MIN_K, "begg")
    w = 1.0 / v
    theta = float(np.sum(w * y) / np.sum(w))
    vstar = v - 1.0 / np.sum(w)
    x = (y - theta) / np.sqrt(vstar)
    # sums over the pairs, a block of rows at a time (no k x k array)
    sxy = sxx = syy = 0.0
    step = max(1, _PAIR_CELLS // n)
    for lo in range(0, n, step):
        sx = np.sign(x[lo:lo + step, None] - x[None, :])
        sy = np.sign(v[lo:lo + step, None] - v[None, :])
        sxy += float(np.sum(sx * sy))
        sxx += float(np.sum(sx * sx))
        syy += float(np.sum(sy * sy))
    tau = float(sxy / np.sqrt(sxx * syy))
    ties = min(np.unique(x).size, np.unique(v).size) < n
    notes = []
    if not np.isfinite(tau):
        return RankTestResult(n, float("nan"), float("nan"), "", float("nan"), bool(ties),
                              "Kendall's tau undefined: the standardized deviates or the variances "
                              "are constant (metafor: tau = NA, p = NA)")
    if not ties and n <= KENDALL_EXACT_MAX:
        q = float(np.round((tau + 1.0) * n * (n - 1) / 4.0))
        cdf = _kendall_cdf(n)

        def pk(qq: float) -> float:
            if qq < 0:
                return 0.0
            if qq > n * (n - 1) / 2:
                return 1.0
            return float(cdf[int(qq)])

        half = 1.0 - pk(q - 1.0) if q > n * (n - 1) / 4.0 else pk(q)
        p = min(2.0 * half, 1.0)
        method, stat = "exact", q
    else:
        def groups(a: np.ndarray) -> np.ndarray:
            _, counts = np.unique(a, return_counts=True)
            return counts[counts > 1].astype(float)

        tx, ty = groups(x), groups(v)
        t0 = n * (n - 1) / 2.0
        t1 = np.sum(tx * (tx - 1)) / 2.0
        t2 = np.sum(ty * (ty - 1)) / 2.0
        s = tau * np.sqrt((t0 - t1) * (t0 - t2))
        v0 = n * (n - 1) * (2 * n + 5)
        vt = np.sum(tx * (tx - 1) * (2 * tx + 5))
        vu = np.sum(ty * (ty - 1) * (2 * ty + 5))
        v1 = np.sum(tx * (tx - 1)) * np.sum(ty * (ty - 1))
        v2 = np.sum(tx * (tx - 1) * (tx - 2)) * np.sum(ty * (ty - 1) * (ty - 2))
        var_s = (v0 - vt - vu) / 18.0 + v1 / (2.0 * n * (n - 1)) + v2 / (9.0 * n * (n - 1) * (n - 2))
        z = float(s / np.sqrt(var_s))
        p = float(2.0 * min(norm_cdf(z), norm_sf(z)))
        method, stat = "normal", z
        notes.append("ties: normal approximation (no exact p-value)" if ties else
                     f"k > {KENDALL_EXACT_MAX}: normal approximation (the exact distribution "
                     "costs k^3 operations)")
    return RankTestResult(n, tau, float(p), method, float(stat), bool(ties), "; ".join(notes))


# ---------------------------------------------------------------------------
# trim and fill
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class TrimFillResult:
    """Trim and fill: imputed studies and the pooled estimate after filling.

    Attributes
    ----------
    estimator : {"L0", "R0"}
    side : {"left", "right"}
        Side of the funnel plot on which studies are imputed.
    k : int
        Observed studies.
    k0 : int
        Estimated number of missing studies (imputed).
    se_k0 : float
        Standard error of the k0 estimator (metafor's ``se.k0``).
    p_k0 : float
        For R0, the p-value of the test of k0 = 0 (Duval & Tweedie 2000);
        NaN for L0.
    iterations : int
        Trim-and-fill iterations until k0 stopped changing.
    fill_yi, fill_vi : tuple of float
        Effect sizes and variances of the imputed studies (empty for k0 = 0).
    estimate, se, ci_low, ci_high, stat, p : float
        Pooled estimate of the k + k0 studies (the observed fit if k0 = 0).
    tau2, I2, Q : float
        Heterogeneity of that fit.
    tau2_method, ci_method : str
    level : float
    note : str
    """

    estimator: str
    side: str
    k: int
    k0: int
    se_k0: float
    p_k0: float
    iterations: int
    fill_yi: tuple[float, ...]
    fill_vi: tuple[float, ...]
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    stat: float
    p: float
    tau2: float
    I2: float
    Q: float
    tau2_method: str
    ci_method: str
    level: float
    note: str

    def to_dict(self) -> dict[str, Any]:
        """Field name -> value (the filled data as lists)."""
        out = asdict(self)
        out["fill_yi"] = list(self.fill_yi)
        out["fill_vi"] = list(self.fill_vi)
        return out

    def to_frame(self) -> pd.DataFrame:
        """The imputed studies: columns ``yi``, ``vi`` (k0 rows)."""
        return pd.DataFrame({"yi": np.asarray(self.fill_yi, dtype=float),
                             "vi": np.asarray(self.fill_vi, dtype=float)})


def _ranks_first(a: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties broken by position (R ``rank(ties.method = "first")``)."""
    order = np.argsort(a, kind="stable")
    r = np.empty(a.size)
    r[order] = np.arange(1, a.size + 1)
    return r


def trimfill(
    yi,
    vi,
    *,
    estimator: str = "L0",
    side: str | None = None,
    tau2_method: str = "REML",
    ci_method: str = "wald",
    level: float = 0.95,
    max_iter: int = TRIMFILL_MAX_ITER,
) -> TrimFillResult:
    """Duval and Tweedie's trim and fill, as metafor's ``trimfill(fit)``.

    Duval & Tweedie (2000, doi:10.1111/j.0006-341X.2000.00455.x;
    doi:10.1080/01621459.2000.10473905). The side (``side=None``) is the
    one metafor chooses: ``"right"`` if the slope of
    :func:`egger_rma`'s meta-regression on :math:`\\sqrt{v_i}` (same tau²
    estimator) is negative, else ``"left"``; the studies are mirrored
    (:math:`y \\to -y`) for ``"right"`` so that missing studies are always
    sought on the left. Sorted by effect, and starting from
    :math:`k_0 = 0`, each iteration pools the :math:`k - k_0` smallest
    effects (random-effects model, ``tau2_method``) to :math:`\\hat\\mu`,
    ranks :math:`|y_i - \\hat\\mu|` over all k studies (ties by position)
    and signs the ranks by :math:`y_i - \\hat\\mu`. With :math:`S_r` the
    sum of the positive signed ranks and :math:`\\gamma^*` the largest rank
    of a negative deviation,

    .. math::

        L_0 = \\frac{4 S_r - k(k+1)}{2k - 1}, \\qquad
        R_0 = k - \\gamma^* - 1,

    :math:`k_0 = \\max(0, \\operatorname{round}(\\cdot))`, until
    :math:`k_0` repeats (at most ``max_iter`` iterations). The
    standard errors are :math:`\\mathrm{SE}(L_0) = 4\\sqrt{\\operatorname{Var}(S_r)}/(2k-1)`,
    :math:`\\operatorname{Var}(S_r) = \\frac1{24}\\{k(k+1)(2k+1) + 10k_0^3
    + 27k_0^2 + 17k_0 - 18kk_0^2 - 18kk_0 + 6k^2k_0\\}` (unrounded
    :math:`k_0`) and :math:`\\mathrm{SE}(R_0) = \\sqrt{2\\max(0,k_0)+2}`;
    the R0 test of :math:`k_0 = 0` has :math:`p = 0.5^{k_0+1}` (computed, as
    metafor, as :math:`1 - \\sum_{j=1}^{k_0+1} 0.5^j`). The :math:`k_0`
    largest (mirrored) effects are reflected about the last
    :math:`\\hat\\mu`: :math:`y^{fill} = 2\\hat\\mu - y_i` with the same
    :math:`v_i`, and the k + k0 studies are pooled again with the same
    estimator (metafor refits with its defaults, Wald CI, unless told
    otherwise: ``ci_method`` is used for this fit; for k0 = 0 the result
    is the fit of the observed studies).

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
        k >= 3 (k >= 3 is also what the side-choosing regression needs).
    estimator : {"L0", "R0"}
    side : {"left", "right"} or None
        Side on which to impute; None chooses as metafor.
    tau2_method : str
        Estimator of tau² for every fit (``"EE"``: common-effect model).
    ci_method : {"wald", "hksj", "hksj_adhoc"}
        Inference of the final pooled estimate.
    level : float
    max_iter : int
        Iteration cap (metafor: 100); not converging gives NaN and a note.

    Returns
    -------
    TrimFillResult
    """
    y, v = check_yi_vi(yi, vi)
    level = _check_level(level)
    if estimator not in ("L0", "R0"):
        raise ValueError(f"estimator must be 'L0' or 'R0', got {estimator!r}")
    if side not in (None, "left", "right"):
        raise ValueError(f"side must be 'left', 'right' or None, got {side!r}")
    if tau2_method not in TAU2_METHODS:
        raise ValueError(f"tau2_method must be one of {TAU2_METHODS}, got {tau2_method!r}")
    if ci_method not in CI_METHODS:
        raise ValueError(f"ci_method must be one of {CI_METHODS}, got {ci_method!r}")
    k = y.size
    _min_k(k, MIN_K, "trimfill")
    notes: list[str] = []
    if side is None:
        try:
            _check_full_rank(np.sqrt(v), "sei")
        except ValueError as exc:
            raise ValueError(f"the side to fill cannot be chosen by Egger's regression: {exc}") from None
        slope = metareg(y, v, np.sqrt(v), tau2_method=tau2_method).beta[1]
        side = "right" if slope < 0 else "left"
    ys = -y if side == "right" else y.copy()
    order = np.argsort(ys, kind="stable")
    ys, vs = ys[order], v[order]

    def fit(yy, vv) -> PoolResult:
        return pool(yy, vv, tau2_method=tau2_method, ci_method=ci_method, level=level, tau2_ci=False)

    k0, k0_prev, it = 0, -1, 0
    se_k0 = float("nan")
    mu = float("nan")
    failed = ""
    while k0 != k0_prev:
        k0_prev = k0
        it += 1
        if it > max_iter:
            failed = f"trim and fill did not converge in {max_iter} iterations"
            break
        mu = fit(ys[: k - k0], vs[: k - k0]).estimate
        if not np.isfinite(mu):
            failed = "pooling the trimmed studies failed"
            break
        dev = ys - mu
        signed = np.sign(dev) * _ranks_first(np.abs(dev))
        if estimator == "R0":
            neg = signed[signed < 0]
            if neg.size == 0:
                failed = "R0 undefined: no study below the trimmed estimate"
                break
            est = k - float(np.max(-neg)) - 1.0
            se_k0 = float(np.sqrt(2.0 * max(0.0, est) + 2.0))
        else:
            sr = float(np.sum(signed[signed > 0]))
            est = (4.0 * sr - k * (k + 1)) / (2.0 * k - 1.0)
            var_sr = (k * (k + 1) * (2 * k + 1) + 10 * est**3 + 27 * est**2 + 17 * est
                      - 18 * k * est**2 - 18 * k * est + 6 * k**2 * est) / 24.0
            with np.errstate(invalid="ignore"):
                se_k0 = float(4.0 * np.sqrt(var_sr) / (2.0 * k - 1.0))
        k0 = int(max(0.0, float(np.round(est))))
        se_k0 = float(np.maximum(0.0, se_k0))
    nan = float("nan")
    if failed:
        return TrimFillResult(estimator, side, k, -1, nan, nan, it, (), (), nan, nan, nan, nan,
                              nan, nan, nan, nan, nan, tau2_method, ci_method, level, failed)
    if k0 > 0:
        fill_m = 2.0 * mu - ys[k - k0:]
        fill_y = -fill_m if side == "right" else fill_m
        fill_v = vs[k - k0:]
        res = fit(np.concatenate([y, fill_y]), np.concatenate([v, fill_v]))
    else:
        fill_y = fill_v = np.zeros(0)
        res = fit(y, v)
    if res.note:
        notes.append(res.note)
    p_k0 = nan
    if estimator == "R0":
        m = np.arange(-1, k0)
        p_k0 = float(1.0 - np.sum(0.5 ** (m + 2)))
    return TrimFillResult(
        estimator=estimator,
        side=side,
        k=k,
        k0=k0,
        se_k0=se_k0,
        p_k0=p_k0,
        iterations=it,
        fill_yi=tuple(float(a) for a in fill_y),
        fill_vi=tuple(float(a) for a in fill_v),
        estimate=res.estimate,
        se=res.se,
        ci_low=res.ci_low,
        ci_high=res.ci_high,
        stat=res.stat,
        p=res.p,
        tau2=res.tau2,
        I2=res.I2,
        Q=res.Q,
        tau2_method=res.tau2_method,
        ci_method=ci_method,
        level=level,
        note="; ".join(notes),
    )


# ---------------------------------------------------------------------------
# leave-one-out and influence
# ---------------------------------------------------------------------------
#: Cells (deletions x studies) of one batched fit of the deleted models: the
#: deletions are fitted a block at a time, never as one k x k array.
_DELETION_CELLS = 250_000


def _deleted_fits(y: np.ndarray, v: np.ndarray, **options) -> PoolBatch:
    """The k fits without study i (i = 0..k-1), by :func:`scimeta.pool.pool_many` on blocks
    of deletions: row i of a block holds every study but i (NaN padding in column i)."""
    k = y.size
    step = max(1, _DELETION_CELLS // k)
    # the fits of k - 1 of the k studies start at the estimate of all k
    if k > 2:
        options = {**options, "tau2_start": refit_start(
            y, v, model=options.get("model", "random"),
            tau2_method=options.get("tau2_method", "REML"))}
    parts = []
    for lo in range(0, k, step):
        hi = min(k, lo + step)
        drop = np.arange(lo, hi)[:, None] == np.arange(k)[None, :]
        parts.append(pool_many(np.where(drop, np.nan, y[None, :]),
                               np.where(drop, np.nan, v[None, :]), **options))
    if len(parts) == 1:
        return parts[0]
    joined = {}
    for f in dataclasses.fields(PoolBatch):
        first = getattr(parts[0], f.name)
        if isinstance(first, np.ndarray):
            joined[f.name] = np.concatenate([getattr(b, f.name) for b in parts])
        elif isinstance(first, tuple):
            joined[f.name] = tuple(x for b in parts for x in getattr(b, f.name))
        else:
            joined[f.name] = first
    return PoolBatch(**joined)


@dataclass(frozen=True)
class LeaveOneOutResult:
    """One random-effects fit per left-out study (metafor ``leave1out``).

    Every attribute but the scalars is an array of length k; entry i is the
    fit without study i, with the meaning of :class:`scimeta.pool.PoolResult`.
    """

    tau2_method: str
    ci_method: str
    level: float
    estimate: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    p: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    tau2: np.ndarray
    I2: np.ndarray
    H2: np.ndarray
    Q: np.ndarray
    Q_p: np.ndarray
    note: tuple[str, ...]

    _ARRAYS = ("estimate", "se", "stat", "p", "ci_low", "ci_high", "tau2", "I2", "H2", "Q", "Q_p")

    def to_frame(self) -> pd.DataFrame:
        """One row per left-out study (in input order)."""
        data = {name: np.asarray(getattr(self, name)) for name in self._ARRAYS}
        data["note"] = list(self.note)
        return pd.DataFrame(data)

    def to_dict(self) -> dict[str, Any]:
        """Scalars, and arrays as lists."""
        out: dict[str, Any] = {"tau2_method": self.tau2_method, "ci_method": self.ci_method,
                               "level": self.level}
        out.update({name: np.asarray(getattr(self, name)).tolist() for name in self._ARRAYS})
        out["note"] = list(self.note)
        return out


def leave1out(
    yi, vi, *, tau2_method: str = "REML", ci_method: str = "wald", level: float = 0.95
) -> LeaveOneOutResult:
    """Leave-one-out analysis, as metafor's ``leave1out(rma(...))``.

    For each study i the random-effects model is refitted to the other
    k - 1 studies (same estimator, CI method and level); all k fits are one
    batched :func:`scimeta.pool.pool_many` call:

    .. math::

        \\hat\\mu_{(-i)} = \\frac{\\sum_{j \\ne i} w_j^{(-i)} y_j}{\\sum_{j \\ne i} w_j^{(-i)}},
        \\qquad w_j^{(-i)} = \\frac{1}{v_j + \\hat\\tau^2_{(-i)}},

    with :math:`\\hat\\tau^2_{(-i)}`, :math:`I^2`, :math:`H^2` and
    Cochran's :math:`Q` of the k - 1 studies (Viechtbauer & Cheung 2010,
    doi:10.1002/jrsm.11).

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
        k >= 3 so that every refit has k - 1 >= 2 studies (metafor also
        accepts k = 2 and then reports single-study fits).
    tau2_method, ci_method, level
        As in :func:`scimeta.pool.pool`.

    Returns
    -------
    LeaveOneOutResult
    """
    y, v = check_yi_vi(yi, vi)
    _min_k(y.size, MIN_K, "leave1out")
    b = _deleted_fits(y, v, tau2_method=tau2_method, ci_method=ci_method, level=level, tau2_ci=False)
    return LeaveOneOutResult(
        tau2_method=b.tau2_method,
        ci_method=b.ci_method,
        level=b.level,
        estimate=b.estimate,
        se=b.se,
        stat=b.stat,
        p=b.p,
        ci_low=b.ci_low,
        ci_high=b.ci_high,
        tau2=b.tau2,
        I2=b.I2,
        H2=b.H2,
        Q=b.Q,
        Q_p=b.Q_p,
        note=b.note,
    )


@dataclass(frozen=True)
class InfluenceResult:
    """Case-deletion diagnostics of a random-effects model (metafor ``influence``).

    Arrays of length k (entry i: study i); see :func:`influence`.
    """

    tau2_method: str
    k: int
    rstudent: np.ndarray
    dffits: np.ndarray
    cook_d: np.ndarray
    cov_r: np.ndarray
    tau2_del: np.ndarray
    Q_del: np.ndarray
    hat: np.ndarray
    weight: np.ndarray
    dfbetas: np.ndarray
    influential: np.ndarray
    note: str

    _ARRAYS = ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "Q_del", "hat", "weight",
               "influential", "dfbetas")

    def to_frame(self) -> pd.DataFrame:
        """One row per study (in input order)."""
        return pd.DataFrame({name: np.asarray(getattr(self, name)) for name in self._ARRAYS})

    def to_dict(self) -> dict[str, Any]:
        """Scalars, and arrays as lists."""
        out: dict[str, Any] = {"tau2_method": self.tau2_method, "k": self.k, "note": self.note}
        out.update({name: np.asarray(getattr(self, name)).tolist() for name in self._ARRAYS})
        return out


def influence(yi, vi, *, tau2_method: str = "REML",
              deleted: LeaveOneOutResult | None = None) -> InfluenceResult:
    """Influence diagnostics, as metafor's ``influence(rma(yi, vi, method = tau2_method))``.

    Viechtbauer & Cheung (2010, doi:10.1002/jrsm.11), for the intercept-only
    model (p = 1) with Wald inference. With :math:`w_i = 1/(v_i+\\hat\\tau^2)`
    of the full fit, :math:`\\hat\\mu`, :math:`\\operatorname{Var}(\\hat\\mu) =
    1/\\sum w_j`, and the fit without study i giving
    :math:`\\hat\\mu_{(-i)}`, :math:`\\operatorname{Var}(\\hat\\mu_{(-i)})`,
    :math:`\\hat\\tau^2_{(-i)}` and :math:`Q_{(-i)}` (one batched
    :func:`scimeta.pool.pool_many` call):

    .. math::

        h_i &= w_i / \\textstyle\\sum_j w_j, \\qquad
        \\mathrm{weight}_i = 100\\, h_i, \\\\
        \\mathrm{rstudent}_i &= \\frac{y_i - \\hat\\mu_{(-i)}}
            {\\sqrt{v_i + \\hat\\tau^2_{(-i)} + \\operatorname{Var}(\\hat\\mu_{(-i)})}}, \\\\
        \\mathrm{DFFITS}_i &= \\frac{\\hat\\mu - \\hat\\mu_{(-i)}}
            {\\sqrt{h_i (\\hat\\tau^2_{(-i)} + v_i)}}, \\qquad
        D_i = \\frac{(\\hat\\mu - \\hat\\mu_{(-i)})^2}{\\operatorname{Var}(\\hat\\mu)}, \\\\
        \\mathrm{COVRATIO}_i &= \\frac{\\operatorname{Var}(\\hat\\mu_{(-i)})}
            {\\operatorname{Var}(\\hat\\mu)}, \\qquad
        \\mathrm{DFBETAS}_i = \\frac{\\hat\\mu - \\hat\\mu_{(-i)}}
            {\\sqrt{1/\\sum_{j=1}^{k} (v_j + \\hat\\tau^2_{(-i)})^{-1}}},

    (the DFBETAS denominator sums over all k studies, as metafor). A
    residual :math:`|y_i - \\hat\\mu_{(-i)}| < 100\\epsilon` is set to 0 and
    :math:`h_i > 1 - 10\\epsilon` to 1 (as metafor). A study is
    ``influential`` by metafor's rule: any of
    :math:`|\\mathrm{DFFITS}_i| > 3\\sqrt{p/(k-p)}`,
    :math:`P(\\chi^2_1 \\le D_i) > 0.5`, :math:`h_i > 3p/k`,
    :math:`|\\mathrm{DFBETAS}_i| > 1` (p = 1); ``rstudent`` is not part of
    the rule.

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
        k >= 3 (so each deleted fit has two or more studies).
    tau2_method : str
        As in :func:`scimeta.pool.pool` (``"EE"``: common-effect model).
    deleted : LeaveOneOutResult, optional
        :func:`leave1out` of the same studies and estimator (any CI method; by
        default the deleted fits are computed here):
        its deleted fits are used instead of refitting them (the estimates,
        tau² and Q of a deleted fit do not depend on the CI method).

    Returns
    -------
    InfluenceResult
        NaN for a study whose deleted fit failed to converge (then not
        flagged), with a note.
    """
    y, v = check_yi_vi(yi, vi)
    k = y.size
    _min_k(k, MIN_K, "influence")
    full = pool(y, v, tau2_method=tau2_method, tau2_ci=False)
    eps = np.finfo(float).eps
    w = 1.0 / (v + full.tau2)
    sw = float(np.sum(w))
    hat = w / sw
    hat = np.where(hat > 1.0 - 10.0 * eps, 1.0, hat)
    weight = 100.0 * w / sw
    vb = 1.0 / sw
    if deleted is None:
        deleted = _deleted_fits(y, v, tau2_method=tau2_method, tau2_ci=False)
    elif deleted.tau2_method != full.tau2_method or np.shape(deleted.estimate) != (k,):
        raise ValueError("deleted: the leave-one-out fits of other studies or another estimator")
    t2d = np.asarray(deleted.tau2, dtype=float)
    # sums over all k studies at each deleted tau^2, a block of deletions at a time
    step = max(1, _DELETION_CELLS // k)
    sum_all = np.concatenate([np.sum(1.0 / (v[None, :] + t2d[lo:lo + step, None]), axis=1)
                              for lo in range(0, k, step)])
    vbd = 1.0 / (sum_all - 1.0 / (v + t2d))  # Var of the deleted fit's estimate (Wald)
    vb_all = 1.0 / sum_all
    est_del = np.asarray(deleted.estimate, dtype=float)
    diff = full.estimate - est_del
    resid = y - est_del
    resid = np.where(np.abs(resid) < 100.0 * eps, 0.0, resid)
    rstudent = resid / np.sqrt(v + vbd + t2d)
    dffits = diff / np.sqrt(hat * (t2d + v))
    cook = diff**2 / vb
    cov_r = vbd / vb
    dfbetas = diff / np.sqrt(vb_all)
    with np.errstate(invalid="ignore"):
        infl = (
            (np.abs(dffits) > 3.0 * np.sqrt(1.0 / (k - 1.0)))
            | (1.0 - chi2_sf(cook, 1.0) > 0.5)
            | (hat > 3.0 / k)
            | (np.abs(dfbetas) > 1.0)
        )
    notes = [full.note] if full.note else []
    failed = np.flatnonzero(np.isnan(est_del))
    if failed.size:
        notes.append(f"deleted fit failed for study index {failed.tolist()}: NaN")
    return InfluenceResult(
        tau2_method=full.tau2_method,
        k=k,
        rstudent=rstudent,
        dffits=dffits,
        cook_d=cook,
        cov_r=cov_r,
        tau2_del=t2d,
        Q_del=np.asarray(deleted.Q, dtype=float),
        hat=hat,
        weight=weight,
        dfbetas=dfbetas,
        influential=np.asarray(infl, dtype=bool),
        note="; ".join(notes),
    )


# ---------------------------------------------------------------------------
# tables of the data contract
# ---------------------------------------------------------------------------
def _effects(effects_rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    missing = [c for c in ("study_id", "yi", "vi") if c not in effects_rows.columns]
    if missing:
        raise ValueError(f"effect rows lack column(s) {missing}")
    sid = effects_rows["study_id"].astype(str).to_numpy()
    y, v = check_yi_vi(
        pd.to_numeric(effects_rows["yi"], errors="coerce").to_numpy(dtype=float),
        pd.to_numeric(effects_rows["vi"], errors="coerce").to_numpy(dtype=float),
        study_id=sid,
    )
    return sid, y, v


def bias_table(effects_rows: pd.DataFrame, **keys) -> pd.DataFrame:
    """Rows of ``bias.csv`` for one analysis (:func:`bias_tables` without the filled studies)."""
    return bias_tables(effects_rows, **keys)[0]


def bias_tables(
    effects_rows: pd.DataFrame,
    *,
    outcome: str,
    comparison: str,
    measure: str,
    tau2_method: str = "REML",
    test: str = "z",
    level: float = 0.95,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows of ``bias.csv`` for one analysis, one per test in :data:`BIAS_TESTS`, and
    those of ``bias_filled.csv``, one per study imputed by trim and fill.

    Parameters
    ----------
    effects_rows : DataFrame
        Columns ``study_id``, ``yi``, ``vi`` (one row per study).
    outcome, comparison, measure : str
        Written to every row.
    tau2_method : str
        Estimator for ``egger_rma`` and trim and fill.
    test : {"z", "knha", "adhoc"}
        Inference of ``egger_rma``.
    level : float
        Confidence level of the limit estimates and the filled estimate.

    Returns
    -------
    bias : DataFrame
        Columns :data:`BIAS_COLUMNS`: ``test`` (``egger_rma``,
        ``egger_lm``, ``begg``, ``trimfill_L0``, ``trimfill_R0``, ``pet``,
        ``peese``); ``statistic`` (z or t of the precision term; Kendall's
        tau for ``begg``; NaN for trim and fill), ``df`` (t tests), ``p``
        (for ``trimfill_R0`` the test of k0 = 0; NaN for ``trimfill_L0``),
        ``k``, ``k0`` (trim and fill; NaN otherwise), ``estimate``,
        ``ci_low``, ``ci_high`` (limit estimate of the regression tests,
        filled estimate of trim and fill; NaN for ``begg``), ``side``
        (trim and fill) and ``note``; then what the funnel plot draws:
        ``intercept`` and ``slope`` of the fitted regression line (the
        regression tests). With k < :data:`MIN_K` every row is NaN
        with the reason in ``note``; with k < :data:`MIN_K_POWER` the note
        carries a low-power caution. A test that cannot be computed (e.g.
        Egger's regression when every study has the same standard error,
        which metafor refuses too) has empty numbers and the reason in
        ``note``; the other tests are still run.
    filled : DataFrame
        Columns :data:`FILLED_COLUMNS`: one row per imputed study of each
        trim-and-fill row (``test`` ``trimfill_L0`` or ``trimfill_R0``;
        ``fill`` numbers them from 1; ``yi``, ``vi``), k0 rows per test
        (none when k0 = 0 or the test was not run).
    """
    _, y, v = _effects(effects_rows)
    k = int(y.size)
    nan = float("nan")
    rows = []
    filled = []

    def row(name, statistic=nan, df=nan, p=nan, k0=nan, estimate=nan, lo=nan, hi=nan,
            side="", note="", intercept=nan, slope=nan, fill_yi=(), fill_vi=()):
        keys = {"outcome": outcome, "comparison": comparison, "measure": measure,
                "tau2_method": tau2_method, "test": name}
        rows.append({
            **keys, "statistic": statistic, "df": df, "p": p,
            "k": k, "k0": k0, "estimate": estimate, "ci_low": lo, "ci_high": hi,
            "side": side, "note": note, "intercept": intercept, "slope": slope,
        })
        filled.extend({**keys, "fill": i + 1, "yi": float(a), "vi": float(b)}
                      for i, (a, b) in enumerate(zip(fill_yi, fill_vi, strict=True)))

    def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
        return (pd.DataFrame(rows, columns=list(BIAS_COLUMNS)),
                pd.DataFrame(filled, columns=list(FILLED_COLUMNS)))

    if k < MIN_K:
        for name in BIAS_TESTS:
            row(name, note=f"not run: k = {k} < {MIN_K}")
        return tables()
    caution = f"k = {k} < {MIN_K_POWER}: low power" if k < MIN_K_POWER else ""

    def join(*parts: str) -> str:
        return "; ".join(p for p in parts if p)

    def reg_row(name: str, compute, **kwargs) -> None:
        r, why = attempt(compute, y, v, level=level, **kwargs)
        if r is None:
            row(name, note=join(not_computed(why), caution))
            return
        row(name, r.statistic, r.df, r.p, estimate=r.estimate, lo=r.ci_low, hi=r.ci_high,
            intercept=r.estimate, slope=r.slope, note=join(r.note, caution))

    reg_row("egger_rma", egger_rma, tau2_method=tau2_method, test=test)
    reg_row("egger_lm", egger_lm)
    rk, why = attempt(begg, y, v)
    if rk is None:
        row("begg", note=join(not_computed(why), caution))
    else:
        row("begg", rk.tau, p=rk.p, note=join(rk.note, caution))
    for est in ("L0", "R0"):
        tf, why = attempt(trimfill, y, v, estimator=est, tau2_method=tau2_method, level=level)
        if tf is None:
            row(f"trimfill_{est}", note=join(not_computed(why), caution))
            continue
        row(f"trimfill_{est}", p=tf.p_k0, k0=float(tf.k0) if tf.k0 >= 0 else nan,
            estimate=tf.estimate, lo=tf.ci_low, hi=tf.ci_high, side=tf.side,
            fill_yi=tf.fill_yi, fill_vi=tf.fill_vi, note=join(tf.note, caution))
    reg_row("pet", pet)
    reg_row("peese", peese)
    return tables()


def leave1out_table(
    effects_rows: pd.DataFrame,
    *,
    outcome: str,
    comparison: str,
    measure: str,
    tau2_method: str = "REML",
    ci_method: str = "wald",
    level: float = 0.95,
    result: LeaveOneOutResult | None = None,
) -> pd.DataFrame:
    """Rows of ``leave1out.csv``: one per left-out study, in input order.

    Columns :data:`LEAVE1OUT_COLUMNS` (``study_id`` is the study left out).
    With k < :data:`MIN_K` the table is empty (a refit of k - 1 < 2 studies
    has no heterogeneity to report).
    """
    sid, y, v = _effects(effects_rows)
    if y.size < MIN_K:
        return pd.DataFrame(columns=list(LEAVE1OUT_COLUMNS))
    r = result if result is not None else leave1out(y, v, tau2_method=tau2_method,
                                                      ci_method=ci_method, level=level)
    frame = pd.DataFrame({
        "outcome": outcome, "comparison": comparison, "measure": measure,
        "tau2_method": r.tau2_method, "study_id": sid, "estimate": r.estimate, "se": r.se,
        "ci_low": r.ci_low, "ci_high": r.ci_high, "tau2": r.tau2, "I2": r.I2, "Q": r.Q,
        "note": list(r.note),
    })
    return frame.reindex(columns=list(LEAVE1OUT_COLUMNS))  # design: the caller's


def influence_table(
    effects_rows: pd.DataFrame,
    *,
    outcome: str,
    comparison: str,
    measure: str,
    tau2_method: str = "REML",
    deleted: LeaveOneOutResult | None = None,
) -> pd.DataFrame:
    """Rows of ``influence.csv``: one per study, in input order (``deleted``: see
    :func:`influence`).

    Columns :data:`INFLUENCE_COLUMNS`: the contract columns and, added at
    the end, ``dfbetas`` (part of metafor's ``influential`` rule). With
    k < :data:`MIN_K` the table is empty.
    """
    sid, y, v = _effects(effects_rows)
    if y.size < MIN_K:
        return pd.DataFrame(columns=list(INFLUENCE_COLUMNS))
    r = influence(y, v, tau2_method=tau2_method, deleted=deleted)
    frame = pd.DataFrame({
        "outcome": outcome, "comparison": comparison, "measure": measure,
        "tau2_method": r.tau2_method, "study_id": sid, "rstudent": r.rstudent,
        "dffits": r.dffits, "cook_d": r.cook_d, "cov_r": r.cov_r, "tau2_del": r.tau2_del,
        "Q_del": r.Q_del, "hat": r.hat, "weight": r.weight, "influential": r.influential,
        "dfbetas": r.dfbetas, "note": r.note,
    })
    return frame.reindex(columns=list(INFLUENCE_COLUMNS))  # design: the caller's
