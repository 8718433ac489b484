#!/usr/bin/env Rscript
# Golden calibration fixtures from R's `survey` package (Lumley).
#
# Usage: Rscript tests/oracle/survey_calibrate.R OUT_DIR
#        (committed output lives in tests/oracle/api/)
#
# Requires the Debian packages r-base-core, r-cran-survey and r-cran-mass
# (survey's calibrate() calls MASS::ginv for every non-closed-form calfun).
# See tests/oracle/README.md for what every file means.
#
# The script is deterministic (no RNG); rerunning it gives byte-identical files.

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 1) stop("usage: Rscript survey_calibrate.R OUT_DIR")
out_dir <- args[[1]]
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

suppressPackageStartupMessages(library(survey))
data(api, package = "survey", envir = environment())

# ---------------------------------------------------------------------------
# Recodes (applied identically to the sample apistrat and the population apipop)
# ---------------------------------------------------------------------------
LEVELS <- list(
  stype       = c("E", "H", "M"),
  sch_wide    = c("No", "Yes"),
  comp_imp    = c("No", "Yes"),
  awards      = c("No", "Yes"),
  enroll_band = c("0-299", "300-599", "600-999", "1000+", "unknown")
)

# enroll_band from `enroll` (number of students enrolled), left-closed bands:
#   enroll <  300          -> "0-299"
#   300 <= enroll < 600    -> "300-599"
#   600 <= enroll < 1000   -> "600-999"
#   enroll >= 1000         -> "1000+"
#   enroll missing (NA)    -> "unknown"   (never happens in apistrat;
#                                          37 schools in apipop)
enroll_band <- function(enroll) {
  b <- as.character(cut(enroll, breaks = c(-Inf, 300, 600, 1000, Inf),
                        labels = LEVELS$enroll_band[1:4], right = FALSE))
  b[is.na(enroll)] <- "unknown"
  b
}

recode <- function(df) {
  r <- data.frame(
    id          = as.integer(df$snum),
    stype       = as.character(df$stype),
    sch_wide    = as.character(df$sch.wide),
    comp_imp    = as.character(df$comp.imp),
    awards      = as.character(df$awards),
    enroll_band = enroll_band(df$enroll),
    stringsAsFactors = FALSE
  )
  stopifnot(all(r$id == df$snum))
  for (v in names(LEVELS)) {
    stopifnot(!anyNA(r[[v]]), all(r[[v]] %in% LEVELS[[v]]))
  }
  r
}

samp <- recode(apistrat)
samp$weight <- as.numeric(apistrat$pw)
samp$fpc <- as.numeric(apistrat$fpc)
popd <- recode(apipop)
stopifnot(nrow(samp) == 200, nrow(popd) == 6194, !anyDuplicated(samp$id),
          !anyNA(samp$weight), all(samp$weight > 0),
          !any(samp$enroll_band == "unknown"))

as_factors <- function(df) {
  for (v in intersect(names(LEVELS), names(df))) {
    df[[v]] <- factor(df[[v]], levels = LEVELS[[v]])
  }
  df
}

# ---------------------------------------------------------------------------
# Writers: plain "\n"-terminated CSV, no quoting (no value contains a comma)
# ---------------------------------------------------------------------------
write_lines_csv <- function(header, rows, file) {
  con <- file(file.path(out_dir, file), open = "wb")
  on.exit(close(con))
  writeLines(c(paste(header, collapse = ","), rows), con, sep = "\n")
}
full <- function(x) sprintf("%.17g", x)

# seed.csv: apistrat in its original row order
seed_cols <- c("id", "weight", "stype", "sch_wide", "comp_imp", "awards", "enroll_band")
write_lines_csv(seed_cols,
                paste(samp$id, full(samp$weight), samp$stype, samp$sch_wide,
                      samp$comp_imp, samp$awards, samp$enroll_band, sep = ","),
                "seed.csv")

# ---------------------------------------------------------------------------
# Margins: population counts from apipop, one row per cell (all level
# combinations, first attribute varying slowest)
# ---------------------------------------------------------------------------
margin_defs <- list(
  stype          = "stype",
  sch_wide       = "sch_wide",
  comp_imp       = "comp_imp",
  awards         = "awards",
  enroll_band    = "enroll_band",
  stype_sch_wide = c("stype", "sch_wide")
)
for (name in names(margin_defs)) {
  vars <- margin_defs[[name]]
  cells <- expand.grid(rev(LEVELS[vars]), stringsAsFactors = FALSE)[, rev(seq_along(vars)), drop = FALSE]
  names(cells) <- vars
  key_pop <- do.call(paste, c(popd[vars], sep = "\r"))
  key_cell <- do.call(paste, c(cells[vars], sep = "\r"))
  cells$count <- vapply(key_cell, function(k) sum(key_pop == k), integer(1))
  stopifnot(sum(cells$count) == nrow(popd))
  write_lines_csv(c(vars, "count"),
                  do.call(paste, c(cells, sep = ",")),
                  paste0(name, ".csv"))
}

read_margin <- function(name) {
  m <- read.csv(file.path(out_dir, paste0(name, ".csv")),
                colClasses = "character", stringsAsFactors = FALSE)
  m$count <- as.numeric(m$count)
  m
}

# Population totals in survey's model-matrix parameterisation, read back from
# the margin files just written (so the files carry exactly what R used):
# "(Intercept)" = N, then treatment-contrast columns for non-reference levels
# and their interactions, e.g. stypeH, stypeM, sch_wideYes, stypeH:sch_wideYes.
totals_from_margins <- function(formula, margin_names, design_data) {
  tot <- c()
  for (name in margin_names) {
    m <- as_factors(read_margin(name))
    vars <- margin_defs[[name]]
    mm <- model.matrix(as.formula(paste("~", paste(vars, collapse = "*"))), m)
    t <- colSums(mm * m$count)
    for (k in names(t)) {
      if (k %in% names(tot)) stopifnot(tot[[k]] == t[[k]]) else tot[k] <- t[[k]]
    }
  }
  want <- colnames(model.matrix(formula, model.frame(formula, design_data)))
  stopifnot(all(want %in% names(tot)))
  pop <- tot[want]
  # cross-check against the population microdata directly
  ref <- colSums(model.matrix(formula, as_factors(popd)))
  stopifnot(identical(names(ref), names(pop)), all(ref == pop))
  pop
}

# ---------------------------------------------------------------------------
# Design and cases
# ---------------------------------------------------------------------------
dat <- as_factors(samp)
des <- svydesign(id = ~1, strata = ~stype, weights = ~weight, fpc = ~fpc, data = dat)
d <- weights(des)
# survey stores prob = 1/weight and returns weights() = 1/prob, so d can differ
# from pw in the last bit (it does for the 50 high schools: pw = 15.100000381469727,
# d = 15.100000381469725).  seed.csv carries pw itself.
stopifnot(max(abs(d / samp$weight - 1)) < 4 * .Machine$double.eps)

f1 <- ~stype + sch_wide + awards
f2 <- ~stype * sch_wide + awards
m1 <- c("stype", "sch_wide", "awards")
m2 <- c("stype_sch_wide", "awards")
pop1 <- totals_from_margins(f1, m1, dat)
pop2 <- totals_from_margins(f2, m2, dat)

EPS <- 1e-13
MAXIT <- 1000
# Logit bounds on g = w/d.  The unbounded solutions have g in about
# [0.808, 1.078]; [0.815, 1.06] cuts into both ends and is close to the edge
# of feasibility (L >= 0.82 or U <= 1.05 is infeasible), so the bounds are
# active: g-weights are pushed to within ~1e-3 of L and of U (logit g-weights
# approach but never equal the bounds).
BOUNDS <- c(0.815, 1.06)

rake_tables <- lapply(m1, function(name) {
  m <- as_factors(read_margin(name))
  xtabs(as.formula(paste("count ~", margin_defs[[name]])), data = m)
})

cases <- list(
  list(case = "linear_oneway", method = "linear", formula = f1, margins = m1, pop = pop1,
       fit = function() calibrate(des, f1, pop1, calfun = "linear")),
  list(case = "raking_oneway", method = "raking", formula = f1, margins = m1, pop = pop1,
       fit = function() calibrate(des, f1, pop1, calfun = "raking",
                                  maxit = MAXIT, epsilon = EPS)),
  list(case = "logit_oneway", method = "logit", formula = f1, margins = m1, pop = pop1,
       bounds = BOUNDS,
       fit = function() calibrate(des, f1, pop1, calfun = "logit", bounds = BOUNDS,
                                  maxit = MAXIT, epsilon = EPS)),
  list(case = "rake_oneway", method = "rake", formula = f1, margins = m1, pop = pop1,
       fit = function() rake(des, list(~stype, ~sch_wide, ~awards), rake_tables,
                             control = list(maxit = MAXIT, epsilon = EPS))),
  list(case = "raking_twoway", method = "raking", formula = f2, margins = m2, pop = pop2,
       fit = function() calibrate(des, f2, pop2, calfun = "raking",
                                  maxit = MAXIT, epsilon = EPS)),
  list(case = "linear_twoway", method = "linear", formula = f2, margins = m2, pop = pop2,
       fit = function() calibrate(des, f2, pop2, calfun = "linear")),
  # Extra (not in the original brief): bounded ("truncated") linear with the
  # same bounds; here g-weights sit exactly at L and U.
  list(case = "linear_bounded_oneway", method = "linear", formula = f1, margins = m1,
       pop = pop1, bounds = BOUNDS,
       fit = function() calibrate(des, f1, pop1, calfun = "linear", bounds = BOUNDS,
                                  maxit = MAXIT, epsilon = EPS))
)

fmt_formula <- function(f) gsub("\\s+", " ", paste(deparse(f), collapse = ""))

manifest <- character()
for (cs in cases) {
  fit <- withCallingHandlers(cs$fit(), warning = function(w)
    stop("case ", cs$case, " warned: ", conditionMessage(w)))
  w <- weights(fit)
  stopifnot(length(w) == nrow(samp), all(is.finite(w)), all(w > 0))
  g <- w / d

  # Max |weighted total - target| over every cell of every margin file used,
  # with R's own weighted tables (svytable on the calibrated design).
  dev <- 0
  for (name in cs$margins) {
    vars <- margin_defs[[name]]
    m <- read_margin(name)
    tab <- svytable(as.formula(paste("~", paste(vars, collapse = "+"))), fit)
    est <- if (length(vars) == 1) tab[m[[vars]]] else tab[cbind(m[[vars[1]]], m[[vars[2]]])]
    stopifnot(!anyNA(est))
    dev <- max(dev, abs(as.numeric(est) - m$count))
  }
  # Same in the model-matrix parameterisation (what calibrate() targets).
  mm <- model.matrix(cs$formula, model.frame(cs$formula, dat))
  dev_mm <- max(abs(colSums(mm * w) - cs$pop))
  stopifnot(dev < 1e-6, dev_mm < 1e-6)

  n_low <- n_high <- ""
  blo <- bhi <- ""
  if (!is.null(cs$bounds)) {
    blo <- as.character(cs$bounds[1]); bhi <- as.character(cs$bounds[2])
    stopifnot(all(g >= cs$bounds[1] - 1e-12), all(g <= cs$bounds[2] + 1e-12))
    n_low <- sum(g - cs$bounds[1] < 1e-3)
    n_high <- sum(cs$bounds[2] - g < 1e-3)
    # bounds are active: the unbounded linear solution violates both of them
    stopifnot(n_low > 0, n_high > 0,
              min(g_unbounded) < cs$bounds[1], max(g_unbounded) > cs$bounds[2])
  }

  if (cs$case == "linear_oneway") g_unbounded <- g

  wfile <- paste0(cs$case, ".csv")
  write_lines_csv(c("id", "weight"), paste(samp$id, full(w), sep = ","), wfile)
  manifest <- c(manifest, paste(
    cs$case, cs$method, fmt_formula(cs$formula),
    paste0(cs$margins, ".csv", collapse = ";"),
    blo, bhi, wfile, sprintf("%.3e", dev), sprintf("%.3e", dev_mm),
    sprintf("%.17g", min(g)), sprintf("%.17g", max(g)),
    n_low, n_high, sep = ","))
}
write_lines_csv(c("case", "method", "formula", "margins", "bounds_low", "bounds_high",
                  "weights_file", "max_abs_deviation", "max_abs_deviation_model_matrix",
                  "g_min", "g_max", "n_within_1e-3_of_low", "n_within_1e-3_of_high"),
                manifest, "cases.csv")

cat(sprintf("R %s, survey %s: wrote %d cases to %s\n",
            paste(R.version$major, R.version$minor, sep = "."),
            as.character(packageVersion("survey")), length(cases), out_dir))
