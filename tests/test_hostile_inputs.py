"""Hostile inputs: each gives a clear message naming file, row and column, and nothing is written."""

import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "data" / "extraction"))
from review_factory import (  # noqa: E402
    OUTCOMES_HEADER,
    copy_review,
    outcome_line,
    snapshot,
    write_outcomes,
)

from scimeta import io as sio  # noqa: E402
from scimeta.extract import build_arms  # noqa: E402
from scimeta.io import validate_review  # noqa: E402
from scimeta.validate import ReviewError  # noqa: E402

OUT = "data/raw/outcomes.csv"
ST = "data/raw/studies.csv"
OK = outcome_line()


def _outcomes(*lines):
    def apply(review):
        write_outcomes(review, [OK, *lines])

    return apply


def _studies_edit(fn):
    def apply(review):
        p = review / ST
        p.write_text(fn(p.read_text(encoding="utf-8")), encoding="utf-8")

    return apply


def _raw_outcomes(data: bytes):
    def apply(review):
        (review / OUT).write_bytes(data)

    return apply


def _config_edit(fn):
    def apply(review):
        p = review / "config/config.yaml"
        p.write_text(fn(p.read_text(encoding="utf-8")), encoding="utf-8")

    return apply


def _xlsx(sheets=("studies", "outcomes"), keep_csv=False):
    def apply(review):
        raw = review / "data/raw"
        wb = openpyxl.Workbook()
        wb.remove(wb.active)
        for name in sheets:
            ws = wb.create_sheet(name)
            df = pd.read_csv(raw / f"{name}.csv", dtype=str, keep_default_na=False)
            ws.append(list(df.columns))
            for rec in df.itertuples(index=False):
                ws.append(list(rec))
        wb.save(raw / "extraction.xlsx")
        if not keep_csv:
            (raw / "studies.csv").unlink()
            (raw / "outcomes.csv").unlink()

    return apply


def _garbage_xlsx(review):
    raw = review / "data/raw"
    (raw / "studies.csv").unlink()
    (raw / "outcomes.csv").unlink()
    (raw / "extraction.xlsx").write_bytes(b"this is not a zip file")


def _compose(*edits):
    def apply(review):
        for edit in edits:
            edit(review)

    return apply


def _xlsx_formula(review):
    """An outcomes sheet whose n is a formula with no stored value (as openpyxl writes it)."""
    _xlsx()(review)
    path = review / "data/raw/extraction.xlsx"
    wb = openpyxl.load_workbook(path)
    wb["outcomes"]["G2"] = "=3*4"
    wb.save(path)


# (id, how to break the review, expected start of str(problem))
CASES = [
    (
        "negative_n",
        _outcomes(outcome_line(timepoint=12, n=-5)),
        f"{OUT}:3:n: n must be a whole number >= 2 (got -5)",
    ),
    (
        "zero_n",
        _outcomes(outcome_line(timepoint=12, n=0)),
        f"{OUT}:3:n: n must be a whole number >= 2 (got 0)",
    ),
    (
        "non_integer_n",
        _outcomes(outcome_line(timepoint=12, n=12.5)),
        f"{OUT}:3:n: must be a whole number (got 12.5)",
    ),
    (
        "n_below_2",
        _outcomes(outcome_line(timepoint=12, n=1)),
        f"{OUT}:3:n: n must be a whole number >= 2 (got 1; an SD needs",
    ),
    (
        "text_n",
        _outcomes(outcome_line(timepoint=12, n="twelve")),
        f"{OUT}:3:n: 'twelve' is not a number",
    ),
    (
        "negative_sd",
        _outcomes(outcome_line(timepoint=12, sd=-4)),
        f"{OUT}:3:sd: must be >= 0 (got -4)",
    ),
    (
        "plus_minus_in_number",
        _outcomes(outcome_line(timepoint=12, mean="12.3±4")),
        f"{OUT}:3:mean: '12.3±4' is not one number",
    ),
    (
        "comma_decimal",
        _outcomes(outcome_line(timepoint=12, sd="12,3")),
        f"{OUT}:3:sd: '12,3' uses a decimal comma; write 12.3",
    ),
    (
        "ci_low_above_high",
        _outcomes(outcome_line(timepoint=12, sd="", ci_low=9, ci_high=3)),
        f"{OUT}:3:ci_low: ci_low 9 is above ci_high 3",
    ),
    (
        "ci_one_sided",
        _outcomes(outcome_line(timepoint=12, sd="", ci_low=9)),
        f"{OUT}:3:ci_high: a CI needs both",
    ),
    (
        "missing_study",
        _outcomes(outcome_line(study_id="ghost2020")),
        f"{OUT}:3:study_id: study 'ghost2020' is not in {ST}",
    ),
    (
        "unknown_outcome",
        _outcomes(outcome_line(outcome="walking_speed")),
        f"{OUT}:3:outcome: unknown outcome 'walking_speed'",
    ),
    (
        "duplicate_study_id",
        _studies_edit(lambda t: t + t.splitlines()[1] + "\n"),
        f"{ST}:5:study_id: duplicate study_id 'akhlaghpasand2025' (first at row 2)",
    ),
    (
        "duplicate_outcome_key",
        _outcomes(OK),
        f"{OUT}:3: duplicate row: same study_id, outcome, arm, population, timepoint and kind as row 2",
    ),
    ("empty_outcomes", _raw_outcomes(b""), f"{OUT}: file is empty"),
    ("empty_studies", _studies_edit(lambda t: ""), f"{ST}: file is empty"),
    (
        "header_only",
        _raw_outcomes((OUTCOMES_HEADER + "\n").encode()),
        f"{OUT}: no data rows (header only)",
    ),
    (
        "missing_required_column",
        _raw_outcomes(
            (
                OUTCOMES_HEADER.replace("arm,", "") + "\n" + OK.replace("treatment,", "", 1) + "\n"
            ).encode()
        ),
        f"{OUT}:1:arm: missing required column",
    ),
    (
        "latin1_encoding",
        _raw_outcomes(
            (OUTCOMES_HEADER + "\n" + OK + "\n").encode()
            + outcome_line(timepoint=12, quote="écart").encode("latin-1")
        ),
        f"{OUT}:3: not valid UTF-8 (byte 0xe9",
    ),
    (
        "path_traversal_study_id",
        _studies_edit(lambda t: t.replace("shin2015,,", "../../x,,")),
        f"{ST}:3:study_id: '../../x' is not a valid id",
    ),
    (
        "path_traversal_outcomes",
        _outcomes(outcome_line(study_id="../../x")),
        f"{OUT}:3:study_id: '../../x' is not a valid id",
    ),
    (
        "formula_as_id",
        _outcomes(outcome_line(study_id="=cmd|'/c calc'!A1")),
        f"{OUT}:3:study_id: \"=cmd|'/c calc'!A1\" is not a valid id",
    ),
    (
        "prepost_r_out_of_range",
        _outcomes(outcome_line(timepoint=12, prepost_r=1.5)),
        f"{OUT}:3:prepost_r: must be <= 1 (got 1.5)",
    ),
    (
        "ci_level_percent",
        _outcomes(outcome_line(timepoint=12, sd="", ci_low=1, ci_high=9, ci_level=95)),
        f"{OUT}:3:ci_level: must be a proportion in (0, 1), e.g. 0.95 (got 95",
    ),
    (
        "ci_level_one",
        _outcomes(outcome_line(timepoint=12, sd="", ci_low=1, ci_high=9, ci_level=1)),
        f"{OUT}:3:ci_level: must be < 1 (got 1)",
    ),
    (
        "ci_level_zero",
        _outcomes(outcome_line(timepoint=12, sd="", ci_low=1, ci_high=9, ci_level=0)),
        f"{OUT}:3:ci_level: must be > 0 (got 0)",
    ),
    (
        "negative_timepoint",
        _outcomes(outcome_line(timepoint=-3)),
        f"{OUT}:3:timepoint: must be >= 0 (got -3)",
    ),
    (
        "unknown_kind",
        _outcomes(outcome_line(timepoint=12, kind="delta")),
        f"{OUT}:3:kind: 'delta' is not one of: final, change, difference",
    ),
    (
        "unknown_arm",
        _outcomes(outcome_line(timepoint=12, arm="placebo")),
        f"{OUT}:3:arm: 'placebo' is not one of: treatment, control",
    ),
    (
        "difference_on_control",
        _outcomes(outcome_line(timepoint=12, arm="control", kind="difference", sd="", se=1)),
        f"{OUT}:3:arm: a difference row (kind = difference) belongs on the treatment arm",
    ),
    (
        "difference_without_precision",
        _outcomes(outcome_line(timepoint=12, kind="difference", sd="")),
        f"{OUT}:3:se: a difference row needs",
    ),
    (
        "q1_above_q3",
        _outcomes(outcome_line(timepoint=12, mean="", sd="", median=5, q1=9, q3=3)),
        f"{OUT}:3:q1: q1 9 is above q3 3",
    ),
    (
        "median_alone",
        _outcomes(outcome_line(timepoint=12, mean="", sd="", median=5)),
        f"{OUT}:3:median: a median needs q1 and q3 or min and max",
    ),
    (
        "too_many_cells",
        _raw_outcomes((OUTCOMES_HEADER + "\n" + OK + ",extra,cells\n").encode()),
        f"{OUT}:2: row has 24 cells but the header has 22",
    ),
    (
        "duplicate_header",
        _raw_outcomes((OUTCOMES_HEADER + ",sd\n" + OK + ",1\n").encode()),
        f"{OUT}:1:sd: column appears twice in the header",
    ),
    (
        "xlsx_missing_sheet",
        _xlsx(sheets=("studies",)),
        "data/raw/extraction.xlsx: sheet 'outcomes' is missing",
    ),
    (
        "csv_and_xlsx",
        _xlsx(keep_csv=True),
        "data/raw: both data/raw/extraction.xlsx and CSV sheets are present",
    ),
    (
        "xlsx_not_a_workbook",
        _garbage_xlsx,
        "data/raw/extraction.xlsx: cannot be read as an .xlsx workbook",
    ),
    (
        "config_bad_value",
        _config_edit(lambda t: t.replace("ci_distribution: t", "ci_distribution: normal")),
        "config/config.yaml:5:extraction.ci_distribution: 'normal' is not one of",
    ),
    ("config_not_yaml", _config_edit(lambda t: t + "\n  : : [\n"), "config/config.yaml:"),
    (
        "config_yaml_syntax_line_and_column",
        _config_edit(lambda t: t.replace("prepost_r: 0.5", "prepost_r: [0.5")),
        "config/config.yaml:2:11: not valid YAML: did not find expected ',' or ']'",
    ),
    (
        "config_duplicate_key",
        _config_edit(lambda t: t + "prepost_r: 0.9\n"),
        "config/config.yaml:21:prepost_r: duplicate key 'prepost_r' (first at line 1); "
        "YAML would keep only the last one",
    ),
    (
        "config_duplicate_outcome",
        _config_edit(
            lambda t: t + "  asia_motor:\n    label: again\n    higher_is_better: true\n"
            "    timepoint: 6\n"
        ),
        "config/config.yaml:21:outcomes.asia_motor: duplicate key 'asia_motor' (first at line 11)",
    ),
    (
        "config_unknown_top_level_key",
        _config_edit(lambda t: t + "prepost: paired\n"),
        "config/config.yaml:21:prepost: unknown key 'prepost' (allowed here: analysis,",
    ),
    (
        "config_unknown_outcome_key",
        _config_edit(lambda t: t.replace("    timepoint: 12\n    scale: [0, 100]\n  scim",
                                         "    timepoint: 12\n    scale: [0, 100]\n    units: W\n  scim")),
        "config/config.yaml:16:outcomes.asia_motor.units: unknown key 'units'",
    ),
    (
        "config_value_just_above_bound",
        _config_edit(lambda t: t.replace("prepost_r: 0.5", "prepost_r: 1.0000001")),
        "config/config.yaml:1:prepost_r: must be <= 1 (got 1.0000001)",
    ),
    (
        "config_negative_timepoint",
        _config_edit(lambda t: t.replace("timepoint: 12", "timepoint: -1", 1)),
        "config/config.yaml:14:outcomes.asia_motor.timepoint: must be >= 0 (got -1)",
    ),
    (
        "config_outcome_key_too_long",
        _config_edit(lambda t: t.replace("  scim_total:", "  " + "s" * 250 + ":")),
        "config/config.yaml:16:outcomes." + "s" * 250 + ": '" + "s" * 250 + "' is not a safe key",
    ),
    (
        "config_outcome_key_with_line_break",
        _config_edit(lambda t: t.replace("  scim_total:", '  "scim_total\\n":')),
        "config/config.yaml:16:outcomes.scim_total\\n: 'scim_total\\n' is not a safe key",
    ),
    (
        "config_scale_reversed",
        _config_edit(lambda t: t.replace("scale: [0, 100]", "scale: [100, 0]", 1)),
        "config/config.yaml:15:outcomes.asia_motor.scale: [min, max] needs min < max",
    ),
    (
        "config_pre_post_against_method",
        _config_edit(lambda t: t.replace("prepost_r: 0.5", "prepost_r: 0.5\nprepost_method: independent")
                     .replace("    timepoint: 12\n    scale: [0, 100]\n  scim",
                              "    timepoint: 12\n    scale: [0, 100]\n    pre_post: [MC]\n  scim")),
        "config/config.yaml:17:outcomes.asia_motor.pre_post: MC cannot be used with prepost_method "
        "independent (allowed: MD, SMD)",
    ),
    (
        "infinite_n",
        _outcomes(outcome_line(timepoint=12, n="1e999")),
        f"{OUT}:3:n: '1e999' is not a finite number",
    ),
    (
        "infinite_sd",
        _outcomes(outcome_line(timepoint=12, sd="inf")),
        f"{OUT}:3:sd: 'inf' is not a finite number",
    ),
    (
        "nan_text",
        _outcomes(outcome_line(timepoint=12, mean="NaN")),
        f"{OUT}:3:mean: 'NaN' is not a finite number; leave the cell empty",
    ),
    (
        "thousands_separator_n",
        _outcomes(outcome_line(timepoint=12, n="1,060")),
        f"{OUT}:3:n: '1,060' has a thousands separator; write 1060",
    ),
    (
        "ambiguous_comma_mean",
        _outcomes(outcome_line(timepoint=12, mean="1,060")),
        f"{OUT}:3:mean: '1,060' has a comma: write 1060 if it is a thousands separator, 1.060 if",
    ),
    (
        "prepost_r_just_above_one",
        _outcomes(outcome_line(timepoint=12, prepost_r="1.0000001")),
        f"{OUT}:3:prepost_r: must be <= 1 (got 1.0000001)",
    ),
    (
        "tab_separated",
        _raw_outcomes((OUTCOMES_HEADER + "\n" + OK + "\n").replace(",", "\t").encode()),
        f"{OUT}:1: the file is tab-separated, not comma-separated",
    ),
    (
        "semicolon_separated",
        _raw_outcomes((OUTCOMES_HEADER + "\n" + OK + "\n").replace(",", ";").encode()),
        f"{OUT}:1: the file is semicolon-separated, not comma-separated",
    ),
    (
        "n_column_missing",
        _raw_outcomes(
            (OUTCOMES_HEADER.replace(",n,", ",") + "\n" + OK.replace(",106,", ",", 1) + "\n").encode()
        ),
        f"{OUT}:1:n: missing required column (a cell may be empty",
    ),
    (
        "study_id_too_long",
        _outcomes(outcome_line(study_id="s" * 70)),
        f"{OUT}:3:study_id: is 70 characters long; at most 64",
    ),
    (
        "study_id_with_line_break",
        _outcomes(outcome_line(study_id="shin\n2015")),
        f"{OUT}:3:study_id: 'shin\\n2015' is not a valid id",
    ),
    (
        "median_outside_iqr",
        _outcomes(outcome_line(timepoint=12, mean="", sd="", median=50, q1=10, q3=20)),
        f"{OUT}:3:median: median 50 is outside [q1, q3] = [10, 20]",
    ),
    (
        "median_outside_range",
        _outcomes(outcome_line(timepoint=12, mean="", sd="", median=50, min=10, max=20)),
        f"{OUT}:3:median: median 50 is outside [min, max] = [10, 20]",
    ),
    (
        "min_above_max",
        _outcomes(outcome_line(timepoint=12, mean="", sd="", median=15, min=20, max=10)),
        f"{OUT}:3:min: min 20 is above max 10",
    ),
    (
        "mean_outside_range",
        _outcomes(outcome_line(timepoint=12, mean=45, sd=3, min=10, max=20)),
        f"{OUT}:3:mean: mean 45 is outside [min, max] = [10, 20]",
    ),
    (
        "value_outside_scale",
        _outcomes(outcome_line(timepoint=12, mean=140)),
        f"{OUT}:3:mean: mean 140 is outside the scale of 'asia_motor', [0, 100]",
    ),
    (
        "change_beyond_scale_width",
        _outcomes(outcome_line(timepoint=12, kind="change", mean=-150)),
        f"{OUT}:3:mean: mean -150 is outside the scale of 'asia_motor', [-100, 100] (a change)",
    ),
    (
        "difference_with_zero_se",
        _outcomes(outcome_line(study_id="srivastava2019", timepoint=12, kind="difference", sd="",
                               se=0, n="")),
        f"{OUT}:3:se: must be > 0 on a difference row (got 0)",
    ),
    (
        "explicit_measure_impossible",
        _compose(
            _outcomes(outcome_line(study_id="srivastava2019", timepoint=12, kind="difference",
                                   sd="", se=1.6, n="")),
            _config_edit(lambda t: t.replace("    timepoint: 12\n    scale: [0, 100]\n  scim",
                                             "    timepoint: 12\n    scale: [0, 100]\n"
                                             "    between_arms: [MD, SMD]\n  scim")),
        ),
        "config/config.yaml:16:outcomes.asia_motor.between_arms: SMD cannot be computed from the "
        "rows of 'asia_motor': only reported differences",
    ),
    (
        "xlsx_formula_without_value",
        _xlsx_formula,
        "data/raw/extraction.xlsx:outcomes:2:n: cell G2 holds the formula =3*4 without a stored value",
    ),
    (
        "config_missing",
        lambda review: (review / "config/config.yaml").unlink(),
        "config/config.yaml: config file not found",
    ),
]


@pytest.mark.parametrize("break_it,expected", [pytest.param(b, e, id=i) for i, b, e in CASES])
def test_hostile_input(tmp_path, break_it, expected):
    review = copy_review(tmp_path)
    break_it(review)
    before = snapshot(review)
    problems = validate_review(review)
    messages = [str(p) for p in problems if p.severity == "error"]
    assert any(m.startswith(expected) for m in messages), messages
    with pytest.raises(ReviewError) as exc:
        sio.read_review(review)
    assert expected in str(exc.value)
    assert snapshot(review) == before  # nothing written, nothing removed


def test_hidden_sheet_is_warned(tmp_path):
    review = copy_review(tmp_path)
    _xlsx()(review)
    path = review / "data/raw/extraction.xlsx"
    wb = openpyxl.load_workbook(path)
    wb["studies"].sheet_state = "hidden"
    wb.create_sheet("notes").sheet_state = "veryHidden"
    wb.save(path)
    warnings = [str(p) for p in validate_review(review) if p.severity == "warning"]
    assert "data/raw/extraction.xlsx: sheet 'studies' is hidden: read as the studies sheet" in warnings
    assert ("data/raw/extraction.xlsx: sheet 'notes' is veryHidden: not read (only sheets studies, "
            "outcomes and risk_of_bias are)") in warnings
    sio.read_review(review)  # a warning does not block


def test_formula_with_stored_value_is_read(tmp_path):
    """A workbook saved by a spreadsheet stores each formula's value: that value is read."""
    review = copy_review(tmp_path)
    _xlsx()(review)
    path = review / "data/raw/extraction.xlsx"
    wb = openpyxl.load_workbook(path)
    wb["outcomes"]["G2"] = "=3*4"
    wb.save(path)
    # write the cached value the way a spreadsheet application does: <f> with a <v> beside it
    import zipfile

    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("xl/worksheets/") and b"<f>3*4</f>" in data:
                data = data.replace(b"<f>3*4</f><v /></c>", b"<f>3*4</f><v>12</v></c>")
            zout.writestr(item, data)
    tmp.replace(path)
    r = sio.read_review(review)
    assert r.outcomes["n"].iloc[0] == 12


def test_at_least_30_hostile_cases():
    assert len(CASES) >= 30


def test_formula_label_accepted_and_neutralised_on_output(tmp_path):
    review = copy_review(tmp_path)
    write_outcomes(
        review,
        [OK, outcome_line(timepoint=12, source='=HYPERLINK("http://x")', quote="@SUM(A1) 40.7 17")],
    )
    r = sio.read_review(review)
    arms, _ = build_arms(r)
    out = tmp_path / "arms.csv"
    sio.write_csv(arms, out)
    back = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert back["source"].iloc[1] == '\'=HYPERLINK("http://x")'
    assert back["quote"].iloc[1] == "'@SUM(A1) 40.7 17"
    assert r.outcomes["source"].iloc[1].startswith("=")  # the data itself is untouched


def test_html_in_title_is_escaped(tmp_path):
    review = copy_review(tmp_path)
    p = review / ST
    p.write_text(
        p.read_text(encoding="utf-8").replace(
            "Clinical Trial of Human", "<script>alert(1)</script> Clinical Trial of Human"
        ),
        encoding="utf-8",
    )
    r = sio.read_review(review)
    title = r.studies.loc[r.studies["study_id"] == "shin2015", "title"].iloc[0]
    assert title.startswith("<script>")
    assert "<script>" not in sio.html_escape(title) and "&lt;script&gt;" in sio.html_escape(title)


def test_ten_thousand_character_quote_accepted(tmp_path):
    review = copy_review(tmp_path)
    quote = ("40.7 (17) " + "x" * 10_000)[:10_000]
    write_outcomes(review, [outcome_line(quote=quote)])
    r = sio.read_review(review)
    assert r.outcomes["quote"].iloc[0] == quote


def test_five_thousand_rows_accepted(tmp_path):
    review = copy_review(tmp_path)
    lines = [outcome_line(timepoint=t / 100, mean=40 + t % 7, sd=10 + t % 5) for t in range(5000)]
    write_outcomes(review, lines)
    assert [p for p in validate_review(review) if p.severity == "error"] == []
    r = sio.read_review(review)
    arms, exc = build_arms(r)
    assert len(r.outcomes) == 5000 and len(arms) == 5000 and exc.empty


def test_full_width_digits_read(tmp_path):
    review = copy_review(tmp_path)
    write_outcomes(review, [outcome_line(mean="４０．７", sd="１７")])
    r = sio.read_review(review)
    assert r.outcomes["mean"].iloc[0] == 40.7 and r.outcomes["sd"].iloc[0] == 17.0
