# One full fit in a fresh R process, for bench/scaling.R (which runs it under
# /usr/bin/time -v to get the peak resident memory of the whole process).
#
#   Rscript bench/fit_child.R <problem.rds> <result.rds> [threads]
#
# Reads a problem written by bench_problem() (an integer-coded data frame and
# `available`), encodes it with rlpsy_data() and fits it with rlpsy_fit()
# (gamma = 0.9, observed reward, default control with `threads`), then saves
# timings, iterations, sizes and /proc/self/status memory readings.
args <- commandArgs(TRUE)
suppressPackageStartupMessages(library(rlpsy))
mem <- function() {
  st <- readLines("/proc/self/status")
  get <- function(k) as.numeric(gsub("[^0-9]", "", grep(paste0("^", k, ":"), st, value = TRUE))) / 1024
  c(peak_mb = get("VmHWM"), rss_mb = get("VmRSS"))
}
threads <- if (length(args) >= 3) as.integer(args[3]) else 2L
invisible(gc())
m0 <- mem()                       # R + rlpsy loaded, no data yet
prob <- readRDS(args[1])
d <- prob$data
raw_bytes <- as.numeric(utils::object.size(d))
av <- if (all(prob$available)) NULL else prob$available
beta_true <- prob$beta
rm(prob)
invisible(gc())
m1 <- mem()                       # with the raw data
t_enc <- system.time(enc <- rlpsy_data(d, "participant", "state", "action",
                                        "next_state", done = "done",
                                        reward = "reward", available = av))[["elapsed"]]
ctrl <- rlpsy_control(threads = threads)
warn <- character()
t_fit <- system.time(fit <- withCallingHandlers(
  rlpsy_fit(enc, gamma = 0.9, control = ctrl),
  warning = function(w) {
    warn <<- c(warn, conditionMessage(w))
    invokeRestart("muffleWarning")
  }))[["elapsed"]]
m2 <- mem()
info <- rlpsy:::core_info(fit$core)
tr <- fit$trace
res <- list(
  decisions = nrow(d), participants = enc$n_participants,
  states = enc$n_states, actions = enc$n_actions,
  units = info$n_units, cells = info$n_cells, tuples = info$n_tuples,
  raw_bytes = raw_bytes, enc_bytes = as.numeric(utils::object.size(enc)),
  encode_s = t_enc, fit_s = t_fit, iterations = fit$iterations,
  converged = fit$converged, mstep_iter_total = sum(tr$mstep_iter),
  mstep_evals_total = sum(tr$mstep_evals),
  unit = fit$settings$unit, lambda_bell = fit$settings$lambda_bell,
  task_consistency = fit$diagnostics$task_consistency,
  objective = fit$objective[["total"]], warnings = paste(warn, collapse = " | "),
  rss_base_mb = m0[["rss_mb"]], rss_data_mb = m1[["rss_mb"]],
  peak_mb = m2[["peak_mb"]], threads = threads,
  beta_cor = if (length(beta_true) == length(fit$beta))
    stats::cor(log(fit$beta), log(beta_true)) else NA_real_
)
saveRDS(res, args[2])
cat(sprintf("fit: %d decisions, %.2f s, %d iterations, %d evaluations, converged %s, peak %.0f MB\n",
            res$decisions, t_fit, fit$iterations, res$mstep_evals_total,
            fit$converged, res$peak_mb))
