"""Which rows each planned figure shows, and the call that draws it.

The workflow plans the figures of an outcome before any job runs
(:func:`scimeta.workflow.planned_figures`); this module turns one planned
item and the outcome's tables into a :class:`scimeta.plotting.FigureResult`.
A planned figure with nothing to show (every effect size of that measure
excluded, a subgroup variable with one level left) is drawn as a labelled
placeholder that points to the excluded table, so that every planned file
exists and says why it is empty.
"""

from __future__ import annotations

import pandas as pd

from scimeta.analysis import moderator_values, overall_rows
from scimeta.plotting import bubble_plot, forest_plot, funnel_plot, r_sensitivity_plot
from scimeta.plotting._common import FigureResult, new_figure
from scimeta.plotting.style import figure_context

__all__ = ["draw_figure", "placeholder"]

_COMPARISON_TEXT = {"between_arms": "treatment vs control", "pre_post": "follow-up vs baseline"}


def placeholder(message: str, *, kind: str, title: str) -> FigureResult:
    """A small figure stating why there is nothing to draw."""
    with figure_context():
        fig = new_figure(6.5, 1.8)
        fig.text(0.02, 0.75, title, fontsize=11, fontweight="bold", ha="left", va="center")
        fig.text(0.02, 0.3, message, fontsize=9, ha="left", va="center", wrap=True)
    data = pd.DataFrame({"message": [message]})
    return FigureResult(fig, data, kind, {"placeholder": True})


def _primary(analysis: dict) -> tuple[str, str]:
    return list(analysis.get("tau2", ["REML"]))[0], list(analysis.get("ci", ["wald"]))[0]


def _title(outcome_config: dict, comparison: str, measure: str, extra: str = "") -> str:
    text = f"{outcome_config['label']}: {_COMPARISON_TEXT[comparison]} ({measure})"
    return f"{text}, {extra}" if extra else text


def _text_filled(frame: pd.DataFrame) -> pd.DataFrame:
    """Empty text cells as '' (a CSV read back gives NaN there)."""
    numeric = {"yi", "vi", "sei", "ci_low", "ci_high", "n1", "mean1", "sd1", "n2", "mean2", "sd2",
               "r", "timepoint"}
    text = [c for c in frame.columns if c not in numeric]
    return frame.assign(**{c: frame[c].astype(object).where(frame[c].notna(), "") for c in text})


def _short_title(outcome_config: dict, comparison: str, measure: str) -> str:
    """One short line for the small figures (axis labels and the caption say the rest)."""
    return f"{outcome_config['label']} ({measure})"


def _ordered_pools(pools: pd.DataFrame, var: str, levels) -> pd.DataFrame:
    """Subgroup pools in the config's order of levels, others alphabetically, "mixed" last."""
    from scimeta.subgroups import MIXED

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


def _rows(effects: pd.DataFrame, comparison: str, measure: str) -> pd.DataFrame:
    return effects[(effects["comparison"] == comparison) & (effects["measure"] == measure)]


def _subgroup_effects(effects, membership, comparison, measure, var) -> pd.DataFrame:
    chosen = membership[
        (membership["subgroup_var"] == var)
        & (membership["comparison"] == comparison)
        & (membership["measure"] == measure)
        & (membership["included"].astype(str).str.lower() == "true")
        & (membership["effect_row"] >= 0)
    ]
    rows = effects.loc[chosen["effect_row"].astype(int).to_numpy()].copy()
    rows[var] = chosen["subgroup"].to_numpy()
    return rows.reset_index(drop=True)


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
    studies: pd.DataFrame | None = None,
    populations: dict | None = None,
    max_forest_rows: int | None = None,
) -> FigureResult:
    """Draw one planned figure of an outcome (see :func:`scimeta.workflow.planned_figures`).

    A forest plot of more than ``max_forest_rows`` studies is drawn as a summary
    (:func:`scimeta.plotting.forest_plot`, ``max_rows``).
    """
    kind, comparison, measure, var = item["kind"], item["comparison"], item["measure"], item["var"]
    effects = _text_filled(effects)
    tau2_method, ci_method = _primary(analysis)
    level = float(analysis.get("level", 0.95))
    nothing = (
        f"No {measure} effect size could be computed for this comparison; "
        "see results/tables/excluded.csv for the reasons."
    )
    if kind == "forest":
        rows, _ = overall_rows(_rows(effects, comparison, measure))
        if rows.empty:
            return placeholder(nothing, kind="forest", title=_title(outcome_config, comparison, measure))
        pools = pooled[pooled["subgroup_var"] == "overall"]
        # One study: no Hartung-Knapp interval exists; the total is the study's own (Wald) CI.
        ci = "wald" if len(rows) == 1 else ci_method
        return forest_plot(
            rows, pools, outcome_cfg=outcome_config, comparison=comparison, measure=measure,
            outcome=outcome, layout=layout, tau2_method=tau2_method, ci_method=ci,
            level=level, title=_title(outcome_config, comparison, measure),
            max_rows=max_forest_rows,
        )
    if kind == "subgroup_forest":
        title = _title(outcome_config, comparison, measure, f"by {var}")
        rows = _subgroup_effects(effects, membership, comparison, measure, var)
        if rows.empty:
            return placeholder(nothing, kind="forest", title=title)
        pools = pooled[pooled["subgroup_var"].isin([var, "overall"])]
        if "tau2_scope" in pools:
            pools = pools[pools["tau2_scope"].fillna("separate").isin(["separate", ""])]
        pools = _ordered_pools(pools, var, (populations or {}).get(var))
        tests = subgroup_tests[
            (subgroup_tests["subgroup_var"] == var)
            & (subgroup_tests["comparison"] == comparison)
            & (subgroup_tests["measure"] == measure)
        ]
        return forest_plot(
            rows, pools, outcome_cfg=outcome_config, comparison=comparison, measure=measure,
            outcome=outcome, subgroup_var=var, subgroup_tests=tests, layout=layout,
            tau2_method=tau2_method, ci_method=ci_method, level=level, title=title,
            max_rows=max_forest_rows,
        )
    if kind == "funnel":
        title = _short_title(outcome_config, comparison, measure)
        rows, _ = overall_rows(_rows(effects, comparison, measure))
        primary = pooled[
            (pooled["subgroup_var"] == "overall") & (pooled["comparison"] == comparison)
            & (pooled["measure"] == measure) & (pooled["primary"].astype(str).str.lower() == "true")
        ]
        if len(rows) < 3 or primary.empty:
            return placeholder(
                f"A funnel plot needs at least 3 studies; {len(rows)} entered the pool.",
                kind="funnel", title=title,
            )
        yi, vi = rows["yi"].to_numpy(float), rows["vi"].to_numpy(float)
        egger, filled = _funnel_overlays(yi, vi, tau2_method, ci_method, level)
        return funnel_plot(
            yi, vi, estimate=float(primary["estimate"].iloc[0]), measure=measure,
            labels=list(rows["label"]), title=title, egger=egger, filled=filled,
        )
    if kind == "sensitivity":
        title = _short_title(outcome_config, comparison, measure)
        sweep = sensitivity[sensitivity["measure"] == measure] if len(sensitivity) else sensitivity
        if sweep.empty:
            return placeholder(nothing, kind="r_sensitivity", title=title)
        return r_sensitivity_plot(sweep, outcome_cfg=outcome_config,
                                  primary_r=item.get("prepost_r"), title=title)
    if kind == "bubble":
        return _bubble(effects, studies, outcome_config, comparison, measure, var,
                       tau2_method, ci_method, level)
    raise ValueError(f"unknown figure kind {kind!r}")


def _funnel_overlays(yi, vi, tau2_method, ci_method, level):
    """Egger's regression line and the trim-and-fill (L0) studies, as in ``bias.csv``."""
    from scimeta import bias

    test = "knha" if ci_method == "hksj" else "z"
    egger = bias.egger_rma(yi, vi, tau2_method=tau2_method, test=test, level=level)
    line = None
    if pd.notna(egger.estimate) and pd.notna(egger.slope):
        line = {"intercept": float(egger.estimate), "slope": float(egger.slope)}
    fill = bias.trimfill(yi, vi, estimator="L0", tau2_method=tau2_method, level=level)
    filled = None
    if fill.k0 > 0:
        filled = {"yi": list(fill.fill_yi), "vi": list(fill.fill_vi)}
    return line, filled


def _bubble(effects, studies, outcome_config, comparison, measure, moderator, tau2_method,
            ci_method, level) -> FigureResult:
    from scimeta.metareg import metareg

    title = _short_title(outcome_config, comparison, measure)
    rows, _ = overall_rows(_rows(effects, comparison, measure))
    x = moderator_values(rows, studies, moderator) if len(rows) else []
    have = pd.notna(pd.Series(x, dtype=float)).to_numpy()
    if have.sum() < 3 or pd.Series(x[have]).nunique() < 2:
        return placeholder(
            f"A meta-regression on {moderator} needs at least 3 studies with different values; "
            f"{int(have.sum())} of the pooled studies have a value.",
            kind="bubble", title=title,
        )
    used = rows[have]
    fit = metareg(used["yi"].to_numpy(float), used["vi"].to_numpy(float), x[have],
                  tau2_method=tau2_method, test="knha" if ci_method == "hksj" else "z",
                  level=level)
    return bubble_plot(
        used["yi"].to_numpy(float), used["vi"].to_numpy(float), x[have], coef=fit.beta,
        vcov=fit.vcov, tau2=fit.tau2, crit=fit.crit, level=level, measure=measure,
        xlabel=moderator, labels=list(used["label"]), title=title,
    )
