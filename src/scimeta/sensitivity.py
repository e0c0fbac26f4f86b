"""Sensitivity of a pooled before/after effect to the assumed pre–post correlation.

Papers rarely report the correlation :math:`r` between baseline and follow-up
scores, yet the sampling variance of a mean change depends on it. The sweep
recomputes every study's effect size and variance at each assumed value of
:math:`r` (studies that report or allow deriving their own :math:`r` keep it)
and pools each set again, so a reader sees how much the conclusion leans on
the assumption.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from scimeta.effects import MEASURES_PREPOST, escalc
from scimeta.pool import pool_many
from scimeta.tables import columns

__all__ = ["r_sweep", "uses_assumed_r", "agreeing_r", "SWEEP_COLUMNS", "SWEPT_R_METHODS"]

#: ``r_source`` values starting with this word mark an assumed correlation.
ASSUMED_PREFIX = "assumed"
#: ``r_method`` values of a correlation the sweep varies: assumed, or assumed and moved to
#: the nearest value that agrees with a reported bound on the paired p.
SWEPT_R_METHODS = ("assumed", "from_p_bound")

#: The columns of :func:`r_sweep` (``sensitivity_r.csv`` without outcome, comparison and
#: design stratum: the keys of the pool it is called for).
SWEEP_COLUMNS = [c for c in columns("sensitivity_r")
                 if c not in ("outcome", "comparison", "design")]


def uses_assumed_r(rows: pd.DataFrame) -> np.ndarray:
    """Which rows take the swept correlation.

    A row takes the assumed value when its ``r_method`` is one of
    :data:`SWEPT_R_METHODS` (``assumed``, or ``from_p_bound``: a reported
    "p < x" bounds r but does not fix it); without an ``r_method``, when its
    ``r_source`` starts with ``"assumed"`` (as written by
    :func:`scimeta.compare.build_effects`), or when it has no ``r_source``
    column and no finite ``r``. Rows whose paper reported or allowed deriving
    ``r`` (an SD, SE, CI, t or exact p of the change) keep it; rows analysed as
    change scores (no baseline mean) do not depend on ``r`` at all.
    """
    n = len(rows)
    has_baseline = np.isfinite(_num(rows, "mean2")) & np.isfinite(_num(rows, "sd2"))
    if "r_source" in rows:
        src = rows["r_source"].fillna("").astype(str).str.strip().str.lower()
        assumed = src.str.startswith(ASSUMED_PREFIX).to_numpy()
    else:
        assumed = ~np.isfinite(_num(rows, "r")) if n else np.zeros(0, bool)
    if "r_method" in rows:
        method = rows["r_method"].fillna("").astype(str).str.strip()
        given = (method != "").to_numpy()
        assumed = np.where(given, method.isin(SWEPT_R_METHODS).to_numpy(), assumed)
    return assumed & has_baseline


def agreeing_r(rows: pd.DataFrame, swept: np.ndarray) -> tuple[float, float, list]:
    """The assumed r that agree with every swept study's reported paired p.

    The intersection of ``r_agree_low``..``r_agree_high`` over the swept rows
    that have them (``(nan, nan, [])`` when none has; ``(nan, nan, studies)`` when
    the ranges do not overlap), and the studies that set it.
    """
    lo, hi = _num(rows, "r_agree_low"), _num(rows, "r_agree_high")
    has = swept & np.isfinite(lo) & np.isfinite(hi)
    if not has.any():
        return math.nan, math.nan, []
    sid = rows["study_id"].astype(str).to_numpy() if "study_id" in rows else \
        np.array([str(i) for i in range(len(rows))])
    low, high = float(np.max(lo[has])), float(np.min(hi[has]))
    studies = sorted(set(sid[has]))
    return (low, high, studies) if low <= high else (math.nan, math.nan, studies)


def r_sweep(
    rows: pd.DataFrame,
    *,
    measure: str,
    r_grid,
    model: str = "random",
    tau2_method: str = "REML",
    ci_method: str = "wald",
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
        Assumed correlations, each in [0, 1), e.g. 0, 0.1, ..., 0.9. A swept
        study with ``r_agree_low``/``r_agree_high`` (its paper reports the
        paired p as a bound) takes, at each, the nearest r in that range, as
        :func:`scimeta.compare.build_effects` does for the configured r: at
        ``r_assumed = prepost_r`` the sweep is the primary analysis.
    model, tau2_method, ci_method, level
        Passed to :func:`scimeta.pool.pool_many`.

    Returns
    -------
    DataFrame
        One row per grid value (columns :data:`SWEEP_COLUMNS`): the pooled
        estimate, CI, prediction interval and heterogeneity; ``k_assumed_r``
        studies took ``r_assumed``, ``k_own_r`` kept their own correlation
        (named in ``own_r_studies``, ``;``-joined) or do not depend on it;
        ``r_agree_low``..``r_agree_high`` the assumed r that agree with the
        paired p reported by the studies in ``r_agree_studies``
        (:func:`agreeing_r`).

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
        # a study whose reported p bounds r takes the nearest r that agrees (as compare does)
        low, high = _num(rows, "r_agree_low")[idx], _num(rows, "r_agree_high")[idx]
        bounded = np.isfinite(low) & np.isfinite(high)
        ri = np.repeat(grid, len(idx)).reshape(m, len(idx))
        ri = np.where(bounded, np.clip(ri, np.where(bounded, low, -1), np.where(bounded, high, 1)),
                      ri)
        es = escalc(measure, ni=tile("n1"), m1i=tile("mean1"), sd1i=tile(sd_first),
                    m2i=tile("mean2"), sd2i=tile(sd_second), ri=ri.ravel())
        Y[:, idx] = np.asarray(es.yi).reshape(m, len(idx))
        V[:, idx] = np.asarray(es.vi).reshape(m, len(idx))
    batch = pool_many(Y, V, model=model, tau2_method=tau2_method, ci_method=ci_method,
                      level=level)
    res = batch.to_frame()  # one study: the pooling module's rule (its own Wald CI)
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
    low, high, agree = agreeing_r(rows, assumed)
    out["r_agree_low"], out["r_agree_high"] = low, high
    out["r_agree_studies"] = ";".join(agree)
    if agree and not math.isfinite(low):
        notes = out["note"] if "note" in out else [""] * len(out)
        out["note"] = [("; ".join(x for x in (str(n) if isinstance(n, str) else "",
                                               "no assumed r agrees with every study's reported "
                                               "paired p") if x)) for n in notes]
    return out[SWEEP_COLUMNS]


def _num(rows: pd.DataFrame, col: str) -> np.ndarray:
    if col not in rows:
        return np.full(len(rows), np.nan)
    return pd.to_numeric(rows[col], errors="coerce").to_numpy(float)
