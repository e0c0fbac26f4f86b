"""Characteristics of included studies (the future ``results/tables/studies.csv``).

One row per report of ``studies.csv``: design, patients enrolled and
analysed, population (injury level, phase, AIS grade), intervention, route,
follow-up, the outcomes reported and analysed, and the overall risk of bias.
Columns of the studies sheet that a review may lack (``ais``,
``n_enrolled``, ``followup_months``) are left empty there.
"""

from __future__ import annotations

import math

import pandas as pd

from scimeta.membership import DESIGN_NAMES, effect_patients
from scimeta.compare import study_label

__all__ = ["STUDY_COLUMNS", "DESIGN_NAMES", "studies_table"]


STUDY_COLUMNS = [
    "study_id", "study", "design", "n_enrolled", "n_analysed", "population", "level", "phase",
    "ais", "intervention", "route", "followup_months", "outcomes_reported", "outcomes_analysed",
    "risk_of_bias", "risk_of_bias_tool", "doi", "note",
]


def _cell(row, column) -> str:
    value = row.get(column, "")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _number(row, column) -> float:
    try:
        return float(row.get(column, math.nan))
    except (TypeError, ValueError):
        return math.nan


def studies_table(studies: pd.DataFrame, outcomes: pd.DataFrame, effects: pd.DataFrame,
                  config: dict, *, rob_overall: pd.DataFrame | None = None) -> pd.DataFrame:
    """The characteristics-of-included-studies table.

    Parameters
    ----------
    studies, outcomes : pandas.DataFrame
        The validated sheets (:attr:`scimeta.io.Review.studies`, ``.outcomes``).
    effects : pandas.DataFrame
        ``data/processed/effects.csv``.
    config : dict
        The validated config (outcome labels, in the config's order).
    rob_overall : pandas.DataFrame, optional
        :func:`scimeta.rob.overall_judgements`; without it the risk of bias is
        ``not assessed``.

    Returns
    -------
    pandas.DataFrame
        :data:`STUDY_COLUMNS`, one row per study in the sheet's order.
        ``n_analysed`` is the most patients in one of the study's
        whole-population effect sizes, counted as the pools count them
        (:func:`scimeta.analysis.patients`: both arms; one arm before/after);
        ``outcomes_reported`` lists the outcomes with rows in the outcomes
        sheet, ``outcomes_analysed`` those with an effect size, by label,
        ``; ``-separated. A study with nothing analysed says so in ``note``.
    """
    order = list(config["outcomes"])
    labels = {k: v["label"] for k, v in config["outcomes"].items()}
    rob = (rob_overall.set_index("study_id") if rob_overall is not None else None)
    records = []
    # each study's rows found by one grouping, not by a scan of the sheets per study
    reported_by = outcomes.groupby("study_id", sort=False)["outcome"].agg(set).to_dict()
    whole = effects[effects["population"] == "all"]
    whole = whole.assign(
        patients=[effect_patients(row) for row in whole.to_dict("records")],
        without_n=whole["n1"].isna() | ((whole["comparison"] == "between_arms")
                                        & whole["n2"].isna()))
    by_study = whole.groupby("study_id", sort=False)
    analysed_by = by_study["outcome"].agg(set).to_dict()
    patients_by = by_study["patients"].agg(list).to_dict()
    without_n_by = by_study["without_n"].any().to_dict()
    for _, s in studies.iterrows():
        sid = _cell(s, "study_id")
        reported = reported_by.get(sid, set())
        analysed = analysed_by.get(sid, set())
        n = [total for total in patients_by.get(sid, []) if not math.isnan(total)]
        population = "; ".join(p for p in (
            f"level {_cell(s, 'level')}" if _cell(s, "level") else "",
            f"phase {_cell(s, 'phase')}" if _cell(s, "phase") else "",
            f"AIS {_cell(s, 'ais')}" if _cell(s, "ais") else "") if p)
        notes = []
        if not analysed:
            notes.append("no effect size analysed (see excluded.csv)")
        elif without_n_by.get(sid, False):
            notes.append("some effect sizes without n (reported differences)")
        if rob is not None and sid in rob.index:
            rob_level, rob_tool = rob.at[sid, "overall_common"], rob.at[sid, "tool"]
        else:
            rob_level, rob_tool = "not assessed", ""
        records.append({
            "study_id": sid,
            "study": study_label(_cell(s, "author"), s.get("year", "")) if _cell(s, "author")
            else sid,
            "design": DESIGN_NAMES.get(_cell(s, "design"), _cell(s, "design")),
            "n_enrolled": _number(s, "n_enrolled"),
            "n_analysed": max(n) if n else math.nan,
            "population": population,
            "level": _cell(s, "level"), "phase": _cell(s, "phase"), "ais": _cell(s, "ais"),
            "intervention": _cell(s, "intervention"), "route": _cell(s, "route"),
            "followup_months": _number(s, "followup_months"),
            "outcomes_reported": "; ".join(labels.get(o, o) for o in order if o in reported),
            "outcomes_analysed": "; ".join(labels.get(o, o) for o in order if o in analysed),
            "risk_of_bias": rob_level, "risk_of_bias_tool": rob_tool,
            "doi": _cell(s, "doi"), "note": "; ".join(notes),
        })
    return pd.DataFrame(records, columns=STUDY_COLUMNS)
