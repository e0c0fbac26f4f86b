"""Build this review's ``data/raw/`` from the authors' extraction sheets of Hodgkiss et al. 2023.

Hodgkiss D, Bhangu G, Lunny C, et al. Exercise and aerobic capacity in
individuals with spinal cord injury: a systematic review with meta-analysis
and meta-regression. PLOS Medicine 2023. doi:10.1371/journal.pmed.1004082.

The sheets (BSD-3-Clause, repository ``jutzca/Exercise-and-fitness-in-SCI``)
are read where they lie, by default ``<repository>/../shared/external/hodgkiss2023``,
or from the folder given as the first argument; the repository does not copy
them. The written ``data/raw/studies.csv`` and ``outcomes.csv`` are derived
files (ignored by git): every row names its sheet and sheet row in ``source``
and holds its cells verbatim in ``quote``. Run with the project's Python::

    .venv/bin/python examples/hodgkiss2023/make_raw.py [FOLDER]

Three analyses per outcome (AVO2, RVO2, PPO), each as outcomes of the config:

``<outcome>_rct``
    ``RCTS_DATA.xlsx``: one RCT per row, the change score of each arm
    (``kind = change``), pooled as the mean difference between arms.
``<outcome>_prepost``
    sheet ``PRE-POST VS RCTS``: each row a single-arm study with its pre
    (baseline, timepoint 0) and post values (timepoint 1), compared as two
    independent groups (``prepost_method: independent``).
``<outcome>_level``
    sheet ``CLASS``: as ``_prepost``, with the neurological level of the row
    (``tetraplegia`` -> ``cervical``, ``paraplegia`` -> ``thoracolumbar``) in
    the ``level`` column of ``studies.csv``.

A row of one analysis is a study of its own (``study_id`` prefixed by the
analysis), so each sheet is analysed as published: Taylor 1986's pre mean is
22.8 in the RVO2 ``CLASS`` sheet and 23.0 in ``PRE-POST VS RCTS``.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_FOLDER = REPO.parent / "shared" / "external" / "hodgkiss2023"
OUTCOMES = ("AVO2", "RVO2", "PPO")
RCT_FILE = "RCTS_DATA.xlsx"
RCT_COLUMNS = ["study", "mean.con", "sd.con", "n.con", "mean.int", "sd.int", "n.int"]
PREPOST_COLUMNS = ["study", "n.post", "mean.post", "sd.post", "n.pre", "mean.pre", "sd.pre",
                   "subgroup"]
#: (analysis suffix, sheet of ``<OUTCOME>_DATA_mixedout.xlsx``)
PREPOST_SHEETS = (("prepost", "PRE-POST VS RCTS"), ("level", "CLASS"))
#: Neurological level in the CLASS sheets, as the review's ``level`` column.
LEVEL_MAP = {"tetra": "cervical", "tetraplegia": "cervical",
             "para": "thoracolumbar", "paraplegia": "thoracolumbar"}
#: The follow-up of every analysis: the post-intervention value (the sheets give no duration).
FOLLOW_UP = 1

STUDY_COLUMNS = ["study_id", "cohort_id", "author", "year", "title", "journal", "doi", "design",
                 "condition", "intervention", "route", "level", "phase", "label", "sheet_subgroup"]
OUTCOME_COLUMNS = ["study_id", "outcome", "arm", "population", "timepoint", "kind", "n", "mean",
                   "sd", "source", "quote"]


class SheetError(ValueError):
    """A sheet that cannot be converted, named by file, sheet, row and column."""


def cell_text(value) -> str:
    """A sheet number as written: shortest round-trip form, integers without ``.0``."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def read_sheet(folder: Path, file: str, sheet: str, columns: list[str]) -> pd.DataFrame:
    """One sheet with its required columns; any empty required cell is an error naming it."""
    path = folder / file
    if not path.is_file():
        raise SheetError(f"{path}: file not found")
    df = pd.read_excel(path, sheet_name=sheet)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SheetError(f"{file} [{sheet}]: missing column(s) {', '.join(missing)}")
    df = df[columns].copy()
    df.insert(0, "sheet_row", range(2, len(df) + 2))  # as a spreadsheet shows it (header = 1)
    for col in columns:
        empty = df[col].isna() | (df[col].astype(str).str.strip() == "")
        for row in df.loc[empty, "sheet_row"]:
            raise SheetError(f"{file} [{sheet}]:{row}:{col}: empty cell")
    for col in columns[1:]:
        if col == "subgroup":
            continue
        number = pd.to_numeric(df[col], errors="coerce")
        for row in df.loc[number.isna(), "sheet_row"]:
            raise SheetError(f"{file} [{sheet}]:{row}:{col}: not a number")
        df[col] = number
    df["study"] = df["study"].astype(str).str.strip()
    return df


def slug(prefix: str, name: str, seen: set[str]) -> str:
    """A unique ``study_id`` from a sheet's study name (``_2``, ``_3`` for repeats)."""
    base = f"{prefix}_" + re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    out, i = base, 1
    while out in seen:
        i += 1
        out = f"{base}_{i}"
    seen.add(out)
    return out


def author_year(name: str) -> tuple[str, str]:
    """``"Hjeltnes 1998 (Para)"`` -> ``("Hjeltnes", "1998")``."""
    m = re.match(r"^(.*?)\s+((?:19|20)\d\d)\b", name)
    return (m.group(1), m.group(2)) if m else (name, "")


def study_row(study_id: str, name: str, *, design: str, level: str = "",
              sheet_subgroup: str = "") -> dict:
    author, year = author_year(name)
    return {"study_id": study_id, "cohort_id": "", "author": author, "year": year, "title": "",
            "journal": "", "doi": "", "design": design, "condition": "sci",
            "intervention": "exercise", "route": "", "level": level, "phase": "",
            "label": name, "sheet_subgroup": sheet_subgroup}


def outcome_row(study_id, outcome, arm, timepoint, kind, n, mean, sd, *, file, sheet, row,
                study, cells) -> dict:
    return {"study_id": study_id, "outcome": outcome, "arm": arm, "population": "all",
            "timepoint": timepoint, "kind": kind, "n": cell_text(n), "mean": cell_text(mean),
            "sd": cell_text(sd), "source": f"{file}, sheet {sheet}, row {row}",
            "quote": f"{study}: " + "; ".join(f"{c} = {cell_text(v)}" for c, v in cells)}


def convert(folder: Path) -> tuple[list[dict], list[dict]]:
    """The review's studies and outcomes rows from the sheets in ``folder``."""
    studies, outcomes, seen = [], [], set()
    for name in OUTCOMES:
        outcome = f"{name.lower()}_rct"
        df = read_sheet(folder, RCT_FILE, name, RCT_COLUMNS)
        for _, r in df.iterrows():
            sid = slug(outcome, r["study"], seen)
            studies.append(study_row(sid, r["study"], design="rct"))
            where = dict(file=RCT_FILE, sheet=name, row=int(r["sheet_row"]))
            for arm, tag in (("treatment", "int"), ("control", "con")):
                cols = [f"n.{tag}", f"mean.{tag}", f"sd.{tag}"]
                outcomes.append(outcome_row(
                    sid, outcome, arm, FOLLOW_UP, "change", *(r[c] for c in cols),
                    study=r["study"], cells=[(c, r[c]) for c in cols], **where))
        file = f"{name}_DATA_mixedout.xlsx"
        for suffix, sheet in PREPOST_SHEETS:
            outcome = f"{name.lower()}_{suffix}"
            df = read_sheet(folder, file, sheet, PREPOST_COLUMNS)
            for _, r in df.iterrows():
                label = str(r["subgroup"]).strip()
                level = ""
                if suffix == "level":
                    if label.lower() not in LEVEL_MAP:
                        raise SheetError(f"{file} [{sheet}]:{int(r['sheet_row'])}:subgroup: "
                                         f"unknown neurological level {label!r}")
                    level = LEVEL_MAP[label.lower()]
                sid = slug(outcome, r["study"], seen)
                studies.append(study_row(sid, r["study"], design="single_arm", level=level,
                                         sheet_subgroup=label))
                where = dict(file=file, sheet=sheet, row=int(r["sheet_row"]))
                for timepoint, tag in ((0, "pre"), (FOLLOW_UP, "post")):
                    cols = [f"n.{tag}", f"mean.{tag}", f"sd.{tag}"]
                    outcomes.append(outcome_row(
                        sid, outcome, "treatment", timepoint, "final", *(r[c] for c in cols),
                        study=r["study"], cells=[(c, r[c]) for c in cols], **where))
    return studies, outcomes


def write_rows(rows: list[dict], columns: list[str], path: Path) -> None:
    """Write atomically: a partly written sheet never replaces a whole one."""
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(DEFAULT_FOLDER),
                        help="folder with the Hodgkiss 2023 xlsx sheets (default: %(default)s)")
    parser.add_argument("--review", default=str(HERE),
                        help="review folder whose data/raw/ is written (default: %(default)s)")
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    if not folder.is_dir():
        print(f"folder not found: {folder}", file=sys.stderr)
        return 2
    try:
        studies, outcomes = convert(folder)
    except SheetError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    raw = Path(args.review) / "data" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    write_rows(studies, STUDY_COLUMNS, raw / "studies.csv")
    write_rows(outcomes, OUTCOME_COLUMNS, raw / "outcomes.csv")
    print(f"wrote {raw / 'studies.csv'} ({len(studies)} studies) and "
          f"{raw / 'outcomes.csv'} ({len(outcomes)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
