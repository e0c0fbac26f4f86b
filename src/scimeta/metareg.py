"""Mixed-effects meta-regression (random-effects model with moderators).

The model is

.. math::

    y_i = x_i^\\top \\beta + u_i + e_i, \\qquad
    u_i \\sim N(0, \\tau^2), \\quad e_i \\sim N(0, v_i),

fitted by weighted least squares for a given :math:`\\tau^2` with weights
:math:`w_i = 1 / (v_i + \\tau^2)`; the residual heterogeneity :math:`\\tau^2`
is estimated by one of the estimators below (Raudenbush 2009, in *The
Handbook of Research Synthesis and Meta-Analysis*, 2nd ed., ch. 16;
Viechtbauer 2005, doi:10.3102/10769986030003261; Viechtbauer et al. 2015,
doi:10.1002/jrsm.1126). Names and conventions follow R's metafor
(``rma(yi, vi, mods = ...)``) so that a cross-check reads naturally.

The estimators of tau² are those of :func:`scimeta.pool.pool_many`: both
call the one core in :mod:`scimeta.estimators` (an intercept-only pool is the
meta-regression with X = 1), with the same convergence rule, and both check
``yi``/``vi`` with :func:`scimeta.pool.check_yi_vi`. Everything is vectorised
over a leading batch axis, so a permutation test refits a thousand permuted
design matrices in one pass (:func:`qm_batch`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scimeta._dist import chi2_sf, f_sf, norm_isf, norm_sf2, t_isf, t_sf2
from scimeta.estimators import (
    DEFAULT_MAX_ITER,
    DEFAULT_TOL,
    KNHA_TESTS,
    Batch,
    estimate_tau2,
    heterogeneity,
    knha_factor,
    wls,
)
from scimeta.pool import check_yi_vi

__all__ = [
    "METAREG_TAU2_METHODS",
    "MetaRegResult",
    "LinePrediction",
    "metareg",
    "fit_batch",
    "fit_batch_tests",
    "fit_rows_tests",
    "predict_line",
    "qm_batch",
]

#: Residual-heterogeneity estimators available for meta-regression.
METAREG_TAU2_METHODS = ("EE", "DL", "HE", "SJ", "ML", "REML", "EB", "PM")
_TESTS = ("z", *KNHA_TESTS)



# --------------------------------------------------------------------------
# the estimator core, shared with scimeta.pool
# --------------------------------------------------------------------------
def _batch(y: np.ndarray, v: np.ndarray, X: np.ndarray | None, n: int = 1) -> Batch:
    """``n`` models of the same studies; ``X`` (n, k, p), or None for intercept-only."""
    k = y.size
    shape = (n, k)
    return Batch(np.broadcast_to(y, shape), np.broadcast_to(v, shape), np.ones(shape), X)


def _estimate_tau2(y, vi, X, method, *, tol=DEFAULT_TOL, max_iter=DEFAULT_MAX_ITER):
    """Residual tau^2 for a batch of design matrices ``X`` (n, k, p), or the
    intercept-only model (``X = None``), by :func:`scimeta.estimators.estimate_tau2`.

    Returns ``tau2`` (n,) (NaN where not converged), ``converged`` and ``iterations``.
    """
    return _batch_tau2(_batch(y, vi, X, 1 if X is None else X.shape[0]), method, tol=tol,
                       max_iter=max_iter)


def _batch_tau2(batch: Batch, method, *, tol=DEFAULT_TOL, max_iter=DEFAULT_MAX_ITER, start=None):
    """:func:`_estimate_tau2` of the models of ``batch``; ``start``: where ML / REML start."""
    n = batch.y.shape[0]
    if method == "EE":
        return np.zeros(n), np.ones(n, dtype=bool), np.zeros(n, dtype=int)
    if method not in METAREG_TAU2_METHODS:
        raise ValueError(f"tau2_method must be one of {METAREG_TAU2_METHODS}, got {method!r}")
    tau2, conv, iters = estimate_tau2(method, batch, tol=tol, max_iter=max_iter, start=start)
    return np.where(conv, tau2, np.nan), conv, iters


# --------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class MetaRegResult:
    """Fitted mixed-effects meta-regression (metafor's ``rma.uni`` with ``mods``).

    Attributes follow metafor: ``beta``, ``se``, ``stat`` (z or t), ``pval``,
    ``ci_low``/``ci_high``, ``vcov``; the omnibus test of the coefficients in
    ``btt`` (``QM``, ``QM_df``, ``QM_p``, and for ``test="knha"`` or ``"adhoc"`` the F form
    ``F``, ``F_df1``, ``F_df2``; then ``QM = F_df1 * F`` and ``QM_p`` is the
    F-test p-value); residual heterogeneity ``QE``, ``QE_df``, ``QE_p``,
    ``tau2``, ``I2`` and ``H2`` (percent and ratio, as metafor), ``R2``
    (percent, pseudo-R^2 against the random-effects model without
    moderators, floored at 0) and ``tau2_RE`` (that model's tau^2);
    ``s2w`` the Knapp-Hartung factor applied (1 for ``z``) and ``s2w_raw``
    that factor before the ``adhoc`` floor.
    """

    k: int
    p: int
    tau2_method: str
    test: str
    level: float
    names: tuple[str, ...]
    intercept: bool
    beta: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    pval: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    vcov: np.ndarray
    df: float
    btt: tuple[int, ...]
    QM: float
    QM_df: int
    QM_p: float
    F: float
    F_df1: float
    F_df2: float
    QE: float
    QE_df: int
    QE_p: float
    tau2: float
    tau: float
    I2: float
    H2: float
    R2: float
    tau2_RE: float
    s2w: float
    s2w_raw: float
    tau2_fixed: bool
    converged: bool
    iterations: int
    note: str = ""
    crit: float = np.nan

    def to_frame(self) -> pd.DataFrame:
        """One row per coefficient: term, estimate, se, stat, p, ci_low, ci_high."""
        return pd.DataFrame(
            {
                "term": list(self.names),
                "estimate": self.beta,
                "se": self.se,
                "stat": self.stat,
                "p": self.pval,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Model-level statistics plus ``coefficients`` (list of row dicts)."""
        keys = (
            "k p tau2_method test level intercept df QM QM_df QM_p F F_df1 F_df2 "
            "QE QE_df QE_p tau2 tau I2 H2 R2 tau2_RE s2w s2w_raw tau2_fixed converged "
            "iterations note"
        ).split()
        out = {key: getattr(self, key) for key in keys}
        out["btt"] = list(self.btt)
        out["coefficients"] = self.to_frame().to_dict(orient="records")
        return out


def _as_design(X, k, intercept):
    if X is None:
        names: list[str] = []
        M = np.zeros((k, 0))
    elif isinstance(X, pd.DataFrame):
        names = [str(c) for c in X.columns]
        M = X.to_numpy(dtype=float)
    elif isinstance(X, pd.Series):
        names = [str(X.name) if X.name is not None else "x1"]
        M = X.to_numpy(dtype=float)[:, None]
    else:
        M = np.asarray(X, dtype=float)
        if M.ndim == 1:
            M = M[:, None]
        names = [f"x{j + 1}" for j in range(M.shape[1])]
    if M.ndim != 2 or M.shape[0] != k:
        raise ValueError(f"X must have {k} rows (one per effect size), got shape {M.shape}")
    bad = ~np.isfinite(M)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(f"X: non-finite moderator value in row {i}, column {names[j]!r}")
    if intercept:
        M = np.column_stack([np.ones(k), M])
        names = ["intrcpt", *names]
    if M.shape[1] == 0:
        raise ValueError("the model has no coefficients (no X and intercept=False)")
    if np.linalg.matrix_rank(M) < M.shape[1]:
        raise ValueError(f"X is rank deficient (columns {names}): drop redundant moderators")
    return M, tuple(names)


def metareg(
    yi,
    vi,
    X=None,
    *,
    tau2_method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    intercept: bool = True,
    btt=None,
    tau2: float | None = None,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
) -> MetaRegResult:
    """Fit a mixed-effects meta-regression, as ``metafor::rma(yi, vi, mods = X)``.

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
        Effect sizes and their sampling variances (``vi > 0``).
    X : array_like (k,) or (k, m), DataFrame, Series or None
        Moderators, without the intercept column (added when ``intercept``).
        ``None`` fits the intercept-only (random-effects) model.
    tau2_method : {"REML", "ML", "DL", "HE", "SJ", "PM", "EB", "EE"}
        Residual-heterogeneity estimator; ``"EE"`` fixes tau^2 = 0
        (equal-effects meta-regression).
    test : {"z", "knha", "adhoc"}
        Wald z/chi^2 tests, or the Knapp & Hartung (2003,
        doi:10.1002/sim.1482) adjustment: covariance multiplied by
        :math:`s^2 = \\sum_i w_i r_i^2/(k-p)` (not truncated at 1, as
        metafor), t and F tests with ``k - p`` denominator degrees of freedom;
        ``"adhoc"``: the same with :math:`\\max(1, s^2)` (metafor
        ``test = "adhoc"``), so no standard error is below the Wald one.
    level : float
        Confidence level of the coefficient intervals.
    intercept : bool
        Add an intercept column.
    btt : sequence of int, optional
        Coefficients tested jointly by QM (default: all but the intercept;
        the intercept alone for an intercept-only model).
    tau2 : float, optional
        Fix tau^2 at this value instead of estimating it (metafor's ``tau2=``).

    Returns
    -------
    MetaRegResult

    Notes
    -----
    For given :math:`\\tau^2`, with :math:`W = \\operatorname{diag}(1/(v_i+\\tau^2))`,

    .. math::

        \\hat\\beta = (X^\\top W X)^{-1} X^\\top W y, \\qquad
        \\operatorname{Var}(\\hat\\beta) = (X^\\top W X)^{-1}, \\qquad
        Q_M = \\hat\\beta_{b}^\\top \\operatorname{Var}(\\hat\\beta)_{bb}^{-1} \\hat\\beta_{b}.

    Estimators of :math:`\\tau^2` with
    :math:`P = W - W X (X^\\top W X)^{-1} X^\\top W`:
    DL (:math:`W` at :math:`\\tau^2=0`)
    :math:`\\hat\\tau^2 = (y^\\top P y - (k-p)) / \\operatorname{tr} P`
    (DerSimonian & Laird 1986, doi:10.1016/0197-2456(86)90046-2, extended to
    moderators by Raudenbush 2009); REML and ML by Fisher scoring,
    :math:`\\tau^2 \\leftarrow \\tau^2 + (y^\\top P^2 y - \\operatorname{tr} P)/\\operatorname{tr}P^2`
    (REML) or :math:`(y^\\top P^2 y - \\sum w_i)/\\sum w_i^2` (ML), with step
    halving at 0 (Viechtbauer 2005); HE from ordinary least squares
    residuals; SJ (Sidik & Jonkman 2005, doi:10.1080/10543400500304254);
    PM (Paule & Mandel 1982); EB (Morris 1983). All are floored at 0.

    Residual heterogeneity: :math:`Q_E = y^\\top P_0 y` with weights
    :math:`1/v_i`, :math:`\\tilde v = (k-p)/\\operatorname{tr} P_0`,
    :math:`I^2 = 100\\,\\hat\\tau^2/(\\tilde v + \\hat\\tau^2)`,
    :math:`H^2 = 1 + \\hat\\tau^2/\\tilde v` (Higgins & Thompson 2002,
    doi:10.1002/sim.1186; for EE: :math:`I^2 = 100 (Q_E-(k-p))/Q_E`,
    :math:`H^2 = Q_E/(k-p)`). Pseudo-R^2 (Raudenbush 2009):
    :math:`R^2 = \\max(0, (\\hat\\tau^2_{RE} - \\hat\\tau^2)/\\hat\\tau^2_{RE})`
    in percent, with :math:`\\hat\\tau^2_{RE}` from the model without
    moderators (same estimator); 0 when :math:`\\hat\\tau^2_{RE} = 0`, NaN for
    EE and intercept-only models (metafor uses an adjusted R^2 of a weighted
    lm for EE; not reproduced here).

    Edge cases (never an exception): ``k <= p`` gives NaN tau^2/QE with a
    note; non-convergence gives NaN with ``converged=False`` and a note.
    """
    y, v = check_yi_vi(yi, vi)
    if tau2_method not in METAREG_TAU2_METHODS:
        raise ValueError(f"tau2_method must be one of {METAREG_TAU2_METHODS}, got {tau2_method!r}")
    if test not in _TESTS:
        raise ValueError(f"test must be one of {_TESTS}, got {test!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    k = y.size
    M, names = _as_design(X, k, intercept)
    p = M.shape[1]
    if btt is None:
        btt = tuple(range(1, p)) if (intercept and p > 1) else tuple(range(p))
    btt = tuple(int(b) for b in btt)
    m = len(btt)
    notes: list[str] = []
    X3 = M[None, :, :]
    tau2_fixed = tau2 is not None
    iterations = 0
    converged = True
    if tau2_fixed:
        t2 = float(tau2)
        if not np.isfinite(t2) or t2 < 0:
            raise ValueError(f"tau2 must be a finite value >= 0, got {tau2!r}")
    elif tau2_method == "EE":
        t2 = 0.0
    elif k <= p:
        t2 = 0.0
        notes.append(f"k = {k} <= p = {p}: tau^2 not estimable, set to 0")
    else:
        est, conv, its = _estimate_tau2(
            y, v, X3, tau2_method, tol=tol, max_iter=max_iter
        )
        t2, converged, iterations = float(est[0]), bool(conv[0]), int(its[0])
        if not converged:
            notes.append(f"{tau2_method} did not converge in {max_iter} iterations")
    # what a fit states whether or not tau^2 was estimable
    design = dict(
        k=k, p=p, tau2_method=tau2_method, test=test, level=level, names=names,
        intercept=intercept, btt=btt, QM_df=m, QE_df=k - p, tau2_fixed=tau2_fixed,
        iterations=iterations,
    )
    nan = float("nan")
    if not np.isfinite(t2):
        empty = np.full(p, nan)
        return MetaRegResult(
            **design,
            beta=empty,
            se=empty,
            stat=empty,
            pval=empty,
            ci_low=empty,
            ci_high=empty,
            vcov=np.full((p, p), nan),
            df=nan,
            QM=nan,
            QM_p=nan,
            F=nan,
            F_df1=nan,
            F_df2=nan,
            QE=nan,
            QE_p=nan,
            tau2=nan,
            tau=nan,
            I2=nan,
            H2=nan,
            R2=nan,
            tau2_RE=nan,
            s2w=nan,
            s2w_raw=nan,
            converged=False,
            note="; ".join(notes),
        )
    w, beta, r, A = wls(_batch(y, v, X3), np.array([t2]))
    w, beta, r, A = w[0], beta[0], r[0], A[0]
    s2w = s2w_raw = 1.0
    if test in KNHA_TESTS:
        if k - p <= 0:
            s2w = s2w_raw = nan
            notes.append("k - p = 0: no Knapp-Hartung test")
        else:
            factor, raw = knha_factor(float(np.sum(w * r**2)), k - p, adhoc=test == "adhoc")
            s2w, s2w_raw = float(factor), float(raw)
        if tau2_method == "EE" and not tau2_fixed:
            notes.append("Knapp-Hartung adjustment applied to an equal-effects model")
    vb = s2w * A
    se = np.sqrt(np.diag(vb))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / se
    if s2w == 0.0:
        # every effect size on the fitted line: SE 0 and beta / 0 is no test statistic
        # (metafor prints t = +-Inf, p < .0001; the sign of -Inf follows rounding noise)
        stat = np.full(p, nan)
        notes.append("Knapp-Hartung: residual variance 0 (the effect sizes lie on the fitted "
                     "line), so the standard errors are 0 and there is no t, F or p")
    try:
        sub = vb[np.ix_(btt, btt)]
        QM = float(beta[list(btt)] @ np.linalg.solve(sub, beta[list(btt)])) if s2w != 0 else nan
    except np.linalg.LinAlgError:
        QM = nan
    F = F_df1 = F_df2 = nan
    if test in KNHA_TESTS:
        df = float(k - p)
        F, F_df1, F_df2 = (QM / m if s2w > 0 else nan), float(m), df
        QM_p = float(f_sf(F, m, df)) if df > 0 and s2w > 0 else nan
        pval = t_sf2(stat, df) if df > 0 else np.full(p, nan)
        crit = float(t_isf((1 - level) / 2, df)) if df > 0 else nan
    else:
        df = nan
        QM_p = float(chi2_sf(QM, m))
        pval = norm_sf2(stat)
        crit = float(norm_isf((1 - level) / 2))
    # residual heterogeneity at tau^2 = 0
    if k > p:
        q0, vt0 = heterogeneity(_batch(y, v, X3))
        QE, vt = float(q0[0]), float(vt0[0])
        QE_p = float(chi2_sf(QE, k - p))
        if tau2_method == "EE" and not tau2_fixed:
            I2 = max(0.0, 100.0 * (QE - (k - p)) / QE) if QE > 0 else 0.0
            H2 = QE / (k - p)
        else:
            I2 = 100.0 * t2 / (vt + t2)
            H2 = t2 / vt + 1.0
    else:
        QE, QE_p, I2, H2 = 0.0, 1.0, 0.0, 1.0
    # pseudo-R^2 against the model without moderators
    R2 = tau2_RE = nan
    if intercept and p > 1 and tau2_method != "EE" and not tau2_fixed and k > 1:
        est0, conv0, _ = _estimate_tau2(y, v, None, tau2_method, tol=tol, max_iter=max_iter)
        tau2_RE = float(est0[0])
        if conv0[0]:
            R2 = 0.0 if tau2_RE == 0 else max(0.0, 100.0 * (tau2_RE - t2) / tau2_RE)
    return MetaRegResult(
        **design,
        beta=beta,
        se=se,
        stat=stat,
        pval=np.asarray(pval, dtype=float),
        ci_low=beta - crit * se,
        ci_high=beta + crit * se,
        vcov=vb,
        df=df,
        QM=QM,
        QM_p=QM_p,
        F=F,
        F_df1=F_df1,
        F_df2=F_df2,
        QE=QE,
        QE_p=QE_p,
        tau2=t2,
        tau=float(np.sqrt(t2)),
        I2=I2,
        H2=H2,
        R2=R2,
        tau2_RE=tau2_RE,
        s2w=s2w,
        s2w_raw=s2w_raw,
        converged=converged,
        note="; ".join(notes),
        crit=crit,
    )


def fit_batch(
    yi, vi, Xb, *, tau2_method="REML", test="z", btt=None, tol=DEFAULT_TOL, max_iter=DEFAULT_MAX_ITER
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coefficients, their test statistics and the omnibus statistic for a
    batch of full design matrices ``Xb`` (n, k, p) of the same studies, in one
    vectorised pass (each as :func:`metareg`).

    Returns ``beta`` (n, p), ``stat`` (n, p: z, or t for ``"knha"``/``"adhoc"``) and ``QM``
    (n,: the Wald chi-square of the coefficients ``btt``, default all but the
    first; for ``"knha"``/``"adhoc"`` metafor's F = QM / m with the Knapp-Hartung factor),
    NaN where tau² did not converge. ``k <= p`` fits with tau² = 0.
    """
    return fit_batch_tests(yi, vi, Xb, tau2_method=tau2_method, tests=(test,), btt=btt, tol=tol,
                           max_iter=max_iter)[test]


def fit_batch_tests(
    yi, vi, Xb, *, tau2_method="REML", tests=("z",), btt=None, tol=DEFAULT_TOL,
    max_iter=DEFAULT_MAX_ITER,
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """:func:`fit_batch` under several tests at once: tau² and the coefficients do not
    depend on the test, so they are estimated once. Returns ``{test: (beta, stat, QM)}``."""
    y, v = check_yi_vi(yi, vi)
    Xb = np.asarray(Xb, dtype=float)
    n, k, p = Xb.shape
    return _batch_tests(_batch(y, v, Xb, n), tau2_method=tau2_method, tests=tests, btt=btt,
                        tol=tol, max_iter=max_iter)


def fit_rows_tests(
    Y, V, X, *, tau2_method="REML", tests=("z",), btt=None, tol=DEFAULT_TOL,
    max_iter=DEFAULT_MAX_ITER, tau2_start=None,
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """:func:`fit_batch_tests` for ``n`` sets of effects ``Y`` and variances ``V`` (n, k)
    of one full design ``X`` (k, p): the refits of a permutation test, whose permuted
    designs are the observed design with the effects permuted instead (the same data
    set, its rows in another order), so that every cross product is a matrix product.
    ``tau2_start``: where ML / REML start (default HE, as metafor)."""
    Y = np.asarray(Y, dtype=float)
    V = np.asarray(V, dtype=float)
    X = np.asarray(X, dtype=float)
    return _batch_tests(Batch(Y, V, np.ones(Y.shape), X), tau2_method=tau2_method,
                        tests=tests, btt=btt, tol=tol, max_iter=max_iter, start=tau2_start)


def _batch_tests(batch: Batch, *, tau2_method, tests, btt, tol, max_iter, start=None):
    n, k = batch.y.shape
    p = batch.p
    btt = list(range(1, p) if btt is None else btt)
    if tau2_method == "EE" or k <= p:
        t2 = np.zeros(n)
    else:
        t2, _, _ = _batch_tau2(batch, tau2_method, tol=tol, max_iter=max_iter, start=start)
    idx = np.flatnonzero(np.isfinite(t2))
    out = {}
    if idx.size:
        w, b, r, A0 = wls(batch.take(idx), t2[idx])
    for test in tests:
        beta = np.full((n, p), np.nan)
        stat = np.full((n, p), np.nan)
        qm = np.full(n, np.nan)
        out[test] = (beta, stat, qm)
        if not idx.size:
            continue
        A = A0
        if test in KNHA_TESTS:
            s2w, _ = knha_factor(np.einsum("nk,nk->n", w * r, r), np.full(idx.size, float(k - p)),
                                 adhoc=test == "adhoc")
            A = A0 * s2w[:, None, None]
        bt = b[:, btt]
        sub = A[:, btt][:, :, btt]
        with np.errstate(invalid="ignore", divide="ignore"):
            q = np.einsum("ni,ni->n", bt, np.linalg.solve(sub, bt[..., None])[..., 0])
            z = b / np.sqrt(np.einsum("nii->ni", A))
        beta[idx], stat[idx] = b, z
        qm[idx] = q / len(btt) if test in KNHA_TESTS else q
    return out


def qm_batch(
    yi, vi, Xb, *, tau2_method="REML", test="z", btt=None, tol=DEFAULT_TOL, max_iter=DEFAULT_MAX_ITER
) -> np.ndarray:
    """Omnibus statistic for a batch of full design matrices, vectorised.

    ``Xb`` has shape (n, k, p) and includes the intercept column. Returns
    ``QM`` (test ``"z"``) or ``F = QM/m`` (tests ``"knha"``, ``"adhoc"``, metafor's
    convention) per matrix, NaN where the fit failed (:func:`fit_batch`).
    """
    return fit_batch(yi, vi, Xb, tau2_method=tau2_method, test=test, btt=btt, tol=tol, max_iter=max_iter)[2]


@dataclass(frozen=True)
class LinePrediction:
    """Fitted values along a grid of moderator values (for bubble plots)."""

    x: np.ndarray
    pred: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    pi_low: np.ndarray
    pi_high: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        cols = {
            "pred": self.pred,
            "se": self.se,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "pi_low": self.pi_low,
            "pi_high": self.pi_high,
        }
        x = np.asarray(self.x)
        if x.ndim == 1:
            return pd.DataFrame({"x": x, **cols})
        return pd.DataFrame({**{f"x{j + 1}": x[:, j] for j in range(x.shape[1])}, **cols})

    def to_dict(self) -> dict[str, Any]:
        return {key: np.asarray(val).tolist() for key, val in self.__dict__.items()}


def predict_line(result: MetaRegResult, x_grid) -> LinePrediction:
    """Predicted effect, confidence and prediction band along ``x_grid``.

    As ``metafor::predict(fit, newmods = x_grid)``:

    .. math::

        \\hat\\mu(x) = x^\\top\\hat\\beta, \\quad
        \\mathrm{SE} = \\sqrt{x^\\top \\widehat{\\operatorname{Var}}(\\hat\\beta)\\, x}, \\quad
        \\hat\\mu \\pm c\\,\\mathrm{SE}, \\quad
        \\hat\\mu \\pm c\\sqrt{\\mathrm{SE}^2 + \\hat\\tau^2},

    with ``c`` the normal (test ``z``) or t(k - p) (``knha``, ``adhoc``) quantile and the
    covariance of the fit (scaled by the Knapp-Hartung factor, floored at 1 for ``adhoc``).
    ``x_grid`` holds moderator values without the intercept: shape (n,) for
    one moderator, (n, m) for several.
    """
    xg = np.asarray(x_grid, dtype=float)
    G = xg[:, None] if xg.ndim == 1 else xg
    if result.intercept:
        G = np.column_stack([np.ones(G.shape[0]), G])
    if G.shape[1] != result.p:
        raise ValueError(f"x_grid has {G.shape[1]} columns with intercept, model has {result.p}")
    pred = G @ result.beta
    se = np.sqrt(np.einsum("ni,ij,nj->n", G, result.vcov, G))
    c = result.crit
    half_pi = c * np.sqrt(se**2 + result.tau2)
    return LinePrediction(
        x=xg,
        pred=pred,
        se=se,
        ci_low=pred - c * se,
        ci_high=pred + c * se,
        pi_low=pred - half_pi,
        pi_high=pred + half_pi,
    )
