"""Nothing from a review executes in a reader's tools.

A review with script, event-handler, comment, reStructuredText and
spreadsheet-formula payloads in every text field, every free config text and
two extra column headers of each sheet runs through the workflow once (and
``--report`` to an HTML file); then every HTML page, every SVG and every CSV
written is parsed and checked.
"""

from __future__ import annotations

import csv
import html.parser
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent / "data" / "extraction"))
from review_factory import copy_review  # noqa: E402

from scimeta.safe import FORMULA_PREFIXES  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.workflow

HTML_PAYLOAD = ("<script>alert('x')</script><svg onload=alert(1)><img src=x onerror=alert(2)>"
                '<!-- "q" &amp; </textarea></title>')
FORMULA_PAYLOAD = '=HYPERLINK("http://evil.example/h","x")'
RST_PAYLOAD = "\n\n.. raw:: html\n\n   <script>alert(3)</script>\n"
#: matplotlib's mathtext markup: drawn as typed, never as mathematics (nor an error); one
#: word, so that it stays whole in the "Surname Year" labels
MATH_PAYLOAD = r"$5$vs$10$,$\alpha^2$\beta"
#: one per row, cycling: every prefix a spreadsheet runs, and a number that must stay one
CELL_PAYLOADS = (HTML_PAYLOAD, FORMULA_PAYLOAD, "@SUM(1+1)*cmd|' /C calc'!A0", "+1+cmd",
                 "-2+3", "\tx=1", "-1.5")
STUDY_TEXT = ("author", "title", "journal", "doi", "condition", "intervention", "route", "notes")
OUTCOME_TEXT = ("source", "quote")
ROB_TEXT = ("support",)


def _poison_sheet(path: Path, text_columns) -> None:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for i, row in enumerate(rows):
        for col in text_columns:
            # even rows: the payload after the text; odd rows: a cell starting with a formula
            row[col] = (f"{row[col]} {HTML_PAYLOAD}" if i % 2 == 0
                        else f"{FORMULA_PAYLOAD} {row[col]}")
            if col == "author" and i % 2 == 0:  # the study's label in every figure
                row[col] = MATH_PAYLOAD + row[col]
        row[FORMULA_PAYLOAD] = CELL_PAYLOADS[i % len(CELL_PAYLOADS)]
        row[HTML_PAYLOAD] = CELL_PAYLOADS[(i + 1) % len(CELL_PAYLOADS)]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _add_journal_inputs(review: Path) -> None:
    """The example's risk-of-bias rows of the review's studies, and a prisma block with payloads."""
    studies = pd.read_csv(review / "data/raw/studies.csv", dtype=str, keep_default_na=False)
    rob = pd.read_csv(REPO / "data/raw/risk_of_bias.csv", dtype=str, keep_default_na=False)
    rob[rob["study_id"].isin(studies["study_id"])].to_csv(
        review / "data/raw/risk_of_bias.csv", index=False, lineterminator="\n")
    n = len(studies)
    cohorts = studies["cohort_id"].where(studies["cohort_id"] != "", studies["study_id"])
    cfg_path = review / "config/config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text(encoding="utf-8"))
    cfg["prisma"] = {"identified": {"other": {HTML_PAYLOAD: n}}, "screened": n, "sought": n,
                     "assessed": n, "studies_included": int(cohorts.nunique()),
                     "reports_included": n,
                     "note": MATH_PAYLOAD + HTML_PAYLOAD + FORMULA_PAYLOAD,
                     "participants": {studies["study_id"][0]: {
                         "included": int(float(studies["n_enrolled"][0])) if "n_enrolled" in
                         studies and studies["n_enrolled"][0] else 10, "note": HTML_PAYLOAD}}}
    cfg["title"] = HTML_PAYLOAD
    cfg["question"] = FORMULA_PAYLOAD + HTML_PAYLOAD
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True),
                        encoding="utf-8")


def _poisoned_review(root: Path) -> Path:
    review = copy_review(root)
    _poison_sheet(review / "data/raw/studies.csv", STUDY_TEXT)
    _poison_sheet(review / "data/raw/outcomes.csv", OUTCOME_TEXT)
    _add_journal_inputs(review)
    _poison_sheet(review / "data/raw/risk_of_bias.csv", ROB_TEXT)
    cfg_path = review / "config/config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text(encoding="utf-8"))
    asia, scim = cfg["outcomes"]["asia_motor"], cfg["outcomes"]["scim_total"]
    asia["label"] = (MATH_PAYLOAD + "<script>alert('label')</script><svg onload=alert(1)>"
                     + RST_PAYLOAD)
    asia["unit"] = MATH_PAYLOAD + "<img src=x onerror=alert('unit')>"
    scim["label"] = FORMULA_PAYLOAD + " `x <javascript:alert(1)>`_ {{ 7*7 }} <!--"
    scim["unit"] = "@cmd|' /C calc'!A0"
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True),
                        encoding="utf-8")
    return review


def _snakemake(review: Path, *args: str) -> None:
    cmd = [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "-d", str(review),
           "--cores", "2", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONHASHSEED": "0"})
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def poisoned_run(tmp_path_factory):
    review = _poisoned_review(tmp_path_factory.mktemp("injection"))
    _snakemake(review)
    report = review.parent / "report.html"
    _snakemake(review, "--report", str(report))
    return review, report


class _Elements(html.parser.HTMLParser):
    """Every start tag with its attributes, and the text of each ``<script id=...>``."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.scripts: dict[str, str] = {}
        self._script_id = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "script":
            self._script_id = attrs.get("id")
            if self._script_id:
                self.scripts[self._script_id] = ""

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag == "script":
            self._script_id = None

    def handle_data(self, data):
        if self._script_id:
            self.scripts[self._script_id] += data


def _parse_html(text: str) -> _Elements:
    parser = _Elements()
    parser.feed(text)
    parser.close()
    return parser


def _no_handlers(parsed: _Elements, where: str) -> None:
    for tag, attrs in parsed.tags:
        handlers = [a for a in attrs if a.lower().startswith("on")]
        assert not handlers, f"{where}: <{tag}> has {handlers}"
        for name, value in attrs.items():
            assert "javascript:" not in str(value).lower(), f"{where}: <{tag} {name}={value!r}>"


def _script_var(parsed: _Elements, script_id: str):
    """The JSON value a Snakemake report assigns in ``<script id=...>var x = {...};``."""
    text = parsed.scripts[script_id].strip()
    assert text.startswith("var ") and text.endswith(";"), text[:80]
    return json.loads(text.split("=", 1)[1].strip()[:-1])


def test_snakemake_report_has_only_its_own_scripts(poisoned_run):
    _, report = poisoned_run
    parsed = _parse_html(report.read_text(encoding="utf-8"))
    _no_handlers(parsed, "report.html")
    import snakemake.report.html_reporter as reporter

    template = Path(reporter.__file__).parent / "template" / "index.html.jinja2"
    expected = _parse_html(template.read_text(encoding="utf-8"))
    own = [t for t, _ in expected.tags if t == "script"]
    found = [t for t, _ in parsed.tags if t == "script"]
    assert len(found) == len(own)
    assert {t for t, _ in parsed.tags} <= {t for t, _ in expected.tags}


def test_snakemake_report_data_blocks_parse_and_hold_text_only(poisoned_run):
    _, report = poisoned_run
    parsed = _parse_html(report.read_text(encoding="utf-8"))
    results = _script_var(parsed, "results")
    categories = _script_var(parsed, "categories")
    figures = {p: r for p, r in results.items() if p.startswith("results/figures/")}
    assert figures, "no figure in the report"
    # review-level figures (PRISMA, risk of bias) carry no outcome label
    outcome_labels = {r["labels"]["outcome"] for r in figures.values()
                      if r.get("labels") and "outcome" in r["labels"]}
    # the payloads reached the report, as plain text on one line
    assert any("script" in lab and "alert" in lab for lab in outcome_labels)
    assert any("HYPERLINK" in lab for lab in outcome_labels)
    for path, res in results.items():
        for value in [*res["labels"].values()] if res.get("labels") else []:
            assert not set(str(value)) & set("<>&\"'`\n"), (path, value)
        assert "<" not in res["job_properties"]["params"], (path, res["job_properties"])
        assert "alert" not in res["caption"], (path, res["caption"])
    for subcategories in categories.values():
        for name in subcategories:
            assert not set(name) & set("<>&\"'`\n"), name


def test_audit_page_escapes_every_field(poisoned_run):
    review, _ = poisoned_run
    text = (review / "results/audit.html").read_text(encoding="utf-8")
    parsed = _parse_html(text)
    _no_handlers(parsed, "audit.html")
    assert not [t for t, _ in parsed.tags if t in ("script", "svg", "img", "iframe", "object")]
    assert "&lt;script&gt;alert(&#x27;x&#x27;)" in text  # the payload is shown, as text


def _svg_files(review: Path):
    files = sorted((review / "results/figures").glob("*.svg"))
    assert files
    return files


def test_svgs_hold_no_script_and_show_the_labels_as_text(poisoned_run):
    review, _ = poisoned_run
    shown = ""
    for path in _svg_files(review):
        root = ET.parse(path).getroot()
        for el in root.iter():
            tag = el.tag.rsplit("}", 1)[-1]
            assert tag not in ("script", "foreignObject", "iframe", "a"), (path.name, tag)
            for name, value in el.attrib.items():
                local = name.rsplit("}", 1)[-1].lower()
                assert not local.startswith("on"), (path.name, tag, name)
                assert "javascript:" not in value.lower(), (path.name, tag, name)
            shown += "".join(el.itertext()) if tag == "text" else ""
    assert "<script>alert('label')</script>" in shown
    assert FORMULA_PAYLOAD in shown


#: The kinds of figure of this run, by the start of their file names (funnel, bubble, GOSH
#: and cumulative plots need more studies: tests/test_literal_text.py draws them).
FIGURE_KINDS = ("forest_", "sensitivity_r_", "rob_traffic_light", "rob_summary", "prisma")


def test_every_figure_draws_review_text_literally(poisoned_run):
    """Mathtext markup in labels ($...$, backslashes) is drawn as typed in every kind of
    figure of the run: the SVG's text holds it verbatim."""
    review, _ = poisoned_run
    literal = {}
    for path in sorted((review / "results/figures").glob("*.svg")):
        root = ET.parse(path).getroot()
        texts = ["".join(el.itertext()) for el in root.iter()
                 if el.tag.rsplit("}", 1)[-1] == "text"]
        literal[path.name] = any(MATH_PAYLOAD in t for t in texts)
    for kind in FIGURE_KINDS:
        mine = {name: ok for name, ok in literal.items() if name.startswith(kind)}
        assert mine, f"no {kind} figure"
        assert any(mine.values()), f"{kind}: no figure shows {MATH_PAYLOAD!r} as typed"


def _csv_files(review: Path):
    files = sorted([*review.glob("data/processed/**/*.csv"), *review.glob("results/**/*.csv")])
    assert len(files) > 20
    return files


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_no_csv_cell_or_header_starts_a_formula(poisoned_run):
    review, _ = poisoned_run
    neutralised_headers = set()
    for path in _csv_files(review):
        with path.open(encoding="utf-8", newline="") as fh:
            records = list(csv.reader(fh))
        for i, record in enumerate(records):
            for j, cell in enumerate(record):
                assert not cell.startswith(FORMULA_PREFIXES) or _is_number(cell), (
                    f"{path.relative_to(review)}:{i + 1}:{j + 1}: {cell!r}")
        neutralised_headers.update(h for h in records[0] if h.startswith("'"))
    arms = (review / "data/processed/arms.csv").read_text(encoding="utf-8")
    assert "'" + FORMULA_PAYLOAD.replace('"', '""') in arms  # the payload is kept, as text
    assert "'" + FORMULA_PAYLOAD in neutralised_headers
    assert "\n-1.5," in arms or ",-1.5," in arms or ",-1.5\n" in arms  # numbers stay numbers


def _schema_node(schema: dict, keys: list[str]) -> dict:
    node = schema
    for key in keys:
        if key.isdigit():
            node = node["items"]
        else:
            node = node["properties"][key]
    return node


def _holds_no_text(node: dict) -> bool:
    """A config value that cannot carry review text: an enum, a number or a boolean (or lists of them)."""
    if node.get("type") == "array":
        return _holds_no_text(node["items"])
    return "enum" in node or node.get("type") in ("number", "integer", "boolean")


def test_captions_render_no_free_text_of_the_config():
    """Captions are Jinja + reStructuredText: they may show only values that hold no text."""
    import re

    schema = yaml.safe_load((REPO / "src/scimeta/schemas/config.schema.yaml").read_text())
    expressions = []
    for path in sorted((REPO / "workflow/report").glob("*.rst")):
        text = path.read_text(encoding="utf-8")
        for expr in re.findall(r"\{[{%](.*?)[}%]\}", text, flags=re.S):
            expressions.append((path.name, expr))
    assert expressions
    for name, expr in expressions:
        for ref in re.findall(r"snakemake\.(\w+)((?:\[[^\]]+\])*)", expr):
            source, subscripts = ref
            assert source == "config", f"{name}: {expr!r} reads snakemake.{source}"
            keys = [k.strip("\"' ") for k in re.findall(r"\[([^\]]+)\]", subscripts)]
            assert _holds_no_text(_schema_node(schema, keys)), f"{name}: {expr!r}"


def test_review_report_escapes_every_field(poisoned_run):
    """results/report.html: no script, handler or element from the review; texts shown as text."""
    review, _ = poisoned_run
    from scimeta.safe import html_escape

    text = (review / "results/report.html").read_text(encoding="utf-8")
    parsed = _parse_html(text)
    _no_handlers(parsed, "report.html")
    tags = [t for t, _ in parsed.tags]
    assert "script" not in tags and "img" not in tags and "iframe" not in tags
    assert "textarea" not in tags and "title" in tags and tags.count("title") == 1
    # the only SVGs are the figures, one per <figure>
    assert tags.count("svg") == tags.count("figure") > 0
    assert "&lt;script&gt;alert(&#x27;x&#x27;)" in text  # the payload is shown, as text
    studies = pd.read_csv(review / "data/raw/studies.csv", dtype=str, keep_default_na=False)
    for author, title in zip(studies["author"], studies["title"]):
        assert html_escape(author) in text, author
        assert html_escape(title) in text, title
    assert html_escape("<script>alert('label')</script><svg onload=alert(1)>") in text
    rob = pd.read_csv(review / "data/raw/risk_of_bias.csv", dtype=str, keep_default_na=False)
    assert html_escape(rob["support"].iloc[0]) in text


def test_journal_tables_neutralise_formulas(poisoned_run):
    """studies.csv and summary_of_findings.csv: cells from the review starting a formula get '."""
    review, _ = poisoned_run
    with (review / "results/tables/studies.csv").open(encoding="utf-8", newline="") as fh:
        studies = list(csv.DictReader(fh))
    with (review / "results/tables/summary_of_findings.csv").open(encoding="utf-8",
                                                                    newline="") as fh:
        sof = list(csv.DictReader(fh))
    # odd rows of the poisoned studies sheet have authors starting with the formula
    assert any(r["study"].startswith("'" + FORMULA_PAYLOAD.split(" ")[0]) for r in studies)
    assert any(r["intervention"].startswith("'=") for r in studies)
    labels = [r["label"] for r in sof]
    assert any(label.startswith("'" + FORMULA_PAYLOAD) for label in labels), labels
    for r in [*studies, *sof]:
        for cell in r.values():
            assert not cell.startswith(FORMULA_PREFIXES) or _is_number(cell), cell
