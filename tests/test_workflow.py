"""End-to-end tests: Snakemake on review folders in a temporary directory."""

from __future__ import annotations

import hashlib
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats
from conftest import BIN, REPO, SNAKEFILE, copy_review, copy_run
from conftest import run_snakemake as snakemake

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
    "results/tables/studies.csv": [
        "study_id", "study", "design", "n_enrolled", "n_analysed", "population", "intervention",
        "outcomes_reported", "outcomes_analysed", "risk_of_bias", "risk_of_bias_tool", "note",
    ],
    "results/tables/summary_of_findings.csv": [
        "outcome", "label", "comparison", "measure", "k", "n", "estimate", "ci_low", "ci_high",
        "effect", "start", "risk_of_bias", "risk_of_bias_reason", "inconsistency",
        "indirectness", "imprecision", "publication_bias", "downgrades", "certainty", "status",
        "note",
    ],
    "results/tables/risk_of_bias.csv": [
        "study_id", "study", "tool", "domain", "domain_label", "judgement", "overall_common",
        "support", "note",
    ],
    "results/tables/caveats.csv": [
        "caveat", "kind", "text", "studies", "outcome", "comparison", "measure", "left_out",
        "k", "estimate", "ci_low", "ci_high", "note",
    ],
}
#: Report limits: the example review's page stays small enough to mail.
REPORT_MAX_BYTES = 5 * 1024 * 1024
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def digest_tree(root: Path, pattern: str) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.glob(pattern))
        if p.is_file()
    }


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


def test_every_figure_not_drawn_is_listed_and_printed(example_run):
    """A placeholder (a figure CSV of one ``message``) is a row of figure_warnings.csv, and
    every row is one; the end of the run prints them (its log)."""
    from scimeta.workflow import figure_warnings_summary

    table = example_run / "results/tables/figure_warnings.csv"
    listed = pd.read_csv(table, dtype=str, keep_default_na=False)
    placeholders = {p.stem for p in (example_run / "results/figures").glob("*.csv")
                    if "message" in pd.read_csv(p, nrows=0).columns}
    assert set(listed["figure"]) == placeholders
    assert listed["reason"].str.len().gt(0).all()
    assert set(listed["status"]) <= {"not drawn", "skipped"}
    summary = figure_warnings_summary(table)
    assert bool(summary) == bool(len(listed))
    log = max((example_run / ".snakemake/log").glob("*.snakemake.log")).read_text()
    for line in summary.splitlines()[1:]:
        assert line.strip() in log


def test_the_documented_commands_write_nothing_outside_the_review(tmp_path):
    """README "Your own review": `scimeta validate` and `make review` with an empty home and
    an empty temporary folder leave both empty (the temporary files of the run removed when
    it ends); the caches are inside the review."""
    review = copy_review(REPO / "tests/data/extraction/review_ok", tmp_path / "review")
    home = tmp_path / "home"
    home.mkdir()
    # a short temporary folder: the job pool's sockets live there, and a socket path has
    # at most 107 bytes (pytest's own folders under xdist are longer)
    tmp = Path(tempfile.mkdtemp(prefix="sm-"))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("XDG_", "MPL", "SNAKEMAKE"))}
    env.update(HOME=str(home), TMPDIR=str(tmp), PYTHONHASHSEED="0")
    for cmd in ([str(BIN / "scimeta"), "validate", str(review)],
                ["make", "-C", str(REPO), "review", f"REVIEW={review}"]):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        assert proc.returncode == 0, proc.stderr[-3000:]
    assert (review / "results/report.html").is_file()
    left = sorted(tmp.rglob("*"))
    if not left:
        tmp.rmdir()
    assert sorted(home.rglob("*")) == [] and left == []
    assert (review / ".snakemake/cache/snakemake/snakemake/source-cache").is_dir()
    assert (review / ".snakemake/cache/matplotlib").is_dir()


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


def test_no_pool_mixes_randomised_with_non_randomised(example_run):
    """The example's pooled.csv and membership: between arms each design is a pool of its own
    (analysis.designs.between_arms: separate), before/after changes pool across designs."""
    pooled = pd.read_csv(example_run / "results/tables/pooled.csv")
    members = pd.read_csv(example_run / "results/tables/subgroup_membership.csv")
    design_of = pd.read_csv(REPO / "data/raw/studies.csv").set_index("study_id")["design"]
    keys = ["outcome", "comparison", "measure", "design", "subgroup_var", "subgroup"]
    included = members[members["included"]].assign(
        study_design=lambda m: m["study_id"].map(design_of))
    designs = included.groupby(keys)["study_design"].agg(set)
    for pool in pooled.drop_duplicates(keys).itertuples(index=False):
        have = designs[tuple(getattr(pool, k) for k in keys)]
        assert not ("rct" in have and have - {"rct"}), pool
        if pool.comparison == "between_arms":
            assert have == {pool.design}, pool
        else:
            assert pool.design == "all", pool
    motor = pooled[(pooled.outcome == "asia_motor") & (pooled.comparison == "between_arms")
                   & (pooled.measure == "MD") & (pooled.subgroup_var == "overall")
                   & pooled.primary]
    assert sorted(motor["design"]) == ["controlled", "rct"]


def test_example_numbers(example_run):
    """The 106-patient series enters the overall ASIA motor pool once, as its whole population."""
    effects = pd.read_csv(example_run / "data/processed/effects.csv")
    mc = effects[(effects.outcome == "asia_motor") & (effects.measure == "MC")]
    akh = mc[(mc.study_id == "akhlaghpasand2025") & (mc.population == "all")].iloc[0]
    assert akh["yi"] == pytest.approx(43.3 - 40.7, rel=1e-12)
    # "p < 0.001" (p_value 0.001, below) needs r >= the r of p = 0.001: the assumed 0.5 moves
    # there (Cochrane Handbook 6.5.2.8: SD of change from t, then r from the three SDs)
    sd_change = 2.6 * math.sqrt(106) / stats.t.ppf(1 - 0.001 / 2, 105)
    r = (15.9**2 + 17**2 - sd_change**2) / (2 * 15.9 * 17)
    assert akh["r_method"] == "from_p_bound" and akh["r"] == pytest.approx(r, rel=1e-12)
    expected_vi = (15.9**2 + 17**2 - 2 * r * 15.9 * 17) / 106
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
    for pattern in ("data/processed/*.csv", "results/tables/*.csv", "results/figures/*",
                    "results/*.html", "results/*.md"):
        first = digest_tree(example_run, pattern)
        assert first, pattern
        assert first == digest_tree(second, pattern), pattern


def edit_one_row(review: Path, outcome: str = "whoqol_health") -> None:
    """Change one reported SD of ``outcome`` (as a reviewer correcting a typo would)."""
    path = review / "data/raw/outcomes.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    i = table.index[(table.study_id == "akhlaghpasand2025") & (table.outcome == outcome)][0]
    table.loc[i, "sd"] = "24.0"
    table.to_csv(path, index=False, lineterminator="\n")


def planned_jobs(review: Path) -> list[tuple[str, dict]]:
    """The jobs a dry run would run: (rule, wildcards)."""
    proc = snakemake(review, "-n")
    jobs = []
    for block in re.split(r"\n(?=rule |localrule )", proc.stdout):
        match = re.match(r"(?:local)?rule (\w+):", block)
        if not match:
            continue
        wildcards = re.search(r"^\s+wildcards: (.*)$", block, re.M)
        pairs = dict(w.split("=", 1) for w in wildcards.group(1).split(", ")) if wildcards else {}
        jobs.append((match.group(1), pairs))
    return jobs


def test_editing_one_outcome_reruns_only_that_outcome(example_run, tmp_path):
    review = copy_run(example_run, tmp_path / "edit")
    assert "Nothing to be done" in snakemake(review, "-n").stdout
    edit_one_row(review)
    jobs = planned_jobs(review)
    outcomes = {w["outcome"] for _, w in jobs if "outcome" in w}
    stems = {w.get("measure") for rule, w in jobs if rule in ("forest", "sensitivity_plot")}
    assert outcomes == {"whoqol_health"}, jobs
    assert sorted(rule for rule, _ in jobs) == sorted(
        ["effect_sizes", "pools", "diagnostics", "robustness", "figures", "forest",
         "sensitivity_plot", "rob_pool_summary", "figure_warnings", "gather", "audit",
         "studies_table", "summary_of_findings", "caveats", "methods", "report", "all"]
    ), jobs  # not risk_of_bias: its table and study figures read no outcome's rows
    assert stems == {"MC"}
    snakemake(review)
    assert "Nothing to be done" in snakemake(review, "-n").stdout


def test_a_touched_sheet_without_change_reruns_nothing(example_run, tmp_path):
    review = copy_run(example_run, tmp_path / "touch")
    for name in ("outcomes.csv", "studies.csv"):
        os.utime(review / "data/raw" / name)
    os.utime(review / "config/config.yaml")
    assert "Nothing to be done" in snakemake(review, "-n").stdout


def test_rulegraph_shows_the_stages(example_run, tmp_path):
    review = copy_run(example_run, tmp_path / "graph")
    dot = snakemake(review, "--rulegraph", "--forceall").stdout
    names = dict(re.findall(r'(\d+)\[label = "(\w+)"', dot))
    edges = {(names[a], names[b]) for a, b in re.findall(r"(\d+) -> (\d+)", dot)}
    for edge in [("effect_sizes", "pools"), ("pools", "diagnostics"), ("pools", "robustness"),
                 ("diagnostics", "figures"), ("pools", "figures"), ("figures", "forest"),
                 ("pools", "rob_pool_summary"), ("rob_pool_summary", "report"),
                 ("figures", "subgroup_forest"), ("figures", "funnel"),
                 ("figures", "sensitivity_plot"), ("figures", "bubble"),
                 ("effect_sizes", "gather"), ("pools", "gather"), ("gather", "audit"),
                 ("forest", "all"), ("audit", "all"), ("figures", "figure_warnings"),
                 ("rob_pool_summary", "figure_warnings"), ("figure_warnings", "report")]:
        assert edge in edges, (edge, sorted(edges))


def test_an_input_changed_during_the_run_is_named(example_run, tmp_path):
    review = copy_run(example_run, tmp_path / "midrun")
    edit_one_row(review)  # so that the run has jobs to do
    cmd = [str(BIN / "snakemake"), "-s", str(SNAKEFILE), "-d", str(review), "--cores", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONHASHSEED": "0"})
    started = review / "logs/effect_sizes/whoqol_health.log"
    started.unlink()  # written again when the job starts, after the snapshot was taken
    deadline = time.monotonic() + 120
    while not started.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before the input could be changed"
    edit_one_row(review, "asia_motor")  # jobs read the snapshot taken at the start
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode != 0, out
    assert "changed while the workflow ran" in out and "data/raw/outcomes.csv" in out, out
    effects = pd.read_csv(review / "data/processed/outcomes/asia_motor/effects.csv")
    before = pd.read_csv(example_run / "data/processed/outcomes/asia_motor/effects.csv")
    pd.testing.assert_frame_equal(effects, before)  # asia_motor was not re-run with new rows


def test_a_killed_run_leaves_no_partial_file_and_resumes(example_run, tmp_path):
    """Killed while drawing figures: no temporary or half-written file; a rerun completes."""
    review = copy_review(REPO, tmp_path / "killed")
    cmd = [str(BIN / "snakemake"), "-s", str(SNAKEFILE), "-d", str(review), "--cores", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONHASHSEED": "0"}, start_new_session=True)
    drawing = review / "results/outcomes"
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline and not any(
        drawing.glob("*/figures/*.png")
    ):
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.killpg(proc.pid, 9)  # Snakemake and its jobs, at once
    proc.wait()
    left = [p for p in review.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".")
            and p.name not in (".snakemake", ".snakemake_timestamp")
            and ".snakemake" not in p.relative_to(review).parts]
    assert not left, left
    snakemake(review, "--unlock")
    snakemake(review)  # the profile re-runs the incomplete jobs
    for pattern in ("data/processed/*.csv", "results/tables/*.csv", "results/figures/*"):
        assert digest_tree(review, pattern) == digest_tree(example_run, pattern), pattern


def _processes_marked(mark: str) -> list[int]:
    """The processes whose environment holds ``mark`` (a run and every process it started)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if mark.encode() in (proc / "environ").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_killing_snakemake_alone_leaves_no_worker_behind(tmp_path):
    """SIGKILL to the Snakemake process only (as the out-of-memory killer would): the job pool's
    workers, which hold the library and a job's tables in memory, end within seconds."""
    review = copy_review(REPO, tmp_path / "orphans")
    token = uuid.uuid4().hex
    mark = f"SCIMETA_TEST_RUN={token}"
    cmd = [str(BIN / "snakemake"), "-s", str(SNAKEFILE), "-d", str(review), "--cores", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONHASHSEED": "0",
                                 "SCIMETA_TEST_RUN": token})
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline and len(
            [p for p in _processes_marked(mark) if p != proc.pid]) < 2:
        time.sleep(0.05)  # the fork server and at least one worker
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 30
    while _processes_marked(mark) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_marked(mark) == []


def test_switching_to_the_workbook_reruns_and_names_it(example_run, tmp_path):
    from test_xlsx_parity import _write_xlsx

    review = copy_run(example_run, tmp_path / "xlsx")
    raw = review / "data/raw"
    _write_xlsx(raw, raw / "extraction.xlsx")
    (raw / "studies.csv").unlink()
    (raw / "outcomes.csv").unlink()
    rules = [rule for rule, _ in planned_jobs(review)]
    assert rules.count("effect_sizes") == 10 and "audit" in rules, rules
    snakemake(review)
    arms = pd.read_csv(review / "data/processed/arms.csv")
    assert set(arms["source_file"]) == {"data/raw/extraction.xlsx:outcomes"}
    excluded = pd.read_csv(review / "results/tables/excluded.csv")
    assert set(excluded.loc[excluded["stage"] != "plan", "file"]) == {
        "data/raw/extraction.xlsx:outcomes"
    }
    for name in ("effects.csv",):
        assert (review / "data/processed" / name).read_bytes() == (
            example_run / "data/processed" / name
        ).read_bytes()


def test_the_profile_beside_the_snakefile_is_read(example_run):
    """workflow/profiles/default (profiles/ at the top is the same folder, for
    ``-s Snakefile`` and runs from the repository) is what makes the jobs run in the
    pool of workers (force-use-threads)."""
    assert (REPO / "profiles").resolve() == (REPO / "workflow" / "profiles").resolve()
    for snakefile in (REPO / "workflow" / "Snakefile", REPO / "Snakefile"):
        proc = subprocess.run([str(BIN / "snakemake"), "-s", str(snakefile), "-d",
                               str(example_run), "-n"], capture_output=True, text=True,
                              cwd=example_run, check=True)
        assert "profiles/default for setting default command line" in proc.stderr


def test_installed_package_validates_a_review_outside_the_tree(tmp_path):
    """pip install into a folder; its schemas are package data, not the source tree's."""
    target = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "--target", str(target), str(REPO)],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    review = copy_review(REPO, tmp_path / "review")
    code = (
        "import sys, scimeta, scimeta.io as sio; from scimeta.cli import main; "
        "print(scimeta.__file__); print(sio.schemas_dir()); "
        "sys.exit(main(['validate', sys.argv[1]]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(review)], capture_output=True, text=True,
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(target)},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    module, schemas = proc.stdout.splitlines()[:2]
    assert Path(module).is_relative_to(target) and Path(schemas).is_relative_to(target)
    assert (Path(schemas) / "config.schema.yaml").is_file()
    assert "valid" in proc.stdout


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
    # no risk-of-bias sheet, no prisma block: said in the tables and the report, no figure
    rob = pd.read_csv(review / "results/tables/risk_of_bias.csv")
    assert len(rob) == 1 and rob["note"].iloc[0].startswith("no risk-of-bias sheet")
    sof = pd.read_csv(review / "results/tables/summary_of_findings.csv")
    reasons = sof["risk_of_bias_reason"].dropna().astype(str)
    assert len(sof) and reasons.str.startswith("not assessed").all(), list(reasons)
    assert not list((review / "results/figures").glob("rob_*"))
    assert not (review / "results/figures/prisma.svg").exists()
    page = (review / "results/report.html").read_text(encoding="utf-8")
    assert "no risk-of-bias sheet" in page and "no prisma block" in page
    assert "## Not assessed" in (review / "results/methods.md").read_text(encoding="utf-8")


def test_snakemake_lint():
    proc = subprocess.run(
        [str(BIN / "snakemake"), "-s", str(SNAKEFILE), "--lint", "--cores", "1"],
        capture_output=True, text=True, cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakefmt_check():
    files = [str(REPO / "Snakefile"), str(SNAKEFILE),
             *map(str, sorted((REPO / "workflow" / "rules").glob("*.smk")))]
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


# ------------------------------------------------------------------ journal artefacts
def test_journal_outputs_of_the_example_review(example_run):
    studies = pd.read_csv(example_run / "results/tables/studies.csv")
    assert list(studies["study_id"]) == list(
        pd.read_csv(REPO / "data/raw/studies.csv")["study_id"])
    assert studies.set_index("study_id").at["akhlaghpasand2025", "n_analysed"] == 106
    sof = pd.read_csv(example_run / "results/tables/summary_of_findings.csv")
    assert set(sof["outcome"]) == set(_example_config()["outcomes"])
    assert sof["certainty"].dropna().isin(["high", "moderate", "low", "very low"]).all()
    assert (sof["status"] == "draft for the review team").all()
    rob = pd.read_csv(example_run / "results/tables/risk_of_bias.csv")
    assert set(rob["study_id"]) == set(studies["study_id"])
    assert rob["support"].notna().all()
    for stem in ("rob_traffic_light", "rob_summary", "rob_summary_asia_motor_pre_post",
                 "prisma"):
        for ext in ("svg", "png", "csv"):
            assert (example_run / f"results/figures/{stem}.{ext}").stat().st_size > 0, stem
    weights = pd.read_csv(example_run / "results/figures/rob_summary_asia_motor_pre_post.csv")
    overall = weights[(weights["domain"] == "overall") & (weights["tool"] == "all")]
    assert overall["share"].sum() == pytest.approx(100.0)
    prisma = pd.read_csv(example_run / "results/figures/prisma.csv").set_index(["box", "item"])
    assert prisma.at[("participants", "akhlaghpasand2025: screened"), "n"] == 189
    methods = (example_run / "results/methods.md").read_text(encoding="utf-8")
    assert "## Risk of bias" in methods and "draft GRADE certainty" in methods


def test_example_review_caveats_and_single_arm_certainty(example_run):
    """No single-arm (before/after) outcome is rated above low; the declared overlap of the
    two Tehran series is re-analysed, stated in the methods and on the page with the audit's
    warnings linked to their rows."""
    sof = pd.read_csv(example_run / "results/tables/summary_of_findings.csv")
    pre = sof[sof["comparison"] == "pre_post"]
    assert len(pre) and pre["certainty"].isin(["low", "very low"]).all()
    assert (pre["indirectness"] != "not serious").all()
    caveats = pd.read_csv(example_run / "results/tables/caveats.csv", keep_default_na=False)
    assert set(caveats["left_out"]) == {"", "akhlaghpasand2025", "oraeeyazdani2021"}
    methods = (example_run / "results/methods.md").read_text(encoding="utf-8")
    assert "Each cohort enters a pool at most once" not in methods
    assert "Possible overlaps the review could not rule out" in methods
    page = (example_run / "results/report.html").read_text(encoding="utf-8")
    audit = pd.read_csv(example_run / "results/tables/audit.csv")
    warned = audit.index[audit["severity"].isin(["warning", "error"])]
    assert len(warned)
    audit_page = (example_run / "results/audit.html").read_text(encoding="utf-8")
    for i in warned:
        assert f'href="audit.html#finding-{i + 1}"' in page
        assert f'<tr id="finding-{i + 1}">' in audit_page
    assert "Caveat 1</b> (akhlaghpasand2025, oraeeyazdani2021)" in page


def _example_config():
    import yaml

    return yaml.safe_load((REPO / "config/config.yaml").read_text(encoding="utf-8"))


def test_figures_as_png_only_are_in_the_report_as_images(tmp_path):
    """figures.formats [png]: the page shows each analysis figure as its PNG (a data URI,
    which the page's content policy allows), the journal figures as SVG."""
    import yaml

    review = copy_review(REPO, tmp_path / "review")
    cfg = _example_config()
    cfg["figures"] = {**cfg.get("figures", {}), "formats": ["png"], "kinds": ["forest"]}
    (review / "config/config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False),
                                              encoding="utf-8")
    snakemake(review)
    pngs = sorted((review / "results/figures").glob("forest_*.png"))
    assert pngs and not list((review / "results/figures").glob("forest_*.svg"))
    page = (review / "results/report.html").read_text(encoding="utf-8")
    assert page.count('<img alt="" src="data:image/png;base64,') == len(pngs)
    assert "img-src data:" in page
    assert "figure .svg img { display: block; width: 100%" in page  # scaled to its box


def test_report_html_is_self_contained_with_a_manifest(example_run):
    path = example_run / "results/report.html"
    page = path.read_text(encoding="utf-8")
    assert path.stat().st_size <= REPORT_MAX_BYTES
    assert "<script" not in page.lower()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:|//|file:)""", page)
    assert "@import" not in page and "@font-face" not in page
    # every figure of the run inlined as SVG, each with its own caption
    svgs = sorted((example_run / "results/figures").glob("*.svg"))
    assert page.count("<svg") == len(svgs)
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", page, re.S)
    assert len(captions) == len(svgs) == len(set(captions))
    assert "Forest plot</b> of <b>ASIA motor score</b>, follow-up vs baseline: " \
           "mean change (MC); k = 3, 134 participants." in page
    assert "Caution: two studies" in page  # a small-k warning
    # tables rendered, not only linked
    assert "<h2 id=\"sof\">Summary of findings</h2>" in page
    assert page.count("<table>") > 20
    # the manifest: the SHA-256 of every file the page was made from
    rows = dict(re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">\d+</td><td>([0-9a-f]{64})"
                           r"</td></tr>", page))
    for rel in ("config/config.yaml", "data/raw/outcomes.csv", "data/raw/risk_of_bias.csv",
                "results/tables/pooled.csv", "results/tables/summary_of_findings.csv",
                "results/figures/forest_asia_motor_pre_post_MC.png", "results/methods.md"):
        assert rows[rel] == hashlib.sha256((example_run / rel).read_bytes()).hexdigest(), rel
    assert all(not f.startswith("/") for f in rows)


#: Run in the page (a copy, in the test's folder): marks the body once every figure is laid
#: out with a non-zero size, and lists the ones that are not.
_LOAD_CHECK = """<script>
window.addEventListener("load", () => {
  const bad = [];
  const figs = document.querySelectorAll("figure svg, img");
  figs.forEach((el, i) => {
    const r = el.getBoundingClientRect();
    if (!(r.width > 0 && r.height > 0)) bad.push(el.closest("figure")?.id || ("#" + i));
  });
  const tables = document.querySelectorAll("table");
  tables.forEach((t, i) => { if (!t.rows.length || !(t.getBoundingClientRect().height > 0))
    bad.push("table " + i); });
  document.body.setAttribute("data-figures", String(figs.length));
  document.body.setAttribute("data-tables", String(tables.length));
  document.body.setAttribute("data-bad", bad.join(","));
  document.body.setAttribute("data-checked", "yes");
});
</script>"""


def _chromium(*args, timeout=240):
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--no-first-run", "--disable-extensions", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium not installed "
                    "(Debian package chromium): the report is not opened in a browser")
def test_report_opens_in_chromium_with_every_figure_and_table(example_run, tmp_path):
    page = (example_run / "results/report.html").read_text(encoding="utf-8")
    probe = tmp_path / "report_probe.html"
    # the page forbids scripts (Content-Security-Policy); the probe copy lifts that for its own
    probe.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page)
                     .replace("</body>", _LOAD_CHECK + "</body>"), encoding="utf-8")
    proc = _chromium("--virtual-time-budget=20000", "--dump-dom", probe.as_uri())
    dom = proc.stdout
    assert 'data-checked="yes"' in dom, proc.stderr[-2000:]
    n_svg = len(list((example_run / "results/figures").glob("*.svg")))
    assert f'data-figures="{n_svg}"' in dom
    assert re.search(r'data-tables="(\d+)"', dom) and 'data-bad=""' in dom, \
        re.search(r'data-bad="[^"]*"', dom).group()
    # the page as a reader gets it: screenshots of the top and of a figure section
    for name, size in (("report_top.png", "1200,2400"), ("report_long.png", "1200,9000")):
        target = tmp_path / name
        _chromium(f"--window-size={size}", f"--screenshot={target}",
                  (example_run / "results/report.html").as_uri())
        assert target.stat().st_size > 50_000, name
