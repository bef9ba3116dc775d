# fitted, residuals, deviance, df.residual, sigma, vcov: never NULL (issue 14)

test_that("fitted() is the probability of each chosen action", {
  fit <- example_fit()
  p <- fitted(fit)
  expect_length(p, 30000)
  P <- predict(fit, type = "prob")
  a <- match(rlpsy_example$action, colnames(P))
  expect_equal(p, P[cbind(seq_len(30000), a)])
  expect_true(all(p > 0 & p < 1))
  expect_equal(sum(log(p)), as.numeric(logLik(fit)))
})

test_that("residuals() of the three types agree with their definitions", {
  fit <- example_fit()
  p <- fitted(fit)
  expect_equal(residuals(fit), 1 - p)
  expect_equal(resid(fit, type = "pearson"), sqrt((1 - p) / p))
  dev <- residuals(fit, type = "deviance")
  expect_equal(dev, sqrt(-2 * log(p)))
  expect_equal(sum(dev^2), deviance(fit))
  expect_classed_error(residuals(fit, type = "working"), "`type`")
})

test_that("deviance, df.residual and sigma are numbers; vcov errors clearly", {
  fit <- example_fit()
  ll <- logLik(fit)
  expect_equal(deviance(fit), -2 * as.numeric(ll))
  expect_identical(df.residual(fit), as.integer(nobs(fit) - attr(ll, "df")))
  expect_true(df.residual(fit) > 0)
  expect_equal(sigma(fit), fit$prior[["sigma"]])
  err <- expect_error(vcov(fit), class = "rlpsy_error_unsupported")
  expect_match(conditionMessage(err), "method = \"boot\"", fixed = TRUE)
  expect_s3_class(err, "rlpsy_error")
})

test_that("a state with one available action has residual 0", {
  expect_equal(rlpsy:::choice_residuals(c(1, 0.5), "pearson"), c(0, 1))
  expect_equal(rlpsy:::choice_residuals(c(1, 0.5), "deviance"), c(0, sqrt(2 * log(2))))
})
