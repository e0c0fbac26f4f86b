"""Command line: ``scimeta validate REVIEW_DIR``.

Checks ``config/config.yaml`` and the extraction sheets of a review without
running the pipeline. Prints every problem as ``file:row:column: message``
(errors on stderr, then warnings prefixed ``warning:``), and exits

* 0 if there is no error (warnings alone do not fail),
* 1 if there is at least one error,
* 2 on wrong usage (argparse) or a review folder that does not exist.
"""

from __future__ import annotations

import argparse
import sys

from scimeta import __version__

__all__ = ["main"]


def _cmd_validate(args) -> int:
    from scimeta.validate import validate_review

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


def main(argv=None) -> int:
    """Entry point of the ``scimeta`` console script; returns the exit status."""
    parser = argparse.ArgumentParser(prog="scimeta", description="scimeta review tools")
    parser.add_argument("--version", action="version", version=f"scimeta {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p_val = sub.add_parser("validate", help="check config and extraction sheets of a review")
    p_val.add_argument("review_dir", metavar="REVIEW_DIR")
    p_val.add_argument("-q", "--quiet", action="store_true", help="do not print warnings")
    p_val.set_defaults(func=_cmd_validate)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help / usage errors
        return int(exc.code or 0)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
