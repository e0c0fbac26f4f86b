# Reference values for publication-bias and influence diagnostics.
#
# Writes tests/reference/bias.json with full-precision values from metafor:
#   - regtest(fit, model = "rma") with predictor sei and vi, test z and knha
#     (Egger's regression test as a mixed-effects meta-regression);
#   - regtest(fit, model = "lm") with predictor sei (Egger's test, PET) and vi
#     (PEESE): weighted least squares with multiplicative dispersion;
#   - ranktest(fit) (Begg and Mazumdar's rank correlation test; exact Kendall
#     p-value without ties, normal approximation with ties);
#   - trimfill(fit, estimator = "L0" / "R0"), default side and a forced side;
#   - leave1out(fit) with test z and knha;
#   - influence(fit) (rstudent, dffits, cook.d, cov.r, tau2.del, QE.del, hat,
#     weight, dfbetas, is.infl).
# Each for tau^2 estimators REML and DL on real metadat data sets.
# Run from the repository root:  Rscript tests/reference/ref_bias.R
#
# Iterative estimators run far tighter than metafor's defaults; the control
# list is passed to every fit (trimfill() forwards it to its internal fits).

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

out_file <- file.path("tests", "reference", "bias.json")
ctrl_txt <- "list(threshold = 1e-12, maxiter = 1000)"
ctrl <- eval(parse(text = ctrl_txt))

source(file.path("tests", "reference", "common.R"))  # metafor, jsonlite, num()

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
normand <- escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i,
                  m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)
molloy <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)

datasets <- list(
  list(name = "bcg_RR",
       call = "escalc(measure = 'RR', ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)",
       yi = num(bcg$yi), vi = num(bcg$vi), slab = paste(dat.bcg$author, dat.bcg$year)),
  list(name = "hackshaw1998",
       call = "dat.hackshaw1998 (yi = log OR, vi as supplied)",
       yi = num(dat.hackshaw1998$yi), vi = num(dat.hackshaw1998$vi),
       slab = paste(dat.hackshaw1998$author, dat.hackshaw1998$year)),
  list(name = "normand1999_SMD",
       call = "escalc(measure = 'SMD', m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)",
       yi = num(normand$yi), vi = num(normand$vi), slab = as.character(dat.normand1999$source)),
  list(name = "lehmann2018",
       call = "dat.lehmann2018 (yi = SMD, vi as supplied)",
       yi = num(dat.lehmann2018$yi), vi = num(dat.lehmann2018$vi),
       slab = as.character(dat.lehmann2018$Full_Citation)),
  list(name = "molloy2014_ZCOR",
       call = "escalc(measure = 'ZCOR', ri = ri, ni = ni, data = dat.molloy2014) (tied vi)",
       yi = num(molloy$yi), vi = num(molloy$vi), slab = paste(dat.molloy2014$authors, dat.molloy2014$year))
)

methods <- c("REML", "DL")

fit_call <- function(method, test = "z") {
  sprintf("rma(yi, vi, method = '%s', test = '%s', control = %s)", method, test, ctrl_txt)
}

reg_out <- function(r, call) {
  list(call = call, model = r$model, predictor = r$predictor,
       stat = num(r$zval), df = num(r$dfs), p = num(r$pval),
       est = num(r$est), ci_lb = num(r$ci.lb), ci_ub = num(r$ci.ub))
}

tf_out <- function(tf, call, k) {
  filled <- if (tf$k0 > 0) seq.int(k + 1, k + tf$k0) else integer(0)
  list(call = call, k0 = num(tf$k0), se_k0 = num(tf$se.k0), side = tf$side,
       p_k0 = num(tf$p.k0),
       fill_yi = num(tf$yi[filled]), fill_vi = num(tf$vi[filled]),
       k = num(tf$k), estimate = num(tf$beta), se = num(tf$se),
       ci_lb = num(tf$ci.lb), ci_ub = num(tf$ci.ub), zval = num(tf$zval),
       pval = num(tf$pval), tau2 = num(tf$tau2), I2 = num(tf$I2), QE = num(tf$QE))
}

cases <- list()
for (d in datasets) {
  for (m in methods) {
    yi <- d$yi
    vi <- d$vi
    k <- length(yi)
    fit <- rma(yi, vi, method = m, control = ctrl)
    fitk <- rma(yi, vi, method = m, test = "knha", control = ctrl)
    case <- list(dataset = d$name, method = m, k = k)

    case$regtest <- list(
      reg_out(regtest(fit, model = "rma", predictor = "sei"),
              sprintf("regtest(%s, model = 'rma', predictor = 'sei')", fit_call(m))),
      reg_out(regtest(fitk, model = "rma", predictor = "sei"),
              sprintf("regtest(%s, model = 'rma', predictor = 'sei')", fit_call(m, "knha"))),
      reg_out(regtest(fit, model = "rma", predictor = "vi"),
              sprintf("regtest(%s, model = 'rma', predictor = 'vi')", fit_call(m))),
      reg_out(regtest(fit, model = "lm", predictor = "sei"),
              sprintf("regtest(%s, model = 'lm', predictor = 'sei')", fit_call(m))),
      reg_out(regtest(fit, model = "lm", predictor = "vi"),
              sprintf("regtest(%s, model = 'lm', predictor = 'vi')", fit_call(m)))
    )
    case$regtest[[1]]$test <- "z"
    case$regtest[[2]]$test <- "knha"
    case$regtest[[3]]$test <- "z"

    rt <- suppressWarnings(ranktest(fit))
    case$ranktest <- list(call = sprintf("ranktest(%s)", fit_call(m)),
                          tau = num(rt$tau), p = num(rt$pval),
                          ties = any(duplicated(vi)))

    tfs <- list()
    for (est in c("L0", "R0")) {
      tf <- trimfill(fit, estimator = est, control = ctrl)
      tfs[[length(tfs) + 1]] <- c(list(estimator = est, side_arg = "default"), tf_out(
        tf, sprintf("trimfill(%s, estimator = '%s', control = %s)", fit_call(m), est, ctrl_txt), k))
      other <- if (tf$side == "left") "right" else "left"
      tf2 <- trimfill(fit, estimator = est, side = other, control = ctrl)
      tfs[[length(tfs) + 1]] <- c(list(estimator = est, side_arg = other), tf_out(
        tf2, sprintf("trimfill(%s, estimator = '%s', side = '%s', control = %s)",
                     fit_call(m), est, other, ctrl_txt), k))
    }
    case$trimfill <- tfs

    l1 <- list()
    for (tst in c("z", "knha")) {
      f <- if (tst == "z") fit else fitk
      lo <- leave1out(f)
      l1[[length(l1) + 1]] <- list(
        test = tst, call = sprintf("leave1out(%s)", fit_call(m, tst)),
        estimate = num(lo$estimate), se = num(lo$se), ci_lb = num(lo$ci.lb),
        ci_ub = num(lo$ci.ub), tau2 = num(lo$tau2), I2 = num(lo$I2),
        H2 = num(lo$H2), Q = num(lo$Q), Qp = num(lo$Qp), pval = num(lo$pval))
    }
    case$leave1out <- l1

    inf <- influence(fit)
    case$influence <- list(
      call = sprintf("influence(%s)", fit_call(m)),
      rstudent = num(inf$inf$rstudent), dffits = num(inf$inf$dffits),
      cook_d = num(inf$inf$cook.d), cov_r = num(inf$inf$cov.r),
      tau2_del = num(inf$inf$tau2.del), QE_del = num(inf$inf$QE.del),
      hat = num(inf$inf$hat), weight = num(inf$inf$weight),
      dfbetas = num(inf$dfbs$intrcpt), is_infl = as.logical(inf$is.infl))

    cases[[length(cases) + 1]] <- case
  }
}

out <- list(
  description = "metafor reference values for scimeta.bias (regtest, ranktest, trimfill, leave1out, influence)",
  r_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  rma_control = ctrl_txt,
  datasets = lapply(datasets, function(d) d[c("name", "call", "yi", "vi", "slab")]),
  cases = cases
)
names(out$datasets) <- vapply(datasets, function(d) d$name, "")
write_json(out, out_file, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "string")
