"""Load reference values written by the R scripts in ``tests/reference/``.

The JSON files are produced by ``tests/reference/ref_<area>.R`` with
``jsonlite::write_json(digits = NA, na = "string")``, so non-finite numbers
arrive as the strings ``"NA"``, ``"NaN"``, ``"Inf"`` and ``"-Inf"`` and a
missing R value (``NULL``) as an empty list or object; :func:`load_reference`
turns all of these into floats (``nan``/``inf``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"

# Closed-form quantities (effect sizes, DL/HE/SJ/EE fits, Q, I², p-values
# from the same quantile functions) differ from R only by floating-point
# rounding order, a few ulps; 1e-10 relative leaves room for cancellation.
RTOL_CLOSED = 1e-10
# Iterative quantities (REML/ML/PM/EB tau², the Q-profile bounds and all
# that depends on them) stop at a convergence tolerance on both sides: the
# R reference at threshold 1e-12 / uniroot tol 1e-13, scimeta at 1e-12
# relative; 1e-6 relative is far above both and far below any reported digit.
RTOL_ITERATIVE = 1e-6

# metafor rma()/predict()/confint() field -> scimeta PoolResult field / pooled.csv column
METAFOR_FIELDS = {
    "estimate": "estimate",
    "se": "se",
    "ci_lb": "ci_low",
    "ci_ub": "ci_high",
    "stat": "stat",
    "p": "p",
    "pi_lb": "pi_low",
    "pi_ub": "pi_high",
    "tau2": "tau2",
    "tau": "tau",
    "I2": "I2",
    "H2": "H2",
    "QE": "Q",
    "QEp": "Q_p",
    "tau2_ci_lb": "tau2_ci_low",
    "tau2_ci_ub": "tau2_ci_high",
}
# fields that come from the Q-profile root search, whatever the estimator
ROOT_FIELDS = ("tau2_ci_low", "tau2_ci_high")
# fields proportional to tau² (or its square root) near the boundary, with their scale
TAU2_FIELDS = {"tau2": 1.0, "I2": 100.0, "H2": 1.0}

_NONFINITE = {"NA": math.nan, "NaN": math.nan, "Inf": math.inf, "-Inf": -math.inf}


def _convert(value: Any) -> Any:
    if isinstance(value, str):
        return _NONFINITE.get(value, value)
    if isinstance(value, dict):
        if not value:
            return math.nan
        return {key: _convert(v) for key, v in value.items()}
    if isinstance(value, list):
        if not value:
            return math.nan
        return [_convert(v) for v in value]
    return value


def load_reference(name: str) -> dict:
    """Read ``tests/reference/<name>.json`` with non-finite values as floats.

    Parameters
    ----------
    name : str
        File stem, e.g. ``"core"``.
    """
    path = REFERENCE_DIR / f"{name}.json"
    with path.open(encoding="utf-8") as handle:
        return _convert(json.load(handle))


def as_float(value: Any) -> float:
    """A reference scalar as float (a missing value becomes ``nan``)."""
    if value is None:
        return math.nan
    return float(value)
