# Reference values for the example review (config/config.yaml, data/raw/).
#
# Reads tests/reference/example_inputs.csv (written by
# tests/reference/make_example_inputs.py: the inputs of every effect size of
# the example review, as the library's extraction and pairing steps produce
# them) and writes tests/reference/example.json:
#   - every effect size recomputed with metafor's escalc() from those inputs,
#     independently of scimeta.effects;
#   - for every outcome x comparison x measure x design stratum, the rows with
#     population == "all" pooled with rma() for EE, REML, DL and PM, each with
#     test = "z", test = "knha" and test = "adhoc", with predict() and the Q-profile
#     confint().
#     The strata are those of the example config (analysis.designs: between_arms
#     separate, pre_post pooled): between arms, one pool per study design
#     (rct, controlled); before/after, one pool of every design ("all").
# Run from the repository root:  Rscript tests/reference/ref_example.R
#
# Conventions of the inputs (group 1 = follow-up for before/after rows):
#   MD, SMD, ROM           m1i = mean1, sd1i = sd1, n1i = n1, m2i = mean2, ...
#   MC, SMCC               m1i = mean1, m2i = mean2, sd1i = sd1, sd2i = sd2,
#                          ni = n1, ri = r
#   SMCR                   as MC, but sd1i = sd2: metafor standardises SMCR by
#                          sd1i, and the baseline SD is the standardiser
#                          (Becker 1988)
#   change scores          (effect_method "change_score") m1i = mean1,
#                          sd1i = sd1, m2i = 0, sd2i = 0, ri = 0
#   reported differences   yi and vi as given (effect_method
#                          "reported_difference_*")

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

in_file <- file.path("tests", "reference", "example_inputs.csv")
out_file <- file.path("tests", "reference", "example.json")
if (!file.exists(in_file)) stop("run from the repository root")

inputs <- read.csv(in_file, stringsAsFactors = FALSE, na.strings = "",
                   colClasses = c(study_id = "character", outcome = "character",
                                  population = "character", comparison = "character",
                                  measure = "character", effect_method = "character",
                                  design = "character"))
# the example config's analysis.designs: between arms each design on its own, before/after all
inputs$stratum <- ifelse(inputs$comparison == "between_arms", inputs$design, "all")

source(file.path("tests", "reference", "common.R"))  # metafor, jsonlite, num()

# ---------------------------------------------------------------------------
# Effect sizes
# ---------------------------------------------------------------------------

escalc_call <- function(row) {
  m <- row$measure
  if (startsWith(row$effect_method, "reported_difference")) {
    return(NULL)
  }
  between <- row$comparison == "between_arms" || row$effect_method == "independent_groups"
  if (between) {
    return(sprintf(
      'escalc(measure = "%s", m1i = mean1, sd1i = sd1, n1i = n1, m2i = mean2, sd2i = sd2, n2i = n2, data = row)',
      m))
  }
  if (row$effect_method == "change_score") {
    return(sprintf(
      'escalc(measure = "%s", m1i = mean1, m2i = 0, sd1i = sd1, sd2i = 0, ni = n1, ri = 0, data = row)',
      m))
  }
  if (m == "SMCR") {
    return('escalc(measure = "SMCR", m1i = mean1, m2i = mean2, sd1i = sd2, ni = n1, ri = r, data = row)')
  }
  sprintf(
    'escalc(measure = "%s", m1i = mean1, m2i = mean2, sd1i = sd1, sd2i = sd2, ni = n1, ri = r, data = row)',
    m)
}

inputs$yi_ref <- NA_real_
inputs$vi_ref <- NA_real_
effects <- vector("list", nrow(inputs))
for (i in seq_len(nrow(inputs))) {
  row <- inputs[i, ]
  call_text <- escalc_call(row)
  if (is.null(call_text)) {
    yi <- row$yi
    vi <- row$vi
    call_text <- "yi and vi as reported (no escalc call)"
  } else {
    es <- eval(parse(text = call_text))
    yi <- num(es$yi)
    vi <- num(es$vi)
  }
  inputs$yi_ref[i] <- yi
  inputs$vi_ref[i] <- vi
  effects[[i]] <- list(
    study_id = row$study_id, outcome = row$outcome, population = row$population,
    comparison = row$comparison, measure = row$measure,
    effect_method = row$effect_method, call = call_text,
    yi = yi, vi = vi)
}

# ---------------------------------------------------------------------------
# Pools
# ---------------------------------------------------------------------------

methods <- c("EE", "REML", "DL", "PM")
tests <- c("z", "knha", "adhoc")
control_text <- "list(threshold = 1e-12, maxiter = 10000, tol = 1e-13)"
confint_control_text <- "list(tol = 1e-13, maxiter = 10000)"

fit_case <- function(d, method, test) {
  yi <- d$yi_ref
  vi <- d$vi_ref
  call_text <- sprintf(
    'rma(yi = yi, vi = vi, method = "%s", test = "%s", control = %s)',
    method, test, control_text)
  fit <- tryCatch(suppressWarnings(eval(parse(text = call_text))),
                  error = function(e) e)
  case <- list(outcome = d$outcome[1], comparison = d$comparison[1],
               measure = d$measure[1], design = d$stratum[1], method = method, test = test,
               studies = I(sort(d$study_id)), call = call_text)
  if (inherits(fit, "error")) {
    case$error <- conditionMessage(fit)
    return(case)
  }
  pred <- suppressWarnings(predict(fit))
  ci_text <- sprintf("confint(fit, control = %s)", confint_control_text)
  ci <- tryCatch(suppressWarnings(eval(parse(text = ci_text))),
                 error = function(e) e)
  case$confint_call <- ci_text
  case$k <- fit$k
  # metafor switches to test = "z" (with a warning) when k = 1
  case$test_used <- fit$test
  case$estimate <- num(fit$beta)
  case$se <- num(fit$se)
  case$ci_lb <- num(fit$ci.lb)
  case$ci_ub <- num(fit$ci.ub)
  case$stat <- num(fit$zval)
  case$p <- num(fit$pval)
  case$ddf <- num(fit$ddf)
  case$pi_lb <- if (is.null(pred$pi.lb)) NULL else num(pred$pi.lb)
  case$pi_ub <- if (is.null(pred$pi.ub)) NULL else num(pred$pi.ub)
  case$tau2 <- num(fit$tau2)
  case$tau <- sqrt(num(fit$tau2))
  case$I2 <- num(fit$I2)
  case$H2 <- num(fit$H2)
  case$QE <- num(fit$QE)
  case$QEp <- num(fit$QEp)
  case$df <- fit$k - fit$p
  if (inherits(ci, "error")) {
    case$confint_error <- conditionMessage(ci)
    case$tau2_ci_lb <- NULL
    case$tau2_ci_ub <- NULL
  } else {
    case$tau2_ci_lb <- num(ci$random["tau^2", "ci.lb"])
    case$tau2_ci_ub <- num(ci$random["tau^2", "ci.ub"])
  }
  case
}

all_rows <- inputs[inputs$population == "all", ]
keys <- unique(all_rows[, c("outcome", "comparison", "measure", "stratum")])
keys <- keys[order(keys$outcome, keys$comparison, keys$measure, keys$stratum), ]
fits <- list()
for (j in seq_len(nrow(keys))) {
  d <- all_rows[all_rows$outcome == keys$outcome[j] &
                  all_rows$comparison == keys$comparison[j] &
                  all_rows$measure == keys$measure[j] &
                  all_rows$stratum == keys$stratum[j], ]
  d <- d[order(d$study_id), ]
  for (method in methods) {
    for (test in tests) {
      fits[[length(fits) + 1L]] <- fit_case(d, method, test)
    }
  }
}

result <- list(
  description = paste(
    "metafor reference values for the example review: escalc() per effect size",
    "from tests/reference/example_inputs.csv, rma() per outcome x comparison x measure",
    "x design stratum over the population == 'all' rows"),
  r_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  inputs = "tests/reference/example_inputs.csv",
  rma_control = control_text,
  confint_control = confint_control_text,
  effects = effects,
  fits = fits
)
write_json(result, out_file, digits = NA, auto_unbox = TRUE, pretty = TRUE,
           na = "string")
cat("wrote", out_file, "with", length(effects), "effect sizes and", length(fits), "fits\n")
