"""What a review is: its files, the validated result and the problems found in it.

The names every stage shares, with no reading and no checking: the review
folder's file names, the sheet schemas (package data), :class:`RawReview`
(what :func:`scimeta.io.read_raw` found), :class:`Review` (what
:func:`scimeta.validate.build_review` returns) and :class:`Problem`. The
I/O layer (:mod:`scimeta.io`) and the checks (:mod:`scimeta.validate`) both
import it; it imports neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

__all__ = [
    "CONFIG_FILE",
    "EXTRACTION_XLSX",
    "OUTCOMES_CSV",
    "Problem",
    "REPORTED_NUMBERS",
    "RawReview",
    "Review",
    "ReviewError",
    "STUDIES_CSV",
    "RISK_OF_BIAS_CSV",
    "OPTIONAL_SHEETS",
    "load_schema",
    "schemas_dir",
]

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

CONFIG_FILE = "config/config.yaml"
STUDIES_CSV = "data/raw/studies.csv"
OUTCOMES_CSV = "data/raw/outcomes.csv"
EXTRACTION_XLSX = "data/raw/extraction.xlsx"
RISK_OF_BIAS_CSV = "data/raw/risk_of_bias.csv"
SHEETS = ("studies", "outcomes")
#: Sheets a review may leave out (``risk_of_bias.csv``, or the workbook's ``risk_of_bias``).
OPTIONAL_SHEETS = ("risk_of_bias",)
#: The numbers a paper reports that an outcomes row may hold (besides prepost_r).
REPORTED_NUMBERS = (
    "n", "mean", "sd", "se", "ci_low", "ci_high", "median", "q1", "q3", "min", "max",
    "p_value", "t_value",
)


@dataclass(frozen=True)
class Review:
    """A validated review.

    Attributes
    ----------
    config : dict
        ``config/config.yaml`` with the schema defaults filled in.
    studies, outcomes : pandas.DataFrame
        The sheets, columns in input order; known columns that the sheet lacks
        are appended (empty). Text columns hold ``str`` ('' when empty), the
        numeric columns of the schemas hold float (NaN when empty). Both frames
        have ``source_row`` (int, spreadsheet row number, header = 1).
        ``studies.cohort_id`` is filled with ``study_id`` where empty;
        ``outcomes.population`` defaults to ``all`` and ``kind`` to ``final``.
    sources : dict
        ``{'config': ..., 'studies': ..., 'outcomes': ...}``: the file each part
        came from, relative to the review folder; for the workbook
        ``data/raw/extraction.xlsx:studies`` and ``data/raw/extraction.xlsx:outcomes``.
    review_dir : str
        The folder as given (only for messages; never written by the library).
    risk_of_bias : pandas.DataFrame or None
        The risk-of-bias sheet as validated by
        :func:`scimeta.rob.validate_risk_of_bias` (every cell text, with
        ``source_row``); None when the review has none.
    """

    config: dict
    studies: pd.DataFrame
    outcomes: pd.DataFrame
    sources: dict
    review_dir: str = ""
    risk_of_bias: pd.DataFrame | None = None

    def to_dict(self) -> dict:
        return {
            "config": self.config,
            "studies": self.studies.to_dict("records"),
            "outcomes": self.outcomes.to_dict("records"),
            "sources": dict(self.sources),
        }


@dataclass(frozen=True)
class RawReview:
    """What :func:`read_raw` found: text-only sheets plus reading problems.

    ``studies`` / ``outcomes`` are lists of ``(row_number, {column: text})`` with
    the header list kept in ``headers``; ``config`` is the parsed YAML (or None).
    """

    config: object
    config_lines: dict
    headers: dict
    rows: dict
    sources: dict
    problems: list = field(default_factory=list)


# --------------------------------------------------------------------------- schemas
def schemas_dir() -> Path:
    """The package's ``schemas`` folder (package data, found with :mod:`importlib.resources`)."""
    from importlib.resources import files

    return Path(str(files("scimeta") / "schemas"))


_SCHEMA_CACHE: dict[str, dict] = {}


def load_schema(name: str) -> dict:
    """Load ``scimeta/schemas/<name>.schema.yaml`` (name: config, studies, outcomes)."""
    if name not in _SCHEMA_CACHE:
        path = schemas_dir() / f"{name}.schema.yaml"
        with open(path, encoding="utf-8") as fh:
            _SCHEMA_CACHE[name] = yaml.load(fh, Loader=_YAML_LOADER)
    return _SCHEMA_CACHE[name]


@dataclass(frozen=True)
class Problem:
    """One validation problem.

    Attributes
    ----------
    file : str
        Relative to the review folder (``data/raw/outcomes.csv``; for the
        workbook ``data/raw/extraction.xlsx:outcomes``).
    row : int or None
        Spreadsheet row (header = 1), or the config line; None = whole file.
    column : str or None
        Column name, or dotted config key.
    message : str
    severity : str
        ``error`` (blocks the analysis) or ``warning``.
    """

    file: str
    row: int | None
    column: str | None
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        parts = [self.file]
        if self.row is not None or self.column:
            parts.append("" if self.row is None else str(self.row))
        if self.column:
            parts.append(str(self.column))
        return ":".join(parts) + f": {self.message}"

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "message": self.message,
            "severity": self.severity,
        }


class ReviewError(Exception):
    """Raised when a review has errors; ``problems`` holds all of them."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
