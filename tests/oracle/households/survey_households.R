# Integrated household weighting (Lemaitre & Dufour 1987) by R `survey`: one weight per
# household meeting household totals (households by size) and person totals (persons by
# occupation, counted per household) at once, each PUMA calibrated on its own by raking.
#
#   Rscript tests/oracle/households/survey_households.R tests/oracle/households
#
# Reads households.csv and persons.csv (PopulationSim's example_test seed, 60 households in six
# PUMAs, tests/fixtures/README.md), writes controls.csv (the population totals: each PUMA's
# totals under the design weights times a factor per household drawn from [0.7, 1.3] with a
# fixed random seed, so they differ from the seed's and positive weights meet them)
# and weights.csv (hh_id, PUMA, weight: R's calibrated weights, 17 significant digits).
# tests/households_oracle.rs fits the same households with populace (mode = "survey_weighting",
# every control hard, no bounds) and compares.

suppressPackageStartupMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args) > 0) args[1] else "."

hh <- read.csv(file.path(dir, "households.csv"))
pp <- read.csv(file.path(dir, "persons.csv"))
household <- factor(pp$hh_id, levels = hh$hh_id)
for (k in 1:3) {
  hh[[paste0("occ", k)]] <- as.vector(tapply(pp$OCCP == k, household, sum))
}
hh$s1 <- as.numeric(hh$NP == 1)
hh$s2 <- as.numeric(hh$NP == 2)
hh$s3 <- as.numeric(hh$NP == 3)
hh$s4 <- as.numeric(hh$NP >= 4)

vars <- c("s1", "s2", "s3", "s4", "occ1", "occ2", "occ3")
set.seed(20)
hh$tilt <- runif(nrow(hh), 0.7, 1.3)
controls <- NULL
weights <- NULL
for (p in sort(unique(hh$PUMA))) {
  d <- hh[hh$PUMA == p, ]
  design <- svydesign(ids = ~1, weights = ~WGTP, data = d)
  totals <- colSums(d[vars] * d$WGTP * d$tilt)
  present <- totals > 0
  formula <- as.formula(paste("~", paste(vars[present], collapse = " + "), "- 1"))
  cal <- calibrate(design, formula, population = totals[present], calfun = "raking",
                   epsilon = 1e-14, maxit = 1000)
  row <- data.frame(PUMA = p, HH = sum(totals[c("s1", "s2", "s3", "s4")]))
  for (v in vars) row[[toupper(v)]] <- totals[[v]]
  controls <- rbind(controls, row)
  weights <- rbind(weights, data.frame(hh_id = d$hh_id, PUMA = p, weight = weights(cal)))
}
options(digits = 17)
write.csv(format(controls, digits = 17), file.path(dir, "controls.csv"), row.names = FALSE, quote = FALSE)
write.csv(format(weights, digits = 17), file.path(dir, "weights.csv"), row.names = FALSE, quote = FALSE)
cat("R", R.version$major, ".", R.version$minor, " survey ", format(packageVersion("survey")), "\n", sep = "")
