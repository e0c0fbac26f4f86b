"""Rules ``cumulative`` and ``cumulative_figure``: the cumulative meta-analysis of every pool
of an outcome; one pool's cumulative forest plot."""

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from scimeta.figures import placeholder
from scimeta.io import read_review, write_csv
from scimeta.plotting import cumulative_forest_plot, save_figure
from scimeta.robustness import cumulative_table
from scimeta.workflow import finish_job, start_job

if TYPE_CHECKING:
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.cumulative")

FORMATS = ("svg", "png")
COMPARISON_TEXT = {"between_arms": "treatment vs control", "pre_post": "follow-up vs baseline"}


def table(review_dir, effects_csv, membership_csv, out_csv, *, outcome, analysis, order_by):
    studies = read_review(review_dir).studies
    effects = pd.read_csv(effects_csv)
    membership = pd.read_csv(membership_csv)
    result = cumulative_table(effects, membership, studies, outcome=outcome, analysis=analysis,
                              order_by=order_by)
    log.info("%s: %d steps", outcome, len(result))
    write_csv(result, out_csv)


def figure(cumulative_csv, stem, *, outcome, comparison, measure, label, order_by, max_rows):
    rows = pd.read_csv(cumulative_csv, dtype={"study_id": str})
    rows = rows[(rows["comparison"] == comparison) & (rows["measure"] == measure)]
    title = f"{label}: {COMPARISON_TEXT[comparison]} ({measure})"
    if rows["step"].notna().sum() == 0:
        notes = "; ".join(str(n) for n in rows["note"].dropna().unique())
        result = placeholder("No cumulative meta-analysis: " + (notes or "no study in the pool"),
                             kind="cumulative", title=title)
    else:
        result = cumulative_forest_plot(rows.reset_index(drop=True), measure=measure,
                                        order_label=order_by.replace("_", " ").capitalize(),
                                        title=title, max_rows=max_rows)
    written = save_figure(result, stem, FORMATS)
    log.info("%s %s %s: %s", outcome, comparison, measure, ", ".join(written))


if __name__ == "__main__":
    start_job()
    logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, filemode="w")
    w = snakemake.wildcards
    if snakemake.rule == "cumulative":
        table(".", snakemake.input.effects, snakemake.input.membership,
              snakemake.output.cumulative, outcome=w.outcome, analysis=snakemake.params.analysis,
              order_by=snakemake.params.order_by)
    else:
        figure(snakemake.input.cumulative, str(Path(snakemake.output.svg).with_suffix("")),
               outcome=w.outcome, comparison=w.comparison, measure=w.measure,
               label=snakemake.params.label, order_by=snakemake.params.order_by,
               max_rows=snakemake.params.max_rows)
    finish_job()
