"""Rule ``figure_warnings``: the figures of the run that were not drawn, and why, from the
lists the figure jobs wrote, in one table (results/tables/figure_warnings.csv)."""

import logging
from typing import TYPE_CHECKING

import pandas as pd

from scimeta.io import write_csv

if TYPE_CHECKING:
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.figure_warnings")


def main(paths, out_csv):
    """``paths``: the per-job lists, in the order given; ``out_csv``: the table."""
    frames = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in paths]
    frames = [f for f in frames if len(f)]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    write_csv(table, out_csv, table="figure_warnings")
    log.info("%d figures not drawn, from %d lists", len(table), len(paths))


if __name__ == "__main__":
    main(list(snakemake.input), snakemake.output[0])
