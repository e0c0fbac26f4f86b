"""The review read and validated once, its snapshot, the figure plan, and the helpers of
the rules.

When Snakemake parses the workflow, before it builds the DAG and before any job, the review
is read and validated with the code of ``scimeta validate``: an invalid review stops here,
listing every problem as file:row:column. The validated sheets are then written as the
snapshot (``data/processed/snapshot/``: the studies, one file of rows per outcome, the files
they came from, the resolved config, and a manifest of digests and the figure plan), each
file rewritten only when its bytes change. Every job reads the snapshot, never the raw
sheets, so

* editing one row of one outcome changes that outcome's snapshot file only, and only that
  outcome's jobs (and the gathering) re-run; a raw file touched without a change re-runs
  nothing (the snapshot files keep their bytes and their times);
* an input edited while the jobs run cannot reach half of them: the end of the run compares
  the raw inputs with the digests of the manifest and names every file that changed.

When the raw inputs and the library still have the manifest's digests, the snapshot is the
one validation would write again, and it is read as it is (the sheets are not read again).

While another run holds the review (Snakemake's locks in ``.snakemake/locks``), the snapshot
is not rewritten: that run's jobs read it, and Snakemake refuses this run once it has parsed.

The snapshot is written at parse time, not by a rule, so that a dry run already knows which
outcome changed: a rule writing it would be a job of the DAG, and everything downstream of a
job that has to run counts as out of date until it has run.
"""

import sys
from pathlib import Path

import scimeta
import scimeta.jobs
from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.sourcecache import infer_source_file

from scimeta.safe import report_labels, report_param, report_text
from scimeta.workflow import (
    FIGURE_TABLES,
    LOCKS_DIR,
    SNAPSHOT_DIR,
    changed_inputs,
    current_snapshot,
    held_locks,
    input_digests,
    library_digest,
    snapshot_manifest,
    stored_manifest,
    write_snapshot,
)


def read_and_validate():
    """Read and validate the review (stopping on any error); write its snapshot."""
    from scimeta.io import read_review
    from scimeta.validate import ReviewError

    digests = input_digests()
    try:
        review = read_review(".")
    except ReviewError as err:
        raise WorkflowError(
            "the review is invalid; nothing was run:\n"
            + "\n".join(str(p) for p in err.problems if p.severity == "error")
        )
    if input_digests() != digests:
        raise WorkflowError(
            "the review changed while it was read; nothing was run; run again"
        )
    if held_locks():
        # another run holds the review (Snakemake refuses this one after parsing): its
        # snapshot is what its jobs read, so it is left as it is, and its manifest is the
        # one this run knows (with --nolock the end of the run names the inputs changed since)
        print(
            f"{LOCKS_DIR} holds a lock: the snapshot ({SNAPSHOT_DIR}) is not rewritten "
            "while another run works here",
            file=sys.stderr,
        )
        return stored_manifest(SNAPSHOT_DIR) or snapshot_manifest(
            review, digests, LIB_DIGEST
        )
    return write_snapshot(review, digests, LIB_DIGEST, SNAPSHOT_DIR)


LIB_DIGEST = library_digest(Path(scimeta.__file__).parent)
MANIFEST = current_snapshot(LIB_DIGEST, SNAPSHOT_DIR) or read_and_validate()
# the validated config, every default filled in (those of the schema and those that follow
# other keys, e.g. pre_post under prepost_method), is the config the jobs receive
config.update(MANIFEST["config"])
INPUT_DIGESTS = MANIFEST["inputs"]
FIGURES = MANIFEST["plan"]
OUTCOMES = sorted(config["outcomes"])
FIGURE_FORMATS = tuple(config["figures"]["formats"])
REPORT_DIR = Path(workflow.current_basedir).parent / "report"
STUDY_TEXTS = sorted(p for p in INPUT_DIGESTS if p.startswith("data/raw/sources/"))
#: Whether the review has a risk-of-bias sheet (then in the snapshot as risk_of_bias.json).
HAS_ROB = "risk_of_bias.json" in MANIFEST["snapshot"]


wildcard_constraints:
    outcome="|".join(OUTCOMES),
    comparison="between_arms|pre_post",
    measure="[A-Z]+",
    var="[A-Za-z0-9_]+",


# ------------------------------------------------------------------ running a job
SCRIPTS = Path(workflow.current_basedir).parent / "scripts"


def run_script(name, input, output, params, log, wildcards):
    """Run ``workflow/scripts/<name>.py`` for a job (the ``run:`` block of every rule):
    in the pool of worker processes of this run when Snakemake runs the job in a thread of
    its own process (the profile's force-use-threads), else in the job's own process
    (scimeta.jobs)."""
    scimeta.jobs.run(
        SCRIPTS / f"{name}.py",
        name=name,
        input=input,
        output=output,
        params=params,
        log=log,
        wildcards=wildcards,
        workers=workflow.resource_settings.cores or 1,
        in_process=not workflow.is_main_process,
    )


# ------------------------------------------------------------------ the per-outcome tables
#: Every table of an outcome and the contract table it is gathered into, with the caption
#: of the report (None: not in the report). One line per table: ``gather`` and ``all``
#: read this declaration.
TABLES = {
    "arms": (
        "data/processed/outcomes/{outcome}/arms.csv",
        "data/processed/arms.csv",
        None,
    ),
    "effects": (
        "data/processed/outcomes/{outcome}/effects.csv",
        "data/processed/effects.csv",
        "effects.rst",
    ),
    "excluded": (
        "data/processed/outcomes/{outcome}/excluded.csv",
        "results/tables/excluded.csv",
        "excluded.rst",
    ),
    "pooled": (
        "results/outcomes/{outcome}/pooled.csv",
        "results/tables/pooled.csv",
        "pooled.rst",
    ),
    "subgroup_tests": (
        "results/outcomes/{outcome}/subgroup_tests.csv",
        "results/tables/subgroup_tests.csv",
        "subgroup_tests.rst",
    ),
    "membership": (
        "results/outcomes/{outcome}/membership.csv",
        "results/tables/subgroup_membership.csv",
        None,
    ),
    "sensitivity": (
        "results/outcomes/{outcome}/sensitivity_r.csv",
        "results/tables/sensitivity_r.csv",
        "sensitivity_r.rst",
    ),
    "metareg": (
        "results/outcomes/{outcome}/metareg.csv",
        "results/tables/metareg.csv",
        "metareg.rst",
    ),
    "bias": (
        "results/outcomes/{outcome}/bias.csv",
        "results/tables/bias.csv",
        "bias.rst",
    ),
    "bias_filled": (
        "results/outcomes/{outcome}/bias_filled.csv",
        "results/tables/bias_filled.csv",
        "bias_filled.rst",
    ),
    "leave1out": (
        "results/outcomes/{outcome}/leave1out.csv",
        "results/tables/leave1out.csv",
        "leave1out.rst",
    ),
    "influence": (
        "results/outcomes/{outcome}/influence.csv",
        "results/tables/influence.csv",
        "influence.rst",
    ),
    "gosh_summary": (
        "results/outcomes/{outcome}/gosh_summary.csv",
        "results/tables/gosh.csv",
        "gosh.rst",
    ),
    "gosh_influence": (
        "results/outcomes/{outcome}/gosh_influence.csv",
        "results/tables/gosh_influence.csv",
        None,
    ),
    "cumulative": (
        "results/outcomes/{outcome}/cumulative.csv",
        "results/tables/cumulative.csv",
        "cumulative.rst",
    ),
}


#: Every fitted subset of GOSH, per outcome (not gathered: results/tables/gosh.csv is the
#: summary of each pool; the figures draw these).
GOSH_SUBSETS = "results/outcomes/{outcome}/gosh.csv"


def caption(name):
    """A caption of ``workflow/report/`` as a source file (paths given by a function are
    taken as given, not relative to the rule's file)."""
    return infer_source_file(str(REPORT_DIR / name))


def outcome_table(name):
    """The per-outcome path of table ``name`` (with the ``{outcome}`` wildcard)."""
    return TABLES[name][0]


def get_gather_inputs(wildcards):
    return {
        name: expand(path, outcome=OUTCOMES) for name, (path, _, _) in TABLES.items()
    }


def gathered_tables():
    """The contract tables, those with a caption wrapped for the report."""
    out = {}
    for name, (_, path, text) in TABLES.items():
        if text:
            path = report(path, caption=caption(text), category="1. Tables")
        out[name] = path
    return out


# ------------------------------------------------------------------ the snapshot and config
def snapshot(name):
    return f"{SNAPSHOT_DIR}/{name}"


def get_rows(wildcards):
    return snapshot(f"outcomes/{wildcards.outcome}.json")


def get_effects_config(wildcards):
    """What the extraction and the effect sizes read of the config, for one outcome."""
    return report_param(
        {
            "extraction": config["extraction"],
            "populations": config["populations"],
            "prepost_r": config["prepost_r"],
            "prepost_method": config["prepost_method"],
            "analysis": config["analysis"],
            "outcomes": {wildcards.outcome: config["outcomes"][wildcards.outcome]},
        }
    )


def get_outcome_config(wildcards):
    return report_param(config["outcomes"][wildcards.outcome])


# ------------------------------------------------------------------ figures
# Which figures an outcome gets depends on its rows (the comparisons they hold, how many
# studies, the subgroup levels present) and on ``figures.kinds``. The plan is made once, at
# parse time, from the validated sheets the snapshot holds (scimeta.workflow.planned_figures):
# ``all`` asks for the planned files (get_all_figures), the job ``figures`` of the outcome
# draws them (get_figure_plan), and one rule per kind of figure puts each file where the
# contract names it. No checkpoint is needed: the plan depends on the sheets and the config
# only, never on a job's output, so it is known before the DAG is built and a dry run lists
# every figure.
FIGURE_CAPTIONS = {
    "forest": "forest.rst",
    "subgroup_forest": "forest_subgroups.rst",
    "funnel": "funnel.rst",
    "sensitivity_r": "sensitivity_plot.rst",
    "bubble": "bubble.rst",
    "gosh": "gosh_plot.rst",
    "cumulative": "cumulative_plot.rst",
}


#: Where the job ``figures`` of an outcome draws its figures.
FIGURE_FOLDER = "results/outcomes/{outcome}/figures"
#: The figures of an outcome that were not drawn (placeholders), and why; gathered into the
#: contract table with those of the risk-of-bias summaries of the pools.
FIGURE_WARNINGS = "results/outcomes/{outcome}/figure_warnings.csv"
ROB_SUMMARY_WARNINGS = (
    "results/outcomes/{outcome}/rob_summary_{comparison}_warnings.csv"
)
FIGURE_WARNINGS_TABLE = "results/tables/figure_warnings.csv"
#: The command of the rules that put each figure where the contract names it: a hard link
#: (a copy where the file system has none), touched so that it is newer than the folder.
LINK_FIGURE = (
    "for f in {output}; do"
    " ln -f {input}/$(basename $f) $f 2>> {log} || cp {input}/$(basename $f) $f;"
    " touch $f; done"
)


def get_figure_plan(wildcards):
    """The planned figures of one outcome."""
    return [item for item in FIGURES if item["outcome"] == wildcards.outcome]


def figure_files(kind, pattern):
    """The outputs of a figure rule: one file per format (the PNG in the report), the CSV."""
    files = {}
    for ext in FIGURE_FORMATS:
        path = f"results/figures/{pattern}.{ext}"
        if ext == "png":
            path = report(
                path,
                caption=caption(FIGURE_CAPTIONS[kind]),
                category="3. Figures",
                subcategory=get_figure_subcategory,
                labels=get_figure_labels(kind),
            )
        files[ext] = path
    files["data"] = f"results/figures/{pattern}.csv"
    return files


def get_figure_subcategory(wildcards):
    return report_text(config["outcomes"][wildcards.outcome]["label"])


def get_figure_labels(kind):
    def labels(wildcards):
        out = {
            "outcome": config["outcomes"][wildcards.outcome]["label"],
            "figure": kind.replace("_", " "),
            "comparison": wildcards.get("comparison", "pre_post"),
            "measure": wildcards.measure,
        }
        if "var" in wildcards.keys():
            out["moderator" if kind == "bubble" else "subgroups"] = wildcards.var
        return report_labels(out)

    return labels


def get_figure_warnings(wildcards):
    """The per-job lists of figures not drawn: each outcome with planned figures, each
    risk-of-bias summary of a pool (journal_common.smk)."""
    outcomes = sorted({item["outcome"] for item in FIGURES})
    rob = [ROB_SUMMARY_WARNINGS.format(outcome=o, comparison=c) for o, c in ROB_POOLS]
    return expand(FIGURE_WARNINGS, outcome=outcomes) + (rob if HAS_ROB else [])


def get_all_figures(wildcards):
    return [
        f"results/figures/{item['stem']}.{ext}"
        for item in FIGURES
        for ext in (*FIGURE_FORMATS, "csv")
    ]


# ------------------------------------------------------------------ end of the run
def print_figure_warnings():
    """List the figures not drawn (results/tables/figure_warnings.csv) at the end of a run."""
    from scimeta.workflow import figure_warnings_summary

    text = figure_warnings_summary(FIGURE_WARNINGS_TABLE)
    if text:
        logger.warning(text)


def check_inputs_unchanged():
    """Fail loudly, naming each file, when a raw input changed while the jobs ran."""
    changed = changed_inputs(INPUT_DIGESTS)
    if changed:
        raise WorkflowError(
            "these inputs changed while the workflow ran; the results are those of the "
            "snapshot taken when it started (data/processed/snapshot/), not of the files "
            "as they are now. Run the workflow again:\n  " + "\n  ".join(changed)
        )


# ------------------------------------------------------------------ robustness (GOSH)
#: How many GOSH jobs each outcome's subsets are split into (scimeta.workflow.job_plan).
GOSH_PARTS = MANIFEST["jobs"]["gosh_parts"]


def get_gosh_parts(wildcards):
    """The ranges of subsets computed by their own jobs (none when one job does it all)."""
    parts = GOSH_PARTS[wildcards.outcome]
    if parts == 1:
        return []
    return expand(
        "results/outcomes/{outcome}/gosh/part_{chunk}.csv",
        outcome=wildcards.outcome,
        chunk=range(parts),
    )
