"""Rule ``caveats``: ``results/tables/caveats.csv``, the review's declared caveats with the
leave-out pools of each possible overlap (scimeta.caveats)."""

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from scimeta.caveats import caveat_table
from scimeta.io import write_csv
from scimeta.workflow import SNAPSHOT_DIR, read_snapshot_review

if TYPE_CHECKING:
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.caveats")


def main(review_dir, effects_csv, pooled_csv, out_csv):
    review = read_snapshot_review(Path(review_dir) / SNAPSHOT_DIR)
    table = caveat_table(review.config, pooled=pd.read_csv(pooled_csv),
                         effects=pd.read_csv(effects_csv))
    log.info("%d caveats, %d rows", len(review.config["caveats"]), len(table))
    write_csv(table, out_csv)


if __name__ == "__main__":
    main(".", snakemake.input.effects, snakemake.input.pooled, snakemake.output.table)
