"""Validation of a review folder: config, sheets and the links between them.

Every problem names the file (relative to the review folder), the spreadsheet
row (header = row 1) and the column, so ``str(problem)`` reads
``data/raw/outcomes.csv:14:sd: must be >= 0 (got -2.1)``. Parts that do not
apply are left out (``data/raw/outcomes.csv: file is empty (no header row)``).

Rules (the sheet schemas in ``scimeta/schemas/`` hold the per-column ones):

* numbers use a decimal point; ``12,3`` (comma decimal), ``1,060``
  (thousands separator; in a count column it can only be that), ``12.3±4``
  (two numbers in one cell) and any other text in a numeric column are
  errors; so are non-finite numbers (``1e999``, ``inf``, ``nan``);
  full-width digits (``１２．３``) are read after Unicode NFKC normalisation;
  other digits (Arabic-Indic ``٤٠``) are errors that say what to write;
  ``NA``, ``N/A`` and ``NR`` are read as empty; a value so large that its
  square overflows (``1e300``) is a warning;
* every cell of a moderator column is a number (or empty);
* ``populations`` keys that are not subgroups, levels no row has and subgroup
  columns empty in every row are warnings;
* a file split by tabs or semicolons is named as such, once;
* ``n`` is a whole number >= 2, and the ``n`` column is required (an empty
  cell lists the row as excluded); ``sd``/``se`` >= 0 (an SD of 0 is real);
  ``ci_level`` is a proportion in (0, 1): a percentage such as ``95`` is
  rejected, never guessed; values are printed at full precision
  (``must be <= 1 (got 1.0000001)``);
* ids are slugs ``^[A-Za-z0-9][A-Za-z0-9_.-]*$`` without ``..``, at most
  :data:`MAX_ID_LENGTH` characters; outcome keys lower-case slugs of the same
  length: both become parts of file and rule names;
* a row must carry something usable (mean, median with IQR or range, or CI;
  for ``kind = difference`` the difference and its SE, CI or p-value, an SE
  or CI width above 0);
* summaries must be possible: q1 <= median <= q3, min <= median <= max,
  min <= mean <= max, ci_low <= ci_high, and values inside the outcome's
  ``scale`` (what is merely suspicious is left to :mod:`scimeta.audit`);
* keys are unique: ``study_id`` in studies, and
  (study_id, outcome, arm, population, timepoint, kind) in outcomes; in the
  config a key written twice is an error (with both lines);
* config keys and their combinations: unknown keys at their own line,
  ``pre_post`` measures of the other ``prepost_method``, and measures written
  in the config that the rows cannot give (:func:`scimeta.compare.measure_plan`);
  defaults that do not apply are one warning per outcome;
* the optional risk-of-bias sheet (``data/raw/risk_of_bias.csv`` or the
  workbook's ``risk_of_bias`` sheet) by :func:`scimeta.rob.validate_risk_of_bias`,
  and the config's ``prisma`` counts by :func:`scimeta.prisma.validate_prisma`
  (each error names its config key and line), once the studies sheet is valid.
"""

from __future__ import annotations

import math
import re
import unicodedata

import jsonschema
import numpy as np
import pandas as pd

from scimeta import review as sio
from scimeta.review import Problem, ReviewError
from scimeta.compare import EFFECT_COLUMNS

__all__ = [
    "Problem",
    "ReviewError",
    "validate_raw",
    "build_review",
    "config_defaults",
    "outcome_defaults",
    "has_values",
    "OUTCOME_KEY",
    "MISSING_TOKENS",
]

#: Columns that identify one outcomes row.
OUTCOME_KEY = ("study_id", "outcome", "arm", "population", "timepoint", "kind")
#: Cell texts read as an empty (missing) numeric value.
MISSING_TOKENS = frozenset({"", "na", "n/a", "nr"})
#: Longest outcome key and id: they become parts of file and rule names.
MAX_ID_LENGTH = 64
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_COMMA_DECIMAL = re.compile(r"[+-]?\d+,\d+")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_NOT_FINITE = re.compile(r"[+-]?(?:inf|infinity|nan)", re.IGNORECASE)
_SLUG_MESSAGE = (
    "is not a valid id: use letters, digits, '_', '.', '-', starting with a letter or digit, "
    "without '..'"
)


# --------------------------------------------------------------------------- helpers
def _sort(problems):
    return sorted(
        problems,
        key=lambda p: (p.file, -1 if p.row is None else p.row, p.column or "", p.message),
    )


def _fmt(v) -> str:
    """A value for a message, at full precision (``1.0000001``, not ``1``; ``5``, not ``5.0``)."""
    if isinstance(v, str):
        return repr(v)
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


def _parse_numeric(series: pd.Series, *, integer: bool = False):
    """Text -> float. Returns (values, bad) with bad a dict index -> message.

    ``integer``: the column holds counts, so ``1,060`` is read as a
    thousands separator rather than as a decimal comma.
    """
    text = series.astype(str).map(lambda s: unicodedata.normalize("NFKC", s).strip())
    text = text.str.replace("\u2212", "-", regex=False)  # Unicode minus
    missing = text.str.lower().isin(MISSING_TOKENS)
    ok = text.str.fullmatch(_NUMBER.pattern)
    values = pd.to_numeric(text.where(ok & ~missing), errors="coerce").astype(float)
    bad = {}
    for idx in text.index[ok & ~missing & ~np.isfinite(values)]:
        s = text[idx]
        other = [c for c in s if c.isdigit() and not c.isascii()]
        if other:
            ascii_s = "".join(str(unicodedata.digit(c)) if c in other else c for c in s)
            bad[idx] = (f"{s!r} has digits other than 0-9 ({unicodedata.name(other[0], '?')}"
                        f"); write {ascii_s}")
        else:
            bad[idx] = f"{s!r} is not a finite number (it is too large to represent)"
        values[idx] = np.nan
    for idx in text.index[~ok & ~missing]:
        s = text[idx]
        if _NOT_FINITE.fullmatch(s):
            bad[idx] = (
                f"{s!r} is not a finite number; leave the cell empty (or write NA) "
                "for a value not reported"
            )
        elif _THOUSANDS.fullmatch(s) and (integer or "." in s):
            bad[idx] = f"{s!r} has a thousands separator; write {s.replace(',', '')}"
        elif _THOUSANDS.fullmatch(s):
            bad[idx] = (
                f"{s!r} has a comma: write {s.replace(',', '')} if it is a thousands "
                f"separator, {s.replace(',', '.')} if it is a decimal comma"
            )
        elif _COMMA_DECIMAL.fullmatch(s):
            bad[idx] = f"{s!r} uses a decimal comma; write {s.replace(',', '.')}"
        elif "±" in s or "+/-" in s or "(" in s:
            bad[idx] = f"{s!r} is not one number; put mean, SD or SE in their own columns"
        else:
            bad[idx] = f"{s!r} is not a number"
    return values, bad


def _frame(headers, rows) -> pd.DataFrame:
    df = pd.DataFrame([r for _, r in rows], columns=headers, dtype=object)
    df = df.fillna("")
    df.insert(len(df.columns), "source_row", [i for i, _ in rows])
    df.index = pd.RangeIndex(len(df))
    return df


def _check_sheet(df, headers, schema, rel, problems, bad_cells=None):
    """Schema-driven column checks; returns the frame with numeric columns as float."""
    props = schema.get("properties", {})
    required = schema.get("required", [])
    for col in required:
        if col not in headers:
            problems.append(Problem(rel, 1, col, "missing required column"))
    for col in schema.get("requiredColumns", []):
        if col not in headers and col not in required:
            problems.append(
                Problem(
                    rel,
                    1,
                    col,
                    "missing required column (a cell may be empty, and that row is then listed "
                    f"as excluded, but the column must be there): {props[col]['description']}",
                )
            )
    out = df.copy()
    rows = df["source_row"].to_numpy()
    for col, spec in props.items():
        present = col in df.columns
        typ = spec.get("type")
        if typ in ("number", "integer"):
            if not present:
                out[col] = np.nan
                continue
            values, bad = _parse_numeric(df[col], integer=typ == "integer")
            for idx, msg in bad.items():
                problems.append(Problem(rel, int(rows[idx]), col, msg))
                if bad_cells is not None:
                    bad_cells.add((int(rows[idx]), col))
            v = values.to_numpy()
            fin = np.isfinite(v)
            if typ == "integer":
                for i in np.flatnonzero(fin & (v != np.round(v))):
                    problems.append(
                        Problem(
                            rel, int(rows[i]), col, f"must be a whole number (got {_fmt(v[i])})"
                        )
                    )
            for key, op, word in (
                ("minimum", np.less, ">="),
                ("exclusiveMinimum", np.less_equal, ">"),
                ("maximum", np.greater, "<="),
                ("exclusiveMaximum", np.greater_equal, "<"),
            ):
                if key in spec:
                    with np.errstate(invalid="ignore"):
                        hit = fin & op(v, spec[key])
                    for i in np.flatnonzero(hit):
                        msg = f"must be {word} {_fmt(spec[key])} (got {_fmt(v[i])})"
                        if col == "n":
                            msg = f"n must be a whole number >= 2 (got {_fmt(v[i])}" + (
                                "; an SD needs at least 2 patients)" if v[i] > 0 else ")"
                            )
                        elif col == "ci_level" and v[i] > 1:
                            msg = (
                                f"must be a proportion in (0, 1), e.g. 0.95 (got {_fmt(v[i])}; "
                                "a percentage is not converted)"
                            )
                        problems.append(Problem(rel, int(rows[i]), col, msg))
            out[col] = values
        else:
            if not present:
                out[col] = spec.get("default", "")
                continue
            s = df[col].astype(str).str.strip()
            empty = s == ""
            if "enum" in spec:
                bad = ~empty & ~s.isin(spec["enum"])
                for i in np.flatnonzero(bad.to_numpy()):
                    problems.append(
                        Problem(
                            rel,
                            int(rows[i]),
                            col,
                            f"{s.iloc[i]!r} is not one of: {', '.join(spec['enum'])}",
                        )
                    )
            if "maxLength" in spec:
                for i in np.flatnonzero((s.str.len() > spec["maxLength"]).to_numpy()):
                    problems.append(
                        Problem(
                            rel,
                            int(rows[i]),
                            col,
                            f"is {len(s.iloc[i])} characters long; at most {spec['maxLength']} "
                            "(ids become parts of file names)",
                        )
                    )
            if "pattern" in spec:
                okp = s.str.fullmatch(spec["pattern"])
                notp = spec.get("not", {}).get("pattern")
                if notp:
                    okp = okp & ~s.str.contains(notp, regex=True)
                bad = ~empty & ~okp
                for i in np.flatnonzero(bad.to_numpy()):
                    msg = (
                        f"{s.iloc[i]!r} {_SLUG_MESSAGE}"
                        if notp
                        else f"{s.iloc[i]!r} does not match {spec['pattern']}"
                    )
                    problems.append(Problem(rel, int(rows[i]), col, msg))
            if "default" in spec:
                s = s.where(~empty, spec["default"])
            out[col] = s
    for col in required:
        if col in df.columns:
            col_v = out[col]
            empty = col_v.isna() if col_v.dtype.kind == "f" else (col_v.astype(str) == "")
            if props.get(col, {}).get("type") in ("number", "integer"):
                raw_empty = df[col].astype(str).str.strip().str.lower().isin(MISSING_TOKENS)
                empty = raw_empty
            for i in np.flatnonzero(empty.to_numpy()):
                problems.append(Problem(rel, int(rows[i]), col, "required value is empty"))
    # keep input order, append the known columns the sheet lacks, source_row last
    order = [c for c in headers if c in out.columns]
    order += [c for c in props if c not in order]
    order += [c for c in out.columns if c not in order and c != "source_row"] + ["source_row"]
    out = out[order]
    for c in out.columns:
        if c != "source_row" and not pd.api.types.is_numeric_dtype(out[c]):
            out[c] = out[c].astype(str)
    return out


def outcome_defaults(outcome_config: dict, prepost_method: str) -> dict:
    """One outcome's config with every default filled in, from the config schema.

    The default of ``pre_post`` follows ``prepost_method``
    (``defaultByPrepostMethod`` in the schema): ``[MC, SMCR]`` when paired,
    ``[MD]`` when independent. The only place these defaults are decided.
    """
    schema = sio.load_schema("config")["properties"]["outcomes"]["additionalProperties"]
    out = _fill_defaults(outcome_config, schema)
    for key, sub in schema["properties"].items():
        by = sub.get("defaultByPrepostMethod")
        if by and key not in outcome_config and prepost_method in by:
            out[key] = _copy(by[prepost_method])
    return out


def _fill_defaults(instance, schema):
    """Fill ``default`` values of a JSON schema into a (copied) instance."""
    if isinstance(instance, list) and isinstance(schema, dict) and isinstance(
            schema.get("items"), dict):
        return [_fill_defaults(item, schema["items"]) for item in instance]
    if not isinstance(instance, dict) or not isinstance(schema, dict):
        return instance
    out = dict(instance)
    for key, sub in schema.get("properties", {}).items():
        if key not in out and "default" in sub:
            out[key] = _copy(sub["default"])
        if key in out:
            out[key] = _fill_defaults(out[key], sub)
    addl = schema.get("additionalProperties")
    if isinstance(addl, dict):
        for key in list(out):
            if key not in schema.get("properties", {}):
                out[key] = _fill_defaults(out[key], addl)
    return out


def _copy(v):
    import copy

    return copy.deepcopy(v)


def _check_config(raw, problems):
    cfg = raw.config
    if cfg is None:
        return None
    if not isinstance(cfg, dict):
        problems.append(Problem(sio.CONFIG_FILE, None, None, "config must be a YAML mapping"))
        return None
    not_finite = _not_finite_numbers(cfg)
    for path, value in not_finite:
        shown = path.encode("unicode_escape").decode("ascii")
        problems.append(Problem(
            sio.CONFIG_FILE, _line_of(raw, path), shown,
            f"{_yaml_special(value)} is not a finite number: a setting takes a number"))
    if not_finite:
        return None
    schema = sio.load_schema("config")
    validator = jsonschema.Draft202012Validator(schema)
    errs = sorted(validator.iter_errors(cfg), key=lambda e: [str(x) for x in e.absolute_path])
    for err in errs:
        for path, message in _schema_messages(err):
            shown = path.encode("unicode_escape").decode("ascii")  # a key may hold a line break
            problems.append(Problem(sio.CONFIG_FILE, _line_of(raw, path), shown or None, message))
    if errs:
        return None
    out = config_defaults(cfg)
    _check_combinations(raw, out, problems)
    return out


def _yaml_special(value: float) -> str:
    """A NaN or infinity as YAML writes it (``.nan``, ``.inf``, ``-.inf``)."""
    return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")


def _not_finite_numbers(value, path: str = "", seen: set | None = None
                        ) -> list[tuple[str, float]]:
    """``(dotted path, value)`` of every NaN or infinite number in a loaded YAML document.

    JSON Schema's ``number`` admits them, and a NaN passes every ``minimum``
    and ``maximum`` (each comparison with it is false); the config is checked
    for them before the schema. A mapping or list reached again through a
    YAML alias is not walked again (it was reported where first reached).
    """
    if isinstance(value, float):
        return [] if math.isfinite(value) else [(path, value)]
    if not isinstance(value, (dict, list)):
        return []
    seen = set() if seen is None else seen
    if id(value) in seen:
        return []
    seen.add(id(value))
    items = value.items() if isinstance(value, dict) else enumerate(value)
    return [found for k, v in items
            for found in _not_finite_numbers(v, f"{path}.{k}" if path else str(k), seen)]


def config_defaults(config: dict) -> dict:
    """A (schema-valid) config with every default of the config schema filled in.

    The defaults are those of ``config.schema.yaml`` and of
    :func:`outcome_defaults`; nothing else in the library supplies one
    (:class:`scimeta.settings.Settings` reads the result).
    """
    out = _fill_defaults(config, sio.load_schema("config"))
    out["outcomes"] = {
        key: outcome_defaults(ocfg, out["prepost_method"])
        for key, ocfg in (config.get("outcomes") or {}).items()
    }
    return out


def _check_combinations(raw, config, problems):
    """Keys that are valid alone but not together."""
    from scimeta.compare import INDEPENDENT_MEASURES, PAIRED_MEASURES

    method = config["prepost_method"]
    allowed = INDEPENDENT_MEASURES if method == "independent" else PAIRED_MEASURES
    for key, ocfg in sorted(config["outcomes"].items()):
        scale = ocfg.get("scale")
        if scale is not None and not scale[0] < scale[1]:
            path = f"outcomes.{key}.scale"
            problems.append(
                Problem(
                    sio.CONFIG_FILE,
                    _line_of(raw, path),
                    path,
                    f"[min, max] needs min < max (got [{_fmt(scale[0])}, {_fmt(scale[1])}])",
                )
            )
        bad = [m for m in ocfg["pre_post"] if m not in allowed]
        if bad:
            path = f"outcomes.{key}.pre_post"
            problems.append(
                Problem(
                    sio.CONFIG_FILE,
                    _line_of(raw, path),
                    path,
                    f"{', '.join(bad)} cannot be used with prepost_method {method} "
                    f"(allowed: {', '.join(allowed)})",
                )
            )


def _line_of(raw, path: str):
    """The config line of a dotted key, or of its nearest parent that has one."""
    line = None
    while path and line is None:
        line = raw.config_lines.get(path)
        path = path.rpartition(".")[0]
    return line


def _schema_messages(err) -> list[tuple[str, str]]:
    """``(dotted path, message)`` pairs for one jsonschema error, in this project's words.

    An unknown key is reported at its own path (so with its own line); bounds
    are stated as the key's rule with the value at full precision.
    """
    path = ".".join(str(x) for x in err.absolute_path)
    v, sch = err.validator_value, err.schema
    got = err.instance
    if err.validator == "additionalProperties" and isinstance(got, dict):
        known = set(sch.get("properties", {}))
        out = []
        for key in got:
            if key not in known:
                where = f"{path}.{key}" if path else str(key)
                allowed = ", ".join(sorted(known))
                out.append((where, f"unknown key {key!r} (allowed here: {allowed})"))
        return out
    if "propertyNames" in err.relative_schema_path:
        where = f"{path}.{got}" if path else str(got)
        return [
            (
                where,
                f"{got!r} is not a safe key: use lower-case letters, digits and '_', starting "
                f"with a letter, at most {MAX_ID_LENGTH} characters, no spaces or line breaks "
                "(it becomes part of file and rule names)",
            )
        ]
    value = _fmt(got) if isinstance(got, (int, float)) and not isinstance(got, bool) else repr(got)
    words = {
        "minimum": ">=",
        "exclusiveMinimum": ">",
        "maximum": "<=",
        "exclusiveMaximum": "<",
    }
    if err.validator in words:
        return [(path, f"must be {words[err.validator]} {_fmt(v)} (got {value})")]
    if err.validator == "enum":
        return [(path, f"{value} is not one of: {', '.join(str(x) for x in v)}")]
    if err.validator == "type":
        return [(path, f"must be {'a ' if isinstance(v, str) else ''}{v} (got {value})")]
    if err.validator == "required":
        return [(path, err.message)]
    return [(path, err.message)]


def _slug_ok(s: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", s)) and ".." not in s


# --------------------------------------------------------------------------- cross checks
def _check_studies(st, rel, problems):
    ids = st["study_id"]
    dup = ids[(ids != "") & ids.duplicated(keep=False)]
    for sid, grp in st.loc[dup.index].groupby("study_id", sort=True):
        rows = grp["source_row"].tolist()
        for r in rows[1:]:
            problems.append(
                Problem(
                    rel, int(r), "study_id", f"duplicate study_id {sid!r} (first at row {rows[0]})"
                )
            )


def _check_outcomes(oc, st, config, rel, st_rel, problems, bad_cells=frozenset()):
    rows = oc["source_row"].to_numpy()
    kind = oc["kind"].to_numpy()
    arm = oc["arm"].to_numpy()
    is_diff = kind == "difference"
    f = {c: oc[c].to_numpy(dtype=float) for c in sio.REPORTED_NUMBERS}
    has = {c: np.isfinite(v) for c, v in f.items()}

    known = set(st["study_id"]) if st is not None else None
    if known is not None:
        for i in np.flatnonzero(
            ~oc["study_id"].isin(known).to_numpy() & (oc["study_id"] != "").to_numpy()
        ):
            problems.append(
                Problem(
                    rel,
                    int(rows[i]),
                    "study_id",
                    f"study {oc['study_id'].iloc[i]!r} is not in {st_rel}",
                )
            )
    if config is not None:
        keys = set(config.get("outcomes", {}))
        for i in np.flatnonzero(
            ~oc["outcome"].isin(keys).to_numpy() & (oc["outcome"] != "").to_numpy()
        ):
            problems.append(
                Problem(
                    rel,
                    int(rows[i]),
                    "outcome",
                    f"unknown outcome {oc['outcome'].iloc[i]!r}: not a key of `outcomes` in "
                    f"{sio.CONFIG_FILE} (known: {', '.join(sorted(keys))})",
                )
            )
        pops = {"all"}
        for levels in (config.get("populations") or {}).values():
            pops.update(levels)
        for i in np.flatnonzero(~oc["population"].isin(pops).to_numpy()):
            problems.append(
                Problem(
                    rel,
                    int(rows[i]),
                    "population",
                    f"population {oc['population'].iloc[i]!r} is not listed under `populations` "
                    "in the config (kept, but in no subgroup variable)",
                    "warning",
                )
            )

    for i in np.flatnonzero(is_diff & (arm == "control")):
        problems.append(
            Problem(
                rel,
                int(rows[i]),
                "arm",
                "a difference row (kind = difference) belongs on the treatment arm",
            )
        )
    for i in np.flatnonzero(~is_diff & ~has["n"]):
        if (int(rows[i]), "n") not in bad_cells:
            problems.append(
                Problem(
                    rel,
                    int(rows[i]),
                    "n",
                    "n is empty: the row will be listed as excluded (n missing)",
                    "warning",
                )
            )

    ci_one = has["ci_low"] ^ has["ci_high"]
    for i in np.flatnonzero(ci_one):
        col = "ci_high" if has["ci_low"][i] else "ci_low"
        problems.append(Problem(rel, int(rows[i]), col, "a CI needs both ci_low and ci_high"))
    both_ci = has["ci_low"] & has["ci_high"]
    for i in np.flatnonzero(both_ci & (f["ci_low"] > np.where(both_ci, f["ci_high"], np.inf))):
        problems.append(
            Problem(
                rel,
                int(rows[i]),
                "ci_low",
                f"ci_low {_fmt(f['ci_low'][i])} is above ci_high {_fmt(f['ci_high'][i])}",
            )
        )
    for lo, hi, col in (
        ("q1", "q3", "q1"),
        ("min", "max", "min"),
        ("min", "q1", "min"),
        ("q3", "max", "max"),
        ("q1", "median", "median"),
        ("median", "q3", "median"),
        ("min", "median", "median"),
        ("median", "max", "median"),
        ("min", "mean", "mean"),
        ("mean", "max", "mean"),
    ):
        both = has[lo] & has[hi] & (~is_diff if col == "mean" else True)
        with np.errstate(invalid="ignore"):
            hit = both & (f[lo] > f[hi])
        for i in np.flatnonzero(hit):
            if col in ("median", "mean") and col in (lo, hi):
                other = hi if col == lo else lo
                rng = ("q1", "q3") if other in ("q1", "q3") else ("min", "max")
                if has[rng[0]][i] and has[rng[1]][i] and f[rng[0]][i] > f[rng[1]][i]:
                    continue  # the bounds themselves are reversed: reported once, below
                msg = (
                    f"{col} {_fmt(f[col][i])} is outside [{rng[0]}, {rng[1]}] = "
                    f"[{_fmt(f[rng[0]][i]) if has[rng[0]][i] else '?'}, "
                    f"{_fmt(f[rng[1]][i]) if has[rng[1]][i] else '?'}]"
                )
            else:
                msg = f"{lo} {_fmt(f[lo][i])} is above {hi} {_fmt(f[hi][i])}"
            problems.append(Problem(rel, int(rows[i]), col, msg))
    for i in np.flatnonzero(is_diff & has["se"] & (f["se"] <= 0)):
        problems.append(
            Problem(
                rel,
                int(rows[i]),
                "se",
                f"must be > 0 on a difference row (got {_fmt(f['se'][i])}): "
                "a difference with SE 0 has no variance",
            )
        )
    for i in np.flatnonzero(is_diff & both_ci & (f["ci_low"] == f["ci_high"]) & ~has["se"]):
        problems.append(
            Problem(
                rel,
                int(rows[i]),
                "ci_high",
                f"ci_low equals ci_high ({_fmt(f['ci_low'][i])}): a CI of width 0 gives the "
                "difference no variance",
            )
        )
    _check_scale(oc, config, f, has, rel, rows, problems)
    _check_extreme(oc, config, f, has, rel, rows, problems)
    for a, b in (("q1", "q3"), ("min", "max")):
        for i in np.flatnonzero(has[a] ^ has[b]):
            col = b if has[a][i] else a
            problems.append(Problem(rel, int(rows[i]), col, f"{a} and {b} go together"))

    iqr = has["q1"] & has["q3"]
    rng = has["min"] & has["max"]
    median_ok = has["median"] & (iqr | rng)
    usable_arm = has["mean"] | median_ok | both_ci
    for i in np.flatnonzero(~is_diff & ~usable_arm):
        msg = (
            "a median needs q1 and q3 or min and max"
            if has["median"][i]
            else "no mean, median or CI: the row cannot contribute"
        )
        problems.append(Problem(rel, int(rows[i]), "median" if has["median"][i] else "mean", msg))
    # the paired test is read on a follow-up or change row; on a baseline row it would be lost
    tested = has["p_value"] | has["t_value"]
    baseline = (kind == "final") & (oc["timepoint"].to_numpy(dtype=float) == 0)
    for i in np.flatnonzero(tested & baseline):
        problems.append(Problem(
            rel, int(rows[i]), "p_value" if has["p_value"][i] else "t_value",
            "a p or t on a baseline row is not read: the paired test of follow-up against "
            "baseline goes on the follow-up row", "warning"))
    relation = oc["p_relation"].astype(str).str.strip().to_numpy() if "p_relation" in oc \
        else np.full(len(oc), "")
    for i in np.flatnonzero((relation != "") & ~has["p_value"]):
        problems.append(Problem(rel, int(rows[i]), "p_relation",
                                "p_relation without a p_value: nothing to read", "warning"))
    # a change row's paired t or p gives its SD (scimeta.extract; a bound gives none, and the
    # row then follows extraction.missing_sd)
    change_test = (kind == "change") & has["mean"] & (has["t_value"] | has["p_value"])
    for i in np.flatnonzero(~is_diff & usable_arm & ~(has["sd"] | has["se"] | both_ci | median_ok
                                                     | change_test)):
        problems.append(
            Problem(
                rel,
                int(rows[i]),
                "sd",
                "no SD, SE, CI, IQR or range: handled by extraction.missing_sd "
                "(excluded or imputed, and listed)",
                "warning",
            )
        )
    est = has["mean"] | both_ci
    prec = has["se"] | both_ci | has["p_value"] | has["t_value"]
    for i in np.flatnonzero(is_diff & ~(est & prec)):
        col = "mean" if not est[i] else "se"
        problems.append(
            Problem(
                rel,
                int(rows[i]),
                col,
                "a difference row needs the difference (mean, or a CI) and its se, CI, t_value or "
                "p_value",
            )
        )

    key = oc[list(OUTCOME_KEY)].astype(str)
    dmask = key.duplicated(keep=False).to_numpy()
    if dmask.any():
        sub = oc.loc[dmask]
        for _, grp in sub.groupby(list(OUTCOME_KEY), sort=True):
            rr = grp["source_row"].tolist()
            for r in rr[1:]:
                problems.append(
                    Problem(
                        rel,
                        int(r),
                        None,
                        "duplicate row: same study_id, outcome, arm, population, timepoint and "
                        f"kind as row {rr[0]}",
                    )
                )


#: Values of a row that a bounded instrument's scale bounds (final values; change and
#: difference values by the width of the scale).
SCALED_COLUMNS = ("mean", "median", "q1", "q3", "min", "max")


#: Largest magnitude of a reported number whose square (a variance) is still finite, with a
#: margin: beyond it standard errors and variances overflow to infinity.
EXTREME_VALUE = 1e150


def _check_extreme(oc, config, f, has, rel, rows, problems):
    """A warning for each value of an outcome without a ``scale`` so large (|v| >= 1e150)
    that a variance computed from it overflows: the effect's se would be infinite."""
    if config is None:
        return
    scaled = {key for key, ocfg in config.get("outcomes", {}).items() if ocfg.get("scale")}
    unscaled = ~oc["outcome"].isin(scaled).to_numpy()
    for col in sio.REPORTED_NUMBERS:
        with np.errstate(invalid="ignore"):
            hit = unscaled & has[col] & (np.abs(f[col]) >= EXTREME_VALUE)
        for i in np.flatnonzero(hit):
            problems.append(Problem(
                rel, int(rows[i]), col,
                f"{col} {_fmt(f[col][i])} is so large that its square overflows: standard "
                "errors and variances from it are infinite; check the value, or give the "
                f"outcome a `scale` (outcomes.{oc['outcome'].iloc[i]}.scale)", "warning"))


def _check_scale(oc, config, f, has, rel, rows, problems):
    """Values outside the outcome's declared ``scale`` are errors (CI limits are left to the audit).

    A final value must lie in [min, max]; a change or a difference within
    ± (max − min). A CI of a mean may legitimately reach past a bound, so the
    audit flags those.
    """
    if config is None:
        return
    scales = {
        key: ocfg["scale"] for key, ocfg in config.get("outcomes", {}).items() if ocfg.get("scale")
    }
    outcome = oc["outcome"].to_numpy()
    kind = oc["kind"].to_numpy()
    for key, (lo, hi) in scales.items():
        mine = outcome == key
        width = hi - lo
        for col in SCALED_COLUMNS:
            for i in np.flatnonzero(mine & has[col]):
                v = f[col][i]
                if kind[i] == "final" and not lo <= v <= hi:
                    rng = f"[{_fmt(lo)}, {_fmt(hi)}]"
                elif kind[i] != "final" and abs(v) > width:
                    rng = f"[-{_fmt(width)}, {_fmt(width)}] (a {kind[i]})"
                else:
                    continue
                problems.append(
                    Problem(
                        rel,
                        int(rows[i]),
                        col,
                        f"{col} {_fmt(v)} is outside the scale of {key!r}, {rng} "
                        f"(outcomes.{key}.scale)",
                    )
                )


def _check_subgroup_labels(config, st, raw, problems):
    """``subgroup_labels`` names only subgroup variables and moderators, and only levels a
    subgroup variable has (its ``populations``, the values of its studies column, or the
    group of studies without one, "mixed / not reported")."""
    from scimeta.membership import MIXED

    if config is None:
        return
    known = list(config.get("subgroups") or []) + list(config.get("moderators") or [])
    pops = config.get("populations") or {}
    lines = raw.config_lines
    for var, entry in (config.get("subgroup_labels") or {}).items():
        where = f"subgroup_labels.{var}"
        if var not in known:
            problems.append(Problem(sio.CONFIG_FILE, lines.get(where), where,
                                    f"{var!r} is neither a subgroup variable (`subgroups`) nor "
                                    "a moderator (`moderators`)"))
            continue
        levels = set(pops.get(var) or []) | {MIXED}
        if st is not None and var in st.columns:
            levels |= {str(v).strip() for v in st[var] if str(v).strip()}
        for level in (entry or {}).get("levels") or {}:
            if var in (config.get("moderators") or []) and var not in (config.get("subgroups")
                                                                      or []):
                reason = f"{var!r} is a moderator: it has no levels"
            elif st is not None and str(level) not in levels:
                reason = (f"{level!r} is not a level of {var!r} (neither under `populations` "
                          "nor a value of its studies column)")
            else:
                continue
            key = f"{where}.levels.{level}"
            problems.append(Problem(sio.CONFIG_FILE, lines.get(key), key, reason))
def _check_moderator(st, var, rel, problems):
    """Every cell of moderator ``var`` is a number or empty; the column becomes float in place.

    A column the studies schema declares numeric is already float (and its cells
    checked); any other column holds text, whatever dtype pandas gives text
    (``str`` in pandas 3, ``object`` before): each cell is read as a number here,
    and one that cannot be read is an error at its row, never a study silently
    left out of the meta-regression.
    """
    if pd.api.types.is_numeric_dtype(st[var]):
        return
    values, bad = _parse_numeric(st[var])
    for idx, msg in bad.items():
        if msg.endswith("is not a number"):
            msg += " (a moderator is a number; a categorical variable goes under `subgroups`)"
        problems.append(Problem(rel, int(st["source_row"].iloc[idx]), var, f"moderator: {msg}"))
    st[var] = values


def _check_populations(config, st, oc, raw, problems):
    """Warnings for settings of ``populations`` and ``subgroups`` that apply to nothing.

    A ``populations`` key that is not a subgroup variable, a level no outcome
    row has, and a subgroup column of the studies sheet without a value in any
    row are accepted (the run is the same without them) but named, so that a
    typo is not mistaken for a subgroup analysis with no data.
    """
    lines = raw.config_lines
    subgroups = list(config.get("subgroups") or [])
    pops = config.get("populations") or {}
    present = set(oc["population"]) if oc is not None else None
    for var in sorted(pops):
        key = f"populations.{var}"
        if var not in subgroups:
            problems.append(Problem(
                sio.CONFIG_FILE, lines.get(key), key,
                f"{var!r} is not under `subgroups`: its populations form no subgroup", "warning"))
            continue
        for j, level in enumerate(pops[var]):
            if present is not None and level not in present:
                problems.append(Problem(
                    sio.CONFIG_FILE, lines.get(f"{key}.{j}", lines.get(key)), f"{key}.{j}",
                    f"no row of the outcomes sheet has population {level!r}", "warning"))
    if st is None:
        return
    for i, var in enumerate(subgroups):
        if var in pops or var not in st.columns:
            continue
        col = st[var]
        empty = col.isna() if pd.api.types.is_numeric_dtype(col) else col.astype(str).str.strip() == ""
        if empty.all():
            problems.append(Problem(
                raw.sources.get("studies", sio.STUDIES_CSV), 1, var,
                f"subgroup {var!r} (subgroups.{i} of {sio.CONFIG_FILE}): every cell of the "
                "column is empty, so every study is in the group 'mixed / not reported'",
                "warning"))


def _check_links(config, st, oc, raw, problems):
    if config is None:
        return
    st_cols = set(st.columns) if st is not None else set()
    pops = config.get("populations") or {}
    lines = raw.config_lines
    for i, var in enumerate(config.get("subgroups") or []):
        if st is not None and var not in st_cols and var not in pops:
            problems.append(
                Problem(
                    sio.CONFIG_FILE,
                    lines.get(f"subgroups.{i}"),
                    f"subgroups.{i}",
                    f"subgroup {var!r} is neither a column of the studies sheet nor a key of "
                    "`populations`",
                )
            )
    _check_populations(config, st, oc, raw, problems)
    for i, var in enumerate(config.get("moderators") or []):
        if st is None:
            continue
        if var not in st_cols:
            problems.append(
                Problem(
                    sio.CONFIG_FILE,
                    lines.get(f"moderators.{i}"),
                    f"moderators.{i}",
                    f"moderator {var!r} is not a column of the studies sheet",
                )
            )
        else:
            _check_moderator(st, var, raw.sources.get("studies", sio.STUDIES_CSV), problems)
    _check_order_by(config, st, raw, problems)
    if oc is not None:
        used = set(oc["outcome"])
        for key in sorted(config.get("outcomes", {})):
            if key not in used:
                problems.append(
                    Problem(
                        sio.CONFIG_FILE,
                        lines.get(f"outcomes.{key}"),
                        f"outcomes.{key}",
                        "no rows in the outcomes sheet for this outcome",
                        "warning",
                    )
                )
    if oc is not None and isinstance(raw.config, dict):
        _check_measures(config, oc, raw, problems)
    if st is not None and oc is not None:
        rel = raw.sources.get("studies", sio.STUDIES_CSV)
        with_rows = set(oc["study_id"])
        for _, r in st.iterrows():
            if r["study_id"] and r["study_id"] not in with_rows:
                problems.append(
                    Problem(
                        rel,
                        int(r["source_row"]),
                        "study_id",
                        f"study {r['study_id']!r} has no rows in the outcomes sheet",
                        "warning",
                    )
                )


def _check_order_by(config, st, raw, problems):
    """``cumulative.order_by`` (set, or the default ``year``) names a column that has values.

    A column that is neither in the studies sheet nor in ``effects.csv`` is an
    error; a column of the studies sheet without a value in any row (``year``,
    a column of every studies sheet, left empty) is a warning: the cumulative
    meta-analysis then is not run (one row per pool says why,
    :func:`scimeta.cumulative.cumulative`) and its figure is not planned.
    """
    if st is None:
        return
    order_by = config["cumulative"]["order_by"]
    declared = "order_by" in ((raw.config.get("cumulative") or {})
                              if isinstance(raw.config, dict) else {})
    line = raw.config_lines.get("cumulative.order_by")
    which = f"cumulative.order_by {order_by!r}" + ("" if declared else " (the default)")
    if order_by not in set(st.columns) | set(EFFECT_COLUMNS):
        problems.append(Problem(
            sio.CONFIG_FILE, line, "cumulative.order_by",
            f"{which} is neither a column of the studies sheet nor of effects.csv"))
    elif order_by not in EFFECT_COLUMNS and not has_values(st[order_by]):
        rel = raw.sources.get("studies", sio.STUDIES_CSV)
        problems.append(Problem(
            sio.CONFIG_FILE, line, "cumulative.order_by",
            f"{which}: column {order_by!r} of {rel} has no value in any row; the cumulative "
            "meta-analysis is not run (one row per pool in cumulative.csv says why); set "
            "cumulative.order_by to a column that has values", "warning"))


def has_values(column: pd.Series) -> bool:
    """Whether a column of a sheet as read holds any value (not only empty cells)."""
    return bool(column.astype("string").fillna("").str.strip().ne("").any())


def _check_measures(config, oc, raw, problems):
    """Measures the rows cannot give: an error when written, one note per outcome when defaults."""
    from scimeta.compare import measure_plan, plan_note

    written = raw.config.get("outcomes") or {}
    for key in sorted(config["outcomes"]):
        ocfg = config["outcomes"][key]
        rows = oc[oc["outcome"] == key]
        if rows.empty:
            continue
        plan = measure_plan(rows, ocfg, prepost_method=config["prepost_method"])
        defaults = {}
        for comparison, p in plan.items():
            explicit = comparison in (written.get(key) or {})
            for m, reason in p.skipped.items():
                if not explicit:
                    continue
                path = f"outcomes.{key}.{comparison}"
                problems.append(
                    Problem(
                        sio.CONFIG_FILE,
                        _line_of(raw, path),
                        path,
                        f"{m} cannot be computed from the rows of {key!r}: {reason}",
                    )
                )
            if not explicit:
                defaults[comparison] = p
        note = plan_note(defaults)
        if note:
            path = f"outcomes.{key}"
            problems.append(
                Problem(
                    sio.CONFIG_FILE,
                    _line_of(raw, path),
                    path,
                    f"default measures {note} (noted once in excluded.csv)",
                    "warning",
                )
            )


# --------------------------------------------------------------------------- entry points
def _validate(raw):
    problems = list(raw.problems)
    config = _check_config(raw, problems)
    frames = {}
    bad_cells: dict = {"studies": set(), "outcomes": set()}
    for sheet in ("studies", "outcomes"):
        if sheet not in raw.headers:
            continue
        rel = raw.sources[sheet]
        hdr = raw.headers[sheet]
        if len(set(hdr)) != len(hdr) or "" in hdr:
            continue  # header problems already reported; columns are ambiguous
        df = _frame(hdr, raw.rows[sheet])
        if len(df) == 0:
            continue
        frames[sheet] = _check_sheet(
            df, raw.headers[sheet], sio.load_schema(sheet), rel, problems, bad_cells[sheet]
        )
    st = frames.get("studies")
    oc = frames.get("outcomes")
    if st is not None:
        _check_studies(st, raw.sources["studies"], problems)
    if oc is not None:
        _check_outcomes(
            oc,
            st,
            config,
            raw.sources["outcomes"],
            raw.sources.get("studies", sio.STUDIES_CSV),
            problems,
            bad_cells["outcomes"],
        )
    _check_links(config, st, oc, raw, problems)
    _check_subgroup_labels(config, st, raw, problems)
    rob_table = _check_journal(raw, config, st, problems)
    if st is not None:
        st = st.copy()
        st["cohort_id"] = st["cohort_id"].where(st["cohort_id"] != "", st["study_id"])
    return config, st, oc, rob_table, _sort(problems)


def _check_journal(raw, config, st, problems):
    """The risk-of-bias sheet (:func:`scimeta.rob.validate_risk_of_bias`) and the
    ``prisma`` block (:func:`scimeta.prisma.validate_prisma`), against a valid studies sheet.

    Returns the risk-of-bias sheet as read (text cells, ``source_row``), or None.
    """
    from scimeta import prisma, rob
    from scimeta.caveats import validate_caveats

    studies_ok = st is not None and not any(
        p.severity == "error" and p.file == raw.sources.get("studies") for p in problems)
    table = None
    if "risk_of_bias" in raw.headers:
        hdr = raw.headers["risk_of_bias"]
        rel = raw.sources["risk_of_bias"]
        if len(set(hdr)) == len(hdr) and "" not in hdr and raw.rows["risk_of_bias"]:
            table = _frame(hdr, raw.rows["risk_of_bias"])
            if studies_ok:
                problems.extend(rob.validate_risk_of_bias(table, st, file=rel))
    if studies_ok and config is not None:
        problems.extend(prisma.validate_prisma(config, st, lines=raw.config_lines,
                                               file=sio.CONFIG_FILE))
        problems.extend(validate_caveats(config, st, lines=raw.config_lines,
                                         file=sio.CONFIG_FILE))
    return table


def validate_raw(raw) -> list[Problem]:
    """All problems (errors and warnings) of a :class:`scimeta.io.RawReview`, sorted."""
    return _validate(raw)[4]


def build_review(raw, review_dir: str = "") -> sio.Review:
    """Validate a :class:`scimeta.io.RawReview` and return the typed :class:`scimeta.io.Review`.

    Raises
    ------
    ReviewError
        When there is at least one error (warnings do not block).
    """
    config, st, oc, rob_table, problems = _validate(raw)
    errors = [p for p in problems if p.severity == "error"]
    if errors or config is None or st is None or oc is None:
        raise ReviewError(errors or problems)
    return sio.Review(
        config=config,
        studies=st.reset_index(drop=True),
        outcomes=oc.reset_index(drop=True),
        sources=dict(raw.sources),
        review_dir=review_dir,
        risk_of_bias=rob_table,
    )
