# Oracle for populace's effect estimates (src/evaluation/effects.rs): R's lm and glm on the
# ANES 1996 respondents shipped in marginals/anes1996/.
#   Rscript tests/oracle/effects.R [OUT_DIR]   (default tests/oracle/effects)
# Writes one CSV per model: term (populace's "attribute=level" label), estimate, se.
# Reference levels are each attribute's most common level, as in populace.
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[1] else "tests/oracle/effects"
d <- read.csv("marginals/anes1996/anes1996.csv", stringsAsFactors = FALSE, check.names = FALSE)
profile <- c("age_group", "education", "income_band")
for (a in profile) {
  counts <- table(d[[a]])
  ref <- names(counts)[which.max(counts)]  # ties: first in sort order, as populace's file order may differ
  d[[a]] <- relevel(factor(d[[a]]), ref = ref)
}
label <- function(fit) {
  cf <- summary(fit)$coefficients
  cf <- cf[rownames(cf) != "(Intercept)", , drop = FALSE]
  terms <- rownames(cf)
  for (a in profile) terms <- sub(paste0("^", a), paste0(a, "="), terms)
  data.frame(term = terms, estimate = sprintf("%.12g", cf[, 1]), se = sprintf("%.12g", cf[, 2]))
}
f <- y ~ age_group + education + income_band
# Ordinal item: least squares on the scale position 0..K-1 (options sorted as strings).
levels_pid <- sort(unique(d$party_id_7))
d$y <- match(d$party_id_7, levels_pid) - 1
write.csv(label(lm(f, data = d)), file.path(out, "party_id_7_ols.csv"), row.names = FALSE, quote = TRUE)
# Nominal item: Dole against the reference answer Clinton (the most common), logistic.
d$y <- as.numeric(d$vote_intention == "Dole")
write.csv(label(glm(f, data = d, family = binomial)), file.path(out, "vote_intention_logit.csv"),
          row.names = FALSE, quote = TRUE)
