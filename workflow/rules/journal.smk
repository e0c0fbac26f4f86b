"""Journal artefacts of the run, and the report a reviewer opens.

Risk of bias (table, traffic-light plot, summary bars weighted by each primary pool), the
summary of findings, the study table, the PRISMA flow diagram, the methods text and
results/report.html. These rules read only contract outputs (results/tables/*.csv,
data/processed/arms.csv and effects.csv), the raw sheets and the config; the report also
inlines the figures of the run, listed by figure_plan (common.smk). A review without a
risk-of-bias sheet or a prisma block gets the tables with a note saying so and no such
figure (listed in the report and the methods text); nothing fails.
"""


include: "journal_common.smk"


rule studies_table:
    input:
        raw=SNAPSHOT_FILES,
        effects=CONTRACT_TABLES["effects"],
    output:
        table=report(
            JOURNAL_TABLES["studies"],
            caption="../report/studies_table.rst",
            category="4. Journal",
        ),
    log:
        "logs/studies_table.log",
    params:
        lib=LIB_DIGEST,
    run:
        run_script("studies_table", input, output, params, log, wildcards)


rule summary_of_findings:
    input:
        raw=SNAPSHOT_FILES,
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
    params:
        lib=LIB_DIGEST,
    run:
        run_script("summary_of_findings", input, output, params, log, wildcards)


rule caveats:
    input:
        raw=SNAPSHOT_FILES,
        effects=CONTRACT_TABLES["effects"],
        pooled=CONTRACT_TABLES["pooled"],
    output:
        table=report(
            JOURNAL_TABLES["caveats"],
            caption="../report/caveats.rst",
            category="4. Journal",
        ),
    log:
        "logs/caveats.log",
    params:
        lib=LIB_DIGEST,
    run:
        run_script("caveats", input, output, params, log, wildcards)


rule risk_of_bias:
    """The risk-of-bias table, the traffic-light plot and the summary bars by study: from
    the studies and risk-of-bias sheets only, so that no outcome's edit re-runs them."""
    input:
        raw=ROB_FILES,
    output:
        table=report(
            JOURNAL_TABLES["risk_of_bias"],
            caption="../report/risk_of_bias.rst",
            category="4. Journal",
        ),
        figures=rob_figure_files(ROB_STUDY_STEMS),
    log:
        "logs/risk_of_bias.log",
    params:
        lib=LIB_DIGEST,
    run:
        run_script("risk_of_bias", input, output, params, log, wildcards)


rule rob_pool_summary:
    """The risk-of-bias summary of one outcome x comparison weighted by its primary pool,
    from that outcome's tables."""
    input:
        raw=ROB_FILES,
        effects=outcome_table("effects"),
        pooled=outcome_table("pooled"),
    output:
        **{
            ext: f"results/figures/rob_summary_{{outcome}}_{{comparison}}.{ext}"
            for ext in ROB_FIGURE_EXTENSIONS
        },
        warnings=ROB_SUMMARY_WARNINGS,
    log:
        "logs/rob_pool_summary/{outcome}_{comparison}.log",
    params:
        lib=LIB_DIGEST,
    run:
        run_script("rob_pool_summary", input, output, params, log, wildcards)


if HAS_PRISMA:

    rule prisma:
        input:
            raw=PRISMA_FILES,
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
        params:
            lib=LIB_DIGEST,
        run:
            run_script("prisma", input, output, params, log, wildcards)


rule methods:
    input:
        raw=SNAPSHOT_FILES,
        arms=CONTRACT_TABLES["arms"],
        effects=CONTRACT_TABLES["effects"],
        pooled=CONTRACT_TABLES["pooled"],
        subgroup_tests=CONTRACT_TABLES["subgroup_tests"],
        bias=CONTRACT_TABLES["bias"],
        sensitivity=CONTRACT_TABLES["sensitivity"],
        caveats=JOURNAL_TABLES["caveats"],
    output:
        text=report(
            "results/methods.md",
            caption="../report/methods.rst",
            category="4. Journal",
        ),
    log:
        "logs/methods.log",
    params:
        lib=LIB_DIGEST,
    run:
        run_script("methods", input, output, params, log, wildcards)


rule report:
    input:
        raw=RAW_FILES,
        snapshot=SNAPSHOT_FILES,
        tables=[*CONTRACT_TABLES.values(), *JOURNAL_TABLES.values()],
        figures=get_run_figures,
        journal_figures=[*rob_figure_files(), *prisma_files()],
        methods="results/methods.md",
        audit="results/audit.html",
    output:
        html="results/report.html",
    log:
        "logs/report.log",
    params:
        lib=LIB_DIGEST,
        plan=report_param(report_figure_plan()),
        pools=report_param(ROB_POOLS),
        rob_stems=rob_figure_stems(),
        prisma=HAS_PRISMA,
    run:
        run_script("report", input, output, params, log, wildcards)
