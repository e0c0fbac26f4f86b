"""Which rows each planned figure shows, and the call that draws it.

The workflow plans the figures of an outcome before any job runs
(:func:`scimeta.workflow.planned_figures`); this module turns one planned
item and the outcome's tables into a :class:`scimeta.plotting.FigureResult`.
A planned figure with nothing to show (every effect size of that measure
excluded, a subgroup variable with one level left) is drawn as a labelled
placeholder that points to the excluded table, so that every planned file
exists and says why it is empty; each placeholder is also a row of
``results/tables/figure_warnings.csv`` (:func:`figure_warning`), which the
report and the end of the run list.

Figures only read tables: the rows of each pool come from the membership
table (:func:`scimeta.membership.pool_rows`), the diamonds from
``pooled.csv``, Egger's line from ``bias.csv`` and the filled studies from
``bias_filled.csv``, the regression line from ``metareg.csv``; nothing is
refitted here. A figure
whose drawing raises is a bug, not a property of the data (validation stops
bad input, and every case of thin data is a placeholder above): the error
propagates and fails the job, naming the figure.

Where the evidence is too thin for a figure to be read as usual — a funnel
plot or bubble plot of fewer than ``figures.min_k_small_study`` studies, a
test for subgroup differences whose subgroups are single studies — the
config's ``figures.small_k`` decides: ``warn`` draws it with the warning on
the figure, ``skip`` does not draw it and says why (:func:`thin_evidence`).
An r-sensitivity plot is not drawn when no study uses the assumed
correlation (the sweep is flat by construction).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scimeta.analysis import moderator_values
from scimeta.faults import attempt
from scimeta.membership import (
    ALL_DESIGNS,
    DESIGN_NAMES,
    DESIGN_PLURAL,
    MIXED,
    OVERALL,
    ordered_strata,
    pool_rows,
    pool_strata,
    shown_stratum,
)
from scimeta.plotting import (
    bubble_plot,
    cumulative_forest_plot,
    forest_plot,
    funnel_plot,
    gosh_plot,
    r_sensitivity_plot,
)
from scimeta.plotting._common import FigureResult, new_figure
from scimeta.pool import SINGLE_STUDY_LABEL
from scimeta.plotting.style import figure_context
from scimeta.settings import FigureSettings, analysis_settings, comparison_text, variable_label

__all__ = ["draw_figure", "figure_warning", "placeholder", "thin_evidence"]

def placeholder(message: str, *, kind: str, title: str) -> FigureResult:
    """A small figure stating why there is nothing to draw."""
    with figure_context():
        fig = new_figure(6.5, 1.8)
        fig.text(0.02, 0.75, title, fontsize=11, fontweight="bold", ha="left", va="center")
        fig.text(0.02, 0.3, message, fontsize=9, ha="left", va="center", wrap=True)
    data = pd.DataFrame({"message": [message]})
    return FigureResult(fig, data, kind, {"placeholder": True})


def figure_warning(item: dict, result: FigureResult) -> dict | None:
    """The row of ``figure_warnings.csv`` of a planned figure (:data:`scimeta.tables.TABLES`),
    or None when it was drawn.

    ``item``: the figure's plan entry (``outcome``, ``stem``, ``kind``,
    ``comparison``, ``measure``, ``var``); ``result``: what was drawn. A
    placeholder is ``skipped`` when a setting left the figure out, else
    ``not drawn``; ``reason`` is its message (the placeholders of
    :func:`placeholder` and :func:`scimeta.plotting.rob.placeholder_plot`).
    """
    if not (result.meta.get("placeholder") or result.kind == "placeholder"):
        return None
    return {"outcome": item.get("outcome", ""), "figure": item["stem"], "kind": item["kind"],
            "comparison": item.get("comparison") or "", "measure": item.get("measure") or "",
            "var": item.get("var") or "",
            "status": "skipped" if result.meta.get("skipped") else "not drawn",
            "reason": str(result.data["message"].iloc[0])}


def thin_evidence(kind: str, k: int, options: FigureSettings) -> str:
    """The warning for a funnel or bubble plot of ``k`` studies, or "" when there are enough.

    Sterne et al. 2011 (doi:10.1136/bmj.d4002): tests for funnel plot
    asymmetry, and funnel plots read by eye, need at least 10 studies; the
    Cochrane Handbook (10.11.5.1) asks the same of meta-regression.
    """
    min_k = options.min_k_small_study
    if k >= min_k:
        return ""
    if kind == "funnel":
        return (f"Only {k} studies (fewer than {min_k}): too few to judge funnel asymmetry; "
                "the Egger line has little power and is shown for completeness.")
    return (f"Only {k} studies (fewer than {min_k}): the slope rests on very few points "
            "and may be spurious.")


def _skipped(kind: str, title: str, why: str, options: FigureSettings) -> FigureResult:
    """The placeholder of a figure left out under ``figures.small_k: skip``."""
    result = placeholder(f"Not drawn (figures.small_k = skip): {why}", kind=kind, title=title)
    return FigureResult(result.figure, result.data, kind, {**result.meta, "skipped": why})


def _title(outcome_config: dict, comparison: str, measure: str, extra: str = "") -> str:
    """``<label>: <treatment> vs <control> (<measure>)``, in the outcome's arm names."""
    text = (f"{outcome_config['label']}: "
            f"{comparison_text(comparison, outcome_config['arms'])} ({measure})")
    return f"{text}, {extra}" if extra else text


def _text_filled(frame: pd.DataFrame) -> pd.DataFrame:
    """Empty text cells as '' (a CSV read back gives NaN there)."""
    numeric = {"yi", "vi", "sei", "ci_low", "ci_high", "n1", "mean1", "sd1", "n2", "mean2", "sd2",
               "r", "timepoint"}
    text = [c for c in frame.columns if c not in numeric]
    return frame.assign(**{c: frame[c].astype(object).where(frame[c].notna(), "") for c in text})


def _short_title(outcome_config: dict, comparison: str, measure: str, extra: str = "") -> str:
    """One short line for the small figures (axis labels and the caption say the rest)."""
    text = f"{outcome_config['label']} ({measure})"
    return f"{text}, {extra}" if extra else text


def _ordered_pools(pools: pd.DataFrame, var: str, levels) -> pd.DataFrame:
    """Subgroup pools in the config's order of levels, others alphabetically, "mixed" last."""
    levels = list(levels or [])

    def rank(value) -> tuple:
        value = str(value)
        if value == MIXED:
            return (2, 0, value)
        if value in levels:
            return (0, levels.index(value), value)
        return (1, 0, value)

    is_var = pools["subgroup_var"] == var
    keys = pools.loc[is_var, "subgroup"].map(rank)
    ordered = pools.loc[is_var].iloc[sorted(range(len(keys)), key=lambda i: keys.iloc[i])]
    return pd.concat([ordered, pools.loc[~is_var]])


def _members(effects, membership, comparison, measure, var=OVERALL) -> pd.DataFrame:
    """The effect rows of the pools of ``var``, as the membership table says."""
    return pool_rows(effects, membership, comparison=comparison, measure=measure, var=var)


#: The tables a figure reads that hold pools of several design strata (column ``design``).
_STRATIFIED = ("membership", "pooled", "subgroup_tests", "sensitivity", "metareg", "bias",
               "gosh", "gosh_influence", "cumulative")


def _one_stratum(tables: dict, comparison: str, measure: str, design: str) -> dict:
    """``tables`` without the rows of ``comparison`` × ``measure`` of other design strata:
    a figure of one pool draws the pools of one stratum."""
    out = dict(tables)
    for name in _STRATIFIED:
        t = out.get(name)
        if t is None or len(t) == 0 or "design" not in t:
            continue
        other = ((t["comparison"] == comparison) & (t["measure"] == measure)
                 & (t["design"].astype(str) != design))
        out[name] = t[~other]
    return out


def design_note(designs: dict, comparison: str, strata: list[str], rows) -> str:
    """The footer line of a forest plot on how its designs were pooled (``analysis.designs``).

    ``strata``: the design strata of the comparison's pools; ``rows``: the studies drawn
    (their column ``design``)."""
    key = f"analysis.designs.{comparison} = {designs[comparison]}"
    if strata == [ALL_DESIGNS]:
        present = ordered_strata(rows["design"]) if "design" in rows else []
        if len(present) < 2:
            return ""
        names = " and ".join(DESIGN_PLURAL.get(d, d) for d in present)
        if comparison == "pre_post":
            return (f"Before/after changes of {names} pooled together ({key}): each is an "
                    "uncontrolled change within the treated arm.")
        return f"Between-arm comparisons of {names} pooled together ({key})."
    text = (f"Designs pooled separately ({key}): one pool per design, none across designs."
            if len(strata) > 1 else "")
    return text


def draw_figure(
    item: dict,
    *,
    outcome: str,
    outcome_config: dict,
    analysis: dict,
    layout: str,
    effects: pd.DataFrame,
    pooled: pd.DataFrame,
    subgroup_tests: pd.DataFrame,
    membership: pd.DataFrame,
    sensitivity: pd.DataFrame,
    metareg: pd.DataFrame | None = None,
    bias: pd.DataFrame | None = None,
    bias_filled: pd.DataFrame | None = None,
    studies: pd.DataFrame | None = None,
    populations: dict,
    max_forest_rows: int | None,
    figures: dict,
    rob: pd.DataFrame | None = None,
    gosh: pd.DataFrame | None = None,
    gosh_influence: pd.DataFrame | None = None,
    cumulative: pd.DataFrame | None = None,
    subgroup_labels: dict | None = None,
) -> FigureResult:
    """Draw one planned figure of an outcome (see :func:`scimeta.workflow.planned_figures`).

    Every argument is a table as written (``membership`` is the outcome's
    ``subgroup_membership.csv``, with the overall pool). A figure with nothing
    to show is a placeholder with the reason (:func:`figure_warning` records
    it); an error while drawing propagates. ``analysis``, ``layout``,
    ``populations``, ``max_forest_rows``: the validated config's
    (:class:`scimeta.settings.Settings`). A forest plot of more than
    ``max_forest_rows`` studies is drawn as a summary
    (:func:`scimeta.plotting.forest_plot`, ``max_rows``). ``figures`` is the
    validated config's ``figures`` block
    (:class:`scimeta.settings.FigureSettings`: ``small_k``, ``min_k_small_study``). ``rob`` is ``data/raw/risk_of_bias.csv`` as read
    (text cells), or None: with it (and ``studies``) forest plots get a
    risk-of-bias column (:func:`scimeta.rob.forest_rob_data`). ``gosh``,
    ``gosh_influence``, ``cumulative``: the outcome's ``gosh.csv``,
    ``gosh_influence.csv`` and ``cumulative.csv`` (for those kinds).
    ``subgroup_labels``: the config's display names of subgroup variables, moderators
    and levels (subgroup forest plots, bubble plots).
    """
    tables = dict(outcome=outcome, outcome_config=outcome_config, analysis=analysis,
                  layout=layout, effects=effects, pooled=pooled, subgroup_tests=subgroup_tests,
                  membership=membership, sensitivity=sensitivity, metareg=metareg, bias=bias,
                  bias_filled=bias_filled, studies=studies, populations=populations,
                  max_forest_rows=max_forest_rows, options=FigureSettings.from_figures(figures),
                  rob=rob, gosh=gosh, gosh_influence=gosh_influence, cumulative=cumulative,
                  subgroup_labels=subgroup_labels or {})
    return _draw(item, **tables)


def _draw(item, *, outcome, outcome_config, analysis, layout, effects, pooled, subgroup_tests,
          membership, sensitivity, metareg, bias, bias_filled, studies, populations, options,
          rob, max_forest_rows=None, gosh=None, gosh_influence=None,
          cumulative=None, subgroup_labels=None) -> FigureResult:
    kind, comparison, measure, var = item["kind"], item["comparison"], item["measure"], item["var"]
    effects = _text_filled(effects)
    analysis = analysis_settings(analysis)
    strata = pool_strata(membership, comparison=comparison, measure=measure)
    stratum_note = ""
    if kind != "forest" and len(strata) > 1:
        # a figure of one pool: that of the largest design stratum (the tables hold each)
        shown = shown_stratum(membership, comparison=comparison, measure=measure)
        one = _one_stratum(dict(membership=membership, pooled=pooled,
                                subgroup_tests=subgroup_tests, sensitivity=sensitivity,
                                metareg=metareg, bias=bias, gosh=gosh,
                                gosh_influence=gosh_influence, cumulative=cumulative),
                           comparison, measure, shown)
        membership, pooled, subgroup_tests = one["membership"], one["pooled"], one["subgroup_tests"]
        sensitivity, metareg, bias = one["sensitivity"], one["metareg"], one["bias"]
        gosh, gosh_influence, cumulative = one["gosh"], one["gosh_influence"], one["cumulative"]
        stratum_note = DESIGN_PLURAL.get(shown, shown) + " only"
    tau2_method, ci_method, level = analysis.tau2_method, analysis.ci_method, analysis.level
    nothing = (
        f"No {measure} effect size could be computed for this comparison; "
        "see results/tables/excluded.csv for the reasons."
    )
    if kind == "forest":
        rows = _members(effects, membership, comparison, measure)
        if rows.empty:
            return placeholder(nothing, kind="forest", title=_title(outcome_config, comparison, measure))
        pools = pooled[pooled["subgroup_var"] == "overall"]
        dots, rob_note = _rob_dots(rob, studies, rows)
        note = design_note(analysis.designs, comparison, strata, rows)
        if len(strata) > 1:
            return _design_forest(rows, pools, strata, outcome_config=outcome_config,
                                  comparison=comparison, measure=measure, outcome=outcome,
                                  layout=layout, analysis=analysis,
                                  max_rows=max_forest_rows, dots=dots, rob_note=rob_note,
                                  note=note)
        return forest_plot(
            rows, pools, outcome_cfg=outcome_config, comparison=comparison, measure=measure,
            outcome=outcome, layout=layout, tau2_method=tau2_method, ci_method=ci_method,
            level=level, pi_min_k=analysis.pi_min_k,
            title=_title(outcome_config, comparison, measure), max_rows=max_forest_rows,
            rob=dots, rob_note=rob_note, design_note=note,
        )
    if kind == "subgroup_forest":
        title = _title(outcome_config, comparison, measure,
                       f"by {variable_label(var, subgroup_labels)}"
                       + (f", {stratum_note}" if stratum_note else ""))
        rows = _members(effects, membership, comparison, measure, var).rename(
            columns={"subgroup": var}).reset_index(drop=True)
        if rows.empty:
            return placeholder(nothing, kind="forest", title=title)
        pools = pooled[pooled["subgroup_var"].isin([var, "overall"])]
        if "tau2_scope" in pools:
            pools = pools[pools["tau2_scope"].fillna(analysis.subgroup_scope)
                          .isin([analysis.subgroup_scope, ""])]
        pools = _ordered_pools(pools, var, populations.get(var))
        tests = subgroup_tests[
            (subgroup_tests["subgroup_var"] == var)
            & (subgroup_tests["comparison"] == comparison)
            & (subgroup_tests["measure"] == measure)
        ]
        total_rows = _members(effects, membership, comparison, measure)
        dots, rob_note = _rob_dots(rob, studies, rows)
        return forest_plot(
            rows, pools, outcome_cfg=outcome_config, comparison=comparison, measure=measure,
            outcome=outcome, subgroup_var=var, subgroup_tests=tests, layout=layout,
            tau2_method=tau2_method, ci_method=ci_method, level=level,
            pi_min_k=analysis.pi_min_k, title=title,
            max_rows=max_forest_rows, total_rows=total_rows,
            skip_single_study_tests=options.small_k == "skip",
            rob=dots, rob_note=rob_note, subgroup_labels=subgroup_labels,
        )
    if kind == "funnel":
        title = _short_title(outcome_config, comparison, measure, stratum_note)
        rows = _members(effects, membership, comparison, measure)
        primary = pooled[
            (pooled["subgroup_var"] == OVERALL) & (pooled["comparison"] == comparison)
            & (pooled["measure"] == measure) & (pooled["primary"].astype(str).str.lower() == "true")
        ]
        if len(rows) < 3 or primary.empty:
            return placeholder(
                f"A funnel plot needs at least 3 studies; {len(rows)} entered the pool.",
                kind="funnel", title=title,
            )
        warning = thin_evidence("funnel", len(rows), options)
        if warning and options.small_k == "skip":
            return _skipped("funnel", title, warning, options)
        egger, filled = _funnel_overlays(bias, bias_filled, comparison, measure, tau2_method)
        return funnel_plot(
            rows["yi"].to_numpy(float), rows["vi"].to_numpy(float),
            estimate=float(primary["estimate"].iloc[0]), measure=measure,
            unit=outcome_config.get("unit"), labels=list(rows["label"]), title=title,
            egger=egger, filled=filled,
            warning=warning or None,
        )
    if kind == "sensitivity":
        title = _short_title(outcome_config, comparison, measure, stratum_note)
        sweep = sensitivity[sensitivity["measure"] == measure] if len(sensitivity) else sensitivity
        if sweep.empty:
            return placeholder(nothing, kind="r_sensitivity", title=title)
        if sweep["estimate"].isna().all():
            why = str(sweep["note"].iloc[0]) if pd.notna(sweep["note"].iloc[0]) else ""
            return placeholder(f"The r sweep has no pooled estimate: {why}",
                               kind="r_sensitivity", title=title)
        if "k_assumed_r" in sweep and (pd.to_numeric(sweep["k_assumed_r"]) == 0).all():
            result = placeholder(
                "Not drawn: every study keeps its own (reported, derived or not needed) "
                "pre\u2013post correlation, so the pooled effect does not depend on the "
                "assumed r.", kind="r_sensitivity", title=title)
            return FigureResult(result.figure, result.data, "r_sensitivity",
                                {**result.meta, "skipped": "no study uses the assumed r"})
        return r_sensitivity_plot(sweep, outcome_cfg=outcome_config,
                                  primary_r=item.get("prepost_r"), title=title)
    if kind == "bubble":
        return _bubble(effects, membership, metareg, studies, outcome_config, comparison,
                       measure, var, tau2_method, ci_method, level, options,
                       # the column name as written unless the config names it
                       variable_label(var, subgroup_labels) if var in subgroup_labels else var,
                       stratum_note)
    if kind == "gosh":
        return _gosh(gosh, gosh_influence, _title(outcome_config, comparison, measure,
                                                  stratum_note),
                     comparison, measure, _labels(effects), outcome_config.get("unit"))
    if kind == "cumulative":
        return _cumulative(cumulative, _title(outcome_config, comparison, measure, stratum_note),
                           comparison, measure, max_forest_rows, _labels(effects),
                           outcome_config.get("unit"))
    raise ValueError(f"unknown figure kind {kind!r}")


def _design_forest(rows, pools, strata, *, outcome_config, comparison, measure, outcome,
                   layout, analysis, max_rows, dots, rob_note, note) -> FigureResult:
    """The forest plot of a comparison whose designs are pooled separately: a section per
    design stratum (randomised first) with its own pool's diamond, and no total.

    A stratum of one study is not pooled: its diamond is the study's own estimate with its
    Wald-type CI, as ``pooled.csv`` holds it (:data:`scimeta.pool.SINGLE_STUDY_NOTE`), and the
    footer says so.
    """
    ci_method = analysis.ci_method
    pools = pools[(pools["comparison"] == comparison) & (pools["measure"] == measure)]
    chosen, single = [], []
    for design in strata:
        mine = pools[pools["design"].astype(str) == design]
        k = int(pd.to_numeric(mine["k"], errors="coerce").max()) if len(mine) else 0
        if k == 1:
            single.append(DESIGN_NAMES.get(design, design))
        pick = mine[(mine["model"] == "random") & (mine["tau2_method"] == analysis.tau2_method)
                    & (mine["ci_method"] == ci_method)]
        # each stratum a section of its own: its pool as the section's subtotal
        chosen.append(pick.assign(subgroup_var="design_stratum",
                                  subgroup=DESIGN_NAMES.get(design, design)))
    pools = pd.concat(chosen, ignore_index=True) if chosen else pools.iloc[0:0]
    rows = rows.assign(design_stratum=[DESIGN_NAMES.get(str(d), str(d))
                                       for d in rows["stratum"]])
    if single:
        who = ("Each design is one study" if len(single) == len(strata) else
               " and ".join(single).capitalize() + (" is" if len(single) == 1 else " are")
               + " one study")
        note += (f" {who} ({SINGLE_STUDY_LABEL}): its subtotal is the study's own estimate "
                 f"with its {analysis.level:.0%} Wald-type CI.")
    return forest_plot(
        rows, pools, outcome_cfg=outcome_config, comparison=comparison, measure=measure,
        outcome=outcome, subgroup_var="design_stratum", layout=layout,
        tau2_method=analysis.tau2_method, ci_method=ci_method, level=analysis.level,
        pi_min_k=analysis.pi_min_k, title=_title(outcome_config, comparison, measure),
        max_rows=max_rows, rob=dots, rob_note=rob_note, design_sections=True,
        design_note=note.strip(),
    )


def _labels(effects) -> dict:
    """study_id -> the study's label in tables and figures (effects.csv ``label``)."""
    if "label" not in effects:
        return {}
    return dict(zip(effects["study_id"].astype(str), effects["label"].astype(str)))


def _one_pool(table, comparison, measure):
    return table[(table["comparison"] == comparison) & (table["measure"] == measure)]


def _gosh(gosh, influence, title, comparison, measure, labels, unit=None) -> FigureResult:
    """The GOSH plot of one pool, from the outcome's gosh.csv and gosh_influence.csv."""
    table = _one_pool(gosh, comparison, measure)
    influence = _one_pool(influence, comparison, measure)
    if table.empty or influence.empty:
        return placeholder("No GOSH plot: fewer than gosh.min_k studies entered the pool, or no "
                           "subset could be fitted (results/tables/gosh.csv says which).",
                           kind="gosh", title=title)
    # influence rows are in the pool's order, that of the membership strings
    return gosh_plot(table.reset_index(drop=True), influence=influence.reset_index(drop=True),
                     study_labels=[labels.get(s, s) for s in influence["study"].astype(str)],
                     measure=measure, unit=unit, title=title)


def _cumulative(cumulative, title, comparison, measure, max_rows, labels,
                unit=None) -> FigureResult:
    """The cumulative forest plot of one pool, from the outcome's cumulative.csv."""
    rows = _one_pool(cumulative, comparison, measure)
    if rows["step"].notna().sum() == 0:
        notes = "; ".join(str(n) for n in rows["note"].dropna().unique())
        return placeholder("No cumulative meta-analysis: " + (notes or "no study in the pool"),
                           kind="cumulative", title=title)
    order_by = str(rows["order_by"].dropna().iloc[0]) if rows["order_by"].notna().any() else ""
    rows = rows.reset_index(drop=True)
    drawn = rows[rows["step"].notna()]
    return cumulative_forest_plot(rows, measure=measure, unit=unit,
                                  labels=[f"+ {labels.get(str(s), str(s))}"
                                          for s in drawn["study_id"]],
                                  order_label=order_by.replace("_", " ").capitalize(),
                                  title=title, max_rows=max_rows)


def _rob_dots(rob, studies, rows) -> tuple[pd.DataFrame | None, str]:
    """The risk-of-bias dots of the plotted studies, or None and why they are not shown."""
    if rob is None or studies is None:
        return None, ""
    dots, why = _rob_all(rob, studies)
    if dots is None:
        return None, why
    ids = list(dict.fromkeys(str(s) for s in rows["study_id"]))
    return dots[dots["study_id"].astype(str).isin(ids)].reset_index(drop=True), ""


#: The last sheet's dots: every figure of a job reads the same sheet, checked and read once.
_ROB_CACHE: dict = {}


def _rob_all(rob, studies) -> tuple[pd.DataFrame | None, str]:
    """Every study's dots (:func:`scimeta.rob.forest_rob_data`) once the sheet passes its check."""
    from scimeta.rob import forest_rob_data, validate_risk_of_bias

    key = (tuple(pd.util.hash_pandas_object(rob, index=False)),
           tuple(pd.util.hash_pandas_object(studies.astype(str), index=False)),
           tuple(rob.columns), tuple(studies.columns))
    if key not in _ROB_CACHE:
        errors = [p for p in validate_risk_of_bias(rob, studies) if p.severity == "error"]
        if errors:  # the sheet's own check names the file, row and column
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            result = (None, f"Risk of bias not shown: {errors[0]}{more}.")
        else:
            ids = [str(s) for s in studies["study_id"]]
            dots, why = attempt(forest_rob_data, rob, studies, ids)
            result = (dots, "") if dots is not None else (None, f"Risk of bias not shown: {why}")
        _ROB_CACHE.clear()
        _ROB_CACHE[key] = result
    return _ROB_CACHE[key]


def _funnel_overlays(bias, bias_filled, comparison, measure, tau2_method):
    """Egger's regression line (``egger_rma`` of ``bias.csv``) and the studies trim and fill
    (L0) imputes (``bias_filled.csv``)."""
    line = filled = None
    if bias is not None and len(bias):
        egger = bias[(bias["comparison"] == comparison) & (bias["measure"] == measure)
                     & (bias["tau2_method"] == tau2_method) & (bias["test"] == "egger_rma")]
        if (len(egger) and pd.notna(egger["intercept"].iloc[0])
                and pd.notna(egger["slope"].iloc[0])):
            line = {"intercept": float(egger["intercept"].iloc[0]),
                    "slope": float(egger["slope"].iloc[0])}
    if bias_filled is not None and len(bias_filled):
        fill = bias_filled[(bias_filled["comparison"] == comparison)
                           & (bias_filled["measure"] == measure)
                           & (bias_filled["tau2_method"] == tau2_method)
                           & (bias_filled["test"] == "trimfill_L0")]
        if len(fill):
            filled = {"yi": fill["yi"].to_numpy(float), "vi": fill["vi"].to_numpy(float)}
    return line, filled


def _bubble(effects, membership, metareg, studies, outcome_config, comparison, measure,
            moderator, tau2_method, ci_method, level, options, name=None,
            extra="") -> FigureResult:
    """The studies of the overall pool against the moderator, and the line of ``metareg.csv``."""
    title = _short_title(outcome_config, comparison, measure, extra)
    rows = _members(effects, membership, comparison, measure)
    x = moderator_values(rows, studies, moderator) if len(rows) else np.zeros(0)
    have = np.isfinite(x)
    fit = pd.DataFrame()
    if metareg is not None and len(metareg):
        fit = metareg[(metareg["comparison"] == comparison) & (metareg["measure"] == measure)
                      & (metareg["moderator"] == moderator)
                      & (metareg["tau2_method"] == tau2_method)
                      & (metareg["ci_method"] == ci_method)]
    coef = fit[fit["term"].isin(["intercept", moderator])] if len(fit) else fit
    if len(coef) != 2 or coef["estimate"].isna().any():
        why = str(fit["note"].iloc[0]) if len(fit) and pd.notna(fit["note"].iloc[0]) else ""
        return placeholder(
            f"A meta-regression on {moderator} needs at least 3 studies with different values; "
            f"{int(have.sum())} of the pooled studies have a value."
            + (f" ({why})" if why else ""),
            kind="bubble", title=title,
        )
    coef = coef.set_index("term").loc[["intercept", moderator]]
    used = rows[have]
    warning = thin_evidence("bubble", len(used), options)
    if warning and options.small_k == "skip":
        return _skipped("bubble", title, warning, options)
    slope = coef.loc[moderator]
    stats = {"slope": float(slope["estimate"]), "ci_low": float(slope["ci_low"]),
             "ci_high": float(slope["ci_high"]), "p": float(slope["p"]), "k": int(len(used)),
             "level": level}
    vcov = coef[["cov_intercept", "cov_slope"]].to_numpy(float)
    return bubble_plot(
        used["yi"].to_numpy(float), used["vi"].to_numpy(float), x[have],
        coef=coef["estimate"].to_numpy(float), vcov=vcov, tau2=float(coef["tau2"].iloc[0]),
        crit=float(coef["crit"].iloc[0]), level=level, measure=measure,
        unit=outcome_config.get("unit"), xlabel=name or moderator,
        labels=list(used["label"]), title=title, stats=stats, warning=warning or None,
    )
