"""Rule ``diagnostics``: one outcome's effect sizes and membership table -> small-study bias,
leave-one-out and influence, the r sweep and meta-regression, every pool as the membership
table the pools were made from says."""

import logging
from typing import TYPE_CHECKING

from scimeta import stages
from scimeta.io import write_csv
from scimeta.workflow import read_snapshot_studies

if TYPE_CHECKING:
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.diagnostics")


def main(effects_csv, studies_json, membership_csv, out: dict, *, analysis, permutations, seed,
         r_grid, prepost_method, moderators):
    """``out``: the path of each table (``bias``, ``bias_filled``, ``leave1out``, ``influence``,
    ``sensitivity``, ``metareg``)."""
    effects = stages.read_table(effects_csv)
    studies = read_snapshot_studies(studies_json)
    membership = stages.read_table(membership_csv)
    tables = stages.bias(effects, membership, analysis=analysis)
    tables["sensitivity"] = stages.sensitivity(effects, membership, analysis=analysis,
                                               r_grid=r_grid, prepost_method=prepost_method)
    tables["metareg"] = stages.metareg(effects, studies, membership, analysis=analysis,
                                       moderators=moderators, permutations=permutations,
                                       seed=seed)
    for name, table in tables.items():
        write_csv(table, out[name])
        log.info("%s: %d rows", name, len(table))


if __name__ == "__main__":
    main(snakemake.input.effects, snakemake.input.studies, snakemake.input.membership,
         dict(snakemake.output), **{k: v for k, v in snakemake.params.items() if k != "lib"})
