"""Fonts and matplotlib settings shared by every scimeta figure.

Figures are drawn on :class:`matplotlib.figure.Figure` objects created
directly (never through ``pyplot``), inside :func:`figure_context`, so that
nothing here changes the caller's global matplotlib state.

Fonts
-----
Text is set in DejaVu Sans, which matplotlib ships, so a figure looks the
same on every machine. Characters DejaVu Sans lacks (Chinese and Japanese
study labels) fall back, glyph by glyph, to the bundled *scimeta CJK
Fallback* (a subset of Droid Sans Fallback, Apache-2.0; see
``scimeta/fonts/README.md``), then to any installed family listed in
:data:`SYSTEM_FALLBACK_FAMILIES`. Only families actually installed are put in
the list, so matplotlib logs no "font family not found" messages.
"""

from __future__ import annotations

import contextlib
import logging
from functools import cache
from importlib import resources

import matplotlib as mpl
from matplotlib import font_manager

__all__ = [
    "BASE_FAMILY",
    "BUNDLED_CJK_FAMILY",
    "SYSTEM_FALLBACK_FAMILIES",
    "COLORS",
    "FONT_SIZE",
    "MIN_FONT_PT",
    "font_families",
    "rc_params",
    "figure_context",
    "missing_glyphs",
    "families_for",
]

BASE_FAMILY = "DejaVu Sans"
BUNDLED_CJK_FAMILY = "scimeta CJK Fallback"
BUNDLED_CJK_FILE = "scimeta-cjk-fallback.ttf"
#: Used after the bundled font, only for characters neither DejaVu Sans nor
#: the bundled subset has (e.g. Hangul, rare hanzi), and only if installed.
SYSTEM_FALLBACK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans CJK KR",
    "Source Han Sans SC",
    "Droid Sans Fallback",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "Malgun Gothic",
    "Noto Sans",
)

#: Colours (Okabe–Ito friendly, print safe).
COLORS = {
    "study": "#1f3b73",  # squares and whiskers
    "pool": "#000000",  # diamonds
    "subtotal": "#4d4d4d",
    "prediction": "#c0392b",  # prediction-interval bar
    "null": "#7f7f7f",  # line of no effect
    "grid": "#d9d9d9",
    "band": "#9ecae1",  # CI band in bubble plots
    "contour": ("#ffffff", "#bdbdbd", "#d9d9d9", "#f0f0f0"),
    "filled": "#ffffff",
}

FONT_SIZE = 8.0
#: Smallest text of any figure, in points at the figure's own size: a figure drawn at
#: most 180 mm wide (a journal's double column) prints no text below it.
MIN_FONT_PT = 6.0


@cache
def _bundled_font_path() -> str:
    return str(resources.files("scimeta").joinpath("fonts", BUNDLED_CJK_FILE))


@cache
def font_families(extended: bool = False) -> tuple[str, ...]:
    """The font family fallback list, registering the bundled CJK font once.

    Parameters
    ----------
    extended : bool
        Append the installed :data:`SYSTEM_FALLBACK_FAMILIES`. Figures use
        this only when some text has characters the two shipped fonts lack,
        so that everywhere else the output does not depend on the machine's
        fonts.

    Returns
    -------
    tuple of str
        ``("DejaVu Sans", "scimeta CJK Fallback"[, installed system families])``.
    """
    _register_bundled()
    if not extended:
        return (BASE_FAMILY, BUNDLED_CJK_FAMILY)
    installed = {f.name for f in font_manager.fontManager.ttflist}
    extra = tuple(f for f in SYSTEM_FALLBACK_FAMILIES if f in installed)
    return (BASE_FAMILY, BUNDLED_CJK_FAMILY, *extra)


@cache
def _register_bundled() -> None:
    font_manager.fontManager.addfont(_bundled_font_path())


def families_for(texts) -> tuple[str, ...]:
    """The shortest fallback list that draws every character of ``texts``.

    DejaVu Sans alone when it covers everything (the usual case: one font to
    embed, and output independent of the machine's fonts), plus the bundled
    CJK font when needed, plus installed system families only for characters
    neither has.
    """
    chars = {ch for t in texts if t for ch in str(t) if not ch.isspace()}
    base = _cmap(_family_path(BASE_FAMILY))
    rest = {ch for ch in chars if ord(ch) not in base}
    if not rest:
        return (BASE_FAMILY,)
    bundled = _cmap(_family_path(BUNDLED_CJK_FAMILY))
    if all(ord(ch) in bundled for ch in rest):
        return (BASE_FAMILY, BUNDLED_CJK_FAMILY)
    return font_families(extended=True)


def rc_params(families: tuple[str, ...] | None = None) -> dict:
    """matplotlib settings for editable, searchable, byte-stable output.

    ``svg.fonttype = 'none'`` keeps text as ``<text>`` in SVG;
    ``pdf.fonttype = 42`` embeds TrueType (Type 42) fonts so PDF text can be
    selected, searched and edited; ``svg.hashsalt`` fixes the ids that
    matplotlib derives from hashes; ``text.parse_math = False`` draws every
    text literally (a label is review text: ``$5 vs $10`` is not mathtext, and
    ``$\alpha^2$`` is drawn as typed), whether or not its call says
    ``parse_math=False``.
    """
    return {
        "font.family": list(families or font_families()),
        "font.size": FONT_SIZE,
        "axes.unicode_minus": True,
        "svg.fonttype": "none",
        "svg.hashsalt": "scimeta",
        "svg.image_inline": True,
        "pdf.fonttype": 42,
        "pdf.compression": 6,
        "ps.fonttype": 42,
        "path.simplify": False,
        # Text measured and drawn from the fonts' own outlines, unhinted: the
        # SVG and PDF are laid out with the advance widths their viewers use,
        # a 300-dpi PNG needs no snapping to pixels, and drawing is a fifth faster.
        "text.hinting": "no_hinting",
        "text.parse_math": False,
        "axes.linewidth": 0.6,
        "xtick.major.width": 0.6,
        "ytick.major.width": 0.6,
        "xtick.major.size": 3.0,
        "ytick.major.size": 3.0,
        "xtick.labelsize": FONT_SIZE,
        "ytick.labelsize": FONT_SIZE,
        "axes.labelsize": FONT_SIZE,
        "axes.titlesize": FONT_SIZE + 1,
        "legend.fontsize": FONT_SIZE,
        "figure.dpi": 100,
        "savefig.dpi": 300,
        "savefig.bbox": "standard",  # the figure as laid out, never re-cropped
        "savefig.facecolor": "white",
        "savefig.edgecolor": "white",
    }


class _QuietFontFallback(logging.Filter):
    """Drop matplotlib's notice that a CJK fallback font has no bold face."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Failed to find font weight" not in record.getMessage()


_FILTER = _QuietFontFallback()


@contextlib.contextmanager
def figure_context(families: tuple[str, ...] | None = None):
    """Context manager applying :func:`rc_params` temporarily.

    ``families`` overrides the font fallback list (see :func:`families_for`).
    """
    log = logging.getLogger("matplotlib.font_manager")
    log.addFilter(_FILTER)
    try:
        with mpl.rc_context(rc_params(families)):
            yield
    finally:
        log.removeFilter(_FILTER)


def missing_glyphs(text: str, extended: bool = True) -> list[str]:
    """Characters of ``text`` that no font in :func:`font_families` can draw.

    Parameters
    ----------
    text : str
        Any label.
    extended : bool
        Count installed system fallback fonts too.

    Returns
    -------
    list of str
        Sorted distinct characters without a glyph (whitespace ignored).
    """
    cmaps = [_cmap(_family_path(fam)) for fam in font_families(extended)]
    missing = {
        ch for ch in text if not ch.isspace() and not any(ord(ch) in cm for cm in cmaps)
    }
    return sorted(missing)


@cache
def _family_path(family: str) -> str:
    _register_bundled()
    prop = font_manager.FontProperties(family=family)
    return font_manager.findfont(prop, fallback_to_default=False)


@cache
def _cmap(path: str) -> frozenset[int]:
    from matplotlib.ft2font import FT2Font

    return frozenset(FT2Font(path).get_charmap())
