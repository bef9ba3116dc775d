# Simulated data with two dimensions of beta, split by state parity.
#
# Participant j has (log beta_even, log beta_odd) drawn from a bivariate
# normal. Decisions in even states must follow softmax(beta_even A) and those
# in odd states softmax(beta_odd A). rlpsy_simulate() gives one beta per
# participant, so each participant is simulated twice on the same task, once
# with each beta, and keeps the decisions of run 1 in even states and those
# of run 2 in odd states. Conditional on the states visited (which the model
# does not explain), every kept decision is drawn from the model's policy
# with the beta of its dimension, and its transition from the task: the data
# come from the model.
simulate_dims <- function(task, J = 300, n = 120, rho = 0.5, sd = 0.5,
                          mu = c(log(2), log(1)), seed = 3) {
  set.seed(seed)
  Sigma <- sd^2 * matrix(c(1, rho, rho, 1), 2)
  Z <- matrix(rnorm(2 * J), J) %*% chol(Sigma) + rep(mu, each = J)
  ids <- sprintf("p%03d", seq_len(J))
  dimnames(Z) <- list(ids, c("even", "odd"))
  s1 <- rlpsy_simulate(task, stats::setNames(exp(Z[, 1]), ids), n, gamma = 0.9)
  s2 <- rlpsy_simulate(task, stats::setNames(exp(Z[, 2]), ids), n, gamma = 0.9)
  odd <- function(s) as.integer(as.character(s)) %% 2L == 1L
  d <- rbind(s1[!odd(s1$state), ], s2[odd(s2$state), ])
  d$dim <- ifelse(odd(d$state), "odd", "even")
  rownames(d) <- NULL
  list(data = d, z = Z)
}

fit_dims <- function(d, threads = 2, ...) {
  rlpsy_fit(d, "participant", "state", "action", "next_state", done = "done",
            reward = "reward", gamma = 0.9, control = rlpsy_control(threads = threads),
            ...)
}

# The exact log posterior of participant j's z (length D) at the fit's
# advantage and prior, written out in R: sum over j's decisions of
# log softmax(beta_d(t) A(s_t, .))[a_t] over the choice set, minus
# (z - mu)' Sigma^-1 (z - mu) / 2.
log_posterior_dims <- function(fit, j, z) {
  d <- fit$data
  rows <- which(d$participant == j - 1L)
  A <- unclass(fit$advantage)
  av <- d$available
  beta <- exp(z)[d$dimension[rows] + 1L]
  s <- d$state[rows] + 1L
  a <- d$action[rows] + 1L
  X <- beta * A[s, , drop = FALSE]
  X[!av[s, , drop = FALSE]] <- -Inf
  m <- apply(X, 1L, max)
  ll <- X[cbind(seq_along(s), a)] - m - log(rowSums(exp(X - m)))
  r <- z - fit$prior$mu
  sum(ll) - 0.5 * drop(r %*% solve(fit$prior$Sigma, r))
}
