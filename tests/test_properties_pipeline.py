"""Property-based tests of the path from sheets to tables (hypothesis).

Random valid reviews — 1 to 40 studies, n from 2, mixed designs (RCT,
controlled, single arm), final values and change scores, equal standard
errors, SDs of 0, identical effects, one huge variance, categorical subgroups
with one-study levels, studies that report only within-study subgroup rows,
missing baseline or follow-up rows, a numeric moderator — are written as
review folders (``config/config.yaml``, ``data/raw/*.csv``), read and
validated by :func:`scimeta.io.read_review`, and run outcome by outcome
through the library stages the workflow's ``analyse`` job calls
(:func:`~scimeta.extract.build_arms`, :func:`~scimeta.compare.build_effects`,
then ``pooled_table``, ``subgroup_tables``, ``r_sweep_table``,
``metareg_table`` and ``bias_tables`` of :mod:`scimeta.analysis`, with
effects read back from ``effects.csv`` as the job does). Properties:

- nothing raises, every table is written with its contract columns, and
  every number a row leaves empty is explained in its ``note``;
- the order of the sheets' rows changes no table, and renaming the studies
  (which reorders every pool) changes no pooled number;
- shifting every mean by c changes no MD or MC, and shifting the treated
  arm's follow-up means by c shifts every MD and MC, and their pools, by c.
"""

from __future__ import annotations

import csv
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scimeta.analysis import (
    bias_tables,
    metareg_table,
    pooled_table,
    r_sweep_table,
    subgroup_tables,
)
from scimeta.compare import build_effects
from scimeta.extract import build_arms
from scimeta.io import read_review, write_csv
from scimeta.tables import columns
from scimeta.workflow import restrict_review

#: Each example runs every stage of a review of up to 40 studies: a bounded number keeps
#: the suite quick while still reaching the edge cases the strategy puts first.
def bounded(max_examples: int):
    """Hypothesis settings: derandomised (the same examples on every run), no deadline."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        derandomize=True,
    )


#: About 1.5 s per random review (every stage, up to 40 studies) on a loaded machine: the
#: main property sees 4 reviews, each invariance (two runs per example) 2.
MAIN_EXAMPLES = 4
INVARIANCE_EXAMPLES = 2
#: Reordering the studies reorders the sums of every estimator: only rounding may change,
#: and the iterative estimators stop at a relative step of 1e-12.
RTOL_REORDER = 1e-8
#: A shift of the means by c moves each effect by c up to the rounding of m1 - m2.
ATOL_SHIFT = 1e-8

FOLLOW_UP = 12
OUTCOMES = ("score",)
POPULATIONS = ("cervical", "thoracolumbar")
CONFIG = {
    "prepost_r": 0.5,
    "prepost_method": "paired",
    "analysis": {"tau2": ["REML", "DL"], "ci": ["hksj", "wald"], "level": 0.95, "common": True,
                 "pi_min_k": 3},
    "subgroups": ["grp", "level"],
    "populations": {"level": list(POPULATIONS)},
    "moderators": ["dose"],
    "permutations": 0,
    "seed": 1,
    "sensitivity": {"r_grid": [0.2, 0.8]},
    "outcomes": {"score": {"label": "Score", "higher_is_better": True, "timepoint": FOLLOW_UP}},
}
STUDY_COLUMNS = ["study_id", "cohort_id", "author", "year", "design", "level", "grp", "dose"]
OUTCOME_COLUMNS = ["study_id", "outcome", "arm", "population", "timepoint", "kind", "n", "mean",
                   "sd", "prepost_r", "source", "quote"]
#: contract columns of every table the analyse job writes (scimeta.tables, docs/contract.md)
TABLE_COLUMNS = {
    "arms": ["study_id", "outcome", "arm", "mean_used", "sd_used", "sd_method"],
    **{name: columns(declared) for name, declared in (
        ("effects", "effects"), ("excluded", "excluded"), ("pooled", "pooled"),
        ("subgroup_tests", "subgroup_tests"), ("membership", "subgroup_membership"),
        ("sensitivity", "sensitivity_r"), ("metareg", "metareg"), ("bias", "bias"),
        ("bias_filled", "bias_filled"), ("leave1out", "leave1out"), ("influence", "influence"))},
}
POOLED_KEY = ["outcome", "comparison", "measure", "subgroup_var", "subgroup", "model",
              "tau2_method", "ci_method"]
POOLED_NUMBERS = ["k", "n", "estimate", "se", "ci_low", "ci_high", "stat", "p", "pi_low",
                  "pi_high", "tau2", "tau2_ci_low", "tau2_ci_high", "tau", "I2", "H2", "Q",
                  "Q_df", "Q_p"]


# --- random reviews ----------------------------------------------------------------------


@st.composite
def reviews(draw, *, equal_se=None):
    """A spec of a valid review: studies and outcomes rows (dicts) and the config."""
    k = draw(st.integers(1, 40))
    equal_se = draw(st.booleans()) if equal_se is None else equal_se
    identical = draw(st.booleans())
    huge = draw(st.one_of(st.none(), st.integers(0, k - 1)))
    sd_zero = draw(st.one_of(st.none(), st.integers(0, k - 1)))
    n_groups = draw(st.integers(1, 4))
    studies, rows = [], []
    for i in range(k):
        sid = f"s{i:02d}"
        design = draw(st.sampled_from(["rct", "controlled", "single_arm"]))
        n = 20 if equal_se else draw(st.integers(2, 200))
        sd = 10.0 if equal_se else draw(st.floats(0.5, 30.0))
        if i == huge:
            sd *= 1e4
        base = 50.0 if identical else draw(st.floats(0.0, 100.0))
        effect = 5.0 if identical else draw(st.floats(-20.0, 20.0))
        only_subgroups = draw(st.integers(0, 5)) == 0
        dropped = draw(st.sampled_from([None, None, None, "baseline", "follow_up"]))
        change = draw(st.integers(0, 5)) == 0 and dropped is None
        studies.append({
            "study_id": sid, "cohort_id": "", "author": f"Author{i}", "year": 2000 + i % 25,
            "design": design, "level": draw(st.sampled_from(["", "cervical", "thoracolumbar"])),
            "grp": f"g{draw(st.integers(1, n_groups))}",
            "dose": draw(st.sampled_from([1.0, 2.0, 3.5, 10.0])),
        })
        arms = [("treatment", effect)] + ([("control", 0.0)] if design != "single_arm" else [])
        pops = list(POPULATIONS) if only_subgroups else ["all"]
        for arm, shift in arms:
            for pop in pops:
                n_row = max(2, n // len(pops))
                s = 0.0 if i == sd_zero and arm == "treatment" else sd
                if change:
                    rows.append(_row(sid, arm, pop, FOLLOW_UP, "change", n_row, shift, s))
                    continue
                if dropped != "baseline":
                    rows.append(_row(sid, arm, pop, 0, "final", n_row, base, sd))
                if dropped != "follow_up":
                    rows.append(_row(sid, arm, pop, FOLLOW_UP, "final", n_row, base + shift, s))
    return {"studies": studies, "outcomes": rows, "config": CONFIG}


def _row(sid, arm, pop, timepoint, kind, n, mean, sd):
    return {"study_id": sid, "outcome": "score", "arm": arm, "population": pop,
            "timepoint": timepoint, "kind": kind, "n": n, "mean": mean, "sd": sd,
            "prepost_r": "", "source": "generated", "quote": f"{mean!r} ({sd!r}), n = {n}"}


def write_review(spec: dict, folder: Path) -> Path:
    (folder / "config").mkdir(parents=True)
    (folder / "data" / "raw").mkdir(parents=True)
    (folder / "config" / "config.yaml").write_text(yaml.safe_dump(spec["config"]))
    for rows, columns, name in ((spec["studies"], STUDY_COLUMNS, "studies.csv"),
                                (spec["outcomes"], OUTCOME_COLUMNS, "outcomes.csv")):
        with (folder / "data" / "raw" / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows([_cell(r[c]) for c in columns] for r in rows)
    return folder


def _cell(value) -> str:
    """A sheet cell: floats as their shortest round-trip text."""
    return repr(float(value)) if isinstance(value, float) else str(value)


#: A failure of the stats area that the properties found (issue 9 point 1): the mixed-effects
#: Egger test raises instead of writing its row with a note. Tolerated (the bias tables of
#: that outcome are left out of the other properties) except by the expected-failure test.
KNOWN_BIAS_FAILURE = "rank deficient"


def run_review(spec: dict, *, tolerate_known_bias_failure: bool = True) -> dict[str, pd.DataFrame]:
    """Every table of every outcome, written and read back as the analyse job does."""
    with tempfile.TemporaryDirectory() as tmp:
        review = read_review(write_review(spec, Path(tmp) / "review"))
        config = review.config
        out: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLE_COLUMNS}
        for outcome in config["outcomes"]:
            one = restrict_review(review, outcome)
            arms, excluded_arms = build_arms(one)
            effects, excluded_effects = build_effects(arms, one.studies, one.config)
            tables = {"arms": arms, "effects": effects,
                      "excluded": pd.concat([excluded_arms, excluded_effects], ignore_index=True)}
            folder = Path(tmp) / "out" / outcome
            folder.mkdir(parents=True)
            write_csv(effects, folder / "effects.csv")
            effects = pd.read_csv(folder / "effects.csv")
            tables.update(stage_tables(effects, one.studies, config,
                                       tolerate_known_bias_failure=tolerate_known_bias_failure))
            for name, table in tables.items():
                write_csv(table, folder / f"{name}.csv")
                assert (folder / f"{name}.csv").is_file(), name
                written = pd.read_csv(folder / f"{name}.csv")
                missing = [c for c in TABLE_COLUMNS[name] if c not in written.columns]
                assert not missing, f"{name}.csv lacks {missing}"
                out[name].append(written)
        return {name: pd.concat(frames, ignore_index=True) for name, frames in out.items()}


def stage_tables(effects, studies, config, *, tolerate_known_bias_failure=True):
    """The analyse job's companions of the effect sizes, from the library's stage functions."""
    analysis = config["analysis"]
    try:
        bias = bias_tables(effects, analysis)
    except ValueError as err:
        if not (tolerate_known_bias_failure and KNOWN_BIAS_FAILURE in str(err)):
            raise
        bias = {name: pd.DataFrame(columns=TABLE_COLUMNS[name])
                for name in ("bias", "bias_filled", "leave1out", "influence")}
    overall = pooled_table(effects, analysis)
    by_group, tests, membership = subgroup_tables(
        effects, studies, analysis=analysis, subgroups=config["subgroups"],
        populations=config["populations"], permutations=config["permutations"],
        seed=config["seed"])
    return {
        "pooled": pd.concat([overall, by_group], ignore_index=True),
        "subgroup_tests": tests,
        "membership": membership,
        "sensitivity": r_sweep_table(effects, r_grid=config["sensitivity"]["r_grid"],
                                     analysis=analysis,
                                     enabled=config["prepost_method"] == "paired"),
        "metareg": metareg_table(effects, studies, moderators=config["moderators"],
                                 analysis=analysis),
        **bias,
    }


def empty(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def unexplained(table: pd.DataFrame, numbers: list[str], *, when=None) -> pd.DataFrame:
    """Rows with an empty number among ``numbers`` and no note."""
    rows = table if when is None else table[when(table)]
    if rows.empty:
        return rows
    gap = rows[numbers].isna().any(axis=1)
    silent = rows["note"].isna() | (rows["note"].astype(str).str.strip() == "")
    return rows[gap & silent]


def assert_every_gap_explained(tables: dict[str, pd.DataFrame]) -> None:
    pooled = tables["pooled"]
    core = ["estimate", "se", "ci_low", "ci_high", "stat", "p"]
    bad = unexplained(pooled, core)
    assert bad.empty, bad[POOLED_KEY + core + ["note"]].to_string()
    random = ["tau2", "tau2_ci_low", "tau2_ci_high", "I2", "Q", "pi_low", "pi_high"]
    bad = unexplained(pooled, random, when=lambda t: t["model"] == "random")
    assert bad.empty, bad[POOLED_KEY + random + ["note"]].to_string()
    bad = unexplained(tables["subgroup_tests"], ["Q_between", "p"],
                      when=lambda t: t["method"] == "separate_tau2")
    assert bad.empty, bad.to_string()
    bad = unexplained(tables["bias"], ["statistic", "p"],
                      when=lambda t: t["test"].isin(["egger_rma", "egger_lm", "begg"]))
    assert bad.empty, bad.to_string()
    bad = unexplained(tables["metareg"], ["estimate", "se", "p"])
    assert bad.empty, bad.to_string()


# --- properties --------------------------------------------------------------------------


@bounded(MAIN_EXAMPLES)
@given(reviews())
def test_random_reviews_run_and_explain_every_gap(spec):
    tables = run_review(spec)
    effects = tables["effects"]
    # between-arm and before/after comparisons are never pooled together
    assert set(effects["comparison"]) <= {"between_arms", "pre_post"}
    assert (effects["vi"] > 0).all() and np.isfinite(effects["yi"]).all()
    # nothing dropped silently: every outcomes row is in arms.csv
    assert set(range(2, len(spec["outcomes"]) + 2)) <= set(tables["arms"]["source_row"].dropna().astype(int))
    assert tables["excluded"]["reason"].notna().all()
    assert_every_gap_explained(tables)


@bounded(INVARIANCE_EXAMPLES)
@given(reviews(equal_se=True))
def test_bias_stage_never_raises(spec):
    tables = run_review(spec, tolerate_known_bias_failure=False)
    assert_every_gap_explained(tables)


def _numbers(pooled: pd.DataFrame) -> pd.DataFrame:
    return pooled.sort_values(POOLED_KEY, kind="mergesort").reset_index(drop=True)


@bounded(INVARIANCE_EXAMPLES)
@given(reviews(equal_se=False), st.randoms(use_true_random=False))
def test_order_of_the_sheets_changes_no_table(spec, rnd):
    shuffled = dict(spec, studies=rnd.sample(spec["studies"], len(spec["studies"])),
                    outcomes=rnd.sample(spec["outcomes"], len(spec["outcomes"])))
    a, b = run_review(spec), run_review(shuffled)
    for name in ("effects", "pooled", "subgroup_tests", "metareg", "bias", "leave1out",
                 "influence", "sensitivity"):
        # where in the sheets a row stood is provenance, not a result: it moves with the row
        where = [c for c in a[name].columns if c in ("source_row", "source_rows", "effect_row")]
        pd.testing.assert_frame_equal(a[name].drop(columns=where), b[name].drop(columns=where),
                                      obj=name)


@bounded(INVARIANCE_EXAMPLES)
@given(reviews(equal_se=False), st.randoms(use_true_random=False))
def test_renaming_studies_changes_no_pooled_number(spec, rnd):
    ids = [s["study_id"] for s in spec["studies"]]
    new = dict(zip(ids, [f"t{j:02d}" for j in rnd.sample(range(len(ids)), len(ids))]))
    renamed = dict(
        spec,
        studies=[{**s, "study_id": new[s["study_id"]],
                  "author": f"Author{new[s['study_id']]}"} for s in spec["studies"]],
        outcomes=[{**r, "study_id": new[r["study_id"]]} for r in spec["outcomes"]],
    )
    a, b = _numbers(run_review(spec)["pooled"]), _numbers(run_review(renamed)["pooled"])
    assert list(map(tuple, a[POOLED_KEY].astype(str).to_numpy())) == \
        list(map(tuple, b[POOLED_KEY].astype(str).to_numpy()))
    np.testing.assert_allclose(b[POOLED_NUMBERS].to_numpy(float),
                               a[POOLED_NUMBERS].to_numpy(float), rtol=RTOL_REORDER,
                               atol=1e-12, equal_nan=True)


def _shift(spec, c, *, treated_follow_up_only):
    def moved(r):
        hit = (not treated_follow_up_only) or (r["arm"] == "treatment"
                                                and r["timepoint"] == FOLLOW_UP)
        if not hit:
            return r
        if r["kind"] == "change" and not treated_follow_up_only:
            return r  # a change score does not move with the level of the scale
        return {**r, "mean": r["mean"] + c}
    return dict(spec, outcomes=[moved(r) for r in spec["outcomes"]])


@bounded(INVARIANCE_EXAMPLES)
@given(reviews(equal_se=False), st.floats(-100.0, 100.0))
def test_shifting_every_mean_changes_no_md_or_mc(spec, c):
    a, b = run_review(spec), run_review(_shift(spec, c, treated_follow_up_only=False))
    raw = ["MD", "MC"]
    ea, eb = (t["effects"][t["effects"]["measure"].isin(raw)] for t in (a, b))
    assert len(ea) == len(eb)
    np.testing.assert_allclose(eb["yi"], ea["yi"], atol=ATOL_SHIFT)
    np.testing.assert_allclose(eb["vi"], ea["vi"], rtol=1e-12)


@bounded(INVARIANCE_EXAMPLES)
@given(reviews(equal_se=False), st.floats(-100.0, 100.0))
def test_shifting_the_treated_follow_up_shifts_every_md_and_mc(spec, c):
    a, b = run_review(spec), run_review(_shift(spec, c, treated_follow_up_only=True))
    raw = ["MD", "MC"]
    ea, eb = (t["effects"][t["effects"]["measure"].isin(raw)] for t in (a, b))
    assert list(ea["study_id"]) == list(eb["study_id"])
    np.testing.assert_allclose(eb["yi"], ea["yi"] + c, atol=ATOL_SHIFT)
    np.testing.assert_allclose(eb["vi"], ea["vi"], rtol=1e-12)
    pa, pb = (_numbers(t["pooled"][t["pooled"]["measure"].isin(raw)]) for t in (a, b))
    for col in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
        np.testing.assert_allclose(pb[col], pa[col] + c, atol=ATOL_SHIFT * 10, equal_nan=True,
                                   err_msg=col)
    for col in ("se", "tau2", "Q", "I2"):
        np.testing.assert_allclose(pb[col], pa[col], rtol=RTOL_REORDER, atol=1e-12,
                                   equal_nan=True, err_msg=col)
