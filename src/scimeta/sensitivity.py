"""Sensitivity of a pooled before/after effect to the assumed pre–post correlation.

Papers rarely report the correlation :math:`r` between baseline and follow-up
scores, yet the sampling variance of a mean change depends on it. The sweep
recomputes every study's effect size and variance at each assumed value of
:math:`r` (studies that report or allow deriving their own :math:`r` keep it)
and pools each set again, so a reader sees how much the conclusion leans on
the assumption.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scimeta.effects import MEASURES_PREPOST, escalc
from scimeta.pool import pool_many
from scimeta.tables import columns

__all__ = ["r_sweep", "uses_assumed_r", "SWEEP_COLUMNS"]

#: ``r_source`` values starting with this word mark an assumed correlation.
ASSUMED_PREFIX = "assumed"

#: The columns of :func:`r_sweep` (``sensitivity_r.csv`` without outcome, comparison and
#: design stratum: the keys of the pool it is called for).
SWEEP_COLUMNS = [c for c in columns("sensitivity_r")
                 if c not in ("outcome", "comparison", "design")]


def uses_assumed_r(rows: pd.DataFrame) -> np.ndarray:
    """Which rows take the swept correlation.

    A row takes the assumed value when its ``r_source`` starts with
    ``"assumed"`` (as written by :func:`scimeta.compare.build_effects`), or
    when it has no ``r_source`` column and no finite ``r``. Rows whose paper
    reported or allowed deriving ``r`` keep it; rows analysed as change scores
    (no baseline mean) do not depend on ``r`` at all.
    """
    n = len(rows)
    has_baseline = np.isfinite(_num(rows, "mean2")) & np.isfinite(_num(rows, "sd2"))
    if "r_source" in rows:
        src = rows["r_source"].fillna("").astype(str).str.strip().str.lower()
        assumed = src.str.startswith(ASSUMED_PREFIX).to_numpy()
    else:
        assumed = ~np.isfinite(_num(rows, "r")) if n else np.zeros(0, bool)
    return assumed & has_baseline


def r_sweep(
    rows: pd.DataFrame,
    *,
    measure: str,
    r_grid,
    model: str = "random",
    tau2_method: str = "REML",
    ci_method: str = "hksj",
    level: float = 0.95,
) -> pd.DataFrame:
    r"""Pool a before/after analysis again at each assumed pre–post correlation.

    Parameters
    ----------
    rows : DataFrame
        The ``pre_post`` rows of ``effects.csv`` for one outcome and measure:
        ``study_id``, ``n1`` (patients), ``mean1``/``sd1`` (follow-up),
        ``mean2``/``sd2`` (baseline), ``r``, ``r_source``, ``yi``, ``vi``.
    measure : {"MC", "SMCR", "SMCC"}
        The paired measure (metafor's names).
    r_grid : sequence of float
        Assumed correlations, each in [0, 1), e.g. 0, 0.1, ..., 0.9.
    model, tau2_method, ci_method, level
        Passed to :func:`scimeta.pool.pool_many`.

    Returns
    -------
    DataFrame
        One row per grid value (columns :data:`SWEEP_COLUMNS`): the pooled
        estimate, CI, prediction interval and heterogeneity; ``k_assumed_r``
        studies took ``r_assumed``, ``k_own_r`` kept their own correlation
        (named in ``own_r_studies``, ``;``-joined) or do not depend on it.

    Notes
    -----
    With follow-up mean :math:`\bar x_1`, SD :math:`s_1`, baseline
    :math:`\bar x_2`, :math:`s_2`, :math:`n` patients and correlation
    :math:`r`, the raw mean change has (Becker 1988,
    doi:10.1111/j.2044-8317.1988.tb00901.x; Morris 2008,
    doi:10.1177/1094428106291059)

    .. math::

        y = \bar x_1 - \bar x_2, \qquad
        v = \frac{s_1^2 + s_2^2 - 2 r s_1 s_2}{n},

    and the standardised mean changes (``SMCR``, ``SMCC``) also depend on
    :math:`r` through their variance (and, for ``SMCC``, their
    standardiser); the formulas are those of :func:`scimeta.effects.escalc`.
    All grid values are pooled in one :func:`scimeta.pool.pool_many` call.
    """
    if measure not in MEASURES_PREPOST:
        raise ValueError(f"measure must be one of {MEASURES_PREPOST}, got {measure!r}")
    grid = np.asarray(list(r_grid), dtype=float)
    if grid.ndim != 1 or len(grid) == 0:
        raise ValueError("r_grid must be a non-empty sequence of correlations")
    if not np.all(np.isfinite(grid)) or np.any(grid < -1) or np.any(grid >= 1):
        raise ValueError("r_grid values must lie in [-1, 1)")
    if len(rows) == 0:
        raise ValueError("r_sweep: no rows")
    if "measure" in rows and (rows["measure"] != measure).any():
        bad = rows.loc[rows["measure"] != measure, "study_id"].iloc[0]
        raise ValueError(f"r_sweep: study {bad!r}, column 'measure' is not {measure!r}")
    rows = rows.reset_index(drop=True)
    k = len(rows)
    assumed = uses_assumed_r(rows)
    sid = (rows["study_id"].astype(str).tolist() if "study_id" in rows
           else [str(i) for i in range(k)])
    Y = np.empty((len(grid), k))
    V = np.empty((len(grid), k))
    # rows that keep their numbers: the effect sizes as computed upstream
    keep = ~assumed
    if keep.any():
        yi, vi = _num(rows, "yi"), _num(rows, "vi")
        for j in np.flatnonzero(keep):
            if not (np.isfinite(yi[j]) and np.isfinite(vi[j]) and vi[j] > 0):
                raise ValueError(f"r_sweep: study {sid[j]!r}, columns 'yi'/'vi' must be finite "
                                 "with vi > 0 for a row that keeps its own correlation")
        Y[:, keep] = yi[keep]
        V[:, keep] = vi[keep]
    if assumed.any():
        idx = np.flatnonzero(assumed)
        for col in ("n1", "mean1", "sd1", "mean2", "sd2"):
            vals = _num(rows, col)[idx]
            if not np.all(np.isfinite(vals)):
                j = idx[np.flatnonzero(~np.isfinite(vals))[0]]
                raise ValueError(
                    f"r_sweep: study {sid[j]!r}, column {col!r} must be a finite number")
        m = len(grid)
        tile = lambda col: np.tile(_num(rows, col)[idx], m)  # noqa: E731
        # SMCR is standardised by sd1i, so the baseline SD goes there (as scimeta.compare)
        sd_first, sd_second = ("sd2", "sd1") if measure == "SMCR" else ("sd1", "sd2")
        es = escalc(measure, ni=tile("n1"), m1i=tile("mean1"), sd1i=tile(sd_first),
                    m2i=tile("mean2"), sd2i=tile(sd_second), ri=np.repeat(grid, len(idx)))
        Y[:, idx] = np.asarray(es.yi).reshape(m, len(idx))
        V[:, idx] = np.asarray(es.vi).reshape(m, len(idx))
    batch = pool_many(Y, V, model=model, tau2_method=tau2_method, ci_method=ci_method,
                      level=level)
    res = batch.to_frame()
    if k == 1 and ci_method == "hksj":
        # one study: no Hartung-Knapp interval exists; its own Wald CI, as the forest plot
        # and pooled.csv's wald row of a one-study pool show it
        wald = pool_many(Y, V, model=model, tau2_method=tau2_method, ci_method="wald",
                         level=level).to_frame()
        for col in ("se", "ci_low", "ci_high", "stat", "p"):
            if col in res and col in wald:
                res[col] = wald[col].to_numpy()
        if "note" in res:
            res["note"] = [f"{n}; the CI is the study's own (Wald)" if isinstance(n, str) and n
                           else "the CI is the study's own (Wald)" for n in res["note"]]
    out = pd.DataFrame({
        "measure": measure,
        "r_assumed": grid,
        "k": k,
        "k_assumed_r": int(assumed.sum()),
        "k_own_r": int((~assumed).sum()),
        "own_r_studies": ";".join(s for s, a in zip(sid, assumed) if not a),
    })
    for col in SWEEP_COLUMNS:
        if col in res and col not in ("k",):
            out[col] = res[col].to_numpy() if col not in ("model", "tau2_method", "ci_method",
                                                             "level") else res[col].iloc[0]
    out["level"] = level
    return out[SWEEP_COLUMNS]


def _num(rows: pd.DataFrame, col: str) -> np.ndarray:
    if col not in rows:
        return np.full(len(rows), np.nan)
    return pd.to_numeric(rows[col], errors="coerce").to_numpy(float)
