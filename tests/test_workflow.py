"""End-to-end tests: Snakemake on review folders in a temporary directory."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SNAKEFILE = REPO / "Snakefile"
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.workflow

CONTRACT_TABLES = {
    "data/processed/arms.csv": ["mean_used", "sd_used", "sd_method"],
    "data/processed/effects.csv": [
        "study_id", "cohort_id", "outcome", "population", "design", "comparison", "measure",
        "yi", "vi", "sei", "ci_low", "ci_high", "n1", "mean1", "sd1", "n2", "mean2", "sd2", "r",
    ],
    "results/tables/pooled.csv": [
        "outcome", "comparison", "measure", "subgroup_var", "subgroup", "k", "n", "model",
        "tau2_method", "ci_method", "estimate", "se", "ci_low", "ci_high", "stat", "p", "pi_low",
        "pi_high", "tau2", "tau2_ci_low", "tau2_ci_high", "tau", "I2", "H2", "Q", "Q_df", "Q_p",
    ],
    "results/tables/subgroup_tests.csv": [
        "outcome", "comparison", "measure", "subgroup_var", "method", "Q_between", "df", "p",
    ],
    "results/tables/excluded.csv": ["file", "row", "study_id", "outcome", "reason"],
    "results/tables/bias.csv": [
        "outcome", "comparison", "measure", "tau2_method", "test", "statistic", "df", "p", "k",
        "k0", "estimate", "ci_low", "ci_high", "side", "note",
    ],
    "results/tables/leave1out.csv": [
        "outcome", "comparison", "measure", "tau2_method", "study_id", "estimate", "se",
        "ci_low", "ci_high", "tau2", "I2", "Q",
    ],
    "results/tables/influence.csv": [
        "outcome", "comparison", "measure", "tau2_method", "study_id", "rstudent", "dffits",
        "cook_d", "cov_r", "tau2_del", "Q_del", "hat", "weight", "influential",
    ],
}


def snakemake(review: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [str(BIN / "snakemake"), "-s", str(SNAKEFILE), "-d", str(review), "--cores", "2", *args]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def copy_review(src: Path, dst: Path) -> Path:
    (dst / "config").mkdir(parents=True)
    shutil.copy(src / "config" / "config.yaml", dst / "config" / "config.yaml")
    shutil.copytree(src / "data" / "raw", dst / "data" / "raw")
    return dst


def digest_tree(root: Path, pattern: str) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.glob(pattern))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def example_run(tmp_path_factory) -> Path:
    review = copy_review(REPO, tmp_path_factory.mktemp("sci") / "review")
    snakemake(review)
    return review


def test_contract_tables_exist_with_their_columns(example_run):
    for rel, columns in CONTRACT_TABLES.items():
        table = pd.read_csv(example_run / rel)
        missing = [c for c in columns if c not in table.columns]
        assert not missing, f"{rel} lacks {missing}"


def test_writes_only_inside_the_review(example_run):
    produced = {p.relative_to(example_run).parts[0] for p in example_run.rglob("*")}
    assert produced <= {"config", "data", "results", "logs", ".snakemake"}
    assert not (REPO / ".snakemake" / "locks").exists() or not any(
        (REPO / ".snakemake" / "locks").iterdir()
    )


def test_between_arms_and_pre_post_never_pooled_together(example_run):
    pooled = pd.read_csv(example_run / "results/tables/pooled.csv")
    effects = pd.read_csv(example_run / "data/processed/effects.csv")
    for (outcome, comparison, measure), rows in pooled.groupby(["outcome", "comparison", "measure"]):
        assert set(effects.loc[effects["measure"] == measure, "comparison"]) <= {
            "between_arms", "pre_post"
        }
        if measure in ("MC", "SMCR", "SMCC"):
            assert comparison == "pre_post"
        if measure == "ROM":
            assert comparison == "between_arms"


def test_example_numbers(example_run):
    """The 106-patient series enters the overall ASIA motor pool once, as its whole population."""
    effects = pd.read_csv(example_run / "data/processed/effects.csv")
    mc = effects[(effects.outcome == "asia_motor") & (effects.measure == "MC")]
    akh = mc[(mc.study_id == "akhlaghpasand2025") & (mc.population == "all")].iloc[0]
    assert akh["yi"] == pytest.approx(43.3 - 40.7, rel=1e-12)
    expected_vi = (15.9**2 + 17**2 - 2 * 0.5 * 15.9 * 17) / 106
    assert akh["vi"] == pytest.approx(expected_vi, rel=1e-12)
    pooled = pd.read_csv(example_run / "results/tables/pooled.csv")
    overall = pooled[
        (pooled.outcome == "asia_motor") & (pooled.measure == "MC")
        & (pooled.subgroup_var == "overall")
    ]
    assert not overall.empty
    assert (overall["studies"].str.count("akhlaghpasand2025") == 1).all()
    assert set(overall["n"]) == {106 + 11 + 17}


def test_excluded_rows_have_reasons(example_run):
    excluded = pd.read_csv(example_run / "results/tables/excluded.csv")
    assert excluded["reason"].notna().all()
    muse = excluded[excluded.study_id == "muse2024"]
    assert len(muse) >= 2, "the Muse rows have no n and must be listed"
    smd = excluded[(excluded.study_id == "srivastava2019") & excluded.reason.str.contains("SMD")]
    assert not smd.empty, "an SMD cannot come from a reported mean difference alone"


def test_audit_flags_the_inconsistencies_of_the_sources(example_run):
    audit = pd.read_csv(example_run / "results/tables/audit.csv")
    found = set(zip(audit["check"], audit["study_id"]))
    assert ("percent_statement", "akhlaghpasand2025") in found  # "32 cervical (39.2%)"
    assert ("sd_zero", "oraeeyazdani2021") in found  # thoracic ASIA motor 50.00 (0.00)
    assert ("sd_zero", "shin2015") in found  # LEMS 0.0 ± 0.0
    assert ("reported_p", "shin2015") in found  # p = 0.013 vs the SEMs
    page = (example_run / "results/audit.html").read_text(encoding="utf-8")
    assert "39.2%" in page and "Rows included and excluded per outcome" in page


def test_noop_rerun_does_nothing(example_run):
    proc = snakemake(example_run, "-n")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_deterministic_outputs(example_run, tmp_path):
    second = copy_review(REPO, tmp_path / "again")
    snakemake(second)
    for pattern in ("data/processed/*.csv", "results/tables/*.csv", "results/figures/*"):
        first = digest_tree(example_run, pattern)
        assert first, pattern
        assert first == digest_tree(second, pattern), pattern


def test_editing_one_outcome_reruns_only_that_outcome(example_run, tmp_path):
    review = tmp_path / "edit"
    shutil.copytree(example_run, review, symlinks=True)  # outputs, metadata and mtimes
    assert "Nothing to be done" in "".join(snakemake(review, "-n").stdout)
    path = review / "data/raw/outcomes.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    i = table.index[(table.study_id == "akhlaghpasand2025") & (table.outcome == "whoqol_health")][0]
    table.loc[i, "sd"] = "24.0"
    table.to_csv(path, index=False, lineterminator="\n")
    proc = snakemake(review, "-n", "--quiet", "rules")
    text = proc.stdout + proc.stderr
    jobs = [line.split() for line in text.splitlines() if line.strip()]
    counts = {parts[0]: parts[-1] for parts in jobs if len(parts) == 2 and parts[-1].isdigit()}
    assert counts.pop("total") == "5", counts
    # the outcome's analysis, its GOSH and cumulative analysis (fewer than 3 studies: no
    # figures of theirs), and the gathering
    assert counts == {"analyse_whoqol_health": "1", "gosh": "1", "cumulative": "1",
                      "tables": "1", "all": "1"}, counts


def test_invalid_review_stops_before_any_job(tmp_path):
    review = copy_review(REPO, tmp_path / "bad")
    path = review / "data/raw/outcomes.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table.loc[3, "n"] = "-5"
    table.to_csv(path, index=False, lineterminator="\n")
    proc = snakemake(review, check=False)
    assert proc.returncode != 0
    assert "data/raw/outcomes.csv:5:n" in proc.stdout + proc.stderr
    assert not (review / "results").exists()
    assert not (review / "data/processed").exists()


def test_second_example_review_runs(tmp_path):
    review = copy_review(REPO / "examples" / "stroke_nsc", tmp_path / "stroke")
    snakemake(review)
    excluded = pd.read_csv(review / "results/tables/excluded.csv")
    assert set(excluded["outcome"]) == {"fma_motor", "fma_upper", "fma_lower", "barthel", "nihss"}


def test_snakemake_lint():
    proc = subprocess.run(
        [str(BIN / "snakemake"), "-s", str(SNAKEFILE), "--lint", "--cores", "1"],
        capture_output=True, text=True, cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakefmt_check():
    files = [str(SNAKEFILE), *map(str, sorted((REPO / "workflow" / "rules").glob("*.smk")))]
    proc = subprocess.run([str(BIN / "snakefmt"), "--check", *files], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakemake_report(example_run, tmp_path):
    """Every table and figure goes into the report, with its caption."""
    target = tmp_path / "report.html"
    snakemake(example_run, "--report", str(target))
    html = target.read_text(encoding="utf-8", errors="replace")
    for name in ("pooled.csv", "excluded.csv", "audit.html", "forest_asia_motor_pre_post_MC.png",
                 "Forest plot (outcome, comparison and measure in the labels)"):
        assert name in html, name


def test_invalid_config_is_named_with_its_line(tmp_path):
    review = copy_review(REPO, tmp_path / "badconfig")
    path = review / "config" / "config.yaml"
    path.write_text(path.read_text().replace("prepost_r: 0.5", "prepost_r: 2"))
    proc = snakemake(review, check=False)
    assert proc.returncode != 0
    assert "config/config.yaml:5:prepost_r" in proc.stdout + proc.stderr
    assert not (review / "results").exists()
