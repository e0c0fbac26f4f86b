"""Journal artefacts of the run, and the report a reviewer opens.

Risk of bias (table, traffic-light plot, summary bars weighted by each primary pool), the
summary of findings, the study table, the PRISMA flow diagram, the methods text and
results/report.html. These rules read only contract outputs (results/tables/*.csv,
data/processed/arms.csv and effects.csv), the raw sheets and the config; the report also
inlines the figures of the run, listed by figure_plan (common.smk). A review without a
risk-of-bias sheet or a prisma block gets the tables with a note saying so and no such
figure (listed in the report and the methods text); nothing fails.
"""

HAS_ROB = REVIEW.risk_of_bias is not None
HAS_PRISMA = bool(config.get("prisma"))
# the files the review was read from (config and sheets; a workbook once)
RAW_FILES = sorted({str(source).split(":")[0] for source in REVIEW.sources.values()})
# one weighted risk-of-bias summary per outcome x comparison with rows
ROB_POOLS = sorted({(outcome, comparison) for outcome, comparison, _ in FIGURES["forest"]})
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
    stems += [f"rob_summary_{outcome}_{comparison}" for outcome, comparison in ROB_POOLS]
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


rule studies_table:
    input:
        raw=RAW_FILES,
        effects=CONTRACT_TABLES["effects"],
    output:
        table=report(
            JOURNAL_TABLES["studies"],
            caption="../report/studies_table.rst",
            category="4. Journal",
        ),
    log:
        "logs/studies_table.log",
    conda:
        "../envs/scimeta.yaml"
    params:
        lib=LIB_DIGEST,
    script:
        "../scripts/studies_table.py"


rule summary_of_findings:
    input:
        raw=RAW_FILES,
        effects=CONTRACT_TABLES["effects"],
        pooled=CONTRACT_TABLES["pooled"],
        bias=CONTRACT_TABLES["bias"],
    output:
        table=report(
            JOURNAL_TABLES["summary_of_findings"],
            caption="../report/summary_of_findings.rst",
            category="4. Journal",
        ),
    log:
        "logs/summary_of_findings.log",
    conda:
        "../envs/scimeta.yaml"
    params:
        lib=LIB_DIGEST,
    script:
        "../scripts/summary_of_findings.py"


rule risk_of_bias:
    input:
        raw=RAW_FILES,
        effects=CONTRACT_TABLES["effects"],
        pooled=CONTRACT_TABLES["pooled"],
    output:
        table=report(
            JOURNAL_TABLES["risk_of_bias"],
            caption="../report/risk_of_bias.rst",
            category="4. Journal",
        ),
        figures=rob_figure_files(),
    log:
        "logs/risk_of_bias.log",
    conda:
        "../envs/scimeta.yaml"
    params:
        lib=LIB_DIGEST,
        pools=report_param(ROB_POOLS),
        stems=rob_figure_stems(),
    script:
        "../scripts/risk_of_bias.py"


if HAS_PRISMA:

    rule prisma:
        input:
            raw=RAW_FILES,
        output:
            svg="results/figures/prisma.svg",
            png=report(
                "results/figures/prisma.png",
                caption="../report/prisma.rst",
                category="4. Journal",
            ),
            data="results/figures/prisma.csv",
        log:
            "logs/prisma.log",
        conda:
            "../envs/scimeta.yaml"
        params:
            lib=LIB_DIGEST,
        script:
            "../scripts/prisma.py"


rule methods:
    input:
        raw=RAW_FILES,
        arms=CONTRACT_TABLES["arms"],
        effects=CONTRACT_TABLES["effects"],
        pooled=CONTRACT_TABLES["pooled"],
        subgroup_tests=CONTRACT_TABLES["subgroup_tests"],
        bias=CONTRACT_TABLES["bias"],
        sensitivity=CONTRACT_TABLES["sensitivity"],
    output:
        text=report(
            "results/methods.md",
            caption="../report/methods.rst",
            category="4. Journal",
        ),
    log:
        "logs/methods.log",
    conda:
        "../envs/scimeta.yaml"
    params:
        lib=LIB_DIGEST,
    script:
        "../scripts/methods.py"


rule report:
    input:
        raw=RAW_FILES,
        tables=[*CONTRACT_TABLES.values(), *JOURNAL_TABLES.values()],
        figures=get_run_figures,
        journal_figures=[*rob_figure_files(), *prisma_files()],
        methods="results/methods.md",
        audit="results/audit.html",
    output:
        html="results/report.html",
    log:
        "logs/report.log",
    conda:
        "../envs/scimeta.yaml"
    params:
        lib=LIB_DIGEST,
        plan=report_param(report_figure_plan()),
        pools=report_param(ROB_POOLS),
        rob_stems=rob_figure_stems(),
        prisma=HAS_PRISMA,
    script:
        "../scripts/report.py"
