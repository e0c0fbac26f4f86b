"""Exclusion is one decision: a row listed as excluded never reaches an effect size, a pool or a total.

Every exclusion reason the extraction (``stage = extract``) and the pairing
(``stage = effects``) can give is produced below from a real review folder;
for each, the excluded sheet row appears in no ``source_rows`` of an effect
size it was excluded from (an extraction exclusion: of any effect size; a
pairing exclusion: of its comparison, and of its measure when it names one),
the pools count exactly the effect sizes, and the audit's totals agree with
the excluded table.
"""

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "data" / "extraction"))
from review_factory import copy_review, outcome_line, write_outcomes  # noqa: E402

from _settings import analysis as analysis_config  # noqa: E402

from scimeta import io as sio  # noqa: E402
from scimeta.analysis import pooled_table  # noqa: E402
from scimeta.audit import outcome_counts  # noqa: E402
from scimeta.compare import build_effects  # noqa: E402
from scimeta.extract import build_arms  # noqa: E402

A, S, R = "akhlaghpasand2025", "shin2015", "srivastava2019"
ANALYSIS = analysis_config(tau2=["REML", "DL"], ci=["hksj", "wald"], level=0.95, common=True,
                           pi_min_k=3)


def L(**kw):
    return outcome_line(**kw)


# (id, config edit, rows, the start of the reason expected among the exclusions)
CASES = [
    ("n_missing_baseline",  # issue: the baseline row without n was still paired with
     {}, [L(n=""), L(timepoint=12, mean=43.3, sd=15.9)], "n missing"),
    ("n_missing_follow_up", {}, [L(), L(timepoint=12, n="", mean=43.3, sd=15.9)], "n missing"),
    ("no_sd_exclude", {}, [L(), L(timepoint=12, sd="")], "no SD and none derivable"),
    ("no_sd_no_donor", {"missing_sd": "impute_mean"}, [L(), L(timepoint=12, sd="")],
     "no SD and no other study"),
    ("no_sd_lends_nothing",  # an excluded row is no donor of an imputed SD
     {"missing_sd": "impute_mean"},
     [L(study_id=S, n="", timepoint=12, sd=9), L(), L(timepoint=12, sd="")],
     "no SD and no other study"),
    ("difference_without_variance", {},
     [L(study_id=R, timepoint=12, kind="difference", n="", mean=0, sd="", p_value=0.04)],
     "difference without a usable SE"),
    ("difference_beside_arms", {},
     [L(study_id=S, timepoint=12, n=17, mean=17.4, sd=11),
      L(study_id=S, arm="control", timepoint=12, n=15, mean=19.5, sd=8),
      L(study_id=S, timepoint=12, kind="difference", n="", mean=-2.1, sd="", se=3)],
     "between_arms: per-arm values are reported and used"),
    ("difference_only_smd", {},  # per-arm values elsewhere: SMD is attempted, not here
     [L(study_id=R, timepoint=12, kind="difference", n="", mean=4.5, sd="", se=1.6),
      L(study_id=S, timepoint=12, n=17, mean=17.4, sd=11),
      L(study_id=S, arm="control", timepoint=12, n=15, mean=19.5, sd=8)],
     "between_arms SMD: only a mean difference is reported"),
    ("smd_not_attempted", {},  # only reported differences: SMD not attempted, noted once
     [L(study_id=R, timepoint=12, kind="difference", n="", mean=4.5, sd="", se=1.6)],
     "not attempted: between_arms SMD: only reported differences"),
    ("kinds_differ", {},
     [L(study_id=S, timepoint=12, kind="change", n=17, mean=7.9, sd=5),
      L(study_id=S, arm="control", timepoint=12, n=15, mean=19.5, sd=8)],
     "between_arms: treatment and control rows are not of the same kind"),
    ("control_other_timepoint", {},
     [L(study_id=S, timepoint=12, n=17, mean=17.4, sd=11),
      L(study_id=S, arm="control", timepoint=6, n=15, mean=19.5, sd=8)],
     "between_arms: no control value at the analysed timepoint"),
    ("rom_of_change", {"between_arms": ["MD", "ROM"]},
     [L(study_id=S, timepoint=12, kind="change", n=17, mean=7.9, sd=5),
      L(study_id=S, arm="control", kind="change", timepoint=12, n=15, mean=3.9, sd=2.3)],
     "between_arms ROM: a ratio of means is undefined"),
    ("smd_of_zero_sds", {},
     [L(study_id=S, timepoint=12, n=17, mean=17.4, sd=0),
      L(study_id=S, arm="control", timepoint=12, n=15, mean=19.5, sd=0)],
     "between_arms MD: the sampling variance is 0"),
    ("smcr_without_baseline", {},
     [L(study_id=S, timepoint=12, kind="change", n=17, mean=7.9, sd=5), L(), L(timepoint=12)],
     "pre_post SMCR: SMCR needs the baseline SD"),
    ("pre_post_not_attempted", {},  # no baseline or change rows at all: noted once
     [L(timepoint=12), L(study_id=S, timepoint=12, n=17)],
     "not attempted: pre_post MC, SMCR: no baseline rows (timepoint 0) and no change rows"),
    ("change_as_independent", {"prepost_method": "independent", "pre_post": ["MD"]},
     [L(study_id=S, timepoint=12, kind="change", n=17, mean=7.9, sd=5), L(), L(timepoint=12)],
     "pre_post MD: a change score cannot be analysed as two independent groups"),
    ("no_follow_up", {}, [L(), L(study_id=S, n=17), L(study_id=S, timepoint=12, n=17)],
     "pre_post: no follow-up at 12 months value to pair with"),
    ("no_baseline", {}, [L(timepoint=12), L(study_id=S, n=17), L(study_id=S, timepoint=12, n=17)],
     "pre_post: no baseline value to pair with"),
]


def _run(tmp_path, config_edit, rows):
    review = copy_review(tmp_path)
    write_outcomes(review, rows)
    r = sio.read_review(review)
    cfg = {**r.config, "outcomes": {"asia_motor": dict(r.config["outcomes"]["asia_motor"])}}
    for key in ("missing_sd",):
        if key in config_edit:
            cfg["extraction"] = {**cfg["extraction"], key: config_edit[key]}
    for key in ("prepost_method",):
        if key in config_edit:
            cfg[key] = config_edit[key]
    for key in ("between_arms", "pre_post"):
        if key in config_edit:
            cfg["outcomes"]["asia_motor"][key] = config_edit[key]
    r = type(r)(config=cfg, studies=r.studies, outcomes=r.outcomes, sources=r.sources)
    arms, exc_arms = build_arms(r)
    effects, exc_effects = build_effects(arms, r.studies, cfg)
    return arms, exc_arms, effects, exc_effects


def _rows(effects, comparison=None, measure=None):
    sel = effects
    if comparison:
        sel = sel[sel["comparison"] == comparison]
    if measure:
        sel = sel[sel["measure"] == measure]
    return {int(x) for rows in sel["source_rows"] for x in str(rows).split(";")}


@pytest.mark.parametrize("edit,rows,reason", [pytest.param(e, r, m, id=i) for i, e, r, m in CASES])
def test_excluded_rows_never_used(tmp_path, edit, rows, reason):
    arms, exc_arms, effects, exc_effects = _run(tmp_path, edit, rows)
    reasons = list(exc_arms["reason"]) + list(exc_effects["reason"])
    assert any(x.startswith(reason) for x in reasons), reasons
    # an extraction exclusion: in no effect size at all, and not included in arms
    used = _rows(effects)
    for row in exc_arms["row"]:
        assert int(row) not in used
        assert not arms.loc[arms["source_row"] == row, "included"].any()
    # a pairing exclusion: in no effect size of its comparison (and measure)
    for row, why, stage in zip(exc_effects["row"], exc_effects["reason"], exc_effects["stage"]):
        if stage == "plan":  # one note per outcome on measures not attempted, not a sheet row
            assert row == "" and why.startswith("not attempted: ")
            continue
        m = re.match(r"(between_arms|pre_post)(?: (\w+))?: ", why)
        assert m, why
        assert int(row) not in _rows(effects, m.group(1), m.group(2)), why
    # what pools read: every pool counts exactly its effect sizes, none of them excluded
    # (between arms, each design its own pool: analysis.designs)
    pooled = pooled_table(effects, ANALYSIS)
    for _, p in pooled[pooled["model"] == "random"].iterrows():
        sel = effects[(effects["comparison"] == p["comparison"]) & (effects["measure"] == p["measure"])
                      & (effects["population"] == "all")]
        if p["design"] != "all":
            sel = sel[sel["design"] == p["design"]]
        assert p["k"] == len(sel)
    # the audit's totals say as many excluded rows as the excluded table lists
    counts = outcome_counts(arms, exc_arms)
    n_excluded = int(counts["rows_excluded"].sum()) if len(counts) else 0
    assert n_excluded == exc_arms["row"].nunique()


def test_baseline_without_n_is_not_paired(tmp_path):
    """The case of the report: an empty n in the baseline row leaves no MC/SMCR from it."""
    arms, exc_arms, effects, _ = _run(tmp_path, {}, [L(n=""), L(timepoint=12, mean=43.3, sd=15.9)])
    assert list(exc_arms["row"]) == [2] and list(exc_arms["reason"]) == ["n missing"]
    assert effects[effects["comparison"] == "pre_post"].empty


def test_every_reason_is_covered():
    """The reasons of build_arms and build_effects that inputs can reach all have a case."""
    src = (Path(__file__).parents[1] / "src" / "scimeta" / "compare.py").read_text()
    covered = " ".join(reason for *_, reason in CASES)
    for needle in ("per-arm values are reported", "only a mean difference", "not of the same kind",
                   "no control value", "ratio of means", "SMCR needs", "two independent groups",
                   "value to pair with"):
        assert needle in src and needle in covered, needle
