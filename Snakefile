"""scimeta: meta-analysis of reported means and SDs, from extraction sheets to pooled estimates.

Run a review folder (config/config.yaml + data/raw/) with
    snakemake -s Snakefile -d REVIEW --cores 2
"""

from snakemake.utils import min_version

min_version("9.17")


# common.smk reads and validates the review (config included) before Snakemake parses the
# config, so that a broken config/config.yaml is reported with its file and line
include: "workflow/rules/common.smk"


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/analyse.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/journal.smk"
include: "workflow/rules/robustness.smk"


rule all:
    default_target: True
    input:
        "data/processed/arms.csv",
        "data/processed/effects.csv",
        "results/tables/excluded.csv",
        "results/tables/pooled.csv",
        "results/tables/subgroup_tests.csv",
        "results/tables/sensitivity_r.csv",
        "results/tables/metareg.csv",
        "results/tables/bias.csv",
        "results/tables/leave1out.csv",
        "results/tables/influence.csv",
        "results/tables/gosh.csv",
        "results/tables/cumulative.csv",
        "results/tables/audit.csv",
        "results/audit.html",
        get_all_figures,
        journal_targets(),
        get_robustness_figures,


onsuccess:
    end_of_run()


onerror:
    end_of_run()
