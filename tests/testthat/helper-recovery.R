# Simulated recovery problems built with the package's own task tools.
random_task <- function(S = 25, K = 4, branching = 3, seed = 1) {
  set.seed(seed)
  pairs <- expand.grid(state = seq_len(S), action = seq_len(K))
  tr <- pairs[rep(seq_len(nrow(pairs)), each = branching), ]
  tr$next_state <- as.vector(replicate(nrow(pairs), sample.int(S, branching)))
  tr$prob <- as.vector(replicate(nrow(pairs), prop.table(runif(branching))))
  rlpsy_task(tr, reward = matrix(runif(S * K, -1, 1), S, K),
             states = seq_len(S), actions = seq_len(K))
}

simulate_people <- function(task, n_participants = 200, n_decisions = 150,
                            gamma = 0.9, tau = 1, seed = 2) {
  set.seed(seed)
  beta <- exp(rnorm(n_participants, log(2), 0.5))
  names(beta) <- sprintf("p%03d", seq_len(n_participants))
  rlpsy_simulate(task, beta, n_decisions, gamma = gamma, tau = tau)
}

fit_people <- function(sims, reward = "reward", gamma = 0.9, tau = 1, ...) {
  rlpsy_fit(sims, participant = "participant", state = "state",
            action = "action", next_state = "next_state", done = "done",
            reward = reward, gamma = gamma, tau = tau,
            control = rlpsy_control(threads = 2, ...))
}

recovery_stats <- function(fit, sims) {
  truth <- attr(sims, "beta")[names(coef(fit))]
  se <- fit$se
  lower <- exp(fit$z - qnorm(0.975) * se)
  upper <- exp(fit$z + qnorm(0.975) * se)
  c(cor = cor(fit$z, log(truth)), ratio = median(coef(fit) / truth),
    coverage = mean(lower <= truth & truth <= upper))
}

# The issue's recovery criteria: cor(log beta_hat, log beta) >= 0.9, median
# beta_hat / beta in [0.85, 1.15] (the scale is identified), and 95% Wald
# intervals covering the true beta for 90-99% of participants.
expect_recovered <- function(fit, sims) {
  r <- recovery_stats(fit, sims)
  expect_gte(r[["cor"]], 0.9)
  expect_gte(r[["ratio"]], 0.85)
  expect_lte(r[["ratio"]], 1.15)
  expect_gte(r[["coverage"]], 0.90)
  expect_lte(r[["coverage"]], 0.99)
}
