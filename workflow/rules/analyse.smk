"""One job per outcome: rows -> arms -> effect sizes -> pools, subgroups, r sweep, meta-regression, bias.

Each arrow writes its own table, so a reviewer can open every stage; the
stages share one job because every Snakemake job is a fresh Python process,
and starting one costs more than the statistics of an outcome.
"""


rule analyse:
    output:
        arms="data/processed/outcomes/{outcome}/arms.csv",
        effects="data/processed/outcomes/{outcome}/effects.csv",
        excluded="data/processed/outcomes/{outcome}/excluded.csv",
        pooled="results/outcomes/{outcome}/pooled.csv",
        subgroup_tests="results/outcomes/{outcome}/subgroup_tests.csv",
        membership="results/outcomes/{outcome}/membership.csv",
        sensitivity="results/outcomes/{outcome}/sensitivity_r.csv",
        metareg="results/outcomes/{outcome}/metareg.csv",
        bias="results/outcomes/{outcome}/bias.csv",
        leave1out="results/outcomes/{outcome}/leave1out.csv",
        influence="results/outcomes/{outcome}/influence.csv",
    log:
        "logs/analyse/{outcome}.log",
    conda:
        "../envs/scimeta.yaml"
    params:
        rows=get_outcome_digest,
        lib=LIB_DIGEST,
        outcome_config=get_outcome_config,
        extraction=config["extraction"],
        prepost_r=config["prepost_r"],
        prepost_method=config["prepost_method"],
        analysis=config["analysis"],
        subgroups=config["subgroups"],
        moderators=config["moderators"],
        populations=config["populations"],
        permutations=config["permutations"],
        seed=config["seed"],
        r_grid=config["sensitivity"]["r_grid"],
    script:
        "../scripts/analyse.py"
