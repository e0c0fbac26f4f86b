"""Shared runs of the workflow: each review is run once per test session.

Workflow tests that only read a run's outputs take the session fixture; a test that changes
a review works on a copy of the finished run (:func:`copy_run`), outputs, Snakemake metadata
and modification times included, so it pays only for the jobs its change re-runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SNAKEFILE = REPO / "workflow" / "Snakefile"
BIN = Path(sys.executable).parent


def run_snakemake(review: Path, *args: str, check: bool = True,
                  snakefile: Path = SNAKEFILE) -> subprocess.CompletedProcess:
    """``snakemake -s workflow/Snakefile -d REVIEW --cores 2 ARGS`` (the profile is read)."""
    cmd = [str(BIN / "snakemake"), "-s", str(snakefile), "-d", str(review), "--cores", "2",
           *args]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def copy_review(src: Path, dst: Path) -> Path:
    """A new review folder with the config and raw sheets of ``src``."""
    (dst / "config").mkdir(parents=True)
    shutil.copy(src / "config" / "config.yaml", dst / "config" / "config.yaml")
    shutil.copytree(src / "data" / "raw", dst / "data" / "raw")
    return dst


def copy_run(run: Path, dst: Path) -> Path:
    """A copy of a finished run (outputs, metadata and modification times)."""
    shutil.copytree(run, dst, symlinks=True)
    return dst


@pytest.fixture(scope="session")
def example_run(tmp_path_factory) -> Path:
    """The SCI example review (the repository's own config and sheets), run once."""
    review = copy_review(REPO, tmp_path_factory.mktemp("sci") / "review")
    run_snakemake(review)
    return review
