# The latent regression of log(beta) on person covariates (issue 13, item 2).

latent_problem <- function() latent_sims()

fit_latent <- function(p, formula = ~ x, pd = p$pd, ...) {
  rlpsy_fit(p$sims, participant = "participant", state = "state",
            action = "action", next_state = "next_state", done = "done",
            reward = "reward", gamma = 0.9, tau = 1, person_data = pd,
            person_formula = formula, control = rlpsy_control(threads = 2), ...)
}

test_that("the latent regression recovers a covariate's slope (0.6) within 0.1", {
  p <- latent_problem()
  fit <- fit_latent(p)
  co <- fit$prior$coefficients
  expect_identical(dimnames(co), list(c("(Intercept)", "x"), "log_beta"))
  expect_lt(abs(co["x", 1] - 0.6), 0.1)
  expect_lt(abs(co["(Intercept)", 1] - 0.3), 0.1)
  expect_lt(abs(fit$prior$sigma - 0.3), 0.1)
  # the slope's SE: positive, at least the error-free regression's, and the
  # estimate within 4 SE of the truth
  X <- cbind(1, p$pd$x)
  se <- fit$prior$se[["x"]]
  expect_gte(se, fit$prior$sigma * sqrt(solve(crossprod(X))[2, 2]))
  expect_lt(abs(co["x", 1] - 0.6) / se, 4)
  # the participants' prior means are X Gamma, and mu their mean
  expect_equal(unname(fit$prior$mean), drop(X %*% co[, 1]))
  expect_equal(fit$prior$mu, mean(fit$prior$mean))
})

test_that("scores shrink toward the covariate-predicted mean", {
  p <- latent_problem()
  fit <- fit_latent(p)
  plain <- rlpsy_fit(p$sims, participant = "participant", state = "state",
                     action = "action", next_state = "next_state", done = "done",
                     reward = "reward", gamma = 0.9, tau = 1,
                     control = rlpsy_control(threads = 2))
  truth <- p$z[names(fit$z)]
  # closer to the truth than scores shrunk toward one mean
  expect_lt(sqrt(mean((fit$z - truth)^2)), 0.9 * sqrt(mean((plain$z - truth)^2)))
  # each mode is the E-step's mode under its own prior mean x_j' Gamma
  e <- rlpsy:::core_estep(rlpsy:::fit_core(fit), rlpsy:::fit_theta(fit),
                          unname(plain$z), unname(fit$prior$mean),
                          fit$prior$sigma, 1L, 100L, 1e-10)
  expect_equal(e$z, unname(fit$z), tolerance = 1e-6)
  # and the empirical-Bayes fixed point holds: Gamma is the least-squares
  # fit of the modes, sigma^2 = mean(residual^2 + se^2)
  X <- cbind(1, p$pd$x)
  expect_equal(unname(fit$prior$coefficients[, 1]), unname(qr.coef(qr(X), fit$z)),
               tolerance = 1e-4)
  expect_equal(fit$prior$sigma,
               sqrt(mean((fit$z - fit$prior$mean)^2 + fit$se^2)), tolerance = 1e-4)
  # the participants table's log-likelihood is the behaviour term alone (the
  # E-step's log posterior less each one's own prior term)
  l <- rlpsy:::core_person_grid(rlpsy:::fit_core(fit), rlpsy:::fit_theta(fit),
                                matrix(unname(fit$z)), 1L)[, 1]
  expect_equal(fit$participants$loglik, l, tolerance = 1e-8)
  expect_equal(fit$participants$loglik,
               e$loglik + (e$z - unname(fit$prior$mean))^2 / (2 * fit$prior$sigma^2),
               tolerance = 1e-6)
})

test_that("an intercept-only latent regression is the plain empirical-Bayes fit", {
  p <- latent_problem()
  sub <- p$sims[p$sims$participant %in% p$pd$participant[1:60], ]
  plain <- rlpsy_fit(sub, participant = "participant", state = "state",
                     action = "action", next_state = "next_state", done = "done",
                     reward = "reward", gamma = 0.9, tau = 1,
                     control = rlpsy_control(threads = 2))
  expect_identical(names(plain$prior), c("mu", "sigma"))
  one <- fit_latent(list(sims = sub), ~ 1, pd = p$pd)
  expect_equal(one$prior$coefficients[[1]], plain$prior[["mu"]], tolerance = 1e-5)
  expect_equal(one$prior$sigma, plain$prior[["sigma"]], tolerance = 1e-5)
  expect_equal(one$z, plain$z, tolerance = 1e-5)
  # factors work, and rows of person_data may come in any order
  two <- fit_latent(list(sims = sub), ~ g, pd = p$pd[nrow(p$pd):1, ])
  expect_identical(rownames(two$prior$coefficients), c("(Intercept)", "gb"))
})

test_that("bad person data give input errors that name the problem", {
  p <- latent_problem()
  sub <- p$sims[p$sims$participant %in% p$pd$participant[1:20], ]
  pd <- p$pd[1:20, ]
  f <- function(formula = ~ x, pd = p$pd[1:20, ], ...) {
    fit_latent(list(sims = sub), formula, pd = pd, ...)
  }
  expect_error(f(pd = pd[-(3:4), ]), "lacks 2 participants.*p003", class = "rlpsy_error_input")
  expect_error(f(pd = rbind(pd, pd[5, ])), "p005.*more than once",
               class = "rlpsy_error_input")
  bad <- pd
  bad$x[7] <- NA
  expect_error(f(pd = bad), "\"x\".*p007", class = "rlpsy_error_input")
  bad$x[7] <- Inf
  expect_error(f(pd = bad), "\"x\".*p007", class = "rlpsy_error_input")
  expect_error(f(~ x + age), "\"age\"", class = "rlpsy_error_input")
  expect_error(f(pd = stats::setNames(pd, c("id", "x", "g", "noise"))),
               "no column \"participant\"",
               class = "rlpsy_error_input")
  expect_error(f(pd = as.matrix(pd)), "data frame", class = "rlpsy_error_input")
  expect_error(f(y ~ x), "one-sided", class = "rlpsy_error_input")
  expect_error(f(~ x + I(2 * x)), "rank", class = "rlpsy_error_input")
  expect_error(rlpsy_fit(sub, participant = "participant", state = "state",
                         action = "action", next_state = "next_state",
                         reward = "reward", gamma = 0.9, person_data = pd),
               "person_formula", class = "rlpsy_error_input")
  expect_error(fit_latent(list(sims = sub), ~ x, pd = pd,
                          control = rlpsy_control(prior = c(mu = 0, sigma = 1))),
               "formal argument|empirical")
})
