"""Cumulative forest plot: the pooled estimate after each study is added, as metafor's ``forest.cumul.rma``."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from scimeta.plotting._common import LOG_MEASURES, FigureResult, fmt_num, new_figure, scale_label
from scimeta.plotting.style import COLORS, FONT_SIZE, figure_context

__all__ = ["cumulative_forest_plot"]

ROW_HEIGHT_IN = 0.22


def cumulative_forest_plot(
    table: pd.DataFrame,
    *,
    labels=None,
    measure: str | None = None,
    unit: str | None = None,
    order_label: str | None = None,
    title: str | None = None,
    decimals: int = 2,
    max_rows: int | None = None,
) -> FigureResult:
    """One row per step of a cumulative meta-analysis: estimate and CI so far.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`scimeta.cumulative.cumulative` (``step``,
        ``study_id``, ``order_value``, ``k``, ``estimate``, ``ci_low``,
        ``ci_high``); rows without a step (no order value) are not drawn.
    labels : sequence of str, optional
        Row labels for the drawn steps (default ``"+ <study_id>"``).
    measure : str, optional
        Names the axis; ROM is drawn as ratios on a log axis.
    unit : str, optional
        The outcome's unit, on the axis of a raw difference (MD, MC).
    order_label : str, optional
        Header of the order column (e.g. ``Year``); default ``Order``.
    title : str, optional
    decimals : int
        Decimals of the estimate column.
    max_rows : int, optional
        Most steps drawn: with more, evenly spaced steps are drawn (the first
        and the last always), a line under the axis says so, and the figure's
        height no longer grows with k; ``data`` still lists every step
        (``drawn`` False for those not drawn).

    Returns
    -------
    FigureResult
        ``data``: one row per step (``step``, ``label``, ``order_value``,
        ``k``, ``estimate``, ``ci_low``, ``ci_high``, ``drawn``) on the drawn scale.
    """
    need = ("step", "study_id", "order_value", "k", "estimate", "ci_low", "ci_high")
    missing = [c for c in need if c not in table]
    if missing:
        raise ValueError(f"cumulative table: missing column(s) {', '.join(missing)}")
    rows = table[table["step"].notna()].reset_index(drop=True)
    n = len(rows)
    if labels is None:
        labels = [f"+ {s}" for s in rows["study_id"].astype(str)]
    labels = [str(x) for x in labels]
    if len(labels) != n:
        raise ValueError(f"labels has {len(labels)} entries for {n} steps")
    log = (measure or "") in LOG_MEASURES
    tr = np.exp if log else (lambda a: np.asarray(a, float))
    est, lo, hi = (tr(rows[c].to_numpy(float)) for c in ("estimate", "ci_low", "ci_high"))
    data = pd.DataFrame(
        {
            "step": rows["step"].to_numpy(),
            "label": labels,
            "order_value": rows["order_value"].to_numpy(),
            "k": rows["k"].to_numpy(),
            "estimate": est,
            "ci_low": lo,
            "ci_high": hi,
        }
    )
    n_all = n
    shown = np.arange(n)
    if max_rows is not None and n > int(max_rows):
        shown = np.unique(np.round(np.linspace(0, n - 1, max(2, int(max_rows)))).astype(int))
    data["drawn"] = np.isin(np.arange(n), shown)
    labels = [labels[i] for i in shown]
    est, lo, hi = est[shown], lo[shown], hi[shown]
    drawn = data.iloc[shown]
    n = len(shown)
    thinned = n < n_all
    height = 0.9 + ROW_HEIGHT_IN * max(n, 1) + (0.25 if title else 0.0) + (0.25 if thinned else 0.0)
    with figure_context():
        fig = new_figure(7.0, height)
        top_in = 0.35 + (0.25 if title else 0.0)
        bottom_in = 0.55 + (0.25 if thinned else 0.0)
        ax = fig.add_axes((0.42, bottom_in / height, 0.33, 1.0 - (bottom_in + top_in) / height))
        y = np.arange(n, 0, -1, dtype=float)
        finite = np.isfinite(est)
        ax.hlines(y[finite], lo[finite], hi[finite], color=COLORS["study"], lw=1.0, gid="ci")
        ax.plot(est[finite], y[finite], "D", ms=4.0, color=COLORS["pool"], gid="estimate", ls="none")
        if log:
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
        null = 1.0 if log else 0.0
        ax.axvline(null, color=COLORS["null"], lw=0.6, zorder=0.5, gid="null-line")
        ax.set_ylim(0.4, n + 0.6)
        ax.set_yticks([])
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.set_xlabel(scale_label(measure, unit))
        header_y = n + 0.9
        trans = ax.get_yaxis_transform()
        fig_x = lambda x: (x - 0.42) / 0.33  # figure fraction -> axes fraction  # noqa: E731
        ax.text(fig_x(0.02), header_y, "Study added", transform=trans, ha="left", va="bottom",
                fontweight="bold", parse_math=False, clip_on=False)
        ax.text(fig_x(0.27), header_y, order_label or "Order", transform=trans, ha="left", va="bottom",
                fontweight="bold", parse_math=False, clip_on=False)
        ax.text(fig_x(0.395), header_y, "k", transform=trans, ha="right", va="bottom",
                fontweight="bold", parse_math=False, clip_on=False)
        level = float(rows["level"].iloc[0]) if n and "level" in rows else 0.95
        ax.text(fig_x(0.98), header_y, f"Estimate [{level:.0%} CI]", transform=trans, ha="right", va="bottom", fontweight="bold", parse_math=False, clip_on=False)
        for yi, lab, ov, kk, e, a, b in zip(y, labels, drawn["order_value"], drawn["k"], est, lo, hi):
            ax.text(fig_x(0.02), yi, lab, transform=trans, ha="left", va="center", parse_math=False,
                    clip_on=False, fontsize=FONT_SIZE)
            ax.text(fig_x(0.27), yi, "" if pd.isna(ov) else str(ov), transform=trans, ha="left",
                    va="center", parse_math=False, clip_on=False)
            ax.text(fig_x(0.395), yi, "" if pd.isna(kk) else str(int(kk)), transform=trans, ha="right",
                    va="center", parse_math=False, clip_on=False)
            text = (f"{fmt_num(e, decimals)} [{fmt_num(a, decimals)}, {fmt_num(b, decimals)}]"
                    if np.isfinite(a) and np.isfinite(b) else fmt_num(e, decimals)) if np.isfinite(e) else ""
            ax.text(fig_x(0.98), yi, text, transform=trans, ha="right", va="center", parse_math=False,
                    clip_on=False)
        if title:
            fig.text(0.02, 1.0 - 0.08 / height, title, ha="left", va="top", fontsize=FONT_SIZE + 1,
                     fontweight="bold", parse_math=False)
        if thinned:
            fig.text(0.02, 0.12 / height, f"{n} of {n_all} steps drawn, evenly spaced (the first "
                     "and the last included); every step is in the table.", ha="left",
                     va="bottom", fontsize=FONT_SIZE - 1, parse_math=False)
    return FigureResult(fig, data, "cumulative", {"measure": measure, "n_steps": n_all})
