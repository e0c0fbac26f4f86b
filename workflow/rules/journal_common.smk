"""Constants and input functions of the journal rules (journal.smk): which files they read,
which figures they draw, what the report shows. Computed once, when the Snakefile is parsed,
from the validated review (common.smk) and the figure plan."""

from scimeta.prisma import prisma_given  # noqa: E402

HAS_ROB = REVIEW.risk_of_bias is not None
HAS_PRISMA = prisma_given(config)
# the files the review was read from (config and sheets; a workbook once)
RAW_FILES = sorted({str(source).split(":")[0] for source in REVIEW.sources.values()})
# what the PRISMA diagram reads: the config and the studies sheet
PRISMA_FILES = sorted(
    {str(REVIEW.sources[part]).split(":")[0] for part in ("config", "studies")}
)
# one weighted risk-of-bias summary per outcome x comparison with rows
ROB_POOLS = sorted(
    {(outcome, comparison) for outcome, comparison, _ in FIGURES["forest"]}
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
}
JOURNAL_TABLES = {
    "studies": "results/tables/studies.csv",
    "summary_of_findings": "results/tables/summary_of_findings.csv",
    "risk_of_bias": "results/tables/risk_of_bias.csv",
}


def rob_figure_stems():
    """Stems of the risk-of-bias figures (none without a risk-of-bias sheet)."""
    if not HAS_ROB:
        return []
    stems = ["rob_traffic_light", "rob_summary"]
    stems += [
        f"rob_summary_{outcome}_{comparison}" for outcome, comparison in ROB_POOLS
    ]
    return stems


def rob_figure_files():
    return [
        f"results/figures/{stem}.{ext}"
        for stem in rob_figure_stems()
        for ext in ROB_FIGURE_EXTENSIONS
    ]


def prisma_files():
    if not HAS_PRISMA:
        return []
    return [f"results/figures/prisma.{ext}" for ext in ("svg", "png", "csv")]


def get_run_figures(wildcards):
    """Every file of the analysis figures (all formats), as the report hashes them."""
    return [
        f"results/figures/{item['stem']}.{ext}"
        for outcome in OUTCOMES
        for item in figure_plan(outcome)
        for ext in FIGURE_EXTENSIONS[item["kind"]]
    ]


def report_figure_plan():
    """The analysis figures the report shows, each with what its caption needs."""
    return [
        {**item, "outcome": outcome}
        for outcome in OUTCOMES
        for item in figure_plan(outcome)
    ]


def journal_targets():
    """What ``all`` asks of this file."""
    return [
        *JOURNAL_TABLES.values(),
        *rob_figure_files(),
        *prisma_files(),
        "results/methods.md",
        "results/report.html",
    ]
