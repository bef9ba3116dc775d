# The fits of bench/measurement.R in a fresh R process, with whichever rlpsy
# R_LIBS selects: the previous release ("old") or this one ("new").
#
#   Rscript bench/measurement_child.R <dir> <old|new>
#
# Reads the problems <dir>/problem-*.rds written by bench/measurement.R
# (list(name, data, gamma, tau, available, beta, criterion, split_half)),
# fits each with rlpsy_fit() at the release's default control (threads = 2)
# and, for "new", also with q = "task" and (for problems marked
# `variants`) normalise = "global"; for problems marked `split_half`, refits
# the odd and even halves of each participant's decisions (in logged
# order) with the same settings. Saves <dir>/fits-<old|new>.rds: one entry
# per fit with the estimates the parent needs (z, se, advantage, number of
# decisions per participant, time, convergence, iterations, the new fit's
# diagnostics, cor_validity() and the halves' z).
args <- commandArgs(TRUE)
dir <- args[1]
which <- args[2]
suppressPackageStartupMessages(library(rlpsy))
is_new <- "q" %in% names(formals(rlpsy_fit))
stopifnot(is_new == (which == "new"))

fit_with <- function(p, data, extra = list()) {
  a <- c(list(data = data, participant = "participant", state = "state",
              action = "action", next_state = "next_state", done = "done",
              reward = "reward", available = p$available, gamma = p$gamma,
              tau = p$tau, control = rlpsy_control(threads = 2L)), extra)
  warn <- character()
  t <- system.time(fit <- withCallingHandlers(do.call(rlpsy_fit, a),
    warning = function(w) {
      warn <<- c(warn, conditionMessage(w))
      invokeRestart("muffleWarning")
    }))[["elapsed"]]
  list(fit = fit, time = t, warnings = warn)
}

summarise <- function(p, variant, f, halves = NULL) {
  fit <- f$fit
  n_j <- table(factor(p$data$participant, levels = names(fit$z)))
  out <- list(problem = p$name, release = which, variant = variant,
              z = fit$z, se = fit$se, advantage = unclass(fit$advantage),
              n_decisions = as.vector(n_j), time = f$time,
              converged = fit$converged, iterations = fit$iterations,
              evaluations = sum(fit$trace$mstep_evals), warnings = f$warnings,
              settings = if (is_new) fit$settings else NULL,
              task_consistency = if (is_new) fit$diagnostics$task_consistency else NA_real_,
              available = if (is_new) fit$data$available else NULL)
  if (!is.null(p$criterion)) {
    crit <- p$criterion[names(p$criterion) %in% names(fit$z)]
    v <- as.data.frame(cor_validity(fit, crit, method = "pearson", scale = "log"))
    out$validity <- v
  }
  if (!is.null(halves)) out$halves <- halves
  out
}

# odd/even halves by position within participant, in logged order; refit
# each with the same settings (the previous release has no
# rlpsy_reliability(), so both releases do it this way here; the new
# release's rlpsy_reliability() is run too and recorded)
split_refit <- function(p, extra) {
  pos <- stats::ave(seq_along(p$data$participant), p$data$participant, FUN = seq_along)
  n <- table(p$data$participant)
  keep <- p$data$participant %in% names(n)[n >= 2]
  t0 <- proc.time()[["elapsed"]]
  z1 <- fit_with(p, p$data[keep & pos %% 2 == 1, ], extra)$fit$z
  z2 <- fit_with(p, p$data[keep & pos %% 2 == 0, ], extra)$fit$z
  ids <- intersect(names(z1), names(z2))
  list(z1 = z1[ids], z2 = z2[ids], time = proc.time()[["elapsed"]] - t0)
}

files <- sort(list.files(dir, "^problem-.*[.]rds$", full.names = TRUE))
res <- list()
for (file in files) {
  p <- readRDS(file)
  variants <- list(default = list())
  if (is_new) {
    variants$q_task <- list(q = "task")
    if (isTRUE(p$variants)) variants$global <- list(normalise = "global")
  }
  for (v in names(variants)) {
    message(sprintf("measurement (%s): %s, %s", which, p$name, v))
    f <- fit_with(p, p$data, variants[[v]])
    halves <- if (isTRUE(p$split_half)) split_refit(p, variants[[v]])
    s <- summarise(p, v, f, halves)
    if (isTRUE(p$split_half) && is_new) {
      t0 <- proc.time()[["elapsed"]]
      r <- suppressWarnings(rlpsy_reliability(f$fit, "split-half", "odd-even"))
      s$reliability_fn <- list(value = r$reliability[1], lower = r$lower[1],
                               upper = r$upper[1], time = proc.time()[["elapsed"]] - t0)
    }
    res[[length(res) + 1L]] <- s
  }
}
saveRDS(res, file.path(dir, paste0("fits-", which, ".rds")))
