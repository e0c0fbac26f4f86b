"""One analysis that cannot be computed stays local.

Bad input is stopped by validation before any analysis runs. What is left
to fail is arithmetic on valid data: a regression whose predictor is
constant (every study with the same standard error), an estimator that
does not converge, a subgroup with nothing to compare. Each secondary
analysis of a pool (bias tests, trim and fill, leave-one-out, influence,
the r sweep, meta-regression, subgroup tests, the permutation p-value, the
Q-profile CI) is run through :func:`attempt`: when it cannot be computed,
its row is written with empty numbers and the reason in ``note``, and
everything else of the outcome is still written. Figures only draw those
tables: one with nothing to show is a placeholder recorded in
``figure_warnings.csv`` (:func:`scimeta.figures.figure_warning`), and an
error while drawing one fails its job.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

import numpy as np

__all__ = ["NOT_COMPUTABLE", "attempt", "not_computed", "pool_gaps", "with_gaps"]

T = TypeVar("T")

#: What a computation on validated numbers raises when its result does not exist.
NOT_COMPUTABLE = (ValueError, ArithmeticError, np.linalg.LinAlgError)


def not_computed(reason: str) -> str:
    """The ``note`` of a row whose numbers could not be computed."""
    return f"not computed: {reason}"


def attempt(compute: Callable[..., T], *args, **kwargs) -> tuple[T | None, str]:
    """``(compute(*args, **kwargs), "")``, or ``(None, reason)`` when it cannot be computed.

    Only the exceptions of :data:`NOT_COMPUTABLE` are caught; anything else
    (a programming error) still stops the run.
    """
    with np.errstate(all="ignore"):
        try:
            return compute(*args, **kwargs), ""
        except NOT_COMPUTABLE as exc:
            return None, str(exc) or type(exc).__name__


def _empty(row: dict, *names: str) -> bool:
    values = [row.get(n) for n in names]
    return any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values)


def pool_gaps(row: dict) -> list[str]:
    """Why numbers of a pooled row (``pooled.csv``) are empty by design, in words."""
    reasons = []
    if row.get("model") == "common" and _empty(row, "pi_low", "pi_high", "tau2_ci_low",
                                               "tau2_ci_high"):
        reasons.append("common-effect model: no prediction interval, no tau^2 CI")
    if row.get("ci_method") == "wald" and _empty(row, "df"):
        reasons.append("Wald (z) CI: no degrees of freedom")
    if row.get("k") == 1 and _empty(row, "Q", "Q_p", "I2", "H2"):
        reasons.append("k = 1: no heterogeneity statistics")
    return reasons


def with_gaps(row: dict) -> dict:
    """``row`` with :func:`pool_gaps` added to its ``note``."""
    notes = [str(row.get("note") or "")] + [g for g in pool_gaps(row)
                                           if g not in str(row.get("note") or "")]
    return {**row, "note": "; ".join(n for n in notes if n)}
