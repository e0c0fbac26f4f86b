"""GOSH: the pooled estimate and heterogeneity of every subset of studies.

A graphical display of study heterogeneity (Olkin, Dahabreh & Trikalinos
2012, doi:10.1002/jrsm.1043) fits the same model to every non-empty subset
of the k studies (2^k - 1 fits) and plots each subset's estimate against its
I²; studies whose inclusion moves the cloud stand out. As metafor's
``gosh()``: all subsets when there are few enough, a random sample of
subsets otherwise. Every fit goes through :func:`scimeta.pool.pool_many`, a
chunk of subsets at a time, so memory stays bounded whatever k.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scimeta.pool import check_yi_vi, pool_many, refit_start

__all__ = [
    "GOSH_COLUMNS", "GOSH_INFLUENCE_COLUMNS", "MAX_EXACT_K", "gosh", "gosh_influence", "gosh_membership",
    "subset_count",
]

#: Columns of the table returned by :func:`gosh` (``results/tables/gosh.csv``).
GOSH_COLUMNS = ("subset", "k", "estimate", "se", "tau2", "I2", "H2", "Q", "studies")
#: Columns of :func:`gosh_influence`.
GOSH_INFLUENCE_COLUMNS = (
    "study", "k_with", "estimate_with", "estimate_without", "I2_with", "I2_without",
    "shift_estimate", "shift_I2", "shift",
)
#: Largest k for which every subset is fitted by default (2^16 - 1 = 65,535 fits).
MAX_EXACT_K = 16
#: Subsets fitted in one :func:`scimeta.pool.pool_many` call, at most.
CHUNK_SIZE = 32_768
#: Cells (subsets x studies) of one :func:`scimeta.pool.pool_many` call, at most: the
#: chunk shrinks with k so that memory stays bounded (about 0.2 GB of temporaries).
CHUNK_CELLS = 655_360
#: Random subsets are drawn in blocks of this many, block b from
#: ``numpy.random.default_rng([seed, b])``: any range of the sample can be drawn
#: on its own (a job per range) and is the same whatever the ranges.
SAMPLE_BLOCK = 1024


def subset_count(k: int, max_exact_k: int = MAX_EXACT_K, n_subsets: int | None = None) -> int:
    """Subsets :func:`gosh` fits for k studies: 2^k - 1 up to ``max_exact_k``, else
    ``n_subsets`` (default ``2**max_exact_k``)."""
    if int(k) <= int(max_exact_k):
        return 2 ** int(k) - 1
    return int(2 ** int(max_exact_k) if n_subsets is None else n_subsets)


def _exact_incl(k: int, start: int, stop: int) -> np.ndarray:
    """Rows ``start..stop-1`` of the inclusion matrix of all subsets: subset
    number ``s`` (1 .. 2^k - 1) holds study ``j`` iff bit ``j`` of ``s`` is set
    (metafor's ``expand.grid`` order, the empty subset left out)."""
    s = np.arange(start, stop, dtype=np.int64)
    return ((s[:, None] >> np.arange(k, dtype=np.int64)) & 1).astype(bool)


def _random_block(k: int, block: int, seed: int) -> np.ndarray:
    """Block ``block`` of the random sample (:data:`SAMPLE_BLOCK` subsets): each study in
    with probability 1/2, an empty draw replaced by the next (as metafor: subset sizes
    binomial, the members uniform), from ``numpy.random.default_rng([seed, block])``."""
    rng = np.random.default_rng([int(seed), int(block)])
    out = np.empty((SAMPLE_BLOCK, k), dtype=bool)
    filled = 0
    while filled < SAMPLE_BLOCK:
        draw = rng.random((SAMPLE_BLOCK - filled, k)) < 0.5
        draw = draw[draw.any(axis=1)]
        out[filled:filled + draw.shape[0]] = draw
        filled += draw.shape[0]
    return out


def _random_incl(k: int, start: int, stop: int, seed: int) -> np.ndarray:
    """Rows ``start..stop-1`` (0-based) of the random sample of subsets."""
    first, last = start // SAMPLE_BLOCK, (stop - 1) // SAMPLE_BLOCK
    blocks = np.concatenate([_random_block(k, b, seed) for b in range(first, last + 1)])
    offset = first * SAMPLE_BLOCK
    return blocks[start - offset:stop - offset]


def gosh(
    yi,
    vi,
    *,
    model: str = "random",
    tau2_method: str = "REML",
    max_exact_k: int = MAX_EXACT_K,
    n_subsets: int | None = None,
    seed: int | None = None,
    chunk_size: int = CHUNK_SIZE,
    study_id=None,
    start: int = 0,
    stop: int | None = None,
) -> pd.DataFrame:
    """Fit the model to subsets of the studies, as metafor's ``gosh()``.

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
        Effect sizes and sampling variances (finite, ``vi > 0``, k >= 2).
    model, tau2_method
        As in :func:`scimeta.pool.pool_many`.
    max_exact_k : int
        Up to this k every non-empty subset is fitted (2^k - 1 fits).
    n_subsets : int, optional
        Above ``max_exact_k``, the number of random subsets (default
        ``2**max_exact_k``, the cost of the largest exhaustive run).
    seed : int, optional
        Seed of ``numpy.random.default_rng`` for the random subsets; required
        when they are drawn (a GOSH plot must be reproducible).
    chunk_size : int
        Subsets per :func:`scimeta.pool.pool_many` call, at most (fewer when
        a chunk would exceed :data:`CHUNK_CELLS` cells).
    study_id : sequence, optional
        Study names for error messages.
    start, stop : int, optional
        Fit only rows ``start .. stop - 1`` (0-based) of the full table of
        :func:`subset_count` subsets, e.g. one job's share; the rows are
        those of the full run (random subsets are drawn in seeded blocks of
        :data:`SAMPLE_BLOCK`, block b from ``default_rng([seed, b])``).

    Returns
    -------
    DataFrame
        One row per subset, columns :data:`GOSH_COLUMNS`: ``subset`` (1, 2,
        ...; for all subsets the binary number whose bit j is study j),
        ``k``, ``estimate``, ``se`` (Wald), ``tau2``, ``I2`` (percent), ``H2``,
        ``Q`` (Cochran's) and ``studies``: a string of k characters, ``"1"``
        where study j (in input order) is in the subset. The frame's
        ``attrs`` hold ``exact`` (all subsets or a sample), ``seed``,
        ``tau2_method`` and ``model``.

    Notes
    -----
    metafor reports I² = 0, H² = 1, tau² = 0 and Q = 0 for a one-study subset;
    here they are NaN, as everywhere in scimeta (:func:`scimeta.pool.pool_many`):
    heterogeneity is not estimable from one study. A subset whose iterative
    estimator does not converge has NaN statistics (metafor drops the fit).
    """
    y, v = check_yi_vi(yi, vi, study_id)
    k = y.size
    if k < 2:
        raise ValueError(f"GOSH needs k >= 2 studies, got k = {k}")
    if int(max_exact_k) < 1:
        raise ValueError(f"max_exact_k must be >= 1, got {max_exact_k!r}")
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size!r}")
    exact = k <= int(max_exact_k)
    if not exact:
        if n_subsets is not None and int(n_subsets) < 1:
            raise ValueError(f"n_subsets must be >= 1, got {n_subsets!r}")
        if seed is None:
            raise ValueError(f"k = {k} > max_exact_k = {max_exact_k}: random subsets need a seed")
    total = subset_count(k, max_exact_k, n_subsets)
    stop = total if stop is None else int(stop)
    start = int(start)
    if not 0 <= start <= stop <= total:
        raise ValueError(f"start, stop = {start}, {stop} outside the {total} subsets")
    n = stop - start
    # random subsets hold about half the studies (all subsets of a few: HE, as metafor)
    start_tau2 = None if exact else refit_start(y, v, model=model, tau2_method=tau2_method)
    cols = {name: np.empty(n) for name in ("estimate", "se", "tau2", "I2", "H2", "Q")}
    kk = np.empty(n, dtype=np.int64)
    strings = np.empty(n, dtype=f"S{k}")
    step = max(1, min(int(chunk_size), CHUNK_CELLS // k))
    tau2_name, model_name = tau2_method, model
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        incl = (_exact_incl(k, start + lo + 1, start + hi + 1) if exact
                else _random_incl(k, start + lo, start + hi, int(seed)))
        if exact:
            Y = np.where(incl, y, np.nan)
            V = np.where(incl, v, np.nan)
        else:
            # a random subset holds about half the studies: each row's studies moved to
            # the front (in their order) and the empty tail cut off halves the cells
            width = int(incl.sum(axis=1).max())
            at = np.argsort(~incl, axis=1, kind="stable")[:, :width]
            inside = np.take_along_axis(incl, at, axis=1)
            Y = np.where(inside, y[at], np.nan)
            V = np.where(inside, v[at], np.nan)
        b = pool_many(Y, V, model=model, tau2_method=tau2_method, tau2_ci=False,
                      tau2_start=start_tau2)
        for name, arr in cols.items():
            arr[lo:hi] = getattr(b, name)
        kk[lo:hi] = b.k
        strings[lo:hi] = (incl.view(np.uint8) + ord("0")).view(f"S{k}").ravel()
        tau2_name, model_name = b.tau2_method, b.model
    frame = pd.DataFrame(
        {
            "subset": np.arange(start + 1, stop + 1, dtype=np.int64),
            "k": kk,
            **cols,
            "studies": strings.astype(str).astype(object),
        }
    )
    frame.attrs.update(exact=exact, seed=None if exact else int(seed), tau2_method=tau2_name,
                       model=model_name)
    return frame


def _membership_rows(studies: np.ndarray, k: int) -> np.ndarray:
    """Inclusion (rows x k, bool) of a block of the ``studies`` column ("0"/"1" strings)."""
    s = np.asarray(studies).astype(f"S{k}")
    return s.view(np.uint8).reshape(s.size, k) == ord("1")


def _membership_blocks(frame: pd.DataFrame):
    """``(start, inclusion)`` of consecutive blocks of the rows of a :func:`gosh` table, each
    of at most :data:`CHUNK_CELLS` cells: no subsets x studies array of the whole table."""
    studies = frame["studies"].to_numpy(dtype=object)
    k = len(studies[0]) if studies.size else 0
    step = max(1, CHUNK_CELLS // max(k, 1))
    for lo in range(0, studies.size, step):
        yield lo, _membership_rows(studies[lo:lo + step], k)


def gosh_membership(frame: pd.DataFrame) -> np.ndarray:
    """The inclusion matrix (subsets x studies, bool) of a :func:`gosh` table."""
    studies = frame["studies"]
    k = len(studies.iloc[0]) if len(studies) else 0
    out = np.zeros((len(studies), k), dtype=bool)
    if k:
        for lo, incl in _membership_blocks(frame):
            out[lo:lo + len(incl)] = incl
    return out


def gosh_influence(frame: pd.DataFrame, study_labels=None) -> pd.DataFrame:
    """How much each study's inclusion shifts the GOSH cloud.

    For study j, the mean estimate and mean I² of the subsets that include it
    and of those that do not (subsets with finite values only); the shifts
    are the differences (with - without), and ``shift`` is their length in
    units of the cloud's standard deviations,

    .. math::

        d_j = \\sqrt{\\Big(\\frac{\\Delta\\hat\\mu_j}{s_{\\hat\\mu}}\\Big)^2 +
              \\Big(\\frac{\\Delta I^2_j}{s_{I^2}}\\Big)^2},

    the quantity a reader sees when the subsets with study j are coloured
    (Olkin et al. 2012). Rows in input order; columns
    :data:`GOSH_INFLUENCE_COLUMNS`.
    """
    k = len(frame["studies"].iloc[0]) if len(frame) else 0
    labels = [str(x) for x in (study_labels if study_labels is not None else range(1, k + 1))]
    if len(labels) != k:
        raise ValueError(f"study_labels has {len(labels)} names for {k} studies")
    est_all = frame["estimate"].to_numpy(float)
    i2_all = frame["I2"].to_numpy(float)
    ok_all = np.isfinite(est_all) & np.isfinite(i2_all)
    # sums over the subsets with each study, a block of rows at a time
    n_with = np.zeros(k)
    sums = {name: np.zeros(k) for name in ("e_with", "e_without", "i_with", "i_without")}
    for lo, incl in (_membership_blocks(frame) if k else ()):
        ok = ok_all[lo:lo + len(incl)]
        inc = incl[ok].astype(float)
        e, i = est_all[lo:lo + len(incl)][ok], i2_all[lo:lo + len(incl)][ok]
        n_with += inc.sum(axis=0)
        sums["e_with"] += e @ inc
        sums["e_without"] += e @ (1.0 - inc)
        sums["i_with"] += i @ inc
        sums["i_without"] += i @ (1.0 - inc)
    est, i2 = est_all[ok_all], i2_all[ok_all]
    n_without = est.size - n_with
    with np.errstate(invalid="ignore", divide="ignore"):
        e_with = sums["e_with"] / n_with
        e_without = sums["e_without"] / n_without
        i_with = sums["i_with"] / n_with
        i_without = sums["i_without"] / n_without
        s_e = np.std(est) if est.size else np.nan
        s_i = np.std(i2) if i2.size else np.nan
        d_e = e_with - e_without
        d_i = i_with - i_without
        shift = np.sqrt(
            np.where(s_e > 0, d_e / s_e, 0.0) ** 2 + np.where(s_i > 0, d_i / s_i, 0.0) ** 2
        )
    return pd.DataFrame(
        {
            "study": labels,
            "k_with": n_with.astype(np.int64),
            "estimate_with": e_with,
            "estimate_without": e_without,
            "I2_with": i_with,
            "I2_without": i_without,
            "shift_estimate": d_e,
            "shift_I2": d_i,
            "shift": shift,
        }
    )
