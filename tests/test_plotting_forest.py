"""Structural checks of forest plots: what is drawn, where, and with which numbers."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.lines import Line2D
from _settings import forest_options, outcome
from matplotlib.patches import Polygon, Rectangle

from scimeta.effects import escalc
from scimeta.plotting import caption_forest, favours_labels
from scimeta.plotting import forest_plot as _forest_plot
from scimeta.plotting.style import missing_glyphs
from scimeta.pool import pool

Z95 = 1.959963984540054
CFG = outcome(label="ASIA motor score", higher_is_better=True, scale=[0, 100])
ARMS = CFG["arms"]


def forest_plot(*args, **kw):
    """The forest plot with the config's default layout and primary model unless given."""
    return _forest_plot(*args, **{**forest_options(), **kw})


# Text positions are compared in display pixels at 100 dpi; right/left
# alignment puts edges within rounding of each other.
ALIGN_TOL_PX = 0.5


def _frame(measure, comparison, *, n1, m1, sd1, n2, m2, sd2, labels, r=None, extra=None):
    n1, m1, sd1, n2, m2, sd2 = (np.asarray(a, float) for a in (n1, m1, sd1, n2, m2, sd2))
    if comparison == "pre_post":
        es = escalc(measure, ni=n1, m1i=m1, sd1i=sd1, m2i=m2, sd2i=sd2, ri=np.asarray(r, float))
    else:
        es = escalc(measure, n1i=n1, m1i=m1, sd1i=sd1, n2i=n2, m2i=m2, sd2i=sd2)
    se = np.sqrt(es.vi)
    df = pd.DataFrame({
        "study_id": [f"s{i + 1}" for i in range(len(n1))], "label": labels,
        "outcome": "asia_motor", "comparison": comparison, "measure": measure,
        "yi": es.yi, "vi": es.vi, "sei": se, "ci_low": es.yi - Z95 * se,
        "ci_high": es.yi + Z95 * se, "n1": n1, "mean1": m1, "sd1": sd1, "n2": n2, "mean2": m2,
        "sd2": sd2,
    })
    if r is not None:
        df["r"] = r
    for k, v in (extra or {}).items():
        df[k] = v
    return df


def _pooled(eff, subgroup_var=None, tau2_method="REML", ci_method=forest_options()["ci_method"]):
    rows = []

    def add(df, var, level):
        res = pool(df["yi"].to_numpy(), df["vi"].to_numpy(), tau2_method=tau2_method,
                   ci_method=ci_method).to_dict()
        res.update(outcome="asia_motor", comparison=df["comparison"].iloc[0],
                   measure=df["measure"].iloc[0], subgroup_var=var, subgroup=level)
        rows.append(res)

    add(eff, "overall", "all")
    if subgroup_var:
        for level, df in eff.groupby(subgroup_var, sort=True):
            add(df, subgroup_var, level)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def prepost():
    return _frame(
        "MC", "pre_post", n1=[25, 7, 15, 11, 12], m1=[17.88, 39.77, 14.34, 29.79, 18.39],
        sd1=[11.31, 10.67, 14.34, 7.73, 15.45], n2=[25, 7, 15, 11, 12],
        m2=[12.76, 31.86, 11.65, 28.0, 15.64], sd2=[11.36, 10.97, 11.51, 8.65, 14.64],
        r=[0.5, 0.5, 0.81, 0.72, 0.5],
        labels=["Oraee-Yazdani 2021", "Muse 2024", "Honmou 2021", "Akhlaghpasand 2025",
                "Vaquero 2018"],
        extra={"r_source": ["assumed (config prepost_r)"] * 2 + ["reported (follow-up row)"] * 2
               + ["assumed (config prepost_r)"],
               "level": ["cervical", "cervical", "cervical", "thoracolumbar", "thoracolumbar"]})


@pytest.fixture(scope="module")
def between():
    return _frame(
        "MD", "between_arms", n1=[32, 34, 47, 57, 9, 15], m1=[47.1, 37.5, 40.1, 29.8, 48.8, 40.7],
        sd1=[7.64, 8.41, 14.75, 8.65, 11.31, 17.75], n2=[50, 57, 20, 24, 53, 30],
        m2=[44.8, 32.3, 36.5, 20.8, 42.6, 36.1], sd2=[17.5, 14.42, 12.04, 8.6, 7.09, 17.61],
        labels=[f"Author{i} {2000 + i}" for i in range(6)])


@pytest.fixture(scope="module")
def subgroup_tests():
    return pd.DataFrame([
        {"outcome": "asia_motor", "comparison": "pre_post", "measure": "MC",
         "subgroup_var": "level", "method": "separate_tau2", "Q_between": 1.234, "df": 1,
         "p": 0.2663},
        {"outcome": "asia_motor", "comparison": "pre_post", "measure": "MC",
         "subgroup_var": "level", "method": "moderator_model", "Q_between": 1.1, "df": 1,
         "p": 0.294}])


def _artists(fig, prefix, kind=None):
    out = []
    for ax in fig.axes:
        for a in ax.get_children():
            gid = a.get_gid() or ""
            if gid.startswith(prefix) and (kind is None or isinstance(a, kind)):
                out.append(a)
    return out


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def _effect_text(y, lo, hi, d=2):
    return f"{y:.{d}f} [{lo:.{d}f}, {hi:.{d}f}]".replace("-", "\u2212")


def test_prepost_subgroups_structure(prepost, subgroup_tests):
    pooled = _pooled(prepost, "level")
    res = forest_plot(prepost, pooled, outcome_cfg=CFG, comparison="pre_post", measure="MC",
                      subgroup_var="level", subgroup_tests=subgroup_tests)
    fig = res.figure
    assert len(_artists(fig, "square-", Line2D)) == 5
    diamonds = sorted(a.get_gid() for a in _artists(fig, "diamond-", Polygon))
    assert diamonds == ["diamond-overall", "diamond-subgroup-1", "diamond-subgroup-2"]
    texts = _texts(fig)
    for lab in prepost["label"]:
        assert lab in texts
    for y, lo, hi in prepost[["yi", "ci_low", "ci_high"]].itertuples(index=False):
        assert _effect_text(y, lo, hi) in texts
    overall = pooled[pooled["subgroup_var"] == "overall"].iloc[0]
    assert _effect_text(overall["estimate"], overall["ci_low"], overall["ci_high"]) in texts
    assert "Level: cervical" in texts and "Level: thoracolumbar" in texts
    assert len(_artists(fig, "prediction-interval", Rectangle)) == int(
        np.isfinite(overall["pi_low"]))
    joined = "\n".join(texts)
    assert "Test for subgroup differences (separate \u03c4\u00b2 per subgroup): Q = 1.23, df = 1" \
        in joined
    assert "restricted maximum likelihood (REML)" in joined
    assert "Hartung\u2013Knapp\u2013Sidik\u2013Jonkman" in joined
    assert "Better than baseline" in texts and "Worse than baseline" in texts
    # r column: assumed correlations carry a dagger explained in the footer
    assert "0.50\u2020" in texts and "0.81" in texts and "assumed" in joined


def test_weights_are_inverse_variance_within_subgroup(prepost):
    pooled = _pooled(prepost, "level")
    res = forest_plot(prepost, pooled, outcome_cfg=CFG, comparison="pre_post", measure="MC",
                      subgroup_var="level")
    texts = _texts(res.figure)
    studies = res.data[res.data["element"] == "study"]
    for level, grp in prepost.groupby("level"):
        tau2 = pooled[(pooled["subgroup_var"] == "level")
                      & (pooled["subgroup"] == level)]["tau2"].iloc[0]
        w = 1 / (grp["vi"].to_numpy() + tau2)
        expected = 100 * w / w.sum()
        got = studies[studies["subgroup"] == level]["weight_pct"].to_numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-12)
        for e in expected:
            assert f"{e:.1f}%" in texts
    # square areas proportional to weights (all above the visibility floor here)
    side = studies["square_side_pt"].to_numpy()
    ratio = side**2 / studies["weight_pct"].to_numpy()
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-12)
    squares = {a.get_gid(): a.get_markersize() for a in _artists(res.figure, "square-", Line2D)}
    np.testing.assert_allclose([squares[f"square-{i:03d}"] for i in range(1, 6)], side)


def test_figure_data_holds_the_drawn_numbers(between):
    pooled = _pooled(between)
    res = forest_plot(between, pooled, outcome_cfg=CFG, comparison="between_arms", measure="MD")
    d = res.data
    st = d[d["element"] == "study"]
    np.testing.assert_array_equal(st["estimate"].to_numpy(), between["yi"].to_numpy())
    np.testing.assert_array_equal(st["ci_low"].to_numpy(), between["ci_low"].to_numpy())
    assert st["study_id"].tolist() == between["study_id"].tolist()
    ov = d[d["element"] == "overall"].iloc[0]
    assert ov["estimate"] == pooled["estimate"].iloc[0]
    assert ov["n1"] == between["n1"].sum() and ov["n2"] == between["n2"].sum()
    assert (d["row"].to_numpy() == np.arange(len(d))).all()
    assert set(d["scale"]) == {"linear"}
    # columns: treatment first, then control; no r column for between-arm effects
    assert "Treatment" in _texts(res.figure) and "Control" in _texts(res.figure)
    assert "r" not in _texts(res.figure)
    assert "Favours treatment" in _texts(res.figure)


def test_rom_is_drawn_as_ratios_on_a_log_axis():
    eff = _frame("ROM", "between_arms", n1=[42, 49, 9, 50], m1=[28.4, 18.8, 55.6, 39.8],
                 sd1=[8.53, 16.44, 5.83, 13.83], n2=[22, 58, 10, 22], m2=[21.4, 21.5, 50, 39.6],
                 sd2=[16.34, 5.24, 14.2, 5.02], labels=["A 2001", "B 2002", "C 2003", "D 2004"])
    res = forest_plot(eff, _pooled(eff), outcome_cfg=CFG, comparison="between_arms",
                      measure="ROM")
    ax = res.figure.axes[0]
    assert ax.get_xscale() == "log"
    null = _artists(res.figure, "null-line", Line2D)[0]
    assert list(null.get_xdata()) == [1.0, 1.0]
    st = res.data[res.data["element"] == "study"]
    np.testing.assert_allclose(st["estimate"], np.exp(eff["yi"]), rtol=1e-15)
    squares = sorted(_artists(res.figure, "square-", Line2D), key=lambda a: a.get_gid())
    np.testing.assert_allclose([s.get_xdata()[0] for s in squares], np.exp(eff["yi"]))
    texts = _texts(res.figure)
    for y, lo, hi in eff[["yi", "ci_low", "ci_high"]].itertuples(index=False):
        assert _effect_text(math.exp(y), math.exp(lo), math.exp(hi)) in texts


def test_single_study():
    eff = _frame("MD", "between_arms", n1=[50], m1=[35.2], sd1=[12.57], n2=[12], m2=[27.1],
                 sd2=[6.22], labels=["Solo 2020"])
    res = forest_plot(eff, _pooled(eff), outcome_cfg=CFG, comparison="between_arms",
                      measure="MD")
    assert len(_artists(res.figure, "square-", Line2D)) == 1
    assert not _artists(res.figure, "prediction-interval")
    texts = "\n".join(_texts(res.figure))
    assert "Heterogeneity: not applicable (k = 1)" in texts
    # one rule for a single study (scimeta.pool): its own Wald CI, named as not pooled,
    # under the primary CI method (whatever it is); no random-effects model line
    assert "Single study, not pooled (95% CI)" in texts
    assert "One study (single study, not pooled)" in texts
    assert "Random-effects model" not in texts
    total = res.data[res.data["element"] == "overall"].iloc[0]
    study = res.data[res.data["element"] == "study"].iloc[0]
    assert (total["ci_low"], total["ci_high"]) == pytest.approx((study["ci_low"], study["ci_high"]),
                                                                rel=1e-12)


def test_two_hundred_studies_and_size_grows(between):
    k = 200
    i = np.arange(k)
    eff = _frame("MD", "between_arms", n1=20 + i % 30, m1=40 + (i % 17) * 0.7, sd1=8 + i % 5,
                 n2=20 + (i * 7) % 30, m2=38 + (i % 11) * 0.5, sd2=9 + i % 4,
                 labels=[f"Author{j} {1990 + j % 35}" for j in i])
    res = forest_plot(eff, _pooled(eff, tau2_method="DL"), outcome_cfg=CFG,
                      comparison="between_arms", measure="MD", tau2_method="DL")
    assert len(_artists(res.figure, "square-", Line2D)) == k
    small = forest_plot(between, _pooled(between), outcome_cfg=CFG, comparison="between_arms",
                        measure="MD")
    h_big, h_small = res.figure.get_size_inches()[1], small.figure.get_size_inches()[1]
    assert h_big > h_small + (k - len(between)) * 0.15


def _many(k, level=False):
    i = np.arange(k)
    extra = {"level": np.where(i % 3 == 0, "cervical", "thoracolumbar")} if level else None
    return _frame("MD", "between_arms", n1=20 + i % 30, m1=40 + (i % 17) * 0.7, sd1=8 + i % 5,
                  n2=20 + (i * 7) % 30, m2=38 + (i % 11) * 0.5, sd2=9 + i % 4,
                  labels=[f"Author{j} {1990 + j % 35}" for j in i], extra=extra)


def _png_size(path):
    with open(path, "rb") as fh:
        head = fh.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


@pytest.mark.parametrize("subgroup_var", [None, "level"])
def test_more_studies_than_max_rows_give_a_summary_of_bounded_height(tmp_path, subgroup_var):
    """2,000 studies: the diamonds, PI and tests, no study rows; every study in the data."""
    from scimeta.plotting import save_figure

    k, max_rows = 2000, 100
    eff = _many(k, level=subgroup_var is not None)
    pooled = _pooled(eff, subgroup_var, tau2_method="DL")
    res = forest_plot(eff, pooled, outcome_cfg=CFG, comparison="between_arms", measure="MD",
                      tau2_method="DL", subgroup_var=subgroup_var, max_rows=max_rows,
                      title="ASIA motor score: treatment vs control (MD)")
    fig = res.figure
    assert res.meta["summary"] is True
    assert not _artists(fig, "square-") and not _artists(fig, "ci-")
    assert not [t for t in _texts(fig) if t.startswith("Author")]
    assert len(_artists(fig, "diamond-overall", Polygon)) == 1
    assert len(_artists(fig, "prediction-interval", Rectangle)) == 1
    n_sub = 0 if subgroup_var is None else eff[subgroup_var].nunique()
    assert len(_artists(fig, "diamond-subgroup-", Polygon)) == n_sub
    summaries = [t for t in _texts(fig) if f"studies (more than {max_rows} rows)" in t]
    assert len(summaries) == max(1, n_sub)
    if subgroup_var is None:
        assert summaries[0].startswith(f"{k:,} studies (more than {max_rows} rows)")
    studies = res.data[res.data["element"] == "study"]
    assert len(studies) == k and not studies["drawn"].any()
    assert sorted(studies["study_id"]) == sorted(eff["study_id"])
    drawn_yi = studies.set_index("study_id")["estimate"]
    np.testing.assert_allclose(drawn_yi[eff["study_id"]].to_numpy(), eff["yi"], rtol=1e-12)
    assert res.data.loc[res.data["element"] != "study", "drawn"].all()
    overall = res.data[res.data["element"] == "overall"].iloc[0]
    ref = pooled[pooled["subgroup_var"] == "overall"].iloc[0]
    assert overall["estimate"] == pytest.approx(ref["estimate"], rel=1e-12)
    # the axis is set by what is drawn: diamonds and prediction interval
    lo, hi = res.meta["xlim"]
    assert lo <= ref["pi_low"] and hi >= ref["pi_high"]
    written = save_figure(res, tmp_path / "forest", ("png",))
    width, height = _png_size(written[0])
    assert height < 2500 and width < 2500, (width, height)


def test_max_rows_keeps_small_plots_whole(between):
    full = forest_plot(between, _pooled(between), outcome_cfg=CFG, comparison="between_arms",
                       measure="MD")
    capped = forest_plot(between, _pooled(between), outcome_cfg=CFG, comparison="between_arms",
                         measure="MD", max_rows=len(between))
    assert capped.meta["summary"] is False
    assert len(_artists(capped.figure, "square-", Line2D)) == len(between)
    assert capped.data["drawn"].all()
    pd.testing.assert_frame_equal(full.data, capped.data)
    assert tuple(full.figure.get_size_inches()) == tuple(capped.figure.get_size_inches())
    with pytest.raises(ValueError, match="max_rows"):
        forest_plot(between, None, outcome_cfg=CFG, comparison="between_arms", measure="MD",
                    max_rows=0)


def _extent(fig, gid_prefix):
    r = fig.canvas.get_renderer()
    return [t.get_window_extent(r) for t in fig.axes[0].texts
            if (t.get_gid() or "").startswith(gid_prefix)]


@pytest.mark.parametrize("layout", ["revman", "compact"])
def test_columns_line_up_with_long_and_chinese_labels(layout):
    labels = ["王伟 2019", "李娜等 2020 (中文期刊)", "張偉 2021",
              "A very long author name with a long suffix et al. 2022"]
    eff = _frame("MD", "between_arms", n1=[57, 40, 43, 54], m1=[32.5, 49.1, 28.6, 52.4],
                 sd1=[8.31, 10.79, 11.56, 12.2], n2=[38, 48, 51, 19], m2=[29, 46.2, 20.2, 44.6],
                 sd2=[17.94, 15.3, 13.09, 17.86], labels=labels)
    for lab in labels:
        assert missing_glyphs(lab, extended=False) == []  # shipped fonts cover them
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph is a UserWarning
        res = forest_plot(eff, _pooled(eff), outcome_cfg=CFG, comparison="between_arms",
                          measure="MD", layout=layout)
        res.figure.canvas.draw()
    fig = res.figure
    lab_ext = _extent(fig, "label-")
    eff_ext = [e for e in _extent(fig, "effect-")]
    assert len({round(e.x0, 1) for e in lab_ext}) == 1 or \
        np.ptp([e.x0 for e in lab_ext]) < ALIGN_TOL_PX
    assert np.ptp([e.x1 for e in eff_ext]) < ALIGN_TOL_PX
    # nothing of a label reaches the next column
    ax = fig.axes[0]
    next_left = min(
        [t.get_window_extent(fig.canvas.get_renderer()).x0 for t in ax.texts
         if t.get_text() in ("Mean", "Total", "Weight")] if layout == "revman"
        else [ax.get_window_extent().x0])
    assert max(e.x1 for e in lab_ext) < next_left
    assert all(e.x1 <= fig.bbox.width + ALIGN_TOL_PX for e in eff_ext)


def test_compact_layout_moves_notes_to_footer(prepost, subgroup_tests):
    res = forest_plot(prepost, _pooled(prepost, "level"), outcome_cfg=CFG, comparison="pre_post",
                      measure="MC", subgroup_var="level", subgroup_tests=subgroup_tests,
                      layout="compact")
    texts = _texts(res.figure)
    assert "Mean" not in texts and "SD" not in texts
    footers = [t.get_text() for t in res.figure.axes[0].texts
               if (t.get_gid() or "").startswith("footer-")]
    joined = " ".join(footers)
    assert "Cervical \u2013 heterogeneity \u03c4\u00b2" in joined
    assert "Overall \u2013 heterogeneity" in joined and "test for effect t = " in joined
    assert len(_artists(res.figure, "diamond-", Polygon)) == 3


def test_arrows_where_a_ci_leaves_the_axis(between):
    res = forest_plot(between, _pooled(between), outcome_cfg=CFG, comparison="between_arms",
                      measure="MD", xlim=(-5, 10))
    st = res.data[res.data["element"] == "study"]
    lows = st["ci_low"].to_numpy() < -5
    highs = st["ci_high"].to_numpy() > 10
    assert st["arrow_low"].tolist() == lows.tolist()
    assert st["arrow_high"].tolist() == highs.tolist()
    assert len(_artists(res.figure, "arrow-low-")) == lows.sum() > 0
    assert len(_artists(res.figure, "arrow-high-")) == highs.sum() > 0
    assert res.figure.axes[0].get_xlim() == (-5.0, 10.0)


def test_favours_labels_follow_direction():
    assert favours_labels("between_arms", True, ARMS) == ("Favours control", "Favours treatment")
    assert favours_labels("between_arms", False, ARMS) == ("Favours treatment", "Favours control")
    assert favours_labels("pre_post", False, ARMS) == ("Better than baseline",
                                                       "Worse than baseline")
    assert favours_labels("pre_post", None, ARMS) is None


def test_common_model_footer_and_no_prediction_interval(between):
    rows = []
    res = pool(between["yi"], between["vi"], model="common", ci_method="wald").to_dict()
    res.update(outcome="asia_motor", comparison="between_arms", measure="MD",
               subgroup_var="overall", subgroup="all")
    rows.append(res)
    out = forest_plot(between, pd.DataFrame(rows), outcome_cfg=CFG, comparison="between_arms",
                      measure="MD", model="common", ci_method="wald")
    joined = "\n".join(_texts(out.figure))
    assert "Common-effect model" in joined and "Wald" in joined
    assert "IV, Common, 95% CI" in joined
    assert len(_artists(out.figure, "diamond-overall")) == 1


def test_errors_name_study_and_column(between):
    bad = between.copy()
    bad.loc[2, "vi"] = 0.0
    with pytest.raises(ValueError, match="s3.*'vi'"):
        forest_plot(bad, None, outcome_cfg=CFG, comparison="between_arms", measure="MD")
    with pytest.raises(ValueError, match="missing column"):
        forest_plot(between.drop(columns="yi"), None, outcome_cfg=CFG,
                    comparison="between_arms", measure="MD")
    with pytest.raises(ValueError, match="no rows"):
        forest_plot(between, None, outcome_cfg=CFG, comparison="between_arms", measure="SMD")
    with pytest.raises(ValueError, match="pooled: missing column.*subgroup_var"):
        forest_plot(between, _pooled(between).drop(columns="subgroup_var"), outcome_cfg=CFG,
                    comparison="between_arms", measure="MD")
    with pytest.raises(ValueError, match="'level' is not a column"):
        forest_plot(between, None, outcome_cfg=CFG, comparison="between_arms", measure="MD",
                    subgroup_var="level")


def test_caption_names_model_estimator_and_ci():
    cap = caption_forest(outcome_label="ASIA motor score", comparison="pre_post", measure="MC",
                         arms=ARMS, tau2_method="PM", ci_method="wald", level=0.95, pi_min_k=3,
                         subgroup_var="level", k=5)
    assert "\n" not in cap
    assert "**ASIA motor score**" in cap and "5 studies" in cap
    assert "Paule–Mandel" in cap and "Wald" in cap and "*level*" in cap
    assert "prediction interval" in cap


@pytest.mark.parametrize("layout", ["revman", "compact"])
@pytest.mark.parametrize("which", ["between", "prepost"])
def test_forest_fits_a_double_column_with_long_labels(request, layout, which):
    """At most 180 mm wide (7.1 in), no text under 6 pt and none outside the figure, with
    long study labels and a long title: the plot column narrows, then the type gets smaller."""
    from _printable import DOUBLE_COLUMN_IN, printable_problems

    eff = request.getfixturevalue(which).copy()
    eff["label"] = [f"{name} et al. {2000 + i} (cohort A)"
                    for i, name in enumerate(["Akhlaghpasand", "Oraee-Yazdani", "Shin",
                                              "Srivastava", "Curt", "Levi"][:len(eff)])]
    comparison, measure = eff["comparison"].iloc[0], eff["measure"].iloc[0]
    res = forest_plot(eff, _pooled(eff), outcome_cfg=CFG, comparison=comparison,
                      measure=measure, layout=layout,
                      title="ASIA motor score: treatment vs control, a long title " * 2)
    assert printable_problems(res.figure, max_width_in=DOUBLE_COLUMN_IN) == []
    assert res.meta["body_pt"] >= 6.0
    normal = forest_plot(request.getfixturevalue(which), _pooled(eff), outcome_cfg=CFG,
                         comparison=comparison, measure=measure, layout=layout)
    assert printable_problems(normal.figure, max_width_in=DOUBLE_COLUMN_IN) == []
    assert normal.meta["body_pt"] >= res.meta["body_pt"]


def test_max_rows_applies_to_each_section():
    """102 studies: a subgroup of 100 collapses to its summary, one of 2 shows its studies."""
    eff = _many(102)
    eff["level"] = ["cervical"] * 2 + ["thoracolumbar"] * 100
    pooled = _pooled(eff, "level", tau2_method="DL")
    res = forest_plot(eff, pooled, outcome_cfg=CFG, comparison="between_arms", measure="MD",
                      tau2_method="DL", subgroup_var="level", max_rows=99)
    studies = res.data[res.data["element"] == "study"]
    drawn = studies.groupby("subgroup")["drawn"].agg(["all", "any"])
    assert drawn.loc["cervical", "all"] and not drawn.loc["thoracolumbar", "any"]
    assert len(_artists(res.figure, "square-", Line2D)) == 2
    assert [t for t in _texts(res.figure) if t.startswith("100 studies (more than 99 rows)")]
    assert not [t for t in _texts(res.figure) if t.startswith("2 studies (more than")]
    assert res.meta["summary"] is True


def test_subgroup_sections_show_display_names():
    """subgroup_labels names the variable and its levels in the headers and the footer; the
    data keep the levels as written."""
    eff = _many(6, level=True)
    pooled = _pooled(eff, "level", tau2_method="DL")
    labels = {"level": {"label": "Injury level",
                        "levels": {"cervical": "Cervical", "thoracolumbar": "Thoracolumbar"}}}
    res = forest_plot(eff, pooled, outcome_cfg=CFG, comparison="between_arms", measure="MD",
                      tau2_method="DL", subgroup_var="level", subgroup_labels=labels)
    texts = _texts(res.figure)
    assert "Injury level: Cervical" in texts and "Injury level: Thoracolumbar" in texts
    assert any("Subgroups in the test: Cervical (k = 2), Thoracolumbar (k = 4)" in line
               for line in res.meta["footer"])
    assert set(res.data.loc[res.data["element"] == "study", "subgroup"]) == {
        "cervical", "thoracolumbar"}
    plain = forest_plot(eff, pooled, outcome_cfg=CFG, comparison="between_arms", measure="MD",
                        tau2_method="DL", subgroup_var="level")
    assert "Level: cervical" in _texts(plain.figure)


def test_very_long_labels_wrap_to_fit_a_double_column(between):
    """Labels too long for the smallest type take two lines; the data keep them whole."""
    from _printable import DOUBLE_COLUMN_IN, printable_problems

    eff = between.copy()
    eff["label"] = [f"Acer pensylvanicum seedlings, open-top chambers (obs {447 + i}, paper 2037)"
                    for i in range(len(eff))]
    res = forest_plot(eff, _pooled(eff), outcome_cfg=CFG, comparison="between_arms",
                      measure="MD", layout="revman")
    assert printable_problems(res.figure, max_width_in=DOUBLE_COLUMN_IN) == []
    labels = [t for t in _texts(res.figure) if t.startswith("Acer")]
    assert len(labels) == len(eff) and all("\n" in t for t in labels)
    assert list(res.data.loc[res.data["element"] == "study", "label"]) == list(eff["label"])


def test_rob_column_names_the_domains_of_each_tool(between):
    """Tools with different domains (RoB 2 and ROBINS-I): the key below the plot names the
    domains of each, in the order of the dots; with one dot per study it says so."""
    from scimeta.plotting.forest import _rob_layout
    from scimeta.rob import TOOLS

    rows = []
    for sid, key in (("s1", "rob2"), ("s2", "robins_i")):
        doms = [d for d, _ in TOOLS[key].domains] + ["overall"]
        rows += [{"study_id": sid, "tool": key, "position": i, "domain": d, "judgement": "low"}
                 for i, d in enumerate(doms)]
    rob = pd.DataFrame(rows)
    legend = _rob_layout(rob)["legend"]
    assert legend[0].startswith("Risk of bias, RoB 2 (dots left to right): D1 randomisation "
                                "process; D2 deviations from intended interventions;")
    assert legend[1].startswith("Risk of bias, ROBINS-I (dots left to right): D1 confounding;")
    assert legend[1].endswith("D7 selection of the reported result; then overall.")
    assert _rob_layout(rob)["header"] == [(7, "All")]  # only the overall column lines up
    one = _rob_layout(rob, overall_only=True)
    assert one["header"] == [(0, "All")]
    assert one["legend"][0] == ("Risk of bias: each study's overall judgement (RoB 2, ROBINS-I); "
                                "the judgement of each domain is in the risk-of-bias figures.")
