"""Rules ``gosh_part``, ``gosh`` and ``gosh_figure``: one range of the subsets of every pool
of an outcome; the outcome's GOSH tables from its ranges; one pool's GOSH plot."""

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from scimeta.figures import placeholder
from scimeta.io import write_csv
from scimeta.plotting import gosh_plot, save_figure
from scimeta.robustness import gosh_part, gosh_tables
from scimeta.workflow import finish_job, start_job

if TYPE_CHECKING:
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.gosh")

FORMATS = ("svg", "png")
COMPARISON_TEXT = {"between_arms": "treatment vs control", "pre_post": "follow-up vs baseline"}


def part(effects_csv, membership_csv, out_csv, *, outcome, chunk, parts, analysis, gosh, seed):
    effects = pd.read_csv(effects_csv)
    membership = pd.read_csv(membership_csv)
    table = gosh_part(effects, membership, outcome=outcome, analysis=analysis, gosh_config=gosh,
                      seed=seed, part=chunk, parts=parts)
    log.info("%s part %d of %d: %d subsets", outcome, chunk + 1, parts, len(table))
    write_csv(table, out_csv)


def tables(effects_csv, membership_csv, part_csvs, out: dict, *, outcome, analysis, gosh, seed):
    """The outcome's GOSH tables from its part files, or, without any (one part), from the
    fits made here."""
    effects = pd.read_csv(effects_csv)
    membership = pd.read_csv(membership_csv)
    parts = [pd.read_csv(p, dtype={"studies": str}) for p in part_csvs] or [
        gosh_part(effects, membership, outcome=outcome, analysis=analysis, gosh_config=gosh,
                  seed=seed)]
    result = gosh_tables(parts, effects, membership, outcome=outcome, analysis=analysis,
                         gosh_config=gosh, file=out["gosh"])
    for name in ("gosh", "summary", "influence"):
        write_csv(result[name], out[name])
    log.info("%s: %d subsets of %d pools", outcome, len(result["gosh"]), len(result["summary"]))


def figure(gosh_csv, influence_csv, stem, *, outcome, comparison, measure, label):
    keys = dict(comparison=comparison, measure=measure)
    table = pd.read_csv(gosh_csv, dtype={"studies": str})
    table = table[(table["comparison"] == comparison) & (table["measure"] == measure)]
    influence = pd.read_csv(influence_csv, dtype={"study": str})
    influence = influence[(influence["comparison"] == comparison)
                          & (influence["measure"] == measure)]
    title = f"{label}: {COMPARISON_TEXT[comparison]} ({measure})"
    if table.empty or influence.empty:
        result = placeholder("No GOSH plot: fewer than 3 studies in the pool, or no subset "
                             "could be fitted (results/tables/gosh.csv says which).",
                             kind="gosh", title=title)
    else:
        # influence rows are in the pool's order, that of the membership strings
        result = gosh_plot(table.reset_index(drop=True), influence=influence.reset_index(drop=True),
                           study_labels=influence["study"].tolist(), measure=measure, title=title)
    written = save_figure(result, stem, FORMATS)
    log.info("%s %s: %s", outcome, keys, ", ".join(written))


if __name__ == "__main__":
    start_job()
    logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, filemode="w")
    w = snakemake.wildcards
    if snakemake.rule == "gosh_part":
        part(snakemake.input.effects, snakemake.input.membership, snakemake.output.part,
             outcome=w.outcome, chunk=int(w.chunk), parts=snakemake.params.parts,
             analysis=snakemake.params.analysis, gosh=snakemake.params.gosh,
             seed=snakemake.params.seed)
    elif snakemake.rule == "gosh":
        tables(snakemake.input.effects, snakemake.input.membership, list(snakemake.input.parts),
               dict(snakemake.output), outcome=w.outcome, analysis=snakemake.params.analysis,
               gosh=snakemake.params.gosh, seed=snakemake.params.seed)
    else:
        figure(snakemake.input.gosh, snakemake.input.influence,
               str(Path(snakemake.output.svg).with_suffix("")), outcome=w.outcome,
               comparison=w.comparison, measure=w.measure, label=snakemake.params.label)
    finish_job()
