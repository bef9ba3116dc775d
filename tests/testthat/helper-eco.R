# Fits for the tests of the tidiers, accessors, fit statistics, bootstrap
# and plots: the package's example (cached) and small gridworld simulations.

.eco_cache <- new.env()

# rlpsy_example fitted with its own gamma and tau (cached)
example_fit <- function() {
  if (is.null(.eco_cache$ex)) {
    .eco_cache$ex <- rlpsy_fit(rlpsy_example, "participant", "state", "action",
                               "next_state", done = "done", reward = "reward",
                               gamma = 0.9, tau = 0.05,
                               control = rlpsy_control(threads = 1, progress = FALSE))
  }
  .eco_cache$ex
}

eco_task <- function() {
  rlpsy_gridworld(nrow = 4, ncol = 4, walls = c(2, 2), goal = c(4, 4),
                  trap = c(3, 3), slip = 0.1)
}

# J participants with log beta ~ N(log 2, sd) and n decisions each
eco_sims <- function(task, J = 60, n = 150, sd = 0.3, seed = 1) {
  set.seed(seed)
  beta <- exp(stats::rnorm(J, log(2), sd))
  names(beta) <- sprintf("p%03d", seq_len(J))
  rlpsy_simulate(task, beta, n_decisions = n, gamma = 0.9, tau = 0.05)
}

# Fit of gridworld data; with_task = TRUE fixes Q at the task's true values
# (the generating model)
eco_fit <- function(sims, task, with_task = FALSE) {
  args <- list(sims, "participant", "state", "action", "next_state",
               done = "done", reward = "reward", available = task$available,
               gamma = 0.9, tau = 0.05,
               control = rlpsy_control(threads = 1, progress = FALSE))
  if (with_task) args <- c(args, list(q = "task", task = task))
  suppressWarnings(do.call(rlpsy_fit, args), classes = "rlpsy_warning_identification")
}

# An error of `class` whose message contains each of the strings in ...
expect_classed_error <- function(expr, ..., class = "rlpsy_error_input") {
  err <- expect_error(expr, class = class)
  for (p in c(...)) expect_match(conditionMessage(err), p, fixed = TRUE)
  invisible(err)
}
