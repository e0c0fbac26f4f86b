"""A run that Snakemake's lock refuses writes nothing: the running run's snapshot stays."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import run_snakemake as snakemake

pytestmark = pytest.mark.workflow

REVIEW_OK = Path(__file__).parent / "data" / "extraction" / "review_ok"


def _state(root: Path) -> dict:
    """Every file under ``root``: bytes and modification time."""
    return {p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_run_refused_by_the_lock_leaves_the_snapshot(tmp_path):
    review = tmp_path / "review"
    shutil.copytree(REVIEW_OK, review)
    snakemake(review, "-n")  # the snapshot of the inputs as they are (a run that started)
    snapshot = review / "data/processed"
    before = _state(snapshot)
    assert "snapshot/manifest.json" in before
    # the running run holds the lock; meanwhile an input is edited and a second run starts
    locks = review / ".snakemake/locks"
    locks.mkdir(parents=True, exist_ok=True)
    (locks / "0.output.lock").write_text("data/processed/arms.csv\nresults/tables/pooled.csv\n")
    outcomes = review / "data/raw/outcomes.csv"
    outcomes.write_text(outcomes.read_text(encoding="utf-8").replace(",40.7,", ",41.7,", 1),
                        encoding="utf-8")
    proc = snakemake(review, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "LockException" in out or "cannot be locked" in out, out
    assert ".snakemake/locks holds a lock: the snapshot (data/processed/snapshot) is not " \
        "rewritten while another run works here" in out
    assert _state(snapshot) == before  # same files, same bytes, same times
    assert not (review / "results").exists()
