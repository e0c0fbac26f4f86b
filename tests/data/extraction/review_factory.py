"""Build small review folders for the extraction tests (copied from review_ok, then edited)."""

import shutil
from pathlib import Path

HERE = Path(__file__).parent
BASE = HERE / "review_ok"
OUTCOMES_HEADER = (
    "study_id,outcome,arm,population,timepoint,kind,n,mean,sd,se,ci_low,ci_high,ci_level,"
    "median,q1,q3,min,max,p_value,prepost_r,source,quote"
)
COLS = OUTCOMES_HEADER.split(",")


def copy_review(tmp_path, name="review"):
    dst = Path(tmp_path) / name
    shutil.copytree(BASE, dst)
    return dst


def outcome_line(**kw):
    """One outcomes.csv line; unspecified columns empty."""
    base = {
        "study_id": "akhlaghpasand2025",
        "outcome": "asia_motor",
        "arm": "treatment",
        "population": "all",
        "timepoint": "0",
        "kind": "final",
        "n": "106",
        "mean": "40.7",
        "sd": "17",
    }
    base.update({k: str(v) for k, v in kw.items()})
    cells = []
    for c in COLS:
        v = base.get(c, "")
        if any(ch in v for ch in ',"\n'):
            v = '"' + v.replace('"', '""') + '"'
        cells.append(v)
    return ",".join(cells)


def write_outcomes(review, lines, header=OUTCOMES_HEADER):
    text = header + "\n" + "".join(line + "\n" for line in lines)
    (Path(review) / "data/raw/outcomes.csv").write_text(text, encoding="utf-8")


def snapshot(root):
    """Every file under root with its size and mtime (to prove nothing was written)."""
    root = Path(root)
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }
