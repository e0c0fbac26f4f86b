"""Rules ``figures_<outcome>``: every figure of one outcome, each with the CSV of its numbers."""


import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from scimeta.figures import draw_figure
from scimeta.io import read_review
from scimeta.plotting import save_figure

if TYPE_CHECKING:
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.figures")

FORMATS = {
    "forest": ("svg", "png", "pdf"),
    "subgroup_forest": ("svg", "png", "pdf"),
    "funnel": ("svg", "png"),
    "sensitivity": ("svg", "png"),
    "bubble": ("svg", "png"),
}


def main(inputs: dict, figure_dir, *, outcome, plan, outcome_config, analysis, layout,
         populations):
    tables = {name: pd.read_csv(path) for name, path in inputs.items()}
    studies = read_review(".").studies
    for item in plan:
        result = draw_figure(
            item,
            outcome=outcome,
            outcome_config=outcome_config,
            analysis=analysis,
            layout=layout,
            populations=populations,
            studies=studies,
            **tables,
        )
        written = save_figure(result, Path(figure_dir) / item["stem"], FORMATS[item["kind"]])
        log.info("%s: %s", item["stem"], ", ".join(written))


if __name__ == "__main__":
    logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, filemode="w")
    main(
        dict(snakemake.input),
        "results/figures",
        outcome=snakemake.params.outcome,
        plan=snakemake.params.plan,
        outcome_config=snakemake.params.outcome_config,
        analysis=snakemake.params.analysis,
        layout=snakemake.params.layout,
        populations=snakemake.params.populations,
    )
