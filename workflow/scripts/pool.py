"""Rule ``pool``: one outcome's effect sizes -> overall and subgroup pools, subgroup tests, r sweep."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pandas as pd

from scimeta.analysis import pooled_table
from scimeta.io import read_review, write_csv
from scimeta.sensitivity import r_sweep_table
from scimeta.subgroups import subgroup_analysis

if TYPE_CHECKING:
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.pool")


def main(review_dir, effects_csv, out, *, analysis, subgroups, populations, permutations, seed,
         r_grid, prepost_method):
    effects = pd.read_csv(effects_csv, keep_default_na=True)
    studies = read_review(review_dir).studies
    overall = pooled_table(effects, analysis)
    by_group = subgroup_analysis(
        effects,
        studies,
        variables=subgroups,
        populations=populations,
        analysis=analysis,
        permutations=permutations,
        seed=seed,
    )
    pooled = pd.concat([overall, by_group.pooled], ignore_index=True)
    sweep = r_sweep_table(effects, r_grid=r_grid, analysis=analysis,
                          enabled=prepost_method == "paired")
    log.info("%d pooled rows, %d subgroup tests, %d sweep rows", len(pooled),
             len(by_group.tests), len(sweep))
    write_csv(pooled, out["pooled"])
    write_csv(by_group.tests, out["subgroup_tests"])
    write_csv(by_group.membership, out["membership"])
    write_csv(sweep, out["sensitivity"])


if __name__ == "__main__":
    logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, filemode="w")
    params = dict(snakemake.params)
    for key in ("rows", "lib"):
        params.pop(key)
    main(".", snakemake.input.effects, dict(snakemake.output), **params)
