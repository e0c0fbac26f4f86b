"""The settings of one review, read once from its validated config.

The defaults live in the config schema (``workflow/schemas/config.schema.yaml``)
and are filled in by validation (:func:`scimeta.validate.config_defaults`);
this module only reads the result. Every key is indexed, never looked up
with a fallback: a config that lacks a key is a ``KeyError`` here, not a
silent guess somewhere downstream. Pools, subgroup tests, meta-regression,
bias diagnostics, figures, the methods text and the GRADE draft all take
their estimator, CI method, test and level from these objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

__all__ = [
    "AnalysisSettings",
    "FigureSettings",
    "Settings",
    "analysis_settings",
    "comparison_text",
    "level_label",
    "test_of",
    "variable_label",
]


def variable_label(var: str, labels: Mapping | None = None) -> str:
    """The display name of a subgroup variable or moderator: ``subgroup_labels.<var>.label``
    of the config, else the column name with spaces for ``_``, capitalised (``time_since``
    → ``Time since``). Tables keep the column name; figures and the report show this."""
    given = ((labels or {}).get(var) or {}).get("label")
    if given:
        return str(given)
    text = str(var).replace("_", " ")
    return text[:1].upper() + text[1:]


def level_label(var: str, level, labels: Mapping | None = None) -> str:
    """The display name of a level of a subgroup variable:
    ``subgroup_labels.<var>.levels.<level>``, else the level as written."""
    given = (((labels or {}).get(var) or {}).get("levels") or {}).get(str(level))
    return str(given) if given else str(level)


def test_of(ci_method: str) -> str:
    """The coefficient test that goes with a CI method (:data:`scimeta.pool.CI_TESTS`):
    ``hksj`` → Knapp–Hartung ``knha`` (t and F tests), ``hksj_adhoc`` → ``adhoc`` (the
    same with the factor floored at 1), ``wald`` → ``z`` (normal and chi-squared tests)."""
    from scimeta.pool import CI_TESTS

    return CI_TESTS[ci_method]


def comparison_text(comparison: str, arms: Mapping, *, long: bool = False) -> str:
    """What a comparison compares, in an outcome's arm names (its ``arms`` config, with
    the schema's defaults filled in).

    ``between_arms``: "<treatment> vs <control>"; ``pre_post``: "<follow-up> vs
    <baseline>". ``long``: "versus", and for before/after "... within the
    <treatment> arm". The names are returned as given (escape them for the
    target format first).
    """
    if comparison == "between_arms":
        first, second = arms["treatment"], arms["control"]
    elif comparison == "pre_post":
        first, second = arms["follow_up"], arms["baseline"]
    else:
        raise ValueError(f"unknown comparison {comparison!r}")
    if not long:
        return f"{first} vs {second}"
    text = f"{first} versus {second}"
    if comparison == "pre_post":
        text += f" within the {arms['treatment']} arm"
    return text


@dataclass(frozen=True)
class AnalysisSettings:
    """The config's ``analysis`` block.

    ``tau2_methods`` and ``ci_methods`` in the config's order; the first of
    each is the primary one (:attr:`tau2_method`, :attr:`ci_method`).
    """

    tau2_methods: tuple[str, ...]
    ci_methods: tuple[str, ...]
    level: float
    common: bool
    pi_min_k: int
    subgroup_pools: tuple[str, ...]
    #: comparison -> ``separate`` or ``pooled`` (the config's ``analysis.designs``):
    #: read through :func:`scimeta.membership.design_stratum`.
    designs: Mapping[str, str]

    @classmethod
    def from_analysis(cls, analysis: Mapping) -> "AnalysisSettings":
        """From the validated ``analysis`` mapping (every key required)."""
        if isinstance(analysis, AnalysisSettings):
            return analysis
        return cls(
            tau2_methods=tuple(analysis["tau2"]),
            ci_methods=tuple(analysis["ci"]),
            level=float(analysis["level"]),
            common=bool(analysis["common"]),
            pi_min_k=int(analysis["pi_min_k"]),
            subgroup_pools=tuple(analysis["subgroup_pools"]),
            designs=dict(analysis["designs"]),
        )

    @property
    def tau2_method(self) -> str:
        """The primary estimator of tau^2."""
        return self.tau2_methods[0]

    @property
    def ci_method(self) -> str:
        """The primary CI method."""
        return self.ci_methods[0]

    @property
    def subgroup_scope(self) -> str:
        """The ``tau2_scope`` of the primary subgroup pools (drawn in subgroup forest plots):
        ``separate`` when listed in ``subgroup_pools``, else the first listed."""
        return "separate" if "separate" in self.subgroup_pools else self.subgroup_pools[0]

    @property
    def test(self) -> str:
        """The coefficient test of the primary CI method (:func:`test_of`)."""
        return test_of(self.ci_method)

    def model_grid(self) -> list[tuple[str, str, str, bool]]:
        """Every ``(model, tau2_method, ci_method, primary)`` pooled.

        The common-effect model (``EE``) with each CI method when ``common``,
        then the random-effects model with each estimator × CI method; the
        primary model is the random-effects one with the first estimator and
        the first CI method.
        """
        grid = []
        if self.common:
            grid += [("common", "EE", ci, False) for ci in self.ci_methods]
        for i, method in enumerate(self.tau2_methods):
            for j, ci in enumerate(self.ci_methods):
                grid.append(("random", method, ci, i == 0 and j == 0))
        return grid


def analysis_settings(analysis) -> AnalysisSettings:
    """:class:`AnalysisSettings` from the config's ``analysis`` mapping (or as given)."""
    return AnalysisSettings.from_analysis(analysis)


@dataclass(frozen=True)
class FigureSettings:
    """The config's ``figures`` block."""

    layout: str
    max_forest_rows: int
    small_k: str
    min_k_small_study: int

    @classmethod
    def from_figures(cls, figures: Mapping) -> "FigureSettings":
        if isinstance(figures, FigureSettings):
            return figures
        return cls(
            layout=str(figures["layout"]),
            max_forest_rows=int(figures["max_forest_rows"]),
            small_k=str(figures["small_k"]),
            min_k_small_study=int(figures["min_k_small_study"]),
        )


@dataclass(frozen=True)
class Settings:
    """Everything a review's analyses read from its config, built once.

    Build with :meth:`from_config` on a validated config
    (:attr:`scimeta.io.Review.config`).
    """

    analysis: AnalysisSettings
    figures: FigureSettings
    prepost_r: float
    prepost_method: str
    r_grid: tuple[float, ...]
    permutations: int
    seed: int
    subgroups: tuple[str, ...]
    moderators: tuple[str, ...]
    populations: Mapping[str, tuple[str, ...]]

    @classmethod
    def from_config(cls, config: Mapping) -> "Settings":
        """From a validated config (schema defaults filled in); a missing key is a KeyError."""
        return cls(
            analysis=AnalysisSettings.from_analysis(config["analysis"]),
            figures=FigureSettings.from_figures(config["figures"]),
            prepost_r=float(config["prepost_r"]),
            prepost_method=str(config["prepost_method"]),
            r_grid=tuple(float(r) for r in config["sensitivity"]["r_grid"]),
            permutations=int(config["permutations"]),
            seed=int(config["seed"]),
            subgroups=tuple(config["subgroups"]),
            moderators=tuple(config["moderators"]),
            populations={k: tuple(v) for k, v in config["populations"].items()},
        )

    @property
    def r_sweep(self) -> bool:
        """Whether the pre-post correlation is swept (before/after effects are paired)."""
        return self.prepost_method == "paired"
