# Edge cases give finite, documented results: trouble is reported per
# participant (fit$participants$status) and as at most one warning, never as
# NaN in an output.

edge_data <- function(J = 6, n = 30, seed = 1) {
  old <- get0(".Random.seed", envir = globalenv(), inherits = FALSE)
  on.exit(if (is.null(old)) rm(".Random.seed", envir = globalenv()) else
    assign(".Random.seed", old, envir = globalenv()))
  set.seed(seed)
  grid <- rlpsy_gridworld(3, 3, goal = c(3, 3), trap = c(2, 3))
  sim <- rlpsy_simulate(grid, exp(stats::rnorm(J, log(2), 0.5)), n,
                        gamma = 0.9, tau = 0.1)
  attr(sim, "task") <- grid
  sim
}

# Fit and collect the warnings (returned as attribute "warnings").
edge_fit <- function(d, ..., reward = "reward", done = "done", gamma = 0.9,
                     tau = 0.1, control = list()) {
  ctrl <- do.call(rlpsy_control, utils::modifyList(
    list(threads = 1, progress = FALSE, max_iter = 300), control))
  warns <- list()
  fit <- withCallingHandlers(
    rlpsy_fit(d, "participant", "state", "action", "next_state", done = done,
              reward = reward, gamma = gamma, tau = tau, ..., control = ctrl),
    warning = function(w) {
      warns[[length(warns) + 1L]] <<- w
      invokeRestart("muffleWarning")
    })
  attr(fit, "warnings") <- warns
  fit
}

# Every numeric output of a fit and its methods is finite (summary's
# documented NAs aside), and there is at most one warning per kind, all of
# them rlpsy warnings.
expect_finite_fit <- function(fit) {
  for (el in c("beta", "z", "se", "prior", "Q", "advantage", "value", "objective")) {
    expect_true(all(is.finite(fit[[el]])), info = el)
  }
  if (!is.null(fit$w)) expect_true(all(is.finite(fit$reward[fit$data$available])))
  expect_true(all(is.finite(fit$trace$total)))
  expect_true(all(is.finite(confint(fit))))
  P <- predict(fit)
  expect_true(all(is.finite(P)))
  expect_equal(unname(rowSums(P)), rep(1, nrow(P)))
  b <- predict(fit, type = "beta")
  expect_true(all(is.finite(as.matrix(b[, c("beta", "z", "se", "lower", "upper")]))))
  expect_true(is.finite(logLik(fit)))
  s <- summary(fit)
  expect_true(all(is.finite(s$objective[, "value"])))
  expect_false(any(is.nan(unlist(s$fit))))
  expect_false(is.nan(s$reliability))
  sims <- simulate(fit, seed = 1)
  expect_false(anyNA(sims$sim_1))
  grDevices::pdf(NULL)
  on.exit(grDevices::dev.off(), add = TRUE)
  expect_silent(plot(fit))
  w <- attr(fit, "warnings")
  for (x in w) expect_s3_class(x, "rlpsy_warning")
  kinds <- vapply(w, function(x) class(x)[1], "")
  expect_false(anyDuplicated(kinds) > 0)
  invisible(fit)
}

test_that("a single participant falls back to the fixed prior with a warning", {
  d <- edge_data()
  one <- d[d$participant == d$participant[1], ]
  fit <- edge_fit(one)
  expect_finite_fit(fit)
  kinds <- vapply(attr(fit, "warnings"), function(x) class(x)[1], "")
  expect_true("rlpsy_warning_prior" %in% kinds)
  expect_true(fit$prior_fixed)
  expect_equal(unname(fit$prior), c(0, 1))
  expect_true(is.na(summary(fit)$reliability))
  # one participant with a single decision
  fit1 <- edge_fit(one[1, ])
  expect_finite_fit(fit1)
  expect_equal(nrow(fit1$participants), 1L)
  # an explicitly fixed prior gives no warning
  fit2 <- edge_fit(one, control = list(prior = c(mu = 0.5, sigma = 1)))
  expect_length(attr(fit2, "warnings"), 0L)
})

test_that("a participant with one decision gets a finite, shrunk score", {
  d <- edge_data()
  keep <- d$participant != "p0002" | !duplicated(d$participant)
  fit <- edge_fit(d[keep, ])
  expect_finite_fit(fit)
  p <- fit$participants
  expect_equal(p$n_decisions[p$participant == "p0002"], 1L)
  # one decision carries little information: the SE stays close to the prior's
  expect_gt(fit$se[["p0002"]], 0.5 * fit$prior[["sigma"]])
})

test_that("a participant who always takes the best action has a finite beta", {
  d <- edge_data()
  A <- attr(d, "advantage")
  best <- colnames(A)[max.col(A, ties.method = "first")]
  names(best) <- rownames(A)
  i <- d$participant == "p0003"
  d$action[i] <- best[d$state[i]]
  fit <- edge_fit(d)
  expect_finite_fit(fit)
  expect_gt(fit$beta[["p0003"]], stats::median(fit$beta))
  expect_equal(as.character(fit$participants$status[fit$participants$participant == "p0003"]),
               "converged")
  # everybody always best: the ML estimates are all infinite, the prior keeps
  # them finite (EM may stop at max_iter with one warning)
  d$action <- best[d$state]
  fit <- edge_fit(d, control = list(max_iter = 50))
  expect_finite_fit(fit)
})

test_that("states with a single available action carry no information and give no NaN", {
  d <- edge_data()
  task <- attr(d, "task")
  av <- task$available
  av["r1c1", ] <- c(TRUE, FALSE, FALSE, FALSE)
  d$action[d$state == "r1c1"] <- "up"
  fit <- edge_fit(d, available = av)
  expect_finite_fit(fit)
  expect_equal(unname(predict(fit, type = "advantage")["r1c1", "up"]), 0)
  P <- predict(fit)
  expect_equal(unname(P[d$state == "r1c1", "up"]), rep(1, sum(d$state == "r1c1")))
  # a participant whose decisions are all in single-action states: the data
  # say nothing about beta, so the score is the prior mean with the prior SD
  extra <- d[d$state == "r1c1", ][1:3, ]
  extra$participant <- "only_forced"
  fit2 <- edge_fit(rbind(d, extra), available = av)
  expect_finite_fit(fit2)
  expect_equal(fit2$z[["only_forced"]], fit2$prior[["mu"]], tolerance = 1e-6)
  expect_equal(fit2$se[["only_forced"]], fit2$prior[["sigma"]], tolerance = 1e-6)
  # every state has a single action: no information about beta anywhere
  av1 <- av
  av1[, ] <- FALSE
  av1[, "up"] <- TRUE
  d1 <- d
  d1$action <- "up"
  fit3 <- edge_fit(d1, available = av1)
  expect_finite_fit(fit3)
  expect_true(is.na(summary(fit3)$fit[["pseudo_r2"]]))
})

test_that("states where all Q are equal give finite E-steps and gradients", {
  d <- edge_data()
  enc <- rlpsy_data(d, "participant", "state", "action", "next_state", "done", "reward")
  settings <- list(gamma = 0.9, tau = 1, eps = 1e-8, lambda_bell = 1,
                   lambda_cql = 0.5, lambda_r = 1)
  core <- rlpsy:::core_new(enc, settings)
  S <- enc$n_states
  K <- enc$n_actions
  for (Q in list(matrix(0, S, K), matrix(3.5, S, K),
                 cbind(matrix(1, S, K - 1), 1 + 1e-300))) {
    e <- rlpsy:::core_estep(core, Q, numeric(enc$n_participants), 0.2, 0.8, 1L,
                            100L, 1e-8)
    expect_true(all(is.finite(unlist(e[c("z", "se", "loglik")]))))
    expect_equal(e$z, rep(0.2, enc$n_participants), tolerance = 1e-8)
    expect_equal(e$se, rep(0.8, enc$n_participants), tolerance = 1e-8)
    o <- rlpsy:::core_objective(core, Q, NULL, e$z, 0.2, 0.8, 1L, TRUE)
    expect_true(all(is.finite(o$components)))
    expect_true(all(is.finite(o$grad_theta)))
  }
  # data in which every participant chooses the same action everywhere
  d$action <- "up"
  fit <- edge_fit(d)
  expect_finite_fit(fit)
})

test_that("huge and tiny rewards give finite fits", {
  d <- edge_data()
  for (scale in c(1e12, 1e50, 1e-300, 0)) {
    x <- d
    x$reward <- x$reward * scale
    fit <- edge_fit(x)
    expect_finite_fit(fit)
  }
})

test_that("long episodes with gamma near 1 give finite fits", {
  d <- edge_data(n = 60)
  d$done <- FALSE
  for (g in c(0.999, 0.999999)) {
    fit <- edge_fit(d, gamma = g)
    expect_finite_fit(fit)
    fit <- edge_fit(d, gamma = g, reward = NULL, control = list(max_iter = 30))
    expect_finite_fit(fit)
  }
})

test_that("extreme lambdas, tau and fixed priors give finite fits", {
  d <- edge_data()
  for (lam in c(0, 1e-12, 1e10)) {
    ctrl <- list(lambda_bell = lam, lambda_cql = lam, lambda_r = lam, max_iter = 40)
    expect_finite_fit(edge_fit(d, control = ctrl))
    expect_finite_fit(edge_fit(d, reward = NULL, control = ctrl))
  }
  for (tau in c(1e-6, 1e6)) {
    expect_finite_fit(edge_fit(d, tau = tau, control = list(max_iter = 40)))
  }
  for (pr in list(c(mu = 0, sigma = 1e-6), c(mu = 0, sigma = 100), c(mu = 50, sigma = 1),
                  c(mu = -50, sigma = 1))) {
    expect_finite_fit(edge_fit(d, control = list(prior = pr, max_iter = 40)))
  }
})

test_that("predict and simulate handle zero-row and one-row inputs", {
  fit <- small_fit()
  nd <- data.frame(id = character(), state = character())
  P <- predict(fit, nd)
  expect_equal(dim(P), c(0L, length(fit$data$actions)))
  expect_length(predict(fit, nd, type = "action"), 0L)
  one <- data.frame(id = "p01", state = "s1", action = "a")
  b <- predict(fit, one, type = "beta")
  expect_equal(nrow(b), 1L)
  expect_true(all(is.finite(c(b$beta, b$se, b$lower, b$upper))))
})
