"""The review's contract tables, gathered from the per-outcome results, and the audit.

One job: the audit reads the gathered tables, and a job of its own would cost
another Python start for a second of work.
"""


rule tables:
    input:
        arms=get_per_outcome("data/processed/outcomes/{outcome}/arms.csv"),
        effects=get_per_outcome("data/processed/outcomes/{outcome}/effects.csv"),
        excluded=get_per_outcome("data/processed/outcomes/{outcome}/excluded.csv"),
        pooled=get_per_outcome("results/outcomes/{outcome}/pooled.csv"),
        subgroup_tests=get_per_outcome("results/outcomes/{outcome}/subgroup_tests.csv"),
        membership=get_per_outcome("results/outcomes/{outcome}/membership.csv"),
        sensitivity=get_per_outcome("results/outcomes/{outcome}/sensitivity_r.csv"),
        metareg=get_per_outcome("results/outcomes/{outcome}/metareg.csv"),
        bias=get_per_outcome("results/outcomes/{outcome}/bias.csv"),
        leave1out=get_per_outcome("results/outcomes/{outcome}/leave1out.csv"),
        influence=get_per_outcome("results/outcomes/{outcome}/influence.csv"),
        gosh=get_per_outcome("results/outcomes/{outcome}/gosh_summary.csv"),
        gosh_influence=get_per_outcome("results/outcomes/{outcome}/gosh_influence.csv"),
        cumulative=get_per_outcome("results/outcomes/{outcome}/cumulative.csv"),
    output:
        arms="data/processed/arms.csv",
        effects=report(
            "data/processed/effects.csv",
            caption="../report/effects.rst",
            category="1. Tables",
        ),
        excluded=report(
            "results/tables/excluded.csv",
            caption="../report/excluded.rst",
            category="1. Tables",
        ),
        pooled=report(
            "results/tables/pooled.csv",
            caption="../report/pooled.rst",
            category="1. Tables",
        ),
        subgroup_tests=report(
            "results/tables/subgroup_tests.csv",
            caption="../report/subgroup_tests.rst",
            category="1. Tables",
        ),
        membership="results/tables/subgroup_membership.csv",
        sensitivity=report(
            "results/tables/sensitivity_r.csv",
            caption="../report/sensitivity_r.rst",
            category="1. Tables",
        ),
        metareg=report(
            "results/tables/metareg.csv",
            caption="../report/metareg.rst",
            category="1. Tables",
        ),
        bias=report(
            "results/tables/bias.csv",
            caption="../report/bias.rst",
            category="1. Tables",
        ),
        leave1out=report(
            "results/tables/leave1out.csv",
            caption="../report/leave1out.rst",
            category="1. Tables",
        ),
        influence=report(
            "results/tables/influence.csv",
            caption="../report/influence.rst",
            category="1. Tables",
        ),
        gosh=report(
            "results/tables/gosh.csv",
            caption="../report/gosh.rst",
            category="1. Tables",
        ),
        gosh_influence="results/tables/gosh_influence.csv",
        cumulative=report(
            "results/tables/cumulative.csv",
            caption="../report/cumulative.rst",
            category="1. Tables",
        ),
        audit_table=report(
            "results/tables/audit.csv",
            caption="../report/audit.rst",
            category="2. Audit",
        ),
        audit_page=report(
            "results/audit.html",
            caption="../report/audit_page.rst",
            category="2. Audit",
        ),
    log:
        "logs/tables.log",
    conda:
        "../envs/scimeta.yaml"
    params:
        rows=get_review_digest,
        sources=get_sources_digest,
        lib=LIB_DIGEST,
        outcomes=report_param(config["outcomes"]),
    script:
        "../scripts/tables.py"
