"""The estimator core: tau² of a batch of random-effects (meta-regression) models.

One implementation of every between-study variance estimator serves both
:func:`scimeta.pool.pool_many` (intercept-only models) and
:func:`scimeta.metareg.metareg` (models with moderators): an intercept-only
pool is a meta-regression with :math:`X = 1` (as in PyMARE), and only the
linear algebra differs. For ``X = None`` every quantity is a weighted sum
(O(k) work per iteration, no ``k x k`` or ``p x p`` matrices); for a design
``X`` of ``p`` columns the same quantities come from
:math:`A = (X^\\top W X)^{-1}` without forming the ``k x k`` projection

.. math::

    P = W - W X (X^\\top W X)^{-1} X^\\top W, \\qquad
    W = \\operatorname{diag}\\big(1/(v_i + \\tau^2)\\big).

All functions work on a :class:`Batch`: ``m`` models at once, each row one
model, studies padded with a 0/1 mask. The convergence rule is the same
for every iterative estimator and both entry points: a step of at most
``tol * max(tau2, harmonic mean of vi)`` ends the iteration.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["DEFAULT_MAX_ITER", "DEFAULT_TOL", "KNHA_TESTS", "LL0_TOL", "TAU2_ESTIMATORS", "Batch",
           "estimate_tau2", "heterogeneity", "knha_factor"]

#: Estimators of tau² in the core (``EE`` fixes tau² = 0 and is handled by callers).
TAU2_ESTIMATORS = ("DL", "HE", "SJ", "PM", "EB", "ML", "REML")
#: Convergence tolerance of every iterative estimator, relative to
#: ``max(tau2, harmonic mean of vi)`` (metafor's default is an absolute 1e-5).
DEFAULT_TOL = 1e-12
#: Iteration cap of every iterative estimator (metafor's is 100).
DEFAULT_MAX_ITER = 1000
#: metafor's check that ML / REML did not stop at a local maximum worse than
#: tau² = 0: the log-likelihood gain of tau² = 0 that sends tau² to 0
#: (``.Machine$double.eps^0.25``, metafor's ``control$tol``).
LL0_TOL = np.finfo(float).eps ** 0.25
#: The coefficient tests with the Knapp-Hartung variance factor (t and F tests on k - p df):
#: ``knha`` as is, ``adhoc`` floored at 1 (metafor's names).
KNHA_TESTS = ("knha", "adhoc")


def knha_factor(rss, df, *, adhoc: bool):
    """The Knapp & Hartung (2003, doi:10.1002/sim.1482) variance factor, as metafor's ``s2w``.

    .. math:: s^2 = \\frac{\\sum_i w_i (y_i - x_i^\\top\\hat\\beta)^2}{k - p},

    0 when the weighted residual sum of squares ``rss`` is at most machine
    epsilon (``test = "knha"``); with ``adhoc`` (``test = "adhoc"``) floored at
    1, :math:`\\max(1, s^2)`, so that the covariance is never smaller than the
    Wald one (Knapp & Hartung 2003; Röver et al. 2015,
    doi:10.1186/s12874-015-0091-1). Returns ``(factor, raw)``: the factor
    applied and :math:`s^2` before the floor (NaN where ``df <= 0``).
    """
    rss = np.asarray(rss, dtype=float)
    df = np.asarray(df, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = np.where(df > 0, np.where(rss <= np.finfo(float).eps, 0.0, rss / df), np.nan)
    factor = np.where(np.isnan(raw), np.nan, np.maximum(raw, 1.0)) if adhoc else raw
    return factor, raw


@dataclass(frozen=True)
class Batch:
    """``m`` models of at most ``k`` studies, one per row.

    Attributes
    ----------
    y, v : ndarray, shape (m, k)
        Effect sizes (0 where absent) and sampling variances (1 where absent).
    mask : ndarray, shape (m, k)
        1.0 where the study is in the model, 0.0 for padding.
    X : ndarray, shape (m, k, p) or (k, p), or None
        Design matrices, one per row or (2-D) one shared by every row (e.g. the
        refits of a permutation test, whose rows are the permuted effects of
        one design: then the cross products are matrix products); ``None`` is
        the intercept-only model (``p = 1``).
    """

    y: np.ndarray
    v: np.ndarray
    mask: np.ndarray
    X: np.ndarray | None = None
    #: No padding at all (then the mask multiplications are skipped); computed.
    full: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "full", bool(self.mask.all()))

    @property
    def k(self) -> np.ndarray:
        return self.mask.sum(axis=1)

    def masked(self, a: np.ndarray) -> np.ndarray:
        """``a`` with the padding set to 0."""
        return a if self.full else a * self.mask

    @property
    def p(self) -> int:
        return 1 if self.X is None else int(self.X.shape[-1])

    @property
    def shared(self) -> bool:
        """Whether one design matrix (k, p) serves every row."""
        return self.X is not None and self.X.ndim == 2

    def take(self, rows: np.ndarray) -> Batch:
        """The models of ``rows`` (increasing indices; all rows: ``self``, no copy)."""
        if rows.size == self.y.shape[0]:
            return self
        X = self.X if self.X is None or self.shared else self.X[rows]
        return Batch(self.y[rows], self.v[rows], self.mask[rows], X)


# ---------------------------------------------------------------------------
# Weighted least squares at a given tau² and the quantities of P
# ---------------------------------------------------------------------------


def _cross(b: Batch, w: np.ndarray) -> np.ndarray:
    """:math:`X^\\top \\operatorname{diag}(w) X` per row, (m, p, p), for weights ``w`` (m, k)."""
    if b.shared:
        k, p = b.X.shape
        outer = (b.X[:, :, None] * b.X[:, None, :]).reshape(k, p * p)
        return (w @ outer).reshape(w.shape[0], p, p)
    return (np.swapaxes(b.X, 1, 2) * w[:, None, :]) @ b.X


def wls(b: Batch, tau2: np.ndarray):
    """Weights, fitted coefficients and residuals at ``tau2`` (one per row).

    Returns ``(w, beta, r, info)``: ``w`` (m, k) with 0 for padding, ``beta``
    (m,) for the intercept-only model or (m, p), residuals ``r`` (m, k) (0 for
    padding) and ``info``: :math:`\\sum w_i` (m,) for the intercept-only model,
    else :math:`A = (X^\\top W X)^{-1}` (m, p, p).
    """
    w = b.masked(1.0 / (b.v + tau2[:, None]))
    if b.X is None:
        sw = w.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mu = np.einsum("ij,ij->i", w, b.y) / sw
        return w, mu, b.masked(b.y - mu[:, None]), sw
    if b.shared:
        A = np.linalg.inv(_cross(b, w))
        beta = np.einsum("npq,nq->np", A, (w * b.y) @ b.X)
        r = b.masked(b.y - beta @ b.X.T)
    else:
        XtW = np.swapaxes(b.X, 1, 2) * w[:, None, :]
        A = np.linalg.inv(XtW @ b.X)
        beta = np.einsum("npq,nq->np", A, np.einsum("npk,nk->np", XtW, b.y))
        r = b.masked(b.y - np.einsum("nkp,np->nk", b.X, beta))
    return w, beta, r, A


def _trace_terms(b: Batch, w: np.ndarray, info: np.ndarray, second: bool):
    """:math:`\\operatorname{tr}P` and (if ``second``) :math:`\\operatorname{tr}P^2`.

    .. math::

        \\operatorname{tr}P = \\sum w_i - \\operatorname{tr}(A X^\\top W^2 X), \\quad
        \\operatorname{tr}P^2 = \\sum w_i^2 - 2\\operatorname{tr}(A X^\\top W^3 X)
        + \\operatorname{tr}\\big((A X^\\top W^2 X)^2\\big),

    which for :math:`X = 1` are :math:`\\sum w - \\sum w^2/\\sum w` and
    :math:`\\sum w^2 - 2\\sum w^3/\\sum w + (\\sum w^2/\\sum w)^2`.
    """
    w2 = w * w
    sw, sw2 = w.sum(axis=1), w2.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if b.X is None:
            trP = sw - sw2 / info
            trPP = sw2 - 2.0 * np.einsum("ij,ij->i", w2, w) / info + (sw2 / info) ** 2 if second else None
            return trP, trPP
        AXW2X = info @ _cross(b, w2)
        trP = sw - np.trace(AXW2X, axis1=1, axis2=2)
        if not second:
            return trP, None
        AXW3X = info @ _cross(b, w2 * w)
        trPP = sw2 - 2.0 * np.trace(AXW3X, axis1=1, axis2=2) + np.einsum("nij,nji->n", AXW2X, AXW2X)
        return trP, trPP


def q_gen(b: Batch, tau2: np.ndarray):
    """Generalised Q statistic and its derivative in tau², per row.

    .. math::

        Q(\\tau^2) = y^\\top P y = \\sum_i w_i r_i^2, \\qquad
        \\frac{dQ}{d\\tau^2} = -y^\\top P^2 y = -\\sum_i w_i^2 r_i^2

    with :math:`r` the weighted least-squares residuals at :math:`\\tau^2`.
    """
    w, _, r, _ = wls(b, tau2)
    wr = w * r
    return np.einsum("ij,ij->i", wr, r), -np.einsum("ij,ij->i", wr, wr)


def loglik(b: Batch, tau2: np.ndarray, reml: bool) -> np.ndarray:
    """(Restricted) log-likelihood at ``tau2``, up to a constant of k and p.

    .. math::

        \\ell = -\\tfrac12\\sum\\ln(v_i+\\tau^2) - \\tfrac12 y^\\top P y
        \\; \\big[-\\tfrac12 \\ln\\det(X^\\top W X)\\ \\text{for REML}\\big]
    """
    w, _, r, info = wls(b, tau2)
    wr = w * r
    ll = -0.5 * b.masked(np.log(b.v + tau2[:, None])).sum(axis=1) - 0.5 * np.einsum("ij,ij->i", wr, r)
    if reml:
        if b.X is None:
            ll = ll - 0.5 * np.log(info)
        else:
            ll = ll + 0.5 * np.linalg.slogdet(info)[1]  # log det A = -log det X'WX
    return ll


def typical_v(b: Batch) -> np.ndarray:
    """Harmonic mean of the sampling variances per row: the scale of tau² in
    the stopping rules (robust to one huge variance)."""
    return np.maximum(b.k, 1.0) / (b.mask / b.v).sum(axis=1)


# ---------------------------------------------------------------------------
# Root of the generalised Q statistic (PM, EB, Q-profile)
# ---------------------------------------------------------------------------


def solve_q(b: Batch, target, lower, upper, scale, tol, max_iter, start=None):
    """Solve ``Q(tau2) = target`` for each row by safeguarded Newton steps.

    Q is convex and decreasing in tau² (a partial minimum over the
    coefficients of jointly convex quadratic-over-linear terms), so Newton
    steps from a point left of the root increase monotonically to it, and a
    step from the right lands left of it; the bracket ``[lo, hi]`` with
    ``Q(lo) >= target >= Q(hi)`` (``lower`` and ``upper`` at the start,
    ``upper`` may be ``inf``) replaces a step that leaves it by bisection.
    ``start`` (default ``lower``) is the first point, e.g. a nearby estimate.
    Returns (root, converged, iterations).
    """
    t = (lower if start is None else np.clip(start, lower, upper)).copy()
    lo = lower.copy()
    hi = upper.copy()
    done = np.zeros(t.shape, dtype=bool)
    iters = np.zeros(t.shape, dtype=int)
    active = np.flatnonzero(~done)
    for _ in range(max_iter):
        if active.size == 0:
            break
        ta = t[active]
        q, dq = q_gen(b.take(active), ta)
        f = q - target[active]
        lo_a = np.where(f >= 0, ta, lo[active])
        hi_a = np.where(f <= 0, ta, hi[active])
        with np.errstate(invalid="ignore", divide="ignore"):
            new = ta - f / dq
        bad = ~np.isfinite(new) | (new < lo_a) | (new > hi_a)
        mid = np.where(np.isfinite(hi_a), 0.5 * (lo_a + hi_a), 2.0 * np.maximum(lo_a, scale[active]))
        new = np.where(bad, mid, new)
        new = np.where(f == 0, ta, new)
        step = np.abs(new - ta)
        ok = step <= tol * np.maximum(np.maximum(new, ta), scale[active])
        t[active], lo[active], hi[active] = new, lo_a, hi_a
        iters[active] += 1
        done[active[ok]] = True
        active = active[~ok]
    return t, done, iters


# ---------------------------------------------------------------------------
# Fisher scoring (ML, REML)
# ---------------------------------------------------------------------------


def _scoring_step(b: Batch, tau2: np.ndarray, reml: bool) -> np.ndarray:
    """Fisher-scoring step for ML / REML at ``tau2`` (one value per row).

    REML: :math:`(y^\\top P^2 y - \\operatorname{tr}P)/\\operatorname{tr}P^2`;
    ML: :math:`(y^\\top P^2 y - \\sum w_i)/\\sum w_i^2`, with
    :math:`y^\\top P^2 y = \\sum w_i^2 r_i^2`.
    """
    w, _, r, info = wls(b, tau2)
    wr = w * r
    ypp = np.einsum("ij,ij->i", wr, wr)
    with np.errstate(invalid="ignore", divide="ignore"):
        if reml:
            trP, trPP = _trace_terms(b, w, info, second=True)
            adj = (ypp - trP) / trPP
        else:
            adj = (ypp - w.sum(axis=1)) / np.einsum("ij,ij->i", w, w)
    return np.where(np.isfinite(adj), adj, 0.0)


def fisher_scoring(b: Batch, start, reml, scale, tol, max_iter):
    """ML / REML tau² by Fisher scoring, as metafor ``rma.uni``.

    A step that would make tau² negative is halved until it does not (as
    metafor), except that when the score at 0 also points below 0 and the
    likelihood at 0 is at least as high, the iteration moves to the boundary
    maximum 0 at once instead of creeping towards it. Fisher scoring can
    oscillate without converging (metafor then stops with an error) or creep
    towards the root; here the points where the score is positive / negative
    bracket the root, a step that leaves the bracket or an oscillation that
    does not halve is replaced by bisection, and a slow monotone approach is
    accelerated by a secant step (kept inside the bracket). The root is the
    one metafor finds wherever metafor converges. Last, metafor's check: a
    maximum whose log-likelihood is more than :data:`LL0_TOL` below that at
    tau² = 0 is replaced by 0.
    """
    t = start.copy()
    lo = np.zeros(t.shape)  # score > 0 seen here (or the domain bound 0)
    hi = np.full(t.shape, np.inf)  # score < 0 seen here
    prev_t = np.full(t.shape, np.nan)  # previous point
    prev_raw = np.zeros(t.shape)  # Fisher step computed at the previous point
    done = np.zeros(t.shape, dtype=bool)
    iters = np.zeros(t.shape, dtype=int)
    active = np.flatnonzero(~done)
    for _ in range(max_iter):
        if active.size == 0:
            break
        ta = t[active]
        ba = b.take(active)
        raw = _scoring_step(ba, ta, reml)
        lo_a = np.where(raw > 0, np.maximum(lo[active], ta), lo[active])
        hi_a = np.where(raw < 0, np.minimum(hi[active], ta), hi[active])
        lo[active], hi[active] = lo_a, hi_a
        pt, pr = prev_t[active], prev_raw[active]
        adj = raw
        # slow monotone approach (step shrinking by less than half): secant
        # step on the Fisher step as a function of tau2, if it stays bracketed
        with np.errstate(invalid="ignore", divide="ignore"):
            secant = ta - raw * (ta - pt) / (raw - pr)
        use = (
            (raw * pr > 0)
            & (np.abs(raw) > 0.5 * np.abs(pr))
            & np.isfinite(secant)
            & (secant > lo_a)
            & (secant < hi_a)
        )
        adj = np.where(use, secant - ta, adj)
        proposal = ta + adj
        outside = (proposal <= lo_a) | (proposal >= hi_a)
        # an oscillation that does not at least halve is not converging
        slow = (raw * pr < 0) & (np.abs(raw) > 0.5 * np.abs(pr))
        bisect = (proposal >= 0) & np.isfinite(hi_a) & (outside | slow) & (adj != 0)
        adj = np.where(bisect, 0.5 * (lo_a + hi_a) - ta, adj)
        prev_t[active], prev_raw[active] = ta, raw
        neg = ta + adj < 0
        if neg.any():
            at_zero = neg & (ta <= 0)
            adj = np.where(at_zero, 0.0, adj)
            move = np.flatnonzero(neg & ~at_zero)
            if move.size:
                zeros = np.zeros(move.size)
                sub = ba.take(move)
                to_zero = (_scoring_step(sub, zeros, reml) <= 0) & (
                    loglik(sub, zeros, reml) >= loglik(sub, ta[move], reml)
                )
                a = adj[move]
                tm = ta[move]
                # smallest number of halvings keeping tau2 >= 0 (metafor's rule)
                j = np.ceil(np.log2(-a / tm))
                a = a / np.exp2(j)
                while True:  # fix up rounding in log2
                    back = (tm + 2.0 * a >= 0) & (j > 0)
                    if not back.any():
                        break
                    a = np.where(back, 2.0 * a, a)
                    j = np.where(back, j - 1, j)
                while True:
                    fwd = tm + a < 0
                    if not fwd.any():
                        break
                    a = np.where(fwd, a / 2.0, a)
                adj[move] = np.where(to_zero, -tm, a)
        new = np.maximum(ta + adj, 0.0)
        ok = np.abs(adj) <= tol * np.maximum(new, scale[active])
        t[active] = new
        iters[active] += 1
        done[active[ok]] = True
        active = active[~ok]
    conv = np.flatnonzero(done & (t > 0))
    if conv.size:
        sub = b.take(conv)
        ll1 = loglik(sub, t[conv], reml)
        ll0 = loglik(sub, np.zeros(conv.size), reml)
        t[conv] = np.where(ll0 - ll1 > LL0_TOL, 0.0, t[conv])
    return t, done, iters


# ---------------------------------------------------------------------------
# The estimators
# ---------------------------------------------------------------------------


def _unweighted_ss(b: Batch) -> np.ndarray:
    """Sum of squares of y about its unweighted mean, per row."""
    k = np.maximum(b.k, 1.0)
    ybar = (b.y * b.mask).sum(axis=1) / k
    d = (b.y - ybar[:, None]) * b.mask
    return (d * d).sum(axis=1)


def _hedges(b: Batch) -> np.ndarray:
    """Hedges' estimator (not truncated): ordinary least squares residuals.

    .. math:: \\hat\\tau^2 = \\frac{\\sum_i e_i^2 - \\big(\\sum v_i -
              \\operatorname{tr}[(X^\\top X)^{-1} X^\\top V X]\\big)}{k - p}

    which for :math:`X = 1` is :math:`\\frac{1}{k-1}\\sum(y_i-\\bar y)^2 -
    \\frac1k\\sum v_i`.
    """
    k = b.k
    df = np.maximum(k - b.p, 1.0)  # rows with k <= p are overwritten by the caller
    if b.X is None:
        vbar = (b.v * b.mask).sum(axis=1) / np.maximum(k, 1.0)
        return _unweighted_ss(b) / df - vbar * (k - 1.0) / df
    A0 = np.linalg.inv(_cross(b, b.mask))
    if b.shared:
        beta0 = np.einsum("npq,nq->np", A0, (b.mask * b.y) @ b.X)
        e = (b.y - beta0 @ b.X.T) * b.mask
    else:
        Xt = np.swapaxes(b.X, 1, 2)
        beta0 = np.einsum("npq,nq->np", A0, np.einsum("npk,nk->np", Xt * b.mask[:, None, :], b.y))
        e = (b.y - np.einsum("nkp,np->nk", b.X, beta0)) * b.mask
    XtVX = _cross(b, b.v * b.mask)
    tr_pv = (b.v * b.mask).sum(axis=1) - np.trace(A0 @ XtVX, axis1=1, axis2=2)
    return ((e * e).sum(axis=1) - tr_pv) / df


def estimate_tau2(method: str, b: Batch, *, tol: float = DEFAULT_TOL, max_iter: int = DEFAULT_MAX_ITER,
                  start=None):
    """tau² of every model of ``b`` (rows with ``k > p``; others are the caller's).

    Parameters
    ----------
    method : {"DL", "HE", "SJ", "PM", "EB", "ML", "REML"}
    b : Batch
    tol, max_iter
        Convergence tolerance (relative to ``max(tau2, harmonic mean of
        vi)``) and iteration cap of the iterative estimators.
    start : float or ndarray (m,), optional
        Where ML / REML start (default: the HE estimate, as metafor), e.g. a
        nearby estimate: the root is the same, reached in fewer steps.

    Returns
    -------
    tau2, converged, iterations : ndarray, shape (m,)
        ``tau2`` floored at 0; where ``converged`` is False the value is the
        last iterate (callers report NaN).

    Notes
    -----
    With :math:`P` at :math:`\\tau^2 = 0` (weights :math:`1/v_i`), ``k``
    studies and ``p`` coefficients:

    * ``DL`` (DerSimonian & Laird 1986, doi:10.1016/0197-2456(86)90046-2;
      with moderators Raudenbush 2009):
      :math:`\\max(0, (y^\\top P y - (k-p)) / \\operatorname{tr}P)`.
    * ``HE`` (Hedges 1983): see :func:`_hedges`, floored at 0.
    * ``SJ`` (Sidik & Jonkman 2005, doi:10.1081/BIP-200067915):
      :math:`\\hat\\tau_0^2\\, Q(\\hat\\tau_0^2)/(k-p)` with
      :math:`\\hat\\tau_0^2 = \\frac1k\\sum(y_i-\\bar y)^2`.
    * ``PM`` (Paule & Mandel 1982, doi:10.6028/jres.087.022) and ``EB``
      (Morris 1983, doi:10.1080/01621459.1983.10477920; its estimating
      equation :math:`\\frac{k}{k-p} y^\\top P y = k` is the same): the root of
      :math:`Q(\\tau^2) = k - p`, 0 if :math:`Q(0) < k - p`, by Newton steps.
    * ``ML`` and ``REML`` (Viechtbauer 2005, doi:10.3102/10769986030003261):
      Fisher scoring from the HE estimate, see :func:`fisher_scoring`.
    """
    m = b.y.shape[0]
    p = b.p
    df = np.maximum(b.k - p, 1.0)  # rows with k <= p are overwritten by the caller
    scale = typical_v(b)
    converged = np.ones(m, dtype=bool)
    iters = np.zeros(m, dtype=int)
    zeros = np.zeros(m)
    if method == "DL":
        w0, _, r0, info0 = wls(b, zeros)
        q = (w0 * r0 * r0).sum(axis=1)
        tr_p, _ = _trace_terms(b, w0, info0, second=False)
        tau2 = np.maximum(0.0, (q - df) / tr_p)
    elif method == "HE":
        tau2 = np.maximum(0.0, _hedges(b))
    elif method == "SJ":
        tau0 = _unweighted_ss(b) / np.maximum(b.k, 1.0)
        q, _ = q_gen(b, tau0)
        tau2 = np.maximum(0.0, tau0 * q / df)
    elif method in ("PM", "EB"):
        q0, _ = q_gen(b, zeros)
        tau2 = np.zeros(m)
        need = np.flatnonzero(q0 >= df)
        if need.size:
            root, ok, it = solve_q(
                b.take(need), df[need], np.zeros(need.size), np.full(need.size, np.inf), scale[need], tol, max_iter
            )
            tau2[need] = np.maximum(0.0, root)
            converged[need] = ok
            iters[need] = it
    elif method in ("ML", "REML"):
        if start is None:
            start = np.maximum(0.0, _hedges(b))  # HE, as metafor
        else:
            start = np.maximum(0.0, np.broadcast_to(np.asarray(start, dtype=float), (m,)))
        tau2, converged, iters = fisher_scoring(b, start, method == "REML", scale, tol, max_iter)
        tau2 = np.maximum(0.0, tau2)
    else:
        raise ValueError(f"tau2_method must be one of {TAU2_ESTIMATORS}, got {method!r}")
    return tau2, converged, iters


def heterogeneity(b: Batch):
    """Cochran's (residual) Q and the typical within-study variance, per row.

    .. math::

        Q = y^\\top P_0 y, \\qquad \\tilde v = \\frac{k - p}{\\operatorname{tr} P_0}

    with :math:`P_0` at :math:`\\tau^2 = 0` (Higgins & Thompson 2002,
    doi:10.1002/sim.1186; with moderators as metafor): I² and H² of a
    random-effects fit are :math:`100\\hat\\tau^2/(\\hat\\tau^2 + \\tilde v)` and
    :math:`\\hat\\tau^2/\\tilde v + 1`. Rows with ``k <= p`` give NaN for
    :math:`\\tilde v` (and Q is 0 there).
    """
    w0, _, r0, info0 = wls(b, np.zeros(b.y.shape[0]))
    q = np.maximum(0.0, (w0 * r0 * r0).sum(axis=1))
    tr_p, _ = _trace_terms(b, w0, info0, second=False)
    df = b.k - b.p
    with np.errstate(invalid="ignore", divide="ignore"):
        vt = np.where(df > 0, df / tr_p, np.nan)
    return q, vt
