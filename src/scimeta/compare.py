"""Pair extracted arms into comparisons and compute their effect sizes.

Two estimands are kept apart, and are never pooled together:

``between_arms``
    treatment versus control at the outcome's follow-up (``MD``, ``SMD``,
    ``ROM``). When both arms report change from baseline, the change scores
    are compared (the analysis of change scores, Cochrane Handbook 10.5.2);
    otherwise the final values. A paper that reports only the difference
    (``kind == "difference"``) enters as a generic inverse-variance ``MD``;
    where per-arm values are reported too, they are used and the reported
    difference is left to the audit (listed as excluded, with that reason).
``pre_post``
    follow-up versus baseline within the treated arm (``MC``, ``SMCR``,
    ``SMCC``) with a pre-post correlation taken, in this order, from the
    follow-up row, the baseline row (both may be derived from a reported SD,
    SE, CI, t or p of change by the extraction), the follow-up row's paired
    test (``t_value``, ``p_value`` with ``p_relation``; Cochrane Handbook
    6.5.2.8), or the config's ``prepost_r`` (:func:`_correlation`; how, in
    ``r_method``). With
    ``prepost_method: independent`` the two time points are compared as two
    independent groups (``MD``, ``SMD``: follow-up is group 1, baseline is
    group 2), which ignores the correlation.

Every comparison that cannot be computed is returned in the excluded table
with its reason; nothing is dropped silently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scimeta import conversions as cv
from scimeta._dist import norm_ppf, t_sf2
from scimeta.effects import MEASURES_BETWEEN as BETWEEN_MEASURES
from scimeta.effects import MEASURES_PREPOST as PAIRED_MEASURES
from scimeta.effects import escalc
from scimeta.extract import EXCLUDED_COLUMNS, included_arms
from scimeta.settings import analysis_settings
from scimeta.tables import columns

__all__ = [
    "EFFECT_COLUMNS",
    "EXCLUDED_COLUMNS",
    "PAIRED_MEASURES",
    "INDEPENDENT_MEASURES",
    "BETWEEN_MEASURES",
    "build_effects",
    "measure_plan",
    "plan_note",
    "ComparisonPlan",
    "study_label",
    "study_labels",
]

INDEPENDENT_MEASURES = ("MD", "SMD")

EFFECT_COLUMNS = columns("effects")



@dataclass(frozen=True)
class ComparisonPlan:
    """What one comparison of an outcome attempts, decided from its rows and the config.

    Attributes
    ----------
    comparison : str
        ``between_arms`` or ``pre_post``.
    present : bool
        Whether the rows hold this comparison at all (control rows or reported
        differences; treatment rows).
    measures : tuple of str
        The measures attempted, in the config's order (the first is the primary one).
    skipped : dict
        ``{measure: reason}`` for the configured measures the rows cannot give.
    requested : tuple of str
        The measures the config lists (empty: the comparison is not analysed,
        and its rows are not excluded one by one: :func:`plan_note` says it once).
    compared : bool
        Whether the rows hold the comparison itself: control rows or reported
        differences; treatment rows at the analysed timepoint with a baseline
        or change row.
    """

    comparison: str
    present: bool
    measures: tuple
    skipped: dict
    requested: tuple = ()
    compared: bool = False


def measure_plan(rows: pd.DataFrame, outcome_config: dict, *, prepost_method: str) -> dict:
    """Which configured measures an outcome's rows can give, per comparison.

    The one place where the data decide what is attempted: the effect sizes
    (:func:`build_effects`), the figure plan and validation all read it.
    Validation makes a measure the user wrote that the rows cannot give an
    error; a default that does not apply is skipped with one note per
    outcome. A measure is not attempted when, over all rows of the outcome

    * ``between_arms``: there are only reported differences and no control
      rows (``SMD``, ``ROM``: they need per-arm means and SDs);
    * ``pre_post``: the analysed timepoint is the baseline (0), or no
      treatment row is at the analysed timepoint, or there is neither a
      baseline row (timepoint 0, ``final``) nor a change row (every measure);
      there is no baseline row (``SMCR``, which is standardised by the
      baseline SD, and the independent-groups ``MD`` / ``SMD``).

    Parameters
    ----------
    rows
        The outcome's rows (validated sheet rows or arms) with ``arm``,
        ``kind`` and ``timepoint``.
    outcome_config
        The outcome's config entry with its defaults filled in.
    prepost_method
        ``paired`` or ``independent``.

    Returns
    -------
    dict
        ``{"between_arms": ComparisonPlan, "pre_post": ComparisonPlan}``.
    """
    arm = rows["arm"].astype(str)
    kind = rows["kind"].astype(str)
    tp = rows["timepoint"].astype(float)
    timepoint = float(outcome_config["timepoint"])
    out = {}

    control = (arm == "control").any()
    difference = (kind == "difference").any()
    skipped = {}
    for m in outcome_config["between_arms"]:
        if not (control or difference):
            break  # the comparison is absent: nothing to attempt, nothing to note
        if not control and m != "MD":
            skipped[m] = "only reported differences (a standardised or ratio measure needs " \
                         "per-arm means and SDs)"
    out["between_arms"] = _plan("between_arms", control or difference,
                                outcome_config["between_arms"], skipped,
                                compared=control or difference)


    treat = (arm == "treatment") & (kind != "difference")
    base = (treat & (tp == 0) & (kind == "final")).any()
    change = (treat & (kind == "change") & (tp == timepoint)).any()
    follow = (treat & (tp == timepoint)).any()
    skipped = {}
    for m in outcome_config["pre_post"]:
        if not treat.any():
            break
        if timepoint == 0:
            skipped[m] = "the analysed timepoint is the baseline (0): nothing to compare it with"
        elif not follow:
            skipped[m] = f"no treatment rows at the analysed timepoint ({timepoint:g})"
        elif not (base or change):
            skipped[m] = "no baseline rows (timepoint 0) and no change rows"
        elif not base and (m == "SMCR" or prepost_method == "independent"):
            skipped[m] = "no baseline rows (timepoint 0): " + (
                "SMCR is standardised by the baseline SD" if m == "SMCR"
                else "the independent-groups comparison needs them"
            )
    out["pre_post"] = _plan("pre_post", bool(treat.any()), outcome_config["pre_post"], skipped,
                            compared=timepoint != 0 and follow and (base or change))
    return out


def _plan(comparison, present, measures, skipped, *, compared) -> ComparisonPlan:
    return ComparisonPlan(
        comparison=comparison,
        present=bool(present),
        measures=tuple(m for m in measures if m not in skipped) if present else (),
        skipped=dict(skipped),
        requested=tuple(measures),
        compared=bool(compared),
    )


def plan_note(plan: dict) -> str:
    """The one note of an outcome on the measures not attempted ('' when none).

    A comparison the rows hold but the config lists no measure for (``pre_post: []``)
    is named once here; its rows are not listed as excluded.
    """
    parts = []
    for comparison, p in plan.items():
        if p.compared and not p.requested:
            parts.append(f"{comparison}: no measure in the config (its rows are not compared)")
        why: dict = {}
        for m, reason in p.skipped.items():
            why.setdefault(reason, []).append(m)
        parts += [f"{comparison} {', '.join(ms)}: {reason}" for reason, ms in why.items()]
    return ("not attempted: " + "; ".join(parts)) if parts else ""


def study_label(author: str, year) -> str:
    """Short label ``Surname Year`` from an ``author`` cell such as ``Shin JC et al.``."""
    text = str(author or "").strip()
    surname = text.split(" ")[0].rstrip(",") if text else ""
    try:
        year_text = str(int(float(year)))
    except (TypeError, ValueError, OverflowError):  # text, or an empty (NaN) year
        year_text = "" if isinstance(year, float) else str(year or "").strip()
    return f"{surname} {year_text}".strip()


def study_labels(studies: pd.DataFrame) -> dict:
    """The label of every study: its ``label`` cell, else ``Surname Year``, unique.

    Default labels that repeat (ten experiments of one paper: "Michael
    2013") get a letter in the order of the studies sheet: "Michael 2013a",
    "Michael 2013b", ... A ``label`` written in the sheet is used as written.
    """
    given = studies["label"] if "label" in studies.columns else pd.Series("", index=studies.index)
    default = [study_label(a, y) for a, y in zip(studies.get("author", [""] * len(studies)),
                                                   studies.get("year", [""] * len(studies)))]
    written = [str(x).strip() if isinstance(x, str) else "" for x in given]
    counts: dict = {}
    for text, d in zip(written, default):
        if not text:
            counts[d] = counts.get(d, 0) + 1
    seen: dict = {}
    out = {}
    for sid, text, d in zip(studies["study_id"], written, default):
        if text:
            out[sid] = text
        elif counts[d] > 1:
            i = seen.get(d, 0)
            seen[d] = i + 1
            out[sid] = f"{d}{_letters(i)}"
        else:
            out[sid] = d
    return out


def _letters(i: int) -> str:
    """a, b, ..., z, aa, ab, ... for 0, 1, ..."""
    text = ""
    i += 1
    while i:
        i, rem = divmod(i - 1, 26)
        text = chr(ord("a") + rem) + text
    return text


@dataclass(frozen=True)
class _Settings:
    prepost_r: float
    prepost_method: str
    level: float


def _num(value) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def _rows_of(*rows) -> str:
    """The sheet rows behind the arms (a row combined from subgroups names all of them)."""
    out = []
    for row in rows:
        if row is None:
            continue
        many = row.get("source_rows")
        if isinstance(many, str) and many.strip():
            out += [r.strip() for r in many.split(";") if r.strip()]
        else:
            out.append(str(int(row["source_row"])))
    return ";".join(out)


class _Collector:
    """Accumulates effect rows and exclusions for one review."""

    def __init__(self, settings: _Settings, outcomes_file: str):
        self.settings = settings
        self.file = outcomes_file
        self.effects: list[dict] = []
        self.excluded: list[dict] = []
        self._z = float(norm_ppf(0.5 + settings.level / 2))

    def exclude(self, row, reason: str, *, measure: str | None = None, comparison: str = ""):
        what = f"{comparison} {measure}: " if measure else (f"{comparison}: " if comparison else "")
        file = row.get("source_file")
        self.excluded.append(
            {
                "file": file if isinstance(file, str) and file else self.file,
                "row": int(row["source_row"]),
                "study_id": row["study_id"],
                "outcome": row["outcome"],
                "arm": row["arm"],
                "population": row["population"],
                "timepoint": row["timepoint"],
                "stage": "effects",
                "reason": what + reason,
            }
        )

    def add(self, study, row1, row2, *, comparison, measure, yi, vi, inputs, method, r=math.nan,
            r_source="", note="", extra=None):
        sei = math.sqrt(vi)
        self.effects.append(
            {
                "study_id": row1["study_id"],
                "cohort_id": study["cohort_id"],
                "label": study["label"],
                "outcome": row1["outcome"],
                "population": row1["population"],
                "design": study["design"],
                "comparison": comparison,
                "measure": measure,
                "timepoint": row1["timepoint"],
                "yi": yi,
                "vi": vi,
                "sei": sei,
                "ci_low": yi - self._z * sei,
                "ci_high": yi + self._z * sei,
                **inputs,
                "r": r,
                "r_source": r_source,
                "r_method": "",
                "r_agree_low": math.nan,
                "r_agree_high": math.nan,
                **(extra or {}),
                "effect_method": method,
                "source_rows": _rows_of(row1, row2),
                "note": note,
            }
        )


class _Rows(list):
    """One study's rows of one population as plain dicts (a list), filtered in Python: the
    groups hold a handful of rows, where a pandas selection costs more than the statistics."""

    def where(self, test) -> _Rows:
        return _Rows(r for r in self if test(r))

    def any(self, test) -> bool:
        return any(test(r) for r in self)


def _arm_inputs(row) -> tuple[float, float, float]:
    return _num(row["n_used"]), _num(row["mean_used"]), _num(row["sd_used"])


def _compute(measure: str, **kwargs) -> tuple[float, float] | str:
    """One effect size through :func:`scimeta.effects.escalc`, or the reason it is undefined."""
    arrays = {k: np.asarray([v], dtype=float) for k, v in kwargs.items()}
    try:
        es = escalc(measure, **arrays)
    except ValueError as err:
        return str(err)
    yi, vi = float(es.yi[0]), float(es.vi[0])
    if not (math.isfinite(yi) and math.isfinite(vi)):
        return "the effect size or its variance is not finite (an SD of 0 or a mean of 0?)"
    if vi <= 0:
        return "the sampling variance is 0 (all SDs are 0)"
    return yi, vi


def _between(col: _Collector, study, rows: _Rows, measures, timepoint):
    at_t = rows.where(lambda r: r["timepoint"] == timepoint)
    diff = at_t.where(lambda r: r["kind"] == "difference" and r["arm"] == "treatment")
    treat = at_t.where(lambda r: r["arm"] == "treatment" and r["kind"] != "difference")
    ctrl = at_t.where(lambda r: r["arm"] == "control")
    pair = None
    for kind in ("change", "final"):
        t_k = treat.where(lambda r: r["kind"] == kind)
        c_k = ctrl.where(lambda r: r["kind"] == kind)
        if t_k and c_k:
            pair = (t_k[0], c_k[0], kind)
            break
    if pair is not None:
        for row in diff:
            col.exclude(row, "per-arm values are reported and used; the reported difference "
                        "is kept for the audit", comparison="between_arms")
        _between_arms(col, study, pair, measures)
        return
    if diff:
        _reported_difference(col, study, diff[0], measures)
        return
    if ctrl:
        for row in at_t:
            col.exclude(row, "treatment and control rows are not of the same kind (final/change)",
                        comparison="between_arms")
    elif rows.any(lambda r: r["arm"] == "control"):
        for row in rows.where(lambda r: r["arm"] == "control"):
            col.exclude(row, f"no control value at the analysed timepoint ({timepoint:g} months)",
                        comparison="between_arms")


def _reported_difference(col: _Collector, study, row, measures):
    for measure in measures:
        if measure != "MD":
            col.exclude(row, "only a mean difference is reported; a standardised or ratio "
                        "measure needs per-arm means and SDs", measure=measure,
                        comparison="between_arms")
            continue
        yi, vi = _num(row.get("yi_used")), _num(row.get("vi_used"))
        if not (math.isfinite(yi) and math.isfinite(vi) and vi > 0):
            col.exclude(row, "the reported difference has no usable SE, CI or p-value",
                        measure=measure, comparison="between_arms")
            continue
        col.add(study, row, None, comparison="between_arms", measure="MD", yi=yi, vi=vi,
                inputs={"n1": _num(row["n_used"]), "mean1": math.nan, "sd1": math.nan,
                        "n2": math.nan, "mean2": math.nan, "sd2": math.nan},
                method=f"reported_difference_{row.get('effect_method') or 'generic'}")


def _between_arms(col: _Collector, study, pair, measures):
    t_row, c_row, kind = pair
    n1, m1, sd1 = _arm_inputs(t_row)
    n2, m2, sd2 = _arm_inputs(c_row)
    inputs = {"n1": n1, "mean1": m1, "sd1": sd1, "n2": n2, "mean2": m2, "sd2": sd2}
    for measure in measures:
        if measure == "ROM" and kind == "change":
            col.exclude(t_row, "a ratio of means is undefined for change scores",
                        measure=measure, comparison="between_arms")
            continue
        res = _compute(measure, n1i=n1, m1i=m1, sd1i=sd1, n2i=n2, m2i=m2, sd2i=sd2)
        if isinstance(res, str):
            col.exclude(t_row, res, measure=measure, comparison="between_arms")
            continue
        col.add(study, t_row, c_row, comparison="between_arms", measure=measure, yi=res[0],
                vi=res[1], inputs=inputs, method=f"{kind}_values")


@dataclass(frozen=True)
class _R:
    """The pre-post correlation of one before/after effect and how it was obtained."""

    r: float
    source: str
    method: str  # r_method (docs/contract.md)
    note: str = ""
    agree_low: float = math.nan  # the r that agree with the reported paired p (if any)
    agree_high: float = math.nan


def _paired_report(fu) -> tuple[str, float, float, float, str] | None:
    """The follow-up row's paired test as reported: (relation, p, p low, p high, text), or None.

    ``t_value`` is read before ``p_value``; a t gives an exact p (no rounding is assumed).
    """
    n = _num(fu.get("n_used"))
    t = _num(fu.get("t_value"))
    if math.isfinite(t) and math.isfinite(n):
        p = float(t_sf2(t, n - 1))
        return "=", p, p, p, f"t = {t:g}"
    p = _num(fu.get("p_value"))
    if math.isfinite(p):
        relation = fu.get("p_relation")
        rel, lo, hi = cv.reported_p(p, relation if isinstance(relation, str) else "")
        return rel, float(p), lo, hi, f"p {rel} {p:g}"
    return None


def _correlation(col: _Collector, fu, base) -> _R:
    """The correlation of a follow-up/baseline pair (the one rule; see :func:`build_effects`).

    In this order: ``prepost_r`` of the follow-up row, then of the baseline row
    (reported, or derived by the extraction from an SD, SE, CI, t or p of change);
    the follow-up row's paired test: ``t_value`` (``from_t``), else an exact
    ``p_value`` (``from_p``), each clipped to [-1, 1] with a note; a bound
    (``p < x``, ``p > x``) keeps the assumed r when it agrees, else takes the
    nearest r that does (``from_p_bound``); else the assumed ``prepost_r``.
    ``agree_low``/``agree_high`` is the range of r whose paired p agrees with the
    reported one (within the rounding of its last printed decimal).
    """
    args = (_num(fu["n_used"]), _num(base["mean_used"]), _num(base["sd_used"]),
            _num(fu["mean_used"]), _num(fu["sd_used"]))
    test = _paired_report(fu)
    lo = hi = math.nan
    if test is not None:
        lo, hi = cv.r_range_from_paired_p(*args, test[2], test[3])
    for row, where in ((fu, "follow-up"), (base, "baseline")):
        r = _num(row.get("prepost_r"))
        if math.isfinite(r):
            flags = str(row.get("flags") or "").split(";")
            method = next((f[2:] for f in flags if f.startswith("r_from_")), "reported")
            kind = "derived" if "r_derived" in flags else "reported"
            return _R(r, f"{kind} ({where} row)", method, agree_low=lo, agree_high=hi)
    assumed = col.settings.prepost_r
    if test is None:
        return _R(assumed, "assumed (config prepost_r)", "assumed")
    rel, p, _, _, text = test
    if rel == "=":
        t = _num(fu.get("t_value"))
        method = "from_t" if math.isfinite(t) else "from_p"
        raw = float(cv.r_from_paired_t(*args, t) if method == "from_t"
                    else cv.r_from_paired_p(*args, p))
        if not math.isfinite(raw):
            return _R(assumed, "assumed (config prepost_r)", "assumed",
                      f"the paired test ({text}) gives no r (equal means?): r = {assumed:g} "
                      "assumed", lo, hi)
        r = min(max(raw, -1.0), 1.0)
        note = f"r = {r:.4g} from the paired test ({text}, n = {args[0]:g})"
        if r != raw:
            note += f"; the test implies r = {raw:.4g}, clipped to [-1, 1] (inconsistent numbers?)"
        if r < 0:
            note += "; a negative correlation is unusual: check the test the paper used"
        return _R(r, "derived from the paired test (follow-up row)", method, note, lo, hi)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        # no r in [-1, 1] agrees with the bound: the nearest end
        r = 1.0 if rel == "<" else -1.0
        return _R(r, "nearest to a bound of the paired p (follow-up row)", "from_p_bound",
                  f"no r in [-1, 1] gives {text}; r = {r:g}, the nearest (inconsistent numbers?)")
    range_text = (f"r {'≥' if rel == '<' else '≤'} {lo if rel == '<' else hi:.4g}"
                  if (lo > -1 if rel == "<" else hi < 1) else "any r in [-1, 1]")
    if lo <= assumed <= hi:
        return _R(assumed, "assumed (config prepost_r)", "assumed",
                  f"assumed r = {assumed:g} agrees with the paired {text} ({range_text})", lo, hi)
    r = min(max(assumed, lo), hi)
    return _R(r, "nearest to a bound of the paired p (follow-up row)", "from_p_bound",
              f"the paired {text} needs {range_text}: r = {r:.4g} (the nearest to the assumed "
              f"{assumed:g}) used", lo, hi)


def _pre_post(col: _Collector, study, rows: _Rows, measures, timepoint):
    treat = rows.where(lambda r: r["arm"] == "treatment" and r["kind"] != "difference")
    fu = treat.where(lambda r: r["timepoint"] == timepoint and r["kind"] == "final")
    change = treat.where(lambda r: r["timepoint"] == timepoint and r["kind"] == "change")
    base = treat.where(lambda r: r["timepoint"] == 0 and r["kind"] == "final")
    base_row = base[0] if base else None
    independent = col.settings.prepost_method == "independent"
    if fu and base_row is not None:
        fu_row = fu[0]
        n1, m1, sd1 = _arm_inputs(fu_row)
        n0, m0, sd0 = _arm_inputs(base_row)
        inputs = {"n1": n1, "mean1": m1, "sd1": sd1, "n2": n0, "mean2": m0, "sd2": sd0}
        if independent:
            for measure in measures:
                res = _compute(measure, n1i=n1, m1i=m1, sd1i=sd1, n2i=n0, m2i=m0, sd2i=sd0)
                if isinstance(res, str):
                    col.exclude(fu_row, res, measure=measure, comparison="pre_post")
                    continue
                col.add(study, fu_row, base_row, comparison="pre_post", measure=measure,
                        yi=res[0], vi=res[1], inputs=inputs,
                        method="independent_groups", note="pre-post correlation ignored")
            return
        rr = _correlation(col, fu_row, base_row)
        notes = [rr.note] if rr.note else []
        if n1 != n0:
            notes.append(f"n differs between baseline ({n0:g}) and follow-up ({n1:g}); "
                         "follow-up n used")
        note = "; ".join(notes)
        r_info = {"r_method": rr.method, "r_agree_low": rr.agree_low,
                  "r_agree_high": rr.agree_high}
        for measure in measures:
            # SMCR is standardised by sd1i (metafor): the baseline SD goes there (Becker 1988).
            sds = dict(sd1i=sd0, sd2i=sd1) if measure == "SMCR" else dict(sd1i=sd1, sd2i=sd0)
            res = _compute(measure, ni=n1, m1i=m1, m2i=m0, ri=rr.r, **sds)
            if isinstance(res, str):
                col.exclude(fu_row, res, measure=measure, comparison="pre_post")
                continue
            col.add(study, fu_row, base_row, comparison="pre_post", measure=measure, yi=res[0],
                    vi=res[1], inputs=inputs, method="final_vs_baseline", r=rr.r,
                    r_source=rr.source, note=note, extra=r_info)
        return
    if change:
        ch_row = change[0]
        n, m, sd = _arm_inputs(ch_row)
        for measure in measures:
            if independent:
                col.exclude(ch_row, "a change score cannot be analysed as two independent groups",
                            measure=measure, comparison="pre_post")
                continue
            if measure == "SMCR":
                col.exclude(ch_row, "SMCR needs the baseline SD, and no baseline row is reported",
                            measure=measure, comparison="pre_post")
                continue
            # A change score is the difference of the two time points with its own SD:
            # MC and SMCC take it directly (second time point 0 with SD 0).
            res = _compute(measure, ni=n, m1i=m, m2i=0.0, sd1i=sd, sd2i=0.0, ri=0.0)
            if isinstance(res, str):
                col.exclude(ch_row, res, measure=measure, comparison="pre_post")
                continue
            col.add(study, ch_row, None, comparison="pre_post", measure=measure, yi=res[0],
                    vi=res[1], inputs={"n1": n, "mean1": m, "sd1": sd, "n2": math.nan,
                                       "mean2": math.nan, "sd2": math.nan},
                    method="change_score", r_source="not needed (SD of change reported)",
                    extra={"r_method": "not_needed"})
        return
    for row in treat.where(lambda r: r["timepoint"] in (0, timepoint)):
        missing = "baseline" if row["timepoint"] != 0 else f"follow-up at {timepoint:g} months"
        col.exclude(row, f"no {missing} value to pair with", comparison="pre_post")


def build_effects(arms: pd.DataFrame, studies: pd.DataFrame, config: dict,
                  *, outcomes_file: str = "data/raw/outcomes.csv",
                  config_file: str = "config/config.yaml") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Effect sizes of every comparison the arms allow.

    Parameters
    ----------
    arms
        The extraction's arms table (``data/processed/arms.csv``): rows with
        ``n_used``, ``mean_used``, ``sd_used`` (and ``yi_used``, ``vi_used``
        for reported differences) and ``included``. Only the included rows
        (:func:`scimeta.extract.included_arms`) are read: a row the extraction
        listed as excluded never enters an effect size.
    studies
        ``studies.csv``.
    config
        The review's config (``outcomes``, ``prepost_r``, ``prepost_method``,
        ``analysis.level``).

    Returns
    -------
    effects, excluded
        ``effects`` with :data:`EFFECT_COLUMNS`, sorted by outcome,
        comparison, measure, population and label; ``excluded`` with
        :data:`EXCLUDED_COLUMNS` (stage ``effects``).
    """
    settings = _Settings(
        prepost_r=float(config["prepost_r"]),
        prepost_method=config["prepost_method"],
        level=analysis_settings(config["analysis"]).level,
    )
    col = _Collector(settings, outcomes_file)
    notes: list[dict] = []
    study_info = {}
    labels = study_labels(studies)
    for _, s in studies.iterrows():
        cohort = s.get("cohort_id")
        cohort = s["study_id"] if (cohort is None or str(cohort).strip() in ("", "nan")) else cohort
        study_info[s["study_id"]] = {
            "cohort_id": cohort,
            "design": s.get("design", ""),
            "label": labels[s["study_id"]],
        }
    usable = included_arms(arms)
    for outcome, ocfg in config["outcomes"].items():
        timepoint = float(ocfg["timepoint"])
        allowed = INDEPENDENT_MEASURES if settings.prepost_method == "independent" else PAIRED_MEASURES
        bad = [m for m in ocfg["pre_post"] if m not in allowed]
        if bad:
            raise ValueError(
                f"config.yaml: outcomes.{outcome}.pre_post: {', '.join(bad)} cannot be used with "
                f"prepost_method {settings.prepost_method} (allowed: {', '.join(allowed)})"
            )
        plan = measure_plan(arms[arms["outcome"] == outcome], ocfg,
                            prepost_method=settings.prepost_method)
        note = plan_note(plan)
        if note:
            notes.append({"file": config_file, "row": "", "study_id": "", "outcome": outcome,
                          "arm": "", "population": "", "timepoint": timepoint, "stage": "plan",
                          "reason": note})
        between, pre_post = plan["between_arms"].measures, plan["pre_post"].measures
        sub = usable[usable["outcome"] == outcome]
        sub = sub.assign(timepoint=sub["timepoint"].astype(float))
        records = sub.to_dict("records")
        groups: dict = {}
        # as groupby(["study_id", "population"], sort=True): groups sorted, rows in sheet order
        keyed = [r for r in records if not (pd.isna(r["study_id"]) or pd.isna(r["population"]))]
        for r in sorted(keyed, key=lambda r: (r["study_id"], r["population"])):
            groups.setdefault((r["study_id"], r["population"]), _Rows()).append(r)
        for (study_id, _population), rows in groups.items():
            study = study_info[study_id]
            if between:
                _between(col, study, rows, between, timepoint)
            if pre_post:
                _pre_post(col, study, rows, pre_post, timepoint)
    effects = pd.DataFrame(col.effects, columns=EFFECT_COLUMNS)
    effects = effects.sort_values(
        ["outcome", "comparison", "measure", "population", "label", "study_id"], kind="mergesort"
    ).reset_index(drop=True)
    excluded = pd.DataFrame(col.excluded, columns=list(EXCLUDED_COLUMNS))
    excluded = excluded.sort_values(["file", "row", "reason"], kind="mergesort")
    if notes:  # one row per outcome, after the rows of the sheet
        excluded = pd.concat([excluded.astype(object), pd.DataFrame(notes, columns=list(EXCLUDED_COLUMNS))])
    return effects, excluded.reset_index(drop=True)
