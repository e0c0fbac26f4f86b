"""Declared caveats: validation and the leave-out pools of an overlap."""

import numpy as np
import pandas as pd
import pytest
from _settings import config as validated_config

from scimeta.caveats import CAVEAT_COLUMNS, caveat_table, validate_caveats
from scimeta.pool import pool

YI = {"a": 2.0, "b": 3.5, "c": 1.0, "d": 2.8}
VI = {"a": 0.5, "b": 0.8, "c": 0.4, "d": 0.6}


def _tables(ids_by_pool):
    effects, pooled = [], []
    for measure, ids in ids_by_pool.items():
        yi, vi = np.array([YI[s] for s in ids]), np.array([VI[s] for s in ids])
        effects += [{"study_id": s, "outcome": "motor", "comparison": "pre_post",
                     "measure": measure, "population": "all", "yi": YI[s], "vi": VI[s]}
                    for s in ids]
        fit = pool(yi, vi, tau2_method="REML", ci_method="hksj")
        pooled.append({**fit.to_dict(), "outcome": "motor", "comparison": "pre_post",
                       "measure": measure, "subgroup_var": "overall", "primary": True,
                       "model": "random", "tau2_method": "REML", "ci_method": "hksj",
                       "studies": ";".join(ids)})
    return pd.DataFrame(effects), pd.DataFrame(pooled)


def _config(*caveats):
    return validated_config(caveats=list(caveats))


def test_overlap_re_pooled_without_each_study():
    effects, pooled = _tables({"MC": ["a", "b", "c"], "SMCR": ["a", "c"]})
    config = _config({"kind": "overlap", "studies": ["a", "b"], "text": "Same centre."})
    table = caveat_table(config, pooled=pooled, effects=effects)
    assert list(table.columns) == CAVEAT_COLUMNS
    # only MC holds both a and b; SMCR holds one of them
    assert set(table["measure"]) == {"MC"}
    assert list(table["left_out"]) == ["", "a", "b"]
    without_a = pool([YI["b"], YI["c"]], [VI["b"], VI["c"]], tau2_method="REML",
                     ci_method="hksj")
    row = table[table["left_out"] == "a"].iloc[0]
    assert row["k"] == 2
    assert row["estimate"] == pytest.approx(without_a.estimate, rel=1e-12)
    assert row["ci_low"] == pytest.approx(without_a.ci_low, rel=1e-12)
    assert table.iloc[0]["estimate"] == pooled.iloc[0]["estimate"]


def test_overlap_of_a_two_study_pool_leaves_one_study_with_its_wald_ci():
    effects, pooled = _tables({"MC": ["a", "b"]})
    config = _config({"kind": "overlap", "studies": ["a", "b"], "text": "x"})
    row = caveat_table(config, pooled=pooled, effects=effects).iloc[1]
    # the one rule of a pool of one study: under the primary CI method, the study's own Wald CI
    assert (row["left_out"], row["k"], row["ci_method"]) == ("a", 1, pooled.iloc[0]["ci_method"])
    assert row["estimate"] == YI["b"]
    assert row["ci_high"] == pytest.approx(YI["b"] + 1.959963984540054 * np.sqrt(VI["b"]))
    assert "single study, not pooled" in row["note"]


def test_caveats_without_a_pool_or_analysis_keep_their_row():
    effects, pooled = _tables({"MC": ["a", "c"]})
    config = _config({"kind": "overlap", "studies": ["a", "b"], "text": "x"},
                     {"text": "Doses differ."})
    table = caveat_table(config, pooled=pooled, effects=effects)
    assert list(table["caveat"]) == [1, 2]
    assert list(table["note"]) == ["no pool holds two of these studies together",
                                   "no analysis: not an overlap"]
    assert table.iloc[1]["kind"] == "other"  # the schema's default


def test_validate_caveats_names_unknown_studies():
    studies = pd.DataFrame({"study_id": ["a", "b"]})
    config = _config({"kind": "overlap", "studies": ["a", "zz"], "text": "x"},
                     {"kind": "overlap", "studies": ["a"], "text": "y"})
    problems = validate_caveats(config, studies, lines={"caveats.0.studies": 7})
    assert [(p.row, p.column) for p in problems] == [(7, "caveats.0.studies"),
                                                     (None, "caveats.1.studies")]
    assert "'zz' is not in the studies sheet" in problems[0].message
    assert "at least two studies" in problems[1].message
    assert validate_caveats(_config(), studies) == []
