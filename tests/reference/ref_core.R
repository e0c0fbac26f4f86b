# Reference values for the statistics core (effect sizes and pooling).
#
# Writes tests/reference/core.json with full-precision values from metafor:
#   - escalc() for MD, SMD, ROM (between arms) and MC, SMCR, SMCC (pre-post)
#   - rma() for every tau^2 estimator x {z, knha}, predict() and the
#     Q-profile confint() for tau^2, on real data sets from metadat and on
#     constructed edge cases.
# Run from the repository root:  Rscript tests/reference/ref_core.R
#
# Iterative estimators are run far tighter than metafor's defaults so that the
# reference is precise (threshold on tau^2 1e-12, uniroot tol 1e-13); the exact
# call of every case is stored next to its values.

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

out_file <- file.path("tests", "reference", "core.json")

source(file.path("tests", "reference", "common.R"))  # metafor, jsonlite, num()

# ---------------------------------------------------------------------------
# Effect sizes
# ---------------------------------------------------------------------------

escalc_case <- function(name, call_text, inputs) {
  res <- eval(parse(text = call_text))
  list(
    name = name,
    call = call_text,
    measure = attr(res$yi, "measure"),
    inputs = inputs,
    yi = num(res$yi),
    vi = num(res$vi)
  )
}

# Morris (2008), Table 1, treatment groups: pre-test / post-test means and SDs,
# n and pre-post correlation (doi:10.1177/1094428106291059). Not in metadat.
morris <- data.frame(
  m_pre   = c(30.6, 23.5, 0.5, 53.4, 35.6),
  m_post  = c(38.5, 26.8, 0.7, 75.9, 36.0),
  sd_pre  = c(15.0, 3.1, 0.1, 14.5, 4.7),
  sd_post = c(11.6, 4.1, 0.1, 4.4, 4.6),
  ni      = c(20, 50, 9, 10, 14),
  ri      = c(.47, .64, .77, .89, .44)
)
# Morris (2008), Table 1, control groups.
morris_c <- data.frame(
  m_pre   = c(23.1, 24.9, 0.6, 55.7, 34.8),
  m_post  = c(19.7, 25.3, 0.6, 60.7, 33.4),
  sd_pre  = c(13.8, 4.1, 0.2, 17.3, 3.1),
  sd_post = c(14.8, 3.3, 0.2, 17.9, 6.9),
  ni      = c(20, 42, 9, 11, 14),
  ri      = c(.47, .64, .77, .89, .44)
)

# n = 2 per arm (smallest sample for which Hedges' correction is defined)
tiny <- data.frame(
  n1i = c(2, 2, 2), m1i = c(10.0, 12.5, 9.0), sd1i = c(1.5, 2.0, 0.7),
  n2i = c(2, 2, 2), m2i = c(8.0, 12.0, 10.0), sd2i = c(1.0, 2.5, 1.1)
)

cols_between <- function(d) {
  list(n1i = d$n1i, m1i = d$m1i, sd1i = d$sd1i,
       n2i = d$n2i, m2i = d$m2i, sd2i = d$sd2i)
}
cols_prepost <- function(d) {
  list(m1i = d$m_post, m2i = d$m_pre, sd1i = d$sd_post, sd2i = d$sd_pre,
       ni = d$ni, ri = d$ri)
}

escalc_cases <- list(
  escalc_case("normand1999_MD",
    'escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)',
    cols_between(dat.normand1999)),
  escalc_case("normand1999_SMD",
    'escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)',
    cols_between(dat.normand1999)),
  escalc_case("normand1999_ROM",
    'escalc(measure = "ROM", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)',
    cols_between(dat.normand1999)),
  escalc_case("curtis1998_ROM",
    'escalc(measure = "ROM", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.curtis1998)',
    cols_between(dat.curtis1998)),
  escalc_case("curtis1998_MD",
    'escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.curtis1998)',
    cols_between(dat.curtis1998)),
  escalc_case("curtis1998_SMD",
    'escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.curtis1998)',
    cols_between(dat.curtis1998)),
  escalc_case("tiny_SMD",
    'escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = tiny)',
    cols_between(tiny)),
  escalc_case("tiny_MD",
    'escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = tiny)',
    cols_between(tiny)),
  escalc_case("morris2008_treat_MC",
    'escalc(measure = "MC", m1i = m_post, m2i = m_pre, sd1i = sd_post, sd2i = sd_pre, ni = ni, ri = ri, data = morris)',
    cols_prepost(morris)),
  escalc_case("morris2008_treat_SMCC",
    'escalc(measure = "SMCC", m1i = m_post, m2i = m_pre, sd1i = sd_post, sd2i = sd_pre, ni = ni, ri = ri, data = morris)',
    cols_prepost(morris)),
  # metafor standardises SMCR by sd1i; here sd1i = follow-up SD
  escalc_case("morris2008_treat_SMCR_sdpost",
    'escalc(measure = "SMCR", m1i = m_post, m2i = m_pre, sd1i = sd_post, ni = ni, ri = ri, data = morris)',
    cols_prepost(morris)),
  # Becker (1988) / Morris (2008): standardise by the pre-test SD (sd1i = sd_pre)
  escalc_case("morris2008_treat_SMCR_sdpre",
    'escalc(measure = "SMCR", m1i = m_post, m2i = m_pre, sd1i = sd_pre, ni = ni, ri = ri, data = morris)',
    list(m1i = morris$m_post, m2i = morris$m_pre, sd1i = morris$sd_pre,
         ni = morris$ni, ri = morris$ri)),
  escalc_case("morris2008_control_MC",
    'escalc(measure = "MC", m1i = m_post, m2i = m_pre, sd1i = sd_post, sd2i = sd_pre, ni = ni, ri = ri, data = morris_c)',
    cols_prepost(morris_c)),
  escalc_case("morris2008_control_SMCC",
    'escalc(measure = "SMCC", m1i = m_post, m2i = m_pre, sd1i = sd_post, sd2i = sd_pre, ni = ni, ri = ri, data = morris_c)',
    cols_prepost(morris_c)),
  escalc_case("morris2008_control_SMCR_sdpre",
    'escalc(measure = "SMCR", m1i = m_post, m2i = m_pre, sd1i = sd_pre, ni = ni, ri = ri, data = morris_c)',
    list(m1i = morris_c$m_post, m2i = morris_c$m_pre, sd1i = morris_c$sd_pre,
         ni = morris_c$ni, ri = morris_c$ri))
)

# ---------------------------------------------------------------------------
# Data sets to pool (yi, vi); every one stored with the call that made it
# ---------------------------------------------------------------------------

datasets <- list()
add_dataset <- function(name, call_text) {
  d <- eval(parse(text = call_text))
  datasets[[name]] <<- list(call = call_text, yi = num(d$yi), vi = num(d$vi))
}

add_dataset("normand1999_MD",
  'escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)')
add_dataset("normand1999_SMD",
  'escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)')
add_dataset("curtis1998_ROM",
  'escalc(measure = "ROM", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.curtis1998)')
add_dataset("bcg_RR",
  'escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)')
add_dataset("hackshaw1998",
  'dat.hackshaw1998[, c("yi", "vi")]')
add_dataset("konstantopoulos2011_district11_12",
  'dat.konstantopoulos2011[dat.konstantopoulos2011$district %in% c(11, 12), c("yi", "vi")]')
add_dataset("molloy2014_ZCOR",
  'escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)')
add_dataset("morris2008_SMCR",
  'data.frame(yi = escalc(measure = "SMCR", m1i = m_post, m2i = m_pre, sd1i = sd_pre, ni = ni, ri = ri, data = morris)$yi - escalc(measure = "SMCR", m1i = m_post, m2i = m_pre, sd1i = sd_pre, ni = ni, ri = ri, data = morris_c)$yi, vi = escalc(measure = "SMCR", m1i = m_post, m2i = m_pre, sd1i = sd_pre, ni = ni, ri = ri, data = morris)$vi + escalc(measure = "SMCR", m1i = m_post, m2i = m_pre, sd1i = sd_pre, ni = ni, ri = ri, data = morris_c)$vi)')
# edge cases
add_dataset("edge_k1",
  'escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg[1, ])')
add_dataset("edge_k2",
  'escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg[1:2, ])')
add_dataset("edge_k2_hetero",
  'escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg[c(4, 7), ])')
add_dataset("edge_identical",
  'data.frame(yi = c(0.5, 0.5, 0.5, 0.5, 0.5), vi = c(0.01, 0.04, 0.02, 0.1, 0.05))')
add_dataset("edge_homogeneous",
  'data.frame(yi = c(0.10, 0.12, 0.09, 0.11, 0.105, 0.095), vi = c(0.04, 0.05, 0.03, 0.06, 0.045, 0.035))')
add_dataset("edge_huge_variance",
  'data.frame(yi = c(-0.3, 0.1, 0.4, 0.8, 2.5), vi = c(0.02, 0.05, 0.03, 0.04, 1e6))')
add_dataset("edge_strong_heterogeneity",
  'data.frame(yi = c(-3.0, 0.0, 2.0, 5.0, 10.0, 1.0), vi = c(0.01, 0.02, 0.015, 0.01, 0.03, 0.02))')
add_dataset("edge_n2_per_arm_SMD",
  'escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = tiny)')

# ---------------------------------------------------------------------------
# Fits
# ---------------------------------------------------------------------------

methods <- c("EE", "DL", "REML", "PM", "HE", "SJ", "ML", "EB")
tests <- c("z", "knha")

# rma() control: tight convergence for the iterative estimators
control_text <- "list(threshold = 1e-12, maxiter = 10000, tol = 1e-13)"
# confint() control: tight uniroot tolerance for the Q-profile bounds
confint_control_text <- "list(tol = 1e-13, maxiter = 10000)"

safe <- function(expr) tryCatch(expr, error = function(e) NULL)

fit_case <- function(dname, method, test) {
  d <- datasets[[dname]]
  yi <- d$yi
  vi <- d$vi
  call_text <- sprintf(
    'rma(yi = yi, vi = vi, method = "%s", test = "%s", control = %s)',
    method, test, control_text)
  fit <- tryCatch(
    suppressWarnings(eval(parse(text = call_text))),
    error = function(e) e)
  case <- list(dataset = dname, method = method, test = test, call = call_text)
  if (inherits(fit, "error")) {
    case$error <- conditionMessage(fit)
    return(case)
  }
  pred <- suppressWarnings(predict(fit))
  ci_text <- sprintf("confint(fit, control = %s)", confint_control_text)
  ci <- NULL
  if (fit$k >= 2 && method != "EE") {
    ci <- safe(suppressWarnings(eval(parse(text = ci_text))))
  }
  case$confint_call <- if (fit$k >= 2 && method != "EE") ci_text else NULL
  case$k <- fit$k
  case$estimate <- num(fit$beta)
  case$se <- num(fit$se)
  case$ci_lb <- num(fit$ci.lb)
  case$ci_ub <- num(fit$ci.ub)
  case$stat <- num(fit$zval)
  case$p <- num(fit$pval)
  case$ddf <- num(fit$ddf)
  case$pi_lb <- num(pred$pi.lb)
  case$pi_ub <- num(pred$pi.ub)
  case$tau2 <- num(fit$tau2)
  case$tau <- sqrt(num(fit$tau2))
  case$I2 <- num(fit$I2)
  case$H2 <- num(fit$H2)
  case$QE <- num(fit$QE)
  case$QEp <- num(fit$QEp)
  case$df <- fit$k - fit$p
  case$iterations <- if (is.null(fit$iter)) NULL else num(fit$iter)
  if (!is.null(ci)) {
    case$tau2_ci_lb <- num(ci$random["tau^2", "ci.lb"])
    case$tau2_ci_ub <- num(ci$random["tau^2", "ci.ub"])
  } else {
    case$tau2_ci_lb <- NULL
    case$tau2_ci_ub <- NULL
  }
  case
}

fits <- list()
for (dname in sort(names(datasets))) {
  for (method in methods) {
    for (test in tests) {
      fits[[length(fits) + 1L]] <- fit_case(dname, method, test)
    }
  }
}

# Q-profile CI at a different level, to check the level handling
level_cases <- list()
for (dname in c("bcg_RR", "normand1999_SMD", "edge_k2_hetero")) {
  yi <- datasets[[dname]]$yi
  vi <- datasets[[dname]]$vi
  call_text <- sprintf(
    'rma(yi = yi, vi = vi, method = "REML", test = "knha", level = 90, control = %s)',
    control_text)
  fit <- eval(parse(text = call_text))
  pred <- predict(fit)
  ci <- eval(parse(text = sprintf("confint(fit, control = %s)", confint_control_text)))
  level_cases[[length(level_cases) + 1L]] <- list(
    dataset = dname, method = "REML", test = "knha", level = 0.90,
    call = call_text,
    confint_call = sprintf("confint(fit, control = %s)", confint_control_text),
    estimate = num(fit$beta), se = num(fit$se),
    ci_lb = num(fit$ci.lb), ci_ub = num(fit$ci.ub),
    pi_lb = num(pred$pi.lb), pi_ub = num(pred$pi.ub),
    tau2 = num(fit$tau2),
    tau2_ci_lb = num(ci$random["tau^2", "ci.lb"]),
    tau2_ci_ub = num(ci$random["tau^2", "ci.ub"]))
}

result <- list(
  description = "metafor reference values for scimeta.effects and scimeta.pool",
  r_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  rma_control = control_text,
  confint_control = confint_control_text,
  escalc = escalc_cases,
  datasets = datasets,
  fits = fits,
  level_cases = level_cases
)

write_json(result, out_file, digits = NA, auto_unbox = TRUE, pretty = TRUE,
           na = "string")
cat("wrote", out_file, "with", length(fits), "fits\n")
