"""Per-outcome tables -> the review's contract tables -> the audit of the extraction."""


rule gather:
    """Every per-outcome table of ``TABLES`` (common.smk) row-bound into its contract table."""
    input:
        unpack(get_gather_inputs),
    output:
        **gathered_tables(),
    log:
        "logs/gather.log",
    params:
        lib=LIB_DIGEST,
    run:
        run_script("gather", input, output, params, log, wildcards)


rule audit:
    """The audit of the extraction: every row of the snapshot checked (quotes, ranges,
    reported p-values, provenance in the studies' texts), a table and a page."""
    input:
        rows=expand(snapshot("outcomes/{outcome}.json"), outcome=OUTCOMES),
        studies=snapshot("studies.json"),
        sources=snapshot("sources.json"),
        texts=STUDY_TEXTS,
        arms=TABLES["arms"][1],
        effects=TABLES["effects"][1],
        excluded=TABLES["excluded"][1],
    output:
        table=report(
            "results/tables/audit.csv",
            caption="../report/audit.rst",
            category="2. Audit",
        ),
        page=report(
            "results/audit.html",
            caption="../report/audit_page.rst",
            category="2. Audit",
        ),
    log:
        "logs/audit.log",
    params:
        config=report_param(config),
        lib=LIB_DIGEST,
    run:
        run_script("audit", input, output, params, log, wildcards)
