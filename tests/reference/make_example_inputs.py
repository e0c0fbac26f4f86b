"""Write the per-effect-size inputs of the example review for ``ref_example.R``.

The example review at the repository top level (``config/config.yaml``,
``data/raw/``) is run through the extraction and pairing steps of the library;
for every effect size the numbers that go into the effect-size formula are
written to ``tests/reference/example_inputs.csv``, with the design of its study
(``ref_example.R`` pools the designs as the example config's ``analysis.designs``
says). ``ref_example.R`` recomputes
the effect sizes from these numbers with metafor's ``escalc()`` (independently
of :mod:`scimeta.effects`) and pools them with ``rma()``.

Run from anywhere (the repository is found from this file's location)::

    python tests/reference/make_example_inputs.py

``tests/test_example_reference.py`` regenerates the table in memory and checks
that the committed CSV is identical, so the reference cannot go stale silently.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "example_inputs.csv"

INPUT_COLUMNS = [
    "study_id",
    "outcome",
    "population",
    "comparison",
    "measure",
    "effect_method",
    "n1",
    "mean1",
    "sd1",
    "n2",
    "mean2",
    "sd2",
    "r",
    "yi",
    "vi",
    "design",
]
SORT_KEYS = ["outcome", "comparison", "measure", "population", "study_id"]


def example_effects(repo: Path = REPO) -> pd.DataFrame:
    """The example review's effect sizes (``effects.csv`` rows) from the library."""
    from scimeta.compare import build_effects
    from scimeta.extract import build_arms
    from scimeta.io import read_review

    review = read_review(repo)
    arms, _ = build_arms(review)
    effects, _ = build_effects(arms, review.studies, review.config)
    return effects


def is_reported_difference(effect_method: pd.Series) -> pd.Series:
    """Rows whose effect size was reported as a difference (no per-arm inputs)."""
    return effect_method.astype(str).str.startswith("reported_difference")


def example_inputs(effects: pd.DataFrame) -> pd.DataFrame:
    """Per effect size, the inputs of its formula; ``yi``/``vi`` only for reported differences."""
    table = effects.copy()
    reported = is_reported_difference(table["effect_method"])
    table["yi"] = table["yi"].where(reported)
    table["vi"] = table["vi"].where(reported)
    table = table[INPUT_COLUMNS].sort_values(SORT_KEYS, kind="mergesort")
    return table.reset_index(drop=True)


def main() -> None:
    from scimeta.io import write_csv

    write_csv(example_inputs(example_effects()), OUT)
    print(f"wrote {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
