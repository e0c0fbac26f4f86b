"""Rule ``figures``: every planned figure of one outcome, drawn from the outcome's tables as
written, in each format of ``figures.formats`` and with the CSV of the numbers drawn; the
figures not drawn (placeholders) listed in the outcome's figure_warnings.csv. An error while
drawing fails the job, naming the figure."""

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from scimeta import stages
from scimeta.safe import read_param
from scimeta.workflow import read_snapshot_sheet, read_snapshot_studies

if TYPE_CHECKING:
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.figures")

#: The kind :func:`scimeta.figures.draw_figure` calls each kind of ``figures.kinds``.
DRAW_KIND = {"sensitivity_r": "sensitivity"}
#: Columns read as text: the subsets of gosh.csv (strings of 0/1), the studies' ids.
TEXT_COLUMNS = {"gosh": {"studies": str}, "gosh_influence": {"study": str},
                "cumulative": {"study_id": str}}


def main(tables: dict, studies_json, folder, warnings_csv, *, plan, formats, prepost_r,
         rob_json=None, **settings):
    """``tables``: the path of each table of :data:`scimeta.workflow.FIGURE_TABLES`;
    ``plan``: the outcome's planned figures; ``settings``: the keyword arguments of
    :func:`scimeta.figures.draw_figure`."""
    from scimeta.figures import draw_figure, figure_warning
    from scimeta.io import write_csv
    from scimeta.plotting import save_figure

    begin = time.perf_counter()
    frames = {name: pd.read_csv(path, dtype=TEXT_COLUMNS[name]) if name in TEXT_COLUMNS
              else stages.read_table(path) for name, path in tables.items()}
    studies = read_snapshot_studies(studies_json)
    rob = read_snapshot_sheet(rob_json, "risk_of_bias") if rob_json else None
    Path(folder).mkdir(parents=True, exist_ok=True)
    log.info("tables read in %.2f s", time.perf_counter() - begin)
    warnings = []
    for item in plan:
        start = time.perf_counter()
        try:
            result = draw_figure(
                {**item, "kind": DRAW_KIND.get(item["kind"], item["kind"]),
                 "prepost_r": prepost_r},
                studies=studies,
                rob=rob,
                **frames,
                **settings,
            )
        except Exception as exc:
            exc.add_note(f"while drawing the figure {item['stem']}")
            raise
        warning = figure_warning(item, result)
        if warning:
            warnings.append(warning)
            log.warning("%s %s: %s", item["stem"], warning["status"], warning["reason"])
        drawn = time.perf_counter()
        written = save_figure(result, Path(folder) / item["stem"], formats)
        log.info("%s: %s (drawn in %.2f s, saved in %.2f s)", item["stem"], ", ".join(written),
                 drawn - start, time.perf_counter() - drawn)
    write_csv(pd.DataFrame(warnings), warnings_csv, table="figure_warnings")


if __name__ == "__main__":
    settings = {k: v for k, v in snakemake.params.items() if k != "lib"}
    settings["outcome_config"] = read_param(settings["outcome_config"])
    inputs = {k: v for k, v in snakemake.input.items() if k not in ("studies", "rob")}
    rob_json = snakemake.input.rob[0] if len(snakemake.input.rob) else None
    main(inputs, snakemake.input.studies, snakemake.output.folder, snakemake.output.warnings,
         rob_json=rob_json, **settings)
