"""Rule ``summary_of_findings``: ``results/tables/summary_of_findings.csv`` with the draft
GRADE certainty of every outcome × comparison."""

import logging
from typing import TYPE_CHECKING

import pandas as pd

from scimeta.io import read_review, write_csv
from scimeta.journal import sof_table
from scimeta.workflow import finish_job, start_job

if TYPE_CHECKING:
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.summary_of_findings")


def main(review_dir, effects_csv, pooled_csv, bias_csv, out_csv):
    review = read_review(review_dir)
    table = sof_table(review, pooled=pd.read_csv(pooled_csv), effects=pd.read_csv(effects_csv),
                      bias=pd.read_csv(bias_csv))
    log.info("%d rows; certainty: %s", len(table),
             table["certainty"].fillna("none").value_counts().to_dict())
    write_csv(table, out_csv)


if __name__ == "__main__":
    start_job()
    logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, filemode="w")
    main(".", snakemake.input.effects, snakemake.input.pooled, snakemake.input.bias,
         snakemake.output.table)
    finish_job()
