"""Example reviews from published datasets, run through the workflow and checked against metafor.

``examples/normand1999``, ``examples/curtis1998``, ``examples/gibson2002`` and
``examples/morris2008`` are review folders like any other. Each is copied to
a temporary folder and run once with Snakemake (one run per review for the
whole module); then every number of its ``effects.csv``, ``pooled.csv`` and
``subgroup_tests.csv`` is compared with ``tests/reference/examples.json``,
which ``tests/reference/ref_examples.R`` wrote from the same sheets with
metafor's ``escalc()`` and ``rma()`` (pairing the arms itself, and checking
the sheets against R's metadat datasets).

Where scimeta reports nothing by design the test asserts that instead: a
common-effect pool has no prediction interval or tau² CI, and a one-study
pool no heterogeneity.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from _reference import RTOL_CLOSED, RTOL_ITERATIVE, load_reference

REPO = Path(__file__).resolve().parents[1]
SNAKEFILE = REPO / "Snakefile"
BIN = Path(sys.executable).parent
REF = load_reference("examples")
REVIEWS = sorted(REF["reviews"])

pytestmark = pytest.mark.workflow

#: tau² estimators without iterations (their results are closed forms, like the common effect).
CLOSED_METHODS = {"EE", "DL", "HE", "SJ"}
#: A tau² that converges to the boundary 0 stops at a tiny value set by each
#: side's stopping rule (metafor: absolute 1e-12; scimeta: relative 1e-12):
#: below this both are the same zero.
ATOL_TAU2_BOUNDARY = 1e-9
#: p-values far in the tail: both sides agree in relative terms, or are below this.
ATOL_P = 1e-300
CI_METHOD = {"z": "wald", "knha": "hksj"}
#: metafor rma() field -> pooled.csv column, and whether the value depends on tau² (iterative)
POOL_FIELDS = {
    "estimate": ("estimate", True),
    "se": ("se", True),
    "ci_lb": ("ci_low", True),
    "ci_ub": ("ci_high", True),
    "stat": ("stat", True),
    "p": ("p", True),
    "tau2": ("tau2", True),
    "tau": ("tau", True),
    "I2": ("I2", True),
    "H2": ("H2", True),
    "QE": ("Q", False),
    "QEp": ("Q_p", False),
}
RANDOM_ONLY_FIELDS = {"pi_lb": "pi_low", "pi_ub": "pi_high"}
#: the Q-profile bounds come from a root search whatever the estimator
ROOT_FIELDS = {"tau2_ci_lb": "tau2_ci_low", "tau2_ci_ub": "tau2_ci_high"}


def copy_review(src: Path, dst: Path) -> Path:
    (dst / "config").mkdir(parents=True)
    shutil.copy(src / "config" / "config.yaml", dst / "config" / "config.yaml")
    shutil.copytree(src / "data" / "raw", dst / "data" / "raw")
    return dst


def run_snakemake(review: Path) -> None:
    cmd = [str(BIN / "snakemake"), "-s", str(SNAKEFILE), "-d", str(review), "--cores", "2"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{proc.stdout}\n{proc.stderr}")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The review folder of a finished run, one run per review for the module."""
    done: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in done:
            review = copy_review(REPO / "examples" / name, tmp_path_factory.mktemp(name))
            run_snakemake(review)
            done[name] = review
        return done[name]

    return get


def table(review: Path, name: str) -> pd.DataFrame:
    path = {"effects": "data/processed/effects.csv"}.get(name, f"results/tables/{name}.csv")
    return pd.read_csv(review / path, keep_default_na=True)


def rtol_for(method: str, iterative_field: bool) -> float:
    return RTOL_ITERATIVE if (iterative_field and method not in CLOSED_METHODS) else RTOL_CLOSED


def assert_close(got: float, ref: float, rtol: float, what: str, atol: float = 0.0) -> None:
    got, ref = float(got), float(ref)
    if math.isnan(ref):
        assert math.isnan(got), f"{what}: metafor NaN, scimeta {got!r}"
        return
    assert abs(got - ref) <= rtol * abs(ref) + atol, f"{what}: scimeta {got!r}, metafor {ref!r}"


def one_row(df: pd.DataFrame, what: str, **match) -> pd.Series:
    hit = df
    for col, value in match.items():
        hit = hit[hit[col] == value]
    assert len(hit) == 1, f"{what}: {len(hit)} rows match {match}"
    return hit.iloc[0]


def compare_fit(row: pd.Series, fit: dict, method: str, what: str, *, fields=POOL_FIELDS,
                heterogeneity: bool = True) -> None:
    small_tau2 = float(fit["tau2"]) < ATOL_TAU2_BOUNDARY
    for theirs, (ours, iterative) in fields.items():
        if not heterogeneity and ours in ("tau2", "tau", "I2", "H2", "Q", "Q_p"):
            continue
        atol = 0.0
        if ours in ("tau2", "tau", "I2", "H2") and small_tau2:
            atol = {"tau2": ATOL_TAU2_BOUNDARY, "tau": math.sqrt(ATOL_TAU2_BOUNDARY),
                    "I2": 1e-4, "H2": 1e-6}[ours]
        if ours in ("p", "Q_p"):
            atol = ATOL_P
        assert_close(row[ours], fit[theirs], rtol_for(method, iterative), f"{what} {ours}", atol)


def cases(name: str):
    """(outcome, comparison, measure, reference entry) of a review."""
    for outcome, comparisons in REF["reviews"][name]["outcomes"].items():
        for comparison in ("between_arms", "pre_post"):
            for measure, entry in comparisons.get(comparison, {}).items():
                yield outcome, comparison, measure, entry


def test_every_review_folder_has_a_reference():
    folders = {p.parent.parent.name for p in (REPO / "examples").glob("*/config/config.yaml")}
    assert set(REVIEWS) <= folders
    # the two folders checked elsewhere: stroke_nsc (tests/test_workflow.py), hodgkiss2023
    # (tests/test_hodgkiss2023.py)
    assert folders - set(REVIEWS) == {"stroke_nsc", "hodgkiss2023"}


@pytest.mark.parametrize("name", REVIEWS)
def test_reference_measures_are_the_configs(name):
    config = yaml.safe_load((REPO / "examples" / name / "config" / "config.yaml").read_text())
    got = {(o, c, m) for o, c, m, _ in cases(name)}
    want = {(o, c, m) for o, oc in config["outcomes"].items()
            for c in ("between_arms", "pre_post") for m in oc.get(c, [])}
    assert got == want


@pytest.mark.parametrize("name", REVIEWS)
def test_effect_sizes_match_escalc(run, name):
    effects = table(run(name), "effects")
    n_checked = 0
    for outcome, comparison, measure, entry in cases(name):
        ours = effects[(effects["outcome"] == outcome) & (effects["comparison"] == comparison)
                       & (effects["measure"] == measure)].set_index("study_id")
        assert sorted(ours.index) == sorted(entry["study_id"]), f"{outcome} {comparison} {measure}"
        for sid, yi, vi in zip(entry["study_id"], entry["yi"], entry["vi"]):
            what = f"{name} {outcome} {comparison} {measure} {sid}"
            assert_close(ours.loc[sid, "yi"], yi, RTOL_CLOSED, f"{what} yi")
            assert_close(ours.loc[sid, "vi"], vi, RTOL_CLOSED, f"{what} vi")
            n_checked += 1
    assert n_checked == len(effects)  # every effect size of the review was compared


@pytest.mark.parametrize("name", REVIEWS)
def test_pools_match_metafor(run, name):
    pooled = table(run(name), "pooled")
    overall = pooled[pooled["subgroup_var"] == "overall"]
    n_checked = 0
    for outcome, comparison, measure, entry in cases(name):
        for fit in entry["pools"]:
            method, test = fit["method"], fit["test"]
            what = f"{name} {outcome} {comparison} {measure} {method} {test}"
            row = one_row(overall, what, outcome=outcome, comparison=comparison, measure=measure,
                          model="common" if method == "EE" else "random", tau2_method=method,
                          ci_method=CI_METHOD[test])
            assert row["k"] == fit["k"]
            compare_fit(row, fit, method, what)
            if method == "EE":
                # a common-effect model has no prediction interval and no tau² CI
                assert math.isnan(row["pi_low"]) and math.isnan(row["tau2_ci_low"]), what
            else:
                for theirs, ours in RANDOM_ONLY_FIELDS.items():
                    assert_close(row[ours], fit[theirs], rtol_for(method, True), f"{what} {ours}")
                for theirs, ours in ROOT_FIELDS.items():
                    assert_close(row[ours], fit[theirs], RTOL_ITERATIVE, f"{what} {ours}",
                                 ATOL_TAU2_BOUNDARY)
            n_checked += 1
    assert n_checked == len(overall)  # every overall pool of the review was compared


def subgroup_cases(name):
    for outcome, comparison, measure, entry in cases(name):
        for var, sub in entry.get("subgroups", {}).items():
            yield outcome, comparison, measure, var, sub


@pytest.mark.parametrize("name", [n for n in REVIEWS if list(subgroup_cases(n))])
def test_subgroup_pools_match_metafor(run, name):
    pooled = table(run(name), "pooled")
    n_checked = 0
    for outcome, comparison, measure, var, sub in subgroup_cases(name):
        rows = pooled[(pooled["outcome"] == outcome) & (pooled["comparison"] == comparison)
                      & (pooled["measure"] == measure) & (pooled["subgroup_var"] == var)]
        for fit in sub["per_level"]:
            method, test, level = fit["method"], fit["test"], fit["level"]
            what = f"{name} {outcome} {measure} {var}={level} {method} {test} (separate tau2)"
            if fit["k"] == 1:
                # one study: its own effect (metafor switches knha to z, scimeta shows the z CI)
                hit = rows[(rows["subgroup"] == level) & (rows["tau2_scope"] == "separate")
                           & (rows["tau2_method"] == method) & (rows["ci_method"] == CI_METHOD[test])]
                assert len(hit) >= 1, what
                for _, row in hit.iterrows():
                    compare_fit(row, fit, method, what, heterogeneity=False)
                    assert "k = 1" in str(row["note"]), what
                    n_checked += 1
                continue
            row = one_row(rows, what, subgroup=level, tau2_scope="separate",
                          model="common" if method == "EE" else "random", tau2_method=method,
                          ci_method=CI_METHOD[test])
            assert row["k"] == fit["k"]
            compare_fit(row, fit, method, what)
            n_checked += 1
        for fit in sub["common"]:
            method, test, level = fit["method"], fit["test"], fit["level"]
            if fit["k"] == 1:
                continue  # test_one_study_subgroup_under_common_tau2
            what = f"{name} {outcome} {measure} {var}={level} {method} {test} (common tau2)"
            row = one_row(rows, what, subgroup=level, tau2_scope="common", tau2_method=method,
                          ci_method=CI_METHOD[test])
            compare_fit(row, fit, method, what,
                        fields={k: v for k, v in POOL_FIELDS.items() if k in
                                ("estimate", "se", "ci_lb", "ci_ub", "stat", "p", "tau2")})
            n_checked += 1
    assert n_checked > 0


@pytest.mark.parametrize("name", [n for n in REVIEWS if list(subgroup_cases(n))])
def test_subgroup_tests_match_metafor(run, name):
    tests = table(run(name), "subgroup_tests")
    n_checked = 0
    for outcome, comparison, measure, var, sub in subgroup_cases(name):
        rows = tests[(tests["outcome"] == outcome) & (tests["comparison"] == comparison)
                     & (tests["measure"] == measure) & (tests["subgroup_var"] == var)]
        for sep in sub["separate"]:
            # R meta's test: Q on the per-level estimates with their Wald SEs, whatever the CI
            hit = rows[(rows["method"] == "separate_tau2") & (rows["tau2_method"] == sep["method"])]
            assert len(hit) >= 1
            for _, row in hit.iterrows():
                what = f"{name} {outcome} {measure} {var} separate_tau2 {sep['method']}"
                assert_close(row["Q_between"], sep["Q_between"], rtol_for(sep["method"], True),
                             what)
                assert_close(row["p"], sep["p"], rtol_for(sep["method"], True), what, ATOL_P)
                assert row["df"] == sep["df"] and row["k_groups"] == len(sep["levels"]), what
                n_checked += 1
        for mm in sub["moderator"]:
            what = f"{name} {outcome} {measure} {var} moderator_model {mm['method']} {mm['test']}"
            row = one_row(rows, what, method="moderator_model", tau2_method=mm["method"],
                          ci_method=CI_METHOD[mm["test"]])
            rtol = rtol_for(mm["method"], True)
            assert row["k"] == mm["k"]
            if mm["test"] == "z":
                assert_close(row["Q_between"], mm["QM"], rtol, f"{what} Q_between")
                assert row["df"] == mm["QMdf"][0], what
            else:
                assert_close(row["F"], mm["QM"], rtol, f"{what} F")
                assert [row["df"], row["df2"]] == mm["QMdf"], what
            assert_close(row["p"], mm["QMp"], rtol, f"{what} p", ATOL_P)
            n_checked += 1
    assert n_checked == len(tests)  # every subgroup test of the review was compared


def test_one_study_subgroup_under_common_tau2(run):
    pooled = table(run("gibson2002"), "pooled")
    n_checked = 0
    for outcome, comparison, measure, var, sub in subgroup_cases("gibson2002"):
        for fit in sub["common"]:
            if fit["k"] != 1 or fit["test"] != "z":
                continue
            what = f"gibson2002 {measure} {var}={fit['level']} {fit['method']} (common tau2)"
            row = one_row(pooled, what, outcome=outcome, comparison=comparison, measure=measure,
                          subgroup_var=var, subgroup=fit["level"], tau2_scope="common",
                          tau2_method=fit["method"], ci_method="wald")
            compare_fit(row, fit, fit["method"], what,
                        fields={k: POOL_FIELDS[k] for k in ("estimate", "se", "ci_lb", "ci_ub")})
            n_checked += 1
    assert n_checked > 0


@pytest.mark.parametrize("name", REVIEWS)
def test_every_contract_table_is_written(run, name):
    review = run(name)
    for path in ("data/processed/arms.csv", "data/processed/effects.csv",
                 "results/tables/excluded.csv", "results/tables/pooled.csv",
                 "results/tables/subgroup_tests.csv", "results/tables/sensitivity_r.csv",
                 "results/tables/metareg.csv", "results/tables/bias.csv",
                 "results/tables/leave1out.csv", "results/tables/influence.csv",
                 "results/tables/audit.csv", "results/audit.html"):
        assert (review / path).is_file(), path


@pytest.mark.parametrize("name", REVIEWS)
def test_no_number_is_guarded_as_text(run, name):
    """The formula guard prefixes ``'`` to text starting with ``-``, ``=``, ...; a number
    alone in its cell is never text, so no cell of any table reads ``'-0.07...``."""
    review = run(name)
    guarded_number = re.compile(r"^'[-+]?(\d|\.\d)")
    paths = sorted([*(review / "results").rglob("*.csv"),
                    *(review / "data" / "processed").rglob("*.csv")])
    assert paths
    for path in paths:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        for column in frame.columns:
            hits = frame[column][frame[column].str.match(guarded_number)]
            assert hits.empty, f"{path.relative_to(review)}: {column}: {hits.iloc[:3].tolist()}"


def test_curtis1998_funnel_plot_draws_the_filled_studies(run):
    """Trim and fill imputes studies in Curtis & Wang's log ratios of means: one row each in
    bias_filled.csv, drawn as such on the funnel plot (not a placeholder)."""
    review = run("curtis1998")
    bias = table(review, "bias")
    filled = table(review, "bias_filled")
    l0 = one_row(bias, "trimfill L0", comparison="between_arms", measure="ROM",
                 tau2_method="REML", test="trimfill_L0")
    mine = filled[(filled["measure"] == "ROM") & (filled["tau2_method"] == "REML")
                  & (filled["test"] == "trimfill_L0")]
    assert l0["k0"] > 0 and len(mine) == l0["k0"]
    assert list(mine["fill"]) == list(range(1, int(l0["k0"]) + 1))
    drawn = pd.read_csv(review / "results/figures/funnel_plant_mass_between_arms_ROM.csv")
    assert "element" in drawn, "the funnel plot is a placeholder"
    points = drawn[drawn["element"] == "filled"]
    assert sorted(points["x"]) == pytest.approx(sorted(mine["yi"]), rel=1e-15)


def test_curtis1998_cumulative_without_years_is_one_row_per_pool(run):
    """Curtis & Wang's studies sheet has an empty ``year`` column: the default
    ``cumulative.order_by: year`` cannot apply; one row per pool says why, no figure."""
    review = run("curtis1998")
    cumulative = table(review, "cumulative")
    pools = cumulative.groupby(["comparison", "measure"]).size()
    assert (pools == 1).all() and cumulative["step"].isna().all()
    assert cumulative["note"].str.contains("has a value to order by").all()
    assert not list((review / "results/figures").glob("cumulative_*"))
