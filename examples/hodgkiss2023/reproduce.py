"""Check the workflow's tables of this review against the numbers Hodgkiss et al. 2023 published.

Hodgkiss D, Bhangu G, Lunny C, et al. Exercise and aerobic capacity in
individuals with spinal cord injury: a systematic review with meta-analysis
and meta-regression. PLOS Medicine 2023. doi:10.1371/journal.pmed.1004082.

Every number comes from the workflow's own tables of the review folder
(``results/tables/pooled.csv`` and ``subgroup_tests.csv``); nothing is
computed here. After ``make_raw.py`` and the workflow run (README.md)::

    python3 examples/hodgkiss2023/reproduce.py [REVIEW]

(the standard library only: any Python 3.11 runs it). It prints each
published number next to the workflow's, at full precision and rounded as
published, and exits 0 when each agrees or is a documented discrepancy of
the source, 1 otherwise, 2 when the tables are missing.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: Published (estimate, CI low, CI high) and the decimals they are printed with, by the
#: workflow's outcome key; all are MD, random effects (REML), Wald CI.
PUBLISHED_POOLS = {
    "avo2_rct": ((0.16, 0.07, 0.25), 2),
    "rvo2_rct": ((2.9, 1.8, 3.9), 1),
    "ppo_rct": ((9, 5, 14), 0),
    "avo2_prepost": ((0.22, 0.17, 0.26), 2),
    "rvo2_prepost": ((2.8, 2.2, 3.3), 1),
    "ppo_prepost": ((11, 9, 13), 0),
}
#: Test for subgroup differences of PPO by neurological level: Q = 7.14, df = 1, p < 0.01.
PUBLISHED_TEST = {"outcome": "ppo_level", "Q_between": (7.14, 2), "df": (1, 0), "p_below": 0.01}
KNOWN_DISCREPANCIES = {
    "rvo2_prepost": (
        "known discrepancy: the sheets as published give 2.82 (2.26, 3.39), which rounds to "
        "2.8 (2.3, 3.4); the paper prints 2.8 (2.2, 3.3). metafor on the same sheets agrees "
        "with the workflow; DL, PM, ML, Knapp-Hartung and Taylor 1986's CLASS-sheet pre mean "
        "(22.8 instead of 23.0) do not give the published interval either"
    ),
}


def half_up(x: float, digits: int) -> float:
    """Round half away from zero at ``digits`` decimals, as printed in papers."""
    q = Decimal(1).scaleb(-digits)
    return float(Decimal(repr(float(x))).quantize(q, rounding=ROUND_HALF_UP))


def read_rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def the_row(rows: list[dict], what: str, **match) -> dict:
    hit = [r for r in rows if all(r.get(k) == v for k, v in match.items())]
    if len(hit) != 1:
        raise LookupError(f"{what}: {len(hit)} rows match {match}")
    return hit[0]


def check(review: Path) -> list[dict]:
    """Published vs the workflow's numbers: one dict per published number."""
    tables = review / "results" / "tables"
    pooled = read_rows(tables / "pooled.csv")
    tests = read_rows(tables / "subgroup_tests.csv")
    out = []
    for outcome, ((est, lo, hi), digits) in PUBLISHED_POOLS.items():
        comparison = "between_arms" if outcome.endswith("_rct") else "pre_post"
        row = the_row(pooled, outcome, outcome=outcome, comparison=comparison, measure="MD",
                      subgroup_var="overall", model="random", tau2_method="REML",
                      ci_method="wald")
        for quantity, published in (("estimate", est), ("ci_low", lo), ("ci_high", hi)):
            ours = float(row[quantity])
            rounded = half_up(ours, digits)
            out.append({"analysis": outcome, "quantity": quantity, "published": float(published),
                        "ours": ours, "rounded": rounded,
                        "agrees": math.isclose(rounded, published, abs_tol=1e-12),
                        "note": KNOWN_DISCREPANCIES.get(outcome, "")})
    outcome = PUBLISHED_TEST["outcome"]
    row = the_row(tests, outcome, outcome=outcome, comparison="pre_post", measure="MD",
                  subgroup_var="level", method="separate_tau2", tau2_method="REML",
                  ci_method="wald")
    for quantity in ("Q_between", "df"):
        published, digits = PUBLISHED_TEST[quantity]
        ours = float(row[quantity])
        rounded = half_up(ours, digits)
        out.append({"analysis": f"{outcome} by level", "quantity": quantity,
                    "published": float(published), "ours": ours, "rounded": rounded,
                    "agrees": math.isclose(rounded, published, abs_tol=1e-12), "note": ""})
    p = float(row["p"])
    out.append({"analysis": f"{outcome} by level", "quantity": "p", "published": 0.01,
                "ours": p, "rounded": p, "agrees": p < PUBLISHED_TEST["p_below"],
                "note": "published as p < 0.01"})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("review", nargs="?", default=str(HERE),
                        help="the review folder after the workflow ran (default: %(default)s)")
    review = Path(parser.parse_args(argv).review)
    missing = [p for p in ("pooled.csv", "subgroup_tests.csv")
               if not (review / "results" / "tables" / p).is_file()]
    if missing:
        print(f"{review}/results/tables/: {', '.join(missing)} not found: build data/raw with "
              "make_raw.py and run the workflow first (README.md)", file=sys.stderr)
        return 2
    rows = check(review)
    print("Hodgkiss et al. 2023 (doi:10.1371/journal.pmed.1004082): published vs the workflow")
    print(f"{'analysis':20s} {'quantity':10s} {'published':>10s} {'workflow':>12s} "
          f"{'rounded':>9s}  agrees")
    for r in rows:
        print(f"{r['analysis']:20s} {r['quantity']:10s} {r['published']:10g} {r['ours']:12.6g} "
              f"{r['rounded']:9g}  {'yes' if r['agrees'] else 'no'}")
    for note in sorted({r["note"] for r in rows if r["note"]}):
        print(f"\nNote: {note}")
    known = [r["note"].startswith("known discrepancy") for r in rows]
    return 0 if all(r["agrees"] or k for r, k in zip(rows, known)) else 1


if __name__ == "__main__":
    sys.exit(main())
