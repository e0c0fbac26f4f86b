"""The PRISMA 2020 flow diagram (Page et al. 2021, doi:10.1136/bmj.n71).

Drawn from the counts of :func:`scimeta.prisma.prisma_counts`, in the
one-column form of the PRISMA 2020 template (identification, screening,
included), with an optional panel giving the published participant flow of
included studies (:func:`scimeta.prisma.participant_flow`).
"""

from __future__ import annotations

import textwrap

import pandas as pd
from matplotlib.patches import FancyArrowPatch, Rectangle

from scimeta.plotting._common import FigureResult, new_figure
from scimeta.plotting.style import FONT_SIZE, families_for, figure_context

__all__ = ["prisma_flow_diagram"]

_PHASE = "#c9daf8"
_HEADER = "#fce8b2"
_LINE_H = 0.165
_W_MAIN, _W_SIDE = 2.9, 2.9
_X_PHASE, _X_MAIN = 0.15, 0.6
_X_SIDE = _X_MAIN + _W_MAIN + 0.45
_WIDTH = _X_SIDE + _W_SIDE + 0.15


def _n(value) -> str:
    return f"(n = {int(value)})"


def _box(ax, x, y, w, lines, *, bold_first=False, face="white"):
    h = _LINE_H * len(lines) + 0.14
    ax.add_patch(Rectangle((x, y), w, h, facecolor=face, edgecolor="black", lw=0.7))
    for i, line in enumerate(lines):
        indent = 0.06 * (len(line) - len(line.lstrip(" ")))
        ax.text(x + 0.08 + indent, y + 0.07 + _LINE_H * (i + 0.5), line.strip(), va="center",
                ha="left", fontsize=FONT_SIZE,
                fontweight="bold" if bold_first and i == 0 else "normal", parse_math=False)
    return h


def _arrow(ax, start, end):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=9, lw=0.8,
                                 color="black", shrinkA=0, shrinkB=0))


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width) or [""]


def prisma_flow_diagram(counts: dict, *, participants: pd.DataFrame | None = None,
                        labels: dict | None = None, note: str = "",
                        title: str | None = None) -> FigureResult:
    """Draw the PRISMA 2020 flow diagram.

    Parameters
    ----------
    counts : dict
        :func:`scimeta.prisma.prisma_counts` of a config block that passed
        :func:`scimeta.prisma.validate_prisma`.
    participants : pandas.DataFrame, optional
        :func:`scimeta.prisma.participant_flow`: drawn as a panel under the
        diagram, one line per study.
    labels : dict, optional
        ``study_id`` → label (``Author Year``) for that panel.
    note : str
        Printed under the diagram (e.g. what is illustrative).
    title : str, optional

    Returns
    -------
    FigureResult
        ``kind = 'prisma'``; ``data``: one row per number drawn (``box``,
        ``item``, ``n``).
    """
    labels = labels or {}
    c = counts
    data = []

    def rec(box, item, n):
        data.append({"box": box, "item": item, "n": int(n)})

    ident = ["Records identified from:"]
    for key, name in (("databases", "Databases"), ("registers", "Registers"),
                      ("other", "Other sources")):
        sources = c["identified"][key]
        if not sources and key == "other":
            continue
        ident.append(f"  {name} {_n(c[f'identified_{key}'])}")
        rec("identified", name, c[f"identified_{key}"])
        for source, n in sources.items():
            for j, part in enumerate(_wrap(f"{source} {_n(n)}", 40)):
                ident.append(("      " if j else "    ") + part)
            rec("identified", f"{name}: {source}", n)
    removed = ["Records removed before screening:",
               f"  Duplicate records {_n(c['duplicates_removed'])}",
               f"  Removed for other reasons {_n(c['other_removed'])}"]
    rec("removed", "duplicates", c["duplicates_removed"])
    rec("removed", "other reasons", c["other_removed"])
    excluded = [f"Reports excluded {_n(c['excluded_total'])}"]
    for reason, n in c["excluded_reasons"].items():
        excluded += ["  " + part for part in _wrap(f"{reason} {_n(n)}", 40)]
        rec("excluded_reasons", reason, n)
    rows = [
        (ident, removed, "Identification"),
        ([f"Records screened {_n(c['screened'])}"],
         [f"Records excluded {_n(c['excluded_screening'])}"], "Screening"),
        ([f"Reports sought for retrieval {_n(c['sought'])}"],
         [f"Reports not retrieved {_n(c['not_retrieved'])}"], "Screening"),
        ([f"Reports assessed for eligibility {_n(c['assessed'])}"], excluded, "Screening"),
        ([f"Studies included in review {_n(c['studies_included'])}",
          f"Reports of included studies {_n(c['reports_included'])}"], None, "Included"),
    ]
    for box, item, key in (("screened", "records", "screened"),
                           ("excluded_screening", "records", "excluded_screening"),
                           ("sought", "reports", "sought"),
                           ("not_retrieved", "reports", "not_retrieved"),
                           ("assessed", "reports", "assessed"),
                           ("included", "studies", "studies_included"),
                           ("included", "reports", "reports_included")):
        rec(box, item, c[key])
    flow_lines = []
    if participants is not None and len(participants):
        for _, p in participants.iterrows():
            parts = []
            if pd.notna(p["screened"]):
                parts.append(f"{int(p['screened'])} screened")
            if pd.notna(p["excluded"]):
                why = f" ({p['excluded_reason']})" if p["excluded_reason"] else ""
                parts.append(f"{int(p['excluded'])} excluded{why}")
            parts.append(f"{int(p['included'])} included")
            text = f"{labels.get(p['study_id'], p['study_id'])}: " + " \u2192 ".join(parts)
            if p["note"]:
                text += f"; {p['note']}"
            flow_lines += _wrap(text, 105)
            for col in ("screened", "excluded", "included"):
                if pd.notna(p[col]):
                    rec("participants", f"{p['study_id']}: {col}", p[col])
    note_lines = _wrap(note, 110) if note else []
    heights = [max(_LINE_H * max(len(m), len(s or [])) + 0.14, 0.38) for m, s, _ in rows]
    heights[-1] = max(heights[-1], 0.72)  # room for the phase label "Included"
    gap = 0.3
    top = 0.15 + (0.32 if title else 0)
    header_h = 0.34
    height = (top + header_h + 0.2 + sum(heights) + gap * (len(rows) - 1) + 0.2
              + (0.3 + _LINE_H * len(flow_lines) + 0.14 if flow_lines else 0)
              + (0.1 + _LINE_H * len(note_lines) if note_lines else 0) + 0.1)
    texts = ident + excluded + flow_lines + note_lines + [title or ""]
    with figure_context(families_for(texts)):
        fig = new_figure(_WIDTH, height)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, _WIDTH)
        ax.set_ylim(height, 0)
        ax.set_axis_off()
        y = 0.15
        if title:
            ax.text(_X_PHASE, y + 0.12, title, fontsize=FONT_SIZE + 2, fontweight="bold",
                    va="center", parse_math=False)
            y += 0.32
        ax.add_patch(Rectangle((_X_MAIN, y), _X_SIDE + _W_SIDE - _X_MAIN, header_h,
                               facecolor=_HEADER, edgecolor="black", lw=0.7))
        ax.text((_X_MAIN + _X_SIDE + _W_SIDE) / 2, y + header_h / 2,
                "Identification of studies via databases, registers and other sources",
                ha="center", va="center", fontsize=FONT_SIZE + 0.5, fontweight="bold")
        y += header_h + 0.2
        phase_spans: dict[str, list[float]] = {}
        previous_bottom = None
        for (main, side, phase), h in zip(rows, heights):
            h_main = _box(ax, _X_MAIN, y, _W_MAIN, main + [""] * 0)
            ax.patches[-1].set_height(h)
            for t in ax.texts[-len(main):]:
                t.set_y(t.get_position()[1] + (h - h_main) / 2)
            if side:
                h_side = _box(ax, _X_SIDE, y, _W_SIDE, side)
                ax.patches[-1].set_height(h)
                for t in ax.texts[-len(side):]:
                    t.set_y(t.get_position()[1] + (h - h_side) / 2)
                _arrow(ax, (_X_MAIN + _W_MAIN, y + h / 2), (_X_SIDE, y + h / 2))
            if previous_bottom is not None:
                _arrow(ax, (_X_MAIN + _W_MAIN / 2, previous_bottom), (_X_MAIN + _W_MAIN / 2, y))
            span = phase_spans.setdefault(phase, [y, y + h])
            span[1] = y + h
            previous_bottom = y + h
            y += h + gap
        for phase, (y0, y1) in phase_spans.items():
            ax.add_patch(Rectangle((_X_PHASE, y0), 0.3, y1 - y0, facecolor=_PHASE,
                                   edgecolor="black", lw=0.7))
            ax.text(_X_PHASE + 0.15, (y0 + y1) / 2, phase, rotation=90, ha="center",
                    va="center", fontsize=FONT_SIZE + 0.5, fontweight="bold")
        y += 0.2 - gap
        if flow_lines:
            ax.text(_X_PHASE, y + 0.12, "Participant flow of included studies (as published)",
                    fontsize=FONT_SIZE + 0.5, fontweight="bold", va="center")
            y += 0.3
            _box(ax, _X_PHASE, y, _WIDTH - 2 * _X_PHASE, flow_lines)
            y += _LINE_H * len(flow_lines) + 0.14
        if note_lines:
            y += 0.1
            for line in note_lines:
                ax.text(_X_PHASE, y + _LINE_H / 2, line, fontsize=FONT_SIZE - 0.5,
                        color="#333333", va="center", style="italic", parse_math=False)
                y += _LINE_H
    return FigureResult(fig, pd.DataFrame(data, columns=["box", "item", "n"]), "prisma")
