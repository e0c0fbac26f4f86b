"""Rule ``prisma``: the PRISMA 2020 flow diagram of the config's ``prisma`` block."""

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from scimeta.compare import study_labels
from scimeta.plotting import prisma_flow_diagram, save_figure
from scimeta.prisma import participant_flow, prisma_counts
from scimeta.workflow import SNAPSHOT_DIR, read_snapshot_review

if TYPE_CHECKING:
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.prisma")


def main(review_dir, svg):
    review = read_snapshot_review(Path(review_dir) / SNAPSHOT_DIR)
    block = review.config["prisma"]
    figure = prisma_flow_diagram(prisma_counts(block),
                                 participants=participant_flow(review.config),
                                 labels=study_labels(review.studies),
                                 note=str(block.get("note", "") or ""))
    stem = Path(svg).with_suffix("")
    written = save_figure(figure, stem, ("svg", "png"))
    log.info("wrote %s", ", ".join(written))


if __name__ == "__main__":
    main(".", snakemake.output.svg)
