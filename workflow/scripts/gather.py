"""Rule ``gather``: every per-outcome table row-bound into the review's contract table."""

import logging
from typing import TYPE_CHECKING

import pandas as pd

from scimeta.io import write_csv

if TYPE_CHECKING:
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.gather")


def concat_csv(paths) -> pd.DataFrame:
    """Row-bind CSV files in the given order, keeping every column of every file (as text)."""
    frames = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in paths]
    frames = [f for f in frames if len(f.columns)]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True).fillna("")


def main(inputs: dict, outputs: dict):
    """``inputs``: table name -> the per-outcome files (in outcome order); ``outputs``:
    table name -> the contract table."""
    for name, paths in inputs.items():
        table = concat_csv(sorted(paths))
        log.info("%s: %d rows from %d files", name, len(table), len(paths))
        write_csv(table, outputs[name])


if __name__ == "__main__":
    main({k: list(v) for k, v in snakemake.input.items()}, dict(snakemake.output))
