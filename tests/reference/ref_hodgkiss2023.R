# Reference values for the reproduction of Hodgkiss et al. 2023 (PLOS Medicine,
# doi:10.1371/journal.pmed.1004082) from the authors' open extraction sheets.
#
# Reads the xlsx files from ../shared/external/hodgkiss2023/ relative to the
# repository root (they are not copied into the repository) and writes
# tests/reference/hodgkiss2023.json:
#   - RCTs (RCTS_DATA.xlsx, sheets AVO2, RVO2, PPO): escalc("MD") with the
#     intervention change score as group 1 and the control change score as
#     group 2; rma(yi, vi) (REML, Wald), as the authors;
#   - pooled pre/post analyses (sheet PRE-POST VS RCTS of each *_mixedout
#     file): post vs pre as two independent groups, escalc("MD") with post as
#     group 1 and pre as group 2; rma(yi, vi);
#   - neurological level (sheet CLASS): R meta's test for subgroup differences
#     (separate tau^2; meta is not a Debian package, so Q-between is computed
#     from per-subgroup rma() fits) and metafor's moderator model.
# Every fit is stored at a tight convergence threshold (the reference) and at
# metafor's defaults (what the authors ran), with the call.
# Run from the repository root:  Rscript tests/reference/ref_hodgkiss2023.R

suppressPackageStartupMessages({
  library(metafor)
  library(readxl)
  library(jsonlite)
})

folder <- file.path("..", "shared", "external", "hodgkiss2023")
if (!dir.exists(folder)) stop("folder ", folder, " not found (run from the repository root)")
out_file <- file.path("tests", "reference", "hodgkiss2023.json")
ctrl_txt <- "list(threshold = 1e-12, maxiter = 1000)"
ctrl <- eval(parse(text = ctrl_txt))

source(file.path("tests", "reference", "common.R"))  # metafor, jsonlite, num()

fit_summary <- function(r) {
  list(k = r$k, estimate = num(r$beta), se = r$se, ci_lb = r$ci.lb, ci_ub = r$ci.ub,
       zval = r$zval, pval = r$pval, tau2 = r$tau2, I2 = r$I2, H2 = r$H2, Q = r$QE,
       Qp = r$QEp)
}

read_sheet <- function(file, sheet) {
  as.data.frame(read_excel(file.path(folder, file), sheet = sheet))
}

outcomes <- c("AVO2", "RVO2", "PPO")
rcts <- list()
prepost <- list()
class_tests <- list()
for (o in outcomes) {
  x <- read_sheet("RCTS_DATA.xlsx", o)
  es <- escalc(measure = "MD", m1i = mean.int, sd1i = sd.int, n1i = n.int,
               m2i = mean.con, sd2i = sd.con, n2i = n.con, data = x)
  rcts[[o]] <- list(
    file = "RCTS_DATA.xlsx", sheet = o,
    call = sprintf("rma(yi, vi, data = escalc('MD', m1i = mean.int, sd1i = sd.int, n1i = n.int, m2i = mean.con, sd2i = sd.con, n2i = n.con), control = %s)", ctrl_txt),
    study = x$study, yi = num(es$yi), vi = num(es$vi),
    fit = fit_summary(rma(yi, vi, data = es, control = ctrl)),
    fit_metafor_default = fit_summary(rma(yi, vi, data = es)))

  file <- paste0(o, "_DATA_mixedout.xlsx")
  y <- read_sheet(file, "PRE-POST VS RCTS")
  es <- escalc(measure = "MD", m1i = mean.post, sd1i = sd.post, n1i = n.post,
               m2i = mean.pre, sd2i = sd.pre, n2i = n.pre, data = y)
  prepost[[o]] <- list(
    file = file, sheet = "PRE-POST VS RCTS",
    call = sprintf("rma(yi, vi, data = escalc('MD', m1i = mean.post, sd1i = sd.post, n1i = n.post, m2i = mean.pre, sd2i = sd.pre, n2i = n.pre), control = %s)", ctrl_txt),
    study = y$study, yi = num(es$yi), vi = num(es$vi),
    fit = fit_summary(rma(yi, vi, data = es, control = ctrl)),
    fit_metafor_default = fit_summary(rma(yi, vi, data = es)))

  z <- read_sheet(file, "CLASS")
  es <- escalc(measure = "MD", m1i = mean.post, sd1i = sd.post, n1i = n.post,
               m2i = mean.pre, sd2i = sd.pre, n2i = n.pre, data = z)
  levs <- sort(unique(z$subgroup))
  per <- list()
  b <- se <- numeric(0)
  for (lev in levs) {
    r <- rma(yi, vi, data = es, subset = subgroup == lev, control = ctrl)
    per[[lev]] <- fit_summary(r)
    b <- c(b, num(r$beta)); se <- c(se, r$se)
  }
  w <- 1 / se^2
  Q <- sum(w * (b - sum(w * b) / sum(w))^2)
  mz <- rma(yi, vi, mods = ~ factor(subgroup), data = es, control = ctrl)
  mk <- rma(yi, vi, mods = ~ factor(subgroup), data = es, test = "knha", control = ctrl)
  common <- list()
  for (lev in levs) {
    common[[lev]] <- fit_summary(rma(yi, vi, data = es, subset = subgroup == lev, tau2 = mz$tau2,
                                     control = ctrl))
  }
  class_tests[[o]] <- list(
    file = file, sheet = "CLASS", study = z$study, subgroup = z$subgroup,
    yi = num(es$yi), vi = num(es$vi), levels = levs, subgroups = per,
    separate_call = sprintf("per level: rma(yi, vi, subset = subgroup == lev, control = %s); Q = sum(w * (b - sum(w * b) / sum(w))^2), w = 1 / se^2", ctrl_txt),
    Q_between = Q, df = length(levs) - 1, p = pchisq(Q, length(levs) - 1, lower.tail = FALSE),
    moderator_call = sprintf("rma(yi, vi, mods = ~ factor(subgroup), control = %s) and test = 'knha'", ctrl_txt),
    QM_z = mz$QM, QMp_z = mz$QMp, tau2_common = mz$tau2,
    common_call = "per level: rma(yi, vi, subset = subgroup == lev, tau2 = tau2_common) (meta's tau.common)",
    subgroups_common_tau2 = common,
    overall = fit_summary(rma(yi, vi, data = es, control = ctrl)),
    F_knha = mk$QM, Fdf_knha = num(mk$QMdf), Fp_knha = mk$QMp)
}

out <- list(
  generated_by = "tests/reference/ref_hodgkiss2023.R",
  source = "Hodgkiss et al. 2023, doi:10.1371/journal.pmed.1004082; sheets from jutzca/Exercise-and-fitness-in-SCI (BSD-3-Clause)",
  R_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  readxl_version = as.character(packageVersion("readxl")),
  control = ctrl_txt,
  rcts = rcts, prepost = prepost, class = class_tests)
write_json(out, out_file, digits = NA, auto_unbox = TRUE, pretty = TRUE)
cat("wrote", out_file, "\n")
