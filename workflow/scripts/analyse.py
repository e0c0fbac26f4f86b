"""Rules ``analyse_<outcome>``: one outcome's rows -> arms -> effect sizes -> pools and their
companions -> figures, each figure with the CSV of its numbers."""

import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from scimeta.analysis import (
    bias_tables,
    metareg_table,
    pooled_table,
    r_sweep_table,
    subgroup_tables,
)
from scimeta.compare import build_effects
from scimeta.extract import build_arms
from scimeta.figures import draw_figure
from scimeta.io import read_review, write_csv
from scimeta.membership import membership_table
from scimeta.plotting import save_figure
from scimeta.rob import ROB_CSV
from scimeta.workflow import FIGURE_FORMATS, finish_job, restrict_review, start_job

if TYPE_CHECKING:  # Snakemake >= 9.17: the object exists only when Snakemake runs the script
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.analyse")

#: The tables the figures are drawn from, read back as written.
FIGURE_TABLES = (
    "effects", "pooled", "subgroup_tests", "membership", "sensitivity", "metareg", "bias",
)


def effect_sizes(review, outcome):
    """Arms (mean and SD, how derived), effect sizes and every exclusion of one outcome."""
    review = restrict_review(review, outcome)
    arms, excluded_arms = build_arms(review)
    effects, excluded_effects = build_effects(
        arms, review.studies, review.config, outcomes_file=review.sources["outcomes"]
    )
    excluded = pd.concat([excluded_arms, excluded_effects], ignore_index=True)
    return arms, effects, excluded


def pools(effects, studies, config):
    """Overall and subgroup pools, subgroup tests, membership, r sweep, meta-regression, bias."""
    analysis = config["analysis"]
    # who enters each pool, decided once; every table below reads it
    membership = membership_table(effects, studies, config["subgroups"], config["populations"])
    overall = pooled_table(effects, analysis, membership)
    by_group, tests, _ = subgroup_tables(  # the membership given, returned as is
        effects,
        studies,
        analysis=analysis,
        subgroups=config["subgroups"],
        populations=config["populations"],
        permutations=config["permutations"],
        seed=config["seed"],
        membership=membership,
    )
    pooled = pd.concat([overall, by_group], ignore_index=True)
    sweep = r_sweep_table(
        effects,
        r_grid=config["sensitivity"]["r_grid"],
        analysis=analysis,
        enabled=config["prepost_method"] == "paired",
        membership=membership,
    )
    metareg = metareg_table(effects, studies, moderators=config["moderators"], analysis=analysis,
                            membership=membership, permutations=config["permutations"],
                            seed=config["seed"])
    return {
        "pooled": pooled,
        "subgroup_tests": tests,
        "membership": membership,
        "sensitivity": sweep,
        "metareg": metareg,
        **bias_tables(effects, analysis, membership),
    }


def read_rob(review_dir):
    """``data/raw/risk_of_bias.csv`` as text cells, or None when the review has none."""
    path = Path(review_dir) / ROB_CSV
    if not path.is_file():
        return None
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def figures(out: dict, studies, figure_dir, *, outcome, plan, outcome_config, analysis, layout,
            populations, max_forest_rows=None, figure_options=None, rob=None):
    """Draw every planned figure of the outcome from its tables as written."""
    tables = {name: pd.read_csv(out[name]) for name in FIGURE_TABLES}
    for item in plan:
        result = draw_figure(
            item,
            outcome=outcome,
            outcome_config=outcome_config,
            analysis=analysis,
            layout=layout,
            populations=populations,
            max_forest_rows=max_forest_rows,
            studies=studies,
            figures=figure_options,
            rob=rob,
            **tables,
        )
        written = save_figure(result, Path(figure_dir) / item["stem"], FIGURE_FORMATS[item["kind"]])
        log.info("%s: %s", item["stem"], ", ".join(written))


def main(review_dir, outcome, out: dict, figure_dir, *, plan, layout, max_forest_rows=None,
         **settings):
    """``settings``: the rule's params (every config value this job reads)."""
    review = read_review(review_dir)
    config = {
        **review.config,
        **{k: v for k, v in settings.items() if k not in ("outcome_config", "r_grid")},
        "outcomes": {outcome: settings["outcome_config"]},
        "sensitivity": {"r_grid": settings["r_grid"]},
    }
    review = dataclasses.replace(review, config=config)
    arms, effects, excluded = effect_sizes(review, outcome)
    write_csv(arms, out["arms"])
    write_csv(excluded, out["excluded"])
    write_csv(effects, out["effects"])
    # pools and figures work from effects.csv as written (exact floats, the same row order)
    effects = pd.read_csv(out["effects"])
    tables = pools(effects, review.studies, config)
    for name, table in tables.items():
        write_csv(table, out[name])
    log.info(
        "%s: %d arm rows, %d effect sizes, %d exclusions, %d pooled rows",
        outcome, len(arms), len(effects), len(excluded), len(tables["pooled"]),
    )
    figures(out, review.studies, figure_dir, outcome=outcome, plan=plan,
            outcome_config=settings["outcome_config"], analysis=config["analysis"],
            layout=layout, populations=config["populations"], max_forest_rows=max_forest_rows,
            figure_options=config["figures"], rob=read_rob(review_dir))


if __name__ == "__main__":
    start_job()
    logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, filemode="w")
    params = {k: v for k, v in snakemake.params.items() if k not in ("rows", "lib", "outcome")}
    main(".", snakemake.params.outcome, dict(snakemake.output), "results/figures", **params)
    finish_job()
