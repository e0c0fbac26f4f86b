"""Rule ``pools``: one outcome's effect sizes -> who enters each pool, the overall and
subgroup pools and subgroup tests -> bias, leave-one-out and influence diagnostics, the r
sweep and meta-regression, all from the one membership table."""

import logging
from typing import TYPE_CHECKING

from scimeta import stages
from scimeta.io import write_csv
from scimeta.workflow import read_snapshot_studies

if TYPE_CHECKING:
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.pools")


def main(effects_csv, studies_json, out: dict, *, analysis, subgroups, populations,
         permutations, seed, r_grid, prepost_method, moderators):
    """``out``: the path of each table (``pooled``, ``subgroup_tests``, ``membership``,
    ``bias``, ``leave1out``, ``influence``, ``sensitivity``, ``metareg``)."""
    # effects.csv as written (exact floats, the same row order)
    effects = stages.read_table(effects_csv)
    studies = read_snapshot_studies(studies_json)
    tables = stages.pools(effects, studies, analysis=analysis, subgroups=subgroups,
                          populations=populations, permutations=permutations, seed=seed)
    membership = tables["membership"]
    tables.update(stages.bias(effects, membership, analysis=analysis))
    tables["sensitivity"] = stages.sensitivity(effects, membership, analysis=analysis,
                                               r_grid=r_grid, prepost_method=prepost_method)
    tables["metareg"] = stages.metareg(effects, studies, membership, analysis=analysis,
                                       moderators=moderators, permutations=permutations,
                                       seed=seed)
    for name, table in tables.items():
        write_csv(table, out[name])
        log.info("%s: %d rows", name, len(table))


if __name__ == "__main__":
    main(snakemake.input.effects, snakemake.input.studies, dict(snakemake.output),
         **{k: v for k, v in snakemake.params.items() if k != "lib"})
