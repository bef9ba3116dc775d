# rlpsy_simulate()

expect_sim_error <- function(code, class = "rlpsy_error_input") {
  code <- substitute(code)
  env <- parent.frame()
  expect_error(eval(code, env), class = class)
  eval(bquote(expect_snapshot(.(code), error = TRUE)), env)
}

# Three decision states and a terminal state; state "s3" lacks action "c";
# episodes start in s1 (30%) or s2 (70%).
small_task <- function() {
  lab <- c("s1", "s2", "s3", "end")
  P <- array(0, c(4, 3, 4), dimnames = list(lab, c("a", "b", "c"), lab))
  P["s1", "a", ] <- c(0, 0.5, 0.5, 0)
  P["s1", "b", ] <- c(0.2, 0, 0, 0.8)
  P["s1", "c", ] <- c(0, 0, 1, 0)
  P["s2", "a", ] <- c(0.5, 0, 0, 0.5)
  P["s2", "b", ] <- c(0, 0, 0.6, 0.4)
  P["s2", "c", ] <- c(0.1, 0.1, 0.1, 0.7)
  P["s3", "a", ] <- c(0.3, 0.3, 0.4, 0)
  P["s3", "b", ] <- c(0, 0, 0, 1)
  av <- matrix(TRUE, 4, 3)
  av[3, 3] <- FALSE
  R <- matrix(c(0.1, -0.2, 0.3, 0, 0.5, 0.2, -0.4, 0, -0.1, 0.6, 0, 0), 4, 3)
  rlpsy_task(P, reward = R, terminal = "end", available = av,
             start = c(s1 = 0.3, s2 = 0.7))
}

# Identified advantage computed directly: centre and scale over available
# actions.
direct_advantage <- function(Q, available, eps = 1e-8) {
  A <- matrix(0, nrow(Q), ncol(Q), dimnames = dimnames(Q))
  for (s in seq_len(nrow(Q))) {
    ok <- available[s, ]
    cen <- Q[s, ok] - mean(Q[s, ok])
    A[s, ok] <- cen / sqrt(mean(cen^2) + eps)
  }
  A
}

test_that("simulation is reproducible under set.seed()", {
  task <- small_task()
  set.seed(11)
  a <- rlpsy_simulate(task, c(1, 2, 3), n_decisions = 40)
  set.seed(11)
  b <- rlpsy_simulate(task, c(1, 2, 3), n_decisions = 40)
  expect_identical(a, b)
  set.seed(12)
  c <- rlpsy_simulate(task, c(1, 2, 3), n_decisions = 40)
  expect_false(identical(a$action, c$action))
})

test_that("output has the rlpsy_fit() layout, ids and attributes", {
  task <- small_task()
  set.seed(1)
  sim <- rlpsy_simulate(task, c(ann = 1, bob = 2.5), n_decisions = 7,
                        gamma = 0.8, tau = 0.5)
  expect_s3_class(sim, "data.frame")
  expect_named(sim, c("participant", "state", "action", "next_state", "done",
                      "reward"))
  expect_type(sim$participant, "character")
  expect_type(sim$state, "character")
  expect_type(sim$action, "character")
  expect_type(sim$next_state, "character")
  expect_type(sim$done, "logical")
  expect_type(sim$reward, "double")
  expect_identical(sim$participant, rep(c("ann", "bob"), each = 7))
  expect_identical(attr(sim, "beta"), c(ann = 1, bob = 2.5))
  Q <- rlpsy_soft_q(task, gamma = 0.8, tau = 0.5)
  expect_identical(attr(sim, "Q"), Q)
  expect_equal(attr(sim, "advantage"), direct_advantage(Q, task$available))
  expect_identical(sim$done, unname(task$terminal[sim$next_state]))
  expect_identical(sim$reward, task$reward[cbind(sim$state, sim$action)])
  # generated ids
  ids <- unique(rlpsy_simulate(task, rep(1, 3), 2)$participant)
  expect_identical(ids, c("p0001", "p0002", "p0003"))
  ids <- unique(rlpsy_simulate(task, rep(1, 10001), 1)$participant)
  expect_identical(ids[c(1, 10001)], c("p00001", "p10001"))
})

test_that("every participant makes exactly n_decisions decisions", {
  task <- small_task()
  set.seed(2)
  beta <- exp(rnorm(25))
  sim <- rlpsy_simulate(task, beta, n_decisions = 33)
  expect_identical(nrow(sim), 25L * 33L)
  expect_true(all(table(sim$participant) == 33))
  expect_identical(unique(sim$participant), sprintf("p%04d", 1:25))
})

test_that("episodes continue until a terminal state, then restart from start", {
  task <- small_task()
  set.seed(3)
  sim <- rlpsy_simulate(task, rep(c(0.5, 3), 100), n_decisions = 50)
  n <- nrow(sim)
  same <- sim$participant[-1] == sim$participant[-n]
  cont <- same & !sim$done[-n]
  expect_identical(sim$state[-1][cont], sim$next_state[-n][cont])
  # first decisions and decisions after a terminal state start a new episode
  first <- c(TRUE, !same | sim$done[-n])
  starts <- sim$state[first]
  expect_true(all(starts %in% c("s1", "s2")))
  expect_gt(sum(first), 1000)
  restarts <- sim$state[-1][same & sim$done[-n]]
  p_s1 <- mean(restarts == "s1")
  expect_lt(abs(p_s1 - 0.3), 4 * sqrt(0.3 * 0.7 / length(restarts)))
  expect_false(any(sim$state == "end"))
})

test_that("choice frequencies match softmax(beta * A) per state", {
  task <- small_task()
  Q <- matrix(c(1, 0.2, -0.5, 0, 0.3, 0.9, 0.4, 0, -1, 0.1, NA, 0), 4, 3,
              dimnames = list(task$states, task$actions))
  beta <- 1.3
  set.seed(4)
  sim <- rlpsy_simulate(task, rep(beta, 200), n_decisions = 1000, Q = Q)
  expect_identical(attr(sim, "Q"), Q)
  A <- direct_advantage(Q, task$available)
  expect_false(any(sim$state == "s3" & sim$action == "c"))
  for (s in c("s1", "s2", "s3")) {
    ok <- task$available[s, ]
    p <- exp(beta * A[s, ok]) / sum(exp(beta * A[s, ok]))
    acts <- sim$action[sim$state == s]
    freq <- as.vector(table(factor(acts, levels = task$actions[ok]))) / length(acts)
    se <- sqrt(p * (1 - p) / length(acts))
    expect_lt(max(abs(freq - p) / se), 4.5)
    # next states follow the transition probabilities
    for (a in task$actions[ok]) {
      nxt <- sim$next_state[sim$state == s & sim$action == a]
      pt <- as.data.frame(task)
      pt <- pt[pt$state == s & pt$action == a, ]
      fr <- as.vector(table(factor(nxt, levels = pt$next_state))) / length(nxt)
      se <- sqrt(pt$prob * (1 - pt$prob) / length(nxt))
      expect_lt(max(abs(fr - pt$prob) / pmax(se, 1e-12)), 4.5)
    }
  }
})

test_that("a larger beta means choosing the best action more often", {
  grid <- rlpsy_gridworld(4, 4, goal = c(4, 4), trap = c(3, 3))
  set.seed(5)
  sim <- rlpsy_simulate(grid, c(low = 0.3, high = 4), 3000, tau = 0.05)
  A <- attr(sim, "advantage")
  best <- A[cbind(sim$state, sim$action)] == apply(A, 1, max)[sim$state]
  rate <- tapply(best, sim$participant, mean)
  expect_gt(rate[["high"]], rate[["low"]] + 0.3)
  expect_gt(sum(sim$done & sim$next_state == "r4c4" & sim$participant == "high"),
            50)
})

test_that("a user Q is matched by dimnames and may be NA where unused", {
  task <- small_task()
  Q <- matrix(rnorm(12), 4, 3, dimnames = list(task$states, task$actions))
  Q["s3", "c"] <- NA
  Q["end", ] <- NA
  set.seed(6)
  a <- rlpsy_simulate(task, 2, 20, Q = Q)
  set.seed(6)
  b <- rlpsy_simulate(task, 2, 20, Q = Q[4:1, 3:1])
  expect_identical(a[1:6], b[1:6])
  expect_true(all(attr(a, "advantage")["end", ] == 0))
})

test_that("rlpsy_simulate() rejects bad input", {
  task <- small_task()
  expect_sim_error(rlpsy_simulate("grid", 1, 10))
  expect_sim_error(rlpsy_simulate(task, numeric(0), 10))
  expect_sim_error(rlpsy_simulate(task, c(1, -1, NA), 10))
  expect_sim_error(rlpsy_simulate(task, c(a = 1, a = 2), 10))
  expect_sim_error(rlpsy_simulate(task, c(a = 1, 2), 10))
  expect_sim_error(rlpsy_simulate(task, 1, 0))
  expect_sim_error(rlpsy_simulate(task, 1, 2.5))
  expect_sim_error(rlpsy_simulate(task, 1, 10, gamma = 1))
  expect_sim_error(rlpsy_simulate(task, 1, 10, Q = matrix(0, 3, 3)))
  expect_sim_error(rlpsy_simulate(task, 1, 10, Q = matrix(NA_real_, 4, 3)))
  expect_sim_error(rlpsy_simulate(task, 1, 10, eps = 0))
})
