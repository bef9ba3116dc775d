# confint(method = "sandwich"): Wald intervals for beta whose variance adds
# the uncertainty of the task parameters x = (theta, w) by the delta method
# through the profiled scores z*(x), with the robust (sandwich) covariance
# of x. Finite differences of the exact profiled gradient; for small x only.

#' Largest number of task parameters (theta and w) for which the sandwich is
#' computed (2 gradient evaluations per parameter)
#' @noRd
sandwich_max_params <- 2000L

#' Sandwich intervals of the scores of participants `j` (see
#' confint.rlpsy_fit): var(z_j) = se_j^2 + G_j V G_j', V = H^+ B H^+, with H
#' the Hessian of the profiled objective J*(x) = min_z J(x, z) and G = dz*/dx
#' (central differences of the envelope gradient and of the E-step), B the
#' centred sum over participants of the outer products of their gradient
#' contributions (person_gradients())
#' @noRd
sandwich_limits <- function(fit, j, level) {
  sandwich_check(fit)
  parts <- sandwich_parts(fit)
  se <- sqrt(fit$se[j]^2 + rowSums((parts$G[j, , drop = FALSE] %*% parts$V) *
                                     parts$G[j, , drop = FALSE]))
  lim <- wald_limits(fit$z[j], se, level)
  attr(lim, "se") <- stats::setNames(se, names(fit$z)[j])
  lim
}

#' Stop for fits the sandwich does not cover
#' @noRd
sandwich_check <- function(fit, max_params = sandwich_max_params) {
  if (!identical(fit$method, "map") || !is.null(fit$person_design)) {
    rlpsy_abort("method = \"sandwich\" needs a MAP fit with one prior mean ",
                "(no `person_formula`, method = \"map\"): use method = \"boot\".")
  }
  p <- length(fit_theta(fit)) + length(fit$w)
  if (p > max_params) {
    rlpsy_abort("method = \"sandwich\" differentiates the profiled objective in ",
                "each of the fit's ", p, " task parameters (Q and the reward); ",
                "it is limited to ", max_params, ". Use method = \"boot\" ",
                "(participant bootstrap), or a feature-based Q (rlpsy_q_linear()).")
  }
  invisible(p)
}

#' The pieces of the sandwich: V (covariance of x) and G (J x p, dz*/dx).
#' The parameters of states whose fitted values collapsed to a near-tie
#' (fit$diagnostics$collapsed_states) are held fixed: there the advantage is
#' c / sqrt(mean c^2 + eps) with c of the order of sqrt(eps), so the
#' objective's curvature is some 10^8 times the rest, its finite
#' differences are meaningless, and a pseudo-inverse cut relative to the
#' largest eigenvalue dropped most of the well-determined directions.
#' @noRd
sandwich_parts <- function(fit) {
  x0 <- c(as.vector(fit_theta(fit)), as.vector(unclass(fit$w)))
  eval_at <- profiled_gradient(fit)
  free <- which(!sandwich_fixed(fit))
  p <- length(x0)
  H <- matrix(0, p, p)
  G <- matrix(0, length(fit$z), p)
  for (k in free) {
    h <- 1e-4 * max(1, abs(x0[k]))
    up <- eval_at(replace(x0, k, x0[k] + h))
    dn <- eval_at(replace(x0, k, x0[k] - h))
    H[, k] <- (up$g - dn$g) / (2 * h)
    G[, k] <- (up$z - dn$z) / (2 * h)
  }
  Hinv <- matrix(0, p, p)
  Hinv[free, free] <- pseudo_inverse((H[free, free] + t(H[free, free])) / 2)
  S <- person_gradients(fit, x0)
  B <- crossprod(sweep(S, 2L, colMeans(S)))
  list(V = Hinv %*% B %*% Hinv, G = G, H = H, B = B, free = free)
}

#' Which entries of x = c(theta, w) belong to a state whose fitted values
#' collapsed (table Q and a reward table of (state, action) pairs: S x K
#' matrices whose rows are the states in the order of fit$data$states)
#' @noRd
sandwich_fixed <- function(fit) {
  th <- fit_theta(fit)
  w <- unclass(fit$w)
  bad <- fit$diagnostics$collapsed_states$state
  of_state <- function(m) {
    if (is.matrix(m) && nrow(m) == fit$data$n_states) {
      as.vector(row(m)) %in% match(bad, fit$data$states)
    } else {
      rep(FALSE, length(m))
    }
  }
  c(of_state(th), if (!is.null(w)) of_state(w))
}

#' A function of x = c(theta, w) giving the gradient of the profiled
#' objective (the gradient of J at z*(x), by the envelope theorem) and z*(x)
#' @noRd
profiled_gradient <- function(fit) {
  core <- fit_core(fit)
  mu <- fit$prior[["mu"]]
  sigma <- fit$prior[["sigma"]]
  threads <- fit$control$threads
  split <- split_params(fit)
  function(x) {
    xs <- split(x)
    e <- core_estep(core, xs$theta, fit$z, mu, sigma, threads, 200L, 1e-11)
    o <- core_objective(core, xs$theta, xs$w, e$z, mu, sigma, threads, TRUE)
    list(g = c(as.vector(o$grad_theta), as.vector(o$grad_w)), z = e$z)
  }
}

#' A function splitting x = c(theta, w) into the shapes the core takes
#' @noRd
split_params <- function(fit) {
  th <- fit_theta(fit)
  w <- if (is.null(fit$w)) NULL else unname(unclass(fit$w))
  nq <- length(th)
  function(x) {
    th[] <- x[seq_len(nq)]
    if (!is.null(w)) w[] <- x[nq + seq_along(w)]
    list(theta = th, w = w)
  }
}

#' Per-participant contributions (J x p) to the gradient of J in x: the
#' gradient of the fit's objective less that of the fit without the
#' participant (their scores fixed at the fit's). Exact for the behaviour
#' and CQL terms (sums over decisions); for the Bellman term, whose targets
#' are pooled per (state, action) over everyone's transitions, it is the
#' participant's jackknife influence. Data-free penalties cancel.
#' @noRd
person_gradients <- function(fit, x0) {
  d <- fit$data
  xs <- split_params(fit)(x0)
  mu <- fit$prior[["mu"]]
  sigma <- fit$prior[["sigma"]]
  grad <- function(core, z) {
    o <- core_objective(core, xs$theta, xs$w, z, mu, sigma, fit$control$threads, TRUE)
    c(as.vector(o$grad_theta), as.vector(o$grad_w))
  }
  full <- grad(fit_core(fit), fit$z)
  out <- matrix(0, d$n_participants, length(x0))
  for (i in seq_len(d$n_participants)) {
    enc <- subset_decisions(d, which(d$participant != i - 1L))
    out[i, ] <- full - grad(make_core(enc, fit$settings, fit$params), fit$z[-i])
  }
  out
}

#' Moore-Penrose inverse of a symmetric matrix, dropping eigenvalues below
#' a relative tolerance (directions the objective does not determine)
#' @noRd
pseudo_inverse <- function(H, tol = 1e-8) {
  e <- eigen(H, symmetric = TRUE)
  keep <- e$values > tol * max(abs(e$values))
  v <- e$vectors[, keep, drop = FALSE]
  v %*% (t(v) / e$values[keep])
}
