"""Extraction (raw rows -> arms) and effect sizes (arms -> effects), one job per outcome."""


rule effects:
    output:
        arms="data/processed/outcomes/{outcome}/arms.csv",
        effects="data/processed/outcomes/{outcome}/effects.csv",
        excluded="data/processed/outcomes/{outcome}/excluded.csv",
    log:
        "logs/effects/{outcome}.log",
    conda:
        "../envs/scimeta.yaml"
    params:
        rows=get_outcome_digest,
        lib=LIB_DIGEST,
        extraction=config["extraction"],
        prepost_r=config["prepost_r"],
        prepost_method=config["prepost_method"],
        level=config["analysis"]["level"],
        outcome_config=get_outcome_config,
    script:
        "../scripts/effects.py"
