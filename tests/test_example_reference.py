"""The example review (config/config.yaml, data/raw/) checked against metafor.

``tests/reference/make_example_inputs.py`` writes the inputs of every effect
size of the example review (``example_inputs.csv``); ``ref_example.R``
recomputes each effect size from them with metafor's ``escalc()`` -- not with
scimeta's formulas -- and pools the ``population == "all"`` rows of every
outcome x comparison x measure x design stratum (between arms each design on
its own, before/after every design: the example's ``analysis.designs``) with ``rma()`` (EE, REML, DL, PM; ``test = "z"``
and ``"knha"``), ``predict()`` and ``confint()`` (``example.json``).

Here the library's effect sizes and its pooled table (:func:`scimeta.analysis.pooled_table`
with the example config) are compared with those numbers. Where scimeta
deliberately differs from metafor the test asserts scimeta's documented
behaviour instead:

* k = 1: metafor reports tau² = 0, Q = 0, Q_p = 1, I² = 0, H² = 1, a tau² CI
  error and, for ``test = "knha"``, silently switches to ``test = "z"``;
  scimeta reports tau² (random model), Q, Q_p, I², H², the tau² CI and every
  HKSJ quantity as NaN with a note.
* prediction intervals below ``pi_min_k = 3`` studies are NaN with a note
  (metafor reports one for any k), and a common-effect model has none.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _reference import (
    METAFOR_FIELDS,
    REFERENCE_DIR,
    ROOT_FIELDS,
    RTOL_CLOSED,
    RTOL_ITERATIVE,
    TAU2_FIELDS,
    as_float,
    load_reference,
)

from scimeta.analysis import pooled_table
from scimeta.pool import SINGLE_STUDY_NOTE
from scimeta.io import read_review, write_csv

REPO = Path(__file__).resolve().parents[1]
REF = load_reference("example")

# A tau² that converges to the boundary 0 stops at a tiny positive value set by
# the stopping rule of each side (metafor: absolute threshold 1e-12; scimeta:
# relative 1e-12); below this multiple of the typical sampling variance both
# are the same zero.
ATOL_TAU2_BOUNDARY = 1e-9

ITERATIVE = ("REML", "PM")
CI_METHOD = {"z": "wald", "knha": "hksj", "adhoc": "hksj_adhoc"}
# what scimeta does not report for k = 1 (metafor: 0, 1, 0, 1 and a confint() error)
K1_NOT_ESTIMABLE = ("Q", "Q_p", "I2", "H2", "tau2_ci_low", "tau2_ci_high", "pi_low", "pi_high")
EFFECT_KEY = ["study_id", "outcome", "population", "comparison", "measure"]


def _load_helper():
    path = REFERENCE_DIR / "make_example_inputs.py"
    spec = importlib.util.spec_from_file_location("make_example_inputs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HELPER = _load_helper()


@pytest.fixture(scope="module")
def effects() -> pd.DataFrame:
    return HELPER.example_effects(REPO)


@pytest.fixture(scope="module")
def pooled(effects) -> pd.DataFrame:
    """The example config's pools, with every CI method the reference has (the config
    lists hksj_adhoc and wald; hksj is added so that metafor's knha fits are checked too)."""
    analysis = dict(read_review(REPO).config["analysis"])
    analysis["ci"] = list(dict.fromkeys([*analysis["ci"], *CI_METHOD.values()]))
    return pooled_table(effects, analysis)


def _rel_err(got: float, ref: float) -> float:
    return abs(got - ref) / abs(ref) if ref != 0 else abs(got)


def _assert_close(got: float, ref: float, rtol: float, atol: float, what: str) -> None:
    if math.isnan(ref):
        assert math.isnan(got), f"{what}: expected NaN, got {got!r}"
        return
    if math.isinf(ref):
        assert got == ref, f"{what}: expected {ref!r}, got {got!r}"
        return
    assert abs(got - ref) <= rtol * abs(ref) + atol, f"{what}: got {got!r}, metafor {ref!r}"


# --- the reference's inputs are the library's current inputs ------------------


def test_example_inputs_csv_is_up_to_date(effects, tmp_path):
    fresh = tmp_path / "example_inputs.csv"
    write_csv(HELPER.example_inputs(effects), fresh)
    committed = REFERENCE_DIR / "example_inputs.csv"
    assert fresh.read_bytes() == committed.read_bytes(), (
        "tests/reference/example_inputs.csv is stale: run "
        "`python tests/reference/make_example_inputs.py` and "
        "`Rscript tests/reference/ref_example.R`"
    )


def test_reference_was_made_from_the_committed_inputs():
    inputs = pd.read_csv(REFERENCE_DIR / "example_inputs.csv", keep_default_na=False)
    ref = pd.DataFrame(REF["effects"])
    assert list(map(tuple, ref[EFFECT_KEY].to_numpy())) == list(map(tuple, inputs[EFFECT_KEY].to_numpy()))
    assert REF["metafor_version"] and REF["r_version"]


# --- effect sizes ------------------------------------------------------------


def test_effect_sizes_match_escalc(effects):
    ref = pd.DataFrame(REF["effects"])
    assert len(ref) == len(effects)
    merged = effects.merge(ref, on=EFFECT_KEY, how="outer", suffixes=("", "_ref"), indicator=True,
                           validate="one_to_one")
    unmatched = merged[merged["_merge"] != "both"]
    assert unmatched.empty, unmatched[EFFECT_KEY + ["_merge"]]
    computed = merged[~merged["call"].str.startswith("yi and vi as reported")]
    # every between-arms and before/after measure of the example is recomputed by escalc
    assert set(computed["measure"]) == {"MD", "SMD", "MC", "SMCR"}
    for _, row in merged.iterrows():
        what = "/".join(str(row[c]) for c in EFFECT_KEY)
        for col in ("yi", "vi"):
            _assert_close(float(row[col]), float(row[f"{col}_ref"]), RTOL_CLOSED, 0.0, f"{what} {col}")


# --- pools -------------------------------------------------------------------


def _fit_id(case) -> str:
    return (f"{case['outcome']}-{case['comparison']}-{case['measure']}-{case['design']}-"
            f"{case['method']}-{case['test']}")


def _our_row(pooled: pd.DataFrame, case) -> pd.Series:
    model = "common" if case["method"] == "EE" else "random"
    hit = pooled[
        (pooled["outcome"] == case["outcome"])
        & (pooled["comparison"] == case["comparison"])
        & (pooled["measure"] == case["measure"])
        & (pooled["design"] == case["design"])
        & (pooled["subgroup_var"] == "overall")
        & (pooled["model"] == model)
        & (pooled["tau2_method"] == case["method"])
        & (pooled["ci_method"] == CI_METHOD[case["test"]])
    ]
    assert len(hit) == 1, f"{_fit_id(case)}: {len(hit)} rows in pooled_table"
    return hit.iloc[0]


def test_every_pool_is_in_the_reference(pooled):
    ours = set(map(tuple, pooled[["outcome", "comparison", "measure", "design"]].to_numpy()))
    ref = {(c["outcome"], c["comparison"], c["measure"], c["design"]) for c in REF["fits"]}
    assert ours == ref
    assert len(pooled) == len(REF["fits"])


@pytest.mark.parametrize("case", REF["fits"], ids=_fit_id)
def test_pool_matches_rma(pooled, case):
    assert "error" not in case, case.get("error")
    row = _our_row(pooled, case)
    k = int(case["k"])
    assert int(row["k"]) == k
    studies = case["studies"] if isinstance(case["studies"], list) else [case["studies"]]
    assert sorted(row["studies"].split(";")) == sorted(studies)
    assert bool(row["converged"])
    common = case["method"] == "EE"
    hksj = case["test"] in ("knha", "adhoc")
    note = str(row["note"])

    skip = set()
    if k == 1:
        # metafor: Q = 0, Q_p = 1, I2 = 0, H2 = 1, PI = CI; confint() stops
        assert case["confint_error"] == "Stopped because k = 1."
        for name in K1_NOT_ESTIMABLE:
            assert math.isnan(row[name]), f"{_fit_id(case)} {name}: NaN for k = 1"
        assert math.isnan(row["Q_df"])
        if not common:
            assert math.isfinite(as_float(case["pi_lb"]))  # metafor: the CI
        skip |= set(K1_NOT_ESTIMABLE)
        if common:
            assert row["tau2"] == 0.0 and row["tau"] == 0.0
        else:
            assert math.isnan(row["tau2"]) and math.isnan(row["tau"])
            skip |= {"tau2", "tau"}
        # the one rule for a single study (scimeta.pool.SINGLE_STUDY_NOTE): its own Wald CI
        # under every CI method, as metafor, which switches to test = "z"
        assert SINGLE_STUDY_NOTE in note
        assert case["test_used"] == "z" and math.isnan(row["df"])
    else:
        assert row["Q_df"] == case["df"] == k - 1
        expected_df = k - 1.0 if hksj else math.nan
        _assert_close(float(row["df"]), expected_df, 0.0, 0.0, f"{_fit_id(case)} df")
    if common:
        # no prediction interval (metafor's predict() gives none for EE) and no tau² CI
        assert "pi_lb" not in case or math.isnan(as_float(case["pi_lb"]))
        assert case["confint_error"]
        for name in ("pi_low", "pi_high", "tau2_ci_low", "tau2_ci_high"):
            assert math.isnan(row[name]), f"{_fit_id(case)} {name}: NaN for a common-effect model"
        skip |= {"pi_low", "pi_high", "tau2_ci_low", "tau2_ci_high"}
    elif k == 2:  # below pi_min_k = 3, below pi_min_k = 3
        assert math.isfinite(as_float(case["pi_lb"]))  # metafor reports one
        assert math.isnan(row["pi_low"]) and math.isnan(row["pi_high"])
        assert "prediction interval not reported for k < 3" in note
        skip |= {"pi_low", "pi_high"}

    rtol = RTOL_ITERATIVE if case["method"] in ITERATIVE else RTOL_CLOSED
    ref_tau2 = as_float(case["tau2"])
    studies = set(case["studies"] if isinstance(case["studies"], list) else [case["studies"]])
    effects = [e for e in REF["effects"] if e["population"] == "all" and
               (e["outcome"], e["comparison"], e["measure"]) ==
               (case["outcome"], case["comparison"], case["measure"])
               and e["study_id"] in studies]
    scale = len(effects) / sum(1.0 / e["vi"] for e in effects)
    boundary = case["method"] in ITERATIVE and ref_tau2 <= ATOL_TAU2_BOUNDARY * scale
    compared = 0
    for ref_name, name in METAFOR_FIELDS.items():
        if name in skip:
            continue
        field_rtol = RTOL_ITERATIVE if name in ROOT_FIELDS else rtol
        atol = 0.0
        if boundary and name in TAU2_FIELDS:
            atol = TAU2_FIELDS[name] * ATOL_TAU2_BOUNDARY
        if boundary and name == "tau":
            atol = math.sqrt(ATOL_TAU2_BOUNDARY * scale)
        ref = as_float(case.get(ref_name))
        assert not math.isnan(ref), f"{_fit_id(case)} {ref_name}: metafor gives no value"
        _assert_close(float(row[name]), ref, field_rtol, atol, f"{_fit_id(case)} {name}")
        compared += 1
    assert "estimate" not in skip and compared >= 1  # the estimate is always compared


def test_reference_covers_the_special_cases():
    # the deliberate differences above are exercised, not skipped
    ks = {int(c["k"]) for c in REF["fits"]}
    assert {1, 2, 3} <= ks
    assert any(c["k"] == 1 and c["test"] == "knha" and c["method"] != "EE" for c in REF["fits"])


def test_max_errors_are_far_below_tolerance(pooled, effects):
    """Summary across all pools: the worst relative error of each kind of quantity."""
    worst_closed, worst_iter = 0.0, 0.0
    for case in REF["fits"]:
        if int(case["k"]) < 2:
            continue
        row = _our_row(pooled, case)
        for ref_name in ("estimate", "se", "ci_lb", "ci_ub", "stat", "QE"):
            err = _rel_err(float(row[METAFOR_FIELDS[ref_name]]), as_float(case[ref_name]))
            if case["method"] in ITERATIVE:
                worst_iter = max(worst_iter, err)
            else:
                worst_closed = max(worst_closed, err)
    assert worst_closed <= RTOL_CLOSED
    assert worst_iter <= RTOL_ITERATIVE
    ref = pd.DataFrame(REF["effects"]).set_index(EFFECT_KEY)
    ours = effects.set_index(EFFECT_KEY).loc[ref.index]
    err = np.max(np.abs(ours["yi"].to_numpy() - ref["yi"].to_numpy())
                 / np.abs(ref["yi"].to_numpy()))
    assert err <= RTOL_CLOSED


def test_primary_interval_is_never_narrower_than_wald(pooled):
    """Every pool of two or more studies of the example: the primary interval (the config's
    first CI method) is at least as wide as the Wald interval of the same model and tau²
    estimator."""
    primary_ci = read_review(REPO).config["analysis"]["ci"][0]
    keys = ["outcome", "comparison", "measure", "subgroup_var", "subgroup", "model", "tau2_method"]
    width = pooled.assign(width=pooled["ci_high"] - pooled["ci_low"])
    width = width[width["k"] >= 2]
    pair = width[width["ci_method"] == primary_ci].merge(
        width[width["ci_method"] == "wald"], on=keys, suffixes=("", "_wald"), validate="one_to_one")
    assert len(pair) == len(width) // len(CI_METHOD)
    assert (pair["width"] >= pair["width_wald"] * (1 - 1e-12)).all(), pair[pair["width"] < pair["width_wald"]]
