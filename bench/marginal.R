# The marginal-likelihood fit (rlpsy_fit(method = "marginal")) against the
# MAP fit on the same data, in one process.
#
#   Rscript bench/marginal.R [--quick]
#
# Problems of bench_sizes() (500 states x 5 actions, 100 decisions per
# participant, observed reward, gamma = 0.9; quick mode: 10^4 and 10^5
# decisions). Times each fit `reps` times, alternating MAP and marginal, and
# reports medians, the ratio (the issue's target: marginal within 3x of
# MAP), the iterations, and the marginal log-likelihood of both fits (the
# MAP fit's by rlpsy_marginal_loglik()). Writes results/marginal.*.
source(local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  file.path(if (length(f)) dirname(f[1]) else "bench", "common.R")
}))

quick <- is_quick()
labels <- if (quick) c("1e4s", "1e5") else c("1e5", "1e6")
reps <- if (quick) 1L else 3L
ctrl <- rlpsy_control(threads = 2)
rows <- list()
for (label in labels) {
  enc <- bench_encode(bench_problem(label))
  fit <- function(method) {
    gc()
    t0 <- proc.time()[["elapsed"]]
    f <- rlpsy_fit(enc, gamma = 0.9, method = method, control = ctrl)
    list(fit = f, time = proc.time()[["elapsed"]] - t0)
  }
  t_map <- t_marg <- numeric(reps)
  for (r in seq_len(reps)) {
    a <- fit("map")
    b <- fit("marginal")
    t_map[r] <- a$time
    t_marg[r] <- b$time
  }
  rows[[label]] <- data.frame(
    decisions = enc$n_decisions, participants = enc$n_participants,
    map_s = med(t_map), marginal_s = med(t_marg), ratio = med(t_marg) / med(t_map),
    map_iter = a$fit$iterations, marginal_em_iter = b$fit$iterations,
    loglik_map = as.numeric(rlpsy_marginal_loglik(a$fit)),
    loglik_marginal = b$fit$marginal$loglik,
    converged = b$fit$converged)
  message(label, ": MAP ", round(med(t_map), 2), " s, marginal ",
          round(med(t_marg), 2), " s")
}
res <- do.call(rbind, rows)
write_table(res, "marginal", "Marginal-likelihood fit against the MAP fit",
  notes = c(
    sprintf("Median of %d fits each, alternating, 2 threads, default control (21 quadrature nodes).", reps),
    "`marginal_s` includes the MAP fit the marginal EM starts from; `marginal_em_iter` counts the EM iterations after it.",
    "`loglik_map`: the marginal log-likelihood of the MAP fit's Q and prior (rlpsy_marginal_loglik()); `loglik_marginal`: the marginal fit's, which maximises it less the penalties."))
