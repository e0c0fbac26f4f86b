"""Rule ``methods``: the methods and results text of the run, ``results/methods.md``."""

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from scimeta.io import write_text
from scimeta.journal import missing_inputs, rob_overall, sof_table
from scimeta.methods import methods_text
from scimeta.workflow import SNAPSHOT_DIR, read_snapshot_review

if TYPE_CHECKING:
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.methods")


def main(review_dir, inputs: dict, out_md):
    review = read_snapshot_review(Path(review_dir) / SNAPSHOT_DIR)
    tables = {k: pd.read_csv(inputs[k]) for k in ("arms", "effects", "pooled",
                                                  "subgroup_tests", "bias", "sensitivity")}
    sof = sof_table(review, pooled=tables["pooled"], effects=tables["effects"],
                    bias=tables["bias"])
    text = methods_text(review.config, arms=tables["arms"], effects=tables["effects"],
                        pooled=tables["pooled"], subgroup_tests=tables["subgroup_tests"],
                        bias=tables["bias"], sensitivity=tables["sensitivity"], sof=sof,
                        rob_overall=rob_overall(review), missing=missing_inputs(review),
                        caveats=pd.read_csv(inputs["caveats"]))
    write_text(text, out_md)
    log.info("%d lines", text.count("\n"))


if __name__ == "__main__":
    main(".", dict(snakemake.input), snakemake.output.text)
