"""Rule ``risk_of_bias``: ``results/tables/risk_of_bias.csv``, the traffic-light plot, the
summary bars by study, and one summary weighted by each primary pool (the weights the GRADE
risk-of-bias rule counts). Without a risk-of-bias sheet: the table with a note, no figure."""

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from scimeta.io import write_csv
from scimeta.journal import pool_for_rob, rob_table
from scimeta.plotting import rob_summary_plot, save_figure, traffic_light_plot
from scimeta.plotting.rob import placeholder_plot
from scimeta.rob import judgements_long
from scimeta.safe import read_param
from scimeta.workflow import SNAPSHOT_DIR, read_snapshot_review

if TYPE_CHECKING:
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.risk_of_bias")
FORMATS = ("svg", "png")


def main(review_dir, effects_csv, pooled_csv, table_csv, figures_dir, *, pools):
    review = read_snapshot_review(Path(review_dir) / SNAPSHOT_DIR)
    write_csv(rob_table(review), table_csv)
    if review.risk_of_bias is None:
        log.info("no risk-of-bias sheet: table with a note, no figure")
        return
    judgements = judgements_long(review.risk_of_bias, review.studies)
    save_figure(traffic_light_plot(judgements, review.studies), f"{figures_dir}/rob_traffic_light",
                FORMATS)
    save_figure(rob_summary_plot(judgements), f"{figures_dir}/rob_summary", FORMATS)
    effects, pooled = pd.read_csv(effects_csv), pd.read_csv(pooled_csv)
    for outcome, comparison in pools:
        weights, what = pool_for_rob(review, outcome, comparison, pooled=pooled, effects=effects)
        label = review.config["outcomes"][outcome]["label"]
        assessed = weights is not None and set(weights) & set(judgements["study_id"])
        if assessed:
            figure = rob_summary_plot(judgements, weights=weights, weight_label=f"{label}: {what}")
        else:
            reason = what if weights is None else f"no study of the {what} pool is assessed"
            figure = placeholder_plot(f"Risk of bias weighted by the pool of {label}",
                                      f"Not drawn: {reason}.")
        save_figure(figure, f"{figures_dir}/rob_summary_{outcome}_{comparison}", FORMATS)
        log.info("%s %s: %s", outcome, comparison, what)


if __name__ == "__main__":
    main(".", snakemake.input.effects, snakemake.input.pooled, snakemake.output.table,
         "results/figures", pools=[tuple(p) for p in read_param(snakemake.params.pools)])
