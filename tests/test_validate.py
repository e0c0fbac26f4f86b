"""validate_review, Problem formatting, the sheet schemas and the `scimeta validate` CLI."""

import sys
from pathlib import Path

import jsonschema
import pytest

sys.path.insert(0, str(Path(__file__).parent / "data" / "extraction"))
from review_factory import copy_review, outcome_line, write_outcomes  # noqa: E402

from scimeta import cli  # noqa: E402
from scimeta import io as sio  # noqa: E402
from scimeta.validate import Problem, ReviewError, validate_review  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def test_clean_review_has_no_problem(tmp_path):
    assert validate_review(copy_review(tmp_path)) == []


def test_problem_str():
    assert str(Problem("data/raw/outcomes.csv", 14, "sd", "must be >= 0")) == (
        "data/raw/outcomes.csv:14:sd: must be >= 0"
    )
    assert str(Problem("data/raw/outcomes.csv", None, None, "file is empty")) == (
        "data/raw/outcomes.csv: file is empty"
    )
    assert (
        str(Problem("config/config.yaml", None, "extraction", "x"))
        == "config/config.yaml::extraction: x"
    )
    err = ReviewError([Problem("a", 1, "b", "m1"), Problem("a", 2, "c", "m2")])
    assert str(err) == "a:1:b: m1\na:2:c: m2"


def test_config_error_has_line_and_key(tmp_path):
    review = copy_review(tmp_path)
    cfg = review / "config/config.yaml"
    cfg.write_text(cfg.read_text().replace("missing_sd: exclude", "missing_sd: drop"))
    probs = validate_review(review)
    assert len(probs) == 1
    assert str(probs[0]).startswith(
        "config/config.yaml:3:extraction.missing_sd: 'drop' is not one of"
    )


def test_unknown_subgroup_and_moderator(tmp_path):
    review = copy_review(tmp_path)
    cfg = review / "config/config.yaml"
    cfg.write_text(
        cfg.read_text().replace(
            "subgroups: [level, phase]", "subgroups: [level, dose]\nmoderators: [age]"
        )
    )
    msgs = [str(p) for p in validate_review(review)]
    assert any("subgroups.1: subgroup 'dose'" in m for m in msgs)
    assert any("moderators.0: moderator 'age' is not a column" in m for m in msgs)


def test_warnings_do_not_block(tmp_path):
    review = copy_review(tmp_path)
    write_outcomes(
        review,
        [
            outcome_line(),
            outcome_line(timepoint=12, sd="", mean=43.3),
            outcome_line(population="women", timepoint=12),
        ],
    )
    probs = validate_review(review)
    assert probs and all(p.severity == "warning" for p in probs)
    cols = {(p.row, p.column) for p in probs}
    assert (3, "sd") in cols and (4, "population") in cols
    sio.read_review(review)  # does not raise


@pytest.mark.parametrize("sheet", ["studies", "outcomes"])
def test_schemas_accept_the_example_rows(sheet):
    """The sheet schemas are valid JSON schemas and accept the rows of the test review."""
    import pandas as pd

    schema = sio.load_schema(sheet)
    jsonschema.Draft202012Validator.check_schema(schema)
    r = sio.read_review(Path(__file__).parent / "data/extraction/review_ok")
    df = getattr(r, sheet).drop(columns="source_row")
    for rec in df.to_dict("records"):
        rec = {
            k: v for k, v in rec.items() if not (v == "" or (isinstance(v, float) and pd.isna(v)))
        }
        jsonschema.validate(rec, schema)


def test_schema_keys_have_description_and_types():
    for sheet in ("studies", "outcomes"):
        for name, spec in sio.load_schema(sheet)["properties"].items():
            assert spec.get("description"), (sheet, name)
            assert spec.get("type") in ("string", "number", "integer"), (sheet, name)


def test_cli_valid(tmp_path, capsys):
    assert cli.main(["validate", str(copy_review(tmp_path))]) == 0
    assert "valid" in capsys.readouterr().out


def test_cli_lists_every_problem(tmp_path, capsys):
    review = copy_review(tmp_path)
    write_outcomes(
        review,
        [
            outcome_line(n=0),
            outcome_line(timepoint=12, sd=-2),
            outcome_line(timepoint=6, outcome="walking"),
        ],
    )
    assert cli.main(["validate", str(review)]) == 1
    err = capsys.readouterr().err
    assert "data/raw/outcomes.csv:2:n: n must be a whole number >= 2 (got 0)" in err
    assert "data/raw/outcomes.csv:3:sd: must be >= 0 (got -2)" in err
    assert "data/raw/outcomes.csv:4:outcome: unknown outcome 'walking'" in err


def test_cli_usage_and_missing_dir(tmp_path, capsys):
    assert cli.main([]) == 2
    assert cli.main(["validate", str(tmp_path / "missing")]) == 2


def test_console_script_declared():
    text = (REPO / "pyproject.toml").read_text()
    assert 'scimeta = "scimeta.cli:main"' in text
