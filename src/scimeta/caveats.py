"""The review's declared caveats, and the sensitivity analysis an overlap calls for.

A review knows things its sheets cannot say: two series from the same group
may share patients, a report may be a subset of another. The config's
``caveats`` list states them (``text``, the ``studies`` involved, ``kind``);
the report and the methods text show every one. For an ``overlap`` caveat
naming two or more studies, every primary overall pool that holds at least
two of them is re-estimated without each of them in turn, with the primary
model (:func:`caveat_table`, ``results/tables/caveats.csv``), so a reader
sees whether the possible double counting matters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scimeta.grade import pool_effects, pool_studies
from scimeta.pool import SINGLE_STUDY_LABEL, pool
from scimeta.review import Problem
from scimeta.settings import analysis_settings

__all__ = ["CAVEAT_COLUMNS", "validate_caveats", "caveat_table"]

#: Columns of ``results/tables/caveats.csv``.
CAVEAT_COLUMNS = ["caveat", "kind", "text", "studies", "outcome", "comparison", "measure",
                  "left_out", "k", "estimate", "ci_low", "ci_high", "tau2", "I2",
                  "tau2_method", "ci_method", "note", "design"]


def validate_caveats(config: dict, studies: pd.DataFrame, *, lines: dict | None = None,
                     file: str = "config/config.yaml") -> list[Problem]:
    """Each study a caveat names must be in the studies sheet; an overlap names two or more.

    ``lines``: dotted config key → line, so each problem names its line.
    """
    known = set(studies["study_id"].astype(str))
    lines = lines or {}
    problems = []
    for i, caveat in enumerate(config.get("caveats") or []):
        key = f"caveats.{i}"
        line = lines.get(f"{key}.studies", lines.get(key, lines.get("caveats")))
        for sid in caveat.get("studies") or []:
            if sid not in known:
                problems.append(Problem(file, line, f"{key}.studies",
                                        f"study {sid!r} is not in the studies sheet"))
        if caveat.get("kind") == "overlap" and len(set(caveat.get("studies") or [])) < 2:
            problems.append(Problem(file, line, f"{key}.studies",
                                    "an overlap caveat names at least two studies"))
    return problems


def caveat_table(config: dict, *, pooled: pd.DataFrame, effects: pd.DataFrame) -> pd.DataFrame:
    """Every declared caveat, with the leave-out pools of each overlap.

    Parameters
    ----------
    config : dict
        The validated config (``caveats``, ``analysis``).
    pooled, effects : pandas.DataFrame
        ``results/tables/pooled.csv`` and ``data/processed/effects.csv``.

    Returns
    -------
    pandas.DataFrame
        :data:`CAVEAT_COLUMNS`: one row per caveat (``left_out`` empty; the
        numbers those of the pool with all its studies) for each primary
        overall pool holding two or more of an overlap's studies, then one
        row per study left out (the same model without it). A caveat with no
        such pool has one row without numbers, the reason in ``note``.
        ``caveat`` numbers the caveats from 1, in config order.
    """
    settings = analysis_settings(config["analysis"])
    primary = pooled[(pooled["subgroup_var"] == "overall")
                     & (pooled["primary"].astype(str).str.lower() == "true")] if len(pooled) \
        else pooled
    records = []
    for n, caveat in enumerate(config.get("caveats") or [], start=1):
        named = list(dict.fromkeys(caveat.get("studies") or []))
        base = {"caveat": n, "kind": caveat["kind"], "text": caveat["text"],
                "studies": ";".join(named)}
        if caveat["kind"] != "overlap":
            records.append({**base, "note": "no analysis: not an overlap"})
            continue
        pools = [row for _, row in primary.iterrows()
                 if len(set(pool_studies(row)) & set(named)) >= 2]
        if not pools:
            records.append({**base, "note": "no pool holds two of these studies together"})
            continue
        for row in pools:
            where = {**base, "outcome": row["outcome"], "comparison": row["comparison"],
                     "measure": row["measure"], "tau2_method": row["tau2_method"],
                     "design": row.get("design", "")}
            records.append({**where, "left_out": "", "k": int(row["k"]),
                            "estimate": row["estimate"], "ci_low": row["ci_low"],
                            "ci_high": row["ci_high"], "tau2": row["tau2"], "I2": row["I2"],
                            "ci_method": row["ci_method"], "note": "all studies"})
            rows = pool_effects(effects, row)
            for sid in named:
                if sid not in set(rows["study_id"]):
                    continue
                rest = rows[rows["study_id"] != sid]
                records.append({**where, "left_out": sid,
                                **_leave_out(rest, row, settings)})
    return pd.DataFrame(records, columns=CAVEAT_COLUMNS)


def _leave_out(rest: pd.DataFrame, row, settings) -> dict:
    """The pool of ``rest`` with the model of ``row`` (one study left: its own Wald-type CI,
    the one rule of :data:`scimeta.pool.SINGLE_STUDY_NOTE`)."""
    yi = rest["yi"].to_numpy(dtype=float)
    vi = rest["vi"].to_numpy(dtype=float)
    fit = pool(yi, vi, model=row["model"], tau2_method=row["tau2_method"],
               ci_method=row["ci_method"], level=settings.level, pi_min_k=settings.pi_min_k)
    note = f"one study left: {SINGLE_STUDY_LABEL}" if len(yi) == 1 else ""
    return {"k": int(fit.k), "estimate": fit.estimate, "ci_low": fit.ci_low,
            "ci_high": fit.ci_high, "tau2": fit.tau2 if len(yi) > 1 else np.nan,
            "I2": fit.I2 if len(yi) > 1 else np.nan, "ci_method": row["ci_method"],
            "note": note}
