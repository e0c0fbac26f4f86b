"""What the Snakemake workflow needs to know before any job runs.

The workflow reads the review once when it parses the Snakefile. From that
read it derives

* a digest of every outcome's rows (plus the studies sheet), passed to the
  outcome's jobs as a parameter, so that editing one outcome row re-runs that
  outcome's jobs and nothing else;
* a digest of the library's source, passed to every job that uses it, so
  that changing a formula re-runs what depends on it;
* the figures to draw, planned from the sheets and the config;

and :func:`start_job` and :func:`finish_job` begin and end every job.

No statistics happen here.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
from pathlib import Path

import pandas as pd

from scimeta.compare import measure_plan

__all__ = [
    "library_digest",
    "outcome_digests",
    "planned_figures",
    "comparisons_present",
    "restrict_review",
    "start_job",
    "finish_job",
    "FIGURE_FORMATS",
]

#: The files of each kind of figure, besides the CSV of the numbers drawn.
FIGURE_FORMATS = {
    "forest": ("svg", "png", "pdf"),
    "subgroup_forest": ("svg", "png", "pdf"),
    "funnel": ("svg", "png"),
    "sensitivity": ("svg", "png"),
    "bubble": ("svg", "png"),
}


def start_job() -> None:
    """Keep what a job's process has imported out of its garbage collections.

    pandas, scipy and matplotlib leave hundreds of thousands of objects that
    live as long as the process; drawing figures triggers many collections,
    and each full one would walk them all again. Call it after the imports.
    """
    gc.freeze()


def finish_job() -> None:
    """Skip the garbage collection Python runs when a finished job's process exits.

    A job that drew figures holds thousands of matplotlib objects in
    reference cycles; collecting them at exit takes 0.1-0.4 s of a 1-5 s job,
    for nothing: every output is written and closed, and logging is flushed
    at exit as usual. Call it last.
    """
    gc.freeze()


def library_digest(package_dir: str | Path) -> str:
    """SHA-256 over the names and bytes of every ``*.py`` file of the library."""
    root = Path(package_dir)
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _frame_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def outcome_digests(review, config: dict) -> dict[str, str]:
    """One digest per configured outcome: its rows of ``outcomes``, the studies sheet and its config."""
    studies = _frame_bytes(review.studies.drop(columns=["source_row"], errors="ignore"))
    out = {}
    for key in sorted(config["outcomes"]):
        rows = review.outcomes[review.outcomes["outcome"] == key]
        digest = hashlib.sha256()
        digest.update(studies)
        digest.update(_frame_bytes(rows))
        digest.update(json.dumps(config["outcomes"][key], sort_keys=True, default=str).encode())
        out[key] = digest.hexdigest()
    return out


def comparisons_present(rows: pd.DataFrame) -> list[str]:
    """Which comparisons an outcome's rows can give: ``between_arms`` and/or ``pre_post``."""
    present = []
    arm = rows["arm"].astype(str)
    kind = rows["kind"].fillna("final").astype(str)
    if ((arm == "control") | (kind == "difference")).any():
        present.append("between_arms")
    if ((arm == "treatment") & (kind != "difference")).any():
        present.append("pre_post")
    return present


def _subgroup_levels(var: str, rows: pd.DataFrame, studies: pd.DataFrame, config: dict) -> set:
    """The groups the rows can form for ``var``: its levels, and "mixed" for studies without one."""
    populations = set(config.get("populations", {}).get(var, []))
    split = rows["population"].isin(populations)
    levels = set(rows.loc[split, "population"])
    unsplit = set(rows["study_id"]) - set(rows.loc[split, "study_id"])
    if var in studies.columns:
        values = studies.set_index("study_id")[var].astype(str).str.strip()
        for study in unsplit:
            value = values.get(study, "")
            levels.add(value if value and value not in ("mixed", "nan") else "mixed")
    elif unsplit:
        levels.add("mixed")
    return levels


def planned_figures(review, config: dict) -> dict[str, list[tuple]]:
    """The figures the workflow draws, from the sheets and the config.

    Returns a dict with ``forest`` (outcome, comparison, measure) for every
    comparison the rows allow and every measure the config asks for; the
    other figures are drawn for the first measure of each comparison (the
    primary one; the tables hold every measure):
    ``subgroup_forest`` (outcome, comparison, measure, variable) where the
    rows show at least two groups of the variable (a "mixed / not reported"
    group counts); ``funnel`` where at least three studies report the
    comparison; ``sensitivity`` (outcome, measure) for paired before/after
    measures; and ``bubble`` (outcome, comparison, measure, moderator) for
    each moderator of the config where at least three studies report the
    comparison.
    """
    plan = {"forest": [], "subgroup_forest": [], "funnel": [], "sensitivity": [], "bubble": []}
    outcomes = review.outcomes
    paired = config.get("prepost_method", "paired") == "paired"
    for key in sorted(config["outcomes"]):
        ocfg = config["outcomes"][key]
        rows = outcomes[outcomes["outcome"] == key]
        if rows.empty:
            continue
        # the measures the rows can give (defaults that do not apply are not drawn)
        attempted = measure_plan(rows, ocfg, prepost_method=config.get("prepost_method", "paired"))
        for comparison in comparisons_present(rows):
            measures = attempted[comparison].measures
            if comparison == "between_arms":
                crows = rows[(rows["arm"] == "control") | (rows["kind"] == "difference")]
            else:
                crows = rows[(rows["arm"] == "treatment") & (rows["kind"] != "difference")]
            n_studies = crows["study_id"].nunique()
            for i, measure in enumerate(measures):
                plan["forest"].append((key, comparison, measure))
                if i > 0:
                    continue  # the other figures are drawn for the first (primary) measure
                if n_studies >= 3:
                    plan["funnel"].append((key, comparison, measure))
                for var in config.get("subgroups", []):
                    if len(_subgroup_levels(var, crows, review.studies, config)) >= 2:
                        plan["subgroup_forest"].append((key, comparison, measure, var))
                for moderator in config.get("moderators", []):
                    if n_studies >= 3:
                        plan["bubble"].append((key, comparison, measure, moderator))
                if comparison == "pre_post" and paired and measure in ("MC", "SMCR", "SMCC"):
                    plan["sensitivity"].append((key, measure))
    return plan


def restrict_review(review, outcome: str):
    """The review with only the rows (and the config entry) of one outcome."""
    rows = review.outcomes[review.outcomes["outcome"] == outcome].reset_index(drop=True)
    config = {**review.config, "outcomes": {outcome: review.config["outcomes"][outcome]}}
    return dataclasses.replace(review, outcomes=rows, config=config)
