"""The pre-post correlation sweep against metafor (tests/reference/ref_sensitivity.R)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _reference import RTOL_CLOSED, RTOL_ITERATIVE, load_reference

from scimeta.effects import escalc
from scimeta.sensitivity import SWEEP_COLUMNS, r_sweep, uses_assumed_r

REF = load_reference("sensitivity")
# tau2 near zero is compared on an absolute scale: REML may stop at 1e-13
# where R reports 0 (both are "no heterogeneity").
ATOL_TAU2 = 1e-9
CI_METHOD = {"knha": "hksj", "z": "wald"}


def _effects_rows(measure: str) -> pd.DataFrame:
    """The reference data as effects.csv rows, computed at the studies' own r."""
    d = pd.DataFrame(REF["data"])
    # as scimeta.compare: SMCR is standardised by the baseline SD, passed as sd1i
    first, second = ("sd_pre", "sd_post") if measure == "SMCR" else ("sd_post", "sd_pre")
    es = escalc(measure, ni=d["ni"], m1i=d["m_post"], m2i=d["m_pre"], sd1i=d[first],
                sd2i=d[second], ri=d["ri"])
    src = np.where(d["own_r"], "reported (follow-up row)", "assumed (config prepost_r)")
    return pd.DataFrame({
        "study_id": d["study_id"], "comparison": "pre_post", "measure": measure,
        "yi": es.yi, "vi": es.vi, "n1": d["ni"], "mean1": d["m_post"], "sd1": d["sd_post"],
        "n2": d["ni"], "mean2": d["m_pre"], "sd2": d["sd_pre"], "r": d["ri"], "r_source": src,
    })


@pytest.mark.parametrize("case", REF["cases"],
                         ids=lambda c: f"{c['measure']}-{c['method']}-{c['test']}")
def test_sweep_matches_metafor(case):
    rows = _effects_rows(case["measure"])
    grid = [g["r_assumed"] for g in case["grid"]]
    out = r_sweep(rows, measure=case["measure"], r_grid=grid, tau2_method=case["method"],
                  ci_method=CI_METHOD[case["test"]], level=0.95)
    assert list(out.columns) == SWEEP_COLUMNS
    assert len(out) == len(grid)
    rtol = RTOL_ITERATIVE if case["method"] == "REML" else RTOL_CLOSED * 100
    for i, ref in enumerate(case["grid"]):
        got = out.iloc[i]
        assert got["r_assumed"] == ref["r_assumed"]
        for col in ("estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high", "Q", "p"):
            np.testing.assert_allclose(got[col], ref[col], rtol=rtol,
                                       err_msg=f"{col} {ref['call']}")
        np.testing.assert_allclose(got["tau2"], ref["tau2"], rtol=rtol, atol=ATOL_TAU2,
                                   err_msg=ref["call"])


def test_sweep_says_which_studies_keep_their_r():
    rows = _effects_rows("MC")
    out = r_sweep(rows, measure="MC", r_grid=[0.0, 0.5], tau2_method="DL", ci_method="wald",
                  level=0.95)
    assert (out["k_own_r"] == 2).all() and (out["k_assumed_r"] == 3).all()
    assert (out["own_r_studies"] == "morris1;morris2").all()


def test_studies_with_own_r_only_give_a_flat_sweep():
    rows = _effects_rows("SMCR").assign(r_source="reported (follow-up row)")
    out = r_sweep(rows, measure="SMCR", r_grid=[0.0, 0.3, 0.9], tau2_method="DL",
                  ci_method="wald", level=0.95)
    assert np.ptp(out["estimate"].to_numpy()) == 0.0
    assert np.ptp(out["ci_low"].to_numpy()) == 0.0


def test_change_score_rows_do_not_take_the_assumed_r():
    rows = _effects_rows("MC")
    rows.loc[4, ["mean2", "sd2"]] = np.nan  # analysed as a reported change score
    rows.loc[4, "r_source"] = "assumed (config prepost_r)"
    assert uses_assumed_r(rows).tolist() == [False, False, True, True, False]


def test_assumed_row_needs_its_inputs():
    rows = _effects_rows("MC")
    rows.loc[2, "sd1"] = np.nan
    with pytest.raises(ValueError, match="morris3.*sd1"):
        r_sweep(rows, measure="MC", r_grid=[0.5], tau2_method="DL", ci_method="wald", level=0.95)


@pytest.mark.parametrize("kwargs, match", [
    ({"measure": "MD"}, "measure must be one of"),
    ({"measure": "MC", "r_grid": [1.0]}, r"\[-1, 1\)"),
    ({"measure": "MC", "r_grid": []}, "non-empty"),
])
def test_sweep_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        r_sweep(_effects_rows("MC"), **{"r_grid": [0.5], **kwargs}, tau2_method="DL",
                ci_method="wald", level=0.95)


def test_sweep_at_the_config_r_reproduces_the_pipeline_pools():
    """At r = prepost_r the sweep is the primary pool of the effects as computed upstream."""
    from scimeta.analysis import pooled_table, r_sweep_table
    from scimeta.compare import build_effects
    from scimeta.extract import build_arms
    from scimeta.io import read_review

    review = read_review(Path(__file__).resolve().parents[1])
    arms, _ = build_arms(review)
    effects, _ = build_effects(arms, review.studies, review.config)
    analysis = review.config["analysis"]
    pooled = pooled_table(effects, analysis)
    sweep = r_sweep_table(effects, r_grid=[review.config["prepost_r"]], analysis=analysis,
                          enabled=True)
    assert len(sweep)
    for _, row in sweep.iterrows():
        primary = pooled[(pooled["outcome"] == row["outcome"]) & (pooled["measure"] == row["measure"])
                         & pooled["primary"]].iloc[0]
        for col in ("estimate", "se", "tau2", "Q"):
            want = primary[col]
            if col == "se" and primary["k"] == 1:
                # one study: no Hartung-Knapp SE; the sweep carries the study's own (Wald) SE,
                # the one of the pool's wald row (what its forest plot shows)
                want = pooled[(pooled["outcome"] == row["outcome"])
                              & (pooled["measure"] == row["measure"])
                              & (pooled["subgroup_var"] == "overall")
                              & (pooled["model"] == primary["model"])
                              & (pooled["tau2_method"] == primary["tau2_method"])
                              & (pooled["ci_method"] == "wald")]["se"].iloc[0]
            np.testing.assert_allclose(row[col], want, rtol=RTOL_ITERATIVE,
                                       atol=ATOL_TAU2, err_msg=f"{row['outcome']} {row['measure']} {col}")
