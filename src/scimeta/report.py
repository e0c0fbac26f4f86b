"""The audit page of the report: every effect size traced to its sources, as HTML.

Pure functions from tables to a string; every value that comes from a sheet
is escaped (:func:`scimeta.io.html_escape`), so a title or quote holding
HTML shows as text.
"""

from __future__ import annotations

import math

import pandas as pd

from scimeta.conversions import METHOD_REFERENCES
from scimeta.safe import html_escape

__all__ = ["audit_page", "finding_anchor"]


def finding_anchor(row: int) -> str:
    """The id of a finding on the audit page: ``finding-<n>``, ``n`` its 1-based row in
    ``results/tables/audit.csv`` (so results/report.html links to ``audit.html#finding-<n>``)."""
    return f"finding-{int(row) + 1}"

_STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 13px; margin: 1.5em; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 1.6em; } h3 { font-size: 14px; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ccc; padding: 3px 6px; vertical-align: top; text-align: left; }
th { background: #f0f0f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.error { color: #a00; font-weight: bold; } .warning { color: #a60; } .info { color: #555; }
.quote { font-style: italic; max-width: 40em; overflow-wrap: anywhere; }
"""


def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:.6g}"
    return html_escape(value)


def _table(frame: pd.DataFrame, columns: list[str], *, numeric=(), classes=None,
           row_ids=None) -> str:
    if frame.empty:
        return "<p>None.</p>"
    head = "".join(f"<th>{html_escape(c)}</th>" for c in columns)
    body = []
    for index, row in frame.iterrows():
        cells = []
        for c in columns:
            css = ' class="num"' if c in numeric else ""
            if classes and c in classes:
                css = f' class="{html_escape(row[c])}"'
            cells.append(f"<td{css}>{_fmt(row.get(c))}</td>")
        tr = f'<tr id="{html_escape(row_ids(index))}">' if row_ids else "<tr>"
        body.append(tr + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _method_text(method) -> str:
    if not isinstance(method, str) or not method:
        return ""
    ref = METHOD_REFERENCES.get(method, "")
    return f"{method} ({ref})" if ref else method


def _arm_for(arms_by_row: dict, row: int, effect, *, synthesised: bool | None = None):
    """The arm row with sheet row ``row`` of the effect's study and outcome.

    A row synthesised from subgroups shares ``source_row`` with its first
    subgroup row: the effect's population picks between them
    (``synthesised`` forces one or the other).
    """
    candidates = [
        a
        for a in arms_by_row.get(row, [])
        if a.get("study_id") == effect.get("study_id") and a.get("outcome") == effect.get("outcome")
    ]
    if synthesised is not None:
        candidates = [
            a for a in candidates if (a.get("mean_method") == "combined_subgroups") == synthesised
        ]
    for a in candidates:
        if a.get("population") == effect.get("population"):
            return a
    return candidates[0] if candidates else None


def _source_steps(arm) -> list[str]:
    return [
        f"source: {html_escape(arm.get('source', ''))}",
        f'quote: <span class="quote">“{html_escape(arm.get("quote", ""))}”</span>',
    ]


def _trace(effect, arms_by_row: dict) -> str:
    rows = [r for r in str(effect.get("source_rows", "")).split(";") if r.strip()]
    items = []
    for r in rows:
        arm = _arm_for(arms_by_row, int(float(r)), effect)
        if arm is None:
            items.append(f"<li>row {html_escape(r)}: not found in the arms table</li>")
            continue
        steps = [
            f"row {html_escape(r)}: {html_escape(arm.get('arm', ''))}, "
            f"{html_escape(arm.get('population', ''))}, {_fmt(arm.get('timepoint'))} months, "
            f"{html_escape(arm.get('kind', ''))}",
            f"n = {_fmt(arm.get('n_used'))}, mean = {_fmt(arm.get('mean_used'))} "
            f"[{html_escape(_method_text(arm.get('mean_method')))}], "
            f"SD = {_fmt(arm.get('sd_used'))} [{html_escape(_method_text(arm.get('sd_method')))}]",
        ]
        if isinstance(arm.get("effect_method"), str) and arm.get("effect_method"):
            steps.append(
                f"effect = {_fmt(arm.get('yi_used'))}, variance = {_fmt(arm.get('vi_used'))} "
                f"[{html_escape(_method_text(arm.get('effect_method')))}]"
            )
        parts = [x for x in str(arm.get("source_rows", "")).split(";") if x.strip()]
        if arm.get("mean_method") == "combined_subgroups" and len(parts) > 1:
            steps.append(f"{html_escape(arm.get('source', ''))}:")
            sub_items = []
            for x in parts:
                sub = _arm_for(arms_by_row, int(float(x)), effect, synthesised=False)
                if sub is None:
                    sub_items.append(f"<li>row {html_escape(x)}: not found in the arms table</li>")
                    continue
                sub_items.append(
                    "<li>"
                    + "<br>".join(
                        [
                            f"row {html_escape(x)}: {html_escape(sub.get('population', ''))}, "
                            f"n = {_fmt(sub.get('n_used'))}, mean = {_fmt(sub.get('mean_used'))}, "
                            f"SD = {_fmt(sub.get('sd_used'))}",
                            *_source_steps(sub),
                        ]
                    )
                    + "</li>"
                )
            steps.append("<ul>" + "".join(sub_items) + "</ul>")
        else:
            steps.extend(_source_steps(arm))
        items.append("<li>" + "<br>".join(steps) + "</li>")
    return "<ul>" + "".join(items) + "</ul>"


def _provenance(findings: pd.DataFrame) -> str:
    """The ``quote_source`` findings: each study's quotes found in its source text, and
    every row whose quote is not there."""
    prov = findings[findings["check"] == "quote_source"] if "check" in findings else findings
    if prov.empty:
        return ("<p>No source texts (<code>data/raw/sources/&lt;study_id&gt;.txt|.md|.html</code>): "
                "the quotes were not checked against the studies' texts.</p>")
    return _table(prov, ["severity", "study_id", "outcome", "rows", "message"], classes={"severity"})


def audit_page(
    *,
    title: str,
    effects: pd.DataFrame,
    arms: pd.DataFrame,
    findings: pd.DataFrame,
    counts: pd.DataFrame,
    excluded: pd.DataFrame,
    outcome_labels: dict[str, str],
) -> str:
    """The audit as one HTML page.

    Sections: counts of included and excluded rows per outcome; the findings
    of the audit's checks by severity; the provenance of the quotes in the
    studies' source texts; the excluded rows with their reasons;
    and, per outcome, every effect size with its inputs and each conversion
    step (method and reference), the source and the verbatim quote of every
    row it comes from.
    """
    arms_by_row: dict[int, list[dict]] = {}
    for _, arm in arms.iterrows():
        if not pd.isna(arm.get("source_row")):
            arms_by_row.setdefault(int(arm["source_row"]), []).append(arm.to_dict())
    severity_order = {"error": 0, "warning": 1, "info": 2}
    findings = findings.reset_index(drop=True)
    findings = findings.assign(_s=findings["severity"].map(severity_order).fillna(3)).sort_values(
        ["_s", "check", "study_id"], kind="mergesort"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html_escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html_escape(title)}</h1>",
        "<h2>Rows included and excluded per outcome</h2>",
        _table(counts, list(counts.columns), numeric=set(counts.columns) - {"outcome"}),
        "<h2>Findings</h2>",
        _table(findings, ["severity", "check", "study_id", "outcome", "rows", "column", "message"],
               classes={"severity"}, row_ids=finding_anchor),
        "<h2>Provenance of the quotes</h2>",
        _provenance(findings),
        "<h2>Excluded rows</h2>",
        _table(excluded, [c for c in ["file", "row", "study_id", "outcome", "arm", "population",
                                      "timepoint", "stage", "reason"] if c in excluded.columns]),
        "<h2>Effect sizes and where every number comes from</h2>",
    ]
    for outcome, group in effects.groupby("outcome", sort=True):
        parts.append(f"<h3>{html_escape(outcome_labels.get(outcome, outcome))}</h3>")
        parts.append("<table><thead><tr><th>study</th><th>population</th><th>comparison</th>"
                     "<th>measure</th><th>yi</th><th>vi</th><th>r</th><th>trace</th></tr></thead><tbody>")
        for _, eff in group.iterrows():
            r_text = _fmt(eff.get("r"))
            if isinstance(eff.get("r_source"), str) and eff.get("r_source"):
                r_text += f" ({html_escape(eff['r_source'])})"
            parts.append(
                "<tr>"
                f"<td>{html_escape(eff.get('label', eff['study_id']))}</td>"
                f"<td>{html_escape(eff['population'])}</td>"
                f"<td>{html_escape(eff['comparison'])}</td>"
                f"<td>{html_escape(eff['measure'])}</td>"
                f'<td class="num">{_fmt(eff["yi"])}</td>'
                f'<td class="num">{_fmt(eff["vi"])}</td>'
                f"<td>{r_text}</td>"
                f"<td>{_trace(eff, arms_by_row)}</td>"
                "</tr>"
            )
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
