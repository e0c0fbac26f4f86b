"""The stages of one outcome's analysis, each from the tables of the stage before it.

One function per stage of the workflow (``workflow/rules/*.smk``): rows of the
snapshot -> :func:`arms` -> :func:`effect_sizes` -> :func:`pools` ->
:func:`bias`, :func:`sensitivity`, :func:`metareg` -> figures. Each takes
DataFrames as the stage before wrote them (read back with :func:`read_table`)
and returns DataFrames; files are the workflow's business. The statistics
live in :mod:`scimeta.analysis` and below.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

__all__ = [
    "restrict_review",
    "read_table",
    "arms",
    "effect_sizes",
    "pools",
    "bias",
    "sensitivity",
    "metareg",
]

def restrict_review(review, outcome: str):
    """The review with only the rows (and the config entry) of one outcome."""
    rows = review.outcomes[review.outcomes["outcome"] == outcome].reset_index(drop=True)
    config = {**review.config, "outcomes": {outcome: review.config["outcomes"][outcome]}}
    return dataclasses.replace(review, outcomes=rows, config=config)


def read_table(path) -> pd.DataFrame:
    """A table written by a stage, read back as the next stage reads it (pandas' parsing)."""
    return pd.read_csv(path)


def arms(review) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Arms (mean and SD, how derived) of the review's rows and the rows excluded."""
    from scimeta.extract import build_arms

    return build_arms(review)


def effect_sizes(review, arms_table: pd.DataFrame, excluded_arms: pd.DataFrame):
    """Effect sizes of the arms, and every exclusion (the arms' first, then the effects')."""
    from scimeta.compare import build_effects

    effects, excluded_effects = build_effects(
        arms_table, review.studies, review.config, outcomes_file=review.sources["outcomes"]
    )
    excluded = pd.concat([excluded_arms, excluded_effects], ignore_index=True)
    return effects, excluded


def pools(effects: pd.DataFrame, studies: pd.DataFrame, *, analysis, subgroups, populations,
          permutations, seed) -> dict[str, pd.DataFrame]:
    """Who enters each pool, in which design stratum (decided once), the overall and subgroup
    pools, subgroup tests."""
    from scimeta.analysis import pooled_table, subgroup_tables
    from scimeta.membership import membership_table
    from scimeta.settings import analysis_settings

    membership = membership_table(effects, studies, subgroups, populations,
                                  designs=analysis_settings(analysis).designs)
    overall = pooled_table(effects, analysis, membership)
    by_group, tests, _ = subgroup_tables(  # the membership given, returned as is
        effects,
        studies,
        analysis=analysis,
        subgroups=subgroups,
        populations=populations,
        permutations=permutations,
        seed=seed,
        membership=membership,
    )
    return {
        "pooled": pd.concat([overall, by_group], ignore_index=True),
        "subgroup_tests": tests,
        "membership": membership,
    }


def bias(effects: pd.DataFrame, membership: pd.DataFrame, *, analysis) -> dict[str, pd.DataFrame]:
    """Small-study tests, leave-one-out and influence diagnostics of every overall pool."""
    from scimeta.analysis import bias_tables

    return bias_tables(effects, analysis, membership)


def sensitivity(effects: pd.DataFrame, membership: pd.DataFrame, *, analysis, r_grid,
                prepost_method) -> pd.DataFrame:
    """The before/after pools recomputed over the grid of pre-post correlations."""
    from scimeta.analysis import r_sweep_table

    return r_sweep_table(effects, r_grid=r_grid, analysis=analysis,
                         enabled=prepost_method == "paired", membership=membership)


def metareg(effects: pd.DataFrame, studies: pd.DataFrame, membership: pd.DataFrame, *,
            analysis, moderators, permutations, seed) -> pd.DataFrame:
    """Meta-regression of every overall pool on each moderator, with its permutation test."""
    from scimeta.analysis import metareg_table

    return metareg_table(effects, studies, moderators=moderators, analysis=analysis,
                         membership=membership, permutations=permutations, seed=seed)
