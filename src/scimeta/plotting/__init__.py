"""Figures: forest, funnel, r-sensitivity, bubble and risk-of-bias plots, PRISMA flow
diagrams, and byte-stable saving.

Every plotting function returns a :class:`FigureResult` holding the
matplotlib figure and a DataFrame of exactly the numbers drawn;
:func:`save_figure` writes the figure (SVG, PNG at 300 dpi, PDF) and that
DataFrame as CSV.
"""

from scimeta.plotting._common import FigureResult
from scimeta.plotting.bubble import bubble_plot
from scimeta.plotting.cumulative import cumulative_forest_plot
from scimeta.plotting.forest import LAYOUTS, caption_forest, favours_labels, forest_plot
from scimeta.plotting.funnel import caption_funnel, funnel_plot
from scimeta.plotting.gosh import gosh_plot
from scimeta.plotting.prisma import prisma_flow_diagram
from scimeta.plotting.rob import rob_summary_plot, traffic_light_plot
from scimeta.plotting.save import FORMATS, save_figure
from scimeta.plotting.sensitivity import caption_r_sensitivity, r_sensitivity_plot

__all__ = [
    "FigureResult",
    "forest_plot",
    "caption_forest",
    "favours_labels",
    "funnel_plot",
    "caption_funnel",
    "r_sensitivity_plot",
    "caption_r_sensitivity",
    "bubble_plot",
    "gosh_plot",
    "cumulative_forest_plot",
    "traffic_light_plot",
    "rob_summary_plot",
    "prisma_flow_diagram",
    "save_figure",
    "LAYOUTS",
    "FORMATS",
]
