"""Pairing arms into comparisons (scimeta.compare): every branch, checked against escalc."""

import math

import numpy as np
import pandas as pd
import pytest
from _settings import config as validated_config

from scimeta.compare import build_effects, study_label, study_labels
from scimeta.effects import escalc

RTOL = 1e-12  # the same closed forms, computed through the same escalc

STUDIES = pd.DataFrame(
    {
        "study_id": ["rct1", "arm1"],
        "cohort_id": ["", ""],
        "author": ["Smith AB et al.", "Lee C"],
        "year": [2020, 2021.0],
        "design": ["rct", "single_arm"],
    }
)


def arm(study_id, arm_, timepoint, kind, n, mean, sd, *, row, population="all", r=math.nan,
        flags="", included=None):
    if included is None:  # as the extraction decides it: a row without an SD is excluded
        included = math.isfinite(sd)
    return {
        "included": included,
        "study_id": study_id, "outcome": "motor", "arm": arm_, "population": population,
        "timepoint": float(timepoint), "kind": kind, "n_used": float(n), "mean_used": mean,
        "sd_used": sd, "yi_used": math.nan, "vi_used": math.nan, "effect_method": "",
        "prepost_r": r, "flags": flags, "source_row": row,
    }


def config(**outcome):
    base = {"label": "Motor", "higher_is_better": True, "timepoint": 12,
            "between_arms": ["MD", "SMD", "ROM"], "pre_post": ["MC", "SMCR", "SMCC"]}
    base.update(outcome)
    return validated_config(outcomes={"motor": base})


def one(effects, **where):
    rows = effects
    for key, value in where.items():
        rows = rows[rows[key] == value]
    assert len(rows) == 1, where
    return rows.iloc[0]


def test_labels():
    assert study_label("Smith AB et al.", 2020) == "Smith 2020"
    assert study_label("Lee C", 2021.0) == "Lee 2021"
    assert study_label("Lee C", math.nan) == "Lee"


def test_labels_unique_and_from_the_label_column():
    studies = pd.DataFrame({
        "study_id": ["m1", "m2", "x", "m3", "own"],
        "author": ["Michael A", "Michael A", "Xu", "Michael B", "Michael A"],
        "year": [2013, 2013, 2014, 2013, 2013],
        "label": ["", "", "", "", "Michael 2013 (rats)"],
    })
    assert study_labels(studies) == {
        "m1": "Michael 2013a", "m2": "Michael 2013b", "x": "Xu 2014", "m3": "Michael 2013c",
        "own": "Michael 2013 (rats)",
    }
    arms = pd.DataFrame([arm("m2", "treatment", 0, "final", 10, 1.0, 1.0, row=2),
                         arm("m2", "treatment", 12, "final", 10, 2.0, 1.0, row=3)])
    effects, _ = build_effects(arms, studies.assign(cohort_id="", design="single_arm"), config())
    assert set(effects["label"]) == {"Michael 2013b"}


def test_between_arms_final_values_md_smd_rom():
    arms = pd.DataFrame([
        arm("rct1", "treatment", 12, "final", 20, 30.0, 8.0, row=2),
        arm("rct1", "control", 12, "final", 18, 25.0, 9.0, row=3),
    ])
    effects, excluded = build_effects(arms, STUDIES, config())
    # no row of the outcome has a baseline: no before/after effect is attempted, noted once
    assert excluded["reason"].tolist() == [
        "not attempted: pre_post MC, SMCR, SMCC: no baseline rows (timepoint 0) and no change rows"
    ]
    assert excluded["stage"].tolist() == ["plan"] and excluded["row"].tolist() == [""]
    for measure in ("MD", "SMD", "ROM"):
        es = escalc(measure, n1i=[20], m1i=[30.0], sd1i=[8.0], n2i=[18], m2i=[25.0], sd2i=[9.0])
        got = one(effects, comparison="between_arms", measure=measure)
        assert got["yi"] == pytest.approx(es.yi[0], rel=RTOL)
        assert got["vi"] == pytest.approx(es.vi[0], rel=RTOL)
        assert got["effect_method"] == "final_values"
        assert got["source_rows"] == "2;3"
        assert got["label"] == "Smith 2020"


def test_change_scores_are_preferred_and_rom_is_refused_for_them():
    arms = pd.DataFrame([
        arm("rct1", "treatment", 12, "final", 20, 30.0, 8.0, row=2),
        arm("rct1", "control", 12, "final", 18, 25.0, 9.0, row=3),
        arm("rct1", "treatment", 12, "change", 20, 6.0, 4.0, row=4),
        arm("rct1", "control", 12, "change", 18, 2.0, 3.0, row=5),
    ])
    effects, excluded = build_effects(arms, STUDIES, config(pre_post=["MC"]))
    md = one(effects, comparison="between_arms", measure="MD")
    assert md["yi"] == pytest.approx(4.0, rel=RTOL)
    assert md["vi"] == pytest.approx(16 / 20 + 9 / 18, rel=RTOL)
    assert md["effect_method"] == "change_values"
    rom = excluded[excluded["reason"].str.contains("ratio of means is undefined for change")]
    assert len(rom) == 1


def test_pre_post_final_vs_baseline_with_each_source_of_r():
    arms = pd.DataFrame([
        arm("arm1", "treatment", 0, "final", 15, 20.0, 10.0, row=2),
        arm("arm1", "treatment", 12, "final", 15, 26.0, 12.0, row=3, r=0.7,
            flags="r_derived"),
    ])
    effects, excluded = build_effects(arms, STUDIES, config())
    assert excluded.empty
    for measure in ("MC", "SMCC"):
        es = escalc(measure, ni=[15], m1i=[26.0], m2i=[20.0], sd1i=[12.0], sd2i=[10.0], ri=[0.7])
        got = one(effects, measure=measure)
        assert got["yi"] == pytest.approx(es.yi[0], rel=RTOL)
        assert got["vi"] == pytest.approx(es.vi[0], rel=RTOL)
        assert got["r"] == 0.7 and got["r_source"].startswith("derived")
    # SMCR is standardised by the baseline SD (passed as metafor's sd1i)
    es = escalc("SMCR", ni=[15], m1i=[26.0], m2i=[20.0], sd1i=[10.0], ri=[0.7])
    got = one(effects, measure="SMCR")
    assert got["yi"] == pytest.approx(es.yi[0], rel=RTOL)
    assert got["vi"] == pytest.approx(es.vi[0], rel=RTOL)
    # no correlation anywhere: the config's is used, and said so
    arms.loc[1, "prepost_r"] = math.nan
    effects, _ = build_effects(arms, STUDIES, config())
    got = one(effects, measure="MC")
    assert got["r"] == 0.5 and got["r_source"].startswith("assumed")


def test_pre_post_change_score_row():
    arms = pd.DataFrame([arm("arm1", "treatment", 12, "change", 15, 6.0, 5.0, row=2)])
    effects, excluded = build_effects(arms, STUDIES, config())
    mc = one(effects, measure="MC")
    assert mc["yi"] == pytest.approx(6.0, rel=RTOL)
    assert mc["vi"] == pytest.approx(25 / 15, rel=RTOL)
    smcc = one(effects, measure="SMCC")
    es = escalc("SMCC", ni=[15], m1i=[6.0], m2i=[0.0], sd1i=[5.0], sd2i=[0.0], ri=[0.0])
    assert smcc["yi"] == pytest.approx(es.yi[0], rel=RTOL)
    assert smcc["effect_method"] == "change_score"
    # no row of the outcome has a baseline: SMCR is not attempted, noted once for the outcome
    assert excluded["reason"].tolist() == [
        "not attempted: pre_post SMCR: no baseline rows (timepoint 0): SMCR is standardised by "
        "the baseline SD"
    ]


def test_independent_groups_method():
    arms = pd.DataFrame([
        arm("arm1", "treatment", 0, "final", 16, 20.0, 10.0, row=2),
        arm("arm1", "treatment", 12, "final", 15, 26.0, 12.0, row=3),
    ])
    cfg = config(pre_post=["MD", "SMD"])
    cfg["prepost_method"] = "independent"
    effects, _ = build_effects(arms, STUDIES, cfg)
    es = escalc("MD", n1i=[15], m1i=[26.0], sd1i=[12.0], n2i=[16], m2i=[20.0], sd2i=[10.0])
    md = one(effects, measure="MD")
    assert md["yi"] == pytest.approx(es.yi[0], rel=RTOL)
    assert md["vi"] == pytest.approx(es.vi[0], rel=RTOL)
    assert "correlation ignored" in md["note"]
    cfg_bad = config()
    cfg_bad["prepost_method"] = "independent"
    with pytest.raises(ValueError, match="outcomes.motor.pre_post"):
        build_effects(arms, STUDIES, cfg_bad)


def test_zero_sd_and_missing_partner_are_listed_not_dropped():
    arms = pd.DataFrame([
        arm("arm1", "treatment", 0, "final", 15, 50.0, 0.0, row=2),
        arm("arm1", "treatment", 12, "final", 15, 51.0, 3.0, row=3),
        arm("rct1", "control", 6, "final", 18, 25.0, 9.0, row=4),
    ])
    effects, excluded = build_effects(arms, STUDIES, config())
    assert set(effects["measure"]) == {"MC", "SMCC"}  # SMCR divides by the baseline SD of 0
    reasons = " | ".join(excluded["reason"])
    assert "SMCR" in reasons
    assert "no control value at the analysed timepoint" in reasons
    assert set(excluded["row"]) >= {3, 4}
    assert np.isfinite(effects["vi"]).all() and (effects["vi"] > 0).all()
