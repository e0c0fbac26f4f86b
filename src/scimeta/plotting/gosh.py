"""GOSH plot: every subset's pooled estimate against its I², as metafor's ``plot.gosh.rma``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scimeta.plotting._common import FigureResult, new_figure, plural, scale_label, wrap_inches
from scimeta.plotting.style import COLORS, FONT_SIZE, families_for, figure_context

__all__ = ["gosh_plot"]

#: Bins of the marginal densities.
DENSITY_BINS = 60
#: Above this many subsets the point cloud is embedded as an image in vector
#: formats (a million SVG circles would be unreadable and huge).
RASTERIZE_ABOVE = 2_000


def _density(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Histogram density scaled to a peak of 1 (the two groups' shapes compare
    even when one has most of its mass in one bin, e.g. I² = 0)."""
    if values.size == 0:
        return np.zeros(edges.size - 1)
    hist, _ = np.histogram(values, bins=edges)
    return hist / hist.max()


def gosh_plot(
    table: pd.DataFrame,
    *,
    highlight: int | None = None,
    influence: pd.DataFrame | None = None,
    study_labels=None,
    measure: str | None = None,
    unit: str | None = None,
    title: str | None = None,
) -> FigureResult:
    """Estimate (x) against I² (y) for every subset, with both marginal densities.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`scimeta.gosh.gosh` (``estimate``, ``I2``, ``studies``).
    highlight : int, optional
        Index (0-based, input order) of the study whose subsets are coloured:
        the subsets that include it in red, the others in blue, with a density
        for each (metafor's ``out =``); the marginal histograms are each scaled to
        a peak of 1. Default: the study with the largest
        ``shift`` in ``influence``.
    influence : DataFrame, optional
        Output of :func:`scimeta.gosh.gosh_influence` for ``table``; computed
        when not given and ``highlight`` is not given either.
    study_labels : sequence of str, optional
        Study names (input order) for the legend.
    measure : str, optional
        Names the x axis (e.g. ``SMD``). The estimates are drawn as fitted: a ratio
        of means as its log ratio, and the axis says so
        (:func:`scimeta.plotting._common.scale_label`).
    unit : str, optional
        The outcome's unit, on the x axis of a raw difference (MD, MC).
    title : str, optional

    Returns
    -------
    FigureResult
        ``data``: one row per subset drawn (``subset``, ``k``, ``estimate``,
        ``I2``, ``includes_highlight``), subsets with a non-finite estimate or
        I² (one-study subsets, failed fits) left out of the drawing.
    """
    from scimeta.gosh import gosh_influence, gosh_membership

    need = ("estimate", "I2", "studies")
    missing = [c for c in need if c not in table]
    if missing:
        raise ValueError(f"GOSH table: missing column(s) {', '.join(missing)}")
    incl = gosh_membership(table)
    k = incl.shape[1]
    labels = [str(x) for x in (study_labels if study_labels is not None else range(1, k + 1))]
    if len(labels) != k:
        raise ValueError(f"study_labels has {len(labels)} names for {k} studies")
    most_shift = highlight is None  # the study chosen here: the one that shifts the cloud most
    if highlight is None:
        if influence is None:
            influence = gosh_influence(table, labels)
        shift = influence["shift"].to_numpy(float)
        highlight = int(np.nanargmax(shift)) if np.isfinite(shift).any() else 0
    if not 0 <= int(highlight) < k:
        raise ValueError(f"highlight must be a study index in 0..{k - 1}, got {highlight!r}")
    highlight = int(highlight)
    est = table["estimate"].to_numpy(float)
    i2 = table["I2"].to_numpy(float)
    ok = np.isfinite(est) & np.isfinite(i2)
    est, i2 = est[ok], i2[ok]
    member = incl[ok, highlight]
    data = pd.DataFrame(
        {
            "subset": table["subset"].to_numpy()[ok] if "subset" in table else np.flatnonzero(ok) + 1,
            "k": table["k"].to_numpy()[ok] if "k" in table else incl[ok].sum(axis=1),
            "estimate": est,
            "I2": i2,
            "includes_highlight": member,
        }
    )
    colour_in, colour_out = COLORS["prediction"], COLORS["study"]
    # the legend says with / without; the note under it names the study, in lines that fit
    name_in, name_out = "with the study", "without the study"
    width, height = 5.2, 4.8
    note = wrap_inches(f"{plural(est.size, 'subset')} of {plural(k, 'study', 'studies')}, each "
                       "point a subset's pooled estimate; colour: the subsets with and without "
                       f"{labels[highlight]}"
                       + (", the study whose inclusion shifts the cloud most." if most_shift
                          else "."),
                       width - 0.25, FONT_SIZE - 1)
    with figure_context(families_for([*labels, title or ""])):
        fig = new_figure(width, height)
        top = 0.93 if title else 0.97
        bottom = 0.15 + 0.03 * len(note)
        ax = fig.add_axes((0.13, bottom, 0.6, top - bottom - 0.17))
        ax_x = fig.add_axes((0.13, top - 0.15, 0.6, 0.15), sharex=ax)
        ax_y = fig.add_axes((0.75, bottom, 0.2, top - bottom - 0.17), sharey=ax)
        n = est.size
        size = 6.0 if n <= 500 else (2.0 if n <= 20_000 else 0.5)
        alpha = 0.7 if n <= 500 else (0.35 if n <= 20_000 else 0.15)
        raster = n > RASTERIZE_ABOVE
        for mask, colour, gid, name in (
            (~member, colour_out, "subsets-without", name_out),
            (member, colour_in, "subsets-with", name_in),
        ):
            # not clipped: a subset at I² = 0 or at the extremes is drawn whole
            ax.scatter(est[mask], i2[mask], s=size, c=colour, alpha=alpha, linewidths=0,
                       rasterized=raster, gid=gid, clip_on=False,
                       label=f"{name}\n({plural(int(mask.sum()), 'subset')})")
        if n:
            lo, hi = float(est.min()), float(est.max())
            pad = 0.02 * (hi - lo) if hi > lo else 0.5
            ex = np.linspace(lo - pad, hi + pad, DENSITY_BINS + 1)
            ey = np.linspace(0.0, max(100.0, float(i2.max())), DENSITY_BINS + 1)
            for mask, colour, gid in ((~member, colour_out, "without"), (member, colour_in, "with")):
                dx = _density(est[mask], ex)
                dy = _density(i2[mask], ey)
                ax_x.stairs(dx, ex, color=colour, fill=True, alpha=0.35, gid=f"density-estimate-{gid}")
                ax_y.stairs(dy, ey, color=colour, fill=True, alpha=0.35, orientation="horizontal",
                            gid=f"density-I2-{gid}")
            ax.set_xlim(ex[0], ex[-1])
            ax.set_ylim(0.0, ey[-1])
        for a in (ax_x, ax_y):
            for side in ("top", "right"):
                a.spines[side].set_visible(False)
            a.tick_params(labelbottom=False, labelleft=False, length=0)
        ax_x.spines["left"].set_visible(False)
        ax_y.spines["bottom"].set_visible(False)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        # the axis says the scale of the estimates (a subset's pooled estimate each)
        ax.set_xlabel(scale_label(measure, unit, log_values=True) if measure
                      else "Pooled estimate of the subset")
        ax.set_ylabel("I² (%)")
        # the legend in the corner above the I² density, clear of the points
        legend = fig.legend(loc="upper left", bbox_to_anchor=(0.75, top), fontsize=FONT_SIZE - 1,
                            frameon=False, markerscale=3 / max(size, 0.5) ** 0.5,
                            handletextpad=0.2, borderaxespad=0.0)
        for text in legend.get_texts():  # never mathtext
            text.set_parse_math(False)
        for i, line in enumerate(note):
            fig.text(0.02, 0.015 + 0.03 * (len(note) - 1 - i), line, fontsize=FONT_SIZE - 1,
                     ha="left", va="bottom", parse_math=False)
        if title:
            fig.text(0.02, 0.97, title, ha="left", va="top", fontsize=FONT_SIZE + 1,
                     fontweight="bold", parse_math=False)
    return FigureResult(fig, data, "gosh", {"highlight": labels[highlight], "n_subsets": int(n)})
