# Reference values for the pre-post correlation derived from what a paper reports
# (scimeta.compare.build_effects, r_method; scimeta.conversions.r_from_paired_p & co).
#
# Writes tests/reference/prepost_r.json. For each crafted before/after study the
# correlation is derived here independently from the reported paired test or the
# reported SE/CI of the change (Cochrane Handbook v6.4, 6.5.2.3 and 6.5.2.8):
#   SD_change = |mean change| sqrt(n) / t,  t = qt(1 - p/2, n - 1) for a p,
#   SD_change = SE sqrt(n),  SD_change = sqrt(n) (high - low) / (2 qt(0.975, n - 1)),
#   r = (SD_pre^2 + SD_post^2 - SD_change^2) / (2 SD_pre SD_post), clipped to [-1, 1];
# a bound "p < x" keeps the assumed r when the paired p at it is below x, else takes
# the r at which the paired p equals x (found with uniroot on the paired t test).
# The derived r is then passed as ri to escalc() for MC, SMCR and SMCC, and the range
# of r whose paired p lies within the rounding of the reported p is found with uniroot
# (a reported t is exact: its r, when in [-1, 1]).
# Run from the repository root:  Rscript tests/reference/ref_prepost_r.R

out_file <- file.path("tests", "reference", "prepost_r.json")

source(file.path("tests", "reference", "common.R"))  # metafor, jsonlite, num()

assumed_r <- 0.5

# Two-sided p of the paired t test of post against pre at correlation r.
paired_p <- function(n, m_pre, sd_pre, m_post, sd_post, r) {
  sdc <- sqrt(sd_pre^2 + sd_post^2 - 2 * r * sd_pre * sd_post)
  2 * pt(-abs(m_post - m_pre) / (sdc / sqrt(n)), df = n - 1)
}
r_of_sdc <- function(sd_pre, sd_post, sdc) (sd_pre^2 + sd_post^2 - sdc^2) / (2 * sd_pre * sd_post)
# The r in [-1, 1] at which the paired p equals p (NA when none).
r_at_p <- function(n, m_pre, sd_pre, m_post, sd_post, p) {
  f <- function(r) log(paired_p(n, m_pre, sd_pre, m_post, sd_post, r)) - log(p)
  if (p <= 0) return(1)
  if (p >= 1) return(-1)
  ends <- c(f(-1), f(1 - 1e-15))
  if (ends[1] < 0) return(-1)          # even r = -1 gives a smaller p: the range starts at -1
  if (ends[2] > 0) return(NA_real_)    # even r -> 1 gives a larger p
  uniroot(f, c(-1, 1 - 1e-15), tol = 1e-14)$root
}
half_unit <- function(p) 0.5 * 10^(-nchar(sub("^[^.]*[.]?", "", format(p, scientific = FALSE))))

cases <- list(
  list(name = "p_exact_negative_r", n = 106, m_pre = 37.8, sd_pre = 21.7, m_post = 43.9,
       sd_post = 16.6, report = "p", value = 0.059, relation = "exact"),
  list(name = "t_reported", n = 20, m_pre = 30.6, sd_pre = 15.0, m_post = 38.5,
       sd_post = 11.6, report = "t", value = 3.1, relation = "exact"),
  list(name = "t_clipped", n = 30, m_pre = 10, sd_pre = 5, m_post = 12, sd_post = 4,
       report = "t", value = 15, relation = "exact"),
  list(name = "p_bound_moves_r", n = 106, m_pre = 40.7, sd_pre = 17, m_post = 43.3,
       sd_post = 15.9, report = "p", value = 0.001, relation = "below"),
  list(name = "p_bound_keeps_r", n = 106, m_pre = 40.3, sd_pre = 16.3, m_post = 47.2,
       sd_post = 17.1, report = "p", value = 0.001, relation = "below"),
  list(name = "se_of_change", n = 17, m_pre = 9.5, sd_pre = 2.1 * sqrt(17), m_post = 17.4,
       sd_post = 2.7 * sqrt(17), report = "se_change", value = 1.2, change = 7.9),
  list(name = "ci_of_change", n = 24, m_pre = 20.0, sd_pre = 8.0, m_post = 26.0,
       sd_post = 9.0, report = "ci_change", low = 3.1, high = 8.9, change = 6.0)
)

one_case <- function(cs) {
  n <- cs$n
  if (cs$report == "p" && cs$relation == "exact") {
    t <- qt(1 - cs$value / 2, df = n - 1)
    raw <- r_of_sdc(cs$sd_pre, cs$sd_post, abs(cs$m_post - cs$m_pre) * sqrt(n) / t)
    method <- "from_p"
  } else if (cs$report == "t") {
    raw <- r_of_sdc(cs$sd_pre, cs$sd_post, abs(cs$m_post - cs$m_pre) * sqrt(n) / abs(cs$value))
    method <- "from_t"
  } else if (cs$report == "p") {            # a bound p < value
    r_x <- r_at_p(n, cs$m_pre, cs$sd_pre, cs$m_post, cs$sd_post, cs$value)
    raw <- if (assumed_r >= r_x) assumed_r else r_x
    method <- if (assumed_r >= r_x) "assumed" else "from_p_bound"
  } else if (cs$report == "se_change") {
    raw <- r_of_sdc(cs$sd_pre, cs$sd_post, cs$value * sqrt(n))
    method <- "from_se_change"
  } else {
    sdc <- sqrt(n) * (cs$high - cs$low) / (2 * qt(0.975, df = n - 1))
    raw <- r_of_sdc(cs$sd_pre, cs$sd_post, sdc)
    method <- "from_ci_change"
  }
  r <- min(max(raw, -1), 1)
  d <- data.frame(m_pre = cs$m_pre, sd_pre = cs$sd_pre, m_post = cs$m_post,
                  sd_post = cs$sd_post, ni = n, ri = r)
  calls <- c(
    MC = 'escalc(measure = "MC", m1i = m_post, m2i = m_pre, sd1i = sd_post, sd2i = sd_pre, ni = ni, ri = ri, data = d)',
    SMCR = 'escalc(measure = "SMCR", m1i = m_post, m2i = m_pre, sd1i = sd_pre, ni = ni, ri = ri, data = d)',
    SMCC = 'escalc(measure = "SMCC", m1i = m_post, m2i = m_pre, sd1i = sd_post, sd2i = sd_pre, ni = ni, ri = ri, data = d)'
  )
  effects <- lapply(names(calls), function(m) {
    es <- eval(parse(text = calls[[m]]))
    list(measure = m, call = calls[[m]], yi = num(es$yi), vi = num(es$vi))
  })
  # range of r agreeing with the reported p (its rounding; a bound as it reads)
  agree <- list(low = NA_real_, high = NA_real_)
  if (cs$report == "t" && abs(raw) <= 1) {  # a t is exact: one r agrees
    agree$low <- raw
    agree$high <- raw
  }
  if (cs$report == "p") {
    if (cs$relation == "exact") {
      h <- half_unit(cs$value)
      p_lo <- cs$value - h
      p_hi <- cs$value + h
    } else {
      p_lo <- 0
      p_hi <- cs$value
    }
    agree$low <- r_at_p(n, cs$m_pre, cs$sd_pre, cs$m_post, cs$sd_post, p_hi)
    agree$high <- r_at_p(n, cs$m_pre, cs$sd_pre, cs$m_post, cs$sd_post, p_lo)
  }
  list(
    name = cs$name,
    input = cs,
    assumed_r = assumed_r,
    r_raw = num(raw),
    r = num(r),
    r_method = method,
    paired_p_at_r = num(paired_p(n, cs$m_pre, cs$sd_pre, cs$m_post, cs$sd_post, r)),
    r_agree_low = num(agree$low),
    r_agree_high = num(agree$high),
    effects = effects
  )
}

out <- list(
  R_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  script = "tests/reference/ref_prepost_r.R",
  cases = lapply(cases, one_case)
)
write_json(out, out_file, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "string")
message("wrote ", out_file)
