"""Figures: one job per outcome draws all of that outcome's figures."""

for _outcome in OUTCOMES:

    rule:
        name:
            f"figures_{_outcome}"
        input:
            effects=f"data/processed/outcomes/{_outcome}/effects.csv",
            pooled=f"results/outcomes/{_outcome}/pooled.csv",
            subgroup_tests=f"results/outcomes/{_outcome}/subgroup_tests.csv",
            membership=f"results/outcomes/{_outcome}/membership.csv",
            sensitivity=f"results/outcomes/{_outcome}/sensitivity_r.csv",
            metareg=f"results/outcomes/{_outcome}/metareg.csv",
        output:
            figure_outputs(_outcome),
        log:
            f"logs/figures/{_outcome}.log",
        priority: len(figure_plan(_outcome))
        conda:
            "../envs/scimeta.yaml"
        params:
            outcome=_outcome,
            plan=figure_plan(_outcome),
            lib=LIB_DIGEST,
            outcome_config=config["outcomes"][_outcome],
            analysis=config["analysis"],
            layout=config["figures"]["layout"],
            populations=config["populations"],
        script:
            "../scripts/figures.py"
