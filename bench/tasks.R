# Simulated benchmark problems: a random sparse MDP with S states, K actions,
# `branching` possible next states per (s, a), rewards in [-1, 1], and
# participants with log beta ~ N(log 2, 0.5^2).
bench_task <- function(S, K, branching = 3, seed = 1) {
  set.seed(seed)
  pairs <- expand.grid(state = seq_len(S), action = seq_len(K))
  tr <- pairs[rep(seq_len(nrow(pairs)), each = branching), ]
  tr$next_state <- as.vector(replicate(nrow(pairs), sample.int(S, branching)))
  tr$prob <- as.vector(replicate(nrow(pairs), prop.table(runif(branching))))
  reward <- matrix(runif(S * K, -1, 1), S, K)
  rlpsy::rlpsy_task(tr, reward = reward, states = seq_len(S), actions = seq_len(K))
}

bench_data <- function(n_participants, n_per, S, K, gamma = 0.9, seed = 1) {
  task <- bench_task(S, K, seed = seed)
  set.seed(seed + 1)
  beta <- exp(rnorm(n_participants, log(2), 0.5))
  rlpsy::rlpsy_simulate(task, beta, n_per, gamma = gamma)
}
