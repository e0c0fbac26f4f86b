# Reference values for the example reviews built from published datasets:
# examples/normand1999, examples/curtis1998, examples/gibson2002 and
# examples/morris2008.
#
# Reads each review's data/raw/studies.csv and outcomes.csv (the files the
# workflow reads), checks that the values are those of the published dataset
# (R's metadat for the first three), pairs the arms itself -- treatment vs
# control at the follow-up, follow-up vs baseline of the treated arm with the
# row's pre-post correlation -- and writes tests/reference/examples.json:
#   - escalc() of every effect size of every measure of the review's config;
#   - rma() for EE and each tau^2 estimator of the config, test = "z" and
#     "knha", with predict() (prediction interval) and confint() (Q-profile
#     CI of tau^2);
#   - for each subgroup variable of the config: per-level rma() fits
#     (separate tau^2), R meta's test for subgroup differences (separate
#     tau^2; meta is not a Debian package: Q-between from the per-level fits,
#     as in ref_subgroups.R), the mixed-effects model
#     rma(mods = ~ factor(g)) with test = "z" and "knha", and per-level pools
#     with its common tau^2 (rma(..., tau2 = ), meta's tau.common).
# Run from the repository root:  Rscript tests/reference/ref_examples.R

source(file.path("tests", "reference", "common.R"))  # metafor, jsonlite, num()
suppressPackageStartupMessages({
  library(metadat)
  library(yaml)
})

out_file <- file.path("tests", "reference", "examples.json")
ctrl_txt <- "list(threshold = 1e-12, maxiter = 10000, tol = 1e-13)"
ctrl <- eval(parse(text = ctrl_txt))
confint_ctrl_txt <- "list(tol = 1e-13, maxiter = 10000)"
confint_ctrl <- eval(parse(text = confint_ctrl_txt))

#: the published dataset behind each review: (metadat data set, id -> study_id)
published <- list(
  normand1999 = list(data = dat.normand1999, ids = function(d) sprintf("normand1999_%d", d$study)),
  curtis1998 = list(data = dat.curtis1998, ids = function(d) sprintf("curtis1998_%d", d$id)),
  gibson2002 = list(data = dat.gibson2002[!is.na(dat.gibson2002$m1i), ],
                    ids = function(d) sprintf("%s%d", tolower(gsub("[^A-Za-z]", "", d$author)), d$year)),
  morris2008 = NULL)

read_review <- function(name) {
  raw <- file.path("examples", name, "data", "raw")
  list(config = yaml::read_yaml(file.path("examples", name, "config", "config.yaml")),
       studies = read.csv(file.path(raw, "studies.csv"), stringsAsFactors = FALSE,
                          colClasses = "character"),
       outcomes = read.csv(file.path(raw, "outcomes.csv"), stringsAsFactors = FALSE,
                           colClasses = c(study_id = "character", n = "numeric", mean = "numeric",
                                          sd = "numeric", prepost_r = "numeric")))
}

# one row per study: treatment (1) and control (2) at the follow-up, baseline (0) of the treated arm
arms_wide <- function(rows, timepoint) {
  pick <- function(arm, tp) {
    x <- rows[rows$arm == arm & as.numeric(rows$timepoint) == tp & rows$kind == "final", ]
    x[match(ids, x$study_id), ]
  }
  ids <- unique(rows$study_id)
  t1 <- pick("treatment", timepoint); c1 <- pick("control", timepoint); t0 <- pick("treatment", 0)
  data.frame(study_id = ids, n1i = t1$n, m1i = t1$mean, sd1i = t1$sd, n2i = c1$n, m2i = c1$mean,
             sd2i = c1$sd, n0i = t0$n, m0i = t0$mean, sd0i = t0$sd, ri = t1$prepost_r,
             stringsAsFactors = FALSE)
}

check_published <- function(name, wide) {
  p <- published[[name]]
  if (is.null(p)) return("values as typed from Morris (2008), Table 1 (metafor project page analyses:morris2008)")
  d <- p$data
  i <- match(p$ids(d), wide$study_id)
  stopifnot(!anyNA(i), length(i) == nrow(wide))
  for (col in c("n1i", "m1i", "sd1i", "n2i", "m2i", "sd2i")) {
    stopifnot(isTRUE(all.equal(as.numeric(d[[col]]), wide[[col]][i], tolerance = 1e-14)))
  }
  sprintf("every n, mean and SD equal to metadat's dat.%s (to 15 significant digits)", name)
}

escalc_call <- function(comparison, measure) {
  if (comparison == "between_arms") {
    return(sprintf("escalc('%s', m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = w)", measure))
  }
  # SMCR is standardised by sd1i: the baseline SD (Becker 1988)
  if (measure == "SMCR") {
    return("escalc('SMCR', m1i = m1i, m2i = m0i, sd1i = sd0i, ni = n1i, ri = ri, data = w)")
  }
  sprintf("escalc('%s', m1i = m1i, m2i = m0i, sd1i = sd1i, sd2i = sd0i, ni = n1i, ri = ri, data = w)", measure)
}

fit_summary <- function(r, with_ci = TRUE) {
  out <- list(k = r$k, test_used = r$test, estimate = num(r$beta), se = num(r$se),
              ci_lb = num(r$ci.lb), ci_ub = num(r$ci.ub), stat = num(r$zval), p = num(r$pval),
              tau2 = r$tau2, tau = sqrt(r$tau2), I2 = r$I2, H2 = r$H2, QE = r$QE, QEp = r$QEp)
  if (!with_ci) return(out)
  pr <- suppressWarnings(predict(r))
  out$pi_lb <- num(pr$pi.lb); out$pi_ub <- num(pr$pi.ub)
  if (r$method != "EE") {
    ci <- tryCatch(suppressWarnings(confint(r, control = confint_ctrl)), error = function(e) e)
    if (inherits(ci, "error")) {
      out$confint_error <- conditionMessage(ci)
    } else {
      out$tau2_ci_lb <- num(ci$random["tau^2", "ci.lb"])
      out$tau2_ci_ub <- num(ci$random["tau^2", "ci.ub"])
    }
  }
  out
}

pool_cases <- function(yi, vi, methods) {
  cases <- list()
  for (m in c("EE", methods)) for (test in c("z", "knha")) {
    call_text <- sprintf("rma(yi, vi, method = '%s', test = '%s', control = %s); predict(); confint(control = %s)",
                         m, test, ctrl_txt, confint_ctrl_txt)
    r <- suppressWarnings(rma(yi, vi, method = m, test = test, control = ctrl))
    cases[[length(cases) + 1]] <- c(list(method = m, test = test, call = call_text), fit_summary(r))
  }
  cases
}

subgroup_cases <- function(yi, vi, g, methods) {
  levels_g <- sort(unique(g))
  separate <- list(); moderator <- list(); common <- list(); per_level <- list()
  for (m in c("EE", methods)) for (lev in levels_g) for (test in c("z", "knha")) {
    s <- g == lev
    r <- suppressWarnings(rma(yi[s], vi[s], method = m, test = test, control = ctrl))
    per_level[[length(per_level) + 1]] <- c(
      list(level = lev, method = m, test = test,
           call = sprintf("rma(yi[g == lev], vi[g == lev], method = '%s', test = '%s', control = %s)", m, test, ctrl_txt)),
      fit_summary(r, with_ci = FALSE))
  }
  for (m in methods) {
    b <- se <- numeric(0)
    for (lev in levels_g) {
      s <- g == lev
      r <- suppressWarnings(rma(yi[s], vi[s], method = m, control = ctrl))
      b <- c(b, num(r$beta)); se <- c(se, r$se)
    }
    w <- 1 / se^2
    Q <- sum(w * (b - sum(w * b) / sum(w))^2)
    separate[[length(separate) + 1]] <- list(
      method = m, levels = levels_g, estimate = b, se = se, Q_between = Q,
      df = length(b) - 1, p = pchisq(Q, length(b) - 1, lower.tail = FALSE),
      call = "Q = sum(w * (b - sum(w * b) / sum(w))^2), w = 1 / se^2 of the per-level test = 'z' fits")
    for (test in c("z", "knha")) {
      mm <- rma(yi, vi, mods = ~ factor(g), method = m, test = test, control = ctrl)
      moderator[[length(moderator) + 1]] <- list(
        method = m, test = test, k = mm$k, tau2 = mm$tau2, QM = mm$QM, QMdf = num(mm$QMdf),
        QMp = mm$QMp, call = sprintf("rma(yi, vi, mods = ~ factor(g), method = '%s', test = '%s', control = %s)", m, test, ctrl_txt))
      for (lev in levels_g) {
        s <- g == lev
        r <- suppressWarnings(rma(yi[s], vi[s], tau2 = mm$tau2, test = test, control = ctrl))
        common[[length(common) + 1]] <- c(
          list(level = lev, method = m, test = test,
               call = sprintf("rma(yi[g == lev], vi[g == lev], tau2 = <tau2 of rma(mods = ~ factor(g), method = '%s')>, test = '%s')", m, test)),
          fit_summary(r, with_ci = FALSE))
      }
    }
  }
  list(levels = levels_g, per_level = per_level, separate = separate, moderator = moderator,
       common = common)
}

review_case <- function(name) {
  rv <- read_review(name)
  cfg <- rv$config
  methods <- unlist(cfg$analysis$tau2)
  outcomes <- list()
  for (outcome in names(cfg$outcomes)) {
    ocfg <- cfg$outcomes[[outcome]]
    rows <- rv$outcomes[rv$outcomes$outcome == outcome & rv$outcomes$population == "all", ]
    w <- arms_wide(rows, as.numeric(ocfg$timepoint))
    provenance <- check_published(name, w)
    comparisons <- list()
    for (comparison in c("between_arms", "pre_post")) {
      measures <- unlist(ocfg[[comparison]])
      ok <- if (comparison == "between_arms") !is.na(w$m2i) else !is.na(w$m0i)
      if (!length(measures) || !any(ok)) next
      by_measure <- list()
      for (measure in measures) {
        call_text <- escalc_call(comparison, measure)
        es <- eval(parse(text = call_text), envir = list(w = w[ok, ]))
        yi <- num(es$yi); vi <- num(es$vi)
        entry <- list(escalc = call_text, study_id = w$study_id[ok], yi = yi, vi = vi,
                      pools = pool_cases(yi, vi, methods))
        subgroups <- list()
        for (var in unlist(cfg$subgroups)) {
          g <- rv$studies[[var]][match(w$study_id[ok], rv$studies$study_id)]
          subgroups[[var]] <- subgroup_cases(yi, vi, g, methods)
        }
        if (length(subgroups)) entry$subgroups <- subgroups
        by_measure[[measure]] <- entry
      }
      comparisons[[comparison]] <- by_measure
    }
    outcomes[[outcome]] <- c(list(provenance = provenance), comparisons)
  }
  list(source = cfg_source(name), outcomes = outcomes)
}

cfg_source <- function(name) {
  c(normand1999 = "metadat dat.normand1999 (Normand 1999, doi:10.1002/(sici)1097-0258(19990215)18:3<321::aid-sim28>3.0.co;2-p)",
    curtis1998 = "metadat dat.curtis1998 (Curtis & Wang 1998, doi:10.1007/s004420050381)",
    gibson2002 = "metadat dat.gibson2002 (Gibson et al. 2002, doi:10.1002/14651858.CD001117)",
    morris2008 = "Morris 2008, doi:10.1177/1094428106291059, Table 1 (Carlson & Schmidt 1999)")[[name]]
}

reviews <- list()
for (name in names(published)) reviews[[name]] <- review_case(name)

out <- list(
  generated_by = "tests/reference/ref_examples.R",
  R_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  rma_control = ctrl_txt,
  confint_control = confint_ctrl_txt,
  reviews = reviews)
write_json(out, out_file, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "string")
cat("wrote", out_file, "\n")
