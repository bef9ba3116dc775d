# rlpsy_task(), rlpsy_gridworld(), rlpsy_soft_q()

# Checks that `code` fails with an error of `class` and snapshots its message.
expect_task_error <- function(code, class = "rlpsy_error_input") {
  code <- substitute(code)
  env <- parent.frame()
  expect_error(eval(code, env), class = class)
  eval(bquote(expect_snapshot(.(code), error = TRUE)), env)
}

# A small chain task as a dense array: states a, b (decisions) and end
# (terminal); "stay" stays, "go" moves on.
chain_array <- function() {
  lab <- c("a", "b", "end")
  P <- array(0, c(3, 2, 3), dimnames = list(lab, c("stay", "go"), lab))
  P["a", "stay", "a"] <- 1
  P["a", "go", c("a", "b")] <- c(0.2, 0.8)
  P["b", "stay", "b"] <- 1
  P["b", "go", "end"] <- 1
  P
}

chain_df <- function() {
  data.frame(state = c("a", "a", "a", "b", "b"),
             action = c("stay", "go", "go", "stay", "go"),
             next_state = c("a", "a", "b", "b", "end"),
             prob = c(1, 0.2, 0.8, 1, 1))
}

# A random task with terminal states and unavailable actions: states 1..S,
# the last two terminal; dense transition array P.
random_task_parts <- function(S = 6, K = 3, seed = 3) {
  set.seed(seed)
  P <- array(0, c(S, K, S))
  for (s in seq_len(S)) for (a in seq_len(K)) {
    nz <- sample(S, 3)
    P[s, a, nz] <- prop.table(runif(3))
  }
  available <- matrix(TRUE, S, K)
  available[1, 3] <- FALSE
  available[2, c(1, 2)] <- FALSE
  list(P = P, available = available,
       reward = matrix(runif(S * K, -1, 1), S, K),
       terminal = c(rep(FALSE, S - 2), TRUE, TRUE))
}

# Soft Bellman backup computed directly from the dense array.
bellman_backup <- function(Q, parts, gamma, tau) {
  S <- nrow(Q)
  V <- vapply(seq_len(S), function(s) {
    if (parts$terminal[s]) return(0)
    q <- Q[s, parts$available[s, ]]
    max(q) + tau * log(sum(exp((q - max(q)) / tau)))
  }, numeric(1))
  out <- parts$reward
  for (a in seq_len(ncol(Q))) out[, a] <- out[, a] + gamma * parts$P[, a, ] %*% V
  out
}

test_that("array and data-frame specifications give the same task", {
  t1 <- rlpsy_task(chain_array(), reward = 0.5, terminal = "end", start = "a")
  t2 <- rlpsy_task(chain_df(), reward = 0.5, terminal = "end", start = "a")
  expect_s3_class(t1, "rlpsy_task")
  expect_identical(t1, t2)
  expect_identical(t1$states, c("a", "b", "end"))
  expect_identical(t1$actions, c("stay", "go"))
  expect_identical(t1$transitions$offsets, c(0L, 1L, 2L, 2L, 4L, 5L, 5L))
  expect_identical(t1$transitions$next_state, c(0L, 1L, 0L, 1L, 2L))
  expect_equal(t1$transitions$prob, c(1, 1, 0.2, 0.8, 1))
  expect_equal(unname(t1$start), c(1, 0, 0))
  expect_equal(unname(t1$reward[, "go"]), c(0.5, 0.5, 0))  # terminal: 0
  # round trip through as.data.frame()
  back <- as.data.frame(t1)
  expect_named(back, c("state", "action", "next_state", "prob"))
  expect_identical(rlpsy_task(back, reward = 0.5, terminal = "end",
                              start = "a", states = t1$states,
                              actions = t1$actions), t1)
})

test_that("defaults: labels, uniform start, everything available", {
  P <- unname(chain_array())
  task <- rlpsy_task(P, terminal = c(FALSE, FALSE, TRUE))
  expect_identical(task$states, c("1", "2", "3"))
  expect_identical(task$actions, c("1", "2"))
  expect_equal(unname(task$start), c(0.5, 0.5, 0))
  expect_true(all(task$available))
  expect_true(all(task$reward == 0))
  task2 <- rlpsy_task(P, terminal = "z", states = c("x", "y", "z"))
  expect_error(rlpsy_task(P, terminal = 3), NA)
  expect_identical(task2$states, c("x", "y", "z"))
  # numeric data-frame labels are sorted numerically
  df <- data.frame(state = c(10, 2, 2), action = 1, next_state = c(2, 10, 2),
                   prob = c(1, 0.5, 0.5))
  expect_identical(rlpsy_task(df)$states, c("2", "10"))
})

test_that("matrix arguments are matched by dimnames", {
  R <- matrix(1:6, 3, 2, dimnames = list(c("a", "b", "end"), c("stay", "go")))
  t1 <- rlpsy_task(chain_array(), reward = R[3:1, 2:1], terminal = "end")
  expect_equal(t1$reward[c("a", "b"), ], R[c("a", "b"), ] + 0)
  av <- matrix(TRUE, 3, 2, dimnames = dimnames(R))
  av["b", "stay"] <- FALSE
  av["end", ] <- FALSE
  t2 <- rlpsy_task(chain_array(), terminal = "end", available = av[3:1, ])
  expect_false(t2$available["b", "stay"])
  expect_true(all(t2$available["end", ]))  # terminal rows stored as TRUE
  expect_identical(diff(t2$transitions$offsets)[2], 0L)  # ("b", "stay") dropped
  t3 <- rlpsy_task(chain_array(), terminal = "end",
                   start = c(b = 0.25, a = 0.75))
  expect_equal(unname(t3$start), c(0.75, 0.25, 0))
})

test_that("transitions of unavailable actions and terminal states are ignored", {
  P <- chain_array()
  P["end", "go", "a"] <- NA     # terminal state: ignored
  P["b", "stay", "b"] <- 0.3    # unavailable below: ignored
  av <- matrix(TRUE, 3, 2)
  av[2, 1] <- FALSE
  task <- rlpsy_task(P, terminal = "end", available = av)
  expect_identical(nrow(as.data.frame(task)), 4L)
})

test_that("rlpsy_task() rejects bad transitions", {
  expect_task_error(rlpsy_task(1:3))
  expect_task_error(rlpsy_task(array(0, c(2, 2, 3))))
  bad_names <- chain_array()
  dimnames(bad_names)[[3]] <- c("a", "b", "c")
  expect_task_error(rlpsy_task(bad_names))
  expect_task_error(rlpsy_task(chain_array(), states = c("a", "b")))
  expect_task_error(rlpsy_task(chain_df()[, -4]))
  expect_task_error(rlpsy_task(chain_df()[0, ]))
  expect_task_error(rlpsy_task(chain_df(), states = c("a", "b")))
  expect_task_error(rlpsy_task(rbind(chain_df(), chain_df()[2, ])))
  expect_task_error(rlpsy_task(chain_df(), states = c("a", "a", "end")))
  neg <- chain_array()
  neg["a", "go", c("a", "b")] <- c(-0.2, 1.2)
  expect_task_error(rlpsy_task(neg, terminal = "end"))
  na <- chain_df()
  na$prob[4] <- NA
  expect_task_error(rlpsy_task(na, terminal = "end"))
  short <- chain_df()
  short$prob[2] <- 0.1
  expect_task_error(rlpsy_task(short, terminal = "end"))
  # ("end", *) has no transitions, so "end" must be terminal
  expect_task_error(rlpsy_task(chain_df()))
})

test_that("rlpsy_task() rejects bad terminal, available, reward and start", {
  P <- chain_array()
  expect_task_error(rlpsy_task(P, terminal = c(FALSE, TRUE)))
  expect_task_error(rlpsy_task(P, terminal = "exit"))
  expect_task_error(rlpsy_task(P, terminal = c(TRUE, TRUE, TRUE)))
  expect_task_error(rlpsy_task(P, terminal = "end", available = matrix(TRUE, 2, 2)))
  expect_task_error(rlpsy_task(P, terminal = "end", available = matrix(1, 3, 2)))
  av <- matrix(TRUE, 3, 2)
  av[1, 2] <- NA
  expect_task_error(rlpsy_task(P, terminal = "end", available = av))
  av[1, ] <- FALSE
  expect_task_error(rlpsy_task(P, terminal = "end", available = av))
  expect_task_error(rlpsy_task(P, terminal = "end", reward = 1:2))
  expect_task_error(rlpsy_task(P, terminal = "end", reward = matrix(0, 2, 3)))
  expect_task_error(rlpsy_task(P, terminal = "end", reward = "1"))
  R <- matrix(0, 3, 2, dimnames = list(c("a", "b", "c"), NULL))
  expect_task_error(rlpsy_task(P, terminal = "end", reward = R))
  R <- matrix(0, 3, 2)
  R[2, 1] <- NA
  expect_task_error(rlpsy_task(P, terminal = "end", reward = R))
  expect_task_error(rlpsy_task(P, terminal = "end", start = c(0.5, 0.6, 0)))
  expect_task_error(rlpsy_task(P, terminal = "end", start = c(0.5, 0.5)))
  expect_task_error(rlpsy_task(P, terminal = "end", start = c(1.5, -0.5, 0)))
  expect_task_error(rlpsy_task(P, terminal = "end", start = c(0.5, 0, 0.5)))
  expect_task_error(rlpsy_task(P, terminal = "end", start = "end"))
  expect_task_error(rlpsy_task(P, terminal = "end", start = "c"))
  expect_task_error(rlpsy_task(P, terminal = "end", start = c(c = 1)))
  expect_task_error(rlpsy_task(P, terminal = "end", start = list(1)))
})

test_that("print shows the task's size and labels", {
  task <- rlpsy_task(chain_array(), reward = 0.5, terminal = "end", start = "a")
  expect_snapshot(print(task))
  expect_snapshot(print(rlpsy_gridworld(3, 3, walls = c(2, 2), trap = c(1, 3))))
})

test_that("a large sparse task is built without a dense array", {
  set.seed(4)
  S <- 1000
  K <- 10
  df <- data.frame(state = rep(seq_len(S), each = K * 5),
                   action = rep(rep(seq_len(K), each = 5), S),
                   next_state = sample(S, S * K * 5, replace = TRUE),
                   prob = 0.2)
  df <- df[!duplicated(df[, 1:3]), ]
  df$prob <- 1 / ave(df$prob, df$state, df$action, FUN = length)
  task <- rlpsy_task(df, reward = matrix(runif(S * K, -1, 1), S, K),
                     terminal = as.character(1:10))
  expect_identical(task$n_states, 1000L)
  expect_length(task$transitions$offsets, S * K + 1)
  Q <- rlpsy_soft_q(task, gamma = 0.9)
  expect_identical(dim(Q), c(1000L, 10L))
  expect_true(all(is.finite(Q)))
})

test_that("gridworld structure: rows sum to 1, walls and edges block moves", {
  grid <- rlpsy_gridworld(3, 4, walls = rbind(c(2, 2), c(2, 3)),
                          goal = c(3, 4), trap = c(1, 4), slip = 0.1)
  expect_identical(grid$states, c("r1c1", "r1c2", "r1c3", "r1c4", "r2c1",
                                  "r2c4", "r3c1", "r3c2", "r3c3", "r3c4"))
  expect_identical(grid$actions, c("up", "down", "left", "right"))
  expect_identical(unname(grid$terminal), grid$states %in% c("r3c4", "r1c4"))
  expect_identical(unname(grid$start), as.numeric(grid$states == "r1c1"))
  tr <- as.data.frame(grid)
  sums <- tapply(tr$prob, paste(tr$state, tr$action), sum)
  expect_length(sums, 8 * 4)
  expect_equal(unname(as.vector(sums)), rep(1, 32), tolerance = 1e-12)
  expect_false(any(tr$state %in% c("r3c4", "r1c4")))  # terminal: no moves
  prob <- function(s, a, s2) sum(tr$prob[tr$state == s & tr$action == a &
                                           tr$next_state == s2])
  # "up" from r1c1: blocked by the edge (0.9), slips left (edge, stays) or
  # right / down (0.1 / 3 each)
  expect_equal(prob("r1c1", "up", "r1c1"), 0.9 + 0.1 / 3)
  expect_equal(prob("r1c1", "up", "r1c2"), 0.1 / 3)
  expect_equal(prob("r1c1", "up", "r2c1"), 0.1 / 3)
  # "down" from r1c2 runs into the wall at (2, 2)
  expect_equal(prob("r1c2", "down", "r1c2"), 0.9 + 0.1 / 3)
  expect_equal(prob("r3c3", "right", "r3c4"), 0.9)
  # expected rewards: entering the goal gives 1, the trap -1, else -0.04
  expect_equal(grid$reward["r3c3", "right"], 0.9 * 1 + 0.1 / 3 * (-0.04) * 2 +
                 0.1 / 3 * (-0.04))
  expect_equal(grid$reward["r1c3", "right"], 0.9 * -1 + 0.1 * -0.04)
  expect_true(all(grid$reward >= -1 & grid$reward <= 1))
  expect_identical(grid$layout$row, c(1L, 1L, 1L, 1L, 2L, 2L, 3L, 3L, 3L, 3L))
  # without slip moves are deterministic
  g0 <- rlpsy_gridworld(2, 2, goal = c(2, 2), slip = 0)
  expect_true(all(as.data.frame(g0)$prob == 1))
})

test_that("gridworld accepts cells in several forms", {
  a <- rlpsy_gridworld(4, 4, walls = rbind(c(2, 2), c(3, 3)))
  b <- rlpsy_gridworld(4, 4, walls = list(c(2, 2), c(3, 3)))
  c <- rlpsy_gridworld(4, 4, walls = data.frame(row = c(2, 3), col = c(2, 3)))
  expect_identical(a, b)
  expect_identical(a, c)
  multi <- rlpsy_gridworld(3, 3, start = rbind(c(1, 1), c(1, 2)))
  expect_equal(unname(multi$start[c("r1c1", "r1c2")]), c(0.5, 0.5))
  expect_false(any(rlpsy_gridworld(3, 3, goal = NULL)$terminal))
})

test_that("rlpsy_gridworld() rejects bad input", {
  expect_task_error(rlpsy_gridworld(nrow = 0))
  expect_task_error(rlpsy_gridworld(ncol = 2.5))
  expect_task_error(rlpsy_gridworld(walls = c(6, 1)))
  expect_task_error(rlpsy_gridworld(walls = c(1, 2, 3)))
  expect_task_error(rlpsy_gridworld(walls = list(c(1, 2), 3)))
  expect_task_error(rlpsy_gridworld(walls = c(5, 5)))
  expect_task_error(rlpsy_gridworld(trap = c(5, 5)))
  expect_task_error(rlpsy_gridworld(start = c(5, 5)))
  expect_task_error(rlpsy_gridworld(start = NULL))
  expect_task_error(rlpsy_gridworld(slip = 1.5))
  expect_task_error(rlpsy_gridworld(goal_reward = 2))
  expect_task_error(rlpsy_gridworld(step_cost = -0.1))
})

test_that("soft value iteration solves the soft Bellman equation", {
  parts <- random_task_parts()
  task <- rlpsy_task(parts$P, reward = parts$reward, terminal = parts$terminal,
                     available = parts$available)
  for (tau in c(1, 0.3)) {
    Q <- rlpsy_soft_q(task, gamma = 0.85, tau = tau)
    expect_identical(dimnames(Q), list(task$states, task$actions))
    expect_true(all(is.na(Q[!parts$available & !parts$terminal])))
    expect_true(all(Q[parts$terminal, ] == 0))
    used <- parts$available & !parts$terminal
    backup <- bellman_backup(Q, parts, gamma = 0.85, tau = tau)
    expect_lt(max(abs(backup[used] - Q[used])), 1e-8)
    # an independent pure-R iteration reaches the same fixed point
    Qr <- matrix(0, nrow(Q), ncol(Q))
    for (i in 1:400) Qr <- bellman_backup(Qr, parts, gamma = 0.85, tau = tau)
    expect_lt(max(abs(Qr[used] - Q[used])), 1e-8)
  }
  # gamma = 0: Q is the reward
  Q0 <- rlpsy_soft_q(task, gamma = 0)
  expect_equal(Q0[used <- parts$available & !parts$terminal], parts$reward[used])
})

test_that("soft value iteration is stable for large values and small tau", {
  parts <- random_task_parts(seed = 5)
  task <- rlpsy_task(parts$P, reward = parts$reward * 50,
                     terminal = parts$terminal, available = parts$available)
  Q <- rlpsy_soft_q(task, gamma = 0.9, tau = 0.01)
  used <- parts$available & !parts$terminal
  expect_true(all(is.finite(Q[used])))
  parts$reward <- parts$reward * 50
  backup <- bellman_backup(Q, parts, gamma = 0.9, tau = 0.01)
  expect_lt(max(abs(backup[used] - Q[used])), 1e-7)
})

test_that("rlpsy_soft_q() rejects bad input and reports non-convergence", {
  grid <- rlpsy_gridworld(3, 3)
  expect_task_error(rlpsy_soft_q(list(), gamma = 0.9))
  expect_task_error(rlpsy_soft_q(grid))
  expect_task_error(rlpsy_soft_q(grid, gamma = 1))
  expect_task_error(rlpsy_soft_q(grid, gamma = -0.1))
  expect_task_error(rlpsy_soft_q(grid, gamma = c(0.5, 0.9)))
  expect_task_error(rlpsy_soft_q(grid, gamma = 0.9, tau = 0))
  expect_task_error(rlpsy_soft_q(grid, gamma = 0.9, max_iter = 2.5))
  expect_task_error(rlpsy_soft_q(grid, gamma = 0.9, max_iter = 3),
                    class = "rlpsy_error_numerical")
})
