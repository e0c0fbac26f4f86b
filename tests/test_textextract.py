"""scimeta.textextract and ``scimeta extract-text``: candidates against the hand-checked corpus
under tests/data/text/, exact offsets, typography, traps, drafts and the provenance check."""

import csv
import importlib.util
import io
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scimeta import io as sio
from scimeta import textextract as te
from scimeta.audit import audit_review
from scimeta.cli import main as cli_main
from scimeta.extract import build_arms
from scimeta.report import audit_page

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "data" / "text"
_spec = importlib.util.spec_from_file_location("bench_extract_text", REPO / "benchmarks" / "extract_text.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

CORPUS_FILES = sorted(p for p in CORPUS.iterdir() if not p.name.endswith(".csv"))
STAT_KINDS = ("mean_sd", "mean_se", "mean_ci", "median_iqr", "median_range")
CONTEXT = ("outcome", "population", "timepoint_months", "role")


def _source(path: Path) -> str:
    return te.decode(path.read_bytes(), path.name)


def _expected(path: Path) -> list[dict]:
    with open(path.with_name(path.name + ".expected.csv"), encoding="utf-8", newline="") as h:
        return list(csv.DictReader(h))


# --------------------------------------------------------------------------- corpus
def test_every_corpus_file_has_its_expected_candidates():
    assert {p.suffix for p in CORPUS_FILES} == {".txt", ".md", ".html"}
    for p in CORPUS_FILES:
        assert p.with_name(p.name + ".expected.csv").is_file(), p.name


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_offsets_are_exact(path):
    src = _source(path)
    cands = te.extract_file(path, name=path.name)
    assert cands
    for c in cands:
        assert src[c.start : c.end] == c.text
        assert c.sentence_start <= c.start < c.end <= c.sentence_end
    for row in _expected(path):  # the expected file itself
        assert src[int(row["start"]) : int(row["end"])] == row["text"]


def test_precision_and_recall_meet_the_targets():
    scores = bench.corpus_scores(CORPUS)
    for kind in bench.TARGET_KINDS:
        s = scores[kind]
        assert s.expected >= 6, kind  # the corpus holds enough of each
        assert s.precision >= bench.TARGET and s.recall >= bench.TARGET, s
        assert s.offset_errors == 0 and s.value_errors == 0, s
    for kind in te.KINDS:  # every kind is in the corpus
        assert scores[kind].expected > 0, kind


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_numbers_and_context_as_expected(path):
    found = {(c.start, c.end, c.kind): c for c in te.extract_file(path, name=path.name)}
    for row in _expected(path):
        c = found.get((int(row["start"]), int(row["end"]), row["kind"]))
        assert c is not None, row
        for k in ("estimate", "spread", "low", "high"):
            assert getattr(c, k) == row[k], (row, k)
        if row["kind"] in STAT_KINDS:
            for k in CONTEXT:
                assert getattr(c, k) == row[k], (row["text"], k)


def test_pairs_link_baseline_to_followup():
    for name in ("en_results.txt", "zh_simplified.txt", "zh_traditional.txt"):
        cands = [c for c in te.extract_file(CORPUS / name, name=name) if c.pair_id]
        pairs = {}
        for c in cands:
            pairs.setdefault(c.pair_id, []).append(c)
        assert pairs
        for members in pairs.values():
            assert [m.role for m in members] == ["baseline", "followup"]
            assert members[0].timepoint_months == "0"
    zh = te.extract_file(CORPUS / "zh_simplified.txt", name="zh")
    first = [c for c in zh if c.pair_id == "zh-p1"]
    assert [(c.estimate, c.spread, c.timepoint) for c in first] == [
        ("40.7", "17", "baseline"),
        ("43.3", "15.9", "12个月"),
    ]


# --------------------------------------------------------------------------- typography
@pytest.mark.parametrize(
    "text, kind, numbers",
    [
        ("40.7 (±17)", "mean_sd", ("40.7", "17", "", "")),
        ("40.7 ± 17.0", "mean_sd", ("40.7", "17.0", "", "")),
        ("mean 40.7 (SD 17)", "mean_sd", ("40.7", "17", "", "")),
        ("40.7±17.0 分", "mean_sd", ("40.7", "17.0", "", "")),
        ("40.7 +/- 17.0", "mean_sd", ("40.7", "17.0", "", "")),
        ("40.7 +- 17.0", "mean_sd", ("40.7", "17.0", "", "")),
        ("４０．７（±１７．０）", "mean_sd", ("40.7", "17.0", "", "")),
        ("40.7\u2009±\u200917.0", "mean_sd", ("40.7", "17.0", "", "")),
        ("\u22123.2 ± 1.1", "mean_sd", ("-3.2", "1.1", "", "")),
        ("9.5 (SEM 2.1)", "mean_se", ("9.5", "2.1", "", "")),
        ("9.5 ± 2.1 (SE)", "mean_se", ("9.5", "2.1", "", "")),
        ("median 12 (IQR 8–15)", "median_iqr", ("12", "", "8", "15")),
        ("median 12 (IQR 8—15)", "median_iqr", ("12", "", "8", "15")),
        ("中位数12（四分位数间距 8～15）", "median_iqr", ("12", "", "8", "15")),
        ("中位数12（范围 8至15）", "median_range", ("12", "", "8", "15")),
        ("4.55 (95% CI 1.282–7.815)", "mean_ci", ("4.55", "", "1.282", "7.815")),
        ("4.55（95%CI：1.282～7.815）", "mean_ci", ("4.55", "", "1.282", "7.815")),
        ("−1.2 (95% CI −2.5 to −0.1)", "mean_ci", ("-1.2", "", "-2.5", "-0.1")),
        ("n = 32", "n", ("32", "", "", "")),
        ("(p<0.001)", "p_value", ("0.001", "", "", "")),
        ("P＝0.013", "p_value", ("0.013", "", "", "")),
    ],
)
def test_typography_as_published(text, kind, numbers):
    src = f"Results: the score was {text} at 12 months."
    cands = [c for c in te.extract_text(src, "t") if c.kind == kind]
    assert len(cands) == 1, cands
    c = cands[0]
    assert src[c.start : c.end] == c.text
    assert (c.estimate, c.spread, c.low, c.high) == numbers


def test_decimal_commas_are_flagged_not_read():
    (c,) = te.extract_text("ASIA motor 40,7 ± 17,0 at baseline.", "t")
    assert c.kind == "mean_sd" and c.text == "40,7 ± 17,0"
    assert (c.estimate, c.spread) == ("", "")
    assert "decimal_comma:40,7" in c.flags and "decimal_comma:17,0" in c.flags


def test_ci_level_is_read_and_a_missing_level_is_flagged():
    (c,) = te.extract_text("8.3 (90% confidence interval 2.7—14.0)", "t")
    assert c.level == "90" and not c.flags
    (c,) = te.extract_text("8.3 [CI 2.7, 14.0]", "t")
    assert c.level == "95" and c.flags == "ci_level_assumed_95"


def test_bare_pairs_need_a_declaration():
    assert te.extract_text("The score was 40.7 (17) at baseline.", "t") == []
    (c,) = te.extract_text("Values are mean (SD). The score was 40.7 (17) at baseline.", "t")
    assert (c.kind, c.estimate, c.spread) == ("mean_sd", "40.7", "17")
    (c,) = te.extract_text("Values are mean (SEM). The score was 40.7 (1.7) at baseline.", "t")
    assert c.kind == "mean_se"
    (c,) = te.extract_text("计量资料以x±s表示。评分为40.7±17.0。", "t")
    assert c.kind == "mean_sd"
    (c,) = te.extract_text("數據以均數±標準誤表示，評分為40.7±1.7。", "t")
    assert c.kind == "mean_se"


# --------------------------------------------------------------------------- traps
@pytest.mark.parametrize(
    "text",
    [
        "Follow-up ended on 2025-09-05.",
        "随访至9月5日结束。",
        "Akhlaghpasand M et al. Stem Cell Res Ther 16, 226 (2025).",
        "Values are mean (SD). See Stem Cell Res Ther 16, 226 (2025).",
        "Adv Sci 2025;12(29):e04154.",
        "doi:10.1186/s13287-025-04312-7",
        "https://doi.org/10.1038/s41467-025-64240-1",
        "as reported before [1] and [2–4].",
        "as reported before³ and elsewhere¹².",
        "Tel: +86-10-6515-1234; fax +1 212 555 0199.",
        "Patients aged 18–65 years were eligible; mean age 31.5 ± 10.0 years.",
        "患者年龄 31.5 ± 10.0 岁。",
        "In 2019, about 27 million people lived with SCI.",
        "Values are mean (SD). Of 106 patients, cervical injuries were 32 (30.2).",
    ],
)
def test_traps_are_never_statistics(text):
    cands = te.extract_text(text, "t")
    assert not [c for c in cands if c.kind not in ("n", "percent")], cands
    for c in cands:  # a count or share, never a year, page or phone number
        assert c.estimate in ("106",), cands


def test_percentages_of_a_population_are_not_sds():
    cands = te.extract_text("Of 106 patients, 32 cervical (39.2%) and 77 chronic (72.6%).", "t")
    assert [(c.kind, c.estimate) for c in cands] == [
        ("n", "106"),
        ("percent", "39.2"),
        ("percent", "72.6"),
    ]
    cell = (CORPUS / "results_table.html").read_text(encoding="utf-8")
    assert "89 (84.0)" in cell  # Table 1 is "n (%)": none of its cells is a mean (SD)
    table1_end = cell.index("Table 2.")
    found = te.extract_file(CORPUS / "results_table.html")
    assert not [c for c in found if c.start < table1_end and c.kind in STAT_KINDS]


# --------------------------------------------------------------------------- formats
def test_bom_and_line_ends(tmp_path):
    body = "Results\r\n\r\nThe ASIA motor score was 40.7 ± 17.0 at baseline.\r\n"
    p = tmp_path / "bom.txt"
    p.write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))
    (c,) = te.extract_file(p)
    assert body[c.start : c.end] == c.text == "40.7 ± 17.0"
    assert c.outcome == "asia_motor"


def test_html_offsets_index_the_raw_source():
    p = CORPUS / "results_table.html"
    raw = p.read_text(encoding="utf-8")
    cands = te.extract_file(p, name=p.name)
    se = [c for c in cands if c.kind == "mean_se"]
    assert [c.text for c in se][:2] == ["9.5 &plusmn; 2.1", "17.4 &#177; 2.7"]
    assert all(raw[c.start : c.end] == c.text for c in cands)
    # a cell is read with its row and column headers
    motor = next(c for c in cands if c.text == "23.9 (15.8)")
    assert (motor.row_header, motor.col_header) == ("ASIA motor", "Baseline")
    assert motor.sentence == "ASIA motor | cervical | 32 | 23.9 (15.8) | 29.3 (16.1)"
    # a superscript marker is not part of the number before it
    assert next(c for c in cands if c.start == raw.index("106 patients")).estimate == "106"


def test_not_utf8_names_file_line_and_column(tmp_path):
    p = tmp_path / "latin1.txt"
    p.write_bytes("Results\nmean 40,7 \xb1 17".encode("latin-1"))
    with pytest.raises(te.TextError, match=r"latin1\.txt:2:11: not UTF-8 \(byte 0xb1\)"):
        te.extract_file(p, name="latin1.txt")


# --------------------------------------------------------------------------- property
_FRAGMENTS = st.sampled_from(
    [
        "40.7", "17", "(", ")", "（", "）", "±", "+/-", " ", "\u2009", "\n", "\n\n", "mean", "SD",
        "SEM", "95% CI", "IQR", "range", "–", "—", "～", "至", "n = ", "p<", "0.001", "%", "分",
        "ASIA 运动评分", "基线", "12个月", "from", "to", "从", "提升至", "４０．７", ".", "。", ",",
        "[1]", "³", "2025-09-05", "doi:10.1/x", "aged", "years", "<td>", "</td>", "<tr>", "&plusmn;",
        "<sup>", "</sup>", "&lt;", "|", "---",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_FRAGMENTS, max_size=40), st.booleans())
def test_offsets_are_exact_on_generated_text(parts, is_html):
    src = "".join(parts)
    for c in te.extract_text(src, "g", is_html=is_html):
        assert src[c.start : c.end] == c.text
        assert c.kind in te.KINDS
        assert 0 <= c.start < c.end <= len(src)


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet="abc xyz,;", max_size=30),
    st.decimals(min_value=0, max_value=500, places=1, allow_nan=False),
    st.decimals(min_value=0, max_value=99, places=2, allow_nan=False),
    st.sampled_from(["±", " ± ", " +/- ", "（±", " (SD "]),
    st.text(alphabet="abc xyz", max_size=30),
)
def test_a_planted_mean_and_sd_is_found_where_it_is(before, mean, sd, sign, after):
    stat = f"{mean}{sign}{sd}" + (")" if "(" in sign else "）" if "（" in sign else "")
    src = f"{before} {stat} {after}"
    cands = [c for c in te.extract_text(src, "g") if c.kind == "mean_sd"]
    assert len(cands) == 1
    c = cands[0]
    assert (c.start, c.text) == (len(before) + 1, stat)
    assert (c.estimate, c.spread) == (str(mean), str(sd))


# --------------------------------------------------------------------------- review, drafts, CLI
def test_review_synonyms_name_the_outcome():
    review = sio.read_review(REPO)
    terms = te.outcome_terms(review.config)
    assert "ASIA 运动评分" in terms["asia_motor"]
    src = "ASIA 运动评分为40.7±17.0分，SCIM-III self-care 8.0 ± 5.53。"
    cands = te.extract_text(src, "t", terms=terms)
    assert [c.outcome for c in cands] == ["asia_motor", "scim_selfcare"]


def test_draft_outcomes_rows_follow_the_sheet(tmp_path):
    out = tmp_path / "draft.csv"
    status = cli_main(
        ["extract-text", "--review", str(REPO), "--draft-outcomes", "--out", str(out),
         str(CORPUS / "results.md")]
    )
    assert status == 0
    draft = pd.read_csv(out, dtype=str, keep_default_na=False)
    sheet = pd.read_csv(REPO / "data/raw/outcomes.csv", dtype=str, nrows=0)
    assert list(draft.columns) == list(sheet.columns)
    first = draft.iloc[0]
    assert (first["study_id"], first["outcome"], first["timepoint"], first["n"]) == (
        "results", "asia_light_touch", "0", "106")
    assert (first["mean"], first["sd"], first["arm"]) == ("57.6", "22.8", "")
    src = _source(CORPUS / "results.md")
    for r in draft.to_dict("records"):
        start, end = map(int, r["source"].rsplit(":", 1)[1].split("-"))
        assert r["mean"] in src[start:end] and src[start:end] in r["quote"]
        assert te.normalise_quote(r["quote"]) in te.normalise_quote(src)


def test_cli_writes_candidates_to_stdout(capsys):
    assert cli_main(["extract-text", str(CORPUS / "zh_traditional.txt")]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert tuple(rows[0]) == te.CANDIDATE_COLUMNS
    assert rows[1]["text"] == "４０．７（±１７）" and rows[1]["estimate"] == "40.7"


def test_cli_bad_input_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"40.7 \xff 17")
    out = tmp_path / "out.csv"
    assert cli_main(["extract-text", str(CORPUS / "results.md"), str(bad), "--out", str(out)]) == 1
    assert "bad.txt:1:6: not UTF-8" in capsys.readouterr().err
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]
    assert cli_main(["extract-text", str(tmp_path / "missing.txt")]) == 1


# --------------------------------------------------------------------------- provenance
def _audit(review_dir):
    r = sio.read_review(review_dir)
    arms, _ = build_arms(r)
    return audit_review(r, arms)


def test_example_review_passes_the_provenance_check():
    f = _audit(REPO)
    prov = f[f["check"] == "quote_source"]
    studies = set(pd.read_csv(REPO / "data/raw/studies.csv")["study_id"])
    assert set(prov["study_id"]) == studies  # every study ships its source text
    assert set(prov["severity"]) == {"info"}
    oc = pd.read_csv(REPO / "data/raw/outcomes.csv", dtype=str, keep_default_na=False)
    for sid, n in oc.groupby("study_id").size().items():
        msg = prov.loc[prov["study_id"] == sid, "message"].iloc[0]
        assert msg.startswith(f"{n} of {n} quotes found verbatim")


def _copy_example(tmp_path):
    dst = tmp_path / "review"
    shutil.copytree(REPO / "config", dst / "config")
    shutil.copytree(REPO / "data" / "raw", dst / "data" / "raw")
    return dst


def test_provenance_lists_each_failing_row(tmp_path):
    review = _copy_example(tmp_path)
    src = review / "data/raw/sources/srivastava2019.txt"
    src.write_text(src.read_text(encoding="utf-8").replace("8.52 (95% CI", "8.25 (95% CI"),
                   encoding="utf-8")
    (review / "data/raw/sources/shin2015.md").write_bytes(b"\xff")
    (review / "data/raw/sources/nobody.txt").write_text("x", encoding="utf-8")
    f = _audit(review)
    prov = f[f["check"] == "quote_source"]
    warn = prov[prov["severity"] == "warning"]
    oc = pd.read_csv(review / "data/raw/outcomes.csv", dtype=str)
    row = int(oc.index[(oc.study_id == "srivastava2019") & (oc.outcome == "asia_sensory")][0]) + 2
    assert ("srivastava2019", str(row), "quote") in set(zip(warn.study_id, warn.rows, warn.column))
    mine = warn[warn.study_id == "srivastava2019"]
    assert list(mine.message) == ["quote not found verbatim in data/raw/sources/srivastava2019.txt"]
    assert any("nobody.txt" in m for m in warn.message)
    err = prov[prov["severity"] == "error"]
    assert list(err.message) == ["data/raw/sources/shin2015.md: data/raw/sources/shin2015.md:1:1: "
                                 "not UTF-8 (byte 0xff); save the text as UTF-8"]
    info = prov.loc[(prov.severity == "info") & (prov.study_id == "srivastava2019"), "message"]
    assert info.iloc[0].startswith("1 of 2 quotes")


def test_quote_normalisation_is_nfkc_and_white_space():
    assert te.normalise_quote("４０．７（±１７）\n  at\u00a0baseline ") == "40.7(±17) at baseline"
    assert te.normalise_quote("40.7–17") != te.normalise_quote("40.7-17")  # dashes differ
    html_text = te.source_text("<table><tr><td>ASIA motor</td><td>40.7 &plusmn; 17</td></tr></table>",
                               is_html=True)
    assert te.normalise_quote("ASIA motor | 40.7 ± 17") in te.normalise_quote(html_text)


def test_audit_page_has_the_provenance_section():
    f = _audit(REPO)
    empty = pd.DataFrame()
    page = audit_page(title="t", effects=pd.DataFrame(columns=["outcome"]), arms=empty, findings=f,
                      counts=pd.DataFrame(columns=["outcome"]), excluded=empty, outcome_labels={})
    section = page.split("<h2>Provenance of the quotes</h2>", 1)[1].split("<h2>", 1)[0]
    assert "24 of 24 quotes found verbatim in data/raw/sources/akhlaghpasand2025.md" in section
    none = audit_page(title="t", effects=pd.DataFrame(columns=["outcome"]), arms=empty,
                      findings=f[f["check"] != "quote_source"], counts=pd.DataFrame(columns=["outcome"]),
                      excluded=empty, outcome_labels={})
    assert "the quotes were not checked" in none


def test_html_headers_spanning_columns():
    src = ("<table><tr><th>Outcome</th><th colspan=\"2\">12 months, mean (SD)</th></tr>"
           "<tr><th></th><th>Cells</th><th>Control</th></tr>"
           "<tr><td>ASIA motor</td><td>43.3 (15.9)</td><td>40.1 (14.2)</td></tr></table>")
    cands = te.extract_text(src, "t", is_html=True)
    assert [(c.text, c.kind, c.col_header, c.timepoint_months) for c in cands] == [
        ("43.3 (15.9)", "mean_sd", "12 months, mean (SD) Cells", "12"),
        ("40.1 (14.2)", "mean_sd", "12 months, mean (SD) Control", "12"),
    ]
    assert cands[1].population == "control" and cands[0].outcome == "asia_motor"
