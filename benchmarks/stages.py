"""What each stage of the workflow costs, against what starting a job's process costs.

Run by hand with the environment built (``make bench`` or
``.venv/bin/python benchmarks/stages.py [REVIEW]``; default the SCI example review).
It runs the workflow once on a copy of the review (for the snapshot), then

* times, in fresh processes (median of 3), what a job's process costs before
  its work: the interpreter with the imports of a statistics job and of a
  figures job;
* runs every stage of every outcome in this one process, as the jobs do, and
  prints the CPU seconds of each stage per outcome (and per figure and format).

The numbers decide which stages share a job (``workflow/rules/*.smk``): a
stage much cheaper than a process start shares the job of its neighbour.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [str(Path(sys.executable).parent / "snakemake"), "-s",
             str(REPO / "workflow" / "Snakefile")]
IMPORTS = {
    "statistics job": "import pandas, scimeta.stages, scimeta.analysis, scimeta.extract, "
                      "scimeta.compare, scimeta.workflow, scimeta.io",
    "figures job": "import matplotlib; matplotlib.use('Agg'); import pandas, scimeta.figures, "
                   "scimeta.plotting, scimeta.stages, scimeta.workflow",
}


def process_start(code: str, repeat: int = 3) -> float:
    """CPU seconds (user + system) of a fresh interpreter running ``code``, median."""
    times = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c",
             "import os, time; " + code + "; t = os.times(); print(t.user + t.system)"],
            check=True, capture_output=True, text=True,
        )
        times.append(float(out.stdout))
    return statistics.median(times)


def stage_costs(review: Path) -> dict[str, list[float]]:
    """CPU seconds of each stage of each outcome (and of each figure), run here."""
    import os

    import matplotlib

    matplotlib.use("Agg")
    from scimeta import stages
    from scimeta.figures import draw_figure
    from scimeta.io import write_csv
    from scimeta.plotting import save_figure
    from scimeta.workflow import read_snapshot

    os.chdir(review)
    snap = Path("data/processed/snapshot")
    manifest = json.loads((snap / "manifest.json").read_text(encoding="utf-8"))
    config = manifest["config"]
    costs: dict[str, list[float]] = {}
    out = Path(tempfile.mkdtemp())

    def clock(name, start):
        costs.setdefault(name, []).append(time.process_time() - start)
        return time.process_time()

    for outcome in sorted(config["outcomes"]):
        t = time.process_time()
        one = {**config, "outcomes": {outcome: config["outcomes"][outcome]}}
        review_ = read_snapshot(snap / "outcomes" / f"{outcome}.json", snap / "studies.json",
                                snap / "sources.json", one)
        arms, excluded_arms = stages.arms(review_)
        write_csv(arms, out / "arms.csv")
        t = clock("arms", t)
        effects, excluded = stages.effect_sizes(review_, arms, excluded_arms)
        write_csv(effects, out / "effects.csv")
        write_csv(excluded, out / "excluded.csv")
        t = clock("effect sizes", t)
        effects = stages.read_table(out / "effects.csv")
        tables = stages.pools(effects, review_.studies, analysis=config["analysis"],
                              subgroups=config["subgroups"], populations=config["populations"],
                              permutations=config["permutations"], seed=config["seed"])
        t = clock("membership, pools, subgroup tests", t)
        membership = tables["membership"]
        tables.update(stages.bias(effects, membership, analysis=config["analysis"]))
        t = clock("bias, leave-one-out, influence", t)
        tables["sensitivity"] = stages.sensitivity(
            effects, membership, analysis=config["analysis"],
            r_grid=config["sensitivity"]["r_grid"], prepost_method=config["prepost_method"])
        t = clock("r sweep", t)
        tables["metareg"] = stages.metareg(effects, review_.studies, membership,
                                           analysis=config["analysis"],
                                           moderators=config["moderators"])
        t = clock("meta-regression", t)
        for name, table in tables.items():
            write_csv(table, out / f"{name}.csv")
        frames = {name: stages.read_table(out / f"{name}.csv") for name in tables}
        frames["effects"] = effects
        for item in (i for i in manifest["plan"] if i["outcome"] == outcome):
            t = time.process_time()
            kind = {"sensitivity_r": "sensitivity"}.get(item["kind"], item["kind"])
            result = draw_figure({**item, "kind": kind, "prepost_r": config["prepost_r"]},
                                 outcome=outcome, outcome_config=config["outcomes"][outcome],
                                 analysis=config["analysis"],
                                 layout=config["figures"]["layout"],
                                 populations=config["populations"],
                                 max_forest_rows=config["figures"]["max_forest_rows"],
                                 studies=review_.studies, **frames)
            t = clock("figure: draw", t)
            for fmt in ("svg", "png", "pdf"):
                save_figure(result, out / "figure", [fmt], write_data=False)
                t = clock(f"figure: {fmt}", t)
    shutil.rmtree(out)
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("review", nargs="?", type=Path, default=REPO)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        review = Path(tmp) / "review"
        (review / "config").mkdir(parents=True)
        shutil.copy(args.review / "config" / "config.yaml", review / "config" / "config.yaml")
        shutil.copytree(args.review / "data" / "raw", review / "data" / "raw")
        subprocess.run([*SNAKEMAKE, "-d", str(review), "--cores", "2", "--quiet"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(f"{args.review.resolve().name}: CPU seconds")
        for label, code in IMPORTS.items():
            print(f"  process start of a {label} (interpreter and imports): "
                  f"{process_start(code):.2f}")
        costs = stage_costs(review)
    outcomes = len(costs["arms"])
    for name, values in costs.items():
        per = "figure" if name.startswith("figure") else "outcome"
        print(f"  {name}: {sum(values) / len(values):.3f} per {per} "
              f"({len(values)} {per}s, {sum(values):.2f} in all)")
    print(f"  ({outcomes} outcomes)")


if __name__ == "__main__":
    main()
