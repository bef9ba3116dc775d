# Simulated benchmark problems: a random sparse MDP with S states, K actions,
# `branching` possible next states per (s, a), rewards in [-1, 1], and
# participants with log beta ~ N(log 2, 0.5^2). With `min_actions < K`, each
# state has a random number of available actions between `min_actions` and K
# (a random subset), so the fit must use `available`.
bench_task <- function(S, K, branching = 3, seed = 1, min_actions = K) {
  set.seed(seed)
  pairs <- expand.grid(state = seq_len(S), action = seq_len(K))
  tr <- pairs[rep(seq_len(nrow(pairs)), each = branching), ]
  tr$next_state <- as.vector(replicate(nrow(pairs), sample.int(S, branching)))
  tr$prob <- as.vector(replicate(nrow(pairs), prop.table(runif(branching))))
  reward <- matrix(runif(S * K, -1, 1), S, K)
  available <- NULL
  if (min_actions < K) {
    available <- matrix(FALSE, S, K)
    k <- sample(min_actions:K, S, replace = TRUE)
    for (s in seq_len(S)) available[s, sample.int(K, k[s])] <- TRUE
  }
  rlpsy::rlpsy_task(tr, reward = reward, states = seq_len(S), actions = seq_len(K),
                    available = available)
}

bench_data <- function(n_participants, n_per, S, K, gamma = 0.9, seed = 1,
                       min_actions = K) {
  task <- bench_task(S, K, seed = seed, min_actions = min_actions)
  set.seed(seed + 1)
  beta <- exp(rnorm(n_participants, log(2), 0.5))
  rlpsy::rlpsy_simulate(task, beta, n_per, gamma = gamma)
}

# The same problem as a compact, integer-coded data frame (participant,
# state, action, next_state integers; done logical; reward double: 28 bytes a
# decision), which is how large data are usually held, together with the
# task's `available` matrix and the true beta.
bench_data_int <- function(n_participants, n_per, S, K, gamma = 0.9, seed = 1,
                           min_actions = K) {
  task <- bench_task(S, K, seed = seed, min_actions = min_actions)
  set.seed(seed + 1)
  beta <- exp(rnorm(n_participants, log(2), 0.5))
  d <- rlpsy::rlpsy_simulate(task, beta, n_per, gamma = gamma)
  out <- data.frame(
    participant = match(d$participant, names(attr(d, "beta"))),
    state = as.integer(d$state), action = as.integer(d$action),
    next_state = as.integer(d$next_state), done = d$done, reward = d$reward
  )
  av <- task$available
  dimnames(av) <- NULL
  list(data = out, available = av, beta = unname(attr(d, "beta")))
}
