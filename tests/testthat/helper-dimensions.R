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
                          mu = c(log(2), log(1)), seed = 3, mean = NULL) {
  set.seed(seed)
  Sigma <- sd^2 * matrix(c(1, rho, rho, 1), 2)
  Z <- matrix(rnorm(2 * J), J) %*% chol(Sigma) + rep(mu, each = J)
  if (!is.null(mean)) Z <- Z + mean  # a J x 2 shift, e.g. a covariate's effect
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

# Three dimensions split by state modulo 3 ("m0", "m1", "m2"), the same
# construction with three runs per participant; equicorrelated with rho.
simulate_dims3 <- function(task, J = 60, n = 90, rho = 0.5, sd = 0.5, seed = 3) {
  set.seed(seed)
  Sigma <- sd^2 * (matrix(rho, 3, 3) + diag(1 - rho, 3))
  Z <- matrix(rnorm(3 * J), J) %*% chol(Sigma) + rep(c(0.5, 0, 0.3), each = J)
  ids <- sprintf("p%03d", seq_len(J))
  dimnames(Z) <- list(ids, c("m0", "m1", "m2"))
  mod <- function(s) as.integer(as.character(s)) %% 3L
  d <- do.call(rbind, lapply(0:2, function(k) {
    sk <- rlpsy_simulate(task, stats::setNames(exp(Z[, k + 1L]), ids), n, gamma = 0.9)
    sk[mod(sk$state) == k, ]
  }))
  d$dim <- paste0("m", mod(d$state))
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

# Participant j's exact posterior of z (2 dimensions) at the fit's Q and
# prior on a fine product grid (n x n points over mode +- width SEs per
# axis; the trapezoidal rule, which converges geometrically for such smooth,
# vanishing integrands): the log marginal likelihood, the marginal
# distribution functions and the posterior mean and covariance. l_jd from
# the core's grid (checked against a pure-R reference in test-scores.R).
brute_posterior_2d <- function(fit, j, n = 801, width = 14) {
  core <- rlpsy:::fit_core(fit)
  Q <- rlpsy:::fit_theta(fit)
  J <- nrow(fit$z)
  m <- unname(fit$z[j, ])
  s <- unname(fit$se[j, ])
  g <- lapply(1:2, function(d) m[d] + s[d] * seq(-width, width, length.out = n))
  Z <- matrix(NA_real_, 2 * J, n)
  Z[2 * j - 1, ] <- g[[1]]
  Z[2 * j, ] <- g[[2]]
  l <- rlpsy:::core_person_grid(core, Q, Z, 1L)
  mu <- rlpsy:::fit_prior_mean(fit)[j, ]
  S <- fit$prior$Sigma
  P <- solve(S)
  r1 <- g[[1]] - mu[1]
  r2 <- g[[2]] - mu[2]
  lk <- outer(l[2 * j - 1, ] - P[1, 1] * r1^2 / 2, l[2 * j, ] - P[2, 2] * r2^2 / 2, "+") -
    P[1, 2] * outer(r1, r2) - log(2 * pi) - 0.5 * log(det(S))
  top <- max(lk)
  f <- exp(lk - top)
  h <- c(g[[1]][2] - g[[1]][1], g[[2]][2] - g[[2]][1])
  tw <- c(0.5, rep(1, n - 2), 0.5)
  mass <- sum(f * outer(tw, tw)) * h[1] * h[2]
  dens <- list(drop(f %*% tw) * h[2] / mass, drop(tw %*% f) * h[1] / mass)
  cdf <- lapply(1:2, function(d) {
    c(0, cumsum((dens[[d]][-1] + dens[[d]][-n]) / 2 * h[d]))
  })
  mean <- vapply(1:2, function(d) sum(tw * g[[d]] * dens[[d]]) * h[d], 0)
  list(log_marginal = top + log(mass), grid = g, cdf = cdf, mean = mean,
       var = vapply(1:2, function(d) sum(tw * (g[[d]] - mean[d])^2 * dens[[d]]) * h[d], 0),
       cov = sum(f * outer(tw * (g[[1]] - mean[1]), tw * (g[[2]] - mean[2]))) *
         h[1] * h[2] / mass)
}

# The posterior quantile u of dimension d from brute_posterior_2d()
brute_quantile <- function(b, d, u) stats::approx(b$cdf[[d]], b$grid[[d]], u, ties = "ordered")$y
