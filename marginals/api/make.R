#!/usr/bin/env Rscript
# California schools by county: a zoned calibration case from R's `survey` `api` data.
#
# Usage: Rscript marginals/api/make.R [OUT_DIR]     (default OUT_DIR: this script's folder)
#
# Seed = apistrat (200 schools, design weight pw); zones = counties (cname) with at least
# MIN_SCHOOLS schools in apipop and a school with sch_wide Yes, awards No (see below); zone
# margins = apipop counts by county x stype / sch_wide / awards.  Recodes follow
# tests/oracle/survey_calibrate.R.  See marginals/README.md, section
# "api/: California schools by county".
#
# Requires r-base-core and r-cran-survey.  Asserts that survey::rake() converges for every
# county, with the shared seed and with its region's seed (about 30 s).  No randomness: a
# rerun gives byte-identical files ("\n" line endings, no quoting, non-integers as
# sprintf("%.17g")).

args <- commandArgs(trailingOnly = TRUE)
if (length(args) > 1) stop("usage: Rscript make.R [OUT_DIR]")
if (length(args) == 1) {
  out_dir <- args[[1]]
} else {
  file_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
  if (length(file_arg) != 1) stop("cannot locate the script; pass OUT_DIR")
  out_dir <- dirname(normalizePath(sub("^--file=", "", file_arg)))
}
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

suppressPackageStartupMessages(library(survey))
data(api, package = "survey", envir = environment())

# ---------------------------------------------------------------------------
# Recodes (same as tests/oracle/survey_calibrate.R), applied to apistrat and apipop
# ---------------------------------------------------------------------------
LEVELS <- list(
  stype       = c("E", "H", "M"),
  sch_wide    = c("No", "Yes"),
  awards      = c("No", "Yes"),
  enroll_band = c("0-299", "300-599", "600-999", "1000+", "unknown")
)

# enroll_band from `enroll`, left-closed bands (cut points 300, 600, 1000);
# NA -> "unknown" (never happens in apistrat).
enroll_band <- function(enroll) {
  b <- as.character(cut(enroll, breaks = c(-Inf, 300, 600, 1000, Inf),
                        labels = LEVELS$enroll_band[1:4], right = FALSE))
  b[is.na(enroll)] <- "unknown"
  b
}

# Region rule: "southern" if the county is one of the 10 counties of Southern California
# (the usual ten-county definition), else "northern".
SOUTHERN <- c("Imperial", "Kern", "Los Angeles", "Orange", "Riverside", "San Bernardino",
              "San Diego", "San Luis Obispo", "Santa Barbara", "Ventura")
REGIONS <- c("northern", "southern")
region_of <- function(county) ifelse(county %in% SOUTHERN, "southern", "northern")

# Zones: counties with at least this many schools in apipop, and with at least one school
# that met its school-wide growth target without award eligibility (sch_wide Yes, awards No).
# awards Yes implies sch_wide Yes (no school in apipop has sch_wide No, awards Yes), so where
# awards No == sch_wide No the margins force every seed school with sch_wide Yes, awards No to
# weight 0: raking then has no finite solution and only creeps towards it (Kings county).
MIN_SCHOOLS <- 20

recode <- function(df) {
  r <- data.frame(
    id          = as.integer(df$snum),
    county      = as.character(df$cname),
    stype       = as.character(df$stype),
    sch_wide    = as.character(df$sch.wide),
    awards      = as.character(df$awards),
    enroll_band = enroll_band(df$enroll),
    stringsAsFactors = FALSE
  )
  stopifnot(all(r$id == df$snum), !anyNA(r$county), all(nzchar(r$county)),
            !any(grepl("[,\"\r\n]", r$county)))
  r$region <- region_of(r$county)
  for (v in names(LEVELS)) {
    stopifnot(!anyNA(r[[v]]), all(r[[v]] %in% LEVELS[[v]]))
  }
  r
}

samp <- recode(apistrat)
samp$weight <- as.numeric(apistrat$pw)
popd <- recode(apipop)
stopifnot(nrow(samp) == 200, nrow(popd) == 6194, !anyDuplicated(samp$id),
          !anyDuplicated(popd$id), !anyNA(samp$weight), all(samp$weight > 0),
          !any(samp$enroll_band == "unknown"),
          all(SOUTHERN %in% popd$county))
# every seed school is a population school with the same county and categories
m <- match(samp$id, popd$id)
stopifnot(!anyNA(m))
for (v in c("county", "stype", "sch_wide", "awards", "enroll_band")) {
  stopifnot(identical(samp[[v]], popd[[v]][m]))
}

# ---------------------------------------------------------------------------
# Kept counties, in C-locale alphabetical order
# ---------------------------------------------------------------------------
stopifnot(!any(popd$sch_wide == "No" & popd$awards == "Yes"))
n_by_county <- table(popd$county)
big <- names(n_by_county)[n_by_county >= MIN_SCHOOLS]
yes_no <- table(factor(popd$county[popd$sch_wide == "Yes" & popd$awards == "No"],
                       levels = names(n_by_county)))
dropped <- sort(big[yes_no[big] == 0], method = "radix")
counties <- sort(setdiff(big, dropped), method = "radix")
kept <- popd[popd$county %in% counties, ]

# ---------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------
write_lines_csv <- function(header, rows, file) {
  con <- file(file.path(out_dir, file), open = "wb")
  on.exit(close(con))
  writeLines(c(paste(header, collapse = ","), rows), con, sep = "\n")
}
full <- function(x) sprintf("%.17g", x)

# seed.csv: all 200 apistrat schools, in apistrat's row order
write_lines_csv(c("id", "weight", "county", "region", "stype", "sch_wide", "awards", "enroll_band"),
                paste(samp$id, full(samp$weight), samp$county, samp$region, samp$stype,
                      samp$sch_wide, samp$awards, samp$enroll_band, sep = ","),
                "seed.csv")

# Zone margins: every county x category, zeros included, county slowest
margins <- c(stype = "stype_by_county.csv", sch_wide = "sch_wide_by_county.csv",
             awards = "awards_by_county.csv")
counts <- list()
for (v in names(margins)) {
  tab <- table(factor(kept$county, levels = counties), factor(kept[[v]], levels = LEVELS[[v]]))
  stopifnot(sum(tab) == nrow(kept))
  cells <- expand.grid(cat = LEVELS[[v]], county = counties, stringsAsFactors = FALSE)
  cells$count <- as.integer(tab[cbind(cells$county, cells$cat)])
  counts[[v]] <- tab
  write_lines_csv(c("county", v, "count"),
                  paste(cells$county, cells$cat, cells$count, sep = ","),
                  margins[[v]])
}
# the three margins agree on every county's total (= its number of schools)
tot <- as.vector(n_by_county[counties])
for (v in names(margins)) stopifnot(all(rowSums(counts[[v]]) == tot))

# county_region.csv: every kept county and its region
write_lines_csv(c("county", "region"), paste(counties, region_of(counties), sep = ","),
                "county_region.csv")

# ---------------------------------------------------------------------------
# Seed support
# ---------------------------------------------------------------------------
# Shared seed: every category of every margin appears in the seed.
for (v in names(margins)) stopifnot(all(LEVELS[[v]] %in% samp[[v]]))
# Regional seeds: every category with a positive target in a county appears among the
# seed schools of that county's region.
for (cty in counties) {
  rs <- samp[samp$region == region_of(cty), ]
  for (v in names(margins)) {
    need <- LEVELS[[v]][counts[[v]][cty, ] > 0]
    if (!all(need %in% rs[[v]])) stop("county ", cty, ": region ", region_of(cty),
                                      " lacks seed support for ", v)
  }
}
# Raking has a finite solution (all g = w/d > 0): no seed school has sch_wide No, awards Yes;
# every region's seed has all 9 cells stype x (sch_wide, awards) in {No/No, Yes/No, Yes/Yes};
# and every county has positive counts of stype E/H/M, sch_wide No, awards Yes and of
# awards No - sch_wide No (schools with Yes/No), so the outer product of its stype counts and
# those three counts, over its total, is a strictly positive table on the seed's cells.
stopifnot(!any(samp$sch_wide == "No" & samp$awards == "Yes"))
cells9 <- as.vector(outer(LEVELS$stype, c("No No", "Yes No", "Yes Yes"), paste))
for (r in REGIONS) {
  rs <- samp[samp$region == r, ]
  stopifnot(all(cells9 %in% paste(rs$stype, rs$sch_wide, rs$awards)))
}
stopifnot(all(counts$stype > 0), all(counts$sch_wide[, "No"] > 0), all(counts$awards[, "Yes"] > 0),
          all(counts$awards[, "No"] > counts$sch_wide[, "No"]))

# Cross-check with survey::rake(): every county converges, with the shared seed and with
# its region's seed, to within 1e-8 schools on every margin cell.
max_dev <- 0
for (cty in counties) {
  for (regional in c(FALSE, TRUE)) {
    sub <- samp[!regional | samp$region == region_of(cty), ]
    for (v in names(margins)) sub[[v]] <- factor(sub[[v]], levels = LEVELS[[v]])
    des <- svydesign(id = ~1, weights = ~weight, data = sub)
    pm <- lapply(names(margins), function(v) {
      p <- data.frame(factor(LEVELS[[v]], levels = LEVELS[[v]]), as.vector(counts[[v]][cty, ]))
      names(p) <- c(v, "Freq")
      p
    })
    fit <- withCallingHandlers(
      rake(des, lapply(names(margins), function(v) as.formula(paste("~", v))), pm,
           control = list(maxit = 1000, epsilon = 1e-13)),
      warning = function(w) stop("rake(", cty, ", regional = ", regional, "): ", conditionMessage(w)))
    w <- weights(fit)
    stopifnot(all(w > 0))
    for (v in names(margins)) {
      est <- vapply(LEVELS[[v]], function(k) sum(w[sub[[v]] == k]), numeric(1))
      max_dev <- max(max_dev, abs(est - counts[[v]][cty, ]))
    }
  }
}
stopifnot(max_dev < 1e-8)

# ---------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------
n_zero <- sum(vapply(counts, function(t) sum(t == 0), integer(1)))
n_cells <- sum(vapply(counts, length, integer(1)))
cat(sprintf("R %s, survey %s: wrote %s\n", paste(R.version$major, R.version$minor, sep = "."),
            as.character(packageVersion("survey")), out_dir))
cat(sprintf("counties: %d of %d have >= %d schools; dropped (no sch_wide Yes + awards No school): %s\n",
            length(big), length(n_by_county), MIN_SCHOOLS, paste(dropped, collapse = ", ")))
cat(sprintf("counties: %d kept, covering %d of %d schools; %d of %d margin cells are 0\n",
            length(counties), nrow(kept), nrow(popd), n_zero, n_cells))
cat(sprintf("survey::rake: every county converges (shared and regional seed), max |dev| %.1e\n", max_dev))
for (r in REGIONS) {
  cat(sprintf("  %-8s %2d counties, %4d population schools, %3d seed schools (%d in kept counties)\n",
              r, sum(region_of(counties) == r), sum(kept$region == r), sum(samp$region == r),
              sum(samp$region == r & samp$county %in% counties)))
}
