"""One analysis that cannot be computed stays local (metafor refuses the same analyses).

Eight two-group studies with the same standard error and one outlier:
metafor pools them but refuses Egger's regression ("Model matrix no longer
of full rank ..."), its rank test gives NA and trim and fill cannot choose
its side. Every table of the outcome is still written, the refused rows
with empty numbers and the reason in ``note``; what metafor does compute
agrees with it (``tests/reference/ref_faults.R``).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _reference import RTOL_CLOSED, RTOL_ITERATIVE, load_reference
from _settings import analysis, config, outcome

from scimeta.analysis import (
    bias_tables,
    metareg_table,
    pooled_table,
    r_sweep_table,
    subgroup_tables,
)
from scimeta import tables as tables_module
from scimeta.bias import METAFOR_RANK_REFUSAL
from scimeta.compare import build_effects
from scimeta.extract import build_arms
from scimeta.figures import draw_figure
from scimeta.io import read_review, write_csv
from scimeta.membership import membership_table
from scimeta.workflow import restrict_review

REPO = Path(__file__).resolve().parents[1]
REF = load_reference("faults")
CASE = REF["equal_se_outlier"]
OUTCOME = "motor"

CONFIG = """\
prepost_r: 0.5
prepost_method: paired
analysis:
  tau2: [REML, DL]
  ci: [hksj, wald]
subgroups: [level]
populations:
  level: [cervical, thoracolumbar]
moderators: [year]
permutations: 100
seed: 1
outcomes:
  motor:
    label: Motor score
    higher_is_better: true
    timepoint: 12
    between_arms: [MD]
"""
#: The treatment means of the reference script, as a paper prints them.
TREATMENT_MEANS = ("10.0", "10.2", "10.4", "10.6", "10.8", "11.0", "11.2", "22.0")
#: Numeric columns of each table whose empty cells need a reason in ``note``.
NUMBERS = {
    "bias": ["statistic", "p", "estimate", "ci_low", "ci_high"],
    "leave1out": ["estimate", "se", "ci_low", "ci_high", "tau2", "I2", "Q"],
    "influence": ["rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "Q_del", "hat", "weight"],
    "metareg": ["estimate", "se", "stat", "p", "ci_low", "ci_high", "tau2", "QE"],
    "subgroup_tests": ["df", "p"],
    "pooled": ["estimate", "se", "ci_low", "ci_high", "p"],
}


def write_review(root: Path) -> Path:
    """The reference case as a review folder (between arms, 10 patients per arm, SD 5)."""
    (root / "config").mkdir(parents=True)
    (root / "data" / "raw").mkdir(parents=True)
    (root / "config" / "config.yaml").write_text(CONFIG, encoding="utf-8")
    studies = ["study_id,cohort_id,author,year,title,journal,doi,design,condition,intervention,"
               "route,level,phase"]
    outcomes = ["study_id,outcome,arm,population,timepoint,kind,n,mean,sd,source,quote"]
    for i, mean in enumerate(TREATMENT_MEANS):
        sid = f"s{i + 1}"
        level = ("cervical", "thoracolumbar")[i % 2]
        studies.append(f"{sid},,Author{i + 1} A,{2010 + i},Trial {i + 1},J,,rct,sci,MSC,iv,"
                       f"{level},chronic")
        outcomes.append(f"{sid},{OUTCOME},treatment,all,12,final,10,{mean},5,Table 1,q")
        outcomes.append(f"{sid},{OUTCOME},control,all,12,final,10,10,5,Table 1,q")
    (root / "data" / "raw" / "studies.csv").write_text("\n".join(studies) + "\n")
    (root / "data" / "raw" / "outcomes.csv").write_text("\n".join(outcomes) + "\n")
    return root


@pytest.fixture(scope="module")
def stages(tmp_path_factory):
    """The outcome through the stage functions, each table written and read back."""
    root = tmp_path_factory.mktemp("faults")
    review = read_review(write_review(root / "review"))
    config = review.config
    one = restrict_review(review, OUTCOME)
    arms, _ = build_arms(one)
    effects, _ = build_effects(arms, one.studies, one.config)
    write_csv(effects, root / "effects.csv")
    effects = pd.read_csv(root / "effects.csv")
    analysis = config["analysis"]
    membership = membership_table(effects, review.studies, config["subgroups"],
                                  config["populations"], designs=config["analysis"]["designs"])
    by_group, tests, membership = subgroup_tables(
        effects, review.studies, analysis=analysis, subgroups=config["subgroups"],
        populations=config["populations"], permutations=config["permutations"],
        seed=config["seed"], membership=membership)
    tables = {
        "effects": effects,
        "pooled": pd.concat([pooled_table(effects, analysis, membership), by_group],
                            ignore_index=True),
        "subgroup_tests": tests,
        "membership": membership,
        "sensitivity": r_sweep_table(effects, r_grid=[0.5], analysis=analysis, enabled=True,
                                     membership=membership),
        "metareg": metareg_table(effects, review.studies, moderators=config["moderators"],
                                 analysis=analysis, membership=membership),
        **bias_tables(effects, analysis, membership),
    }
    for name, table in tables.items():
        write_csv(table, root / f"{name}.csv")
    read = {name: pd.read_csv(root / f"{name}.csv") for name in tables}
    return review, read


def between(table: pd.DataFrame) -> pd.DataFrame:
    return table[(table["comparison"] == "between_arms") & (table["measure"] == "MD")]


def test_the_case_is_the_reference_data(stages):
    _, t = stages
    eff = between(t["effects"]).sort_values("study_id")
    np.testing.assert_allclose(eff["yi"], CASE["yi"], rtol=RTOL_CLOSED, atol=1e-13)
    np.testing.assert_allclose(eff["vi"], CASE["vi"], rtol=RTOL_CLOSED)


@pytest.mark.parametrize("fit", CASE["fits"], ids=lambda f: f"{f['tau2_method']}-{f['test']}")
def test_refused_bias_tests_say_what_metafor_says(stages, fit):
    _, t = stages
    bias = between(t["bias"])
    rows = bias[bias["tau2_method"] == fit["tau2_method"]].set_index("test")
    for test, key in (("egger_rma", "regtest_rma_sei"), ("egger_lm", "regtest_lm_sei"),
                      ("pet", "regtest_lm_sei"), ("peese", "regtest_lm_vi")):
        assert fit[key] == METAFOR_RANK_REFUSAL
        assert rows.loc[test, "note"].startswith("not computed:")
        assert METAFOR_RANK_REFUSAL in rows.loc[test, "note"]
        assert rows.loc[test, ["statistic", "p", "estimate", "slope"]].isna().all()
    # metafor's rank test: tau = NA, p = NA
    assert math.isnan(fit["ranktest_tau"]) and math.isnan(fit["ranktest_p"])
    assert rows.loc["begg", ["statistic", "p"]].isna().all()
    assert "metafor: tau = NA" in rows.loc["begg", "note"]
    # metafor's trimfill() fails choosing the side; so does ours, and says why
    assert fit["trimfill"]
    for test in ("trimfill_L0", "trimfill_R0"):
        assert "the side to fill cannot be chosen" in rows.loc[test, "note"]
        assert rows.loc[test, ["k0", "estimate"]].isna().all()


@pytest.mark.parametrize("fit", CASE["fits"], ids=lambda f: f"{f['tau2_method']}-{f['test']}")
def test_what_metafor_computes_is_still_written(stages, fit):
    _, t = stages
    rtol = RTOL_ITERATIVE if fit["tau2_method"] == "REML" else RTOL_CLOSED
    ci = "hksj" if fit["test"] == "knha" else "wald"
    pooled = between(t["pooled"])
    row = pooled[(pooled["subgroup_var"] == "overall") & (pooled["model"] == "random")
                 & (pooled["tau2_method"] == fit["tau2_method"]) & (pooled["ci_method"] == ci)]
    assert len(row) == 1
    row = row.iloc[0]
    for ours, theirs in (("estimate", "estimate"), ("se", "se"), ("ci_low", "ci_lb"),
                         ("ci_high", "ci_ub"), ("tau2", "tau2"), ("Q", "QE"), ("I2", "I2")):
        np.testing.assert_allclose(row[ours], fit[theirs], rtol=rtol)
    if ci == "hksj":  # leave1out.csv refits with the primary CI method (hksj)
        l1o = between(t["leave1out"])
        l1o = l1o[l1o["tau2_method"] == fit["tau2_method"]].sort_values("study_id")
        for col in ("estimate", "se", "tau2", "I2", "Q"):
            np.testing.assert_allclose(l1o[col], fit["leave1out"][col], rtol=rtol, atol=1e-12)
    else:  # influence.csv is metafor's influence() of the z-test model
        infl = between(t["influence"])
        infl = infl[infl["tau2_method"] == fit["tau2_method"]].sort_values("study_id")
        for ours, theirs in (("rstudent", "rstudent"), ("cook_d", "cook_d"), ("hat", "hat")):
            np.testing.assert_allclose(infl[ours], fit["influence"][theirs], rtol=rtol)


def test_every_table_is_written_and_every_empty_number_has_a_note(stages):
    _, t = stages
    for name, columns in NUMBERS.items():
        table = between(t[name])
        assert len(table), name
        empty = table[columns].isna().any(axis=1)
        notes = table.loc[empty, "note"].fillna("").astype(str).str.strip()
        assert (notes != "").all(), f"{name}: rows with empty numbers and no note"
    assert len(t["membership"])


def test_every_figure_is_drawn_from_the_tables(stages):
    review, t = stages
    items = [dict(kind="forest", comparison="between_arms", measure="MD", var=""),
             dict(kind="subgroup_forest", comparison="between_arms", measure="MD", var="level"),
             dict(kind="funnel", comparison="between_arms", measure="MD", var=""),
             dict(kind="bubble", comparison="between_arms", measure="MD", var="year")]
    for item in items:
        fig = draw_figure(item, outcome=OUTCOME, outcome_config=review.config["outcomes"][OUTCOME],
                          analysis=review.config["analysis"], layout="revman",
                          studies=review.studies, populations=review.config["populations"],
                          max_forest_rows=review.config["figures"]["max_forest_rows"],
                          figures=review.config["figures"],
                          **{k: t[k] for k in ("effects", "pooled", "subgroup_tests", "membership",
                                               "sensitivity", "metareg", "bias")})
        assert not fig.meta.get("placeholder"), item
    # the funnel has no Egger line and no filled studies: bias.csv has none to draw
    funnel = draw_figure(items[2], outcome=OUTCOME,
                         outcome_config=review.config["outcomes"][OUTCOME],
                         analysis=review.config["analysis"], layout="revman",
                         populations=review.config["populations"], max_forest_rows=None,
                         figures=review.config["figures"],
                         **{k: t[k] for k in ("effects", "pooled", "subgroup_tests", "membership",
                                              "sensitivity", "metareg", "bias")})
    drawn = set(funnel.data["element"])
    assert (funnel.data["element"] == "study").sum() == len(CASE["yi"])
    assert not drawn & {"egger", "egger_line", "filled", "filled_study"}


@pytest.mark.workflow
def test_the_workflow_writes_the_outcome(tmp_path):
    review = write_review(tmp_path / "review")
    cmd = [str(Path(sys.executable).parent / "snakemake"), "-s", str(REPO / "Snakefile"),
           "-d", str(review), "--cores", "2"]
    proc = subprocess.run(cmd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONHASHSEED": "0"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    bias = pd.read_csv(review / "results" / "tables" / "bias.csv")
    egger = bias[bias["test"] == "egger_rma"]
    assert len(egger) and egger["note"].str.contains(METAFOR_RANK_REFUSAL, regex=False).all()
    for name in ("pooled", "subgroup_tests", "metareg", "leave1out", "influence"):
        assert len(pd.read_csv(review / "results" / "tables" / f"{name}.csv")), name
    assert (review / "results" / "figures" / "funnel_motor_between_arms_MD.png").exists()


def _paired_effects():
    """Six before/after studies with baseline and follow-up means (the r sweep applies)."""
    rows = []
    for i in range(6):
        rows.append(dict(study_id=f"p{i}", cohort_id=f"p{i}", label=f"P{i} 2020", outcome="o",
                         population="all", design="single_arm", comparison="pre_post",
                         measure="MC", timepoint=12, yi=1.0 + 0.3 * i, vi=0.2 + 0.05 * i,
                         n1=10 + i, mean1=11.0 + 0.3 * i, sd1=2.0, n2=10 + i, mean2=10.0,
                         sd2=2.0, r=0.5, r_source="assumed (config prepost_r)", note=""))
    return pd.DataFrame(rows)


def _refuse(*args, **kwargs):
    raise ValueError("refused for the test")


ANALYSIS = analysis(tau2=["REML"], ci=["hksj"])


@pytest.mark.parametrize("target", [
    "scimeta.sensitivity.r_sweep",
    "scimeta.metareg.metareg",
    "scimeta.bias.leave1out",
    "scimeta.bias.influence",
    "scimeta.bias.begg",
])
def test_a_refused_analysis_writes_its_rows_and_nothing_else_changes(monkeypatch, target):
    effects = _paired_effects()
    studies = pd.DataFrame({"study_id": effects["study_id"], "year": range(2010, 2016)})
    before = pooled_table(effects, ANALYSIS)
    module, name = target.rsplit(".", 1)
    monkeypatch.setattr(f"{module}.{name}", _refuse)
    if module == "scimeta.metareg":
        monkeypatch.setattr("scimeta.bias.metareg", _refuse)
    tables = {
        "pooled": pooled_table(effects, ANALYSIS),
        "sensitivity": r_sweep_table(effects, r_grid=[0.2, 0.5], analysis=ANALYSIS, enabled=True),
        "metareg": metareg_table(effects, studies, moderators=["year"], analysis=ANALYSIS),
        **bias_tables(effects, ANALYSIS),
    }
    del tables["bias_filled"]  # numbers only: the reasons are in bias.csv
    pd.testing.assert_frame_equal(tables["pooled"], before)
    refused = {"r_sweep": ["sensitivity"], "metareg": ["metareg", "bias"],
               "leave1out": ["leave1out"], "influence": ["influence"], "begg": ["bias"]}[name]
    for table_name, table in tables.items():
        assert len(table), table_name
        notes = table["note"].fillna("").astype(str)
        if table_name in refused:
            assert notes.str.contains("not computed: refused for the test").any(), table_name
        else:
            assert not notes.str.contains("refused for the test").any(), table_name


def test_a_refused_q_profile_keeps_the_pool(monkeypatch):
    import scimeta.pool as pool_module

    effects = _paired_effects()
    real = pool_module.pool

    def no_profile(*args, tau2_ci=True, **kwargs):
        if tau2_ci:
            raise ArithmeticError("no root of the Q-profile")
        return real(*args, tau2_ci=False, **kwargs)

    monkeypatch.setattr("scimeta.analysis.pool", no_profile)
    table = pooled_table(effects, ANALYSIS)
    random = table[table["model"] == "random"].iloc[0]
    expected = real(effects["yi"], effects["vi"], tau2_method="REML", ci_method="hksj")
    assert random["estimate"] == expected.estimate
    assert np.isnan(random["tau2_ci_low"])
    assert "tau^2 CI (Q-profile) not computed: no root of the Q-profile" in random["note"]


def test_a_refused_permutation_test_keeps_the_subgroup_test(monkeypatch):
    effects = _paired_effects()
    studies = pd.DataFrame({"study_id": effects["study_id"], "g": ["a", "b"] * 3})
    args = dict(analysis=ANALYSIS, subgroups=["g"], populations={}, seed=1)
    _, before, _ = subgroup_tables(effects, studies, permutations=10, **args)
    monkeypatch.setattr("scimeta.subgroups._permutation_p", _refuse)
    _, after, _ = subgroup_tables(effects, studies, permutations=10, **args)
    mod = after[after["method"] == "moderator_model"].iloc[0]
    assert "permutation p-value not computed: refused for the test" in mod["note"]
    assert np.isnan(mod["p_perm"])
    pd.testing.assert_series_equal(after["F"], before["F"])
    pd.testing.assert_series_equal(after["p"], before["p"])


def test_a_figure_whose_drawing_fails_is_an_error_not_a_placeholder(monkeypatch):
    effects = _paired_effects()
    monkeypatch.setattr("scimeta.figures.forest_plot", _refuse)
    membership = membership_table(effects, None, designs=None)
    with pytest.raises(ValueError, match="refused for the test"):
        draw_figure(dict(kind="forest", comparison="pre_post", measure="MC", var=""),
                    outcome="o", outcome_config=outcome(label="O"), analysis=ANALYSIS,
                    layout="revman", effects=effects, pooled=pooled_table(effects, ANALYSIS),
                    subgroup_tests=pd.DataFrame(), membership=membership,
                    sensitivity=pd.DataFrame(), populations={}, max_forest_rows=None,
                    figures=config()["figures"])


def test_the_figures_job_lists_the_figures_not_drawn_and_fails_naming_a_broken_one(
        stages, tmp_path, monkeypatch):
    """The rule's script: a placeholder is a row of its figure_warnings.csv; an error while
    drawing fails the job, the error naming the figure."""
    import runpy

    from scimeta.workflow import FIGURE_TABLES, snapshot_files

    review, t = stages
    paths = {}
    for name, table in t.items():
        if name not in FIGURE_TABLES:
            continue
        paths[name] = tmp_path / f"{name}.csv"
        write_csv(table, paths[name])
    studies = tmp_path / "studies.json"
    studies.write_bytes(snapshot_files(review)["studies.json"])
    plan = [{"kind": kind, "outcome": OUTCOME, "comparison": "between_arms", "measure": "MD",
             "var": "", "stem": f"{kind}_{OUTCOME}_between_arms_MD"}
            for kind in ("forest", "funnel")]
    script = runpy.run_path(str(REPO / "workflow" / "scripts" / "figures.py"))
    settings = dict(plan=plan, formats=["svg"], prepost_r=0.5, outcome=OUTCOME,
                    outcome_config=review.config["outcomes"][OUTCOME],
                    analysis=review.config["analysis"], layout="revman",
                    populations=review.config["populations"], max_forest_rows=100,
                    figures={**review.config["figures"], "small_k": "skip"})
    warnings = tmp_path / "figure_warnings.csv"
    script["main"](paths, studies, tmp_path / "figures", warnings, **settings)
    listed = pd.read_csv(warnings)
    assert list(listed.columns) == list(tables_module.columns("figure_warnings"))
    assert listed[["figure", "kind", "status"]].values.tolist() == [
        [f"funnel_{OUTCOME}_between_arms_MD", "funnel", "skipped"]]
    assert "Not drawn (figures.small_k = skip)" in listed["reason"].iloc[0]
    assert (tmp_path / "figures" / f"forest_{OUTCOME}_between_arms_MD.svg").is_file()
    monkeypatch.setattr("scimeta.figures.forest_plot", _refuse)
    with pytest.raises(ValueError, match="refused for the test") as failed:
        script["main"](paths, studies, tmp_path / "figures", warnings, **settings)
    assert any(f"forest_{OUTCOME}_between_arms_MD" in note for note in failed.value.__notes__)


def test_a_refused_moderator_model_keeps_the_separate_pools_and_test(monkeypatch):
    effects = _paired_effects()
    studies = pd.DataFrame({"study_id": effects["study_id"], "g": ["a", "b"] * 3})
    args = dict(analysis=ANALYSIS, subgroups=["g"], populations={}, permutations=0, seed=1)
    pooled_before, tests_before, _ = subgroup_tables(effects, studies, **args)
    monkeypatch.setattr("scimeta.subgroups._moderator_fit", _refuse)
    pooled, tests, _ = subgroup_tables(effects, studies, **args)
    separate = pooled["tau2_scope"] == "separate"
    pd.testing.assert_frame_equal(pooled[separate], pooled_before[separate])
    common = pooled[~separate]
    assert len(common) and common["estimate"].isna().all()
    assert common["note"].str.contains("not computed: refused for the test").all()
    mod = tests[tests["method"] == "moderator_model"]
    assert mod["p"].isna().all() and mod["note"].str.contains("refused for the test").all()
    sep = tests[tests["method"] == "separate_tau2"]
    pd.testing.assert_frame_equal(sep, tests_before[tests_before["method"] == "separate_tau2"],
                                  check_dtype=False)
