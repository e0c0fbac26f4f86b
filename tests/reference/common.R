# Shared by the ref_<area>.R scripts, which source it first (it is not a
# reference script itself: make_reference.R runs only ref_*.R).

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

# A plain numeric vector without names, as the JSON files store numbers.
num <- function(x) {
  x <- as.numeric(x)
  names(x) <- NULL
  x
}
