# Write data/raw/studies.csv and outcomes.csv of the example reviews built from
# published datasets: examples/normand1999, examples/curtis1998,
# examples/gibson2002 (R package metadat) and examples/morris2008 (the five
# studies of Morris 2008, Table 1 as typed on the metafor project's page
# analyses:morris2008). Each outcomes row names its dataset row in `source`
# and holds its cells verbatim in `quote`.
#
# Run by hand from the repository root (R with metadat):
#     Rscript examples/from_metadat.R
# The CSV files are committed; the workflow and the tests need no R.

suppressPackageStartupMessages(library(metadat))
if (!dir.exists("examples")) stop("run from the repository root")

# 15 significant digits, as R prints the dataset (a few of metadat's doubles, e.g.
# 6.8168999999999995 for 6.8169, are a unit in the last place away from their text)
cell <- function(x) vapply(x, function(v) format(v, digits = 15), "")

study_frame <- function(study_id, author, year = "", design, label, ...) {
  data.frame(study_id = study_id, cohort_id = "", author = author, year = year, title = "",
             journal = "", doi = "", design = design, condition = "", intervention = "",
             route = "", label = label, ..., stringsAsFactors = FALSE, check.names = FALSE)
}

# one outcomes row per arm (and time point) of a two-group dataset
arm_rows <- function(study_id, outcome, arm, timepoint, n, m, sd, source, quote, r = NA) {
  data.frame(study_id = study_id, outcome = outcome, arm = arm, population = "all",
             timepoint = timepoint, kind = "final", n = cell(n), mean = cell(m), sd = cell(sd),
             prepost_r = ifelse(is.na(r), "", cell(r)), source = source, quote = quote,
             stringsAsFactors = FALSE)
}

write_review <- function(name, studies, outcomes) {
  raw <- file.path("examples", name, "data", "raw")
  dir.create(raw, recursive = TRUE, showWarnings = FALSE)
  numbers <- c("year", "time", "timepoint", "n", "mean", "sd", "prepost_r")
  for (f in list(list(studies, "studies.csv"), list(outcomes, "outcomes.csv"))) {
    write.csv(f[[1]], file.path(raw, f[[2]]), row.names = FALSE, na = "",
              quote = which(!names(f[[1]]) %in% numbers))
  }
  cat("wrote", raw, ":", nrow(studies), "studies,", nrow(outcomes), "outcome rows\n")
}

two_group <- function(name, dat, outcome, ids, authors, years, labels, design = "rct",
                      extra = list()) {
  q <- function(g) sprintf("n%si = %s, m%si = %s, sd%si = %s", g, cell(dat[[paste0("n", g, "i")]]),
                           g, cell(dat[[paste0("m", g, "i")]]), g, cell(dat[[paste0("sd", g, "i")]]))
  src <- sprintf("metadat %s, row %d", name, seq_len(nrow(dat)))
  studies <- do.call(study_frame, c(list(study_id = ids, author = authors, year = years,
                                         design = design, label = labels), extra))
  outcomes <- rbind(
    arm_rows(ids, outcome, "treatment", 1, dat$n1i, dat$m1i, dat$sd1i, src, q(1)),
    arm_rows(ids, outcome, "control", 1, dat$n2i, dat$m2i, dat$sd2i, src, q(2)))
  outcomes <- outcomes[order(match(outcomes$study_id, ids), outcomes$arm != "treatment"), ]
  list(studies = studies, outcomes = outcomes)
}

# --- Normand 1999: length of hospital stay, specialist vs routine stroke care
d <- dat.normand1999
x <- two_group("dat.normand1999", d, "length_of_stay",
               ids = sprintf("normand1999_%d", d$study), authors = d$source, years = "",
               labels = d$source)
write_review("normand1999", x$studies, x$outcomes)

# --- Curtis et al. 1998: woody plant mass under elevated vs ambient CO2, by functional group
d <- dat.curtis1998
x <- two_group("dat.curtis1998", d, "plant_mass",
               ids = sprintf("curtis1998_%d", d$id), authors = sprintf("Paper%d", d$paper),
               years = "", labels = sprintf("%s %s (obs %d, paper %d)",
                                             tools::toTitleCase(tolower(d$genus)),
                                             tolower(d$species), d$id, d$paper),
               design = "controlled",
               extra = list(fungrp = d$fungrp, method = d$method, time = d$time,
                            xtrt = d$xtrt))
write_review("curtis1998", x$studies, x$outcomes)

# --- Gibson et al. 2002: days off work/school, self-management education vs usual care
d <- dat.gibson2002
d <- d[!is.na(d$m1i), ]  # Yoon 1993 and Brewin 1995 report no means (README)
x <- two_group("dat.gibson2002", d, "days_off",
               ids = sprintf("%s%d", tolower(gsub("[^A-Za-z]", "", d$author)), d$year),
               authors = d$author, years = d$year, labels = paste(d$author, d$year),
               extra = list(type = sprintf("type%d", d$type)))
rows <- match(x$studies$study_id, sprintf("%s%d", tolower(gsub("[^A-Za-z]", "", dat.gibson2002$author)),
                                           dat.gibson2002$year))
x$outcomes$source <- sprintf("metadat dat.gibson2002, row %d",
                             rows[match(x$outcomes$study_id, x$studies$study_id)])
write_review("gibson2002", x$studies, x$outcomes)

# --- Morris 2008: training studies (Carlson & Schmidt 1999), pretest-posttest-control design
tr <- data.frame(m_pre = c(30.6, 23.5, 0.5, 53.4, 35.6), m_post = c(38.5, 26.8, 0.7, 75.9, 36.0),
                 sd_pre = c(15.0, 3.1, 0.1, 14.5, 4.7), sd_post = c(11.6, 4.1, 0.1, 4.4, 4.6),
                 ni = c(20, 50, 9, 10, 14), ri = c(0.47, 0.64, 0.77, 0.89, 0.44))
co <- data.frame(m_pre = c(23.1, 24.9, 0.6, 55.7, 34.8), m_post = c(19.7, 25.3, 0.6, 60.7, 33.4),
                 sd_pre = c(13.8, 4.1, 0.2, 17.3, 3.1), sd_post = c(14.8, 3.3, 0.2, 17.9, 6.9),
                 ni = c(20, 42, 9, 11, 14), ri = c(0.47, 0.64, 0.77, 0.89, 0.44))
ids <- sprintf("morris2008_%d", 1:5)
studies <- study_frame(ids, author = "Morris", year = 2008, design = "controlled",
                       label = sprintf("Study %d", 1:5))
rows <- list()
for (g in c("treatment", "control")) {
  x <- if (g == "treatment") tr else co
  tag <- if (g == "treatment") "datT" else "datC"
  src <- sprintf("Morris 2008, Table 1, study %d (%s)", 1:5, g)
  for (tp in c(0, 1)) {
    when <- if (tp == 0) "pre" else "post"
    m <- x[[paste0("m_", when)]]; s <- x[[paste0("sd_", when)]]
    quote <- sprintf("%s: m_%s = %s, sd_%s = %s, ni = %s, ri = %s", tag, when, cell(m), when,
                     cell(s), cell(x$ni), cell(x$ri))
    rows[[length(rows) + 1]] <- arm_rows(ids, "training", g, tp, x$ni, m, s, src, quote, r = x$ri)
  }
}
outcomes <- do.call(rbind, rows)
outcomes <- outcomes[order(match(outcomes$study_id, ids), outcomes$arm != "treatment",
                           outcomes$timepoint), ]
write_review("morris2008", studies, outcomes)
