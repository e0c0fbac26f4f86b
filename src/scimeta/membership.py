"""Who enters each pool, with how many patients: one table, one set of rules.

:func:`membership_table` decides, for every analysis (outcome x comparison x
measure), which effect sizes enter the overall pool (``subgroup_var =
"overall"``) and each subgroup pool of each subgroup variable, and why, and
how many patients each brings (:func:`effect_patients`), and in which design
stratum (:func:`design_stratum`: studies of different designs are pooled
together only where the config says so). Every consumer reads that table: the overall and subgroup pools, the tests for subgroup
differences, meta-regression, the bias and influence diagnostics, the r
sweep and the figures (:func:`pool_rows` turns it back into effect rows).
It is written as ``subgroup_membership.csv``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from scimeta._dist import norm_isf
from scimeta.pool import check_yi_vi
from scimeta.tables import columns

__all__ = [
    "ALL_DESIGNS",
    "DESIGN_NAMES",
    "DESIGN_ORDER",
    "DESIGN_PLURAL",
    "DESIGN_SHORT",
    "MIXED",
    "ANALYSIS_KEYS",
    "ASSIGNMENT_COLUMNS",
    "OVERALL",
    "assign_subgroups",
    "combine_rows",
    "design_stratum",
    "effect_patients",
    "largest_stratum",
    "ordered_strata",
    "membership_table",
    "pool_notes",
    "pool_patients",
    "pool_rows",
    "pool_strata",
    "shown_stratum",
]

#: ``subgroup_var`` of the overall pool's membership rows (subgroup ``all``).
OVERALL = "overall"

#: Label of the group of studies that are mixed for a variable and report no split.
MIXED = "mixed / not reported"
#: What one analysis is: every pool, test and diagnostic is made within one of these, the
#: design stratum (``design``, :func:`design_stratum`) included.
ANALYSIS_KEYS = ["outcome", "comparison", "measure", "design"]

#: ``design`` of a pool across designs (``analysis.designs.<comparison>: pooled``).
ALL_DESIGNS = "all"
#: The order design strata are listed and drawn in: randomised evidence first.
DESIGN_ORDER = ("rct", "controlled", "single_arm", ALL_DESIGNS)
#: A design (studies.csv ``design``) or stratum in words, in tables and text.
DESIGN_NAMES = {
    "rct": "randomised controlled trial",
    "controlled": "non-randomised controlled study",
    "single_arm": "single-arm case series",
    ALL_DESIGNS: "all designs",
}
#: The same in the plural: what a pool of one design stratum pools.
DESIGN_PLURAL = {
    "rct": "randomised controlled trials",
    "controlled": "non-randomised controlled studies",
    "single_arm": "single-arm case series",
    ALL_DESIGNS: "all designs",
}
#: The same, short: the design column and sections of forest plots.
DESIGN_SHORT = {"rct": "RCT", "controlled": "Non-randomised", "single_arm": "Single-arm",
                ALL_DESIGNS: "All designs"}

ASSIGNMENT_COLUMNS = columns("subgroup_membership")


def _is_blank(value) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        if pd.isna(value):
            return True
    except (TypeError, ValueError):
        pass
    return str(value).strip() in ("", "nan", "NA", "None")


def effect_patients(row) -> float:
    """Patients behind one effect size: the one decision every count of patients reads.

    Between arms, both arms (``n1 + n2``); before/after, the patients
    analysed at follow-up (``n1``: group 1 is the follow-up, and a
    before/after effect size is computed on the patients measured at both
    times, whom the follow-up n counts). NaN when a needed n is missing.
    """
    n1 = float(row["n1"]) if "n1" in row and not _is_blank(row["n1"]) else math.nan
    n2 = float(row["n2"]) if "n2" in row and not _is_blank(row["n2"]) else math.nan
    if row.get("comparison", "") == "pre_post":
        return n1
    return n1 + n2


def design_stratum(design, comparison: str, designs: Mapping[str, str] | None) -> str:
    """The design stratum an effect size pools in: the one rule of which designs pool together.

    ``designs`` is the config's ``analysis.designs`` (comparison -> ``separate`` or
    ``pooled``): ``separate`` gives the study's own ``design`` (``rct``,
    ``controlled``, ``single_arm``), so that a randomised comparison is never pooled
    with a non-randomised one (Cochrane Handbook v6, ch. 24.6, v5.1, 13.2.1.1: results
    of randomised trials and of non-randomised studies are presented separately, not
    combined); ``pooled`` gives
    :data:`ALL_DESIGNS`. ``designs = None`` (a library call without a config) pools
    across designs.

    Raises
    ------
    ValueError
        ``separate`` with no design for the study, or a choice that is neither.
    """
    choice = "pooled" if designs is None else designs[comparison]
    if choice == "pooled":
        return ALL_DESIGNS
    if choice != "separate":
        raise ValueError(f"analysis.designs.{comparison}: expected 'separate' or 'pooled', "
                         f"got {choice!r}")
    if _is_blank(design):
        raise ValueError(f"analysis.designs.{comparison} = separate needs each study's design "
                         "(studies.csv column design)")
    return str(design).strip()


def _design_rank(stratum) -> tuple:
    stratum = str(stratum)
    return (DESIGN_ORDER.index(stratum) if stratum in DESIGN_ORDER else len(DESIGN_ORDER),
            stratum)


def ordered_strata(values) -> list[str]:
    """The distinct design strata among ``values``, randomised first (:data:`DESIGN_ORDER`)."""
    return sorted({str(v) for v in values}, key=_design_rank)


def _check_effects(effects: pd.DataFrame) -> None:
    need = ["study_id", "outcome", "comparison", "measure", "population", "yi", "vi"]
    missing = [c for c in need if c not in effects.columns]
    if missing:
        raise ValueError(f"effects: missing column(s) {', '.join(missing)}")
    # the one check of yi and vi (finite, vi > 0), naming the study
    check_yi_vi(pd.to_numeric(effects["yi"], errors="coerce"),
                pd.to_numeric(effects["vi"], errors="coerce"),
                study_id=effects["study_id"].astype(str).tolist())


def combine_rows(yi, vi) -> tuple[float, float]:
    """Combine the split rows of one study into one effect (inverse variance).

    .. math:: y = \\frac{\\sum_j y_j / v_j}{\\sum_j 1/v_j}, \\qquad v = \\frac{1}{\\sum_j 1/v_j}

    Exact for mean differences of disjoint subgroups when the within-subgroup
    estimates are independent (common-effect combination, Borenstein et al.
    2009, *Introduction to Meta-Analysis*, ch. 23, doi:10.1002/9780470743386);
    an approximation for standardised measures. Used only for the overall
    pool of a study that reports the split and no overall row.
    """
    y = np.asarray(yi, dtype=float)
    w = 1.0 / np.asarray(vi, dtype=float)
    return float(np.sum(w * y) / np.sum(w)), float(1.0 / np.sum(w))


def assign_subgroups(
    effects: pd.DataFrame,
    studies: pd.DataFrame,
    var: str,
    populations_map: Mapping[str, Sequence[str]] | None = None,
    *,
    designs: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Which effect rows enter which subgroup pool of ``var``, and why.

    Parameters
    ----------
    effects : DataFrame
        ``effects.csv`` rows (``study_id, cohort_id, outcome, comparison,
        measure, population, yi, vi, n1, n2``; ``cohort_id`` empty means the
        study is its own cohort).
    studies : DataFrame
        ``studies.csv`` rows; ``var`` may be one of its columns.
    var : str
        The subgroup variable: a column of ``studies`` and/or a key of
        ``populations_map``; ``"overall"`` gives the membership of the overall
        pool (subgroup ``all``).
    populations_map : mapping
        The config's ``populations:`` (variable -> the ``population`` values
        that are its levels).
    designs : mapping, optional
        The config's ``analysis.designs``: each row's design stratum is
        :func:`design_stratum` of its ``design`` (column ``design`` of the
        table); every rule below applies within one stratum. None: one
        stratum, :data:`ALL_DESIGNS`.

    Returns
    -------
    DataFrame
        :data:`ASSIGNMENT_COLUMNS`, one row per effect row considered (plus
        combined rows for ``overall``): ``included`` says whether it is
        pooled, ``in_test`` whether its subgroup enters the tests for
        differences, ``reason`` why, ``effect_row`` the index of the row in
        ``effects`` (-1 for a combined row).

    Notes
    -----
    Rules, applied per analysis (outcome, comparison, measure):

    - a study that reports the split (rows whose ``population`` is a level
      of ``var``) contributes those rows to their subgroups; its ``all`` row
      is not used for ``var``;
    - otherwise a study whose ``studies.csv`` value of ``var`` is a level
      (homogeneous study, e.g. ``level = cervical``) contributes its ``all``
      row to that subgroup;
    - otherwise (value ``mixed`` or empty) its ``all`` row goes to
      :data:`MIXED`: pooled and shown, never tested;
    - rows of another variable's populations are not used for ``var``;
    - a cohort enters an analysis through one study only: the one with the
      largest n (ties: the one reporting more rows, then the first
      ``study_id``); the others are listed as dropped with the reason.

    For ``overall``: the ``all`` row of each study; a study without one but
    with the split of exactly one variable contributes its split rows
    combined by :func:`combine_rows`.
    """
    _check_effects(effects)
    populations_map = dict(populations_map or {})
    if studies is None:  # cohorts from the effect rows; no study-level variables
        studies = pd.DataFrame({"study_id": pd.Series(dtype=str)})
    if "study_id" not in studies.columns:
        raise ValueError("studies: missing column study_id")
    pops = [str(p) for p in populations_map.get(var, [])]
    is_column = var in studies.columns
    if var != "overall" and not is_column and not pops:
        raise ValueError(
            f"subgroup variable {var!r} is neither a column of studies.csv nor a key of "
            f"populations in the config"
        )
    attr = {}
    cohort_of = {}
    for s in studies.to_dict("records"):
        sid = str(s["study_id"])
        attr[sid] = None if (not is_column or _is_blank(s[var])) else str(s[var]).strip()
        c = s.get("cohort_id")
        cohort_of[sid] = sid if _is_blank(c) else str(c)
    all_pops = {str(p): k for k, vals in populations_map.items() for p in vals}

    records: list[dict] = []
    eff = effects.copy()
    eff["_row"] = effects.index
    if designs is not None and "design" not in eff:
        raise ValueError("effects: missing column design (analysis.designs needs it)")
    study_design = eff["design"] if "design" in eff else pd.Series("", index=eff.index)
    eff["design"] = [design_stratum(d, c, designs)
                     for d, c in zip(study_design, eff["comparison"])]
    # as groupby(ANALYSIS_KEYS) then groupby("study_id"), both sorted, rows in table order;
    # plain dicts, since the groups hold a handful of rows
    grouped: dict = {}
    group_keys = [*ANALYSIS_KEYS, "study_id"]
    for r in eff.to_dict("records"):
        key = tuple(r[k] for k in group_keys)
        if not any(pd.isna(x) for x in key):
            grouped.setdefault(key, []).append(r)
    for key in sorted(grouped):
        keys, sid, rows = key[:-1], key[-1], grouped[key]
        sid = str(sid)
        cohort = cohort_of.get(sid)
        if cohort is None:
            c = rows[0].get("cohort_id")
            cohort = sid if _is_blank(c) else str(c)

        def rec(row, subgroup, included, in_test, reason, *, y=None, v=None, n=None, pop=None):
            records.append(
                {
                    **dict(zip(ANALYSIS_KEYS, keys)),
                    "subgroup_var": var,
                    "subgroup": subgroup,
                    "study_id": sid,
                    "cohort_id": cohort,
                    "population": pop if pop is not None else str(row["population"]),
                    "yi": float(row["yi"]) if y is None else y,
                    "vi": float(row["vi"]) if v is None else v,
                    "n": effect_patients(row) if n is None else n,
                    "included": included,
                    "in_test": in_test,
                    "reason": reason,
                    "effect_row": int(row["_row"]) if row is not None else -1,
                }
            )

        seen_pops: set[str] = set()
        uniq = []
        for row in rows:
            pop = str(row["population"])
            if pop in seen_pops:
                rec(row, "", False, False, f"duplicate effect row for population {pop!r}")
            else:
                seen_pops.add(pop)
                uniq.append(row)
        overall_rows = [r for r in uniq if str(r["population"]) == "all"]
        if var == "overall":
            for r in uniq:
                if str(r["population"]) != "all":
                    rec(
                        r,
                        "",
                        False,
                        False,
                        f"population {r['population']!r}: "
                        "within-study subgroup row, not used for the overall pool",
                    )
            if overall_rows:
                rec(overall_rows[0], "all", True, True, "overall (population all) row")
                continue
            by_var: dict[str, list] = {}
            for r in uniq:
                pvar = all_pops.get(str(r["population"]))
                if pvar is not None:
                    by_var.setdefault(pvar, []).append(r)
            if by_var:
                # several variables' splits describe the same patients: use one
                pvar = sorted(by_var)[0]
                parts = by_var[pvar]
                y, v = combine_rows(
                    [float(r["yi"]) for r in parts], [float(r["vi"]) for r in parts]
                )
                nn = float(sum(effect_patients(r) for r in parts))  # NaN if any is unknown
                names = "+".join(str(r["population"]) for r in parts)
                rec(
                    parts[0],
                    "all",
                    True,
                    True,
                    f"no overall row: {pvar} split rows ({names}) combined by inverse variance",
                    y=y,
                    v=v,
                    n=nn,
                    pop=f"combined:{names}",
                )
                records[-1]["effect_row"] = -1
            continue
        split = [r for r in uniq if str(r["population"]) in pops]
        for r in uniq:
            pop = str(r["population"])
            if pop != "all" and pop not in pops:
                owner = all_pops.get(pop)
                why = (
                    f"population {pop!r} belongs to variable {owner!r}"
                    if owner
                    else f"population {pop!r} is not a level of {var!r} in the config"
                )
                rec(r, "", False, False, why)
        if split:
            for r in split:
                rec(
                    r,
                    str(r["population"]),
                    True,
                    True,
                    f"reports the {var} split: row for {r['population']}",
                )
            for r in overall_rows:
                rec(
                    r,
                    "",
                    False,
                    False,
                    f"overall row not used for {var}: the study reports its {var} split",
                )
        elif overall_rows:
            value = attr.get(sid)
            if value is not None and value.lower() != "mixed":
                rec(
                    overall_rows[0],
                    value,
                    True,
                    True,
                    f"homogeneous study: studies.csv {var} = {value}",
                )
            else:
                what = "mixed" if value is not None else "not reported"
                rec(
                    overall_rows[0],
                    MIXED,
                    True,
                    False,
                    f"studies.csv {var} is {what} and no {var} split is reported: "
                    "shown, left out of the tests for differences",
                )
    cols = ASSIGNMENT_COLUMNS
    out = (
        pd.DataFrame.from_records(records, columns=cols) if records else pd.DataFrame(columns=cols)
    )
    out = _dedup_cohorts(out)
    out = out.sort_values(
        ANALYSIS_KEYS + ["subgroup", "study_id", "population"], kind="mergesort"
    ).reset_index(drop=True)
    out["included"] = out["included"].astype(bool)
    out["in_test"] = out["in_test"].astype(bool)
    return out


def _dedup_cohorts(a: pd.DataFrame) -> pd.DataFrame:
    """Keep one study per cohort and analysis (largest n; then more rows; then study_id)."""
    if a.empty:
        return a
    a = a.copy()
    inc = a[a["included"]]
    # only the cohorts reported by several studies (vectorised: most cohorts are one study)
    several = inc.groupby(ANALYSIS_KEYS + ["cohort_id"], sort=False)["study_id"].transform("nunique")
    for _, g in inc[several.to_numpy() > 1].groupby(ANALYSIS_KEYS + ["cohort_id"], sort=True):
        sids = sorted(g["study_id"].unique())
        if len(sids) < 2:
            continue
        score = []
        for sid in sids:
            rows = g[g["study_id"] == sid]
            n = float(np.nansum(rows["n"].to_numpy(dtype=float)))
            score.append((-n, -len(rows), sid))
        keep = sorted(score)[0][2]
        n_keep = -sorted(score)[0][0]
        for sid in sids:
            if sid == keep:
                continue
            idx = g.index[g["study_id"] == sid]
            a.loc[idx, "included"] = False
            a.loc[idx, "in_test"] = False
            a.loc[idx, "reason"] = (
                f"cohort {g['cohort_id'].iloc[0]} enters through study {keep} "
                f"(n = {n_keep:g}, the largest): dropped to avoid double counting; was: "
                + a.loc[idx, "reason"].astype(str)
            )
    return a


def membership_table(
    effects: pd.DataFrame,
    studies: pd.DataFrame | None,
    subgroups: Sequence[str] = (),
    populations_map: Mapping[str, Sequence[str]] | None = None,
    *,
    designs: Mapping[str, str] | None,
) -> pd.DataFrame:
    """Who enters each pool: the overall pool and every subgroup pool of ``subgroups``.

    :data:`ASSIGNMENT_COLUMNS`, the rows of :func:`assign_subgroups` for
    :data:`OVERALL` first, then for each variable in the config's order.
    ``n`` is :func:`effect_patients` of the row (the sum over the parts for
    a study whose subgroup rows were combined); ``design`` the design stratum
    of the pools it enters (:func:`design_stratum` with ``designs``, the
    config's ``analysis.designs``: required, so that no caller forgets the
    decision; ``None`` pools across designs).
    """
    if effects.empty:
        return pd.DataFrame(columns=ASSIGNMENT_COLUMNS)
    frames = [assign_subgroups(effects, studies, var, populations_map, designs=designs)
              for var in [OVERALL, *[v for v in subgroups if v != OVERALL]]]
    return pd.concat(frames, ignore_index=True)[ASSIGNMENT_COLUMNS]


def _truthy(values: pd.Series) -> pd.Series:
    """``included`` / ``in_test`` as booleans, also when read back from a CSV."""
    if values.dtype == bool:
        return values
    return values.astype(str).str.strip().str.lower().isin(["true", "1"])


def _members(membership: pd.DataFrame, comparison: str, measure: str, var: str,
             outcome: str | None = None, design: str | None = None) -> pd.DataFrame:
    m = membership
    chosen = (m["comparison"] == comparison) & (m["measure"] == measure) & (m["subgroup_var"] == var)
    if outcome is not None:
        chosen &= m["outcome"] == outcome
    if design is not None:
        chosen &= m["design"].astype(str) == str(design)
    return m[chosen]


def pool_strata(membership: pd.DataFrame, *, comparison: str, measure: str,
                var: str = OVERALL, outcome: str | None = None) -> list[str]:
    """The design strata of one analysis's pools (:func:`design_stratum`), randomised first
    (:data:`DESIGN_ORDER`): one pool of ``var`` per stratum, none across strata."""
    members = _members(membership, comparison, measure, var, outcome)
    members = members[_truthy(members["included"])]
    return ordered_strata(members["design"])


def shown_stratum(membership: pd.DataFrame, *, comparison: str, measure: str,
                  outcome: str | None = None) -> str | None:
    """The design stratum a figure of one pool (funnel, GOSH, cumulative, bubble, r sweep,
    subgroup forest) shows when the analysis has several: the one with the most studies,
    randomised first on a tie (:data:`DESIGN_ORDER`). None without a pool."""
    members = _members(membership, comparison, measure, OVERALL, outcome)
    members = members[_truthy(members["included"])]
    if members.empty:
        return None
    counts = members.groupby(members["design"].astype(str))["study_id"].nunique()
    return largest_stratum(dict(counts))


def largest_stratum(k_of: Mapping[str, int]) -> str:
    """Of design strata with ``k_of[stratum]`` studies each, the one a figure of one pool
    shows (:func:`shown_stratum`): the most studies, randomised first on a tie."""
    return min(k_of, key=lambda d: (-int(k_of[d]), _design_rank(d)))


def pool_rows(
    effects: pd.DataFrame,
    membership: pd.DataFrame,
    *,
    comparison: str,
    measure: str,
    var: str = OVERALL,
    outcome: str | None = None,
    design: str | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """The effect rows of the pools of one analysis, as the membership table decides.

    Rows of ``effects`` (the same row order and index as the table's
    ``effect_row`` refers to) for the included members of ``var``'s pools
    (of the design stratum ``design``; None: of every stratum), with a column
    ``subgroup`` (``all`` for the overall pool), ``stratum`` (the pool's
    design stratum, the table's ``design``; ``design`` stays the study's own)
    and ``n`` (:func:`effect_patients`). A study whose subgroup rows were combined
    for the overall pool appears as one row: ``yi``/``vi`` of the
    combination, ``sei`` and a normal ``level`` CI from them,
    ``population = combined:<levels>``, ``n1``/``n2`` summed over the
    parts, no means or SDs. Sorted by subgroup, label and study.
    """
    members = _members(membership, comparison, measure, var, outcome, design)
    members = members[_truthy(members["included"])]
    rows_at = pd.to_numeric(members["effect_row"]).astype(int)
    frames = []
    direct = members[rows_at.to_numpy() >= 0]
    if len(direct):
        picked = effects.loc[rows_at[rows_at >= 0].to_numpy()].copy()
        picked["subgroup"] = direct["subgroup"].to_numpy()
        picked["stratum"] = direct["design"].astype(str).to_numpy()
        picked["n"] = pd.to_numeric(direct["n"]).to_numpy(float)
        frames.append(picked)
    z = norm_isf((1.0 - level) / 2.0)
    for _, m in members[rows_at.to_numpy() < 0].iterrows():
        parts = str(m["population"]).removeprefix("combined:").split("+")
        source = effects[(effects["study_id"].astype(str) == str(m["study_id"]))
                         & (effects["comparison"] == comparison) & (effects["measure"] == measure)
                         & effects["population"].astype(str).isin(parts)]
        row = source.iloc[[0]].copy()
        y, v = float(m["yi"]), float(m["vi"])
        se = math.sqrt(v)
        numbers = {c: math.nan for c in ("mean1", "sd1", "mean2", "sd2", "r") if c in row}
        row = row.assign(
            population=str(m["population"]), yi=y, vi=v, sei=se, ci_low=y - z * se,
            ci_high=y + z * se, subgroup=m["subgroup"], stratum=str(m["design"]),
            n=float(m["n"]),
            **{c: source[c].sum(min_count=len(source)) for c in ("n1", "n2") if c in source},
            **numbers,
        )
        if "note" in row:
            row["note"] = str(m["reason"])
        frames.append(row)
    if not frames:
        out = effects.iloc[0:0].copy()
        return out.assign(subgroup=pd.Series(dtype=object), stratum=pd.Series(dtype=object),
                          n=pd.Series(dtype=float))
    out = pd.concat(frames)
    out["_rank"] = [_design_rank(d) for d in out["stratum"]]
    order = [c for c in ("_rank", "subgroup", "label", "study_id", "population") if c in out]
    return out.sort_values(order, kind="mergesort").drop(columns="_rank")


def pool_patients(rows: pd.DataFrame) -> tuple[float, list[str]]:
    """Patients of a pool (the sum of :func:`effect_patients` over its rows) and the
    studies whose n is unknown (not counted)."""
    n = pd.to_numeric(rows["n"], errors="coerce")
    return float(n.sum()), list(rows.loc[n.isna(), "study_id"].astype(str))


def pool_notes(membership: pd.DataFrame, *, comparison: str, measure: str, var: str = OVERALL,
               subgroup: str | None = None, outcome: str | None = None,
               design: str | None = None) -> list[str]:
    """What a pool's ``note`` says about its members: combined studies, cohorts left out."""
    members = _members(membership, comparison, measure, var, outcome, design)
    if subgroup is not None:
        members = members[members["subgroup"].astype(str) == str(subgroup)]
    notes = []
    included = _truthy(members["included"])
    combined = members[included & (pd.to_numeric(members["effect_row"]) < 0)]
    for _, m in combined.iterrows():
        notes.append(f"{m['study_id']}: {m['reason']}")
    if var == OVERALL:
        dropped = members[~included & members["reason"].astype(str).str.startswith("cohort ")]
        for _, m in dropped.iterrows():
            notes.append(f"{m['study_id']} left out: {m['reason'].split(': dropped')[0]}")
    return notes
