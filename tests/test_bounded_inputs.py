"""Hostile inputs, part two: every named cell read by what it is for, every resource bounded.

Each test asserts the message a user sees (file, row, column or config line).
"""

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "data" / "extraction"))
from review_factory import copy_review, snapshot  # noqa: E402

from scimeta import io as sio  # noqa: E402
from scimeta.io import validate_review  # noqa: E402
from scimeta.validate import ReviewError  # noqa: E402

ST = "data/raw/studies.csv"
CFG = "config/config.yaml"


def _errors(review):
    return [str(p) for p in validate_review(review) if p.severity == "error"]


def _warnings(review):
    return [str(p) for p in validate_review(review) if p.severity == "warning"]


def _edit(review, rel, old, new):
    p = review / rel
    text = p.read_text(encoding="utf-8")
    assert old in text, old
    p.write_text(text.replace(old, new, 1), encoding="utf-8")


def _with_moderator(review, values, name="followup_months"):
    """Add column ``name`` to the studies sheet (one value per study) and name it a moderator."""
    df = pd.read_csv(review / ST, dtype=str, keep_default_na=False)
    df[name] = values
    df.to_csv(review / ST, index=False)
    _edit(review, CFG, "subgroups: [level, phase]\n",
          f"subgroups: [level, phase]\nmoderators: [{name}]\n")


# --- every cell of a moderator column is a number --------------------------------------------


def test_pandas_text_dtype_is_what_validation_expects():
    """The moderator check tells text from numbers by pandas' dtype: fail loudly if that changes.

    The pinned pandas reads text as ``str`` (not ``object``); a check written as
    ``dtype == object`` never saw a text column. Whatever pandas gives text,
    it must be a string dtype and never a numeric one, or numbers typed as
    text would skip their check.
    """
    text = pd.Series(["12 mo", "6"]).astype(str)
    assert pd.api.types.is_string_dtype(text)
    assert not pd.api.types.is_numeric_dtype(text)
    assert not pd.api.types.is_numeric_dtype(pd.Series(["1", "2"], dtype=object))
    assert pd.api.types.is_numeric_dtype(pd.Series([1.0, float("nan")]))


@pytest.mark.parametrize("cell,message", [
    ("12 mo", "'12 mo' is not a number (a moderator is a number; a categorical variable goes "
              "under `subgroups`)"),
    ("6,5", "'6,5' uses a decimal comma; write 6.5"),
    ("1e999", "'1e999' is not a finite number"),
    ("inf", "'inf' is not a finite number"),
])
def test_moderator_cell_not_a_number_is_an_error_at_its_cell(tmp_path, cell, message):
    review = copy_review(tmp_path)
    _with_moderator(review, ["24", cell, "12"])
    before = snapshot(review)
    errors = _errors(review)
    assert any(m.startswith(f"{ST}:3:followup_months: moderator: {message}") for m in errors), errors
    with pytest.raises(ReviewError):
        sio.read_review(review)
    assert snapshot(review) == before


def test_text_moderator_is_an_error_naming_subgroups(tmp_path):
    review = copy_review(tmp_path)
    _edit(review, CFG, "subgroups: [level, phase]\n", "subgroups: [level, phase]\nmoderators: [route]\n")
    errors = _errors(review)
    assert (f"{ST}:2:route: moderator: 'intrathecal' is not a number (a moderator is a number; "
            "a categorical variable goes under `subgroups`)") in errors, errors


def test_moderator_read_as_numbers_unicode_minus_and_full_width(tmp_path):
    """Values validation accepts are the values the meta-regression gets (no later coercion to NaN)."""
    from scimeta.analysis import moderator_values

    review = copy_review(tmp_path)
    _with_moderator(review, ["\u221212", "６", "NA"])
    assert _errors(review) == []
    r = sio.read_review(review)
    assert pd.api.types.is_float_dtype(r.studies["followup_months"])
    got = moderator_values(r.studies[["study_id"]], r.studies, "followup_months")
    assert got[:2].tolist() == [-12.0, 6.0] and pd.isna(got[2])


# --- bounded resources: YAML expansion, counts, file kinds and sizes ---------------------------

BILLION_LAUGHS = "prepost_r: 0.5\na: &a [" + ", ".join(['"lol"'] * 9) + "]\n" + "".join(
    f"{b}: &{b} [" + ", ".join([f"*{a}"] * 9) + "]\n" for a, b in zip("abcdefgh", "bcdefghi")
)


def _validate_in_subprocess(review, limit_bytes=1 << 30, timeout=60):
    """``scimeta validate`` in a process of at most ``limit_bytes`` of memory; its output."""
    import resource
    import subprocess

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    done = subprocess.run(
        [sys.executable, "-c", "import sys; from scimeta.cli import main; sys.exit(main())",
         "validate", str(review)],
        capture_output=True, text=True, timeout=timeout, preexec_fn=cap)
    return done.returncode, done.stdout + done.stderr


def test_billion_laughs_config_is_an_error_at_its_line_within_bounds(tmp_path):
    import time

    review = copy_review(tmp_path)
    (review / CFG).write_text(BILLION_LAUGHS, encoding="utf-8")
    t0 = time.monotonic()
    rc, out = _validate_in_subprocess(review)
    assert time.monotonic() - t0 < 30
    assert rc == 1, out
    assert (f"{CFG}:7: the config holds more than 100,000 values once its YAML aliases (*name) "
            "are expanded: not read (write the values out without aliases)") in out, out
    assert "MemoryError" not in out and "Traceback" not in out


@pytest.mark.parametrize("text,message", [
    ("prepost_r: 0.5\na: &a [1, *a]\n",
     f"{CFG}:2: alias *a refers to the value that holds it (a recursive alias)"),
    ("prepost_r: 0.5\na: " + "[" * 100_000 + "]" * 100_000 + "\n",
     f"{CFG}:2: lists and mappings nested more than 64 deep: not read"),
])
def test_recursive_or_deep_yaml_is_an_error_not_a_crash(tmp_path, text, message):
    review = copy_review(tmp_path)
    (review / CFG).write_text(text, encoding="utf-8")
    rc, out = _validate_in_subprocess(review)  # deep nesting crashed libyaml's composer
    assert rc == 1 and message in out, out


def test_config_larger_than_its_limit_is_not_read(tmp_path):
    review = copy_review(tmp_path)
    with open(review / CFG, "ab") as fh:
        fh.truncate(2 << 20)  # sparse: 2 MiB of NUL bytes
    assert f"{CFG}: is larger than 1 MiB: not read (the limit of its kind)" in _errors(review)


@pytest.mark.parametrize("setting,line,message", [
    ("gosh:\n  n_subsets: 1000000000000\n", 22,
     "gosh.n_subsets: must be <= 1048576 (got 1000000000000)"),
    ("gosh:\n  max_exact_k: 24\n", 22, "gosh.max_exact_k: must be <= 20 (got 24)"),
    ("permutations: 1000000000\n", 21, "permutations: must be <= 100000 (got 1000000000)"),
])
def test_counts_have_a_maximum_at_their_line(tmp_path, setting, line, message):
    review = copy_review(tmp_path)
    with open(review / CFG, "a", encoding="utf-8") as fh:
        fh.write(setting)
    assert f"{CFG}:{line}:{message}" in _errors(review)


def test_gosh_jobs_per_outcome_are_capped():
    from scimeta.robustness import MAX_GOSH_PARTS, gosh_parts

    cfg = {"min_k": 6, "max_exact_k": 16, "n_subsets": 1_048_576, "part_size": 1}
    assert gosh_parts(400, cfg) == MAX_GOSH_PARTS


def test_gosh_influence_in_blocks_equals_the_whole_table(monkeypatch):
    """Influence and membership are summed a block of rows at a time: same numbers as the
    whole inclusion matrix at once (blocks of 7 rows here)."""
    import numpy as np

    from scimeta import gosh as g

    rng = np.random.default_rng(3)
    y, v = rng.normal(size=8), rng.uniform(0.05, 0.3, size=8)
    table = g.gosh(y, v, tau2_method="DL")
    incl = g.gosh_membership(table)
    whole = g.gosh_influence(table)
    monkeypatch.setattr(g, "CHUNK_CELLS", 7 * 8)
    assert (g.gosh_membership(table) == incl).all()
    blocks = g.gosh_influence(table)
    est, i2 = table["estimate"].to_numpy(), table["I2"].to_numpy()
    ok = np.isfinite(est) & np.isfinite(i2)  # single studies have no I²
    inc = incl[ok].astype(float)
    expected = est[ok] @ inc / inc.sum(axis=0)
    np.testing.assert_allclose(blocks["estimate_with"], expected, rtol=1e-12)
    pd.testing.assert_frame_equal(blocks, whole, rtol=1e-12)


def _alarm(seconds):
    """Fail (instead of hanging for ever) when the block takes longer than ``seconds``."""
    import contextlib
    import signal

    @contextlib.contextmanager
    def guard():
        def hang(*_):
            raise TimeoutError(f"still blocked after {seconds} s")

        old = signal.signal(signal.SIGALRM, hang)
        signal.alarm(seconds)
        try:
            yield
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)

    return guard()


def test_fifo_source_is_an_error_naming_it_and_never_blocks(tmp_path):
    import os

    from scimeta import textextract as te

    review = copy_review(tmp_path)
    (review / "data/raw/sources").mkdir()
    fifo = review / "data/raw/sources/shin2015.txt"
    os.mkfifo(fifo)
    message = "is a FIFO (named pipe), not a regular file: not read"
    with _alarm(20):
        errors = _errors(review)
        texts, problems = te.read_sources(review)
        with pytest.raises(te.TextError) as exc:
            te.extract_file(fifo, name="shin2015.txt")
    assert (f"data/raw/sources/shin2015.txt: {message} (remove it from data/raw)") in errors, errors
    assert problems == [("data/raw/sources/shin2015.txt", message)] and texts == {}
    assert str(exc.value) == f"shin2015.txt: {message}"


def test_fifo_as_a_sheet_is_named_not_missing(tmp_path):
    import os

    review = copy_review(tmp_path)
    (review / ST).unlink()
    os.mkfifo(review / ST)
    with _alarm(20):
        errors = _errors(review)
    assert f"{ST}: is a FIFO (named pipe), not a regular file: not read (remove it from data/raw)" \
        in errors, errors
    assert not any("file not found" in m for m in errors), errors


def test_source_text_beyond_its_limit_is_not_read(tmp_path, monkeypatch):
    from scimeta import textextract as te

    review = copy_review(tmp_path)
    (review / "data/raw/sources").mkdir()
    (review / "data/raw/sources/shin2015.txt").write_text("x" * 5000, encoding="utf-8")
    monkeypatch.setattr(te, "MAX_SOURCE_BYTES", 4096)
    texts, problems = te.read_sources(review)
    assert problems == [("data/raw/sources/shin2015.txt",
                         "is larger than 4,096 bytes: not read (the limit of its kind)")]


# --- messages a user can act on --------------------------------------------------------------

OUT = "data/raw/outcomes.csv"


def _outcome_rows(review, *lines):
    from review_factory import outcome_line, write_outcomes

    write_outcomes(review, [outcome_line(), *[outcome_line(**kw) for kw in lines]])


def test_arabic_indic_digits_are_named_with_what_to_write(tmp_path):
    review = copy_review(tmp_path)
    _outcome_rows(review, dict(timepoint=12, mean="\u0664\u0660.\u0667"))
    errors = _errors(review)
    assert (f"{OUT}:3:mean: '\u0664\u0660.\u0667' has digits other than 0-9 "
            "(ARABIC-INDIC DIGIT FOUR); write 40.7") in errors, errors


def test_cell_beyond_the_csv_field_limit_is_named(tmp_path):
    review = copy_review(tmp_path)
    _outcome_rows(review, dict(timepoint=12, quote="x" * (128 * 1024 + 1)))
    errors = _errors(review)
    assert (f"{OUT}:3: a cell is longer than 131,072 characters, the most a cell may hold: "
            "shorten it (a quote needs only the words that hold the numbers)") in errors, errors


def test_populations_that_apply_to_nothing_are_warned(tmp_path):
    review = copy_review(tmp_path)
    _edit(review, CFG, "  level: [cervical, thoracolumbar]\n  phase: [subacute, chronic]\n",
          "  level: [cervical, thoracolumbar, lumbar]\n  phase: [subacute, chronic]\n"
          "  dose: [low, high]\n")
    warnings = _warnings(review)
    assert f"{CFG}:8:populations.level.2: no row of the outcomes sheet has population 'lumbar'" \
        in warnings, warnings
    assert (f"{CFG}:10:populations.dose: 'dose' is not under `subgroups`: its populations form "
            "no subgroup") in warnings, warnings
    sio.read_review(review)  # warnings do not block


def test_all_empty_subgroup_column_is_warned(tmp_path):
    review = copy_review(tmp_path)
    df = pd.read_csv(review / ST, dtype=str, keep_default_na=False)
    df["dose"] = ""
    df.to_csv(review / ST, index=False)
    _edit(review, CFG, "subgroups: [level, phase]\n", "subgroups: [level, phase, dose]\n")
    warnings = _warnings(review)
    assert (f"{ST}:1:dose: subgroup 'dose' (subgroups.2 of {CFG}): every cell of the column is "
            "empty, so every study is in the group 'mixed / not reported'") in warnings, warnings


def test_extreme_value_without_scale_is_warned_naming_its_cell(tmp_path):
    review = copy_review(tmp_path)
    _edit(review, CFG, "    timepoint: 12\n    scale: [0, 100]\n  scim_total",
          "    timepoint: 12\n  scim_total")
    _outcome_rows(review, dict(timepoint=12, mean="1e300", sd=17))
    warnings = _warnings(review)
    assert (f"{OUT}:3:mean: mean 1e+300 is so large that its square overflows: standard errors "
            "and variances from it are infinite; check the value, or give the outcome a `scale` "
            "(outcomes.asia_motor.scale)") in warnings, warnings


def test_source_text_beyond_32_mib_is_an_error_of_validate(tmp_path):
    review = copy_review(tmp_path)
    (review / "data/raw/sources").mkdir()
    with open(review / "data/raw/sources/shin2015.txt", "wb") as fh:
        fh.truncate((32 << 20) + 1)  # sparse: nothing is written to disk
    assert ("data/raw/sources/shin2015.txt: is larger than 32 MiB: not read (the limit of its "
            "kind)") in _errors(review)


def test_csv_sheet_beyond_its_limit_is_not_read(tmp_path, monkeypatch):
    from scimeta import limits

    review = copy_review(tmp_path)
    size = (review / OUT).stat().st_size
    monkeypatch.setattr(limits, "MAX_SHEET_BYTES", size - 1)
    errors = _errors(review)
    assert f"{OUT}: is larger than {size - 1:,} bytes: not read (the limit of its kind)" in errors


def test_validated_studies_sheet_has_text_as_string_and_numbers_as_float(tmp_path):
    """What the moderator check sees: a text column of the validated sheet is a string dtype
    (never numeric, never skipped), a schema number column is float."""
    r = sio.read_review(copy_review(tmp_path))
    assert pd.api.types.is_string_dtype(r.studies["route"])
    assert not pd.api.types.is_numeric_dtype(r.studies["route"])
    assert pd.api.types.is_float_dtype(r.studies["year"])
