"""Rule ``rob_pool_summary``: the risk-of-bias summary of one outcome x comparison, weighted
by its primary pool (the weights the GRADE risk-of-bias rule counts), or a placeholder saying
why it is not drawn (then a row of the job's list of figures not drawn)."""

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from scimeta.figures import figure_warning
from scimeta.io import write_csv
from scimeta.journal import pool_for_rob
from scimeta.plotting import rob_summary_plot, save_figure
from scimeta.plotting.rob import placeholder_plot
from scimeta.rob import judgements_long
from scimeta.workflow import SNAPSHOT_DIR, read_snapshot_review

if TYPE_CHECKING:
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.rob_pool_summary")
FORMATS = ("svg", "png")


def main(review_dir, effects_csv, pooled_csv, stem, warnings_csv, *, outcome, comparison):
    review = read_snapshot_review(Path(review_dir) / SNAPSHOT_DIR, outcomes=[])
    judgements = judgements_long(review.risk_of_bias, review.studies)
    effects, pooled = pd.read_csv(effects_csv), pd.read_csv(pooled_csv)
    weights, what = pool_for_rob(review, outcome, comparison, pooled=pooled, effects=effects)
    label = review.config["outcomes"][outcome]["label"]
    assessed = weights is not None and set(weights) & set(judgements["study_id"])
    if assessed:
        figure = rob_summary_plot(judgements, weights=weights, weight_label=f"{label}: {what}")
    else:
        reason = what if weights is None else f"no study of the {what} pool is assessed"
        figure = placeholder_plot(f"Risk of bias weighted by the pool of {label}",
                                  f"Not drawn: {reason}.")
    save_figure(figure, stem, FORMATS)
    item = {"outcome": outcome, "stem": Path(stem).name, "kind": "rob_summary",
            "comparison": comparison}
    warning = figure_warning(item, figure)
    write_csv(pd.DataFrame([warning] if warning else []), warnings_csv, table="figure_warnings")
    log.info("%s %s: %s", outcome, comparison, what)


if __name__ == "__main__":
    w = snakemake.wildcards
    main(".", snakemake.input.effects, snakemake.input.pooled,
         snakemake.output.svg[: -len(".svg")], snakemake.output.warnings, outcome=w.outcome,
         comparison=w.comparison)
