# Reference values for scimeta.conversions (tests/test_conversions.py).
# Run from the repository root: Rscript tests/reference/ref_conversions.R
# Writes tests/reference/conversions.json.
#
# metafor 3.8 has neither conv.wald nor conv.fivenum, so every value below is
# computed with base R's quantile functions (qt, qnorm) from the published
# formulas (Cochrane Handbook v6.4 ch. 6; Wan 2014; Luo 2018; Shi 2020), written
# independently of the Python code. Whether conv.wald exists is recorded.
suppressPackageStartupMessages(library(metafor))
library(jsonlite)

cases <- list()
add <- function(fun, args, call, value) {
  cases[[length(cases) + 1]] <<- list(fun = fun, args = args, call = call, value = value)
}

# SE -> SD (Handbook 6.5.2.2)
for (a in list(c(2.1, 17), c(0.6, 15), c(1.2, 106))) {
  add("sd_from_se", list(se = a[1], n = a[2]), sprintf("%s * sqrt(%s)", a[1], a[2]), a[1] * sqrt(a[2]))
}
# CI -> SD, t and z (Handbook 6.5.2.2)
for (a in list(c(1.0, 7.4, 9, 0.95), c(2.3, 28.5, 12, 0.95), c(3.0, 5.0, 25, 0.90),
               c(10, 20, 120, 0.99), c(-1.5, 2.5, 2, 0.95))) {
  lo <- a[1]; hi <- a[2]; n <- a[3]; lev <- a[4]
  add("sd_from_ci_t", list(low = lo, high = hi, n = n, level = lev),
      sprintf("sqrt(%s) * (%s - %s) / (2 * qt(1 - (1 - %s)/2, %s - 1))", n, hi, lo, lev, n),
      sqrt(n) * (hi - lo) / (2 * qt(1 - (1 - lev) / 2, n - 1)))
  add("sd_from_ci_z", list(low = lo, high = hi, n = n, level = lev),
      sprintf("sqrt(%s) * (%s - %s) / (2 * qnorm(1 - (1 - %s)/2))", n, hi, lo, lev),
      sqrt(n) * (hi - lo) / (2 * qnorm(1 - (1 - lev) / 2)))
}
# Difference with CI -> yi, vi (generic inverse variance; z, and t with n - 2 df)
for (a in list(c(4.55, 1.282, 7.815, 0.95), c(8.52, 0.619, 16.419, 0.95), c(0.40, 0.075, 0.727, 0.90))) {
  est <- a[1]; lo <- a[2]; hi <- a[3]; lev <- a[4]
  add("effect_from_ci", list(estimate = est, low = lo, high = hi, level = lev),
      sprintf("((%s - %s) / (2 * qnorm(1 - (1 - %s)/2)))^2", hi, lo, lev),
      list(yi = est, vi = ((hi - lo) / (2 * qnorm(1 - (1 - lev) / 2)))^2))
  add("effect_from_ci", list(estimate = est, low = lo, high = hi, level = lev, n = 40),
      sprintf("((%s - %s) / (2 * qt(1 - (1 - %s)/2, 40 - 2)))^2", hi, lo, lev),
      list(yi = est, vi = ((hi - lo) / (2 * qt(1 - (1 - lev) / 2, 38)))^2))
}
# Difference with p -> yi, vi
for (a in list(c(3.8, 0.008, 47), c(-2.0, 0.04, NA), c(4.0, 0.013, 34))) {
  est <- a[1]; p <- a[2]; n <- a[3]
  if (is.na(n)) {
    add("effect_from_p", list(estimate = est, p = p),
        sprintf("(abs(%s) / qnorm(1 - %s/2))^2", est, p), list(yi = est, vi = (abs(est) / qnorm(1 - p / 2))^2))
  } else {
    add("effect_from_p", list(estimate = est, p = p, n = n),
        sprintf("(abs(%s) / qt(1 - %s/2, %s - 2))^2", est, p, n),
        list(yi = est, vi = (abs(est) / qt(1 - p / 2, n - 2))^2))
  }
}
# Change-score SD and r (Handbook 6.5.2.8)
for (a in list(c(2.38, 2.21, 0.68), c(17, 15.9, 0.5), c(8.66, 11.13, 0.0))) {
  add("sd_change", list(sd_baseline = a[1], sd_final = a[2], r = a[3]),
      sprintf("sqrt(%s^2 + %s^2 - 2 * %s * %s * %s)", a[1], a[2], a[3], a[1], a[2]),
      sqrt(a[1]^2 + a[2]^2 - 2 * a[3] * a[1] * a[2]))
}
for (a in list(c(4.2, 4.4, 4.6), c(8.658522, 11.132385, 4.947727))) {
  add("r_from_sds", list(sd_baseline = a[1], sd_final = a[2], sd_change = a[3]),
      sprintf("(%s^2 + %s^2 - %s^2) / (2 * %s * %s)", a[1], a[2], a[3], a[1], a[2]),
      (a[1]^2 + a[2]^2 - a[3]^2) / (2 * a[1] * a[2]))
}
# Combining groups: Handbook Table 6.5.a two-group formula applied repeatedly
comb2 <- function(n1, m1, s1, n2, m2, s2) {
  n <- n1 + n2; m <- (n1 * m1 + n2 * m2) / n
  s <- sqrt(((n1 - 1) * s1^2 + (n2 - 1) * s2^2 + n1 * n2 / n * (m1^2 + m2^2 - 2 * m1 * m2)) / (n - 1))
  c(n, m, s)
}
groups <- list(
  list(ns = c(7, 4), means = c(50.0, 15.75), sds = c(0.0, 5.9)),
  list(ns = c(32, 74), means = c(23.9, 47.9), sds = c(15.8, 11.7)),
  list(ns = c(10, 20, 15), means = c(3.1, 4.2, 5.0), sds = c(1.0, 1.5, 0.8))
)
for (g in groups) {
  acc <- c(g$ns[1], g$means[1], g$sds[1])
  for (j in seq_along(g$ns)[-1]) acc <- comb2(acc[1], acc[2], acc[3], g$ns[j], g$means[j], g$sds[j])
  add("combine_groups", g, "Handbook Table 6.5.a, two-group formula applied left to right",
      list(n = acc[1], mean = acc[2], sd = acc[3]))
}
# Median-based estimators (Wan 2014, Luo 2018, Shi 2020), base R qnorm
xi <- function(n) 2 * qnorm((n - 0.375) / (n + 0.25))
eta <- function(n) 2 * qnorm((0.75 * n - 0.125) / (n + 0.25))
for (a in list(c(0, 10, 14, 18, 40, 25), c(2, 5, 8, 12, 30, 9), c(10, 20, 25, 33, 60, 150))) {
  mn <- a[1]; q1 <- a[2]; m <- a[3]; q3 <- a[4]; mx <- a[5]; n <- a[6]
  w_luo1 <- 4 / (4 + n^0.75); w_luo2 <- 0.7 + 0.39 / n
  w1 <- 2.2 / (2.2 + n^0.75); w2 <- 0.7 - 0.72 / n^0.55; w_shi <- 1 / (1 + 0.07 * n^0.6)
  args <- list(minimum = mn, q1 = q1, median = m, q3 = q3, maximum = mx, n = n)
  add("wan2014_mean_range", args, "(a + 2m + b)/4", (mn + 2 * m + mx) / 4)
  add("wan2014_mean_iqr", args, "(q1 + m + q3)/3", (q1 + m + q3) / 3)
  add("wan2014_mean_both", args, "(a + 2q1 + 2m + 2q3 + b)/8", (mn + 2 * q1 + 2 * m + 2 * q3 + mx) / 8)
  add("wan2014_sd_range", args, "(b - a)/xi(n)", (mx - mn) / xi(n))
  add("wan2014_sd_iqr", args, "(q3 - q1)/eta(n)", (q3 - q1) / eta(n))
  add("wan2014_sd_both", args, "((b - a)/xi(n) + (q3 - q1)/eta(n))/2", ((mx - mn) / xi(n) + (q3 - q1) / eta(n)) / 2)
  add("luo2018_mean_range", args, "w (a+b)/2 + (1-w) m, w = 4/(4+n^0.75)", w_luo1 * (mn + mx) / 2 + (1 - w_luo1) * m)
  add("luo2018_mean_iqr", args, "w (q1+q3)/2 + (1-w) m, w = 0.7+0.39/n", w_luo2 * (q1 + q3) / 2 + (1 - w_luo2) * m)
  add("luo2018_mean_both", args, "w1 (a+b)/2 + w2 (q1+q3)/2 + (1-w1-w2) m",
      w1 * (mn + mx) / 2 + w2 * (q1 + q3) / 2 + (1 - w1 - w2) * m)
  add("shi2020_sd_both", args, "w (b-a)/xi(n) + (1-w)(q3-q1)/eta(n), w = 1/(1+0.07 n^0.6)",
      w_shi * (mx - mn) / xi(n) + (1 - w_shi) * (q3 - q1) / eta(n))
}

out <- list(
  r_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  metafor_has_conv_wald = exists("conv.wald", envir = asNamespace("metafor")),
  note = paste("Base-R computations of the published formulas; metafor 3.8 has no conv.wald",
               "or conv.fivenum."),
  cases = cases
)
write_json(out, "tests/reference/conversions.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
cat("wrote tests/reference/conversions.json with", length(cases), "cases\n")
