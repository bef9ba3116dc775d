# rlpsy against the plain generalised EM in plain R and in PyTorch, on the
# same data, same model, same starting values and the same tolerance.
#
#   Rscript bench/peers.R [--quick]
#
# Problem (full mode): the sparse problem of the performance issue,
# bench_sparse() in common.R: 11,939 decisions of 100 participants on a
# random 500-state, 5-action MDP (observed reward, gamma = 0.9), control
# lambda_bell = 1, lambda_cql = 0.1; quick mode: 10^4 decisions on a
# 50-state task with the same control, at most 5 EM iterations.
# RLPSY_BENCH_PEERS_PROBLEM (a label of bench_sizes(), e.g. 1e5) picks
# another problem. R encodes the decisions once, sets the fit up as
# rlpsy_fit() does (bench_core(): choice sets, the task's values, the
# effective penalty weights the core uses) and writes the decisions (0-based
# codes), the choice-set matrix, the settings, rlpsy's starting Q and a
# common check point as CSV files into an exchange directory; every method,
# rlpsy included, reads the data back from those files, so all see the same
# numbers. Before timing, each peer's objective, gradient and one E-step at
# the check point are compared with rlpsy's (core_objective, core_estep).
# Then each method fits once (rlpsy: median of 3 fits) and all final states
# are evaluated with rlpsy's objective too.
#
# rlpsy fits with its profiled M-step (L-BFGS on Q with the exact E-step
# inside every evaluation); the peers run the plain GEM (E-step, prior
# update, L-BFGS M-step with beta fixed), the baseline of the issue. Peers:
# bench/peer_plain_r.R (sourced, run in this process) and
# bench/peer_torch.py (run with RLPSY_BENCH_PYTHON, default /usr/bin/python3,
# Debian's python3-torch, 2 threads); skipped with a note if torch cannot be
# imported. Each peer gives up after RLPSY_BENCH_PEER_TIME seconds (default
# 600). Writes results/peers.{csv,md}.
source(local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  file.path(if (length(f)) dirname(f[1]) else "bench", "common.R")
}))
source(file.path(BENCH_DIR, "peer_plain_r.R"))

quick <- is_quick()
label <- Sys.getenv("RLPSY_BENCH_PEERS_PROBLEM", if (quick) "1e4s" else "sparse")
threads <- 2L
python <- Sys.getenv("RLPSY_BENCH_PYTHON", "/usr/bin/python3")
peer_time <- as.numeric(Sys.getenv("RLPSY_BENCH_PEER_TIME", "600"))
# the issue's control for the sparse problem; quick mode (a smoke test)
# caps every method at 5 EM iterations
ctrl <- rlpsy_control(lambda_bell = 1, lambda_cql = 0.1, threads = threads,
                      max_iter = if (quick) 5L else 500L)
gamma <- 0.9

dir <- tempfile("rlpsy-peers-")
dir.create(dir)
on.exit(unlink(dir, recursive = TRUE), add = TRUE)

# --- exchange files -------------------------------------------------------------
prob <- if (label == "sparse") bench_sparse() else bench_problem(label)
enc0 <- bench_encode(prob)
S <- enc0$n_states
K <- enc0$n_actions
out <- data.frame(participant = enc0$participant, state = enc0$state,
                  action = enc0$action, next_state = enc0$next_state,
                  done = as.integer(enc0$done), reward = enc0$reward)
utils::write.csv(out, file.path(dir, "decisions.csv"), row.names = FALSE)
back <- utils::read.csv(file.path(dir, "decisions.csv"))
for (v in c("state", "action", "next_state")) back[[v]] <- as.character(back[[v]])
back$participant <- sprintf("p%07d", back$participant)  # labels sort as the codes
back$done <- back$done == 1L
av0 <- unname(enc0$available)
dimnames(av0) <- list(as.character(seq_len(S) - 1L), as.character(seq_len(K) - 1L))
enc <- rlpsy_data(back, "participant", "state", "action", "next_state",
                  done = "done", reward = "reward", available = av0)
stopifnot(identical(enc$state, enc0$state), identical(enc$action, enc0$action),
          identical(enc$next_state, enc0$next_state))
prep <- bench_core(enc, ctrl, gamma)
settings <- prep$settings
av <- prep$enc$available  # the fit's choice sets
utils::write.table(av * 1L, file.path(dir, "available.csv"), sep = ",",
                   row.names = FALSE, col.names = FALSE)
fmt17 <- function(x) formatC(x, digits = 17, format = "g")
write_mat <- function(M, file) {
  writeLines(apply(matrix(fmt17(M), nrow(M)), 1, paste, collapse = ","), file.path(dir, file))
}
write_mat(prep$state$theta, "start_Q.csv")

# the common check point: perturbed starting Q, spread-out z, a fixed prior
set.seed(42)
Qc <- prep$state$theta + matrix(rnorm(length(av), 0, 0.3), nrow(av)) * av
zc <- rnorm(enc$n_participants, 0.5, 0.4)
write_mat(Qc, "check_Q.csv")
writeLines(c("z", fmt17(zc)), file.path(dir, "check_z.csv"))
Qc <- unname(as.matrix(utils::read.csv(file.path(dir, "check_Q.csv"), header = FALSE)))
zc <- utils::read.csv(file.path(dir, "check_z.csv"))$z
check_mu <- 0.3
check_sigma <- 0.8
set_tab <- c(J = enc$n_participants, S = enc$n_states, K = enc$n_actions,
             learned = 0, gamma = gamma, tau = 1, eps = ctrl$eps,
             lambda_bell = settings$lambda_bell, lambda_cql = settings$lambda_cql,
             lambda_r = settings$lambda_r, max_iter = ctrl$max_iter, tol = ctrl$tol,
             tol_z = ctrl$tol_z, mstep_iter = ctrl$mstep_iter,
             estep_iter = ctrl$estep_iter, estep_tol = ctrl$estep_tol,
             check_mu = check_mu, check_sigma = check_sigma, max_time = peer_time)
writeLines(c("name,value", paste(names(set_tab), fmt17(set_tab), sep = ",")),
           file.path(dir, "settings.csv"))

# --- rlpsy at the check point ------------------------------------------------------
core <- prep$core
ref <- rlpsy:::core_objective(core, Qc, NULL, zc, check_mu, check_sigma, threads, TRUE)
ref_e <- rlpsy:::core_estep(core, Qc, zc, check_mu, check_sigma, threads,
                            ctrl$estep_iter, ctrl$estep_tol)$z
compare_check <- function(prefix) {
  chk <- utils::read.csv(file.path(dir, paste0(prefix, "_check.csv")))
  tot <- chk$value[chk$name == "total"]
  g <- unname(as.matrix(utils::read.csv(file.path(dir, paste0(prefix, "_check_grad.csv")),
                                        header = FALSE)))
  ze <- utils::read.csv(file.path(dir, paste0(prefix, "_check_estep.csv")))$z
  c(check_rel_objective = abs(tot - ref$value) / abs(ref$value),
    check_rel_gradient = max(abs(g - ref$grad_theta)) / max(abs(ref$grad_theta)),
    check_max_estep_dz = max(abs(ze - ref_e)))
}

# --- checks before any timing ----------------------------------------------------
has_torch <- file.exists(python) &&
  identical(suppressWarnings(system2(python, c("-c", shQuote("import torch")),
                                     stdout = FALSE, stderr = FALSE)), 0L)
check_ok <- function(chk, who) {
  message(sprintf("peers: %s at the check point: objective %.2e, gradient %.2e (relative), E-step max |dz| %.2e",
                  who, chk[["check_rel_objective"]], chk[["check_rel_gradient"]],
                  chk[["check_max_estep_dz"]]))
  if (!(chk[["check_rel_objective"]] < 1e-10 && chk[["check_rel_gradient"]] < 1e-8 &&
        chk[["check_max_estep_dz"]] < 1e-6)) {
    stop(who, "'s objective, gradient or E-step differs from rlpsy's at the check point")
  }
}
peer_plain_r_main(dir, "check")
check_ok(compare_check("plain_r"), "plain R")
torch_note <- NULL
if (has_torch) {
  status <- system2(python, c(file.path(BENCH_DIR, "peer_torch.py"), dir, threads, "check"))
  if (status != 0) {
    torch_note <- sprintf("PyTorch peer failed (exit status %s); see the log above.", status)
    has_torch <- FALSE
  } else {
    check_ok(compare_check("torch"), "PyTorch")
  }
} else {
  torch_note <- sprintf("PyTorch is not available (%s cannot import torch; on Debian: apt-get install -y python3-torch): skipped.", python)
}

# --- fits ------------------------------------------------------------------------------
final_objective <- function(Q, z, mu, sigma) {
  rlpsy:::core_objective(core, Q, NULL, z, mu, sigma, 1L, FALSE)$value
}
# each method's final Q with z re-estimated under rlpsy's final prior: the
# profiled objective J*(Q) that rlpsy's M-step minimises at that prior, so
# the Qs compare without the prior term's dependence on each method's sigma
at_rlpsy_prior <- function(Q, z) {
  e <- rlpsy:::core_estep(core, Q, z, fit$prior[["mu"]], fit$prior[["sigma"]], 1L,
                          ctrl$estep_iter, ctrl$estep_tol)
  rlpsy:::core_objective(core, Q, NULL, e$z, fit$prior[["mu"]], fit$prior[["sigma"]],
                         1L, FALSE)$value
}
rows <- list()

message("peers: rlpsy")
fit_times <- numeric(3)
for (i in 1:3) {
  fit_times[i] <- system.time(fit <- suppressWarnings(
    rlpsy_fit(enc, gamma = gamma, control = ctrl)))[["elapsed"]]
}
t_rlpsy <- med(fit_times)
beta_ref <- unname(fit$z)
rows$rlpsy <- data.frame(
  method = "rlpsy (C++ core)", threads = threads, time_s = t_rlpsy,
  iterations = fit$iterations, evaluations = sum(fit$trace$mstep_evals),
  converged = fit$converged,
  objective_own = fit$objective[["total"]],
  objective_rlpsy_eval = final_objective(unname(fit$Q), unname(fit$z),
                                         fit$prior[["mu"]], fit$prior[["sigma"]]),
  objective_at_rlpsy_prior = at_rlpsy_prior(unname(fit$Q), unname(fit$z)),
  mu = fit$prior[["mu"]], sigma = fit$prior[["sigma"]],
  check_rel_objective = 0, check_rel_gradient = 0, check_max_estep_dz = 0,
  max_abs_dz_vs_rlpsy = 0, note = sprintf("median of 3 fits (%s s)",
                                          paste(round(fit_times, 2), collapse = ", ")),
  stringsAsFactors = FALSE)

read_fit <- function(prefix) {
  f <- utils::read.csv(file.path(dir, paste0(prefix, "_fit.csv")))
  v <- stats::setNames(f$value, f$name)
  Q <- unname(as.matrix(utils::read.csv(file.path(dir, paste0(prefix, "_Q.csv")), header = FALSE)))
  z <- utils::read.csv(file.path(dir, paste0(prefix, "_z.csv")))$z
  list(v = v, Q = Q, z = z)
}
peer_row <- function(prefix, method, threads, note) {
  r <- read_fit(prefix)
  data.frame(method = method, threads = threads, time_s = r$v[["time_s"]],
             iterations = r$v[["iterations"]], evaluations = NA_real_, converged = r$v[["converged"]] == 1,
             objective_own = r$v[["objective"]],
             objective_rlpsy_eval = final_objective(r$Q, r$z, r$v[["mu"]], r$v[["sigma"]]),
             objective_at_rlpsy_prior = at_rlpsy_prior(r$Q, r$z),
             mu = r$v[["mu"]], sigma = r$v[["sigma"]],
             t(compare_check(prefix)), max_abs_dz_vs_rlpsy = max(abs(r$z - beta_ref)),
             note = note, stringsAsFactors = FALSE)
}

message("peers: plain R (this may take minutes)")
peer_plain_r_main(dir, "fit")
rows$plain_r <- peer_row("plain_r", "plain R (vectorised, optim L-BFGS-B)", 1L,
                         "single-threaded R; one fit")

message("peers: PyTorch")
if (has_torch) {
  status <- system2(python, c(file.path(BENCH_DIR, "peer_torch.py"), dir, threads, "fit"))
  if (status == 0 && file.exists(file.path(dir, "torch_fit.csv"))) {
    ver <- readLines(file.path(dir, "torch_version.txt"))
    rows$torch <- peer_row("torch", sprintf("PyTorch %s (CPU, float64, LBFGS)", ver),
                           threads, "torch.set_num_threads(2); one fit")
  } else {
    torch_note <- sprintf("PyTorch peer failed (exit status %s); see the log above.", status)
  }
}

res <- do.call(rbind, rows)
res$time_ratio_to_rlpsy <- res$time_s / t_rlpsy
res$objective_minus_rlpsy <- res$objective_rlpsy_eval - res$objective_rlpsy_eval[1]
res$at_rlpsy_prior_minus_rlpsy <- res$objective_at_rlpsy_prior - res$objective_at_rlpsy_prior[1]
res <- res[, c("method", "threads", "time_s", "time_ratio_to_rlpsy", "iterations",
               "evaluations", "converged", "objective_own", "objective_rlpsy_eval",
               "objective_minus_rlpsy", "mu", "sigma", "objective_at_rlpsy_prior",
               "at_rlpsy_prior_minus_rlpsy", "max_abs_dz_vs_rlpsy", "check_rel_objective",
               "check_rel_gradient", "check_max_estep_dz", "note")]
rownames(res) <- NULL
write_table(res, "peers", "rlpsy against the plain GEM in plain R and in PyTorch",
  notes = c(
    sprintf("Problem `%s`: %s decisions, %s participants, %d states (%d visited), %d actions (%d of %d visited (state, action) pairs in the choice sets), observed reward, gamma = 0.9; every method reads the same CSV files.",
            label, format(enc$n_decisions, big.mark = ","),
            format(enc$n_participants, big.mark = ","), enc$n_states,
            length(unique(enc$state)), enc$n_actions,
            sum(av[unique(enc$state) + 1L, ]), length(unique(enc$state)) * enc$n_actions),
    sprintf("Same model: rlpsy_control(lambda_bell = %g, lambda_cql = %g), i.e. the effective weights the core uses, lambda_bell = %g / %.4g^2 = %.6g (value unit %.4g) and lambda_cql = %g; the Bellman term per (state, action) pair (n_sa times the squared mean residual); eps = %g. Same start (rlpsy's: Q = the task's soft-Q values under the empirical transitions, z = 0, prior N(0, 1)) and tolerance (%d L-BFGS iterations per M-step at most, E-step Newton to |g| <= %g, stop when J changes by less than tol x N = %g x %s and max |dz| < %g, at most %d EM iterations, final E-step).",
            settings$lambda_bell_unitless, settings$lambda_cql,
            settings$lambda_bell_unitless, settings$unit, settings$lambda_bell,
            settings$unit, settings$lambda_cql, ctrl$eps,
            ctrl$mstep_iter, ctrl$estep_tol, ctrl$tol,
            format(enc$n_decisions, big.mark = ","), ctrl$tol_z, ctrl$max_iter),
    "Algorithms: rlpsy minimises the profiled objective (L-BFGS on Q with the exact E-step and the empirical-Bayes prior's fixed point inside; its stopping rule is on the predicted decrease, tol per decision); the peers run the plain GEM, the baseline of the issue (E-step, prior update, an M-step of L-BFGS iterations on Q with beta fixed). `evaluations`: rlpsy's objective + gradient evaluations in the M-steps (each with an E-step).",
    "`time_s`: the fit only (data already in memory; for the peers, from the decoded arrays, excluding CSV reading). `objective_own`: the final J as each method computes it; `objective_rlpsy_eval`: the same final state (Q, z, mu, sigma) evaluated by rlpsy's core_objective; `objective_minus_rlpsy`: its difference to rlpsy's (negative = lower than rlpsy). `max_abs_dz_vs_rlpsy`: largest difference of a final log beta from rlpsy's. `mu`, `sigma`: each method's final empirical-Bayes prior; the objective's prior term depends on sigma, so final objectives at different priors do not rank the fits. `objective_at_rlpsy_prior`: each method's final Q with the betas re-estimated (E-step) under rlpsy's final prior, i.e. the profiled objective that rlpsy's M-step minimises at that prior; `at_rlpsy_prior_minus_rlpsy`: its difference to rlpsy's (negative = that Q is better than rlpsy's at rlpsy's prior).",
    "`check_*`: at a common check point (perturbed Q, random z, prior N(0.3, 0.8^2)): relative difference of the objective, largest gradient difference relative to the largest gradient entry, and largest difference of z after one E-step, each against rlpsy.",
    sprintf("The L-BFGS variants differ (rlpsy: own preconditioned L-BFGS with Armijo backtracking; plain R: optim's L-BFGS-B restarted each M-step, stopping when J falls by less than 0.01 tol N in an iteration; PyTorch: torch.optim.LBFGS with strong-Wolfe line search, state kept across EM iterations, tolerance_change = 0.01 tol N), so the paths and iteration counts differ. A peer gives up, not converged, after %g s.", peer_time),
    if (quick) "Quick mode: every method stops after at most 5 EM iterations (a smoke test, not a comparison).",
    "Target (performance issue): on the sparse problem rlpsy converged at its default tolerance and >= 30x faster than the PyTorch GEM, reaching an objective at least as low.",
    torch_note))
