# Tidiers, data-frame conversions and the one person table (issue 14)

test_that("tidy() is the person table with broom's names", {
  fit <- example_fit()
  td <- tidy(fit)
  pt <- predict(fit, type = "beta")
  expect_s3_class(td, "data.frame")
  expect_identical(names(td), c("participant", "term", "estimate", "std.error",
                                "conf.low", "conf.high", "n_decisions", "status"))
  expect_false("statistic" %in% names(td))
  expect_equal(nrow(td), 300)
  expect_identical(td$participant, names(coef(fit)))
  expect_equal(td$estimate, unname(coef(fit)))
  expect_equal(td$std.error, unname(fit$se))
  expect_equal(unname(as.matrix(td[c("conf.low", "conf.high")])),
               unname(confint(fit)))
  expect_equal(td$estimate, pt$beta)
  lg <- tidy(fit, scale = "log", conf.level = 0.9)
  expect_equal(lg$estimate, unname(coef(fit, type = "log")))
  expect_equal(exp(lg$conf.low), unname(confint(fit, level = 0.9)[, 1]))
  # the generics are the same functions as generics' (and so as broom's)
  expect_identical(rlpsy::tidy, generics::tidy)
  expect_equal(generics::tidy(fit), td)
})

test_that("tidy(effects = 'prior') and glance() report the fit", {
  fit <- example_fit()
  pr <- tidy(fit, effects = "prior")
  expect_identical(pr$term, c("mu", "sigma"))
  expect_equal(pr$estimate, unname(fit$prior))
  expect_false(any(pr$fixed))
  gl <- generics::glance(fit)
  expect_equal(nrow(gl), 1)
  expect_equal(gl$nobs, 30000)
  expect_equal(gl$n_participants, 300)
  expect_equal(gl$logLik, as.numeric(logLik(fit)))
  expect_equal(gl$AIC, AIC(fit))
  expect_equal(gl$BIC, BIC(fit))
  expect_equal(gl$deviance, deviance(fit))
  expect_equal(gl$reliability, summary(fit)$reliability)
  expect_true(gl$converged)
  expect_equal(gl$iterations, fit$iterations)
})

test_that("augment() gives the decisions with .fitted and .resid", {
  fit <- example_fit()
  au <- generics::augment(fit)
  expect_equal(nrow(au), 30000)
  expect_identical(au$participant, rlpsy_example$participant)
  expect_identical(au$state, rlpsy_example$state)
  expect_identical(au$action, rlpsy_example$action)
  expect_identical(au$done, rlpsy_example$done)
  expect_equal(au$reward, rlpsy_example$reward)
  expect_equal(au$.fitted, fitted(fit))
  expect_equal(au$.resid, residuals(fit, type = "deviance"))
  expect_equal(sum(log(au$.fitted)), as.numeric(logLik(fit)))
  # with the fitted data its columns are kept
  au2 <- augment(fit, data = rlpsy_example, type.residuals = "pearson")
  expect_identical(au2$true_beta, rlpsy_example$true_beta)
  expect_equal(au2$.resid, residuals(fit, type = "pearson"))
  # new decisions of fitted participants
  nd <- rlpsy_example[c(5, 1, 200), c("participant", "state", "action")]
  au3 <- augment(fit, newdata = nd)
  expect_equal(au3$.fitted, fitted(fit)[c(5, 1, 200)])
  expect_classed_error(augment(fit, data = rlpsy_example[1:10, ]), "10 rows")
  expect_classed_error(augment(fit, data = rlpsy_example, newdata = nd), "not both")
  expect_error(augment(fit, newdata = nd[c("participant", "state")]),
               class = "rlpsy_error_input")
})

test_that("as.data.frame, summary and kable share one person table", {
  fit <- example_fit()
  s <- summary(fit)
  pt <- predict(fit, type = "beta")
  expect_identical(as.data.frame(fit), pt)
  expect_identical(as.data.frame(s), pt)
  expect_identical(s$participants, pt)
  expect_equal(as.data.frame(fit, level = 0.8)$lower, unname(confint(fit, level = 0.8)[, 1]))
  cs <- coef(summary(fit))
  expect_true(is.matrix(cs))
  expect_identical(rownames(cs), names(coef(fit)))
  expect_equal(cs[, "beta"], coef(fit))
  expect_equal(cs[, "se"], fit$se)
  expect_length(knitr::kable(s), 302L)  # header, rule and 300 rows
  expect_length(knitr::kable(tidy(fit)), 302L)
  expect_match(knitr::kable(as.data.frame(s))[1], "participant")
  # data.frame() passes stringsAsFactors on; it is accepted
  expect_equal(nrow(data.frame(fit)), 300)
})

test_that("arguments in ... are errors in every method", {
  fit <- example_fit()
  expect_snapshot(predict(fit, type = "beta", se.fitt = TRUE), error = TRUE)
  expect_snapshot(tidy(fit, conf.int = TRUE, exponentiate = TRUE), error = TRUE)
  expect_snapshot(glance(fit, 1, 2), error = TRUE)
  calls <- list(
    quote(print(fit, foo = 1)), quote(summary(fit, foo = 1)),
    quote(print(summary(fit), foo = 1)), quote(coef(fit, foo = 1)),
    quote(confint(fit, foo = 1)), quote(logLik(fit, foo = 1)),
    quote(nobs(fit, foo = 1)), quote(simulate(fit, foo = 1)),
    quote(fitted(fit, foo = 1)), quote(residuals(fit, foo = 1)),
    quote(deviance(fit, foo = 1)), quote(df.residual(fit, foo = 1)),
    quote(sigma(fit, foo = 1)), quote(vcov(fit, foo = 1)),
    quote(glance(fit, foo = 1)), quote(augment(fit, foo = 1)),
    quote(as.data.frame(fit, foo = 1)), quote(as.data.frame(summary(fit), foo = 1)),
    quote(coef(summary(fit), foo = 1)), quote(print(fit$control, foo = 1)),
    quote(print(fit$data, foo = 1)), quote(print(rlpsy_fit_stats(fit), foo = 1)),
    quote(print(attr(rlpsy_example, "task"), foo = 1)),
    quote(as.data.frame(attr(rlpsy_example, "task"), foo = 1))
  )
  for (cl in calls) {
    expect_error(capture.output(eval(cl)), "`foo`", class = "rlpsy_error_input",
                 info = deparse(cl))
  }
  v <- cor_validity(fit, stats::setNames(rnorm(300), names(coef(fit))))
  expect_error(print(v, foo = 1), class = "rlpsy_error_input")
  expect_error(as.data.frame(v, foo = 1), class = "rlpsy_error_input")
})

test_that("tidiers check their arguments", {
  fit <- example_fit()
  expect_classed_error(tidy(fit, effects = "random"), "`effects`")
  expect_classed_error(tidy(fit, scale = "exp"), "`scale`")
  expect_classed_error(tidy(fit, conf.level = 95), "`conf.level`")
  expect_classed_error(augment(fit, type.residuals = "raw"), "`type.residuals`")
})
