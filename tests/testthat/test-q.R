# Generalisable Q (issue 12): feature-based and neural value functions,
# rewards r(s, a, s'), new tasks, the core split (shards, person nodes).

# Features of a task's (state, action) pairs: its own soft Q ("value") and
# two noise columns.
task_features <- function(task, gamma = 0.9, tau = 1, seed = 1) {
  Qt <- rlpsy_soft_q(task, gamma, tau)
  f <- data.frame(state = rep(rownames(Qt), ncol(Qt)),
                  action = rep(colnames(Qt), each = nrow(Qt)),
                  value = as.vector(Qt), stringsAsFactors = FALSE)
  f <- f[!is.na(f$value), ]
  set.seed(seed)
  f$noise1 <- rnorm(nrow(f))
  f$noise2 <- rnorm(nrow(f))
  f
}

q_fit <- function(sims, q, reward = "reward", reward_model = NULL, ...) {
  rlpsy_fit(sims, "participant", "state", "action", "next_state", done = "done",
            reward = reward, gamma = 0.9, q = q, reward_model = reward_model,
            control = rlpsy_control(progress = FALSE, ...))
}

one_hot <- function(fit) {
  av <- fit$data$available
  idx <- which(av, arr.ind = TRUE)
  X <- diag(nrow(idx))
  colnames(X) <- paste0("f", seq_len(nrow(idx)))
  cbind(data.frame(state = rownames(av)[idx[, 1]], action = colnames(av)[idx[, 2]],
                   stringsAsFactors = FALSE), X)
}

test_that("a linear Q trained on one task scores new people on a larger one from its features alone", {
  train_task <- random_task(S = 40, K = 4, seed = 3)
  train <- simulate_people(train_task, 200, 100, seed = 4)
  fit <- suppressWarnings(q_fit(train, rlpsy_q_linear(task_features(train_task))))
  expect_true(fit$converged)
  # the weight of the task's own values dominates the noise columns
  expect_gt(fit$theta[["value"]], 20 * max(abs(fit$theta[c("noise1", "noise2")])))

  new_task <- random_task(S = 80, K = 4, seed = 30)
  set.seed(31)
  beta <- exp(rnorm(200, log(2), 0.5))
  names(beta) <- sprintf("n%03d", seq_along(beta))
  new <- rlpsy_simulate(new_task, beta, 100, gamma = 0.9, tau = 1)
  feats <- task_features(new_task, seed = 32)
  sc <- predict(fit, new, type = "beta", features = feats)
  truth <- beta[sc$participant]
  expect_gte(cor(log(sc$beta), log(truth)), 0.9)
  expect_lt(abs(median(sc$beta / truth) - 1), 0.10)
  # the new task's Q and advantage come from the features; probabilities
  # for the new people use their scores
  A <- predict(fit, type = "advantage", features = feats)
  expect_identical(dim(A), c(80L, 4L))
  P <- predict(fit, new[1:5, ], type = "prob", features = feats)
  expect_equal(rowSums(P), rep(1, 5))
  # logLik on the new task with the scored betas
  ll <- logLik(fit, newdata = new, features = feats)
  expect_identical(attr(ll, "nobs"), nrow(new))
  expect_lt(as.numeric(ll), 0)
})

test_that("one-hot features reproduce the table fit", {
  sims <- simulate_people(random_task(S = 25, K = 4, seed = 1), 200, 100, seed = 2)
  fit <- q_fit(sims, "joint", threads = 1)
  fl <- q_fit(sims, rlpsy_q_linear(one_hot(fit)), threads = 1)
  expect_lt(abs(as.numeric(logLik(fl)) / as.numeric(logLik(fit)) - 1), 1e-6)
  expect_lt(max(abs(fl$z - fit$z)), 1e-3)
  expect_equal(unclass(fl$Q)[fit$data$available], unclass(fit$Q)[fit$data$available],
               tolerance = 1e-4)
})

test_that("every Q type and reward form gives identical fits at 1 and 2 threads", {
  task <- random_task(S = 15, K = 3, seed = 5)
  sims <- simulate_people(task, 60, 60, seed = 6)
  feats <- task_features(task)
  tf <- data.frame(state = sims$state, action = sims$action, next_state = sims$next_state)
  tf <- unique(tf)
  set.seed(7)
  tf$x <- rnorm(nrow(tf))
  tf$y <- rnorm(nrow(tf))
  cases <- list(
    table = list(q = "joint", reward = "reward", rm = NULL),
    linear = list(q = rlpsy_q_linear(feats), reward = "reward", rm = NULL),
    mlp = list(q = rlpsy_q_mlp(feats, hidden = 4), reward = "reward", rm = NULL),
    sas = list(q = "joint", reward = NULL, rm = rlpsy_reward_table(next_state = TRUE)),
    linear_reward = list(q = rlpsy_q_linear(feats), reward = NULL,
                         rm = rlpsy_reward_linear(tf))
  )
  for (nm in names(cases)) {
    k <- cases[[nm]]
    fits <- lapply(1:2, function(th) suppressWarnings(
      rlpsy_fit(sims, "participant", "state", "action", "next_state", done = "done",
                reward = k$reward, gamma = 0.9, q = k$q, reward_model = k$rm,
                control = rlpsy_control(threads = th, max_iter = 30))))
    expect_identical(fits[[1]]$z, fits[[2]]$z, info = nm)
    expect_identical(fits[[1]]$theta, fits[[2]]$theta, info = nm)
    expect_identical(fits[[1]]$objective, fits[[2]]$objective, info = nm)
  }
})

test_that("a fit from 3 participant shards is identical to the unsharded fit", {
  # shards split at multiples of 1,024 participants: 2,100 make 3 shards
  task <- random_task(S = 20, K = 3, seed = 8)
  set.seed(9)
  beta <- exp(rnorm(2100, log(2), 0.5))
  names(beta) <- sprintf("p%04d", seq_along(beta))
  sims <- rlpsy_simulate(task, beta, 10, gamma = 0.9, tau = 1)
  fits <- lapply(c(1, 3), function(sh) q_fit(sims, "joint", shards = sh, threads = 2))
  expect_identical(rlpsy:::core_info(fits[[2]]$core)$n_shards, 3L)
  expect_identical(fits[[2]]$z, fits[[1]]$z)
  expect_identical(fits[[2]]$se, fits[[1]]$se)
  expect_identical(fits[[2]]$Q, fits[[1]]$Q)
  expect_identical(fits[[2]]$objective, fits[[1]]$objective)
  expect_identical(fits[[2]]$trace$total, fits[[1]]$trace$total)
  # more shards than chunks of 1,024 participants: one per chunk
  small <- rlpsy:::core_new(small_fit()$data, small_fit()$settings, 5L)
  expect_identical(rlpsy:::core_info(small)$n_shards, 1L)
})

test_that("the MLP's and the linear Q's gradients and the reward forms match finite differences", {
  task <- random_task(S = 8, K = 3, seed = 10)
  sims <- simulate_people(task, 20, 30, seed = 11)
  feats <- task_features(task)
  enc <- rlpsy_data(sims, "participant", "state", "action", "next_state", done = "done")
  settings <- list(gamma = 0.9, tau = 1, eps = 1e-8, lambda_bell = 2, lambda_cql = 0.1,
                   lambda_r = 0.5, normalise = "state")
  tf <- unique(data.frame(state = sims$state, action = sims$action, next_state = sims$next_state))
  set.seed(12)
  tf$x <- rnorm(nrow(tf))
  z <- rnorm(enc$n_participants, 0.5, 0.3)
  for (qm in list(rlpsy_q_mlp(feats, hidden = 3), rlpsy_q_linear(feats))) {
    for (rm in list(NULL, rlpsy_reward_table(next_state = TRUE), rlpsy_reward_linear(tf))) {
      qs <- rlpsy:::q_standardise(qm, enc$states, enc$actions, enc$available)
      params <- list(q = rlpsy:::q_params(qs, enc$states, enc$actions, enc$available),
                     reward = rm)
      core <- rlpsy:::make_core(enc, settings, params)
      info <- rlpsy:::core_info(core)
      set.seed(13)
      theta <- rnorm(info$n_theta, 0, 0.5)
      w <- if (is.null(rm)) matrix(rnorm(enc$n_states * enc$n_actions, 0, 0.3),
                                   enc$n_states) else rnorm(info$n_w, 0, 0.3)
      if (is.matrix(w)) w[!enc$available] <- 0
      f <- function(th, ww) rlpsy:::core_objective(core, th, ww, z, 0.2, 0.8, 1L, FALSE)$value
      got <- rlpsy:::core_objective(core, theta, w, z, 0.2, 0.8, 1L, TRUE)
      fd_t <- central_diff(function(th) f(th, w), theta)
      fd_w <- central_diff(function(ww) f(theta, ww), w)
      expect_lt(max_rel_err(got$grad_theta, fd_t), 1e-6)
      expect_lt(max_rel_err(as.vector(got$grad_w)[as.vector(w) != 0 | !is.matrix(w)],
                            as.vector(fd_w)[as.vector(w) != 0 | !is.matrix(w)]), 1e-6)
    }
  }
})

test_that("the Q parameterisations' curvature is the Gauss-Newton diagonal", {
  set.seed(14)
  SK <- 12L
  X <- matrix(rnorm(SK * 3), SK)
  for (q in list(list(type = "linear", features = X),
                 list(type = "mlp", features = X, hidden = 2L))) {
    n <- if (q$type == "linear") 3L else 2L * 3L + 2L * 2L + 1L
    theta <- rnorm(n)
    hQ <- runif(SK)
    got <- rlpsy:::q_backprop_cpp(q, theta, numeric(SK), hQ)$curvature
    # column p of the Jacobian by finite differences
    J <- sapply(seq_len(n), function(p) {
      e <- replace(numeric(n), p, 1e-6)
      (rlpsy:::q_values_cpp(q, theta + e, SK, 1L) - rlpsy:::q_values_cpp(q, theta - e, SK, 1L)) / 2e-6
    })
    expect_equal(got, colSums(J^2 * hQ), tolerance = 1e-6)
    dQ <- rnorm(SK)
    expect_equal(rlpsy:::q_backprop_cpp(q, theta, dQ, hQ)$gradient,
                 as.vector(crossprod(J, dQ)), tolerance = 1e-6)
  }
})

test_that("features are validated with errors naming the problem", {
  f <- data.frame(state = c("a", "a", "b"), action = c("x", "y", "x"), v = c(1, 2, 3))
  expect_error(rlpsy_q_linear(f[, c("state", "v")]), class = "rlpsy_error_input",
               regexp = "action")
  expect_error(rlpsy_q_linear(f[, c("state", "action")]), class = "rlpsy_error_input",
               regexp = "no feature columns")
  expect_error(rlpsy_q_linear(transform(f, v = c(1, NA, 3))), class = "rlpsy_error_input",
               regexp = "non-finite.*row 2")
  expect_error(rlpsy_q_linear(transform(f, k = 5)), class = "rlpsy_error_input",
               regexp = "constant feature column \"k\"")
  expect_error(rlpsy_q_linear(rbind(f, f[1, ])), class = "rlpsy_error_input",
               regexp = "more than one row")
  expect_error(rlpsy_q_linear(transform(f, v = letters[1:3])), class = "rlpsy_error_input",
               regexp = "numeric")
  expect_error(rlpsy_q_mlp(f, hidden = 0), class = "rlpsy_error_input", regexp = "hidden")
  # a pair of the data without a row
  task <- random_task(S = 6, K = 2, seed = 15)
  sims <- simulate_people(task, 10, 20, seed = 16)
  feats <- task_features(task)
  miss <- feats[-1, ]
  expect_error(q_fit(sims, rlpsy_q_linear(miss)), class = "rlpsy_error_features",
               regexp = paste0("\\(", feats$state[1], ", ", feats$action[1], "\\)"))
  expect_error(q_fit(sims, "joint", reward = NULL,
                     reward_model = rlpsy_reward_linear(data.frame(
                       state = "1", action = "1", next_state = "1", x = 1, y = 2))),
               class = "rlpsy_error_features", regexp = "next_state")
  expect_error(q_fit(sims, "joint", reward_model = rlpsy_reward_table(TRUE)),
               class = "rlpsy_error_input", regexp = "observed")
  fit <- q_fit(sims, "joint")
  expect_error(predict(fit, type = "q", features = feats), class = "rlpsy_error_input",
               regexp = "table")
  fl <- suppressWarnings(q_fit(sims, rlpsy_q_linear(feats)))
  expect_error(predict(fl, type = "q", features = feats[, -3]), class = "rlpsy_error_input",
               regexp = "missing \"value\"")
  expect_error(predict(fl, type = "reward", features = feats), class = "rlpsy_error_input")
})

test_that("a learned reward r(s, a, s') is reported per transition", {
  sims <- simulate_people(random_task(S = 10, K = 3, seed = 17), 40, 50, seed = 18)
  fit <- suppressWarnings(q_fit(sims, "joint", reward = NULL,
                                reward_model = rlpsy_reward_table(next_state = TRUE)))
  r <- predict(fit, type = "reward")
  expect_named(r, c("state", "action", "next_state", "reward"))
  expect_identical(nrow(r), nrow(unique(sims[c("state", "action", "next_state")])))
  expect_true(all(abs(r$reward) < 1))
  expect_identical(length(fit$w), nrow(r))
  # a warm start continues the fit of the same form
  again <- suppressWarnings(rlpsy_fit(sims, "participant", "state", "action", "next_state",
                                      done = "done", gamma = 0.9,
                                      reward_model = rlpsy_reward_table(next_state = TRUE),
                                      start = fit, control = rlpsy_control(progress = FALSE)))
  expect_lte(again$iterations, 2L)
  expect_error(rlpsy_fit(sims, "participant", "state", "action", "next_state",
                         done = "done", gamma = 0.9, start = fit),
               class = "rlpsy_error_input", regexp = "same")
})

test_that("logLik(newdata) of the fitted decisions equals the fit's likelihood", {
  fit <- small_fit()
  d <- small_data()
  expect_equal(as.numeric(logLik(fit, newdata = d)), as.numeric(logLik(fit)), tolerance = 1e-8)
  expect_identical(attr(logLik(fit, newdata = d), "nobs"), nrow(d))
  # explicit betas and new participants
  nd <- d[d$id == d$id[1], ]
  nd$id <- "someone_new"
  ll1 <- logLik(fit, newdata = nd, beta = 1)
  P <- predict(fit, nd, type = "prob", beta = 1)
  expect_equal(as.numeric(ll1), sum(log(P[cbind(seq_len(nrow(nd)),
                                              match(nd$action, colnames(P)))])))
  sc <- predict(fit, nd, type = "beta")
  expect_equal(as.numeric(logLik(fit, newdata = nd)), as.numeric(logLik(fit, newdata = nd, beta = sc$beta)))
  expect_error(logLik(fit, features = 1), class = "rlpsy_error_input", regexp = "newdata")
  expect_error(logLik(fit, newdata = d, type = "marginal"), class = "rlpsy_error_input")
  expect_error(predict(fit, nd, type = "prob", beta = c(a = 1)), class = "rlpsy_error_input",
               regexp = "someone_new")
  expect_error(predict(fit, type = "q", beta = 1), class = "rlpsy_error_input")
})
