"""scimeta's workflow is workflow/Snakefile; this file lets `snakemake -s Snakefile` run it.

Prefer `snakemake -s workflow/Snakefile -d REVIEW`: Snakemake picks up the profile
workflow/profiles/default only beside the Snakefile it was given.
"""


include: "workflow/Snakefile"


# An included file cannot set the default target; this one asks for what `all` does.
rule review:
    default_target: True
    input:
        rules.all.input,
