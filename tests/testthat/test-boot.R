# confint(method = "boot"): participant bootstrap with re-scoring (issue 14)

# small refits may warn that their advantage departs from the task's
quiet_boot <- function(expr) {
  suppressWarnings(expr, classes = "rlpsy_warning_identification")
}

test_that("resample_encoding() makes a valid encoding with repeated people", {
  d <- small_fit()$data
  draw <- c(3L, 3L, 1L, d$n_participants)
  enc <- rlpsy:::resample_encoding(d, draw)
  expect_silent(rlpsy:::check_encoding(enc))
  expect_equal(enc$n_participants, 4)
  expect_equal(diff(enc$offsets), diff(d$offsets)[draw])
  j3 <- (d$offsets[3] + 1):d$offsets[4]
  expect_equal(enc$action[seq_along(j3)], d$action[j3])
  expect_equal(enc$action[length(j3) + seq_along(j3)], d$action[j3])
  expect_false(anyDuplicated(enc$participants) > 0)
})

test_that("boot intervals are not the Wald ones, contain the estimate and are reproducible", {
  task <- eco_task()
  fit <- eco_fit(eco_sims(task, J = 25, n = 60, sd = 0.4, seed = 8), task)
  set.seed(99)
  before <- .Random.seed
  ci <- quiet_boot(confint(fit, parm = 1:6, method = "boot", R = 12, seed = 7))
  expect_identical(.Random.seed, before)  # the caller's stream is untouched
  wald <- confint(fit, parm = 1:6)
  expect_identical(dimnames(ci), dimnames(wald))
  expect_false(isTRUE(all.equal(unclass(ci)[, 1:2], wald)))
  expect_true(all(ci[, 1] < coef(fit)[1:6] & coef(fit)[1:6] < ci[, 2]))
  expect_equal(attr(ci, "R"), 12)
  expect_equal(attr(ci, "failed"), 0)
  ci2 <- quiet_boot(confint(fit, parm = 1:6, method = "boot", R = 12, seed = 7))
  expect_identical(ci, ci2)
  # Q uncertainty adds to the measurement error: wider on average (log scale)
  expect_gt(mean(log(ci[, 2] / ci[, 1])), 0.9 * mean(log(wald[, 2] / wald[, 1])))
})

test_that("boot_scores() re-scores every participant under each replicate", {
  task <- eco_task()
  fit <- eco_fit(eco_sims(task, J = 20, n = 60, seed = 9), task)
  bs <- quiet_boot(rlpsy:::boot_scores(fit, R = 4, seed = 1, parm = c(2L, 5L)))
  expect_equal(dim(bs$z), c(4L, 2L))
  expect_identical(colnames(bs$z), names(coef(fit))[c(2, 5)])
  expect_true(all(is.finite(bs$z) & bs$se > 0))
  # scoring with the fit's own Q and prior reproduces the fit's scores
  nd <- rlpsy:::scoring_frame(fit$data, c(2L, 5L))
  own <- rlpsy:::rescore(fit, nd, names(coef(fit))[c(2, 5)])
  expect_equal(own$z, unname(fit$z[c(2, 5)]), tolerance = 1e-6)
  expect_equal(own$dropped, c(0, 0))
})

test_that("the mixture quantiles are those of the pooled normals", {
  q <- rlpsy:::mixture_quantiles(c(0, 0), c(1, 1), c(0.025, 0.975))
  expect_equal(q, qnorm(c(0.025, 0.975)), tolerance = 1e-8)
  set.seed(1)
  m <- c(-1, 0.5, 2)
  s <- c(0.5, 1, 0.3)
  x <- rnorm(3e5, rep(m, 1e5), rep(s, 1e5))
  expect_equal(rlpsy:::mixture_quantiles(m, s, c(0.1, 0.9)),
               unname(quantile(x, c(0.1, 0.9))), tolerance = 0.01)
})

test_that("confint() offers only the methods it implements", {
  fit <- small_fit()
  expect_snapshot(confint(fit, method = "profile"), error = TRUE)
  expect_classed_error(confint(fit, R = 10), "`R` and `seed`")
  expect_classed_error(confint(fit, seed = 1), "`R` and `seed`")
  expect_classed_error(confint(fit, method = "boot", R = 1), "`R`")
})
