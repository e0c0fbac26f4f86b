"""Summary of findings with a draft GRADE certainty, computed from the analysis.

One row per outcome × comparison × design stratum (the future
``results/tables/summary_of_findings.csv``): the primary pool of the
comparison's first measure, its studies and participants, the estimate with
its confidence and prediction intervals in the outcome's unit, and a **draft**
GRADE certainty (Guyatt et al. 2008, doi:10.1136/bmj.39489.470347.AD; GRADE
Handbook, Schünemann et al. 2013). Every downgrade is computed by one rule
below and says why; the review team confirms or overrides them. Upgrading
(large effect, dose–response, opposing confounding) is not assessed.

Rules (each a function, tested with a crafted case; every reason is a sentence a
reader of the summary of findings understands, shown as a numbered footnote):

* **start** (:func:`start_certainty`) — ``high`` when every study of a
  between-arm pool is randomised; ``low`` for non-randomised comparisons and
  for all single-arm before/after evidence (GRADE Handbook 5.1: observational
  evidence starts low).
* **risk of bias** (:func:`risk_of_bias_rule`) — from the shares of the
  pool's weight by overall risk of bias (:func:`scimeta.rob.overall_judgements`;
  ROBINS-I ``moderate`` counts as ``some concerns``): serious when ≥ 25 % of
  the weight is at high risk or ≥ 50 % at high risk or with some concerns;
  very serious when ≥ 75 % is at high risk.
* **inconsistency** (:func:`inconsistency_rule`) — serious when
  I² ≥ 50 % or the prediction interval includes the null while the CI does
  not; very serious when I² ≥ 75 % and the prediction interval includes the
  null. Not applicable to one study.
* **indirectness** (:func:`indirectness_rule`) — ``not assessed`` unless the
  config declares ``outcomes.<o>.indirectness`` (with its
  ``indirectness_reason``). A change from baseline without a concurrent
  control (``pre_post``) is rated down one more level (at most two in all):
  it is an uncontrolled before/after estimate, not the effect of the
  treatment compared with no treatment, and the summary of findings says so.
* **imprecision** (:func:`imprecision_rule`) — at least serious for a single
  study, or when the CI includes the null or (with a declared ``mid``)
  crosses the MID; very serious when it includes both an important benefit
  and an important harm (± MID). With a ``mid``, one more level (at most two
  in all) when the participants are fewer than the optimal information size
  (:func:`optimal_information_size`; GRADE guidelines 6, Guyatt et al. 2011,
  doi:10.1016/j.jclinepi.2011.01.012; GRADE guidance 34, Zeng et al. 2022,
  doi:10.1016/j.jclinepi.2022.07.014).
* **publication bias** (:func:`publication_bias_rule`) — Egger's test
  (``bias.csv``, ``egger_rma``) where k ≥ 10: suspected when p < 0.10;
  otherwise not assessed, with the reason (fewer than 10 studies are too few
  for a funnel plot or a test of small-study effects, Sterne et al. 2011,
  doi:10.1136/bmj.d4002).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from scimeta._dist import norm_ppf
from scimeta.pool import ADHOC_FLOOR_PROSE, SINGLE_STUDY_LABEL, adhoc_floored
from scimeta.membership import ordered_strata
from scimeta.settings import analysis_settings

__all__ = [
    "SOF_COLUMNS",
    "DRAFT_LABEL",
    "LEVELS",
    "pool_studies",
    "pool_effects",
    "pool_weights",
    "start_certainty",
    "risk_of_bias_rule",
    "inconsistency_rule",
    "indirectness_rule",
    "imprecision_rule",
    "publication_bias_rule",
    "optimal_information_size",
    "certainty",
    "primary_pool",
    "format_number",
    "summary_of_findings",
]

DRAFT_LABEL = "draft for the review team"
#: Downgrade levels as GRADE words them.
LEVELS = ("not serious", "serious", "very serious")
CERTAINTY = ("very low", "low", "moderate", "high")
#: Share of weight from high-risk studies that makes risk of bias serious / very serious.
ROB_SERIOUS_SHARE, ROB_VERY_SERIOUS_SHARE = 0.25, 0.75
#: Share of weight from studies at high risk or with some concerns that makes it serious.
ROB_CONCERNS_SHARE = 0.50
#: What an indirectness nobody declared reads (the schema's default of ``indirectness``).
NOT_ASSESSED = "not assessed"
#: Designs of the studies sheet in words.
DESIGN_WORDS = {"rct": "randomised trial", "controlled": "non-randomised controlled study",
                "single_arm": "single-arm series"}
#: The summary of findings' words for a change from baseline without a concurrent control.
UNCONTROLLED = "uncontrolled change from baseline: not a comparative effect"
#: I² (%) from which inconsistency is serious / very serious.
I2_SERIOUS, I2_VERY_SERIOUS = 50.0, 75.0
#: Fewest studies for a small-study test to count, and its threshold.
PUBBIAS_MIN_K, PUBBIAS_ALPHA = 10, 0.10
#: Power and two-sided alpha of the optimal information size.
OIS_POWER, OIS_ALPHA = 0.80, 0.05
STANDARDISED = ("SMD", "SMCR", "SMCC")
RATIO = ("ROM",)

SOF_COLUMNS = [
    "outcome", "label", "comparison", "measure", "unit", "timepoint", "k", "n", "studies",
    "designs", "model", "tau2_method", "ci_method", "estimate", "ci_low", "ci_high", "pi_low",
    "pi_high", "I2", "effect", "start", "start_reason", "risk_of_bias", "risk_of_bias_reason",
    "inconsistency", "inconsistency_reason", "indirectness", "indirectness_reason", "imprecision",
    "imprecision_reason", "publication_bias", "publication_bias_reason", "downgrades",
    "certainty", "status", "note", "design",
]


def _num(value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return math.nan
    return v


def format_number(x, digits: int = 2) -> str:
    """Fixed decimals with a true minus sign, ``NA`` when not finite (the texts' numbers)."""
    x = _num(x)
    if not math.isfinite(x):
        return "NA"
    s = f"{x:.{digits}f}"
    return s.replace("-", "\u2212") if float(s) != 0 else s.lstrip("-")


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%"


def pool_studies(pooled_row) -> list[str]:
    """The study ids of one row of ``pooled.csv``, in its order."""
    return [s for s in str(pooled_row["studies"]).split(";") if s and s != "nan"]


def pool_effects(effects: pd.DataFrame, pooled_row) -> pd.DataFrame:
    """The rows of ``effects.csv`` that an overall pool of ``pooled.csv`` pooled."""
    return effects[(effects["outcome"] == pooled_row["outcome"])
                   & (effects["comparison"] == pooled_row["comparison"])
                   & (effects["measure"] == pooled_row["measure"])
                   & (effects["population"] == "all")
                   & effects["study_id"].isin(pool_studies(pooled_row))]


def pool_weights(effects: pd.DataFrame, pooled_row) -> dict:
    """Each study's share of the weight in one pool (the inverse-variance weights).

    .. math:: w_i = \\frac{1/(v_i + \\hat\\tau^2)}{\\sum_j 1/(v_j + \\hat\\tau^2)}

    with :math:`\\hat\\tau^2 = 0` for the common-effect model.

    Parameters
    ----------
    effects : pandas.DataFrame
        ``data/processed/effects.csv``.
    pooled_row : mapping
        One row of ``pooled.csv`` (``outcome, comparison, measure, model,
        tau2, studies``; an overall pool).

    Returns
    -------
    dict
        ``study_id`` → share (summing to 1), in the pool's study order.
    """
    ids = pool_studies(pooled_row)
    vi = pool_effects(effects, pooled_row).set_index("study_id")["vi"].astype(float)
    tau2 = _num(pooled_row.get("tau2")) if pooled_row.get("model") == "random" else 0.0
    tau2 = tau2 if math.isfinite(tau2) else 0.0
    w = {sid: 1.0 / (float(vi[sid]) + tau2) for sid in ids if sid in vi.index}
    total = sum(w.values())
    return {sid: v / total for sid, v in w.items()}


def start_certainty(comparison: str, designs) -> tuple[str, str]:
    """Where the certainty starts: ``high`` for randomised comparisons, else ``low``."""
    designs = sorted(set(designs))
    if comparison == "pre_post":
        return "low", ("single-arm before/after evidence (an observational design) starts at "
                       "low certainty")
    non_rct = [DESIGN_WORDS.get(d, d) for d in designs if d != "rct"]
    if designs and not non_rct:
        return "high", "randomised trials start at high certainty"
    return "low", ("non-randomised evidence (" + ", ".join(non_rct or ["design unknown"])
                   + ") starts at low certainty")


def risk_of_bias_rule(weights: dict, overall: pd.DataFrame | None) -> tuple[int, str]:
    """Downgrade for risk of bias from the shares of weight by overall judgement.

    Serious when at least :data:`ROB_SERIOUS_SHARE` of the weight comes from
    studies at high risk, or at least :data:`ROB_CONCERNS_SHARE` from studies
    at high risk or with some concerns (ROBINS-I ``moderate``); very serious
    from :data:`ROB_VERY_SERIOUS_SHARE` at high risk.

    Parameters
    ----------
    weights : dict
        :func:`pool_weights` of the pool.
    overall : pandas.DataFrame or None
        :func:`scimeta.rob.overall_judgements` (``study_id``,
        ``overall_common``); None when the review has no risk-of-bias sheet.
    """
    if overall is None:
        return 0, "not assessed: the review has no risk-of-bias assessments"
    level = overall.set_index("study_id")["overall_common"]
    high = [s for s in weights if level.get(s) == "high"]
    concerns = [s for s in weights if level.get(s) == "some concerns"]
    missing = [s for s in weights if level.get(s, "not assessed") == "not assessed"]
    share_high = sum(weights[s] for s in high)
    share_at_risk = share_high + sum(weights[s] for s in concerns)
    text = (f"{_pct(share_high)} of the weight from studies at high risk of bias"
            + (f" ({', '.join(high)})" if high else "")
            + f", {_pct(share_at_risk)} at high risk or with some concerns"
            + (f" (some concerns: {', '.join(concerns)})" if concerns else ""))
    if missing:
        text += (f"; not assessed: {', '.join(missing)} "
                 f"({_pct(sum(weights[s] for s in missing))} of the weight)")
    if share_high >= ROB_VERY_SERIOUS_SHARE:
        return 2, text + f" (≥ {_pct(ROB_VERY_SERIOUS_SHARE)} at high risk)"
    if share_high >= ROB_SERIOUS_SHARE:
        return 1, text + f" (≥ {_pct(ROB_SERIOUS_SHARE)} at high risk)"
    if share_at_risk >= ROB_CONCERNS_SHARE:
        return 1, text + f" (≥ {_pct(ROB_CONCERNS_SHARE)} at high risk or with some concerns)"
    return 0, text


def _includes(lo: float, hi: float, value: float) -> bool:
    return lo <= value <= hi


def inconsistency_rule(k: int, i2: float, ci: tuple, pi: tuple, null: float = 0.0,
                       level: float = 0.95) -> tuple[int, str]:
    """Downgrade for inconsistency from I² and the prediction interval."""
    if k < 2:
        return 0, "not applicable: a single study"
    i2 = _num(i2)
    if not math.isfinite(i2):
        return 0, "not assessed: I² could not be estimated"
    text = f"I² = {i2:.0f}%"
    pi_lo, pi_hi = (_num(v) for v in pi)
    have_pi = math.isfinite(pi_lo) and math.isfinite(pi_hi)
    pi_null = have_pi and _includes(pi_lo, pi_hi, null)
    ci_null = _includes(_num(ci[0]), _num(ci[1]), null)
    if have_pi:
        text += (f"; the {level:.0%} prediction interval {format_number(pi_lo)} to {format_number(pi_hi)} "
                 + ("includes" if pi_null else "excludes") + " no effect")
    else:
        text += "; no prediction interval (too few studies)"
    if i2 >= I2_VERY_SERIOUS and pi_null:
        return 2, text
    if i2 >= I2_SERIOUS:
        return 1, text
    if pi_null and not ci_null:
        return 1, text + " although the CI excludes it"
    return 0, text


def indirectness_rule(outcome_config: dict, comparison: str = "between_arms"
                      ) -> tuple[int | None, str]:
    """Downgrade for indirectness: as the config declares it, and for an uncontrolled change.

    Returns ``(levels, reason)``; ``levels`` is None when nothing was
    declared and the comparison is between arms (the domain is *not
    assessed*: nobody judged the population, intervention and outcome). A
    ``pre_post`` comparison is rated down one level more than declared (at
    most two): the change from baseline without a concurrent control includes
    natural recovery, regression to the mean and co-interventions, and
    answers a different question than treatment versus control.
    """
    declared = outcome_config["indirectness"]
    reason = str(outcome_config["indirectness_reason"] or "").strip()
    if declared == NOT_ASSESSED:
        base, text = None, ("not assessed: the review team has not judged the population, "
                            "intervention and outcome of this evidence")
    else:
        base = LEVELS.index(declared)
        text = reason or f"{declared} as declared by the review team"
    if comparison != "pre_post":
        return base, text
    uncontrolled = ("uncontrolled before/after estimate: a change from baseline without a "
                    "concurrent control group includes natural recovery and is not the effect "
                    "of the treatment compared with no treatment")
    return min(2, (base or 0) + 1), uncontrolled + "; " + (
        text if base is not None else "population, intervention and outcome not assessed")


def optimal_information_size(sd: float, mid: float, *, alpha: float = OIS_ALPHA,
                             power: float = OIS_POWER) -> float:
    """Participants one adequately powered two-group trial needs to detect the MID.

    .. math::

        N = 2 n = 4\\,\\frac{(z_{1-\\alpha/2} + z_{\\text{power}})^2\\,\\sigma^2}{\\Delta^2}

    the conventional sample size of a trial with two arms of equal size
    (two-sided ``alpha`` = 0.05, ``power`` = 0.8, :math:`\\sigma` the pooled SD
    of the outcome, :math:`\\Delta` the MID): the optimal information size
    of GRADE guidelines 6 (Guyatt et al. 2011,
    doi:10.1016/j.jclinepi.2011.01.012). The same trial-sized criterion
    applies to before/after evidence, whose question is the treatment effect.
    """
    z = float(norm_ppf(1 - alpha / 2)) + float(norm_ppf(power))
    return 4.0 * z * z * sd * sd / (mid * mid)


def _outcome_sd(rows: pd.DataFrame) -> float:
    """The pooled SD of the outcome over the pool's studies with SDs.

    Between arms the two arms' SDs, before/after the baseline and follow-up
    SDs, each weighted by its degrees of freedom (the SD a trial would see in
    each arm); NaN when no study has them (reported differences only).
    """
    num = den = 0.0
    for _, r in rows.iterrows():
        n1, n2, sd1, sd2 = (_num(r.get(c)) for c in ("n1", "n2", "sd1", "sd2"))
        if not all(math.isfinite(v) for v in (n1, n2, sd1, sd2)) or n1 < 2 or n2 < 2:
            continue
        num += (n1 - 1) * sd1 ** 2 + (n2 - 1) * sd2 ** 2
        den += n1 + n2 - 2
    return math.sqrt(num / den) if den > 0 else math.nan


def imprecision_rule(ci: tuple, *, k: int = 2, null: float = 0.0, mid: float | None = None,
                     higher_is_better: bool = True, n: float = math.nan,
                     ois: float = math.nan, level: float = 0.95) -> tuple[int, str]:
    """Downgrade for imprecision from the study count, the CI (null, MID) and the OIS.

    At least serious when the evidence is a single study (``k`` = 1), when the
    CI includes the null, or when it crosses the MID; very serious when it
    includes both an important benefit and an important harm. With a MID,
    one more level (at most two) when ``n`` is below the optimal information
    size ``ois``. ``ci`` and ``mid`` are on the scale of the analysis
    (``mid`` > 0, a magnitude; its sign follows ``higher_is_better``).
    """
    lo, hi = (_num(v) for v in ci)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        if k == 1:
            return 1, "a single study, without a confidence interval"
        return 0, "not assessed: no confidence interval"
    text = f"{level:.0%} CI {format_number(lo)} to {format_number(hi)}"
    crosses_null = _includes(lo, hi, null)
    levels = 0
    reasons = []
    if k == 1:
        levels = 1
        reasons.append("a single study: its result has not been replicated")
    if mid is not None:
        benefit = null + (mid if higher_is_better else -mid)
        harm = null - (mid if higher_is_better else -mid)
        if lo <= min(benefit, harm) and hi >= max(benefit, harm):
            levels = 2
            reasons.append(f"includes both an important benefit and an important harm "
                           f"(minimal important difference {format_number(mid)})")
        elif crosses_null:
            levels = max(levels, 1)
            reasons.append("includes no effect")
        elif lo < benefit < hi:
            levels = max(levels, 1)
            reasons.append(f"crosses the minimal important difference "
                           f"({format_number(benefit)})")
        else:
            reasons.append(f"excludes no effect and does not cross the minimal important "
                           f"difference ({format_number(mid)})")
        if math.isfinite(ois):
            if math.isfinite(_num(n)) and n < ois:
                levels = min(2, levels + 1)
                reasons.append(f"{_num(n):.0f} participants, fewer than the optimal "
                               f"information size of {math.ceil(ois):d}")
            else:
                reasons.append(f"optimal information size of {math.ceil(ois):d} met "
                               f"({_num(n):.0f} participants)")
        else:
            reasons.append("optimal information size not computed (the studies report no "
                           "standard deviations)")
    else:
        if crosses_null:
            levels = max(levels, 1)
            reasons.append("includes no effect")
        else:
            reasons.append("excludes no effect")
        reasons.append("no minimal important difference declared for this outcome, so "
                       "whether the interval includes unimportant effects and the optimal "
                       "information size were not assessed")
    return levels, text + ": " + "; ".join(reasons)


def publication_bias_rule(k: int, bias_rows: pd.DataFrame | None) -> tuple[int, str]:
    """Downgrade for publication bias from Egger's test, only where k ≥ 10.

    ``bias_rows``: the ``bias.csv`` rows of the pool (its outcome,
    comparison, measure and primary estimator).
    """
    if k < PUBBIAS_MIN_K:
        return 0, (f"not assessed: with {k} {'study' if k == 1 else 'studies'} (fewer than "
                   f"{PUBBIAS_MIN_K}) neither a funnel plot nor a test of small-study effects "
                   "can detect publication bias")
    egger = (bias_rows[bias_rows["test"] == "egger_rma"] if bias_rows is not None
             else pd.DataFrame())
    p = _num(egger["p"].iloc[0]) if len(egger) else math.nan
    if not math.isfinite(p):
        return 0, "not assessed: no result of Egger's test"
    text = f"Egger's test p = {p:.3f} (k = {k})"
    if p < PUBBIAS_ALPHA:
        return 1, text + f": small-study effects suspected (p < {PUBBIAS_ALPHA:g})"
    return 0, text + ": no small-study effect detected"


def certainty(start: str, downgrades: int) -> str:
    """``high`` (4) or ``low`` (2) minus the downgrades, at least ``very low``."""
    score = (4 if start == "high" else 2) - int(downgrades)
    return CERTAINTY[max(0, min(3, score - 1))]


def primary_pool(pooled: pd.DataFrame, outcome: str, comparison: str, measure: str,
                 design: str | None = None):
    """The pool the summary of findings rates: the primary overall row of ``measure`` in the
    design stratum ``design`` (``pooled.csv`` ``design``; None: the only one there is).

    Returns ``(row, note)``; ``(None, "")`` without such a row. A k = 1 row
    already holds the single study's own Wald-type CI (the one rule of
    :data:`scimeta.pool.SINGLE_STUDY_NOTE`); ``note`` says it is not pooled.
    """
    rows = pooled[(pooled["outcome"] == outcome) & (pooled["comparison"] == comparison)
                  & (pooled["measure"] == measure) & (pooled["subgroup_var"] == "overall")]
    if design is not None:
        rows = rows[rows["design"].astype(str) == str(design)]
    elif "design" in rows and rows["design"].nunique() > 1:
        raise ValueError(f"{outcome} {comparison} {measure}: a pool per design stratum "
                         f"({', '.join(ordered_strata(rows['design']))}); name the stratum")
    primary = rows[rows["primary"].astype(str).str.lower() == "true"]
    if primary.empty:
        return None, ""
    row = primary.iloc[0]
    if int(row["k"]) == 1:
        return row, SINGLE_STUDY_LABEL
    return row, ""


def summary_of_findings(pooled: pd.DataFrame, effects: pd.DataFrame, studies: pd.DataFrame,
                        config: dict, *, bias: pd.DataFrame | None = None,
                        rob_overall: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per outcome × comparison × design stratum with the draft GRADE certainty
    (designs pooled separately are rated separately: ``design``, as in ``pooled.csv``).

    Parameters
    ----------
    pooled : pandas.DataFrame
        ``results/tables/pooled.csv``.
    effects : pandas.DataFrame
        ``data/processed/effects.csv``.
    studies : pandas.DataFrame
        The validated studies sheet (``study_id``, ``design``).
    config : dict
        The validated config (``outcomes`` with ``label``, ``unit``,
        ``higher_is_better``, ``mid``, ``indirectness``; ``analysis.level``).
    bias : pandas.DataFrame, optional
        ``results/tables/bias.csv``.
    rob_overall : pandas.DataFrame, optional
        :func:`scimeta.rob.overall_judgements`; None when the review has no
        risk-of-bias sheet.

    Returns
    -------
    pandas.DataFrame
        :data:`SOF_COLUMNS`. The pooled numbers are those of the primary
        model of the comparison's first measure (``ROM`` as a ratio); every
        downgrade column is ``not serious`` / ``serious`` / ``very serious``
        with its ``*_reason``; ``status`` is :data:`DRAFT_LABEL`. An outcome
        or comparison without a pool has a row with the reason in ``note``.
    """
    level = analysis_settings(config["analysis"]).level
    design_of = dict(zip(studies["study_id"].astype(str), studies["design"].astype(str)))
    records = []
    for outcome, oc in config["outcomes"].items():
        have = effects[effects["outcome"] == outcome]
        comparisons = [c for c in ("between_arms", "pre_post") if (have["comparison"] == c).any()]
        if not comparisons:
            records.append({"outcome": outcome, "label": oc["label"], "status": DRAFT_LABEL,
                            "note": "no effect size for this outcome (see excluded.csv)"})
            continue
        for comparison in comparisons:
            if not oc[comparison]:
                continue  # not requested (the effects hold none either)
            measure = oc[comparison][0]
            base = {"outcome": outcome, "label": oc["label"], "comparison": comparison,
                    "measure": measure, "timepoint": oc["timepoint"], "status": DRAFT_LABEL}
            overall = pooled[(pooled["outcome"] == outcome)
                             & (pooled["comparison"] == comparison)
                             & (pooled["measure"] == measure)
                             & (pooled["subgroup_var"] == "overall")]
            # a table of pools without ``design`` (made without strata): one pool each
            strata = (ordered_strata(overall["design"]) if "design" in overall
                      else [None]) if len(overall) else []
            if not strata:
                records.append({**base, "note": f"no {measure} pool for this comparison "
                                                "(see pooled.csv and excluded.csv)"})
                continue
            for design in strata:  # a row per design stratum: designs are rated apart
                row, note = primary_pool(pooled, outcome, comparison, measure, design)
                records.append(_sof_row({**base, "design": design}, row, note, effects,
                                        design_of, oc, level, bias, rob_overall))
    table = pd.DataFrame(records)
    for col in SOF_COLUMNS:
        if col not in table:
            table[col] = np.nan
    return table[SOF_COLUMNS]


def _sof_row(base, row, note, effects, design_of, oc, level, bias, rob_overall) -> dict:
    comparison, measure = base["comparison"], base["measure"]
    ids = pool_studies(row)
    rows = pool_effects(effects, row)
    k = int(row["k"])
    n = _num(row["n"])
    designs = [design_of.get(s, "") for s in ids]
    weights = pool_weights(effects, row)
    ratio = measure in RATIO
    tr = math.exp if ratio else (lambda v: v)
    est, lo, hi, pi_lo, pi_hi = (_num(row[c]) for c in ("estimate", "ci_low", "ci_high",
                                                        "pi_low", "pi_high"))
    unit = ("ratio of means" if ratio else "SD units" if measure in STANDARDISED
            else oc["unit"])
    start, start_reason = start_certainty(comparison, designs)
    rob_level, rob_reason = risk_of_bias_rule(weights, rob_overall)
    inc_level, inc_reason = inconsistency_rule(k, row["I2"], (lo, hi), (pi_lo, pi_hi), 0.0,
                                               level)
    ind_level, ind_reason = indirectness_rule(oc, comparison)
    mid = oc.get("mid")
    sd = _outcome_sd(rows)
    mid_scale = None
    if mid is not None and not ratio:
        if measure in STANDARDISED:
            mid_scale = float(mid) / sd if math.isfinite(sd) else None
        else:
            mid_scale = float(mid)
    ois = (optimal_information_size(sd, float(mid))
           if mid is not None and math.isfinite(sd) else math.nan)
    imp_level, imp_reason = imprecision_rule((lo, hi), k=k, null=0.0, mid=mid_scale,
                                             higher_is_better=bool(oc["higher_is_better"]),
                                             n=n, ois=ois, level=level)
    if ratio:
        imp_reason = imp_reason.replace(f"CI {format_number(lo)} to {format_number(hi)}",
                                        f"CI {format_number(lo)} to {format_number(hi)} (log "
                                        "scale)")
    primary_bias = None
    if bias is not None and len(bias):
        primary_bias = bias[(bias["outcome"] == base["outcome"])
                            & (bias["comparison"] == comparison) & (bias["measure"] == measure)
                            & (bias["tau2_method"] == row["tau2_method"])]
        if base.get("design") is not None and "design" in primary_bias:
            primary_bias = primary_bias[primary_bias["design"].astype(str) == base["design"]]
    pub_level, pub_reason = publication_bias_rule(k, primary_bias)
    downgrades = rob_level + inc_level + (ind_level or 0) + imp_level + pub_level
    effect = f"{measure} {format_number(tr(est))}" + ("" if ratio else f" {unit}")
    if math.isfinite(lo):
        effect += f" ({level:.0%} CI {format_number(tr(lo))} to {format_number(tr(hi))}"
        effect += (f"; {level:.0%} PI {format_number(tr(pi_lo))} to {format_number(tr(pi_hi))})"
                   if math.isfinite(pi_lo) else ")")
    notes = [UNCONTROLLED] if comparison == "pre_post" else []
    notes += [note] if note else []
    if n == 0:
        n = math.nan
        notes.append("participants not reported")
    # pooled.csv's own note is for the analyst (engine wording); the reader is told only
    # what changes how the interval reads
    if bool(adhoc_floored(row["ci_method"], _num(row.get("hk_factor")))):
        notes.append(ADHOC_FLOOR_PROSE)
    return {
        **base, "unit": unit, "k": k, "n": n, "studies": ";".join(ids),
        "designs": ";".join(sorted(set(d for d in designs if d))),
        "model": row["model"], "tau2_method": row["tau2_method"], "ci_method": row["ci_method"],
        "estimate": tr(est), "ci_low": tr(lo) if math.isfinite(lo) else math.nan,
        "ci_high": tr(hi) if math.isfinite(hi) else math.nan,
        "pi_low": tr(pi_lo) if math.isfinite(pi_lo) else math.nan,
        "pi_high": tr(pi_hi) if math.isfinite(pi_hi) else math.nan,
        "I2": _num(row["I2"]), "effect": effect, "start": start,
        "start_reason": start_reason,
        "risk_of_bias": LEVELS[rob_level], "risk_of_bias_reason": rob_reason,
        "inconsistency": LEVELS[inc_level], "inconsistency_reason": inc_reason,
        "indirectness": NOT_ASSESSED if ind_level is None else LEVELS[ind_level],
        "indirectness_reason": ind_reason,
        "imprecision": LEVELS[imp_level], "imprecision_reason": imp_reason,
        "publication_bias": "suspected" if pub_level else (
            "not assessed" if pub_reason.startswith("not assessed") else "undetected"),
        "publication_bias_reason": pub_reason,
        "downgrades": downgrades, "certainty": certainty(start, downgrades),
        "note": "; ".join(notes),
    }
