# rlpsy_fit_stats(): state fit and person fit (issue 14)

test_that("a state where people choose at random is flagged", {
  task <- eco_task()
  sims <- eco_sims(task, J = 60, n = 150, seed = 3)
  planted <- "r2c3"
  rows <- which(sims$state == planted)
  av <- task$actions[task$available[planted, ]]
  set.seed(4)
  sims$action[rows] <- sample(av, length(rows), replace = TRUE)
  fit <- eco_fit(sims, task, with_task = TRUE)
  st <- rlpsy_fit_stats(fit)
  expect_s3_class(st, "rlpsy_fit_stats")
  expect_true(st$flagged[st$state == planted])
  expect_lt(st$p.value[st$state == planted], 1e-6)
  expect_lte(sum(st$flagged), 2)  # hardly any other state
  # counts: observed add up to the decisions, expected too
  O <- attr(st, "observed")
  E <- attr(st, "expected")
  expect_equal(rowSums(O), stats::setNames(st$n, st$state))
  expect_equal(rowSums(E), rowSums(O))
  expect_true(all(st$df == st$n_actions - 1L))
})

test_that("the generalised Pearson statistic is Pearson's for equal probabilities", {
  P <- matrix(c(0.2, 0.3, 0.5), 40, 3, byrow = TRUE)
  O <- c(10, 14, 16)
  E <- colSums(P)
  x2 <- rlpsy:::chisq_counts(O, E, P)
  expect_equal(x2[1], sum((O - E)^2 / E))
  expect_equal(x2[2], 2)
  expect_equal(rlpsy:::chisq_counts(5, 5, matrix(1, 5, 1))[2], 0)
})

test_that("a random responder is flagged with a very negative l_z*", {
  task <- eco_task()
  sims <- eco_sims(task, J = 60, n = 150, seed = 5)
  set.seed(6)
  rand <- rlpsy_simulate(task, c(rand = 1e-4), n_decisions = 150, gamma = 0.9,
                         tau = 0.05)
  fit <- eco_fit(rbind(sims, rand), task)
  pf <- rlpsy_fit_stats(fit, by = "participant")
  r <- pf[pf$participant == "rand", ]
  expect_true(r$flagged)
  expect_lt(r$l_z_star, -4)
  expect_lt(r$l_z, 0)
  expect_equal(sum(pf$flagged), 1)
  # l_z = (l - E[l]) / sd, computed from the policy
  expect_equal(pf$l_z, (pf$loglik - pf$expected) / pf$sd)
  expect_equal(sum(pf$loglik), as.numeric(logLik(fit)))
  expect_equal(pf$l_z_star, pf$l_z * sqrt(1 + sigma(fit)^2 * pf$sd^2))
})

test_that("the generating model is not flagged more often than expected", {
  task <- eco_task()
  p_state <- p_person <- numeric()
  for (seed in 1:6) {
    fit <- eco_fit(eco_sims(task, J = 80, n = 150, sd = 0.4, seed = 100 + seed),
                   task, with_task = TRUE)
    p_state <- c(p_state, rlpsy_fit_stats(fit)$p.value)
    p_person <- c(p_person, rlpsy_fit_stats(fit, by = "participant")$p.value)
  }
  p_state <- p_state[!is.na(p_state)]
  # at the 5% level, no more than a binomial(n, 0.05) allows (99.9% bound)
  expect_lte(sum(p_state < 0.05), stats::qbinom(0.999, length(p_state), 0.05))
  expect_lte(sum(p_person < 0.05), stats::qbinom(0.999, length(p_person), 0.05))
  # and l_z* is not so conservative that it could not flag anyone
  expect_gte(sum(p_person < 0.05), stats::qbinom(0.001, length(p_person), 0.05))
})

test_that("the bootstrap calibration accounts for estimated values", {
  task <- eco_task()
  p_boot <- scales <- numeric()
  for (seed in 1:3) {
    fit <- eco_fit(eco_sims(task, J = 100, n = 150, sd = 0.4, seed = seed), task)
    st <- suppressWarnings(rlpsy_fit_stats(fit, calibrate = "bootstrap", R = 25,
                                           seed = seed),
                           classes = "rlpsy_warning_identification")
    expect_true(all(st$scale >= 1))
    expect_equal(st$p.value, pchisq(st$statistic / st$scale, st$df,
                                    lower.tail = FALSE))
    p_boot <- c(p_boot, st$p.value)
    scales <- c(scales, st$scale)
  }
  n <- length(p_boot)
  # estimated values inflate the statistic; calibrated, the rate is nominal
  expect_gt(median(scales), 1.2)
  expect_lte(sum(p_boot < 0.05), stats::qbinom(0.999, n, 0.05))
  # and a state of random choices is still flagged
  sims <- eco_sims(task, J = 100, n = 150, sd = 0.4, seed = 1)
  rows <- which(sims$state == "r2c3")
  set.seed(4)
  sims$action[rows] <- sample(task$actions, length(rows), replace = TRUE)
  fit <- eco_fit(sims, task)
  st <- suppressWarnings(rlpsy_fit_stats(fit, calibrate = "bootstrap", R = 25,
                                         seed = 2),
                         classes = "rlpsy_warning_identification")
  expect_true(st$flagged[st$state == "r2c3"])
  expect_lte(sum(st$flagged), 2)  # a neighbour's values may move with it
  expect_classed_error(rlpsy_fit_stats(fit, by = "participant", calibrate = "boot"),
                       "by = \"state\"")
  expect_classed_error(rlpsy_fit_stats(fit, R = 10), "`R` and `seed`")
})

test_that("rlpsy_fit_stats() checks its arguments and prints", {
  fit <- example_fit()
  expect_classed_error(rlpsy_fit_stats(list()), "rlpsy_fit")
  expect_classed_error(rlpsy_fit_stats(fit, by = "item"), "`by`")
  expect_classed_error(rlpsy_fit_stats(fit, adjust = "sidak"), "`adjust`")
  expect_classed_error(rlpsy_fit_stats(fit, alpha = 0), "`alpha`")
  st <- rlpsy_fit_stats(fit, adjust = "none", alpha = 0.2)
  expect_identical(st$p.adjusted, st$p.value)
  expect_identical(st$flagged, st$p.value < 0.2)
  out <- capture.output(print(st, n = 3))
  expect_match(out[2], "of 21 states flagged at 0.2")
  expect_match(out[length(out)], "and 18 more rows")
})
