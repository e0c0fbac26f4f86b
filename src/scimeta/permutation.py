"""Permutation tests of meta-regression and subgroup moderators, as metafor's ``permutest``.

Under the null hypothesis that a moderator is unrelated to the effects, any
assignment of the rows of the design matrix to the studies is as likely as
the observed one: the model is refitted for every distinct permutation of the
rows (exact test) or for a seeded random sample of permutations, and the
p-value is the proportion of refits whose statistic is at least the observed
one (Higgins & Thompson 2004, doi:10.1002/sim.1752; Viechtbauer et al. 2015,
doi:10.1002/jrsm.1126). For the intercept-only model the signs of the effects
are permuted instead. Every refit is in one batched call:
:func:`scimeta.metareg.fit_rows_tests` for moderators (the effects permuted over
one design), :func:`scimeta.pool.pool_many`
for sign flips, a chunk of permutations at a time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scimeta.estimators import KNHA_TESTS
from scimeta.metareg import _as_design, fit_rows_tests, metareg
from scimeta.pool import CI_TESTS, OneRow, check_yi_vi, pool_many, refit_start

__all__ = [
    "COMPTOL", "PERMUTEST_COLUMNS", "PermutationResult", "permutation_count", "permutest",
    "permutest_tests",
]

#: Tolerance of the comparisons ``stat_perm >= stat_obs - COMPTOL`` (metafor's
#: ``comptol``, ``.Machine$double.eps^0.5``): ties are not lost to rounding.
COMPTOL = float(np.finfo(float).eps ** 0.5)
#: Permutations refitted in one batched call, at most.
CHUNK_SIZE = 4096
#: Cells (permutations x studies) of the permuted effects held at once: the
#: chunk shrinks with k so that memory stays bounded (about 0.1 GB of temporaries).
CHUNK_CELLS = 2_000_000
#: Largest exact enumeration accepted when ``exact=True`` is forced.
MAX_EXACT = 5_000_000
#: Columns of :meth:`PermutationResult.to_frame` (one row per coefficient).
PERMUTEST_COLUMNS = (
    "term", "estimate", "stat", "p_perm", "QM", "QM_p_perm", "n_perm", "n_exact", "exact",
    "n_failed", "seed", "tau2_method", "test", "note",
)


@dataclass(frozen=True)
class PermutationResult(OneRow):
    """Result of :func:`permutest`.

    Attributes
    ----------
    names : tuple of str
        Coefficient names (``intrcpt`` first when there is an intercept).
    beta, stat : ndarray
        Observed coefficients and their z (or t for ``knha``, ``adhoc``) statistics.
    p_perm : ndarray
        Permutation p-value of each coefficient:
        :math:`\\#\\{|z^*| \\ge |z| - \\epsilon\\} / N`.
    QM : float
        Observed omnibus statistic (for ``knha``, ``adhoc`` metafor's F).
    QM_p_perm : float
        Permutation p-value of QM: :math:`\\#\\{Q_M^* \\ge Q_M - \\epsilon\\} / N`.
    n_perm : int
        Permutations used (N; all distinct ones when ``exact``).
    n_exact : int
        Number of distinct permutations (:func:`permutation_count`).
    exact : bool
    n_failed : int
        Refits that failed (non-convergence), left out of N.
    seed : int or None
    note : str
    """

    k: int
    tau2_method: str
    test: str
    names: tuple[str, ...]
    beta: np.ndarray
    stat: np.ndarray
    p_perm: np.ndarray
    QM: float
    QM_p_perm: float
    n_perm: int
    n_exact: int
    exact: bool
    n_failed: int
    seed: int | None
    note: str

    def to_frame(self) -> pd.DataFrame:
        """One row per coefficient, columns :data:`PERMUTEST_COLUMNS`."""
        n = len(self.names)
        model = {
            "QM": self.QM, "QM_p_perm": self.QM_p_perm, "n_perm": self.n_perm,
            "n_exact": float(self.n_exact), "exact": self.exact, "n_failed": self.n_failed,
            "seed": self.seed, "tau2_method": self.tau2_method, "test": self.test, "note": self.note,
        }
        return pd.DataFrame(
            {
                "term": list(self.names),
                "estimate": self.beta,
                "stat": self.stat,
                "p_perm": self.p_perm,
                **{key: [val] * n for key, val in model.items()},
            }
        )[list(PERMUTEST_COLUMNS)]

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        for key in ("beta", "stat", "p_perm"):
            out[key] = np.asarray(out[key]).tolist()
        return out


def _row_groups(M: np.ndarray) -> np.ndarray:
    """Group number of each row of ``M`` (identical rows share one), 0, 1, ..."""
    _, codes = np.unique(M, axis=0, return_inverse=True)
    return np.asarray(codes).ravel()


def permutation_count(X=None, k: int | None = None, *, intercept: bool = True) -> int:
    """Number of distinct permutations of the test (exact integer).

    For a design with moderators, the distinct orderings of its rows,
    :math:`k!/\\prod_g k_g!` with :math:`k_g` the multiplicity of each
    distinct row (a subgroup factor with level sizes :math:`k_g`); for the
    intercept-only model (``X`` None) the :math:`2^k` sign vectors.
    """
    if X is None:
        if k is None:
            raise ValueError("permutation_count: give X or k")
        return 2 ** int(k)
    M = np.asarray(X, dtype=float)
    M = M[:, None] if M.ndim == 1 else M
    counts = np.bincount(_row_groups(M))
    out = math.factorial(M.shape[0])
    for c in counts:
        out //= math.factorial(int(c))
    return out


def _multiset_permutations(codes: np.ndarray) -> np.ndarray:
    """All distinct orderings of ``codes`` (n_exact x k), in lexicographic order."""
    cur = np.sort(codes).tolist()
    k = len(cur)
    out = [cur.copy()]
    while True:  # next permutation (Narayana Pandita)
        i = k - 2
        while i >= 0 and cur[i] >= cur[i + 1]:
            i -= 1
        if i < 0:
            return np.array(out, dtype=np.int64)
        j = k - 1
        while cur[j] <= cur[i]:
            j -= 1
        cur[i], cur[j] = cur[j], cur[i]
        cur[i + 1:] = reversed(cur[i + 1:])
        out.append(cur.copy())


def _row_orders(groups: np.ndarray, n_exact: int, exact: bool, n_perm: int, rng) -> np.ndarray:
    """Row indices of the design for each permutation (n x k).

    Exact: every distinct arrangement of the row groups, each as a permutation
    of the rows that realises it (the rows of a group taken in order). Random:
    the observed order first, then ``n_perm - 1`` uniform permutations.
    """
    k = groups.size
    if exact:
        arrangements = _multiset_permutations(groups)
        # the positions holding group g, in order, get the rows of group g, in order
        out = np.empty(arrangements.shape, dtype=np.int64)
        positions = np.argsort(arrangements, axis=1, kind="stable")
        np.put_along_axis(out, positions,
                          np.broadcast_to(np.argsort(groups, kind="stable"), out.shape), axis=1)
        return out
    out = np.empty((n_perm, k), dtype=np.int64)
    out[0] = np.arange(k)
    for i in range(1, n_perm):
        out[i] = rng.permutation(k)
    return out


def _signs(k: int, exact: bool, n_perm: int, rng) -> np.ndarray:
    """Sign vectors (n x k): all 2^k (exact) or the observed signs then random ones."""
    if exact:
        s = np.arange(2**k, dtype=np.int64)
        return np.where((s[:, None] >> np.arange(k)) & 1, -1.0, 1.0)
    out = np.where(rng.random((n_perm, k)) < 0.5, -1.0, 1.0)
    out[0] = 1.0
    return out


def _p_values(obs_stat, obs_qm, perm_stat, perm_qm):
    ok = np.isfinite(perm_qm)
    n = int(ok.sum())
    if n == 0 or not np.isfinite(obs_qm):
        return np.full(np.shape(obs_stat), np.nan), math.nan, n
    p_coef = np.mean(np.abs(perm_stat[ok]) >= np.abs(obs_stat)[None, :] - COMPTOL, axis=0)
    p_qm = float(np.mean(perm_qm[ok] >= obs_qm - COMPTOL))
    return np.minimum(p_coef, 1.0), min(p_qm, 1.0), n


def permutest(
    yi,
    vi,
    X=None,
    *,
    intercept: bool = True,
    tau2_method: str = "REML",
    test: str = "z",
    n_perm: int = 1000,
    seed: int | None = None,
    exact: bool | None = None,
    btt=None,
    chunk_size: int = CHUNK_SIZE,
) -> PermutationResult:
    """Permutation test of a (meta-regression) model, as ``metafor::permutest``.

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
        Effect sizes and sampling variances.
    X : array_like (k,) or (k, m), DataFrame, Series or None
        Moderators without the intercept column, as :func:`scimeta.metareg.metareg`
        (a subgroup factor enters as its 0/1 contrast columns); ``None``: the
        intercept-only model, tested by sign flips.
    intercept : bool
        Add an intercept column (moderator models).
    tau2_method, test, btt
        As :func:`scimeta.metareg.metareg`; every permutation re-estimates tau².
    n_perm : int
        Number of permutations (metafor's ``iter``); the observed assignment
        counts as the first of a random sample.
    seed : int, optional
        Seed of ``numpy.random.default_rng``; required for a random sample.
    exact : bool, optional
        ``None`` (default): exact when the number of distinct permutations is
        at most ``n_perm`` (metafor's rule); ``True`` forces it (at most
        :data:`MAX_EXACT`), ``False`` forbids it.
    chunk_size : int
        Permutations refitted per batched call, at most (fewer when the
        effects of a chunk would exceed :data:`CHUNK_CELLS` cells).

    Returns
    -------
    PermutationResult

    Notes
    -----
    The permuted statistic of the omnibus test is metafor's QM (the F
    statistic for ``knha`` and ``adhoc``) and of each coefficient its z (t) value; the
    two-sided p-values are

    .. math::

        p_{Q_M} = \\frac{1}{N}\\sum_{b=1}^{N} [Q_M^{(b)} \\ge Q_M - \\epsilon],
        \\qquad p_j = \\frac{1}{N}\\sum_{b=1}^{N} [|z_j^{(b)}| \\ge |z_j| - \\epsilon],

    with :math:`\\epsilon` = :data:`COMPTOL`, over all distinct permutations
    (exact) or the observed one plus ``N - 1`` random ones (so p >= 1/N).
    Permutations whose refit fails are left out of N and counted in
    ``n_failed``.
    """
    return permutest_tests(yi, vi, X, intercept=intercept, tau2_method=tau2_method, tests=(test,),
                           n_perm=n_perm, seed=seed, exact=exact, btt=btt,
                           chunk_size=chunk_size)[test]


def permutest_tests(
    yi,
    vi,
    X=None,
    *,
    intercept: bool = True,
    tau2_method: str = "REML",
    tests=("z",),
    n_perm: int = 1000,
    seed: int | None = None,
    exact: bool | None = None,
    btt=None,
    chunk_size: int = CHUNK_SIZE,
) -> dict[str, PermutationResult]:
    """:func:`permutest` under several tests (``"z"``, ``"knha"``, ``"adhoc"``) at once:
    ``{test: result}``, each the result :func:`permutest` gives for that test
    (the same permutations: they depend on the seed only). A moderator
    model's permuted refits are shared: tau² and the coefficients do not
    depend on the test (:func:`scimeta.metareg.fit_rows_tests`)."""
    y, v = check_yi_vi(yi, vi)
    k = y.size
    tests = tuple(dict.fromkeys(tests))
    if int(n_perm) < 2:
        raise ValueError(f"n_perm must be >= 2, got {n_perm!r}")
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size!r}")
    n_perm = int(n_perm)
    intercept_only = X is None
    if intercept_only:
        fits = {t: metareg(y, v, None, tau2_method=tau2_method, test=t, intercept=True) for t in tests}
        n_exact = permutation_count(None, k)
        M = None
    else:
        M, _ = _as_design(X, k, intercept)
        fits = {t: metareg(y, v, X, tau2_method=tau2_method, test=t, intercept=intercept, btt=btt)
                for t in tests}
        n_exact = permutation_count(M)
    use_exact = (n_exact <= n_perm) if exact is None else bool(exact)
    if use_exact and n_exact > MAX_EXACT:
        raise ValueError(f"exact test needs {n_exact} permutations (more than {MAX_EXACT}): use a random sample")
    if not use_exact and seed is None:
        raise ValueError(
            f"{n_exact} distinct permutations > n_perm = {n_perm}: a random sample needs a seed"
        )
    obs_stat = {t: np.asarray(f.stat, dtype=float) for t, f in fits.items()}
    obs_qm = {t: float(f.F if t in KNHA_TESTS else f.QM) for t, f in fits.items()}
    if intercept_only:
        signs = _signs(k, use_exact, n_perm, None if use_exact else np.random.default_rng(int(seed)))
        n = signs.shape[0]
        perm_stat = {t: np.empty((n, 1)) for t in tests}
        perm_qm = {t: np.empty(n) for t in tests}
        step = max(1, min(int(chunk_size), CHUNK_CELLS // k))
        for t in tests:
            ci = next(c for c, test in CI_TESTS.items() if test == t)
            for start in range(0, n, step):
                s = signs[start:start + step]
                b = pool_many(s * y, np.broadcast_to(v, s.shape), tau2_method=tau2_method,
                              ci_method=ci, tau2_ci=False,
                              model="common" if tau2_method == "EE" else "random")
                perm_stat[t][start:start + s.shape[0], 0] = b.stat
                perm_qm[t][start:start + s.shape[0]] = b.stat**2
    else:
        rng = None if use_exact else np.random.default_rng(int(seed))
        groups = _row_groups(M)
        orders = _row_orders(groups, n_exact, use_exact, n_perm, rng)
        n = orders.shape[0]
        perm_stat = {t: np.empty((n, M.shape[1])) for t in tests}
        perm_qm = {t: np.empty(n) for t in tests}
        bt = fits[tests[0]].btt
        step = max(1, min(int(chunk_size), CHUNK_CELLS // k))
        # permuted moderators explain about nothing: start at the tau² without them
        t0 = refit_start(y, v, tau2_method=tau2_method)
        for start in range(0, n, step):
            o = orders[start:start + step]
            # design rows o[i] with the effects in order = the design in order with
            # effect j moved to row o[i, j]: the same data set, one design for all refits
            Y, V = (np.empty(o.shape) for _ in range(2))
            np.put_along_axis(Y, o, np.broadcast_to(y, o.shape), axis=1)
            np.put_along_axis(V, o, np.broadcast_to(v, o.shape), axis=1)
            out = fit_rows_tests(Y, V, M, tau2_method=tau2_method, tests=tests, btt=bt,
                                 tau2_start=t0)
            for t, (_, st, qm) in out.items():
                perm_stat[t][start:start + o.shape[0]] = st
                perm_qm[t][start:start + o.shape[0]] = qm
    results = {}
    for t in tests:
        p_coef, p_qm, n_ok = _p_values(obs_stat[t], obs_qm[t], perm_stat[t], perm_qm[t])
        n_failed = n - n_ok
        if use_exact:
            note = f"exact permutation test over all {n} distinct " + (
                "sign vectors" if intercept_only else "permutations")
        else:
            note = (f"{n} random permutations (numpy default_rng seed {int(seed)}; the observed "
                    "assignment counted as the first)")
        if n_failed:
            note += f"; {n_failed} refits failed and were left out"
        results[t] = PermutationResult(
            k=k,
            tau2_method=tau2_method,
            test=t,
            names=fits[t].names,
            beta=np.asarray(fits[t].beta, dtype=float),
            stat=obs_stat[t],
            p_perm=p_coef,
            QM=obs_qm[t],
            QM_p_perm=p_qm,
            n_perm=n_ok,
            n_exact=n_exact,
            exact=use_exact,
            n_failed=n_failed,
            seed=None if use_exact else int(seed),
            note=note,
        )
    return results
