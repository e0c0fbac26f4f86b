"""Rule ``summary_of_findings``: ``results/tables/summary_of_findings.csv`` with the draft
GRADE certainty of every outcome × comparison."""

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from scimeta.io import write_csv
from scimeta.journal import sof_table
from scimeta.workflow import SNAPSHOT_DIR, read_snapshot_review

if TYPE_CHECKING:
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.summary_of_findings")


def main(review_dir, effects_csv, pooled_csv, bias_csv, out_csv):
    review = read_snapshot_review(Path(review_dir) / SNAPSHOT_DIR)
    table = sof_table(review, pooled=pd.read_csv(pooled_csv), effects=pd.read_csv(effects_csv),
                      bias=pd.read_csv(bias_csv))
    log.info("%d rows; certainty: %s", len(table),
             table["certainty"].fillna("none").value_counts().to_dict())
    write_csv(table, out_csv)


if __name__ == "__main__":
    main(".", snakemake.input.effects, snakemake.input.pooled, snakemake.input.bias,
         snakemake.output.table)
