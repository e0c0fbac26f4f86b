"""Rule ``audit``: the audit table and the audit page of the report."""


import logging
from typing import TYPE_CHECKING

import pandas as pd

from scimeta.audit import audit_review, outcome_counts
from scimeta.io import read_review, write_csv, write_text
from scimeta.report import audit_page

if TYPE_CHECKING:
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.audit")


def main(review_dir, arms_csv, effects_csv, excluded_csv, table_csv, page_html, *, outcomes):
    review = read_review(review_dir)
    arms = pd.read_csv(arms_csv)
    effects = pd.read_csv(effects_csv)
    excluded = pd.read_csv(excluded_csv)
    findings = audit_review(review, arms)
    counts = outcome_counts(arms, excluded)
    log.info("%d findings", len(findings))
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


if __name__ == "__main__":
    logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, filemode="w")
    main(
        ".",
        snakemake.input.arms,
        snakemake.input.effects,
        snakemake.input.excluded,
        snakemake.output.table,
        snakemake.output.page,
        outcomes=snakemake.params.outcomes,
    )
