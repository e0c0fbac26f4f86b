"""Reproduction of a published analysis through the workflow: Hodgkiss et al. 2023, PLOS Medicine.

doi:10.1371/journal.pmed.1004082. The authors' open extraction sheets are
read from ``<repo>/../shared/external/hodgkiss2023`` (never copied into the
repository; the tests are skipped where that folder is absent).
``examples/hodgkiss2023/make_raw.py`` builds the review's ``data/raw/`` from
them in a temporary copy of the review folder, the workflow runs it once,
and its tables are checked:

- the published numbers (rounded as published), through
  ``examples/hodgkiss2023/reproduce.py``, which reads the workflow's tables;
- every effect size, pool, subgroup pool and subgroup test to metafor run on
  the same sheets (``tests/reference/hodgkiss2023.json`` from
  ``ref_hodgkiss2023.R``).

Known discrepancies of the source are documented, not fitted: the pooled
pre/post RV̇O2peak interval is printed as (2.2, 3.3) while the sheets give
(2.26, 3.39); Taylor 1986's pre mean is 22.8 in the RVO2 CLASS sheet and 23.0
in PRE-POST VS RCTS (each sheet is analysed as published).
"""

from __future__ import annotations

import importlib.util
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from _reference import RTOL_CLOSED, RTOL_ITERATIVE, load_reference

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "hodgkiss2023"
FOLDER = REPO.parent / "shared" / "external" / "hodgkiss2023"
SNAKEFILE = REPO / "Snakefile"
BIN = Path(sys.executable).parent
REF = load_reference("hodgkiss2023")
OUTCOMES = ("AVO2", "RVO2", "PPO")
#: p-values far in the tail agree in relative terms or are both below this.
ATOL_P = 1e-300
#: rma() summary field -> pooled.csv column
FIT_FIELDS = {"estimate": "estimate", "se": "se", "ci_lb": "ci_low", "ci_ub": "ci_high",
              "zval": "stat", "pval": "p", "tau2": "tau2", "I2": "I2", "H2": "H2"}
#: fields that do not depend on tau² (closed forms)
CLOSED_FIT_FIELDS = {"Q": "Q", "Qp": "Q_p"}
LEVEL_OF = {"tetra": "cervical", "tetraplegia": "cervical", "para": "thoracolumbar",
            "paraplegia": "thoracolumbar"}

needs_sheets = pytest.mark.skipif(
    not FOLDER.is_dir(),
    reason=f"Hodgkiss 2023 sheets not found at {FOLDER} (shared data folder absent)",
)


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"hodgkiss_{name}", EXAMPLE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKE_RAW = load("make_raw")
REPRODUCE = load("reproduce")


@pytest.fixture(scope="module")
def review(tmp_path_factory) -> Path:
    """A copy of the review folder with data/raw built from the sheets, after one workflow run."""
    if not FOLDER.is_dir():
        pytest.skip(f"Hodgkiss 2023 sheets not found at {FOLDER}")
    out = tmp_path_factory.mktemp("hodgkiss2023")
    (out / "config").mkdir()
    shutil.copy(EXAMPLE / "config" / "config.yaml", out / "config" / "config.yaml")
    assert MAKE_RAW.main([str(FOLDER), "--review", str(out)]) == 0
    cmd = [str(BIN / "snakemake"), "-s", str(SNAKEFILE), "-d", str(out), "--cores", "2"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, f"snakemake failed:\n{proc.stdout}\n{proc.stderr}"
    return out


def tables(review: Path, name: str) -> pd.DataFrame:
    path = {"effects": "data/processed/effects.csv"}.get(name, f"results/tables/{name}.csv")
    return pd.read_csv(review / path)


def close(got, ref, rtol, what, atol=0.0):
    got, ref = float(got), float(ref)
    assert abs(got - ref) <= rtol * abs(ref) + atol, f"{what}: workflow {got!r}, metafor {ref!r}"


def compare_fit(row, fit, what, *, closed=True):
    for theirs, ours in FIT_FIELDS.items():
        close(row[ours], fit[theirs], RTOL_ITERATIVE, f"{what} {ours}",
              ATOL_P if ours == "p" else 0.0)
    if closed:
        for theirs, ours in CLOSED_FIT_FIELDS.items():
            close(row[ours], fit[theirs], RTOL_CLOSED, f"{what} {ours}",
                  ATOL_P if ours == "Q_p" else 0.0)


def sheet_ids(outcome_key: str, names: list[str]) -> list[str]:
    """The study_ids make_raw gives the rows of one analysis, in sheet order."""
    seen: set[str] = set()
    return [MAKE_RAW.slug(outcome_key, n, seen) for n in names]


@needs_sheets
@pytest.mark.workflow
def test_published_numbers(review):
    rows = REPRODUCE.check(review)
    assert len(rows) == 21
    disagree = [(r["analysis"], r["quantity"]) for r in rows if not r["agrees"]]
    # exactly the documented discrepancy, nothing else
    assert sorted(disagree) == [("rvo2_prepost", "ci_high"), ("rvo2_prepost", "ci_low")]
    assert all(r["note"].startswith("known discrepancy") for r in rows if not r["agrees"])
    q = next(r for r in rows if r["quantity"] == "Q_between")
    assert q["rounded"] == 7.14
    assert REPRODUCE.main([str(review)]) == 0


@needs_sheets
@pytest.mark.workflow
@pytest.mark.parametrize("outcome", OUTCOMES)
@pytest.mark.parametrize("analysis", ["rct", "prepost"])
def test_pools_match_metafor(review, analysis, outcome):
    ref = REF["rcts" if analysis == "rct" else "prepost"][outcome]
    key = f"{outcome.lower()}_{analysis}"
    comparison = "between_arms" if analysis == "rct" else "pre_post"
    effects = tables(review, "effects")
    effects = effects[effects["outcome"] == key].set_index("study_id")
    ids = sheet_ids(key, ref["study"])
    assert sorted(effects.index) == sorted(ids)
    for sid, yi, vi in zip(ids, ref["yi"], ref["vi"]):
        close(effects.loc[sid, "yi"], yi, RTOL_CLOSED, f"{key} {sid} yi")
        close(effects.loc[sid, "vi"], vi, RTOL_CLOSED, f"{key} {sid} vi")
    pooled = tables(review, "pooled")
    pooled = pooled[(pooled["outcome"] == key) & (pooled["comparison"] == comparison)]
    overall = pooled[pooled["subgroup_var"] == "overall"]
    assert len(overall) == 1  # the config asks for REML with a Wald CI only, as the authors
    row = overall.iloc[0]
    assert (row["model"], row["tau2_method"], row["ci_method"]) == ("random", "REML", "wald")
    assert row["k"] == ref["fit"]["k"]
    compare_fit(row, ref["fit"], key)
    # no level in these sheets: their level rows pool every study, outside any test
    rest = pooled[pooled["subgroup_var"] == "level"]
    assert set(rest["subgroup"]) == {"mixed / not reported"}
    assert not rest["in_test"].astype(bool).any()
    for _, r in rest[rest["tau2_scope"] == "separate"].iterrows():
        compare_fit(r, ref["fit"], f"{key} level=not reported")
    tests = tables(review, "subgroup_tests")
    tests = tests[tests["outcome"] == key]
    assert tests["Q_between"].isna().all() and tests["note"].str.contains("fewer than 2").all()


@needs_sheets
@pytest.mark.workflow
@pytest.mark.parametrize("outcome", OUTCOMES)
def test_level_subgroups_match_metafor(review, outcome):
    ref = REF["class"][outcome]
    key = f"{outcome.lower()}_level"
    effects = tables(review, "effects")
    effects = effects[effects["outcome"] == key].set_index("study_id")
    for sid, yi, vi in zip(sheet_ids(key, ref["study"]), ref["yi"], ref["vi"]):
        close(effects.loc[sid, "yi"], yi, RTOL_CLOSED, f"{key} {sid} yi")
        close(effects.loc[sid, "vi"], vi, RTOL_CLOSED, f"{key} {sid} vi")
    tests = tables(review, "subgroup_tests")
    tests = tests[(tests["outcome"] == key) & (tests["subgroup_var"] == "level")]
    assert len(tests) == 2
    sep = tests[tests["method"] == "separate_tau2"].iloc[0]
    close(sep["Q_between"], ref["Q_between"], RTOL_ITERATIVE, f"{key} Q_between")
    close(sep["p"], ref["p"], RTOL_ITERATIVE, f"{key} p")
    assert sep["df"] == ref["df"] == 1
    mm = tests[tests["method"] == "moderator_model"].iloc[0]
    close(mm["Q_between"], ref["QM_z"], RTOL_ITERATIVE, f"{key} QM")
    close(mm["p"], ref["QMp_z"], RTOL_ITERATIVE, f"{key} QMp")
    pooled = tables(review, "pooled")
    pooled = pooled[pooled["outcome"] == key]
    overall = pooled[pooled["subgroup_var"] == "overall"]
    assert len(overall) == 1
    compare_fit(overall.iloc[0], ref["overall"], f"{key} overall")
    compared = 1
    for label, fit in ref["subgroups"].items():
        level = LEVEL_OF[label]
        for scope, fits in (("separate", ref["subgroups"]), ("common", ref["subgroups_common_tau2"])):
            row = pooled[(pooled["subgroup"] == level) & (pooled["tau2_scope"] == scope)]
            assert len(row) == 1, (level, scope)
            row = row.iloc[0]
            assert row["k"] == fits[label]["k"]
            if scope == "separate":
                compare_fit(row, fits[label], f"{key} {level} {scope}")
            else:  # a common tau² is given, not estimated: estimate, SE and CI
                for theirs in ("estimate", "se", "ci_lb", "ci_ub"):
                    ours = FIT_FIELDS[theirs]
                    close(row[ours], fits[label][theirs], RTOL_ITERATIVE, f"{key} {level} {ours}")
                close(row["tau2"], ref["tau2_common"], RTOL_ITERATIVE, f"{key} {level} tau2")
            compared += 1
    assert compared == len(pooled)  # every pool of the outcome


@needs_sheets
def test_make_raw_writes_every_sheet_row_with_its_source(tmp_path):
    assert MAKE_RAW.main([str(FOLDER), "--review", str(tmp_path)]) == 0
    studies = pd.read_csv(tmp_path / "data" / "raw" / "studies.csv", keep_default_na=False)
    outcomes = pd.read_csv(tmp_path / "data" / "raw" / "outcomes.csv", keep_default_na=False)
    n_sheet_rows = sum(len(REF[part][o]["study"]) for part in ("rcts", "prepost", "class")
                       for o in OUTCOMES)
    assert len(studies) == n_sheet_rows and studies["study_id"].is_unique
    assert len(outcomes) == 2 * n_sheet_rows  # two arms, or pre and post, per sheet row
    assert (outcomes["source"].str.contains(r", sheet .+, row \d+$")).all()
    assert (outcomes["quote"] != "").all()
    levels = studies.loc[studies["study_id"].str.contains("_level_"), "level"]
    assert set(levels) == {"cervical", "thoracolumbar"}


def test_make_raw_names_an_empty_cell_and_writes_nothing(tmp_path, capsys):
    sheets = tmp_path / "sheets"
    sheets.mkdir()
    bad = pd.DataFrame({"study": ["A 2001", "B 2002"], "mean.con": [1.0, 2.0],
                        "sd.con": [1.0, 1.0], "n.con": [10, 10], "mean.int": [2.0, 3.0],
                        "sd.int": [1.0, None], "n.int": [10, 10]})
    with pd.ExcelWriter(sheets / "RCTS_DATA.xlsx") as writer:
        bad.to_excel(writer, sheet_name="AVO2", index=False)
    assert MAKE_RAW.main([str(sheets), "--review", str(tmp_path / "review")]) == 1
    assert "RCTS_DATA.xlsx [AVO2]:3:sd.int: empty cell" in capsys.readouterr().err
    assert not (tmp_path / "review" / "data").exists()


def test_make_raw_missing_folder(tmp_path):
    assert MAKE_RAW.main([str(tmp_path / "absent"), "--review", str(tmp_path)]) == 2


def test_reproduce_without_tables_says_what_to_run(tmp_path, capsys):
    assert REPRODUCE.main([str(tmp_path)]) == 2
    assert "make_raw.py" in capsys.readouterr().err


def test_reproduce_needs_only_the_standard_library():
    tree = (EXAMPLE / "reproduce.py").read_text()
    imports = {line.split()[1].split(".")[0] for line in tree.splitlines()
               if line.startswith(("import ", "from "))}
    assert imports <= {"__future__", "argparse", "csv", "math", "sys", "decimal", "pathlib"}
    assert not math.isnan(REPRODUCE.half_up(2.25, 1))  # and it runs
    assert REPRODUCE.half_up(2.25, 1) == 2.3
