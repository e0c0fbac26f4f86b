"""Rule ``effect_sizes``: one outcome's rows of the snapshot -> arms (mean and SD, how
derived) -> effect sizes, and every exclusion of the outcome."""

import logging
from typing import TYPE_CHECKING

from scimeta import stages
from scimeta.io import write_csv
from scimeta.safe import read_param
from scimeta.workflow import read_snapshot

if TYPE_CHECKING:  # Snakemake >= 9.17: the object exists only when Snakemake runs the script
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.effect_sizes")


def main(rows_json, studies_json, sources_json, arms_csv, effects_csv, excluded_csv, *, config):
    review = read_snapshot(rows_json, studies_json, sources_json, config)
    arms, excluded_arms = stages.arms(review)
    write_csv(arms, arms_csv)
    effects, excluded = stages.effect_sizes(review, arms, excluded_arms)
    write_csv(effects, effects_csv)
    write_csv(excluded, excluded_csv)
    log.info("%d arm rows, %d effect sizes, %d exclusions", len(arms), len(effects),
             len(excluded))


if __name__ == "__main__":
    main(
        snakemake.input.rows,
        snakemake.input.studies,
        snakemake.input.sources,
        snakemake.output.arms,
        snakemake.output.effects,
        snakemake.output.excluded,
        config=read_param(snakemake.params.config),
    )
