"""Pooling: overall and subgroup pools, tests for subgroup differences, r sweep."""


rule pool:
    input:
        effects="data/processed/outcomes/{outcome}/effects.csv",
    output:
        pooled="results/outcomes/{outcome}/pooled.csv",
        subgroup_tests="results/outcomes/{outcome}/subgroup_tests.csv",
        membership="results/outcomes/{outcome}/membership.csv",
        sensitivity="results/outcomes/{outcome}/sensitivity_r.csv",
        metareg="results/outcomes/{outcome}/metareg.csv",
    log:
        "logs/pool/{outcome}.log",
    conda:
        "../envs/scimeta.yaml"
    params:
        rows=get_outcome_digest,
        lib=LIB_DIGEST,
        analysis=config["analysis"],
        subgroups=config["subgroups"],
        moderators=config["moderators"],
        populations=config["populations"],
        permutations=config["permutations"],
        seed=config["seed"],
        r_grid=config["sensitivity"]["r_grid"],
        prepost_method=config["prepost_method"],
    script:
        "../scripts/pool.py"
