"""Configs for tests that call the library directly: the schema's defaults, filled in as
validation does (:func:`scimeta.validate.config_defaults`), never written out by hand."""

from __future__ import annotations

from scimeta.validate import config_defaults, outcome_defaults


def analysis(**given) -> dict:
    """The ``analysis`` block of a validated config with ``given`` keys set."""
    return config_defaults({"analysis": given, "outcomes": {}})["analysis"]


def config(**given) -> dict:
    """A validated config's keys (``outcomes`` as given, each with its defaults)."""
    return config_defaults({"outcomes": {}, **given})


def outcome(prepost_method: str = "paired", **given) -> dict:
    """One outcome's config entry with the schema's defaults."""
    return outcome_defaults({"higher_is_better": True, "timepoint": 12, **given}, prepost_method)


def forest_options() -> dict:
    """``forest_plot``'s layout and primary model, as the config's defaults give them."""
    cfg = config()
    a = cfg["analysis"]
    return dict(layout=cfg["figures"]["layout"], tau2_method=a["tau2"][0], ci_method=a["ci"][0],
                level=a["level"], pi_min_k=a["pi_min_k"])
