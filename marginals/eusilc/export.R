#!/usr/bin/env Rscript
# Writes R's laeken::eusilc (synthetic Austrian EU-SILC 2006: 14,827 persons in 6,000
# households) to CSV as it is, for marginals/eusilc/make.py.
#
# Usage: Rscript marginals/eusilc/export.R [OUT_FILE]
#        (default OUT_FILE: eusilc_raw.csv in this script's folder)
#
# Requires r-base-core and r-cran-laeken (Debian package 0.5.2-1). Every row and all 28
# columns, in the data set's order; factors as their labels, NA as an empty field, integers
# as they are, other numbers with 15 significant digits (sprintf("%.15g"), as write.csv
# prints them; none needs an exponent), "\n" line endings, nothing quoted (no value contains
# a comma or a quote). No randomness: a rerun writes the same bytes. The file (2 MB) is not
# committed: make.py reads it and the files it derives are.

args <- commandArgs(trailingOnly = TRUE)
if (length(args) > 1) stop("usage: Rscript export.R [OUT_FILE]")
if (length(args) == 1) {
  out_file <- args[[1]]
} else {
  file_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
  if (length(file_arg) != 1) stop("cannot locate the script; pass OUT_FILE")
  out_file <- file.path(dirname(normalizePath(sub("^--file=", "", file_arg))), "eusilc_raw.csv")
}

data(eusilc, package = "laeken", envir = environment())
stopifnot(nrow(eusilc) == 14827, ncol(eusilc) == 28, length(unique(eusilc$db030)) == 6000)

text <- vapply(eusilc, function(column) {
  if (is.factor(column) || is.integer(column)) {
    v <- as.character(column)
  } else {
    v <- sprintf("%.15g", column)
    stopifnot(!any(grepl("e", v[!is.na(column)])))
  }
  v[is.na(column)] <- ""
  stopifnot(!any(grepl("[,\"\n]", v)))
  v
}, character(nrow(eusilc)))
con <- file(out_file, open = "wb")
writeLines(c(paste(names(eusilc), collapse = ","), apply(text, 1, paste, collapse = ",")), con, sep = "\n")
close(con)
cat(sprintf("R %s.%s, laeken %s: wrote %s (%d rows, %d columns)\n", R.version$major, R.version$minor,
            as.character(packageVersion("laeken")), out_file, nrow(eusilc), ncol(eusilc)))
