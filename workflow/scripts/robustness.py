"""Rules ``gosh_part`` and ``robustness``: one range of the GOSH subsets of every pool of an
outcome; the outcome's GOSH tables (from its ranges, or computed here when one job does it
all) and its cumulative meta-analysis. The figures are drawn by the ``figures`` job."""

import logging
from typing import TYPE_CHECKING

import pandas as pd

from scimeta import stages
from scimeta.io import write_csv
from scimeta.robustness import cumulative_table, gosh_part, gosh_tables
from scimeta.workflow import read_snapshot_studies

if TYPE_CHECKING:
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.robustness")


def part(effects_csv, membership_csv, out_csv, *, outcome, chunk, parts, analysis, gosh, seed):
    effects = stages.read_table(effects_csv)
    membership = stages.read_table(membership_csv)
    table = gosh_part(effects, membership, outcome=outcome, analysis=analysis, gosh_config=gosh,
                      seed=seed, part=chunk, parts=parts)
    log.info("%s GOSH part %d of %d: %d subsets", outcome, chunk + 1, parts, len(table))
    write_csv(table, out_csv)


def robustness(effects_csv, membership_csv, studies_csv, part_csvs, out: dict, *, outcome,
               analysis, gosh, seed, order_by):
    effects = stages.read_table(effects_csv)
    membership = stages.read_table(membership_csv)
    if part_csvs:
        parts = [pd.read_csv(p, dtype={"studies": str}) for p in part_csvs]
    else:
        parts = [gosh_part(effects, membership, outcome=outcome, analysis=analysis,
                           gosh_config=gosh, seed=seed, part=0, parts=1)]
    result = gosh_tables(parts, effects, membership, outcome=outcome, analysis=analysis,
                         gosh_config=gosh, file=out["gosh"])
    for name in ("gosh", "summary", "influence"):
        write_csv(result[name], out[name])
    log.info("%s: %d GOSH subsets of %d pools", outcome, len(result["gosh"]),
             len(result["summary"]))
    studies = read_snapshot_studies(studies_csv)
    steps = cumulative_table(effects, membership, studies, outcome=outcome, analysis=analysis,
                             order_by=order_by)
    write_csv(steps, out["cumulative"])
    log.info("%s: %d cumulative steps", outcome, len(steps))


if __name__ == "__main__":
    w = snakemake.wildcards
    p = snakemake.params
    if "chunk" in snakemake.wildcards.keys():  # rule gosh_part
        part(snakemake.input.effects, snakemake.input.membership, snakemake.output.part,
             outcome=w.outcome, chunk=int(w.chunk), parts=p.parts, analysis=p.analysis,
             gosh=p.gosh, seed=p.seed)
    else:
        robustness(snakemake.input.effects, snakemake.input.membership, snakemake.input.studies,
                   list(snakemake.input.parts), dict(snakemake.output), outcome=w.outcome,
                   analysis=p.analysis, gosh=p.gosh, seed=p.seed, order_by=p.order_by)
