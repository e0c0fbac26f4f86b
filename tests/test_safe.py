"""Review text made safe for each place it lands, and files written whole or not at all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from docutils.core import publish_parts

from scimeta import io as sio
from scimeta.safe import (
    neutralise_cell,
    read_param,
    report_labels,
    report_param,
    report_text,
    rst_text,
)

PAYLOADS = [
    "<script>alert('x')</script>",
    "</SCRIPT><svg onload=alert(1)>",
    "<!--<script>",
    'a "quoted" & \'single\' `tick` \\ back',
    "line\nbreak\r\n.. raw:: html\n\n   <b>x</b>",
    "\u2028sep\u2029",
]


@pytest.mark.parametrize("text", PAYLOADS)
def test_report_text_has_no_markup_characters_and_one_line(text):
    out = report_text(text)
    assert not set(out) & set("<>&\"'`\\\n\r\t\u2028\u2029")
    # the words stay readable
    for word in ("script", "alert", "svg", "raw", "quoted", "sep"):
        if word in text.lower():
            assert word in out.lower()


def test_report_labels_keys_and_values():
    assert report_labels({"outcome": "<b>", "measure": "MD"}) == {
        "outcome": report_text("<b>"), "measure": "MD"}
    assert report_text(None) == ""


def test_report_param_round_trips_and_carries_no_markup():
    value = {"b": {"label": "<script>alert('x')</script> & \u2028", "scale": [0, 100.5]},
             "a": True}
    text = report_param(value)
    assert not set(text) & set("<>&'\u2028\u2029")
    assert read_param(text) == value
    # keys sorted: equal values give equal strings (Snakemake re-runs on a change only)
    assert report_param(dict(reversed(list(value.items())))) == text


@pytest.mark.parametrize("text", [
    "`x <javascript:alert(1)>`_",
    "javascript:alert(1)",
    "a\n\n.. raw:: html\n\n   <script>alert(3)</script>",
    "*bold* **strong** |sub| [1]_ :math:`x` http://example.org",
])
def test_rst_text_renders_as_the_text_itself(text):
    body = publish_parts(f"Outcome: {rst_text(text)}", writer="html",
                         settings_overrides={"report_level": 5})["body"]
    assert "<script" not in body and "<a " not in body and "<em" not in body
    assert "<strong" not in body and "raw" not in body.split("Outcome:")[0]
    flat = " ".join(text.split())
    visible = (body.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
               .replace("&amp;", "&"))
    assert flat in " ".join(visible.split())


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+cmd", "'+cmd"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("-1.5", "-1.5"), ("+3", "+3"), ("1e-3", "1e-3"),
    ("plain", "plain"), (3.5, 3.5),
])
def test_neutralise_cell(value, expected):
    assert neutralise_cell(value) == expected


def test_write_csv_neutralises_headers_keeps_numeric_ones(tmp_path):
    df = pd.DataFrame({'=HYPERLINK("http://evil.example/h","h")': ["=x", "-1.5"],
                       "-2": [1.0, -2.5], "@a": ["@b", "ok"]})
    path = tmp_path / "t.csv"
    sio.write_csv(df, path)
    header = path.read_text(encoding="utf-8").splitlines()[0]
    assert header == "\"'=HYPERLINK(\"\"http://evil.example/h\"\",\"\"h\"\")\",-2,'@a"
    back = pd.read_csv(path, dtype=str)
    assert back["-2"].tolist() == ["1.0", "-2.5"]
    assert back.iloc[:, 0].tolist() == ["'=x", "-1.5"]
    assert back["'@a"].tolist() == ["'@b", "ok"]


def test_atomic_write_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")

    def fail(fh):
        fh.write(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        sio.atomic_write(target, fail)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]


def test_atomic_write_killed_while_writing_leaves_no_file(tmp_path):
    target = tmp_path / "figure.png"
    code = (
        "import sys, time\n"
        "from scimeta.io import atomic_write\n"
        "def slow(fh):\n"
        "    fh.write(b'x' * 100000); fh.flush(); print('writing', flush=True); time.sleep(60)\n"
        f"atomic_write({str(target)!r}, slow)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    if sys.platform.startswith("linux"):  # an unnamed file (O_TMPFILE): nothing to see
        assert list(tmp_path.iterdir()) == []
    else:
        assert not target.exists()


def test_stale_temporary_files_are_removed_at_the_next_write(tmp_path):
    target = tmp_path / "table.csv"
    stale = tmp_path / f".table.csv.dead1234{sio.TEMP_SUFFIX}"
    fresh = tmp_path / f".table.csv.live5678{sio.TEMP_SUFFIX}"
    other = tmp_path / f".other.csv.dead1234{sio.TEMP_SUFFIX}"
    for p in (stale, fresh, other):
        p.write_bytes(b"")
    old = time.time() - 2 * sio.STALE_TEMP_SECONDS
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    sio.write_text("a\n", target)
    assert not stale.exists()  # a killed writer's leftover
    assert fresh.exists() and other.exists()  # maybe being written; another file's
    assert target.read_text() == "a\n"
    assert oct(target.stat().st_mode & 0o777) == oct(sio._FILE_MODE)
