"""Journal artefacts: validation of the risk-of-bias sheet and the PRISMA block through
``scimeta validate``, the report's building blocks (Markdown, inline SVG, captions) and the
page itself with hostile review texts."""

import html.parser
import re
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from scimeta import cli
from scimeta.io import read_raw, read_review
from scimeta.journal import NO_PRISMA, NO_ROB_SHEET, missing_inputs, rob_table
from _settings import config, outcome
from scimeta.settings import comparison_text
from scimeta.review_report import (figure_caption, inline_svg, review_report,
                                   small_k_warnings)
from scimeta.safe import markdown_html
from scimeta.io import validate_review
from scimeta.validate import ReviewError

REPO = Path(__file__).resolve().parents[1]
HOSTILE = ("<script>alert('x')</script><img src=x onerror=alert(2)><svg onload=alert(1)>"
           '<!-- "q" &amp; </textarea>')


def example(tmp_path) -> Path:
    review = tmp_path / "review"
    shutil.copytree(REPO / "config", review / "config")
    shutil.copytree(REPO / "data/raw", review / "data/raw")
    return review


def edit_csv(path: Path, fn) -> None:
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    fn(table)
    table.to_csv(path, index=False, lineterminator="\n")


def errors(review) -> list[str]:
    return [str(p) for p in validate_review(review) if p.severity == "error"]


# ------------------------------------------------------------------ validation
def test_example_review_sheet_and_block_are_valid():
    problems = validate_review(REPO)
    assert not [p for p in problems if p.severity == "error"]
    assert not [p for p in problems if "risk_of_bias" in p.file or "prisma" in str(p.column)]
    review = read_review(REPO)
    table = review.risk_of_bias
    assert table is not None and len(table) == 44
    # every judgement is a real one with its reason, none left at a placeholder
    assert (table["support"].str.len() >= 20).all()
    assert table["support"].nunique() >= 40
    assert set(table["study_id"]) == set(review.studies["study_id"])


def test_risk_of_bias_errors_name_file_row_column(tmp_path, capsys):
    review = example(tmp_path)

    def spoil(t):
        t.loc[1, "judgement"] = "probably fine"  # spreadsheet row 3
        t.loc[4, "support"] = ""  # row 6
        t.loc[10, "study_id"] = "nobody2020"  # row 12

    edit_csv(review / "data/raw/risk_of_bias.csv", spoil)
    found = errors(review)
    assert any(e.startswith("data/raw/risk_of_bias.csv:3:judgement: 'probably fine' is not")
               for e in found), found
    assert ("data/raw/risk_of_bias.csv:6:support: a judgement needs its support: the quote or "
            "the reason") in found
    assert ("data/raw/risk_of_bias.csv:12:study_id: study 'nobody2020' is not in the studies "
            "sheet") in found
    assert cli.main(["validate", str(review)]) == 1
    err = capsys.readouterr().err
    assert "data/raw/risk_of_bias.csv:3:judgement" in err
    with pytest.raises(ReviewError):
        read_review(review)


def test_overall_milder_than_a_domain_is_an_error(tmp_path):
    review = example(tmp_path)

    def spoil(t):
        i = t.index[(t.study_id == "shin2015") & (t.domain == "overall")][0]
        t.loc[i, "judgement"] = "moderate"

    edit_csv(review / "data/raw/risk_of_bias.csv", spoil)
    assert any("overall 'moderate' is milder than domain D1 ('serious')" in e
               for e in errors(review))


def _prisma_line(review: Path, key: str) -> int:
    return read_raw(review).config_lines[key]


@pytest.mark.parametrize("old, new, key, text", [
    ("  screened: 5\n", "  screened: 6\n", "prisma.screened",
     "is 6 but records identified (5) − duplicates removed (0) − other removed (0) = 5"),
    ("  excluded_screening: 0\n", "  excluded_screening: 1\n", "prisma.sought",
     "is 5 but records screened (5) − excluded at screening (1) = 4"),
    ("  not_retrieved: 0\n", "  not_retrieved: 2\n", "prisma.assessed",
     "is 5 but reports sought (5) − not retrieved (2) = 3"),
    ("  excluded_reasons: {}\n", "  excluded_reasons: {no outcome: 1}\n", "prisma.reports_included",
     "is 5 but reports assessed (5) − excluded with reasons (1) = 4"),
    ("  studies_included: 5\n", "  studies_included: 4\n", "prisma.studies_included",
     "is 4 but the studies sheet has 5 studies (distinct cohorts)"),
    ("{screened: 189, excluded: 83,", "{screened: 190, excluded: 83,",
     "prisma.participants.akhlaghpasand2025.included",
     "is 106 but screened (190) − excluded (83) = 107"),
])
def test_prisma_arithmetic_through_validate(tmp_path, capsys, old, new, key, text):
    review = example(tmp_path)
    cfg = review / "config/config.yaml"
    source = cfg.read_text(encoding="utf-8")
    assert old in source
    cfg.write_text(source.replace(old, new), encoding="utf-8")
    line = _prisma_line(review, key)
    expected = f"config/config.yaml:{line}:{key}: {text}"
    assert expected in errors(review)
    assert cli.main(["validate", str(review)]) == 1
    assert expected in capsys.readouterr().err


def test_reports_included_must_equal_the_rows_of_studies(tmp_path):
    review = example(tmp_path)
    cfg = review / "config/config.yaml"
    text = cfg.read_text(encoding="utf-8")
    for key in ("screened", "sought", "assessed", "reports_included", "studies_included"):
        text = text.replace(f"  {key}: 5\n", f"  {key}: 6\n")
    text = text.replace("other: {reports named at the project's founding: 5}",
                        "other: {reports named at the project's founding: 6}")
    cfg.write_text(text, encoding="utf-8")
    found = errors(review)
    assert any(":prisma.reports_included: is 6 but the studies sheet has 5 reports (rows)" in e
               for e in found), found
    assert any(":prisma.studies_included: is 6 but the studies sheet has 5 studies" in e
               for e in found), found


def test_risk_of_bias_sheet_of_a_workbook(tmp_path):
    review = example(tmp_path)
    raw = review / "data/raw"
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name in ("studies", "outcomes", "risk_of_bias"):
        ws = wb.create_sheet(name)
        with (raw / f"{name}.csv").open(encoding="utf-8") as fh:
            import csv
            for rec in csv.reader(fh):
                ws.append([None if v == "" else v for v in rec])
        (raw / f"{name}.csv").unlink()
    ws = wb["risk_of_bias"]
    ws["D3"] = "maybe"
    wb.save(raw / "extraction.xlsx")
    found = errors(review)
    assert any(e.startswith("data/raw/extraction.xlsx:risk_of_bias:3:judgement: 'maybe'")
               for e in found), found
    # a risk-of-bias CSV beside a workbook that has the sheet is ambiguous
    shutil.copy(REPO / "data/raw/risk_of_bias.csv", raw / "risk_of_bias.csv")
    assert any("keep only one" in e for e in errors(review))


def test_review_without_sheet_or_block_says_so(tmp_path):
    review = example(tmp_path)
    (review / "data/raw/risk_of_bias.csv").unlink()
    cfg = review / "config/config.yaml"
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(text[:text.index("prisma:")], encoding="utf-8")
    r = read_review(review)
    assert r.risk_of_bias is None
    assert missing_inputs(r) == [NO_ROB_SHEET, NO_PRISMA]
    table = rob_table(r)
    assert len(table) == 1 and table["note"].iloc[0] == NO_ROB_SHEET


# ------------------------------------------------------------------ report pieces
class _Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(text):
    p = _Tags()
    p.feed(text)
    p.close()
    return p


def test_markdown_html_renders_its_subset_and_no_markup():
    from scimeta.methods import md_escape

    md = ("# Methods\n\n## Synthesis\n\nRandom effects, **REML**, *draft*, `prepost_r`; "
          "p < 0.001 & more.\n\n- " + md_escape(HOSTILE + " *x* `y`") + "\n- second\n")
    out = markdown_html(md, heading_offset=2)
    parsed = parse(out)
    assert [t for t, _ in parsed.tags] == ["h3", "h4", "p", "strong", "em", "code", "ul", "li",
                                           "li"]
    text = "".join(parsed.text)
    assert HOSTILE + " *x* `y`" in text  # the review text reads as written
    assert "p < 0.001 & more." in text


def test_inline_svg_prefixes_ids_and_references_only_in_tags():
    svg = ('<?xml version="1.0" encoding="utf-8" standalone="no"?>\n'
           '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x.dtd">\n'
           '<svg xmlns:xlink="http://www.w3.org/1999/xlink" width="504pt" height="100pt">'
           '<defs><clipPath id="p1"><rect/></clipPath><path id="m2" d="M0 0"/></defs>'
           '<g clip-path="url(#p1)"><use xlink:href="#m2"/></g>'
           '<text>id="p1" url(#p1) &lt;b&gt;</text></svg>')
    body, width = inline_svg(svg, "f7-")
    assert body.startswith("<svg") and "<?xml" not in body and "DOCTYPE" not in body
    assert 'id="f7-p1"' in body and 'id="f7-m2"' in body
    assert 'url(#f7-p1)' in body and 'xlink:href="#f7-m2"' in body
    assert '<text>id="p1" url(#p1) &lt;b&gt;</text>' in body  # text untouched
    assert width == pytest.approx(504 * 96 / 72)


def test_small_k_warnings_and_captions_name_the_pool():
    cfg = config()
    thresholds = dict(min_k_small_study=cfg["figures"]["min_k_small_study"],
                      pi_min_k=cfg["analysis"]["pi_min_k"])
    assert small_k_warnings("forest", 1, **thresholds)[0].startswith("one study")
    assert any("prediction interval" in w for w in small_k_warnings("forest", 2, **thresholds))
    assert any("k = 4 < 10" in w for w in small_k_warnings("funnel", 4, **thresholds))
    assert small_k_warnings("forest", 12, **thresholds) == []
    # the thresholds are the config's, not the report's own
    assert not any("funnel" in w for w in small_k_warnings("funnel", 4, min_k_small_study=4,
                                                             pi_min_k=3))
    primary = pd.Series({"k": 3, "n": 134, "model": "random", "tau2_method": "REML",
                         "ci_method": "hksj"})
    item = {"kind": "funnel", "comparison": "pre_post", "measure": "MC", "var": ""}
    arms = outcome(arms={"treatment": "Cells", "control": "Usual care"})["arms"]
    cap = figure_caption(item, HOSTILE, primary, arms=arms, level=0.95, **thresholds)
    assert "mean change (MC); k = 3, 134 participants" in cap
    assert "τ² by REML, Hartung–Knapp–Sidik–Jonkman CI" in cap
    assert "k = 3 &lt; 10: funnel asymmetry" in cap
    assert comparison_text("pre_post", arms) in cap
    assert "<script" not in cap and "&lt;script&gt;" in cap


def _page(**overrides):
    studies = pd.DataFrame({"study_id": ["s1"], "author": [HOSTILE], "year": [2020.0],
                            "title": ["=HYPERLINK(\"x\") " + HOSTILE], "journal": ["J"],
                            "doi": ["javascript:alert(1)"]})
    study_table = pd.DataFrame({"study_id": ["s1"], "study": [HOSTILE], "design": ["rct"],
                                "n_enrolled": [10.0], "intervention": [HOSTILE],
                                "route": [""], "note": [""]})
    sof = pd.DataFrame({"outcome": ["o"], "label": [HOSTILE], "comparison": ["between_arms"],
                        "k": [1], "n": [10], "effect": ["MD 1.00"], "certainty": ["low"],
                        "note": [HOSTILE], "start": ["high"], "downgrades": [2],
                        **{c: ["serious"] for c in ("risk_of_bias", "inconsistency",
                                                    "indirectness", "imprecision",
                                                    "publication_bias")},
                        **{f"{c}_reason": [HOSTILE] for c in ("risk_of_bias", "inconsistency",
                                                             "indirectness", "imprecision",
                                                             "publication_bias")}})
    empty = pd.DataFrame(columns=["outcome", "subgroup_var"])
    args = dict(config=config(title=HOSTILE, question=HOSTILE, outcomes={"o": outcome(
                    label=HOSTILE, timepoint=12, unit=HOSTILE)}),
                studies=studies, study_table=study_table, sof=sof,
                rob=pd.DataFrame([{"study_id": None, "note": HOSTILE}]),
                tables={"pooled": empty, "excluded": pd.DataFrame(
                    {"outcome": ["o"], "study_id": ["s1"], "reason": [HOSTILE]})},
                figures=[], journal_figures={}, methods_md="# Methods\n\n" + HOSTILE + "\n",
                manifest=pd.DataFrame([{"file": HOSTILE, "bytes": 1, "sha256": "0" * 64}]),
                missing=[HOSTILE])
    args.update(overrides)
    return review_report(**args)


def test_report_page_escapes_every_review_text():
    page = _page()
    parsed = parse(page)
    tags = {t for t, _ in parsed.tags}
    assert not tags & {"script", "img", "svg", "iframe", "object", "textarea"}, tags
    for tag, attrs in parsed.tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        for value in attrs.values():
            assert "javascript:" not in str(value), (tag, attrs)
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    text = "".join(parsed.text)
    assert text.count(HOSTILE) >= 10  # title, question, label, unit, notes, authors ... as text
    assert 'Akhlaghpasand' not in page and "=HYPERLINK" in text  # the title as written
    assert "<!--" not in page.split("<style>")[0] + page.split("</style>")[1]
    assert page == _page()  # deterministic


def test_report_loads_nothing_from_outside():
    page = _page()
    assert "default-src 'none'" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//|data:text)""", page)
    assert not re.search(r"@import|url\(\s*['\"]?https?:", page)


def test_summary_of_findings_reasons_are_numbered_footnotes():
    from scimeta.review_report import grade_footnotes

    sof = pd.DataFrame({"start": ["low", "low"], "start_reason": ["starts low", "starts low"],
                        "imprecision": ["serious", "not serious"],
                        "imprecision_reason": ["a single study", "k = 2: enough"],
                        "risk_of_bias": [None, None]})
    cells, notes = grade_footnotes(sof)
    assert notes == ["Starts low.", "A single study.", "k = 2: enough."]  # one number each
    assert cells[0]["start"] == "low<sup>1</sup>" and cells[1]["start"] == "low<sup>1</sup>"
    assert cells[1]["imprecision"] == "not serious<sup>3</sup>"
    assert cells[0]["risk_of_bias"] == ""
    page = _page(sof=pd.DataFrame({
        "outcome": ["o"], "label": ["Motor"], "comparison": ["pre_post"], "k": [1], "n": [10],
        "effect": ["MC 1.00"], "certainty": ["very low"], "note": [""], "start": ["low"],
        "start_reason": ["single-arm evidence starts low"], "imprecision": ["serious"],
        "imprecision_reason": ["a single study"]}))
    assert "low<sup>1</sup>" in page and "serious<sup>2</sup>" in page
    assert '<ol class="footnotes"><li>Single-arm evidence starts low.</li>' in page
    assert "not a comparative effect" in page


def test_report_lists_caveats_audit_findings_and_figures_not_drawn():
    audit = pd.DataFrame({
        "check": ["quote_numbers", "se_as_sd", "prepost_r", "excluded"],
        "severity": ["info", "warning", "warning", "error"],
        "study_id": ["s1", "s1", HOSTILE, "s2"], "outcome": ["o", "o", "o;p", ""],
        "rows": ["3", "4", "5", "6"], "column": ["", "sd", "", ""],
        "message": ["fine", "SD 2.6 may be an SE", HOSTILE, "no n"]})
    caveats = pd.DataFrame({
        "caveat": [1, 1, 1, 2], "kind": ["overlap"] * 3 + ["other"],
        "text": ["Same centre."] * 3 + ["Doses differ."],
        "studies": ["s1;s2"] * 3 + [""], "outcome": ["o", "o", "o", None],
        "comparison": ["pre_post"] * 3 + [None], "measure": ["MC"] * 3 + [None],
        "left_out": ["", "s1", "s2", None], "k": [3, 2, 2, None],
        "estimate": [5.13, 7.65, 5.36, None], "ci_low": [1.0, 2.0, 3.0, None],
        "ci_high": [9.0, 8.0, 7.0, None], "note": ["all studies", "", "", "no analysis"]})
    cfg = config(outcomes={"o": outcome(label="Motor", timepoint=12)}, caveats=[
        {"kind": "overlap", "studies": ["s1", "s2"], "text": "Same centre."},
        {"kind": "other", "studies": [], "text": "Doses differ."}])
    figures = [{"kind": "funnel", "outcome": "o", "comparison": "pre_post", "measure": "MC",
                "var": "", "stem": "funnel_o_MC", "svg": "<svg width=\"10pt\"></svg>",
                "not_drawn": "This figure could not be drawn: bad number"}]
    empty = pd.DataFrame(columns=["outcome", "subgroup_var", "comparison", "measure",
                                  "primary"])
    warnings = pd.DataFrame({
        "outcome": ["o"], "figure": ["funnel_o_MC"], "kind": ["funnel"],
        "comparison": ["pre_post"], "measure": ["MC"], "var": [""], "status": ["not drawn"],
        "reason": ["This figure could not be drawn: bad number"]})
    page = _page(config=cfg, figures=figures, tables={
        "pooled": empty, "excluded": pd.DataFrame(columns=["outcome"]), "audit": audit,
        "caveats": caveats, "figure_warnings": warnings})
    section = page.split('<h2 id="caveats">')[1].split('<h2 id="rob">')[0]
    assert "Caveat 1</b> (s1, s2): Same centre." in section
    assert "without s1" in section and "7.65 (2.00 to 8.00)" in section
    assert "Caveat 2</b>: Doses differ." in section
    # warnings and errors, each linked to its row of the audit page and to its outcome;
    # the info finding only counted
    assert "1 error, 2 warnings; 1 further findings for information" in section
    assert '<a href="audit.html#finding-2">row 2</a>' in section
    assert '<a href="audit.html#finding-4">row 4</a>' in section
    assert "audit.html#finding-1" not in section
    assert '<a href="#outcome-o">Motor</a>, <a href="#outcome-p">p</a>' in section
    assert section.index("finding-4") < section.index("finding-2")  # errors first
    assert "&lt;script&gt;" in section and "<script" not in section
    assert ('<a href="#fig-funnel_o_MC">funnel_o_MC</a> (Motor): not drawn: This figure '
            "could not be drawn: bad number") in section  # from figure_warnings.csv


def test_audit_page_rows_carry_the_anchors_the_report_links_to():
    from scimeta.report import audit_page

    findings = pd.DataFrame({"check": ["a", "b"], "severity": ["info", "warning"],
                             "study_id": ["s1", "s2"], "outcome": ["o", "o"], "rows": ["1", "2"],
                             "column": ["", ""], "message": ["m1", "m2"]})
    page = audit_page(title="Audit", effects=pd.DataFrame(columns=["outcome"]),
                      arms=pd.DataFrame(columns=["source_row"]), findings=findings,
                      counts=pd.DataFrame({"outcome": ["o"], "included": [1]}),
                      excluded=pd.DataFrame(columns=["reason"]), outcome_labels={})
    # sorted by severity (the warning first), each row keeps its audit.csv number
    assert page.index('<tr id="finding-2">') < page.index('<tr id="finding-1">')
