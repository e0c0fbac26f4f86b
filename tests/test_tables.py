"""The output tables' columns are declared once (:mod:`scimeta.tables`): the library
returns them, docs/contract.md lists exactly them, and the written tables have them."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from scimeta import tables
from scimeta.io import write_csv

DOC = Path(__file__).resolve().parents[1] / "docs" / "contract.md"


def _documented() -> dict[str, list[str]]:
    """Each ``### `<path>` — ...`` block of the contract's column section -> its columns."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Columns of the tables", 1)[1].split("\n## ", 1)[0]
    out = {}
    for block in re.split(r"\n(?=### )", section):
        head = re.match(r"### `([^`]+)`", block)
        if head:
            out[head.group(1)] = re.findall(r"^\| `([^`]+)` \|", block, flags=re.M)
    return out


def test_the_contract_lists_exactly_the_declared_columns():
    documented = _documented()
    declared = {t.path: tables.columns(name) for name, t in tables.TABLES.items()}
    assert documented == declared
    text = DOC.read_text(encoding="utf-8")
    for name in tables.TABLES:  # and their meanings, as declared
        assert tables.markdown(name) in text, name


def test_every_column_has_a_meaning_and_none_repeats():
    for name, table in tables.TABLES.items():
        names = [c for c, _ in table.columns]
        assert len(names) == len(set(names)), name
        assert all(d.strip() for _, d in table.columns), name


def test_conform_orders_fills_and_refuses_undeclared_columns():
    frame = pd.DataFrame({"note": ["x"], "outcome": ["o"]})
    out = tables.conform("leave1out", frame)
    assert list(out.columns) == tables.columns("leave1out")
    assert out["outcome"].iloc[0] == "o" and out["estimate"].isna().all()
    with pytest.raises(ValueError, match="undeclared column"):
        tables.conform("leave1out", frame.assign(extra=1))


def test_write_csv_writes_a_declared_table_in_its_columns(tmp_path):
    write_csv(pd.DataFrame({"reason": ["r"], "file": ["f"]}), tmp_path / "x.csv",
              table="excluded")
    header = (tmp_path / "x.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",") == tables.columns("excluded")


def test_the_library_returns_the_declared_columns():
    """The analysis tables of the example review, as the analyse job builds them."""
    from scimeta.analysis import (bias_tables, metareg_table, pooled_table, r_sweep_table,
                                  subgroup_tables)
    from scimeta.compare import build_effects
    from scimeta.extract import build_arms
    from scimeta.figures import figure_warning, placeholder
    from scimeta.io import read_review
    from scimeta.membership import membership_table
    from scimeta.workflow import restrict_review

    review = read_review(DOC.parents[1])
    one = restrict_review(review, sorted(review.config["outcomes"])[0])
    cfg = one.config
    arms, excluded_arms = build_arms(one)
    effects, excluded = build_effects(arms, one.studies, cfg)
    membership = membership_table(effects, one.studies, cfg["subgroups"], cfg["populations"],
                                  designs=cfg["analysis"]["designs"])
    by_group, tests, _ = subgroup_tables(
        effects, one.studies, analysis=cfg["analysis"], subgroups=cfg["subgroups"],
        populations=cfg["populations"], permutations=0, seed=cfg["seed"], membership=membership)
    got = {
        "effects": effects, "excluded": pd.concat([excluded_arms, excluded]),
        "pooled": pd.concat([pooled_table(effects, cfg["analysis"], membership), by_group]),
        "subgroup_tests": tests, "subgroup_membership": membership,
        "sensitivity_r": r_sweep_table(effects, r_grid=[0.5], analysis=cfg["analysis"],
                                       enabled=True, membership=membership),
        "metareg": metareg_table(effects, one.studies, moderators=cfg["moderators"],
                                 analysis=cfg["analysis"], membership=membership),
        **bias_tables(effects, cfg["analysis"], membership),
        "figure_warnings": pd.DataFrame([figure_warning(
            {"outcome": "o", "stem": "funnel_o_pre_post_MC", "kind": "funnel",
             "comparison": "pre_post", "measure": "MC", "var": ""},
            placeholder("nothing to draw", kind="funnel", title="O"))]),
    }
    assert set(got) == set(tables.TABLES)
    for name, frame in got.items():
        assert list(frame.columns) == tables.columns(name), name
