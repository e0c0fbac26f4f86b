# Regenerate every reference value file of the test suite from R's metafor.
#
# Run by hand from the repository root (R with metafor, metadat, jsonlite,
# readxl and yaml, e.g. Debian's r-cran-metafor r-cran-metadat r-cran-jsonlite
# r-cran-readxl r-cran-yaml):
#
#     Rscript tests/reference/make_reference.R
#
# Each tests/reference/ref_<area>.R writes tests/reference/<area>.json with the
# R and metafor versions and the exact call of every case. The JSON files are
# committed, so the tests need no R.
here <- "tests/reference"
if (!dir.exists(here)) stop("run from the repository root")
for (script in sort(list.files(here, pattern = "^ref_.*[.]R$", full.names = TRUE))) {
  message("running ", script)
  status <- system2("Rscript", script)
  if (status != 0) stop(script, " failed")
}
