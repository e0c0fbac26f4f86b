"""GOSH and cumulative meta-analysis of every overall pool of an outcome.

Rules with an ``{outcome}`` wildcard, reading the outcome's ``effects.csv`` and
``membership.csv``; their figures are drawn by the outcome's ``figures`` job (figures.smk)
from the tables as written. GOSH is split into ``{chunk}`` jobs, one per range of subsets,
when the outcome's largest possible pool needs more work than ``gosh.part_size``
(:func:`scimeta.robustness.gosh_parts`): the unit a cluster spreads.
"""


wildcard_constraints:
    chunk=r"\d+",


rule gosh_part:
    """One range of the subsets of every pool of an outcome (outcomes whose GOSH needs more
    than one job of ``gosh.part_size``)."""
    input:
        effects=outcome_table("effects"),
        membership=outcome_table("membership"),
    output:
        part=temp("results/outcomes/{outcome}/gosh/part_{chunk}.csv"),
    log:
        "logs/gosh/{outcome}_{chunk}.log",
    resources:
        mem_mb=1500,
        runtime=30,
    params:
        parts=lambda w: GOSH_PARTS[w.outcome],
        analysis=config["analysis"],
        gosh=config["gosh"],
        seed=config["seed"],
        lib=LIB_DIGEST,
    run:
        run_script("robustness", input, output, params, log, wildcards)


# GOSH (its one range of subsets, when one job does it all) and the cumulative
# meta-analysis share one job per outcome: on the SCI example review each takes well under
# a second of CPU, while a job's process start with pandas and scipy cost 1.2-2 s when every
# job was a process of its own (benchmarks/stages.py; jobs now run in the workers of
# scimeta.jobs).
rule robustness:
    """The outcome's GOSH tables (from its ranges of subsets) and its cumulative
    meta-analysis."""
    input:
        effects=outcome_table("effects"),
        membership=outcome_table("membership"),
        studies=snapshot("studies.json"),
        parts=get_gosh_parts,
    output:
        gosh=GOSH_SUBSETS,
        summary=outcome_table("gosh_summary"),
        influence=outcome_table("gosh_influence"),
        cumulative=outcome_table("cumulative"),
    log:
        "logs/robustness/{outcome}.log",
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        analysis=config["analysis"],
        gosh=config["gosh"],
        seed=config["seed"],
        order_by=config["cumulative"]["order_by"],
        lib=LIB_DIGEST,
    run:
        run_script("robustness", input, output, params, log, wildcards)
