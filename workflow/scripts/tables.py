"""Rule ``tables``: the per-outcome tables gathered into the review's contract tables, then
the audit table and the audit page of the report."""


import logging
from typing import TYPE_CHECKING

import pandas as pd

from scimeta.audit import audit_review, outcome_counts
from scimeta.io import read_review, write_csv, write_text
from scimeta.report import audit_page
from scimeta.safe import read_param
from scimeta.workflow import finish_job, start_job

if TYPE_CHECKING:
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.tables")


def concat_csv(paths) -> pd.DataFrame:
    """Row-bind CSV files in the given (sorted) order, keeping every column of every file."""
    frames = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in paths]
    frames = [f for f in frames if len(f.columns)]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True).fillna("")


def gather(inputs: dict, outputs: dict):
    for name, paths in inputs.items():
        table = concat_csv(sorted(paths))
        log.info("%s: %d rows from %d files", name, len(table), len(paths))
        write_csv(table, outputs[name])


def audit(review_dir, arms_csv, effects_csv, excluded_csv, table_csv, page_html, *, outcomes):
    """The audit of the extraction, from the gathered tables as written."""
    review = read_review(review_dir)
    arms = pd.read_csv(arms_csv)
    effects = pd.read_csv(effects_csv)
    excluded = pd.read_csv(excluded_csv)
    findings = audit_review(review, arms)
    counts = outcome_counts(arms, excluded)
    log.info("audit: %d findings", len(findings))
    write_csv(findings, table_csv)
    page = audit_page(
        title="Audit of the extraction",
        effects=effects,
        arms=arms,
        findings=findings,
        counts=counts,
        excluded=excluded,
        outcome_labels={k: v["label"] for k, v in outcomes.items()},
    )
    write_text(page, page_html)


def main(review_dir, inputs: dict, outputs: dict, *, outcomes):
    gather(inputs, outputs)
    audit(
        review_dir,
        outputs["arms"],
        outputs["effects"],
        outputs["excluded"],
        outputs["audit_table"],
        outputs["audit_page"],
        outcomes=outcomes,
    )


if __name__ == "__main__":
    start_job()
    logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, filemode="w")
    main(
        ".",
        {k: list(v) for k, v in snakemake.input.items()},
        dict(snakemake.output),
        outcomes=read_param(snakemake.params.outcomes),
    )
    finish_job()
