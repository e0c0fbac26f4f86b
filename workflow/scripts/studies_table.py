"""Rule ``studies_table``: the characteristics of included studies,
``results/tables/studies.csv``."""

import logging
from typing import TYPE_CHECKING

import pandas as pd

from scimeta.io import read_review, write_csv
from scimeta.journal import characteristics
from scimeta.workflow import finish_job, start_job

if TYPE_CHECKING:
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.studies_table")


def main(review_dir, effects_csv, out_csv):
    review = read_review(review_dir)
    table = characteristics(review, effects=pd.read_csv(effects_csv))
    log.info("%d studies", len(table))
    write_csv(table, out_csv)


if __name__ == "__main__":
    start_job()
    logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, filemode="w")
    main(".", snakemake.input.effects, snakemake.output.table)
    finish_job()
