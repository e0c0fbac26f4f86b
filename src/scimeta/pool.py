"""Common-effect and random-effects pooling, as metafor's ``rma.uni()``.

One implementation serves both entry points: :func:`pool_many` pools many
meta-analyses at once (rows of an ``m x k`` array padded with NaN for ragged
``k``), every estimator written with weight vectors only (O(k) work per
iteration per analysis, no ``k x k`` matrices); :func:`pool` is a thin wrapper
that pools one analysis through :func:`pool_many`.

The statistics reproduce metafor 3.8 (Viechtbauer 2010,
doi:10.18637/jss.v036.i03) for an intercept-only model: the estimate and its
Wald (``test = "z"``) or Hartung-Knapp-Sidik-Jonkman (``test = "knha"``, and
with the factor floored at 1, ``test = "adhoc"``) inference, ``predict()``'s prediction interval, Cochran's Q, I², H², and the
Q-profile confidence interval of ``confint()``. Differences from metafor are
deliberate and documented in :func:`pool_many`: k = 1 heterogeneity is NaN
rather than 0, a common-effect model has no prediction interval, and
non-convergence gives NaN with a note rather than an error.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from scimeta._dist import chi2_isf, chi2_ppf, chi2_sf, norm_isf, norm_sf2, t_isf, t_sf2
from scimeta.estimators import (
    DEFAULT_MAX_ITER,
    DEFAULT_TOL,
    KNHA_TESTS,
    Batch,
    estimate_tau2,
    heterogeneity,
    knha_factor,
    q_gen,
    solve_q,
    typical_v,
    wls,
)

__all__ = [
    "CI_METHODS",
    "CI_TESTS",
    "KNHA_CI_METHODS",
    "MODELS",
    "TAU2_METHODS",
    "PoolBatch",
    "ADHOC_FLOOR_TEXT",
    "ADHOC_FLOOR_PROSE",
    "SINGLE_STUDY_LABEL",
    "SINGLE_STUDY_NOTE",
    "adhoc_floor_note",
    "adhoc_floored",
    "PoolResult",
    "pool",
    "pool_many",
]

TAU2_METHODS = ("EE", "DL", "REML", "PM", "HE", "SJ", "ML", "EB")
CI_METHODS = ("wald", "hksj", "hksj_adhoc")
#: metafor's ``test`` of each CI method: ``wald`` z, ``hksj`` Knapp-Hartung t (``knha``),
#: ``hksj_adhoc`` Knapp-Hartung t with the variance factor floored at 1 (``adhoc``).
CI_TESTS = {"wald": "z", "hksj": "knha", "hksj_adhoc": "adhoc"}
MODELS = ("common", "random")

#: The CI methods with Knapp-Hartung t inference on k - 1 df.
KNHA_CI_METHODS = tuple(c for c, t in CI_TESTS.items() if t in KNHA_TESTS)


#: How a pool of one study is named wherever it is shown (figures, captions, the report).
SINGLE_STUDY_LABEL = "single study, not pooled"
#: The one rule for a pool of one study, under every model and CI method (as metafor, which
#: switches to test = "z" when k = 1): the study's own estimate with its Wald-type CI, z and
#: p; no tau², heterogeneity, Hartung-Knapp interval or prediction interval.
SINGLE_STUDY_NOTE = (f"k = 1: {SINGLE_STUDY_LABEL}: the study's own estimate and Wald-type CI; "
                     "no tau2, heterogeneity, Hartung-Knapp interval or prediction interval")

#: A Knapp-Hartung factor this close below 1 is 1 up to rounding (Paule-Mandel and
#: empirical Bayes solve for a factor of exactly 1 when tau² > 0): not reported as floored.
ADHOC_FLOOR_TOL = 1e-9


def adhoc_floored(ci_method, hk_factor):
    """Whether the ad hoc floor widened an interval: ``hksj_adhoc`` with a
    Knapp-Hartung factor (before the floor) below ``1 - ADHOC_FLOOR_TOL``.
    Elementwise on arrays."""
    with np.errstate(invalid="ignore"):
        return ((np.asarray(ci_method) == "hksj_adhoc")
                & (np.asarray(hk_factor, dtype=float) < 1.0 - ADHOC_FLOOR_TOL))


#: What the ad hoc floor did where it changed an interval, in the one wording that
#: ``pooled.csv``'s note (:func:`adhoc_floor_note`), the forest plot's footnote and the
#: methods text use.
ADHOC_FLOOR_TEXT = ("the Hartung-Knapp variance factor was below 1 and was set to 1 (ad hoc "
                    "correction), so the interval is not narrower than the Wald-type interval")
#: The same words for readers (the methods text, figures, the summary of findings).
ADHOC_FLOOR_PROSE = ADHOC_FLOOR_TEXT.replace("Hartung-Knapp", "Hartung\u2013Knapp")


def adhoc_floor_note(hk_factor: float) -> str:
    """The note of a pool whose Knapp-Hartung factor was floored at 1."""
    return f"factor {hk_factor:.3g}: {ADHOC_FLOOR_TEXT}"


#: Tolerance of the Q-profile root search, relative to ``max(tau2, harmonic mean of vi)``.
QPROFILE_TOL = 1e-12
#: metafor's smallest upper search limit for the Q-profile CI (``confint``).
QPROFILE_TAU2_MAX = 100.0

#: The float fields of :class:`PoolResult`: NaN where a value is not estimable.
RESULT_FLOAT_FIELDS = (
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "stat",
    "p",
    "df",
    "pi_low",
    "pi_high",
    "tau2",
    "tau2_ci_low",
    "tau2_ci_high",
    "tau",
    "I2",
    "H2",
    "Q",
    "Q_df",
    "Q_p",
    "hk_factor",
)


class OneRow:
    """Mixin of the result dataclasses: ``to_dict`` and a one-row ``to_frame``."""

    def to_dict(self) -> dict[str, Any]:
        """Field name -> value."""
        return asdict(self)

    def to_frame(self) -> pd.DataFrame:
        """A one-row DataFrame."""
        return pd.DataFrame([self.to_dict()])


@dataclass(frozen=True)
class PoolResult(OneRow):
    """One pooled estimate with its heterogeneity statistics.

    Attributes
    ----------
    k : int
        Number of studies.
    model : {"common", "random"}
    tau2_method : str
        ``"EE"`` for the common-effect model, else one of
        ``DL, REML, PM, HE, SJ, ML, EB``.
    ci_method : {"wald", "hksj", "hksj_adhoc"}
    level : float
        Confidence level of ``ci_*``, ``pi_*`` and ``tau2_ci_*``.
    estimate, se : float
        Pooled effect and its standard error (HKSJ-scaled for ``hksj``, scaled
        by the factor floored at 1 for ``hksj_adhoc``).
    ci_low, ci_high : float
        Confidence interval of the pooled effect.
    stat, p : float
        z (``wald``) or t (``hksj``, ``hksj_adhoc``) statistic and its
        two-sided p-value.
    df : float
        Degrees of freedom of the t distribution (``k - 1``) for ``hksj`` and
        ``hksj_adhoc``; NaN for ``wald``.
    pi_low, pi_high : float
        Prediction interval (random-effects model, ``k >= pi_min_k``).
    tau2, tau : float
        Between-study variance and its square root (0 for the common model).
    tau2_ci_low, tau2_ci_high : float
        Q-profile confidence interval of tau² (random-effects model).
    I2, H2 : float
        I² (percent) and H².
    Q, Q_df, Q_p : float
        Cochran's Q, its degrees of freedom ``k - 1`` and p-value.
    hk_factor : float
        The Knapp-Hartung variance factor :math:`s^2` before any floor
        (``hksj``, ``hksj_adhoc``; NaN for ``wald`` and k = 1): under
        ``hksj_adhoc`` a factor below 1 was floored, so the interval is wider
        than the unfloored Hartung-Knapp one (:func:`adhoc_floored`).
    converged : bool
        False if an iterative estimator hit its iteration cap.
    iterations : int
        Iterations used by the tau² estimator (0 for closed forms).
    note : str
        Why a value is NaN or anything else to know; ``""`` if nothing.
    """

    k: int
    model: str
    tau2_method: str
    ci_method: str
    level: float
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    stat: float
    p: float
    df: float
    pi_low: float
    pi_high: float
    tau2: float
    tau2_ci_low: float
    tau2_ci_high: float
    tau: float
    I2: float
    H2: float
    Q: float
    Q_df: float
    Q_p: float
    hk_factor: float
    converged: bool
    iterations: int
    note: str



@dataclass(frozen=True)
class PoolBatch:
    """Results of :func:`pool_many`: one entry per analysis (row of ``Y``).

    Scalar attributes (``model``, ``tau2_method``, ``ci_method``, ``level``)
    are shared by all rows; every other attribute is an array of length
    ``m`` with the meaning given in :class:`PoolResult`.
    """

    model: str
    tau2_method: str
    ci_method: str
    level: float
    k: np.ndarray
    estimate: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    stat: np.ndarray
    p: np.ndarray
    df: np.ndarray
    pi_low: np.ndarray
    pi_high: np.ndarray
    tau2: np.ndarray
    tau2_ci_low: np.ndarray
    tau2_ci_high: np.ndarray
    tau: np.ndarray
    I2: np.ndarray
    H2: np.ndarray
    Q: np.ndarray
    Q_df: np.ndarray
    Q_p: np.ndarray
    hk_factor: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    note: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.k.shape[0])

    def result(self, i: int) -> PoolResult:
        """The :class:`PoolResult` of analysis ``i``."""
        values: dict[str, Any] = {}
        for f in fields(PoolResult):
            v = getattr(self, f.name)
            if f.name in ("model", "tau2_method", "ci_method", "level"):
                values[f.name] = v
            elif f.name == "note":
                values[f.name] = v[i]
            elif f.name in ("k", "iterations"):
                values[f.name] = int(v[i])
            elif f.name == "converged":
                values[f.name] = bool(v[i])
            else:
                values[f.name] = float(v[i])
        return PoolResult(**values)

    def to_frame(self) -> pd.DataFrame:
        """One row per analysis, columns as :meth:`PoolResult.to_dict`."""
        n = len(self)
        data: dict[str, Any] = {}
        for f in fields(PoolResult):
            v = getattr(self, f.name)
            if f.name in ("model", "tau2_method", "ci_method", "level"):
                data[f.name] = [v] * n
            elif f.name == "note":
                data[f.name] = list(v)
            else:
                data[f.name] = np.asarray(v)
        return pd.DataFrame(data)


# ---------------------------------------------------------------------------
# Input handling
# ---------------------------------------------------------------------------


def _check_options(model: str, tau2_method: str, ci_method: str, level: float, pi_min_k: int) -> tuple[str, str]:
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    if tau2_method not in TAU2_METHODS:
        raise ValueError(f"tau2_method must be one of {TAU2_METHODS}, got {tau2_method!r}")
    if ci_method not in CI_METHODS:
        raise ValueError(f"ci_method must be one of {CI_METHODS}, got {ci_method!r}")
    if not (0.0 < float(level) < 1.0):
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    if int(pi_min_k) < 1:
        raise ValueError(f"pi_min_k must be >= 1, got {pi_min_k!r}")
    if model == "common" or tau2_method == "EE":
        return "common", "EE"
    return "random", tau2_method


def _as_matrix(Y, V) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    Y = np.asarray(Y, dtype=float)
    V = np.asarray(V, dtype=float)
    if Y.ndim != 2 or V.ndim != 2:
        raise ValueError(f"Y and V must be 2-d (analyses x studies); got shapes {Y.shape} and {V.shape}")
    if Y.shape != V.shape:
        raise ValueError(f"Y and V have different shapes: {Y.shape} and {V.shape}")
    ny, nv = np.isnan(Y), np.isnan(V)
    mismatch = np.argwhere(ny != nv)
    if mismatch.size:
        i, j = (int(x) for x in mismatch[0])
        raise ValueError(f"analysis {i}, study {j}: yi = {float(Y[i, j])!r} but vi = {float(V[i, j])!r}; NaN padding must match")
    present = ~ny
    for name, A in (("yi", Y), ("vi", V)):
        bad = np.argwhere(np.isinf(A))
        if bad.size:
            i, j = (int(x) for x in bad[0])
            raise ValueError(f"analysis {i}, study {j}: {name} = {float(A[i, j])!r} is not finite")
    bad = np.argwhere(present & ~(V > 0))
    if bad.size:
        i, j = (int(x) for x in bad[0])
        raise ValueError(f"analysis {i}, study {j}: vi = {float(V[i, j])!r}; sampling variances must be > 0")
    return np.where(present, Y, 0.0), np.where(present, V, 1.0), present.astype(float)


# ---------------------------------------------------------------------------
# Q-profile CI of tau² (the estimators are in scimeta.estimators)
# ---------------------------------------------------------------------------


def _qprofile(b: Batch, k, tau2, level, scale):
    """Q-profile CI of tau2 (Viechtbauer 2007) with metafor's search rules."""
    m = b.y.shape[0]
    df = k - 1.0
    alpha = 1.0 - level
    crit_u = chi2_isf(alpha / 2.0, df)  # Q at the lower bound
    crit_l = chi2_ppf(alpha / 2.0, df)  # Q at the upper bound
    tau2_max = np.maximum(QPROFILE_TAU2_MAX, 10.0 * tau2)
    q_min, _ = q_gen(b, np.zeros(m))
    q_max, _ = q_gen(b, tau2_max)
    low = np.full(m, np.nan)
    high = np.full(m, np.nan)
    capped_high = np.zeros(m, dtype=bool)
    capped_both = np.zeros(m, dtype=bool)
    ok = np.ones(m, dtype=bool)

    # upper bound
    below = q_min < crit_l
    high[below] = 0.0
    cap = ~below & (q_max > crit_l)
    high[cap] = tau2_max[cap]
    capped_high |= cap
    solve = np.flatnonzero(~below & ~cap)
    if solve.size:
        root, conv, _ = solve_q(
            b.take(solve), crit_l[solve], np.zeros(solve.size), tau2_max[solve], scale[solve], QPROFILE_TOL, 500,
            start=tau2[solve],
        )
        high[solve] = root
        ok[solve] &= conv
    # lower bound
    both = q_max > crit_u
    low[both] = tau2_max[both]
    high[both] = tau2_max[both]
    capped_both |= both
    zero = ~both & (q_min < crit_u)
    low[zero] = 0.0
    solve = np.flatnonzero(~both & ~zero)
    if solve.size:
        root, conv, _ = solve_q(
            b.take(solve), crit_u[solve], np.zeros(solve.size), tau2_max[solve], scale[solve], QPROFILE_TOL, 500,
            start=tau2[solve],
        )
        low[solve] = root
        ok[solve] &= conv
    low[~ok] = np.nan
    high[~ok] = np.nan
    return low, high, capped_high & ~capped_both, capped_both, ~ok, tau2_max


def refit_start(y, v, *, model: str = "random", tau2_method: str = "REML",
                tol: float = DEFAULT_TOL, max_iter: int = DEFAULT_MAX_ITER) -> float | None:
    """Where ML / REML refits of most of the studies ``y``, ``v`` (GOSH samples,
    leave-one-out, cumulative steps, permuted moderators) start: tau² of all of them.

    The root is the one each fit's HE start reaches, in fewer steps. None (start
    at HE) for other models or estimators, or where the fit of all fails.
    """
    if model != "random" or tau2_method not in ("ML", "REML") or np.size(y) < 2:
        return None
    whole = pool_many(np.asarray(y, dtype=float)[None, :], np.asarray(v, dtype=float)[None, :],
                      model=model, tau2_method=tau2_method, tol=tol, max_iter=max_iter,
                      tau2_ci=False).tau2[0]
    return float(whole) if np.isfinite(whole) else None


def pool_many(
    Y,
    V,
    *,
    model: str = "random",
    tau2_method: str = "REML",
    ci_method: str = "wald",
    level: float = 0.95,
    pi_min_k: int = 3,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
    tau2_ci: bool = True,
    tau2_start=None,
) -> PoolBatch:
    """Pool many meta-analyses at once, each as metafor's ``rma.uni``.

    Parameters
    ----------
    Y, V : array_like, shape (m, k)
        Effect sizes and sampling variances, one analysis per row; pad rows
        with fewer studies with NaN (in the same cells of ``Y`` and ``V``).
    model : {"random", "common"}
        ``"common"`` fits the common-effect (equal-effects, ``EE``) model and
        ignores ``tau2_method``; ``tau2_method="EE"`` also selects it.
    tau2_method : {"REML", "DL", "PM", "HE", "SJ", "ML", "EB", "EE"}
        Estimator of the between-study variance.
    ci_method : {"wald", "hksj", "hksj_adhoc"}
        ``"wald"``: normal quantiles (metafor ``test = "z"``); ``"hksj"``:
        Hartung-Knapp-Sidik-Jonkman (metafor ``test = "knha"``);
        ``"hksj_adhoc"``: the same with the variance factor floored at 1
        (metafor ``test = "adhoc"``), never narrower than ``"wald"``.
    level : float
        Confidence level, e.g. 0.95.
    pi_min_k : int
        Smallest k for which a prediction interval is reported (default 3;
        pass 1 to obtain metafor's interval for k = 2).
    tol : float
        Convergence tolerance of the iterative estimators (REML, ML, PM, EB),
        on the change of tau2 relative to ``max(tau2, harmonic mean of vi)``.
    max_iter : int
        Iteration cap of the iterative estimators.
    tau2_ci : bool
        Compute the Q-profile CI of tau² (random-effects model only).
    tau2_start : float or ndarray (m,), optional
        Where the ML / REML iterations start (default: the HE estimate, as
        metafor), e.g. the estimate of all studies for random halves of them.

    Returns
    -------
    PoolBatch

    Notes
    -----
    **Estimators of** :math:`\\tau^2` (intercept-only model; :math:`w_i =
    1/v_i`, :math:`Q` Cochran's statistic, :math:`\\bar y` the unweighted
    mean); each is truncated at 0 where it can be negative (DL, HE; the ML,
    REML, PM and EB searches are confined to :math:`[0, \\infty)`; SJ is never
    negative):

    * ``DL`` (DerSimonian & Laird 1986, doi:10.1016/0197-2456(86)90046-2)

      .. math:: \\hat\\tau^2 = \\max\\Big(0, \\frac{Q - (k-1)}{\\sum w_i -
                \\sum w_i^2/\\sum w_i}\\Big)

    * ``HE`` (Hedges 1983; Hedges & Olkin 1985)

      .. math:: \\hat\\tau^2 = \\max\\Big(0, \\frac{1}{k-1}\\sum (y_i -
                \\bar y)^2 - \\frac1k\\sum v_i\\Big)

    * ``SJ`` (Sidik & Jonkman 2005, doi:10.1081/BIP-200067915), with
      :math:`\\hat\\tau_0^2 = \\frac1k\\sum(y_i-\\bar y)^2` and weights
      :math:`1/(v_i + \\hat\\tau_0^2)` in :math:`Q_0`:

      .. math:: \\hat\\tau^2 = \\hat\\tau_0^2\\, Q_0 / (k-1)

    * ``PM`` (Paule & Mandel 1982, doi:10.6028/jres.087.022) and ``EB``
      (Morris 1983, doi:10.1080/01621459.1983.10477920; its estimating
      equation is the same): the root of the generalised Q statistic

      .. math:: \\sum_i \\frac{(y_i - \\hat\\mu)^2}{v_i + \\tau^2} = k - 1,
                \\qquad \\hat\\tau^2 = 0 \\text{ if } Q(0) < k - 1,

      found by Newton steps (Q is convex and decreasing in tau²).
    * ``ML`` and ``REML`` (Viechtbauer 2005, doi:10.3102/10769986030003261):
      Fisher scoring from the HE estimate, as metafor, maximising

      .. math:: \\ell_R(\\tau^2) = -\\tfrac12\\sum\\ln(v_i+\\tau^2)
                - \\tfrac12\\ln\\sum w_i(\\tau^2)
                - \\tfrac12\\sum w_i(\\tau^2)(y_i-\\hat\\mu)^2

      (ML omits the middle term), with metafor's check that the result beats
      :math:`\\tau^2 = 0`.

    **Pooled estimate** with :math:`w_i = 1/(v_i + \\hat\\tau^2)`:
    :math:`\\hat\\mu = \\sum w_i y_i / \\sum w_i`,
    :math:`\\mathrm{SE} = (\\sum w_i)^{-1/2}`. For ``hksj`` (Hartung & Knapp
    2001, doi:10.1002/sim.1009; Sidik & Jonkman 2002) the variance is scaled,
    without truncation, as metafor ``test = "knha"``:

    .. math:: \\mathrm{SE}_{HK}^2 = \\frac{\\sum w_i (y_i - \\hat\\mu)^2}{k-1}
              \\cdot \\frac{1}{\\sum w_i}

    (the factor is set to 0 when the weighted residual sum of squares is at
    most machine epsilon, as metafor) and quantiles come from
    :math:`t_{k-1}`. ``hksj_adhoc`` floors the factor at 1 (Knapp & Hartung
    2003, doi:10.1002/sim.1482; Röver et al. 2015,
    doi:10.1186/s12874-015-0091-1; metafor ``test = "adhoc"``):

    .. math:: \\mathrm{SE}_{adhoc}^2 = \\max\\Big(1, \\frac{\\sum w_i (y_i -
              \\hat\\mu)^2}{k-1}\\Big) \\cdot \\frac{1}{\\sum w_i},

    with :math:`t_{k-1}` quantiles, so its interval is at least as wide as
    the Wald one of the same tau² estimate.

    **Prediction interval** (metafor ``predict``):
    :math:`\\hat\\mu \\pm c\\sqrt{\\mathrm{SE}^2 + \\hat\\tau^2}` with the SE
    and the quantile :math:`c` of the CI (z, or :math:`t_{k-1}` for ``hksj``
    and ``hksj_adhoc``).

    **Heterogeneity** (Higgins & Thompson 2002, doi:10.1002/sim.1186):
    :math:`Q = \\sum (y_i - \\hat\\mu_{EE})^2 / v_i` on :math:`k-1` df. For
    the random-effects model metafor computes

    .. math:: I^2 = 100\\,\\frac{\\hat\\tau^2}{\\hat\\tau^2 + \\tilde v},\\quad
              H^2 = \\frac{\\hat\\tau^2}{\\tilde v} + 1,\\quad
              \\tilde v = \\frac{k-1}{\\sum w_i - \\sum w_i^2/\\sum w_i}

    and for the common-effect model :math:`I^2 = \\max(0, 100(Q-(k-1))/Q)`,
    :math:`H^2 = Q/(k-1)`.

    **Q-profile CI for** :math:`\\tau^2` (Viechtbauer 2007,
    doi:10.1002/sim.2514): the bounds solve
    :math:`Q(\\tau^2) = \\chi^2_{k-1;1-\\alpha/2}` (lower) and
    :math:`Q(\\tau^2) = \\chi^2_{k-1;\\alpha/2}` (upper) on
    :math:`[0, \\tau^2_{max}]`, :math:`\\tau^2_{max} = \\max(100,
    10\\hat\\tau^2)` as metafor ``confint``. A bound whose equation has no
    root in that range is 0 (below) or :math:`\\tau^2_{max}` (above, with a
    note); both are 0 when :math:`Q(0)` is below the lower quantile.

    **Edge cases.** k = 0: everything NaN. k = 1 (:data:`SINGLE_STUDY_NOTE`,
    under every model and CI method): the estimate is the single study's
    effect with its own Wald CI, z and p (as metafor, which sets ``test =
    "z"`` for k = 1); tau², Q, I², H², the tau² CI, the Hartung-Knapp factor
    and the prediction interval are NaN (metafor reports 0/1 for the
    heterogeneity statistics). k < ``pi_min_k``:
    no prediction interval. The common-effect model has no prediction
    interval and no tau² CI. An iterative estimator that does not converge
    within ``max_iter`` gives ``converged = False``, a note, and NaN for tau²
    and everything computed from it (Q and its p-value remain).

    References
    ----------
    DerSimonian, R., & Laird, N. (1986). doi:10.1016/0197-2456(86)90046-2.
    Viechtbauer, W. (2005). doi:10.3102/10769986030003261.
    Paule, R. C., & Mandel, J. (1982). doi:10.6028/jres.087.022.
    Morris, C. N. (1983). doi:10.1080/01621459.1983.10477920.
    Sidik, K., & Jonkman, J. N. (2005). doi:10.1081/BIP-200067915.
    Hartung, J., & Knapp, G. (2001). doi:10.1002/sim.1009.
    Higgins, J. P. T., & Thompson, S. G. (2002). doi:10.1002/sim.1186.
    Viechtbauer, W. (2007). doi:10.1002/sim.2514.
    """
    model, method = _check_options(model, tau2_method, ci_method, level, pi_min_k)
    if tol <= 0:
        raise ValueError(f"tol must be > 0, got {tol!r}")
    if int(max_iter) < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter!r}")
    Yf, Vf, M = _as_matrix(Y, V)
    m = Yf.shape[0]
    level = float(level)
    k = M.sum(axis=1)
    notes: list[list[str]] = [[] for _ in range(m)]

    def add_note(mask: np.ndarray, text: str) -> None:
        for i in np.flatnonzero(mask):
            notes[i].append(text)

    k0, k1, kge2 = k == 0, k == 1, k >= 2
    add_note(k0, "k = 0: nothing to pool")
    add_note(k1, SINGLE_STUDY_NOTE)
    ybar = np.where(k > 0, (Yf * M).sum(axis=1) / np.maximum(k, 1.0), 0.0)
    Yc = (Yf - ybar[:, None]) * M
    batch = Batch(Yc, Vf, M)

    # --- tau2 ---------------------------------------------------------------
    converged = np.ones(m, dtype=bool)
    iterations = np.zeros(m, dtype=int)
    if model == "common":
        tau2 = np.where(k > 0, 0.0, np.nan)
    else:
        tau2 = np.full(m, np.nan)
        rows = np.flatnonzero(kge2)
        if rows.size:
            sub = batch.take(rows)
            start = (None if tau2_start is None else
                     np.broadcast_to(np.asarray(tau2_start, dtype=float), (m,))[rows])
            t, conv, it = estimate_tau2(method, sub, tol=tol, max_iter=int(max_iter), start=start)
            tau2[rows] = np.where(conv, t, np.nan)
            converged[rows] = conv
            iterations[rows] = it
        add_note(
            ~converged,
            f"{method} estimator did not converge in {int(max_iter)} iterations: tau2 and the results based on it are NaN",
        )

    # --- pooled estimate ----------------------------------------------------
    t_fit = np.where(k1, 0.0, tau2)  # k = 1: the single study (metafor uses tau2 = 0)
    w, mu_c, r, sw = wls(batch, np.where(np.isnan(t_fit), 0.0, t_fit))
    estimate = np.where(np.isnan(t_fit), np.nan, ybar + mu_c)
    with np.errstate(divide="ignore"):
        var = 1.0 / sw  # inf for k = 0, replaced by NaN below
    hk_factor = np.full(m, np.nan)
    if ci_method in KNHA_CI_METHODS:
        rss = (w * r * r).sum(axis=1)
        s2w, raw = knha_factor(rss, k - 1.0, adhoc=ci_method == "hksj_adhoc")
        var = np.where(kge2, s2w * var, var)  # k = 1: the study's own (Wald) variance
        hk_factor = np.where(kge2 & ~np.isnan(t_fit), raw, np.nan)
        df = np.where(kge2, k - 1.0, np.nan)
        add_note(kge2 & (s2w == 0) & ~np.isnan(t_fit), "HKSJ scale factor is 0 (weighted residuals all 0): SE = 0")
        for i in np.flatnonzero(adhoc_floored(ci_method, hk_factor)):
            notes[i].append(adhoc_floor_note(float(hk_factor[i])))
        with np.errstate(invalid="ignore"):
            crit = np.where(kge2, t_isf((1.0 - level) / 2.0, df), norm_isf((1.0 - level) / 2.0))
    else:
        df = np.full(m, np.nan)
        crit = np.full(m, norm_isf((1.0 - level) / 2.0))
    var = np.where(np.isnan(t_fit), np.nan, var)
    se = np.sqrt(var)
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = estimate / se
    if ci_method in KNHA_CI_METHODS:
        with np.errstate(invalid="ignore"):
            p = np.where(kge2, t_sf2(stat, df), norm_sf2(stat))
    else:
        p = norm_sf2(stat)
    p = np.where(np.isnan(stat), np.nan, p)
    ci_low = estimate - crit * se
    ci_high = estimate + crit * se

    # --- prediction interval (random-effects model) ------------------------
    if model == "random":
        show = kge2 & (k >= int(pi_min_k))
        half = crit * np.sqrt(var + tau2)
        pi_low = np.where(show, estimate - half, np.nan)
        pi_high = np.where(show, estimate + half, np.nan)
        add_note(kge2 & ~show, f"prediction interval not reported for k < {int(pi_min_k)}")
    else:
        pi_low = np.full(m, np.nan)
        pi_high = np.full(m, np.nan)

    # --- heterogeneity ------------------------------------------------------
    q0, vt = heterogeneity(batch)
    q_df = np.where(kge2, k - 1.0, np.nan)
    Q = np.where(kge2, q0, np.nan)
    Q_p = chi2_sf(Q, q_df)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if model == "common":
            # metafor: max(0, 100 (Q - df) / Q), which is 0 when Q = 0
            I2 = np.where(Q > 0, np.maximum(0.0, 100.0 * (Q - q_df) / Q), np.where(kge2, 0.0, np.nan))
            H2 = Q / q_df
        else:
            I2 = 100.0 * tau2 / (vt + tau2)
            H2 = tau2 / vt + 1.0

    # --- Q-profile CI for tau2 ----------------------------------------------
    tau2_ci_low = np.full(m, np.nan)
    tau2_ci_high = np.full(m, np.nan)
    if model == "random" and tau2_ci:
        rows = np.flatnonzero(kge2 & ~np.isnan(tau2))
        if rows.size:
            sub = batch.take(rows)
            lo, hi, cap_hi, cap_both, failed, tmax = _qprofile(sub, k[rows], tau2[rows], level, typical_v(sub))
            tau2_ci_low[rows], tau2_ci_high[rows] = lo, hi
            for j, i in enumerate(rows):
                if cap_hi[j]:
                    notes[i].append(f"tau2 CI upper bound is the search limit {float(tmax[j])!r} (true bound is larger)")
                if cap_both[j]:
                    notes[i].append(f"both tau2 CI bounds exceed the search limit {float(tmax[j])!r}")
                if failed[j]:
                    notes[i].append("Q-profile root search for the tau2 CI did not converge")

    return PoolBatch(
        model=model,
        tau2_method=method,
        ci_method=ci_method,
        level=level,
        k=k.astype(int),
        estimate=estimate,
        se=se,
        ci_low=ci_low,
        ci_high=ci_high,
        stat=stat,
        p=p,
        df=df,
        pi_low=pi_low,
        pi_high=pi_high,
        tau2=tau2,
        tau2_ci_low=tau2_ci_low,
        tau2_ci_high=tau2_ci_high,
        tau=np.sqrt(tau2),
        I2=I2,
        H2=H2,
        Q=Q,
        Q_df=q_df,
        Q_p=Q_p,
        hk_factor=hk_factor,
        converged=converged,
        iterations=iterations,
        note=tuple("; ".join(n) for n in notes),
    )


def check_yi_vi(yi, vi, study_id=None) -> tuple[np.ndarray, np.ndarray]:
    """``yi``, ``vi`` as 1-d float arrays: finite, ``vi > 0``; errors name the study."""
    y = np.atleast_1d(np.asarray(yi, dtype=float))
    v = np.atleast_1d(np.asarray(vi, dtype=float))
    if y.ndim != 1 or v.ndim != 1:
        raise ValueError(f"yi and vi must be 1-d; got shapes {y.shape} and {v.shape}")
    if y.shape != v.shape:
        raise ValueError(f"yi and vi have different lengths: {y.size} and {v.size}")

    def name(j: int) -> str:
        return f"study {study_id[j]!r}" if study_id is not None else f"study {j}"

    for col, a in (("yi", y), ("vi", v)):
        bad = np.flatnonzero(~np.isfinite(a))
        if bad.size:
            j = int(bad[0])
            raise ValueError(f"{name(j)}: {col} = {float(a[j])!r} is not a finite number")
    bad = np.flatnonzero(~(v > 0))
    if bad.size:
        j = int(bad[0])
        raise ValueError(f"{name(j)}: vi = {float(v[j])!r}; sampling variances must be > 0")
    return y, v


def pool(
    yi,
    vi,
    *,
    model: str = "random",
    tau2_method: str = "REML",
    ci_method: str = "wald",
    level: float = 0.95,
    pi_min_k: int = 3,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
    tau2_ci: bool = True,
) -> PoolResult:
    """Pool one meta-analysis as metafor's ``rma.uni``; see :func:`pool_many`.

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
        Effect sizes and sampling variances (finite, ``vi > 0``, no NaN).
    model, tau2_method, ci_method, level, pi_min_k, tol, max_iter, tau2_ci
        As in :func:`pool_many`.

    Returns
    -------
    PoolResult

    Examples
    --------
    >>> res = pool([0.1, 0.3, 0.35, 0.6], [0.02, 0.03, 0.025, 0.04], tau2_method="DL")
    >>> res.k
    4
    """
    yi, vi = check_yi_vi(yi, vi)
    batch = pool_many(
        yi[None, :],
        vi[None, :],
        model=model,
        tau2_method=tau2_method,
        ci_method=ci_method,
        level=level,
        pi_min_k=pi_min_k,
        tol=tol,
        max_iter=max_iter,
        tau2_ci=tau2_ci,
    )
    return batch.result(0)
