"""Each decision made once: the defaults are the schema's, and the primary estimator,
CI method, test and level of :class:`scimeta.settings.Settings` reach every consumer."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pandas as pd
import pytest
from _settings import config as validated_config

from scimeta.analysis import (
    bias_tables,
    metareg_table,
    pooled_table,
    r_sweep_table,
    subgroup_tables,
)
from scimeta.compare import build_effects
from scimeta.extract import build_arms
from scimeta.figures import draw_figure
from scimeta.grade import summary_of_findings
from scimeta.io import load_schema, read_review
from scimeta.membership import membership_table
from scimeta.methods import methods_text
from scimeta.settings import Settings
from scimeta.workflow import restrict_review

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "scimeta"
OUTCOME = "asia_motor"


def test_settings_are_the_schema_defaults_where_the_config_is_silent():
    schema = load_schema("config")["properties"]
    settings = Settings.from_config(validated_config())
    analysis = schema["analysis"]["properties"]
    assert settings.analysis.tau2_methods == tuple(analysis["tau2"]["default"])
    assert settings.analysis.ci_methods == tuple(analysis["ci"]["default"])
    assert settings.analysis.tau2_method == analysis["tau2"]["default"][0]
    assert settings.analysis.test == {"hksj": "knha", "hksj_adhoc": "adhoc",
                                      "wald": "z"}[analysis["ci"]["default"][0]]
    assert settings.analysis.level == analysis["level"]["default"]
    assert settings.analysis.pi_min_k == analysis["pi_min_k"]["default"]
    assert settings.r_grid == tuple(schema["sensitivity"]["properties"]["r_grid"]["default"])
    assert settings.permutations == schema["permutations"]["default"]
    assert settings.seed == schema["seed"]["default"]
    assert settings.figures.layout == schema["figures"]["properties"]["layout"]["default"]
    arms = validated_config(outcomes={"o": {"label": "O", "higher_is_better": True,
                                            "timepoint": 1}})["outcomes"]["o"]["arms"]
    defaults = schema["outcomes"]["additionalProperties"]["properties"]["arms"]["properties"]
    assert arms == {k: v["default"] for k, v in defaults.items()}


#: Config keys with a schema default: none of them is read with a fallback in the library.
def _defaulted_keys() -> set[str]:
    keys = set()

    def walk(schema):
        for key, sub in (schema.get("properties") or {}).items():
            if "default" in sub:
                keys.add(key)
            walk(sub)
        if isinstance(schema.get("additionalProperties"), dict):
            walk(schema["additionalProperties"])

    walk(load_schema("config"))
    return keys


def _reads_config(receiver) -> bool:
    """Whether ``receiver.get(...)`` reads the config (not a table row or a result)."""
    text = ast.unparse(receiver)
    return any(w in text for w in ("config", "analysis", "cfg", "extraction", "figures",
                                   "arms")) or text in ("oc", "spec")


def test_no_library_module_supplies_a_default_of_the_schema():
    keys = _defaulted_keys()
    assert {"tau2", "ci", "level", "common", "pi_min_k", "prepost_r", "arms", "unit"} <= keys
    found = []
    # validation fills the defaults in (from the schema); the workflow module reads the
    # Snakemake config, which is the validated one
    for path in sorted(SRC.rglob("*.py")):
        if path.name in ("validate.py", "workflow.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("get", "setdefault") and len(node.args) == 2
                    and isinstance(node.args[0], ast.Constant) and node.args[0].value in keys
                    and _reads_config(node.func.value)):
                found.append(f"{path.relative_to(SRC)}:{node.lineno}: .{node.func.attr}"
                             f"({node.args[0].value!r}, ...)")
    assert not found, "\n".join(found)


@pytest.fixture(scope="module")
def review():
    """The example review's primary outcome, with a primary model other than the defaults'."""
    whole = read_review(REPO)
    config = dict(whole.config, analysis={**whole.config["analysis"], "tau2": ["DL", "REML"],
                                          "ci": ["wald", "hksj"], "pi_min_k": 4})
    one = restrict_review(dataclasses.replace(whole, config=config), OUTCOME)
    arms, _ = build_arms(one)
    effects, _ = build_effects(arms, one.studies, one.config)
    return one, arms, effects


def _tables(one, effects):
    config = one.config
    membership = membership_table(effects, one.studies, config["subgroups"],
                                  config["populations"], designs=config["analysis"]["designs"])
    by_group, tests, _ = subgroup_tables(
        effects, one.studies, analysis=config["analysis"], subgroups=config["subgroups"],
        populations=config["populations"], permutations=0, seed=config["seed"],
        membership=membership)
    return dict(
        effects=effects, membership=membership, subgroup_tests=tests,
        pooled=pd.concat([pooled_table(effects, config["analysis"], membership), by_group],
                         ignore_index=True),
        sensitivity=r_sweep_table(effects, r_grid=[0.5], analysis=config["analysis"],
                                  enabled=True, membership=membership),
        metareg=metareg_table(effects, one.studies, moderators=config["moderators"],
                              analysis=config["analysis"], membership=membership),
        **bias_tables(effects, config["analysis"], membership),
    )


def test_the_primary_model_reaches_every_consumer(review):
    one, arms, effects = review
    t = _tables(one, effects)
    pooled = t["pooled"]
    primary = pooled[pooled["primary"].astype(bool)]
    assert set(primary["tau2_method"]) == {"DL"} and set(primary["ci_method"]) == {"wald"}
    assert set(primary["subgroup_var"]) == {"overall", "level", "phase"}
    assert set(t["sensitivity"]["tau2_method"]) == {"DL"}
    assert set(t["sensitivity"]["ci_method"]) == {"wald"}
    # Egger's test follows the primary CI method: wald -> z test, which has no df
    egger = t["bias"][(t["bias"]["test"] == "egger_rma") & t["bias"]["p"].notna()]
    assert len(egger) and egger["df"].isna().all()
    assert set(t["metareg"]["tau2_method"]) == {"DL", "REML"}
    # the forest plot's total diamond is the primary pool
    oc = one.config["outcomes"][OUTCOME]
    fig = draw_figure({"kind": "forest", "comparison": "pre_post", "measure": "MC", "var": ""},
                      outcome=OUTCOME, outcome_config=oc, analysis=one.config["analysis"],
                      layout="revman", populations=one.config["populations"],
                      max_forest_rows=None, studies=one.studies, figures=one.config["figures"],
                      **{k: t[k] for k in ("effects", "pooled", "subgroup_tests", "membership",
                                           "sensitivity", "metareg", "bias")})
    total = fig.data[fig.data["element"] == "overall"].iloc[0]
    want = primary[(primary["subgroup_var"] == "overall") & (primary["measure"] == "MC")
                   & (primary["comparison"] == "pre_post")].iloc[0]
    assert total["estimate"] == want["estimate"] and total["ci_low"] == want["ci_low"]
    # ... and pi_min_k: no prediction interval below 4 studies, in the table and the footer
    random = pooled[pooled["model"] == "random"]
    assert random.loc[random["k"] < 4, "pi_low"].isna().all()
    assert (random["k"] == 3).any()  # pools that would have one under the default of 3
    footer = " ".join(x.get_text() for x in fig.figure.texts) + " ".join(
        x.get_text() for ax in fig.figure.axes for x in ax.texts)
    assert "Prediction interval shown when k \u2265 4." in footer
    # the methods text and the summary of findings name and use the same model
    text = methods_text(one.config, arms=arms, effects=effects, pooled=pooled,
                        subgroup_tests=t["subgroup_tests"], bias=t["bias"])
    assert "used the DerSimonian" in text
    assert "primary estimator DL, wald CIs" in text
    sof = summary_of_findings(pooled, effects, one.studies, one.config, bias=t["bias"])
    row = sof[(sof["comparison"] == "pre_post")].iloc[0]
    assert (row["tau2_method"], row["ci_method"]) == ("DL", "wald")
    assert row["k"] == want["k"] and row["estimate"] == want["estimate"]


@pytest.mark.parametrize("missing", ["tau2", "ci", "level", "common", "pi_min_k", "designs"])
def test_a_config_missing_a_key_fails_loudly_in_every_consumer(review, missing):
    one, arms, effects = review
    analysis = {k: v for k, v in one.config["analysis"].items() if k != missing}
    membership = membership_table(effects, one.studies,
                                  designs=one.config["analysis"]["designs"])
    calls = [
        lambda: pooled_table(effects, analysis, membership),
        lambda: subgroup_tables(effects, one.studies, analysis=analysis, subgroups=["level"],
                                populations=one.config["populations"], permutations=0, seed=1),
        lambda: r_sweep_table(effects, r_grid=[0.5], analysis=analysis, enabled=True),
        lambda: metareg_table(effects, one.studies, moderators=["year"], analysis=analysis),
        lambda: bias_tables(effects, analysis),
        lambda: methods_text(dict(one.config, analysis=analysis), arms=arms, effects=effects,
                             pooled=pd.DataFrame(), subgroup_tests=pd.DataFrame(),
                             bias=pd.DataFrame()),
    ]
    if missing == "level":
        calls += [
            lambda: summary_of_findings(pd.DataFrame(), effects, one.studies,
                                        dict(one.config, analysis=analysis)),
            lambda: build_effects(arms, one.studies, dict(one.config, analysis=analysis)),
        ]
    for call in calls:
        with pytest.raises(KeyError, match=missing):
            call()


def test_arm_names_reach_titles_captions_and_the_methods_text(review):
    from scimeta.plotting import caption_forest

    one, arms, effects = review
    names = {"treatment": "stem cells", "control": "rehabilitation", "baseline": "admission",
             "follow_up": "one year"}
    oc = dict(one.config["outcomes"][OUTCOME], arms=names)
    config = dict(one.config, outcomes={OUTCOME: oc})
    t = _tables(one, effects)
    fig = draw_figure({"kind": "funnel", "comparison": "pre_post", "measure": "MC", "var": ""},
                      outcome=OUTCOME, outcome_config=oc, analysis=config["analysis"],
                      layout="revman", populations=config["populations"], max_forest_rows=None,
                      figures=config["figures"],
                      studies=one.studies, **{k: t[k] for k in (
                          "effects", "pooled", "subgroup_tests", "membership", "sensitivity",
                          "metareg", "bias")})
    forest = draw_figure({"kind": "forest", "comparison": "pre_post", "measure": "MC", "var": ""},
                         outcome=OUTCOME, outcome_config=oc, analysis=config["analysis"],
                         layout="revman", populations=config["populations"],
                         max_forest_rows=None, studies=one.studies, figures=config["figures"],
                         **{k: t[k] for k in (
                             "effects", "pooled", "subgroup_tests", "membership",
                             "sensitivity", "metareg", "bias")})
    texts = {x.get_text() for x in forest.figure.texts} | {
        x.get_text() for ax in forest.figure.axes for x in ax.texts}
    assert any("one year vs admission" in x for x in texts), texts
    assert not any("follow-up vs baseline" in x for x in texts)
    assert fig is not None
    cap = caption_forest(outcome_label="ASIA", comparison="between_arms", measure="MD",
                         arms=names, tau2_method="DL", ci_method="wald", level=0.9, pi_min_k=4)
    assert "stem cells versus rehabilitation" in cap and "treatment" not in cap
    assert "at least 4 studies" in cap and "90% CI" in cap
    text = methods_text(config, arms=arms, effects=effects, pooled=t["pooled"],
                        subgroup_tests=t["subgroup_tests"], bias=t["bias"])
    assert "stem cells vs rehabilitation as" in text and "one year vs admission as" in text
    assert "treatment vs control" not in text


def test_an_empty_measure_list_is_one_note_not_excluded_rows(review):
    from scimeta.workflow import planned_figures

    one, _, _ = review
    oc = dict(one.config["outcomes"][OUTCOME], pre_post=[])
    config = dict(one.config, outcomes={OUTCOME: oc})
    empty = dataclasses.replace(one, config=config)
    arms, excluded_arms = build_arms(empty)
    effects, excluded = build_effects(arms, empty.studies, config)
    assert not (effects["comparison"] == "pre_post").any()
    everything = pd.concat([excluded_arms, excluded], ignore_index=True)
    plan_notes = everything[everything["stage"] == "plan"]["reason"].tolist()
    assert plan_notes == ["not attempted: pre_post: no measure in the config "
                          "(its rows are not compared)"]
    # no row is listed as excluded for the comparison that is not analysed
    assert not everything["reason"].str.contains("pre_post|baseline").drop(
        everything.index[everything["stage"] == "plan"]).any()
    plan = planned_figures(empty, config)
    assert not [item for item in plan if item["comparison"] == "pre_post"]
    assert not [item for item in plan if item["kind"] == "sensitivity_r"]
