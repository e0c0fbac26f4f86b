"""Rows -> arms -> effect sizes, per outcome."""


# Arms and effect sizes share one job. Measured when every job was a new Python process
# (benchmarks/stages.py, SCI example review, 10 outcomes, 2 cores, CPU seconds per outcome):
# process start with the imports 1.15 s; arms 0.035 s, effect sizes 0.08 s. Jobs now run in
# the run's worker processes (scimeta.jobs, no imports per job); the two stages stay one job,
# which reads the outcome's rows once.
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
    params:
        config=get_effects_config,
        lib=LIB_DIGEST,
    run:
        run_script("effect_sizes", input, output, params, log, wildcards)
