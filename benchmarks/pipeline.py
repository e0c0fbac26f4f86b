"""Wall time of a full run of the example review, of a no-op rerun and of a rerun
after one outcome row changed.

Run by hand with the environment built (``make bench`` or
``.venv/bin/python benchmarks/pipeline.py``). Targets on 2 cores: full run
<= 15 s, no-op rerun <= 2 s.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"


def run(review: Path, cores: int) -> float:
    start = time.perf_counter()
    subprocess.run(
        [str(SNAKEMAKE), "-s", str(REPO / "Snakefile"), "-d", str(review), "--cores", str(cores),
         "--quiet", "all"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def edit_one_row(review: Path, outcome: str = "whoqol_health") -> None:
    """Change the first SD reported for ``outcome`` (as a reviewer correcting a typo would)."""
    path = review / "data" / "raw" / "outcomes.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    key, sd = header.index("outcome"), header.index("sd")
    at = next(i for i, row in enumerate(rows) if i and row[key] == outcome and row[sd])
    rows[at][sd] = f"{float(rows[at][sd]) * 1.01:.3f}"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    times = {"full": [], "noop": [], "edit": []}
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            review = Path(tmp) / "review"
            (review / "config").mkdir(parents=True)
            shutil.copy(REPO / "config" / "config.yaml", review / "config" / "config.yaml")
            shutil.copytree(REPO / "data" / "raw", review / "data" / "raw")
            times["full"].append(run(review, args.cores))
            times["noop"].append(run(review, args.cores))
            edit_one_row(review)
            times["edit"].append(run(review, args.cores))
    print(f"example review, {args.cores} cores, best of {args.repeat}:")
    labels = {
        "full": "full run (target <= 15 s)",
        "noop": "no-op rerun (target <= 2 s)",
        "edit": "rerun after editing one row",
    }
    for kind, label in labels.items():
        values = times[kind]
        print(f"  {label:30s} {min(values):6.2f} s   (all: {', '.join(f'{t:.2f}' for t in values)})")


if __name__ == "__main__":
    main()
