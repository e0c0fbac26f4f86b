"""PRISMA 2020 flow of a review: the counts of the config's ``prisma`` block and their checks.

The counts follow the PRISMA 2020 flow diagram for new systematic reviews
(Page et al. 2021, doi:10.1136/bmj.n71), in its one-column form: records
from databases, registers and other sources are screened together.

The arithmetic the diagram must obey (each check names its key):

.. math::

    \\text{screened} &= \\textstyle\\sum \\text{identified} - \\text{duplicates\\_removed}
                        - \\text{other\\_removed} \\\\
    \\text{sought} &= \\text{screened} - \\text{excluded\\_screening} \\\\
    \\text{assessed} &= \\text{sought} - \\text{not\\_retrieved} \\\\
    \\text{reports\\_included} &= \\text{assessed} - \\textstyle\\sum \\text{excluded\\_reasons}

and ``reports_included`` equals the rows of ``studies.csv`` (one row per
report), ``studies_included`` its distinct cohorts (reports of the same
patients share a ``cohort_id``). The optional ``participants`` mapping gives
the published participant flow of included studies (``screened − excluded =
included``; ``included`` equals the study's ``n_enrolled`` where the studies
sheet has it).
"""

from __future__ import annotations

import math

import pandas as pd

from scimeta.review import Problem

__all__ = ["COUNT_KEYS", "SOURCES", "prisma_given", "prisma_counts", "validate_prisma",
           "participant_flow"]

CONFIG_FILE = "config/config.yaml"
#: Source types of ``prisma.identified``, in the diagram's order, with their labels.
SOURCES = (("databases", "Databases"), ("registers", "Registers"), ("other", "Other sources"))
#: The single counts of the block (besides ``identified`` and ``excluded_reasons``).
COUNT_KEYS = ("duplicates_removed", "other_removed", "screened", "excluded_screening", "sought",
              "not_retrieved", "assessed", "studies_included", "reports_included")
#: Counts that must be given (the others default to 0).
REQUIRED_KEYS = ("screened", "sought", "assessed", "studies_included", "reports_included")


def prisma_given(config: dict) -> bool:
    """Whether the review has a PRISMA flow: a ``prisma`` block with something in it.

    The one test of it. Validation fills the block's defaults (zeros, empty
    mappings) even when the config has none, so a block counts as given when
    any required count is there or any value differs from its default.
    """
    block = config.get("prisma") or {}
    if any(key in block for key in REQUIRED_KEYS):
        return True
    identified = block.get("identified") or {}
    return bool(any(identified.get(t) for t, _ in SOURCES) or block.get("excluded_reasons")
                or block.get("participants") or block.get("note")
                or any(block.get(k) for k in COUNT_KEYS))


def prisma_counts(prisma: dict) -> dict:
    """The counts of a ``prisma`` config block with the totals the diagram shows.

    Returns
    -------
    dict
        Every key of :data:`COUNT_KEYS` (0 where not given), ``identified``
        (source type → {source → count}), ``identified_total`` and per-type
        totals ``identified_<type>``, ``excluded_reasons`` (reason → count)
        and ``excluded_total``.
    """
    prisma = prisma or {}
    out = {k: int(prisma.get(k, 0) or 0) for k in COUNT_KEYS}
    identified = {t: dict((prisma.get("identified") or {}).get(t) or {}) for t, _ in SOURCES}
    out["identified"] = identified
    for t, _ in SOURCES:
        out[f"identified_{t}"] = int(sum(identified[t].values()))
    out["identified_total"] = sum(out[f"identified_{t}"] for t, _ in SOURCES)
    out["excluded_reasons"] = dict(prisma.get("excluded_reasons") or {})
    out["excluded_total"] = int(sum(out["excluded_reasons"].values()))
    return out


def _cohorts(studies: pd.DataFrame) -> int:
    ids = studies["study_id"].astype(str)
    cohorts = studies["cohort_id"].astype(str) if "cohort_id" in studies else ids
    cohorts = cohorts.where(cohorts.str.strip() != "", ids)
    return int(cohorts.nunique())


def validate_prisma(config: dict, studies: pd.DataFrame, *, lines: dict | None = None,
                    file: str = CONFIG_FILE) -> list[Problem]:
    """Check that the ``prisma`` counts add up and match the studies sheet.

    Parameters
    ----------
    config : dict
        The validated config (a review without a ``prisma`` block, or with an
        empty one, has nothing to check).
    studies : pandas.DataFrame
        The validated studies sheet.
    lines : dict, optional
        Dotted config key → line (:attr:`scimeta.io.RawReview.config_lines`),
        so each problem names the line of its key.
    file : str

    Returns
    -------
    list of Problem
        One error per count that does not add up, naming the key
        (``prisma.screened``, ``prisma.participants.<study_id>.included`` …).
    """
    if not prisma_given(config):
        return []
    prisma = config["prisma"]
    lines = lines or {}
    problems: list[Problem] = []

    def err(key: str, message: str) -> None:
        line, k = None, f"prisma.{key}"
        while k and line is None:
            line = lines.get(k)
            k = k.rpartition(".")[0]
        problems.append(Problem(file, line, f"prisma.{key}", message))

    for key in REQUIRED_KEYS:
        if key not in prisma:
            err(key, "missing: the flow diagram needs this count")
    if problems:
        return problems
    c = prisma_counts(prisma)
    before = c["identified_total"] - c["duplicates_removed"] - c["other_removed"]
    checks = [
        ("screened", before,
         f"records identified ({c['identified_total']}) − duplicates removed "
         f"({c['duplicates_removed']}) − other removed ({c['other_removed']})"),
        ("sought", c["screened"] - c["excluded_screening"],
         f"records screened ({c['screened']}) − excluded at screening "
         f"({c['excluded_screening']})"),
        ("assessed", c["sought"] - c["not_retrieved"],
         f"reports sought ({c['sought']}) − not retrieved ({c['not_retrieved']})"),
        ("reports_included", c["assessed"] - c["excluded_total"],
         f"reports assessed ({c['assessed']}) − excluded with reasons ({c['excluded_total']})"),
    ]
    for key, expected, how in checks:
        if c[key] != expected:
            err(key, f"is {c[key]} but {how} = {expected}")
    if c["studies_included"] > c["reports_included"]:
        err("studies_included", f"is {c['studies_included']}, more than the reports included "
            f"({c['reports_included']}): a study has at least one report")
    n_reports = int(len(studies))
    if c["reports_included"] != n_reports:
        err("reports_included", f"is {c['reports_included']} but the studies sheet has "
            f"{n_reports} reports (rows)")
    n_studies = _cohorts(studies)
    if c["studies_included"] != n_studies:
        err("studies_included", f"is {c['studies_included']} but the studies sheet has "
            f"{n_studies} studies (distinct cohorts)")
    _check_participants(prisma.get("participants") or {}, studies, err)
    return problems


def _check_participants(participants: dict, studies: pd.DataFrame, err) -> None:
    """Report (through ``err``) each participant flow that does not add up."""
    enrolled_col = (studies["n_enrolled"] if "n_enrolled" in studies
                    else [math.nan] * len(studies))
    known = dict(zip(studies["study_id"].astype(str), enrolled_col))
    for sid, flow in participants.items():
        key = f"participants.{sid}"
        if sid not in known:
            err(key, f"study {sid!r} is not in the studies sheet")
            continue
        flow = flow or {}
        if "included" not in flow:
            err(f"{key}.included", "missing: the number of participants included")
            continue
        if "screened" in flow or "excluded" in flow:
            screened, excluded = flow.get("screened"), flow.get("excluded", 0)
            if screened is None:
                err(f"{key}.screened", "missing: 'excluded' needs 'screened'")
            elif screened - excluded != flow["included"]:
                err(f"{key}.included", f"is {flow['included']} but screened ({screened}) − "
                    f"excluded ({excluded}) = {screened - excluded}")
        enrolled = pd.to_numeric(pd.Series([known[sid]]), errors="coerce").iloc[0]
        if pd.notna(enrolled) and float(enrolled) != float(flow["included"]):
            err(f"{key}.included", f"is {flow['included']} but the studies sheet gives "
                f"n_enrolled = {enrolled:g} for {sid}")


def participant_flow(config: dict) -> pd.DataFrame:
    """The ``prisma.participants`` block as a table.

    Returns
    -------
    pandas.DataFrame
        ``study_id, screened, excluded, excluded_reason, included, note``
        (numbers as float, NaN where not given), in the config's order.
    """
    rows = []
    for sid, flow in ((config.get("prisma") or {}).get("participants") or {}).items():
        flow = flow or {}
        rows.append({"study_id": sid,
                     "screened": float(flow.get("screened", math.nan)),
                     "excluded": float(flow.get("excluded", math.nan)),
                     "excluded_reason": str(flow.get("excluded_reason", "")),
                     "included": float(flow.get("included", math.nan)),
                     "note": str(flow.get("note", ""))})
    return pd.DataFrame(rows, columns=["study_id", "screened", "excluded", "excluded_reason",
                                       "included", "note"])
