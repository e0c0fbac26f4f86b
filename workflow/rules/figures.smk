"""Tables -> figures, per outcome."""


# All figures of an outcome are drawn by one job: as a process of its own, a job with
# matplotlib and pandas cost more than drawing and saving a figure (benchmarks/stages.py,
# SCI example review, CPU seconds: process start with the imports 2.0 s; per figure, drawing
# 0.16 s, SVG 0.12 s, 300-dpi PNG 0.25 s); in the workers of scimeta.jobs it still reads the
# outcome's tables once for all its figures. Which figures an outcome gets depends on its rows, so
# the job's files cannot be listed by a pattern of the outcome: the job writes them into
# the outcome's folder (a directory output), and one rule per kind of figure below puts
# each file where the contract names it (results/figures/<name>.<format>) as a hard link,
# a job of a few milliseconds, whose outputs the report and `all` list.
localrules:
    forest,
    subgroup_forest,
    funnel,
    sensitivity_plot,
    bubble,
    gosh_plot,
    cumulative_plot,


rule figures:
    """Every planned figure of one outcome (get_figure_plan), drawn from its tables, and the
    list of those not drawn (placeholders)."""
    input:
        **{name: outcome_table(name) for name in FIGURE_TABLES if name != "gosh"},
        gosh=GOSH_SUBSETS,
        studies=snapshot("studies.json"),
        rob=[snapshot("risk_of_bias.json")] if HAS_ROB else [],
    output:
        folder=directory(FIGURE_FOLDER),
        warnings=FIGURE_WARNINGS,
    log:
        "logs/figures/{outcome}.log",
    params:
        plan=get_figure_plan,
        outcome="{outcome}",
        outcome_config=get_outcome_config,
        prepost_r=config["prepost_r"],
        analysis=config["analysis"],
        layout=config["figures"]["layout"],
        populations=config["populations"],
        subgroup_labels=config["subgroup_labels"],
        max_forest_rows=config["figures"]["max_forest_rows"],
        figures=config["figures"],
        formats=FIGURE_FORMATS,
        lib=LIB_DIGEST,
    run:
        run_script("figures", input, output, params, log, wildcards)


rule figure_warnings:
    """The planned figures that were not drawn, and why: one table for the report and the
    end of the run (onsuccess)."""
    input:
        get_figure_warnings,
    output:
        report(
            FIGURE_WARNINGS_TABLE,
            caption="../report/figure_warnings.rst",
            category="1. Tables",
        ),
    log:
        "logs/figure_warnings.log",
    params:
        lib=LIB_DIGEST,
    run:
        run_script("figure_warnings", input, output, params, log, wildcards)


rule forest:
    """Forest plot of the overall pool of one comparison and measure."""
    input:
        FIGURE_FOLDER,
    output:
        **figure_files("forest", "forest_{outcome}_{comparison}_{measure}"),
    log:
        "logs/figures/forest_{outcome}_{comparison}_{measure}.log",
    conda:
        "../envs/scimeta.yaml"
    shell:
        LINK_FIGURE


rule subgroup_forest:
    """Forest plot by the subgroups of one variable."""
    input:
        FIGURE_FOLDER,
    output:
        **figure_files(
            "subgroup_forest", "forest_{outcome}_{comparison}_{measure}_by_{var}"
        ),
    log:
        "logs/figures/forest_{outcome}_{comparison}_{measure}_by_{var}.log",
    conda:
        "../envs/scimeta.yaml"
    shell:
        LINK_FIGURE


rule funnel:
    """Contour-enhanced funnel plot, Egger's line, the trim-and-fill studies."""
    input:
        FIGURE_FOLDER,
    output:
        **figure_files("funnel", "funnel_{outcome}_{comparison}_{measure}"),
    log:
        "logs/figures/funnel_{outcome}_{comparison}_{measure}.log",
    conda:
        "../envs/scimeta.yaml"
    shell:
        LINK_FIGURE


rule sensitivity_plot:
    """The before/after pool over the assumed pre-post correlations."""
    input:
        FIGURE_FOLDER,
    output:
        **figure_files("sensitivity_r", "sensitivity_r_{outcome}_{measure}"),
    log:
        "logs/figures/sensitivity_r_{outcome}_{measure}.log",
    conda:
        "../envs/scimeta.yaml"
    shell:
        LINK_FIGURE


rule bubble:
    """The studies against one moderator, the meta-regression line."""
    input:
        FIGURE_FOLDER,
    output:
        **figure_files("bubble", "bubble_{outcome}_{comparison}_{measure}_{var}"),
    log:
        "logs/figures/bubble_{outcome}_{comparison}_{measure}_{var}.log",
    conda:
        "../envs/scimeta.yaml"
    shell:
        LINK_FIGURE


rule gosh_plot:
    """Estimate against I² of every fitted subset of one pool's studies (GOSH)."""
    input:
        FIGURE_FOLDER,
    output:
        **figure_files("gosh", "gosh_{outcome}_{comparison}_{measure}"),
    log:
        "logs/figures/gosh_{outcome}_{comparison}_{measure}.log",
    conda:
        "../envs/scimeta.yaml"
    shell:
        LINK_FIGURE


rule cumulative_plot:
    """Cumulative forest plot of one pool, the studies added in the configured order."""
    input:
        FIGURE_FOLDER,
    output:
        **figure_files("cumulative", "cumulative_{outcome}_{comparison}_{measure}"),
    log:
        "logs/figures/cumulative_{outcome}_{comparison}_{measure}.log",
    conda:
        "../envs/scimeta.yaml"
    shell:
        LINK_FIGURE
