"""Rule ``figures``: every planned figure of one outcome, drawn from the outcome's tables as
written, in each format of ``figures.formats`` and with the CSV of the numbers drawn."""

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from scimeta import stages
from scimeta.safe import read_param
from scimeta.workflow import read_snapshot_studies

if TYPE_CHECKING:
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.figures")

#: The kind :func:`scimeta.figures.draw_figure` calls each kind of ``figures.kinds``.
DRAW_KIND = {"sensitivity_r": "sensitivity"}


def main(tables: dict, studies_json, folder, *, plan, formats, prepost_r, **settings):
    """``tables``: the path of each table of :data:`scimeta.workflow.FIGURE_TABLES`;
    ``plan``: the outcome's planned figures; ``settings``: the keyword arguments of
    :func:`scimeta.figures.draw_figure`."""
    from scimeta.figures import draw_figure
    from scimeta.plotting import save_figure

    frames = {name: stages.read_table(path) for name, path in tables.items()}
    studies = read_snapshot_studies(studies_json)
    Path(folder).mkdir(parents=True, exist_ok=True)
    for item in plan:
        result = draw_figure(
            {**item, "kind": DRAW_KIND.get(item["kind"], item["kind"]), "prepost_r": prepost_r},
            studies=studies,
            **frames,
            **settings,
        )
        written = save_figure(result, Path(folder) / item["stem"], formats)
        log.info("%s: %s", item["stem"], ", ".join(written))


if __name__ == "__main__":
    logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, filemode="w")
    settings = {k: v for k, v in snakemake.params.items() if k != "lib"}
    settings["outcome_config"] = read_param(settings["outcome_config"])
    inputs = {k: v for k, v in snakemake.input.items() if k != "studies"}
    main(inputs, snakemake.input.studies, snakemake.output[0], **settings)
