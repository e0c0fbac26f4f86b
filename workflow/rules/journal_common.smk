"""Constants and input functions of the journal rules (journal.smk): which files they read,
which figures they draw, what the report shows. Computed once, when the Snakefile is parsed,
from the snapshot's manifest (common.smk) and the figure plan."""

#: Whether the review has a PRISMA flow (scimeta.workflow.job_plan)
HAS_PRISMA = MANIFEST["jobs"]["prisma"]
# the raw files the review was read from (config, sheets or workbook, texts): the report's
# manifest hashes them
RAW_FILES = sorted(INPUT_DIGESTS)
# the snapshot of the review that the journal jobs read (scimeta.workflow.read_snapshot_review)
SNAPSHOT_FILES = [
    snapshot("config.json"),
    snapshot("sources.json"),
    snapshot("studies.json"),
    *expand(snapshot("outcomes/{outcome}.json"), outcome=OUTCOMES),
    *([snapshot("risk_of_bias.json")] if HAS_ROB else []),
]
# what the PRISMA diagram reads: the config and the studies sheet
PRISMA_FILES = [snapshot("config.json"), snapshot("studies.json")]
# one weighted risk-of-bias summary per outcome x comparison with rows
ROB_POOLS = sorted(
    {
        (item["outcome"], item["comparison"])
        for item in FIGURES
        if item["kind"] == "forest"
    }
)
ROB_FIGURE_EXTENSIONS = ("svg", "png", "csv")
# the contract tables the journal rules and the report read (docs/contract.md)
CONTRACT_TABLES = {
    "arms": "data/processed/arms.csv",
    "effects": "data/processed/effects.csv",
    "excluded": "results/tables/excluded.csv",
    "pooled": "results/tables/pooled.csv",
    "subgroup_tests": "results/tables/subgroup_tests.csv",
    "sensitivity": "results/tables/sensitivity_r.csv",
    "metareg": "results/tables/metareg.csv",
    "bias": "results/tables/bias.csv",
    "leave1out": "results/tables/leave1out.csv",
    "influence": "results/tables/influence.csv",
    "audit": "results/tables/audit.csv",
    "figure_warnings": FIGURE_WARNINGS_TABLE,
}
JOURNAL_TABLES = {
    "studies": "results/tables/studies.csv",
    "summary_of_findings": "results/tables/summary_of_findings.csv",
    "risk_of_bias": "results/tables/risk_of_bias.csv",
    "caveats": "results/tables/caveats.csv",
}


#: The risk-of-bias figures of the studies (rule risk_of_bias; none without a sheet)
ROB_STUDY_STEMS = ["rob_traffic_light", "rob_summary"] if HAS_ROB else []
#: What the risk-of-bias rules read of the snapshot (never an outcome's rows)
ROB_FILES = [
    snapshot("config.json"),
    snapshot("sources.json"),
    snapshot("studies.json"),
    *([snapshot("risk_of_bias.json")] if HAS_ROB else []),
]


def rob_figure_stems():
    """Stems of the risk-of-bias figures (none without a risk-of-bias sheet): those of
    the studies, then one weighted summary per pool (rule rob_pool_summary)."""
    if not HAS_ROB:
        return []
    return ROB_STUDY_STEMS + [
        f"rob_summary_{outcome}_{comparison}" for outcome, comparison in ROB_POOLS
    ]


def rob_figure_files(stems=None):
    return [
        f"results/figures/{stem}.{ext}"
        for stem in (rob_figure_stems() if stems is None else stems)
        for ext in ROB_FIGURE_EXTENSIONS
    ]


def prisma_files():
    if not HAS_PRISMA:
        return []
    return [f"results/figures/prisma.{ext}" for ext in ("svg", "png", "csv")]


def get_run_figures(wildcards):
    """Every file of the analysis figures (all formats), as the report hashes them."""
    return get_all_figures(wildcards)


def report_figure_plan():
    """The analysis figures the report shows, each with what its caption needs."""
    return [
        {**item, "kind": REPORT_KIND.get(item["kind"], item["kind"])}
        for item in FIGURES
    ]


#: The report's name of a kind of figure, where it differs from the plan's.
REPORT_KIND = {"sensitivity_r": "sensitivity"}


def journal_targets():
    """What ``all`` asks of this file."""
    return [
        *JOURNAL_TABLES.values(),
        *rob_figure_files(),
        *prisma_files(),
        "results/methods.md",
        "results/report.html",
    ]
