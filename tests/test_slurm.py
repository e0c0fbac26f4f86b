"""The example review on a real SLURM cluster, through workflow/profiles/slurm.

A single-node cluster is started on this machine (tests/slurm_cluster.py: Debian's slurm-wlm
and munge, as root; .ci/install-slurm installs them), the review is run with the README's
command, every job but the figure links goes through sbatch, one submission per outcome
and one for the review, and every output is byte-identical to a local run of the same copy.
Run by `make test-slurm` (CI runs it after `make test`); skipped, with the reason printed,
where the packages are not installed.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from conftest import BIN, REPO, SNAKEFILE, copy_review, run_snakemake
from slurm_cluster import single_node_cluster, unavailable_reason

pytestmark = [pytest.mark.slurm, pytest.mark.workflow]

EXAMPLE = REPO / "examples" / "stroke_nsc"
PROFILE = REPO / "workflow" / "profiles" / "slurm"
#: The longest the cluster run may take (the example review: about 5 minutes on a loaded
#: 2-core machine).
CLUSTER_RUN_TIMEOUT = 1500


def local_rules() -> set[str]:
    """The rules the workflow declares local (``localrules:``), and its target rules."""
    names = {"all", "review"}
    for smk in (REPO / "workflow").rglob("*.smk"):
        for block in re.findall(r"^localrules:\n((?:[ \t]+\w+,?\n)+)", smk.read_text(),
                                flags=re.M):
            names.update(re.findall(r"\w+", block))
    return names


def output_digests(review: Path) -> dict[str, bytes]:
    """Every file the run wrote (results/ and data/processed/), by path."""
    return {
        p.relative_to(review).as_posix(): p.read_bytes()
        for folder in ("results", "data/processed")
        for p in sorted((review / folder).rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"no SLURM cluster can be started here: {reason}")
    pytest.importorskip(
        "snakemake_executor_plugin_slurm",
        reason="the SLURM executor plugin is not installed (pip install .[slurm], or "
               "pip install -r requirements-slurm.lock)")
    with single_node_cluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running


def test_example_review_on_slurm_matches_the_local_run(cluster, tmp_path):
    on_cluster = tmp_path / "cluster"
    local = tmp_path / "local"
    # the review's inputs only: a folder where the example already ran holds its results
    copy_review(EXAMPLE, on_cluster)
    copy_review(EXAMPLE, local)

    # the README's command; the partition given as a default resource (this cluster has no
    # accounting, so no account); the first job states asked after 2 s rather than 40 s;
    # and one core per submission, so that the node's two CPUs run two outcomes at a time
    cmd = [str(BIN / "snakemake"), "-s", str(SNAKEFILE), "-d", str(on_cluster),
           "--workflow-profile", str(PROFILE),
           "--default-resources", f"slurm_partition={cluster.partition}",
           "--slurm-init-seconds-before-status-checks", "2", "--cores", "1"]
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=cluster.env,
                          cwd=tmp_path, timeout=CLUSTER_RUN_TIMEOUT)
    cluster_seconds = time.monotonic() - start
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-8000:] + "\n" + "\n".join(
        p.read_text(errors="replace")[-3000:]
        for p in sorted((on_cluster / ".snakemake" / "slurm_logs").rglob("*.log")))

    start = time.monotonic()
    run_snakemake(local)
    local_seconds = time.monotonic() - start

    submissions = cluster.submissions()
    outcomes = yaml.safe_load((EXAMPLE / "config" / "config.yaml").read_text())["outcomes"]
    remote_jobs = re.findall(r"^\s+rule (\w+):", log, flags=re.M)
    local_jobs = re.findall(r"^\s*localrule (\w+):", log, flags=re.M)
    print(f"\nSLURM: {len(submissions)} sbatch submissions running {len(remote_jobs)} jobs "
          f"({len(local_jobs)} local: figure links and the target); cluster run "
          f"{cluster_seconds:.1f} s, local run {local_seconds:.1f} s")

    # the job states came from squeue: sacct, the plugin's default, fails without accounting
    assert "Falling back to 'sacct'" not in log
    # one submission per outcome (its group of jobs) and one for the review's group
    assert len(submissions) == len(outcomes) + 1, "\n".join(submissions)
    assert len(re.findall(r"Group job outcome", log)) == len(outcomes)
    assert len(re.findall(r"Group job review", log)) == 1
    # nothing that computes ran on the submitting host
    assert set(local_jobs) <= local_rules(), sorted(set(local_jobs) - local_rules())
    assert remote_jobs and not set(remote_jobs) & local_rules()
    # the profile's resources reached sbatch beside the partition of the command line
    for args in submissions:
        assert f"-p {cluster.partition}" in args, args
        assert re.search(r"--mem \d+", args), args
        assert re.search(r" -t \d+", args), args

    on_cluster_files = output_digests(on_cluster)
    local_files = output_digests(local)
    assert sorted(on_cluster_files) == sorted(local_files)
    differing = [p for p in local_files if on_cluster_files[p] != local_files[p]]
    assert not differing, differing
