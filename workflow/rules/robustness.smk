"""GOSH and cumulative meta-analysis of every overall pool of an outcome, and their figures.

Rules with an ``{outcome}`` wildcard, reading the outcome's ``effects.csv`` and
``membership.csv``. GOSH is split into ``{chunk}`` jobs, one per range of
subsets, when the outcome's largest possible pool needs more work than
``gosh.part_size`` (:func:`scimeta.robustness.gosh_parts`): the unit a cluster
spreads (an outcome of one part is fitted by its ``gosh`` job). The figures
(GOSH plot, cumulative forest plot) are drawn for the pools the funnel plot is
planned for (the first measure of each comparison, three or more studies), from
the tables as written.
"""


include: "robustness_common.smk"


wildcard_constraints:
    chunk=r"\d+",
    comparison="between_arms|pre_post",
    measure="[A-Z]+",


rule gosh_part:
    input:
        effects="data/processed/outcomes/{outcome}/effects.csv",
        membership="results/outcomes/{outcome}/membership.csv",
    output:
        part=temp("results/outcomes/{outcome}/gosh/part_{chunk}.csv"),
    log:
        "logs/gosh/{outcome}_{chunk}.log",
    conda:
        "../envs/scimeta.yaml"
    resources:
        mem_mb=1500,
        runtime=30,
    params:
        parts=lambda w: GOSH_PARTS[w.outcome],
        analysis=config["analysis"],
        gosh=config["gosh"],
        seed=config["seed"],
        lib=LIB_DIGEST,
    script:
        "../scripts/gosh.py"


rule gosh:
    input:
        effects="data/processed/outcomes/{outcome}/effects.csv",
        membership="results/outcomes/{outcome}/membership.csv",
        parts=get_gosh_parts,
    output:
        gosh="results/outcomes/{outcome}/gosh.csv",
        summary="results/outcomes/{outcome}/gosh_summary.csv",
        influence="results/outcomes/{outcome}/gosh_influence.csv",
    log:
        "logs/gosh/{outcome}.log",
    conda:
        "../envs/scimeta.yaml"
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        analysis=config["analysis"],
        gosh=config["gosh"],
        seed=config["seed"],
        lib=LIB_DIGEST,
    script:
        "../scripts/gosh.py"


rule cumulative:
    input:
        effects="data/processed/outcomes/{outcome}/effects.csv",
        membership="results/outcomes/{outcome}/membership.csv",
    output:
        cumulative="results/outcomes/{outcome}/cumulative.csv",
    log:
        "logs/cumulative/{outcome}.log",
    conda:
        "../envs/scimeta.yaml"
    resources:
        mem_mb=1000,
        runtime=15,
    params:
        rows=lambda w: OUTCOME_DIGESTS[w.outcome],
        analysis=config["analysis"],
        order_by=config["cumulative"]["order_by"],
        lib=LIB_DIGEST,
    script:
        "../scripts/cumulative.py"


rule gosh_figure:
    input:
        gosh="results/outcomes/{outcome}/gosh.csv",
        influence="results/outcomes/{outcome}/gosh_influence.csv",
    output:
        svg="results/figures/gosh_{outcome}_{comparison}_{measure}.svg",
        png=report(
            "results/figures/gosh_{outcome}_{comparison}_{measure}.png",
            caption="../report/gosh_plot.rst",
            category="3. Figures",
            labels=lambda w: _figure_labels("GOSH", w),
        ),
        csv="results/figures/gosh_{outcome}_{comparison}_{measure}.csv",
    log:
        "logs/figures/gosh_{outcome}_{comparison}_{measure}.log",
    conda:
        "../envs/scimeta.yaml"
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        label=lambda w: config["outcomes"][w.outcome]["label"],
        lib=LIB_DIGEST,
    script:
        "../scripts/gosh.py"


rule cumulative_figure:
    input:
        cumulative="results/outcomes/{outcome}/cumulative.csv",
    output:
        svg="results/figures/cumulative_{outcome}_{comparison}_{measure}.svg",
        png=report(
            "results/figures/cumulative_{outcome}_{comparison}_{measure}.png",
            caption="../report/cumulative_plot.rst",
            category="3. Figures",
            labels=lambda w: _figure_labels("cumulative forest", w),
        ),
        csv="results/figures/cumulative_{outcome}_{comparison}_{measure}.csv",
    log:
        "logs/figures/cumulative_{outcome}_{comparison}_{measure}.log",
    conda:
        "../envs/scimeta.yaml"
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        label=lambda w: config["outcomes"][w.outcome]["label"],
        order_by=config["cumulative"]["order_by"],
        max_rows=config["figures"]["max_forest_rows"],
        lib=LIB_DIGEST,
    script:
        "../scripts/cumulative.py"
