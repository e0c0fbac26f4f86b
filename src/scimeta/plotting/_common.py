"""Pieces shared by the figure modules: the result type and number formatting."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["FigureResult", "new_figure", "fmt_num", "fmt_p", "decimals_for", "MEASURE_NAMES",
           "scale_label", "plural", "wrap_inches"]

MINUS = "\u2212"

#: Long names of metafor's measures, as written in figure headers and captions.
MEASURE_NAMES = {
    "MD": "Mean difference",
    "SMD": "Std. mean difference (Hedges' g)",
    "ROM": "Ratio of means",
    "MC": "Mean change",
    "SMCR": "Std. mean change (raw-score SD)",
    "SMCC": "Std. mean change (change-score SD)",
}
#: Measures pooled on the log scale and shown exponentiated on a log axis.
LOG_MEASURES = ("ROM",)
#: Measures on the instrument's own scale (a difference of raw scores): their axes carry the unit.
RAW_MEASURES = ("MD", "MC")

TAU2_NAMES = {
    "EE": "none (common effect)",
    "DL": "DerSimonian–Laird",
    "REML": "restricted maximum likelihood (REML)",
    "PM": "Paule–Mandel",
    "HE": "Hedges",
    "SJ": "Sidik–Jonkman",
    "ML": "maximum likelihood",
    "EB": "empirical Bayes",
}
CI_NAMES = {"wald": "Wald-type (normal)", "hksj": "Hartung–Knapp–Sidik–Jonkman (t)",
            "hksj_adhoc": "Hartung–Knapp–Sidik–Jonkman (t), ad hoc correction (never narrower "
                          "than Wald)"}


@dataclass(frozen=True)
class FigureResult:
    """A drawn figure and exactly the numbers it shows.

    Attributes
    ----------
    figure : matplotlib.figure.Figure
        The figure (Agg canvas attached; no ``pyplot`` state).
    data : pandas.DataFrame
        One row per drawn element (study, pool, point, grid value ...), in
        drawing order, with the numbers on the scale they are drawn on. This is
        what :func:`scimeta.plotting.save_figure` writes next to the figure as
        ``<stem>.csv``.
    kind : str
        ``forest``, ``funnel``, ``r_sensitivity`` or ``bubble``.
    """

    figure: Figure
    data: pd.DataFrame
    kind: str
    meta: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The figure's numbers (a copy of :attr:`data`)."""
        return self.data.copy()


def scale_label(measure: str | None, unit: str | None = None, *, log_values: bool = False) -> str:
    """The title of an axis that draws effect sizes of ``measure``: what is drawn, on which scale.

    One rule for every figure. A raw difference (MD, MC) carries the outcome's
    ``unit`` (``Mean difference (points)``); a standardised one is in SD units
    and says its name. A ratio of means is pooled as a log ratio: a figure that
    draws the ratios on a log axis (forest, cumulative, bubble, r-sensitivity)
    says ``Ratio of means (log scale)``; one that draws the log ratios themselves
    on a linear axis (``log_values``: funnel, GOSH) says ``Log ratio of means``.

    Examples
    --------
    >>> scale_label("MD", "points")
    'Mean difference (points)'
    >>> scale_label("ROM")
    'Ratio of means (log scale)'
    >>> scale_label("ROM", log_values=True)
    'Log ratio of means'
    """
    if not measure:
        return "Effect size"
    name = MEASURE_NAMES.get(measure, measure)
    if measure in LOG_MEASURES:
        return f"Log {name[:1].lower()}{name[1:]}" if log_values else f"{name} (log scale)"
    unit = str(unit).strip() if unit is not None else ""
    return f"{name} ({unit})" if unit and measure in RAW_MEASURES else name


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 study``, ``2 studies``: the count with the word in the number it takes."""
    n = int(n)
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


def wrap_inches(text: str, width_in: float, size: float) -> list[str]:
    """``text`` in lines (broken between words) no wider than ``width_in`` at ``size`` pt,
    measured on the outlines of the fonts the text needs
    (:func:`scimeta.plotting.style.families_for`)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    from scimeta.plotting.style import families_for

    measure = TextToPath()
    prop = FontProperties(family=list(families_for([text])), size=size)

    def width(s: str) -> float:
        return measure.get_text_width_height_descent(s, prop, ismath=False)[0] / 72.0

    lines, line = [], ""
    for word in text.split(" "):
        trial = f"{line} {word}" if line else word
        if line and width(trial) > width_in:
            lines.append(line)
            line = word
        else:
            line = trial
    return [*lines, line]


def new_figure(width_in: float, height_in: float) -> Figure:
    """A pyplot-free figure with an Agg canvas."""
    fig = Figure(figsize=(width_in, height_in))
    FigureCanvasAgg(fig)
    return fig


def decimals_for(values, max_decimals: int = 2) -> int:
    """Fewest decimals (≤ ``max_decimals``) that show every value as given."""
    best = 0
    for v in values:
        if v is None or not np.isfinite(v):
            continue
        for d in range(best, max_decimals + 1):
            if abs(round(float(v), d) - float(v)) < 1e-9 * max(1.0, abs(float(v))):
                best = d
                break
        else:
            best = max_decimals
    return best


def fmt_num(x, decimals: int = 2) -> str:
    """Fixed decimals with a true minus sign; empty for NaN."""
    if x is None:
        return ""
    x = float(x)
    if not math.isfinite(x):
        return ""
    s = f"{x:.{decimals}f}"
    if s.startswith("-"):
        s = s[1:] if float(s) == 0 else MINUS + s[1:]
    return s


def fmt_p(p) -> str:
    """``p = 0.042`` style, ``p < 0.001`` below that."""
    if p is None or not np.isfinite(p):
        return "p = NA"
    if p < 0.001:
        return "p < 0.001"
    if p < 0.1:
        return f"p = {p:.3f}"
    return f"p = {p:.2f}"
