"""Rule ``pools``: one outcome's effect sizes -> who enters each pool (the membership
table), the overall and subgroup pools and the tests for subgroup differences."""

import logging
from typing import TYPE_CHECKING

from scimeta import stages
from scimeta.io import write_csv
from scimeta.workflow import read_snapshot_studies

if TYPE_CHECKING:
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.pools")


def main(effects_csv, studies_json, out: dict, *, analysis, subgroups, populations,
         permutations, seed):
    """``out``: the path of each table (``pooled``, ``subgroup_tests``, ``membership``)."""
    # effects.csv as written (exact floats, the same row order)
    effects = stages.read_table(effects_csv)
    studies = read_snapshot_studies(studies_json)
    tables = stages.pools(effects, studies, analysis=analysis, subgroups=subgroups,
                          populations=populations, permutations=permutations, seed=seed)
    for name, table in tables.items():
        write_csv(table, out[name])
        log.info("%s: %d rows", name, len(table))


if __name__ == "__main__":
    main(snakemake.input.effects, snakemake.input.studies, dict(snakemake.output),
         **{k: v for k, v in snakemake.params.items() if k != "lib"})
