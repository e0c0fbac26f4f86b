"""The workflow against metafor doing the same work, and the reruns of the SCI review.

Run by hand with the environment built (``make bench`` or
``.venv/bin/python benchmarks/vs_metafor.py``). Every comparison runs the two
alternately, each cold (a fresh copy of the review, no outputs), and prints one
line with every run's time, the medians and their ratio:

* Hodgkiss et al. 2023 (``examples/hodgkiss2023``, ``data/raw`` built by its
  ``make_raw.py``) with a config asking what ``benchmarks/vs_metafor.R`` does
  (per outcome: mean differences, REML with Wald and Hartung-Knapp tests, the
  prediction interval, one forest plot as PNG), against that R script
  (target: ratio <= 1.0);
* the same review with its own full config (every table, every figure as SVG
  and PNG) against the same R script (target: ratio <= 2.5);
* the SCI example review (the repository's own): a no-op rerun (target <= 1 s)
  and a rerun after one row of one outcome changed (target <= 25 % of the cold
  run).

The metafor comparisons are skipped, with a message, where ``Rscript`` or the
metafor package is missing.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [str(Path(sys.executable).parent / "snakemake"), "-s",
             str(REPO / "workflow" / "Snakefile")]
R_SCRIPT = REPO / "benchmarks" / "vs_metafor.R"
HODGKISS = REPO / "examples" / "hodgkiss2023"

#: What the R script computes, as the workflow's config (the rest of the review's config kept).
AS_THE_R_SCRIPT = {
    "analysis": {"tau2": ["REML"], "ci": ["wald", "hksj"], "level": 0.95, "common": False},
    "subgroups": [],
    "permutations": 0,
    "figures": {"kinds": ["forest"], "formats": ["png"]},
}


def timed(cmd, **kwargs) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   **kwargs)
    return time.perf_counter() - start


def review_copy(src: Path, dst: Path, config_update: dict | None = None) -> Path:
    (dst / "config").mkdir(parents=True)
    config = yaml.safe_load((src / "config" / "config.yaml").read_text(encoding="utf-8"))
    config.update(config_update or {})
    (dst / "config" / "config.yaml").write_text(
        yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    shutil.copytree(src / "data" / "raw", dst / "data" / "raw")
    return dst


def workflow_run(review: Path, cores: int, *args: str) -> float:
    return timed([*SNAKEMAKE, "-d", str(review), "--cores", str(cores), "--quiet", *args])


def r_run(review: Path, out: Path) -> float:
    return timed(["Rscript", str(R_SCRIPT), str(review), str(out)])


def have_metafor() -> str:
    """'' when Rscript with metafor can run, else why not."""
    if shutil.which("Rscript") is None:
        return "Rscript not found"
    proc = subprocess.run(["Rscript", "-e", "library(metafor)"], capture_output=True)
    return "" if proc.returncode == 0 else "the R package metafor is not installed"


def line(label: str, ours: list[float], theirs: list[float], target: str) -> None:
    a, b = statistics.median(ours), statistics.median(theirs)
    print(f"{label}: workflow {a:.2f} s (runs {', '.join(f'{t:.2f}' for t in ours)}), "
          f"metafor {b:.2f} s (runs {', '.join(f'{t:.2f}' for t in theirs)}), "
          f"ratio {a / b:.2f} (target {target})", flush=True)


def versus_metafor(tmp: Path, config_update: dict | None, label: str, target: str, *,
                   repeat: int, cores: int) -> None:
    ours, theirs = [], []
    for i in range(repeat):
        review = review_copy(HODGKISS, tmp / f"{label}-{i}", config_update)
        ours.append(workflow_run(review, cores))
        theirs.append(r_run(review, tmp / f"{label}-{i}-r"))
    line(label, ours, theirs, target)


def edit_one_row(review: Path, outcome: str = "whoqol_health") -> None:
    """Change the first SD reported for ``outcome`` (as a reviewer correcting a typo would)."""
    import csv

    path = review / "data" / "raw" / "outcomes.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    key, sd = rows[0].index("outcome"), rows[0].index("sd")
    at = next(i for i, row in enumerate(rows) if i and row[key] == outcome and row[sd])
    rows[at][sd] = f"{float(rows[at][sd]) * 1.01:.3f}"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def reruns(tmp: Path, *, repeat: int, cores: int) -> None:
    cold, noop, edit = [], [], []
    for i in range(repeat):
        review = review_copy(REPO, tmp / f"sci-{i}")
        cold.append(workflow_run(review, cores))
        noop.append(workflow_run(review, cores))
        edit_one_row(review)
        edit.append(workflow_run(review, cores))
    med = {k: statistics.median(v) for k, v in (("cold", cold), ("noop", noop), ("edit", edit))}
    print(f"SCI review, cold run: {med['cold']:.2f} s (runs {', '.join(f'{t:.2f}' for t in cold)})")
    print(f"SCI review, no-op rerun: {med['noop']:.2f} s (runs "
          f"{', '.join(f'{t:.2f}' for t in noop)}; target <= 1 s)")
    print(f"SCI review, rerun after one row changed: {med['edit']:.2f} s (runs "
          f"{', '.join(f'{t:.2f}' for t in edit)}), {100 * med['edit'] / med['cold']:.0f} % "
          "of the cold run (target <= 25 %)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=["metafor", "reruns"], default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.only != "reruns":
            why = have_metafor()
            if not (HODGKISS / "data" / "raw" / "outcomes.csv").is_file():
                subprocess.run([sys.executable, str(HODGKISS / "make_raw.py")], check=False)
            if why:
                print(f"metafor comparisons skipped: {why}")
            elif not (HODGKISS / "data" / "raw" / "outcomes.csv").is_file():
                print("metafor comparisons skipped: examples/hodgkiss2023/data/raw could not "
                      "be built (see examples/hodgkiss2023/README.md)")
            else:
                versus_metafor(tmp, AS_THE_R_SCRIPT, "Hodgkiss 2023, the R script's work",
                               "<= 1.0", repeat=args.repeat, cores=args.cores)
                versus_metafor(tmp, None, "Hodgkiss 2023, full default config",
                               "<= 2.5", repeat=args.repeat, cores=args.cores)
        if args.only != "metafor":
            reruns(tmp, repeat=args.repeat, cores=args.cores)


if __name__ == "__main__":
    main()
