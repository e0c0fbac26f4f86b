"""Contour-enhanced funnel plots (Peters et al. 2008, doi:10.1016/j.jclinepi.2007.11.010)."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon
from scimeta._dist import norm_ppf

from scimeta.plotting._common import MEASURE_NAMES, FigureResult, new_figure, scale_label
from scimeta.plotting.style import COLORS, FONT_SIZE, figure_context

__all__ = ["funnel_plot", "caption_funnel", "CONTOUR_LEVELS"]

#: Two-sided significance levels whose regions are shaded (lightest first).
CONTOUR_LEVELS = (0.10, 0.05, 0.01)


def funnel_plot(
    yi,
    vi,
    *,
    estimate: float,
    measure: str,
    unit: str | None = None,
    labels=None,
    contours=CONTOUR_LEVELS,
    egger: dict | None = None,
    filled: pd.DataFrame | dict | None = None,
    title: str | None = None,
    warning: str | None = None,
) -> FigureResult:
    r"""Contour-enhanced funnel plot: effect sizes against their standard errors.

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes (log ratios for ROM, drawn as such) and sampling variances.
    estimate : float
        The pooled estimate; a vertical line with its pseudo 95% limits
        :math:`\hat\mu \pm 1.96\,\mathrm{SE}`.
    measure : str
        Names the x axis (:func:`scimeta.plotting._common.scale_label`: a ratio of
        means is drawn as the log ratio, and says so).
    unit : str, optional
        The outcome's unit, on the x axis of a raw difference (MD, MC).
    labels : sequence of str, optional
        Study labels, kept in the figure data (not drawn, to keep the plot legible).
    contours : sequence of float
        Two-sided significance levels. Shaded regions show where a study
        would be significant against no effect at :math:`p < \alpha`, i.e.
        :math:`|y| > z_{1-\alpha/2}\,\mathrm{SE}`.
    egger : dict, optional
        An Egger-type regression line :math:`y = b_0 + b_1\,\mathrm{SE}` with
        keys ``intercept`` (:math:`b_0`, the limit estimate) and ``slope``
        (:math:`b_1`), e.g. from metafor-style ``regtest(model = "rma")``.
    filled : DataFrame or dict, optional
        Studies imputed by trim-and-fill: ``yi`` and ``vi``; drawn as open circles.
    title : str, optional
    warning : str, optional
        Printed on the figure, under the legend (e.g. too few studies to judge
        asymmetry; see :func:`scimeta.figures.thin_evidence`), and kept in the
        data as a row ``element = 'warning'``.

    Returns
    -------
    FigureResult
        ``data`` has one row per point (``study`` or ``filled``), the contour
        multipliers (``contour``), the lines drawn (``estimate``, ``egger``)
        and the warning, if any. The legend names every shade and every line.
    """
    yi = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    if yi.shape != vi.shape or yi.ndim != 1 or len(yi) == 0:
        raise ValueError("yi and vi must be non-empty 1-d arrays of equal length")
    labels = [str(x) for x in labels] if labels is not None else [f"study {i + 1}" for i in
                                                                    range(len(yi))]
    for i, (y, v) in enumerate(zip(yi, vi)):
        if not (np.isfinite(y) and np.isfinite(v) and v > 0):
            raise ValueError(f"funnel_plot: study {labels[i]!r}, yi/vi must be finite with vi > 0")
    sei = np.sqrt(vi)
    f_y = f_v = np.zeros(0)
    if filled is not None:
        f_y = np.asarray(filled["yi"], dtype=float)
        f_v = np.asarray(filled["vi"], dtype=float)
    se_max = max(sei.max(), np.sqrt(f_v).max() if len(f_v) else 0.0) * 1.08
    rows = []
    with figure_context():
        # a warning gets its own lines under the plot, across the figure
        note_lines = textwrap.wrap(warning, 105) if warning else []
        extra = 0.15 * len(note_lines) + (0.1 if note_lines else 0.0)
        height = 3.8 + extra
        fig = new_figure(6.2, height)
        ax = fig.add_axes((0.1, (0.13 * 3.8 + extra) / height, 0.6,
                           (0.78 if title else 0.83) * 3.8 / height))
        zs = sorted(((float(a), float(norm_ppf(1 - a / 2))) for a in contours),
                    key=lambda t: t[1])
        x_extent = max(np.abs(yi).max(), np.abs(f_y).max() if len(f_y) else 0.0,
                       abs(estimate) + 1.96 * se_max, zs[-1][1] * se_max if zs else 0.0) * 1.08
        # region j (0 = innermost, not significant at any level) gets shade j
        shades = [_gray(1.0 - 0.28 * j / max(len(zs), 1)) for j in range(len(zs) + 1)]
        legend = []
        if zs:
            ax.add_patch(Polygon([(-x_extent, 0), (x_extent, 0), (x_extent, se_max),
                                  (-x_extent, se_max)], closed=True, facecolor=shades[-1],
                                 edgecolor="none", zorder=0, gid="contour-outer"))
            for j in range(len(zs) - 1, -1, -1):
                alpha, z = zs[j]
                ax.add_patch(Polygon([(0, 0), (z * se_max, se_max), (-z * se_max, se_max)],
                                     closed=True, facecolor=shades[j], edgecolor="none",
                                     zorder=0.01 * (len(zs) - j), gid=f"contour-{alpha:g}"))
                rows.append({"element": "contour", "label": f"p = {alpha:g}", "x": z,
                             "y": np.nan})
            names = [f"p > {zs[0][0]:g}"]
            names += [f"{zs[j + 1][0]:g} < p < {zs[j][0]:g}" for j in range(len(zs) - 1)]
            names.append(f"p < {zs[-1][0]:g}")
            legend = [Patch(facecolor=face, edgecolor="#999999", lw=0.4, label=lab)
                      for face, lab in zip(shades, names)]
        legend += [
            Line2D([], [], color="black", lw=0.8, label="Pooled estimate"),
            Line2D([], [], color="black", lw=0.6, ls=(0, (4, 3)), label="Pseudo 95% limits"),
            Line2D([], [], color=COLORS["null"], lw=0.6, label="No effect"),
        ]
        ax.add_line(Line2D([0, 0], [0, se_max], color=COLORS["null"], lw=0.6, zorder=2,
                           gid="null-line"))
        ax.add_line(Line2D([estimate, estimate], [0, se_max], color="black", lw=0.8, zorder=3,
                           gid="estimate-line"))
        ax.add_line(Line2D([estimate - 1.96 * se_max, estimate, estimate + 1.96 * se_max],
                           [se_max, 0, se_max], color="black", lw=0.6, ls=(0, (4, 3)), zorder=3,
                           gid="pseudo-ci"))
        rows.append({"element": "estimate", "label": "pooled", "x": estimate, "y": 0.0})
        ax.scatter(yi, sei, s=18, c=COLORS["study"], edgecolors="white", linewidths=0.4,
                   zorder=4, gid="studies")
        rows += [{"element": "study", "label": lab, "x": y, "y": s}
                 for lab, y, s in zip(labels, yi, sei)]
        if len(f_y):
            ax.scatter(f_y, np.sqrt(f_v), s=18, facecolors="white", edgecolors=COLORS["study"],
                       linewidths=0.8, zorder=4, gid="filled")
            rows += [{"element": "filled", "label": "filled", "x": y, "y": s}
                     for y, s in zip(f_y, np.sqrt(f_v))]
            legend.append(Line2D([], [], marker="o", ls="", mfc="white", mec=COLORS["study"],
                                 label="Filled (trim and fill)"))
        if egger is not None:
            b0, b1 = float(egger["intercept"]), float(egger["slope"])
            ax.add_line(Line2D([b0, b0 + b1 * se_max], [0, se_max], color=COLORS["prediction"],
                               lw=0.9, zorder=3, gid="egger-line"))
            rows.append({"element": "egger", "label": "intercept", "x": b0, "y": 0.0})
            rows.append({"element": "egger", "label": "slope", "x": b1, "y": np.nan})
            legend.append(Line2D([], [], color=COLORS["prediction"], lw=0.9,
                                 label="Egger regression line"))
        ax.legend(handles=legend, loc="upper left", bbox_to_anchor=(1.03, 1.0),
                  fontsize=FONT_SIZE - 0.5, frameon=False, title="Significance of a study",
                  title_fontsize=FONT_SIZE - 0.5, alignment="left")
        for i, line in enumerate(note_lines):
            fig.text(0.02, (0.08 + 0.15 * (len(note_lines) - 1 - i)) / height, line, ha="left",
                     va="bottom", fontsize=FONT_SIZE - 0.5, color=COLORS["prediction"],
                     parse_math=False, gid=f"warning-{i}")
        if warning:
            rows.append({"element": "warning", "label": warning, "x": np.nan, "y": np.nan})
        ax.set_xlim(-x_extent, x_extent)
        ax.set_ylim(se_max, 0)
        ax.set_xlabel(scale_label(measure, unit, log_values=True))
        ax.set_ylabel("Standard error")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        if title:
            fig.text(0.1, 1 - 0.035 * 3.8 / height, title, ha="left", va="top",
                     fontsize=FONT_SIZE + 1,
                     fontweight="bold", parse_math=False)
    return FigureResult(fig, pd.DataFrame(rows, columns=["element", "label", "x", "y"]),
                        "funnel", {"measure": measure})


def _gray(level: float) -> str:
    v = int(round(255 * level))
    return f"#{v:02x}{v:02x}{v:02x}"


def caption_funnel(*, outcome_label: str, measure: str, k: int, contours=CONTOUR_LEVELS,
                   egger: bool = False, filled: bool = False) -> str:
    """One-paragraph reStructuredText caption for :func:`funnel_plot`."""
    name = MEASURE_NAMES.get(measure, measure)
    name = name[:1].lower() + name[1:]
    levels = ", ".join(f"{a:g}" for a in sorted(contours, reverse=True))
    text = (f"Contour-enhanced funnel plot of **{outcome_label}** ({name}, {k} studies): each "
            "point is a study, its effect size against its standard error. Shaded regions mark "
            f"where a study would be statistically significant against no effect (p < {levels}, "
            "darker for smaller p); the solid line is the pooled estimate with dashed pseudo 95% "
            "limits.")
    if egger:
        text += (" The red line is the Egger-type regression of the effects on their standard "
                 "errors.")
    if filled:
        text += " Open circles are studies imputed by trim and fill."
    return text
