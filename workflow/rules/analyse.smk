"""One job per outcome: rows -> arms -> effect sizes -> pools, subgroups, r sweep,
meta-regression, bias -> figures.

Each stage writes its own table, so a reviewer can open every stage; the stages
share one job because every Snakemake job is a fresh Python process, and
starting one (pandas, scipy, matplotlib) costs more than the statistics of an
outcome. The figures an outcome gets depend on its rows, so the rule is written
once per outcome (``analyse_<outcome>``); heavier outcomes start first.
"""

for _outcome in OUTCOMES:

    rule:
        name:
            f"analyse_{_outcome}"
        output:
            arms=f"data/processed/outcomes/{_outcome}/arms.csv",
            effects=f"data/processed/outcomes/{_outcome}/effects.csv",
            excluded=f"data/processed/outcomes/{_outcome}/excluded.csv",
            pooled=f"results/outcomes/{_outcome}/pooled.csv",
            subgroup_tests=f"results/outcomes/{_outcome}/subgroup_tests.csv",
            membership=f"results/outcomes/{_outcome}/membership.csv",
            sensitivity=f"results/outcomes/{_outcome}/sensitivity_r.csv",
            metareg=f"results/outcomes/{_outcome}/metareg.csv",
            bias=f"results/outcomes/{_outcome}/bias.csv",
            leave1out=f"results/outcomes/{_outcome}/leave1out.csv",
            influence=f"results/outcomes/{_outcome}/influence.csv",
            figures=figure_outputs(_outcome),
        log:
            f"logs/analyse/{_outcome}.log",
        priority: len(figure_outputs(_outcome))
        conda:
            "../envs/scimeta.yaml"
        params:
            rows=OUTCOME_DIGESTS[_outcome],
            lib=LIB_DIGEST,
            outcome=_outcome,
            outcome_config=config["outcomes"][_outcome],
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
            plan=figure_plan(_outcome),
            layout=config["figures"]["layout"],
            max_forest_rows=config["figures"]["max_forest_rows"],
        script:
            "../scripts/analyse.py"
