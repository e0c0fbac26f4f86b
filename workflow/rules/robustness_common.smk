"""Functions and constants of workflow/rules/robustness.smk (GOSH parts, figure list)."""

from scimeta.robustness import gosh_parts as _gosh_parts  # noqa: E402


def _largest_pool(outcome):
    """Studies with rows of ``outcome``: no pool of it can hold more."""
    rows = REVIEW.outcomes[REVIEW.outcomes["outcome"] == outcome]
    return int(rows["study_id"].nunique())


GOSH_PARTS = {o: _gosh_parts(_largest_pool(o), config["gosh"]) for o in OUTCOMES}
#: (kind, outcome, comparison, measure) of every robustness figure
ROBUSTNESS_FIGURES = [
    (kind, o, c, m)
    for kind in ("gosh", "cumulative")
    for (o, c, m) in FIGURES["funnel"]
]
ROBUSTNESS_FORMATS = {"gosh": ("svg", "png"), "cumulative": ("svg", "png")}


def _figure_labels(figure, w):
    """Labels of a figure in the Snakemake report (as the figures of ``analyse``)."""
    return report_labels(
        {
            "outcome": config["outcomes"][w.outcome]["label"],
            "figure": figure,
            "comparison": w.comparison,
            "measure": w.measure,
        }
    )


def get_gosh_parts(wildcards):
    """The part files of an outcome split into several GOSH jobs; none when it is one job
    (the ``gosh`` job then fits every subset itself: one Python start less)."""
    if GOSH_PARTS[wildcards.outcome] == 1:
        return []
    return expand(
        "results/outcomes/{outcome}/gosh/part_{chunk}.csv",
        outcome=wildcards.outcome,
        chunk=range(GOSH_PARTS[wildcards.outcome]),
    )


def get_robustness_figures(wildcards=None):
    return [
        f"results/figures/{kind}_{o}_{c}_{m}.{ext}"
        for kind, o, c, m in ROBUSTNESS_FIGURES
        for ext in (*ROBUSTNESS_FORMATS[kind], "csv")
    ]
