# Reference values for the ad hoc Hartung-Knapp correction (CI method hksj_adhoc).
#
# Writes tests/reference/adhoc.json with full-precision values from metafor's
# test = "adhoc" (the Knapp-Hartung variance factor s2w floored at 1; Knapp &
# Hartung 2003, Roever et al. 2015 doi:10.1186/s12874-015-0091-1), next to the
# test = "z" fit of the same model:
#   - pools: rma(yi, vi, method = m, test = "adhoc") for every tau^2 estimator
#     (EE included: metafor warns but fits), with predict() (prediction interval:
#     the floored covariance and the t(k - 1) quantile) and the raw factor before
#     the floor (from the test = "knha" fit: s2w);
#   - subgroups: the moderator model rma(mods = ~ factor(g), test = "adhoc")
#     (F test, coefficients), each subgroup pooled with the common tau^2
#     (rma(..., tau2 = , test = "adhoc")), and metafor's single model
#     rma(mods = ~ factor(g) - 1, test = "adhoc") with predict() per level;
#   - meta-regression on a continuous moderator with test = "adhoc" and predict()
#     along a grid, and its permutest() (exact);
#   - Egger's regression test regtest(rma(..., test = "adhoc"), model = "rma"),
#     which keeps the fit's test.
# Data sets where the floor bites (homogeneous studies, Q < k - 1) and where it
# does not (heterogeneous ones).
# Run from the repository root:  Rscript tests/reference/ref_adhoc.R

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

out_file <- file.path("tests", "reference", "adhoc.json")
source(file.path("tests", "reference", "common.R"))  # metafor, jsonlite, num()

control_text <- "list(threshold = 1e-12, maxiter = 10000, tol = 1e-13)"
ctrl <- eval(parse(text = control_text))

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
datasets <- list(
  # three before/after series, close effects, wide own CIs: Q = 0.0016 < k - 1
  homogeneous_k3 = list(call = "data.frame(yi = c(4.70, 4.95, 4.86), vi = c(6.2, 70, 20.5))",
                        yi = c(4.70, 4.95, 4.86), vi = c(6.2, 70, 20.5)),
  homogeneous_k6 = list(call = "data.frame(yi = c(0.10, 0.12, 0.09, 0.11, 0.105, 0.095), vi = c(0.04, 0.05, 0.03, 0.06, 0.045, 0.035))",
                        yi = c(0.10, 0.12, 0.09, 0.11, 0.105, 0.095),
                        vi = c(0.04, 0.05, 0.03, 0.06, 0.045, 0.035)),
  k2 = list(call = "data.frame(yi = c(1.2, 2.9), vi = c(0.8, 1.5))",
            yi = c(1.2, 2.9), vi = c(0.8, 1.5)),
  bcg_RR = list(call = "escalc(measure = 'RR', ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)",
                yi = num(bcg$yi), vi = num(bcg$vi)),
  normand1999_MD = list(call = "escalc(measure = 'MD', m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)",
                        yi = num(escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)$yi),
                        vi = num(escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)$vi))
)

methods <- c("EE", "DL", "REML", "PM", "HE", "SJ", "ML", "EB")

fit_values <- function(fit) {
  pred <- suppressWarnings(predict(fit))
  list(estimate = num(fit$beta), se = num(fit$se), ci_lb = num(fit$ci.lb), ci_ub = num(fit$ci.ub),
       stat = num(fit$zval), p = num(fit$pval), ddf = num(fit$ddf),
       pi_lb = num(pred$pi.lb), pi_ub = num(pred$pi.ub), tau2 = num(fit$tau2),
       QE = num(fit$QE), s2w = num(fit$s2w))
}

pools <- list()
for (dname in names(datasets)) {
  d <- datasets[[dname]]
  for (method in methods) {
    calls <- sprintf('rma(yi = yi, vi = vi, method = "%s", test = "%s", control = %s)',
                     method, c("adhoc", "knha", "z"), control_text)
    yi <- d$yi
    vi <- d$vi
    fits <- lapply(calls, function(cl) suppressWarnings(eval(parse(text = cl))))
    pools[[length(pools) + 1L]] <- list(
      dataset = dname, method = method, k = length(yi), call = calls[1],
      adhoc = fit_values(fits[[1]]),
      knha_s2w = num(fits[[2]]$s2w),
      wald = fit_values(fits[[3]]))
  }
}

# --- subgroups --------------------------------------------------------------
subgroup_sets <- list(
  bcg_alloc = list(call = "dat.bcg (RR); g = alloc", yi = num(bcg$yi), vi = num(bcg$vi),
                   g = as.character(bcg$alloc)),
  # two subgroups of close effects: the factor is below 1 in every fit
  homogeneous_two = list(call = "data.frame(yi = c(0.10, 0.12, 0.09, 0.40, 0.42, 0.38, 0.41), vi = c(0.04, 0.05, 0.03, 0.06, 0.045, 0.035, 0.05)); g = c(a, a, a, b, b, b, b)",
                         yi = c(0.10, 0.12, 0.09, 0.40, 0.42, 0.38, 0.41),
                         vi = c(0.04, 0.05, 0.03, 0.06, 0.045, 0.035, 0.05),
                         g = c("a", "a", "a", "b", "b", "b", "b"))
)
subgroup_methods <- c("REML", "DL", "PM")
subgroups <- list()
for (sname in names(subgroup_sets)) {
  d <- subgroup_sets[[sname]]
  yi <- d$yi
  vi <- d$vi
  g <- factor(d$g)
  for (method in subgroup_methods) {
    mod_call <- sprintf('rma(yi = yi, vi = vi, mods = ~ factor(g), method = "%s", test = "adhoc", control = %s)',
                        method, control_text)
    mod <- eval(parse(text = mod_call))
    tau2_common <- mod$tau2
    common_pools <- list()
    for (lev in levels(g)) {
      m <- g == lev
      cfit <- rma(yi = yi[m], vi = vi[m], tau2 = tau2_common, test = "adhoc")
      cpred <- predict(cfit)
      common_pools[[lev]] <- list(
        call = "rma(yi = yi[g == level], vi = vi[g == level], tau2 = <tau2 of the moderator model>, test = \"adhoc\")",
        k = sum(m), estimate = num(cfit$beta), se = num(cfit$se), ci_lb = num(cfit$ci.lb),
        ci_ub = num(cfit$ci.ub), stat = num(cfit$zval), p = num(cfit$pval),
        pi_lb = num(cpred$pi.lb), pi_ub = num(cpred$pi.ub), s2w = num(cfit$s2w))
    }
    single_call <- sprintf('rma(yi = yi, vi = vi, mods = ~ factor(g) - 1, method = "%s", test = "adhoc", control = %s)',
                           method, control_text)
    single <- eval(parse(text = single_call))
    spred <- predict(single, newmods = diag(nlevels(g)))
    knha_single <- eval(parse(text = sub('"adhoc"', '"knha"', single_call)))
    subgroups[[length(subgroups) + 1L]] <- list(
      dataset = sname, data_call = d$call, method = method, yi = yi, vi = vi, g = d$g,
      moderator_call = mod_call,
      moderator = list(beta = num(mod$beta), se = num(mod$se), F = num(mod$QM), F_df1 = num(mod$QMdf[1]),
                       F_df2 = num(mod$QMdf[2]), F_p = num(mod$QMp), tau2 = num(mod$tau2),
                       s2w = num(mod$s2w)),
      common_tau2 = num(tau2_common),
      common_pools = common_pools,
      single_model_call = single_call,
      single_model = list(levels = levels(g), estimate = num(single$beta), se = num(single$se),
                          ci_lb = num(single$ci.lb), ci_ub = num(single$ci.ub),
                          stat = num(single$zval), p = num(single$pval), ddf = num(single$ddf),
                          pi_lb = num(spred$pi.lb), pi_ub = num(spred$pi.ub),
                          tau2 = num(single$tau2), s2w = num(single$s2w),
                          knha_s2w = num(knha_single$s2w)))
  }
}

# --- meta-regression and Egger's test ----------------------------------------
metareg_sets <- list(
  bcg_ablat = list(call = "dat.bcg (RR); x = ablat", yi = num(bcg$yi), vi = num(bcg$vi),
                   x = num(bcg$ablat)),
  homogeneous_x = list(call = "homogeneous_k6 with x = c(1, 2, 3, 4, 5, 6)",
                       yi = datasets$homogeneous_k6$yi, vi = datasets$homogeneous_k6$vi,
                       x = c(1, 2, 3, 4, 5, 6))
)
metaregs <- list()
for (mname in names(metareg_sets)) {
  d <- metareg_sets[[mname]]
  yi <- d$yi
  vi <- d$vi
  x <- d$x
  grid <- seq(min(x), max(x), length.out = 5)
  for (method in c("REML", "DL", "EE")) {
    call <- sprintf('rma(yi = yi, vi = vi, mods = ~ x, method = "%s", test = "adhoc", control = %s)',
                    method, control_text)
    fit <- suppressWarnings(eval(parse(text = call)))
    pred <- predict(fit, newmods = grid)
    entry <- list(
      dataset = mname, data_call = d$call, method = method, call = call, yi = yi, vi = vi, x = x,
      beta = num(fit$beta), se = num(fit$se), stat = num(fit$zval), p = num(fit$pval),
      ci_lb = num(fit$ci.lb), ci_ub = num(fit$ci.ub), ddf = num(fit$ddf),
      F = num(fit$QM), F_df1 = num(fit$QMdf[1]), F_df2 = num(fit$QMdf[2]), F_p = num(fit$QMp),
      tau2 = num(fit$tau2), s2w = num(fit$s2w),
      grid = grid, pred = num(pred$pred), pred_se = num(pred$se), pred_ci_lb = num(pred$ci.lb),
      pred_ci_ub = num(pred$ci.ub), pred_pi_lb = num(pred$pi.lb), pred_pi_ub = num(pred$pi.ub))
    if (method == "REML" && mname == "homogeneous_x") {
      perm <- permutest(fit, exact = TRUE)
      entry$permutest_call <- "permutest(fit, exact = TRUE)"
      entry$perm_p <- num(perm$pval)
      entry$perm_QMp <- num(perm$QMp)
    }
    metaregs[[length(metaregs) + 1L]] <- entry
  }
}

eggers <- list()
for (dname in c("homogeneous_k6", "bcg_RR", "normand1999_MD")) {
  yi <- datasets[[dname]]$yi
  vi <- datasets[[dname]]$vi
  for (method in c("REML", "DL")) {
    call <- sprintf('regtest(rma(yi = yi, vi = vi, method = "%s", test = "adhoc", control = %s), model = "rma", predictor = "sei")',
                    method, control_text)
    rt <- eval(parse(text = call))
    eggers[[length(eggers) + 1L]] <- list(
      dataset = dname, method = method, call = call, statistic = num(rt$zval), p = num(rt$pval),
      ddf = num(rt$ddf), estimate = num(rt$est), ci_lb = num(rt$ci.lb), ci_ub = num(rt$ci.ub),
      slope = num(rt$fit$beta[2]), slope_se = num(rt$fit$se[2]), s2w = num(rt$fit$s2w))
  }
}

result <- list(
  description = "metafor test = \"adhoc\" reference values for scimeta's hksj_adhoc",
  r_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  rma_control = control_text,
  datasets = datasets,
  pools = pools,
  subgroups = subgroups,
  metaregs = metaregs,
  eggers = eggers
)
write_json(result, out_file, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "string")
cat("wrote", out_file, "with", length(pools), "pools\n")
