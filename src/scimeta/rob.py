"""Risk of bias as data: the tools, the sheet's checks and the per-study judgements.

``data/raw/risk_of_bias.csv`` (optional) holds one row per study × domain:
``study_id, tool, domain, judgement, support``. The tool follows the study's
``design`` in ``studies.csv`` (:data:`DESIGN_TOOL`):

* ``rob2`` — Cochrane RoB 2 for randomised trials (Sterne et al. 2019,
  doi:10.1136/bmj.l4898): domains D1–D5 and ``overall``; ``low``,
  ``some concerns``, ``high``.
* ``robins_i`` — ROBINS-I for non-randomised studies of interventions
  (Sterne et al. 2016, doi:10.1136/bmj.i4919): domains D1–D7 and ``overall``;
  ``low``, ``moderate``, ``serious``, ``critical``, ``no information``.
* ``jbi_case_series`` — the JBI critical appraisal checklist for case series
  (Munn et al. 2020, doi:10.11124/JBISRIR-D-19-00099): items Q1–Q10 answered
  ``yes``, ``no``, ``unclear``, ``not applicable``. JBI gives no overall
  judgement; :func:`jbi_overall` derives one (the rule is stated there), and
  an ``overall`` row in the sheet, if given, must agree with it.

Every judgement needs its ``support`` (a quote or the reason). The overall
judgement of RoB 2 and ROBINS-I is the assessor's, but never milder than the
worst domain (both tools' guidance); the sheet is checked for that.

For summaries across tools (the summary of findings, the study table) each
overall judgement is put on one scale, :data:`COMMON_SCALE`
(``low`` / ``some concerns`` / ``high``); the mapping is :data:`TO_COMMON`.
"""

from __future__ import annotations

from dataclasses import dataclass

import jsonschema
import pandas as pd

from scimeta.review import Problem, load_schema

__all__ = [
    "ROB_CSV",
    "ROB_COLUMNS",
    "Tool",
    "TOOLS",
    "DESIGN_TOOL",
    "COMMON_SCALE",
    "TO_COMMON",
    "NOT_ASSESSED",
    "jbi_overall",
    "validate_risk_of_bias",
    "overall_judgements",
    "forest_rob_data",
]

#: Where the sheet lives in a review folder (relative path, for messages).
ROB_CSV = "data/raw/risk_of_bias.csv"
ROB_COLUMNS = ("study_id", "tool", "domain", "judgement", "support")
NOT_ASSESSED = "not assessed"

_GREEN, _YELLOW, _RED, DARK_RED, _BLUE, _GREY = (
    "#02C100", "#E2DF07", "#BF0000", "#820000", "#4EA1F7", "#BDBDBD")
MINUS = "\u2212"
#: Judgement → (fill colour, symbol) in every risk-of-bias figure and table (robvis's colours).
JUDGEMENT_STYLE = {
    "low": (_GREEN, "+"),
    "yes": (_GREEN, "+"),
    "some concerns": (_YELLOW, MINUS),
    "moderate": (_YELLOW, MINUS),
    "unclear": (_YELLOW, "?"),
    "high": (_RED, "\u00d7"),
    "serious": (_RED, "\u00d7"),
    "no": (_RED, "\u00d7"),
    "critical": (DARK_RED, "!"),
    "no information": (_BLUE, "?"),
    "not applicable": (_GREY, "\u2013"),
    "not assessed": ("#FFFFFF", ""),
}


@dataclass(frozen=True)
class Tool:
    """One risk-of-bias tool: its domains (in order) and the judgements allowed.

    ``severity`` orders the domain judgements from least to most concerning
    (``None``: not ordered, e.g. ROBINS-I's ``no information``).
    """

    key: str
    name: str
    reference: str
    domains: tuple[tuple[str, str], ...]
    judgements: tuple[str, ...]
    overall_judgements: tuple[str, ...]
    severity: dict
    overall_derived: bool = False

    @property
    def domain_ids(self) -> tuple[str, ...]:
        return tuple(d for d, _ in self.domains)

    def label(self, domain: str) -> str:
        return dict(self.domains + (("overall", "Overall"),))[domain]


TOOLS = {
    "rob2": Tool(
        key="rob2",
        name="RoB 2",
        reference="Sterne JAC et al. BMJ 2019;366:l4898, doi:10.1136/bmj.l4898",
        domains=(
            ("D1", "Randomisation process"),
            ("D2", "Deviations from intended interventions"),
            ("D3", "Missing outcome data"),
            ("D4", "Measurement of the outcome"),
            ("D5", "Selection of the reported result"),
        ),
        judgements=("low", "some concerns", "high"),
        overall_judgements=("low", "some concerns", "high"),
        severity={"low": 0, "some concerns": 1, "high": 2},
    ),
    "robins_i": Tool(
        key="robins_i",
        name="ROBINS-I",
        reference="Sterne JAC et al. BMJ 2016;355:i4919, doi:10.1136/bmj.i4919",
        domains=(
            ("D1", "Confounding"),
            ("D2", "Selection of participants"),
            ("D3", "Classification of interventions"),
            ("D4", "Deviations from intended interventions"),
            ("D5", "Missing data"),
            ("D6", "Measurement of outcomes"),
            ("D7", "Selection of the reported result"),
        ),
        judgements=("low", "moderate", "serious", "critical", "no information"),
        overall_judgements=("low", "moderate", "serious", "critical", "no information"),
        severity={"low": 0, "moderate": 1, "serious": 2, "critical": 3},
    ),
    "jbi_case_series": Tool(
        key="jbi_case_series",
        name="JBI checklist for case series",
        reference="Munn Z et al. JBI Evid Synth 2020;18(10):2127-2133, "
        "doi:10.11124/JBISRIR-D-19-00099",
        domains=(
            ("Q1", "Clear criteria for inclusion"),
            ("Q2", "Condition measured in a standard, reliable way"),
            ("Q3", "Valid methods to identify the condition"),
            ("Q4", "Consecutive inclusion"),
            ("Q5", "Complete inclusion"),
            ("Q6", "Demographics clearly reported"),
            ("Q7", "Clinical information clearly reported"),
            ("Q8", "Outcomes or follow-up clearly reported"),
            ("Q9", "Site or clinic demographics reported"),
            ("Q10", "Statistical analysis appropriate"),
        ),
        judgements=("yes", "no", "unclear", "not applicable"),
        overall_judgements=("low", "some concerns", "high"),
        severity={"yes": 0, "unclear": 1, "no": 2},
        overall_derived=True,
    ),
}

#: The tool a study's ``design`` (studies.csv) is assessed with.
DESIGN_TOOL = {"rct": "rob2", "controlled": "robins_i", "single_arm": "jbi_case_series"}

#: One scale for overall judgements across tools, least to most concerning.
COMMON_SCALE = ("low", "some concerns", "high")
#: Each tool's overall judgement on :data:`COMMON_SCALE`. ROBINS-I's
#: ``moderate`` is "sound for a non-randomised study" (some concerns next to a
#: trial); ``serious`` and ``critical`` are high; ``no information`` is kept
#: as some concerns, never as low.
TO_COMMON = {
    "rob2": {"low": "low", "some concerns": "some concerns", "high": "high"},
    "robins_i": {
        "low": "low",
        "moderate": "some concerns",
        "serious": "high",
        "critical": "high",
        "no information": "some concerns",
    },
    "jbi_case_series": {"low": "low", "some concerns": "some concerns", "high": "high"},
}

#: JBI items on the selection of cases: a "no" on either makes the overall high.
JBI_SELECTION_ITEMS = ("Q4", "Q5")


def jbi_overall(answers: dict) -> tuple[str, str]:
    """The overall judgement of a case series from its JBI answers.

    The JBI checklist has no overall judgement; this rule is the project's:

    * ``high`` if item Q4 (consecutive inclusion) or Q5 (complete inclusion)
      is answered ``no``, or if at least half of the applicable items are not
      ``yes`` (``no`` or ``unclear``);
    * ``low`` if every applicable item is ``yes``;
    * ``some concerns`` otherwise.

    Items answered ``not applicable`` are left out of the count.

    Parameters
    ----------
    answers : dict
        Item (``Q1`` … ``Q10``) → answer.

    Returns
    -------
    (judgement, reason)
    """
    applicable = {q: a for q, a in answers.items() if a != "not applicable"}
    not_yes = sorted((q for q, a in applicable.items() if a != "yes"), key=_item_order)
    selection_no = [q for q in JBI_SELECTION_ITEMS if applicable.get(q) == "no"]
    n = len(applicable)
    count = f"{len(not_yes)} of {n} applicable items not 'yes'"
    if selection_no:
        return "high", f"'no' on {', '.join(selection_no)} (selection of cases); {count}"
    if n and 2 * len(not_yes) >= n:
        return "high", f"{count} ({', '.join(not_yes)}): at least half"
    if not not_yes:
        return "low", f"all {n} applicable items 'yes'"
    return "some concerns", f"{count} ({', '.join(not_yes)})"


def _item_order(domain: str) -> tuple[int, int]:
    if domain == "overall":
        return (1, 0)
    return (0, int(domain[1:]))


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series([""] * len(frame), index=frame.index, dtype=object)
    return frame[column].map(lambda v: "" if v is None or v != v else str(v).strip())


def _rows(frame: pd.DataFrame) -> list[int]:
    if "source_row" in frame.columns:
        return [int(r) for r in frame["source_row"]]
    return list(range(2, len(frame) + 2))


def validate_risk_of_bias(table: pd.DataFrame, studies: pd.DataFrame, *,
                          file: str = ROB_CSV) -> list[Problem]:
    """Every problem of the risk-of-bias sheet, as :class:`scimeta.validate.Problem`.

    Parameters
    ----------
    table : pandas.DataFrame
        The sheet as read, every cell text (``pd.read_csv(..., dtype=str,
        keep_default_na=False)``); an optional ``source_row`` column gives the
        spreadsheet row of each record (default: header = row 1, records from 2).
    studies : pandas.DataFrame
        The validated studies sheet (``study_id``, ``design``).
    file : str
        Name used in the messages (``data/raw/extraction.xlsx:risk_of_bias``
        for a workbook sheet).

    Returns
    -------
    list of Problem
        Errors (the columns of ``scimeta/schemas/risk_of_bias.schema.yaml``; a
        study unknown to studies.csv; a tool that does not follow the design;
        a domain or judgement the tool does not have; a missing support; a
        study × domain given twice; a study lacking domains; an overall
        judgement milder than the worst domain, or a JBI overall that differs
        from :func:`jbi_overall`) and warnings (a study of studies.csv that is
        not assessed). Sorted by row.
    """

    problems: list[Problem] = []
    schema = load_schema("risk_of_bias")
    for col in schema["required"]:
        if col not in table.columns:
            problems.append(Problem(file, 1, col, "missing required column"))
    if problems:
        return problems
    rows = _rows(table)
    cells = {c: _text(table, c).tolist() for c in ROB_COLUMNS}
    validator = jsonschema.Draft202012Validator(schema)
    designs = dict(zip(_text(studies, "study_id"), _text(studies, "design")))
    seen: dict[tuple[str, str], int] = {}
    by_study: dict[str, dict[str, tuple[int, str]]] = {}
    for i, row in enumerate(rows):
        rec = {c: cells[c][i] for c in ROB_COLUMNS}
        bad_cols = set()
        for col in ROB_COLUMNS:
            if rec[col] == "":
                what = ("a judgement needs its support: the quote or the reason"
                        if col == "support" else "required value is empty")
                problems.append(Problem(file, row, col, what))
                bad_cols.add(col)
        for err in validator.iter_errors({k: v for k, v in rec.items() if v != ""}):
            col = str(err.absolute_path[0]) if err.absolute_path else None
            if col not in bad_cols:
                message = (f"{rec[col]!r} is not a valid id" if err.validator == "not"
                           else err.message)
                problems.append(Problem(file, row, col, message))
                bad_cols.add(col)
        sid, tool_key, domain, judgement = (rec[c] for c in ("study_id", "tool", "domain",
                                                             "judgement"))
        if "study_id" not in bad_cols and sid not in designs:
            problems.append(Problem(file, row, "study_id",
                                    f"study {sid!r} is not in the studies sheet"))
            continue
        if bad_cols & {"study_id", "tool"}:
            continue
        expected = DESIGN_TOOL.get(designs[sid])
        if tool_key != expected:
            problems.append(Problem(
                file, row, "tool",
                f"study {sid!r} has design {designs[sid]!r}: its tool is {expected!r} "
                f"({TOOLS[expected].name if expected else 'none'}), not {tool_key!r}"))
            continue
        tool = TOOLS[tool_key]
        if "domain" in bad_cols:
            continue
        if domain != "overall" and domain not in tool.domain_ids:
            problems.append(Problem(
                file, row, "domain",
                f"{domain!r} is not a domain of {tool.name} "
                f"(domains: {', '.join(tool.domain_ids)}, overall)"))
            continue
        key = (sid, domain)
        if key in seen:
            problems.append(Problem(file, row, "domain",
                                    f"study {sid!r}, domain {domain} given twice "
                                    f"(first at row {seen[key]})"))
            continue
        seen[key] = row
        allowed = tool.overall_judgements if domain == "overall" else tool.judgements
        if "judgement" not in bad_cols and judgement not in allowed:
            problems.append(Problem(
                file, row, "judgement",
                f"{judgement!r} is not a {tool.name} judgement for "
                f"{'the overall judgement' if domain == 'overall' else domain} "
                f"(one of: {', '.join(allowed)})"))
            continue
        if "judgement" not in bad_cols:
            by_study.setdefault(sid, {})[domain] = (row, judgement)
    for sid, given in by_study.items():
        problems += _check_study(sid, given, TOOLS[DESIGN_TOOL[designs[sid]]], file)
    first_rows = {}
    for (sid, _), row in seen.items():
        first_rows.setdefault(sid, row)
    for sid in designs:
        if sid and sid not in first_rows and not any(
                p.column == "study_id" and f"{sid!r}" in p.message for p in problems):
            problems.append(Problem(
                file, None, "study_id",
                f"study {sid!r} is not assessed: its risk of bias is reported as "
                f"'{NOT_ASSESSED}'", "warning"))
    return sorted(problems, key=lambda p: (-1 if p.row is None else p.row, p.column or "",
                                           p.message))


def _check_study(sid: str, given: dict, tool: Tool, file: str) -> list[Problem]:
    problems = []
    first = min(r for r, _ in given.values())
    missing = [d for d in tool.domain_ids if d not in given]
    if not tool.overall_derived and "overall" not in given:
        missing.append("overall")
    if missing:
        problems.append(Problem(file, first, "domain",
                                f"study {sid!r} lacks {tool.name} domains: {', '.join(missing)}"))
        return problems
    if "overall" not in given:
        return problems
    row, overall = given["overall"]
    domains = {d: j for d, (_, j) in given.items() if d != "overall"}
    if tool.overall_derived:
        derived, reason = jbi_overall(domains)
        if overall != derived:
            problems.append(Problem(file, row, "judgement",
                                    f"study {sid!r}: the overall judgement derived from the "
                                    f"items is {derived!r} ({reason}), not {overall!r}"))
        return problems
    ranked = [(tool.severity[j], d, j) for d, j in domains.items() if j in tool.severity]
    if overall in tool.severity and ranked:
        worst = max(ranked)
        if tool.severity[overall] < worst[0]:
            problems.append(Problem(file, row, "judgement",
                                    f"study {sid!r}: overall {overall!r} is milder than domain "
                                    f"{worst[1]} ({worst[2]!r}); the overall judgement is at "
                                    "least as severe as the worst domain"))
    return problems


def overall_judgements(table: pd.DataFrame, studies: pd.DataFrame) -> pd.DataFrame:
    """The overall risk of bias of every study of ``studies``.

    The one place that decides a study's overall judgement: the sheet's
    ``overall`` row (RoB 2, ROBINS-I) or :func:`jbi_overall` of its items
    (JBI), put on :data:`COMMON_SCALE`. Studies without rows are
    ``not assessed``.

    Parameters
    ----------
    table : pandas.DataFrame or None
        A risk-of-bias sheet that passed :func:`validate_risk_of_bias` (None:
        no sheet).
    studies : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame
        ``study_id, tool, overall`` (the tool's own wording), ``overall_common``
        (``low`` / ``some concerns`` / ``high`` / ``not assessed``), ``reason``;
        one row per study, in the order of ``studies``.
    """
    records = []
    table = table if table is not None else pd.DataFrame(columns=list(ROB_COLUMNS))
    for sid, design in zip(_text(studies, "study_id"), _text(studies, "design")):
        rows = table[_text(table, "study_id") == sid]
        tool_key = DESIGN_TOOL.get(design, "")
        if rows.empty or not tool_key:
            records.append({"study_id": sid, "tool": tool_key, "overall": NOT_ASSESSED,
                            "overall_common": NOT_ASSESSED, "reason": "no risk-of-bias rows"})
            continue
        tool = TOOLS[tool_key]
        answers = dict(zip(_text(rows, "domain"), _text(rows, "judgement")))
        supports = dict(zip(_text(rows, "domain"), _text(rows, "support")))
        if tool.overall_derived:
            overall, reason = jbi_overall({d: a for d, a in answers.items() if d != "overall"})
        else:
            overall, reason = answers["overall"], supports["overall"]
        records.append({"study_id": sid, "tool": tool_key, "overall": overall,
                        "overall_common": TO_COMMON[tool_key][overall], "reason": reason})
    return pd.DataFrame(records, columns=["study_id", "tool", "overall", "overall_common",
                                          "reason"])


def judgements_long(table: pd.DataFrame, studies: pd.DataFrame) -> pd.DataFrame:
    """Every judgement of every assessed study, domains in tool order, overall last.

    JBI studies get their derived overall (:func:`jbi_overall`). Columns
    ``study_id, tool, domain, domain_label, judgement, support``.
    """
    overall = overall_judgements(table, studies).set_index("study_id")
    records = []
    for sid in _text(studies, "study_id"):
        tool_key = overall.at[sid, "tool"]
        if overall.at[sid, "overall"] == NOT_ASSESSED:
            continue
        tool = TOOLS[tool_key]
        rows = table[_text(table, "study_id") == sid]
        given = dict(zip(_text(rows, "domain"), zip(_text(rows, "judgement"),
                                                    _text(rows, "support"))))
        for domain in tool.domain_ids:
            judgement, support = given[domain]
            records.append((sid, tool_key, domain, tool.label(domain), judgement, support))
        support = given.get("overall", ("", overall.at[sid, "reason"]))[1]
        if tool.overall_derived:
            support = f"derived: {overall.at[sid, 'reason']}"
        records.append((sid, tool_key, "overall", "Overall", overall.at[sid, "overall"], support))
    return pd.DataFrame(records, columns=["study_id", "tool", "domain", "domain_label",
                                          "judgement", "support"])


def forest_rob_data(table: pd.DataFrame, studies: pd.DataFrame, study_ids) -> pd.DataFrame:
    """Per-study domain judgements for a risk-of-bias column on a forest plot.

    One row per study of ``study_ids`` (in that order) × position: the
    domains of the study's tool in order, then ``overall``. A study that was
    not assessed has one row with ``domain = 'overall'`` and judgement
    ``not assessed``. Colours and symbols are those of the risk-of-bias
    figures (:data:`JUDGEMENT_STYLE`), so a forest plot
    draws one dot per row at column ``position``.

    Returns
    -------
    pandas.DataFrame
        ``study_id, tool, position, domain, judgement, color, symbol``.
    """
    long = judgements_long(table, studies)
    records = []
    for sid in study_ids:
        rows = long[long["study_id"] == sid]
        if rows.empty:
            color, symbol = JUDGEMENT_STYLE[NOT_ASSESSED]
            records.append((sid, "", 0, "overall", NOT_ASSESSED, color, symbol))
            continue
        for pos, (_, r) in enumerate(rows.iterrows()):
            color, symbol = JUDGEMENT_STYLE[r["judgement"]]
            records.append((sid, r["tool"], pos, r["domain"], r["judgement"], color, symbol))
    return pd.DataFrame(records, columns=["study_id", "tool", "position", "domain", "judgement",
                                          "color", "symbol"])
