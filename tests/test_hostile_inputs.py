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
from scimeta.validate import ReviewError, validate_review  # noqa: E402

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
