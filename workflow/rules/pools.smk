"""Effect sizes -> pools -> diagnostics, per outcome."""


# Pools and diagnostics share one job, as arms and effect sizes do (measured as processes,
# benchmarks/stages.py, SCI example review, CPU seconds per outcome): process start 1.15 s;
# membership, pools and subgroup tests 0.33 s; bias, leave-one-out and influence 0.12 s;
# r sweep 0.05 s; meta-regression 0.065 s. The diagnostics read the membership table the
# pools were made from, in memory, as written to membership.csv.
rule pools:
    """One outcome's effect sizes -> the membership table (who enters each pool, decided
    once), the overall and subgroup pools, the tests for subgroup differences -> small-study
    bias, leave-one-out and influence, the r sweep and meta-regression."""
    input:
        effects=outcome_table("effects"),
        studies=snapshot("studies.json"),
    output:
        pooled=outcome_table("pooled"),
        subgroup_tests=outcome_table("subgroup_tests"),
        membership=outcome_table("membership"),
        bias=outcome_table("bias"),
        leave1out=outcome_table("leave1out"),
        influence=outcome_table("influence"),
        sensitivity=outcome_table("sensitivity"),
        metareg=outcome_table("metareg"),
    log:
        "logs/pools/{outcome}.log",
    params:
        analysis=config["analysis"],
        subgroups=config["subgroups"],
        populations=config["populations"],
        permutations=config["permutations"],
        seed=config["seed"],
        r_grid=config["sensitivity"]["r_grid"],
        prepost_method=config["prepost_method"],
        moderators=config["moderators"],
        lib=LIB_DIGEST,
    run:
        run_script("pools", input, output, params, log, wildcards)
