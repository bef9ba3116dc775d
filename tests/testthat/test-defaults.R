# The defaults keep Q the task's (issue "scores that measure"): task
# consistency, q = "task", scale-free weights, warm starts, global
# normalisation and the identification diagnostics, each triggered and not.

task_fit <- function(sims, ..., control = list()) {
  rlpsy_fit(sims, participant = "participant", state = "state", action = "action",
            next_state = "next_state", done = "done", reward = "reward",
            gamma = 0.9, ..., control = do.call(rlpsy_control, c(list(threads = 2), control)))
}

dense_problem <- local({
  cache <- NULL
  function() {
    if (is.null(cache)) {
      task <- random_task(S = 12, K = 4, seed = 21)
      cache <<- list(task = task, sims = simulate_people(task, n_participants = 150,
                                                        n_decisions = 80, seed = 22))
    }
    cache
  }
})

test_that("default fits keep the task's advantage and recover beta", {
  p <- dense_problem()
  # data from the model raise no identification warning (no diagnostic fires)
  expect_warning(fit <- task_fit(p$sims), NA)
  expect_true(fit$converged)
  expect_gt(fit$diagnostics$task_consistency, 0.999)
  expect_identical(nrow(fit$diagnostics$never_taken), 0L)
  expect_identical(nrow(fit$diagnostics$flat_states), 0L)
  expect_recovered(fit, p$sims)
  # q = "task" holds Q at the task's values exactly and gives the same betas
  fixed <- task_fit(p$sims, q = "task")
  expect_identical(fixed$diagnostics$task_consistency, 1)
  expect_equal(unname(fixed$Q), unname(rlpsy:::core_task_q(fixed$core, 1e5L, 1e-12)$Q))
  expect_lt(max(abs(fixed$z - fit$z)), 0.02)
  # a given task values every action (its soft Q), and beta is recovered too
  known <- task_fit(p$sims, q = "task", task = p$task)
  Qt <- rlpsy_soft_q(p$task, 0.9, 1)
  expect_equal(unclass(known$Q), Qt[rownames(known$Q), colnames(known$Q)],
               tolerance = 1e-8, ignore_attr = TRUE)
  expect_recovered(known, p$sims)
})

test_that("the weights are scale-free: rewards and tau times 1e9 give the same betas", {
  # (the soft value is equivariant when tau scales with the reward)
  p <- dense_problem()
  big <- p$sims
  big$reward <- big$reward * 1e9
  a <- task_fit(p$sims)
  b <- task_fit(big, tau = 1e9)
  expect_true(b$converged)
  expect_equal(b$settings$unit / a$settings$unit, 1e9, tolerance = 1e-8)
  expect_equal(b$z, a$z, tolerance = 1e-3)
  # rewards times 1e9 alone (an almost hard max) still converge to the task's values
  c <- task_fit(big)
  expect_true(c$converged)
  expect_gt(c$diagnostics$task_consistency, 0.999)
  expect_true(all(is.finite(c$z)))
})

test_that("a weak Bellman weight lets Q drift and the diagnostics say so", {
  p <- dense_problem()
  expect_warning(fit <- task_fit(p$sims, control = list(lambda_bell = 1e-6, lambda_cql = 0)),
                 "task consistency", class = "rlpsy_warning_identification")
  expect_lt(fit$diagnostics$task_consistency, 0.99)
  expect_match(paste(capture.output(summary(fit)), collapse = "\n"), "task consistency")
})

test_that("start = fit continues a fit and adds new participants", {
  p <- dense_problem()
  fit <- task_fit(p$sims)
  again <- task_fit(p$sims, start = fit)
  expect_lte(again$iterations, 2L)
  expect_equal(again$z, fit$z, tolerance = 1e-6)
  first <- p$sims[p$sims$participant %in% sprintf("p%03d", 1:100), ]
  part <- task_fit(first)
  more <- task_fit(p$sims, start = part)
  expect_equal(more$z, fit$z, tolerance = 1e-4)
  expect_error(task_fit(p$sims, start = "fit"), class = "rlpsy_error_input")
  other <- p$sims
  other$state <- paste0("x", other$state)
  other$next_state <- paste0("x", other$next_state)
  expect_error(task_fit(other, start = fit), "same state and action labels",
               class = "rlpsy_error_input")
})

test_that("q, normalise and task are validated", {
  p <- dense_problem()
  expect_error(task_fit(p$sims, q = "fixed"), "`q`", class = "rlpsy_error_input")
  expect_error(task_fit(p$sims, normalise = "none"), "`normalise`",
               class = "rlpsy_error_input")
  expect_error(task_fit(p$sims, task = p$task), "q = \"task\"",
               class = "rlpsy_error_input")
  expect_error(task_fit(p$sims, q = "task", task = 1), "`task`",
               class = "rlpsy_error_input")
  expect_error(rlpsy_fit(p$sims, "participant", "state", "action", "next_state",
                         gamma = 0.9, q = "task"), "learned reward",
               class = "rlpsy_error_input")
})

test_that("global normalisation recovers beta on data simulated with it", {
  task <- random_task(S = 12, K = 4, seed = 23)
  set.seed(24)
  beta <- stats::setNames(exp(stats::rnorm(200, log(2), 0.5)), sprintf("p%03d", 1:200))
  sims <- rlpsy_simulate(task, beta, 100, gamma = 0.9, tau = 1, normalise = "global")
  fit <- task_fit(sims, normalise = "global")
  expect_true(fit$converged)
  expect_recovered(fit, sims)
  # one RMS over the states with decisions: mean over them of mean_a A^2 is 1
  enc <- fit$data
  A <- unclass(fit$advantage)
  n_s <- tabulate(enc$state + 1L, enc$n_states)
  expect_equal(mean((rowSums(A^2) / rowSums(enc$available))[n_s > 0]), 1, tolerance = 1e-6)
})

test_that("near-flat states are reported, and only they", {
  sims <- dense_problem()$sims
  fit <- task_fit(sims)
  expect_identical(nrow(fit$diagnostics$flat_states), 0L)
  # make every action of state 1 lead to the same place with the same reward
  flat <- sims
  i <- flat$state == 1
  flat$next_state[i] <- 2
  flat$reward[i] <- 0.3
  # (the behaviour then shapes the flat state's advantage: both are reported)
  expect_warning(fit2 <- task_fit(flat), "hardly differ",
                 class = "rlpsy_warning_identification")
  expect_identical(fit2$diagnostics$flat_states$state, "1")
  # flat_states = "drop": the flat state's choices no longer move any beta
  # (its decisions still count for the task's values)
  shuffled <- flat
  set.seed(27)
  shuffled$action[i] <- sample(shuffled$action[i])
  drop <- function(d) suppressWarnings(task_fit(d, control = list(flat_states = "drop")))
  expect_equal(drop(shuffled)$z, drop(flat)$z, tolerance = 1e-6)
  keep <- function(d) suppressWarnings(task_fit(d))
  expect_gt(max(abs(keep(shuffled)$z - keep(flat)$z)), 1e-3)
})

test_that("states whose fitted values collapse to a near-tie are reported, and only they", {
  # observed reward at the defaults: the Bellman term holds every state
  fit <- task_fit(dense_problem()$sims)
  expect_identical(nrow(fit$diagnostics$collapsed_states), 0L)
  # a learned reward holds Q weakly: in states whose choices disagree with
  # every advantage the penalties allow, the values collapse below sqrt(eps)
  task <- random_task(S = 30, K = 4, seed = 3)
  sims <- simulate_people(task, n_participants = 100, n_decisions = 30, seed = 103)
  expect_warning(fit <- fit_people(sims, reward = NULL), "collapsed to a near-tie",
                 class = "rlpsy_warning_identification")
  cs <- fit$diagnostics$collapsed_states
  expect_gt(nrow(cs), 0L)
  # the reported states are exactly those whose advantage RMS is below 0.99
  av <- fit$data$available
  A <- unclass(fit$advantage)
  rms <- sqrt(rowSums(ifelse(av, A, 0)^2) / rowSums(av))
  visited <- tabulate(fit$data$state + 1L, fit$data$n_states) > 0
  expect_setequal(cs$state, rownames(A)[visited & rowSums(av) > 1 & rms < 0.99])
  expect_equal(cs$rms, unname(rms[cs$state]))
  expect_true(all(rms[visited & rowSums(av) > 1 & !(rownames(A) %in% cs$state)] > 0.999))
  expect_output(print(summary(fit)), "collapsed")
  # with global normalisation a state's RMS differs from 1 by design
  glob <- suppressWarnings(rlpsy_fit(sims, participant = "participant", state = "state",
                                     action = "action", next_state = "next_state",
                                     done = "done", gamma = 0.9, normalise = "global",
                                     control = rlpsy_control(threads = 2)))
  expect_identical(nrow(glob$diagnostics$collapsed_states), 0L)
})

test_that("an entropy bonus that outweighs the reward is reported only with terminal decisions", {
  p <- dense_problem()
  expect_true(is.na(task_fit(p$sims)$diagnostics$entropy_ratio))
  ended <- p$sims
  ended$done[seq(50, nrow(ended), by = 50)] <- TRUE
  expect_warning(fit <- task_fit(ended), "entropy bonus",
                 class = "rlpsy_warning_identification")
  expect_gt(fit$diagnostics$entropy_ratio, 1)
  small_tau <- task_fit(ended, tau = 0.01)
  expect_lt(small_tau$diagnostics$entropy_ratio, 1)
})

test_that("actions never taken in a state leave its choice set, with a warning when declared available", {
  p <- dense_problem()
  d <- p$sims
  d <- d[!(d$state == 3 & d$action == 2) & !(d$state == 5 & d$action == 4), ]
  fit <- task_fit(d)
  expect_false(fit$data$available["3", "2"])
  expect_identical(fit$diagnostics$never_taken,
                   data.frame(state = c("3", "5"), action = c("2", "4"),
                              stringsAsFactors = FALSE))
  av <- matrix(TRUE, 12, 4, dimnames = list(1:12, 1:4))
  av["5", "4"] <- FALSE
  expect_warning(task_fit(d, available = av), "never taken",
                 class = "rlpsy_warning_identification")
  # with the task, every available action keeps its value
  known <- task_fit(d, q = "task", task = p$task)
  expect_true(known$data$available["3", "2"])
})
