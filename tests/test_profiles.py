"""The SLURM profile names exactly the rules the workflow has: every rule that runs on the
cluster in a group and with its resources, no rule that does not exist (checked without a
cluster; ``tests/test_slurm.py`` runs the profile on one)."""

from __future__ import annotations

import re

import yaml

from conftest import REPO
from test_slurm import local_rules

PROFILE = REPO / "workflow" / "profiles" / "slurm" / "config.yaml"


def _rules() -> set[str]:
    return {name for smk in (REPO / "workflow").rglob("*.smk")
            for name in re.findall(r"^[ \t]*rule (\w+):", smk.read_text(), flags=re.M)}


def _resources_of_their_own() -> set[str]:
    """Rules whose ``resources:`` are declared in the workflow itself."""
    own = set()
    for smk in (REPO / "workflow").rglob("*.smk"):
        for name, body in re.findall(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)+)", smk.read_text(),
                                     flags=re.M):
            if re.search(r"^\s+resources:", body, flags=re.M):
                own.add(name)
    return own


def test_the_slurm_profile_groups_and_sizes_every_remote_rule():
    profile = yaml.safe_load(PROFILE.read_text())
    rules = _rules()
    remote = rules - local_rules()
    grouped, sized = set(profile["groups"]), set(profile["set-resources"])
    assert grouped <= rules and sized <= rules, (grouped | sized) - rules  # no stale names
    assert remote <= grouped, sorted(remote - grouped)  # one submission per group
    assert remote - _resources_of_their_own() <= sized, sorted(
        remote - _resources_of_their_own() - sized)
