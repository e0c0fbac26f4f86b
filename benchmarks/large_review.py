"""Wall time and memory of the workflow on large synthetic reviews.

Not a test: builds review folders in a temporary directory, runs the whole
workflow on each from a cold start (``snakemake --cores 2 all``) and prints
one line per run. Run with the environment built:

    .venv/bin/python benchmarks/large_review.py              # every figure
    .venv/bin/python benchmarks/large_review.py --k 500      # a smaller large outcome

The figures (targets on a 2-core machine):

- ``large``: one outcome of ``--k`` (2,000) two-arm studies, the config of a
  full review (three estimators, two CI methods, MD and SMD, two subgroup
  variables, a moderator, 1,000 permutations, GOSH and cumulative tables):
  cold run <= 30 s, peak resident memory of a worker process < 1 GB (the jobs
  run in a pool of workers, scimeta.jobs: each job's log gives its worker's
  peak ``ru_maxrss`` so far, and the largest of them is printed, so it bounds
  the largest job); the Snakemake process's own peak (``getrusage`` of the
  children of a fresh process) is printed beside it;
- ``many`` / ``few``: 50 outcomes x 20 studies and 5 outcomes x 20 studies,
  run alternately ``--repeat`` times in the same process; the ratio of their
  median times must be <= 10 (the cost of an outcome, not of the DAG, grows).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
SEED = 20231122

CONFIG = """\
analysis:
  tau2: [REML, DL, PM]
  ci: [hksj, wald]
  level: 0.95
  common: true
subgroups: [region, dose]
populations: {{}}
moderators: [year]
permutations: 1000
seed: {seed}
outcomes:
{outcomes}
"""

OUTCOME = """\
  {name}:
    label: {label}
    higher_is_better: true
    timepoint: 12
    between_arms: [MD, SMD]
    pre_post: []
"""


def make_review(root: Path, outcomes: dict[str, int], seed: int = SEED) -> Path:
    """A review folder: ``outcomes`` maps each outcome to its number of two-arm studies.

    Study ``s{j}`` reports every outcome with at least ``j`` studies (the first
    outcomes' studies are shared), with a year, a region and a dose group.
    """
    rng = np.random.default_rng(seed)
    n_studies = max(outcomes.values())
    (root / "config").mkdir(parents=True)
    (root / "data" / "raw").mkdir(parents=True)
    blocks = "".join(OUTCOME.format(name=o, label=f"Outcome {o}") for o in sorted(outcomes))
    (root / "config" / "config.yaml").write_text(CONFIG.format(seed=seed, outcomes=blocks))
    with (root / "data" / "raw" / "studies.csv").open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["study_id", "author", "year", "design", "region", "dose"])
        for j in range(n_studies):
            w.writerow([f"s{j:05d}", f"Author {j}", 1990 + int(rng.integers(0, 35)), "rct",
                        ["europe", "asia", "america"][j % 3], ["low", "high"][(j // 3) % 2]])
    with (root / "data" / "raw" / "outcomes.csv").open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["study_id", "outcome", "arm", "population", "timepoint", "kind", "n", "mean",
                    "sd", "source"])
        for o, k in sorted(outcomes.items()):
            for j in range(k):
                n1, n2 = (int(x) for x in rng.integers(10, 200, size=2))
                delta = 2.0 + rng.normal(0, 1.5)
                sd1, sd2 = (float(x) for x in rng.uniform(5, 15, size=2))
                m2 = 30 + rng.normal(0, 5)
                for arm, n, m, sd in (("treatment", n1, m2 + delta, sd1), ("control", n2, m2, sd2)):
                    w.writerow([f"s{j:05d}", o, arm, "all", 12, "final", n, f"{m:.3f}",
                                f"{sd:.3f}", "synthetic"])
    return root


def run(review: Path, cores: int) -> dict:
    """A cold run in a fresh process: wall time and the largest job's peak memory."""
    code = (
        "import json, resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
        "dt = time.perf_counter() - t\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps({'seconds': dt, 'maxrss_kb': rss, 'rc': r.returncode,"
        " 'stderr': r.stderr.decode()[-3000:]}))\n"
    )
    cmd = [str(SNAKEMAKE), "-s", str(REPO / "Snakefile"), "-d", str(review), "--cores",
           str(cores), "--quiet", "all"]
    out = subprocess.run([sys.executable, "-c", code, *cmd], capture_output=True, text=True,
                         check=True)
    result = json.loads(out.stdout)
    if result["rc"]:
        raise SystemExit(f"snakemake failed on {review}:\n{result['stderr']}")
    peaks = [float(m.group(1)) for log in (review / "logs").rglob("*.log")
             for m in re.finditer(r"peak memory (\d+) MB", log.read_text(errors="replace"))]
    result["worker_mb"] = max(peaks, default=float("nan"))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k", type=int, default=2000, help="studies of the large outcome")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="runs of many/few, alternating")
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--skip-ratio", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if not args.skip_large:
            review = make_review(tmp / "large", {"primary": args.k})
            r = run(review, args.cores)
            print(f"large: 1 outcome x {args.k} studies, cold run: {r['seconds']:.2f} s "
                  f"(target <= 30 s); peak memory of a worker: {r['worker_mb']:.0f} MB "
                  f"(target < 1024 MB; Snakemake's own process {r['maxrss_kb'] / 1024:.0f} MB)")
            sys.stdout.flush()
        if not args.skip_ratio:
            times = {"many": [], "few": []}
            sizes = {"many": 50, "few": 5}
            for i in range(args.repeat):
                for kind in ("many", "few") if i % 2 == 0 else ("few", "many"):
                    outcomes = {f"o{j:02d}": 20 for j in range(sizes[kind])}
                    review = make_review(tmp / f"{kind}{i}", outcomes)
                    times[kind].append(run(review, args.cores)["seconds"])
            for kind in ("many", "few"):
                print(f"{kind}: {sizes[kind]} outcomes x 20 studies, cold runs: "
                      + ", ".join(f"{t:.2f}" for t in times[kind])
                      + f" s (median {statistics.median(times[kind]):.2f} s)")
            ratio = statistics.median(times["many"]) / statistics.median(times["few"])
            print(f"ratio many/few (medians): {ratio:.2f} (target <= 10)")


if __name__ == "__main__":
    main()
