"""Text from a review, made safe for the place it lands.

Every text of a review (outcome labels and units, study fields, population
names, column headers, sources, quotes, notes) is data, never code, in every
reader's tool. Each output has its own rule, and each rule lives here:

* **CSV cells and headers** (:func:`neutralise_cell`): text a spreadsheet would
  run as a formula gets a leading apostrophe (OWASP's advice on CSV
  injection); numbers such as ``-1.5`` stay numbers.
* **HTML text and attributes** (:func:`html_escape`): ``& < > " '`` become
  character references (the audit page).
* **The Snakemake report** (:func:`report_text`, :func:`report_param`):
  Snakemake writes the labels, categories and parameters of every result as
  JSON inside ``<script>`` blocks of ``report.html`` without escaping them;
  a ``</script>`` in a label would end the block and whatever follows would be
  parsed as HTML. Labels are shown as text, so :func:`report_text` replaces
  the characters that HTML, JSON-in-script and reStructuredText give a meaning
  (``< > & " ' `` and line breaks) with look-alikes; parameters must reach the
  job unchanged, so :func:`report_param` encodes them as JSON with those
  characters as ``\\uXXXX`` escapes (:func:`read_param` decodes them).
* **reStructuredText** (:func:`rst_text`): for any review text placed into a
  caption; inline markup, hyperlinks and directives are escaped so the text
  reads as written.

SVG, PNG and PDF text is drawn by matplotlib, which escapes it in SVG.
"""

from __future__ import annotations

import html
import json
import math
import re

__all__ = [
    "FORMULA_PREFIXES",
    "neutralise_cell",
    "html_escape",
    "report_text",
    "report_labels",
    "report_param",
    "read_param",
    "rst_text",
]

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _is_number_text(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def neutralise_cell(value):
    """Prefix ``'`` to text that a spreadsheet would run as a formula (CSV injection).

    Text starting with ``= + - @``, tab or carriage return gets a leading
    apostrophe; text that is a plain number (``-4.5``) and non-text values are
    returned unchanged. Used for every cell and every header of every CSV the
    library writes.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not _is_number_text(value):
        return "'" + value
    return value


def html_escape(value) -> str:
    """Escape text for HTML output (``& < > " '``); None and NaN become ''."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value), quote=True)


#: What :func:`report_text` puts in place of each character with a meaning in
#: HTML, in JavaScript strings inside a script block, or in reStructuredText.
REPORT_LOOKALIKES = {
    "<": "\u2039",  # single left-pointing angle quotation mark
    ">": "\u203a",  # single right-pointing angle quotation mark
    "&": "\uff06",  # fullwidth ampersand
    '"': "\u201d",  # right double quotation mark
    "'": "\u2019",  # right single quotation mark
    "`": "\u2018",  # left single quotation mark
    "\\": "\u29f5",  # reverse solidus operator
}
_CONTROL = re.compile("[\x00-\x1f\x7f\u2028\u2029]+")
_REPORT_TABLE = str.maketrans(REPORT_LOOKALIKES)


def report_text(value) -> str:
    """A review text as it may appear in the Snakemake report (labels, categories).

    Line breaks and other control characters become one space (so no text
    can start a reStructuredText directive such as ``.. raw:: html``), and
    ``< > & " ' ` \\`` become look-alike characters (:data:`REPORT_LOOKALIKES`),
    so the text can close no script block (``</script``), open no comment
    (``<!--``) and make no element, attribute or hyperlink, wherever
    Snakemake puts it. None becomes ''.
    """
    if value is None:
        return ""
    return _CONTROL.sub(" ", str(value)).translate(_REPORT_TABLE).strip()


def report_labels(labels: dict) -> dict:
    """:func:`report_text` applied to every value (and key) of a report ``labels`` dict."""
    return {report_text(k): report_text(v) for k, v in labels.items()}


_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027",
                 "\u2028": "\\u2028", "\u2029": "\\u2029"}
_JSON_ESCAPE = re.compile("[<>&'\u2028\u2029]")


def report_param(value) -> str:
    """A rule parameter holding review text, as a string the report can show safely.

    JSON (keys sorted, so equal values give equal strings and Snakemake
    re-runs a job exactly when the value changed) with ``< > & '`` written as
    ``\\uXXXX`` escapes; :func:`read_param` gives back the value unchanged.
    """
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)
    return _JSON_ESCAPE.sub(lambda m: _JSON_ESCAPES[m.group()], text)


def read_param(text: str):
    """The value :func:`report_param` encoded (a job reads its parameter back)."""
    return json.loads(text)


_RST_SPECIAL = re.compile(r"([\\`*_|\[\]<>:{}#=~^+-])")


def rst_text(value) -> str:
    """A review text for a reStructuredText caption: shown as written, never markup.

    Control characters become spaces (no directive can start a line) and
    every character with an inline-markup meaning is backslash-escaped,
    including ``:`` (no ``javascript:`` link is recognised) and ``<>``.
    """
    if value is None:
        return ""
    return _RST_SPECIAL.sub(r"\\\1", _CONTROL.sub(" ", str(value)).strip())
