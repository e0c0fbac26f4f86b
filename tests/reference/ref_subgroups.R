# Reference values for subgroup analyses and meta-regression.
#
# Writes tests/reference/subgroups.json with full-precision values from metafor:
#   - categorical moderators: rma(yi, vi, mods = ~ factor(g)) for several tau^2
#     estimators x {z, knha}; permutest() (exact where metafor chooses exact,
#     approximate with a fixed seed otherwise);
#   - R meta's test for subgroup differences with separate tau^2 (meta is not
#     available as a Debian package): Q-between computed here from per-subgroup
#     rma() fits, Q = sum w_g (b_g - bbar)^2 with w_g = 1 / se_g^2;
#   - per-subgroup pools with a common tau^2 (meta's tau.common = TRUE): the
#     tau^2 of the moderator model, each subgroup fitted with rma(..., tau2 = );
#   - meta-regression on continuous moderators (dat.bcg ablat, year) with
#     coefficients, QM, QE, I2, H2, pseudo-R2 (unrounded: from the two fits)
#     and predict() along a grid.
# Run from the repository root:  Rscript tests/reference/ref_subgroups.R
#
# Iterative estimators run far tighter than metafor's defaults (threshold on
# tau^2 1e-12, uniroot tol 1e-12); the exact call of every case is stored.

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

out_file <- file.path("tests", "reference", "subgroups.json")
ctrl_txt <- "list(threshold = 1e-12, maxiter = 1000, tol = 1e-12)"
ctrl <- eval(parse(text = ctrl_txt))

source(file.path("tests", "reference", "common.R"))  # metafor, jsonlite, num()

# ---------------------------------------------------------------------------
# data sets with a categorical moderator
# ---------------------------------------------------------------------------
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg2 <- bcg[bcg$alloc != "alternate", ]
raud <- dat.raudenbush1985
bd <- dat.bangertdrowns2004

datasets <- list(
  list(name = "bcg_alloc",
       data_call = "escalc(measure = 'RR', ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg); g = alloc",
       yi = num(bcg$yi), vi = num(bcg$vi), g = as.character(bcg$alloc)),
  list(name = "bcg_alloc_random_vs_systematic",
       data_call = "dat.bcg (RR) without alloc == 'alternate'; g = alloc",
       yi = num(bcg2$yi), vi = num(bcg2$vi), g = as.character(bcg2$alloc)),
  list(name = "raudenbush1985_tester",
       data_call = "dat.raudenbush1985; g = tester",
       yi = num(raud$yi), vi = num(raud$vi), g = as.character(raud$tester)),
  list(name = "bangertdrowns2004_grade",
       data_call = "dat.bangertdrowns2004; g = grade",
       yi = num(bd$yi), vi = num(bd$vi), g = as.character(bd$grade))
)

tau2_methods <- c("REML", "DL", "PM", "ML", "HE", "SJ", "EB")
perm_cases <- list(c("REML", "z"), c("REML", "knha"), c("DL", "z"))
perm_seed <- 20231122
perm_iter <- 1000

cat_case <- function(d) {
  yi <- d$yi; vi <- d$vi; g <- d$g
  levels_g <- sort(unique(g))
  fits <- list()
  for (m in tau2_methods) for (test in c("z", "knha")) {
    call_text <- sprintf("rma(yi, vi, mods = ~ factor(g), method = '%s', test = '%s', control = %s)",
                         m, test, ctrl_txt)
    r <- rma(yi, vi, mods = ~ factor(g), method = m, test = test, control = ctrl)
    fits[[length(fits) + 1]] <- list(
      tau2_method = m, test = test, call = call_text,
      tau2 = r$tau2, beta = num(r$beta), se = num(r$se), zval = num(r$zval),
      pval = num(r$pval), ci_lb = num(r$ci.lb), ci_ub = num(r$ci.ub),
      QM = r$QM, QMdf = num(r$QMdf), QMp = r$QMp, QE = r$QE, QEp = r$QEp,
      I2 = r$I2, H2 = r$H2)
  }
  separate <- list()
  common <- list()
  for (m in tau2_methods) {
    b <- se <- t2 <- numeric(0)
    for (lev in levels_g) {
      s <- g == lev
      if (sum(s) == 1) {
        b <- c(b, yi[s]); se <- c(se, sqrt(vi[s])); t2 <- c(t2, 0)
      } else {
        r <- rma(yi[s], vi[s], method = m, control = ctrl)
        b <- c(b, num(r$beta)); se <- c(se, r$se); t2 <- c(t2, r$tau2)
      }
    }
    w <- 1 / se^2
    bbar <- sum(w * b) / sum(w)
    Q <- sum(w * (b - bbar)^2)
    separate[[length(separate) + 1]] <- list(
      tau2_method = m,
      call = sprintf("per level: rma(yi[g == lev], vi[g == lev], method = '%s', control = %s); Q = sum(w * (b - sum(w * b) / sum(w))^2), w = 1 / se^2",
                     m, ctrl_txt),
      levels = levels_g, estimate = b, se = se, tau2 = t2,
      Q_between = Q, df = length(b) - 1,
      p = pchisq(Q, length(b) - 1, lower.tail = FALSE))
    mm <- rma(yi, vi, mods = ~ factor(g), method = m, control = ctrl)
    for (test in c("z", "knha")) {
      per <- list()
      for (lev in levels_g) {
        s <- g == lev
        if (sum(s) < 2) next
        r <- rma(yi[s], vi[s], tau2 = mm$tau2, test = test, control = ctrl)
        pr <- predict(r)
        per[[length(per) + 1]] <- list(
          level = lev, k = sum(s), estimate = num(r$beta), se = r$se,
          ci_lb = r$ci.lb, ci_ub = r$ci.ub, pval = r$pval, QE = r$QE, QEp = r$QEp,
          I2 = r$I2, H2 = r$H2, pi_lb = num(pr$pi.lb), pi_ub = num(pr$pi.ub))
      }
      common[[length(common) + 1]] <- list(
        tau2_method = m, test = test, tau2 = mm$tau2,
        call = sprintf("tau2 from rma(yi, vi, mods = ~ factor(g), method = '%s'); per level: rma(yi[s], vi[s], tau2 = tau2, test = '%s'); predict()",
                       m, test),
        subgroups = per)
    }
  }
  perms <- list()
  for (pc in perm_cases) {
    r <- rma(yi, vi, mods = ~ factor(g), method = pc[1], test = pc[2], control = ctrl)
    call_text <- sprintf("permutest(rma(yi, vi, mods = ~ factor(g), method = '%s', test = '%s', control = %s), iter = %d, seed = %d)",
                         pc[1], pc[2], ctrl_txt, perm_iter, perm_seed)
    pt <- permutest(r, iter = perm_iter, seed = perm_seed)
    perms[[length(perms) + 1]] <- list(
      tau2_method = pc[1], test = pc[2], call = call_text,
      QM = r$QM, QMp_perm = pt$QMp, exact = isTRUE(pt$exact.iter <= perm_iter),
      exact_iter = pt$exact.iter, iter = perm_iter)
  }
  list(name = d$name, data_call = d$data_call, yi = yi, vi = vi, g = g,
       fits = fits, separate = separate, common = common, permutest = perms)
}

categorical <- lapply(datasets, cat_case)

# an exact permutation test with many assignments (25740 <= iter = 30000)
r_big <- rma(yi, vi, mods = ~ factor(alloc), data = bcg, method = "DL", control = ctrl)
pt_big <- permutest(r_big, iter = 30000)
permutest_exact_large <- list(
  dataset = "bcg_alloc", tau2_method = "DL", test = "z",
  call = sprintf("permutest(rma(yi, vi, mods = ~ factor(alloc), data = dat.bcg (RR), method = 'DL', control = %s), iter = 30000)", ctrl_txt),
  QM = r_big$QM, QMp_perm = pt_big$QMp, exact_iter = pt_big$exact.iter, iter = 30000)

# ---------------------------------------------------------------------------
# meta-regression on continuous moderators
# ---------------------------------------------------------------------------
mr_models <- list(
  list(name = "bcg_ablat", formula = "~ ablat", cols = c("ablat")),
  list(name = "bcg_year", formula = "~ year", cols = c("year")),
  list(name = "bcg_ablat_year", formula = "~ ablat + year", cols = c("ablat", "year"))
)
grid <- data.frame(ablat = c(10, 20, 30, 40, 55), year = c(1940, 1950, 1960, 1970, 1980))
metareg_cases <- list()
for (mod in mr_models) for (m in c("REML", "ML", "DL", "EE", "HE", "SJ", "PM", "EB")) for (test in c("z", "knha")) {
  if (m == "EE" && test == "knha") next
  call_text <- sprintf("rma(yi, vi, mods = %s, data = dat.bcg (RR), method = '%s', test = '%s', control = %s)",
                       mod$formula, m, test, ctrl_txt)
  r <- rma(yi, vi, mods = as.formula(mod$formula), data = bcg, method = m, test = test,
           control = ctrl)
  R2 <- NA
  tau2_RE <- NA
  if (m != "EE") {
    r0 <- rma(yi, vi, data = bcg, method = m, test = test, control = ctrl)
    tau2_RE <- r0$tau2
    R2 <- if (tau2_RE == 0) 0 else max(0, 100 * (tau2_RE - r$tau2) / tau2_RE)
  }
  newmods <- as.matrix(grid[, mod$cols, drop = FALSE])
  pr <- predict(r, newmods = newmods)
  metareg_cases[[length(metareg_cases) + 1]] <- list(
    name = mod$name, moderators = mod$cols, tau2_method = m, test = test, call = call_text,
    X = lapply(mod$cols, function(cc) num(bcg[[cc]])),
    tau2 = r$tau2, beta = num(r$beta), se = num(r$se), zval = num(r$zval),
    pval = num(r$pval), ci_lb = num(r$ci.lb), ci_ub = num(r$ci.ub),
    QM = r$QM, QMdf = num(r$QMdf), QMp = r$QMp, QE = r$QE, QEp = r$QEp,
    I2 = r$I2, H2 = r$H2, R2 = R2, tau2_RE = tau2_RE,
    R2_call = "max(0, 100 * (tau2_RE - tau2) / tau2_RE), tau2_RE from rma(yi, vi, method = m) (unrounded; metafor prints it rounded)",
    grid = lapply(mod$cols, function(cc) grid[[cc]]),
    pred = num(pr$pred), pred_se = num(pr$se), pred_ci_lb = num(pr$ci.lb),
    pred_ci_ub = num(pr$ci.ub), pred_pi_lb = num(pr$pi.lb), pred_pi_ub = num(pr$pi.ub))
}

out <- list(
  generated_by = "tests/reference/ref_subgroups.R",
  R_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  control = ctrl_txt,
  bcg_yi = num(bcg$yi), bcg_vi = num(bcg$vi),
  perm_seed = perm_seed,
  categorical = categorical,
  permutest_exact_large = permutest_exact_large,
  metareg = metareg_cases
)
write_json(out, out_file, digits = NA, auto_unbox = TRUE, pretty = TRUE)
cat("wrote", out_file, "\n")
