# One fit for bench/minibatch.R in a fresh R process, with whichever rlpsy
# R_LIBS selects (the previous release for the "old-*" modes).
#
#   Rscript bench/minibatch_child.R <problem.rds> <result.rds> <mode>
#
# mode "old-full": the previous release's rlpsy_fit() at its default control
# (threads = 2); "old-minibatch": the previous release's mini-batch phase
# (control minibatch = 0.1, minibatch_epochs = 3, seed = 1, threads = 2)
# followed by its full-batch EM, run through its internals so that the two
# phases are timed apart; "new-full": this release's rlpsy_fit() at its
# default control (threads = 2). Saves the EM trace (objective and seconds
# per iteration), the phase times and the final objective.
args <- commandArgs(TRUE)
suppressPackageStartupMessages(library(rlpsy))
mode <- args[3]
prob <- readRDS(args[1])
d <- prob$data
av <- if (all(prob$available)) NULL else prob$available
enc <- rlpsy_data(d, "participant", "state", "action", "next_state",
                  done = "done", reward = "reward", available = av)
rm(prob, d)
invisible(gc())
res <- list(mode = mode, lib = dirname(find.package("rlpsy")),
            version = as.character(utils::packageVersion("rlpsy")))
if (mode %in% c("old-full", "new-full")) {
  t <- system.time(fit <- suppressWarnings(
    rlpsy_fit(enc, gamma = 0.9, control = rlpsy_control(threads = 2L))))[["elapsed"]]
  res$fit_s <- t
  res$minibatch_s <- 0
  res$trace <- data.frame(total = fit$trace$total, time = fit$trace$time)
  res$final <- fit$objective[["total"]]
  res$iterations <- fit$iterations
  res$converged <- fit$converged
  res$evaluations <- sum(fit$trace$mstep_evals)
} else if (mode == "old-minibatch") {
  ctrl <- rlpsy:::as_control(rlpsy_control(threads = 2L, minibatch = 0.1,
                                           minibatch_epochs = 3, seed = 1))
  t0 <- proc.time()[["elapsed"]]
  settings <- rlpsy:::core_settings(ctrl, 0.9, 1, learned = FALSE)
  st0 <- rlpsy:::initial_state(enc, ctrl)
  core <- rlpsy:::core_new(enc, settings)
  st1 <- rlpsy:::run_minibatch(core, enc, st0, ctrl)
  t1 <- proc.time()[["elapsed"]]
  # the objective at the end of the mini-batch phase (not timed): E-step
  # and prior update as the first EM iteration would do, then J
  e <- rlpsy:::core_estep(core, st1$theta, st1$z, st1$prior[["mu"]], st1$prior[["sigma"]],
                          2L, ctrl$estep_iter, ctrl$estep_tol)
  p <- rlpsy:::update_prior(e$z, e$se)
  res$after_minibatch <- rlpsy:::core_objective(core, st1$theta, st1$w, e$z, p[["mu"]],
                                                p[["sigma"]], 2L, FALSE)$value
  t2 <- proc.time()[["elapsed"]]
  run <- rlpsy:::run_em(core, enc, st1, ctrl)
  t3 <- proc.time()[["elapsed"]]
  res$minibatch_s <- t1 - t0
  res$fit_s <- (t1 - t0) + (t3 - t2)
  res$trace <- data.frame(total = run$trace$total, time = run$trace$time)
  res$final <- utils::tail(run$trace$total, 1)
  res$iterations <- run$iterations
  res$converged <- run$converged
  res$evaluations <- sum(run$trace$mstep_evals)
} else {
  stop("unknown mode ", mode)
}
saveRDS(res, args[2])
cat(sprintf("%s: %.2f s (mini-batch phase %.2f s), %d EM iterations, final J %.10g\n",
            mode, res$fit_s, res$minibatch_s, res$iterations, res$final))
