"""Config and sheet validation, digests and input functions shared by all rules."""

import functools
import gc
import hashlib
import sys
import threading
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.sourcecache import infer_source_file

REPO = Path(workflow.basedir)
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

from scimeta.io import read_review  # noqa: E402
from scimeta.safe import report_labels, report_param, report_text  # noqa: E402
from scimeta.textextract import SOURCES_DIR  # noqa: E402
from scimeta.validate import ReviewError  # noqa: E402
from scimeta.workflow import (  # noqa: E402
    FIGURE_FORMATS,
    library_digest,
    outcome_digests,
    planned_figures,
)

try:
    REVIEW = read_review(".")
except ReviewError as err:
    raise WorkflowError(
        "the review is invalid; nothing was run:\n"
        + "\n".join(str(p) for p in err.problems if p.severity == "error")
    )

# the validated config, every default filled in (those of the schema and those that follow
# other keys, e.g. pre_post under prepost_method), is the config the jobs receive
config.update(REVIEW.config)
LIB_DIGEST = library_digest(REPO / "src" / "scimeta")
OUTCOME_DIGESTS = outcome_digests(REVIEW, config)
OUTCOMES = sorted(config["outcomes"])
FIGURES = planned_figures(REVIEW, config)


def get_review_digest(wildcards):
    return hashlib.sha256("".join(OUTCOME_DIGESTS.values()).encode()).hexdigest()


def get_sources_digest(wildcards):
    """Digest of the studies' source texts, which the audit's provenance check reads."""
    h = hashlib.sha256()
    for p in sorted(Path(SOURCES_DIR).glob("*")):
        if p.is_file():
            h.update(p.name.encode())
            h.update(b"\0")
            h.update(p.read_bytes())
    return h.hexdigest()


def get_per_outcome(pattern):
    return expand(pattern, outcome=OUTCOMES)


FIGURE_EXTENSIONS = {
    kind: (*formats, "csv") for kind, formats in FIGURE_FORMATS.items()
}
# Captions as source files: outputs listed by a function keep the path as given.
FIGURE_CAPTIONS = {
    kind: infer_source_file(str(REPO / "workflow" / "report" / name))
    for kind, name in {
        "forest": "forest.rst",
        "subgroup_forest": "forest_subgroups.rst",
        "funnel": "funnel.rst",
        "sensitivity": "sensitivity_plot.rst",
        "bubble": "bubble.rst",
    }.items()
}


@functools.cache
def figure_plan(outcome):
    """The figures of one outcome: a list of dicts (kind, comparison, measure, var, stem).

    Made once per outcome; read, never changed, by the rule, its priority and ``all``.
    """
    plan = []
    for kind, entries in FIGURES.items():
        for entry in entries:
            if entry[0] != outcome:
                continue
            if kind == "sensitivity":
                comparison, measure, var = "pre_post", entry[1], ""
                stem = f"sensitivity_r_{outcome}_{measure}"
            elif kind == "bubble":
                comparison, measure, var = entry[1], entry[2], entry[3]
                stem = f"bubble_{outcome}_{comparison}_{measure}_{var}"
            else:
                comparison, measure = entry[1], entry[2]
                var = entry[3] if kind == "subgroup_forest" else ""
                prefix = "forest" if kind != "funnel" else "funnel"
                stem = f"{prefix}_{outcome}_{comparison}_{measure}"
                stem += f"_by_{var}" if var else ""
            plan.append(
                {
                    "kind": kind,
                    "comparison": comparison,
                    "measure": measure,
                    "var": var,
                    "stem": stem,
                    "prepost_r": config["prepost_r"],
                }
            )
    return plan


def figure_outputs(outcome):
    """Every file the figures job of ``outcome`` writes, images wrapped for the report."""
    label = config["outcomes"][outcome]["label"]
    files = []
    for item in figure_plan(outcome):
        for ext in FIGURE_EXTENSIONS[item["kind"]]:
            path = f"results/figures/{item['stem']}.{ext}"
            if ext in ("png",):
                labels = {
                    "outcome": label,
                    "figure": item["kind"].replace("_", " "),
                    "comparison": item["comparison"],
                    "measure": item["measure"],
                }
                if item["var"]:
                    key = "moderator" if item["kind"] == "bubble" else "subgroups"
                    labels[key] = item["var"]
                path = report(
                    path,
                    caption=FIGURE_CAPTIONS[item["kind"]],
                    category="3. Figures",
                    subcategory=report_text(label),
                    labels=report_labels(labels),
                )
            files.append(path)
    return files


def get_all_figures(wildcards):
    return [f for outcome in OUTCOMES for f in figure_outputs(outcome)]


def end_of_run():
    """Let the finished Snakemake process exit at once (called on success and on error).

    - Snakemake's job rate limiter arms a one-second ``threading.Timer`` after
      every pass of the scheduler; the last one would keep the process alive
      for up to a second after the last job: cancel it.
    - The process holds the whole DAG; the garbage collection Python runs at
      exit takes about 0.4 s to walk it, longer than a no-op run's work.
      Freezing the collector skips that walk; objects are still freed by
      reference counting, and Snakemake has closed its logs before exit.
    """
    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer):
            thread.cancel()
    gc.freeze()
