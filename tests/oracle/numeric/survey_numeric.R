#!/usr/bin/env Rscript
# Golden fixtures for calibration with a numeric auxiliary (a population total of income),
# from R's `survey` package (Lumley): `calibrate(design, ~age_group + sex + income_usd, …)`.
#
# Usage (from the repository root): Rscript tests/oracle/numeric/survey_numeric.R OUT_DIR
#        (committed output lives in tests/oracle/numeric/; see tests/oracle/README.md)
#
# Inputs: tests/oracle/numeric/persons.csv (the 2,000 ACS 2012 persons: the population) and
# marginals/acs2012/seed.csv (the 204 seed persons and their design weights, 10 each).
# Deterministic (no RNG): rerunning it gives byte-identical files.

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 1) stop("usage: Rscript survey_numeric.R OUT_DIR")
out_dir <- args[[1]]
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

suppressPackageStartupMessages(library(survey))

LEVELS <- list(age_group = c("0-17", "18-29", "30-44", "45-64", "65+"), sex = c("female", "male"))

pop <- read.csv("tests/oracle/numeric/persons.csv", stringsAsFactors = FALSE)
ids <- read.csv("marginals/acs2012/seed.csv", stringsAsFactors = FALSE)[, c("person_id", "weight")]
stopifnot(nrow(pop) == 2000, !anyDuplicated(pop$person_id), all(ids$person_id %in% pop$person_id))
# income is not asked of persons under 15 (NA): they have none
pop$income_usd[is.na(pop$income_usd)] <- 0
seed <- pop[match(ids$person_id, pop$person_id), c("person_id", "age_group", "sex", "income_usd")]
seed$weight <- as.numeric(ids$weight)
for (v in names(LEVELS)) {
  stopifnot(all(pop[[v]] %in% LEVELS[[v]]))
  pop[[v]] <- factor(pop[[v]], levels = LEVELS[[v]])
  seed[[v]] <- factor(seed[[v]], levels = LEVELS[[v]])
}

write_lines_csv <- function(header, rows, file) {
  con <- file(file.path(out_dir, file), open = "wb")
  on.exit(close(con))
  writeLines(c(paste(header, collapse = ","), rows), con, sep = "\n")
}
full <- function(x) sprintf("%.17g", x)

write_lines_csv(c("person_id", "weight", "age_group", "sex", "income_usd"),
                paste(seed$person_id, full(seed$weight), seed$age_group, seed$sex,
                      full(seed$income_usd), sep = ","), "seed.csv")
for (v in names(LEVELS)) {
  counts <- as.vector(table(pop[[v]]))
  write_lines_csv(c(v, "count"), paste(LEVELS[[v]], counts, sep = ","), paste0(v, ".csv"))
}
# totals.csv: each numeric total, the category it is within (empty: every person)
income <- sum(pop$income_usd)
by_sex <- tapply(pop$income_usd, pop$sex, sum)
write_lines_csv(c("total", "column", "within_attribute", "within_category", "value"),
                c(paste("income", "income_usd", "", "", full(income), sep = ","),
                  paste("income_female", "income_usd", "sex", "female", full(by_sex[["female"]]), sep = ","),
                  paste("income_male", "income_usd", "sex", "male", full(by_sex[["male"]]), sep = ",")),
                "totals.csv")

des <- svydesign(id = ~1, weights = ~weight, data = seed)
d <- weights(des)
stopifnot(all(d == seed$weight))
f1 <- ~age_group + sex + income_usd
f2 <- ~age_group + sex + sex:income_usd
pop1 <- colSums(model.matrix(f1, pop))
pop2 <- colSums(model.matrix(f2, pop))
stopifnot(pop1[["income_usd"]] == income,
          pop2[["sexfemale:income_usd"]] == by_sex[["female"]],
          pop2[["sexmale:income_usd"]] == by_sex[["male"]])

EPS <- 1e-13
MAXIT <- 1000
# Unbounded, linear g spans [0.592, 1.569] and raking g [0.628, 1.707]: the bounds cut into
# both ends of the linear range, so they are active.
BOUNDS <- c(0.6, 1.5)

cases <- list(
  list(case = "linear_income", method = "linear", formula = f1, pop = pop1, totals = "income",
       fit = function() calibrate(des, f1, pop1, calfun = "linear")),
  list(case = "raking_income", method = "raking", formula = f1, pop = pop1, totals = "income",
       fit = function() calibrate(des, f1, pop1, calfun = "raking", maxit = MAXIT, epsilon = EPS)),
  list(case = "logit_income", method = "logit", formula = f1, pop = pop1, totals = "income",
       bounds = BOUNDS,
       fit = function() calibrate(des, f1, pop1, calfun = "logit", bounds = BOUNDS,
                                  maxit = MAXIT, epsilon = EPS)),
  list(case = "linear_income_by_sex", method = "linear", formula = f2, pop = pop2,
       totals = "income_female;income_male",
       fit = function() calibrate(des, f2, pop2, calfun = "linear"))
)

fmt_formula <- function(f) gsub("\\s+", " ", paste(deparse(f), collapse = ""))
g_linear <- NULL
manifest <- character()
for (cs in cases) {
  fit <- withCallingHandlers(cs$fit(), warning = function(w)
    stop("case ", cs$case, " warned: ", conditionMessage(w)))
  w <- weights(fit)
  stopifnot(length(w) == nrow(seed), all(is.finite(w)))
  g <- w / d
  mm <- model.matrix(cs$formula, model.frame(cs$formula, seed))
  dev <- max(abs(colSums(mm * w) - cs$pop))
  stopifnot(dev < 1e-6)
  blo <- bhi <- ""
  if (!is.null(cs$bounds)) {
    blo <- as.character(cs$bounds[1]); bhi <- as.character(cs$bounds[2])
    stopifnot(all(g > cs$bounds[1]), all(g < cs$bounds[2]),
              min(g_linear) < cs$bounds[1], max(g_linear) > cs$bounds[2])
  }
  if (cs$case == "linear_income") g_linear <- g
  wfile <- paste0(cs$case, ".csv")
  write_lines_csv(c("person_id", "weight"), paste(seed$person_id, full(w), sep = ","), wfile)
  manifest <- c(manifest, paste(cs$case, cs$method, fmt_formula(cs$formula), cs$totals, blo, bhi,
                                wfile, sprintf("%.3e", dev), full(min(g)), full(max(g)), sep = ","))
}
write_lines_csv(c("case", "method", "formula", "totals", "bounds_low", "bounds_high", "weights_file",
                  "max_abs_deviation_model_matrix", "g_min", "g_max"), manifest, "cases.csv")

cat(sprintf("R %s, survey %s: wrote %d cases to %s\n",
            paste(R.version$major, R.version$minor, sep = "."),
            as.character(packageVersion("survey")), length(cases), out_dir))
