"""What a journal needs of a figure: every text inside the figure, none smaller than
MIN_FONT_PT, and (for a double-column figure) at most 7.1 in wide."""

from __future__ import annotations

from matplotlib.text import Text

from scimeta.plotting.style import MIN_FONT_PT, figure_context

#: A double column, 180 mm, with the rounding of a figure's size in inches.
DOUBLE_COLUMN_IN = 7.1
#: Tolerance of a text's bounding box at the figure's edge, in pixels.
EDGE_PX = 0.5


def drawn_texts(fig) -> list[Text]:
    """The texts a render draws: visible, not empty, tick labels only of the ticks drawn."""
    drawn, tick_labels = set(), set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                tick_labels.update({id(tick.label1), id(tick.label2)})
            if not (ax.axison and axis.get_visible()):
                continue
            for tick in axis._update_ticks():  # the ticks inside the view limits
                drawn.update({id(tick.label1), id(tick.label2)})
    return [t for t in fig.findobj(Text)
            if t.get_visible() and t.get_text().strip()
            and (id(t) not in tick_labels or id(t) in drawn)]


def printable_problems(fig, *, max_width_in: float | None = None) -> list[str]:
    """Texts outside the figure or under MIN_FONT_PT, and a figure too wide; [] if none."""
    problems = []
    with figure_context():
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        width, height = fig.bbox.width, fig.bbox.height
        for t in drawn_texts(fig):
            box = t.get_window_extent(renderer)
            if (box.x0 < -EDGE_PX or box.y0 < -EDGE_PX or box.x1 > width + EDGE_PX
                    or box.y1 > height + EDGE_PX):
                problems.append(f"clipped: {t.get_text()[:60]!r}")
            if t.get_fontsize() < MIN_FONT_PT - 1e-9:
                problems.append(f"{t.get_fontsize()} pt: {t.get_text()[:60]!r}")
    if max_width_in is not None and fig.get_size_inches()[0] > max_width_in + 1e-9:
        problems.append(f"{fig.get_size_inches()[0]:.2f} in wide")
    return problems
