# simulate(type = "trajectory") and per-participant lengths in
# rlpsy_simulate() (issue 14)

test_that("rlpsy_simulate() takes one n_decisions per participant", {
  task <- eco_task()
  set.seed(1)
  sim <- rlpsy_simulate(task, c(a = 1, b = 2, c = 3), n_decisions = c(5, 12, 5),
                        gamma = 0.9, tau = 0.05)
  expect_equal(as.vector(table(sim$participant)[c("a", "b", "c")]), c(5, 12, 5))
  expect_identical(unique(sim$participant), c("a", "b", "c"))
  # one length for all is the old behaviour, draw for draw
  set.seed(2)
  s1 <- rlpsy_simulate(task, c(a = 1, b = 2), n_decisions = 7, gamma = 0.9, tau = 0.05)
  set.seed(2)
  s2 <- rlpsy_simulate(task, c(a = 1, b = 2), n_decisions = c(7, 7), gamma = 0.9,
                       tau = 0.05)
  expect_identical(s1, s2)
  expect_snapshot(rlpsy_simulate(task, c(a = 1, b = 2), c(5, 6, 7)), error = TRUE)
  expect_error(rlpsy_simulate(task, c(a = 1, b = 2), c(5, 0)),
               class = "rlpsy_error_input")
})

test_that("trajectories follow the empirical transitions with observed lengths", {
  fit <- example_fit()
  tr <- simulate(fit, type = "trajectory", nsim = 2, seed = 3)
  expect_identical(names(tr), c("sim", "participant", "state", "action",
                                "next_state", "done", "reward"))
  expect_equal(nrow(tr), 2 * 30000)
  n <- table(tr$participant[tr$sim == 1])
  expect_equal(as.vector(n), as.vector(table(rlpsy_example$participant)))
  # only transitions seen in the data
  key <- function(d) paste(d$state, d$action, d$next_state)
  expect_true(all(key(tr) %in% key(rlpsy_example)))
  # episodes restart at r1c1 after a terminal move, and continue otherwise
  t1 <- tr[tr$sim == 1 & tr$participant == "p0001", ]
  nxt <- t1$state[-1]
  expect_true(all(nxt[t1$done[-nrow(t1)]] == "r1c1"))
  expect_true(all(nxt[!t1$done[-nrow(t1)]] == t1$next_state[-nrow(t1)][!t1$done[-nrow(t1)]]))
  # new states are visited, not only the observed decisions redrawn
  expect_false(identical(tr$state[tr$sim == 1], rlpsy_example$state))
  # visits per state resemble the data's
  obs <- prop.table(table(rlpsy_example$state))
  sim <- prop.table(table(factor(tr$state, levels = names(obs))))
  expect_lt(max(abs(obs - sim)), 0.02)
  # reproducible, refittable, and the refit recovers the betas
  expect_identical(simulate(fit, type = "trajectory", nsim = 2, seed = 3), tr)
  refit <- rlpsy_fit(tr[tr$sim == 1, ], participant, state, action, next_state,
                     done = done, reward = reward, gamma = 0.9, tau = 0.05,
                     control = rlpsy_control(threads = 1, progress = FALSE))
  expect_gt(cor(log(coef(refit)), log(coef(fit))), 0.8)
})

test_that("trajectories in a given task use its transitions", {
  fit <- example_fit()
  task <- attr(rlpsy_example, "task")
  tr <- simulate(fit, type = "trajectory", task = task, seed = 4)
  expect_equal(nrow(tr), 30000)
  expect_true(all(tr$state %in% task$states[!task$terminal]))
  expect_true(all(tr$state[!duplicated(tr$participant)] == "r1c1"))
  expect_classed_error(simulate(fit, type = "trajectory", task = list()), "rlpsy_task")
  expect_classed_error(simulate(fit, task = task), "type = \"trajectory\"")
  expect_classed_error(simulate(fit, type = "path"), "`type`")
})
