"""What the Snakemake workflow needs to know before any job runs.

The workflow reads and validates the review once, when it parses the
Snakefile (the code of ``scimeta validate``). From that read it

* writes the **snapshot** every job reads (:func:`write_snapshot`): the
  validated studies sheet, one file of rows per outcome, the files they were
  read from and the resolved config, each rewritten only when its content
  changes, so that editing one outcome's rows re-runs that outcome's jobs
  and nothing else;
* records in the snapshot's ``manifest.json`` a digest of every raw input it
  read (:func:`input_digests`), of the library, of each snapshot file, and the
  figures planned from the sheets and the config (:func:`planned_figures`).

The end of the run checks the raw inputs against those digests
(:func:`changed_inputs`): an input edited while the jobs ran is named, never
silently mixed with the snapshot. A later run whose inputs and library have
the digests of the manifest reads the snapshot as it is
(:func:`current_snapshot`): the same bytes validated by the same code give the
same result, and the run needs neither the sheets nor pandas to start.

No statistics happen here; this module imports no pandas until a sheet is read.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "SNAPSHOT_DIR",
    "FIGURE_KINDS",
    "FIGURE_TABLES",
    "current_snapshot",
    "library_digest",
    "snapshot_files",
    "write_snapshot",
    "snapshot_manifest",
    "stored_manifest",
    "held_locks",
    "LOCKS_DIR",
    "read_snapshot",
    "read_snapshot_studies",
    "read_snapshot_review",
    "read_snapshot_sheet",
    "restrict_review",
    "input_digests",
    "changed_inputs",
    "planned_figures",
    "job_plan",
    "figure_stem",
    "comparisons_present",
    "figure_warnings_summary",
]

#: Where the snapshot of the review's inputs lives, inside the review folder.
SNAPSHOT_DIR = "data/processed/snapshot"
#: The kinds of figure ``figures.kinds`` can ask for, in the order they are planned.
FIGURE_KINDS = ("forest", "subgroup_forest", "funnel", "sensitivity_r", "bubble", "gosh",
                "cumulative")
#: The tables the figures are drawn from (besides the studies sheet), read as written.
FIGURE_TABLES = (
    "effects", "pooled", "subgroup_tests", "membership", "sensitivity", "metareg", "bias",
    "bias_filled", "gosh", "gosh_influence", "cumulative",
)
#: The raw texts of the studies that the audit's provenance check reads.
SOURCES_GLOB = "data/raw/sources/*"
#: The files a review can be read from (those present are its raw inputs), besides the texts.
RAW_FILES = ("config/config.yaml", "data/raw/studies.csv", "data/raw/outcomes.csv",
             "data/raw/extraction.xlsx", "data/raw/risk_of_bias.csv")
MANIFEST = "manifest.json"


def library_digest(package_dir: str | Path) -> str:
    """SHA-256 over the names and bytes of every ``*.py`` file and schema of the library."""
    root = Path(package_dir)
    digest = hashlib.sha256()
    for path in sorted([*root.rglob("*.py"), *root.glob("schemas/*.yaml")]):
        if "__pycache__" in path.parts:
            continue
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


# --------------------------------------------------------------------------- snapshot
def _json_cell(value):
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if hasattr(value, "item"):  # a numpy scalar
        return _json_cell(value.item())
    return value


def _frame_bytes(frame: pd.DataFrame) -> bytes:
    """A sheet as JSON, losslessly: text verbatim, floats exact (``repr``), NaN as null.

    JSON rather than CSV: the snapshot is a faithful copy of what was read, and
    a CSV of it would have to be neutralised against spreadsheet formulas
    (:func:`scimeta.io.write_csv`), which changes text that starts with ``=``.
    One row per line, so that a changed row shows as one changed line.
    """
    head = json.dumps([str(c) for c in frame.columns], ensure_ascii=False)
    rows = [json.dumps([_json_cell(v) for v in row], ensure_ascii=False, allow_nan=False)
            for row in frame.itertuples(index=False, name=None)]
    text = '{"columns": ' + head + ',\n "rows": [\n' + ",\n".join(rows) + "\n]}\n"
    return text.encode("utf-8")


def snapshot_files(review) -> dict[str, bytes]:
    """The snapshot of a validated review: relative path -> bytes.

    ``studies.json``; ``outcomes/<outcome>.json`` for every configured outcome
    (its rows, in sheet order, ``source_row`` included); ``sources.json`` (the
    file each sheet was read from: a CSV or a sheet of ``extraction.xlsx``) and
    ``config.json`` (the config with every default filled in); ``risk_of_bias.json``
    when the review has a risk-of-bias sheet.
    """
    files = {"studies.json": _frame_bytes(review.studies)}
    if review.risk_of_bias is not None:
        files["risk_of_bias.json"] = _frame_bytes(review.risk_of_bias)
    rows = review.outcomes
    for key in sorted(review.config["outcomes"]):
        files[f"outcomes/{key}.json"] = _frame_bytes(rows[rows["outcome"] == key])
    files["sources.json"] = (json.dumps(review.sources, indent=1, sort_keys=True) + "\n").encode()
    files["config.json"] = (
        json.dumps(review.config, indent=1, sort_keys=True, ensure_ascii=False, default=str) + "\n"
    ).encode("utf-8")
    return files


#: Where Snakemake keeps the locks of the runs working in a review folder.
LOCKS_DIR = ".snakemake/locks"


def held_locks(root: str | Path = LOCKS_DIR) -> list[str]:
    """The lock files of Snakemake in the review folder (run in it): another run works there
    (or one was killed and left them; ``snakemake --unlock`` removes them)."""
    folder = Path(root)
    return sorted(p.name for p in folder.glob("*.lock")) if folder.is_dir() else []


def snapshot_manifest(review, inputs: dict[str, str], library: str) -> dict:
    """The manifest :func:`write_snapshot` would write, computed without writing anything
    (for a run that another run's lock refuses: the running run's snapshot stays as it is)."""
    return json.loads(_manifest_text(_manifest(review, snapshot_files(review), inputs, library)))


def _manifest(review, files: dict[str, bytes], inputs: dict[str, str], library: str) -> dict:
    return {
        "library": library,
        "inputs": inputs,
        "snapshot": {rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()},
        "config": review.config,
        "plan": planned_figures(review, review.config),
        "jobs": job_plan(review),
    }


def _manifest_text(manifest: dict) -> str:
    return json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False, default=str)


def write_snapshot(review, inputs: dict[str, str], library: str,
                   root: str | Path = SNAPSHOT_DIR) -> dict:
    """Write the snapshot under ``root``, each file only when its bytes change.

    An unchanged file keeps its modification time, so nothing downstream of it
    re-runs. Files of outcomes no longer configured are removed. ``inputs`` are
    the digests of the raw files read (:func:`input_digests`, taken before
    reading), ``library`` the :func:`library_digest`; with the figure plan and
    the digest of every snapshot file they make ``manifest.json``, written
    last. Returns the manifest.
    """
    from scimeta.io import atomic_write

    root = Path(root)
    files = snapshot_files(review)
    for rel, data in files.items():
        path = root / rel
        if path.is_file() and path.read_bytes() == data:
            continue
        atomic_write(path, lambda fh, data=data: fh.write(data))
    for stale in sorted((root / "outcomes").glob("*.json")):
        if f"outcomes/{stale.name}" not in files:
            stale.unlink()
    if "risk_of_bias.json" not in files and (root / "risk_of_bias.json").is_file():
        (root / "risk_of_bias.json").unlink()
    text = _manifest_text(_manifest(review, files, inputs, library))
    data = (text + "\n").encode("utf-8")
    atomic_write(root / MANIFEST, lambda fh: fh.write(data))
    return json.loads(text)


def job_plan(review) -> dict:
    """What the rules need to know of the review beyond its config, decided once from the
    validated sheets: ``gosh_parts``, the jobs each outcome's GOSH is split into (from
    the studies of its largest possible pool, :func:`scimeta.robustness.gosh_parts`), and
    ``prisma``, whether the review has a PRISMA flow (:func:`scimeta.prisma.prisma_given`).
    Kept in the manifest, so that a run whose snapshot is current needs neither."""
    from scimeta.prisma import prisma_given
    from scimeta.robustness import gosh_parts

    rows = review.outcomes
    studies = rows.groupby("outcome")["study_id"].nunique()
    return {
        "gosh_parts": {key: gosh_parts(int(studies.get(key, 0)), review.config["gosh"])
                       for key in sorted(review.config["outcomes"])},
        "prisma": bool(prisma_given(review.config)),
    }


def stored_manifest(root: str | Path = SNAPSHOT_DIR) -> dict | None:
    """The manifest of the snapshot under ``root`` as written, or None (none, or unreadable)."""
    try:
        return json.loads((Path(root) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def current_snapshot(library: str, root: str | Path = SNAPSHOT_DIR) -> dict | None:
    """The manifest of the snapshot under ``root`` if it is that of the inputs as they are.

    That is: the raw inputs present now (:func:`input_digests`) and the
    library have the manifest's digests, and every snapshot file is there with
    its digest. None otherwise (or without a manifest): read the review again.
    """
    root = Path(root)
    manifest = stored_manifest(root)
    if manifest is None:
        return None
    if manifest.get("library") != library or manifest.get("inputs") != input_digests():
        return None
    for rel, digest in manifest.get("snapshot", {}).items():
        path = root / rel
        if not path.is_file() or _sha256(path) != digest:
            return None
    return manifest


def _sheet_types(name: str) -> tuple[set, set]:
    from scimeta.io import load_schema

    props = load_schema(name).get("properties", {})
    numeric = {c for c, spec in props.items() if spec.get("type") in ("number", "integer")}
    return numeric, {"source_row"}


def _read_sheet(path, name: str) -> pd.DataFrame:
    """A snapshot sheet with the types of :func:`scimeta.io.read_review`."""
    import pandas as pd

    sheet = json.loads(Path(path).read_text(encoding="utf-8"))
    frame = pd.DataFrame(sheet["rows"], columns=sheet["columns"], dtype=object)
    numeric, integer = _sheet_types(name)
    for column in frame.columns:
        if column in integer:
            frame[column] = frame[column].astype(int)
        elif column in numeric:
            frame[column] = pd.to_numeric(frame[column]).astype(float)
        else:
            frame[column] = frame[column].astype(str)
    return frame


def read_snapshot_sheet(path, name: str) -> pd.DataFrame:
    """One sheet of the snapshot (``name``: studies, outcomes, risk_of_bias), typed as
    :func:`scimeta.io.read_review` types it."""
    return _read_sheet(path, name)


def read_snapshot_studies(studies_json) -> pd.DataFrame:
    """The studies sheet of the snapshot, typed as :func:`scimeta.io.read_review` types it."""
    return _read_sheet(studies_json, "studies")


def read_snapshot_review(root: str | Path = SNAPSHOT_DIR, outcomes=None):
    """The whole :class:`scimeta.io.Review` the snapshot under ``root`` holds: every
    outcome's rows (in outcome order), the studies, the sources, the resolved config and
    the risk-of-bias sheet (None without one). ``outcomes``: the rows of these outcomes
    only (``[]``: none, for a job that reads no outcome's rows)."""
    import pandas as pd

    from scimeta.io import Review

    root = Path(root)
    config = json.loads((root / "config.json").read_text(encoding="utf-8"))
    keys = sorted(config["outcomes"]) if outcomes is None else sorted(outcomes)
    rows = [_read_sheet(root / "outcomes" / f"{key}.json", "outcomes") for key in keys]
    rob = root / "risk_of_bias.json"
    return Review(
        config=config,
        studies=_read_sheet(root / "studies.json", "studies"),
        outcomes=pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(),
        sources=json.loads((root / "sources.json").read_text(encoding="utf-8")),
        review_dir=".",
        risk_of_bias=_read_sheet(rob, "risk_of_bias") if rob.is_file() else None,
    )


def read_snapshot(rows_json, studies_json, sources_json, config: dict):
    """The :class:`scimeta.io.Review` the snapshot holds (``rows_json``: one outcome's rows)."""
    from scimeta.io import Review

    sources = json.loads(Path(sources_json).read_text(encoding="utf-8"))
    return Review(
        config=config,
        studies=_read_sheet(studies_json, "studies"),
        outcomes=_read_sheet(rows_json, "outcomes"),
        sources=sources,
        review_dir=".",
    )


# --------------------------------------------------------------------------- raw inputs
def input_paths() -> list[str]:
    """The raw files present that a review is read from, and the studies' texts."""
    paths = [p for p in RAW_FILES if Path(p).is_file()]
    paths += sorted(p.as_posix() for p in Path(".").glob(SOURCES_GLOB) if p.is_file())
    return paths


def _sha256(path) -> str:
    with open(path, "rb") as fh:  # read in chunks, whatever the file's size
        return hashlib.file_digest(fh, "sha256").hexdigest()


def input_digests() -> dict[str, str]:
    """SHA-256 of each raw input of :func:`input_paths` (run in the review folder)."""
    return {p: _sha256(p) for p in input_paths()}


def changed_inputs(digests: dict[str, str]) -> list[str]:
    """The raw inputs that are no longer as ``digests`` has them: changed, removed, added."""
    now = input_digests()
    changed = [p if p in now else f"{p} (removed)" for p, d in digests.items() if now.get(p) != d]
    return changed + [f"{p} (added)" for p in now if p not in digests]


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


def _shown_stratum_rows(rows: pd.DataFrame, studies: pd.DataFrame, comparison: str,
                        designs: dict) -> pd.DataFrame:
    """The rows of the design stratum a figure of one pool shows (the one with the most
    studies, :func:`scimeta.membership.largest_stratum`), the strata as
    :func:`scimeta.membership.design_stratum` makes them."""
    from scimeta.membership import design_stratum, largest_stratum

    design_of = dict(zip(studies["study_id"].astype(str), studies["design"]))
    stratum = [design_stratum(design_of.get(str(s)), comparison, designs)
               for s in rows["study_id"]]
    rows = rows.assign(_stratum=stratum)
    if rows.empty:
        return rows.drop(columns="_stratum")
    counts = rows.groupby("_stratum")["study_id"].nunique()
    shown = largest_stratum(dict(counts))
    return rows[rows["_stratum"] == shown].drop(columns="_stratum")


def figure_stem(kind: str, outcome: str, comparison: str, measure: str, var: str = "") -> str:
    """The file name (without extension) of a figure under ``results/figures/``."""
    if kind == "sensitivity_r":
        return f"sensitivity_r_{outcome}_{measure}"
    if kind == "bubble":
        return f"bubble_{outcome}_{comparison}_{measure}_{var}"
    if kind in ("gosh", "cumulative"):
        return f"{kind}_{outcome}_{comparison}_{measure}"
    prefix = "funnel" if kind == "funnel" else "forest"
    return f"{prefix}_{outcome}_{comparison}_{measure}" + (f"_by_{var}" if var else "")


def planned_figures(review, config: dict) -> list[dict]:
    """The figures the workflow draws, from the sheets and the config.

    One dict (``kind``, ``outcome``, ``comparison``, ``measure``, ``var``,
    ``stem``) per figure of a kind in ``figures.kinds``: ``forest`` for every
    comparison the rows allow and every measure the config asks for; the other
    kinds for the first measure of each comparison (the primary one; the
    tables hold every measure), counting the studies of the design stratum they
    show (the largest, where designs are pooled separately): ``subgroup_forest`` for each subgroup
    variable where the rows show at least two groups (a "mixed / not
    reported" group counts); ``funnel`` where at least three studies report
    the comparison; ``sensitivity_r`` for paired before/after measures; and
    ``bubble`` for each moderator where at least three studies report the
    comparison; ``cumulative`` where at least three studies report it (not when
    ``cumulative.order_by`` is a column of the studies sheet without any value:
    validation warns, and ``cumulative.csv`` says why), ``gosh`` where at least
    ``gosh.min_k`` do (:func:`scimeta.robustness.gosh_skip_reason`).
    Ordered by outcome, then as listed.
    """
    from scimeta.compare import EFFECT_COLUMNS, measure_plan
    from scimeta.robustness import gosh_skip_reason
    from scimeta.validate import has_values

    order_by = config["cumulative"]["order_by"]
    orderable = order_by in EFFECT_COLUMNS or (order_by in review.studies
                                               and has_values(review.studies[order_by]))

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
            # a figure of one pool shows one design stratum: the largest (scimeta.membership)
            crows = _shown_stratum_rows(crows, review.studies, comparison,
                                        config["analysis"]["designs"])
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
                    if not gosh_skip_reason(n_studies, config["gosh"]):
                        add("gosh", key, comparison, measure)
                    if orderable:
                        add("cumulative", key, comparison, measure)
                if comparison == "pre_post" and paired and measure in ("MC", "SMCR", "SMCC"):
                    add("sensitivity_r", key, comparison, measure)
                for moderator in config["moderators"]:
                    if n_studies >= 3:
                        add("bubble", key, comparison, measure, moderator)
    return plan


def restrict_review(review, outcome: str):
    """The review with only the rows (and the config entry) of one outcome."""
    from scimeta.stages import restrict_review as restrict

    return restrict(review, outcome)


def figure_warnings_summary(path: str | Path) -> str:
    """The figures a run did not draw, in words for the end of the run ("" when none).

    ``path``: ``results/tables/figure_warnings.csv`` (:func:`scimeta.figures.figure_warning`);
    a missing file (a run that stopped before it) gives "".
    """
    import csv

    path = Path(path)
    if not path.is_file():
        return ""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return ""
    lines = [f"{len(rows)} planned figure(s) not drawn (listed in {path.as_posix()} and the "
             "report):"]
    lines += [f"  {r['figure']} ({r['status']}): {r['reason']}" for r in rows]
    return "\n".join(lines)
