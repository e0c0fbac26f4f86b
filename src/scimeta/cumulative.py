"""Cumulative meta-analysis, as metafor's ``cumul()``.

The studies are sorted by a study column (publication year by default, or
any other) and the model is refitted after each study is added (Lau et al.
1992, doi:10.1056/NEJM199207233270406): step i pools the first i studies.
All k fits go through :func:`scimeta.pool.pool_many` at once (a chunk of
steps at a time, so memory stays bounded at large k).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scimeta.estimators import DEFAULT_MAX_ITER, DEFAULT_TOL
from scimeta.pool import check_yi_vi, pool_many, refit_start

__all__ = ["CUMULATIVE_COLUMNS", "cumulative", "cumulative_effects"]

#: Columns of the table returned by :func:`cumulative` (``results/tables/cumulative.csv``).
CUMULATIVE_COLUMNS = (
    "step", "study_id", "order_value", "k", "model", "tau2_method", "ci_method", "level",
    "estimate", "se", "ci_low", "ci_high", "stat", "p", "df", "pi_low", "pi_high",
    "tau2", "I2", "H2", "Q", "Q_p", "converged", "note",
)
#: Cells of the pooled matrix per :func:`scimeta.pool.pool_many` call.
CHUNK_CELLS = 4_000_000


def _missing(values: np.ndarray) -> np.ndarray:
    return pd.isna(pd.Series(values, dtype=object)).to_numpy()


def cumulative(
    yi,
    vi,
    order=None,
    *,
    study_id=None,
    decreasing: bool = False,
    collapse: bool = False,
    model: str = "random",
    tau2_method: str = "REML",
    ci_method: str = "wald",
    level: float = 0.95,
    pi_min_k: int = 3,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
) -> pd.DataFrame:
    """Pool the first 1, 2, ..., k studies in the order of ``order``.

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
        Effect sizes and sampling variances.
    order : array_like, shape (k,), optional
        The values to sort by (e.g. publication year); ``None`` keeps the
        given order. Sorting is stable (ties keep their input order, as R's
        ``order()``). A study without a value (NaN / None) is not added: it
        gets a row of its own at the end, with the reason in ``note``. When
        no study has a value there is no sequence: a ValueError.
    study_id : sequence, optional
        Study names for the rows (default ``1 .. k``).
    decreasing : bool
        Sort from the largest value.
    collapse : bool
        Add studies with the same value of ``order`` together, in one step
        (one row per distinct value; ``study_id`` joins their names with
        ``"; "``).
    model, tau2_method, ci_method, level, pi_min_k, tol, max_iter
        As :func:`scimeta.pool.pool_many`.

    Returns
    -------
    DataFrame
        One row per step, columns :data:`CUMULATIVE_COLUMNS`: ``step`` (1 ..),
        ``study_id`` (the study added), ``order_value``, ``k`` (studies pooled
        so far), the fit as in :class:`scimeta.pool.PoolResult` (``estimate``
        ... ``Q_p``, ``converged``, ``note``). The first step (k = 1) is the
        single study with its Wald CI and NaN heterogeneity (metafor reports
        tau² = 0, I² = 0, H² = 1 there).
    """
    ids = None if study_id is None else [str(s) for s in study_id]
    y, v = check_yi_vi(yi, vi, ids)
    k = y.size
    ids = ids if ids is not None else [str(i + 1) for i in range(k)]
    if len(ids) != k:
        raise ValueError(f"study_id has {len(ids)} names for {k} studies")
    if order is None:
        values = np.arange(1, k + 1, dtype=object)
    else:
        values = np.asarray(list(order), dtype=object)
        if values.shape != (k,):
            raise ValueError(f"order has {values.size} values for {k} studies")
    missing = _missing(values)
    if order is not None and missing.all():
        raise ValueError(f"none of the {k} studies has a value to order by")
    keep = np.flatnonzero(~missing)
    sort_key = pd.Series(values[keep]).to_numpy()
    try:
        idx = keep[np.argsort(sort_key, kind="stable")]
    except TypeError as exc:
        raise ValueError(f"order values cannot be sorted together: {exc}") from None
    if decreasing:  # stable for ties, as R's order(decreasing = TRUE)
        rank = pd.Series(sort_key).rank(method="dense").to_numpy()
        idx = keep[np.lexsort((np.arange(keep.size), -rank))]
    ordered = values[idx]
    if collapse:
        starts = [0] + [i for i in range(1, idx.size) if ordered[i] != ordered[i - 1]]
        ends = starts[1:] + [idx.size]
    else:
        starts = list(range(idx.size))
        ends = [s + 1 for s in starts]
    n_steps = len(ends)
    ys, vs = y[idx], v[idx]
    # every step starts at the last step's estimate (all the studies)
    start_tau2 = (refit_start(ys[:ends[-1]], vs[:ends[-1]], model=model, tau2_method=tau2_method,
                              tol=tol, max_iter=max_iter) if n_steps > 1 else None)
    frames = []
    step = 0
    while step < n_steps:
        rows = max(1, CHUNK_CELLS // max(1, ends[-1]))
        stop = min(n_steps, step + rows)
        width = ends[stop - 1]
        lim = np.asarray(ends[step:stop])[:, None]
        present = np.arange(width)[None, :] < lim
        Y = np.where(present, ys[:width], np.nan)
        V = np.where(present, vs[:width], np.nan)
        b = pool_many(Y, V, model=model, tau2_method=tau2_method, ci_method=ci_method, level=level,
                      pi_min_k=pi_min_k, tol=tol, max_iter=max_iter, tau2_ci=False,
                      tau2_start=start_tau2)
        frames.append(b.to_frame())
        step = stop
    fit = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    added = ["; ".join(ids[j] for j in idx[s:e]) for s, e in zip(starts, ends)]
    table = pd.DataFrame(
        {
            "step": pd.array(np.arange(1, n_steps + 1), dtype="Int64"),
            "study_id": added,
            "order_value": [ordered[s] for s in starts],
        }
    )
    for col in CUMULATIVE_COLUMNS[3:]:
        table[col] = fit[col].to_numpy() if len(fit) else []
    if missing.any():
        what = "order value" if order is None else "value to order by"
        extra = pd.DataFrame(
            {
                "step": pd.array([pd.NA] * int(missing.sum()), dtype="Int64"),
                "study_id": [ids[j] for j in np.flatnonzero(missing)],
                "order_value": [None] * int(missing.sum()),
            }
        )
        extra["note"] = f"no {what}: not in the cumulative sequence"
        table = pd.concat([table, extra], ignore_index=True)
    table["k"] = table["k"].astype("Int64")
    return table[list(CUMULATIVE_COLUMNS)]


def cumulative_effects(
    effects: pd.DataFrame,
    by: str = "year",
    *,
    studies: pd.DataFrame | None = None,
    **kwargs,
) -> pd.DataFrame:
    """:func:`cumulative` on one pool's rows of ``effects.csv``.

    Parameters
    ----------
    effects : DataFrame
        One pool's effect sizes: ``study_id``, ``yi``, ``vi``.
    by : str
        Column to order by: a column of ``effects`` or, failing that, of
        ``studies`` (joined on ``study_id``), e.g. ``year``.
    studies : DataFrame, optional
        The studies sheet, for ``by`` columns it holds.
    **kwargs
        Passed to :func:`cumulative` (``decreasing``, ``collapse``,
        ``tau2_method``, ``ci_method``, ...).
    """
    for col in ("study_id", "yi", "vi"):
        if col not in effects:
            raise ValueError(f"effects: missing column {col!r}")
    if by in effects:
        values = effects[by].to_numpy(dtype=object)
    elif studies is not None and by in studies:
        if "study_id" not in studies:
            raise ValueError("studies: missing column 'study_id'")
        lookup = studies.drop_duplicates("study_id").set_index("study_id")[by]
        values = effects["study_id"].map(lookup).to_numpy(dtype=object)
    else:
        raise ValueError(f"{by!r} is neither a column of the effect sizes nor of the studies sheet")
    return cumulative(
        effects["yi"].to_numpy(float),
        effects["vi"].to_numpy(float),
        values,
        study_id=effects["study_id"].astype(str).tolist(),
        **kwargs,
    )
