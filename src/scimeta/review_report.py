"""The report a reviewer opens: ``results/report.html``, one self-contained page.

Everything is in the file: styles inline, figures inlined as SVG (text stays
text, searchable and selectable), tables as HTML tables. It loads nothing
(no scripts, fonts, images or links to fetch; a Content-Security-Policy of
``default-src 'none'`` says so to the browser too), so it reads the same
offline, from an e-mail attachment or an archive.

The page: a landing section (title, question, included studies, summary of
findings with the draft GRADE certainty), risk of bias, the PRISMA flow, one
section per outcome (pooled estimates, subgroup tests, small-study tests,
r sensitivity, leave-one-out, and each figure with a caption naming its
outcome, measure, k and model, with the warnings small k calls for), the
methods text, and a manifest: the SHA-256 of every input and output file of
the run that the page was made from.

Every text from a review is escaped (:func:`scimeta.safe.html_escape`); the
methods Markdown is rendered by :func:`scimeta.safe.markdown_html`.
"""

from __future__ import annotations

import base64
import math
import re

import pandas as pd

from scimeta.grade import UNCONTROLLED, format_number
from scimeta.membership import DESIGN_NAMES, DESIGN_PLURAL, largest_stratum
from scimeta.pool import SINGLE_STUDY_LABEL
from scimeta.safe import html_escape as esc
from scimeta.safe import markdown_html
from scimeta.settings import analysis_settings, comparison_text, FigureSettings, variable_label

__all__ = ["review_report", "inline_svg", "figure_caption", "small_k_warnings", "DEFAULT_TITLE",
           "grade_footnotes", "caveats_section"]

DEFAULT_TITLE = "Meta-analysis report"
MEASURE_NAMES = {
    "MD": "mean difference", "SMD": "standardised mean difference (Hedges' g)",
    "ROM": "ratio of means", "MC": "mean change", "SMCR": "standardised mean change (raw-score "
    "standardisation)", "SMCC": "standardised mean change (change-score standardisation)",
}
TAU2_NAMES = {"DL": "DerSimonian–Laird", "REML": "REML", "PM": "Paule–Mandel", "HE": "Hedges",
              "SJ": "Sidik–Jonkman", "ML": "maximum likelihood", "EB": "empirical Bayes"}
CI_NAMES = {"wald": "Wald", "hksj": "Hartung–Knapp–Sidik–Jonkman",
            "hksj_adhoc": "Hartung–Knapp–Sidik–Jonkman (ad hoc correction)"}
#: How much wider than its natural size (1 pt = 1/72 in at 96 px per inch) a figure may be
#: drawn, within the page's width: the figures' 7-8 pt text then reads at 12-14 px.
FIGURE_ZOOM = 1.45
#: Fewer studies than this give an imprecise τ² (and a wide HKSJ interval).
TAU2_MIN_K = 5

_CSS = """
:root { --w: 1060px; }
* { box-sizing: border-box; }
body { font: 15px/1.45 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #1a1a1a;
  margin: 0; background: #fafafa; }
main { max-width: var(--w); margin: 0 auto; padding: 16px 28px 48px; background: #fff; }
h1 { font-size: 1.7em; margin: 0.4em 0 0.2em; }
h2 { font-size: 1.35em; border-bottom: 2px solid #d0d7de; padding-bottom: 4px; margin-top: 2em; }
h3 { font-size: 1.1em; margin-top: 1.4em; }
nav ol { columns: 2; font-size: 0.92em; }
.question { font-size: 1.05em; background: #f1f6fb; border-left: 4px solid #4a79a8;
  padding: 8px 12px; }
.note { color: #6a3d00; background: #fff6e0; border-left: 4px solid #e0a800; padding: 6px 10px; }
.muted { color: #555; font-size: 0.9em; }
table { border-collapse: collapse; font-size: 0.86em; margin: 8px 0 14px; width: 100%; }
th, td { border: 1px solid #d0d7de; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #eef2f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.scroll { overflow-x: auto; }
.refs { font-size: 0.88em; }
figure { margin: 14px 0 22px; }
figure .svg svg, figure .svg img { display: block; width: 100%; height: auto; }
figcaption { font-size: 0.9em; color: #333; margin-top: 6px; }
.cert-high { background: #d8f0d8; } .cert-moderate { background: #eef5cc; }
.cert-low { background: #fbeccb; } .cert-very { background: #f8d5d2; }
details { margin: 8px 0; } summary { cursor: pointer; font-weight: 600; }
td.warn { color: #8a5a00; } td.err { color: #a00; font-weight: 600; }
ol.footnotes { font-size: 0.86em; color: #333; } table.sof { font-size: 0.8em; } td.effect { min-width: 12em; } .uncontrolled { font-style: italic; color: #6a3d00; }
code { font-size: 0.92em; background: #f3f3f3; padding: 0 3px; }
"""


# ------------------------------------------------------------------ small pieces
def _num(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _cell(value, digits: int = 2) -> tuple[str, bool]:
    """A table value as HTML text, and whether it is a number (right-aligned)."""
    if isinstance(value, bool):
        return esc(str(value)), False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        v = float(value)
        if not math.isfinite(v):
            return "", True
        if v.is_integer() and abs(v) < 1e12:
            return str(int(v)), True
        if abs(v) < 0.001:
            return esc(f"{v:.2e}".replace("-", "\u2212")), True
        return esc(format_number(v, digits)), True
    return esc(value), False


def _design_text(frame: pd.DataFrame) -> list[str]:
    """Each row's design stratum (``design``) in words: a design, or "all designs"."""
    if "design" not in frame:
        return [""] * len(frame)
    return [DESIGN_PLURAL.get(str(d), "") if isinstance(d, str) else "" for d in frame["design"]]


def html_table(frame: pd.DataFrame, columns: dict, *, digits: int = 2,
               cls: dict | None = None) -> str:
    """``frame`` as an HTML table: ``columns`` maps column → header; every cell escaped.

    ``cls`` maps a column to a function of the cell value giving a CSS class.
    """
    cols = [c for c in columns if c in frame.columns]
    head = "".join(f"<th>{esc(columns[c])}</th>" for c in cols)
    body = []
    for _, row in frame.iterrows():
        cells = []
        for c in cols:
            text, numeric = _cell(row[c], digits)
            classes = ["num"] if numeric else []
            if cls and c in cls:
                classes.append(cls[c](row[c]))
            attr = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{attr}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>'
            + "".join(body) + "</tbody></table></div>")


def _text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _interval(estimate, lo, hi) -> str:
    """``4.22 (0.80 to 7.63)``; the interval alone without an estimate; '' when absent."""
    lo, hi = _num(lo), _num(hi)
    text = "" if estimate is None else format_number(estimate)
    if math.isfinite(lo) and math.isfinite(hi):
        span = f"{format_number(lo)} to {format_number(hi)}"
        text = f"{text} ({span})" if text else span
    return text


#: The GRADE domains of the summary of findings, with their column headers.
GRADE_DOMAINS = (("start", "Start"), ("risk_of_bias", "Risk of bias"),
                 ("inconsistency", "Inconsistency"), ("indirectness", "Indirectness"),
                 ("imprecision", "Imprecision"), ("publication_bias", "Publication bias"))
#: Audit severities the report lists (the audit page lists every finding).
REPORTED_SEVERITIES = ("error", "warning")
#: Where the audit page is, relative to results/report.html.
AUDIT_PAGE = "audit.html"


_SYMBOL = re.compile(r"^\w\s*[=<>≥≤]")


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    if not _SYMBOL.match(text):  # "k = 1" keeps its k
        text = text[:1].upper() + text[1:]
    return text.rstrip(".") + "."


def grade_footnotes(sof: pd.DataFrame) -> tuple[list[dict], list[str]]:
    """Each row's GRADE cells as HTML with footnote marks, and the numbered footnotes.

    Every judgement (start and each domain) gets the number of its reason;
    the same reason worded the same way keeps one number. Returns ``(cells,
    notes)``: ``cells`` one dict per row of ``sof`` (domain → HTML), ``notes``
    the reasons in order (footnote ``i + 1``), as sentences.
    """
    notes: list[str] = []
    cells = []
    for _, row in sof.iterrows():
        mine = {}
        for dom, _ in GRADE_DOMAINS:
            level = row.get(dom)
            if not isinstance(level, str):
                mine[dom] = ""
                continue
            mine[dom] = esc(level) + _footnote(notes, _text(row.get(f"{dom}_reason", "")))
        cells.append(mine)
    return cells, notes


def _footnote(notes: list[str], text: str) -> str:
    """The mark of ``text`` among ``notes`` (added when new), '' for no text."""
    text = _sentence(text)
    if not text:
        return ""
    if text not in notes:
        notes.append(text)
    return f"<sup>{notes.index(text) + 1}</sup>"


def _raw_table(headers: list[str], rows: list[list[str]], *, classes=None,
               table_class: str = "") -> str:
    """A table of cells already in HTML (headers are text); ``classes``: per row, per cell."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = classes[i] if classes else [""] * len(row)
        body.append("<tr>" + "".join(f'<td class="{c}">{v}</td>' if c else f"<td>{v}</td>"
                                     for v, c in zip(row, cls)) + "</tr>")
    attr = f' class="{table_class}"' if table_class else ""
    return (f'<div class="scroll"><table{attr}><thead><tr>{head}</tr></thead><tbody>'
            + "".join(body) + "</tbody></table></div>")


def caveats_section(*, config: dict, audit: pd.DataFrame | None,
                    caveats: pd.DataFrame | None, not_drawn: list[dict]) -> list[str]:
    """The report's "Caveats" section: declared caveats, audit findings, figures not drawn.

    Parameters
    ----------
    config : dict
        The validated config (outcome labels and arms).
    audit : pandas.DataFrame or None
        ``results/tables/audit.csv`` as written (its row order gives the
        anchors of the audit page, :func:`scimeta.report.finding_anchor`).
    caveats : pandas.DataFrame or None
        ``results/tables/caveats.csv``.
    not_drawn : list of dict
        ``{stem, outcome, kind, reason}`` of each figure not drawn or skipped
        (``results/tables/figure_warnings.csv``).
    """
    from scimeta.report import finding_anchor

    outcomes = config["outcomes"]
    out = ['<h2 id="caveats">Caveats</h2>']
    out.append("<h3>Declared by the review team</h3>")
    declared = config.get("caveats") or []
    if not declared:
        out.append('<p class="muted">None declared (config <code>caveats</code>).</p>')
    for n, c in enumerate(declared, start=1):
        studies = ", ".join(c.get("studies") or [])
        out.append(f'<p id="caveat-{n}" class="note"><b>Caveat {n}</b>'
                   + (f" ({esc(studies)})" if studies else "") + f": {esc(c['text'])}</p>")
        rows = (caveats[(caveats["caveat"] == n) & caveats["outcome"].notna()]
                if caveats is not None and len(caveats) else pd.DataFrame())
        if c["kind"] == "overlap" and len(rows):
            out.append('<p class="muted">Sensitivity analysis: each pool holding two or more of '
                       "these studies, with all its studies and without each of them (primary "
                       "model; results/tables/caveats.csv).</p>")
            table_rows = []
            for _, r in rows.iterrows():
                oc = outcomes[r["outcome"]]
                left = _text(r["left_out"])
                table_rows.append([
                    f'<a href="#outcome-{esc(r["outcome"])}">{esc(oc["label"])}</a>',
                    esc(comparison_text(r["comparison"], oc["arms"])),
                    esc(r["measure"]), esc(f"without {left}" if left else "all studies"),
                    esc(f"{int(_num(r['k']))}"),
                    esc(_interval(_num(r["estimate"]), r["ci_low"], r["ci_high"])),
                    esc(_text(r["note"]) if left else "")])
            out.append(_raw_table(["Outcome", "Comparison", "Measure", "Studies", "k",
                                   "Estimate (CI)", "Note"], table_rows))
        elif c["kind"] == "overlap":
            out.append('<p class="muted">No pool holds two of these studies together.</p>')

    out.append("<h3>Warnings and errors of the audit</h3>")
    if audit is None or not len(audit) or "severity" not in audit:
        out.append('<p class="muted">The audit found nothing to report.</p>')
    else:
        audit = audit.reset_index(drop=True)
        shown = audit[audit["severity"].isin(REPORTED_SEVERITIES)]
        shown = shown.assign(_s=shown["severity"].map(
            {s: i for i, s in enumerate(REPORTED_SEVERITIES)})).sort_values(
            ["_s", "study_id", "outcome"], kind="mergesort", na_position="first")
        others = len(audit) - len(shown)
        counts = shown["severity"].value_counts()
        out.append("<p>" + esc(", ".join(
            f"{int(counts.get(s, 0)) or 'no'} {s}{'' if counts.get(s, 0) == 1 else 's'}"
            for s in REPORTED_SEVERITIES))
                   + (f"; {others} further findings for information" if others else "")
                   + f' on the <a href="{AUDIT_PAGE}">audit page</a> (results/audit.html, '
                   "every finding with its row). Each finding links to its row there and to "
                   "its outcome here.</p>")
        rows, classes = [], []
        for i, r in shown.iterrows():
            outs = [o for o in _text(r.get("outcome")).split(";") if o]
            links = ", ".join(f'<a href="#outcome-{esc(o)}">'
                              f'{esc(outcomes.get(o, {}).get("label", o))}</a>' for o in outs)
            rows.append([esc(r["severity"]), f"<code>{esc(r['check'])}</code>",
                         esc(_text(r.get("study_id"))), links, esc(_text(r.get("rows"))),
                         esc(_text(r.get("message"))),
                         f'<a href="{AUDIT_PAGE}#{finding_anchor(i)}">row {i + 1}</a>'])
            classes.append(["warn" if r["severity"] == "warning" else "err"]
                           + [""] * 6)
        if rows:
            out.append(_raw_table(["Severity", "Check", "Study", "Outcome", "Sheet rows",
                                   "Finding", "Audit"], rows, classes=classes))

    out.append("<h3>Figures not drawn</h3>")
    if not not_drawn:
        out.append('<p class="muted">Every planned figure was drawn.</p>')
    else:
        out.append("<ul>" + "".join(
            f'<li><a href="#fig-{esc(f["stem"])}">{esc(f["stem"])}</a> '
            f'({esc(outcomes.get(f.get("outcome"), {}).get("label", f.get("outcome", "")))}): '
            f'{esc(f["reason"])}</li>' for f in not_drawn) + "</ul>")
    return out


def _certainty_class(value) -> str:
    return {"high": "cert-high", "moderate": "cert-moderate", "low": "cert-low",
            "very low": "cert-very"}.get(str(value), "")


_TAG = re.compile(r"<[^>]*>")
_PROLOGUE = re.compile(r"^\s*(<\?xml[^>]*\?>\s*)?(<!DOCTYPE[^>]*>\s*)?", re.S)
_SIZE = re.compile(r'<svg\b[^>]*?\bwidth="([\d.]+)pt"')


def inline_svg(svg_text: str, prefix: str) -> tuple[str, float]:
    """An SVG file's text ready to sit inside HTML, and its natural width in CSS pixels.

    The XML prologue and doctype are dropped; every ``id`` and every
    reference to one (``url(#…)``, ``href="#…"``) inside the tags gets
    ``prefix``, so clip paths and markers of one figure never resolve to
    another figure's. Text content is left as matplotlib escaped it.
    """
    body = _PROLOGUE.sub("", svg_text, count=1)

    def fix(match):
        tag = match.group(0)
        tag = re.sub(r'(\s)id="', rf'\1id="{prefix}', tag)
        tag = tag.replace("url(#", f"url(#{prefix}")
        return re.sub(r'href="#', f'href="#{prefix}', tag)

    body = _TAG.sub(fix, body)
    size = _SIZE.search(body)
    width = float(size.group(1)) * 96 / 72 if size else 800.0
    return body.strip(), width


def small_k_warnings(kind: str, k: int, *, min_k_small_study: int, pi_min_k: int) -> list[str]:
    """What a reader must know when a figure of ``kind`` rests on ``k`` studies.

    ``min_k_small_study`` (config ``figures``) and ``pi_min_k`` (config ``analysis``):
    the thresholds the figures and the pools use.
    """
    out = []
    if k <= 0:
        return ["no study could be pooled"]
    if k == 1:
        out.append(f"one study ({SINGLE_STUDY_LABEL}): the diamond is that study's estimate "
                   "and Wald-type CI")
    elif k == 2:
        out.append("two studies: τ² is barely estimable and the HKSJ interval (t with 1 df) is "
                   "very wide")
    elif k < TAU2_MIN_K:
        out.append(f"k = {k}: τ² and I² are imprecise")
    if 1 < k < pi_min_k:
        out.append(f"no prediction interval (fewer than {pi_min_k} studies)")
    if kind == "funnel" and k < min_k_small_study:
        out.append(f"k = {k} < {min_k_small_study}: funnel asymmetry and its tests have little "
                   "power and cannot exclude small-study effects")
    if kind == "bubble" and k < min_k_small_study:
        out.append(f"k = {k} < {min_k_small_study} studies for one moderator: the "
                   "meta-regression is exploratory")
    return out


def _pool_words(row) -> str:
    if row is None:
        return "no pooled estimate (see pooled.csv)"
    if _num(row["k"]) == 1:  # the one rule for a pool of one study (scimeta.pool)
        return f"{SINGLE_STUDY_LABEL}: the study's own estimate and Wald-type CI"
    if row["model"] == "random":
        tau2 = TAU2_NAMES.get(row["tau2_method"], row["tau2_method"])
        return (f"random effects, τ² by {tau2}, "
                f"{CI_NAMES.get(row['ci_method'], row['ci_method'])} CI")
    return f"common effect, {CI_NAMES.get(row['ci_method'], row['ci_method'])} CI"


def figure_caption(item: dict, label: str, primary, *, arms: dict, level: float,
                   min_k_small_study: int, pi_min_k: int, prepost_r=None,
                   subgroup_labels: dict | None = None,
                   strata: pd.DataFrame | None = None) -> str:
    """The HTML caption of one analysis figure: what it shows, of which pool, with its warnings.

    ``item``: one entry of the figure plan (``kind, comparison, measure, var``);
    ``primary``: the pool's primary row of pooled.csv (or None); ``arms``: the outcome's
    arm names (config ``outcomes.<key>.arms``); ``subgroup_labels``: the config's display
    names of subgroup variables and moderators; ``strata``: where the comparison's designs
    are pooled separately, the primary row of each design stratum (a forest plot shows
    them all, any other figure the pool of ``primary``).
    """
    kind, measure = item["kind"], item["measure"]
    comparison, var = item.get("comparison", ""), item.get("var", "")
    if strata is not None and kind == "forest":
        k = int(pd.to_numeric(strata["k"]).sum())
        n = float(pd.to_numeric(strata["n"]).sum())
    else:
        k = int(_num(primary["k"])) if primary is not None else 0
        n = _num(primary["n"]) if primary is not None else math.nan
    what = {"forest": "Forest plot", "subgroup_forest": "Subgroup forest plot",
            "funnel": "Contour-enhanced funnel plot", "sensitivity": "Sensitivity to the "
            "assumed pre–post correlation r", "bubble": "Meta-regression (bubble plot)",
            "gosh": "GOSH plot (every subset of the pool's studies)",
            "cumulative": "Cumulative forest plot"}[kind]
    parts = [f"<b>{what}</b> of <b>{esc(label)}</b>, {esc(comparison_text(comparison, arms))}"
             f": {esc(MEASURE_NAMES.get(measure, measure))} ({esc(measure)}); k = {k}"
             + (f", {n:.0f} participants" if math.isfinite(n) and n > 0 else "") + "."]
    if strata is not None:
        pools = ", ".join(f"{DESIGN_PLURAL.get(str(d), str(d))} (k = {int(_num(kk))})"
                          for d, kk in zip(strata["design"], strata["k"]))
        parts.append(f"Designs are pooled separately: {esc(pools)}; no pool across designs."
                     + ("" if kind == "forest" else
                        f" This figure shows the {esc(DESIGN_NAMES.get(str(primary['design']), ''))}"
                        " pool (the most studies); the tables hold every stratum."))
    if kind == "subgroup_forest":
        parts.append(f"Studies grouped by {esc(variable_label(var, subgroup_labels))} "
                     f"(<code>{esc(var)}</code>), one subtotal per subgroup and "
                     "the test for subgroup differences in the footer.")
    if kind == "bubble":
        parts.append(f"Effect sizes against {esc(variable_label(var, subgroup_labels))} "
                     f"(<code>{esc(var)}</code>), circle area proportional to "
                     "the weight, with the fitted mixed-effects meta-regression line.")
    if kind == "sensitivity":
        parts.append("Every study without a reported or derivable correlation recomputed at each "
                     "r of the grid and pooled again" + (f"; the primary analysis uses r = "
                                                         f"{_num(prepost_r):g}" if prepost_r is
                                                         not None else "") + ".")
    if kind == "funnel":
        parts.append("Each study's effect against its standard error; shaded contours mark "
                     "where a study would be significant.")
    if kind == "gosh":
        parts.append("Pooled estimate against I² of every subset of the studies (a seeded "
                     "sample of subsets above gosh.max_exact_k); studies whose inclusion shifts "
                     "the cloud are highlighted.")
    if kind == "cumulative":
        parts.append("The pool re-estimated as each study is added, in the order of "
                     "cumulative.order_by.")
    parts.append(f"Primary pool: {esc(_pool_words(primary))}, {level:.0%} intervals.")
    warnings = small_k_warnings(kind, k, min_k_small_study=min_k_small_study,
                                pi_min_k=pi_min_k)
    if warnings:
        parts.append('<span class="warn">Caution: ' + esc("; ".join(warnings)) + ".</span>")
    return " ".join(parts)


# ------------------------------------------------------------------ the page
def inline_png(png: bytes) -> tuple[str, float]:
    """A PNG file as an ``<img>`` with a data URI, and its natural width in CSS pixels
    (its pixel width at the resolution its ``pHYs`` chunk records, 72 dpi without one)."""
    width_px = int.from_bytes(png[16:20], "big")
    dpi = 72.0
    at = png.find(b"pHYs")
    if at > 0 and png[at + 12] == 1:  # unit: metre
        dpi = int.from_bytes(png[at + 4:at + 8], "big") * 0.0254
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="" src="data:image/png;base64,{data}">', width_px * 96 / dpi


def _figure(svg_html: str, width: float, caption: str, fig_id: str) -> str:
    style = f"max-width:{width * FIGURE_ZOOM:.0f}px"
    return (f'<figure id="{fig_id}"><div class="svg" style="{style}">{svg_html}'
            f"</div><figcaption>{caption}</figcaption></figure>")


def review_report(*, config: dict, studies: pd.DataFrame, study_table: pd.DataFrame,
                  sof: pd.DataFrame, rob: pd.DataFrame, tables: dict, figures: list[dict],
                  journal_figures: dict, methods_md: str, manifest: pd.DataFrame,
                  missing: list[str]) -> str:
    """The whole page as a string (deterministic: the same inputs give the same bytes).

    Parameters
    ----------
    config : dict
        The validated config (``title``, ``question``, outcome labels, ``analysis.level``).
    studies : pandas.DataFrame
        The validated studies sheet (citation: author, year, title, journal, doi).
    study_table, sof, rob : pandas.DataFrame
        ``results/tables/studies.csv``, ``summary_of_findings.csv``, ``risk_of_bias.csv``.
    tables : dict
        Contract tables by name (``pooled``, ``subgroup_tests``, ``bias``,
        ``sensitivity``, ``leave1out``, ``excluded``; ``audit`` and ``caveats``
        when the run wrote them: the "Caveats" section, :func:`caveats_section`).
    figures : list of dict
        The analysis figures: each a figure-plan entry (``kind, outcome,
        comparison, measure, var, stem``) with ``svg``: the SVG file's text, or the PNG
        file's bytes where the figures are not drawn as SVG, None where drawn as PDF only;
        and ``not_drawn``: why the figure is a placeholder (absent or empty when drawn).
    journal_figures : dict
        ``stem`` → SVG text of the risk-of-bias and PRISMA figures drawn.
    methods_md : str
        ``results/methods.md``.
    manifest : pandas.DataFrame
        ``file, bytes, sha256``.
    missing : list of str
        What the review cannot show (:func:`scimeta.journal.missing_inputs`).
    """
    analysis = analysis_settings(config["analysis"])
    figure_settings = FigureSettings.from_figures(config["figures"])
    level = analysis.level
    title = str(config.get("title") or "") or DEFAULT_TITLE
    question = str(config.get("question") or "")
    outcomes = config["outcomes"]
    pooled = tables["pooled"]
    counter = iter(range(1, 10_000))

    def fig(drawn, caption, anchor):
        n = next(counter)
        if drawn is None:  # figures.formats names neither svg nor png
            body, width = ('<p class="muted">Drawn as PDF only (<code>figures.formats</code>), '
                           "in <code>results/figures/</code>.</p>", 400.0)
        elif isinstance(drawn, bytes):
            body, width = inline_png(drawn)
        else:
            body, width = inline_svg(drawn, f"f{n}-")
        return _figure(body, width, f"Figure {n}. {caption}", anchor)

    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
           "style-src 'unsafe-inline'; img-src data:\">",
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{esc(title)}</title><style>{_CSS}</style></head><body><main>",
           f"<h1>{esc(title)}</h1>"]
    out.append(f'<p class="question"><b>Question.</b> {esc(question)}</p>' if question else
               '<p class="question muted">The review question is not stated (config key '
               "<code>question</code>).</p>")
    n_studies = len(study_table)
    n_pat = pd.to_numeric(study_table.get("n_enrolled"), errors="coerce").sum()
    out.append(f"<p>{n_studies} {'study' if n_studies == 1 else 'studies'} included"
               + (f", {n_pat:.0f} participants enrolled" if n_pat > 0 else "")
               + f"; {len(outcomes)} outcomes. All intervals are {level:.0%} intervals.</p>")
    for text in missing:
        out.append(f'<p class="note">{esc(text)}.</p>')
    sections = [("studies", "Included studies"), ("sof", "Summary of findings"),
                ("caveats", "Caveats"), ("rob", "Risk of bias"), ("prisma", "PRISMA flow")]
    sections += [(f"outcome-{key}", oc["label"]) for key, oc in outcomes.items()]
    sections += [("methods", "Methods and results text"), ("manifest", "Manifest")]
    out.append("<nav><ol>" + "".join(f'<li><a href="#{esc(a)}">{esc(t)}</a></li>'
                                     for a, t in sections) + "</ol></nav>")

    # included studies
    cite = studies.set_index(studies["study_id"].astype(str))
    st = study_table.copy()
    st["intervention_route"] = [", ".join(p for p in (_text(a), _text(b)) if p)
                                for a, b in zip(st["intervention"], st["route"])]
    out.append('<h2 id="studies">Included studies</h2>')
    out.append(html_table(st, {"study": "Study", "design": "Design", "n_enrolled": "Enrolled",
                               "n_analysed": "Analysed", "population": "Population",
                               "intervention_route": "Intervention, route",
                               "followup_months": "Follow-up (months)",
                               "outcomes_analysed": "Outcomes analysed",
                               "risk_of_bias": "Risk of bias (overall)", "note": "Note"}))
    refs = []
    for sid, label in zip(st["study_id"].astype(str), st["study"]):
        row = cite.loc[sid] if sid in cite.index else {}
        parts = [_text(row.get(c, "")) for c in ("author", "title", "journal")]
        year = _num(row.get("year", ""))
        parts.insert(1, f"{year:.0f}" if math.isfinite(year) else _text(row.get("year", "")))
        doi = _text(row.get("doi", ""))
        text = ". ".join(p.rstrip(".") for p in parts if p) + "."
        refs.append(f"<li><b>{esc(label)}</b>: {esc(text)}"
                    + (f" doi: {esc(doi)}" if doi else "") + "</li>")
    out.append('<p class="muted">References</p><ol class="refs">' + "".join(refs) + "</ol>")

    # summary of findings
    out.append('<h2 id="sof">Summary of findings</h2>')
    out.append('<p class="muted">Primary analysis of each comparison\'s first measure. The '
               "GRADE certainty is a <b>draft for the review team</b>: each judgement is "
               "computed by a stated rule (scimeta.grade), its reason in the numbered note "
               "below the table, and is to be confirmed.</p>")
    cells, notes = grade_footnotes(sof)
    rows, classes = [], []
    for (_, r), c, designs in zip(sof.iterrows(), cells, _design_text(sof)):
        o, comp = r["outcome"], r.get("comparison")
        comp_text = (comparison_text(comp, outcomes[o]["arms"])
                     if isinstance(comp, str) and o in outcomes else "")
        k, n = _num(r.get("k")), _num(r.get("n"))
        who = (f"{k:.0f}" + (f" ({n:.0f})" if math.isfinite(n) else "")
               if math.isfinite(k) else "")
        effect = esc(_text(r.get("effect")))
        note = _text(r.get("note"))
        if comp == "pre_post" and effect:  # said beside the number, not among the notes
            effect += f'<br><span class="uncontrolled">{esc(UNCONTROLLED)}</span>'
            note = note.removeprefix(UNCONTROLLED).lstrip("; ")
        effect += _footnote(notes, note)
        rows.append([esc(r["label"]), esc(comp_text), esc(designs), esc(who), effect]
                    + [c[d] for d, _ in GRADE_DOMAINS] + [esc(_text(r.get("certainty")))])
        classes.append(["", "", "", "", "effect"] + [""] * len(GRADE_DOMAINS)
                       + [_certainty_class(r.get("certainty"))])
    out.append(_raw_table(["Outcome", "Comparison", "Designs pooled", "Studies (participants)",
                           "Effect (primary pool)"] + [h for _, h in GRADE_DOMAINS]
                          + ["Certainty (draft)"], rows, classes=classes,
                          table_class="sof"))
    if notes:
        out.append('<ol class="footnotes">' + "".join(f"<li>{esc(t)}</li>" for t in notes)
                   + "</ol>")

    warnings = tables.get("figure_warnings")
    not_drawn = ([] if warnings is None else
                 [{"stem": r["figure"], "outcome": _text(r["outcome"]), "kind": r["kind"],
                   "reason": f'{r["status"]}: {_text(r["reason"])}'}
                  for _, r in warnings.iterrows()])
    out += caveats_section(config=config, audit=tables.get("audit"),
                           caveats=tables.get("caveats"), not_drawn=not_drawn)

    # risk of bias
    out.append('<h2 id="rob">Risk of bias</h2>')
    if "rob_traffic_light" in journal_figures:
        out.append(fig(journal_figures["rob_traffic_light"],
                       f"Risk of bias of the {rob['study_id'].nunique()} included studies, one "
                       "row per study, one dot per domain of its tool (RoB 2, ROBINS-I, JBI "
                       "case-series checklist) and its overall judgement (JBI: derived by "
                       "the rule of scimeta.rob.jbi_overall).", "fig-rob-traffic-light"))
    if "rob_summary" in journal_figures:
        out.append(fig(journal_figures["rob_summary"],
                       "Share of studies at each judgement per domain, and the overall "
                       "judgements of all tools on one scale (every study counts once; the "
                       "summaries weighted by each pool are in the outcome sections).",
                       "fig-rob-summary"))
    if len(rob) and rob["study_id"].notna().any():
        out.append("<details><summary>Every judgement with its support</summary>")
        out.append(html_table(rob, {"study": "Study", "tool": "Tool", "domain": "Domain",
                                    "domain_label": "Domain (name)", "judgement": "Judgement",
                                    "support": "Support (quote or reason)"}))
        out.append("</details>")
    else:
        out.append(f'<p class="note">{esc(rob["note"].iloc[0] if len(rob) else "")}.</p>')

    # PRISMA
    out.append('<h2 id="prisma">PRISMA flow</h2>')
    if "prisma" in journal_figures:
        note = str(config["prisma"].get("note") or "")
        out.append(fig(journal_figures["prisma"],
                       "PRISMA 2020 flow diagram of the review (config <code>prisma</code>), "
                       "with the published participant flow of included studies."
                       + (f" {esc(note)}" if note else ""), "fig-prisma"))
    else:
        out.append('<p class="note">No PRISMA flow diagram: the config has no '
                   "<code>prisma</code> block.</p>")

    # outcomes
    overall = pooled[pooled["subgroup_var"] == "overall"] if len(pooled) else pooled
    for key, oc in outcomes.items():
        label = oc["label"]
        out.append(f'<h2 id="outcome-{esc(key)}">{esc(label)}</h2>')
        out.append(f'<p class="muted">Outcome <code>{esc(key)}</code>; unit '
                   f"{esc(oc['unit'])}; timepoint {_num(oc['timepoint']):g} "
                   "months.</p>")
        mine = overall[overall["outcome"] == key] if len(overall) else overall
        if mine.empty:
            ex = tables["excluded"]
            ex = ex[ex["outcome"] == key] if len(ex) and "outcome" in ex else ex.iloc[0:0]
            out.append('<p class="note">No pooled estimate for this outcome.</p>')
            if len(ex):
                out.append(html_table(ex, {"study_id": "Study", "arm": "Arm",
                                           "timepoint": "Timepoint", "reason": "Reason"}))
        else:
            primary_tau2, primary_ci = analysis.tau2_method, analysis.ci_method
            is_primary = mine["primary"].astype(str).str.lower() == "true"
            prim = mine[is_primary].copy()
            prim["comparison_text"] = prim["comparison"].map(
                lambda c: comparison_text(c, oc["arms"]))
            prim["effect"] = [_interval(e, lo, hi) for e, lo, hi in
                              zip(prim["estimate"], prim["ci_low"], prim["ci_high"])]
            prim["pi"] = [_interval(None, lo, hi)
                          for lo, hi in zip(prim["pi_low"], prim["pi_high"])]
            out.append("<h3>Pooled estimates (primary analysis)</h3>")
            out.append(f'<p class="muted">{esc(_pool_words(prim.iloc[0]) if len(prim) else "")}'
                       + ("; ROM on the log scale" if (prim["measure"] == "ROM").any() else "")
                       + ".</p>")
            prim["design_text"] = _design_text(prim)
            out.append(html_table(prim, {
                "comparison_text": "Comparison", "design_text": "Designs pooled",
                "measure": "Measure", "k": "k", "n": "n",
                "effect": "Estimate (CI)", "pi": "Prediction interval", "I2": "I² (%)",
                "tau2": "τ²", "Q_p": "p (Q)", "note": "Note"}))
            out.append(f"<details><summary>Every model, estimator and CI ({len(mine)} rows)"
                       "</summary>")
            out.append(html_table(mine, {
                "comparison": "Comparison", "design": "Design", "measure": "Measure",
                "model": "Model",
                "tau2_method": "τ²", "ci_method": "CI", "primary": "Primary", "k": "k",
                "estimate": "Estimate", "ci_low": "CI low", "ci_high": "CI high",
                "pi_low": "PI low", "pi_high": "PI high", "I2": "I² (%)", "tau2": "τ²"}))
            out.append("</details>")
            for name, title_, cols, keep in (
                    ("subgroup_tests", "Tests for subgroup differences", {
                        "comparison": "Comparison", "design": "Design", "measure": "Measure",
                        "subgroup_var": "Variable",
                        "method": "Method", "k": "k", "k_groups": "Groups",
                        "Q_between": "Q between", "df": "df", "p": "p",
                        "p_perm": "p (permutation)", "note": "Note"}, "p"),
                    ("bias", "Small-study effects", {
                        "comparison": "Comparison", "design": "Design", "measure": "Measure",
                        "test": "Test", "k": "k",
                        "estimate": "Estimate", "statistic": "Statistic", "p": "p", "k0": "k0",
                        "note": "Note"}, "estimate"),
                    ("sensitivity", "Sensitivity to the pre–post correlation", {
                        "measure": "Measure", "design": "Design", "r_assumed": "r", "k": "k",
                        "estimate": "Estimate",
                        "ci_low": "CI low", "ci_high": "CI high", "I2": "I² (%)", "note": "Note"},
                     "estimate"),
                    ("leave1out", "Leave-one-out", {
                        "comparison": "Comparison", "design": "Design", "measure": "Measure",
                        "study_id": "Left out",
                        "estimate": "Estimate", "ci_low": "CI low", "ci_high": "CI high",
                        "I2": "I² (%)", "note": "Note"}, "estimate")):
                t = tables.get(name)
                if t is None or not len(t) or "outcome" not in t:
                    continue
                t = t[t["outcome"] == key]
                if name == "subgroup_tests" and "subgroup_var" in t:  # shown by display name
                    t = t.assign(subgroup_var=[variable_label(v, config.get("subgroup_labels"))
                                               for v in t["subgroup_var"]])
                if "tau2_method" in t:
                    t = t[(t["tau2_method"] == primary_tau2) | t["tau2_method"].isna()]
                if "ci_method" in t:
                    t = t[(t["ci_method"] == primary_ci) | t["ci_method"].isna()]
                computed = t[pd.to_numeric(t[keep], errors="coerce").notna()]
                if not len(t):
                    continue
                out.append(f"<details><summary>{esc(title_)}: {len(computed)} computed, "
                           f"{len(t) - len(computed)} not (primary estimator {esc(primary_tau2)})"
                           "</summary>")
                if len(computed):
                    out.append(html_table(computed, cols, digits=3))
                reasons = t.loc[~t.index.isin(computed.index), "note"].fillna("").astype(str)
                if len(reasons):
                    counts = reasons.value_counts()
                    out.append("<p class=\"muted\">Not computed: " + esc("; ".join(
                        f"{r or 'no reason given'} ({n})" for r, n in
                        sorted(counts.items(), key=lambda x: (-x[1], x[0])))) + "</p>")
                out.append("</details>")
        out.append("<h3>Figures</h3>")
        for item in [f for f in figures if f["outcome"] == key]:
            prow = mine[(mine["comparison"] == item["comparison"])
                        & (mine["measure"] == item["measure"])
                        & (mine["primary"].astype(str).str.lower() == "true")]
            if item["kind"] == "sensitivity":
                prow = mine[(mine["comparison"] == "pre_post")
                            & (mine["measure"] == item["measure"])
                            & (mine["primary"].astype(str).str.lower() == "true")]
            strata = prow
            if len(prow) > 1 and item["kind"] != "forest":  # a figure of one stratum's pool
                shown = largest_stratum(dict(zip(prow["design"].astype(str),
                                                 prow["k"].astype(int))))
                prow = prow[prow["design"].astype(str) == shown]
            primary = prow.iloc[0] if len(prow) else None
            out.append(fig(item["svg"], figure_caption(
                item, label, primary, arms=oc["arms"], level=level,
                min_k_small_study=figure_settings.min_k_small_study,
                pi_min_k=analysis.pi_min_k, prepost_r=config["prepost_r"],
                subgroup_labels=config.get("subgroup_labels"),
                strata=strata if len(strata) > 1 else None),
                           f"fig-{esc(item['stem'])}"))
        for comparison in ("between_arms", "pre_post"):
            stem = f"rob_summary_{key}_{comparison}"
            if stem in journal_figures:
                out.append(fig(journal_figures[stem],
                               f"Risk of bias of the <b>{esc(label)}</b> pool, "
                               f"{esc(comparison_text(comparison, oc['arms']))} (the pool the summary of "
                               "findings rates): share of the pool's inverse-variance weight at "
                               "each judgement per domain; studies outside the pool are "
                               "listed under the bars.", f"fig-{stem}"))

    out.append('<h2 id="methods">Methods and results text</h2>')
    out.append('<p class="muted">results/methods.md, generated from the same tables.</p>')
    out.append(f'<div class="methods">{markdown_html(methods_md, heading_offset=2)}</div>')

    out.append('<h2 id="manifest">Manifest</h2>')
    out.append("<p class=\"muted\">SHA-256 of every input and output file this page was made "
               "from (paths relative to the review folder; the page itself is not listed).</p>")
    out.append(html_table(manifest, {"file": "File", "bytes": "Bytes", "sha256": "SHA-256"}))
    out.append("</main></body></html>")
    return "\n".join(out) + "\n"
