"""One rule for a pool of one study (scimeta.pool.SINGLE_STUDY_NOTE), read by every consumer:
the pooled table, the cumulative analysis, the r sweep, the summary of findings' pool and
the report's captions all show the study's own Wald-type CI, under every CI method."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from _settings import analysis

from scimeta._dist import norm_isf
from scimeta.analysis import pooled_table
from scimeta.cumulative import cumulative
from scimeta.grade import primary_pool
from scimeta.pool import CI_METHODS, SINGLE_STUDY_LABEL, SINGLE_STUDY_NOTE
from scimeta.review_report import figure_caption
from scimeta.sensitivity import r_sweep

Y, V = 1.7, 0.36
Z = norm_isf(0.025)
WALD = (Y - Z * math.sqrt(V), Y + Z * math.sqrt(V))


def _effects() -> pd.DataFrame:
    return pd.DataFrame({"study_id": ["solo2020"], "cohort_id": [""], "outcome": ["o"],
                         "comparison": ["pre_post"], "measure": ["MC"], "population": ["all"],
                         "yi": [Y], "vi": [V], "n1": [20.0], "n2": [20.0], "mean1": [11.7],
                         "sd1": [3.0], "mean2": [10.0], "sd2": [3.0], "r": [math.nan],
                         "r_source": ["assumed"], "design": ["single_arm"]})


@pytest.mark.parametrize("ci", CI_METHODS)
def test_pooled_table_single_study(ci):
    table = pooled_table(_effects(), analysis(ci=[ci]))
    assert len(table) and (table["k"] == 1).all()
    np.testing.assert_allclose(table["ci_low"], WALD[0], rtol=1e-12)
    np.testing.assert_allclose(table["ci_high"], WALD[1], rtol=1e-12)
    assert table["df"].isna().all() and table["pi_low"].isna().all()
    assert table["note"].str.contains(SINGLE_STUDY_NOTE, regex=False).all()


@pytest.mark.parametrize("ci", CI_METHODS)
def test_summary_of_findings_rates_the_single_study_wald_ci(ci):
    table = pooled_table(_effects(), analysis(ci=[ci, "wald"] if ci != "wald" else ["wald"]))
    row, note = primary_pool(table, "o", "pre_post", "MC")
    assert row["ci_method"] == ci and note == SINGLE_STUDY_LABEL
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(WALD, rel=1e-12)


@pytest.mark.parametrize("ci", CI_METHODS)
def test_cumulative_first_step_and_r_sweep(ci):
    steps = cumulative([Y, 0.4], [V, 0.5], ci_method=ci)
    first = steps.iloc[0]
    assert (first["ci_low"], first["ci_high"]) == pytest.approx(WALD, rel=1e-12)
    sweep = r_sweep(_effects(), measure="MC", r_grid=[0.5], tau2_method="REML", ci_method=ci)
    row = sweep.iloc[0]
    assert SINGLE_STUDY_NOTE in row["note"]
    assert row["ci_high"] - row["ci_low"] == pytest.approx(2 * Z * math.sqrt(row["se"] ** 2),
                                                           rel=1e-12)


def test_caption_names_the_single_study():
    table = pooled_table(_effects(), analysis())
    primary = table[table["primary"]].iloc[0]
    caption = figure_caption({"kind": "forest", "comparison": "pre_post", "measure": "MC",
                              "var": ""}, "o", primary,
                             arms={"treatment": "T", "control": "C", "baseline": "B",
                                   "follow_up": "F"},
                             level=0.95, min_k_small_study=10, pi_min_k=3)
    assert SINGLE_STUDY_LABEL in caption
    assert "Hartung" not in caption


def test_methods_text_counts_the_single_study_pools():
    from scimeta.methods import _single_study_text

    table = pooled_table(_effects(), analysis())
    text = _single_study_text(table)
    assert text.startswith(" 1 of 1 primary pools rest on a single study") and SINGLE_STUDY_LABEL in text
    assert _single_study_text(table.assign(k=3)) == ""
