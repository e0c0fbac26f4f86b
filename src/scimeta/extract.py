"""From validated sheets to arms: every number that enters a computation, and how it was obtained.

:func:`build_arms` turns each ``outcomes`` row into ``n_used``, ``mean_used``,
``sd_used`` (arm rows) or ``yi_used``, ``vi_used`` (``kind = difference``
rows), recording the method of each (a key of
:data:`scimeta.conversions.METHOD_REFERENCES`) and ';'-joined ``flags``.
Nothing is dropped silently: rows that cannot be used stay in ``arms`` with
``included = False`` and are listed, with the reason, in the excluded table.
That column is the one decision about exclusion: every consumer reads it
through :func:`included_arms`, and an excluded row lends nothing to other
rows (no baseline SD, correlation, subgroup sum or donor SD).

Order of derivation for an arm row:

1. mean: reported ``mean``; else the CI midpoint (``ci_midpoint``); else the
   median with IQR and/or range (``extraction.median_method``).
2. SD: reported ``sd``; else from ``se`` (``from_se``); else from the CI
   (``from_ci_t`` or ``from_ci_z`` per ``extraction.ci_distribution``, level
   ``ci_level`` or 0.95 when empty); else from the median summary; else, for a
   ``change`` row, from its paired test: ``t_value`` (``change_from_t``) or an
   exact ``p_value`` (``change_from_p``, t with n - 1 df; a bound gives none);
   else, for a ``change`` row that gives ``prepost_r``, from the baseline
   (timepoint 0) and final SDs of the same study/outcome/arm/population
   (``change_from_sds``).
3. ``prepost_r`` is derived (flags ``r_derived`` and ``r_from_<sd|se|ci|t|p>_change``,
   what the change SD came from) where the same
   study/outcome/arm/population has a baseline (timepoint 0, final), a final
   and a change row at one timepoint, all with an SD, and the row gives none;
   it is written on the final and change rows of that timepoint. A value
   outside [-1, 1] is not used (flag ``r_derived_invalid``). (A paired p or t
   on the follow-up row itself is read when the effect is computed:
   :func:`scimeta.compare.build_effects`.)
4. A study/outcome/arm/timepoint/kind with rows for the levels of one
   subgroup variable (``populations`` in the config), all with n, mean and
   SD, but no ``all`` row, gets a synthesised ``population = all`` row
   (``combined_subgroups``, flag ``combined_from_subgroups``, ``source_rows``
   the ';'-joined subgroup rows, ``source_row`` the first of them).
5. Rows still without an SD follow ``extraction.missing_sd``: ``exclude``, or
   ``impute_mean`` / ``impute_max`` of the SDs (reported or derived, not
   imputed) of the other studies with the same outcome, timepoint and kind
   (flag ``sd_imputed``); with no donor the row is excluded.

Difference rows: ``yi_used = mean`` (or the CI midpoint), ``vi_used`` from
``se`` (``from_se``), else the CI (``from_ci``; t with n - 2 df when ``n``,
the total of both arms, is given), else ``p_value`` (``from_p``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scimeta import conversions as cv
from scimeta.tables import columns

__all__ = ["build_arms", "included_arms", "ARMS_ADDED_COLUMNS", "EXCLUDED_COLUMNS"]

#: Columns added to the outcomes columns in ``arms`` (after ``source_row``).
ARMS_ADDED_COLUMNS = (
    "source_rows",
    "n_used",
    "mean_used",
    "sd_used",
    "mean_method",
    "sd_method",
    "yi_used",
    "vi_used",
    "effect_method",
    "included",
    "flags",
    "source_file",
)
#: Columns of the excluded table.
EXCLUDED_COLUMNS = tuple(columns("excluded"))


#: ``sd_method`` prefix of a change row -> what its SD came from (``r_method``
#: ``from_<name>_change`` of a correlation derived from it).
_CHANGE_SD_SOURCES = (("from_se", "se"), ("from_ci", "ci"), ("change_from_t", "t"),
                      ("change_from_p", "p"))


def _fin(x) -> bool:
    try:
        return bool(np.isfinite(float(x)))
    except (TypeError, ValueError):
        return False


def _arm_row(r: dict, ext: dict) -> dict:
    """Mean and SD of one arm row (steps 1-2, without cross-row derivations)."""
    out = {"mean_used": np.nan, "sd_used": np.nan, "mean_method": "", "sd_method": ""}
    flags: list[str] = []
    n = r["n"]
    has_ci = _fin(r["ci_low"]) and _fin(r["ci_high"])
    level = r["ci_level"] if _fin(r["ci_level"]) else 0.95
    has_median = _fin(r["median"]) and (
        (_fin(r["q1"]) and _fin(r["q3"])) or (_fin(r["min"]) and _fin(r["max"]))
    )
    med = None
    if has_median and _fin(n):
        med = cv.median_to_mean_sd(
            n,
            r["median"],
            q1=r["q1"] if _fin(r["q1"]) else None,
            q3=r["q3"] if _fin(r["q3"]) else None,
            minimum=r["min"] if _fin(r["min"]) else None,
            maximum=r["max"] if _fin(r["max"]) else None,
            method=ext["median_method"],
        )
    if _fin(r["mean"]):
        out["mean_used"], out["mean_method"] = float(r["mean"]), "reported"
    elif has_ci:
        out["mean_used"], out["mean_method"] = (
            cv.mean_from_ci(r["ci_low"], r["ci_high"]),
            "ci_midpoint",
        )
    elif med is not None:
        out["mean_used"], out["mean_method"] = med[0], med[2]
    if _fin(r["sd"]):
        out["sd_used"], out["sd_method"] = float(r["sd"]), "reported"
    elif _fin(r["se"]) and _fin(n):
        out["sd_used"], out["sd_method"] = cv.sd_from_se(r["se"], n), "from_se"
    elif has_ci and _fin(n):
        dist = ext["ci_distribution"]
        out["sd_used"] = cv.sd_from_ci(r["ci_low"], r["ci_high"], n, level, dist)
        out["sd_method"] = f"from_ci_{dist}"
    elif med is not None:
        out["sd_used"], out["sd_method"] = med[1], med[3]
    elif r["kind"] == "change" and _fin(out["mean_used"]) and _fin(n):
        out.update(_sd_of_change_from_test(r, out["mean_used"], n))
    out["flags"] = flags
    return out


def _sd_of_change_from_test(r: dict, mean: float, n: float) -> dict:
    """SD of a change row from its paired test: ``t_value``, else an exact ``p_value``
    (a bound such as "p < 0.001" gives no SD). Empty when neither gives one."""
    sd, method = np.nan, ""
    if _fin(r.get("t_value", np.nan)):
        sd, method = cv.sd_change_from_t(mean, r["t_value"], n), "change_from_t"
    elif _fin(r.get("p_value", np.nan)):
        relation = r.get("p_relation")
        rel, lo, hi = cv.reported_p(r["p_value"], relation if isinstance(relation, str) else "")
        if rel == "=":
            sd, method = cv.sd_change_from_p(mean, r["p_value"], n), "change_from_p"
    return {"sd_used": float(sd), "sd_method": method} if _fin(sd) else {}


def _difference_row(r: dict) -> dict:
    out = {"yi_used": np.nan, "vi_used": np.nan, "effect_method": "", "flags": []}
    has_ci = _fin(r["ci_low"]) and _fin(r["ci_high"])
    est = (
        r["mean"]
        if _fin(r["mean"])
        else (cv.mean_from_ci(r["ci_low"], r["ci_high"]) if has_ci else np.nan)
    )
    if not _fin(est):
        return out
    n_total = r["n"] if _fin(r["n"]) else None
    if _fin(r["se"]):
        out["yi_used"], out["vi_used"] = cv.effect_from_se(est, r["se"])
        out["effect_method"] = "from_se"
    elif has_ci:
        level = r["ci_level"] if _fin(r["ci_level"]) else 0.95
        out["yi_used"], out["vi_used"] = cv.effect_from_ci(
            est, r["ci_low"], r["ci_high"], level, n_total
        )
        out["effect_method"] = "from_ci"
    elif _fin(r.get("t_value", np.nan)):
        yi, vi = cv.effect_from_t(est, r["t_value"])
        if _fin(vi):
            out["yi_used"], out["vi_used"], out["effect_method"] = yi, vi, "from_t"
    elif _fin(r["p_value"]):
        yi, vi = cv.effect_from_p(est, r["p_value"], n_total)
        if _fin(vi):
            out["yi_used"], out["vi_used"], out["effect_method"] = yi, vi, "from_p"
    return out


def _row_reason(rec: dict) -> str:
    """Why one row cannot be used on its own account ('' when it can)."""
    if rec["kind"] == "difference":
        if not _fin(rec["vi_used"]):
            return (
                "difference without a usable SE, CI or p-value "
                "(a p-value with a zero difference carries no variance)"
            )
        return ""
    if not _fin(rec["n_used"]):
        return "n missing"
    if not _fin(rec["mean_used"]):
        return "no mean (and none derivable from a CI or median)"
    return ""


def included_arms(arms: pd.DataFrame) -> pd.DataFrame:
    """The arm rows that may enter a computation: those with ``included`` true.

    The one decision about exclusion: :func:`build_arms` sets ``included``
    (False for every row it lists as excluded), and every consumer of the arms
    (effect sizes, and through them pools, figures and the audit's totals)
    reads it here. Accepts the column as bool or as the ``true``/``false``
    text of ``arms.csv``.
    """
    flag = arms["included"]
    if flag.dtype != bool:
        flag = flag.astype(str).str.strip().str.lower() == "true"
    return arms[flag]


def build_arms(review) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Means, SDs and generic effects for every outcomes row.

    Parameters
    ----------
    review : scimeta.io.Review
        A validated review (:func:`scimeta.io.read_review`).

    Returns
    -------
    arms : pandas.DataFrame
        Every outcomes column (input order, then the known columns the sheet
        lacked), ``source_row`` (int; for a synthesised row its first subgroup
        row), then :data:`ARMS_ADDED_COLUMNS`, which start with ``source_rows``
        (str, ';'-joined: every sheet row the arm row comes from). ``prepost_r`` holds the reported or derived
        correlation. Rows are in input order, synthesised rows after the rows
        they come from. ``included`` is False for rows listed in ``excluded``.
    excluded : pandas.DataFrame
        :data:`EXCLUDED_COLUMNS`, one row per excluded outcomes row
        (``stage = extract``), in input order.
    """
    ext = review.config["extraction"]  # the schema's defaults, filled in by validation
    populations = review.config["populations"]
    oc = review.outcomes
    cols = [c for c in oc.columns]
    records = []
    for r in oc.to_dict("records"):
        rec = dict(r)
        rec["source_row"] = int(r["source_row"])
        rec["source_rows"] = str(int(r["source_row"]))
        rec["n_used"] = float(r["n"]) if _fin(r["n"]) else np.nan
        rec.update(
            {
                "mean_used": np.nan,
                "sd_used": np.nan,
                "mean_method": "",
                "sd_method": "",
                "yi_used": np.nan,
                "vi_used": np.nan,
                "effect_method": "",
                "flags": [],
                "reason": "",
            }
        )
        if r["kind"] == "difference":
            rec.update(_difference_row(r))
        else:
            rec.update(_arm_row(r, ext))
        records.append(rec)

    # Reasons a row cannot be used whatever the other rows hold; such a row gives
    # nothing to any other row either (no SD, correlation, subgroup sum or donor SD).
    for rec in records:
        rec["reason"] = _row_reason(rec)

    def group_key(rec):
        return (rec["study_id"], rec["outcome"], rec["arm"], rec["population"])

    by_group: dict = {}
    for rec in records:
        if rec["kind"] != "difference" and not rec["reason"]:
            by_group.setdefault(group_key(rec), []).append(rec)

    def with_sd(recs, kind):
        """{timepoint: first row of this kind with an SD} (input order)."""
        out = {}
        for x in recs:
            if x["kind"] == kind and _fin(x["sd_used"]):
                out.setdefault(x["timepoint"], x)
        return out

    # change SD from baseline and final SDs with the row's own r
    for recs in by_group.values():
        finals = with_sd(recs, "final")
        if 0 not in finals:
            continue
        for rec in recs:
            if rec["kind"] != "change" or _fin(rec["sd_used"]) or not _fin(rec["prepost_r"]):
                continue
            if rec["timepoint"] in finals:
                rec["sd_used"] = cv.sd_change(
                    finals[0]["sd_used"], finals[rec["timepoint"]]["sd_used"], rec["prepost_r"]
                )
                rec["sd_method"] = "change_from_sds"

    # prepost_r from baseline, final and change SDs
    for recs in by_group.values():
        finals = with_sd(recs, "final")
        if 0 not in finals:
            continue
        base = [finals[0]]
        changes = with_sd([x for x in recs if x["sd_method"] != "change_from_sds"], "change")
        for t in sorted(set(finals) & set(changes) - {0}):
            fin, chg = [finals[t]], [changes[t]]
            r_val = cv.r_from_sds(base[0]["sd_used"], fin[0]["sd_used"], chg[0]["sd_used"])
            method = chg[0]["sd_method"]
            source = next((name for prefix, name in _CHANGE_SD_SOURCES
                           if method.startswith(prefix)), "sd")
            for x in (fin[0], chg[0]):
                if _fin(x["prepost_r"]):
                    continue
                if _fin(r_val) and -1 <= r_val <= 1:
                    x["prepost_r"] = float(r_val)
                    x["flags"] += ["r_derived", f"r_from_{source}_change"]
                else:
                    x["flags"].append("r_derived_invalid")

    # combine subgroups into a synthesised 'all' row
    synth = []
    level_of = {}
    for var, levels in populations.items():
        for lv in levels:
            level_of.setdefault(lv, var)
    cells: dict = {}
    for rec in records:
        if rec["kind"] == "difference" or rec["reason"]:
            continue
        k = (rec["study_id"], rec["outcome"], rec["arm"], rec["timepoint"], rec["kind"])
        cells.setdefault(k, []).append(rec)
    for k in sorted(cells, key=lambda x: tuple(str(v) for v in x)):
        recs = cells[k]
        if any(x["population"] == "all" for x in recs):
            continue
        for var in populations:
            sub = [x for x in recs if level_of.get(x["population"]) == var]
            if len(sub) < 2:
                continue
            if not all(
                _fin(x["n_used"]) and _fin(x["mean_used"]) and _fin(x["sd_used"]) for x in sub
            ):
                continue
            n, m, s = cv.combine_groups(
                [x["n_used"] for x in sub],
                [x["mean_used"] for x in sub],
                [x["sd_used"] for x in sub],
            )
            new = {c: (np.nan if isinstance(sub[0].get(c), float) else "") for c in cols}
            for c in ("study_id", "outcome", "arm", "timepoint", "kind"):
                new[c] = sub[0][c]
            new["population"] = "all"
            new["n"] = n
            new["source"] = "combined from " + ", ".join(x["population"] for x in sub)
            new["quote"] = ""
            new.update(
                {
                    "source_row": sub[0]["source_row"],
                    "source_rows": ";".join(x["source_rows"] for x in sub),
                    "n_used": n,
                    "mean_used": m,
                    "sd_used": s,
                    "mean_method": "combined_subgroups",
                    "sd_method": "combined_subgroups",
                    "yi_used": np.nan,
                    "vi_used": np.nan,
                    "effect_method": "",
                    "flags": ["combined_from_subgroups"],
                    "reason": "",
                    "_after": sub[-1],
                }
            )
            synth.append(new)
            break

    # missing SDs
    rule = ext["missing_sd"]
    donors: dict = {}
    for rec in records + synth:
        if (
            rec["kind"] != "difference"
            and not rec["reason"]
            and _fin(rec["sd_used"])
            and rec["sd_used"] > 0
            and not rec["sd_method"].startswith("imputed")
        ):
            donors.setdefault((rec["outcome"], rec["timepoint"], rec["kind"]), []).append(
                (rec["study_id"], rec["sd_used"])
            )
    for rec in records:
        if rec["kind"] == "difference" or rec["reason"] or _fin(rec["sd_used"]):
            continue
        if rule == "exclude":
            rec["reason"] = "no SD and none derivable (extraction.missing_sd = exclude)"
            continue
        pool = [
            sd
            for sid, sd in donors.get((rec["outcome"], rec["timepoint"], rec["kind"]), [])
            if sid != rec["study_id"]
        ]
        if not pool:
            rec["reason"] = (
                f"no SD and no other study of outcome {rec['outcome']!r} at timepoint "
                f"{rec['timepoint']:g} ({rec['kind']}) to impute from "
                f"(extraction.missing_sd = {rule})"
            )
            continue
        if rule == "impute_mean":
            rec["sd_used"], rec["sd_method"] = float(np.mean(pool)), "imputed_mean"
        else:
            rec["sd_used"], rec["sd_method"] = float(np.max(pool)), "imputed_max"
        rec["flags"].append("sd_imputed")

    # assemble in input order, synthesised rows after their last subgroup row
    ordered = []
    after = {}
    for s in synth:
        after.setdefault(id(s.pop("_after")), []).append(s)
    for rec in records:
        ordered.append(rec)
        ordered.extend(after.get(id(rec), []))
    for rec in ordered:
        rec["included"] = rec["reason"] == ""
        if not rec["included"]:
            rec["flags"].append("excluded")
        rec["flags"] = ";".join(rec["flags"])
    out_cols = cols[:]
    out_cols.remove("source_row")
    out_cols += ["source_row", *ARMS_ADDED_COLUMNS]
    out_cols = list(dict.fromkeys(out_cols))
    file = review.sources.get("outcomes", "")
    arms = pd.DataFrame(ordered, columns=out_cols + ["reason"])
    exc = arms.loc[~arms["included"]]
    excluded = pd.DataFrame(
        {
            "file": file,
            "row": exc["source_row"].astype(int),
            "study_id": exc["study_id"],
            "outcome": exc["outcome"],
            "arm": exc["arm"],
            "population": exc["population"],
            "timepoint": exc["timepoint"].astype(float),
            "stage": "extract",
            "reason": exc["reason"],
        },
        columns=list(EXCLUDED_COLUMNS),
    ).reset_index(drop=True)
    arms["source_file"] = file  # the file actually read (a CSV, or a sheet of the workbook)
    arms = arms[out_cols].reset_index(drop=True)
    for c in ("n_used", "mean_used", "sd_used", "yi_used", "vi_used", "prepost_r", "n"):
        arms[c] = arms[c].astype(float)
    arms["included"] = arms["included"].astype(bool)
    return arms, excluded
