"""Funnel, r-sensitivity and bubble plots; saving; byte-identical regeneration."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from scimeta.plotting import (
    FigureResult,
    bubble_plot,
    caption_funnel,
    caption_r_sensitivity,
    funnel_plot,
    r_sensitivity_plot,
    save_figure,
)

YI = np.array([2.32, 5.19, 3.59, 8.99, 6.2, 4.54, -1.1, 0.4])
VI = np.array([7.9, 5.7, 11.9, 4.4, 15.2, 31.5, 9.0, 20.0])


def _gids(fig):
    return {a.get_gid() for ax in fig.axes for a in ax.get_children() if a.get_gid()}


def test_funnel_contours_points_and_optional_layers():
    res = funnel_plot(YI, VI, estimate=4.2, measure="MD", labels=list("ABCDEFGH"))
    gids = _gids(res.figure)
    assert {"contour-0.1", "contour-0.05", "contour-0.01", "contour-outer", "studies",
            "estimate-line", "pseudo-ci"} <= gids
    assert "egger-line" not in gids and "filled" not in gids
    d = res.data
    st = d[d["element"] == "study"]
    np.testing.assert_array_equal(st["x"], YI)
    np.testing.assert_allclose(st["y"], np.sqrt(VI), rtol=1e-15)
    cont = d[d["element"] == "contour"].set_index("label")["x"]
    assert cont["p = 0.05"] == pytest.approx(stats.norm.ppf(0.975), rel=1e-12)
    tri = [a for a in res.figure.axes[0].patches if a.get_gid() == "contour-0.01"][0]
    (x0, y0), (x1, y1) = tri.get_xy()[0], tri.get_xy()[1]
    assert (x0, y0) == (0, 0) and x1 / y1 == pytest.approx(stats.norm.ppf(0.995), rel=1e-12)
    assert res.figure.axes[0].yaxis_inverted()

    more = funnel_plot(YI, VI, estimate=4.2, measure="MD", egger={"intercept": 3.0, "slope": 0.5},
                       filled=pd.DataFrame({"yi": [-2.0], "vi": [9.0]}))
    assert {"egger-line", "filled"} <= _gids(more.figure)
    eg = [a for a in more.figure.axes[0].lines if a.get_gid() == "egger-line"][0]
    xs, ys = eg.get_data()
    assert xs[0] == 3.0 and (xs[1] - xs[0]) / (ys[1] - ys[0]) == pytest.approx(0.5)


def test_funnel_rejects_bad_variance():
    with pytest.raises(ValueError, match="'B'"):
        funnel_plot([1.0, 2.0], [1.0, 0.0], estimate=1.0, measure="MD", labels=["A", "B"])


def _sweep():
    r = np.round(np.arange(0, 1.0, 0.1), 1)
    est = 0.25 + 0.07 * r
    return pd.DataFrame({"measure": "SMCR", "r_assumed": r, "k": 5, "k_own_r": 2,
                         "estimate": est, "ci_low": est - 0.17, "ci_high": est + 0.17,
                         "pi_low": est - 0.2, "pi_high": est + 0.2, "level": 0.95})


def test_r_sensitivity_plot_draws_the_sweep():
    sw = _sweep()
    res = r_sensitivity_plot(sw, outcome_cfg={"label": "ASIA motor score"}, primary_r=0.5)
    ax = res.figure.axes[0]
    line = [a for a in ax.lines if a.get_gid() == "estimate"][0]
    np.testing.assert_array_equal(line.get_xdata(), sw["r_assumed"])
    np.testing.assert_array_equal(line.get_ydata(), sw["estimate"])
    assert {"ci-band", "prediction-band", "primary-r", "null-line"} <= _gids(res.figure)
    np.testing.assert_array_equal(res.data["ci_low"], sw["ci_low"])
    texts = [t.get_text() for t in res.figure.texts]
    assert any("2 of 5 studies keep their own" in t for t in texts)


def test_r_sensitivity_plot_rom_on_log_axis():
    sw = _sweep().assign(measure="ROM")
    res = r_sensitivity_plot(sw)
    assert res.figure.axes[0].get_yscale() == "log"
    np.testing.assert_allclose(res.data["estimate"], np.exp(sw["estimate"]), rtol=1e-15)


def test_bubble_plot_weights_line_and_band():
    x = np.linspace(1, 8, len(YI))
    coef, vcov, tau2 = (1.0, 0.6), np.array([[2.0, -0.3], [-0.3, 0.08]]), 1.5
    res = bubble_plot(YI, VI, x, coef=coef, vcov=vcov, tau2=tau2, xlabel="Dose", measure="MD")
    st = res.data[res.data["element"] == "study"]
    w = 1 / (VI + tau2)
    np.testing.assert_allclose(st["weight_pct"], 100 * w / w.sum(), rtol=1e-12)
    np.testing.assert_allclose(st["marker_area_pt2"] / w, (st["marker_area_pt2"] / w).iloc[0])
    fit = res.data[res.data["element"] == "fit"]
    np.testing.assert_allclose(fit["y"], 1.0 + 0.6 * fit["x"], rtol=1e-12)
    g = np.column_stack([np.ones(len(fit)), fit["x"]])
    se = np.sqrt(np.einsum("ni,ij,nj->n", g, vcov, g))
    np.testing.assert_allclose(fit["ci_high"] - fit["y"], stats.norm.ppf(0.975) * se,
                               rtol=1e-12)
    coll = [c for c in res.figure.axes[0].collections if c.get_gid() == "bubbles"][0]
    np.testing.assert_allclose(coll.get_sizes(), st["marker_area_pt2"])
    assert {"ci-band", "fit-line"} <= _gids(res.figure)


def test_save_figure_writes_formats_and_data(tmp_path):
    res = funnel_plot(YI, VI, estimate=4.2, measure="MD", title="Funnel 中文")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" is a UserWarning
        written = save_figure(res, tmp_path / "funnel")
    assert [Path(p).name for p in written] == ["funnel.svg", "funnel.png", "funnel.pdf",
                                               "funnel.csv"]
    svg = (tmp_path / "funnel.svg").read_text(encoding="utf-8")
    assert "<text" in svg and "Funnel 中文" in svg  # text stays text
    assert "Standard error" in svg
    pdf = (tmp_path / "funnel.pdf").read_bytes()
    assert b"/CIDFontType2" in pdf and b"/Type3" not in pdf  # Type 42 (TrueType) fonts
    assert b"CreationDate" not in pdf
    png = (tmp_path / "funnel.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and b"Software" not in png
    dpi = re.search(rb"pHYs(.{4})", png).group(1)
    assert int.from_bytes(dpi, "big") == round(300 / 0.0254)
    data = pd.read_csv(tmp_path / "funnel.csv")
    assert len(data) == len(res.data)
    with pytest.raises(ValueError, match="unknown figure format"):
        save_figure(res, tmp_path / "x", formats=("jpg",))


_RENDER = textwrap.dedent("""
    import sys
    from pathlib import Path
    import numpy as np, pandas as pd
    from scimeta.plotting import (forest_plot, funnel_plot, bubble_plot, r_sensitivity_plot,
                                  save_figure)

    out = Path(sys.argv[1])
    k = 6
    yi = np.array([2.32, 5.19, -3.59, 8.99, 6.2, 4.54])
    vi = np.array([7.9, 5.7, 11.9, 4.4, 15.2, 31.5])
    eff = pd.DataFrame({"study_id": [f"s{i}" for i in range(k)],
                        "label": ["王伟 2019", "李娜等 2020", "Smith 2021", "Jones 2022",
                                  "García 2023", "Ødegaard 2024"],
                        "outcome": "o", "comparison": "between_arms", "measure": "MD",
                        "yi": yi, "vi": vi, "n1": 20.0, "mean1": 30.5, "sd1": 9.25,
                        "n2": 21.0, "mean2": 28.25, "sd2": 8.5,
                        "grp": ["a", "a", "b", "b", "b", "a"]})
    def row(var, lev, est):
        return {"outcome": "o", "comparison": "between_arms", "measure": "MD", "subgroup_var": var,
                "subgroup": lev, "k": 3, "model": "random", "tau2_method": "REML",
                "ci_method": "hksj", "estimate": est, "ci_low": est - 2, "ci_high": est + 2,
                "stat": 2.5, "p": 0.04, "df": 2, "pi_low": est - 5, "pi_high": est + 5,
                "tau2": 1.2, "I2": 30.0, "Q": 4.0, "Q_df": 2, "Q_p": 0.13}
    pooled = pd.DataFrame([row("overall", "all", 4.0), row("grp", "a", 4.5), row("grp", "b", 3.7)])
    cfg = {"label": "Score", "higher_is_better": True,
           "arms": {"treatment": "treatment", "control": "control", "baseline": "baseline",
                    "follow_up": "follow-up"}}
    save_figure(forest_plot(eff, pooled, outcome_cfg=cfg, comparison="between_arms", measure="MD",
                            subgroup_var="grp", layout="revman", tau2_method="REML",
                            ci_method="hksj", level=0.95, pi_min_k=3), out / "forest")
    save_figure(funnel_plot(yi, vi, estimate=4.0, measure="MD"), out / "funnel")
    save_figure(bubble_plot(yi, vi, np.arange(k, dtype=float), coef=(3.0, 0.2),
                            vcov=[[1.0, 0.0], [0.0, 0.1]], xlabel="x"), out / "bubble")
    sw = pd.DataFrame({"measure": "MC", "r_assumed": [0.0, 0.5, 0.9], "estimate": [1.0, 1.1, 1.3],
                       "ci_low": [0.1, 0.2, 0.3], "ci_high": [2.0, 2.1, 2.2]})
    save_figure(r_sensitivity_plot(sw, primary_r=0.5), out / "rsens")
""")


def test_regeneration_is_byte_identical(tmp_path):
    runs = []
    for i in (1, 2):
        out = tmp_path / f"run{i}"
        out.mkdir()
        subprocess.run([sys.executable, "-c", _RENDER, str(out)], check=True, cwd=tmp_path)
        runs.append(out)
    files = sorted(p.name for p in runs[0].iterdir())
    assert len(files) == 16  # 4 figures x (svg, png, pdf, csv)
    assert files == sorted(p.name for p in runs[1].iterdir())
    for name in files:
        assert (runs[0] / name).read_bytes() == (runs[1] / name).read_bytes(), name


def test_figure_result_is_frozen():
    res = funnel_plot(YI, VI, estimate=4.2, measure="MD")
    assert isinstance(res, FigureResult)
    with pytest.raises(AttributeError):
        res.kind = "x"
    assert res.to_frame() is not res.data


def test_captions_name_what_is_drawn():
    cap = caption_funnel(outcome_label="ASIA motor score", measure="SMD", k=7, egger=True)
    assert "**ASIA motor score**" in cap and "7 studies" in cap and "Egger" in cap
    assert "p < 0.1, 0.05, 0.01" in cap and "\n" not in cap
    cap = caption_r_sensitivity(outcome_label="ASIA motor score", measure="SMCR", primary_r=0.5,
                                tau2_method="DL", ci_method="wald", level=0.9)
    assert "DerSimonian–Laird" in cap and "Wald" in cap and "r = 0.5" in cap
    assert "90% CI" in cap
    assert "raw-score SD" in cap


def test_parallel_save_gives_the_same_bytes(tmp_path):
    res = funnel_plot(YI, VI, estimate=4.2, measure="MD", egger={"intercept": 1, "slope": 0.3})
    one = save_figure(res, tmp_path / "one")
    two = save_figure(res, tmp_path / "two", jobs=3)
    assert [Path(p).suffix for p in one] == [Path(p).suffix for p in two]
    for a, b in zip(one, two):
        assert Path(a).read_bytes() == Path(b).read_bytes(), a
    with pytest.raises(ValueError, match="jobs"):
        save_figure(res, tmp_path / "x", jobs=0)


def test_axes_say_the_measure_its_unit_and_scale():
    """One rule for every figure (scale_label): the unit of a raw difference, a ratio on a
    log axis, a log ratio where the log ratios themselves are drawn (funnel, GOSH)."""
    from _printable import printable_problems

    from scimeta.gosh import gosh
    from scimeta.plotting import cumulative_forest_plot, gosh_plot
    from scimeta.plotting._common import scale_label

    assert scale_label("MD", "points") == "Mean difference (points)"
    assert scale_label("MC", "points") == "Mean change (points)"
    assert scale_label("SMD", "points") == "Std. mean difference (Hedges' g)"
    assert scale_label("ROM") == "Ratio of means (log scale)"
    assert scale_label("ROM", log_values=True) == "Log ratio of means"
    funnel = funnel_plot(YI, VI, estimate=3.0, measure="MD", unit="points")
    assert funnel.figure.axes[0].get_xlabel() == "Mean difference (points)"
    bubble = bubble_plot(YI, VI, np.arange(8.0), coef=(1.0, 0.5), xlabel="year", measure="MD",
                         unit="points")
    assert bubble.figure.axes[0].get_ylabel() == "Mean difference (points)"
    log_yi = np.log(np.array([1.1, 1.3, 0.9, 1.5, 1.2, 1.05]))
    log_vi = np.array([0.01, 0.02, 0.015, 0.03, 0.02, 0.01])
    table = gosh(log_yi, log_vi, tau2_method="DL")
    plot = gosh_plot(table, measure="ROM")
    assert plot.figure.axes[0].get_xlabel() == "Log ratio of means"
    footnote = [t.get_text() for t in plot.figure.texts][0]
    assert footnote.startswith("57 subsets of 6 studies")  # one-study subsets have no I²
    assert printable_problems(plot.figure) == []
    steps = pd.DataFrame({"step": [1, 2], "study_id": ["a", "b"], "order_value": [2000, 2001],
                          "k": [1, 2], "estimate": [0.1, 0.2], "ci_low": [-0.1, 0.0],
                          "ci_high": [0.3, 0.4]})
    cum = cumulative_forest_plot(steps, measure="MC", unit="points")
    assert cum.figure.axes[0].get_xlabel() == "Mean change (points)"
    assert cumulative_forest_plot(steps, measure="ROM").figure.axes[0].get_xlabel() == (
        "Ratio of means (log scale)")


def test_small_figures_keep_long_labels_inside():
    """Funnel, bubble, cumulative and r-sensitivity plots with long labels and titles: every
    drawn text inside the figure, none under 6 pt."""
    from _printable import printable_problems

    from scimeta.plotting import cumulative_forest_plot

    title = "WHOQOL-BREF overall quality of life (MC)"
    labels = [f"Akhlaghpasand et al. 2025, cohort {i}" for i in range(len(YI))]
    figures = [
        funnel_plot(YI, VI, estimate=3.0, measure="MD", unit="points", title=title,
                    labels=labels, warning="Only 8 studies (fewer than 10): too few to judge "
                    "funnel asymmetry; the Egger line has little power."),
        bubble_plot(YI, VI, np.arange(8.0) + 2000, coef=(1.0, 0.5), xlabel="Year",
                    measure="MD", unit="points", labels=labels, title=title,
                    stats={"slope": 0.5, "ci_low": -0.1, "ci_high": 1.1, "p": 0.1, "k": 8}),
        cumulative_forest_plot(pd.DataFrame({
            "step": range(1, 9), "study_id": [f"s{i}" for i in range(8)],
            "order_value": range(2000, 2008), "k": range(1, 9), "estimate": YI,
            "ci_low": YI - 2, "ci_high": YI + 2}), measure="MD", unit="points",
            labels=[f"+ {lab}" for lab in labels], title=title),
        r_sensitivity_plot(pd.DataFrame({
            "r_assumed": np.linspace(0, 0.9, 10), "estimate": np.linspace(5, 4, 10),
            "ci_low": np.linspace(1, 0, 10), "ci_high": np.linspace(9, 8, 10),
            "measure": "MC", "k": 3, "k_own_r": 1}), outcome_cfg={"unit": "points"},
            primary_r=0.5, title=title),
    ]
    for fig in figures:
        assert printable_problems(fig.figure) == [], fig.kind
