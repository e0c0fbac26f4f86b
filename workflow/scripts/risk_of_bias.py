"""Rule ``risk_of_bias``: ``results/tables/risk_of_bias.csv``, the traffic-light plot and the
summary bars by study (each pool's weighted summary is rule ``rob_pool_summary``). Without a
risk-of-bias sheet: the table with a note, no figure."""

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from scimeta.io import write_csv
from scimeta.journal import rob_table
from scimeta.plotting import rob_summary_plot, save_figure, traffic_light_plot
from scimeta.rob import judgements_long
from scimeta.workflow import SNAPSHOT_DIR, read_snapshot_review

if TYPE_CHECKING:
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.risk_of_bias")
FORMATS = ("svg", "png")


def main(review_dir, table_csv, figures_dir):
    review = read_snapshot_review(Path(review_dir) / SNAPSHOT_DIR, outcomes=[])
    write_csv(rob_table(review), table_csv)
    if review.risk_of_bias is None:
        log.info("no risk-of-bias sheet: table with a note, no figure")
        return
    judgements = judgements_long(review.risk_of_bias, review.studies)
    save_figure(traffic_light_plot(judgements, review.studies), f"{figures_dir}/rob_traffic_light",
                FORMATS)
    save_figure(rob_summary_plot(judgements), f"{figures_dir}/rob_summary", FORMATS)


if __name__ == "__main__":
    main(".", snakemake.output.table, "results/figures")
