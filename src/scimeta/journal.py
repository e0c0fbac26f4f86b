"""The journal artefacts of one run, from the review and the contract tables it wrote.

Risk of bias, summary of findings, study table and methods text all start
from the same validated review (:class:`scimeta.io.Review`) and the same
tables (``data/processed/effects.csv``, ``results/tables/pooled.csv`` …), so
they agree with each other and with the pools. Where a review lacks an input
(no risk-of-bias sheet, no ``prisma`` block), what is missing is said in the
artefact (:func:`missing_inputs`), never silently left out.
"""

from __future__ import annotations

import pandas as pd

from scimeta import grade, rob
from scimeta.characteristics import studies_table
from scimeta.compare import study_labels
from scimeta.membership import DESIGN_PLURAL, ordered_strata
from scimeta.prisma import prisma_given

__all__ = [
    "ROB_TABLE_COLUMNS",
    "NO_ROB_SHEET",
    "NO_PRISMA",
    "rob_overall",
    "rob_table",
    "sof_table",
    "characteristics",
    "pool_for_rob",
    "missing_inputs",
]

#: Columns of ``results/tables/risk_of_bias.csv``.
ROB_TABLE_COLUMNS = ["study_id", "study", "tool", "domain", "domain_label", "judgement",
                     "overall_common", "support", "note"]
NO_ROB_SHEET = ("no risk-of-bias sheet (data/raw/risk_of_bias.csv): risk of bias not assessed; "
                "no risk-of-bias figures")
NO_PRISMA = "no prisma block in config/config.yaml: no PRISMA flow diagram"


def rob_overall(review) -> pd.DataFrame | None:
    """:func:`scimeta.rob.overall_judgements` of the review; None without a sheet."""
    if review.risk_of_bias is None:
        return None
    return rob.overall_judgements(review.risk_of_bias, review.studies)


def rob_table(review) -> pd.DataFrame:
    """Every judgement of every study with its support: ``results/tables/risk_of_bias.csv``.

    One row per study × domain (:func:`scimeta.rob.judgements_long`, JBI
    overall derived), with the study's label and its overall judgement on the
    common scale; a study without rows has one ``overall`` row ``not
    assessed``. Without a sheet, one row whose ``note`` says so.
    """
    if review.risk_of_bias is None:
        return pd.DataFrame([{"note": NO_ROB_SHEET}], columns=ROB_TABLE_COLUMNS)
    labels = {s: t or s for s, t in study_labels(review.studies).items()}
    overall = rob_overall(review).set_index("study_id")
    long = rob.judgements_long(review.risk_of_bias, review.studies)
    records = []
    for sid in review.studies["study_id"].astype(str):
        rows = long[long["study_id"] == sid]
        common = overall.at[sid, "overall_common"]
        if rows.empty:
            records.append({"study_id": sid, "study": labels.get(sid, sid), "tool": "",
                            "domain": "overall", "domain_label": "Overall",
                            "judgement": rob.NOT_ASSESSED, "overall_common": common,
                            "support": "", "note": "no rows in the risk-of-bias sheet"})
            continue
        for _, r in rows.iterrows():
            records.append({"study_id": sid, "study": labels.get(sid, sid), "tool": r["tool"],
                            "domain": r["domain"], "domain_label": r["domain_label"],
                            "judgement": r["judgement"], "overall_common": common,
                            "support": r["support"], "note": ""})
    return pd.DataFrame(records, columns=ROB_TABLE_COLUMNS)


def sof_table(review, *, pooled: pd.DataFrame, effects: pd.DataFrame,
              bias: pd.DataFrame | None) -> pd.DataFrame:
    """The summary of findings (:func:`scimeta.grade.summary_of_findings`) of the run."""
    return grade.summary_of_findings(pooled, effects, review.studies, review.config, bias=bias,
                                     rob_overall=rob_overall(review))


def characteristics(review, *, effects: pd.DataFrame) -> pd.DataFrame:
    """The study table (:func:`scimeta.characteristics.studies_table`) of the run."""
    return studies_table(review.studies, review.outcomes, effects, review.config,
                         rob_overall=rob_overall(review))


def pool_for_rob(review, outcome: str, comparison: str, *, pooled: pd.DataFrame,
                 effects: pd.DataFrame) -> tuple[dict | None, str]:
    """The weights that weight the risk-of-bias summary of one outcome × comparison.

    The pool is the one the summary of findings rates (the primary model of
    the comparison's first measure, :func:`scimeta.grade.primary_pool`), so
    the figure shows the shares the GRADE risk-of-bias rule counts; where designs
    are pooled separately, that of the first design stratum (randomised first),
    as the description says.

    Returns
    -------
    (weights, description)
        ``study_id`` → share of the weight, and the pool in words; ``(None,
        reason)`` when there is no such pool.
    """
    oc = review.config["outcomes"][outcome]
    measure = list(oc.get(comparison) or [""])[0]
    overall = pooled[(pooled["outcome"] == outcome) & (pooled["comparison"] == comparison)
                     & (pooled["measure"] == measure) & (pooled["subgroup_var"] == "overall")]
    strata = ordered_strata(overall["design"]) if len(overall) else []
    # designs pooled separately: the first stratum's pool (randomised first), named
    row, _ = grade.primary_pool(pooled, outcome, comparison, measure,
                                strata[0] if strata else None)
    if row is None:
        return None, f"no {measure} pool of {oc['label']} ({comparison})"
    k = int(row["k"])
    what = (f"{measure}, {row['model']} effects"
            + (f" ({row['tau2_method']})" if row["model"] == "random" else "")
            + f", k = {k}"
            + (f", {DESIGN_PLURAL.get(strata[0], strata[0])} only (each design is pooled "
               "on its own)" if len(strata) > 1 else ""))
    return grade.pool_weights(effects, row), what


def missing_inputs(review) -> list[str]:
    """What the journal artefacts of this review cannot show, and why (one line each)."""
    out = []
    if review.risk_of_bias is None:
        out.append(NO_ROB_SHEET)
    if not prisma_given(review.config):
        out.append(NO_PRISMA)
    return out
