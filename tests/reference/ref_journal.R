# Reference values for the journal artefacts (scimeta.grade.pool_weights).
#
# Each case pools crafted (yi, vi) with rma() and records metafor's weights()
# (percent of the total weight, 1 / (vi + tau2) for random effects) together
# with the estimate and tau2 it used. Writes tests/reference/journal.json.
# Run from the repository root:  Rscript tests/reference/ref_journal.R

source(file.path("tests", "reference", "common.R"))  # metafor, jsonlite, num()

out_file <- file.path("tests", "reference", "journal.json")
control_text <- "list(threshold = 1e-12, maxiter = 10000)"

data_sets <- list(
  heterogeneous = list(yi = c(2.6, 1.4, 5.3, 7.9, 0.2), vi = c(0.25, 0.81, 1.96, 0.36, 4.0)),
  homogeneous = list(yi = c(1.0, 1.1, 0.9), vi = c(0.5, 0.4, 0.6)),
  # the example review's ASIA motor before/after pool (data/processed/effects.csv)
  example_asia_motor_mc = list(yi = c(2.5999999999999943, 3.460000000000001, 7.899999999999999),
                               vi = c(2.561415094339622, 24.119672727272725, 1.4399999999999995))
)

cases <- list()
for (name in names(data_sets)) {
  d <- data_sets[[name]]
  for (method in c("EE", "DL", "REML")) {
    call_text <- sprintf('rma(yi = yi, vi = vi, method = "%s", control = %s)', method,
                         control_text)
    yi <- d$yi
    vi <- d$vi
    fit <- suppressWarnings(eval(parse(text = call_text)))
    cases[[length(cases) + 1]] <- list(
      name = name, method = method, call = paste0(call_text, "; weights(fit)"),
      yi = num(yi), vi = num(vi), tau2 = num(fit$tau2), estimate = num(fit$beta),
      weights_pct = num(weights(fit)))
  }
}

result <- list(
  r_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  cases = cases
)
write_json(result, out_file, digits = NA, auto_unbox = TRUE, pretty = TRUE)
