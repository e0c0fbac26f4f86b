"""Reading review folders (CSV, xlsx, encodings) and writing reviewer-facing CSV."""

import sys
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "data" / "extraction"))
from review_factory import copy_review, outcome_line, write_outcomes  # noqa: E402

from scimeta import io as sio  # noqa: E402
from scimeta.validate import ReviewError  # noqa: E402


def test_read_review_types_and_source_rows(tmp_path):
    review = copy_review(tmp_path)
    r = sio.read_review(review)
    assert r.sources == {
        "config": "config/config.yaml",
        "studies": "data/raw/studies.csv",
        "outcomes": "data/raw/outcomes.csv",
    }
    assert r.outcomes["source_row"].tolist() == list(range(2, 2 + len(r.outcomes)))
    assert r.outcomes["mean"].dtype == float and r.outcomes["n"].dtype == float
    assert isinstance(r.outcomes["quote"].iloc[0], str)
    assert r.config["extraction"]["median_method"] == "luo_wan"
    # schema defaults filled, e.g. analysis.tau2
    assert r.config["analysis"]["tau2"] == ["REML", "DL", "PM"]
    # empty cohort_id -> study_id
    assert (r.studies["cohort_id"] == r.studies["study_id"]).all()
    # columns: input order, then source_row
    assert list(r.outcomes.columns)[:3] == ["study_id", "outcome", "arm"]
    assert r.outcomes.columns[-1] == "source_row"


def test_bom_and_non_ascii_text(tmp_path):
    review = copy_review(tmp_path)
    write_outcomes(
        review,
        [
            outcome_line(quote="运动评分 40.7 (17)，改善明显"),
            outcome_line(
                timepoint=12, mean=43.3, sd=15.9, quote="Moyenne 43,3 — écart-type 15,9 ±"
            ),
        ],
    )
    p = review / "data/raw/outcomes.csv"
    p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes())
    r = sio.read_review(review)
    assert r.outcomes["study_id"].iloc[0] == "akhlaghpasand2025"  # BOM not in the first name
    assert r.outcomes["quote"].iloc[0] == "运动评分 40.7 (17)，改善明显"
    assert "écart-type" in r.outcomes["quote"].iloc[1]


def test_blank_lines_and_multiline_cells_keep_spreadsheet_rows(tmp_path):
    review = copy_review(tmp_path)
    write_outcomes(
        review,
        [
            outcome_line(quote="line one\nline two"),
            "",
            outcome_line(timepoint=12, mean=43.3, sd=15.9),
        ],
    )
    r = sio.read_review(review)
    # record 1 -> row 2 (its quote spans two lines), blank record -> row 3, next -> row 4
    assert r.outcomes["source_row"].tolist() == [2, 4]


def _write_xlsx(path, studies_csv, outcomes_csv, sheets=("studies", "outcomes")):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, src in zip(("studies", "outcomes"), (studies_csv, outcomes_csv)):
        if name not in sheets:
            continue
        ws = wb.create_sheet(name)
        df = pd.read_csv(src, dtype=str, keep_default_na=False)
        ws.append(list(df.columns))
        for rec in df.itertuples(index=False):
            row = []
            for c, v in zip(df.columns, rec):
                if c in ("n", "mean", "sd", "se", "timepoint", "year") and v != "":
                    row.append(float(v))
                else:
                    row.append(v if v != "" else None)
            ws.append(row)
    wb.save(path)


def test_xlsx_equals_csv(tmp_path):
    review = copy_review(tmp_path)
    raw = review / "data/raw"
    _write_xlsx(raw / "extraction.xlsx", raw / "studies.csv", raw / "outcomes.csv")
    r_csv = sio.read_review(copy_review(tmp_path, "csv"))
    (raw / "studies.csv").unlink()
    (raw / "outcomes.csv").unlink()
    r_x = sio.read_review(review)
    assert r_x.sources["outcomes"] == "data/raw/extraction.xlsx:outcomes"
    pd.testing.assert_frame_equal(r_x.outcomes, r_csv.outcomes)
    pd.testing.assert_frame_equal(r_x.studies, r_csv.studies)


def test_write_csv_exact_deterministic_and_neutralised(tmp_path):
    df = pd.DataFrame(
        {
            "label": ['=HYPERLINK("x")', "+1+2", "-cmd", "@SUM(A1)", "plain", "-4.5", "中文"],
            "x": [0.1 + 0.2, 1 / 3, np.nan, 1e-300, -0.0, 2.5, 40.0],
            "k": [1, 2, 3, 4, 5, 6, 7],
            "ok": [True, False, True, False, True, False, True],
        }
    )
    p = tmp_path / "out" / "t.csv"
    sio.write_csv(df, p)
    first = p.read_bytes()
    sio.write_csv(df, p)
    assert p.read_bytes() == first
    assert b"\r\n" not in first
    back = pd.read_csv(p, dtype={"label": str}, keep_default_na=False)
    assert back["label"].tolist()[:4] == ['\'=HYPERLINK("x")', "'+1+2", "'-cmd", "'@SUM(A1)"]
    assert back["label"].tolist()[4:] == ["plain", "-4.5", "中文"]
    xs = pd.read_csv(p)["x"]
    assert xs[0] == 0.1 + 0.2 and xs[1] == 1 / 3 and np.isnan(xs[2]) and xs[3] == 1e-300
    assert not list(tmp_path.joinpath("out").glob(".*tmp"))  # no temporary file left behind


def test_html_escape():
    assert sio.html_escape("<script>alert(\"x\")</script> & 'y'") == (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;y&#x27;"
    )
    assert sio.html_escape(None) == "" and sio.html_escape(float("nan")) == ""


def test_schemas_dir_is_in_the_package():
    assert (sio.schemas_dir() / "outcomes.schema.yaml").is_file()
    assert sio.load_schema("studies")["required"] == ["study_id", "design"]


def test_read_review_raises_with_every_problem(tmp_path):
    review = copy_review(tmp_path)
    write_outcomes(review, [outcome_line(n=-1), outcome_line(timepoint=12, sd="12,3")])
    with pytest.raises(ReviewError) as exc:
        sio.read_review(review)
    text = str(exc.value)
    assert "data/raw/outcomes.csv:2:n:" in text and "data/raw/outcomes.csv:3:sd:" in text


def test_missing_review_dir(tmp_path):
    with pytest.raises(FileNotFoundError):
        sio.read_raw(tmp_path / "nope")
