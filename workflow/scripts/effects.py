"""Rule ``effects``: one outcome's raw rows -> arms (mean and SD, how derived) -> effect sizes."""


import logging
from typing import TYPE_CHECKING

import pandas as pd

from scimeta.compare import build_effects
from scimeta.extract import build_arms
from scimeta.io import read_review, write_csv
from scimeta.workflow import restrict_review

if TYPE_CHECKING:  # Snakemake >= 9.17: the object exists only when Snakemake runs the script
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.effects")


def main(review_dir, outcome, arms_csv, effects_csv, excluded_csv, *, config):
    review = restrict_review(read_review(review_dir), outcome)
    arms, excluded_arms = build_arms(review)
    effects, excluded_effects = build_effects(
        arms, review.studies, {**config, "outcomes": {outcome: config["outcomes"][outcome]}}
    )
    excluded = pd.concat([excluded_arms, excluded_effects], ignore_index=True)
    log.info("%s: %d arm rows, %d effect sizes, %d exclusions", outcome, len(arms),
             len(effects), len(excluded))
    write_csv(arms, arms_csv)
    write_csv(effects, effects_csv)
    write_csv(excluded, excluded_csv)


if __name__ == "__main__":
    logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, filemode="w")
    main(
        ".",
        snakemake.wildcards.outcome,
        snakemake.output.arms,
        snakemake.output.effects,
        snakemake.output.excluded,
        config=snakemake.config,
    )
