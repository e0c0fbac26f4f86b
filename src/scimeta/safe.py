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
* **Markdown to HTML** (:func:`markdown_html`): the methods text
  (``results/methods.md``, whose review texts are escaped by
  :func:`scimeta.methods.md_escape`) rendered for the HTML report: headings,
  lists, paragraphs, ``**bold**``, ``*italic*`` and ``code`` only; every
  ``<`` and ``>`` is escaped and every ``&`` that does not start a character
  reference, so the text can make no element, whatever it holds.

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
    "markdown_html",
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


_CHAR_REF = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});")
_MD_ESCAPABLE = set("\\`*_[]#|~")


def _html_text_keeping_refs(text: str) -> str:
    """``< >`` escaped, and every ``&`` that does not start a character reference."""
    out, i = [], 0
    for m in _CHAR_REF.finditer(text):
        out.append(html.escape(text[i:m.start()], quote=False))
        out.append(m.group())
        i = m.end()
    out.append(html.escape(text[i:], quote=False))
    return "".join(out)


def _md_inline(text: str) -> str:
    out: list[str] = []
    plain: list[str] = []
    open_tags: list[str] = []

    def flush():
        out.append(_html_text_keeping_refs("".join(plain)))
        plain.clear()

    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in _MD_ESCAPABLE:
            plain.append(text[i + 1])
            i += 2
            continue
        if ch == "`":
            end = text.find("`", i + 1)
            if end > i:
                flush()
                out.append("<code>" + _html_text_keeping_refs(text[i + 1:end]) + "</code>")
                i = end + 1
                continue
        if ch == "*":
            tag = "strong" if text.startswith("**", i) else "em"
            flush()
            if open_tags and open_tags[-1] == tag:
                out.append(f"</{open_tags.pop()}>")
            else:
                out.append(f"<{tag}>")
                open_tags.append(tag)
            i += 2 if tag == "strong" else 1
            continue
        plain.append(ch)
        i += 1
    flush()
    out += [f"</{t}>" for t in reversed(open_tags)]
    return "".join(out)


def markdown_html(text: str, *, heading_offset: int = 0) -> str:
    """The Markdown of the methods text as HTML; no input can make an element or attribute.

    Reads ``#`` headings (level + ``heading_offset``, at most 6), ``- `` list
    items, blank-line separated paragraphs, and inline ``**bold**``,
    ``*italic*``, ```code``` and backslash escapes. Text is escaped as
    :func:`_html_text_keeping_refs` says: character references already in the
    text (what :func:`scimeta.methods.md_escape` writes for ``<`` in a review
    text) are kept, so they show the character they stand for.
    """
    blocks: list[str] = []
    para: list[str] = []
    items: list[str] = []

    def end_para():
        if para:
            blocks.append("<p>" + _md_inline(" ".join(para)) + "</p>")
            para.clear()

    def end_list():
        if items:
            blocks.append("<ul>" + "".join(f"<li>{_md_inline(t)}</li>" for t in items) + "</ul>")
            items.clear()

    for line in str(text).splitlines():
        stripped = line.strip()
        heading = re.match(r"^(#{1,6})\s+(.*)$", stripped)
        if not stripped:
            end_para()
            end_list()
        elif heading:
            end_para()
            end_list()
            level = min(6, len(heading.group(1)) + heading_offset)
            blocks.append(f"<h{level}>{_md_inline(heading.group(2))}</h{level}>")
        elif stripped.startswith("- "):
            end_para()
            items.append(stripped[2:])
        elif items and line.startswith("  "):
            items[-1] += " " + stripped
        else:
            end_list()
            para.append(stripped)
    end_para()
    end_list()
    return "\n".join(blocks)
