# rlpsy against the same GEM written in plain R and in PyTorch, on the same
# data, same model, same starting values and same tolerance.
#
#   Rscript bench/peers.R [--quick]
#
# Problem: 10^5 decisions (1,000 participants x 100, 500 states, 5 actions,
# observed reward, gamma = 0.9); quick mode: 10^4 decisions on a 50-state
# task. R writes the decisions, the available-action matrix, the settings
# and a common check point as CSV files into an exchange directory; every
# method, rlpsy included, reads the data back from those files, so all see
# the same numbers. Before timing, each peer's objective, gradient and one
# E-step at the check point are compared with rlpsy's (core_objective,
# core_estep). Then each method fits once (rlpsy: median of 3 fits) and all
# final states are evaluated with rlpsy's objective too.
#
# Peers: bench/peer_plain_r.R (sourced, run in this process) and
# bench/peer_torch.py (run with RLPSY_BENCH_PYTHON, default /usr/bin/python3,
# Debian's python3-torch, 2 threads); skipped with a note if torch cannot be
# imported. Writes results/peers.{csv,md}.
source(local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  file.path(if (length(f)) dirname(f[1]) else "bench", "common.R")
}))
source(file.path(BENCH_DIR, "peer_plain_r.R"))

quick <- is_quick()
label <- if (quick) "1e4s" else "1e5"
threads <- 2L
python <- Sys.getenv("RLPSY_BENCH_PYTHON", "/usr/bin/python3")
# quick mode (a smoke test) caps every method at 5 EM iterations
ctrl <- rlpsy_control(threads = threads, max_iter = if (quick) 5L else 500L)
gamma <- 0.9

dir <- tempfile("rlpsy-peers-")
dir.create(dir)
on.exit(unlink(dir, recursive = TRUE), add = TRUE)

# --- exchange files -------------------------------------------------------------
prob <- bench_problem(label)
d <- prob$data
out <- data.frame(participant = d$participant - 1L, state = d$state - 1L,
                  action = d$action - 1L, next_state = d$next_state - 1L,
                  done = as.integer(d$done), reward = d$reward)
utils::write.csv(out, file.path(dir, "decisions.csv"), row.names = FALSE)
av <- prob$available
utils::write.table(av * 1L, file.path(dir, "available.csv"), sep = ",",
                   row.names = FALSE, col.names = FALSE)
back <- utils::read.csv(file.path(dir, "decisions.csv"))
back[c("participant", "state", "action", "next_state")] <-
  back[c("participant", "state", "action", "next_state")] + 1L
back$done <- back$done == 1L
enc <- rlpsy_data(back, "participant", "state", "action", "next_state",
                  done = "done", reward = "reward",
                  available = if (all(av)) NULL else av)
settings <- rlpsy:::core_settings(ctrl, gamma, tau = 1, learned = FALSE)

# the common check point: perturbed starting Q, spread-out z, a fixed prior
st0 <- rlpsy:::initial_state(enc, ctrl)
set.seed(42)
Qc <- st0$Q + matrix(rnorm(length(st0$Q), 0, 0.3), nrow(st0$Q)) * av
zc <- rnorm(enc$n_participants, 0.5, 0.4)
fmt17 <- function(x) formatC(x, digits = 17, format = "g")
writeLines(apply(matrix(fmt17(Qc), nrow(Qc)), 1, paste, collapse = ","),
           file.path(dir, "check_Q.csv"))
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
             check_mu = check_mu, check_sigma = check_sigma)
writeLines(c("name,value", paste(names(set_tab), fmt17(set_tab), sep = ",")),
           file.path(dir, "settings.csv"))

# --- rlpsy at the check point ------------------------------------------------------
core <- rlpsy:::core_new(enc, settings)
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
    check_rel_gradient = max(abs(g - ref$grad_Q)) / max(abs(ref$grad_Q)),
    check_max_estep_dz = max(abs(ze - ref_e)))
}

# --- fits ------------------------------------------------------------------------------
final_objective <- function(Q, z, mu, sigma) {
  rlpsy:::core_objective(core, Q, NULL, z, mu, sigma, 1L, FALSE)$value
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
  iterations = fit$iterations, converged = fit$converged,
  objective_own = fit$objective[["total"]],
  objective_rlpsy_eval = final_objective(unname(fit$Q), unname(fit$z),
                                         fit$prior[["mu"]], fit$prior[["sigma"]]),
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
             iterations = r$v[["iterations"]], converged = r$v[["converged"]] == 1,
             objective_own = r$v[["objective"]],
             objective_rlpsy_eval = final_objective(r$Q, r$z, r$v[["mu"]], r$v[["sigma"]]),
             t(compare_check(prefix)), max_abs_dz_vs_rlpsy = max(abs(r$z - beta_ref)),
             note = note, stringsAsFactors = FALSE)
}

message("peers: plain R (this may take minutes)")
peer_plain_r_main(dir)
rows$plain_r <- peer_row("plain_r", "plain R (vectorised, optim L-BFGS-B)", 1L,
                         "single-threaded R; one fit")

message("peers: PyTorch")
has_torch <- file.exists(python) &&
  identical(suppressWarnings(system2(python, c("-c", shQuote("import torch")),
                                     stdout = FALSE, stderr = FALSE)), 0L)
torch_note <- NULL
if (has_torch) {
  status <- system2(python, c(file.path(BENCH_DIR, "peer_torch.py"), dir, threads))
  if (status == 0 && file.exists(file.path(dir, "torch_fit.csv"))) {
    ver <- readLines(file.path(dir, "torch_version.txt"))
    rows$torch <- peer_row("torch", sprintf("PyTorch %s (CPU, float64, LBFGS)", ver),
                           threads, "torch.set_num_threads(2); one fit")
  } else {
    torch_note <- sprintf("PyTorch peer failed (exit status %s); see the log above.", status)
  }
} else {
  torch_note <- sprintf("PyTorch is not available (%s cannot import torch; on Debian: apt-get install -y python3-torch): skipped.", python)
}

res <- do.call(rbind, rows)
res$time_ratio_to_rlpsy <- res$time_s / t_rlpsy
res$objective_minus_rlpsy <- res$objective_rlpsy_eval - res$objective_rlpsy_eval[1]
res <- res[, c("method", "threads", "time_s", "time_ratio_to_rlpsy", "iterations",
               "converged", "objective_own", "objective_rlpsy_eval",
               "objective_minus_rlpsy", "max_abs_dz_vs_rlpsy", "check_rel_objective",
               "check_rel_gradient", "check_max_estep_dz", "note")]
rownames(res) <- NULL
write_table(res, "peers", "rlpsy against the same GEM in plain R and in PyTorch",
  notes = c(
    sprintf("Problem `%s`: %s decisions, %s participants, %d states, %d actions, observed reward, gamma = 0.9; every method reads the same CSV files.",
            label, format(enc$n_decisions, big.mark = ","),
            format(enc$n_participants, big.mark = ","), enc$n_states, enc$n_actions),
    sprintf("Same model (lambda_bell = %g, lambda_cql = %g, eps = %g), same start (Q = log smoothed pooled frequencies, z = 0, prior N(0, 1)), same EM (E-step Newton to |g| <= %g, empirical-Bayes prior, %d L-BFGS iterations per M-step, stop when relative change of J < %g and max |dz| < %g, at most %d iterations, final E-step).",
            settings$lambda_bell, settings$lambda_cql, ctrl$eps, ctrl$estep_tol,
            ctrl$mstep_iter, ctrl$tol, ctrl$tol_z, ctrl$max_iter),
    "`time_s`: the fit only (data already in memory; for the peers, from the decoded arrays, excluding CSV reading). `objective_own`: the final J as each method computes it; `objective_rlpsy_eval`: the same final state (Q, z, mu, sigma) evaluated by rlpsy's core_objective; `objective_minus_rlpsy`: its difference to rlpsy's (negative = lower than rlpsy). `max_abs_dz_vs_rlpsy`: largest difference of a final log beta from rlpsy's.",
    "`check_*`: at a common check point (perturbed Q, random z, prior N(0.3, 0.8^2)): relative difference of the objective, largest gradient difference relative to the largest gradient entry, and largest difference of z after one E-step, each against rlpsy.",
    "The L-BFGS variants differ (rlpsy: own L-BFGS with Armijo backtracking and memory kept across EM iterations; plain R: optim's L-BFGS-B restarted each M-step, factr = 0.01 tol / machine eps; PyTorch: torch.optim.LBFGS with strong-Wolfe line search, state kept across EM iterations), so the EM paths and iteration counts differ.",
    if (quick) "Quick mode: every method stops after at most 5 EM iterations (a smoke test, not a comparison).",
    "Targets: rlpsy >= 10x faster than PyTorch and >= 100x faster than plain R at 10^5 decisions, reaching an objective at least as low.",
    torch_note))
