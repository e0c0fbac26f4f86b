"""Writing figures: the one place in :mod:`scimeta.plotting` that touches files."""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import struct
import zlib
from io import BytesIO
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.text import Text

from scimeta.io import atomic_write, write_csv
from scimeta.plotting._common import FigureResult
from scimeta.plotting.style import figure_context

__all__ = ["save_figure", "SAVE_METADATA", "FORMATS", "PNG_DPI"]

FORMATS = ("svg", "png", "pdf")
PNG_DPI = 300
#: zlib level of the PNG data. On unfiltered rows levels 1-3 take the same
#: time (zlib's fast deflate) and 3 gives the smallest files of the three,
#: 10-18 % smaller than Pillow's level-3 files with per-row filters; level 4
#: and up take 1.6-2x as long.
PNG_ZLIB_LEVEL = 3
#: Per-format metadata: no dates, no software version, a fixed creator, so the
#: same inputs give byte-identical files. The PNG is written here
#: (:func:`_write_png`) with no text chunks at all.
SAVE_METADATA = {
    "svg": {"Date": None, "Creator": "scimeta"},
    "pdf": {"Creator": "scimeta", "Producer": "scimeta", "CreationDate": None, "ModDate": None},
    "png": {},
}


def save_figure(fig: FigureResult | Figure, stem, formats=FORMATS, *, write_data: bool = True,
                jobs: int = 1):
    """Write a figure as ``<stem>.<fmt>`` for each format, plus ``<stem>.csv``.

    Parameters
    ----------
    fig : FigureResult or matplotlib.figure.Figure
        What to write. With a :class:`FigureResult` and ``write_data``, its
        ``data`` (exactly the numbers drawn) is written to ``<stem>.csv``.
    stem : str or os.PathLike
        Output path without extension; its folder must exist.
    formats : iterable of str
        Any of ``svg``, ``png`` (300 dpi), ``pdf``.
    write_data : bool
        Write ``<stem>.csv`` (only for a :class:`FigureResult`).
    jobs : int
        With ``jobs > 1`` and a platform that can fork (Linux), the PNG is
        written in this process while forked worker processes write the other
        formats, which roughly halves the time for a large figure. The files
        are byte-identical to those of ``jobs = 1``. Pass the cores a
        workflow rule reserved (``threads``), never more.

    Returns
    -------
    list of str
        The files written, in the order of ``formats`` (then the CSV).

    Notes
    -----
    Text stays text: ``svg.fonttype = 'none'`` and ``pdf.fonttype = 42``.
    Output is byte-stable: fixed metadata (no dates, no version strings),
    fixed ``svg.hashsalt``, and every file is written with
    :func:`scimeta.io.atomic_write`, so neither a reader nor a kill ever
    leaves half a file (or a temporary one) behind.

    The PNG is matplotlib's Agg render at 300 dpi (same pixels, facecolor and
    size as ``savefig(format="png")``), written by :func:`_write_png`: 8-bit
    RGB, or RGBA when some pixel is not opaque; the resolution (``pHYs``);
    the rows unfiltered in one zlib stream; no text chunks, no dates.

    PDF fonts are embedded as subsets without the layout tables
    (:data:`PDF_DROPPED_FONT_TABLES`). Each process makes a subset once per
    font and set of glyphs and reuses it for later figures; a reused subset
    gives the same bytes as a new one.
    """
    figure = fig.figure if isinstance(fig, FigureResult) else fig
    _without_ligatures(figure)
    stem = Path(stem)
    formats = list(formats)
    for fmt in formats:
        if fmt not in SAVE_METADATA:
            raise ValueError(f"unknown figure format {fmt!r}; expected one of {FORMATS}")
    targets = {fmt: stem.with_name(f"{stem.name}.{fmt}") for fmt in formats}
    groups = _groups(formats, jobs)
    if len(groups) > 1:
        ctx = multiprocessing.get_context("fork")
        workers = [ctx.Process(target=_write_formats, args=(figure, targets, g), daemon=True)
                   for g in groups[1:]]
        for w in workers:
            w.start()
        try:
            _write_formats(figure, targets, groups[0])
        finally:
            for w in workers:
                w.join()
        failed = [g for w, g in zip(workers, groups[1:]) if w.exitcode != 0]
        if failed:
            raise RuntimeError(f"writing {', '.join(f for g in failed for f in g)} of {stem} "
                               "failed in a worker process (see its traceback above)")
    else:
        _write_formats(figure, targets, formats)
    written = [str(targets[fmt]) for fmt in formats]
    if write_data and isinstance(fig, FigureResult):
        target = stem.with_name(f"{stem.name}.csv")
        _write_data(fig.data, target)
        written.append(str(target))
    return written


#: OpenType features of every text that sets none: no standard ligatures, so
#: each character is drawn (and embedded, and copied from a PDF) as itself:
#: "fi" is searched for as typed, and a PDF font needs one subset, not two.
TEXT_FEATURES = ("-liga",)


def _without_ligatures(figure: Figure) -> None:
    for text in figure.findobj(Text):
        if text.get_fontfeatures() is None:
            text.set_fontfeatures(TEXT_FEATURES)


def _groups(formats, jobs):
    """Formats per process: the PNG (slowest) here, the rest shared by the workers."""
    jobs = int(jobs)
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    if jobs == 1 or len(formats) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [formats]
    first = ["png"] if "png" in formats else formats[:1]
    rest = [f for f in formats if f not in first]
    n = min(jobs - 1, len(rest))
    return [first] + [rest[i::n] for i in range(n)]


#: Tables an embedded PDF font does not need: matplotlib places every glyph
#: itself, so the layout tables (and decompiling them, which is most of the
#: time of a PDF) are dropped from the font subsets.
PDF_DROPPED_FONT_TABLES = ("GSUB", "GPOS", "GDEF", "JSTF", "BASE", "MATH", "kern")


#: Font subsets kept per process (a few kB to a few tens of kB each).
_FONT_SUBSETS_MAX = 256
#: (font file, face index, glyph ids) -> (subset font file bytes, glyph index map)
_FONT_SUBSETS: dict = {}


@contextlib.contextmanager
def _lean_pdf_font_subsets():
    """While writing a PDF, subset embedded fonts cheaply and without layout tables.

    matplotlib subsets Type 42 fonts with fontTools, re-reading the whole font
    file for every font of every PDF. This wraps its subsetting call so that

    - the fontTools options also drop :data:`PDF_DROPPED_FONT_TABLES`;
    - it subsets a copy of the font that already lacks those tables, read
      from the font file once per process (:func:`_stripped_font`), which
      saves about a third of the time of each subset;
    - a subset is made once per process for each font and set of glyphs
      (figures share many, e.g. the bold header font) and reused.

    Every path hands matplotlib a font freshly read from the subset's bytes,
    so a reused subset gives the same PDF bytes as a new one. The glyphs,
    their outlines, metrics and the ToUnicode map are unchanged, so the text
    stays text: selectable, searchable and editable.
    """
    try:
        from fontTools import subset
        from fontTools.ttLib import TTFont
        from matplotlib.backends import _backend_pdf_ps
        original = _backend_pdf_ps.get_glyphs_subset
        font_as_file = _backend_pdf_ps.font_as_file
        results = _backend_pdf_ps.SubsetResults
    except (ImportError, AttributeError):  # another matplotlib: leave it as it is
        yield
        return

    class _Options(subset.Options):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.drop_tables += list(PDF_DROPPED_FONT_TABLES)

    def drop_layout(fontfile, glyphs):
        plain = subset.Options
        subset.Options = _Options
        try:
            return original(fontfile, glyphs)
        finally:
            subset.Options = plain

    def make(fontfile, glyphs):
        stripped = _stripped_font(str(fontfile), fontfile.face_index)
        if stripped is not None:
            try:
                with drop_layout(_FontData(stripped), glyphs) as sub:
                    return font_as_file(sub.font).getvalue(), dict(sub.glyph_index_map)
            except Exception:  # e.g. a matplotlib that needs a real path: subset the file
                pass
        with drop_layout(fontfile, glyphs) as sub:
            return font_as_file(sub.font).getvalue(), dict(sub.glyph_index_map)

    @contextlib.contextmanager
    def fresh(data, glyph_index_map):
        # recalcTimestamp=False: matplotlib saves this font again, which must
        # give back exactly these bytes (a new 'modified' date would not)
        with TTFont(BytesIO(data), recalcTimestamp=False) as font:
            yield results(font, dict(glyph_index_map))

    def lean(fontfile, glyphs):
        glyphs = frozenset(glyphs)
        face_index = getattr(fontfile, "face_index", None)
        if not isinstance(face_index, int):  # not matplotlib 3.11's FontPath
            return drop_layout(fontfile, glyphs)
        key = (str(fontfile), face_index, glyphs)
        made = _FONT_SUBSETS.get(key)
        if made is None:
            made = make(fontfile, glyphs)
            if len(_FONT_SUBSETS) >= _FONT_SUBSETS_MAX:
                _FONT_SUBSETS.pop(next(iter(_FONT_SUBSETS)), None)  # the oldest
            _FONT_SUBSETS[key] = made
        return fresh(*made)

    _backend_pdf_ps.get_glyphs_subset = lean
    try:
        yield
    finally:
        _backend_pdf_ps.get_glyphs_subset = original


class _FontData(BytesIO):
    """A font file in memory, passed where matplotlib passes a ``FontPath``."""

    face_index = 0  # a single font, even when cut from a collection


@functools.cache
def _stripped_font(path: str, face_index: int) -> bytes | None:
    """The font without :data:`PDF_DROPPED_FONT_TABLES`, as font file bytes.

    Read lazily and saved with every other table copied as it is, so every
    glyph and glyph index is kept and a subset of it is the subset of the
    original font. None when fontTools cannot read the font: it is then
    subset from its file, as matplotlib does.
    """
    from fontTools.ttLib import TTFont

    try:
        with TTFont(path, lazy=True, fontNumber=face_index, recalcTimestamp=False) as font:
            for tag in PDF_DROPPED_FONT_TABLES:
                if tag in font:
                    del font[tag]
            out = BytesIO()
            font.save(out, reorderTables=False)
    except Exception:  # any font fontTools cannot read: subset it from its file
        return None
    return out.getvalue()


def _write_formats(figure: Figure, targets: dict, formats) -> None:
    with figure_context(), _lean_pdf_font_subsets():
        for fmt in formats:
            if fmt == "png":
                atomic_write(targets[fmt], lambda fh: _write_png(figure, fh))
            else:
                atomic_write(targets[fmt], lambda fh, fmt=fmt: figure.savefig(
                    fh, format=fmt, dpi=PNG_DPI, metadata=SAVE_METADATA[fmt]))


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _write_png(figure: Figure, fh) -> None:
    """Write ``figure`` to ``fh`` as a PNG at :data:`PNG_DPI`.

    The pixels are matplotlib's own Agg render (``savefig(format="rgba")``,
    so facecolor, dpi and size are those of ``savefig(format="png")``). The
    PNG is encoded here, not by Pillow, which tries every filter on every
    row: that made encoding about twice as slow, for larger files. Written:

    - 8-bit RGB (colour type 2) when every pixel is opaque, else RGBA (6);
    - a ``pHYs`` chunk with the resolution, in pixels per metre;
    - one ``IDAT`` chunk: the rows, each with filter type 0, compressed with
      zlib at :data:`PNG_ZLIB_LEVEL`;
    - no text chunks and no dates, so the bytes depend only on the pixels.
    """
    width, height = _agg_size(figure, PNG_DPI)
    buf = BytesIO()
    figure.savefig(buf, format="rgba", dpi=PNG_DPI)
    raw = buf.getbuffer()
    if not raw or len(raw) != width * height * 4:
        raise RuntimeError(
            f"matplotlib rendered {len(raw)} bytes of RGBA, not {width} x {height} x 4; "
            "was the size changed while saving (e.g. rcParams['savefig.bbox'] = 'tight')?")
    pixels = np.frombuffer(raw, np.uint8)
    opaque = pixels[3::4].min(initial=255) == 255
    if opaque:
        rows = np.empty((height, 1 + 3 * width), np.uint8)
        # RGB without A: each pixel's first three bytes, copied as one 3-byte
        # item (twice as fast as copying the channels)
        src = np.ndarray((height, width), dtype="V3", buffer=raw, strides=(4 * width, 4))
        np.ndarray((height, width), dtype="V3", buffer=rows, offset=1,
                   strides=(1 + 3 * width, 3))[...] = src
    else:
        rows = np.empty((height, 1 + 4 * width), np.uint8)
        rows[:, 1:] = pixels.reshape(height, 4 * width)
    rows[:, 0] = 0  # filter type 0 (None) on every row
    ppm = int(PNG_DPI / 0.0254 + 0.5)  # pixels per metre, rounded as Pillow does
    fh.write(_PNG_SIGNATURE)
    _png_chunk(fh, b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2 if opaque else 6,
                                        0, 0, 0))
    _png_chunk(fh, b"pHYs", struct.pack(">IIB", ppm, ppm, 1))
    _png_chunk(fh, b"IDAT", zlib.compress(rows, PNG_ZLIB_LEVEL))
    _png_chunk(fh, b"IEND", b"")


def _png_chunk(fh, kind: bytes, data: bytes) -> None:
    fh.write(struct.pack(">I", len(data)) + kind)
    fh.write(data)
    fh.write(struct.pack(">I", zlib.crc32(data, zlib.crc32(kind))))


def _agg_size(figure: Figure, dpi: float) -> tuple[int, int]:
    """Pixel size of ``figure`` rendered at ``dpi``, as matplotlib's Agg canvas sizes it.

    ``savefig`` sets the figure's dpi the same way while it saves; the
    canvas truncates the size to whole pixels (``get_width_height``).
    """
    saved = figure.dpi
    figure.dpi = dpi
    try:
        width, height = figure.canvas.get_width_height(physical=True)
    finally:
        figure.dpi = saved
    return int(width), int(height)


def _write_data(df: pd.DataFrame, target: Path) -> None:
    write_csv(df, target)
