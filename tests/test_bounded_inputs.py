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
