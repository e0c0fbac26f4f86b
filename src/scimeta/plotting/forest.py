"""Forest plots in a RevMan-like or a compact layout.

The figure is one table: text columns laid out in inches from the widths the
text actually takes (measured with the Agg renderer, so labels of any length
or script line up), and one plotting column whose x axis is the effect scale.
Rows are one unit high in that axis' y coordinates, so squares, whiskers and
diamonds sit exactly on their text rows.

Every drawn element carries a ``gid`` (``square-007``, ``ci-007``,
``diamond-overall``, ``diamond-subgroup-1``, ``prediction-interval``,
``null-line``, ``label-007``, ``effect-007`` ...), which ends up as the
element's ``id`` in SVG and makes the figure testable.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from matplotlib import transforms as mtransforms
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon, Rectangle
from matplotlib.ticker import MaxNLocator, NullLocator
from scimeta._dist import norm_ppf
from scimeta.membership import DESIGN_SHORT
from scimeta.pool import ADHOC_FLOOR_PROSE, ADHOC_FLOOR_TEXT, KNHA_CI_METHODS, SINGLE_STUDY_LABEL, adhoc_floored
from scimeta.safe import rst_text
from scimeta.settings import comparison_text, level_label, variable_label

from scimeta.plotting._common import (
    CI_NAMES,
    LOG_MEASURES,
    MEASURE_NAMES,
    RAW_MEASURES,
    TAU2_NAMES,
    FigureResult,
    decimals_for,
    fmt_num,
    fmt_p,
    new_figure,
    scale_label,
)
from scimeta.plotting.style import (
    COLORS,
    FONT_SIZE,
    MIN_FONT_PT,
    figure_context,
    families_for,
)

__all__ = ["forest_plot", "caption_forest", "LAYOUTS", "favours_labels"]

LAYOUTS = ("revman", "compact")

ROW_H = 0.18  # inches per table row
GAP = 0.14  # inches between columns
MARGIN = 0.12  # inches around the table
PLOT_W = {"revman": 2.3, "compact": 2.8}  # inches of the plotting column
#: A forest plot fits a journal's double column (180 mm): at most this wide, in inches.
MAX_WIDTH_IN = 7.0
#: The plotting column narrows to this (inches) before the type gets smaller.
MIN_PLOT_W = 1.2
#: The study labels wrap (at the smallest type) to no narrower than this, in inches.
MIN_LABEL_W = 1.0
#: Height of each further line of a wrapped study label, in rows.
LABEL_LINE = 0.5
#: Body text sizes tried, largest first, until the figure fits MAX_WIDTH_IN; the smaller
#: text (notes, tick labels) is half a point smaller, never below MIN_FONT_PT. Gaps between
#: columns shrink with the type.
BODY_SIZES = (FONT_SIZE, FONT_SIZE - 0.5, FONT_SIZE - 1.0, MIN_FONT_PT + 0.5, MIN_FONT_PT)
MAX_SQUARE = 0.78  # largest square side, as a fraction of the row height
MIN_SQUARE_PT = 1.5  # smallest square side, so a tiny weight stays visible
#: The largest square (MAX_SQUARE of a row) belongs to the heaviest study, or
#: to a weight of 10% if every study weighs less, so that 200 small studies
#: do not hide their intervals behind full-size squares.
SQUARE_REF_WEIGHT = 10.0
DIAMOND_HALF = 0.34  # diamond half height, rows
PI_HALF = 0.16  # prediction bar half height, rows

_NUMERIC = re.compile("^[0-9.,%\\[\\] \u2212+-]*$")
_DIGIT = re.compile("[0-9]")
TAU2_FLOOR = 1e-4  # smaller positive tau2 values are printed as "< 0.0001"
_REQUIRED_POOLED = ("comparison", "measure", "subgroup_var", "subgroup", "estimate", "ci_low",
                    "ci_high")
_REQUIRED = ("study_id", "comparison", "measure", "yi", "vi")
#: Footnote marks of rows whose numbers are not per-arm final values (``effect_method``).
METHOD_MARKS = {
    "reported_difference": ("\u2021", "between-arm difference as reported (no per-arm "
                                       "means and SDs)"),
    "change_values": ("\u00a7", "change from baseline in each arm (change scores)"),
}
_ASSUMED_R = "assumed"


@dataclass
class _Col:
    key: str
    header: tuple[str, str]  # (upper line, lower line)
    align: str  # 'left' | 'right' | 'center'
    group: str = ""
    width: float = 0.0
    x: float = 0.0  # left edge, inches

    @property
    def anchor(self) -> float:
        return {"left": self.x, "right": self.x + self.width, "center": self.x + self.width / 2}[
            self.align
        ]


@dataclass
class _Row:
    kind: str  # title, section, study, pool, pi, note, summary, blank, data (not drawn)
    cells: dict = field(default_factory=dict)
    bold: bool = False
    span: str = ""  # text of a note row (spans the table left of the plot)
    record: dict = field(default_factory=dict)  # numbers drawn on this row
    h: float = 1.0  # height in rows
    y: float = 0.0  # top, in rows


@dataclass(frozen=True)
class _Type:
    """The type sizes (pt) of one forest plot, from its body size."""

    body: float = FONT_SIZE

    @property
    def small(self) -> float:  # heterogeneity and footer lines, tick labels
        return max(MIN_FONT_PT, self.body - 0.5)

    @property
    def title(self) -> float:
        return self.body + 1

    @property
    def sizes(self) -> tuple[float, ...]:
        return (self.body, self.small, self.title)


#: Widths measured so far in this process, by (font families, text, bold, size): a plot laid
#: out at several type sizes, and the plots after it, measure each string once.
_WIDTHS: dict[tuple, float] = {}


class _Measurer:
    """Width of a string in inches, measured with the Agg renderer (cached in :data:`_WIDTHS`)."""

    _renderer = None

    def __init__(self, families, type_: _Type = _Type()):
        self.type = type_
        self._families = tuple(families)

    def __call__(self, text: str, bold: bool = False, size: float | None = None) -> float:
        size = self.type.body if size is None else size
        if _NUMERIC.match(text):  # DejaVu digits are tabular: same shape, same width
            text = _DIGIT.sub("0", text)
        if not text:
            return 0.0
        key = (self._families, text, bold, size)
        if key not in _WIDTHS:
            if _Measurer._renderer is None:
                _Measurer._renderer = RendererAgg(1, 1, 72)
            props = FontProperties(family=list(self._families), size=size,
                                   weight="bold" if bold else "normal")
            w, _, _ = _Measurer._renderer.get_text_width_height_descent(text, props,
                                                                        ismath=False)
            _WIDTHS[key] = w / 72.0
        return _WIDTHS[key]


def _title(text: str) -> str:
    return text[:1].upper() + text[1:]


def favours_labels(comparison: str, higher_is_better, arms) -> tuple[str, str] | None:
    """``(left, right)`` labels under the axis, or None without a direction.

    Every measure here is group 1 minus (or over) group 2, with group 1 the
    treatment arm (``between_arms``) or the follow-up (``pre_post``); so a
    positive effect means group 1 scored higher. ``arms``: the outcome's
    ``arms`` config (names of ``treatment``, ``control``, ``baseline``,
    ``follow_up``; the schema's defaults filled in by validation).
    """
    if higher_is_better is None:
        return None
    names = arms
    if comparison == "pre_post":
        better, worse = f"Better than {names['baseline']}", f"Worse than {names['baseline']}"
    else:
        better, worse = f"Favours {names['treatment']}", f"Favours {names['control']}"
    return (worse, better) if bool(higher_is_better) else (better, worse)


def forest_plot(
    effects: pd.DataFrame,
    pooled: pd.DataFrame | None,
    *,
    outcome_cfg: dict,
    comparison: str,
    measure: str,
    outcome: str | None = None,
    subgroup_var: str | None = None,
    subgroup_tests: pd.DataFrame | None = None,
    layout: str,
    model: str = "random",
    tau2_method: str,
    ci_method: str,
    level: float,
    pi_min_k: int,
    title: str | None = None,
    xlim: tuple[float, float] | None = None,
    digits: int = 2,
    max_rows: int | None = None,
    total_rows: pd.DataFrame | None = None,
    skip_single_study_tests: bool = False,
    rob: pd.DataFrame | None = None,
    rob_note: str = "",
    subgroup_labels: dict | None = None,
    design_sections: bool = False,
    design_note: str = "",
) -> FigureResult:
    """Draw a forest plot of one outcome × comparison × measure.

    Parameters
    ----------
    effects : DataFrame
        Rows of ``effects.csv`` (at least ``study_id, comparison, measure, yi,
        vi``; ``label, n1, mean1, sd1, n2, mean2, sd2, r, r_source, ci_low,
        ci_high`` are used when present). Filtered here to ``comparison``,
        ``measure`` and ``outcome``. With ``subgroup_var``, a column of that
        name gives each row's subgroup.
    pooled : DataFrame or None
        Rows of ``pooled.csv``; the rows matching ``model``, ``tau2_method``
        and ``ci_method`` give the diamonds (``subgroup_var == 'overall'`` for
        the total, ``subgroup_var == <var>`` for subtotals). None: no diamonds.
    outcome_cfg : dict
        The outcome's config entry: ``label``, ``higher_is_better``
        (``favours`` labels; omitted if absent).
    comparison : {'between_arms', 'pre_post'}
    measure : str
        ``MD``, ``SMD``, ``ROM``, ``MC``, ``SMCR`` or ``SMCC``. ROM (a log
        ratio) is drawn exponentiated on a log axis.
    outcome : str, optional
        Outcome key; needed only when ``effects`` holds several outcomes.
    subgroup_var : str, optional
        Draw subgroup sections (header, studies, subtotal, heterogeneity).
    subgroup_tests : DataFrame, optional
        Rows of ``subgroup_tests.csv``; written as the footer line.
    layout : {'revman', 'compact'}
        ``revman``: study, per-arm mean/SD/n, weight, effect text, plot.
        ``compact``: study, plot, effect text, weight.
    model, tau2_method, ci_method, level, pi_min_k
        Which pool to draw, and what the footer says about it (the config's
        primary model and ``pi_min_k``: :class:`scimeta.settings.AnalysisSettings`).
    title : str, optional
        Bold line above the table.
    xlim : (float, float), optional
        Axis limits on the drawn scale (ratios for ROM); CIs beyond them end
        in arrows. Default: chosen from the data.
    digits : int
        Decimals of effects and CIs.
    max_rows : int, optional
        Most study rows a section (the plot, or each subgroup of it) draws. A
        section with more studies is a summary, as meta's
        ``forest(..., study.results = FALSE)``: its diamond, heterogeneity and
        tests, and a line saying how many studies it pools; every study's
        numbers stay in the data (``drawn = False``). Smaller sections show
        their studies. None: no limit. The figure's height then no longer
        grows with the number of studies.
    total_rows : DataFrame, optional
        With ``subgroup_var``: the rows the Total pools (the overall pool's
        members, e.g. whole-cohort rows where studies report a split). Their
        patients are the Total's N, and the figure says which rows the Total
        pools when they are not the subgroup rows drawn above it.
    skip_single_study_tests : bool
        A test for subgroup differences in which a subgroup is a single
        study is replaced by a line saying it is not shown (config
        ``figures.small_k: skip``); otherwise it is printed with a caution.
    rob : DataFrame, optional
        :func:`scimeta.rob.forest_rob_data` of the plotted studies: a
        risk-of-bias column of coloured dots per domain (robvis style,
        :func:`scimeta.plotting.rob.rob_dots`) right of the plot, the overall
        judgement last; the study rows' data get ``rob_overall``.
    rob_note : str
        A line for the footer (e.g. why risk of bias is not shown).
    subgroup_labels : dict, optional
        The config's ``subgroup_labels``: the display names of ``subgroup_var``
        and its levels in the section headers and the footer
        (:func:`scimeta.settings.variable_label`, :func:`scimeta.settings.level_label`);
        the data keep the levels as written.
    design_sections : bool
        The sections of ``subgroup_var`` are design strata, each a pool of its
        own (:func:`scimeta.membership.design_stratum`): no test for
        differences, no sentence on subgroups; weights add up to 100% within
        each design.
    design_note : str
        A line for the footer on how designs were pooled (the config's
        ``analysis.designs``). A column ``design`` of ``effects`` (the study's
        design) is drawn as the Design column, short names of
        :data:`scimeta.membership.DESIGN_SHORT`.

    Returns
    -------
    FigureResult
        The figure and one data row per drawn row (study, subtotal, total,
        prediction interval, subgroup test) with the numbers on the drawn
        scale; ``drawn`` is False for the study rows of a summary (see
        ``max_rows``). ``meta['summary']``: some section is a summary;
        ``meta['body_pt']``: the body text size; ``meta['rob_domains']``: the
        risk-of-bias column has a dot per domain (else each study's overall
        judgement only, where a dot per domain does not fit).

    The figure fits a journal's double column: at most :data:`MAX_WIDTH_IN`
    (180 mm) wide where it can, with no text smaller than
    :data:`~scimeta.plotting.style.MIN_FONT_PT` at that size. A table too wide
    first narrows its plotting column (to :data:`MIN_PLOT_W`), then shows each
    study's overall risk of bias instead of a dot per domain, then sets its
    text in the next smaller of :data:`BODY_SIZES`; only a table that is too
    wide even then (very long study labels) stays wider. A risk-of-bias
    column with a dot per domain names the domains of each tool below the plot.

    Notes
    -----
    Study weights are inverse-variance weights of the pool the study belongs
    to, :math:`w_i = 1/(v_i + \\hat\\tau^2)` (:math:`\\hat\\tau^2 = 0` for the
    common-effect model), in percent of that pool; in a subgroup plot they add
    up to 100 % within each subgroup. Square areas are proportional to the
    weights (sides of at least 1.5 pt); the largest square is that of the
    heaviest study, or of a 10 % weight when all weigh less. The prediction
    interval (bar) is drawn for the overall pool when ``pi_low``/``pi_high``
    are finite (``pooled.csv`` leaves them empty below ``pi_min_k``). A
    subgroup of one study shows that study's own row of ``pooled.csv``
    (model ``common``, k = 1) as its subtotal. A subgroup whose pool is
    marked ``in_test = False`` in ``pooled.csv`` (``mixed / not reported``)
    is drawn as an open diamond, labelled descriptive, outside the test.

    N is :func:`scimeta.membership.effect_patients` of each row (column
    ``n`` where the rows carry it, as :func:`scimeta.membership.pool_rows`
    gives them) and ``n`` of the pool's ``pooled.csv`` row for subtotals and
    the total, so the figure and the table count the same patients.

    With the outcome's ``scale`` (``[min, max]``), the axis of a raw
    difference (MD, MC) stays within ± (max − min): intervals (studies,
    diamonds, prediction interval) running beyond it end in arrows.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if model not in ("random", "common"):
        raise ValueError(f"model must be 'random' or 'common', got {model!r}")
    if max_rows is not None and (isinstance(max_rows, bool) or int(max_rows) != max_rows
                                 or max_rows < 1):
        raise ValueError(f"max_rows must be a positive integer or None, got {max_rows!r}")
    eff = _select_effects(effects, comparison, measure, outcome, subgroup_var, level)
    pools = _select_pools(pooled, eff, comparison, measure, model, tau2_method, ci_method)
    span = _scale_span(outcome_cfg, measure)
    log_scale = measure in LOG_MEASURES
    arms = outcome_cfg["arms"]
    fam_labels = favours_labels(comparison, outcome_cfg["higher_is_better"], arms)

    sections = _sections(eff, pools, subgroup_var)
    for sec in sections:
        if sec.level is not None:
            sec.name = level_label(subgroup_var, sec.level, subgroup_labels)
    var_name = variable_label(subgroup_var, subgroup_labels) if subgroup_var else ""
    collapsed = [_collapsed(sec, max_rows) for sec in sections]
    summary = any(collapsed)
    drawn_labels = [lab for sec, c in zip(sections, collapsed) if not c
                    for lab in sec.studies["label"]]
    texts = [*drawn_labels, title or ""]
    if subgroup_var is not None:
        texts += [var_name, *(sec.name for sec in sections)]
    families = families_for(texts)
    with figure_context(families):
        has_rob = rob is not None and len(rob) and not all(collapsed)

        def fit(type_: _Type, plot_w: float, rob_layout, label_w: float | None = None):
            """The table laid out in ``type_`` with a plotting column ``plot_w`` wide (and
            study labels wrapped to ``label_w`` inches)."""
            m = _Measurer(families, type_)
            cols = _columns(layout, comparison, measure, model, level, eff, arms,
                            rob=rob_layout is not None)
            rows, footer = _rows(
                sections, pools, cols, eff, comparison, measure, model, tau2_method,
                ci_method, level, digits, subgroup_var, subgroup_tests, outcome, title,
                log_scale, max_rows=max_rows, var_name=var_name, pi_min_k=pi_min_k,
                total_rows=total_rows,
                skip_single_study_tests=skip_single_study_tests, design_sections=design_sections,
            )
            if design_note:
                footer.insert(len(footer) - 1, design_note)
            if rob_layout is not None:
                footer += rob_layout["legend"]
            if rob_note:
                footer.append(rob_note)
            cols = [c for c in cols if c.key in ("plot", "rob")
                    or any(r.cells.get(c.key) for r in rows)]
            if label_w is not None:  # long study labels in lines, their rows taller
                for r in rows:
                    if r.kind == "study" and m(r.cells["label"]) > label_w:
                        lines = _wrap_words(r.cells["label"], label_w, m, type_.body)
                        r.cells["label"] = "\n".join(lines)
                        r.h = 1.0 + LABEL_LINE * (len(lines) - 1)
            for c in cols:  # one dot: the column is no wider than its header
                if c.key == "rob" and rob_layout["overall_only"]:
                    c.header = ("RoB", "")
            # the plot's header (the measure) never runs beyond its column
            plot_w = max(plot_w, *(m(h, bold=True) for c in cols if c.key == "plot"
                                   for h in c.header))
            _measure_columns(cols, rows, m, plot_w, rob_layout)
            total_w = _place_columns(cols, GAP * type_.body / FONT_SIZE)
            if title:  # a long title wraps to the table's width
                lines = _wrap_words(title, total_w, m, type_.title, bold=True)
                at = next(i for i, r in enumerate(rows) if r.kind == "title")
                rows[at:at + 1] = [_Row("title", span=line, bold=True) for line in lines]
                total_w = max(total_w, *(m(line, bold=True, size=type_.title)
                                         for line in lines))
            plot = next(c for c in cols if c.key == "plot")
            if layout == "compact":  # pool notes go to the footer: the plot sits beside the labels
                rows, footer = _notes_to_footer(rows, footer)
            rows = _wrap_notes(rows, cols, plot, m)

            lo, hi, ticks = _axis(rows, xlim, log_scale, span)
            tick_labels = [_tick_label(t, log_scale) for t in ticks]
            # room beyond the plot column for favours labels and the outer tick labels
            frac = _frac(0.0, lo, hi, log_scale)
            half_tick = [m(t, size=type_.small) / 2 for t in tick_labels] or [0.0]
            need_l = half_tick[0] - plot.x
            need_r = half_tick[-1]
            right_room = total_w - plot.x - plot.width
            if fam_labels:
                need_l = max(need_l, m(fam_labels[0]) + 0.06 - frac * plot.width - plot.x)
                need_r = max(need_r, m(fam_labels[1]) + 0.06 - (1 - frac) * plot.width)
            extra_l = max(0.0, need_l)
            extra_r = max(0.0, need_r - right_room)
            for c in cols:
                c.x += extra_l
            total_w += extra_l + extra_r
            footer = _wrap_lines(footer, total_w, m, type_.small)
            return dict(m=m, cols=cols, rows=rows, footer=footer, plot=plot, lo=lo, hi=hi,
                        ticks=ticks, tick_labels=tick_labels, width_in=total_w + 2 * MARGIN,
                        rob_layout=rob_layout)

        # the largest type that fits, with a dot per risk-of-bias domain where that fits,
        # else with each study's overall judgement only
        for body in BODY_SIZES:
            type_ = _Type(body)
            for overall_only in ((False, True) if has_rob else (False,)):
                rob_layout = _rob_layout(rob, overall_only) if has_rob else None
                laid = fit(type_, PLOT_W[layout], rob_layout)
                excess = laid["width_in"] - MAX_WIDTH_IN
                if excess > 0:
                    laid = fit(type_, max(MIN_PLOT_W, PLOT_W[layout] - excess), rob_layout)
                if laid["width_in"] <= MAX_WIDTH_IN + 1e-9:
                    break
            if laid["width_in"] <= MAX_WIDTH_IN + 1e-9:
                break
        else:  # the smallest type is still too wide: long study labels take two lines or more
            label = next(c for c in laid["cols"] if c.key == "label")
            label_w = max(MIN_LABEL_W, label.width - (laid["width_in"] - MAX_WIDTH_IN))
            laid = fit(type_, MIN_PLOT_W, laid["rob_layout"], label_w)
        rob_layout = laid["rob_layout"]
        cols, rows, footer, plot = laid["cols"], laid["rows"], laid["footer"], laid["plot"]
        lo, hi, ticks, tick_labels = laid["lo"], laid["hi"], laid["ticks"], laid["tick_labels"]
        width_in = laid["width_in"]

        y = 0.0
        for r in rows:
            r.y = y
            y += r.h
        axis_y = next(r.y + r.h / 2 for r in rows if r.kind == "endrule")
        x_title = _axis_title(measure, outcome_cfg, log_scale)
        title_y = axis_y + 2.0
        fav_y = title_y + 1.1
        foot_y = (fav_y if fam_labels else title_y) + 1.3
        n_rows = foot_y + len(footer) - 0.3
        height_in = n_rows * ROW_H + 2 * MARGIN
        fig = new_figure(width_in, height_in)
        ax = fig.add_axes((MARGIN / width_in + plot.x / width_in, MARGIN / height_in,
                           plot.width / width_in, 1 - 2 * MARGIN / height_in))
        ax.set_ylim(n_rows, 0)
        ax.set_xscale("log" if log_scale else "linear")
        ax.set_xlim(lo, hi)
        ax.patch.set_visible(False)
        for side in ("top", "left", "right"):
            ax.spines[side].set_visible(False)
        ax.yaxis.set_visible(False)
        data = _draw(fig, ax, rows, cols, plot, lo, hi, log_scale, families, type_)
        _draw_axis(fig, ax, axis_y, fav_y, lo, hi, ticks, tick_labels, fam_labels, log_scale,
                   type_)
        ax.text((lo * hi) ** 0.5 if log_scale else (lo + hi) / 2, title_y, x_title,
                ha="center", va="center_baseline", fontsize=type_.body, clip_on=False,
                parse_math=False, gid="x-title")
        if rob_layout is not None:
            data = _draw_rob(fig, rows, cols, rob, rob_layout, width_in, height_in, data)
        tx = mtransforms.blended_transform_factory(_inch_x(fig), ax.transData)
        for i, line in enumerate(footer):
            ax.text(0.0, foot_y + i + 0.5, line, transform=tx, ha="left", va="center_baseline",
                    fontsize=type_.small, clip_on=False, parse_math=False, gid=f"footer-{i}")
    data["outcome"] = outcome if outcome is not None else _only(eff, "outcome")
    data["comparison"] = comparison
    data["measure"] = measure
    data["scale"] = "log" if log_scale else "linear"
    meta = {"xlim": (lo, hi), "ticks": list(ticks), "layout": layout, "model": model,
            "tau2_method": tau2_method, "ci_method": ci_method, "level": level,
            "size_in": (width_in, height_in), "summary": summary, "x_title": x_title,
            "body_pt": type_.body,
            "footer": list(footer), "rob": rob_layout is not None,
            "rob_domains": rob_layout is not None and not rob_layout["overall_only"]}
    return FigureResult(fig, data, "forest", meta)


# --------------------------------------------------------------------------- selection
def _only(df, col):
    if col not in df:
        return ""
    vals = df[col].dropna().unique()
    return str(vals[0]) if len(vals) == 1 else ""


def _select_effects(effects, comparison, measure, outcome, subgroup_var, level):
    missing = [c for c in _REQUIRED if c not in effects.columns]
    if missing:
        raise ValueError(f"effects: missing column(s) {', '.join(missing)}")
    eff = effects[(effects["comparison"] == comparison) & (effects["measure"] == measure)]
    if outcome is not None and "outcome" in eff:
        eff = eff[eff["outcome"] == outcome]
    elif "outcome" in eff and eff["outcome"].nunique() > 1:
        raise ValueError(
            "effects hold several outcomes "
            f"({', '.join(sorted(map(str, eff['outcome'].unique())))}); pass outcome="
        )
    if eff.empty:
        raise ValueError(f"effects: no rows for comparison={comparison!r}, measure={measure!r}"
                         + (f", outcome={outcome!r}" if outcome is not None else ""))
    eff = eff.reset_index(drop=True).copy()
    for col in ("yi", "vi"):
        vals = pd.to_numeric(eff[col], errors="coerce").to_numpy(float)
        bad = ~np.isfinite(vals) | ((vals <= 0) if col == "vi" else False)
        if bad.any():
            sid = eff.loc[np.flatnonzero(bad)[0], "study_id"]
            need = "a positive number" if col == "vi" else "a finite number"
            raise ValueError(f"effects: study {sid!r}, column {col!r} must be {need}")
        eff[col] = vals
    if "label" not in eff:
        eff["label"] = eff["study_id"].astype(str)
    eff["label"] = [str(lab) if isinstance(lab, str) and lab else str(sid)
                    for lab, sid in zip(eff["label"], eff["study_id"])]
    z = norm_ppf(0.5 + level / 2)
    for col, sign in (("ci_low", -1), ("ci_high", 1)):
        given = pd.to_numeric(eff[col], errors="coerce") if col in eff else np.nan
        eff[col] = np.where(np.isfinite(given), given,
                            eff["yi"] + sign * z * np.sqrt(eff["vi"]))
    if subgroup_var is not None and subgroup_var not in eff:
        raise ValueError(f"effects: subgroup variable {subgroup_var!r} is not a column "
                         "(join the study attribute before plotting)")
    return eff


def _select_pools(pooled, eff, comparison, measure, model, tau2_method, ci_method):
    if pooled is None or len(pooled) == 0:
        return pd.DataFrame()
    missing = [c for c in _REQUIRED_POOLED if c not in pooled.columns]
    if missing:
        raise ValueError(f"pooled: missing column(s) {', '.join(missing)}")
    p = pooled[(pooled["comparison"] == comparison) & (pooled["measure"] == measure)]
    outcome = _only(eff, "outcome")
    if outcome and "outcome" in p:
        p = p[p["outcome"] == outcome]
    if "ci_method" in p:
        p = p[p["ci_method"] == ci_method]
    chosen = p
    if "model" in p:
        chosen = p[p["model"] == model]
    if model == "random" and "tau2_method" in p:
        chosen = chosen[chosen["tau2_method"] == tau2_method]
    if "model" in p and "subgroup_var" in p and "k" in p:
        # a pool of one study has no random-effects fit: take its one-study row
        have = set(zip(chosen["subgroup_var"], chosen["subgroup"].astype(str)))
        single = p[(pd.to_numeric(p["k"], errors="coerce") == 1)
                   & np.array([(v, str(g)) not in have
                               for v, g in zip(p["subgroup_var"], p["subgroup"])], bool)]
        single = single.drop_duplicates(["subgroup_var", "subgroup"])
        chosen = pd.concat([chosen, single])
    return chosen.reset_index(drop=True)


@dataclass
class _Section:
    level: str | None
    studies: pd.DataFrame
    pool: dict | None
    name: str = ""  # the level's display name (config subgroup_labels)


def _pool_row(pools, var, level):
    if pools.empty:
        return None
    hit = pools[(pools["subgroup_var"] == var) & (pools["subgroup"].astype(str) == str(level))]
    return hit.iloc[0].to_dict() if len(hit) else None


def _collapsed(section: _Section, max_rows: int | None) -> bool:
    """Whether a section is drawn as its summary: more studies than ``max_rows``."""
    return max_rows is not None and len(section.studies) > max_rows


def _sections(eff, pools, subgroup_var):
    if subgroup_var is None:
        return [_Section(None, eff, _pool_row(pools, "overall", "all"))]
    levels = []
    if not pools.empty:
        levels = [str(v) for v in pools.loc[pools["subgroup_var"] == subgroup_var, "subgroup"]]
    present = [str(v) for v in eff[subgroup_var].dropna().unique()]
    levels = [v for v in dict.fromkeys(levels) if v in present] + sorted(
        set(present) - set(levels))
    out = [_Section(lv, eff[eff[subgroup_var].astype(str) == lv],
                    _pool_row(pools, subgroup_var, lv)) for lv in levels]
    rest = eff[eff[subgroup_var].isna()]
    if len(rest):
        out.append(_Section("not classified", rest, None))
    return out


# --------------------------------------------------------------------------- table
def _columns(layout, comparison, measure, model, level, eff, arms, rob=False):
    names = {k: _title(v) for k, v in arms.items()}
    name = MEASURE_NAMES.get(measure, measure)
    method = f"IV, {'Random' if model == 'random' else 'Common'}, {level:.0%} CI"
    # the measure is named over the plot; the effect column says what its numbers are
    effect = _Col("effect", ("", f"{measure} [{level:.0%} CI]"), "right")
    plot = _Col("plot", (name, method), "center")
    label = _Col("label", ("", "Study"), "left")
    weight = _Col("weight", ("", "Weight"), "right")
    extra = [_Col("rob", ("Risk of bias", ""), "left")] if rob else []
    if "design" in eff:  # each study's design, beside its name
        label = [label, _Col("design", ("", "Design"), "left")]
    else:
        label = [label]
    if layout == "compact":
        return [*label, plot, effect, weight, *extra]
    if comparison == "pre_post":
        data = [
            _Col("mean2", ("", "Mean"), "right", names["baseline"]),
            _Col("sd2", ("", "SD"), "right", names["baseline"]),
            _Col("mean1", ("", "Mean"), "right", names["follow_up"]),
            _Col("sd1", ("", "SD"), "right", names["follow_up"]),
            _Col("n1", ("", "N"), "right"),
            _Col("r", ("", "r"), "right"),
        ]
    else:
        data = [
            _Col("mean1", ("", "Mean"), "right", names["treatment"]),
            _Col("sd1", ("", "SD"), "right", names["treatment"]),
            _Col("n1", ("", "Total"), "right", names["treatment"]),
            _Col("mean2", ("", "Mean"), "right", names["control"]),
            _Col("sd2", ("", "SD"), "right", names["control"]),
            _Col("n2", ("", "Total"), "right", names["control"]),
        ]
    return [*label, *data, weight, effect, plot, *extra]


def _num_col(eff, col):
    return pd.to_numeric(eff[col], errors="coerce").to_numpy(float) if col in eff else np.full(
        len(eff), np.nan)


def _effect_text(est, lo, hi, digits):
    if not np.isfinite(est):
        return ""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{fmt_num(est, digits)} [CI not estimable]"
    return f"{fmt_num(est, digits)} [{fmt_num(lo, digits)}, {fmt_num(hi, digits)}]"


def _sig(x, sig=3):
    """About ``sig`` significant digits without exponent for everyday magnitudes."""
    if x is None or not np.isfinite(x):
        return "NA"
    if x == 0:
        return "0"
    mag = math.floor(math.log10(abs(x)))
    if -4 <= mag < 6:
        return fmt_num(x, max(0, sig - 1 - mag))
    return f"{x:.{sig - 1}e}".replace("-", "\u2212")


def _het_text(pool):
    k = int(pool.get("k", 0) or 0)
    if k < 2 or not np.isfinite(pool.get("Q", np.nan)):
        return f"Heterogeneity: not applicable (k = {k})"
    parts = []
    tau2 = pool.get("tau2", np.nan)
    if pool.get("model") != "common":
        tau2_txt = f"< {TAU2_FLOOR:g}" if 0 < tau2 < TAU2_FLOOR else f"= {_sig(tau2)}"
        parts.append(f"\u03c4\u00b2 {tau2_txt}")
    parts.append(f"I\u00b2 = {fmt_num(pool.get('I2', np.nan), 0)}%")
    q_df = pool.get("Q_df", np.nan)
    parts.append(f"Q = {fmt_num(pool.get('Q'), 2)}, df = {int(q_df) if np.isfinite(q_df) else 'NA'}"
                 f" ({fmt_p(pool.get('Q_p'))})")
    return "Heterogeneity: " + "; ".join(parts)


def _test_text(pool):
    stat = pool.get("stat", np.nan)
    if not np.isfinite(stat):
        if int(pool.get("k", 0) or 0) < 2:
            return f"Test for overall effect: not applicable (k = {int(pool.get('k', 0) or 0)})"
        note = _pretty(str(pool.get("note") or "").strip())
        return "Test for overall effect: not available" + (f" ({note})" if note else "")
    df = pool.get("df", np.nan)
    if pool.get("ci_method") in KNHA_CI_METHODS and np.isfinite(df):
        return (f"Test for overall effect: t = {fmt_num(stat, 2)}, df = {df:g} "
                f"({fmt_p(pool.get('p'))})")
    return f"Test for overall effect: z = {fmt_num(stat, 2)} ({fmt_p(pool.get('p'))})"


def _weights(vi, pool, model):
    if pool is None:
        return np.full(len(vi), np.nan)
    tau2 = pool.get("tau2", 0.0) if model == "random" else 0.0
    tau2 = float(tau2) if tau2 is not None and np.isfinite(tau2) else 0.0
    w = 1.0 / (vi + tau2)
    return 100.0 * w / w.sum()


def _rows(sections, pools, cols, eff, comparison, measure, model, tau2_method, ci_method, level,
          digits, subgroup_var, subgroup_tests, outcome, title, log_scale, *, max_rows=None,
          pi_min_k, total_rows=None, skip_single_study_tests=False, var_name="",
          design_sections=False):
    tr = np.exp if log_scale else (lambda v: v)
    keys = {c.key for c in cols}
    # one number of decimals for every mean and SD, so the columns read alike
    dec_all = decimals_for(np.concatenate([_num_col(eff, k) for k in
                                           ("mean1", "sd1", "mean2", "sd2")]))
    dec = {k: dec_all for k in ("mean1", "sd1", "mean2", "sd2")}
    rows = []
    if title:
        rows.append(_Row("title", span=title, bold=True))
    groups = [c.group for c in cols]
    if any(groups):
        rows.append(_Row("group"))
    rows.append(_Row("header1"))
    rows.append(_Row("header2"))
    rows.append(_Row("rule", h=0.5))
    any_assumed = False
    marks_used = {}
    uncounted = []
    study_i = 0
    for j, sec in enumerate(sections, start=1):
        descriptive = sec.pool is not None and _in_test(sec.pool) is False
        if sec.level is not None:
            head = (f"{'Design' if design_sections else var_name or _title_case(subgroup_var)}: "
                    f"{sec.name or sec.level}")
            if descriptive:
                head += " (descriptive, not in the test)"
            rows.append(_Row("section", span=head, bold=True,
                             record={"element": "subgroup_header", "subgroup": sec.level}))
        st = sec.studies
        collapse = _collapsed(sec, max_rows)
        yi, vi = st["yi"].to_numpy(float), st["vi"].to_numpy(float)
        w = _weights(vi, sec.pool, model)
        lo, hi = st["ci_low"].to_numpy(float), st["ci_high"].to_numpy(float)
        nums = {k: _num_col(st, k) for k in ("n1", "mean1", "sd1", "n2", "mean2", "sd2", "r")}
        patients = _patients(st, comparison)
        r_src = st["r_source"].astype(str).tolist() if "r_source" in st else [""] * len(st)
        methods = (st["effect_method"].astype(str).tolist() if "effect_method" in st
                   else [""] * len(st))
        designs = (st["design"].astype(str).tolist() if "design" in st else [""] * len(st))
        for i in range(len(st)):
            study_i += 1
            assumed = r_src[i].startswith(_ASSUMED_R) and np.isfinite(nums["r"][i])
            any_assumed |= assumed
            mark = _method_mark(methods[i])
            if mark:
                marks_used[mark[0]] = mark[1]
            if not np.isfinite(patients[i]):
                uncounted.append(st["label"].iloc[i])
            cells = {
                "label": st["label"].iloc[i] + (f" {mark[0]}" if mark else ""),
                "weight": "" if not np.isfinite(w[i]) else f"{w[i]:.1f}%",
                "effect": _effect_text(tr(yi[i]), tr(lo[i]), tr(hi[i]), digits),
                "design": DESIGN_SHORT.get(designs[i], designs[i]),
            }
            for k in ("mean1", "sd1", "mean2", "sd2"):
                cells[k] = fmt_num(nums[k][i], dec[k])
            for k in ("n1", "n2"):
                cells[k] = fmt_num(nums[k][i], 0)
            if comparison == "pre_post":  # N: the patients the membership table counts
                cells["n1"] = fmt_num(patients[i], 0)
            cells["r"] = fmt_num(nums["r"][i], 2) + ("\u2020" if assumed else "")
            rec = {
                "element": "study", "index": study_i, "subgroup": sec.level or "",
                "study_id": st["study_id"].iloc[i], "label": st["label"].iloc[i],
                **{k: nums[k][i] for k in nums},
                "r_source": r_src[i] if "r_source" in st else "",
                "yi": yi[i], "vi": vi[i],
                "estimate": tr(yi[i]), "ci_low": tr(lo[i]), "ci_high": tr(hi[i]),
                "weight_pct": w[i], "text": cells["effect"], "drawn": not collapse,
                "n": patients[i], "effect_method": methods[i] if methods[i] != "nan" else "",
                "design": designs[i],
            }
            # a summary keeps the study's numbers in the data, without drawing its row
            if not collapse:
                rows.append(_Row("study", cells=cells, record=rec))
            else:
                rows.append(_Row("data", record=rec, h=0.0))
        if collapse:
            n_st = len(st)
            rows.append(_Row("summary", span=(
                f"{n_st:,} {'study' if n_st == 1 else 'studies'} (more than {max_rows} rows): "
                "each study's result is in this figure's .csv, not drawn")))
        if sec.pool is not None and (len(sections) > 1 or sec.level is not None):
            rows += _pool_rows(sec.pool, st, "subtotal", j, tr, digits, level, comparison,
                               sec.level or "", with_pi=False, descriptive=descriptive)
        if len(sections) > 1:
            rows.append(_Row("blank", h=0.6))
    overall = _pool_row(pools, "overall", "all")
    total_st = total_rows if subgroup_var is not None and total_rows is not None else eff
    if overall is not None:
        rows += _pool_rows(overall, total_st, "overall", 0, tr, digits, level, comparison, "",
                           with_pi=True)
    rows.append(_Row("endrule", h=0.5))

    footer = []
    data_extra = []
    if subgroup_var is not None:
        tested = [s for s in sections if s.pool is not None and _in_test(s.pool) is not False]
        single = [s.name or s.level for s in tested if _pool_k(s.pool) == 1]
        caution = ""
        if len(tested) >= 2 and single:
            names = _join(single)
            what = "is a single study" if len(single) == 1 else "are single studies"
            caution = f"{names} {what}: the test compares studies, not subgroups"
    if subgroup_var is not None and subgroup_tests is not None and len(subgroup_tests):
        t = subgroup_tests[(subgroup_tests["subgroup_var"] == subgroup_var)
                           & (subgroup_tests["comparison"] == comparison)
                           & (subgroup_tests["measure"] == measure)]
        out = outcome or _only(eff, "outcome")
        if out and "outcome" in t:
            t = t[t["outcome"] == out]
        if "tau2_method" in t and (t["tau2_method"] == tau2_method).any():
            t = t[t["tau2_method"] == tau2_method]
        if "ci_method" in t:  # per method, the row of this CI method where there is one
            t = t.iloc[np.argsort((t["ci_method"] != ci_method).to_numpy(), kind="stable")]
        t = t.drop_duplicates("method")
        t = t.sort_values("method", key=lambda s: s.map(
            {"separate_tau2": 0, "moderator_model": 1}).fillna(2))
        if caution and skip_single_study_tests:
            footer.append(f"Test for subgroup differences: not shown ({caution}; "
                          "figures.small_k = skip).")
            data_extra.append({"element": "subgroup_test", "subgroup": "not shown",
                               "text": caution})
        else:
            for _, tt in t.iterrows():
                footer.append(_subgroup_test_text(tt))
                data_extra.append({"element": "subgroup_test", "subgroup": tt["method"],
                                   "Q": tt["Q_between"], "Q_df": tt["df"], "Q_p": tt["p"]})
            if caution and len(t):
                footer.append(f"Caution: {caution}.")
                data_extra.append({"element": "warning", "text": caution})
    if subgroup_var is not None and not design_sections:
        footer.append(_membership_text(sections, overall, total_st, eff))
    if overall is not None and _pool_k(overall) == 1:  # the one rule for a pool of one study (scimeta.pool.SINGLE_STUDY_NOTE)
        footer.append(f"One study ({SINGLE_STUDY_LABEL}): the total is the study's own estimate "
                      f"with its {level:.0%} Wald-type CI; no heterogeneity, "
                      "Hartung\u2013Knapp interval or prediction interval.")
    elif model == "random":
        footer.append(f"Random-effects model, inverse-variance weights; \u03c4\u00b2 estimator: "
                      f"{TAU2_NAMES.get(tau2_method, tau2_method)}; {level:.0%} CI: "
                      f"{CI_NAMES.get(ci_method, ci_method)}.")
    else:
        footer.append(f"Common-effect model, inverse-variance weights; {level:.0%} CI: "
                      f"{CI_NAMES.get(ci_method, ci_method)}.")
    drawn = {(p.get("subgroup_var"), str(p.get("subgroup"))): p
             for p in [s.pool for s in sections] + [overall] if p is not None}
    floored = [key for key, p in drawn.items()
               if adhoc_floored(p.get("ci_method", ""), p.get("hk_factor", np.nan))]
    if floored:
        which = ("this pool" if len(drawn) == 1 else "the total" if floored == [("overall", "all")]
                 else f"all {len(drawn)} pools" if len(floored) == len(drawn)
                 else f"{len(floored)} of the {len(drawn)} pools")
        footer.append(f"For {which}, {ADHOC_FLOOR_PROSE}.")
        data_extra.append({"element": "note", "text": ADHOC_FLOOR_TEXT})
    notes = [f"Study CIs: {level:.0%}, normal approximation."]
    if overall is not None and model == "random":
        notes.append(f"Prediction interval shown when k \u2265 {pi_min_k}.")
    if subgroup_var is not None:
        notes.append("Weights add up to 100% within each "
                     + ("design." if design_sections else "subgroup."))
    if log_scale:
        notes.append("Ratios pooled as log ratios, drawn on a log scale.")
    if any_assumed and "r" in keys:
        notes.append("\u2020\u00a0Pre\u2013post correlation assumed (not reported).")
    for mark, text in marks_used.items():
        notes.append(f"{mark}\u00a0{text[:1].upper()}{text[1:]}.")
    if uncounted:
        notes.append("Not counted in N (n not reported): "
                     + ", ".join(dict.fromkeys(uncounted)) + ".")
    footer.append(" ".join(notes))
    rows_extra = [_Row("data", record=d) for d in data_extra]
    return rows + rows_extra, footer


def _method_mark(method: str):
    """The footnote mark and text of a row's ``effect_method``, or None."""
    for prefix, mark in METHOD_MARKS.items():
        if str(method).startswith(prefix):
            return mark
    return None


def _patients(st, comparison):
    """Patients of each row: ``n`` where the rows carry it (the membership's count)."""
    if "n" in st:
        return _num_col(st, "n")
    n1, n2 = _num_col(st, "n1"), _num_col(st, "n2")
    return n1 if comparison == "pre_post" else n1 + n2


def _in_test(pool):
    """``in_test`` of a pool's ``pooled.csv`` row: True, False, or None when not given."""
    v = pool.get("in_test") if pool is not None else None
    if v is None or (isinstance(v, float) and not np.isfinite(v)) or v == "":
        return None
    return str(v).lower() in ("true", "1")


def _pool_k(pool):
    k = pool.get("k", np.nan) if pool is not None else np.nan
    try:
        return int(k)
    except (TypeError, ValueError):
        return 0


def _join(names):
    names = [str(n) for n in names]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _membership_text(sections, overall, total_st, eff):
    """Which subgroups the test compares, which are only described, and what the Total pools."""
    tested = [s for s in sections if s.pool is not None and _in_test(s.pool) is not False]
    shown = [s for s in sections if s not in tested]
    parts = []
    if tested:
        parts.append("Subgroups in the test: " + ", ".join(
            f"{s.name or s.level} (k = {len(s.studies)})" for s in tested))
    if shown:
        parts.append("shown, not in the test: " + ", ".join(
            f"{s.name or s.level} (k = {len(s.studies)})" for s in shown))
    text = "; ".join(parts) + "." if parts else ""
    if overall is not None:
        k = _pool_k(overall)
        def key(f):
            pops = f["population"].astype(str) if "population" in f else [""] * len(f)
            return set(zip(f["study_id"].astype(str), pops))

        same = key(total_st) == key(eff)
        what = (f"Total: the {k} {'study' if k == 1 else 'studies'} above pooled together"
                if same else
                f"Total: the overall pool, {k} {'study' if k == 1 else 'studies'} with their "
                "whole-cohort rows (not the subgroup rows above)")
        text = (text + " " if text else "") + what + "."
    return text


_TEST_NAMES = {"separate_tau2": "separate \u03c4\u00b2 per subgroup",
               "moderator_model": "mixed-effects model, common \u03c4\u00b2"}


def _subgroup_test_text(tt) -> str:
    head = f"Test for subgroup differences ({_TEST_NAMES.get(tt['method'], tt['method'])})"
    q, df = _float(tt.get("Q_between")), _float(tt.get("df"))
    f_stat, df2 = _float(tt.get("F")), _float(tt.get("df2"))
    if not np.isfinite(q) and not np.isfinite(f_stat):
        note = _pretty(str(tt.get("note") or "").split(";")[0].strip())
        return f"{head}: not done" + (f" ({note})" if note else "")
    if np.isfinite(f_stat) and np.isfinite(df2):
        text = f"{head}: F = {fmt_num(f_stat, 2)}, df = {df:g}, {df2:g} ({fmt_p(tt['p'])})"
    else:
        text = f"{head}: Q = {fmt_num(q, 2)}, df = {df:g} ({fmt_p(tt['p'])})"
    p_perm, n_perm = _float(tt.get("p_perm")), _float(tt.get("n_perm"))
    if np.isfinite(p_perm) and np.isfinite(n_perm) and n_perm > 0:
        text += f"; permutation {fmt_p(p_perm)}"
    return text


def _pretty(text: str) -> str:
    """Table notes as a figure prints them: τ², I² and ≥ instead of their ASCII spellings."""
    for ascii_, nice in (("tau^2", "\u03c4\u00b2"), ("tau2", "\u03c4\u00b2"),
                         ("I^2", "I\u00b2"), (">=", "\u2265"), ("<=", "\u2264")):
        text = text.replace(ascii_, nice)
    return text


def _float(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _pool_rows(pool, st, kind, j, tr, digits, level, comparison, subgroup, *, with_pi,
               descriptive=False):
    est, lo, hi = (float(pool.get(k, np.nan)) for k in ("estimate", "ci_low", "ci_high"))
    name = "Subtotal" if kind == "subtotal" else "Total"
    if _pool_k(pool) == 1:
        name = SINGLE_STUDY_LABEL[:1].upper() + SINGLE_STUDY_LABEL[1:]
    label = f"{name}{', descriptive' if descriptive else ''} ({level:.0%} CI)"
    n1 = np.nansum(_num_col(st, "n1"))
    n2 = np.nansum(_num_col(st, "n2"))
    # the pool's patients as pooled.csv counts them (the membership's n of its rows)
    n = _float(pool.get("n", np.nan))
    if not np.isfinite(n):
        n = float(np.nansum(_patients(st, comparison)))
    if comparison == "pre_post":
        n1 = n
    cells = {
        "label": label,
        "effect": _effect_text(tr(est), tr(lo), tr(hi), digits),
        "weight": "100.0%" if np.isfinite(est) else "",
        "n1": fmt_num(n1, 0) if n1 > 0 else "",
    }
    if comparison != "pre_post":
        cells["n2"] = fmt_num(n2, 0) if n2 > 0 else ""
    gid = "diamond-overall" if kind == "overall" else f"diamond-subgroup-{j}"
    in_test = _in_test(pool)
    rec = {"element": kind, "subgroup": subgroup, "label": label, "gid": gid,
           "estimate": tr(est), "ci_low": tr(lo), "ci_high": tr(hi), "text": cells["effect"],
           **{k: pool.get(k, np.nan) for k in ("k", "tau2", "I2", "Q", "Q_df", "Q_p", "stat",
                                                "df", "p", "pi_low", "pi_high")},
           "n1": n1, "n2": n2 if comparison != "pre_post" else np.nan, "n": n,
           "in_test": "" if in_test is None or kind == "overall" else in_test}
    rec["pi_low"], rec["pi_high"] = tr(float(rec["pi_low"])), tr(float(rec["pi_high"]))
    rows = [_Row("pool", cells=cells, bold=True, record=rec)]
    pi_lo, pi_hi = float(pool.get("pi_low", np.nan)), float(pool.get("pi_high", np.nan))
    if with_pi and np.isfinite(pi_lo) and np.isfinite(pi_hi):
        txt = f"[{fmt_num(tr(pi_lo), digits)}, {fmt_num(tr(pi_hi), digits)}]"
        rows.append(_Row("pi", cells={"label": "Prediction interval", "effect": txt},
                         record={"element": "prediction_interval", "subgroup": subgroup,
                                 "label": "Prediction interval", "ci_low": tr(pi_lo),
                                 "ci_high": tr(pi_hi), "text": txt}))
    rows.append(_Row("note", span=_het_text(pool)))
    rows.append(_Row("note", span=_test_text(pool)))
    return rows


def _title_case(s):
    s = str(s).replace("_", " ")
    return s[:1].upper() + s[1:]


def _measure_columns(cols, rows, m, plot_w, rob_layout=None):
    for c in cols:
        if c.key == "plot":
            c.width = plot_w
            continue
        if c.key == "rob":
            c.width = max(rob_layout["width"], m(c.header[0], bold=True))
            continue
        w = max(m(c.header[0], bold=True), m(c.header[1], bold=True))
        for r in rows:
            txt = r.cells.get(c.key)
            if txt:
                w = max(w, *(m(line, bold=r.bold) for line in txt.split("\n")))
        if c is cols[0] and len(cols) > 1 and cols[1].key == "plot":
            for r in rows:  # compact: subgroup headers must not run into the plot
                if r.kind == "section":
                    w = max(w, m(r.span, bold=True))
        c.width = w
    # a group header must fit over its columns
    for g in dict.fromkeys(c.group for c in cols if c.group):
        members = [c for c in cols if c.group == g]
        need = m(g, bold=True) - (sum(c.width for c in members) + GAP * (len(members) - 1))
        if need > 0:
            members[0].width += need


def _place_columns(cols, gap=GAP):
    x = 0.0
    for i, c in enumerate(cols):
        if i:
            x += gap * (1.6 if c.key in ("plot", "weight", "rob") or cols[i - 1].key == "plot"
                        else 1.0)
        c.x = x
        x += c.width
    return x


def _wrap_lines(lines, width, m, size, bold=False):
    out = []
    for line in lines:
        out += _wrap(line, width, m, size, bold)
    return out


def _wrap(text, width, m, size, bold=False):
    """Greedy wrap, breaking at '; ' first and between words only inside a clause."""
    if m(text, bold, size) <= width:
        return [text]
    clauses = text.split("; ")
    if len(clauses) > 1:
        lines, cur = [], ""
        for c in clauses:
            trial = f"{cur}; {c}" if cur else c
            if cur and m(trial + ";", bold, size) > width:
                lines.append(cur + ";")
                cur = c
            else:
                cur = trial
        lines.append(cur)
        return [piece for line in lines for piece in _wrap_words(line, width, m, size, bold)]
    return _wrap_words(text, width, m, size, bold)


def _wrap_words(text, width, m, size, bold=False):
    if m(text, bold, size) <= width:
        return [text]
    words = text.split(" ")
    lines, cur = [], ""
    for w in words:
        trial = f"{cur} {w}" if cur else w
        if cur and m(trial, bold, size) > width:
            lines.append(cur)
            cur = w
        else:
            cur = trial
    lines.append(cur)
    return lines


def _notes_to_footer(rows, footer):
    """Compact layout: each pool's heterogeneity and test lines become footer lines."""
    kept, notes, owner = [], {}, ""
    for r in rows:
        if r.kind == "pool":
            owner = r.record.get("subgroup") or "Overall"
            owner = owner[:1].upper() + owner[1:]
        if r.kind == "note":
            notes.setdefault(owner, []).append(r.span)
        else:
            kept.append(r)
    short = {"Heterogeneity: ": "heterogeneity ", "Test for overall effect: ": "test for effect "}

    def shorten(part):
        for long, abbrev in short.items():
            if part.startswith(long):
                return abbrev + part[len(long):]
        return part

    lines = [f"{who} \u2013 " + "; ".join(shorten(p) for p in parts)
             for who, parts in notes.items()]
    return kept, lines + footer


def _wrap_notes(rows, cols, plot, m):
    """Heterogeneity/test lines may run across the data columns, never into the plot."""
    label = cols[0]
    avail = plot.x - GAP - label.x if plot.x > label.x else label.width
    out = []
    for r in rows:
        if r.kind in ("note", "summary") and r.span:
            for k, line in enumerate(_wrap(r.span, avail, m, m.type.small, r.bold)):
                out.append(_Row(r.kind, span=line, bold=r.bold,
                                record=r.record if k == 0 else {}))
        else:
            out.append(r)
    return out


# --------------------------------------------------------------------------- axis
def _frac(null_t, lo, hi, log_scale):
    f = (lambda v: math.log10(v)) if log_scale else (lambda v: v)
    null = 1.0 if log_scale else 0.0
    return (f(null) - f(lo)) / (f(hi) - f(lo))


def _scale_span(outcome_cfg, measure):
    """± (max − min) of the outcome's ``scale`` for a raw difference (MD, MC), else None."""
    scale = (outcome_cfg or {}).get("scale")
    if measure not in RAW_MEASURES or not scale or len(scale) != 2:
        return None
    width = float(scale[1]) - float(scale[0])
    return width if np.isfinite(width) and width > 0 else None


def _axis_title(measure, outcome_cfg, log_scale):
    """The x axis title: the measure, its unit for a raw difference, the log scale of ROM
    (:func:`scimeta.plotting._common.scale_label`)."""
    return scale_label(measure, (outcome_cfg or {}).get("unit"), log_values=False)


def _axis(rows, xlim, log_scale, span=None):
    """Limits and ticks on the drawn scale; a linear axis stays within ± ``span``."""
    f = np.log10 if log_scale else (lambda v: np.asarray(v, float))
    recs = [r.record for r in rows if r.kind != "data" and r.record.get("element") in
            ("study", "subtotal", "overall", "prediction_interval")]
    core, ends = [0.0], []
    for rec in recs:
        vals = np.array([rec.get("estimate", np.nan), rec.get("ci_low", np.nan),
                         rec.get("ci_high", np.nan)], float)
        vals = f(vals[np.isfinite(vals) & ((vals > 0) if log_scale else True)])
        if rec["element"] == "study":
            if len(vals):
                core.append(vals[0]) if np.isfinite(rec.get("estimate", np.nan)) else None
                ends += list(vals)
        else:
            core += list(vals)
    core = np.array(core, float)
    if span is not None and not log_scale:
        core = np.clip(core, -span, span)
        ends = [min(max(v, -span), span) for v in ends]
    c_lo, c_hi = core.min(), core.max()
    width = max(c_hi - c_lo, 1e-9)
    ends = np.array(ends or [c_lo, c_hi])
    lo = min(c_lo, max(ends.min(), c_lo - width))
    hi = max(c_hi, min(ends.max(), c_hi + width))
    if xlim is not None:
        lo, hi = (math.log10(v) if log_scale else v for v in xlim)
        ticks_t = _log_ticks(lo, hi, exact=True) if log_scale else MaxNLocator(
            nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
        ticks = [t for t in ticks_t if xlim[0] - 1e-12 <= t <= xlim[1] + 1e-12]
        return float(xlim[0]), float(xlim[1]), ticks
    if log_scale:
        ticks = _log_ticks(lo, hi)
        return min(ticks), max(ticks), ticks
    loc = MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10])
    t = loc.tick_values(lo, hi)
    t_lo = max(v for v in t if v <= lo + 1e-12 * max(1, abs(lo)))
    t_hi = min(v for v in t if v >= hi - 1e-12 * max(1, abs(hi)))
    ticks = [float(v) for v in t if t_lo - 1e-12 <= v <= t_hi + 1e-12]
    ticks = [0.0 if abs(v) < 1e-12 * max(1.0, abs(t_hi - t_lo)) else v for v in ticks]
    if span is not None and (t_lo < -span or t_hi > span):
        t_lo, t_hi = max(t_lo, -span), min(t_hi, span)
        ticks = [v for v in ticks if t_lo - 1e-12 <= v <= t_hi + 1e-12]
    return float(t_lo), float(t_hi), ticks


_LOG_STEPS = ((1,), (1, 2, 5), (1, 1.5, 2, 3, 5, 7), (1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8),
              (1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.8, 2, 2.5, 3, 3.5, 4, 5, 6, 7, 8, 9))


def _log_ticks(lo, hi, exact=False):
    """Ticks (ratios) for a log axis covering the log10 range [lo, hi].

    Among tick sets 1, 1-2-5, 1-1.5-2-3-5-7, ... per decade, the one whose
    outermost ticks bracket the range most tightly with 3 to 7 ticks.
    """
    best = None
    for steps in _LOG_STEPS:
        cand = np.array(sorted({round(s * 10.0 ** e, 10) for e in range(-6, 7) for s in steps}))
        lt = np.log10(cand)
        if exact:
            sel = cand[(lt >= lo - 1e-12) & (lt <= hi + 1e-12)]
            if 2 <= len(sel) <= 7:
                return [float(v) for v in sel]
            continue
        below, above = cand[lt <= lo + 1e-12], cand[lt >= hi - 1e-12]
        if not len(below) or not len(above):
            continue
        sel = cand[(cand >= below.max()) & (cand <= above.min())]
        if 3 <= len(sel) <= 7:
            span = math.log10(sel[-1] / sel[0])
            if best is None or span < best[0] - 1e-12:
                best = (span, sel)
    if best is None:
        e_lo, e_hi = math.floor(lo), math.ceil(hi)
        step = max(1, math.ceil((e_hi - e_lo) / 6))
        return [float(10.0 ** e) for e in range(e_lo, e_hi + 1, step)]
    return [float(v) for v in best[1]]


def _tick_label(v, log_scale):
    if log_scale:
        return fmt_num(v, decimals_for([v], 3))
    return fmt_num(v, decimals_for([v], 4))


# --------------------------------------------------------------------------- drawing
def _draw(fig, ax, rows, cols, plot, lo, hi, log_scale, families, type_=_Type()):
    col = {c.key: c for c in cols}
    tx = mtransforms.blended_transform_factory(_inch_x(fig), ax.transData)
    label_x = cols[0].x
    table_right = max(c.x + c.width for c in cols)
    data = []
    props = {(b, z): FontProperties(family=list(families), size=z,
                                    weight="bold" if b else "normal")
             for b in (False, True) for z in type_.sizes}

    def text(x, yy, s, ha="left", bold=False, size=type_.body, gid=None, color="black"):
        t = ax.text(x, yy, s, transform=tx, ha=ha, va="center_baseline",
                    fontproperties=props[(bold, size)], clip_on=False, parse_math=False,
                    color=color)
        if gid:
            t.set_gid(gid)
        return t

    body_top = body_bottom = None
    weights = [r.record.get("weight_pct", np.nan) for r in rows if r.kind == "study"]
    weights = [w for w in weights if np.isfinite(w)]
    max_w = max(weights + [SQUARE_REF_WEIGHT]) if weights else SQUARE_REF_WEIGHT
    side_max_pt = MAX_SQUARE * ROW_H * 72
    for r in rows:
        if r.kind == "data":
            data.append(r.record)
            continue
        yc = r.y + r.h / 2
        if r.kind == "title":
            text(label_x, yc, r.span, bold=True, size=type_.title, gid="title")
        elif r.kind == "group":
            for g in dict.fromkeys(c.group for c in cols if c.group):
                members = [c for c in cols if c.group == g]
                x0, x1 = members[0].x, members[-1].x + members[-1].width
                text((x0 + x1) / 2, yc, g, ha="center", bold=True)
                ax.add_line(Line2D([x0, x1], [r.y + 0.95, r.y + 0.95], transform=tx, lw=0.5,
                                   color="black", clip_on=False))
        elif r.kind in ("header1", "header2"):
            part = 0 if r.kind == "header1" else 1
            for c in cols:
                if c.header[part]:
                    text(c.anchor, yc, c.header[part], ha=c.align, bold=True)
        elif r.kind in ("rule", "endrule"):
            ax.add_line(Line2D([label_x, table_right], [yc, yc], transform=tx, lw=0.6,
                               color="black", clip_on=False, gid=r.kind))
            if r.kind == "rule":
                body_top = yc
            else:
                body_bottom = yc
        elif r.kind == "section":
            text(label_x, yc, r.span, bold=True)
            if r.record:
                data.append(dict(r.record))
        elif r.kind in ("note", "summary"):
            text(label_x, yc, r.span, size=type_.small, color="#333333")
        elif r.kind in ("study", "pool", "pi"):
            rec = dict(r.record)
            idx = rec.get("index")
            for key, s in r.cells.items():
                if key in col and s:
                    gid = None
                    if key in ("label", "effect"):
                        suffix = f"{idx:03d}" if idx is not None else rec.get("gid", "pi")
                        gid = f"{key}-{suffix}"
                    text(col[key].anchor, yc, s, ha=col[key].align, bold=r.bold, gid=gid)
            if r.kind == "study":
                rec.update(_draw_study(ax, rec, yc, lo, hi, side_max_pt, max_w))
            elif r.kind == "pool":
                rec.update(_draw_diamond(ax, rec, yc, lo, hi))
            else:
                rec.update(_draw_pi(ax, rec, yc, lo, hi))
            data.append(rec)

    # line of no effect, from the header rule to the table's bottom rule
    null = 1.0 if log_scale else 0.0
    if lo <= null <= hi:
        ax.add_line(Line2D([null, null], [body_top, body_bottom], lw=0.6, color=COLORS["null"],
                           zorder=0.5, gid="null-line"))
    df = pd.DataFrame(data)
    order = ["row", "element", "subgroup", "study_id", "label", "n1", "mean1", "sd1", "n2",
             "mean2", "sd2", "r", "r_source", "yi", "vi", "estimate", "ci_low", "ci_high",
             "weight_pct", "square_side_pt", "arrow_low", "arrow_high", "text", "k", "tau2", "I2",
             "Q", "Q_df", "Q_p", "stat", "df", "p", "pi_low", "pi_high", "n", "in_test",
             "effect_method", "drawn", "design"]
    for c in order:
        if c not in df:
            df[c] = "" if c in ("element", "subgroup", "study_id", "label", "text",
                                "r_source", "effect_method", "in_test", "design") else np.nan
    df["row"] = np.arange(len(df))
    df["drawn"] = [d is not False for d in df["drawn"]]  # every row but undrawn studies
    return df[order]


def _draw_axis(fig, ax, axis_y, fav_y, lo, hi, ticks, tick_labels, fam_labels, log_scale,
               type_=_Type()):
    ax.spines["bottom"].set_position(("data", axis_y))
    ax.spines["bottom"].set_bounds(lo, hi)
    ax.set_xticks(ticks, tick_labels)
    ax.xaxis.set_minor_locator(NullLocator())
    ax.tick_params(axis="x", direction="out", pad=2, labelsize=type_.small)
    if not fam_labels:
        return
    null = 1.0 if log_scale else 0.0
    for side, label, dx, ha in (("left", fam_labels[0], -4, "right"),
                                ("right", fam_labels[1], 4, "left")):
        off = mtransforms.offset_copy(ax.transData, fig=fig, x=dx, y=0, units="points")
        ax.text(null, fav_y, label, transform=mtransforms.blended_transform_factory(
            off, ax.transData), ha=ha, va="center_baseline", fontsize=type_.body,
                clip_on=False, parse_math=False, gid=f"favours-{side}")


def _inch_x(fig):
    """x in inches from the left edge of the table (inside the figure margin)."""
    return mtransforms.Affine2D().translate(MARGIN, 0) + fig.dpi_scale_trans


def _draw_study(ax, rec, yc, lo, hi, side_max_pt, max_w):
    i = rec["index"]
    est, l, h = rec["estimate"], rec["ci_low"], rec["ci_high"]
    l_c, h_c = max(l, lo), min(h, hi)
    out = {"arrow_low": bool(l < lo), "arrow_high": bool(h > hi)}
    color = COLORS["study"]
    if h_c > l_c:
        ax.add_line(Line2D([l_c, h_c], [yc, yc], lw=0.8, color=color, gid=f"ci-{i:03d}",
                           solid_capstyle="butt"))
    for flag, x, marker in (("arrow_low", lo, "<"), ("arrow_high", hi, ">")):
        if out[flag]:
            ax.add_line(Line2D([x], [yc], marker=marker, markersize=4, color=color, lw=0,
                               clip_on=False, gid=f"arrow-{flag[6:]}-{i:03d}"))
    w = rec["weight_pct"]
    side = side_max_pt * math.sqrt(w / max_w) if np.isfinite(w) else side_max_pt * 0.5
    side = max(side, MIN_SQUARE_PT)
    out["square_side_pt"] = side
    if lo <= est <= hi:
        ax.add_line(Line2D([est], [yc], marker="s", markersize=side, markeredgewidth=0,
                           color=color, lw=0, gid=f"square-{i:03d}"))
    return out


def _draw_diamond(ax, rec, yc, lo, hi):
    """The diamond, cut at the axis limits (clipped to the plot) with an arrow where it runs on."""
    est, l, h = rec["estimate"], rec["ci_low"], rec["ci_high"]
    out = {"arrow_low": False, "arrow_high": False}
    if not (np.isfinite(est) and np.isfinite(l) and np.isfinite(h)):
        return out
    face = COLORS["pool"] if rec["element"] == "overall" else COLORS["subtotal"]
    descriptive = rec.get("in_test") is False
    ax.add_patch(Polygon([(l, yc), (est, yc - DIAMOND_HALF), (h, yc), (est, yc + DIAMOND_HALF)],
                         closed=True, facecolor="white" if descriptive else face,
                         edgecolor=face, lw=0.7 if descriptive else 0.5, gid=rec["gid"]))
    return {**out, **_edge_arrows(ax, l, h, lo, hi, yc, face, rec["gid"])}


def _draw_pi(ax, rec, yc, lo, hi):
    l, h = rec["ci_low"], rec["ci_high"]
    ax.add_patch(Rectangle((l, yc - PI_HALF), h - l, 2 * PI_HALF, facecolor=COLORS["prediction"],
                           edgecolor="none", gid="prediction-interval"))
    return _edge_arrows(ax, l, h, lo, hi, yc, COLORS["prediction"], "prediction-interval")


def _edge_arrows(ax, l, h, lo, hi, yc, color, gid):
    """Arrows at the axis limits for an interval running beyond them."""
    out = {"arrow_low": bool(l < lo), "arrow_high": bool(h > hi)}
    for flag, x, marker in (("arrow_low", lo, "<"), ("arrow_high", hi, ">")):
        if out[flag]:
            ax.add_line(Line2D([x], [yc], marker=marker, markersize=5, color=color, lw=0,
                               clip_on=False, gid=f"{gid}-arrow-{flag[6:]}"))
    return out


# --------------------------------------------------------------------------- risk of bias
ROB_CELL = 0.17  # inches between dot centres
ROB_RADIUS = 0.062  # inches
ROB_OVERALL_GAP = 0.06  # extra inches before the overall dot


def _rob_layout(rob, overall_only=False):
    """Width, header (domain ids when every assessed study uses one tool) and legend lines:
    the domains of each tool by name (the dots of studies assessed with different tools do
    not line up under one header), then the colours. ``overall_only``: one dot per study,
    its overall judgement (a table too wide for a dot per domain)."""
    from scimeta.rob import TOOLS

    n_pos = 1 if overall_only else int(pd.to_numeric(rob["position"]).max()) + 1
    tools = [t for t in dict.fromkeys(rob["tool"].astype(str)) if t and t in TOOLS]
    header = []
    if overall_only:
        header = [(0, "All")]
    elif len(tools) == 1:
        doms = rob[rob["tool"] == tools[0]].drop_duplicates("position").sort_values("position")
        header = [(int(p), "All" if d == "overall" else str(d))
                  for p, d in zip(doms["position"], doms["domain"])]
    else:  # tools with different domains: only the overall column lines up
        header = [(n_pos - 1, "All")]
    legend = []
    if overall_only:
        names = ", ".join(TOOLS[t].name for t in tools)
        legend.append(f"Risk of bias: each study's overall judgement ({names}); the judgement "
                      "of each domain is in the risk-of-bias figures.")
    for t in [] if overall_only else tools:
        tool = TOOLS[t]
        names = "; ".join(f"{d} {label.lower()}" for d, label in tool.domains)
        legend.append(f"Risk of bias, {tool.name} (dots left to right): {names}; then overall"
                      + (" (derived from the items)" if tool.overall_derived else "") + ".")
    colours = ("Green +: low / yes; yellow \u2212: some concerns / moderate; yellow ?: "
               "unclear; red \u00d7: high / serious / no; dark red !: critical; blue ?: no "
               "information")
    if (rob["judgement"] == "not assessed").any():
        colours += "; white: not assessed"
    legend.append(f"Risk-of-bias colours (robvis): {colours}.")
    return {"width": n_pos * ROB_CELL + ROB_OVERALL_GAP, "header": header, "legend": legend,
            "positions": n_pos, "overall_only": overall_only}


def _draw_rob(fig, rows, cols, rob, layout, width_in, height_in, data):
    """The dots, in an overlay whose data units are inches (so circles stay round)."""
    from scimeta.plotting.rob import rob_dots

    rax = fig.add_axes((0, 0, 1, 1))
    rax.set_xlim(0, width_in)
    rax.set_ylim(height_in, 0)
    rax.set_axis_off()
    rax.patch.set_visible(False)
    col = next(c for c in cols if c.key == "rob")
    x0 = MARGIN + col.x + ROB_RADIUS
    for r in rows:
        y = MARGIN + (r.y + r.h / 2) * ROW_H
        if r.kind == "header2":
            for pos, text in layout["header"]:
                gap = ROB_OVERALL_GAP if text == "All" else 0.0
                rax.text(x0 + pos * ROB_CELL + gap, y, text, ha="center", va="center_baseline",
                         fontsize=MIN_FONT_PT, fontweight="bold", parse_math=False,
                         gid=f"rob-header-{pos}")
        elif r.kind == "study":
            dots = rob[rob["study_id"].astype(str) == str(r.record["study_id"])]
            if layout["overall_only"]:
                dots = dots[dots["domain"] == "overall"]
            # every study's overall judgement in the last column, whatever its tool
            dots = dots.assign(position=np.where(dots["domain"] == "overall",
                                                 layout["positions"] - 1, dots["position"]))
            if len(dots):
                rob_dots(rax, dots, x0, y, cell=ROB_CELL, radius=ROB_RADIUS,
                         overall_gap=ROB_OVERALL_GAP)
    overall = {str(sid): j for sid, d, j in zip(rob["study_id"], rob["domain"], rob["judgement"])
               if d == "overall"}
    data = data.copy()
    data["rob_overall"] = [overall.get(str(sid), "") if el == "study" else ""
                           for sid, el in zip(data["study_id"], data["element"])]
    return data


# --------------------------------------------------------------------------- caption
def caption_forest(*, outcome_label: str, comparison: str, measure: str, arms: dict,
                   model: str = "random", tau2_method: str, ci_method: str, level: float,
                   pi_min_k: int, subgroup_var: str | None = None, k: int | None = None,
                   layout: str = "revman") -> str:
    """One-paragraph reStructuredText caption for a forest plot.

    ``arms``: the outcome's ``arms`` config (the schema's defaults filled in);
    ``tau2_method``, ``ci_method``, ``level``, ``pi_min_k``: the config's
    primary model (:class:`scimeta.settings.AnalysisSettings`).

    Returns
    -------
    str
        What is drawn, with the arms' names, the model, the τ² estimator and
        the CI method. The outcome label, the arm names and the subgroup
        variable are escaped (:func:`scimeta.safe.rst_text`): they read as
        written, never as markup.
    """
    what = comparison_text(comparison, {k: rst_text(v) for k, v in arms.items()}, long=True)
    name = MEASURE_NAMES.get(measure, measure)
    name = name[:1].lower() + name[1:]
    parts = [f"Forest plot of **{rst_text(outcome_label)}**, {what}: {name} ({measure})"
             + (f" in {k} {'study' if k == 1 else 'studies'}" if k is not None else "") + "."]
    if subgroup_var:
        parts.append(f"Studies are grouped by *{rst_text(subgroup_var)}*, with a subtotal diamond and "
                     "heterogeneity line per subgroup and the test for subgroup differences "
                     "in the footer; weights add up to 100% within each subgroup.")
    parts.append("Squares mark study estimates (area proportional to the study's "
                 f"inverse-variance weight) with {level:.0%} confidence intervals; arrows mark "
                 "intervals running beyond the axis.")
    if model == "random":
        parts.append(f"Diamonds show the random-effects pooled estimate with its {level:.0%} CI "
                     f"(τ² estimated by {TAU2_NAMES.get(tau2_method, tau2_method)}; CI by "
                     f"{CI_NAMES.get(ci_method, ci_method)}); the red bar is the {level:.0%} "
                     f"prediction interval, drawn when at least {pi_min_k} studies are pooled.")
    else:
        parts.append(f"Diamonds show the common-effect (inverse-variance) pooled estimate with "
                     f"its {level:.0%} CI ({CI_NAMES.get(ci_method, ci_method)}).")
    if measure in LOG_MEASURES:
        parts.append("Ratios of means were pooled as log ratios and are drawn on a log scale; "
                     "the line of no effect is at 1.")
    else:
        parts.append("The vertical line marks no effect (0).")
    return " ".join(parts)
