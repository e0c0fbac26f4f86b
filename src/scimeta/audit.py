"""Audit of an extraction: numbers that do not add up, flagged for a person to check.

:func:`audit_review` never changes data; it returns findings with columns
``check, severity, study_id, outcome, rows, column, message`` (severity
``error`` = cannot be right as entered, ``warning`` = probably wrong or worth a
look, ``info`` = recorded for transparency). Checks:

``quote_numbers``
    every reported number of a row (n, mean, sd, se, ci_low, ci_high, median,
    q1, q3, min, max, p_value, t_value, prepost_r) appears in its ``quote``. The quote
    is NFKC-normalised (full-width digits and punctuation), thousands
    separators (``1,234``) are removed, and numbers are compared by value and
    magnitude (``41.0`` = ``41``; ``−3.2`` and the ``-5`` of ``3-5`` match 3.2
    and 5). Missing n is ``info`` (n often comes from the flow chart).
``scale_range``
    CI limits of final rows inside ``outcomes.<key>.scale``; of change and
    difference rows within ± (max − min). (Values outside the scale, and a
    median outside its quartiles or range, are validation errors:
    :mod:`scimeta.validate`.)
``sd_zero``, ``sd_exceeds_scale``
    SD = 0, reported or implied by SE = 0 (possible at a ceiling, but unusable
    for an SMD); SD > (max − min)/2,
    the largest SD a variable bounded by the scale can have, whether reported
    or derived (from an SE, a CI, a median summary or the SDs of baseline and
    follow-up).
``study_without_rows``
    a study of the studies sheet with no row in the outcomes sheet.
``se_as_sd``
    heuristic for an SE reported as an SD: a reported SD below
    0.1 · (max − min) / sqrt(n). Clinical scores rarely vary by less than a
    tenth of their range divided by sqrt(n); an SE is about SD / sqrt(n), so an
    SE entered as an SD for a typical SD of 0.1–0.3 · range falls below it.
``ci_excludes_estimate``
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
``reported_p``
    a ``difference`` row with a p-value, SE or CI next to per-arm rows of the
    same study/outcome/population/timepoint (``change`` rows preferred, then
    ``final``; both arms with n, mean and SD, as derived by
    :func:`scimeta.extract.build_arms`): the difference treatment − control
    and its two-sided p are recomputed from the arms by Welch's t, the
    pooled-SD (Student) t and z (:func:`difference_test`). Warning when the
    reported difference is not the difference of the arm means within the
    rounding of the printed values, when the reported p (± half a unit of its
    last decimal) lies outside the range of the three p-values with every
    printed input (means, SDs or SEs, CI limits) moved to the ends of its
    rounding, when the reported SE (or the SE a CI implies, z or t) lies
    outside the same range of recomputed SEs, or when the row's n is not the
    sum of the arms' n. The reported p is the ``p_value`` column read with
    ``p_relation`` (:func:`scimeta.conversions.reported_p`: a p-value of 0.001 or
    below without a relation is an upper bound, as the sheets enter "p < 0.001"
    as 0.001) or, without one, the one p-value of the row's quote when the quote
    holds exactly one and the reported difference (``p < 0.001``, ``P = 0.059``,
    ``P<.05``, ``p=.03``, ``P＜0.01``, ``P>0.05``:
    :func:`scimeta.textextract.p_values`). Without a difference row, a p quoted on
    the arms' own rows is checked the same way when the treatment and control rows
    (change, else final) share one quote holding exactly one p-value and both means.
``paired_p``
    every before/after effect (one finding per pair of rows, whatever the
    measure) against the p its rows report for the change: the ``p_value`` (with
    ``p_relation``) or ``t_value`` of the follow-up row (of the change row, for a
    change score) or, without one, the one p-value of its quote, attributed only
    when unambiguous: the quote holds exactly one p-value, holds the baseline and
    follow-up means (or the change), and is not also the quote of a row of
    another arm (a p of a between-arm comparison). The p of the paired t test
    (n - 1 df) at the effect's r must lie within the rounding of the reported p
    (half a unit of its last decimal; a bound must hold); a warning otherwise,
    naming the range of r that would agree
    (:func:`scimeta.conversions.r_range_from_paired_p`).
``quote_source``
    provenance, when the review has the texts of its studies
    (``data/raw/sources/<study_id>.txt|.md|.html``, see
    :func:`scimeta.textextract.read_sources`): every non-empty ``quote`` of a
    study with a source text must occur verbatim in it, both compared after
    :func:`scimeta.textextract.normalise_quote` (NFKC, white-space runs
    collapsed to one space; for HTML the visible text, table cells joined by
    `` | ``). A row whose quote is not found is a warning naming the file; each
    study with a source gets an info line counting its quotes found; a source
    that cannot be read is an error. Together with ``quote_numbers`` (every
    number of the row in its quote) this traces each number to the source text.
``prepost_r``, ``imputed``, ``combined``, ``excluded``
    derived correlations, imputed SDs, synthesised rows and exclusions as
    recorded by :func:`scimeta.extract.build_arms`; a correlation derived from
    the paired test of a follow-up row (``r_method`` ``from_p``, ``from_t``,
    ``from_p_bound``) with its note (a warning when it is negative).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from scimeta import conversions as cv
from scimeta._dist import norm_ppf, norm_sf2, t_ppf, t_sf2
from scimeta.conversions import P_UPPER_BOUND
from scimeta.extract import included_arms
from scimeta.review import REPORTED_NUMBERS
from scimeta.settings import analysis_settings
from scimeta.textextract import normalise_quote, p_values, read_sources

__all__ = [
    "audit_review",
    "outcome_counts",
    "numbers_in_text",
    "difference_test",
    "DifferenceTest",
    "AUDIT_COLUMNS",
    "SE_AS_SD_FACTOR",
    "P_UPPER_BOUND",
]

AUDIT_COLUMNS = ("check", "severity", "study_id", "outcome", "rows", "column", "message")
#: se_as_sd heuristic: SD < SE_AS_SD_FACTOR * (max - min) / sqrt(n).
SE_AS_SD_FACTOR = 0.1
_QUOTE_COLUMNS = (*REPORTED_NUMBERS, "prepost_r")
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


_half_unit = cv.half_unit


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


@dataclass(frozen=True)
class DifferenceTest:
    """A mean difference and its two-sided tests, recomputed from two arms' summaries.

    Attributes
    ----------
    difference : float
        ``m1 - m2``.
    se_welch, df_welch, p_welch : float
        Unpooled SE, Welch-Satterthwaite degrees of freedom and Welch's t-test p.
    se_pooled, df_pooled, p_pooled : float
        Pooled-SD SE, ``n1 + n2 - 2`` and Student's t-test p.
    p_z : float
        Normal (z) test with the unpooled SE.
    """

    difference: float
    se_welch: float
    df_welch: float
    p_welch: float
    se_pooled: float
    df_pooled: float
    p_pooled: float
    p_z: float

    def to_dict(self) -> dict:
        return asdict(self)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])


def difference_test(n1, m1, sd1, n2, m2, sd2) -> DifferenceTest:
    r"""Two-sided tests of ``m1 - m2`` from the arms' n, mean and SD.

    .. math::

        d = m_1 - m_2, \qquad
        SE_W = \sqrt{s_1^2/n_1 + s_2^2/n_2}, \qquad
        \nu_W = \frac{(s_1^2/n_1 + s_2^2/n_2)^2}
                     {\frac{(s_1^2/n_1)^2}{n_1 - 1} + \frac{(s_2^2/n_2)^2}{n_2 - 1}}

        s_p^2 = \frac{(n_1 - 1) s_1^2 + (n_2 - 1) s_2^2}{n_1 + n_2 - 2}, \qquad
        SE_p = s_p \sqrt{1/n_1 + 1/n_2}, \qquad \nu_p = n_1 + n_2 - 2

        p_W = 2\,P(T_{\nu_W} > |d| / SE_W), \quad
        p_p = 2\,P(T_{\nu_p} > |d| / SE_p), \quad
        p_z = 2\,P(Z > |d| / SE_W)

    Welch BL (1947). The generalization of "Student's" problem when several
    different population variances are involved. Biometrika 34:28-35,
    doi:10.1093/biomet/34.1-2.28. Student (1908). The probable error of a
    mean. Biometrika 6:1-25, doi:10.1093/biomet/6.1.1.

    With both SDs 0 the SEs are 0: p is 0 for a non-zero difference and NaN
    (with NaN degrees of freedom for Welch) for a zero one.

    Raises
    ------
    ValueError
        n below 2, a negative SD, or a non-finite input.
    """
    vals = dict(n1=n1, m1=m1, sd1=sd1, n2=n2, m2=m2, sd2=sd2)
    for name, v in vals.items():
        if not np.isfinite(float(v)):
            raise ValueError(f"difference_test: {name} = {v!r} is not a finite number")
    n1, m1, sd1, n2, m2, sd2 = (float(v) for v in vals.values())
    if n1 < 2 or n2 < 2:
        raise ValueError(f"difference_test: n1 = {n1:g}, n2 = {n2:g}; each arm needs n >= 2")
    if sd1 < 0 or sd2 < 0:
        raise ValueError(f"difference_test: sd1 = {sd1:g}, sd2 = {sd2:g}; an SD is >= 0")
    d = m1 - m2
    v1, v2 = sd1**2 / n1, sd2**2 / n2
    se_w = math.sqrt(v1 + v2)
    den = v1**2 / (n1 - 1) + v2**2 / (n2 - 1)
    df_w = (v1 + v2) ** 2 / den if den > 0 else math.nan
    df_p = n1 + n2 - 2
    se_p = math.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / df_p * (1 / n1 + 1 / n2))

    def two_sided(se, df=None):
        if se > 0:
            return float(norm_sf2(d / se) if df is None else t_sf2(d / se, df))
        return 0.0 if d != 0 else math.nan

    p_w = two_sided(se_w, df_w)
    return DifferenceTest(
        difference=d,
        se_welch=se_w,
        df_welch=df_w,
        p_welch=p_w,
        se_pooled=se_p,
        df_pooled=df_p,
        p_pooled=two_sided(se_p, df_p),
        p_z=two_sided(se_w),
    )


def _text(x) -> str:
    return x if isinstance(x, str) else ""


def _mean_half(r) -> float | None:
    """Half the rounding unit of an arm's mean as derived, None if not a printed value."""
    method = _text(r.get("mean_method"))
    if method == "reported":
        return _half_unit(r["mean"])
    if method == "ci_midpoint":
        return 0.5 * (_half_unit(r["ci_low"]) + _half_unit(r["ci_high"]))
    return None


def _sd_half(r) -> float:
    """Half the rounding unit of an arm's SD as derived (0 where not traceable to one print)."""
    method = _text(r.get("sd_method"))
    if method == "reported":
        return _half_unit(r["sd"])
    if method == "from_se":
        return _half_unit(r["se"]) * math.sqrt(float(r["n_used"]))
    if method.startswith("from_ci_") and r["ci_high"] > r["ci_low"]:
        rel = (_half_unit(r["ci_low"]) + _half_unit(r["ci_high"])) / (r["ci_high"] - r["ci_low"])
        return float(r["sd_used"]) * rel
    return 0.0


def _usable_arm(rows: pd.DataFrame, arm: str, kind: str):
    for r in rows[(rows["arm"] == arm) & (rows["kind"] == kind)].to_dict("records"):
        if (
            np.isfinite(r["n_used"])
            and r["n_used"] >= 2
            and np.isfinite(r["mean_used"])
            and np.isfinite(r["sd_used"])
            and not _text(r.get("sd_method")).startswith("imputed")
        ):
            return r
    return None


def _rows_text(r) -> str:
    rows = r.get("source_rows")
    if rows is None or (isinstance(rows, float) and not np.isfinite(rows)) or rows == "":
        return str(int(r["source_row"]))
    return str(int(rows)) if isinstance(rows, (int, float, np.integer)) else str(rows)


def _reported_p_findings(arms: pd.DataFrame, level: float, out: list) -> None:
    """The ``reported_p`` check (see the module docstring)."""
    if arms.empty:
        return
    shared_quotes = _shared_quote_differences(arms)
    if len(shared_quotes):
        arms = pd.concat([arms, shared_quotes], ignore_index=True)
    if not (arms["kind"] == "difference").any():
        return
    arms = arms.copy()
    for c in (
        "n_used",
        "mean_used",
        "sd_used",
        "mean",
        "sd",
        "se",
        "n",
        "ci_low",
        "ci_high",
        "p_value",
        "ci_level",
    ):
        arms[c] = pd.to_numeric(arms[c], errors="coerce").astype(float)
    keys = ["study_id", "outcome", "population", "timepoint"]
    # only the groups with a reported difference (a few of many)
    is_difference = arms["kind"].eq("difference")
    with_difference = is_difference.groupby([arms[k] for k in keys], dropna=False).transform("any")
    arms = arms[with_difference.astype(bool)]
    for k, grp in arms.groupby(keys, sort=True):
        sid, key = k[0], k[1]
        for d_row in grp[grp["kind"] == "difference"].to_dict("records"):
            has_ci = np.isfinite(d_row["ci_low"]) and np.isfinite(d_row["ci_high"])
            if np.isfinite(d_row["mean"]):
                d_rep, d_half = float(d_row["mean"]), _half_unit(d_row["mean"])
            elif has_ci:
                d_rep = 0.5 * (d_row["ci_low"] + d_row["ci_high"])
                d_half = 0.5 * (_half_unit(d_row["ci_low"]) + _half_unit(d_row["ci_high"]))
            else:
                continue
            shared = d_row.get("_pair") if isinstance(d_row.get("_pair"), tuple) else None
            reported = _row_p(d_row, quote_pair=shared)
            has_p = reported is not None
            has_se = np.isfinite(d_row["se"])
            if not (has_p or has_se or has_ci):
                continue
            pairs = []
            for kind in ("change", "final"):
                t_r = _usable_arm(grp, "treatment", kind)
                c_r = _usable_arm(grp, "control", kind)
                if t_r is not None and c_r is not None:
                    pairs.append((kind, t_r, c_r))
            if not pairs:
                continue

            def tolerance(pair):
                h1, h2 = _mean_half(pair[1]), _mean_half(pair[2])
                return None if h1 is None or h2 is None else d_half + h1 + h2 + 1e-9

            def matches(pair):
                tol = tolerance(pair)
                diff = pair[1]["mean_used"] - pair[2]["mean_used"]
                return tol is not None and abs(d_rep - diff) <= tol

            kind, t_r, c_r = next((p for p in pairs if matches(p)), pairs[0])
            rows = ";".join(([] if shared else [str(int(d_row["source_row"]))])
                            + [_rows_text(t_r), _rows_text(c_r)])

            def warn(column, message):  # a finding of this difference row
                _finding(out, "reported_p", "warning", sid, key, rows, column, message)

            n1, m1, sd1 = t_r["n_used"], t_r["mean_used"], t_r["sd_used"]
            n2, m2, sd2 = c_r["n_used"], c_r["mean_used"], c_r["sd_used"]
            central = difference_test(n1, m1, sd1, n2, m2, sd2)
            arms_text = (
                f"the {kind} rows give treatment − control = {m1:g} − {m2:g} = "
                f"{central.difference:.6g} (n {n1:g} and {n2:g}, SD {sd1:.4g} and {sd2:.4g})"
            )
            tol = tolerance((kind, t_r, c_r))
            if tol is not None and abs(d_rep - central.difference) > tol:
                direction = (
                    "; it equals control − treatment: check the direction"
                    if abs(d_rep + central.difference) <= tol
                    else ""
                )
                warn(
                    "mean",
                    f"reported difference {d_rep:g} does not match the arm means: {arms_text}, "
                    f"off by {abs(d_rep - central.difference):.3g} > rounding {tol:.3g}"
                    f"{direction}",
                )
            if np.isfinite(d_row["n"]) and d_row["n"] != n1 + n2:
                warn(
                    "n",
                    f"difference row n = {d_row['n']:g}, the arms' n add up to {n1 + n2:g}",
                )
            # every printed input at the ends of its rounding
            dh = (_mean_half(t_r) or 0.0) + (_mean_half(c_r) or 0.0)
            abs_d = abs(central.difference)
            h1, h2 = _sd_half(t_r), _sd_half(c_r)
            corners = [
                (s1, s2)
                for s1 in (max(sd1 - h1, 0.0), sd1 + h1)
                for s2 in (max(sd2 - h2, 0.0), sd2 + h2)
            ]
            low_tests = [difference_test(n1, abs_d + dh, s1, n2, 0.0, s2) for s1, s2 in corners]
            high_tests = [
                difference_test(n1, max(abs_d - dh, 0.0), s1, n2, 0.0, s2) for s1, s2 in corners
            ]
            p_lo = np.nanmin([v for t in low_tests for v in (t.p_welch, t.p_pooled, t.p_z)])
            p_hi = np.nanmax([v for t in high_tests for v in (t.p_welch, t.p_pooled, t.p_z)])
            if abs_d - dh <= 0:
                p_hi = 1.0
            se_lo = min(min(t.se_welch, t.se_pooled) for t in low_tests)
            se_hi = max(max(t.se_welch, t.se_pooled) for t in low_tests)
            recomputed = (
                f"{central.p_welch:.3g} by Welch's t (df {central.df_welch:.3g}), "
                f"{central.p_pooled:.3g} by the pooled-SD t (df {central.df_pooled:g}), "
                f"{central.p_z:.3g} by z"
            )
            if has_p:
                rel, p, rep_lo, rep_hi, where = reported
                if rel == "<":  # the printed bound read with its rounding, too
                    rep_hi = p + _half_unit(p)
                if rep_hi < p_lo or rep_lo > p_hi:
                    side = "above" if rep_lo > p_hi else "below"
                    warn(
                        "p_value" if where == "p_value" else "quote",
                        f"reported p {rel} {p:g} ({_P_WHERE[where]}"
                        f"{' shared by the arms' if shared else ''}) for the difference "
                        f"{d_rep:g}, "
                        f"but {arms_text} with p = {recomputed}; with every printed value at "
                        f"the ends of its rounding p ranges {p_lo:.3g} to {p_hi:.3g}, and the "
                        f"reported p is {side} it (another test, adjustment or n?)",
                    )
            if has_se or has_ci:
                if has_se:
                    col = "se"
                    se_rep = float(d_row["se"])
                    rep_lo = se_rep - _half_unit(se_rep)
                    rep_hi = se_rep + _half_unit(se_rep)
                    what = f"reported SE {se_rep:g}"
                else:
                    col = "ci_low"
                    lvl = d_row["ci_level"] if np.isfinite(d_row["ci_level"]) else level
                    q = 0.5 + lvl / 2
                    crits = [norm_ppf(q), t_ppf(q, central.df_pooled)]
                    if np.isfinite(central.df_welch):
                        crits.append(t_ppf(q, central.df_welch))
                    w = d_row["ci_high"] - d_row["ci_low"]
                    wh = _half_unit(d_row["ci_low"]) + _half_unit(d_row["ci_high"])
                    rep_lo, rep_hi = (w - wh) / (2 * max(crits)), (w + wh) / (2 * min(crits))
                    se_rep = w / (2 * crits[0])
                    what = (
                        f"the CI {d_row['ci_low']:g} to {d_row['ci_high']:g} implies an SE of "
                        f"{rep_lo:.3g} to {rep_hi:.3g}"
                    )
                if rep_hi < se_lo or rep_lo > se_hi:
                    p_rep = float(norm_sf2(d_rep / se_rep)) if se_rep > 0 else 0.0
                    warn(
                        col,
                        f"{what} (p = {p_rep:.3g} by z) for the difference {d_rep:g}, but "
                        f"{arms_text} with SE {central.se_welch:.4g} (Welch) or "
                        f"{central.se_pooled:.4g} (pooled SD), {se_lo:.3g} to {se_hi:.3g} with "
                        f"the printed values' rounding, and p = {recomputed}",
                    )


_P_WHERE = {"p_value": "p_value column", "t_value": "t_value column", "quote": "in the quote"}


def _quoted_p(quote, numbers=()):
    """The one p-value of a quote that can be attributed to its row, or None.

    Attributed only when unambiguous: the quote holds exactly one p-value, and every number
    of ``numbers`` (the values the p is about, e.g. baseline and follow-up means) appears in
    it. A quote with several p-values, or without the row's values, attributes none.
    """
    found = p_values(quote)
    if len(found) != 1:
        return None
    nums = np.array(numbers_in_text(quote), dtype=float)
    for v in numbers:
        if not (nums.size and np.any(np.abs(np.abs(nums) - abs(float(v)))
                                     <= _ABS_TOL * max(1.0, abs(float(v))))):
            return None
    return found[0]


def _row_p(r, *, quote_pair=(), n=None):
    """The p a row reports: ``(relation, p, low, high, where)`` or None.

    ``p_value`` (with ``p_relation``), else ``t_value`` (with ``n - 1`` df, exact; only
    where ``n`` is given: the paired test of an arm row), else the quote's one attributable
    p (:func:`_quoted_p` with ``quote_pair`` the numbers it must hold; ``None``: the row's
    own mean). ``low``/``high``: the range of the true p (:func:`scimeta.conversions.reported_p`).
    """
    p = r.get("p_value")
    if isinstance(p, (int, float)) and np.isfinite(p):
        rel, lo, hi = cv.reported_p(p, _text(r.get("p_relation")))
        return rel, float(p), lo, hi, "p_value"
    t = r.get("t_value")
    if n is not None and isinstance(t, (int, float)) and np.isfinite(t):
        p = float(t_sf2(float(t), n - 1))
        return "=", p, p, p, "t_value"
    numbers = quote_pair if quote_pair is not None else (
        [r["mean"]] if isinstance(r.get("mean"), float) and np.isfinite(r["mean"]) else [])
    q = _quoted_p(_text(r.get("quote")), numbers)
    if q is None:
        return None
    rel, lo, hi = cv.reported_p(q.value, q.relation)
    return rel, q.value, lo, hi, "quote"


def _shared_quote_differences(arms: pd.DataFrame) -> pd.DataFrame:
    """A between-arm p quoted on the arms' own rows, as a difference row for ``reported_p``.

    Where a study/outcome/population/timepoint has no ``difference`` row, and its first
    treatment and control rows of one kind (``change``, then ``final``) share one quote
    that holds exactly one p-value and both arms' means, the p is the difference's:
    the row returned carries the difference of the means and the quote (``_pair``, the
    two means the quote must hold).
    """
    keys = ["study_id", "outcome", "population", "timepoint"]
    rows = []
    for _, grp in arms.groupby(keys, sort=True):
        if (grp["kind"] == "difference").any():
            continue
        for kind in ("change", "final"):
            t = grp[(grp["arm"] == "treatment") & (grp["kind"] == kind)]
            c = grp[(grp["arm"] == "control") & (grp["kind"] == kind)]
            if t.empty or c.empty:
                continue
            t, c = t.iloc[0], c.iloc[0]
            quote = _text(t.get("quote"))
            pair = (t["mean"], c["mean"])
            if (quote and quote == _text(c.get("quote"))
                    and all(isinstance(v, float) and np.isfinite(v) for v in pair)
                    and _quoted_p(quote, pair) is not None):
                row = {**t.to_dict(), "kind": "difference", "mean": float(pair[0] - pair[1]),
                       "p_value": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                       "n": np.nan, "_pair": pair}
                rows.append(row)
            break
    return pd.DataFrame(rows, columns=[*arms.columns, "_pair"])


def _paired_p_findings(arms: pd.DataFrame, effects: pd.DataFrame, out: list) -> None:
    """The ``paired_p`` check: before/after effects against the p their rows report.

    One finding per study/outcome/population/pair (the measures share ``r``): the p of
    the paired t test (n - 1 df) at the effect's r (for a change score, of the change)
    against the p reported on the follow-up (or change) row or, where that has none, the
    one p its quote attributes (:func:`_quoted_p`: exactly one p in the quote, which holds
    the baseline and follow-up means, or the change, and is not the quote of another
    arm's row). A contradiction is a warning naming the range of r that would agree.
    """
    if effects is None or effects.empty or arms.empty:
        return
    pre = effects[effects["comparison"].astype(str) == "pre_post"]
    if pre.empty:
        return
    arms = included_arms(arms)
    done = set()
    for e in pre.to_dict("records"):
        key = (e["study_id"], e["outcome"], e["population"], str(e["source_rows"]))
        method = _text(e.get("effect_method"))
        if key in done or method not in ("final_vs_baseline", "change_score"):
            continue
        done.add(key)
        if _text(e.get("r_method")) in ("from_p", "from_t", "from_p_bound"):
            _finding(out, "prepost_r", "info" if float(e["r"]) >= 0 else "warning",
                     e["study_id"], e["outcome"], str(e["source_rows"]), "p_value",
                     f"pre-post r ({_text(e['r_method'])}): {_text(e.get('note'))}")
        rows = arms[(arms["study_id"] == e["study_id"]) & (arms["outcome"] == e["outcome"])]
        mine = rows[(rows["population"] == e["population"]) & (rows["arm"] == "treatment")
                    & (rows["timepoint"].astype(float) == float(e["timepoint"]))]
        kind = "final" if method == "final_vs_baseline" else "change"
        fu = mine[mine["kind"] == kind]
        if fu.empty:
            continue
        fu = fu.iloc[0].to_dict()
        n = float(e["n1"])
        if method == "final_vs_baseline":
            pair = (e["mean2"], e["mean1"])
            r = float(e["r"])
            p_calc = float(cv.paired_p(n, e["mean2"], e["sd2"], e["mean1"], e["sd1"], r))
        else:
            pair = (e["mean1"],)
            r = math.nan
            p_calc = float(t_sf2(e["mean1"] / (e["sd1"] / math.sqrt(n)), n - 1))
        quote = _text(fu.get("quote"))
        others = rows[rows["arm"] != "treatment"]["quote"].astype(str)
        shared = bool(quote) and (others == quote).any()
        reported = _row_p({**fu, "quote": "" if shared else quote}, quote_pair=pair, n=n)
        if reported is None:
            continue
        rel, p, lo, hi, where = reported
        if lo - 1e-12 <= p_calc <= hi + 1e-12:
            continue
        text = (f"reported p {rel} {p:g} ({_P_WHERE[where]}) for the change "
                f"{e['mean1'] - (e['mean2'] if kind == 'final' else 0):.4g} (n = {n:g}), but the "
                f"paired t test gives p = {p_calc:.3g}")
        if method == "final_vs_baseline":
            text += f" at r = {r:.4g} ({_text(e.get('r_source'))})"
            r_lo, r_hi = cv.r_range_from_paired_p(n, e["mean2"], e["sd2"], e["mean1"], e["sd1"],
                                                  lo, hi)
            text += (f"; the reported p needs r in [{r_lo:.3f}, {r_hi:.3f}]"
                     if np.isfinite(r_lo) else "; no r in [-1, 1] gives the reported p")
            if where == "quote":
                text += " (enter it in p_value, with p_relation, to derive r from it)"
        else:
            text += " from the SD of change (another test, or an SE entered as an SD?)"
        _finding(out, "paired_p", "warning", e["study_id"], e["outcome"],
                 str(e["source_rows"]), "p_value" if where != "quote" else "quote", text)


#: The column of a row an SD was derived from, by ``sd_method`` prefix.
_DERIVED_FROM = (("from_se", "se"), ("from_ci", "ci_low"), ("luo", "median"), ("wan", "median"),
                 ("shi", "median"), ("change_from_sds", "sd"))


def _derived_sd_findings(arms: pd.DataFrame, cfg_out: dict, out: list) -> None:
    """``sd_exceeds_scale`` for SDs derived from an SE, a CI or a median, as for reported ones."""
    for r in arms.to_dict("records"):
        scale = (cfg_out.get(r["outcome"]) or {}).get("scale")
        method = _text(r.get("sd_method"))
        column = next((c for prefix, c in _DERIVED_FROM if method.startswith(prefix)), None)
        if scale is None or column is None or not np.isfinite(r["sd_used"]):
            continue
        width = float(scale[1]) - float(scale[0])
        if r["sd_used"] > width / 2:
            _finding(
                out,
                "sd_exceeds_scale",
                "warning",
                r["study_id"],
                r["outcome"],
                _rows_text(r),
                column,
                f"SD {r['sd_used']:.6g} (derived: {method}) exceeds half the scale width "
                f"({width / 2:g}), the largest SD a score bounded by the scale can have",
            )


def _quote_source_findings(oc: pd.DataFrame, sources, problems, out: list) -> None:
    """The ``quote_source`` check (provenance of every quote in its study's source text)."""
    for file, message in problems:
        _finding(out, "quote_source", "error", "", "", "", "", f"{file}: {message}")
    for sid, grp in oc.groupby("study_id", sort=True):
        texts = sources.get(sid)
        if not texts:
            continue
        files = ", ".join(t.file for t in texts)
        checked = found = 0
        for r in grp.to_dict("records"):
            quote = r.get("quote", "")
            if not isinstance(quote, str) or not quote.strip():
                continue
            checked += 1
            if any(normalise_quote(quote) in t.text for t in texts):
                found += 1
                continue
            _finding(out, "quote_source", "warning", sid, r["outcome"], str(int(r["source_row"])),
                     "quote", f"quote not found verbatim in {files}")
        _finding(out, "quote_source", "info", sid, "", "", "quote",
                 f"{found} of {checked} quotes found verbatim in {files}")
    for sid in sorted(set(sources) - set(oc["study_id"])):
        _finding(out, "quote_source", "warning", sid, "", "", "",
                 f"{', '.join(t.file for t in sources[sid])}: no study {sid!r} in the outcomes sheet")


def audit_review(review, arms: pd.DataFrame, sources=None, effects=None) -> pd.DataFrame:
    """Audit a review and its arms.

    Parameters
    ----------
    review : scimeta.io.Review
    arms : pandas.DataFrame
        From :func:`scimeta.extract.build_arms`.
    sources : tuple, optional
        ``(texts, problems)`` as :func:`scimeta.textextract.read_sources` returns
        them; by default read from ``review.review_dir`` (none when it is empty).
    effects : pandas.DataFrame, optional
        ``effects.csv`` (:func:`scimeta.compare.build_effects`); by default built from
        ``arms`` and the review's config.

    Returns
    -------
    pandas.DataFrame
        :data:`AUDIT_COLUMNS`, sorted by check, study_id, outcome, rows, column.
    """
    cfg_out = review.config["outcomes"]
    populations = review.config["populations"]
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
            for c in ("ci_low", "ci_high"):  # values themselves: validation (scale)
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
        elif np.isfinite(r["se"]) and r["se"] == 0:
            _finding(
                out,
                "sd_zero",
                "warning",
                sid,
                key,
                row,
                "se",
                "SE = 0, so SD = 0: possible at a floor or ceiling, but the row cannot enter "
                "an SMD",
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

    # provenance of the quotes in the studies' source texts
    if sources is None and review.review_dir:
        sources = read_sources(review.review_dir)
    if sources is not None:
        _quote_source_findings(oc, *sources, out)

    # reported difference and p against the arms
    _reported_p_findings(arms, analysis_settings(review.config["analysis"]).level, out)

    # reported paired p against the before/after effects
    if effects is None:
        from scimeta.compare import build_effects

        effects, _ = build_effects(arms, review.studies, review.config)
    _paired_p_findings(arms, effects, out)

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

    _derived_sd_findings(arms, cfg_out, out)
    with_rows = set(oc["study_id"])
    for r in review.studies.to_dict("records"):
        if r["study_id"] not in with_rows:
            _finding(
                out,
                "study_without_rows",
                "warning",
                r["study_id"],
                "",
                str(int(r["source_row"])),
                "study_id",
                f"study {r['study_id']!r} has no rows in the outcomes sheet: it is in no table "
                "and no pool",
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
        were excluded), sorted by outcome; with ``excluded``, also
        ``rows_left_out`` (rows included by the extraction but listed at the
        ``effects`` stage: left out of a comparison or a measure) and
        ``notes`` (``plan`` rows: measures not attempted). ``rows_excluded``
        counts exactly the ``extract`` rows the excluded table lists.
        Synthesised rows count as rows.
    """
    rows = []
    columns = ["outcome", "rows_included", "rows_excluded", "studies_included",
               "studies_excluded_only"]
    if excluded is not None:
        columns += ["rows_left_out", "notes"]
    for key, grp in arms.groupby("outcome", sort=True):
        inc = grp[grp["included"]]
        exc = grp[~grp["included"]]
        inc_st = set(inc["study_id"])
        rec = {
            "outcome": key,
            "rows_included": int(len(inc)),
            "rows_excluded": int(len(exc)),
            "studies_included": int(len(inc_st)),
            "studies_excluded_only": int(len(set(exc["study_id"]) - inc_st)),
        }
        if excluded is not None:
            mine = excluded[excluded["outcome"] == key]
            stage = mine["stage"].astype(str)
            rec["rows_left_out"] = int(mine.loc[stage == "effects", "row"].astype(str).nunique())
            rec["notes"] = int((stage == "plan").sum())
        rows.append(rec)
    return pd.DataFrame(rows, columns=columns)
