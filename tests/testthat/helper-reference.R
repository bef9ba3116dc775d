# Pure-R reference of the objective (DESIGN.md section 1), written per decision
# without any compression, and of the identified advantage: independent of
# the C++ core, which the tests check against them.

#' Identified advantage of a Q matrix, in plain R (the reference for the
#' core's advantage_table())
reference_advantage <- function(Q, available = NULL, eps = 1e-8, global = NULL) {
  if (is.null(available)) available <- matrix(TRUE, nrow(Q), ncol(Q))
  Qm <- Q
  Qm[!available] <- NA_real_
  k <- rowSums(available)
  centred <- Qm - rowSums(Qm, na.rm = TRUE) / k
  ms <- rowSums(centred^2, na.rm = TRUE) / k
  rho <- if (is.null(global)) sqrt(ms + eps) else sqrt(mean(ms[global]) + eps)
  A <- centred / rho
  A[!available] <- 0
  dimnames(A) <- dimnames(Q)
  A
}

#' Objective J and its components, decision by decision, in plain R
#'
#' @param enc an encoded data object (`rlpsy_data()`).
#' @param Q S x K matrix; `w` S x K learned-reward parameters or NULL when the
#'   reward is observed; `z` log beta per participant; `mu`, `sigma` prior.
#' @param settings list with gamma, tau, eps, lambda_bell, lambda_cql,
#'   lambda_r.
#' @return named numeric vector: total, behaviour, bellman, cql, reward_l2,
#'   prior (bellman and cql unweighted, total weighted).
#' @noRd
reference_objective <- function(enc, Q, w, z, mu, sigma, settings) {
  av <- enc$available
  s <- enc$state + 1L
  a <- enc$action + 1L
  s2 <- enc$next_state + 1L
  beta <- exp(z)[enc$participant + 1L]
  A <- reference_advantage(Q, av, settings$eps)
  lse_rows <- function(X) {
    X[!av] <- -Inf
    m <- apply(X, 1, max)
    m + log(rowSums(exp(X - m)))
  }
  # behaviour: -log softmax(beta * A(s, .))[a], one decision at a time
  eta <- beta * A[s, , drop = FALSE]
  eta[!av[s, , drop = FALSE]] <- -Inf
  m <- apply(eta, 1, max)
  lse <- m + log(rowSums(exp(eta - m)))
  behaviour <- sum(lse - beta * A[cbind(s, a)])
  V <- settings$tau * lse_rows(Q / settings$tau)
  r <- if (is.null(w)) enc$reward else tanh(w)[cbind(s, a)]
  delta <- Q[cbind(s, a)] - r - settings$gamma * (1 - enc$done) * V[s2]
  # per (s, a) pair: n_sa * (mean residual)^2 (the spec's sum of squares less
  # the within-pair variance of the target; see bellman_pass in model.h)
  pair <- (s - 1L) * ncol(Q) + a
  bellman <- sum(rowsum(delta, pair)^2 / as.vector(table(pair)))
  cql <- sum(lse_rows(Q)[s] - Q[cbind(s, a)])
  reward_l2 <- if (is.null(w)) 0 else sum(w[av]^2)
  prior <- sum((z - mu)^2) / (2 * sigma^2)
  total <- behaviour + settings$lambda_bell * bellman +
    settings$lambda_cql * cql + settings$lambda_r * reward_l2 + prior
  c(total = total, behaviour = behaviour, bellman = bellman, cql = cql,
    reward_l2 = reward_l2, prior = prior)
}

#' Log posterior of one participant's z in plain R (spec 5.1 with A)
#' @noRd
reference_estep_loglik <- function(enc, A, j, z, mu, sigma) {
  rows <- which(enc$participant + 1L == j)
  s <- enc$state[rows] + 1L
  a <- enc$action[rows] + 1L
  eta <- exp(z) * A[s, , drop = FALSE]
  eta[!enc$available[s, , drop = FALSE]] <- -Inf
  m <- apply(eta, 1, max)
  sum(exp(z) * A[cbind(s, a)] - m - log(rowSums(exp(eta - m)))) -
    (z - mu)^2 / (2 * sigma^2)
}
