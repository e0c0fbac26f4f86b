"""scimeta.report.audit_page: escaping, a trace for every effect size, counts and findings."""

import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "data" / "extraction"))
from review_factory import copy_review, outcome_line, write_outcomes  # noqa: E402

from scimeta import io as sio  # noqa: E402
from scimeta.audit import audit_review, outcome_counts  # noqa: E402
from scimeta.compare import build_effects  # noqa: E402
from scimeta.extract import build_arms  # noqa: E402
from scimeta.report import audit_page  # noqa: E402

#: yi and vi are printed with 6 significant digits.
PRINTED_RTOL = 5e-6

HOSTILE_AUTHOR = "<script>alert('author')</script>"
HOSTILE_SOURCE = '<img src=x onerror="alert(1)"> Table 2'
HOSTILE_QUOTE = "40.7 (17) <script>alert('quote')</script> & more"


class _Page(HTMLParser):
    """Tags, class attributes and, per table, rows of cell texts (nested lists flattened)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.classes = set()
        self.tables = []  # (heading before the table, rows); rows = list of list of cell text
        self._heading = ""
        self._in_heading = False
        self._depth = 0
        self._row = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for k, v in attrs:
            if k == "class":
                self.classes.add(v)
        if tag in ("h2", "h3"):
            self._in_heading, self._heading = True, ""
        elif tag == "table":
            self._depth += 1
            self.tables.append((self._heading, []))
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag):
        if tag in ("h2", "h3"):
            self._in_heading = False
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1][1].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._in_heading:
            self._heading += data
        if self._cell is not None:
            self._cell.append(data)


def _build(review_dir):
    r = sio.read_review(review_dir)
    arms, exc = build_arms(r)
    effects, exc_eff = build_effects(arms, r.studies, r.config)
    findings = audit_review(r, arms)
    counts = outcome_counts(arms, exc)
    labels = {k: v["label"] for k, v in r.config["outcomes"].items()}
    page = audit_page(
        title="Audit <of> the extraction",
        effects=effects,
        arms=arms,
        findings=findings,
        counts=counts,
        excluded=exc,
        outcome_labels=labels,
    )
    return r, arms, effects, findings, counts, page


def _hostile_review(tmp_path):
    review = copy_review(tmp_path)
    studies = review / "data/raw/studies.csv"
    text = studies.read_text(encoding="utf-8")
    text = text.replace(
        "akhlaghpasand2025,,Akhlaghpasand,", f'akhlaghpasand2025,,"{HOSTILE_AUTHOR}",'
    )
    text = text.replace(
        "shin2015,,Shin,2015,Clinical Trial", 'shin2015,,Shin,2015,"<b>Clinical</b> Trial'
    ).replace("Cervical Spinal Cord Injury,", 'Cervical Spinal Cord Injury",', 1)
    studies.write_text(text, encoding="utf-8")
    body = (review / "data/raw/outcomes.csv").read_text(encoding="utf-8").splitlines()[1:]
    # row 2 (Akhlaghpasand baseline) gets the hostile source and quote
    body[0] = outcome_line(source=HOSTILE_SOURCE, quote=HOSTILE_QUOTE)
    write_outcomes(review, body)
    return review


def test_sheet_text_is_escaped(tmp_path):
    _, _, effects, _, _, page = _build(_hostile_review(tmp_path))
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    assert "<b>" not in page
    assert "&lt;script&gt;alert(&#x27;author&#x27;)&lt;/script&gt;" in page
    assert "&lt;script&gt;alert(&#x27;quote&#x27;)&lt;/script&gt; &amp; more" in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; Table 2" in page
    assert "<title>Audit &lt;of&gt; the extraction</title>" in page
    parsed = _Page()
    parsed.feed(page)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    # the text survives escaping: the parser reads back exactly what the sheet holds
    cells = "\n".join(c for _, rows in parsed.tables for row in rows for c in row)
    assert HOSTILE_QUOTE in cells and HOSTILE_SOURCE in cells
    assert (effects["study_id"] == "akhlaghpasand2025").any()


def _effect_rows(parsed):
    out = []
    for heading, rows in parsed.tables:
        if rows and rows[0][:4] == ["study", "population", "comparison", "measure"]:
            out.extend((heading, row) for row in rows[1:])
    return out


def _check_every_effect_traced(r, arms, effects, page):
    parsed = _Page()
    parsed.feed(page)
    rows = _effect_rows(parsed)
    assert len(rows) == len(effects) > 0
    labels = {k: v["label"] for k, v in r.config["outcomes"].items()}
    by_row = {}
    for a in arms.to_dict("records"):
        if a["mean_method"] != "combined_subgroups":
            by_row[int(a["source_row"])] = a
    unmatched = list(rows)
    for eff in effects.to_dict("records"):
        hit = None
        for i, (heading, cells) in enumerate(unmatched):
            if (
                heading == labels[eff["outcome"]]
                and cells[:4]
                == [eff["label"], eff["population"], eff["comparison"], eff["measure"]]
                and float(cells[4]) == pytest.approx(eff["yi"], rel=PRINTED_RTOL)
                and float(cells[5]) == pytest.approx(eff["vi"], rel=PRINTED_RTOL)
            ):
                hit = unmatched.pop(i)
                break
        assert hit is not None, f"no table row for effect {eff}"
        trace = hit[1][7]
        for src in str(eff["source_rows"]).split(";"):
            arm = by_row[int(src)]
            components = [arm]
            synth = arms[
                (arms["source_row"] == int(src))
                & (arms["mean_method"] == "combined_subgroups")
                & (arms["population"] == eff["population"])
                & (arms["study_id"] == eff["study_id"])
                & (arms["outcome"] == eff["outcome"])
            ]
            if len(synth):
                components = [by_row[int(x)] for x in synth["source_rows"].iloc[0].split(";")]
            for c in components:
                assert f"source: {c['source']}" in trace
                assert f"quote: “{c['quote']}”" in trace
    assert not unmatched


def test_every_effect_size_has_its_trace(tmp_path):
    r, arms, effects, _, _, page = _build(_hostile_review(tmp_path))
    _check_every_effect_traced(r, arms, effects, page)


def test_example_review_every_effect_traced():
    repo = Path(__file__).resolve().parents[1]
    r, arms, effects, findings, counts, page = _build(repo)
    _check_every_effect_traced(r, arms, effects, page)
    assert len(findings) > 0


def test_effect_from_combined_subgroups_traces_every_subgroup_row(tmp_path):
    review = copy_review(tmp_path)
    q = {
        ("cervical", 0): "cervical baseline 23.9 (15.8), n 32",
        ("thoracolumbar", 0): "thoracolumbar baseline 47.9 (11.7), n 74",
        ("cervical", 12): "cervical 12 months 29.3 (16.1), n 32",
        ("thoracolumbar", 12): "thoracolumbar 12 months 49.3 (11.5), n 74",
    }
    vals = {
        ("cervical", 0): (32, 23.9, 15.8),
        ("thoracolumbar", 0): (74, 47.9, 11.7),
        ("cervical", 12): (32, 29.3, 16.1),
        ("thoracolumbar", 12): (74, 49.3, 11.5),
    }
    lines = [
        outcome_line(
            population=pop,
            timepoint=t,
            n=n,
            mean=m,
            sd=sd,
            source=f"Table 3 {pop} {t}",
            quote=q[(pop, t)],
        )
        for (pop, t), (n, m, sd) in vals.items()
    ]
    write_outcomes(review, lines)
    r, arms, effects, _, _, page = _build(review)
    all_eff = effects[effects["population"] == "all"]
    assert len(all_eff) > 0  # pre-post effects of the synthesised overall rows
    _check_every_effect_traced(r, arms, effects, page)
    for text in q.values():
        assert text in page


def test_counts_findings_and_severity_classes(tmp_path):
    review = _hostile_review(tmp_path)
    _, arms, _, findings, counts, page = _build(review)
    parsed = _Page()
    parsed.feed(page)
    tables = {h: rows for h, rows in parsed.tables}
    count_rows = tables["Rows included and excluded per outcome"]
    assert count_rows[0] == list(counts.columns)
    assert [row[0] for row in count_rows[1:]] == counts["outcome"].tolist()
    for row, rec in zip(count_rows[1:], counts.to_dict("records")):
        assert [int(x) for x in row[1:]] == [rec[c] for c in counts.columns[1:]]
    f_rows = tables["Findings"]
    assert f_rows[0] == ["severity", "check", "study_id", "outcome", "rows", "column", "message"]
    assert len(f_rows) - 1 == len(findings) > 0
    shown = {tuple(row) for row in f_rows[1:]}
    for rec in findings.to_dict("records"):
        assert (
            rec["severity"],
            rec["check"],
            rec["study_id"],
            rec["outcome"],
            rec["rows"],
            rec["column"],
            rec["message"],
        ) in shown
    # errors first, then warnings, then info
    order = {"error": 0, "warning": 1, "info": 2}
    sev = [order[row[0]] for row in f_rows[1:]]
    assert sev == sorted(sev)
    present = set(findings["severity"])
    assert present >= {"warning", "info"}
    assert present <= parsed.classes
    assert "error" not in present or "error" in parsed.classes


def test_error_severity_class_and_excluded_rows(tmp_path):
    review = copy_review(tmp_path)
    write_outcomes(
        review,
        [
            outcome_line(mean=40, sd="", ci_low=-5, ci_high=85, quote="40 (-5 to 85)"),  # CI past 0: error
            outcome_line(timepoint=12, mean=43.3, sd="", quote="43.3"),  # no SD: excluded
        ],
    )
    _, _, _, findings, _, page = _build(review)
    assert "error" in set(findings["severity"])
    parsed = _Page()
    parsed.feed(page)
    assert "error" in parsed.classes
    tables = {h: rows for h, rows in parsed.tables}
    exc = tables["Excluded rows"]
    assert any("no SD" in " ".join(row) for row in exc[1:])


def test_page_is_deterministic(tmp_path):
    review = _hostile_review(tmp_path)
    assert _build(review)[-1] == _build(review)[-1]
