"""save_figure's own writers: the PNG encoder and the cached PDF font subsets."""

from __future__ import annotations

import io
import re
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from _settings import forest_options, outcome
from matplotlib.figure import Figure
from PIL import Image

from scimeta.plotting import forest_plot, funnel_plot, save_figure
from scimeta.plotting import save as save_mod
from scimeta.plotting.style import figure_context

YI = np.array([2.32, 5.19, 3.59, 8.99, 6.2, 4.54, -1.1, 0.4])
VI = np.array([7.9, 5.7, 11.9, 4.4, 15.2, 31.5, 9.0, 20.0])


def _agg_rgba(fig):
    """matplotlib's own RGBA render of ``fig`` at 300 dpi, as save_figure renders it.

    The size is read from matplotlib's own PNG of the figure (via Pillow).
    """
    with figure_context():
        raw, png = io.BytesIO(), io.BytesIO()
        fig.savefig(raw, format="rgba", dpi=save_mod.PNG_DPI)
        fig.savefig(png, format="png", dpi=save_mod.PNG_DPI)
    with Image.open(png) as im:
        width, height = im.size
    return np.frombuffer(raw.getvalue(), np.uint8).reshape(height, width, 4)


def _png_chunks(data: bytes):
    """(type, payload) of every chunk, checking each CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, payload = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + payload), kind
        chunks.append((kind, payload))
        pos += 12 + length
    return chunks


def test_png_is_matplotlibs_render_as_rgb(tmp_path):
    res = funnel_plot(YI, VI, estimate=4.2, measure="MD", title="Funnel")
    (png,) = save_figure(res, tmp_path / "f", formats=("png",), write_data=False)
    data = open(png, "rb").read()
    assert [k for k, _ in _png_chunks(data)] == [b"IHDR", b"pHYs", b"IDAT", b"IEND"]
    expected = _agg_rgba(res.figure)
    assert (expected[..., 3] == 255).all()
    with Image.open(png) as im:
        assert im.format == "PNG" and im.mode == "RGB"
        assert im.size == (expected.shape[1], expected.shape[0])
        assert im.info["dpi"] == pytest.approx((300, 300), abs=0.01)
        pixels = np.asarray(im)
    np.testing.assert_array_equal(pixels, expected[..., :3])


def test_png_size_is_aggs_for_odd_figure_sizes(tmp_path):
    for size in ((3.1234, 2.0001), (8.8, 5.8), (1 / 3, 7 / 3)):
        fig = Figure(figsize=size)
        fig.add_subplot().plot([0, 1], [1, 0])
        (png,) = save_figure(fig, tmp_path / "odd", formats=("png",))
        with Image.open(png) as im:
            assert im.size[::-1] == _agg_rgba(fig).shape[:2], size


def test_png_with_transparency_is_rgba(tmp_path):
    res = funnel_plot(YI, VI, estimate=4.2, measure="MD")
    with mpl.rc_context({"savefig.transparent": True}):  # facecolor 'none' for figure and axes
        (png,) = save_figure(res, tmp_path / "t", formats=("png",), write_data=False)
        expected = _agg_rgba(res.figure)
    assert (expected[..., 3] < 255).any()
    with Image.open(png) as im:
        assert im.mode == "RGBA"
        assert im.info["dpi"] == pytest.approx((300, 300), abs=0.01)
        np.testing.assert_array_equal(np.asarray(im), expected)


def test_png_keeps_the_laid_out_size_under_a_tight_bbox_setting(tmp_path):
    fig = Figure(figsize=(3, 2))
    fig.add_subplot().plot([0, 1], [1, 0])
    with mpl.rc_context({"savefig.bbox": "tight"}):  # e.g. a user's matplotlibrc
        (path,) = save_figure(fig, tmp_path / "tight", formats=("png",))
    with Image.open(path) as im:
        assert im.size == (900, 600)


def test_png_rejects_a_render_of_another_size(tmp_path, monkeypatch):
    fig = Figure(figsize=(3, 2))
    fig.add_subplot().plot([0, 1], [1, 0])
    monkeypatch.setattr(save_mod, "_agg_size", lambda figure, dpi: (901, 600))
    with pytest.raises(RuntimeError, match="RGBA"):
        save_figure(fig, tmp_path / "odd", formats=("png",))
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_saving_twice_gives_the_same_bytes(tmp_path):
    res = funnel_plot(YI, VI, estimate=4.2, measure="MD", title="Funnel 中文")
    one = save_figure(res, tmp_path / "one", formats=("png", "pdf"), write_data=False)
    two = save_figure(res, tmp_path / "two", formats=("png", "pdf"), write_data=False)
    for a, b in zip(one, two):
        assert open(a, "rb").read() == open(b, "rb").read(), a


def _forest(k: int, seed: int, labels):
    rng = np.random.default_rng(seed)
    eff = pd.DataFrame({
        "study_id": [f"s{i}" for i in range(k)], "label": labels[:k], "outcome": "o",
        "comparison": "between_arms", "measure": "MD", "yi": rng.normal(3, 2, k),
        "vi": rng.uniform(2, 9, k), "n1": 20.0, "mean1": 30.5, "sd1": 9.25, "n2": 21.0,
        "mean2": 28.25, "sd2": 8.5,
    })
    return forest_plot(eff, None, outcome_cfg=outcome(label="Score", higher_is_better=True),
                       comparison="between_arms", measure="MD", **forest_options())


_LABELS = ["Smith 2019", "García 2020", "Ødegaard 2021", "Jones 2022", "Lee 2023", "王伟 2019",
           "Brown 2018", "Müller 2017"]

# Run in a fresh interpreter: the same figure written first in its process, or
# after others whose font subsets are then reused. The figures come from this
# module (``_forest``), imported by the child.
_PDF_RUN = textwrap.dedent("""
    import sys
    from pathlib import Path
    sys.path.insert(0, %r)
    from scimeta.plotting import save_figure
    from test_plotting_save import _LABELS as LABELS, _forest as forest

    out = Path(sys.argv[1])
    if sys.argv[2] == "after-others":
        save_figure(forest(6, 1, LABELS[2:]), out / "other1", formats=("pdf",))
        save_figure(forest(8, 2, LABELS), out / "other2", formats=("pdf",))
        save_figure(forest(5, 0, LABELS), out / "dup", formats=("pdf",))
    save_figure(forest(5, 0, LABELS), out / "target", formats=("pdf",))
""" % (str(Path(__file__).resolve().parent),))


def test_pdf_font_subsets_reused_in_a_process_give_the_same_bytes(tmp_path):
    outs = {}
    for mode in ("fresh", "after-others"):
        out = tmp_path / mode
        out.mkdir()
        subprocess.run([sys.executable, "-c", _PDF_RUN, str(out), mode],
                       check=True, cwd=tmp_path)
        outs[mode] = out
    fresh = (outs["fresh"] / "target.pdf").read_bytes()
    assert (outs["after-others"] / "target.pdf").read_bytes() == fresh
    assert (outs["after-others"] / "dup.pdf").read_bytes() == fresh


def test_pdf_font_subsets_are_made_once_per_glyph_set(tmp_path, monkeypatch):
    from fontTools import subset

    calls = []
    plain = subset.Subsetter.subset
    monkeypatch.setattr(subset.Subsetter, "subset",
                        lambda self, font: calls.append(1) or plain(self, font))
    monkeypatch.setattr(save_mod, "_FONT_SUBSETS", {})
    res = _forest(5, 0, _LABELS)
    first = save_figure(res, tmp_path / "a", formats=("pdf",))
    made = len(calls)
    assert made >= 1 and len(save_mod._FONT_SUBSETS) == made
    again = save_figure(res, tmp_path / "b", formats=("pdf",))
    assert len(calls) == made  # every subset reused
    assert open(first[0], "rb").read() == open(again[0], "rb").read()


def test_pdf_font_subset_fallbacks_give_the_same_bytes(tmp_path, monkeypatch):
    res = _forest(5, 0, _LABELS)

    def save(name):
        monkeypatch.setattr(save_mod, "_FONT_SUBSETS", {})
        (pdf,) = save_figure(res, tmp_path / name, formats=("pdf",), write_data=False)
        return open(pdf, "rb").read()

    ref = save("ref")
    with monkeypatch.context() as m:  # a font fontTools cannot read: subset from its file
        m.setattr(save_mod, "_stripped_font", lambda path, face_index: None)
        assert save("unreadable") == ref

    def refuse(data):
        raise TypeError("a path, please")

    with monkeypatch.context() as m:  # a matplotlib that wants a real path
        m.setattr(save_mod, "_FontData", refuse)
        assert save("refused") == ref


def _pdf_stream(pdf: bytes, obj: int) -> bytes:
    start = pdf.index(b"\n%d 0 obj\n" % obj)
    head_end = pdf.index(b"stream\n", start)
    head = pdf[start:head_end]
    body = pdf[head_end + len(b"stream\n"):]
    return zlib.decompressobj().decompress(body) if b"/FlateDecode" in head else body


def test_pdf_text_stays_text(tmp_path):
    from fontTools.ttLib import TTFont

    res = _forest(8, 3, _LABELS)
    (pdf_path,) = save_figure(res, tmp_path / "forest", formats=("pdf",), write_data=False)
    pdf = open(pdf_path, "rb").read()
    assert b"/CIDFontType2" in pdf and b"/Type3" not in pdf
    fonts = [int(n) for n in re.findall(rb"/FontFile2 (\d+) 0 R", pdf)]
    maps = [int(n) for n in re.findall(rb"/ToUnicode (\d+) 0 R", pdf)]
    assert fonts and len(maps) == len(fonts)
    text = ""
    for n in maps:
        cmap = _pdf_stream(pdf, n)
        assert b"beginbfrange" in cmap
        text += "".join(bytes.fromhex(h.decode()).decode("utf-16-be")
                        for h in re.findall(rb"<([0-9a-f]{4,})>", cmap.split(b"beginbfrange")[1]))
    assert set("SmithGarcíaØdegaard王伟2019") <= set(text)
    for n in fonts:
        font = TTFont(io.BytesIO(_pdf_stream(pdf, n)))
        assert not set(save_mod.PDF_DROPPED_FONT_TABLES) & set(font.keys())
        glyf = font["glyf"]
        order = font.getGlyphOrder()
        assert 1 < len(order) < 200  # a subset
        for name in order:
            glyf[name].getCoordinates(glyf)  # every outline decodes


def test_pdf_text_has_no_ligatures_and_one_subset_per_font(tmp_path):
    with figure_context():
        fig = Figure(figsize=(3, 1))
        fig.text(0.1, 0.5, "Heterogeneity: significant fluff in the office")
        fig.text(0.1, 0.2, "Study Mean SD", fontweight="bold")
    (path,) = save_figure(fig, tmp_path / "liga", formats=("pdf",))
    fonts = re.findall(rb"/BaseFont /\w+\+([\w-]+)", open(path, "rb").read())
    # each font is named by its Type 0 dict and its CID font dict: one subset each
    assert sorted(fonts) == [b"DejaVuSans", b"DejaVuSans", b"DejaVuSans-Bold", b"DejaVuSans-Bold"]
