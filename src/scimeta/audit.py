"""Audit of an extraction: numbers that do not add up, flagged for a person to check.

:func:`audit_review` never changes data; it returns findings with columns
``check, severity, study_id, outcome, rows, column, message`` (severity
``error`` = cannot be right as entered, ``warning`` = probably wrong or worth a
look, ``info`` = recorded for transparency). Checks:

``quote_numbers``
    every reported number of a row (n, mean, sd, se, ci_low, ci_high, median,
    q1, q3, min, max, p_value, prepost_r) appears in its ``quote``. The quote
    is NFKC-normalised (full-width digits and punctuation), thousands
    separators (``1,234``) are removed, and numbers are compared by value and
    magnitude (``41.0`` = ``41``; ``−3.2`` and the ``-5`` of ``3-5`` match 3.2
    and 5). Missing n is ``info`` (n often comes from the flow chart).
``scale_range``
    values of final rows inside ``outcomes.<key>.scale``; change and
    difference values within ± (max − min).
``sd_zero``, ``sd_exceeds_scale``
    SD = 0 (possible at a ceiling, but unusable for an SMD); SD > (max − min)/2,
    the largest SD a variable bounded by the scale can have.
``se_as_sd``
    heuristic for an SE reported as an SD: a reported SD below
    0.1 · (max − min) / sqrt(n). Clinical scores rarely vary by less than a
    tenth of their range divided by sqrt(n); an SE is about SD / sqrt(n), so an
    SE entered as an SD for a typical SD of 0.1–0.3 · range falls below it.
``median_outside_iqr``, ``ci_excludes_estimate``
``subgroup_n_sum``, ``subgroup_mean``
    subgroup rows of one variable (``populations``) against the reported
    ``all`` row of the same study/outcome/arm/timepoint/kind: n must add up,
    and the n-weighted mean must reproduce the overall mean within the
    rounding of the printed values (half a unit of the last decimal of each).
``percent_statement``
    "N words (P%)" in any text column of the studies sheet or a quote: flagged
    when no whole-number denominator gives P% at its printed precision
    (e.g. "32 cervical (39.2%)": 32/81.6); the percentage the study's total n
    would give is added to the message.
``same_cohort``
    studies sharing a ``cohort_id`` (never pooled together).
``duplicate_values``
    rows of one study with identical n, mean and SD/SE at different outcomes or
    timepoints (possible copy-paste; info), or identical rows in two studies
    (warning).
``prepost_r``, ``imputed``, ``combined``, ``excluded``
    derived correlations, imputed SDs, synthesised rows and exclusions as
    recorded by :func:`scimeta.extract.build_arms`.
"""

from __future__ import annotations

import math
import re
import unicodedata

import numpy as np
import pandas as pd

__all__ = ["audit_review", "outcome_counts", "numbers_in_text", "AUDIT_COLUMNS", "SE_AS_SD_FACTOR"]

AUDIT_COLUMNS = ("check", "severity", "study_id", "outcome", "rows", "column", "message")
#: se_as_sd heuristic: SD < SE_AS_SD_FACTOR * (max - min) / sqrt(n).
SE_AS_SD_FACTOR = 0.1
_QUOTE_COLUMNS = (
    "n",
    "mean",
    "sd",
    "se",
    "ci_low",
    "ci_high",
    "median",
    "q1",
    "q3",
    "min",
    "max",
    "p_value",
    "prepost_r",
)
_NUM = re.compile(r"(?<![\w.])[-+]?(?:\d+(?:\.\d+)?|\.\d+)(?![\d])")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_PERCENT = re.compile(r"(?<![\d.])(\d+)\s*[^\d()%;,]{0,40}?\(\s*(\d+(?:\.\d+)?)\s*%\s*\)")
_ABS_TOL = 1e-9  # numbers compared after parsing both from decimal text


def numbers_in_text(text: str) -> list[float]:
    """All numbers of a text as floats (NFKC-normalised, thousands separators removed)."""
    if not isinstance(text, str) or not text:
        return []
    t = unicodedata.normalize("NFKC", text).replace("\u2212", "-")
    t = _THOUSANDS.sub("", t)
    return [float(m.group(0)) for m in _NUM.finditer(t)]


def _decimals(x: float) -> int:
    s = repr(float(x))
    if "e" in s or "." not in s:
        return 0
    frac = s.split(".")[1].rstrip("0")
    return len(frac)


def _half_unit(x: float) -> float:
    return 0.5 * 10.0 ** (-_decimals(x))


def _finding(out, check, severity, study_id, outcome, rows, column, message):
    out.append(
        {
            "check": check,
            "severity": severity,
            "study_id": study_id or "",
            "outcome": outcome or "",
            "rows": str(rows),
            "column": column or "",
            "message": message,
        }
    )


def _percent_findings(text, total_n, study_id, where, out):
    t = unicodedata.normalize("NFKC", text)
    for m in _PERCENT.finditer(t):
        k = int(m.group(1))
        p_txt = m.group(2)
        p = float(p_txt)
        if k == 0 or p <= 0 or p > 100:
            continue
        dec = len(p_txt.split(".")[1]) if "." in p_txt else 0
        h = 0.5 * 10.0 ** (-dec)
        lo_d = k / ((p + h) / 100)
        hi_d = k / ((p - h) / 100) if p - h > 0 else math.inf
        # a denominator works if some integer in [lo_d, hi_d] (bounds inclusive: a printed
        # 56.3% may come from 56.25%) rounds back to p
        d = math.ceil(lo_d - 1e-9 * lo_d)
        works = d <= hi_d + 1e-9 * hi_d
        if not works:
            extra = ""
            if total_n and total_n >= k:
                extra = (
                    f"; of the study's {total_n:g} patients it would be {100 * k / total_n:.1f}%"
                )
            _finding(
                out,
                "percent_statement",
                "warning",
                study_id,
                "",
                where,
                "",
                f"'{m.group(0).strip()}': no whole number of patients gives {p_txt}% of {k}"
                f"{extra}",
            )


def audit_review(review, arms: pd.DataFrame) -> pd.DataFrame:
    """Audit a review and its arms.

    Parameters
    ----------
    review : scimeta.io.Review
    arms : pandas.DataFrame
        From :func:`scimeta.extract.build_arms`.

    Returns
    -------
    pandas.DataFrame
        :data:`AUDIT_COLUMNS`, sorted by check, study_id, outcome, rows, column.
    """
    cfg_out = review.config.get("outcomes", {})
    populations = review.config.get("populations") or {}
    oc = review.outcomes
    out: list[dict] = []

    # quote numbers
    for r in oc.to_dict("records"):
        row = str(int(r["source_row"]))
        quote = r.get("quote", "")
        present = [c for c in _QUOTE_COLUMNS if c in r and np.isfinite(r[c])]
        if not present:
            continue
        if not quote:
            _finding(
                out,
                "quote_numbers",
                "info",
                r["study_id"],
                r["outcome"],
                row,
                "quote",
                "no quote to check the numbers against",
            )
            continue
        nums = np.abs(np.array(numbers_in_text(quote), dtype=float))
        for c in present:
            v = abs(float(r[c]))
            if nums.size and np.any(np.abs(nums - v) <= _ABS_TOL * max(1.0, v)):
                continue
            sev = "info" if c == "n" else "warning"
            _finding(
                out,
                "quote_numbers",
                sev,
                r["study_id"],
                r["outcome"],
                row,
                c,
                f"{c} = {r[c]:g} does not appear in the quote",
            )

    # per-row plausibility
    for r in oc.to_dict("records"):
        row = str(int(r["source_row"]))
        sid, key = r["study_id"], r["outcome"]
        scale = (cfg_out.get(key) or {}).get("scale")
        n = r["n"]
        if scale is not None:
            lo, hi = float(scale[0]), float(scale[1])
            width = hi - lo
            for c in ("mean", "median", "q1", "q3", "min", "max", "ci_low", "ci_high"):
                v = r[c]
                if not np.isfinite(v):
                    continue
                if r["kind"] == "final":
                    bad = v < lo or v > hi
                    rng = f"[{lo:g}, {hi:g}]"
                else:
                    bad = abs(v) > width
                    rng = f"[-{width:g}, {width:g}] (a {r['kind']})"
                if bad:
                    _finding(
                        out,
                        "scale_range",
                        "error",
                        sid,
                        key,
                        row,
                        c,
                        f"{c} = {v:g} is outside the scale {rng}",
                    )
            if np.isfinite(r["sd"]) and r["sd"] > width / 2:
                _finding(
                    out,
                    "sd_exceeds_scale",
                    "warning",
                    sid,
                    key,
                    row,
                    "sd",
                    f"SD {r['sd']:g} exceeds half the scale width ({width / 2:g}), the largest "
                    "SD a score bounded by the scale can have",
                )
            if (
                np.isfinite(r["sd"])
                and r["sd"] > 0
                and np.isfinite(n)
                and n >= 2
                and r["kind"] != "difference"
                and r["sd"] < SE_AS_SD_FACTOR * width / math.sqrt(n)
            ):
                _finding(
                    out,
                    "se_as_sd",
                    "warning",
                    sid,
                    key,
                    row,
                    "sd",
                    f"SD {r['sd']:g} is implausibly small for n = {n:g} on a scale of width "
                    f"{width:g} (< {SE_AS_SD_FACTOR:g}·width/sqrt(n) = "
                    f"{SE_AS_SD_FACTOR * width / math.sqrt(n):.3g}); is it an SE?",
                )
        if np.isfinite(r["sd"]) and r["sd"] == 0:
            _finding(
                out,
                "sd_zero",
                "warning",
                sid,
                key,
                row,
                "sd",
                "SD = 0: possible at a floor or ceiling, but the row cannot enter an SMD",
            )
        if np.isfinite(r["median"]):
            for a, b in (("q1", "q3"), ("min", "max")):
                if np.isfinite(r[a]) and np.isfinite(r[b]) and not (r[a] <= r["median"] <= r[b]):
                    _finding(
                        out,
                        "median_outside_iqr",
                        "warning",
                        sid,
                        key,
                        row,
                        "median",
                        f"median {r['median']:g} is outside [{a}, {b}] = " f"[{r[a]:g}, {r[b]:g}]",
                    )
        if (
            np.isfinite(r["mean"])
            and np.isfinite(r["ci_low"])
            and np.isfinite(r["ci_high"])
            and not (r["ci_low"] <= r["mean"] <= r["ci_high"])
        ):
            _finding(
                out,
                "ci_excludes_estimate",
                "warning",
                sid,
                key,
                row,
                "mean",
                f"estimate {r['mean']:g} is outside its CI [{r['ci_low']:g}, {r['ci_high']:g}]",
            )

    # subgroups vs overall
    level_of = {}
    for var, levels in populations.items():
        for lv in levels:
            level_of.setdefault(lv, var)
    cell_cols = ["study_id", "outcome", "arm", "timepoint", "kind"]
    is_sub = oc["population"].isin(list(level_of)).to_numpy()
    cell_key = oc[cell_cols].astype(str).agg("|".join, axis=1)
    candidates = oc[cell_key.isin(set(cell_key[is_sub])).to_numpy()]
    for k, grp in candidates.groupby(cell_cols, sort=True):
        overall = grp[grp["population"] == "all"]
        if overall.empty:
            continue
        o = overall.iloc[0]
        for var in populations:
            sub = grp[grp["population"].map(lambda p: level_of.get(p) == var)]
            if len(sub) < 2:
                continue
            rows = ";".join(str(int(x)) for x in [o["source_row"], *sub["source_row"]])
            ns = sub["n"].to_numpy(float)
            if np.all(np.isfinite(ns)) and np.isfinite(o["n"]) and ns.sum() != o["n"]:
                _finding(
                    out,
                    "subgroup_n_sum",
                    "warning",
                    k[0],
                    k[1],
                    rows,
                    "n",
                    f"{var} subgroup n add up to {ns.sum():g}, the overall row says {o['n']:g}",
                )
            ms = sub["mean"].to_numpy(float)
            if np.all(np.isfinite(ns)) and np.all(np.isfinite(ms)) and np.isfinite(o["mean"]):
                wmean = float(np.sum(ns * ms) / ns.sum())
                tol = max(_half_unit(m) for m in ms) + _half_unit(o["mean"]) + 1e-9
                if abs(wmean - o["mean"]) > tol:
                    _finding(
                        out,
                        "subgroup_mean",
                        "warning",
                        k[0],
                        k[1],
                        rows,
                        "mean",
                        f"{var} subgroup means weighted by n give {wmean:.4g} "
                        f"(timepoint {k[3]:g}, {k[4]}), the overall mean is {o['mean']:g} "
                        f"(difference {abs(wmean - o['mean']):.3g} > rounding {tol:.3g}); "
                        "check the subgroup n",
                    )

    # percentages in study text columns and quotes
    totals = {}
    for sid, grp in oc[(oc["population"] == "all") & (oc["kind"] != "difference")].groupby(
        "study_id"
    ):
        nn = grp["n"].to_numpy(float)
        if np.any(np.isfinite(nn)):
            totals[sid] = float(np.nanmax(nn))
    st = review.studies
    text_cols = [c for c in st.columns if c != "source_row" and st[c].dtype != float]
    for r in st.to_dict("records"):
        for c in text_cols:
            v = r[c]
            if isinstance(v, str) and "%" in v:
                _percent_findings(
                    v,
                    totals.get(r["study_id"]),
                    r["study_id"],
                    f"{review.sources.get('studies', '')}:{int(r['source_row'])}:{c}",
                    out,
                )
    for r in oc.to_dict("records"):
        q = r.get("quote", "")
        if isinstance(q, str) and "%" in q:
            _percent_findings(
                q, totals.get(r["study_id"]), r["study_id"], str(int(r["source_row"])), out
            )

    # same cohort
    for cid, grp in st.groupby("cohort_id", sort=True):
        if len(grp) > 1:
            _finding(
                out,
                "same_cohort",
                "warning",
                ";".join(grp["study_id"]),
                "",
                ";".join(str(int(x)) for x in grp["source_row"]),
                "cohort_id",
                f"reports {', '.join(grp['study_id'])} describe one cohort ({cid!r}); "
                "they are never pooled together",
            )

    # duplicated values
    vcols = ["n", "mean", "sd", "se"]
    vals = oc[vcols].copy()
    sig = vals.apply(lambda s: s.map(lambda x: "" if pd.isna(x) else repr(float(x))))
    complete = oc["mean"].notna() & (oc["sd"].notna() | oc["se"].notna()) & oc["n"].notna()
    keyed = oc.assign(_sig=sig.agg("|".join, axis=1))[complete]
    for _, grp in keyed.groupby("_sig", sort=True):
        if len(grp) < 2:
            continue
        rows = ";".join(str(int(x)) for x in grp["source_row"])
        same_study = grp["study_id"].nunique() == 1
        _finding(
            out,
            "duplicate_values",
            "info" if same_study else "warning",
            ";".join(sorted(set(grp["study_id"]))),
            ";".join(sorted(set(grp["outcome"]))),
            rows,
            "",
            "identical n, mean and SD/SE in rows "
            + rows
            + (" of one study (possible copy-paste)" if same_study else " of different studies"),
        )

    # recorded by build_arms
    for r in arms.to_dict("records"):
        flags = str(r.get("flags", "")).split(";")
        sid, key, row = r["study_id"], r["outcome"], r.get("source_rows", r["source_row"])
        if "r_derived" in flags:
            _finding(
                out,
                "prepost_r",
                "info",
                sid,
                key,
                row,
                "prepost_r",
                f"pre-post r = {r['prepost_r']:.4g} derived from baseline, final and change SDs",
            )
        if "r_derived_invalid" in flags:
            _finding(
                out,
                "prepost_r",
                "warning",
                sid,
                key,
                row,
                "prepost_r",
                "baseline, final and change SDs imply a correlation outside [-1, 1]: "
                "the SDs are inconsistent (not used)",
            )
        if "sd_imputed" in flags:
            _finding(
                out,
                "imputed",
                "info",
                sid,
                key,
                row,
                "sd",
                f"SD imputed ({r['sd_method']}) = {r['sd_used']:.4g}",
            )
        if "combined_from_subgroups" in flags:
            _finding(
                out,
                "combined",
                "info",
                sid,
                key,
                row,
                "population",
                f"overall row synthesised from subgroups: n = {r['n_used']:g}, "
                f"mean = {r['mean_used']:.4g}, SD = {r['sd_used']:.4g}",
            )
        if "excluded" in flags:
            _finding(
                out, "excluded", "info", sid, key, row, "", "row excluded (see excluded table)"
            )

    df = pd.DataFrame(out, columns=list(AUDIT_COLUMNS))
    return df.sort_values(
        ["check", "study_id", "outcome", "rows", "column", "message"], kind="mergesort"
    ).reset_index(drop=True)


def outcome_counts(arms: pd.DataFrame, excluded: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per-outcome counts of rows and studies included and excluded, for the report.

    Returns
    -------
    pandas.DataFrame
        ``outcome, rows_included, rows_excluded, studies_included,
        studies_excluded_only`` (studies all of whose rows for the outcome
        were excluded), sorted by outcome. Synthesised rows count as rows.
    """
    rows = []
    for key, grp in arms.groupby("outcome", sort=True):
        inc = grp[grp["included"]]
        exc = grp[~grp["included"]]
        inc_st = set(inc["study_id"])
        rows.append(
            {
                "outcome": key,
                "rows_included": int(len(inc)),
                "rows_excluded": int(len(exc)),
                "studies_included": int(len(inc_st)),
                "studies_excluded_only": int(len(set(exc["study_id"]) - inc_st)),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "outcome",
            "rows_included",
            "rows_excluded",
            "studies_included",
            "studies_excluded_only",
        ],
    )
