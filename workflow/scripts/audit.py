"""Rule ``audit``: the audit of the extraction (table and page), from the snapshot and the
gathered tables as written."""

import logging
from typing import TYPE_CHECKING

import pandas as pd

from scimeta.io import Review, write_csv, write_text
from scimeta.workflow import read_snapshot, read_snapshot_studies

if TYPE_CHECKING:
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.audit")


def snapshot_review(rows_jsons, studies_json, sources_json, config) -> Review:
    """The whole review from the snapshot: every outcome's rows, in sheet order."""
    parts = [read_snapshot(p, studies_json, sources_json, config) for p in rows_jsons]
    rows = pd.concat([p.outcomes for p in parts], ignore_index=True)
    rows = rows.sort_values("source_row", kind="mergesort").reset_index(drop=True)
    return Review(config=config, studies=read_snapshot_studies(studies_json), outcomes=rows,
                  sources=parts[0].sources, review_dir=".")


def main(review: Review, arms_csv, effects_csv, excluded_csv, table_csv, page_html):
    from scimeta.audit import audit_review, outcome_counts
    from scimeta.report import audit_page

    arms = pd.read_csv(arms_csv)
    effects = pd.read_csv(effects_csv)
    excluded = pd.read_csv(excluded_csv)
    findings = audit_review(review, arms, effects=effects)
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
        outcome_labels={k: v["label"] for k, v in review.config["outcomes"].items()},
    )
    write_text(page, page_html)


if __name__ == "__main__":
    from scimeta.safe import read_param

    review = snapshot_review(
        list(snakemake.input.rows),
        snakemake.input.studies,
        snakemake.input.sources,
        read_param(snakemake.params.config),
    )
    main(review, snakemake.input.arms, snakemake.input.effects, snakemake.input.excluded,
         snakemake.output.table, snakemake.output.page)
