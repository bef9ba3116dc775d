# Helpers for the numerical tests of the C++ core (test-core.R): brute-force
# references for the E-step, finite differences, planted problems and a
# problem large enough for the parallel paths. Problems are encoded directly,
# like random_problem() in helper-problems.R.

# Relative error of x against a reference, in the max norm.
max_rel_err <- function(x, ref) {
  max(abs(x - ref)) / max(abs(ref), .Machine$double.xmin)
}

# Expect |object - expected| <= tol element-wise (relative to |expected| if
# `relative`), naming the worst element on failure. Unlike expect_equal(),
# whose tolerance applies to the mean difference, this bounds every element.
expect_close <- function(object, expected, tol, relative = FALSE, label = "object") {
  stopifnot(length(object) == length(expected))
  err <- abs(object - expected)
  if (relative) err <- err / abs(expected)
  err[object == expected] <- 0
  i <- if (anyNA(err)) which(is.na(err))[1] else which.max(err)
  testthat::expect(
    length(err) > 0 && !anyNA(err) && all(err <= tol),
    sprintf("%s: %s error %.3g > %.3g at element %d (%.17g vs %.17g)", label,
            if (relative) "relative" else "absolute", err[i], tol, i,
            object[i], expected[i])
  )
  invisible(object)
}

# Q whose available values in every state are well separated (gap >= ~0.4),
# so that rho(s) is far from sqrt(eps) and finite differences are accurate.
separated_q <- function(S, K, seed = 1, spread = 1.5) {
  set.seed(seed)
  t(vapply(seq_len(S), function(s) {
    sample(seq(-spread, spread, length.out = K)) + stats::runif(K, -0.05, 0.05)
  }, numeric(K)))
}

# Make every state offer at least two actions (needed when eps = 0, where a
# single-action state would give A = 0 / 0).
at_least_two_actions <- function(enc) {
  av <- enc$available
  for (s in which(rowSums(av) < 2)) av[s, which(!av[s, ])[1]] <- TRUE
  enc$available <- av
  enc
}

# Central differences of f at x (any numeric array), step h.
central_diff <- function(f, x, h = 1e-6) {
  g <- x
  for (i in seq_along(x)) {
    xp <- x
    xm <- x
    xp[i] <- x[i] + h
    xm[i] <- x[i] - h
    g[i] <- (f(xp) - f(xm)) / (2 * h)
  }
  g
}

# Brute-force mode of participant j's log posterior l_j(z) (pure R reference):
# a grid over [lower, upper] finds the basin of the global maximum, then
# stats::optimize() refines it with tol 1e-12. The SE is 1 / sqrt(-l''(z))
# with l'' by a central second difference (step h) at the mode.
brute_estep <- function(enc, A, j, mu, sigma, lower = -12, upper = 12,
                        by = 0.1, h = 1e-3) {
  l <- function(z) reference_estep_loglik(enc, A, j, z, mu, sigma)
  grid <- seq(lower, upper, by = by)
  i <- which.max(vapply(grid, l, 0))
  stopifnot(i > 1, i < length(grid))  # the mode lies inside the interval
  opt <- stats::optimize(l, grid[c(i - 1, i + 1)], maximum = TRUE, tol = 1e-12)
  z <- opt$maximum
  d2 <- (l(z + h) - 2 * l(z) + l(z - h)) / h^2
  list(z = z, se = 1 / sqrt(-d2), loglik = opt$objective)
}

# Exact gradient g and Hessian H of participant j's l_j at z (pure R, the
# formulas of DESIGN.md section 1): g = beta S1 - (z - mu) / sigma^2,
# H = beta S1 - beta^2 sum Var_p(A) - 1 / sigma^2.
estep_gradient <- function(enc, A, j, z, mu, sigma) {
  rows <- which(enc$participant + 1L == j)
  s <- enc$state[rows] + 1L
  a <- enc$action[rows] + 1L
  beta <- exp(z)
  As <- A[s, , drop = FALSE]
  eta <- beta * As
  eta[!enc$available[s, , drop = FALSE]] <- -Inf
  P <- exp(eta - apply(eta, 1, max))
  P <- P / rowSums(P)
  EA <- rowSums(P * As)
  S1 <- sum(As[cbind(seq_along(a), a)] - EA)
  c(g = beta * S1 - (z - mu) / sigma^2,
    H = beta * S1 - beta^2 * sum(rowSums(P * (As - EA)^2)) - 1 / sigma^2)
}

# Encode decisions given as vectors (1-based codes, any order of
# participants) the way random_problem() does: sorted, 0-based, CSR offsets.
encode_decisions <- function(part, state, action, available, next_state = NULL,
                             done = NULL, reward = NULL) {
  J <- max(part)
  o <- order(part)
  N <- length(part)
  if (is.null(next_state)) next_state <- rep(1L, N)
  if (is.null(done)) done <- rep(0L, N)
  list(
    n_decisions = N, n_participants = J, n_states = nrow(available),
    n_actions = ncol(available),
    offsets = as.integer(c(0, cumsum(tabulate(part, J)))),
    participant = as.integer(part[o] - 1L), state = as.integer(state[o] - 1L),
    action = as.integer(action[o] - 1L),
    next_state = as.integer(next_state[o] - 1L), done = as.integer(done[o]),
    reward = if (!is.null(reward)) as.numeric(reward[o]),
    available = available
  )
}

# Planted hard cases for the E-step, with their Q (S = 5, K = 4):
#   state 1: full, best action 1;   state 2: action 4 missing, best action 2;
#   state 3: all Q equal (A = 0);   state 4: only action 1 exists (A = 0);
#   state 5: action 1 best, action 2 a close second (A gap ~ 0.02).
# Participants:
#   1 always takes the best action (ML z = +Inf; the prior keeps MAP finite)
#   2 only visits states 3 and 4, where A = 0 (MAP = mu, SE = sigma)
#   3 a single decision
#   4 state 5 only, 40 x best and 10 x second: ML z ~ 4.2, far from the prior
#   5 always takes the worst action (ML z = -Inf)
#   6 a mixture of everything
planted_estep_problem <- function() {
  available <- matrix(TRUE, 5, 4)
  available[2, 4] <- FALSE
  available[4, 2:4] <- FALSE
  Q <- rbind(c(1.0, 0.2, -0.5, -1.1),
             c(-0.3, 0.9, 0.1, 0),
             c(0.4, 0.4, 0.4, 0.4),
             c(0.7, 0, 0, 0),
             c(1.0, 0.98, -1, -1))
  d <- rbind(
    cbind(1, 1, rep(1, 15)), cbind(1, 2, rep(2, 15)),
    cbind(2, 3, rep(1:4, 3)), cbind(2, 4, rep(1, 5)),
    cbind(3, 1, 3),
    cbind(4, 5, rep(1, 40)), cbind(4, 5, rep(2, 10)),
    cbind(5, 1, rep(4, 8)), cbind(5, 2, rep(1, 7)),
    cbind(6, 1, c(1, 1, 2, 3)), cbind(6, 2, c(2, 3, 1)),
    cbind(6, 3, 2), cbind(6, 4, 1), cbind(6, 5, c(1, 2, 3, 1))
  )
  enc <- encode_decisions(d[, 1], d[, 2], d[, 3], available,
                          reward = rep(0, nrow(d)))
  list(enc = enc, Q = Q)
}

# A problem on which every parallel loop of the core splits its work: J
# participants with n_per decisions over S states (S > 64, the grain of the
# per-state loops), three "hot" states visited by most participants so that
# they hold more than 2 * Data::kBlock = 2048 units (several blocks per state).
big_problem <- function(J = 3000, S = 150, K = 5, n_per = 20, observed = FALSE,
                        seed = 7) {
  set.seed(seed)
  available <- matrix(TRUE, S, K)
  few <- sample(4:S, S %/% 3)
  for (s in few) available[s, sample(K, sample(1:(K - 2), 1))] <- FALSE
  N <- J * n_per
  part <- rep(seq_len(J), each = n_per)
  hot <- stats::runif(N) < 0.3
  state <- ifelse(hot, sample.int(3, N, replace = TRUE),
                  sample.int(S, N, replace = TRUE))
  # a random available action: the k-th available one, k uniform
  n_av <- rowSums(available)
  k <- ceiling(stats::runif(N) * n_av[state])
  cum <- t(apply(available, 1, cumsum))
  action <- rowSums(cum[state, , drop = FALSE] < k) + 1L
  next_state <- sample.int(S, N, replace = TRUE)
  done <- as.integer(stats::runif(N) < 0.1)
  reward <- if (observed) stats::runif(N, -1, 1)
  encode_decisions(part, state, action, available, next_state, done, reward)
}

# Everything the core computes for a problem with a given thread count.
core_results <- function(ptr, p, threads, mu = 0.2, sigma = 0.9) {
  obj <- rlpsy:::core_objective(ptr, p$Q, p$w, p$z, mu, sigma, threads, TRUE)
  es <- rlpsy:::core_estep(ptr, p$Q, p$z, mu, sigma, threads, 100L, 1e-10)
  ms <- rlpsy:::core_mstep(ptr, p$Q, p$w, p$z, 0, 1, FALSE, threads, 4L, 1e-12, TRUE)
  list(objective = obj, estep = es, mstep = ms)
}
