# Writes openxlsx_review.xlsx: the sheets of tests/data/extraction/review_ok/data/raw as R's
# openxlsx writes a workbook (a <dimension ref="A1"/> on every sheet, whatever it holds).
# tests/test_xlsx_parity.py reads it and compares it with the CSV sheets it came from.
# Run from this folder: Rscript make_openxlsx.R
library(openxlsx)

raw <- file.path("..", "extraction", "review_ok", "data", "raw")
# the columns a spreadsheet user types as numbers (the others are text cells)
numeric <- c("n", "timepoint", "mean", "sd", "se", "ci_low", "ci_high", "ci_level", "median",
             "q1", "q3", "min", "max", "p_value", "prepost_r", "year")
sheets <- list()
for (name in c("studies", "outcomes")) {
  df <- read.csv(file.path(raw, paste0(name, ".csv")), colClasses = "character",
                 na.strings = "", check.names = FALSE, encoding = "UTF-8")
  for (col in intersect(numeric, names(df))) df[[col]] <- as.numeric(df[[col]])
  sheets[[name]] <- df
}
write.xlsx(sheets, "openxlsx_review.xlsx", overwrite = TRUE)
cat("openxlsx", as.character(packageVersion("openxlsx")), "\n")
