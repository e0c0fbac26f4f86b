"""The example review read from data/raw/extraction.xlsx gives the same arms and effects as from CSV."""

import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from scimeta import io as sio
from scimeta.compare import build_effects
from scimeta.extract import build_arms

REPO = Path(__file__).resolve().parents[1]
#: columns a spreadsheet user types as numbers (the others are text cells)
NUMERIC = {
    "n",
    "timepoint",
    "mean",
    "sd",
    "se",
    "ci_low",
    "ci_high",
    "ci_level",
    "median",
    "q1",
    "q3",
    "min",
    "max",
    "p_value",
    "prepost_r",
    "year",
    "n_enrolled",
    "followup_months",
    "age_mean",
}
CJK_AUTHOR = "张伟 et al."
ACCENTED_TITLE = "Étude des cellules souches après lésion médullaire : résultats à 12 mois"
CJK_QUOTE = "运动评分 基线 41.5 ± 12.25，12个月 45.75 ± 13.5（n = 20）"


def _number(text: str):
    value = float(text)
    return (
        int(value) if "." not in text and "e" not in text.lower() and value.is_integer() else value
    )


def _write_xlsx(csv_dir: Path, xlsx: Path) -> None:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name in ("studies", "outcomes"):
        ws = wb.create_sheet(name)
        df = pd.read_csv(csv_dir / f"{name}.csv", dtype=str, keep_default_na=False)
        ws.append(list(df.columns))
        for rec in df.itertuples(index=False):
            ws.append(
                [
                    None if v == "" else (_number(v) if c in NUMERIC else v)
                    for c, v in zip(df.columns, rec)
                ]
            )
    wb.save(xlsx)


def _add_non_ascii_study(raw: Path) -> None:
    studies = pd.read_csv(raw / "studies.csv", dtype=str, keep_default_na=False)
    new = {c: "" for c in studies.columns}
    new.update(
        study_id="zhang2020",
        author=CJK_AUTHOR,
        year="2020",
        title=ACCENTED_TITLE,
        design="single_arm",
        condition="sci",
    )
    for c, v in (("intervention", "MSC"), ("level", "mixed"), ("phase", "chronic"), ("ais", "A")):
        if c in new:
            new[c] = v
    studies = pd.concat([studies, pd.DataFrame([new])], ignore_index=True)
    outcomes = pd.read_csv(raw / "outcomes.csv", dtype=str, keep_default_na=False)
    rows = []
    for t, m, sd in (("0", "41.5", "12.25"), ("12", "45.75", "13.5")):
        r = {c: "" for c in outcomes.columns}
        r.update(
            study_id="zhang2020",
            outcome="asia_motor",
            arm="treatment",
            population="all",
            timepoint=t,
            kind="final",
            n="20",
            mean=m,
            sd=sd,
            source="表 2 (Tableau 2, médiane)",
            quote=CJK_QUOTE,
        )
        rows.append(r)
    outcomes = pd.concat([outcomes, pd.DataFrame(rows)], ignore_index=True)
    studies.to_csv(raw / "studies.csv", index=False, encoding="utf-8", lineterminator="\n")
    outcomes.to_csv(raw / "outcomes.csv", index=False, encoding="utf-8", lineterminator="\n")


def _drop_prisma(cfg: Path) -> None:
    """The added study is not in the example's PRISMA counts: leave the block out."""
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(text[:text.index("\nprisma:")] + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    root = tmp_path_factory.mktemp("parity")
    out = {}
    for name in ("csv", "xlsx"):
        review = root / name
        shutil.copytree(REPO / "config", review / "config")
        shutil.copytree(REPO / "data/raw", review / "data/raw")
        _add_non_ascii_study(review / "data/raw")
        _drop_prisma(review / "config/config.yaml")
    raw = root / "xlsx/data/raw"
    _write_xlsx(raw, raw / "extraction.xlsx")
    (raw / "studies.csv").unlink()
    (raw / "outcomes.csv").unlink()
    for name in ("csv", "xlsx"):
        r = sio.read_review(root / name)
        arms, excluded = build_arms(r)
        effects, exc_eff = build_effects(arms, r.studies, r.config)
        out[name] = (r, arms, excluded, effects, exc_eff)
    return out


def test_sources_differ(both):
    assert both["csv"][0].sources["outcomes"] == "data/raw/outcomes.csv"
    assert both["xlsx"][0].sources["outcomes"] == "data/raw/extraction.xlsx:outcomes"


@pytest.mark.parametrize("index,name", [(1, "arms"), (3, "effects"), (4, "effects excluded")])
def test_same_tables_exactly(both, index, name):
    a, b = both["csv"][index], both["xlsx"][index]
    assert len(a) > 0, name
    # the provenance columns name the file actually read; everything else is the same
    where = [c for c in ("file", "source_file") if c in a.columns]
    for c in where:
        assert set(b[c]) <= {"data/raw/extraction.xlsx:outcomes"}, (name, c)
    pd.testing.assert_frame_equal(a.drop(columns=where), b.drop(columns=where), check_exact=True)


def test_same_extraction_exclusions_apart_from_the_file(both):
    a, b = both["csv"][2], both["xlsx"][2]
    assert set(b["file"]) <= {"data/raw/extraction.xlsx:outcomes"}
    pd.testing.assert_frame_equal(a.drop(columns="file"), b.drop(columns="file"), check_exact=True)


def test_the_example_review_is_covered(both):
    _, arms, _, effects, _ = both["csv"]
    # every kind of row and both comparisons go through the parity check
    assert set(arms["kind"]) == {"final", "change", "difference"}
    assert set(effects["comparison"]) == {"between_arms", "pre_post"}
    assert arms["mean_method"].nunique() > 1 and arms["sd_method"].nunique() > 1


@pytest.mark.parametrize("name", ["csv", "xlsx"])
def test_non_ascii_survives(both, name):
    r, arms, _, effects, _ = both[name]
    st = r.studies.set_index("study_id")
    assert st.loc["zhang2020", "author"] == CJK_AUTHOR
    assert st.loc["zhang2020", "title"] == ACCENTED_TITLE
    z = arms[arms["study_id"] == "zhang2020"]
    assert z["quote"].tolist() == [CJK_QUOTE, CJK_QUOTE]
    assert z["source"].tolist() == ["表 2 (Tableau 2, médiane)"] * 2
    assert z["mean_used"].tolist() == [41.5, 45.75] and z["sd_used"].tolist() == [12.25, 13.5]
    labels = set(effects.loc[effects["study_id"] == "zhang2020", "label"])
    assert labels == {"张伟 2020"}


# ---------------------------------------------------------------- <dimension> is not trusted
XLSX = REPO / "tests" / "data" / "xlsx"
#: Written by R's openxlsx (tests/data/xlsx/make_openxlsx.R) from review_ok's CSV sheets:
#: every sheet's <dimension> is "A1", whatever it holds.
OPENXLSX_REVIEW = XLSX / "openxlsx_review.xlsx"
REVIEW_OK = REPO / "tests" / "data" / "extraction" / "review_ok"


def _as_workbook_review(review: Path, workbook: Path) -> Path:
    raw = review / "data" / "raw"
    for name in ("studies", "outcomes"):
        (raw / f"{name}.csv").unlink()
    shutil.copy(workbook, raw / "extraction.xlsx")
    return review


def _sheet_part(workbook: Path, sheet: str) -> str:
    """The zip member holding one sheet's XML."""
    wb = openpyxl.load_workbook(workbook, read_only=True)
    try:
        return wb[sheet]._worksheet_path
    finally:
        wb.close()


def _rewrite_part(workbook: Path, part: str, edit) -> None:
    """Rewrite one member of the workbook's zip (``edit``: bytes -> bytes)."""
    import zipfile

    members = {}
    with zipfile.ZipFile(workbook) as z:
        for info in z.infolist():
            members[info.filename] = z.read(info.filename)
    members[part] = edit(members[part])
    with zipfile.ZipFile(workbook, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)


def _set_dimension(workbook: Path, sheet: str, ref: str) -> None:
    import re

    _rewrite_part(workbook, _sheet_part(workbook, sheet),
                  lambda xml: re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(),
                                     xml, count=1))


def _sheets(review: Path):
    r = sio.read_review(review)
    return r.studies.drop(columns="source_row", errors="ignore"), r.outcomes


def test_an_openxlsx_workbook_reads_as_its_csv_sheets(tmp_path):
    import zipfile

    with zipfile.ZipFile(OPENXLSX_REVIEW) as z:  # the fixture is what openxlsx writes
        assert b'<dimension ref="A1"/>' in z.read(_sheet_part(OPENXLSX_REVIEW, "outcomes"))
    csv = sio.read_review(shutil.copytree(REVIEW_OK, tmp_path / "csv"))
    xlsx = sio.read_review(_as_workbook_review(shutil.copytree(REVIEW_OK, tmp_path / "xlsx"),
                                               OPENXLSX_REVIEW))
    assert len(xlsx.outcomes) == len(csv.outcomes) > 0
    pd.testing.assert_frame_equal(xlsx.studies, csv.studies, check_exact=True)
    pd.testing.assert_frame_equal(xlsx.outcomes, csv.outcomes, check_exact=True)


@pytest.fixture(scope="module")
def workbook(both, tmp_path_factory):
    """The parity workbook (written by openpyxl, correct dimensions), its outcomes sheet's
    size, and the review's arms and effects read from the CSV twin."""
    path = tmp_path_factory.mktemp("dimension") / "extraction.xlsx"
    _write_xlsx(REPO / "data" / "raw", path)
    wb = openpyxl.load_workbook(path, read_only=True)
    rows, cols = wb["outcomes"].max_row, wb["outcomes"].max_column
    wb.close()
    return path, rows, cols


@pytest.mark.parametrize("dimension", ["openxlsx", "fewer_rows", "fewer_columns", "offset"])
def test_an_understated_dimension_loses_nothing(workbook, tmp_path, dimension):
    from openpyxl.utils import get_column_letter

    path, rows, cols = workbook
    ref = {"openxlsx": "A1",
           "fewer_rows": f"A1:{get_column_letter(cols)}{rows * 2 // 3}",
           "fewer_columns": f"A1:{get_column_letter(cols - 2)}{rows}",
           "offset": f"C5:{get_column_letter(cols)}{rows}"}[dimension]
    review = shutil.copytree(REPO, tmp_path / "r", ignore=shutil.ignore_patterns(
        ".*", "results", "logs", "processed", "src", "tests", "examples", "benchmarks",
        "workflow", "docs"))
    edited = tmp_path / "extraction.xlsx"
    shutil.copy(path, edited)
    for sheet in ("studies", "outcomes"):
        _set_dimension(edited, sheet, ref)
    twin = _sheets(review)
    got = _sheets(_as_workbook_review(review, edited))
    assert len(got[1]) == len(twin[1]) and list(got[1].columns) == list(twin[1].columns)
    pd.testing.assert_frame_equal(got[0], twin[0], check_exact=True)
    pd.testing.assert_frame_equal(got[1], twin[1], check_exact=True)


def _refused(tmp_path, edit_outcomes) -> list[str]:
    review = shutil.copytree(REVIEW_OK, tmp_path / "r")
    edited = tmp_path / "extraction.xlsx"
    shutil.copy(OPENXLSX_REVIEW, edited)
    _rewrite_part(edited, _sheet_part(edited, "outcomes"), edit_outcomes)
    return [str(p) for p in sio.validate_review(_as_workbook_review(review, edited))
            if p.severity == "error"]


def test_malformed_sheet_xml_is_an_error_naming_the_file_and_sheet(tmp_path):
    problems = _refused(tmp_path, lambda xml: xml.replace(b"</sheetData>", b"</sheetDta>"))
    assert any(p.startswith("data/raw/extraction.xlsx:outcomes: cannot be read whole: "
                            "malformed sheet XML") for p in problems), problems


@pytest.mark.parametrize("cell,why", [
    ("XFD2", "beyond the 256 columns"),
    ("A200000", "row 200000 holds a value or formatting, beyond the 100,000 rows"),
])
def test_a_cell_far_outside_the_data_is_refused(tmp_path, cell, why):
    row = int(cell.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    formatted = f'<row r="{row}"><c r="{cell}" s="0"/></row></sheetData>'.encode()
    problems = _refused(tmp_path, lambda xml: xml.replace(b"</sheetData>", formatted))
    assert any(p.startswith("data/raw/extraction.xlsx:outcomes: cannot be read whole")
               and why in p for p in problems), problems


def test_a_part_beyond_the_size_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(sio, "XLSX_MAX_PART_BYTES", 4096)
    review = _as_workbook_review(shutil.copytree(REVIEW_OK, tmp_path / "r"), OPENXLSX_REVIEW)
    problems = [str(p) for p in sio.validate_review(review)]
    assert problems and all(p.startswith("data/raw/extraction.xlsx: part xl/") for p in problems)
    assert "more than the 4,096 a workbook part may hold" in problems[0]
