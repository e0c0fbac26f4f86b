"""Rows -> arms -> effect sizes, per outcome."""


# Arms and effect sizes share one job: every job is a new Python process, and starting one
# (pandas, numpy, the library) costs far more than these two stages of an outcome.
# benchmarks/stages.py on the SCI example review (10 outcomes, 2 cores, CPU seconds per
# outcome): process start with the imports 1.15 s; arms 0.035 s, effect sizes 0.08 s.
rule effect_sizes:
    """One outcome's rows of the snapshot -> a mean and SD per arm, how each was derived ->
    effect sizes of every comparison and measure, and every exclusion of the outcome."""
    input:
        rows=get_rows,
        studies=snapshot("studies.json"),
        sources=snapshot("sources.json"),
    output:
        arms=outcome_table("arms"),
        effects=outcome_table("effects"),
        excluded=outcome_table("excluded"),
    log:
        "logs/effect_sizes/{outcome}.log",
    conda:
        "../envs/scimeta.yaml"
    params:
        config=get_effects_config,
        lib=LIB_DIGEST,
    script:
        "../scripts/effect_sizes.py"
