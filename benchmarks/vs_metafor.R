# The work benchmarks/vs_metafor.py times against the workflow, done with metafor: for each
# outcome of a review's data/raw/outcomes.csv (means, SDs and n per arm), the mean differences
# (escalc "MD": treatment vs control, or follow-up vs baseline as independent groups), a
# REML random-effects model with Wald (test = "z") and Hartung-Knapp (test = "knha") tests,
# the pooled estimate with its prediction interval (predict), and one forest plot as PNG.
#
#     Rscript benchmarks/vs_metafor.R REVIEW OUT_DIR
suppressPackageStartupMessages(library(metafor))

args <- commandArgs(trailingOnly = TRUE)
review <- args[1]
out <- args[2]
dir.create(out, showWarnings = FALSE, recursive = TRUE)
rows <- read.csv(file.path(review, "data", "raw", "outcomes.csv"), stringsAsFactors = FALSE)

pairs <- function(rows) {
  control <- rows[rows$arm == "control", ]
  if (nrow(control) > 0) {
    one <- rows[rows$arm == "treatment", ]
    two <- control
  } else {
    one <- rows[rows$arm == "treatment" & rows$timepoint > 0, ]
    two <- rows[rows$arm == "treatment" & rows$timepoint == 0, ]
  }
  merge(one, two, by = "study_id", suffixes = c("1", "2"))
}

for (outcome in sort(unique(rows$outcome))) {
  d <- pairs(rows[rows$outcome == outcome, ])
  d <- escalc("MD", m1i = mean1, sd1i = sd1, n1i = n1, m2i = mean2, sd2i = sd2, n2i = n2,
              data = d, slab = study_id)
  wald <- rma(yi, vi, data = d, method = "REML", test = "z")
  knha <- rma(yi, vi, data = d, method = "REML", test = "knha")
  pooled <- rbind(as.data.frame(predict(wald)), as.data.frame(predict(knha)))
  pooled$test <- c("z", "knha")
  pooled$tau2 <- c(wald$tau2, knha$tau2)
  write.csv(pooled, file.path(out, paste0(outcome, ".csv")), row.names = FALSE)
  png(file.path(out, paste0("forest_", outcome, ".png")), width = 7, height = 2 + 0.25 * nrow(d),
      units = "in", res = 300)
  forest(knha, header = TRUE, addpred = TRUE)
  invisible(dev.off())
}
