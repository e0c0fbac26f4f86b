# The metafor side of benchmarks/engine.py: the same work, timed in R.
#
#     Rscript benchmarks/engine_metafor.R TASK INPUT.csv N
#
# prints the elapsed seconds of TASK on the data in INPUT.csv:
#   re_many   N analyses (columns analysis, yi, vi): rma(method = "REML",
#             test = "knha") + predict() each
#   gosh      gosh() of an REML fit of the first N studies (columns yi, vi)
#   permutest permutest(rma(yi, vi, mods = ~ factor(g)), iter = N)
#   rma_k     one rma(method = "REML", test = "knha") + predict() + confint()
#             on the first N studies
suppressPackageStartupMessages(library(metafor))

args <- commandArgs(trailingOnly = TRUE)
task <- args[1]
d <- read.csv(args[2])
n <- as.integer(args[3])

elapsed <- function(expr) unname(system.time(expr)["elapsed"])

secs <- switch(task,
  re_many = {
    ids <- unique(d$analysis)[seq_len(n)]
    parts <- split(d[d$analysis %in% ids, ], d$analysis[d$analysis %in% ids])
    elapsed(for (p in parts) {
      # a fit that does not converge is an error in metafor: timed all the same
      fit <- try(rma(p$yi, p$vi, method = "REML", test = "knha"), silent = TRUE)
      if (!inherits(fit, "try-error")) predict(fit)
    })
  },
  gosh = {
    fit <- rma(d$yi[seq_len(n)], d$vi[seq_len(n)], method = "REML")
    elapsed(gosh(fit, progbar = FALSE))
  },
  permutest = {
    fit <- rma(d$yi, d$vi, mods = ~ factor(d$g), method = "REML")
    set.seed(20231122)
    elapsed(permutest(fit, iter = n, progbar = FALSE))
  },
  rma_k = {
    s <- seq_len(n)
    elapsed({
      fit <- rma(d$yi[s], d$vi[s], method = "REML", test = "knha")
      predict(fit)
      confint(fit)
    })
  },
  stop("unknown task ", task)
)
cat(sprintf("%.6f\n", secs))
