"""validate_review, Problem formatting, the sheet schemas and the `scimeta validate` CLI."""

import sys
from pathlib import Path

import jsonschema
import pytest

sys.path.insert(0, str(Path(__file__).parent / "data" / "extraction"))
from review_factory import copy_review, outcome_line, write_outcomes  # noqa: E402

from scimeta import cli  # noqa: E402
from scimeta import io as sio  # noqa: E402
from scimeta.io import validate_review  # noqa: E402
from scimeta.validate import Problem, ReviewError  # noqa: E402

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


# ---------------------------------------------------------------- defaults that follow other keys
def _config(review, fn):
    cfg = review / "config/config.yaml"
    cfg.write_text(fn(cfg.read_text(encoding="utf-8")), encoding="utf-8")


def test_pre_post_default_follows_prepost_method(tmp_path):
    review = copy_review(tmp_path)
    r = sio.read_review(review)
    assert r.config["outcomes"]["asia_motor"]["pre_post"] == ["MC", "SMCR"]
    _config(review, lambda t: t.replace("prepost_r: 0.5", "prepost_r: 0.5\nprepost_method: independent"))
    r = sio.read_review(review)  # no error for a key the user never wrote
    assert r.config["outcomes"]["asia_motor"]["pre_post"] == ["MD"]
    assert r.config["outcomes"]["asia_motor"]["between_arms"] == ["MD", "SMD"]


def test_default_measures_that_do_not_apply_give_one_note(tmp_path):
    """No baseline rows: the default pre_post measures are not attempted, with one note."""
    review = copy_review(tmp_path)
    write_outcomes(review, [outcome_line(timepoint=12), outcome_line(study_id="shin2015", timepoint=12, n=17)])
    problems = validate_review(review)
    assert [p for p in problems if p.severity == "error"] == []
    notes = [str(p) for p in problems if "not attempted" in p.message]
    assert notes == [
        "config/config.yaml:11:outcomes.asia_motor: default measures not attempted: pre_post MC, "
        "SMCR: no baseline rows (timepoint 0) and no change rows (noted once in excluded.csv)"
    ]
    from scimeta.compare import build_effects
    from scimeta.extract import build_arms
    from scimeta.workflow import planned_figures

    r = sio.read_review(review)
    arms, _ = build_arms(r)
    effects, excluded = build_effects(arms, r.studies, r.config)
    assert effects.empty
    assert excluded[["file", "row", "outcome", "stage"]].values.tolist() == [
        ["config/config.yaml", "", "asia_motor", "plan"]]  # one note, no exclusion per row
    assert [f for f in planned_figures(r, r.config) if f["kind"] == "forest"] == []  # none drawn


def test_written_measures_that_cannot_be_computed_are_errors(tmp_path):
    review = copy_review(tmp_path)
    write_outcomes(review, [outcome_line(timepoint=12)])
    _config(review, lambda t: t.replace("    scale: [0, 100]\n  scim",
                                        "    scale: [0, 100]\n    pre_post: [MC]\n  scim"))
    errors = [str(p) for p in validate_review(review) if p.severity == "error"]
    assert errors == [
        "config/config.yaml:16:outcomes.asia_motor.pre_post: MC cannot be computed from the rows "
        "of 'asia_motor': no baseline rows (timepoint 0) and no change rows"
    ]


def test_timepoint_zero_is_immediately_after(tmp_path):
    """timepoint 0 is valid; with no follow-up to pair, pre_post defaults are noted, not run."""
    review = copy_review(tmp_path)
    write_outcomes(review, [outcome_line(), outcome_line(study_id="shin2015", arm="control", n=15,
                                                        mean=30, sd=9)])
    _config(review, lambda t: t.replace("timepoint: 12", "timepoint: 0", 1))
    problems = validate_review(review)
    assert [p for p in problems if p.severity == "error"] == []
    assert any("pre_post MC, SMCR: the analysed timepoint is the baseline (0)" in p.message
               for p in problems)


def test_n_column_required_but_empty_cells_are_excluded(tmp_path):
    review = copy_review(tmp_path)
    write_outcomes(review, [outcome_line(n=""), outcome_line(timepoint=12)])
    problems = validate_review(review)
    assert [str(p) for p in problems if p.column == "n"] == [
        "data/raw/outcomes.csv:2:n: n is empty: the row will be listed as excluded (n missing)"]
    assert problems[0].severity == "warning"


def test_study_without_rows_is_warned(tmp_path):
    review = copy_review(tmp_path)
    write_outcomes(review, [outcome_line()])
    warned = [str(p) for p in validate_review(review) if "has no rows" in p.message]
    assert warned == [
        "data/raw/studies.csv:3:study_id: study 'shin2015' has no rows in the outcomes sheet",
        "data/raw/studies.csv:4:study_id: study 'srivastava2019' has no rows in the outcomes sheet",
    ]


def test_sd_of_zero_stays_valid(tmp_path):
    """A real SD of 0 (Oraee-Yazdani 2021 in the example review) is valid; the audit notes it."""
    review = copy_review(tmp_path)
    write_outcomes(review, [outcome_line(sd=0), outcome_line(timepoint=12, sd=0)])
    assert [p for p in validate_review(review) if p.severity == "error"] == []


def test_example_reviews_validate():
    for review in (REPO, REPO / "examples" / "stroke_nsc"):
        assert [str(p) for p in validate_review(review) if p.severity == "error"] == []


# ---------------------------------------------------------------- provenance
def test_exclusions_name_the_file_read(tmp_path):
    """Read from extraction.xlsx, the excluded rows and arms name the workbook, not outcomes.csv."""
    import openpyxl
    import pandas as pd

    from scimeta.compare import build_effects
    from scimeta.extract import build_arms

    review = copy_review(tmp_path)
    write_outcomes(review, [outcome_line(n=""), outcome_line(timepoint=12),
                            outcome_line(study_id="shin2015", n=17)])
    raw = review / "data/raw"
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name in ("studies", "outcomes"):
        ws = wb.create_sheet(name)
        df = pd.read_csv(raw / f"{name}.csv", dtype=str, keep_default_na=False)
        ws.append(list(df.columns))
        for rec in df.itertuples(index=False):
            ws.append(list(rec))
        (raw / f"{name}.csv").unlink()
    wb.save(raw / "extraction.xlsx")
    r = sio.read_review(review)
    arms, exc_arms = build_arms(r)
    _, exc_effects = build_effects(arms, r.studies, r.config)  # the file comes with the arms
    assert set(arms["source_file"]) == {"data/raw/extraction.xlsx:outcomes"}
    assert set(exc_arms["file"]) == {"data/raw/extraction.xlsx:outcomes"}
    assert set(exc_effects.loc[exc_effects["stage"] == "effects", "file"]) == {
        "data/raw/extraction.xlsx:outcomes"}


# ---------------------------------------------------------------- defaults that cannot apply
def _order_by_problems(review):
    return [p for p in validate_review(review) if p.column == "cumulative.order_by"]


def test_default_order_by_on_an_empty_column_is_a_warning_naming_it(tmp_path):
    review = copy_review(tmp_path)
    studies = review / "data/raw/studies.csv"
    lines = studies.read_text().splitlines()
    year = lines[0].split(",").index("year")
    lines = [lines[0]] + [",".join("" if i == year else c for i, c in enumerate(line.split(",")))
                          for line in lines[1:]]
    studies.write_text("\n".join(lines) + "\n")
    (problem,) = _order_by_problems(review)
    assert problem.severity == "warning"
    assert "cumulative.order_by 'year' (the default)" in problem.message
    assert "column 'year' of data/raw/studies.csv has no value in any row" in problem.message


def test_order_by_naming_no_column_is_an_error_at_its_line(tmp_path):
    review = copy_review(tmp_path)
    cfg = review / "config/config.yaml"
    cfg.write_text(cfg.read_text() + "cumulative:\n  order_by: published\n")
    (problem,) = _order_by_problems(review)
    assert problem.severity == "error" and problem.row == 22
    assert "'published' is neither a column of the studies sheet" in problem.message


# ---------------------------------------------------------------- only finite numbers
@pytest.mark.parametrize("edit,where", [
    (("prepost_r: 0.5\n", "prepost_r: .nan\n"), ["config/config.yaml:1:prepost_r: .nan"]),
    (("subgroups:", "analysis:\n  level: .NaN\nsubgroups:"),
     ["config/config.yaml:7:analysis.level: .nan"]),
    (("subgroups:", "sensitivity:\n  r_grid: [0.2, .nan]\nsubgroups:"),
     ["config/config.yaml:7:sensitivity.r_grid.1: .nan"]),
    (("    scale: [0, 100]\n", "    scale: [-.inf, .Inf]\n"),
     ["config/config.yaml:15:outcomes.asia_motor.scale.0: -.inf",
      "config/config.yaml:15:outcomes.asia_motor.scale.1: .inf"]),
    (("    timepoint: 12\n", "    timepoint: 12\n    mid: .nan\n"),
     ["config/config.yaml:15:outcomes.asia_motor.mid: .nan"]),
])
def test_a_number_that_is_not_finite_is_an_error_at_its_line(tmp_path, edit, where):
    review = copy_review(tmp_path)
    cfg = review / "config/config.yaml"
    old, new = edit
    cfg.write_text(cfg.read_text().replace(old, new, 1))
    problems = [str(p) for p in validate_review(review)]
    assert problems == [f"{w} is not a finite number: a setting takes a number" for w in where]
    with pytest.raises(ReviewError):
        sio.read_review(review)


def test_subgroup_labels_name_known_variables_and_levels(tmp_path):
    """Display names only for subgroup variables and moderators, and only for levels a
    variable has; each error names its config key."""
    review = copy_review(tmp_path)
    _config(review, lambda t: t.replace("subgroups: [level, phase]", (
        "subgroups: [level, phase]\n"
        "subgroup_labels:\n"
        "  level: {label: Injury level, levels: {cervical: Cervical, lumbar: Lumbar}}\n"
        "  dose: {label: Dose}\n"
        "  phase: {levels: {acute: Acute}}")))
    msgs = [str(p) for p in validate_review(review)]
    assert any("subgroup_labels.dose: 'dose' is neither a subgroup variable" in m for m in msgs)
    assert any("subgroup_labels.level.levels.lumbar: 'lumbar' is not a level of 'level'" in m
               for m in msgs)
    assert not any("levels.cervical" in m or "subgroup_labels.phase" in m for m in msgs)


def test_display_names_default_to_the_sheets():
    from scimeta.settings import level_label, variable_label

    labels = {"level": {"label": "Injury level", "levels": {"cervical": "Cervical"}}}
    assert variable_label("level", labels) == "Injury level"
    assert variable_label("time_since_injury", labels) == "Time since injury"
    assert level_label("level", "cervical", labels) == "Cervical"
    assert level_label("level", "thoracolumbar", labels) == "thoracolumbar"
    assert level_label("phase", "acute", None) == "acute"
