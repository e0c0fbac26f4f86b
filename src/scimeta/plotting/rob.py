"""Risk-of-bias figures: the traffic-light plot and the (weighted) summary bar plot.

The two figures robvis draws (McGuinness & Higgins 2021,
doi:10.1002/jrsm.1411), from the judgements of :mod:`scimeta.rob`. Studies
assessed with different tools (RoB 2, ROBINS-I, JBI) are drawn in one
section per tool, each with its own domains. Colours follow robvis and every
judgement also has a symbol, so the figures read in grey scale too.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib.patches import Circle, Rectangle

from scimeta.plotting._common import FigureResult, new_figure, wrap_inches
from scimeta.plotting.style import FONT_SIZE, MIN_FONT_PT, families_for, figure_context
from scimeta.rob import DARK_RED, JUDGEMENT_STYLE

__all__ = ["JUDGEMENT_STYLE", "traffic_light_plot", "rob_summary_plot", "rob_dots",
           "placeholder_plot"]

_TOOL_ORDER = ("rob2", "robins_i", "jbi_case_series")

# layout of the traffic-light plot, in inches
_LABEL_W = 1.7
_CELL = 0.3
_ROW = 0.3
_PAD = 0.15


def _labels(studies: pd.DataFrame) -> dict:
    """``Surname Year`` of each study, as forest plots label them (study_id without author)."""
    from scimeta.compare import study_label

    return {str(r["study_id"]): (study_label(r.get("author", ""), r.get("year", ""))
                                 if str(r.get("author", "") or "").strip() else str(r["study_id"]))
            for _, r in studies.iterrows()}


def _legend_text(tool) -> list[str]:
    keys = [f"{d}: {label}" for d, label in tool.domains]
    return textwrap.wrap("; ".join(keys), 118)


def _dot(ax, x, y, judgement, radius=0.115):
    color, symbol = JUDGEMENT_STYLE[judgement]
    ax.add_patch(Circle((x, y), radius, facecolor=color, edgecolor="#4d4d4d",
                        lw=0.5 if radius >= 0.09 else 0.35))
    # the symbol fills the dot: full size on the risk-of-bias figures, smaller in a forest column
    size = FONT_SIZE + 1 if radius >= 0.09 else max(MIN_FONT_PT, radius * 72 * 1.2)
    if symbol:
        ax.text(x, y, symbol, ha="center", va="center_baseline", fontsize=size,
                color="white" if color == DARK_RED else "black", fontweight="bold",
                parse_math=False)


def rob_dots(ax, dots: pd.DataFrame, x: float, y: float, *, cell: float = _CELL,
             radius: float = 0.115, overall_gap: float = 0.08) -> float:
    """Draw one study's risk-of-bias dots in a row, for a column on another figure.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Axes whose data units are inches (as the forest plot's layout is),
        y increasing downwards or upwards alike.
    dots : pandas.DataFrame
        The rows of :func:`scimeta.rob.forest_rob_data` for one study
        (``position``, ``domain``, ``judgement``).
    x, y : float
        Centre of the first dot.
    cell, radius, overall_gap : float
        Distance between dot centres, dot radius, extra space before the
        ``overall`` dot (inches).

    Returns
    -------
    float
        The x of the right edge of the last dot (where the next column may start).
    """
    right = x
    for _, d in dots.sort_values("position").iterrows():
        cx = x + int(d["position"]) * cell + (overall_gap if d["domain"] == "overall" else 0.0)
        _dot(ax, cx, y, d["judgement"], radius=radius)
        right = cx + radius
    return right


def traffic_light_plot(judgements: pd.DataFrame, studies: pd.DataFrame, *,
                       title: str | None = None) -> FigureResult:
    """Every judgement of every assessed study as a grid of coloured dots.

    Parameters
    ----------
    judgements : pandas.DataFrame
        :func:`scimeta.rob.judgements_long` (one row per study × domain,
        overall last; JBI overall derived).
    studies : pandas.DataFrame
        The studies sheet (labels ``Author Year`` and the row order).
    title : str, optional

    Returns
    -------
    FigureResult
        ``kind = 'rob_traffic_light'``; ``data``: one row per dot (``tool,
        study_id, label, domain, judgement, color, symbol``).
    """
    from scimeta.rob import TOOLS

    labels = _labels(studies)
    order = [str(s) for s in studies["study_id"]]
    sections = []
    for key in _TOOL_ORDER:
        rows = judgements[judgements["tool"] == key]
        if rows.empty:
            continue
        ids = [s for s in order if s in set(rows["study_id"])]
        sections.append((TOOLS[key], ids, rows))
    if not sections:
        raise ValueError("traffic_light_plot: no study has risk-of-bias judgements")
    width = _LABEL_W + _CELL * (max(len(t.domains) for t, _, _ in sections) + 1) + 2 * _PAD
    width = max(width, 6.3)
    height = 2 * _PAD + (0.32 if title else 0)
    for tool, ids, _ in sections:
        height += 0.28 + 0.3 + _ROW * len(ids) + 0.16 * len(_legend_text(tool)) + 0.2
    keys = [("Low / yes", "low"), ("Some concerns / moderate", "some concerns"),
            ("Unclear", "unclear"), ("High / serious / no", "high"),
            ("Critical", "critical"), ("No information", "no information"),
            ("Not applicable", "not applicable")]
    height += 0.35
    width = max(width, _PAD + sum(0.45 + 0.055 * len(text) for text, _ in keys))
    texts = [labels.get(s, s) for s in order] + [title or ""]
    data = []
    with figure_context(families_for(texts)):
        fig = new_figure(width, height)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, width)
        ax.set_ylim(height, 0)
        ax.set_axis_off()
        y = _PAD
        if title:
            ax.text(_PAD, y + 0.12, title, fontsize=FONT_SIZE + 2, fontweight="bold",
                    va="center", parse_math=False)
            y += 0.32
        for tool, ids, rows in sections:
            ax.text(_PAD, y + 0.12, f"{tool.name}", fontsize=FONT_SIZE + 1, fontweight="bold",
                    va="center", parse_math=False)
            y += 0.28
            cols = list(tool.domain_ids) + ["overall"]
            x0 = _PAD + _LABEL_W + _CELL / 2
            for j, d in enumerate(cols):
                ax.text(x0 + j * _CELL + (0.08 if d == "overall" else 0), y + 0.15,
                        "Overall" if d == "overall" else d, ha="center", va="center",
                        fontsize=FONT_SIZE, fontweight="bold" if d == "overall" else "normal",
                        rotation=0, parse_math=False)
            y += 0.3
            ax.add_patch(Rectangle((_PAD + _LABEL_W, y), _CELL * len(cols) + 0.16,
                                   _ROW * len(ids), facecolor="#f5f5f5", edgecolor="#bdbdbd",
                                   lw=0.5))
            for sid in ids:
                cy = y + _ROW / 2
                ax.text(_PAD, cy, labels.get(sid, sid), va="center", fontsize=FONT_SIZE,
                        parse_math=False)
                got = rows[rows["study_id"] == sid].set_index("domain")
                for j, d in enumerate(cols):
                    judgement = got.at[d, "judgement"] if d in got.index else "not assessed"
                    cx = x0 + j * _CELL + (0.08 if d == "overall" else 0)
                    _dot(ax, cx, cy, judgement)
                    color, symbol = JUDGEMENT_STYLE[judgement]
                    data.append({"tool": tool.key, "study_id": sid, "label": labels.get(sid, sid),
                                 "domain": d, "judgement": judgement, "color": color,
                                 "symbol": symbol})
                y += _ROW
            y += 0.06
            for line in _legend_text(tool):
                ax.text(_PAD, y + 0.08, line, fontsize=FONT_SIZE - 1, va="center",
                        color="#333333", parse_math=False)
                y += 0.16
            y += 0.2
        x = _PAD
        used = {row["judgement"] for row in data}
        for text, judgement in keys:
            if not (used & _same_colour(judgement)):
                continue
            _dot(ax, x + 0.1, y + 0.12, judgement, radius=0.09)
            ax.text(x + 0.25, y + 0.12, text, va="center", fontsize=FONT_SIZE - 0.5,
                    parse_math=False)
            x += 0.45 + 0.055 * len(text)
    return FigureResult(fig, pd.DataFrame(data), "rob_traffic_light")


def _same_colour(judgement: str) -> set:
    """The judgements drawn like ``judgement`` (one legend key for each)."""
    style = JUDGEMENT_STYLE[judgement]
    return {j for j, s in JUDGEMENT_STYLE.items() if s[0] == style[0]
            and (judgement != "unclear" or j == "unclear")
            and (judgement == "unclear" or j != "unclear")}


def rob_summary_plot(judgements: pd.DataFrame, *, weights: dict | None = None,
                     weight_label: str | None = None, title: str | None = None) -> FigureResult:
    r"""Share of studies (or of weight) at each judgement, per domain: robvis's summary plot.

    Parameters
    ----------
    judgements : pandas.DataFrame
        :func:`scimeta.rob.judgements_long`.
    weights : dict, optional
        ``study_id`` → weight (e.g. :func:`scimeta.grade.pool_weights` of one
        pool). Each bar then shows the share of the total weight,
        :math:`\sum_{i:\,j_i = j} w_i / \sum_i w_i`; studies without a weight
        are left out (and listed in ``data`` with ``in_summary = False``).
        Without weights every study counts once.
    weight_label : str, optional
        What the weights are, for the axis title (e.g. the pool).
    title : str, optional

    Returns
    -------
    FigureResult
        ``kind = 'rob_summary'``; ``data``: one row per tool × domain ×
        judgement (``share`` in %, ``studies`` the count, ``weight`` the sum).
    """
    from scimeta.rob import COMMON_SCALE, TO_COMMON, TOOLS

    frame = judgements.copy()
    if weights is not None:
        frame["weight"] = frame["study_id"].map(lambda s: float(weights.get(s, np.nan)))
    else:
        frame["weight"] = 1.0
    used = frame[np.isfinite(frame["weight"]) & (frame["weight"] > 0)]
    left_out = sorted(set(frame["study_id"]) - set(used["study_id"]))
    tools = [TOOLS[k] for k in _TOOL_ORDER if k in set(used["tool"])]
    if not tools:
        raise ValueError("rob_summary_plot: no assessed study has a weight")
    records = []
    for tool in tools:
        rows = used[used["tool"] == tool.key]
        for d in list(tool.domain_ids) + ["overall"]:
            dom = rows[rows["domain"] == d]
            total = dom["weight"].sum()
            judgements_d = (tool.overall_judgements if d == "overall" else tool.judgements)
            for j in judgements_d:
                hit = dom[dom["judgement"] == j]
                records.append({"tool": tool.key, "domain": d,
                                "domain_label": tool.label(d), "judgement": j,
                                "share": 100.0 * hit["weight"].sum() / total if total else 0.0,
                                "studies": int(len(hit)), "weight": float(hit["weight"].sum()),
                                "in_summary": True})
    if len(tools) > 1:
        common = used[used["domain"] == "overall"].assign(
            judgement=lambda f: [TO_COMMON[t][j] for t, j in zip(f["tool"], f["judgement"])])
        total = common["weight"].sum()
        for j in COMMON_SCALE:
            hit = common[common["judgement"] == j]
            records.append({"tool": "all", "domain": "overall",
                            "domain_label": "Overall, all tools", "judgement": j,
                            "share": 100.0 * hit["weight"].sum() / total,
                            "studies": int(len(hit)), "weight": float(hit["weight"].sum()),
                            "in_summary": True})
    for sid in left_out:
        records.append({"tool": "", "domain": "", "domain_label": sid, "judgement": "",
                        "share": np.nan, "studies": 0, "weight": np.nan, "in_summary": False})
    data = pd.DataFrame(records)
    pool_total = used.loc[used["domain"] == "overall", "weight"].sum()
    bar_h, gap = 0.24, 0.34
    n_bars = sum(len(t.domains) + 1 for t in tools)
    sections = [(t.key, t.name, list(t.domain_ids) + ["overall"]) for t in tools]
    if len(tools) > 1:
        sections.append(("all", "All tools, overall judgement on one scale", ["overall"]))
        n_bars += 1
    width = 7.0
    label_w = 2.9
    what = (f"Share of weight ({weight_label})" if weights is not None and weight_label
            else "Share of weight" if weights is not None else "Share of studies")
    # the axis title centred under the bars, in lines that stay inside the figure
    x0, x1 = label_w + 0.1, width - 0.3
    what_lines = wrap_inches(what, 2 * (width - 0.15 - (x0 + x1) / 2), FONT_SIZE)
    height = (0.55 + (0.3 if title else 0) + 0.35 * len(sections) + n_bars * gap + 0.45
              + 0.18 * (len(what_lines) - 1) + (0.3 if left_out and weights is not None else 0))
    texts = [title or "", weight_label or ""] + left_out
    with figure_context(families_for(texts)):
        fig = new_figure(width, height)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, width)
        ax.set_ylim(height, 0)
        ax.set_axis_off()
        x0, x1 = label_w + 0.1, width - 0.3
        y = 0.15
        if title:
            ax.text(0.15, y + 0.12, title, fontsize=FONT_SIZE + 2, fontweight="bold",
                    va="center", parse_math=False)
            y += 0.3
        for key, tool_name, domains in sections:
            ids = used["study_id"] if key == "all" else used.loc[used["tool"] == key, "study_id"]
            n_st = ids.nunique()
            heading = f"{tool_name} ({n_st} {'study' if n_st == 1 else 'studies'}"
            if weights is not None and key != "all":
                share = 100 * used.loc[(used["tool"] == key) & (used["domain"] == "overall"),
                                       "weight"].sum() / pool_total
                heading += f", {share:.0f}% of the weight"
            heading += ")"
            ax.text(0.15, y + 0.12, heading,
                    fontsize=FONT_SIZE + 1, fontweight="bold", va="center", parse_math=False)
            y += 0.3
            for d in domains:
                part = data[(data["tool"] == key) & (data["domain"] == d)]
                name = ("Overall" if d == "overall" else
                        f"{d} {TOOLS[key].label(d)}")
                ax.text(label_w, y + gap / 2, name, ha="right", va="center",
                        fontsize=FONT_SIZE, fontweight="bold" if d == "overall" else "normal",
                        parse_math=False)
                left = x0
                for _, r in part.iterrows():
                    w = (x1 - x0) * r["share"] / 100.0
                    if w <= 0:
                        continue
                    color, symbol = JUDGEMENT_STYLE[r["judgement"]]
                    ax.add_patch(Rectangle((left, y + (gap - bar_h) / 2), w, bar_h,
                                           facecolor=color, edgecolor="white", lw=0.6))
                    if w > 0.3:
                        ax.text(left + w / 2, y + gap / 2, symbol, ha="center",
                                va="center_baseline", fontsize=FONT_SIZE,
                                color="white" if color == DARK_RED else "black",
                                fontweight="bold", parse_math=False)
                    left += w
                y += gap
            y += 0.05
        # axis: 0..100 %
        ax.plot([x0, x1], [y, y], color="black", lw=0.6)
        for pct in (0, 25, 50, 75, 100):
            xx = x0 + (x1 - x0) * pct / 100
            ax.plot([xx, xx], [y, y + 0.05], color="black", lw=0.6)
            ax.text(xx, y + 0.14, f"{pct}%", ha="center", va="center", fontsize=FONT_SIZE - 0.5)
        for i, line in enumerate(what_lines):
            ax.text((x0 + x1) / 2, y + 0.34 + 0.18 * i, line, ha="center", va="center",
                    fontsize=FONT_SIZE, parse_math=False)
        y += 0.18 * (len(what_lines) - 1)
        key_y = y + 0.62
        x = 0.15
        for text, judgement in (("Low / yes", "low"), ("Some concerns / moderate", "moderate"),
                                ("Unclear", "unclear"), ("High / serious / no", "high"),
                                ("Critical", "critical"), ("No information", "no information"),
                                ("Not applicable", "not applicable")):
            if not set(data.loc[data["share"] > 0, "judgement"]) & _same_colour(judgement):
                continue
            _dot(ax, x + 0.08, key_y, judgement, radius=0.075)
            ax.text(x + 0.2, key_y, text, va="center", fontsize=FONT_SIZE - 1, parse_math=False)
            x += 0.38 + 0.05 * len(text)
        if left_out and weights is not None:
            ax.text(0.15, key_y + 0.27, "Not in the pool (no weight): " + ", ".join(left_out),
                    fontsize=FONT_SIZE - 1, va="center", color="#333333", parse_math=False)
    return FigureResult(fig, data, "rob_summary", {"weighted": weights is not None})


def placeholder_plot(title: str, message: str) -> FigureResult:
    """A figure that says why the figure of its name could not be drawn.

    Returns
    -------
    FigureResult
        ``kind = 'placeholder'``; ``data``: one row (``title, message``).
    """
    lines = textwrap.wrap(message, 100) or [""]
    height = 0.35 + 0.3 + 0.2 * len(lines) + 0.15
    with figure_context(families_for([title, message])):
        fig = new_figure(7.0, height)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, 7.0)
        ax.set_ylim(height, 0)
        ax.set_axis_off()
        ax.text(0.15, 0.3, title, fontsize=FONT_SIZE + 1, fontweight="bold", va="center",
                parse_math=False)
        for i, line in enumerate(lines):
            ax.text(0.15, 0.65 + 0.2 * i, line, fontsize=FONT_SIZE, va="center",
                    color="#333333", parse_math=False)
    return FigureResult(fig, pd.DataFrame([{"title": title, "message": message}]),
                        "placeholder")
