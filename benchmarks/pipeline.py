"""Wall time of a full run of the example review and of a no-op rerun.

Run by hand with the environment built (``make bench`` or
``.venv/bin/python benchmarks/pipeline.py``). Targets on 2 cores: full run
<= 15 s, no-op rerun <= 2 s.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"


def run(review: Path, cores: int, *targets: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [str(SNAKEMAKE), *(targets or ("all",)), "-s", str(REPO / "Snakefile"), "-d", str(review),
         "--cores", str(cores), "--quiet", "all"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    times = {"tables": [], "full": [], "noop": []}
    for _ in range(args.repeat):
        for kind in ("tables", "full"):
            with tempfile.TemporaryDirectory() as tmp:
                review = Path(tmp) / "review"
                (review / "config").mkdir(parents=True)
                shutil.copy(REPO / "config" / "config.yaml", review / "config" / "config.yaml")
                shutil.copytree(REPO / "data" / "raw", review / "data" / "raw")
                if kind == "tables":
                    times["tables"].append(run(review, args.cores, "tables", "audit"))
                else:
                    times["full"].append(run(review, args.cores))
                    times["noop"].append(run(review, args.cores))
    print(f"example review, {args.cores} cores, best of {args.repeat}:")
    labels = {
        "tables": "tables only (no figures)",
        "full": "full run (target <= 15 s)",
        "noop": "no-op rerun (target <= 2 s)",
    }
    for kind, label in labels.items():
        values = times[kind]
        print(f"  {label:30s} {min(values):6.2f} s   (all: {', '.join(f'{t:.2f}' for t in values)})")


if __name__ == "__main__":
    main()
