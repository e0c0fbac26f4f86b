"""Rule ``pool``: one outcome's effect sizes -> overall and subgroup pools, subgroup tests, r sweep."""


import logging
from typing import TYPE_CHECKING

import pandas as pd

from scimeta.analysis import metareg_table, pooled_table, r_sweep_table, subgroup_tables
from scimeta.io import read_review, write_csv

if TYPE_CHECKING:
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.pool")


def main(review_dir, effects_csv, out, *, analysis, subgroups, moderators, populations,
         permutations, seed, r_grid, prepost_method):
    effects = pd.read_csv(effects_csv)
    studies = read_review(review_dir).studies
    overall = pooled_table(effects, analysis)
    by_group, tests, membership = subgroup_tables(
        effects, studies, analysis=analysis, subgroups=subgroups, populations=populations,
        permutations=permutations, seed=seed,
    )
    pooled = pd.concat([overall, by_group], ignore_index=True)
    sweep = r_sweep_table(effects, r_grid=r_grid, analysis=analysis,
                          enabled=prepost_method == "paired")
    metareg = metareg_table(effects, studies, moderators=moderators, analysis=analysis)
    log.info("%d pooled rows, %d subgroup tests, %d sweep rows", len(pooled), len(tests),
             len(sweep))
    write_csv(pooled, out["pooled"])
    write_csv(tests, out["subgroup_tests"])
    write_csv(membership, out["membership"])
    write_csv(sweep, out["sensitivity"])
    write_csv(metareg, out["metareg"])


if __name__ == "__main__":
    logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, filemode="w")
    params = dict(snakemake.params)
    for key in ("rows", "lib"):
        params.pop(key)
    main(".", snakemake.input.effects, dict(snakemake.output), **params)
