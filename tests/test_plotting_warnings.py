"""Figures that warn where the evidence is thin, and what the example review's figures say.

The tables are those of the example review, made by the analysis script as the workflow
makes them (written and read back), then drawn by :func:`scimeta.figures.draw_figure`;
every check reads the returned FigureResult (data, texts, artists), never pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import Circle, Polygon

from scimeta.figures import draw_figure
from scimeta.settings import FigureSettings
from scimeta.io import load_schema, read_review
from _settings import forest_options, outcome
from scimeta.plotting import forest_plot as _forest_plot
from scimeta.plotting import funnel_plot, save_figure
from scimeta.plotting._common import fmt_p
from scimeta.rob import ROB_CSV, forest_rob_data

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.workflow  # the tables of a workflow run of the example review
TABLES = {"pooled": "pooled", "subgroup_tests": "subgroup_tests", "membership": "membership",
          "sensitivity": "sensitivity_r", "metareg": "metareg", "bias": "bias"}


@pytest.fixture(scope="module")
def review():
    return read_review(REPO)


@pytest.fixture(scope="module")
def rob_sheet():
    return pd.read_csv(REPO / ROB_CSV, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def tables(example_run):
    """outcome -> the tables its figures are drawn from, as the workflow wrote them."""
    out = {}
    for outcome in ("asia_motor", "scim_total", "uems", "lems"):
        out[outcome] = {"effects": pd.read_csv(
            example_run / "data/processed/outcomes" / outcome / "effects.csv")}
        for name, stem in TABLES.items():
            out[outcome][name] = pd.read_csv(example_run / "results/outcomes" / outcome
                                             / f"{stem}.csv")
    return out


@pytest.fixture(scope="module")
def across_designs(review):
    """The example review with its designs pooled between arms (analysis.designs), and the
    ASIA motor tables of that choice: Srivastava 2019 (randomised, thoracolumbar, acute) and
    Shin 2015 (non-randomised, cervical, phase not reported) in one pool, as single-study
    subgroups."""
    import dataclasses

    from scimeta import stages

    analysis = {**review.config["analysis"],
                "designs": {**review.config["analysis"]["designs"], "between_arms": "pooled"}}
    changed = dataclasses.replace(review, config={**review.config, "analysis": analysis})
    one = stages.restrict_review(changed, "asia_motor")
    cfg = one.config
    arms, excluded = stages.arms(one)
    effects, _ = stages.effect_sizes(one, arms, excluded)
    tables = stages.pools(effects, one.studies, analysis=cfg["analysis"],
                          subgroups=cfg["subgroups"], populations=cfg["populations"],
                          permutations=0, seed=cfg["seed"])
    tables["sensitivity"] = pd.DataFrame(columns=["measure"])
    return changed, {"asia_motor": {**tables, "effects": effects}}


def forest_plot(*args, outcome_cfg, **kw):
    """The library's forest plot with the config's defaults for what a test leaves out."""
    return _forest_plot(*args, outcome_cfg=outcome(**outcome_cfg), **{**forest_options(), **kw})


def draw(review, tables, outcome, kind, comparison, measure, var="", rob=None, **figures):
    cfg = review.config
    item = {"kind": kind, "comparison": comparison, "measure": measure, "var": var,
            "stem": "x", "prepost_r": cfg["prepost_r"]}
    return draw_figure(item, outcome=outcome, outcome_config=cfg["outcomes"][outcome],
                       analysis=cfg["analysis"],
                       layout=figures.get("layout", cfg["figures"]["layout"]),
                       populations=cfg["populations"], max_forest_rows=100,
                       studies=review.studies, figures={**cfg["figures"], **figures}, rob=rob,
                       **tables[outcome])


def texts(result):
    fig = result.figure
    return [t.get_text() for t in fig.texts] + [t.get_text() for ax in fig.axes for t in ax.texts]


def joined(result):
    return "\n".join(texts(result))


def gids(result):
    return {a.get_gid() for ax in result.figure.axes for a in ax.get_children() if a.get_gid()}


# --------------------------------------------------------------------------- config
def test_figure_settings_take_the_schema_defaults(review):
    props = load_schema("config")["properties"]["figures"]["properties"]
    options = FigureSettings.from_figures(review.config["figures"])
    assert options.small_k == props["small_k"]["default"] == "warn"
    assert options.min_k_small_study == props["min_k_small_study"]["default"] == 10
    assert FigureSettings.from_figures({**review.config["figures"], "small_k": "skip"}).small_k == "skip"
    with pytest.raises(KeyError):
        FigureSettings.from_figures({})


# --------------------------------------------------------------------------- funnel
def test_funnel_below_min_k_warns_on_the_figure(review, tables):
    res = draw(review, tables, "asia_motor", "funnel", "pre_post", "MC")
    assert res.kind == "funnel" and not res.meta.get("placeholder")
    warning = res.data.loc[res.data["element"] == "warning", "label"]
    assert len(warning) == 1 and "Only 3 studies (fewer than 10)" in warning.iloc[0]
    assert "too few to judge funnel asymmetry" in " ".join(texts(res))
    assert "egger-line" in gids(res)  # drawn, with the warning


def test_funnel_below_min_k_skipped_says_why(review, tables):
    res = draw(review, tables, "asia_motor", "funnel", "pre_post", "MC", small_k="skip")
    assert res.meta["placeholder"] and "fewer than 10" in res.meta["skipped"]
    assert "Not drawn (figures.small_k = skip)" in res.data["message"].iloc[0]
    assert "egger-line" not in gids(res)


def test_funnel_at_min_k_has_no_warning(review, tables):
    res = draw(review, tables, "asia_motor", "funnel", "pre_post", "MC", min_k_small_study=3)
    assert not (res.data["element"] == "warning").any()
    assert not [g for g in gids(res) if g.startswith("warning")]


def test_funnel_legend_names_every_line():
    res = funnel_plot([1.0, 2.0, 3.5], [1.0, 0.5, 2.0], estimate=2.0, measure="MD",
                      egger={"intercept": 1.0, "slope": 0.3},
                      filled={"yi": [0.1], "vi": [1.5]})
    legend = [t.get_text() for t in res.figure.axes[0].get_legend().get_texts()]
    for name in ("Pooled estimate", "Pseudo 95% limits", "No effect", "Egger regression line",
                 "Filled (trim and fill)"):
        assert name in legend
    lines = {"estimate-line", "pseudo-ci", "null-line", "egger-line"}
    assert lines <= gids(res)


# --------------------------------------------------------------------------- bubble
def test_bubble_labels_studies_and_prints_slope_p_k(review, tables):
    res = draw(review, tables, "asia_motor", "bubble", "pre_post", "MC", "year")
    st = res.data[res.data["element"] == "study"]
    labels = [g for g in gids(res) if g.startswith("label-")]
    assert len(labels) == len(st) == 3
    for lab in st["label"]:
        assert lab in texts(res)
    mr = tables["asia_motor"]["metareg"]
    slope = mr[(mr["comparison"] == "pre_post") & (mr["measure"] == "MC")
               & (mr["term"] == "year") & (mr["tau2_method"] == "REML")
               & (mr["ci_method"] == review.config["analysis"]["ci"][0])].iloc[0]
    stats = res.data.loc[res.data["element"] == "text", "label"].iloc[0]
    assert stats.startswith("Slope per unit of year: ")
    assert fmt_p(slope["p"]) in stats and "k = 3" in stats
    assert "fewer than 10" in joined(res)


def test_bubble_below_min_k_skipped(review, tables):
    res = draw(review, tables, "asia_motor", "bubble", "pre_post", "MC", "year", small_k="skip")
    assert res.kind == "bubble" and res.meta["placeholder"]
    assert "fewer than 10" in res.meta["skipped"]


# --------------------------------------------------------------------------- subgroup tests
def test_subgroup_test_of_single_studies_warns(across_designs):
    res = draw(*across_designs, "asia_motor", "subgroup_forest", "between_arms", "MD", "level")
    footer = res.meta["footer"]
    assert any(line.startswith("Test for subgroup differences (separate") and "Q = " in line
               for line in footer)
    assert ("Caution: cervical and thoracolumbar are single studies: the test compares "
            "studies, not subgroups.") in footer
    assert (res.data["element"] == "warning").sum() == 1


def test_subgroup_test_of_single_studies_skipped(across_designs):
    res = draw(*across_designs, "asia_motor", "subgroup_forest", "between_arms", "MD", "level",
               small_k="skip")
    footer = res.meta["footer"]
    assert not any("Q = " in line for line in footer)
    assert any(line.startswith("Test for subgroup differences: not shown (cervical and "
                               "thoracolumbar are single studies") for line in footer)
    # the forest plot itself is drawn
    assert len(res.data[res.data["element"] == "study"]) == 2


def test_subgroups_with_several_studies_get_no_caution(review, tables):
    res = draw(review, tables, "scim_total", "subgroup_forest", "pre_post", "MC", "level")
    assert not any(line.startswith("Caution") for line in res.meta["footer"])


def test_total_and_test_membership_are_stated(review, tables):
    res = draw(review, tables, "scim_total", "subgroup_forest", "pre_post", "MC", "level")
    footer = " ".join(res.meta["footer"])
    assert "Subgroups in the test: cervical (k = 2), thoracolumbar (k = 2)." in footer
    assert ("Total: the overall pool, 2 studies with their whole-cohort rows (not the "
            "subgroup rows above).") in footer
    overall = res.data[res.data["element"] == "overall"].iloc[0]
    pooled = tables["scim_total"]["pooled"]
    row = pooled[(pooled["subgroup_var"] == "overall") & (pooled["measure"] == "MC")
                 & (pooled["primary"])].iloc[0]
    assert overall["estimate"] == row["estimate"] and overall["n"] == row["n"]


def test_mixed_group_is_descriptive_outside_the_test(across_designs):
    res = draw(*across_designs, "asia_motor", "subgroup_forest", "between_arms", "MD", "phase")
    assert "Phase: mixed / not reported (descriptive, not in the test)" in texts(res)
    # both sections are one study: drawn by the one rule for a single study (scimeta.pool)
    assert "Single study, not pooled, descriptive (95% CI)" in texts(res)
    sub = res.data[res.data["element"] == "subtotal"].set_index("subgroup")
    assert sub.loc["mixed / not reported", "in_test"] is False
    assert sub.loc["acute", "in_test"] is True
    diamonds = {a.get_gid(): a for ax in res.figure.axes for a in ax.patches
                if isinstance(a, Polygon) and (a.get_gid() or "").startswith("diamond-subgroup")}
    faces = {gid: tuple(d.get_facecolor()[:3]) for gid, d in diamonds.items()}
    # sections in order: acute (tested, filled), mixed / not reported (descriptive, open)
    assert faces["diamond-subgroup-2"] == (1.0, 1.0, 1.0)
    assert faces["diamond-subgroup-1"] != (1.0, 1.0, 1.0)
    footer = " ".join(res.meta["footer"])
    assert "Subgroups in the test: acute (k = 1); shown, not in the test: mixed / not reported " \
           "(k = 1)." in footer
    # the footer's tests agree with what is drawn: only one subgroup enters them
    assert "not done (fewer than 2 subgroups with data: no test)" in footer


# --------------------------------------------------------------------------- scale, N, CI
def test_axis_stays_within_the_scale_with_arrows(review, tables):
    res = draw(review, tables, "scim_total", "subgroup_forest", "pre_post", "MC", "level")
    lo, hi = res.meta["xlim"]
    assert -100 <= lo and hi <= 100  # scale [0, 100]: a change within ± 100
    sub = res.data[(res.data["element"] == "subtotal")].set_index("subgroup")
    tl = sub.loc["thoracolumbar"]
    assert tl["ci_low"] < -80 and tl["ci_high"] > 100
    assert tl["arrow_high"] is True or tl["arrow_high"] == True  # noqa: E712
    assert "diamond-subgroup-2-arrow-high" in gids(res)
    assert "diamond-subgroup-2-arrow-low" not in gids(res)


def test_scale_limits_a_library_forest_plot():
    eff = pd.DataFrame({"study_id": ["a", "b"], "label": ["A 2001", "B 2002"],
                        "comparison": "pre_post", "measure": "MC", "yi": [5.0, 30.0],
                        "vi": [4.0, 900.0]})
    pooled = pd.DataFrame([{"comparison": "pre_post", "measure": "MC", "subgroup_var": "overall",
                            "subgroup": "all", "model": "random", "tau2_method": "REML",
                            "ci_method": forest_options()["ci_method"], "k": 2, "estimate": 6.0, "ci_low": -150.0,
                            "ci_high": 160.0}])
    cfg = {"label": "Score", "higher_is_better": True, "scale": [0, 50], "unit": "points"}
    res = forest_plot(eff, pooled, outcome_cfg=cfg, comparison="pre_post", measure="MC")
    assert res.meta["xlim"][0] >= -50 and res.meta["xlim"][1] <= 50
    ov = res.data[res.data["element"] == "overall"].iloc[0]
    assert ov["arrow_low"] and ov["arrow_high"]
    st = res.data[res.data["element"] == "study"].set_index("study_id")
    assert st.loc["b", "arrow_high"] and not st.loc["b", "arrow_low"]  # 30 ± 58.8
    assert res.meta["x_title"] == "Mean change (points)"
    # no scale: the axis follows the data
    free = forest_plot(eff, pooled, outcome_cfg={"label": "Score"}, comparison="pre_post",
                       measure="MC")
    assert free.meta["xlim"][0] <= -150 and free.meta["xlim"][1] >= 160


def test_n_is_the_membership_count(review, tables):
    res = draw(review, tables, "scim_total", "subgroup_forest", "pre_post", "MC", "level")
    pooled = tables["scim_total"]["pooled"]
    members = tables["scim_total"]["membership"]
    st = res.data[res.data["element"] == "study"]
    for _, row in st.iterrows():
        m = members[(members["subgroup_var"] == "level") & (members["measure"] == "MC")
                    & (members["subgroup"] == row["subgroup"])
                    & (members["study_id"] == row["study_id"])]
        assert row["n"] == m["n"].iloc[0]
    for _, sub in res.data[res.data["element"] == "subtotal"].iterrows():
        want = pooled[(pooled["subgroup_var"] == "level") & (pooled["subgroup"] == sub["subgroup"])
                      & (pooled["measure"] == "MC")]["n"].iloc[0]
        assert sub["n"] == want and sub["n1"] == want
        assert f"{want:.0f}" in texts(res)


def test_n_cells_follow_the_rows_n_not_n1():
    eff = pd.DataFrame({"study_id": ["a", "b"], "label": ["A 2001", "B 2002"],
                        "comparison": "pre_post", "measure": "MC", "yi": [5.0, 3.0],
                        "vi": [4.0, 2.0], "n1": [40.0, 40.0], "n2": [41.0, 41.0],
                        "n": [41.0, 40.0]})
    pooled = pd.DataFrame([{"comparison": "pre_post", "measure": "MC", "subgroup_var": "overall",
                            "subgroup": "all", "model": "random", "tau2_method": "REML",
                            "ci_method": forest_options()["ci_method"], "k": 2, "n": 81.0, "estimate": 3.6,
                            "ci_low": 0.0, "ci_high": 7.0}])
    res = forest_plot(eff, pooled, outcome_cfg={"label": "S"}, comparison="pre_post",
                      measure="MC")
    assert "41" in texts(res) and "81" in texts(res) and "80" not in texts(res)
    assert res.data.loc[res.data["element"] == "overall", "n1"].iloc[0] == 81


def test_one_study_pool_has_the_tables_ci(review, tables):
    res = draw(review, tables, "uems", "forest", "pre_post", "MC")
    pooled = tables["uems"]["pooled"]
    # the one rule for a single study (scimeta.pool): the primary row has the study's own
    # Wald CI, the same as the wald row, and the figure draws the primary row
    rows = pooled[(pooled["subgroup_var"] == "overall") & (pooled["measure"] == "MC")
                  & (pooled["model"] == "random") & (pooled["tau2_method"] == "REML")]
    primary = rows[rows["primary"].astype(str).str.lower() == "true"].iloc[0]
    wald = rows[rows["ci_method"] == "wald"].iloc[0]
    assert (primary["ci_low"], primary["ci_high"]) == (wald["ci_low"], wald["ci_high"])
    ov = res.data[res.data["element"] == "overall"].iloc[0]
    st = res.data[res.data["element"] == "study"].iloc[0]
    assert (ov["ci_low"], ov["ci_high"]) == (primary["ci_low"], primary["ci_high"])
    np.testing.assert_allclose([st["ci_low"], st["ci_high"]], [ov["ci_low"], ov["ci_high"]],
                               rtol=1e-12)
    assert any(line.startswith("One study (single study, not pooled): the total is the "
                               "study's own estimate with its 95% Wald-type CI")
               for line in res.meta["footer"])


# --------------------------------------------------------------------------- text
def test_forest_text_x_title_decimals_tau2_and_marks(review, tables):
    res = draw(review, tables, "scim_total", "subgroup_forest", "pre_post", "MC", "level")
    assert res.meta["x_title"] == "Mean change (points)" and "x-title" in gids(res)
    # one number of decimals for every mean and SD
    for cell in ("29.10", "17.00", "25.10"):
        assert cell in texts(res)
    for name in ("asia_motor",):
        for var in ("level", "phase"):
            r = draw(review, tables, name, "subgroup_forest", "between_arms", "MD", var)
            assert "tau^2" not in joined(r) and "tau2" not in joined(r)
    md = draw(review, tables, "asia_motor", "forest", "between_arms", "MD")
    assert "Srivastava 2019 \u2021" in texts(md) and "Shin 2015 \u00a7" in texts(md)
    foot = " ".join(md.meta["footer"])
    assert "\u2021\u00a0Between-arm difference as reported" in foot
    assert "\u00a7\u00a0Change from baseline in each arm (change scores)" in foot
    assert "Not counted in N (n not reported): Srivastava 2019." in foot


# --------------------------------------------------------------------------- r sensitivity
def test_r_sensitivity_of_one_study_draws_its_ci_band(review, tables):
    res = draw(review, tables, "lems", "sensitivity", "pre_post", "MC")
    assert res.kind == "r_sensitivity" and not res.meta.get("placeholder")
    assert "ci-band" in gids(res)
    assert np.isfinite(res.data["ci_low"]).all() and np.isfinite(res.data["ci_high"]).all()
    ax = res.figure.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "95% CI (the study's own)" in legend and "Primary analysis (r = 0.5)" in legend
    assert not ax.texts  # no label inside the plot, over the lines
    # the legend sits above the plot area
    fig = res.figure
    renderer = fig.canvas.get_renderer()
    assert ax.get_legend().get_window_extent(renderer).y0 >= ax.get_window_extent(renderer).y1 - 1


def test_r_sensitivity_skipped_when_no_study_uses_the_assumed_r(review, tables):
    sweep = tables["uems"]["sensitivity"]
    assert (sweep["k_assumed_r"] == 0).all()
    res = draw(review, tables, "uems", "sensitivity", "pre_post", "MC")
    assert res.meta["placeholder"] and res.meta["skipped"] == "no study uses the assumed r"
    assert "does not depend on the assumed r" in res.data["message"].iloc[0]


# --------------------------------------------------------------------------- risk of bias
@pytest.mark.parametrize("layout", ["compact", "revman"])
def test_forest_rob_column_has_a_dot_per_domain(review, tables, rob_sheet, layout):
    """A dot per domain, the domains of each tool named below the plot (the tools mix: JBI
    and ROBINS-I); where that does not fit a double column, each study's overall dot."""
    res = draw(review, tables, "scim_total", "forest", "pre_post", "MC", rob=rob_sheet,
               layout=layout)
    st = res.data[res.data["element"] == "study"]
    dots = forest_rob_data(rob_sheet, review.studies, list(st["study_id"]))
    circles = [p for ax in res.figure.axes for p in ax.patches if isinstance(p, Circle)]
    assert res.meta["size_in"][0] <= 7.1
    footer = " ".join(res.meta["footer"])
    from scimeta.rob import TOOLS

    tools = [TOOLS[t] for t in dict.fromkeys(dots["tool"])]
    if res.meta["rob_domains"]:
        assert len(circles) == len(dots)
        assert "Risk of bias" in texts(res)
        for tool in tools:  # every tool's domains by name, in order
            d, name = tool.domains[0]
            assert f"Risk of bias, {tool.name} (dots left to right): {d} {name.lower()};" in footer
    else:
        assert len(circles) == len(st)
        assert "RoB" in texts(res)
        assert "Risk of bias: each study's overall judgement (" in footer
        assert all(tool.name in footer for tool in tools)
    want = dots[dots["domain"] == "overall"].set_index("study_id")["judgement"]
    assert st["rob_overall"].tolist() == [want[s] for s in st["study_id"]]
    assert res.meta["rob"]
    plain = draw(review, tables, "scim_total", "forest", "pre_post", "MC")
    assert not plain.meta["rob"] and "rob_overall" not in plain.data
    assert not [p for ax in plain.figure.axes for p in ax.patches if isinstance(p, Circle)]


def test_broken_rob_sheet_leaves_the_forest_plot_drawn(review, tables, rob_sheet):
    broken = rob_sheet.assign(judgement="maybe")
    res = draw(review, tables, "scim_total", "forest", "pre_post", "MC", rob=broken)
    assert res.kind == "forest" and not res.meta.get("placeholder")
    assert any(line.startswith("Risk of bias not shown:") for line in res.meta["footer"])


def test_figures_with_rob_and_warnings_are_byte_stable(review, tables, rob_sheet, tmp_path):
    items = [("scim_total", "subgroup_forest", "pre_post", "MC", "level"),
             ("asia_motor", "funnel", "pre_post", "MC", ""),
             ("asia_motor", "bubble", "pre_post", "MC", "year"),
             ("lems", "sensitivity", "pre_post", "MC", "")]
    for i, spec in enumerate(items):
        outs = []
        for run in (0, 1):
            res = draw(review, tables, *spec, rob=rob_sheet)
            save_figure(res, tmp_path / f"{run}" / f"f{i}", ("svg", "png"))
            outs.append({ext: (tmp_path / f"{run}" / f"f{i}.{ext}").read_bytes()
                         for ext in ("svg", "png", "csv")})
        assert outs[0] == outs[1], spec
