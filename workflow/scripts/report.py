"""Rule ``report``: ``results/report.html``, the self-contained page a reviewer opens
(scimeta.review_report), with the SHA-256 of every file it was made from."""

import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from scimeta.io import write_text
from scimeta.journal import missing_inputs
from scimeta.review_report import review_report
from scimeta.safe import read_param
from scimeta.workflow import SNAPSHOT_DIR, read_snapshot_review

if TYPE_CHECKING:
    from snakemake.script import snakemake

log = logging.getLogger("scimeta.report")
TABLES = {"pooled": "results/tables/pooled.csv",
          "subgroup_tests": "results/tables/subgroup_tests.csv",
          "bias": "results/tables/bias.csv",
          "sensitivity": "results/tables/sensitivity_r.csv",
          "leave1out": "results/tables/leave1out.csv",
          "excluded": "results/tables/excluded.csv",
          "audit": "results/tables/audit.csv",
          "caveats": "results/tables/caveats.csv",
          "figure_warnings": "results/tables/figure_warnings.csv"}


def manifest(files) -> pd.DataFrame:
    rows = []
    for f in sorted(set(map(str, files))):
        data = Path(f).read_bytes()
        rows.append({"file": f, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    return pd.DataFrame(rows, columns=["file", "bytes", "sha256"])


def _read(path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def _drawn(folder: Path, stem: str, formats) -> str | bytes | None:
    """The figure as the page shows it: the SVG's text, else the PNG's bytes (None: PDF only)."""
    if "svg" in formats:
        return (folder / f"{stem}.svg").read_text(encoding="utf-8")
    if "png" in formats:
        return (folder / f"{stem}.png").read_bytes()
    return None


def main(review_dir, out_html, *, files, plan, journal_stems):
    root = Path(review_dir)
    review = read_snapshot_review(Path(review_dir) / SNAPSHOT_DIR)
    formats = review.config["figures"]["formats"]
    tables = {k: _read(root / p) for k, p in TABLES.items() if (root / p).exists()}
    folder = root / "results/figures"
    warnings = tables.get("figure_warnings")
    not_drawn = ({} if warnings is None else
                 dict(zip(warnings["figure"], warnings["reason"].fillna("").astype(str))))
    figures = [{**item, "svg": _drawn(folder, item["stem"], formats),
                "not_drawn": not_drawn.get(item["stem"], "")} for item in plan]
    journal_figures = {stem: (root / f"results/figures/{stem}.svg").read_text(encoding="utf-8")
                       for stem in journal_stems}
    page = review_report(
        config=review.config, studies=review.studies,
        study_table=_read(root / "results/tables/studies.csv"),
        sof=_read(root / "results/tables/summary_of_findings.csv"),
        rob=_read(root / "results/tables/risk_of_bias.csv"), tables=tables, figures=figures,
        journal_figures=journal_figures,
        methods_md=(root / "results/methods.md").read_text(encoding="utf-8"),
        manifest=manifest(files), missing=missing_inputs(review))
    write_text(page, out_html)
    log.info("%d figures, %d files in the manifest, %d bytes", len(figures) + len(journal_figures),
             len(set(files)), len(page.encode()))


if __name__ == "__main__":
    stems = list(snakemake.params.rob_stems) + (["prisma"] if snakemake.params.prisma else [])
    main(".", snakemake.output.html, files=list(snakemake.input),
         plan=read_param(snakemake.params.plan), journal_stems=stems)
