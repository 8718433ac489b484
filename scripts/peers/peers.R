# Runs one R peer on one case of scripts/bench-peers and prints one JSON line (see peers.py).
#   Rscript peers.R TOOL CASE_DIR OUT_FILE
# TOOL: loglin (stats::loglin, dense IPF), rake (survey::rake), calibrate (survey::calibrate,
# bounded logit). The answer is written as raw little-endian doubles to OUT_FILE.
# Stopping rules are pinned: loglin eps = the case's absolute tolerance; survey maxit = 1000,
# epsilon = 1e-13 (the defaults, maxit = 10 and epsilon = 1, stop early).

args <- commandArgs(trailingOnly = TRUE)
tool <- args[[1]]; case <- args[[2]]; out <- args[[3]]
suppressPackageStartupMessages(library(survey))

json_value <- function(x) if (is.null(x) || is.na(x)) "null" else format(x, digits = 17)

finish <- function(answer, seconds, sweeps, converged, extra = "") {
  writeBin(as.double(answer), out, endian = "little")
  conv <- if (is.na(converged)) "null" else tolower(as.character(converged))
  cat(sprintf('{"fit_seconds": %s, "sweeps": %s, "converged": %s%s}\n',
              json_value(seconds), json_value(sweeps), conv, extra))
}

# the margins of case.json, read by a tiny parser (no JSON package needed)
case_json <- paste(readLines(file.path(case, "case.json"), warn = FALSE), collapse = "")
json_field <- function(name) sub(sprintf('.*"%s": ([^,}]*(\\[[^]]*\\])?[^,}]*).*', name), "\\1", case_json)

if (tool == "loglin") {
  sizes <- as.integer(strsplit(gsub("[^0-9,]", "", sub('.*"sizes": \\[([^]]*)\\].*', "\\1", case_json)), ",")[[1]])
  margins_txt <- sub('.*"margins": \\[(.*?\\])\\].*', "\\1", case_json)
  margins <- lapply(regmatches(margins_txt, gregexpr("\\[[0-9, ]*\\]", margins_txt))[[1]],
                    function(m) as.integer(strsplit(gsub("[^0-9,]", "", m), ",")[[1]]))
  n <- length(sizes)
  eps <- as.numeric(json_field("tolerance_abs"))
  # R arrays are column-major: our dimension d (row-major, last fastest) is R's n - d
  rdims <- rev(sizes)
  # loglin takes the margins from a table: the truth whose sums the targets are
  truth <- array(readBin(file.path(case, "truth.bin"), "double", prod(sizes), endian = "little"), dim = rdims)
  start <- if (file.exists(file.path(case, "seed.bin"))) {
    array(readBin(file.path(case, "seed.bin"), "double", prod(sizes), endian = "little"), dim = rdims)
  } else {
    array(1, dim = rdims)
  }
  rmargins <- lapply(margins, function(m) n - m)
  t0 <- Sys.time()
  log <- capture.output(fit <- loglin(truth, rmargins, start = start, fit = TRUE, eps = eps,
                                      iter = 10000, print = TRUE))
  seconds <- as.numeric(Sys.time() - t0, units = "secs")
  sweeps <- as.integer(sub("^([0-9]+) iterations.*", "\\1", log[length(log)]))
  finish(as.vector(fit$fit), seconds, sweeps, sweeps < 10000)
} else {
  df <- read.csv(file.path(case, "seed.csv"), colClasses = c("integer", "integer", "integer", "integer", "numeric"))
  levels <- c(6L, 2L, 5L, 9L)
  vars <- c("a", "b", "c", "d")
  for (k in 1:4) df[[vars[k]]] <- factor(df[[vars[k]]], levels = 0:(levels[k] - 1))
  targets <- lapply(0:3, function(m) read.csv(file.path(case, sprintf("m%d.csv", m)))$count)
  t0 <- Sys.time()
  des <- svydesign(ids = ~1, weights = ~weight, data = df)
  design_seconds <- as.numeric(Sys.time() - t0, units = "secs")
  extra <- sprintf(', "design_seconds": %s', json_value(design_seconds))
  if (tool == "rake") {
    tables <- lapply(1:4, function(k) {
      t <- data.frame(factor(0:(levels[k] - 1), levels = 0:(levels[k] - 1)), targets[[k]])
      names(t) <- c(vars[k], "Freq")
      t
    })
    t0 <- Sys.time()
    fit <- rake(des, list(~a, ~b, ~c, ~d), tables, control = list(maxit = 1000, epsilon = 1e-13, verbose = FALSE))
    seconds <- as.numeric(Sys.time() - t0, units = "secs")
    finish(weights(fit), seconds, NA, NA, extra)
  } else if (tool == "calibrate") {
    bounds <- as.numeric(strsplit(gsub("[^0-9.,]", "", sub('.*"bounds": \\[([^]]*)\\].*', "\\1", case_json)), ",")[[1]])
    pop <- c(sum(targets[[1]]), unlist(lapply(1:4, function(k) targets[[k]][-1])))
    t0 <- Sys.time()
    fit <- calibrate(des, ~a + b + c + d, pop, calfun = "logit", bounds = bounds, maxit = 1000, epsilon = 1e-13)
    seconds <- as.numeric(Sys.time() - t0, units = "secs")
    finish(weights(fit), seconds, NA, NA, extra)
  } else {
    stop("unknown tool ", tool)
  }
}
