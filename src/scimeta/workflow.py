"""What the Snakemake workflow needs to know before any job runs.

The workflow reads and validates the review once, when it parses the
Snakefile (the code of ``scimeta validate``). From that read it

* writes the **snapshot** every job reads (:func:`write_snapshot`): the
  validated studies sheet, one file of rows per outcome, the files they were
  read from and the resolved config, each rewritten only when its content
  changes, so that editing one outcome's rows re-runs that outcome's jobs
  and nothing else;
* records a digest of every raw input it read (:func:`input_digests`), which
  the end of the run checks again (:func:`changed_inputs`): an input edited
  while the jobs ran is named, never silently mixed with the snapshot;
* plans the figures (:func:`planned_figures`) from the sheets and the config.

No statistics happen here.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from pathlib import Path

import pandas as pd

from scimeta.compare import measure_plan
from scimeta.stages import restrict_review  # noqa: F401  (where the tests have found it)

__all__ = [
    "SNAPSHOT_DIR",
    "FIGURE_KINDS",
    "library_digest",
    "snapshot_files",
    "write_snapshot",
    "read_snapshot",
    "read_snapshot_studies",
    "restrict_review",
    "input_digests",
    "changed_inputs",
    "planned_figures",
    "figure_stem",
    "comparisons_present",
]

#: Where the snapshot of the review's inputs lives, inside the review folder.
SNAPSHOT_DIR = "data/processed/snapshot"
#: The kinds of figure ``figures.kinds`` can ask for, in the order they are planned.
FIGURE_KINDS = ("forest", "subgroup_forest", "funnel", "sensitivity_r", "bubble")
#: The raw texts of the studies that the audit's provenance check reads.
SOURCES_GLOB = "data/raw/sources/*"


def library_digest(package_dir: str | Path) -> str:
    """SHA-256 over the names and bytes of every ``*.py`` file of the library."""
    root = Path(package_dir)
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


# --------------------------------------------------------------------------- snapshot
def _cell(value) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


def _frame_bytes(frame: pd.DataFrame) -> bytes:
    """A sheet as CSV, losslessly: text verbatim, floats as their exact ``repr``, NaN empty.

    Unlike :func:`scimeta.io.write_csv` no cell is neutralised: the snapshot is a
    faithful copy of what was read (as the raw sheets are), read back by
    :func:`read_snapshot`, never a table for a spreadsheet.
    """
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(list(frame.columns))
    writer.writerows([_cell(v) for v in row] for row in frame.itertuples(index=False))
    return buf.getvalue().encode("utf-8")


def snapshot_files(review) -> dict[str, bytes]:
    """The snapshot of a validated review: relative path -> bytes.

    ``studies.csv``; ``outcomes/<outcome>.csv`` for every configured outcome
    (its rows, in sheet order, ``source_row`` included); ``sources.json`` (the
    file each sheet was read from: a CSV or a sheet of ``extraction.xlsx``) and
    ``config.json`` (the config with every default filled in).
    """
    files = {"studies.csv": _frame_bytes(review.studies)}
    rows = review.outcomes
    for key in sorted(review.config["outcomes"]):
        files[f"outcomes/{key}.csv"] = _frame_bytes(rows[rows["outcome"] == key])
    files["sources.json"] = (json.dumps(review.sources, indent=1, sort_keys=True) + "\n").encode()
    files["config.json"] = (
        json.dumps(review.config, indent=1, sort_keys=True, ensure_ascii=False, default=str) + "\n"
    ).encode("utf-8")
    return files


def write_snapshot(review, root: str | Path = SNAPSHOT_DIR) -> list[str]:
    """Write the snapshot under ``root``, each file only when its bytes change.

    An unchanged file keeps its modification time, so nothing downstream of it
    re-runs. Files of outcomes no longer configured are removed. Returns the
    files written (relative to ``root``).
    """
    from scimeta.io import atomic_write

    root = Path(root)
    files = snapshot_files(review)
    written = []
    for rel, data in files.items():
        path = root / rel
        if path.is_file() and path.read_bytes() == data:
            continue
        atomic_write(path, lambda fh, data=data: fh.write(data))
        written.append(rel)
    for stale in sorted((root / "outcomes").glob("*.csv")):
        if f"outcomes/{stale.name}" not in files:
            stale.unlink()
    return written


def _sheet_types(name: str) -> tuple[set, set]:
    from scimeta.io import load_schema

    props = load_schema(name).get("properties", {})
    numeric = {c for c, spec in props.items() if spec.get("type") in ("number", "integer")}
    return numeric, {"source_row"}


def _read_sheet(path, name: str) -> pd.DataFrame:
    """A snapshot sheet with the types of :func:`scimeta.io.read_review`."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    numeric, integer = _sheet_types(name)
    for column in frame.columns:
        if column in integer:
            frame[column] = frame[column].astype(int)
        elif column in numeric:
            frame[column] = pd.to_numeric(frame[column].replace("", None)).astype(float)
    return frame


def read_snapshot_studies(studies_csv) -> pd.DataFrame:
    """The studies sheet of the snapshot, typed as :func:`scimeta.io.read_review` types it."""
    return _read_sheet(studies_csv, "studies")


def read_snapshot(rows_csv, studies_csv, sources_json, config: dict):
    """The :class:`scimeta.io.Review` the snapshot holds (``rows_csv``: one outcome's rows)."""
    from scimeta.io import Review

    sources = json.loads(Path(sources_json).read_text(encoding="utf-8"))
    return Review(
        config=config,
        studies=_read_sheet(studies_csv, "studies"),
        outcomes=_read_sheet(rows_csv, "outcomes"),
        sources=sources,
        review_dir=".",
    )


# --------------------------------------------------------------------------- raw inputs
def input_paths(review) -> list[str]:
    """The raw files the review was read from (config, sheets) and the studies' texts."""
    paths = {review.sources["config"]}
    paths |= {review.sources[s].split(":")[0] for s in ("studies", "outcomes")}
    paths |= {p.as_posix() for p in Path(".").glob(SOURCES_GLOB) if p.is_file()}
    return sorted(paths)


def _sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def input_digests(review) -> dict[str, str]:
    """SHA-256 of each raw input of :func:`input_paths`, as read when the workflow started."""
    return {p: _sha256(p) for p in input_paths(review)}


def changed_inputs(digests: dict[str, str]) -> list[str]:
    """The raw inputs whose bytes are no longer those of ``digests`` (or that are gone),
    and the studies' texts that appeared since."""
    changed = []
    for path, digest in digests.items():
        if not Path(path).is_file():
            changed.append(f"{path} (removed)")
        elif _sha256(path) != digest:
            changed.append(path)
    for path in sorted(p.as_posix() for p in Path(".").glob(SOURCES_GLOB) if p.is_file()):
        if path not in digests:
            changed.append(f"{path} (added)")
    return changed


# --------------------------------------------------------------------------- figures
def comparisons_present(rows: pd.DataFrame) -> list[str]:
    """Which comparisons an outcome's rows can give: ``between_arms`` and/or ``pre_post``."""
    present = []
    arm = rows["arm"].astype(str)
    kind = rows["kind"].fillna("final").astype(str)
    if ((arm == "control") | (kind == "difference")).any():
        present.append("between_arms")
    if ((arm == "treatment") & (kind != "difference")).any():
        present.append("pre_post")
    return present


def _subgroup_levels(var: str, rows: pd.DataFrame, studies: pd.DataFrame, config: dict) -> set:
    """The groups the rows can form for ``var``: its levels, and "mixed" for studies without one."""
    populations = set(config["populations"].get(var, []))
    split = rows["population"].isin(populations)
    levels = set(rows.loc[split, "population"])
    unsplit = set(rows["study_id"]) - set(rows.loc[split, "study_id"])
    if var in studies.columns:
        values = studies.set_index("study_id")[var].astype(str).str.strip()
        for study in unsplit:
            value = values.get(study, "")
            levels.add(value if value and value not in ("mixed", "nan") else "mixed")
    elif unsplit:
        levels.add("mixed")
    return levels


def figure_stem(kind: str, outcome: str, comparison: str, measure: str, var: str = "") -> str:
    """The file name (without extension) of a figure under ``results/figures/``."""
    if kind == "sensitivity_r":
        return f"sensitivity_r_{outcome}_{measure}"
    if kind == "bubble":
        return f"bubble_{outcome}_{comparison}_{measure}_{var}"
    prefix = "funnel" if kind == "funnel" else "forest"
    return f"{prefix}_{outcome}_{comparison}_{measure}" + (f"_by_{var}" if var else "")


def planned_figures(review, config: dict) -> list[dict]:
    """The figures the workflow draws, from the sheets and the config.

    One dict (``kind``, ``outcome``, ``comparison``, ``measure``, ``var``,
    ``stem``) per figure of a kind in ``figures.kinds``: ``forest`` for every
    comparison the rows allow and every measure the config asks for; the other
    kinds for the first measure of each comparison (the primary one; the
    tables hold every measure): ``subgroup_forest`` for each subgroup
    variable where the rows show at least two groups (a "mixed / not
    reported" group counts); ``funnel`` where at least three studies report
    the comparison; ``sensitivity_r`` for paired before/after measures; and
    ``bubble`` for each moderator where at least three studies report the
    comparison. Ordered by outcome, then as listed.
    """
    kinds = set(config["figures"]["kinds"])
    plan = []

    def add(kind, outcome, comparison, measure, var=""):
        if kind in kinds:
            plan.append({
                "kind": kind, "outcome": outcome, "comparison": comparison, "measure": measure,
                "var": var, "stem": figure_stem(kind, outcome, comparison, measure, var),
            })

    outcomes = review.outcomes
    paired = config["prepost_method"] == "paired"
    for key in sorted(config["outcomes"]):
        rows = outcomes[outcomes["outcome"] == key]
        if rows.empty:
            continue
        # the measures the rows can give (defaults that do not apply are not drawn)
        attempted = measure_plan(rows, config["outcomes"][key],
                                 prepost_method=config["prepost_method"])
        for comparison in comparisons_present(rows):
            if comparison == "between_arms":
                crows = rows[(rows["arm"] == "control") | (rows["kind"] == "difference")]
            else:
                crows = rows[(rows["arm"] == "treatment") & (rows["kind"] != "difference")]
            n_studies = crows["study_id"].nunique()
            for i, measure in enumerate(attempted[comparison].measures):
                add("forest", key, comparison, measure)
                if i > 0:
                    continue  # the other figures are drawn for the first (primary) measure
                for var in config["subgroups"]:
                    if len(_subgroup_levels(var, crows, review.studies, config)) >= 2:
                        add("subgroup_forest", key, comparison, measure, var)
                if n_studies >= 3:
                    add("funnel", key, comparison, measure)
                if comparison == "pre_post" and paired and measure in ("MC", "SMCR", "SMCC"):
                    add("sensitivity_r", key, comparison, measure)
                for moderator in config["moderators"]:
                    if n_studies >= 3:
                        add("bubble", key, comparison, measure, moderator)
    return plan
