"""Command line: ``scimeta validate REVIEW_DIR`` and ``scimeta extract-text FILE [FILE ...]``.

``validate`` checks ``config/config.yaml`` and the extraction sheets of a review without
running the pipeline. Prints every problem as ``file:row:column: message``
(errors on stderr, then warnings prefixed ``warning:``), and exits

* 0 if there is no error (warnings alone do not fail),
* 1 if there is at least one error,
* 2 on wrong usage (argparse) or a review folder that does not exist.

``extract-text`` writes the reported statistics found in article texts as CSV
(:mod:`scimeta.textextract`), or with ``--draft-outcomes`` draft rows of the
``outcomes.csv`` format; exit 1 (nothing written) when a file cannot be read
or the ``--review`` folder is invalid.
"""

from __future__ import annotations

import argparse
import sys

from scimeta import __version__

__all__ = ["main"]


def _cmd_validate(args) -> int:
    from scimeta.io import validate_review

    try:
        problems = validate_review(args.review_dir)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity != "error"]
    for p in errors:
        print(str(p), file=sys.stderr)
    if not args.quiet:
        for p in warnings:
            print(f"warning: {p}", file=sys.stderr)
    if errors:
        print(
            f"{args.review_dir}: {len(errors)} error(s), {len(warnings)} warning(s)",
            file=sys.stderr,
        )
        return 1
    print(f"{args.review_dir}: valid ({len(warnings)} warning(s))")
    return 0


def _cmd_extract_text(args) -> int:
    import csv
    import io
    import os
    import tempfile
    from pathlib import Path

    from scimeta import textextract as te

    terms = keys = None
    if args.review:
        from scimeta.io import read_review
        from scimeta.validate import ReviewError

        try:
            review = read_review(args.review)
        except (ReviewError, FileNotFoundError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        terms = te.outcome_terms(review.config)
        keys = set(review.config["outcomes"])
    cands = []
    for f in args.files:
        try:
            cands.extend(te.extract_file(f, terms=terms))
        except (OSError, te.TextError) as err:
            message = err if isinstance(err, te.TextError) else f"{f}:1:1: {err.strerror or err}"
            print(f"error: {message}", file=sys.stderr)
            return 1
    if args.draft_outcomes:
        columns, rows = te.DRAFT_COLUMNS, te.draft_outcomes(cands, outcome_keys=keys)
    else:
        columns = te.CANDIDATE_COLUMNS
        rows = [{k: getattr(c, k) for k in columns} for c in cands]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    if args.out is None:
        sys.stdout.write(buf.getvalue())
        return 0
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as h:
        h.write(buf.getvalue())
    os.replace(tmp, out)
    print(f"{args.out}: {len(rows)} row(s) from {len(args.files)} file(s)", file=sys.stderr)
    return 0


def main(argv=None) -> int:
    """Entry point of the ``scimeta`` console script; returns the exit status."""
    parser = argparse.ArgumentParser(prog="scimeta", description="scimeta review tools")
    parser.add_argument("--version", action="version", version=f"scimeta {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p_val = sub.add_parser("validate", help="check config and extraction sheets of a review")
    p_val.add_argument("review_dir", metavar="REVIEW_DIR")
    p_val.add_argument("-q", "--quiet", action="store_true", help="do not print warnings")
    p_val.set_defaults(func=_cmd_validate)
    p_ext = sub.add_parser(
        "extract-text",
        help="find reported means, SDs, CIs, medians, n and p-values in article texts",
        description="Reported statistics of plain-text, Markdown or HTML files (UTF-8) as CSV: "
        "file, start, end (code points; for HTML into the raw source), text, kind, numbers "
        "as printed, context. Nothing is read into a review: --draft-outcomes writes rows "
        "for a reviewer to confirm.",
    )
    p_ext.add_argument("files", nargs="+", metavar="FILE")
    p_ext.add_argument("-o", "--out", metavar="CSV", help="write here instead of stdout")
    p_ext.add_argument(
        "--review", metavar="DIR", help="match outcome names against this review's config "
        "(labels and synonyms); the outcome column then holds its keys"
    )
    p_ext.add_argument(
        "--draft-outcomes", action="store_true",
        help="write draft rows of the outcomes.csv format (quote = sentence, source = "
        "file:start-end) instead of the candidates",
    )
    p_ext.set_defaults(func=_cmd_extract_text)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help / usage errors
        return int(exc.code or 0)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
