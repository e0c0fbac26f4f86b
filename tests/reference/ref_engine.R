# Reference values for the combinatorial sensitivity analyses.
#
# Writes tests/reference/engine.json with full-precision values from metafor:
#   - gosh(): every subset of k <= 8 studies (REML, DL, PM, EE);
#   - cumul(): cumulative meta-analysis ordered by a study column (REML with
#     z and knha, DL), including ties in the order variable;
#   - permutest(): exact permutation tests (metafor goes exact when the number
#     of distinct permutations is at most iter) for a continuous moderator, a
#     two-level factor, two moderators, and the intercept-only model (sign
#     flips), with z and knha.
# Run from the repository root:  Rscript tests/reference/ref_engine.R
#
# Iterative estimators run far tighter than metafor's defaults (threshold on
# tau^2 1e-12); the exact call of every case is stored.

source(file.path("tests", "reference", "common.R"))  # metafor, jsonlite, num()
suppressPackageStartupMessages(library(metadat))

out_file <- file.path("tests", "reference", "engine.json")
ctrl_txt <- "list(threshold = 1e-12, maxiter = 1000, tol = 1e-12)"
ctrl <- eval(parse(text = ctrl_txt))

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)

# ---------------------------------------------------------------------------
# GOSH
# ---------------------------------------------------------------------------
gosh_case <- function(name, data_call, d, method) {
  call_text <- sprintf("gosh(rma(yi, vi, method = '%s', control = %s), progbar = FALSE)", method, ctrl_txt)
  fit <- rma(d$yi, d$vi, method = method, control = ctrl)
  g <- gosh(fit, progbar = FALSE)
  list(
    name = name, data_call = data_call, call = call_text, tau2_method = method,
    yi = num(d$yi), vi = num(d$vi),
    studies = unname(apply(g$incl, 1, function(r) paste(as.integer(r), collapse = ""))),
    k = num(g$res$k), estimate = num(g$res$estimate), QE = num(g$res$QE),
    I2 = num(g$res$I2), H2 = num(g$res$H2), tau2 = num(g$res$tau2)
  )
}
bcg8 <- bcg[1:8, ]
bcg6 <- bcg[c(2, 4, 6, 8, 10, 12), ]
gosh_cases <- list(
  gosh_case("bcg_1_8", "escalc('RR', dat.bcg)[1:8, ]", bcg8, "REML"),
  gosh_case("bcg_1_8", "escalc('RR', dat.bcg)[1:8, ]", bcg8, "DL"),
  gosh_case("bcg_even", "escalc('RR', dat.bcg)[c(2, 4, 6, 8, 10, 12), ]", bcg6, "PM"),
  gosh_case("bcg_even", "escalc('RR', dat.bcg)[c(2, 4, 6, 8, 10, 12), ]", bcg6, "EE")
)

# ---------------------------------------------------------------------------
# Cumulative meta-analysis
# ---------------------------------------------------------------------------
cumul_case <- function(name, d, order_col, method, test) {
  call_text <- sprintf("cumul(rma(yi, vi, method = '%s', test = '%s', control = %s), order = %s)",
                       method, test, ctrl_txt, order_col)
  fit <- rma(d$yi, d$vi, method = method, test = test, control = ctrl)
  cm <- cumul(fit, order = d[[order_col]])
  list(
    name = name, call = call_text, tau2_method = method, test = test, order_column = order_col,
    yi = num(d$yi), vi = num(d$vi), order_values = num(d[[order_col]]),
    slab = as.character(cm$slab),
    estimate = num(cm$estimate), se = num(cm$se), zval = num(if (is.null(cm$zval)) cm$tval else cm$zval),
    pval = num(cm$pval), ci_lb = num(cm$ci.lb), ci_ub = num(cm$ci.ub), Q = num(cm$Q),
    Qp = num(cm$Qp), tau2 = num(cm$tau2), I2 = num(cm$I2), H2 = num(cm$H2)
  )
}
cumul_cases <- list(
  cumul_case("bcg_year", bcg, "year", "REML", "z"),
  cumul_case("bcg_year", bcg, "year", "REML", "knha"),
  cumul_case("bcg_year", bcg, "year", "DL", "z"),
  cumul_case("bcg_ablat", bcg, "ablat", "REML", "z")  # ties in ablat (stable order)
)

# ---------------------------------------------------------------------------
# Permutation tests
# ---------------------------------------------------------------------------
perm_case <- function(name, data_call, d, mods_txt, method, test) {
  call_text <- sprintf("permutest(rma(yi, vi, mods = %s, method = '%s', test = '%s', control = %s), iter = 1000, progbar = FALSE)",
                       mods_txt, method, test, ctrl_txt)
  mods <- if (mods_txt == "NULL") NULL else eval(parse(text = sub("^~", "", mods_txt)), d)
  if (is.null(mods)) {
    fit <- rma(d$yi, d$vi, method = method, test = test, control = ctrl)
  } else {
    fit <- rma(d$yi, d$vi, mods = mods, method = method, test = test, control = ctrl)
  }
  pt <- permutest(fit, iter = 1000, progbar = FALSE)
  # distinct permutations: k! / prod(multiplicity of each distinct row of X)!, or 2^k sign vectors
  n_exact <- if (is.null(mods)) 2^fit$k else
    factorial(fit$k) / prod(factorial(table(apply(fit$X, 1, paste, collapse = "|"))))
  X <- if (is.null(mods)) NULL else lapply(seq_len(NCOL(mods)), function(j) num(as.matrix(mods)[, j]))
  list(
    name = name, data_call = data_call, call = call_text, tau2_method = method, test = test,
    yi = num(d$yi), vi = num(d$vi), X = X,
    n_exact = num(n_exact), iter = num(length(pt$QM.perm)),
    beta = num(fit$beta), zval = num(fit$zval), QM = fit$QM,
    pval_perm = num(pt$pval), QMp_perm = pt$QMp
  )
}
bcg6a <- bcg[1:6, ]
bcg10 <- bcg[1:10, ]
bcg10$north <- as.numeric(bcg10$ablat > 30)
perm_cases <- list(
  perm_case("bcg_1_6_ablat", "escalc('RR', dat.bcg)[1:6, ]", bcg6a, "~ ablat", "REML", "z"),
  perm_case("bcg_1_6_ablat", "escalc('RR', dat.bcg)[1:6, ]", bcg6a, "~ ablat", "REML", "knha"),
  perm_case("bcg_1_6_ablat", "escalc('RR', dat.bcg)[1:6, ]", bcg6a, "~ ablat", "DL", "z"),
  perm_case("bcg_1_10_north", "escalc('RR', dat.bcg)[1:10, ]; north = ablat > 30", bcg10, "~ north", "REML", "z"),
  perm_case("bcg_1_10_north", "escalc('RR', dat.bcg)[1:10, ]; north = ablat > 30", bcg10, "~ north", "REML", "knha"),
  perm_case("bcg_1_6_two", "escalc('RR', dat.bcg)[1:6, ]", bcg[1:6, ], "~ cbind(ablat, year)", "REML", "z"),
  perm_case("bcg_1_8_intercept", "escalc('RR', dat.bcg)[1:8, ]", bcg8, "NULL", "REML", "z"),
  perm_case("bcg_1_8_intercept", "escalc('RR', dat.bcg)[1:8, ]", bcg8, "NULL", "DL", "knha")
)

out <- list(
  generated_by = "tests/reference/ref_engine.R",
  R_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  control = ctrl_txt,
  gosh = gosh_cases,
  cumul = cumul_cases,
  permutest = perm_cases
)
write_json(out, out_file, digits = NA, auto_unbox = TRUE, pretty = TRUE)
cat("wrote", out_file, "\n")
