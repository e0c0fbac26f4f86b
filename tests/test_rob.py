"""Risk of bias as data: the sheet's checks, the JBI overall rule, the figures."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scimeta import rob
from scimeta.io import read_review
from scimeta.plotting import rob_summary_plot, save_figure, traffic_light_plot

REPO = Path(__file__).resolve().parents[1]

STUDIES = pd.DataFrame({
    "study_id": ["trial", "cohort", "series", "other"],
    "author": ["Alpha A et al.", "Beta B", "Gamma G", "Delta D"],
    "year": [2020, 2019, 2018, 2017],
    "design": ["rct", "controlled", "single_arm", "single_arm"],
})


def rows(*records):
    return pd.DataFrame(records, columns=list(rob.ROB_COLUMNS), dtype=str)


def trial(overall="high", **domains):
    j = {f"D{i}": "some concerns" for i in range(1, 6)} | domains
    return [("trial", "rob2", d, v, f"reason {d}") for d, v in j.items()] + [
        ("trial", "rob2", "overall", overall, "reason overall")]


def series(answers, sid="series", overall=None):
    out = [(sid, "jbi_case_series", f"Q{i}", a, "why") for i, a in enumerate(answers, 1)]
    if overall:
        out.append((sid, "jbi_case_series", "overall", overall, "why"))
    return out


def messages(table, studies=STUDIES):
    return [str(p) for p in rob.validate_risk_of_bias(table, studies) if p.severity == "error"]


def test_example_sheet_is_valid_and_assesses_every_study():
    review = read_review(REPO)
    table = pd.read_csv(REPO / rob.ROB_CSV, dtype=str, keep_default_na=False)
    assert rob.validate_risk_of_bias(table, review.studies) == []
    overall = rob.overall_judgements(table, review.studies).set_index("study_id")
    assert overall.loc["srivastava2019", ["tool", "overall"]].tolist() == ["rob2", "high"]
    assert overall.loc["shin2015", ["tool", "overall", "overall_common"]].tolist() == [
        "robins_i", "serious", "high"]
    assert overall.loc["akhlaghpasand2025", "overall"] == "some concerns"
    # every judgement of the example carries its support
    assert (table["support"].str.len() > 20).all()


def test_tool_follows_design_and_names_row_and_column():
    table = rows(*trial(), ("cohort", "rob2", "D1", "low", "x"))
    msgs = messages(table)
    assert "data/raw/risk_of_bias.csv:8:tool: study 'cohort' has design 'controlled': its tool " \
           "is 'robins_i' (ROBINS-I), not 'rob2'" in msgs


@pytest.mark.parametrize("record, column, text", [
    (("trial", "rob2", "D6", "low", "x"), "domain", "'D6' is not a domain of RoB 2"),
    (("trial", "rob2", "D1", "moderate", "x"), "judgement", "'moderate' is not a RoB 2 judgement"),
    (("trial", "rob2", "D1", "low", ""), "support", "a judgement needs its support"),
    (("ghost", "rob2", "D1", "low", "x"), "study_id", "study 'ghost' is not in the studies sheet"),
    (("trial", "robins", "D1", "low", "x"), "tool", "is not one of"),
    (("trial", "rob2", "D1", "Low", "x"), "judgement", "is not one of"),
])
def test_bad_cells_are_errors_at_their_cell(record, column, text):
    table = rows(record)
    problems = [p for p in rob.validate_risk_of_bias(table, STUDIES) if p.severity == "error"]
    hit = [p for p in problems if p.row == 2 and p.column == column and text in p.message]
    assert hit, problems


def test_duplicate_and_missing_domains():
    table = rows(*trial()[:-2], trial()[0], trial()[-1])  # D5 missing, D1 twice
    msgs = messages(table)
    assert any(":6:domain: study 'trial', domain D1 given twice (first at row 2)" in m
               for m in msgs)
    assert any(":2:domain: study 'trial' lacks RoB 2 domains: D5" in m for m in msgs)


def test_overall_never_milder_than_worst_domain():
    msgs = messages(rows(*trial(overall="some concerns", D3="high")))
    assert any(":7:judgement: study 'trial': overall 'some concerns' is milder than domain D3 "
               "('high')" in m for m in msgs)
    assert messages(rows(*trial(overall="high", D3="high"))) == []
    # ROBINS-I: 'no information' is not ranked; serious domain needs serious overall
    robins = [("cohort", "robins_i", f"D{i}", "moderate", "x") for i in range(1, 8)]
    robins[3] = ("cohort", "robins_i", "D4", "no information", "x")
    assert messages(rows(*robins, ("cohort", "robins_i", "overall", "moderate", "x"))) == []
    robins[0] = ("cohort", "robins_i", "D1", "serious", "x")
    assert any("milder than domain D1" in m
               for m in messages(rows(*robins, ("cohort", "robins_i", "overall", "moderate", "x"))))


@pytest.mark.parametrize("answers, expected", [
    (["yes"] * 10, "low"),
    (["yes"] * 9 + ["not applicable"], "low"),
    (["yes"] * 7 + ["unclear"] * 3, "some concerns"),
    (["yes"] * 5 + ["unclear"] * 5, "high"),          # half not 'yes'
    (["yes"] * 3 + ["no"] + ["yes"] * 6, "high"),      # Q4 'no': selection of cases
    (["yes"] * 4 + ["no"] + ["yes"] * 5, "high"),      # Q5 'no'
    (["yes"] * 7 + ["no"] + ["yes"] * 2, "some concerns"),
    (["not applicable"] * 4 + ["yes"] * 3 + ["unclear"] * 3, "high"),  # 3 of 6 applicable
])
def test_jbi_overall_rule(answers, expected):
    judgement, reason = rob.jbi_overall({f"Q{i}": a for i, a in enumerate(answers, 1)})
    assert judgement == expected
    assert "applicable items" in reason


def test_jbi_overall_row_must_match_the_rule():
    answers = ["yes"] * 7 + ["unclear"] * 3
    assert messages(rows(*series(answers, overall="some concerns"))) == []
    msgs = messages(rows(*series(answers, overall="low")))
    assert any(":12:judgement: study 'series': the overall judgement derived from the items is "
               "'some concerns'" in m for m in msgs)


def test_unassessed_study_is_a_warning_and_reported_not_assessed():
    table = rows(*trial())
    warnings = [p for p in rob.validate_risk_of_bias(table, STUDIES) if p.severity == "warning"]
    assert {p.message.split("'")[1] for p in warnings} == {"cohort", "series", "other"}
    overall = rob.overall_judgements(table, STUDIES)
    assert overall["overall_common"].tolist() == ["high", "not assessed", "not assessed",
                                                  "not assessed"]
    assert rob.overall_judgements(None, STUDIES)["overall"].eq("not assessed").all()


def test_missing_column_is_reported_once():
    table = rows(*trial()).drop(columns="support")
    assert [str(p) for p in rob.validate_risk_of_bias(table, STUDIES)] == [
        "data/raw/risk_of_bias.csv:1:support: missing required column"]


def test_common_scale_mapping():
    assert set(rob.TO_COMMON) == set(rob.TOOLS)
    for key, tool in rob.TOOLS.items():
        assert set(rob.TO_COMMON[key]) == set(tool.overall_judgements)
        assert set(rob.TO_COMMON[key].values()) <= set(rob.COMMON_SCALE)


def test_forest_rob_data_one_dot_per_domain_in_order():
    table = rows(*trial(D2="low"), *series(["yes"] * 10))
    data = rob.forest_rob_data(table, STUDIES, ["series", "trial", "other"])
    trial_dots = data[data["study_id"] == "trial"]
    assert trial_dots["domain"].tolist() == ["D1", "D2", "D3", "D4", "D5", "overall"]
    assert trial_dots["position"].tolist() == list(range(6))
    assert trial_dots.set_index("domain").loc["D2", "color"] == "#02C100"
    series_dots = data[data["study_id"] == "series"]
    assert len(series_dots) == 11 and series_dots["judgement"].iloc[-1] == "low"
    assert data[data["study_id"] == "other"]["judgement"].tolist() == ["not assessed"]


def _example_long():
    review = read_review(REPO)
    table = pd.read_csv(REPO / rob.ROB_CSV, dtype=str, keep_default_na=False)
    return review, rob.judgements_long(table, review.studies)


def test_traffic_light_has_one_dot_per_judgement(tmp_path):
    review, long = _example_long()
    fig = traffic_light_plot(long, review.studies, title="Risk of bias")
    assert len(fig.data) == len(long) == 6 + 8 + 3 * 11
    circles = [p for p in fig.figure.axes[0].patches if type(p).__name__ == "Circle"]
    legend = {t.get_text() for t in fig.figure.axes[0].texts}
    assert len(circles) == len(long) + 5  # + one legend key per colour used
    assert {"Srivastava 2019", "Shin 2015", "Akhlaghpasand 2025", "Muse 2024"} <= legend
    written = save_figure(fig, tmp_path / "rob_traffic_light", ["svg", "png"])
    assert all(Path(p).stat().st_size > 0 for p in written)


def test_weighted_summary_shares(tmp_path):
    _, long = _example_long()
    weights = {"akhlaghpasand2025": 0.6, "oraeeyazdani2021": 0.1, "shin2015": 0.3}
    fig = rob_summary_plot(long, weights=weights, weight_label="a pool")
    data = fig.data
    common = data[(data["tool"] == "all")].set_index("judgement")["share"]
    # akhlaghpasand: some concerns; oraeeyazdani (JBI high) and shin (ROBINS-I serious): high
    np.testing.assert_allclose(common[["low", "some concerns", "high"]], [0, 60, 40], atol=1e-12)
    jbi = data[(data["tool"] == "jbi_case_series") & (data["domain"] == "overall")]
    np.testing.assert_allclose(jbi.set_index("judgement").loc["high", "share"], 100 * 0.1 / 0.7)
    assert sorted(data.loc[~data["in_summary"], "domain_label"]) == ["muse2024", "srivastava2019"]
    unweighted = rob_summary_plot(long).data
    np.testing.assert_allclose(
        unweighted[unweighted["tool"] == "all"].set_index("judgement")["share"]["high"], 80.0)
    save_figure(fig, tmp_path / "rob_summary", ["png"])


def test_sheet_schema_is_valid_and_documented():
    import jsonschema

    from scimeta.io import load_schema

    schema = load_schema("risk_of_bias")
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["required"]) == set(rob.ROB_COLUMNS)
    for name, spec in schema["properties"].items():
        assert spec.get("description") and spec.get("type") == "string", name
    judgements = set(schema["properties"]["judgement"]["enum"])
    for tool in rob.TOOLS.values():
        assert set(tool.judgements) | set(tool.overall_judgements) <= judgements


def test_rob_dots_draw_a_forest_column():
    from scimeta.plotting._common import new_figure
    from scimeta.plotting.rob import JUDGEMENT_STYLE, rob_dots

    table = rows(*trial(D2="low"))
    dots = rob.forest_rob_data(table, STUDIES, ["trial"])
    fig = new_figure(3, 1)
    ax = fig.add_axes((0, 0, 1, 1))
    right = rob_dots(ax, dots, 0.2, 0.5, cell=0.3, radius=0.1)
    circles = ax.patches
    assert len(circles) == 6
    assert [round(c.center[0], 6) for c in circles] == [0.2, 0.5, 0.8, 1.1, 1.4, 1.78]
    assert right == pytest.approx(1.88)
    green = tuple(int(JUDGEMENT_STYLE["low"][0][i:i + 2], 16) / 255 for i in (1, 3, 5))
    assert tuple(round(v, 6) for v in circles[1].get_facecolor()[:3]) == tuple(
        round(v, 6) for v in green)


def test_traffic_light_keeps_hostile_labels_as_text(tmp_path):
    studies = STUDIES.assign(author=["<b>Kim</b>$x$ et al.", "Beta B", "李明 et al.", "Delta D"])
    long = rob.judgements_long(rows(*trial(), *series(["yes"] * 10)), studies)
    fig = traffic_light_plot(long, studies)
    texts = {t.get_text() for t in fig.figure.axes[0].texts}
    assert {"<b>Kim</b>$x$ 2020", "李明 2018"} <= texts
    svg = Path(save_figure(fig, tmp_path / "tl", ["svg"], write_data=False)[0]).read_text(
        encoding="utf-8")
    assert "<b>" not in svg
    assert "&lt;b&gt;Kim&lt;/b&gt;$x$ 2020" in svg and "李明 2018" in svg


def test_summary_axis_title_stays_inside_the_figure():
    """A long pool label wraps under the bars instead of running off the figure."""
    from _printable import printable_problems

    _, long = _example_long()
    weights = {"akhlaghpasand2025": 0.6, "oraeeyazdani2021": 0.1, "shin2015": 0.3}
    label = ("ASIA light touch score: follow-up vs baseline (MC), random effects (REML), "
             "k = 3, with a pool label longer than the bars")
    fig = rob_summary_plot(long, weights=weights, weight_label=label)
    assert printable_problems(fig.figure) == []
    texts = " ".join(t.get_text() for t in fig.figure.axes[0].texts)
    assert "longer than the bars)" in texts
