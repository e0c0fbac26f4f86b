"""Names of the arms per outcome (config ``outcomes.<key>.arms``) reach the forest plot."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent / "data" / "extraction"))
from _settings import forest_options, outcome  # noqa: E402
from review_factory import copy_review  # noqa: E402

from scimeta import io as sio  # noqa: E402
from scimeta.effects import escalc  # noqa: E402
from scimeta.plotting import favours_labels, forest_plot  # noqa: E402
from scimeta.pool import pool  # noqa: E402

ARMS = {"treatment": "brain image", "control": "no image"}
#: An outcome with those names, the other names the schema's defaults.
OUTCOME = outcome(label="Recall", arms=ARMS)


def test_favours_labels_take_the_arm_names():
    arms = OUTCOME["arms"]
    assert favours_labels("between_arms", True, arms) == ("Favours no image", "Favours brain image")
    admission = outcome(arms={"baseline": "admission"})["arms"]
    assert favours_labels("pre_post", True, admission) == (
        "Worse than admission", "Better than admission")
    assert favours_labels("between_arms", True, outcome()["arms"]) == ("Favours control",
                                                                        "Favours treatment")


def test_arm_names_in_config_are_validated_and_defaulted(tmp_path):
    review = copy_review(tmp_path)
    cfg = review / "config/config.yaml"
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(text.replace("    timepoint: 12\n    scale: [0, 100]\n  scim_total:",
                                "    timepoint: 12\n    scale: [0, 100]\n    arms: {treatment: brain image, control: no image}\n  scim_total:"),
                   encoding="utf-8")
    r = sio.read_review(review)
    assert r.config["outcomes"]["asia_motor"]["arms"] == {
        "treatment": "brain image", "control": "no image", "baseline": "baseline",
        "follow_up": "follow-up"}
    assert r.config["outcomes"]["scim_total"]["arms"]["treatment"] == "treatment"
    cfg.write_text(text.replace("    timepoint: 12\n    scale: [0, 100]\n  scim_total:",
                                "    timepoint: 12\n    scale: [0, 100]\n    arms: {placebo: x}\n  scim_total:"),
                   encoding="utf-8")
    from scimeta.io import validate_review
    msgs = [str(p) for p in validate_review(review) if p.severity == "error"]
    assert any(m.startswith("config/config.yaml:16:outcomes.asia_motor.arms.placebo: unknown key 'placebo'")
               for m in msgs), msgs


def test_forest_plot_headers_and_favours_use_the_names(tmp_path):
    n1, m1, sd1 = np.array([20.0, 30.0, 25.0]), np.array([12.0, 14.0, 9.0]), np.array([4.0, 5.0, 3.0])
    n2, m2, sd2 = np.array([20.0, 28.0, 24.0]), np.array([10.0, 11.0, 9.5]), np.array([4.5, 5.0, 3.5])
    es = escalc("MD", n1i=n1, m1i=m1, sd1i=sd1, n2i=n2, m2i=m2, sd2i=sd2)
    se = np.sqrt(es.vi)
    eff = pd.DataFrame({"study_id": ["a", "b", "c"], "label": ["A 2020", "B 2021", "C 2022"],
                        "outcome": "x", "comparison": "between_arms", "measure": "MD",
                        "yi": es.yi, "vi": es.vi, "sei": se, "ci_low": es.yi - 1.96 * se,
                        "ci_high": es.yi + 1.96 * se, "n1": n1, "mean1": m1, "sd1": sd1,
                        "n2": n2, "mean2": m2, "sd2": sd2})
    res = pool(es.yi, es.vi).to_dict()
    res.update(outcome="x", comparison="between_arms", measure="MD", subgroup_var="overall",
               subgroup="all")
    fig = forest_plot(eff, pd.DataFrame([res]), comparison="between_arms", measure="MD",
                      outcome_cfg=OUTCOME, **forest_options())
    fig = getattr(fig, "figure", fig)
    texts = {t.get_text() for f in [fig] for ax in f.axes for t in ax.texts} | {
        t.get_text() for t in fig.texts}
    assert {"Favours brain image", "Favours no image", "Brain image", "No image"} <= texts, texts
    assert "Treatment" not in texts and "Control" not in texts
    fig.savefig(tmp_path / "forest.png", dpi=80)  # it renders
