"""Reported statistics found in article text, with exact positions, for a reviewer to confirm.

:func:`extract_text` reads plain text, Markdown or HTML (UTF-8, with or without
BOM) and returns one :class:`Candidate` per reported statistic: where it is
(``start``, ``end``: offsets in Unicode code points into the text as decoded,
BOM excluded, line ends as in the file; for HTML into the raw HTML source, so
``source[start:end] == text`` always holds on the file as read), what it is
(``kind``), its numbers exactly as printed, and its context (sentence, outcome,
population, time point, baseline → follow-up pairs, table headers).

Nothing here guesses a number: a value with a decimal comma (``40,7``) is
flagged and left empty; ``N (N)`` without a declaration such as "mean (SD)"
in its sentence, paragraph or table is not read at all. Dates, citations
("16, 226 (2025)"), DOIs, URLs, phone numbers, reference markers ("[1]",
"³") and ages are never candidates.

:func:`draft_outcomes` turns candidates into rows of the ``outcomes.csv``
format (``quote`` = the sentence, ``source`` = ``file:start-end``); they are
drafts for a reviewer, never read by the pipeline. :func:`source_text` and
:func:`normalise_quote` define the provenance check of the audit: a quote is
found in its study's text when ``normalise_quote(quote)`` is a substring of
``normalise_quote(source_text(...))``.
"""

from __future__ import annotations

import bisect
import html
import re
import unicodedata
from dataclasses import dataclass, fields, replace
from pathlib import Path

from scimeta.limits import MAX_SOURCE_BYTES, InputError, read_limited

__all__ = [
    "Candidate",
    "CANDIDATE_COLUMNS",
    "DRAFT_COLUMNS",
    "KINDS",
    "SOURCES_DIR",
    "SOURCE_SUFFIXES",
    "SourceText",
    "TextError",
    "decode",
    "draft_outcomes",
    "extract_file",
    "extract_text",
    "KindScore",
    "normalise_quote",
    "outcome_terms",
    "p_values",
    "QuotedP",
    "read_sources",
    "score",
    "source_text",
]

KINDS = (
    "mean_sd",
    "mean_se",
    "mean_ci",
    "median_iqr",
    "median_range",
    "n",
    "percent",
    "p_value",
    "change",
)
#: Suffixes of the texts read: HTML is parsed, anything else is plain text (Markdown tables too).
SOURCE_SUFFIXES = (".txt", ".md", ".html", ".htm")
HTML_SUFFIXES = (".html", ".htm")


class TextError(ValueError):
    """A text that cannot be read; the message names ``file:line:column``."""


# --------------------------------------------------------------------------- reading
def decode(data: bytes, name: str) -> str:
    """UTF-8 bytes as text: a leading BOM dropped, line ends kept as they are.

    Raises :class:`TextError` naming ``file:line:column`` of the first invalid byte.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        good = data[: err.start].decode("utf-8", errors="replace")
        line = good.count("\n") + 1
        col = len(good) - (good.rfind("\n") + 1) + 1
        raise TextError(
            f"{name}:{line}:{col}: not UTF-8 (byte 0x{data[err.start]:02x}); "
            "save the text as UTF-8"
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


# --------------------------------------------------------------------------- views
# The text is matched in a "view": one entry per visible character, each knowing the
# source span it stands for. Plain text maps 1:1; HTML drops tags (block tags become
# blank lines, table cells " | "), decodes entities and keeps sub/superscripts apart.
_BLOCK_TAGS = frozenset(
    "p div br li ul ol h1 h2 h3 h4 h5 h6 table thead tbody tfoot tr caption section article "
    "header footer blockquote pre figure figcaption dl dt dd hr title body".split()
)
_CELL_TAGS = frozenset({"td", "th"})
_SKIP_TAGS = frozenset({"script", "style", "head", "noscript", "template"})
_SUP_DIGITS = str.maketrans("0123456789+-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻")
_SUB_DIGITS = str.maketrans("0123456789+-", "₀₁₂₃₄₅₆₇₈₉₊₋")
_HTML_TOKEN = re.compile(
    r"<!--.*?(?:-->|\Z)|<![^>]*>|<\?[^>]*>|<(/?)([A-Za-z][A-Za-z0-9]*)\b[^>]*?(/?)>"
    r"|&(?:#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);?",
    re.S,
)


@dataclass
class _Cell:
    start: int  # view offsets
    end: int
    header: bool
    row: int
    col: int
    span: int = 1  # colspan

    def covers(self, col: int) -> bool:
        return self.col <= col < self.col + self.span


@dataclass
class _Table:
    caption: tuple[int, int] | None
    cells: list


class _View:
    """Visible characters of a text with the source span of each."""

    def __init__(self):
        self.chars: list[str] = []
        self.src_start: list[int] = []
        self.src_end: list[int] = []
        self.tables: list[_Table] = []

    def add(self, s: str, start: int, end: int, per_char: bool):
        for i, c in enumerate(s):
            self.chars.append(c)
            if per_char:
                self.src_start.append(start + i)
                self.src_end.append(start + i + 1)
            else:
                self.src_start.append(start)
                self.src_end.append(end)

    def sep(self, s: str, at: int):
        """Characters standing for markup: they map to an empty span at ``at``."""
        self.add(s, at, at, per_char=False)

    @property
    def text(self) -> str:
        return "".join(self.chars)

    def span(self, a: int, b: int) -> tuple[int, int]:
        """Source span of view characters a..b-1."""
        return self.src_start[a], self.src_end[b - 1]


def _plain_view(text: str) -> _View:
    v = _View()
    v.chars = list(text)
    v.src_start = list(range(len(text)))
    v.src_end = list(range(1, len(text) + 1))
    v.tables = _markdown_tables(text)
    return v


def _markdown_tables(text: str) -> list[_Table]:
    """Markdown pipe tables: a header row, a ``|---|`` rule, then body rows."""
    tables: list[_Table] = []
    lines = []
    pos = 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        lines.append((pos, body))
        pos += len(line)
    i = 0
    rule = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
    while i < len(lines):
        start, body = lines[i]
        if "|" in body and i + 1 < len(lines) and rule.match(lines[i + 1][1]):
            cells: list[_Cell] = []
            caption = None
            if i > 0 and lines[i - 1][1].strip():
                cap_start, cap = lines[i - 1]
                caption = (cap_start, cap_start + len(cap))
            row = 0
            j = i
            while j < len(lines) and "|" in lines[j][1]:
                if j != i + 1:  # the |---| rule is no row
                    ls, lb = lines[j]
                    for col, (a, b) in enumerate(_pipe_cells(lb)):
                        a, b = ls + a, ls + b
                        cells.append(_Cell(a, b, header=(j == i), row=row, col=col))
                    row += 1
                j += 1
            tables.append(_Table(caption, cells))
            i = j
        else:
            i += 1
    return tables


def _pipe_cells(line: str) -> list[tuple[int, int]]:
    """Spans of the cells of a Markdown table row (outer pipes optional, `\\|` kept)."""
    bounds = [m.start() for m in re.finditer(r"(?<!\\)\|", line)]
    lead = len(line) - len(line.lstrip())
    tail = len(line.rstrip())
    edges = [lead - 1 if not bounds or bounds[0] != lead else lead]
    edges += [b for b in bounds if lead < b < tail - 1 or (b == tail - 1 and b != lead)]
    if not bounds or bounds[-1] != tail - 1:
        edges.append(tail)
    spans = []
    for x, y in zip(edges, edges[1:]):
        a, b = x + 1, y
        while a < b and line[a].isspace():
            a += 1
        while b > a and line[b - 1].isspace():
            b -= 1
        spans.append((a, b))
    return spans


def _html_view(src: str) -> _View:
    v = _View()
    pos = 0
    skip: str | None = None
    sup = sub = 0
    table_stack: list[dict] = []
    cell_start: int | None = None
    cell_header = False
    cell_span = 1
    caption_start: int | None = None

    def text_run(a: int, b: int):
        chunk = src[a:b]
        chunk = chunk.translate(_SUP_DIGITS) if sup else chunk.translate(_SUB_DIGITS) if sub else chunk
        v.add(chunk, a, b, per_char=True)

    def close_cell(at: int):
        nonlocal cell_start
        if cell_start is not None and table_stack:
            t = table_stack[-1]
            a, b = cell_start, len(v.chars)
            while a < b and v.chars[a].isspace():
                a += 1
            while b > a and v.chars[b - 1].isspace():
                b -= 1
            t["cells"].append(_Cell(a, b, cell_header, t["row"], t["col"], cell_span))
            t["col"] += cell_span
        cell_start = None

    for m in _HTML_TOKEN.finditer(src):
        if m.start() > pos and skip is None:
            text_run(pos, m.start())
        pos = m.end()
        tok = m.group(0)
        if tok.startswith("&"):
            if skip is None:
                dec = html.unescape(tok)
                if dec == tok:
                    v.add(tok, m.start(), m.end(), per_char=True)
                else:
                    dec = dec.translate(_SUP_DIGITS) if sup else dec
                    v.add(dec, m.start(), m.end(), per_char=False)
            continue
        name = (m.group(2) or "").lower()
        if not name:
            continue  # comment, doctype, processing instruction
        closing = m.group(1) == "/"
        if skip is not None:
            if closing and name == skip:
                skip = None
            continue
        if name in _SKIP_TAGS and not closing and not m.group(3):
            skip = name
            continue
        if name == "sup":
            sup += -1 if closing else 1
            sup = max(sup, 0)
        elif name == "sub":
            sub += -1 if closing else 1
            sub = max(sub, 0)
        elif name == "table":
            if closing:
                close_cell(m.start())
                if table_stack:
                    t = table_stack.pop()
                    v.tables.append(_Table(t["caption"], t["cells"]))
            else:
                table_stack.append({"caption": None, "cells": [], "row": -1, "col": 0})
            v.sep("\n\n", m.start())
        elif name == "caption":
            if closing and caption_start is not None and table_stack:
                table_stack[-1]["caption"] = (caption_start, len(v.chars))
                caption_start = None
            v.sep("\n\n", m.start())
            if not closing:
                caption_start = len(v.chars)
        elif name == "tr":
            close_cell(m.start())
            v.sep("\n\n", m.start())
            if not closing and table_stack:
                table_stack[-1]["row"] += 1
                table_stack[-1]["col"] = 0
        elif name in _CELL_TAGS:
            close_cell(m.start())
            if not closing:
                if table_stack and table_stack[-1]["col"] > 0:
                    v.sep(" | ", m.start())
                cell_start = len(v.chars)
                cell_header = name == "th"
                span = re.search(r"""colspan\s*=\s*["']?(\d+)""", tok, re.I)
                cell_span = max(1, min(int(span.group(1)), 1000)) if span else 1
        elif name in _BLOCK_TAGS:
            if not (table_stack and cell_start is not None):
                v.sep("\n\n", m.start())
            else:
                v.sep(" ", m.start())
    if pos < len(src) and skip is None:
        text_run(pos, len(src))
    while table_stack:
        t = table_stack.pop()
        v.tables.append(_Table(t["caption"], t["cells"]))
    v.tables.sort(key=lambda t: t.cells[0].start if t.cells else 0)
    return v


def _view(text: str, is_html: bool) -> _View:
    return _html_view(text) if is_html else _plain_view(text)


# --------------------------------------------------------------------------- typography
# Matching runs on a translation of the view (same length): full-width forms, minus
# signs, thin and no-break spaces and wave dashes become their ASCII counterparts.
_FULLWIDTH = {chr(0xFF01 + i): chr(0x21 + i) for i in range(0x5E)}
_TRANSLATE = str.maketrans(
    {
        **_FULLWIDTH,
        "\u2212": "-",  # minus sign
        "\u2010": "-",
        "\u2011": "-",
        "\u00a0": " ",
        "\u2002": " ",
        "\u2003": " ",
        "\u2004": " ",
        "\u2005": " ",
        "\u2006": " ",
        "\u2007": " ",
        "\u2008": " ",
        "\u2009": " ",
        "\u200a": " ",
        "\u202f": " ",
        "\u205f": " ",
        "\u3000": " ",
        "\u301c": "~",  # wave dash
        "\uff5e": "~",  # full-width tilde (also in _FULLWIDTH)
        "\u2264": "≤",
        "\u00b1": "±",
        "\u3001": ",",  # ideographic comma
        "\uff0c": ",",
        "\u3002": "。",
    }
)

# Spans never read: DOIs, URLs, e-mail addresses, phone numbers, dates, reference
# markers. They are blanked (letters, so no number touches them) before matching.
_MASKS = re.compile(
    r"(?i:\bdoi\s*:?\s*)?\b10\.\d{4,9}/\S+"
    r"|(?i:https?://|www\.)\S+"
    r"|[\w.+-]+@[\w-]+\.[\w.-]+"
    r"|(?i:\b(?:tel|phone|fax|mobile)\b\.?|电话|電話|传真|傳真|手机|手機)\s*[:：]?\s*\+?[\d(][\d\s()+-]{5,}\d"
    r"|\+\d{1,3}[\s-]?\(?\d{1,4}\)?(?:[\s-]\d{2,4}){2,}"
    r"|(?<![\d.])(?:19|20)\d{2}\s*[-/.]\s*\d{1,2}\s*[-/.]\s*\d{1,2}(?!\d)"
    r"|(?<![\d.])\d{1,2}/\d{1,2}/(?:19|20)\d{2}(?!\d)"
    r"|(?:(?:19|20)\d{2}\s*年\s*)?\d{1,2}\s*月\s*\d{1,2}\s*[日号號]"
    r"|(?:(?:19|20)\d{2}\s*年\s*)\d{1,2}\s*月"
    r"|(?i:\b\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(?:19|20)\d{2})"
    r"|(?i:\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2},?\s+(?:19|20)\d{2})"
    r"|(?<!\d\s)(?<!\d)\[\s*\d+(?:\s*[,\u2013\u2014-]\s*\d+)*\s*\]"
)
# A citation's volume, page and year: "16, 226 (2025)", "12(29):e04154", "5:104207 (2025)".
_CITATION = re.compile(
    r"(?<![\d.])\d{1,4}\s*(?:\(\d{1,3}\))?\s*[,:]\s*e?\d{1,6}(?:\s*[-\u2013]\s*\d{1,6})?\s*\(\s*(?:19|20)\d{2}\s*\)"
    r"|(?<![\d.])(?:19|20)\d{2}\s*;\s*\d{1,4}\s*(?:\(\d{1,3}\))?\s*:\s*e?\d{1,6}"
)


def _match_text(view: _View) -> str:
    t = view.text.translate(_TRANSLATE)
    chars = list(t)
    for rx in (_MASKS, _CITATION):
        for m in rx.finditer("".join(chars)):
            for i in range(m.start(), m.end()):
                if not chars[i].isspace():
                    chars[i] = "x"
    return "".join(chars)


# --------------------------------------------------------------------------- patterns
_N = r"(?<![0-9A-Za-z.\u2070-\u209f\u00b2\u00b3\u00b9])[-+]?(?:\d+\.\d+|\d+,\d+|\d+|\.\d+)(?![0-9])(?!\.\d)"
_NUM = r"(?P<{}>" + _N + r")"
_PM_SIGN = r"(?:±|\+\s*/\s*-|\+-|∓)"
_PM = r"\s*" + _PM_SIGN + r"\s*"
_RANGE = r"\s*(?:-{1,2}|\u2013|\u2014|~|to|至|到|,|;)\s*"
_OPEN = r"\s*[(\[]\s*"
_CLOSE = r"\s*[)\]]"
_SE_WORD = r"(?:SEM|SE|S\.E\.M?\.?|s\.e\.m?\.?|standard error(?: of the mean)?|标准误|標準誤)"
_SD_WORD = r"(?:SD|S\.D\.|s\.d\.|standard deviation|标准差|標準差)"
_CI_WORD = r"(?:CI|C\.I\.|confidence interval|置信区间|置信區間|可信区间|可信區間)"
_IQR_WORD = r"(?:IQR|interquartile range|四分位(?:数|數)?(?:间距|間距|距)|P25\s*[,~-]\s*P75)"
_RANGE_WORD = r"(?:range|min(?:imum)?\s*[-\u2013,]\s*max(?:imum)?|范围|範圍|全距|极差|極差)"
_LEVEL = r"(?:(?P<level>\d{2}(?:\.\d+)?)\s*%\s*)"
_UNITS = r"分|points?|pts?\b|W\b|kg\b|cm\b|mm\b|ms\b|m/s\b|mL\b|ml\b|mg\b|μV\b|mV\b|Hz\b|s\b"
_UNIT = r"(?:\s*(?P<unit>" + _UNITS + r"))?"
_UNIT_AFTER = r"(?:\s*(?P<unit_after>" + _UNITS + r"))?"


def _rx(p: str) -> re.Pattern:
    return re.compile(p)


def _num(name: str) -> str:
    return _NUM.format(name)


_EST = _num("est")
# (kind or None for "decided by declaration", pattern); the earliest, longest match wins
_PATTERNS: list[tuple[str | None, str, re.Pattern]] = [
    (
        "mean_ci",
        "ci",
        _rx(
            _EST + _UNIT + r"\s*[,;]?" + r"(?:" + _OPEN + r")?" + _LEVEL + r"?" + _CI_WORD
            + r"\s*[:=,]?\s*" + _num("low") + _RANGE + _num("high") + r"(?:" + _CLOSE + r")?"
        ),
    ),
    (
        "median_iqr",
        "iqr",
        _rx(_EST + _UNIT + _OPEN + _IQR_WORD + r"\s*[:=,]?\s*" + _num("low") + _RANGE + _num("high") + _CLOSE),
    ),
    (
        "median_range",
        "range",
        _rx(_EST + _UNIT + _OPEN + _RANGE_WORD + r"\s*[:=,]?\s*" + _num("low") + _RANGE + _num("high") + _CLOSE),
    ),
    ("mean_se", "se_word", _rx(_EST + _UNIT + _OPEN + _SE_WORD + r"\s*[:=]?\s*" + _num("spread") + _CLOSE + _UNIT_AFTER)),
    ("mean_sd", "sd_word", _rx(_EST + _UNIT + _OPEN + _SD_WORD + r"\s*[:=]?\s*" + _num("spread") + _CLOSE + _UNIT_AFTER)),
    (
        None,
        "pm",
        _rx(
            _EST + _OPEN + _PM_SIGN + r"\s*" + _num("spread") + _CLOSE + _UNIT
            + r"(?:\s*\(\s*(?P<label>" + _SE_WORD + "|" + _SD_WORD + r")\s*\))?"
        ),
    ),
    (
        None,
        "pm",
        _rx(
            _EST + _PM + _num("spread") + _UNIT
            + r"(?:\s*\(?\s*(?P<label>" + _SE_WORD + "|" + _SD_WORD + r")\b\s*\)?)?"
        ),
    ),
    (None, "bare_range", _rx(_EST + _UNIT + _OPEN + _num("low") + _RANGE + _num("high") + _CLOSE)),
    (None, "bare", _rx(_EST + _UNIT + _OPEN + _num("spread") + _CLOSE)),
    (
        "p_value",
        "p",
        _rx(
            r"(?<![A-Za-z])[pP](?:\s*-?\s*value|值)?\s*(?P<rel><=|>=|≤|≥|<|>|=)\s*"
            + r"(?P<est>(?:0?\.\d+|[01](?:\.\d+)?)(?:\s*[x×]\s*10\s*[-⁻]\s*\d+)?)(?![0-9])"
        ),
    ),
    (
        "n",
        "n",
        _rx(r"(?<![A-Za-z])[nN]\s*=\s*" + _num("est") + r"(?![.,]?\d)"),
    ),
    (
        "n",
        "n",
        _rx(
            _num("est")
            + r"\s*(?:patients|participants|subjects|cases|individuals|例(?:患者|病人|受试者)?|名(?:患者|病人|受试者))"
        ),
    ),
    ("percent", "percent", _rx(_num("est") + r"\s*%(?!\s*(?:CI|C\.I\.|confidence|置信|可信))")),
    (
        "change",
        "change",
        _rx(
            r"(?i:(?:improved|increased|decreased|declined|rose|fell|gained|changed|improvement|increase"
            r"|decrease|reduction|gain|change)(?: from baseline)?\s+(?:of|by|was|:)\s+(?:a mean of\s+)?)"
            + _num("est") + _UNIT
            + r"|(?:提高|增加|改善|下降|降低|提升|升高|减少|減少)了?\s*" + _num("est2") + r"\s*(?P<unit2>分)?"
            + r"|(?<=\s)(?P<est3>\+\d+(?:\.\d+)?)(?![0-9.%±])"
        ),
    ),
]
_PRIORITY = {
    "ci": 0, "iqr": 0, "range": 0, "se_word": 1, "sd_word": 1, "pm": 2, "bare_range": 3,
    "bare": 3, "p": 4, "n": 5, "percent": 6, "change": 7,
}

# Declarations of what "N (N)" and "N ± N" mean, in a sentence, paragraph or table header.
_DECLARATIONS = [
    ("se", re.compile(
        r"(?i:mean\s*(?:±|\+/-|\(|\[)\s*(?:SEM|SE|S\.E\.M?\.?|standard error))|均数\s*±\s*标准误|均數\s*±\s*標準誤"
        r"|x̄\s*±\s*s[x̄]|均值\s*±\s*标准误|平均值\s*±\s*标准误")),
    ("sd", re.compile(
        r"(?i:mean\s*(?:±|\+/-|\(|\[)\s*(?:SD|S\.D\.|standard deviation))|均数\s*±\s*标准差|均數\s*±\s*標準差"
        r"|均值\s*±\s*标准差|平均值\s*[(（]\s*标准差|x̄\s*±\s*s(?![x̄])|\bx\s*±\s*s\b")),
    ("iqr", re.compile(
        r"(?i:median\s*[(\[]\s*(?:IQR|interquartile range|Q1\s*[-,\u2013]\s*Q3))|中位数\s*[(（]\s*(?:四分位|IQR)"
        r"|中位數\s*[(（]\s*(?:四分位|IQR)|M\s*[(（]\s*P25\s*[,，]\s*P75")),
    ("range", re.compile(r"(?i:median\s*[(\[]\s*(?:range|min\s*[-\u2013,]\s*max))|中位数\s*[(（]\s*(?:范围|全距)")),
    ("count", re.compile(r"(?i:\bn\s*\(\s*%\s*\)|no\.\s*\(\s*%\s*\)|number\s*\(\s*%\s*\))|例\s*[(（]\s*%")),
    ("ci", re.compile(r"(?i:\(\s*95\s*%\s*CI\s*\)|mean difference\s*\(\s*95)")),
]
_DECL_KIND = {"se": "mean_se", "sd": "mean_sd", "iqr": "median_iqr", "range": "median_range", "ci": "mean_ci"}
_N_HEADER = re.compile(r"(?i:n|no\.?|number|patients)|例数|例數|人数|人數")
_AGE = re.compile(r"(?i:\bage[ds]?\b|\baged\b)|年龄|年齡")
_AGE_UNIT = re.compile(r"\s*(?:(?i:years?|yrs?|y/o)\b|岁|歲)")
_YEAR = re.compile(r"(?:19|20)\d{2}")
_CHANGE_WORDS = re.compile(
    r"(?i:\bchanged?\b|\bchanges\b|\bimprove(?:d|ment)\s+(?:by|of)\b|\bgain(?:ed)?\s+(?:by|of)\b"
    r"|\b(?:increase|decrease)d?\s+(?:by|of)\b)|变化|變化|提高了|增加了|改善了|下降了|降低了")
_DIFFERENCE_WORDS = re.compile(r"(?i:\bdifference\b|\bbetween[- ]group)|组间差|組間差|差值")


#: The pattern of a reported p-value (``p_value`` candidates): "p < 0.001", "P = 0.059",
#: "P<.05", "p=.03", "p-value = 0.2", "P值<0.05", full-width "P＜0.01" (read through
#: :data:`_TRANSLATE`), "p = 1.2 × 10-3".
_P_VALUE = next(rx for kind, name, rx in _PATTERNS if name == "p")
_P_RELATION = {"<=": "<", "≤": "<", ">=": ">", "≥": ">"}


@dataclass(frozen=True)
class QuotedP:
    """One p-value written in a text: ``relation`` ``=``, ``<`` or ``>`` (``≤`` read as
    ``<``, ``≥`` as ``>``), its ``value``, and where (``start``, ``end``, ``text``)."""

    relation: str
    value: float
    start: int
    end: int
    text: str


def p_values(text: str) -> list[QuotedP]:
    """Every p-value of a plain text (a quote), in order, as :func:`extract_text` finds them.

    Values outside [0, 1] are not p-values and are skipped.
    """
    if not isinstance(text, str) or not text:
        return []
    view = _plain_view(text)
    out = []
    for m in _P_VALUE.finditer(_match_text(view)):
        est = re.sub(r"\s+", "", m.group("est"))
        parts = re.split(r"[x×]10", est)
        try:
            value = float(parts[0]) * (10.0 ** -float(parts[1].lstrip("-⁻")) if len(parts) > 1
                                       else 1.0)
        except ValueError:
            continue
        if not 0 <= value <= 1:
            continue
        a, b = view.span(m.start(), m.end())
        rel = m.group("rel")
        out.append(QuotedP(_P_RELATION.get(rel, rel), value, a, b, text[a:b]))
    return out


# --------------------------------------------------------------------------- context
# Outcome names known without a review (English and Chinese, simplified and traditional).
OUTCOME_TERMS: dict[str, tuple[str, ...]] = {
    "asia_motor": ("ASIA motor", "motor score", "motor", "AMS", "UEMS", "LEMS", "ASIA 运动评分", "运动评分",
                   "運動評分", "运动功能评分", "運動功能評分"),
    "asia_light_touch": ("light touch", "light-touch", "轻触觉", "輕觸覺"),
    "asia_pin_prick": ("pin prick", "pinprick", "pin-prick", "针刺觉", "針刺覺", "痛觉", "痛覺"),
    "asia_sensory": ("sensory score", "sensory", "感觉评分", "感覺評分"),
    "scim": ("SCIM-III", "SCIM III", "SCIM", "脊髓独立性评定", "脊髓獨立性評定"),
    "whoqol": ("WHOQOL-BREF", "WHOQOL", "quality of life", "生活质量", "生活品質", "生活質量"),
    "adl": ("日常生活能力", "activities of daily living", "ADL", "Barthel", "巴氏指数", "巴氏指數"),
    "ais_grade": ("AIS grade", "AIS 分级", "AIS 分級"),
}
POPULATION_TERMS: dict[str, tuple[str, ...]] = {
    "cervical": ("cervical", "tetraplegi", "颈椎", "頸椎", "颈髓", "頸髓"),
    "thoracolumbar": ("thoracolumbar", "thoracic", "lumbar", "paraplegi", "胸腰椎", "胸椎", "腰椎"),
    "subacute": ("subacute", "sub-acute", "亚急性", "亞急性"),
    "chronic": ("chronic", "慢性"),
    "acute": ("acute", "急性"),
    "control": ("control", "对照组", "對照組"),
    "treatment": ("transplanted", "transplantation", "treated", "cell group", "cells group", "treatment group", "治疗组", "治療組", "移植组", "移植組"),
}
_TIMEPOINT = re.compile(
    r"(?i:\b(?P<base>baseline|before (?:treatment|transplantation|injection|surgery)|pre-?treatment"
    r"|initial evaluation|admission|before(?!\s+\d))\b)"
    r"|(?P<base_zh>基线|基線|治疗前|治療前|术前|術前|移植前|入院时|入院時)"
    r"|(?<![±\d.])(?P<num>\d+|one|two|three|six|twelve|一|二|三|六|十二|两|兩)\s*-?\s*"
    r"(?P<unit>(?i:months?|mo\b|weeks?|wk\b|years?|days?)|个月|個月|月|周|週|年|天)"
    r"(?=\s*(?i:after|post|follow|later|of follow|时|時|后|後|的|末|随访|隨訪|$|[ ,.;:)|，；。）]))"
)
_WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "six": 6, "twelve": 12, "一": 1, "二": 2, "两": 2,
                 "兩": 2, "三": 3, "六": 6, "十二": 12}
_UNIT_MONTHS = {"month": 1.0, "mo": 1.0, "个月": 1.0, "個月": 1.0, "月": 1.0, "year": 12.0, "年": 12.0,
                "week": 12.0 / 52.0, "wk": 12.0 / 52.0, "周": 12.0 / 52.0, "週": 12.0 / 52.0,
                "day": 12.0 / 365.25, "天": 12.0 / 365.25}
_PAIR_FROM = re.compile(r"(?i:\bfrom\b)|从|從|由")
_PAIR_TO = re.compile(r"(?i:\bto\b)|提升至|提高到|提高至|升至|增加到|增加至|降至|下降到|下降至|降低到|至|到")


def outcome_terms(config: dict | None) -> dict[str, tuple[str, ...]]:
    """Outcome names to look for: the review's labels and ``synonyms``, or the built-in list.

    With a config, each outcome key maps to its ``label``, its ``synonyms`` and the
    key itself with ``_`` read as a space; without one, :data:`OUTCOME_TERMS`.
    """
    if not config:
        return dict(OUTCOME_TERMS)
    terms = {}
    for key, spec in (config.get("outcomes") or {}).items():
        names = [spec.get("label", ""), *(spec.get("synonyms") or []), key.replace("_", " ")]
        terms[key] = tuple(dict.fromkeys(n for n in names if n))
    return terms


def _term_regex(terms: dict[str, tuple[str, ...]]) -> tuple[re.Pattern, dict]:
    alts = []
    for key, names in terms.items():
        for i, name in enumerate(names):
            esc = re.escape(name.translate(_TRANSLATE)).replace(r"\ ", r"[\s\-]*")
            left = r"(?<![A-Za-z])" if name[:1].isascii() and name[:1].isalnum() else ""
            right = r"s?(?![a-z])" if name[-1:].isascii() and name[-1:].isalnum() else ""
            alts.append((len(name), f"(?P<t{len(alts)}>{left}{esc}{right})", key))
    alts.sort(key=lambda a: -a[0])  # longest name first: "SCIM-III self-care" before "SCIM-III"
    # group names follow the sorted order
    alts = [(n, f"(?P<t{i}>" + p.split(">", 1)[1], k) for i, (n, p, k) in enumerate(alts)]
    keys = {f"t{i}": k for i, (_, _, k) in enumerate(alts)}
    return re.compile("|".join(a[1] for a in alts), re.I), keys


def _term_hits(terms, text: str, lo: int, hi: int) -> list[tuple[int, int, str]]:
    rx, keys = terms
    return [(m.start(), m.end(), keys[m.lastgroup]) for m in rx.finditer(text, lo, hi)]


_COMMA = re.compile(r"[,，、]|\band\b|和|与|與|及")
_CLAUSE = re.compile(r"[;；:：.。!?！？]\s|[;；。！？]|\bvs\b\.?|\bversus\b|\bagainst\b|而")


def _level(between: str) -> int:
    """How far apart two places are: 0 same phrase, 1 across a comma or "and",
    2 across a semicolon, "vs" or a sentence end."""
    return 2 if _CLAUSE.search(between) else 1 if _COMMA.search(between) else 0


def _nearest(hits, a: int, b: int, text: str, *, before_level: int = 2, after_level: int = 1):
    """The hit nearest to [a, b) of ``text``: the closest level first (:func:`_level`),
    then a preceding hit before a following one, then the shortest distance. Hits
    before [a, b) count up to ``before_level``, hits after it up to ``after_level``."""
    best = None
    for h in hits:
        before = h[1] <= a
        between = text[h[1] : a] if before else text[b : h[0]] if h[0] >= b else ""
        level = _level(between)
        if level > (before_level if before else after_level):
            continue
        d = len(between)
        key = (level, 0 if before else 1, d)
        if best is None or key < best[0]:
            best = (key, h)
    return best[1] if best else None


# --------------------------------------------------------------------------- candidates
@dataclass(frozen=True)
class Candidate:
    """One reported statistic found in a text.

    ``start``/``end`` index the source text as decoded (code points); ``text`` is
    ``source[start:end]``. Numbers are strings exactly as printed (full-width digits
    and minus signs read as ASCII, a leading ``+`` kept); a number with a decimal
    comma is left empty and named in ``flags``.
    """

    file: str
    start: int
    end: int
    text: str
    kind: str
    estimate: str = ""
    spread: str = ""
    low: str = ""
    high: str = ""
    level: str = ""
    relation: str = ""
    unit: str = ""
    flags: str = ""
    outcome: str = ""
    outcome_text: str = ""
    population: str = ""
    timepoint: str = ""
    timepoint_months: str = ""
    change: bool = False
    difference: bool = False
    pair_id: str = ""
    role: str = ""
    row_header: str = ""
    col_header: str = ""
    sentence: str = ""
    sentence_start: int = 0
    sentence_end: int = 0


CANDIDATE_COLUMNS = tuple(f.name for f in fields(Candidate))


def _sentences(mt: str) -> list[tuple[int, int]]:
    """Sentence spans of the match text: ends at . ! ? 。！？； followed by space or end,
    at blank lines, and at single line ends of table rows, headings and list items."""
    bounds = []
    start = 0
    abbrev = re.compile(r"(?i:\b(?:vs|e\.g|i\.e|fig|figs|et al|no|approx|ref|refs|tab|eq|ca|cf|resp)\.$)")
    i = 0
    n = len(mt)
    while i < n:
        c = mt[i]
        end = None
        if c in "。！？；!?":
            end = i + 1
        elif c == "." and (i + 1 == n or mt[i + 1].isspace()) and not abbrev.search(mt[max(0, i - 8) : i + 1]):
            end = i + 1
        elif c == "\n":
            line_start = mt.rfind("\n", 0, i) + 1
            line = mt[line_start:i].lstrip()
            nxt = mt[i + 1 : i + 2]
            if nxt in ("\n", "\r") or line.startswith(("|", "#", "-", "*")) or mt[i + 1 :].lstrip(" ").startswith(("|", "#")):
                end = i
        if end is not None:
            if mt[start:end].strip():
                bounds.append((start, end))
            start = end
        i += 1
    if mt[start:].strip():
        bounds.append((start, n))
    # trim whitespace
    out = []
    for a, b in bounds:
        while a < b and mt[a].isspace():
            a += 1
        while b > a and mt[b - 1].isspace():
            b -= 1
        out.append((a, b))
    return out


#: Characters around a candidate searched for its context, at most (a long paragraph or
#: sentence is not read whole for each of its numbers).
_WINDOW = 1500


def _paragraph_start(mt: str, at: int) -> int:
    p = mt.rfind("\n\n", 0, at)
    q = mt.rfind("\r\n\r\n", 0, at)
    return max(p, q, -1) + 1


def _declarations(text: str) -> list[tuple[int, int, str]]:
    """Every declaration of a text ("mean (SD)", "n (%)", ...) as (start, end, name), by start."""
    return sorted((m.start(), m.end(), name) for name, rx in _DECLARATIONS for m in rx.finditer(text))


def _declaration(text: str) -> str | None:
    """The declaration stated last in a text, or None."""
    found = _declarations(text)
    return found[-1][2] if found else None


def _last_declaration(decls: list[tuple[int, int, str]], lo: int, hi: int) -> str | None:
    """The last of ``decls`` (from :func:`_declarations`) lying within [lo, hi)."""
    i = bisect.bisect_left(decls, (hi,)) - 1
    while i >= 0 and decls[i][1] > hi:
        i -= 1
    return decls[i][2] if i >= 0 and decls[i][0] >= lo else None


def _value(s: str | None, flags: list) -> str:
    if s is None:
        return ""
    if "," in s:
        flags.append(f"decimal_comma:{s}")
        return ""
    return s


def extract_text(
    source: str,
    name: str,
    *,
    is_html: bool = False,
    terms: dict[str, tuple[str, ...]] | None = None,
) -> list[Candidate]:
    """Candidates of one text.

    Parameters
    ----------
    source : str
        The decoded text (for HTML, the raw HTML).
    name : str
        The file name written in the ``file`` column.
    is_html : bool
        Parse ``source`` as HTML (tags dropped, entities decoded, tables read per cell).
    terms : dict, optional
        Outcome names per outcome key (:func:`outcome_terms`); default the built-in list.

    Returns
    -------
    list of Candidate
        In order of ``start``; ``source[c.start:c.end] == c.text`` for every one.
    """
    view = _view(source, is_html)
    mt = _match_text(view)
    out_rx = _term_regex(terms if terms is not None else OUTCOME_TERMS)
    pop_rx = _term_regex(POPULATION_TERMS)
    sentences = _sentences(mt)
    table_cells = {id(c): (t, c) for t in view.tables for c in t.cells}

    # 1. every match of every pattern; overlaps resolved by position, then priority, then length
    found = []
    for kind, tag, rx in _PATTERNS:
        for m in rx.finditer(mt):
            a, b = m.span()
            while b > a and mt[b - 1].isspace():
                b -= 1
            found.append((a, -(b - a), _PRIORITY[tag], kind, tag, m, b))
    # a whole number alone in a table column headed n / N / No. / 例数 is the n of its row
    n_cell = re.compile(_num("est"))
    for t in view.tables:
        for c in t.cells:
            if c.header:
                continue
            heads = [h for h in t.cells if h.covers(c.col) and h.row < c.row and (h.header or h.row == 0)]
            if heads and _N_HEADER.fullmatch(mt[heads[-1].start : heads[-1].end]):
                m = n_cell.fullmatch(mt, c.start, c.end)
                if m and m.group("est").isdigit():
                    found.append((c.start, -(c.end - c.start), _PRIORITY["n"], "n", "n", m, c.end))
    found.sort(key=lambda f: (f[2], f[0], f[1]))
    taken = bytearray(len(mt))  # characters already read by a stronger match
    chosen = []
    for f in found:
        a, b = f[0], f[6]
        if any(taken[a:b]):
            continue
        taken[a:b] = b"\x01" * (b - a)
        chosen.append(f)
    chosen.sort(key=lambda f: f[0])
    # counts stated in the text: "N (P)" with P = 100 N / count is a percentage, not an SD
    counts = {int(f[5].group("est")) for f in chosen if f[3] == "n" and f[5].group("est").isdigit()}
    counts.discard(0)

    # 2. each match read in its context
    decls = _declarations(mt)
    sentence_starts = [x[0] for x in sentences]
    cells = sorted(((c.start, c.end, id(c)), t, c) for t in view.tables for c in t.cells)
    cell_starts = [x[0][0] for x in cells]
    cands: list[tuple[int, int, dict]] = []
    for a, _neg, _prio, kind, tag, m, b in chosen:
        i = bisect.bisect_right(sentence_starts, a) - 1
        sent = sentences[i] if i >= 0 and a < sentences[i][1] else (a, b)
        j = bisect.bisect_right(cell_starts, a) - 1
        table, cell = (cells[j][1], cells[j][2]) if j >= 0 and b <= cells[j][2].end else (None, None)
        row_header = col_header = caption = ""
        if cell is not None:
            row_cells = [c for c in table.cells if c.row == cell.row]
            header_cells = [c for c in table.cells
                            if c.header and c.covers(cell.col) and c.row < cell.row]
            if not header_cells:
                header_cells = [c for c in table.cells
                                if c.row == 0 and c.covers(cell.col) and c is not cell]
            if row_cells and row_cells[0] is not cell:
                row_header = mt[row_cells[0].start : row_cells[0].end]
            col_header = " ".join(mt[c.start : c.end] for c in header_cells)
            if table.caption:
                caption = mt[table.caption[0] : table.caption[1]]
            filled = [c for c in row_cells if c.end > c.start] or row_cells
            sent = (filled[0].start, filled[-1].end)
        sa, sb = sent
        before = mt[max(sa, a - 30) : a]
        after = mt[b : b + 12]
        flags: list[str] = []
        g = m.groupdict()
        est = g.get("est") or g.get("est2") or g.get("est3")
        # traps: ages, years, a bare number pair without declaration
        if _AGE.search(mt[max(sa, a - 25) : a]) or _AGE_UNIT.match(mt, b):
            continue
        if tag in ("n", "percent", "change") and est and _YEAR.fullmatch(est.lstrip("+")):
            continue
        if tag in ("bare", "bare_range", "pm"):
            if cell is not None:
                decl = _declaration(row_header) or _declaration(col_header) or _declaration(caption)
                first = table.cells[0].start
                decl = decl or _last_declaration(
                    decls, first if table.caption is None else min(table.caption[0], first), sb
                )
            else:
                decl = _last_declaration(decls, sa, sb)
            # otherwise the last declaration before (a sentence such as "values are mean (SD)")
            decl = decl or _last_declaration(decls, 0, table.cells[0].start if cell is not None else sa)
            if tag == "pm":
                label = g.get("label") or ""
                if label:
                    kind = "mean_se" if re.match(_SE_WORD, label) else "mean_sd"
                else:
                    kind = "mean_se" if decl == "se" else "mean_sd"
            elif tag == "bare":
                if decl not in ("sd", "se"):
                    continue
                if (_YEAR.fullmatch(g["spread"] or "") or _YEAR.fullmatch(est or "")
                        or (g["spread"] or "").startswith(("-", "+"))):
                    continue
                if _is_share(est, g["spread"], counts):
                    continue
                kind = _DECL_KIND[decl]
            else:  # bare_range
                if decl not in ("iqr", "range", "ci"):
                    continue
                kind = _DECL_KIND[decl]
        rec = {
            "kind": kind,
            "estimate": _value(est, flags),
            "spread": _value(g.get("spread"), flags),
            "low": _value(g.get("low"), flags),
            "high": _value(g.get("high"), flags),
            "level": g.get("level") or ("95" if kind == "mean_ci" else ""),
            "relation": g.get("rel") or "",
            "unit": g.get("unit") or g.get("unit_after") or g.get("unit2") or "",
            "row_header": row_header,
            "col_header": col_header,
            **dict.fromkeys(("outcome", "outcome_text", "population", "timepoint", "timepoint_months",
                             "pair_id", "role"), ""),
        }
        if kind == "mean_ci" and rec["level"] == "95" and not g.get("level"):
            flags.append("ci_level_assumed_95")
        if rec["unit"] in ("s",) and kind == "percent":
            rec["unit"] = ""
        if kind == "percent":
            rec["unit"] = "%"
        rec["flags"] = ";".join(flags)
        # context: sentence (or table row with headers and caption), then the paragraph before
        ctx_lo = max(_paragraph_start(mt, sa), sa - _WINDOW) if cell is None else sa
        near_lo, near_hi = max(sa, a - _WINDOW), min(sb, b + _WINDOW)
        hits = _term_hits(out_rx, mt, ctx_lo, near_hi)
        if cell is not None:
            hits = _term_hits(out_rx, mt, near_lo, near_hi)
            if not hits:
                for part in (col_header, caption):
                    for h in _term_hits(out_rx, part, 0, len(part)):
                        hits.append((a, a, h[2]))
                        break
        h = _nearest([x for x in hits if x[0] >= sa], a, b, mt) or _nearest(hits, a, b, mt)
        if h is not None:
            rec["outcome"] = h[2]
            rec["outcome_text"] = mt[h[0] : h[1]] if h[1] > h[0] else ""
            if not rec["outcome_text"]:
                rec["outcome_text"] = view.text[h[0] : h[1]]
        ph = _term_hits(pop_rx, mt, near_lo, near_hi)
        if cell is not None:
            ph = ph + [(a, a, x[2]) for part in (col_header, caption) for x in _term_hits(pop_rx, part, 0, len(part))]
        pp = _nearest(ph, a, b, mt, before_level=1)
        if pp is not None:
            rec["population"] = pp[2]
        tps = []
        for tm in _TIMEPOINT.finditer(mt, near_lo, near_hi):
            tps.append((tm.start(), tm.end(), tm))
        if cell is not None:
            for part in (col_header, mt[sa:sb]):
                for tm in _TIMEPOINT.finditer(part):
                    tps.append((a, a, tm))
                if tps:
                    break
        tp = _nearest(tps, a, b, mt, before_level=1)
        if tp is not None:
            rec["timepoint"], rec["timepoint_months"] = _timepoint(tp[2])
        clause = _CLAUSE.split(mt[max(sa, a - 30) : a])[-1]
        rec["change"] = bool(kind == "change" or _CHANGE_WORDS.search(clause)
                             or (cell is not None and _CHANGE_WORDS.search(col_header + " " + row_header)))
        rec["difference"] = bool(_DIFFERENCE_WORDS.search(mt[sa:a]))
        rec["_tps"] = tps
        cands.append((a, b, rec, (sa, sb)))

    # 3. baseline -> follow-up pairs: "from X to Y", "从 X 提升至 Y", "由 X 提高到 Y"
    stats = {"mean_sd", "mean_se", "mean_ci", "median_iqr", "median_range"}
    pair_no = 0
    for i in range(len(cands) - 1):
        a1, b1, r1, s1 = cands[i]
        a2, b2, r2, s2 = cands[i + 1]
        if s1 != s2 or r1["kind"] not in stats or r2["kind"] != r1["kind"] or r1.get("role"):
            continue
        head = mt[max(s1[0], a1 - 40) : a1]
        mid = mt[b1:a2]
        if _PAIR_FROM.search(head) and _PAIR_TO.search(mid) and len(mid) <= 60:
            pair_no += 1
            r1["pair_id"] = r2["pair_id"] = f"{Path(name).stem}-p{pair_no}"
            r1["role"], r2["role"] = "baseline", "followup"
            r1["change"] = r2["change"] = False  # the two values of a change, not changes
            base = [t for t in r1["_tps"] if t[2].group("base") or t[2].group("base_zh")]
            follow = [t for t in r2["_tps"] if not (t[2].group("base") or t[2].group("base_zh"))]
            r1["timepoint"], r1["timepoint_months"] = _timepoint(base[0][2]) if base else ("baseline", "0")
            if follow:
                r2["timepoint"], r2["timepoint_months"] = _timepoint((_nearest(follow, a2, b2, mt) or follow[0])[2])
            elif r2["timepoint"] == "baseline":
                r2["timepoint"] = r2["timepoint_months"] = ""

    result = []
    for a, b, rec, (sa, sb) in cands:
        rec.pop("_tps")
        start, end = view.span(a, b)
        s_start, s_end = view.span(sa, sb)
        sentence = view.text[sa:sb] if is_html else source[s_start:s_end]
        result.append(
            Candidate(
                file=name,
                start=start,
                end=end,
                text=source[start:end],
                sentence=sentence,
                sentence_start=s_start,
                sentence_end=s_end,
                **{k: v for k, v in rec.items()},
            )
        )
    return result


def _is_share(est: str, spread: str, counts: set[int]) -> bool:
    """True when ``est (spread)`` reads as a count and its percentage of a count of the text."""
    if not est.isdigit() or "." not in spread or "," in spread:
        return False
    half = 0.5 * 10.0 ** -len(spread.split(".")[1])
    return any(abs(100.0 * int(est) / n - float(spread)) <= half + 1e-12 for n in counts if n >= int(est))


def _timepoint(tm: re.Match) -> tuple[str, str]:
    if tm.group("base") or tm.group("base_zh"):
        return "baseline", "0"
    num = tm.group("num")
    unit = tm.group("unit").lower().rstrip("s")
    value = float(_WORD_NUMBERS.get(num.lower(), num) if not num[0].isdigit() else num)
    months = value * _UNIT_MONTHS.get(unit, _UNIT_MONTHS.get(unit[:2], 1.0))
    return tm.group(0), f"{months:.6g}"


def extract_file(path, *, terms=None, name: str | None = None) -> list[Candidate]:
    """Candidates of one file (``.html``/``.htm`` parsed as HTML, anything else as text)."""
    path = Path(path)
    try:
        data = read_limited(path, MAX_SOURCE_BYTES)
    except InputError as err:
        raise TextError(f"{name or path}: {err}") from None
    text = decode(data, name or str(path))
    return extract_text(
        text, name or str(path), is_html=path.suffix.lower() in HTML_SUFFIXES, terms=terms
    )


# --------------------------------------------------------------------------- drafts
DRAFT_COLUMNS = (
    "study_id", "outcome", "arm", "population", "timepoint", "kind", "n", "mean", "sd", "se",
    "ci_low", "ci_high", "ci_level", "median", "q1", "q3", "min", "max", "p_value", "p_relation",
    "prepost_r",
    "source", "quote",
)
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def draft_outcomes(cands: list[Candidate], *, outcome_keys=None) -> list[dict]:
    """Rows of the ``outcomes.csv`` format, one per reported summary, for a reviewer to confirm.

    ``study_id`` is the file name without its suffix (when it is a valid slug),
    ``outcome`` the nearest outcome (a config key with ``--review``; empty when
    ``outcome_keys`` is given and the name is not one of them), ``arm`` is left
    empty (a reviewer decides), ``population`` and ``timepoint`` are the context
    found, ``n`` the nearest ``n`` of the same sentence or table row, ``quote``
    the sentence, ``source`` ``file:start-end``. Flagged numbers (decimal
    commas) stay empty.
    """
    by_sentence: dict[tuple, list[Candidate]] = {}
    for c in cands:
        by_sentence.setdefault((c.file, c.sentence_start), []).append(c)
    rows = []
    for c in cands:
        if c.kind not in ("mean_sd", "mean_se", "mean_ci", "median_iqr", "median_range", "change"):
            continue
        stem = Path(c.file).stem
        ns = [x for x in by_sentence[(c.file, c.sentence_start)] if x.kind == "n" and x.estimate]
        n = min(ns, key=lambda x: abs(x.start - c.start)).estimate if ns else ""
        outcome = c.outcome
        if outcome_keys is not None and outcome not in outcome_keys:
            outcome = ""
        row = dict.fromkeys(DRAFT_COLUMNS, "")
        row.update(
            study_id=stem if _SLUG.match(stem) and ".." not in stem else "",
            outcome=outcome,
            population=c.population if c.population not in ("control", "treatment") else "",
            arm=c.population if c.population in ("control", "treatment") else "",
            timepoint=c.timepoint_months,
            kind="difference" if c.difference else "change" if c.change else "final",
            n=n,
            source=f"{c.file}:{c.start}-{c.end}",
            quote=c.sentence,
        )
        if c.kind == "mean_sd":
            row.update(mean=c.estimate, sd=c.spread)
        elif c.kind == "mean_se":
            row.update(mean=c.estimate, se=c.spread)
        elif c.kind == "mean_ci":
            level = c.level
            row.update(mean=c.estimate, ci_low=c.low, ci_high=c.high,
                       ci_level=f"{float(level) / 100:g}" if level else "")
        elif c.kind == "median_iqr":
            row.update(median=c.estimate, q1=c.low, q3=c.high)
        elif c.kind == "median_range":
            row.update(median=c.estimate, min=c.low, max=c.high)
        else:
            row.update(mean=c.estimate.lstrip("+"), kind="change")
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- provenance
_WS = re.compile(r"\s+")


def normalise_quote(text: str) -> str:
    """The form in which a quote is looked up in its source text.

    NFKC (full-width digits and brackets, no-break and thin spaces, ligatures
    read as their plain forms), then every run of white space (line ends
    included) collapsed to one space, leading and trailing space dropped.
    Nothing else: case, dashes, ``±`` and every other character must match.
    """
    return _WS.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def source_text(text: str, is_html: bool) -> str:
    """The visible text of a source: for HTML without tags, entities decoded, table cells
    joined by `` | `` and rows on lines of their own (the form of a table-row quote)."""
    return _html_view(text).text if is_html else text


#: Folder of a review holding the texts of its studies, ``<study_id>.txt|.md|.html``.
SOURCES_DIR = "data/raw/sources"


@dataclass(frozen=True)
class SourceText:
    """The text of one study's source file, as the provenance check reads it."""

    study_id: str
    file: str  # relative to the review folder
    text: str  # normalise_quote(source_text(...))


def read_sources(review_dir) -> tuple[dict[str, list[SourceText]], list[tuple[str, str]]]:
    """The source texts of a review: ``{study_id: [SourceText, ...]}`` (sorted by file)
    and the problems met (``(file, message)``, e.g. a file that is not UTF-8).

    A review without :data:`SOURCES_DIR` has none. Files of other suffixes, and
    names that are not a valid ``study_id``, are reported as problems.
    """
    folder = Path(review_dir) / SOURCES_DIR
    texts: dict[str, list[SourceText]] = {}
    problems: list[tuple[str, str]] = []
    if not folder.is_dir():
        return texts, problems
    for path in sorted(folder.iterdir()):
        rel = f"{SOURCES_DIR}/{path.name}"
        if path.name.startswith(".") or path.is_dir():
            continue
        if path.suffix.lower() not in SOURCE_SUFFIXES:
            problems.append((rel, f"not a source text (suffix {', '.join(SOURCE_SUFFIXES)}): not read"))
            continue
        if not _SLUG.match(path.stem) or ".." in path.stem:
            problems.append((rel, "the file name is not a study_id: not read"))
            continue
        try:
            raw = decode(read_limited(path, MAX_SOURCE_BYTES), rel)
        except InputError as err:
            problems.append((rel, str(err)))
            continue
        except TextError as err:
            problems.append((rel, str(err)))
            continue
        text = normalise_quote(source_text(raw, path.suffix.lower() in HTML_SUFFIXES))
        texts.setdefault(path.stem, []).append(SourceText(path.stem, rel, text))
    return texts, problems


# --------------------------------------------------------------------------- evaluation
@dataclass(frozen=True)
class KindScore:
    """Agreement of found and expected candidates of one kind (:func:`score`)."""

    kind: str
    expected: int
    found: int
    matched: int
    offset_errors: int
    value_errors: int

    @property
    def precision(self) -> float:
        return self.matched / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.expected if self.expected else 1.0


_VALUE_FIELDS = ("estimate", "spread", "low", "high")


def score(found: list[dict], expected: list[dict]) -> dict[str, KindScore]:
    """Precision and recall per kind of found against expected candidates.

    A found candidate matches an expected one with the same ``file``, ``kind``,
    ``start`` and ``end``; an overlapping one of the same kind at other offsets
    is an offset error (and counts as neither). A match whose numbers
    (``estimate``, ``spread``, ``low``, ``high``) differ is a value error.
    Rows are dicts with at least those keys (offsets as int).
    """
    out = {}
    for kind in KINDS:
        f = [r for r in found if r["kind"] == kind]
        e = [r for r in expected if r["kind"] == kind]
        exp_at = {(r["file"], int(r["start"]), int(r["end"])): r for r in e}
        matched = offset = values = 0
        for r in f:
            key = (r["file"], int(r["start"]), int(r["end"]))
            if key in exp_at:
                matched += 1
                x = exp_at[key]
                if any(str(r.get(k, "")) != str(x.get(k, "")) for k in _VALUE_FIELDS):
                    values += 1
            elif any(
                x["file"] == r["file"] and int(x["start"]) < key[2] and key[1] < int(x["end"])
                for x in e
            ):
                offset += 1
        out[kind] = KindScore(kind, len(e), len(f), matched, offset, values)
    return out
