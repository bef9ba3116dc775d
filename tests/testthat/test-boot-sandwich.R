# confint(method = "sandwich"): Q's uncertainty by the delta method through
# the profiled scores, with the sandwich covariance of the task parameters

test_that("sandwich intervals contain the estimates, widen Wald and compare with boot", {
  task <- eco_task()
  fit <- eco_fit(eco_sims(task, J = 25, n = 60, sd = 0.4, seed = 8), task)
  sw <- confint(fit, method = "sandwich")
  wald <- confint(fit)
  expect_identical(dimnames(unclass(sw)[, 1:2]), dimnames(wald))
  expect_true(all(sw[, 1] < coef(fit) & coef(fit) < sw[, 2]))
  # the same centres (on the log scale) as Wald, and never narrower
  expect_equal(log(sw[, 1]) + log(sw[, 2]), log(wald[, 1]) + log(wald[, 2]),
               tolerance = 1e-10)
  expect_true(all(attr(sw, "se") >= fit$se - 1e-12))
  boot <- suppressWarnings(confint(fit, method = "boot", R = 20, seed = 3),
                           classes = "rlpsy_warning_identification")
  ratio <- mean(log(sw[, 2] / sw[, 1])) / mean(log(boot[, 2] / boot[, 1]))
  expect_gt(ratio, 0.5)  # same order of magnitude as the bootstrap's widths
  expect_lt(ratio, 2)
  expect_identical(confint(fit, parm = 2:3, method = "sandwich"), {
    s <- sw[2:3, ]
    attr(s, "se") <- attr(sw, "se")[2:3]
    s
  })
})

test_that("the sandwich's finite differences are those of a smooth profiled objective", {
  task <- eco_task()
  fit <- eco_fit(eco_sims(task, J = 25, n = 60, sd = 0.4, seed = 8), task)
  parts <- rlpsy:::sandwich_parts(fit)
  H <- parts$H
  # the Hessian of the profiled objective is symmetric and positive
  # semi-definite at the fit (a minimum), up to the differencing error
  expect_lt(max(abs(H - t(H))), 1e-4 * max(abs(H)))
  ev <- eigen((H + t(H)) / 2, symmetric = TRUE)$values
  expect_gt(min(ev), -1e-6 * max(ev))
  # z*(x) at the fit's parameters reproduces the fit's scores
  x0 <- c(as.vector(rlpsy:::fit_theta(fit)), as.vector(unclass(fit$w)))
  at <- rlpsy:::profiled_gradient(fit)(x0)
  expect_equal(at$z, unname(fit$z), tolerance = 1e-6)
  # dz*/dx does not depend on the step of the central difference
  k <- which.max(colSums(abs(parts$G)))
  h <- 3e-5
  f <- rlpsy:::profiled_gradient(fit)
  fd <- (f(replace(x0, k, x0[k] + h))$z - f(replace(x0, k, x0[k] - h))$z) / (2 * h)
  expect_equal(fd, parts$G[, k], tolerance = 1e-3)
})

test_that("the per-participant gradient contributions add up for decomposable terms", {
  fit <- small_fit(reward = FALSE)
  x0 <- c(as.vector(rlpsy:::fit_theta(fit)), as.vector(unclass(fit$w)))
  S <- rlpsy:::person_gradients(fit, x0)
  expect_equal(dim(S), c(fit$data$n_participants, length(x0)))
  expect_true(all(is.finite(S)))
})

test_that("the sandwich refuses what it cannot do", {
  fit <- small_fit()
  expect_classed_error(rlpsy:::sandwich_check(fit, max_params = 10),
                       "method = \"boot\"", "limited to 10")
  expect_classed_error(confint(fit, method = "sandwich", R = 10), "`R` and `seed`")
  marginal <- fit
  marginal$method <- "marginal"
  expect_classed_error(confint(marginal, method = "sandwich"), "MAP fit", "method = \"boot\"")
  regression <- fit
  regression$person_design <- matrix(1, fit$data$n_participants, 1)
  expect_classed_error(confint(regression, method = "sandwich"), "person_formula")
})

test_that("the sandwich holds the parameters of collapsed states fixed", {
  # a learned reward on sparse data: some states' values collapse below
  # sqrt(eps), where the curvature is some 10^8 times the rest
  task <- random_task(S = 30, K = 4, seed = 3)
  sims <- simulate_people(task, n_participants = 100, n_decisions = 30, seed = 103)
  fit <- suppressWarnings(fit_people(sims, reward = NULL),
                          classes = "rlpsy_warning_identification")
  bad <- fit$diagnostics$collapsed_states$state
  expect_gt(length(bad), 0L)
  fixed <- rlpsy:::sandwich_fixed(fit)
  th <- rlpsy:::fit_theta(fit)
  rows <- match(bad, fit$data$states)
  expect_identical(sum(fixed), 2L * length(rows) * ncol(th))  # Q and reward
  parts <- rlpsy:::sandwich_parts(fit)
  expect_identical(parts$free, which(!fixed))
  expect_true(all(parts$H[, fixed] == 0) && all(parts$G[, fixed] == 0))
  expect_true(all(parts$V[fixed, ] == 0))
  # the free part is well conditioned: the pseudo-inverse keeps the
  # directions the data determine (more than the available pairs' Q)
  Hf <- parts$H[parts$free, parts$free]
  ev <- eigen((Hf + t(Hf)) / 2, symmetric = TRUE, only.values = TRUE)$values
  expect_lt(max(ev), 1e6)
  expect_gt(sum(ev > 1e-8 * max(ev)), 0.8 * sum(fit$data$available[-rows, ]))
})
