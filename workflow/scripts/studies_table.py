"""Rule ``studies_table``: the characteristics of included studies,
``results/tables/studies.csv``."""

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from scimeta.io import write_csv
from scimeta.journal import characteristics
from scimeta.workflow import SNAPSHOT_DIR, read_snapshot_review

if TYPE_CHECKING:
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.studies_table")


def main(review_dir, effects_csv, out_csv):
    review = read_snapshot_review(Path(review_dir) / SNAPSHOT_DIR)
    table = characteristics(review, effects=pd.read_csv(effects_csv))
    log.info("%d studies", len(table))
    write_csv(table, out_csv)


if __name__ == "__main__":
    main(".", snakemake.input.effects, snakemake.output.table)
