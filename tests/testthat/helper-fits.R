# Small fits for the tests of the methods, built from a planted simulation
# written in plain R (independent of rlpsy_simulate()): a random MDP, soft
# value iteration, and participants who choose with
# softmax(beta_j * identified advantage of the soft Q). Each fit is computed
# once per test run and cached.

# A random MDP with states "s1".."s5" plus a terminal state "end" (seen only
# as a next state) and actions "a", "b", "c"; action "c" does not exist in
# state "s3".
planted_task <- function(seed = 11) {
  set.seed(seed)
  states <- c(paste0("s", 1:5), "end")
  actions <- c("a", "b", "c")
  S <- length(states)
  K <- length(actions)
  available <- matrix(TRUE, S, K, dimnames = list(states, actions))
  available["s3", "c"] <- FALSE
  P <- array(0, c(S, K, S), dimnames = list(states, actions, states))
  for (s in 1:5) for (a in 1:K) {
    p <- stats::rexp(S)^2
    P[s, a, ] <- p / sum(p)
  }
  P["end", , "end"] <- 1
  R <- matrix(round(stats::runif(S * K, -1, 1), 2), S, K, dimnames = dimnames(available))
  R["end", ] <- 0
  R[!available] <- 0
  list(states = states, actions = actions, available = available, P = P, R = R)
}

# Soft value iteration: Q(s, a) = R(s, a) + gamma sum_s' P(s' | s, a) V(s'),
# V(s) = tau log sum_a exp(Q(s, a) / tau) over available actions, V(end) = 0.
planted_soft_q <- function(task, gamma = 0.9, tau = 1, n_iter = 500) {
  S <- length(task$states)
  K <- length(task$actions)
  av <- task$available
  V <- numeric(S)
  for (i in seq_len(n_iter)) {
    Q <- task$R + gamma * matrix(
      vapply(seq_len(K), function(a) task$P[, a, ] %*% V, numeric(S)), S, K)
    X <- Q / tau
    X[!av] <- -Inf
    m <- apply(X, 1, max)
    V <- tau * (m + log(rowSums(exp(X - m))))
    V[S] <- 0
  }
  dimnames(Q) <- dimnames(av)
  Q
}

# Decisions of J participants, n_per each, in episodes that start in a random
# non-terminal state; rows shuffled so that the data order differs from the
# order by participant.
planted_data <- function(J = 12, n_per = 40, seed = 12) {
  task <- planted_task()
  Q <- planted_soft_q(task)
  A <- reference_advantage(Q, task$available)
  set.seed(seed)
  beta <- stats::setNames(exp(stats::rnorm(J, log(2), 0.5)), sprintf("p%02d", 1:J))
  rows <- vector("list", J)
  for (j in seq_len(J)) {
    s <- sample.int(5, 1)
    d <- data.frame(id = names(beta)[j], state = character(n_per),
                    action = character(n_per), next_state = character(n_per),
                    done = logical(n_per), reward = numeric(n_per))
    for (t in seq_len(n_per)) {
      eta <- beta[j] * A[s, ]
      eta[!task$available[s, ]] <- -Inf
      p <- exp(eta - max(eta))
      a <- sample.int(3, 1, prob = p / sum(p))
      s2 <- sample.int(6, 1, prob = task$P[s, a, ])
      d[t, 2:6] <- list(task$states[s], task$actions[a], task$states[s2],
                        s2 == 6, task$R[s, a])
      s <- if (s2 == 6) sample.int(5, 1) else s2
    }
    rows[[j]] <- d
  }
  data <- do.call(rbind, rows)
  data <- data[sample.int(nrow(data)), ]
  rownames(data) <- NULL
  structure(data, beta = beta, Q = Q, advantage = A, task = task)
}

.fit_cache <- new.env(parent = emptyenv())

# The planted data (cached); the caller's RNG state is left as it was.
small_data <- function() {
  if (is.null(.fit_cache$data)) {
    old <- get0(".Random.seed", envir = globalenv(), inherits = FALSE)
    on.exit(if (is.null(old)) rm(".Random.seed", envir = globalenv()) else
      assign(".Random.seed", old, envir = globalenv()))
    .fit_cache$data <- planted_data()
  }
  .fit_cache$data
}

# 40 decisions per participant leave 1-8 transitions for some (s, a) pairs,
# too few for the empirical task values to be accurate, so the observed-reward
# fit lets the behaviour shape Q (lambda_bell = 0.01; the methods, not the
# defaults, are tested here), and the identification warnings (entropy bonus
# with tau = 1, departure from the task) are muffled.
# Fit with the observed reward (reward = TRUE) or a learned one (FALSE;
# capped at 20 EM iterations, which the profiled M-step no longer needs, so
# both converge; a convergence warning would be muffled), cached. `available` is passed so that
# "s3"/"c" is unavailable.
small_fit <- function(reward = TRUE) {
  key <- if (reward) "fit_observed" else "fit_learned"
  if (is.null(.fit_cache[[key]])) {
    d <- small_data()
    av <- attr(d, "task")$available
    .fit_cache[[key]] <- withCallingHandlers(
      if (reward) {
        rlpsy_fit(d, participant = "id", state = "state", action = "action",
                  next_state = "next_state", done = "done", reward = "reward",
                  available = av, gamma = 0.9,
                  control = rlpsy_control(threads = 1, progress = FALSE,
                                          lambda_bell = 0.01))
      } else {
        rlpsy_fit(d, participant = "id", state = "state", action = "action",
                  next_state = "next_state", done = "done", available = av,
                  gamma = 0.9,
                  control = rlpsy_control(threads = 1, progress = FALSE, max_iter = 20))
      },
      rlpsy_warning_convergence = function(w) invokeRestart("muffleWarning"),
      rlpsy_warning_identification = function(w) invokeRestart("muffleWarning"))
  }
  .fit_cache[[key]]
}
