"""GOSH and cumulative tables of the workflow (scimeta.robustness): parts, summary, order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _settings import analysis, config

from scimeta.cumulative import cumulative
from scimeta.gosh import gosh
from scimeta.robustness import (
    CUMULATIVE_TABLE_COLUMNS,
    GOSH_SUMMARY_COLUMNS,
    GOSH_TABLE_COLUMNS,
    cumulative_table,
    gosh_part,
    gosh_parts,
    gosh_skip_reason,
    gosh_tables,
)

ANALYSIS = analysis(tau2=["DL", "REML"], ci=["wald"], level=0.95)
#: The schema's gosh block (min_k and the rest); each test sets the keys it is about.
GOSH = config()["gosh"]


def _effects(k_md: int, k_smd: int, seed: int = 1):
    """Two pools of whole-population studies (MD: k_md, SMD: k_smd) and their studies."""
    rng = np.random.default_rng(seed)
    rows = []
    for measure, k in (("MD", k_md), ("SMD", k_smd)):
        for j in range(k):
            sid = f"s{j:02d}"
            rows.append(dict(study_id=sid, cohort_id=sid, outcome="o", population="all",
                             design="rct", comparison="between_arms", measure=measure,
                             timepoint=12, yi=float(rng.normal(0.3, 0.4)),
                             vi=float(rng.uniform(0.02, 0.2)), n1=20.0, n2=20.0))
    n = max(k_md, k_smd)
    studies = pd.DataFrame({"study_id": [f"s{j:02d}" for j in range(n)], "cohort_id": "",
                            "year": [2000 + (j * 7) % 5 for j in range(n)]})
    return pd.DataFrame(rows), studies


@pytest.mark.parametrize("gosh_config", [
    {**GOSH, "max_exact_k": 16, "n_subsets": 100, "part_size": 1},   # exact (k = 6)
    {**GOSH, "max_exact_k": 4, "n_subsets": 3000, "part_size": 1},   # sampled, seeded blocks
])
def test_parts_join_to_the_single_run(gosh_config):
    effects, _ = _effects(6, 2)
    one = gosh_part(effects, None, outcome="o", analysis=ANALYSIS, gosh_config=gosh_config,
                    seed=5)
    parts = [gosh_part(effects, None, outcome="o", analysis=ANALYSIS, gosh_config=gosh_config,
                       seed=5, part=i, parts=3) for i in range(3)]
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), one)
    assert list(one.columns) == GOSH_TABLE_COLUMNS
    # only the pool of >= gosh.min_k studies, fitted with the primary estimator (the first)
    assert set(one["measure"]) == {"MD"} and set(one["tau2_method"]) == {"DL"}
    rows = effects[effects["measure"] == "MD"]
    direct = gosh(rows["yi"], rows["vi"], tau2_method="DL", max_exact_k=gosh_config["max_exact_k"],
                  n_subsets=gosh_config["n_subsets"], seed=int(one["seed"].iloc[0])
                  if not one["exact"].iloc[0] else None)
    np.testing.assert_allclose(one["estimate"], direct["estimate"], rtol=1e-14)
    assert list(one["studies"]) == list(direct["studies"])


def test_summary_and_influence():
    effects, _ = _effects(6, 2)
    cfg = {**GOSH, "max_exact_k": 16, "n_subsets": 100, "part_size": 1}
    part = gosh_part(effects, None, outcome="o", analysis=ANALYSIS, gosh_config=cfg, seed=5)
    out = gosh_tables([part], effects, None, outcome="o", analysis=ANALYSIS, gosh_config=cfg,
                      file="results/outcomes/o/gosh.csv")
    summary = out["summary"].set_index("measure")
    assert list(out["summary"].columns) == GOSH_SUMMARY_COLUMNS
    assert summary.loc["MD", "n_subsets"] == 63 and bool(summary.loc["MD", "exact"])
    assert summary.loc["MD", "n_fitted"] == 63 - 6  # one-study subsets have no I²
    assert summary.loc["SMD", "note"] == "not run: 2 studies, fewer than gosh.min_k = 6"
    assert summary.loc["SMD", "n_subsets"] == 0
    infl = out["influence"]
    assert list(infl["study"]) == [f"s{j:02d}" for j in range(6)]  # the pool's order
    top = infl.loc[infl["rank"] == 1, "study"].item()
    assert summary.loc["MD", "top_study"] == top
    assert sorted(infl["rank"]) == list(range(1, 7))


def test_gosh_parts_from_the_largest_pool():
    cfg = {**GOSH, "max_exact_k": 16, "n_subsets": 10_000, "part_size": 20_000}
    assert gosh_parts(2, cfg) == 1
    assert gosh_parts(16, cfg) == 1                    # 65,535 x 16 study-fits
    assert gosh_parts(2000, cfg) == 1                  # 10,000 x 2,000
    assert gosh_parts(2000, {**cfg, "part_size": 5000}) == 4


def test_gosh_only_from_min_k_studies():
    """The schema's default is 6 studies (63 subsets); a pool below it gets no subsets and
    a summary row saying why, whatever its size otherwise allows."""
    assert GOSH["min_k"] == 6
    assert gosh_skip_reason(6, GOSH) == ""
    assert gosh_skip_reason(5, GOSH) == "not run: 5 studies, fewer than gosh.min_k = 6"
    assert gosh_skip_reason(1, GOSH) == "not run: 1 study, fewer than gosh.min_k = 6"
    effects, _ = _effects(5, 3)
    cfg = {**GOSH, "max_exact_k": 16, "n_subsets": 100, "part_size": 1}
    part = gosh_part(effects, None, outcome="o", analysis=ANALYSIS, gosh_config=cfg, seed=5)
    assert part.empty
    out = gosh_tables([part], effects, None, outcome="o", analysis=ANALYSIS, gosh_config=cfg)
    notes = out["summary"].set_index("measure")["note"]
    assert notes["MD"] == "not run: 5 studies, fewer than gosh.min_k = 6"
    assert notes["SMD"] == "not run: 3 studies, fewer than gosh.min_k = 6"
    assert out["influence"].empty
    lower = {**cfg, "min_k": 3}
    part = gosh_part(effects, None, outcome="o", analysis=ANALYSIS, gosh_config=lower, seed=5)
    assert part.groupby("measure").size().to_dict() == {"MD": 31, "SMD": 7}


def test_cumulative_table_orders_by_a_study_column():
    effects, studies = _effects(6, 2)
    table = cumulative_table(effects, None, studies, outcome="o", analysis=ANALYSIS,
                             order_by="year")
    assert list(table.columns) == CUMULATIVE_TABLE_COLUMNS
    md = table[table["measure"] == "MD"]
    rows = effects[effects["measure"] == "MD"]
    year = rows["study_id"].map(studies.set_index("study_id")["year"])
    ref = cumulative(rows["yi"], rows["vi"], year, study_id=rows["study_id"], tau2_method="DL")
    np.testing.assert_allclose(md["estimate"], ref["estimate"], rtol=1e-14)
    assert list(md["study_id"]) == list(ref["study_id"])
    assert list(md["order_value"]) == sorted(year)   # whole years, as written
    assert all(isinstance(x, int) for x in md["order_value"])


def test_no_gosh_figure_or_job_is_planned_below_min_k():
    """The example review's pools have at most 3 studies: no GOSH figure and a single
    robustness job per outcome; with gosh.min_k = 3 the figures come back, one per funnel."""
    import copy
    from pathlib import Path

    from scimeta.io import read_review
    from scimeta.workflow import job_plan, planned_figures

    review = read_review(Path(__file__).resolve().parents[1])
    plan = planned_figures(review, review.config)
    assert plan and not [p for p in plan if p["kind"] == "gosh"]
    assert set(job_plan(review)["gosh_parts"].values()) == {1}
    lower = copy.deepcopy(review.config)
    lower["gosh"]["min_k"] = 3
    again = planned_figures(review, lower)
    funnels = {(p["outcome"], p["comparison"]) for p in again if p["kind"] == "funnel"}
    assert funnels and {(p["outcome"], p["comparison"]) for p in again
                        if p["kind"] == "gosh"} == funnels
