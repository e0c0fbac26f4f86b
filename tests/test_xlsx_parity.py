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
