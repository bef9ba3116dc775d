# ggplot2 autoplot() methods and the base heat map (issue 14)

test_that("autoplot() draws the three plots of a fit", {
  skip_if_not_installed("ggplot2")
  fit <- example_fit()
  g <- ggplot2::autoplot(fit)
  expect_s3_class(g, "ggplot")
  expect_equal(nrow(g$data), 300)
  expect_true(all(diff(g$data$beta) >= 0))  # sorted caterpillar
  expect_equal(g$data$lower, unname(confint(fit)[order(coef(fit)), 1]))
  ga <- ggplot2::autoplot(fit, which = "advantage")
  expect_s3_class(ga, "ggplot")
  # every state a level of the axis; states without decisions blank
  expect_setequal(levels(ga$data$state), rownames(fit$Q))
  blank <- ga$data$state %in% c("r4c4", "r5c5")
  expect_true(all(is.na(ga$data$A[blank])))
  gt <- ggplot2::autoplot(fit, which = "trace")
  expect_equal(nrow(gt$data), fit$iterations)
  expect_equal(gt$data$rel[nrow(gt$data)], 0)
  tmp <- tempfile(fileext = ".pdf")
  grDevices::pdf(tmp)
  on.exit({grDevices::dev.off(); unlink(tmp)})
  expect_silent(print(g))
  expect_silent(print(ga))
  expect_silent(print(gt))
})

test_that("autoplot() of a validity correlation is a scatter", {
  skip_if_not_installed("ggplot2")
  fit <- example_fit()
  set.seed(2)
  crit <- stats::setNames(log(coef(fit)) + rnorm(300, sd = 0.3), names(coef(fit)))
  v <- cor_validity(fit, crit)
  g <- ggplot2::autoplot(v)
  expect_s3_class(g, "ggplot")
  expect_equal(nrow(g$data), 300)
  built <- ggplot2::ggplot_build(g)
  expect_equal(nrow(built$data[[1]]), 300)  # the points
})

test_that("autoplot() checks its arguments", {
  skip_if_not_installed("ggplot2")
  fit <- example_fit()
  expect_classed_error(ggplot2::autoplot(fit, which = "qq"), "`which`")
  expect_classed_error(ggplot2::autoplot(fit, level = 2), "`level`")
  expect_classed_error(ggplot2::autoplot(fit, colour = "red"), "`colour`")
})

test_that("the base heat map leaves the rows of terminal states blank", {
  fit <- example_fit()
  A <- rlpsy:::advantage_shown(fit)
  expect_true(all(is.na(A[c("r4c4", "r5c5"), ])))
  expect_false(anyNA(A["r1c1", ]))
  expect_equal(A["r1c1", ], fit$advantage["r1c1", ])
  tmp <- tempfile(fileext = ".pdf")
  grDevices::pdf(tmp, height = 4)
  on.exit({grDevices::dev.off(); unlink(tmp)})
  expect_silent(plot(fit, which = "advantage"))
})
