"""The columns of every output table, declared once: name, order and meaning.

The stage functions return their tables through :func:`conform` (the declared
columns in the declared order, nothing undeclared), ``docs/contract.md`` lists
them (:func:`markdown`; a test checks the two agree), and the tests read them
from here.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TABLES", "Table", "columns", "conform", "markdown"]


@dataclass(frozen=True)
class Table:
    """One output table: its file, what a row is, and its ``(column, meaning)`` pairs."""

    path: str
    rows: str
    columns: tuple[tuple[str, str], ...]


#: Columns several tables share, with one meaning each.
OUTCOME = ('outcome', 'the outcome key of the config')
COMPARISON = ('comparison',
              '`between_arms` (treatment − control) or `pre_post` (follow-up − baseline)')
MEASURE = ('measure', "metafor's measure: `MD`, `SMD`, `ROM` (log), `MC`, `SMCR`, `SMCC`")
#: The design stratum of a pool (``scimeta.membership.design_stratum``): the last column of
#: every table of pools, so that the columns before it keep their places.
DESIGN = ('design',
          'design stratum of the pool: `rct`, `controlled` or `single_arm` '
          '(`analysis.designs.<comparison>: separate`), `all` (`pooled`: across designs)')

TABLES: dict[str, Table] = {
    'effects': Table(
        'data/processed/effects.csv',
        'one row per effect size',
        (
            ('study_id', 'the study'),
            ('cohort_id', 'its cohort (the study itself when empty in studies.csv)'),
            ('label', "the study's label in tables and figures"),
            OUTCOME,
            ('population', '`all` or the within-study subgroup'),
            ('design', '`rct`, `controlled` or `single_arm`'),
            ('comparison',
             '`between_arms` (group 1 treatment, group 2 control) or `pre_post` '
             '(group 1 follow-up, group 2 baseline, same patients)'),
            MEASURE,
            ('timepoint', 'months since treatment'),
            ('yi', 'the effect size'),
            ('vi', 'its sampling variance'),
            ('sei', 'its standard error'),
            ('ci_low', 'lower limit of its confidence interval'),
            ('ci_high', 'upper limit of its confidence interval'),
            ('n1', 'patients of group 1'),
            ('mean1', 'mean of group 1'),
            ('sd1', 'SD of group 1'),
            ('n2', 'patients of group 2'),
            ('mean2', 'mean of group 2'),
            ('sd2', 'SD of group 2'),
            ('r', 'pre–post correlation used (before/after effects)'),
            ('r_source', 'where `r` comes from (reported, derived, assumed)'),
            ('r_method',
             'how `r` was obtained: `reported`, `from_sd_change`, `from_se_change`, '
             '`from_ci_change`, `from_t_change`, `from_p_change` (from a change row), `from_t`, '
             '`from_p` (the paired test of the follow-up row), `from_p_bound` (a reported bound: '
             'the assumed r where it agrees, else the nearest r that does), `assumed`, '
             '`not_needed` (change scores); empty for between-arm effects'),
            ('r_agree_low',
             'lowest r in [-1, 1] whose paired p agrees with the p reported on the follow-up row '
             '(within the rounding of its last decimal; empty without one)'),
            ('r_agree_high', 'highest such r'),
            ('effect_method', 'how a reported difference became the effect size'),
            ('source_rows', 'the `outcomes.csv` rows behind it (`;`-joined)'),
            ('note', 'anything the reader should know about this effect size'),
        ),
    ),
    'excluded': Table(
        'results/tables/excluded.csv',
        'every row or comparison left out, and why',
        (
            ('file',
             'the file read (`data/raw/outcomes.csv` or '
             '`data/raw/extraction.xlsx:outcomes`; `config/config.yaml` for `plan` '
             'rows)'),
            ('row', 'its spreadsheet row (empty for `plan` rows)'),
            ('study_id', 'the study'),
            ('outcome', 'the outcome key'),
            ('arm', '`treatment` or `control`'),
            ('population', '`all` or the within-study subgroup'),
            ('timepoint', 'months since treatment'),
            ('stage',
             '`extract` (row excluded), `effects` (left out of one comparison or '
             'measure) or `plan` (measures not attempted, one row per outcome)'),
            ('reason', 'why'),
        ),
    ),
    'pooled': Table(
        'results/tables/pooled.csv',
        'one row per pooled estimate',
        (
            OUTCOME,
            COMPARISON,
            MEASURE,
            ('subgroup_var', '`overall` or the subgroup variable'),
            ('subgroup', '`all` or the subgroup level'),
            ('k', 'studies pooled'),
            ('n', "patients of the pool's members, as `subgroup_membership.csv` counts them"),
            ('model', '`common` or `random`'),
            ('tau2_method', 'estimator of tau² (`EE` for the common-effect model)'),
            ('ci_method', '`wald` (z), `hksj` (Hartung–Knapp–Sidik–Jonkman t) or `hksj_adhoc` '
             '(the same with its variance factor floored at 1: never narrower than `wald`)'),
            ('estimate', 'pooled estimate (log scale for `ROM`)'),
            ('se', 'its standard error'),
            ('ci_low', 'lower confidence limit'),
            ('ci_high', 'upper confidence limit'),
            ('stat', 'z (wald) or t (hksj, hksj_adhoc) statistic'),
            ('p', 'two-sided p-value of the estimate'),
            ('pi_low', 'lower prediction limit (random effects, k ≥ `pi_min_k`)'),
            ('pi_high', 'upper prediction limit'),
            ('tau2', 'between-study variance tau²'),
            ('tau2_ci_low', 'lower Q-profile confidence limit of tau²'),
            ('tau2_ci_high', 'upper Q-profile confidence limit of tau²'),
            ('tau', 'square root of tau²'),
            ('I2', 'I² (%)'),
            ('H2', 'H²'),
            ('Q', "Cochran's Q"),
            ('Q_df', 'its degrees of freedom (k − 1)'),
            ('Q_p', 'its p-value'),
            ('df', 'degrees of freedom of the t statistic (hksj, hksj_adhoc)'),
            ('hk_factor',
             'Hartung–Knapp variance factor s² before any floor (hksj, hksj_adhoc); below 1 '
             'under `hksj_adhoc` means it was floored at 1 (the `note` says so)'),
            ('conf_level', 'confidence level of the intervals'),
            ('primary',
             'whether this is the primary model (first estimator, first CI method): one row '
             'of each overall pool, at most one of each subgroup pool (a pool: outcome × '
             'comparison × measure × `design` × subgroup)'),
            ('converged', 'whether the tau² estimator converged'),
            ('studies', 'the members (`;`-joined study_id)'),
            ('note',
             "why a number is empty, and what the pool's members are (combined, left"
             ' out)'),
            ('tau2_scope',
             'subgroup pools: `separate` (own tau²), `common` (one tau² for all '
             'subgroups, each its own Hartung–Knapp factor) or `single_model` (metafor\'s '
             '`rma(mods = ~ factor(g) - 1)`: one tau² and one Hartung–Knapp factor)'),
            ('in_test', 'subgroup pools: whether the subgroup enters the tests for differences'),
            ('iterations', 'iterations of the tau² estimator'),
            DESIGN,
        ),
    ),
    'subgroup_tests': Table(
        'results/tables/subgroup_tests.csv',
        'one row per analysis × variable × method × estimator × CI method',
        (
            OUTCOME,
            COMPARISON,
            MEASURE,
            ('subgroup_var', 'the subgroup variable'),
            ('method',
             '`separate_tau2` (Q on the subgroup estimates) or `moderator_model` '
             '(mixed-effects model, common tau²)'),
            ('Q_between', 'the chi² statistic of the test'),
            ('df', 'its degrees of freedom (numerator df of F)'),
            ('p', 'the p-value of the statistic named in `statistic`'),
            ('tau2_method', 'estimator of tau²'),
            ('ci_method',
             '`wald` (chi² test), `hksj` (Knapp–Hartung F test) or `hksj_adhoc` (its factor '
             'floored at 1); `wald` for '
             '`separate_tau2`'),
            ('k_groups', 'subgroups tested'),
            ('k', 'studies tested'),
            ('F', 'Knapp–Hartung F statistic (`moderator_model`, `hksj`, `hksj_adhoc`)'),
            ('df2', 'denominator degrees of freedom of F'),
            ('p_perm', 'permutation p-value (metafor `permutest`)'),
            ('n_perm', 'permutations used'),
            ('perm_exact', 'whether every distinct permutation was used'),
            ('note', 'why a number is empty; the permutation seed'),
            ('statistic', 'what `p` tests: `Q_between` or `F`'),
            DESIGN,
        ),
    ),
    'subgroup_membership': Table(
        'results/tables/subgroup_membership.csv',
        'who enters each pool, and why',
        (
            OUTCOME,
            COMPARISON,
            MEASURE,
            ('subgroup_var', '`overall` or the subgroup variable'),
            ('subgroup', '`all` or the level'),
            ('study_id', 'the study'),
            ('cohort_id', 'its cohort'),
            ('population',
             '`all`, the subgroup, or `combined:<levels>` for subgroup rows combined'),
            ('yi', 'the effect size entering the pool'),
            ('vi', 'its variance'),
            ('n', 'its patients (both arms; follow-up n before/after)'),
            ('included', 'whether it enters the pool'),
            ('in_test', 'whether its subgroup enters the tests for differences'),
            ('reason', 'why it is (not) included'),
            ('effect_row',
             "its row in the outcome's `effects.csv` (-1 for combined subgroup rows)"),
            DESIGN,
        ),
    ),
    'sensitivity_r': Table(
        'results/tables/sensitivity_r.csv',
        'before/after pools at every assumed pre–post correlation',
        (
            OUTCOME,
            COMPARISON,
            MEASURE,
            ('r_assumed', 'the assumed correlation'),
            ('k', 'studies pooled'),
            ('k_assumed_r', 'studies recomputed at `r_assumed`'),
            ('k_own_r', 'studies keeping their own (reported, derived or not needed) correlation'),
            ('own_r_studies', 'those studies (`;`-joined)'),
            ('r_agree_low',
             'lowest assumed r at which every study of `r_agree_studies` gives its reported '
             'paired p (empty: none reports one, or no r agrees with all)'),
            ('r_agree_high', 'highest such r'),
            ('r_agree_studies',
             'the studies taking the assumed r that report a paired p (`;`-joined)'),
            ('model', '`random`'),
            ('tau2_method', 'the primary estimator of tau²'),
            ('ci_method', 'the primary CI method'),
            ('level', 'confidence level'),
            ('estimate', 'pooled estimate (log scale for `ROM`)'),
            ('se', 'its standard error'),
            ('ci_low', 'lower confidence limit'),
            ('ci_high', 'upper confidence limit'),
            ('stat', 'z (wald) or t (hksj, hksj_adhoc) statistic'),
            ('p', 'two-sided p-value of the estimate'),
            ('df', 'degrees of freedom of the t statistic (hksj, hksj_adhoc)'),
            ('pi_low', 'lower prediction limit'),
            ('pi_high', 'upper prediction limit'),
            ('tau2', 'between-study variance tau²'),
            ('I2', 'I² (%)'),
            ('Q', "Cochran's Q"),
            ('Q_p', 'its p-value'),
            ('converged', 'whether the tau² estimator converged'),
            ('note', 'why a number is empty; studies kept at their own variance'),
            DESIGN,
        ),
    ),
    'metareg': Table(
        'results/tables/metareg.csv',
        'meta-regression of every overall pool on each moderator, one row per coefficient',
        (
            OUTCOME,
            COMPARISON,
            MEASURE,
            ('moderator', 'the moderator (a column of studies.csv)'),
            ('tau2_method', 'estimator of the residual tau²'),
            ('ci_method', '`wald` (z tests), `hksj` (Knapp–Hartung t and F tests) or '
             '`hksj_adhoc` (the same with the factor floored at 1)'),
            ('k', 'studies with a value of the moderator'),
            ('term', '`intercept` or the moderator'),
            ('estimate', 'the coefficient'),
            ('se', 'its standard error'),
            ('stat', 'z or t statistic'),
            ('p', 'its p-value'),
            ('ci_low', 'lower confidence limit'),
            ('ci_high', 'upper confidence limit'),
            ('df', 'degrees of freedom of t (hksj, hksj_adhoc)'),
            ('QM', 'omnibus test of the moderator'),
            ('QM_df', 'its degrees of freedom'),
            ('QM_p', 'its p-value (of F under hksj, hksj_adhoc)'),
            ('F', 'Knapp–Hartung F statistic'),
            ('F_df1', 'numerator df of F'),
            ('F_df2', 'denominator df of F'),
            ('tau2', 'residual tau²'),
            ('I2', 'residual I² (%)'),
            ('R2', 'pseudo-R² (%)'),
            ('QE', 'test of residual heterogeneity'),
            ('QE_df', 'its degrees of freedom'),
            ('QE_p', 'its p-value'),
            ('converged', 'whether the tau² estimator converged'),
            ('studies', 'the studies fitted (`;`-joined)'),
            ('note', 'why a number is empty; studies left out'),
            ('cov_intercept',
             "covariance of this coefficient with the intercept (the bubble plot's "
             'band)'),
            ('cov_slope', 'covariance of this coefficient with the slope'),
            ('crit', 'critical value of the CIs (normal or t quantile)'),
            ('p_perm', "permutation p-value of the term (metafor `permutest`)"),
            ('QM_p_perm', 'permutation p-value of the omnibus test'),
            ('n_perm', 'permutations used'),
            ('perm_exact', 'whether every distinct permutation was used'),
            DESIGN,
        ),
    ),
    'bias': Table(
        'results/tables/bias.csv',
        'small-study tests of every overall pool',
        (
            OUTCOME,
            COMPARISON,
            MEASURE,
            ('tau2_method', 'estimator of tau² (egger_rma, trim and fill)'),
            ('test',
             '`egger_rma`, `egger_lm`, `begg`, `trimfill_L0`, `trimfill_R0`, `pet`, '
             '`peese`'),
            ('statistic', "test statistic (z or t; Kendall's tau for `begg`)"),
            ('df', 'degrees of freedom of t'),
            ('p', 'p-value'),
            ('k', 'studies'),
            ('k0', 'studies imputed by trim and fill'),
            ('estimate', 'limit estimate (regression tests) or filled estimate (trim and fill)'),
            ('ci_low', 'lower confidence limit of `estimate`'),
            ('ci_high', 'upper confidence limit of `estimate`'),
            ('side', 'side on which trim and fill imputes'),
            ('note',
             "why a test was not run or has empty numbers (metafor's wording where "
             'metafor refuses)'),
            ('intercept', 'intercept of the fitted line the funnel plot draws'),
            ('slope', 'slope of that line'),
            DESIGN,
        ),
    ),
    'bias_filled': Table(
        'results/tables/bias_filled.csv',
        'one row per study imputed by trim and fill (the funnel plot draws them)',
        (
            OUTCOME,
            COMPARISON,
            MEASURE,
            ('tau2_method', 'estimator of tau² of the trim and fill'),
            ('test', '`trimfill_L0` or `trimfill_R0`: its row of `bias.csv`'),
            ('fill', 'number of the imputed study (1 to `k0`)'),
            ('yi', 'its effect size'),
            ('vi', 'its sampling variance'),
            DESIGN,
        ),
    ),
    'figure_warnings': Table(
        'results/tables/figure_warnings.csv',
        'one row per planned figure that was not drawn, and why',
        (
            OUTCOME,
            ('figure', 'the file name of the figure, without extension (`results/figures/`)'),
            ('kind', 'kind of figure (`figures.kinds`; `rob_summary` for a risk-of-bias summary)'),
            ('comparison', '`between_arms` or `pre_post` (empty where it does not apply)'),
            MEASURE,
            ('var', 'the subgroup variable or moderator of the figure (empty otherwise)'),
            ('status',
             '`not drawn` (nothing the figure could show) or `skipped` (left out by a '
             'setting, e.g. `figures.small_k: skip`)'),
            ('reason', 'why, as the placeholder figure in its place says'),
        ),
    ),
    'leave1out': Table(
        'results/tables/leave1out.csv',
        'the pool without each study in turn',
        (
            OUTCOME,
            COMPARISON,
            MEASURE,
            ('tau2_method', 'estimator of tau²'),
            ('study_id', 'the study left out'),
            ('estimate', 'pooled estimate without it'),
            ('se', 'its standard error'),
            ('ci_low', 'lower confidence limit (primary CI method)'),
            ('ci_high', 'upper confidence limit'),
            ('tau2', 'tau² without it'),
            ('I2', 'I² (%) without it'),
            ('Q', "Cochran's Q without it"),
            ('note', 'why a number is empty'),
            DESIGN,
        ),
    ),
    'influence': Table(
        'results/tables/influence.csv',
        'influence diagnostics (metafor `influence`)',
        (
            OUTCOME,
            COMPARISON,
            MEASURE,
            ('tau2_method', 'estimator of tau²'),
            ('study_id', 'the study'),
            ('rstudent', 'externally standardised residual'),
            ('dffits', 'DFFITS'),
            ('cook_d', "Cook's distance"),
            ('cov_r', 'covariance ratio'),
            ('tau2_del', 'tau² without the study'),
            ('Q_del', 'Q without the study'),
            ('hat', 'leverage'),
            ('weight', 'weight (%)'),
            ('influential', "metafor's flag of an influential study"),
            ('dfbetas', 'DFBETAS'),
            ('note', 'why a number is empty'),
            DESIGN,
        ),
    ),
}


def columns(name: str) -> list[str]:
    """The columns of table ``name``, in order."""
    return [c for c, _ in TABLES[name].columns]


def conform(name: str, frame):
    """``frame`` with exactly the columns of table ``name``, in order (missing ones empty).

    Raises
    ------
    ValueError
        When ``frame`` has a column the table does not declare.
    """
    declared = columns(name)
    extra = [c for c in frame.columns if c not in declared]
    if extra:
        raise ValueError(f"{name}: undeclared column(s) {', '.join(map(str, extra))} "
                         "(declare them in scimeta.tables)")
    if frame.empty and len(frame.columns) == 0:
        # no rows: untyped (object) columns, so that concatenating it types nothing
        return type(frame)(columns=declared)
    return frame.reindex(columns=declared)


def markdown(name: str) -> str:
    """The Markdown table of ``docs/contract.md`` for table ``name``."""
    table = TABLES[name]
    lines = [f"### `{table.path}` — {table.rows}", "", "| column | meaning |", "|---|---|"]
    lines += [f"| `{c}` | {d} |" for c, d in table.columns]
    return "\n".join(lines) + "\n"
