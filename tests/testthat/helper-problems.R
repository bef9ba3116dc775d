# Random problems for the core tests, encoded directly (independent of the
# data contract): participants sorted, 0-based codes, CSR offsets.
random_problem <- function(J = 6, S = 7, K = 4, n_per = 25, masks = TRUE,
                           terminal = TRUE, observed = TRUE, seed = 1) {
  set.seed(seed)
  available <- matrix(TRUE, S, K)
  if (masks) {
    for (s in seq_len(S)) {
      drop <- sample(c(0L, 0L, 1L, K - 1L), 1)  # some states keep one action
      if (drop > 0) available[s, sample(K, drop)] <- FALSE
    }
  }
  n <- rep(n_per, J)
  n[1] <- 1L  # a participant with a single decision
  part <- rep(seq_len(J) - 1L, n)
  N <- length(part)
  state <- sample.int(S, N, replace = TRUE) - 1L
  action <- vapply(state, function(s) {
    ok <- which(available[s + 1L, ])
    ok[sample.int(length(ok), 1)]
  }, 1L) - 1L
  next_state <- sample.int(S, N, replace = TRUE) - 1L
  done <- if (terminal) as.integer(runif(N) < 0.2) else integer(N)
  list(
    n_decisions = N, n_participants = J, n_states = S, n_actions = K,
    offsets = as.integer(c(0, cumsum(n))), participant = part,
    state = state, action = action, next_state = next_state, done = done,
    reward = if (observed) runif(N, -1, 1) else NULL,
    available = available
  )
}

default_settings <- function(...) {
  modifyList(list(gamma = 0.9, tau = 1, eps = 1e-8, lambda_bell = 0.7,
                  lambda_cql = 0.3, lambda_r = 0.05), list(...))
}

random_params <- function(enc, seed = 2) {
  set.seed(seed)
  S <- enc$n_states
  K <- enc$n_actions
  list(Q = matrix(rnorm(S * K), S, K),
       w = if (is.null(enc$reward)) matrix(rnorm(S * K, sd = 0.5), S, K),
       z = rnorm(enc$n_participants, 0.3, 0.6))
}
