# Reference values for the pre-post correlation sweep (scimeta.sensitivity.r_sweep).
#
# Writes tests/reference/sensitivity.json: for each assumed correlation r in
# 0, 0.1, ..., 0.9 the effect sizes are recomputed with escalc() -- studies
# that report their own correlation keep it -- and pooled with rma().
# Data: Morris (2008), Table 1, treatment groups (doi:10.1177/1094428106291059);
# the first two studies are treated as reporting their correlation, the other
# three take the assumed one.
# Run from the repository root:  Rscript tests/reference/ref_sensitivity.R

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

out_file <- file.path("tests", "reference", "sensitivity.json")

source(file.path("tests", "reference", "common.R"))  # metafor, jsonlite, num()

morris <- data.frame(
  study_id = paste0("morris", 1:5),
  m_pre    = c(30.6, 23.5, 0.5, 53.4, 35.6),
  m_post   = c(38.5, 26.8, 0.7, 75.9, 36.0),
  sd_pre   = c(15.0, 3.1, 0.1, 14.5, 4.7),
  sd_post  = c(11.6, 4.1, 0.1, 4.4, 4.6),
  ni       = c(20, 50, 9, 10, 14),
  ri       = c(.47, .64, .77, .89, .44),
  own_r    = c(TRUE, TRUE, FALSE, FALSE, FALSE)
)
grid <- seq(0, 0.9, by = 0.1)

sweep_case <- function(measure, method, test) {
  rows <- lapply(grid, function(r) {
    ri <- ifelse(morris$own_r, morris$ri, r)
    # SMCR is standardised by sd1i: the pre-test SD goes there (Becker 1988; Morris 2008)
    sds <- if (measure == "SMCR") "sd1i = sd_pre, sd2i = sd_post" else "sd1i = sd_post, sd2i = sd_pre"
    call_text <- sprintf(
      paste0("rma(yi, vi, data = escalc(measure = \"%s\", m1i = m_post, m2i = m_pre, ",
             "%s, ni = ni, ri = ri_used, data = d), ",
             "method = \"%s\", test = \"%s\", control = list(threshold = 1e-12, maxiter = 10000))"),
      measure, sds, method, test)
    d <- morris
    d$ri_used <- ri
    fit <- eval(parse(text = call_text))
    pr <- predict(fit)
    list(
      r_assumed = r,
      ri_used = num(ri),
      estimate = num(fit$beta),
      se = num(fit$se),
      ci_low = num(fit$ci.lb),
      ci_high = num(fit$ci.ub),
      pi_low = num(pr$pi.lb),
      pi_high = num(pr$pi.ub),
      tau2 = num(fit$tau2),
      I2 = num(fit$I2),
      Q = num(fit$QE),
      p = num(fit$pval),
      call = call_text
    )
  })
  list(measure = measure, method = method, test = test, grid = rows)
}

cases <- list()
for (measure in c("MC", "SMCR", "SMCC")) {
  cases[[length(cases) + 1]] <- sweep_case(measure, "REML", "knha")
  cases[[length(cases) + 1]] <- sweep_case(measure, "DL", "z")
}

out <- list(
  R_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  data = morris,
  cases = cases
)
write_json(out, out_file, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "string")
message("wrote ", out_file)
