"""PRISMA 2020: the config block's arithmetic and the flow diagram."""

import copy
from pathlib import Path

import pandas as pd
import pytest

from scimeta import prisma
from scimeta.io import read_raw, read_review
from scimeta.plotting import prisma_flow_diagram, save_figure
from scimeta.io import validate_review

REPO = Path(__file__).resolve().parents[1]

STUDIES = pd.DataFrame({
    "study_id": ["a2020", "a2021", "b2019"],
    "cohort_id": ["a", "a", ""],
    "n_enrolled": [40.0, 40.0, float("nan")],
})

GOOD = {
    "identified": {"databases": {"MEDLINE": 300, "Embase": 250}, "registers": {"CT.gov": 20},
                   "other": {"citations": 5}},
    "duplicates_removed": 150, "other_removed": 5,
    "screened": 420, "excluded_screening": 380,
    "sought": 40, "not_retrieved": 2,
    "assessed": 38, "excluded_reasons": {"wrong population": 20, "no outcome": 15},
    "studies_included": 2, "reports_included": 3,
    "participants": {"a2020": {"screened": 55, "excluded": 15, "included": 40}},
}


def problems(block, studies=STUDIES):
    return [(p.column, p.message) for p in prisma.validate_prisma({"prisma": block}, studies)]


def test_consistent_counts_have_no_problem():
    assert problems(GOOD) == []
    assert prisma.validate_prisma({}, STUDIES) == []  # no block, no diagram


@pytest.mark.parametrize("key, value, expected_key, text", [
    ("screened", 421, "prisma.screened",
     "is 421 but records identified (575) − duplicates removed (150) − other removed (5) "
     "= 420"),
    ("duplicates_removed", 149, "prisma.screened", "= 421"),
    ("sought", 41, "prisma.sought", "is 41 but records screened (420) − excluded at screening "
     "(380) = 40"),
    ("not_retrieved", 3, "prisma.assessed",
     "is 38 but reports sought (40) − not retrieved (3) = 37"),
    ("excluded_reasons", {"wrong population": 20, "no outcome": 16}, "prisma.reports_included",
     "is 3 but reports assessed (38) − excluded with reasons (36) = 2"),
])
def test_each_step_must_add_up(key, value, expected_key, text):
    block = copy.deepcopy(GOOD)
    block[key] = value
    found = problems(block)
    assert any(k == expected_key and text in m for k, m in found), found


def test_included_must_match_the_studies_sheet():
    block = copy.deepcopy(GOOD)
    block.update(assessed=39, sought=41, screened=421, duplicates_removed=149,
                 reports_included=4, studies_included=3)
    found = dict(problems(block))
    assert found["prisma.reports_included"] == (
        "is 4 but the studies sheet has 3 reports (rows)")
    assert found["prisma.studies_included"] == (
        "is 3 but the studies sheet has 2 studies (distinct cohorts)")
    block.update(studies_included=5)
    assert any("more than the reports included" in m for _, m in problems(block))


def test_missing_required_count_names_the_key():
    block = copy.deepcopy(GOOD)
    del block["assessed"]
    assert problems(block) == [("prisma.assessed", "missing: the flow diagram needs this count")]


def test_participant_flow_checks():
    block = copy.deepcopy(GOOD)
    block["participants"] = {"a2020": {"screened": 55, "excluded": 14, "included": 40},
                             "ghost": {"included": 3},
                             "a2021": {"included": 41}}
    found = problems(block)
    assert ("prisma.participants.a2020.included",
            "is 40 but screened (55) − excluded (14) = 41") in found
    assert ("prisma.participants.ghost", "study 'ghost' is not in the studies sheet") in found
    assert ("prisma.participants.a2021.included",
            "is 41 but the studies sheet gives n_enrolled = 40 for a2021") in found


def test_problem_names_the_config_line():
    block = copy.deepcopy(GOOD)
    block["screened"] = 1
    found = prisma.validate_prisma({"prisma": block}, STUDIES,
                                   lines={"prisma.screened": 57, "prisma": 50})
    assert str(found[0]).startswith("config/config.yaml:57:prisma.screened: is 1 but")
    # a key without a line of its own takes its block's line
    assert str(found[1]).startswith("config/config.yaml:50:prisma.sought: is 40 but")


def test_example_review_block_is_valid_and_draws_the_series_flow(tmp_path):
    assert [p for p in validate_review(REPO) if "prisma" in str(p)] == []
    review = read_review(REPO)
    assert prisma.validate_prisma(review.config, review.studies,
                                  lines=read_raw(REPO).config_lines) == []
    counts = prisma.prisma_counts(review.config["prisma"])
    flow = prisma.participant_flow(review.config)
    fig = prisma_flow_diagram(counts, participants=flow, note=review.config["prisma"]["note"])
    texts = " ".join(t.get_text() for t in fig.figure.axes[0].texts)
    assert "189 screened \u2192 83 excluded (did not meet the inclusion criteria) \u2192 106 " \
           "included" in texts
    assert "Studies included in review (n = 5)" in texts
    data = fig.data.set_index(["box", "item"])["n"]
    assert data[("participants", "akhlaghpasand2025: screened")] == 189
    assert data[("participants", "akhlaghpasand2025: excluded")] == 83
    assert data[("participants", "akhlaghpasand2025: included")] == 106
    assert data[("included", "studies")] == len(review.studies)
    written = save_figure(fig, tmp_path / "prisma", ["svg", "png"])
    svg = Path(written[0]).read_text(encoding="utf-8")
    assert "illustrative" in svg and "189 screened" in svg


def test_diagram_draws_every_count_and_escapes_text(tmp_path):
    block = copy.deepcopy(GOOD)
    block["excluded_reasons"] = {"<script>alert(1)</script> & $x$": 35}
    fig = prisma_flow_diagram(prisma.prisma_counts(block))
    by_box = fig.data.groupby("box")["n"].sum()
    assert by_box["identified"] == 2 * 575  # per type and per source
    assert by_box["excluded_reasons"] == 35
    svg_path = save_figure(fig, tmp_path / "p", ["svg"], write_data=False)[0]
    svg = Path(svg_path).read_text(encoding="utf-8")
    assert "<script>" not in svg and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; $x$" in svg


def test_schema_rejects_a_negative_count(tmp_path):
    import shutil

    review = tmp_path / "review"
    shutil.copytree(REPO / "data" / "raw", review / "data" / "raw")
    shutil.copytree(REPO / "config", review / "config")
    cfg = review / "config" / "config.yaml"
    cfg.write_text(cfg.read_text().replace("  not_retrieved: 0", "  not_retrieved: -1"))
    msgs = [str(p) for p in validate_review(review)]
    assert any("prisma.not_retrieved: must be >= 0 (got -1)" in m for m in msgs), msgs


def test_config_schema_keys_have_description_and_defaults():
    import jsonschema

    from scimeta.io import load_schema

    schema = load_schema("config")
    jsonschema.Draft202012Validator.check_schema(schema)
    block = schema["properties"]["prisma"]
    assert block["default"] == {}
    for key, spec in block["properties"].items():
        assert spec.get("description"), key
        assert "default" in spec or key in prisma.REQUIRED_KEYS, key
    outcome = schema["properties"]["outcomes"]["additionalProperties"]["properties"]
    for key in ("mid", "indirectness", "indirectness_reason"):
        assert outcome[key].get("description"), key


def test_serious_indirectness_needs_a_reason(tmp_path):
    import shutil

    review = tmp_path / "review"
    shutil.copytree(REPO / "data" / "raw", review / "data" / "raw")
    shutil.copytree(REPO / "config", review / "config")
    cfg = review / "config" / "config.yaml"
    text = cfg.read_text()
    cfg.write_text(text.replace("    label: ASIA motor score\n",
                                "    label: ASIA motor score\n    indirectness: serious\n"))
    msgs = [str(p) for p in validate_review(review)]
    assert any("outcomes.asia_motor" in m and "'indirectness_reason' is a required property" in m
               for m in msgs), msgs
