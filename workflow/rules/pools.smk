"""Effect sizes -> pools -> diagnostics, per outcome."""


rule pools:
    """One outcome's effect sizes -> the membership table (who enters each pool, decided
    once), the overall and subgroup pools and the tests for subgroup differences."""
    input:
        effects=outcome_table("effects"),
        studies=snapshot("studies.json"),
    output:
        pooled=outcome_table("pooled"),
        subgroup_tests=outcome_table("subgroup_tests"),
        membership=outcome_table("membership"),
    log:
        "logs/pools/{outcome}.log",
    params:
        analysis=config["analysis"],
        subgroups=config["subgroups"],
        populations=config["populations"],
        permutations=config["permutations"],
        seed=config["seed"],
        lib=LIB_DIGEST,
    run:
        run_script("pools", input, output, params, log, wildcards)


# The diagnostics are a stage of their own, beside GOSH and the cumulative analysis
# (robustness.smk): all three read the membership table as the pools wrote it, so on two
# cores they run side by side (on a 2,000-study outcome, benchmarks/large_review.py, the
# subgroup permutation tests and the diagnostics take about 7 s each).
rule diagnostics:
    """One outcome's effect sizes and membership table -> small-study bias and the studies
    trim and fill imputes, leave-one-out, influence, the r sweep and meta-regression."""
    input:
        effects=outcome_table("effects"),
        studies=snapshot("studies.json"),
        membership=outcome_table("membership"),
    output:
        bias=outcome_table("bias"),
        bias_filled=outcome_table("bias_filled"),
        leave1out=outcome_table("leave1out"),
        influence=outcome_table("influence"),
        sensitivity=outcome_table("sensitivity"),
        metareg=outcome_table("metareg"),
    log:
        "logs/diagnostics/{outcome}.log",
    params:
        analysis=config["analysis"],
        permutations=config["permutations"],
        seed=config["seed"],
        r_grid=config["sensitivity"]["r_grid"],
        prepost_method=config["prepost_method"],
        moderators=config["moderators"],
        lib=LIB_DIGEST,
    run:
        run_script("diagnostics", input, output, params, log, wildcards)
