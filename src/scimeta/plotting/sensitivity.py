"""Plot of a pooled before/after effect against the assumed pre–post correlation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scimeta.plotting._common import (
    LOG_MEASURES,
    MEASURE_NAMES,
    FigureResult,
    new_figure,
    scale_label,
)
from scimeta.plotting.style import COLORS, FONT_SIZE, figure_context

__all__ = ["r_sensitivity_plot", "caption_r_sensitivity"]


def r_sensitivity_plot(
    sweep: pd.DataFrame,
    *,
    outcome_cfg: dict | None = None,
    primary_r: float | None = None,
    show_pi: bool = True,
    title: str | None = None,
) -> FigureResult:
    """Pooled effect and its CI (and prediction interval) at each assumed correlation.

    Parameters
    ----------
    sweep : DataFrame
        Output of :func:`scimeta.sensitivity.r_sweep` (``r_assumed``,
        ``estimate``, ``ci_low``, ``ci_high``, ``pi_low``, ``pi_high``,
        ``measure``, ``k_own_r`` ...).
    outcome_cfg : dict, optional
        The outcome's config entry: ``unit`` goes on the y axis of a mean
        change; ``label`` names the y axis when there is no title.
    primary_r : float, optional
        The correlation of the primary analysis (config ``prepost_r``),
        marked with a dotted vertical line.
    show_pi : bool
        Draw the prediction interval where it exists.
    title : str, optional

    Returns
    -------
    FigureResult
        ``data`` is one row per correlation with exactly the plotted numbers.
    """
    need = ("r_assumed", "estimate", "ci_low", "ci_high")
    missing = [c for c in need if c not in sweep]
    if missing:
        raise ValueError(f"sweep: missing column(s) {', '.join(missing)}")
    sw = sweep.sort_values("r_assumed", kind="mergesort").reset_index(drop=True)
    measure = str(sw["measure"].iloc[0]) if "measure" in sw else ""
    tr = np.exp if measure in LOG_MEASURES else (lambda v: np.asarray(v, float))
    r = sw["r_assumed"].to_numpy(float)
    est, lo, hi = (tr(sw[c].to_numpy(float)) for c in ("estimate", "ci_low", "ci_high"))
    has_pi = show_pi and "pi_low" in sw and np.isfinite(sw["pi_low"].to_numpy(float)).any()
    data = pd.DataFrame({"r_assumed": r, "estimate": est, "ci_low": lo, "ci_high": hi})
    if has_pi:
        data["pi_low"] = tr(sw["pi_low"].to_numpy(float))
        data["pi_high"] = tr(sw["pi_high"].to_numpy(float))
    for col in ("k", "k_own_r", "tau2", "I2", "p"):
        if col in sw:
            data[col] = sw[col].to_numpy()
    k = int(sw["k"].iloc[0]) if "k" in sw and np.isfinite(sw["k"].iloc[0]) else None
    one = k == 1
    with figure_context():
        fig = new_figure(4.8, 3.6)
        # the legend sits in its own band above the plot, never over the lines
        ax = fig.add_axes((0.14, 0.2, 0.82, 0.6 if title else 0.66))
        if measure in LOG_MEASURES:
            ax.set_yscale("log")
        if has_pi:
            ax.fill_between(r, data["pi_low"], data["pi_high"], color=COLORS["prediction"],
                            alpha=0.12, lw=0, gid="prediction-band", label="Prediction interval")
        if np.isfinite(lo).any() and np.isfinite(hi).any():
            ax.fill_between(r, lo, hi, color=COLORS["band"], alpha=0.6, lw=0, gid="ci-band",
                            label=f"{_level(sw)}CI" + (" (the study's own)" if one else ""))
        ax.plot(r, est, marker="o", ms=3.5, color=COLORS["study"], lw=1.2, gid="estimate",
                label="Estimate (one study)" if one else "Pooled estimate")
        agree = _agreeing(sw)
        x_lo, x_hi = min(r.min(), 0.0) - 0.03, max(r.max(), 0.9) + 0.03
        everywhere = agree is not None and agree[0] <= x_lo and agree[1] >= x_hi
        outside = agree is not None and (agree[1] < x_lo or agree[0] > x_hi)
        if agree is not None and not (everywhere or outside):
            # the assumed r at which the studies' reported paired p holds (clipped to the axis)
            ax.axvspan(max(agree[0], x_lo), min(agree[1], x_hi), facecolor="none",
                       edgecolor=COLORS["null"], hatch="///", lw=0.0, zorder=0.2,
                       gid="r-agree-band", label=f"r that reproduces the reported p ({agree[2]})")
        if agree is not None:
            data["r_agree_low"], data["r_agree_high"] = agree[0], agree[1]
        null = 1.0 if measure in LOG_MEASURES else 0.0
        ax.axhline(null, color=COLORS["null"], lw=0.6, zorder=0.5, gid="null-line")
        if primary_r is not None:
            ax.axvline(primary_r, color="black", lw=0.6, ls=(0, (1, 2)), gid="primary-r",
                       label=f"Primary analysis (r = {primary_r:g})")
        ax.set_xlim(x_lo, x_hi)
        ax.set_xlabel("Assumed pre\u2013post correlation r")
        # the title names the outcome; the axis says the measure (and unit of a raw one)
        ylabel = scale_label(measure, (outcome_cfg or {}).get("unit"))
        label = (outcome_cfg or {}).get("label", "")
        ax.set_ylabel(f"{label}\n{ylabel}" if label and not title else ylabel)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.01), ncol=2, fontsize=FONT_SIZE - 1,
                  frameon=False, borderaxespad=0.0, handlelength=1.6, columnspacing=1.2)
        own = int(sw["k_own_r"].iloc[0]) if "k_own_r" in sw else 0
        foot = []
        if own:
            foot.append(f"{own} of {int(sw['k'].iloc[0])} studies keep their own "
                        "(reported, derived or not needed) correlation.")
        if agree is not None:
            verb = "reproduces" if "," not in agree[3] else "reproduce"
            foot.append(f"Every r shown reproduces the paired p reported by {agree[3]}."
                        if everywhere else
                        f"No r shown reproduces the paired p reported by {agree[3]} "
                        f"({agree[2]})." if outside else
                        f"Hatched: the r at which {agree[3]} {verb} the paired p reported.")
        if foot:
            fig.text(0.02, 0.02, "\n".join(foot), fontsize=FONT_SIZE - 1, ha="left",
                     va="bottom", parse_math=False)
        if title:
            fig.text(0.02, 0.97, title, ha="left", va="top", fontsize=FONT_SIZE + 1,
                     fontweight="bold", parse_math=False)
    return FigureResult(fig, data, "r_sensitivity", {"measure": measure, "primary_r": primary_r})


def _agreeing(sw):
    """``(low, high, text)`` of the assumed r that agree with the studies' reported paired p
    (columns ``r_agree_low``, ``r_agree_high``, ``r_agree_studies``), or None."""
    if not {"r_agree_low", "r_agree_high"} <= set(sw.columns):
        return None
    lo, hi = float(sw["r_agree_low"].iloc[0]), float(sw["r_agree_high"].iloc[0])
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return None
    text = ("any r" if lo <= -1 and hi >= 1 else f"r \u2265 {lo:.2f}" if hi >= 1
            else f"r \u2264 {hi:.2f}" if lo <= -1 else f"{lo:.2f} to {hi:.2f}")
    studies = sw["r_agree_studies"].iloc[0] if "r_agree_studies" in sw else ""
    studies = ", ".join(str(studies).split(";")) if isinstance(studies, str) and studies \
        else "each study"
    return lo, hi, text, studies


def _level(sw):
    """``"95% "`` from the sweep's ``level`` column; without one the band is just "CI"."""
    if "level" in sw and np.isfinite(sw["level"].iloc[0]):
        return f"{float(sw['level'].iloc[0]):.0%} "
    return ""


def caption_r_sensitivity(*, outcome_label: str, measure: str, primary_r: float | None = None,
                          tau2_method: str, ci_method: str, level: float) -> str:
    """One-paragraph reStructuredText caption for :func:`r_sensitivity_plot`."""
    from scimeta.plotting._common import CI_NAMES, TAU2_NAMES

    name = MEASURE_NAMES.get(measure, measure)
    name = name[:1].lower() + name[1:]
    text = (f"Sensitivity of the pooled before/after effect on **{outcome_label}** ({name}) to "
            "the assumed pre–post correlation r: every study without a reported or derivable "
            "correlation is recomputed at each r and the studies are pooled again "
            f"(random effects, τ² by {TAU2_NAMES.get(tau2_method, tau2_method)}, CI by "
            f"{CI_NAMES.get(ci_method, ci_method)}). The band is the {level:.0%} CI, the light band the "
            "prediction interval where it exists. Where a study reports the paired p "
            "as a bound (\"p < 0.001\"), it takes at each r the nearest r that agrees with it "
            "(as in the primary analysis), and the hatched column marks the r at which every "
            "such study reproduces its reported p as assumed.")
    if primary_r is not None:
        text += f" The dotted line marks the primary analysis (r = {primary_r:g})."
    return text
