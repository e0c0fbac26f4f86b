"""Bubble plots for meta-regression on one continuous moderator."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from scimeta._dist import norm_ppf

from scimeta.plotting._common import (
    LOG_MEASURES,
    FigureResult,
    decimals_for,
    fmt_num,
    fmt_p,
    new_figure,
    scale_label,
)
from scimeta.plotting.style import COLORS, FONT_SIZE, figure_context

__all__ = ["bubble_plot"]

MAX_BUBBLE_PT2 = 260.0  # marker area (pt²) of the heaviest study


def bubble_plot(
    yi,
    vi,
    x,
    *,
    coef,
    xlabel: str,
    vcov=None,
    tau2: float = 0.0,
    crit: float | None = None,
    level: float = 0.95,
    measure: str | None = None,
    unit: str | None = None,
    ylabel: str | None = None,
    labels=None,
    title: str | None = None,
    n_grid: int = 101,
    stats: dict | None = None,
    warning: str | None = None,
) -> FigureResult:
    r"""Effect sizes against a moderator, bubbles sized by weight, with the fitted line.

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and sampling variances.
    x : array_like
        Moderator values.
    coef : sequence of float
        ``(intercept, slope)`` of the meta-regression, e.g. ``fit.beta``
        from :func:`scimeta.metareg.metareg`.
    xlabel : str
        Moderator name for the x axis.
    vcov : array_like, shape (2, 2), optional
        Covariance matrix of ``coef``; with it the confidence band
        :math:`\hat\mu(x) \pm c\,\sqrt{g^\top V g}`, :math:`g = (1, x)`.
    tau2 : float
        Residual heterogeneity; weights are :math:`1/(v_i + \hat\tau^2)` and
        the bubble areas are proportional to them.
    crit : float, optional
        Critical value of the band (``fit.crit``: normal or t quantile);
        default the normal quantile for ``level``.
    level : float
    measure : str, optional
        Names the y axis; ROM is drawn as ratios on a log axis.
    unit : str, optional
        The outcome's unit, on the y axis of a raw difference (MD, MC).
    ylabel, labels, title : optional
    n_grid : int
        Points along the fitted line.
    stats : dict, optional
        The slope's test as ``metareg.csv`` has it: ``slope``, ``ci_low``,
        ``ci_high``, ``p``, ``k`` (and ``level``); printed above the plot.
    warning : str, optional
        Printed under the statistics (e.g. too few studies; see
        :func:`scimeta.figures.thin_evidence`).

    Returns
    -------
    FigureResult
        ``data``: one row per study (``element = 'study'``: x, y, weight,
        marker area), per grid point of the line (``element = 'fit'``:
        x, fit, ci_low, ci_high) and one row per printed line
        (``element = 'text'``, the text in ``label``). Each bubble is
        labelled with its study.
    """
    yi, vi, x = (np.asarray(a, dtype=float) for a in (yi, vi, x))
    if not (yi.shape == vi.shape == x.shape) or yi.ndim != 1 or len(yi) == 0:
        raise ValueError("yi, vi and x must be non-empty 1-d arrays of equal length")
    labels = [str(v) for v in labels] if labels is not None else [f"study {i + 1}" for i in
                                                                    range(len(yi))]
    for name, arr in (("yi", yi), ("vi", vi), ("x", x)):
        bad = ~np.isfinite(arr) | ((arr <= 0) if name == "vi" else False)
        if bad.any():
            need = "finite and > 0" if name == "vi" else "finite"
            raise ValueError(f"bubble_plot: study {labels[int(np.flatnonzero(bad)[0])]!r}, "
                             f"column {name!r} must be {need}")
    b0, b1 = (float(c) for c in np.asarray(coef, dtype=float)[:2])
    w = 1.0 / (vi + max(float(tau2), 0.0))
    w_pct = 100 * w / w.sum()
    area = MAX_BUBBLE_PT2 * w / w.max()
    grid = np.linspace(x.min(), x.max(), n_grid) if x.max() > x.min() else x[:1]
    fit = b0 + b1 * grid
    if vcov is not None:
        V = np.asarray(vcov, dtype=float)[:2, :2]
        G = np.column_stack([np.ones_like(grid), grid])
        se = np.sqrt(np.einsum("ni,ij,nj->n", G, V, G))
        c = float(crit) if crit is not None else float(norm_ppf(0.5 + level / 2))
        band = (fit - c * se, fit + c * se)
    else:
        band = (np.full_like(fit, np.nan), np.full_like(fit, np.nan))
    log = measure in LOG_MEASURES
    tr = np.exp if log else (lambda v: v)
    studies = pd.DataFrame({"element": "study", "label": labels, "x": x, "y": tr(yi),
                            "weight_pct": w_pct, "marker_area_pt2": area})
    line = pd.DataFrame({"element": "fit", "label": "", "x": grid, "y": tr(fit),
                         "ci_low": tr(band[0]), "ci_high": tr(band[1])})
    lines = []
    if stats is not None:
        lines += textwrap.wrap(_stats_text(stats, xlabel), 78)
    n_stats = len(lines)
    if warning:
        lines += textwrap.wrap(warning, 78)
    texts = pd.DataFrame({"element": "text", "label": lines})
    data = pd.concat([studies, line, texts], ignore_index=True)
    top = 0.97 - (0.06 if title else 0.0) - 0.045 * len(lines)
    with figure_context():
        fig = new_figure(4.8, 3.6)
        ax = fig.add_axes((0.15, 0.14, 0.8, top - 0.16))
        if log:
            ax.set_yscale("log")
        if vcov is not None:
            ax.fill_between(grid, tr(band[0]), tr(band[1]), color=COLORS["band"], alpha=0.45,
                            lw=0, gid="ci-band")
        ax.add_line(Line2D(grid, tr(fit), color="black", lw=1.0, gid="fit-line"))
        ax.scatter(x, tr(yi), s=area, facecolor=COLORS["study"], alpha=0.55,
                   edgecolors=COLORS["study"], linewidths=0.6, gid="bubbles", zorder=3)
        ax.axhline(1.0 if log else 0.0, color=COLORS["null"], lw=0.6, zorder=0.5, gid="null-line")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel or scale_label(measure, unit))
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.margins(x=0.12, y=0.12)
        span = float(x.max() - x.min()) or 1.0
        for i, (xx, yy, lab) in enumerate(zip(x, tr(yi), labels)):
            # labels beside the bubble, alternating above and below so neighbours do not collide;
            # toward the edges they run inwards, so a long label stays inside the figure
            r_pt = float(np.sqrt(area[i] / np.pi)) + 1.5
            where = (xx - x.min()) / span
            ha = "left" if where < 1 / 3 else "right" if where > 2 / 3 else "center"
            ax.annotate(lab, (xx, yy), xytext=(0, r_pt if i % 2 == 0 else -r_pt),
                        textcoords="offset points", ha=ha,
                        va="bottom" if i % 2 == 0 else "top", fontsize=FONT_SIZE - 1,
                        color="#333333", annotation_clip=False, gid=f"label-{i:03d}")
        y = 0.97
        if title:
            fig.text(0.03, y, title, ha="left", va="top", fontsize=FONT_SIZE + 1,
                     fontweight="bold", parse_math=False)
            y -= 0.06
        for j, text in enumerate(lines):
            is_warning = j >= n_stats
            fig.text(0.03, y, text, ha="left", va="top", fontsize=FONT_SIZE - 0.5,
                     color=COLORS["prediction"] if is_warning else "black", parse_math=False,
                     gid="warning" if is_warning else "stats")
            y -= 0.045
    return FigureResult(fig, data, "bubble", {"coef": (b0, b1), "tau2": float(tau2)})


def _stats_text(stats: dict, moderator: str) -> str:
    """``Slope per unit of year: 0.12 [-0.3, 0.5] (95% CI); p = 0.42; k = 5``."""
    slope, lo, hi = stats["slope"], stats["ci_low"], stats["ci_high"]
    mag = max(abs(v) for v in (slope, lo, hi) if np.isfinite(v)) if np.isfinite(slope) else 1.0
    dec = 2 if mag >= 1 else min(4, 2 - int(np.floor(np.log10(mag))) if mag > 0 else 2)
    dec = max(dec, decimals_for([slope], 0))
    level = stats.get("level", 0.95)
    ci = (f" [{fmt_num(lo, dec)}, {fmt_num(hi, dec)}]" if np.isfinite(lo) and np.isfinite(hi)
          else "")
    return (f"Slope per unit of {moderator}: {fmt_num(slope, dec)}{ci} ({level:.0%} CI); "
            f"{fmt_p(stats['p'])}; k = {int(stats['k'])}")
