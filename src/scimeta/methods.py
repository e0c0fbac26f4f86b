"""Methods and results text (the future ``results/methods.md``), for the authors to edit.

Generated from the validated config and the tables a run writes, never from
anything else, so the text says exactly what was done: the estimators and
intervals, the conversions and how many rows each touched, the pre–post
correlation and its sweep, the subgroup definitions and tests, the
small-study methods (and where they were not run), and the main numbers of
each outcome. The same inputs give the same bytes.

Text taken from a review (labels, study ids, reasons) is escaped for
Markdown (:func:`md_escape`).
"""

from __future__ import annotations

import math
import re

import pandas as pd

from scimeta.grade import format_number as _f
from scimeta.membership import ALL_DESIGNS, DESIGN_PLURAL
from scimeta.pool import ADHOC_FLOOR_PROSE, SINGLE_STUDY_LABEL, adhoc_floored
from scimeta.safe import html_escape
from scimeta.settings import Settings, comparison_text

__all__ = ["methods_text", "md_escape", "permutation_floor", "METHOD_TEXT"]

_TAU2 = {
    "DL": "DerSimonian–Laird", "REML": "restricted maximum likelihood (REML)",
    "PM": "Paule–Mandel", "HE": "Hedges", "SJ": "Sidik–Jonkman", "ML": "maximum likelihood",
    "EB": "empirical Bayes",
}
_CI = {"wald": "Wald-type (normal quantile)",
       "hksj": "Hartung–Knapp–Sidik–Jonkman (t distribution, k − 1 df)",
       "hksj_adhoc": "Hartung–Knapp–Sidik–Jonkman with the ad hoc correction (t distribution, "
                     "k − 1 df, variance factor floored at 1 so that no interval is narrower "
                     "than the Wald-type one; Röver et al. 2015)"}
_MEASURES = {
    "MD": "mean difference (MD)", "SMD": "standardised mean difference (Hedges' g)",
    "ROM": "ratio of means (log scale)", "MC": "mean change (MC)",
    "SMCR": "standardised mean change with raw-score standardisation (SMCR)",
    "SMCC": "standardised mean change with change-score standardisation (SMCC)",
}
#: How each ``sd_method`` / ``mean_method`` / ``effect_method`` of arms.csv is described.
METHOD_TEXT = {
    "reported": "as reported",
    "from_se": "SD from the standard error, SD = SE·√n",
    "from_ci_t": "SD from a confidence interval of the mean (t distribution, n − 1 df)",
    "from_ci_z": "SD from a confidence interval of the mean (normal distribution)",
    "combined_subgroups": "combined from the study's subgroup rows (Cochrane Handbook 6.5.2.10)",
    "imputed_mean": "SD imputed as the mean SD of the other studies (same outcome and timepoint)",
    "imputed_max": "SD imputed as the largest SD of the other studies (same outcome and timepoint)",
    "from_ci": "reported difference with its CI: SE from the CI",
    "from_p": "reported difference with its p-value: SE from the p-value",
    "from_t": "reported difference with its t value: SE from t",
    "from_se_diff": "reported difference with its SE",
}
_MD_SPECIAL = re.compile(r"([\\`*_\[\]#|~])")


def md_escape(value) -> str:
    """Text from a review, safe in Markdown (and in the HTML a Markdown renderer makes).

    HTML special characters are escaped (:func:`scimeta.io.html_escape`), then
    the inline Markdown punctuation (``\\ ` * _ [ ] # | ~``) gets a backslash,
    so a title such as ``*Stem* cells <b>`` prints as written. Line breaks
    become spaces (the text always follows a list marker or other text).
    """
    return _MD_SPECIAL.sub(r"\\\1", html_escape(value).replace("\n", " "))


def _code(value) -> str:
    """A config value as inline code (no backticks inside)."""
    return "`" + str(value).replace("`", "'") + "`"


def _num(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _p(p) -> str:
    p = _num(p)
    if not math.isfinite(p):
        return "p = NA"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _is_true(series: pd.Series) -> pd.Series:
    return series.astype(str).str.lower() == "true"


def _method_counts(arms: pd.DataFrame, column: str) -> list[tuple[str, int]]:
    if column not in arms:
        return []
    used = arms[_is_true(arms["included"])] if "included" in arms else arms
    values = used[column].dropna().astype(str)
    values = values[values != ""]
    counts = values.value_counts()
    return sorted(((m, int(n)) for m, n in counts.items()), key=lambda t: (-t[1], t[0]))


def _method_line(method: str, n: int) -> str:
    text = METHOD_TEXT.get(method)
    if text is None:
        for prefix, what in (("luo2018", "mean from the median (Luo et al. 2018)"),
                             ("wan2014", "from the median and IQR/range (Wan et al. 2014)"),
                             ("shi2020", "SD from the median and IQR/range (Shi et al. 2020)")):
            if method.startswith(prefix):
                text = what
                break
    text = text or "see docs/contract.md"
    return f"- {_code(method)} ({text}): {n} {'row' if n == 1 else 'rows'}"


def _floor_text(pooled: pd.DataFrame, ci_method: str) -> str:
    """The sentence on the pools whose primary interval the ad hoc floor widened
    (:data:`scimeta.pool.ADHOC_FLOOR_PROSE`), or ``""``."""
    if ci_method != "hksj_adhoc" or pooled is None or "hk_factor" not in pooled:
        return ""
    primary = pooled[pooled["primary"].astype(str).str.lower() == "true"]
    primary = primary[pd.to_numeric(primary["k"], errors="coerce") >= 2]
    floored = adhoc_floored(primary["ci_method"].to_numpy(str),
                            pd.to_numeric(primary["hk_factor"], errors="coerce").to_numpy(float))
    if not floored.any():
        return ""
    n, total = int(floored.sum()), len(primary)
    return (f" In {n} of {total} primary pools of two or more studies "
            f"{ADHOC_FLOOR_PROSE} (the pooled table's "
            "note names them).")


def _single_study_text(pooled: pd.DataFrame) -> str:
    """The sentence on the primary pools of one study (the one rule of
    :data:`scimeta.pool.SINGLE_STUDY_NOTE`), or ``""``."""
    if pooled is None or "k" not in pooled or "primary" not in pooled:
        return ""
    primary = pooled[pooled["primary"].astype(str).str.lower() == "true"]
    n = int((pd.to_numeric(primary["k"], errors="coerce") == 1).sum())
    if not n:
        return ""
    return (f" {n} of {len(primary)} primary pools rest on a single study: each is labelled "
            f"“{SINGLE_STUDY_LABEL}” and is the study's own estimate with its Wald-type CI, "
            "without heterogeneity or prediction interval.")


def methods_text(config: dict, *, arms: pd.DataFrame, effects: pd.DataFrame,
                 pooled: pd.DataFrame, subgroup_tests: pd.DataFrame, bias: pd.DataFrame,
                 sensitivity: pd.DataFrame | None = None, sof: pd.DataFrame | None = None,
                 rob_overall: pd.DataFrame | None = None, missing=(),
                 caveats: pd.DataFrame | None = None) -> str:
    """The methods and results paragraphs of a review as Markdown.

    Parameters
    ----------
    config : dict
        The validated config.
    arms, effects : pandas.DataFrame
        ``data/processed/arms.csv`` and ``effects.csv``.
    pooled, subgroup_tests, bias : pandas.DataFrame
        ``results/tables/pooled.csv``, ``subgroup_tests.csv``, ``bias.csv``.
    sensitivity : pandas.DataFrame, optional
        ``results/tables/sensitivity_r.csv``.
    sof : pandas.DataFrame, optional
        :func:`scimeta.grade.summary_of_findings`; the results section then
        gives each outcome's draft certainty too.
    rob_overall : pandas.DataFrame, optional
        :func:`scimeta.rob.overall_judgements`.
    missing : sequence of str
        What the review lacks for the journal artefacts
        (:func:`scimeta.journal.missing_inputs`), listed under "Not assessed".
    caveats : pandas.DataFrame, optional
        ``results/tables/caveats.csv`` (:func:`scimeta.caveats.caveat_table`):
        the declared caveats are stated where the text would otherwise
        contradict them (a possible overlap next to "enters a pool at most
        once"), with the leave-out estimates of each overlap.

    Returns
    -------
    str
        Markdown, ending with a newline.
    """
    settings = Settings.from_config(config)
    analysis = settings.analysis
    tau2, cis, level = list(analysis.tau2_methods), list(analysis.ci_methods), analysis.level
    out = ["# Methods and results", "",
           "*Draft generated by scimeta from the configuration and the tables of this run; "
           "edit before use.*", ""]

    out += ["## Effect measures", ""]
    no_data = []
    for key, oc in config["outcomes"].items():
        mine = effects[effects["outcome"] == key] if "outcome" in effects else effects.iloc[0:0]
        parts = []
        for c in ("between_arms", "pre_post"):
            have = set(mine.loc[mine["comparison"] == c, "measure"]) if len(mine) else set()
            measures = [m for m in oc[c] if m in have]
            if measures:
                parts.append(f"{md_escape(comparison_text(c, oc['arms']))} as "
                             + ", ".join(_MEASURES.get(m, m) for m in measures))
            elif oc[c]:
                no_data.append(f"{md_escape(oc['label'])} "
                               f"({md_escape(comparison_text(c, oc['arms']))})")
        if parts:
            out.append(f"- {md_escape(oc['label'])} at {oc['timepoint']:g} months "
                       f"({md_escape(oc['unit'])}): " + "; ".join(parts)
                       + ". The first measure of each is the primary one.")
    if no_data:
        out += ["", "Requested but without any effect size (reasons in excluded.csv): "
                + "; ".join(no_data) + "."]
    out.append("")

    out += ["## Synthesis", ""]
    others = [_TAU2.get(m, m) for m in tau2[1:]]
    text = (f"Random-effects meta-analyses used the {_TAU2.get(tau2[0], tau2[0])} estimator of "
            "the between-study variance τ² (primary analysis)")
    if len(others) == 1:
        text += f"; the {others[0]} estimator is reported as a sensitivity analysis."
    elif others:
        text += (f"; the {', '.join(others[:-1])} and {others[-1]} estimators are reported as "
                 "sensitivity analyses.")
    else:
        text += "."
    text += (f" Confidence intervals of pooled effects are {_CI[cis[0]]}"
             + (f" (primary), with {', '.join(_CI[c] for c in cis[1:])} also reported" if
                cis[1:] else "") + f", at the {level:.0%} level.")
    text += _floor_text(pooled, cis[0]) + _single_study_text(pooled)
    if analysis.common:
        text += " The common-effect (inverse-variance) model is also reported."
    text += (f" {level:.0%} prediction intervals are reported where at least "
             f"{analysis.pi_min_k} studies are pooled (with the standard error and quantile of "
             "the primary interval, as metafor's predict). Heterogeneity is "
             "described by Cochran's Q, I², H² and τ² with its Q-profile confidence interval.")
    out += [text, "", designs_text(analysis.designs), ""]
    out += _cohort_text(config, caveats) + [""]

    out += ["## Data conversions", ""]
    n_rows = int(len(arms))
    n_used = int(_is_true(arms["included"]).sum()) if "included" in arms else n_rows
    out.append(f"Of {n_rows} extracted rows, {n_used} entered an effect size"
               + (f"; {n_rows - n_used} did not (listed with the reason in excluded.csv)."
                  if n_rows > n_used else "."))
    for column, title in (("sd_method", "Standard deviations"), ("mean_method", "Means"),
                          ("effect_method", "Reported differences")):
        counts = _method_counts(arms, column)
        if counts:
            out += ["", f"{title}:", ""] + [_method_line(m, n) for m, n in counts]
    extraction = config["extraction"]
    out += ["", f"Rows without a usable SD: `{extraction['missing_sd']}`; "
            f"medians: `{extraction['median_method']}`; CIs of means: "
            f"`{extraction['ci_distribution']}` distribution.", ""]

    out += ["## Pre–post correlation", ""]
    out.append(_prepost_text(config, effects, sensitivity))
    out.append("")

    out += ["## Subgroups", ""]
    out += _subgroup_text(config, subgroup_tests, analysis.tau2_method, analysis.ci_method)
    out.append("")

    out += ["## Small-study effects", ""]
    out += _bias_text(config, bias, analysis.tau2_method)
    out.append("")

    if rob_overall is not None:
        out += ["## Risk of bias", ""]
        out += _rob_text(rob_overall)
        out.append("")

    if missing:
        out += ["## Not assessed", ""] + [f"- {md_escape(m)}" for m in missing] + [""]

    out += ["## Results", ""]
    out += _results_text(config, pooled, sof, level)
    return "\n".join(out).rstrip("\n") + "\n"


def _prepost_text(config, effects, sensitivity) -> str:
    method = config["prepost_method"]
    r = float(config["prepost_r"])
    if method == "independent":
        return ("Follow-up and baseline were compared as independent groups (`prepost_method: "
                "independent`), ignoring the pre–post correlation, to reproduce reviews that did "
                "so.")
    pre = effects[effects["comparison"] == "pre_post"]
    keys = pre.drop_duplicates(["study_id", "outcome", "population", "timepoint"])
    sources = keys["r_source"].fillna("").astype(str)
    sources = sources[sources != ""]
    counts = sorted(sources.value_counts().items(), key=lambda t: (-t[1], t[0]))
    text = (f"Before/after effect sizes need the correlation between baseline and follow-up. "
            f"Where a study gave none, r = {r:g} was assumed (`prepost_r`)")
    if counts:
        text += "; across the before/after comparisons: " + ", ".join(
            f"{md_escape(s)} {n}" for s, n in counts)
    text += "."
    methods = set(keys["r_method"].fillna("").astype(str)) if "r_method" in keys else set()
    if methods & {"from_p", "from_t", "from_p_bound"}:
        text += (" Where a study reported the paired test of follow-up against baseline (p or t), "
                 "r was derived from it (SD of change from t, then r from the three SDs; "
                 "Cochrane Handbook 6.5.2.8)")
        if "from_p_bound" in methods:
            text += ("; a p reported as a bound (\"p < 0.001\") kept the assumed r where it "
                     "agreed, else the nearest r that did")
        text += "."
    if sensitivity is not None and len(sensitivity):
        grid = sorted(set(float(v) for v in sensitivity["r_assumed"]))
        values = ", ".join(f"{g:g}" for g in grid)
        text += f" Every before/after pool was recomputed at r = {values} (sensitivity_r.csv)"
        spans = []
        keys = ["outcome", "measure"] + (["design"] if "design" in sensitivity else [])
        for key, g in sorted(sensitivity.groupby(keys)):
            o, m = key[0], key[1]
            oc = config["outcomes"][o]
            if m != oc["pre_post"][0]:
                continue
            label = oc["label"]
            lo, hi = g["estimate"].min(), g["estimate"].max()
            spans.append(f"{md_escape(label)} ({m}{_stratum(g.iloc[0])}) {_f(lo)} to {_f(hi)}")
        if spans:
            text += "; the primary estimates ranged over: " + "; ".join(spans)
        text += "."
    return text


def _subgroup_text(config, tests, tau2_method, ci_method) -> list[str]:
    subgroups = list(config["subgroups"])
    if not subgroups:
        return ["No subgroup analyses were specified."]
    pops = config["populations"]
    lines = []
    for var in subgroups:
        if var in pops:
            lines.append(f"- {_code(var)}: within-study populations "
                         f"{', '.join(md_escape(p) for p in pops[var])} (a study's subgroup rows "
                         "enter the subgroup pools; its whole-population row the overall pool), "
                         "and the studies' own value of the column where it has one.")
        else:
            lines.append(f"- {_code(var)}: the studies sheet's column.")
    lines += ["", "Subgroup differences were tested with Q on the subgroup estimates (separate "
              "τ² per subgroup) and with a mixed-effects model (common τ², with a permutation "
              f"p-value); primary estimator {tau2_method}, {ci_method} CIs. Tests of the "
              "primary measure:", ""]
    if tests is None or tests.empty:
        return lines + ["No subgroup test could be computed."]
    # the separate-τ² test has no CI method of its own (any row of the estimator); the
    # mixed-effects model's test is that of the primary CI method
    t = tests[(tests["method"] == "separate_tau2") & (tests["tau2_method"] == tau2_method)]
    model = tests[(tests["method"] == "moderator_model") & (tests["tau2_method"] == tau2_method)
                  & (tests["ci_method"] == ci_method)]
    done = skipped = 0
    for (o, c, m, v), g in t.groupby(["outcome", "comparison", "measure", "subgroup_var"],
                                     sort=True):
        oc = config["outcomes"][o]
        if m != (oc[c] or [m])[0]:
            continue
        row = g.iloc[0]
        if math.isfinite(_num(row["p"])):
            done += 1
            mm = model[(model["outcome"] == o) & (model["comparison"] == c)
                       & (model["measure"] == m) & (model["subgroup_var"] == v)]
            lines.append(f"- {md_escape(oc['label'])}, {md_escape(comparison_text(c, oc['arms']))} ({m}), by "
                         f"{md_escape(v)}: Q = {_f(row['Q_between'])}, df = {_num(row['df']):g}, "
                         f"{_p(row['p'])} ({int(_num(row['k_groups']))} groups, "
                         f"k = {int(_num(row['k']))})"
                         + (_model_test_text(mm.iloc[0]) if len(mm) else ""))
        else:
            skipped += 1
    if skipped:
        lines.append(f"- not computed for {skipped} outcome × variable combinations "
                     "(fewer than two subgroups with data; reasons in subgroup_tests.csv)")
    if not done and not skipped:
        lines.append("- none")
    return lines


def permutation_floor(n_perm) -> float:
    """The smallest p-value a permutation test of ``n_perm`` permutations can give.

    The observed assignment is one of the ``n_perm`` (:mod:`scimeta.permutation`:
    all distinct ones when exact, else the observed one and ``n_perm - 1``
    random ones), so p ≥ 1 / ``n_perm``.
    """
    n = _num(n_perm)
    return 1.0 / n if math.isfinite(n) and n >= 1 else math.nan


def _model_test_text(row) -> str:
    """The mixed-effects model's test of one subgroup variable, with its permutation p."""
    if not math.isfinite(_num(row.get("p"))):
        return ""
    text = f"; mixed-effects model {_p(row['p'])}"
    p_perm, n_perm = _num(row.get("p_perm")), _num(row.get("n_perm"))
    if math.isfinite(p_perm) and n_perm >= 1:
        exact = str(row.get("perm_exact")).lower() == "true"
        how = f"{n_perm:.0f} {'exact' if exact else 'random'} permutations"
        text += f", permutation p = {p_perm:.3f} ({how}"
        if p_perm <= permutation_floor(n_perm) * (1 + 1e-9):
            text += (f"; the smallest p-value {n_perm:.0f} permutations can give, so the "
                     "test cannot show a smaller one")
        text += ")"
    return text


def _cohort_text(config, caveats) -> list[str]:
    """Which reports share patients, as the studies sheet and the declared caveats say."""
    text = ("Reports of the same patients (the same `cohort_id` in the studies sheet) enter a "
            "pool at most once.")
    declared = config.get("caveats") or []
    overlaps = [c for c in declared if c["kind"] == "overlap"]
    if overlaps:
        text += (" Possible overlaps the review could not rule out, pooled as separate "
                 "cohorts:")
    lines = [text]
    if overlaps:
        lines.append("")
    for n, c in enumerate(declared, start=1):
        if c["kind"] != "overlap":
            continue
        studies = " and ".join(md_escape(s) for s in c["studies"])
        line = f"- {studies}: {md_escape(c['text'])}"
        rows = (caveats[caveats["caveat"] == n] if caveats is not None and len(caveats)
                else pd.DataFrame())
        pools = (rows[rows["left_out"].fillna("").astype(str) != ""]
                 .drop_duplicates(["outcome", "comparison", "measure"]) if len(rows) else rows)
        if len(pools):
            line += (f" Each of the {len(pools)} pools holding two or more of them was "
                     "re-estimated without each in turn (caveats.csv; primary measures: "
                     + "; ".join(_leave_out_text(config, rows, r) for _, r in pools.iterrows()
                                 if r["measure"] == config["outcomes"][r["outcome"]][
                                     r["comparison"]][0]) + ").")
        else:
            line += " No pool holds two of them together."
        lines.append(line)
    others = [c for c in declared if c["kind"] != "overlap"]
    if others:
        lines += ["", "Other caveats declared by the review team:", ""]
        lines += [f"- {md_escape(c['text'])}" + (
            f" ({', '.join(md_escape(s) for s in c['studies'])})" if c["studies"] else "")
            for c in others]
    return lines


def _leave_out_text(config, rows, pool) -> str:
    """``ASIA motor score (MC) 5.13 with all, 7.65 without a, 5.36 without b``."""
    same = rows[(rows["outcome"] == pool["outcome"]) & (rows["comparison"] == pool["comparison"])
                & (rows["measure"] == pool["measure"])]
    parts = [f"{_f(r['estimate'])} " + (f"without {md_escape(r['left_out'])}"
                                         if str(r["left_out"]) not in ("", "nan") else
                                         f"with all {int(_num(r['k']))}")
             for _, r in same.iterrows()]
    return (f"{md_escape(config['outcomes'][pool['outcome']]['label'])} ({pool['measure']}) "
            + ", ".join(parts))


def _bias_text(config, bias, tau2_method) -> list[str]:
    lines = ["Small-study effects were examined with Egger's regression test (mixed-effects and "
             "weighted-regression forms), Begg's rank correlation, trim-and-fill (L0 and R0 "
             "estimators), PET and PEESE, for pools of at least three studies."]
    if bias is None or bias.empty:
        return lines + ["", "No pool was large enough."]
    b = bias[(bias["tau2_method"] == tau2_method) & (bias["test"] == "egger_rma")]
    ran = b[b["p"].map(_num).map(math.isfinite)]
    not_run = b[~b.index.isin(ran.index)]
    lines.append("")
    lines.append(f"Egger's test was run for {len(ran)} of {len(b)} pools and not run for "
                 f"{len(not_run)} (fewer than three studies); as a draft GRADE input it counts "
                 "only where k ≥ 10" + (", which no pool reaches." if (
                     b["k"].map(_num).fillna(0) < 10).all() else "."))
    if len(ran):
        lines.append("")
    for _, r in ran.iterrows():
        arms = config["outcomes"][r["outcome"]]["arms"]
        lines.append(f"- {md_escape(config['outcomes'][r['outcome']]['label'])}, "
                     f"{md_escape(comparison_text(r['comparison'], arms))} "
                     f"({r['measure']}), k = {int(_num(r['k']))}: {_p(r['p'])}")
    return lines


def _rob_text(overall) -> list[str]:
    from scimeta.rob import TOOLS

    lines = ["Risk of bias was assessed per study with the tool that fits its design: RoB 2 "
             "for randomised trials, ROBINS-I for non-randomised controlled studies and the JBI "
             "checklist for case series (overall judgement derived by the rule of "
             "`scimeta.rob.jbi_overall`).", ""]
    for tool_key, g in overall[overall["tool"] != ""].groupby("tool", sort=True):
        counts = g["overall"].value_counts()
        parts = ", ".join(f"{j} {int(counts[j])}" for j in sorted(counts.index))
        lines.append(f"- {TOOLS[tool_key].name}: {len(g)} "
                     f"{'study' if len(g) == 1 else 'studies'} ({parts})")
    missing = overall[overall["overall"] == "not assessed"]
    if len(missing):
        lines.append("- not assessed: " + ", ".join(md_escape(s) for s in missing["study_id"]))
    return lines


def designs_text(designs) -> str:
    """What the methods say about pooling studies of different designs (``analysis.designs``)."""
    if designs["between_arms"] == "separate":
        text = ("Between-arm comparisons were pooled separately by study design (randomised "
                "controlled trials, non-randomised controlled studies), never across designs, "
                "as the Cochrane Handbook (chapter 24) advises")
    else:
        text = ("Between-arm comparisons of randomised and non-randomised studies were pooled "
                "together (configuration choice `analysis.designs.between_arms: pooled`)")
    if designs["pre_post"] == "pooled":
        text += ("; before/after changes were pooled across designs, each being an "
                 "uncontrolled change within the treated arm whatever the design of its study.")
    else:
        text += "; before/after changes were pooled separately by the design of their study."
    if "separate" in (designs["between_arms"], designs["pre_post"]):
        text += (" Subgroup analyses, meta-regression, small-study tests and sensitivity "
                 "analyses were made within each design stratum.")
    return text


def _stratum(r) -> str:
    """`` (<design>s)`` for a pool of one design stratum, "" for a pool across designs."""
    design = str(r.get("design", ALL_DESIGNS))
    if design in ("", "nan", ALL_DESIGNS):
        return ""
    return f", {DESIGN_PLURAL.get(design, design)}"


def _results_text(config, pooled, sof, level) -> list[str]:
    lines = []
    if sof is not None:
        for _, r in sof.iterrows():
            if not isinstance(r.get("effect"), str):
                lines.append(f"- {md_escape(r['label'])}: {md_escape(r['note'])}")
                continue
            n = _num(r["n"])
            who = f"{int(r['k'])} {'study' if int(r['k']) == 1 else 'studies'}" + (
                f", {n:.0f} participants" if math.isfinite(n) else "") + _stratum(r)
            i2 = f"; I² = {_f(r['I2'], 0)}%" if math.isfinite(_num(r["I2"])) else ""
            arms = config["outcomes"][r["outcome"]]["arms"]
            lines.append(f"- {md_escape(r['label'])}, "
                         f"{md_escape(comparison_text(r['comparison'], arms))} "
                         f"({who}): {md_escape(r['effect'])}{i2}; "
                         f"draft GRADE certainty **{r['certainty']}**.")
        return lines or ["No pooled result."]
    primary = pooled[(pooled["subgroup_var"] == "overall") & _is_true(pooled["primary"])]
    for key, oc in config["outcomes"].items():
        for comparison in ("between_arms", "pre_post"):
            m = (oc[comparison] or [None])[0]
            rows = primary[(primary["outcome"] == key) & (primary["comparison"] == comparison)
                           & (primary["measure"] == m)]
            for _, r in rows.iterrows():  # one primary pool per design stratum
                lines.append(f"- {md_escape(oc['label'])}, "
                             f"{md_escape(comparison_text(comparison, oc['arms']))} ({m}, "
                             f"k = {int(r['k'])}{_stratum(r)}): {_f(r['estimate'])} "
                             f"({level:.0%} CI {_f(r['ci_low'])} to {_f(r['ci_high'])})")
    return lines or ["No pooled result."]
