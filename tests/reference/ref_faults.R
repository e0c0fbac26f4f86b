# Reference values for analyses that cannot be computed, and for a one-study
# subgroup under the common tau^2.
#
# Writes tests/reference/faults.json:
#   - equal_se_outlier: eight two-group studies (MD, n = 10 per arm, SD 5 in
#     both arms: every study has the same standard error) and one outlier.
#     metafor pools them, but refuses Egger's regression (regtest, model "rma"
#     and "lm", predictor "sei" and "vi"): the error message is stored; the
#     rank test gives NA; trimfill() fails while choosing its side. The pools,
#     leave1out() and influence() that do exist are stored too.
#   - one_study_subgroup: dat.bcg (RR) without its first 'alternate' trial, so
#     that the subgroup 'alternate' holds one study; the common-tau^2 subgroup
#     estimates from rma(yi, vi, mods = ~ factor(g) - 1) for REML and DL.
# Run from the repository root:  Rscript tests/reference/ref_faults.R

source(file.path("tests", "reference", "common.R"))  # metafor, jsonlite, num()
suppressPackageStartupMessages(library(metadat))

out_file <- file.path("tests", "reference", "faults.json")
ctrl_txt <- "list(threshold = 1e-12, maxiter = 1000, tol = 1e-12)"
ctrl <- eval(parse(text = ctrl_txt))

refusal <- function(expr) {
  tryCatch({ force(expr); "" }, error = function(e) conditionMessage(e))
}

# ---------------------------------------------------------------------------
# every study with the same standard error, one outlier
# ---------------------------------------------------------------------------
m1 <- c(10.0, 10.2, 10.4, 10.6, 10.8, 11.0, 11.2, 22.0)
dat <- escalc(measure = "MD", m1i = m1, sd1i = rep(5, 8), n1i = rep(10, 8),
              m2i = rep(10, 8), sd2i = rep(5, 8), n2i = rep(10, 8))
fits <- list()
for (m in c("REML", "DL")) for (test in c("z", "knha")) {
  r <- rma(yi, vi, data = dat, method = m, test = test, control = ctrl)
  l1 <- leave1out(r)
  inf <- influence(r)
  rk <- suppressWarnings(ranktest(r))
  fits[[length(fits) + 1]] <- list(
    tau2_method = m, test = test,
    call = sprintf("rma(yi, vi, method = '%s', test = '%s', control = %s)", m, test, ctrl_txt),
    estimate = num(r$beta), se = r$se, ci_lb = r$ci.lb, ci_ub = r$ci.ub, tau2 = r$tau2,
    QE = r$QE, I2 = r$I2,
    regtest_rma_sei = refusal(regtest(r, model = "rma", predictor = "sei")),
    regtest_lm_sei = refusal(regtest(r, model = "lm", predictor = "sei")),
    regtest_lm_vi = refusal(regtest(r, model = "lm", predictor = "vi")),
    trimfill = refusal(trimfill(r)),
    ranktest_tau = num(rk$tau), ranktest_p = num(rk$pval),
    leave1out = list(estimate = num(l1$estimate), se = num(l1$se), tau2 = num(l1$tau2),
                     I2 = num(l1$I2), Q = num(l1$Q)),
    influence = list(rstudent = num(inf$inf$rstudent), cook_d = num(inf$inf$cook.d),
                     hat = num(inf$inf$hat)))
}
equal_se_outlier <- list(
  data_call = "escalc(measure = 'MD', m1i = c(10, 10.2, 10.4, 10.6, 10.8, 11, 11.2, 22), sd1i = 5, n1i = 10, m2i = 10, sd2i = 5, n2i = 10)",
  m1i = m1, sd = 5, n = 10, m2i = 10, yi = num(dat$yi), vi = num(dat$vi), fits = fits)

# ---------------------------------------------------------------------------
# a one-study subgroup under the common tau^2
# ---------------------------------------------------------------------------
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg1 <- bcg[-which(bcg$alloc == "alternate")[1], ]
common <- list()
for (m in c("REML", "DL")) {
  r <- rma(yi, vi, mods = ~ factor(alloc) - 1, data = bcg1, method = m, control = ctrl)
  common[[length(common) + 1]] <- list(
    tau2_method = m,
    call = sprintf("rma(yi, vi, mods = ~ factor(alloc) - 1, method = '%s', control = %s)",
                   m, ctrl_txt),
    levels = sub("factor\\(alloc\\)", "", rownames(r$beta)),
    tau2 = r$tau2, estimate = num(r$beta), se = num(r$se), ci_lb = num(r$ci.lb),
    ci_ub = num(r$ci.ub), pval = num(r$pval))
}
one_study_subgroup <- list(
  data_call = "escalc(measure = 'RR', ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg), without its first alternate trial; g = alloc",
  trial = num(bcg1$trial), yi = num(bcg1$yi), vi = num(bcg1$vi), g = as.character(bcg1$alloc),
  common = common)

write_json(
  list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
       equal_se_outlier = equal_se_outlier, one_study_subgroup = one_study_subgroup),
  out_file, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "string")
message("wrote ", out_file)
