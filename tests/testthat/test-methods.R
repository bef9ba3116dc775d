# print, summary, coef, confint, logLik, nobs, simulate and plot methods of
# rlpsy_fit, on the small planted fits of helper-fits.R.

reference_estep_loglik <- reference_estep_loglik

# Softmax policy of each row of the planted data computed from labels, in
# data order: an independent check of the methods' bookkeeping.
policy_from_labels <- function(fit, data) {
  A <- fit$advantage
  av <- fit$data$available
  eta <- fit$beta[data$id] * A[data$state, , drop = FALSE]
  eta[!av[data$state, , drop = FALSE]] <- -Inf
  P <- exp(eta - apply(eta, 1, max))
  P / rowSums(P)
}

test_that("print shows a compact, deterministic overview", {
  fit <- small_fit()
  expect_snapshot(print(fit))
  out <- capture.output(res <- withVisible(print(fit)))
  expect_false(res$visible)
  expect_identical(res$value, fit)
  expect_snapshot(print(small_fit(reward = FALSE)))
})

test_that("print reports participants whose E-step did not converge", {
  fit <- small_fit()
  fit$participants$status[c(2, 5)] <- "max_iter"
  out <- capture.output(print(fit))
  expect_true(any(grepl("did not converge for 2 of 12 participants", out, fixed = TRUE)))
})

test_that("print and summary show a fixed prior", {
  d <- small_data()
  # tau = 1 with terminal decisions: the entropy diagnostic warns
  expect_warning(
    fit <- rlpsy_fit(d, participant = "id", state = "state", action = "action",
                     next_state = "next_state", done = "done", reward = "reward",
                     available = attr(d, "task")$available, gamma = 0.9,
                     control = rlpsy_control(threads = 1, progress = FALSE,
                                             prior = c(mu = 0.5, sigma = 0.4))),
    class = "rlpsy_warning_identification")
  expect_equal(fit$prior, c(mu = 0.5, sigma = 0.4))
  expect_true(any(grepl("N(mu = 0.5, sigma = 0.4), fixed", capture.output(print(fit)),
                        fixed = TRUE)))
  s <- summary(fit)
  expect_identical(s$settings$prior, "fixed")
  expect_true(any(grepl("prior of log(beta): fixed", capture.output(print(s)),
                        fixed = TRUE)))
})

test_that("summary has its class, components and printed form", {
  fit <- small_fit()
  s <- summary(fit)
  expect_s3_class(s, "summary.rlpsy_fit")
  expect_named(s, c("call", "n", "reward", "reward_column", "reward_text", "q_form", "settings",
                    "convergence", "objective", "beta", "prior", "reliability",
                    "fit", "diagnostics", "participants"))
  expect_equal(s$n[["decisions"]], 480)
  expect_equal(s$n[["participants"]], 12)
  expect_equal(s$n[["states"]], 6)
  expect_equal(s$n[["states_with_decisions"]], 5)
  expect_equal(s$n[["terminal"]], sum(small_data()$done))
  expect_identical(s$reward, "observed")
  expect_identical(s$convergence$converged, TRUE)
  expect_equal(sum(s$convergence$estep_status), 12)
  expect_named(s$convergence$estep_status,
               c("converged", "max_iter", "non_finite", "stalled"))
  expect_equal(unname(s$beta), unname(quantile(fit$beta, c(0, 0.25, 0.5, 0.75, 1))))
  expect_equal(s$prior, fit$prior)
  expect_snapshot(print(s))
  out <- capture.output(res <- withVisible(print(s)))
  expect_false(res$visible)
  expect_identical(res$value, s)
  expect_snapshot(print(summary(small_fit(reward = FALSE))))
})

test_that("summary reliability follows var(z) / (var(z) + mean(se^2))", {
  for (fit in list(small_fit(), small_fit(reward = FALSE))) {
    s <- summary(fit)
    z <- coef(fit, type = "log")
    expect_equal(s$reliability, var(z) / (var(z) + mean(fit$se^2)))
    expect_gt(s$reliability, 0)
    expect_lt(s$reliability, 1)
  }
})

test_that("summary objective components add up to the total", {
  for (fit in list(small_fit(), small_fit(reward = FALSE))) {
    tab <- summary(fit)$objective
    expect_identical(rownames(tab),
                     c("behaviour", "bellman", "cql", "reward_l2", "prior", "total"))
    parts <- tab[rownames(tab) != "total", "contribution"]
    expect_equal(sum(parts), tab["total", "contribution"], tolerance = 1e-10)
    expect_equal(tab["total", "value"], fit$objective[["total"]])
    expect_equal(tab[1:5, "contribution"], tab[1:5, "value"] * tab[1:5, "weight"])
  }
})

test_that("summary behaviour fit: log-likelihood, pseudo-R2 and hit rate", {
  fit <- small_fit()
  d <- small_data()
  s <- summary(fit)$fit
  P <- policy_from_labels(fit, d)
  ll <- sum(log(P[cbind(seq_len(nrow(d)), match(d$action, colnames(P)))]))
  expect_equal(s[["loglik"]], ll, tolerance = 1e-8)
  expect_equal(s[["loglik_per_decision"]], ll / nrow(d), tolerance = 1e-8)
  k <- rowSums(attr(d, "task")$available)[d$state]
  expect_equal(s[["loglik_uniform"]], -sum(log(k)))
  expect_equal(s[["pseudo_r2"]], 1 - ll / -sum(log(k)), tolerance = 1e-8)
  # hit rate by a plain loop over decisions (ties split evenly)
  A <- fit$advantage
  av <- fit$data$available
  hits <- vapply(seq_len(nrow(d)), function(t) {
    a <- A[d$state[t], ]
    a[!av[d$state[t], ]] <- -Inf
    best <- names(a)[abs(a - max(a)) < 1e-10]
    (d$action[t] %in% best) / length(best)
  }, 0)
  expect_equal(s[["hit_rate"]], mean(hits))
})

test_that("coef returns named betas or log betas", {
  fit <- small_fit()
  b <- coef(fit)
  expect_named(b, sprintf("p%02d", 1:12))
  expect_identical(b, fit$beta)
  expect_equal(coef(fit, type = "log"), log(b))
  expect_identical(coef(fit, type = "l"), fit$z)
  expect_error(coef(fit, type = "z"), class = "rlpsy_error_input")
})

test_that("confint is exp(z -+ qnorm * se) with stats::confint layout", {
  fit <- small_fit()
  ci <- confint(fit)
  expect_identical(dimnames(ci), list(names(coef(fit)), c("2.5 %", "97.5 %")))
  q <- qnorm(0.975)
  expect_equal(ci[, 1], exp(fit$z - q * fit$se))
  expect_equal(ci[, 2], exp(fit$z + q * fit$se))
  expect_true(all(ci[, 1] < coef(fit) & coef(fit) < ci[, 2]))
  ci90 <- confint(fit, parm = c("p03", "p01"), level = 0.9)
  expect_identical(dimnames(ci90), list(c("p03", "p01"), c("5 %", "95 %")))
  expect_equal(ci90["p01", 2], exp(fit$z[["p01"]] + qnorm(0.95) * fit$se[["p01"]]))
  expect_identical(confint(fit, parm = 2:3), ci[2:3, ])
  expect_identical(colnames(confint(fit, level = 0.999)), c("0.05 %", "99.95 %"))
})

test_that("confint errors name the bad level or participants", {
  fit <- small_fit()
  expect_error(confint(fit, level = 1), class = "rlpsy_error_input")
  expect_snapshot(confint(fit, level = 1.5), error = TRUE)
  expect_snapshot(confint(fit, level = c(0.9, 0.95)), error = TRUE)
  expect_snapshot(confint(fit, parm = c("p01", "nobody", "ghost")), error = TRUE)
  expect_snapshot(confint(fit, parm = c(1, 13)), error = TRUE)
  expect_error(confint(fit, parm = NA), class = "rlpsy_error_input")
})

test_that("z, se and the prior are mutually consistent with the reference", {
  fit <- small_fit()
  enc <- fit$data
  mu <- fit$prior[["mu"]]
  sigma <- fit$prior[["sigma"]]
  # empirical Bayes prior from the last E-step's modes (z changed little after)
  expect_equal(mu, mean(fit$z), tolerance = 1e-3)
  expect_equal(sigma, sqrt(mean((fit$z - mu)^2 + fit$se^2)), tolerance = 1e-3)
  for (j in seq_len(enc$n_participants)) {
    f <- function(z) reference_estep_loglik(enc, fit$advantage, j, z, mu, sigma)
    opt <- optimize(f, c(-5, 5), maximum = TRUE, tol = 1e-10)
    expect_equal(fit$z[[j]], opt$maximum, tolerance = 1e-5)
    h <- 1e-4
    d2 <- (f(fit$z[[j]] + h) - 2 * f(fit$z[[j]]) + f(fit$z[[j]] - h)) / h^2
    expect_equal(fit$se[[j]], 1 / sqrt(-d2), tolerance = 1e-4)
  }
})

test_that("logLik has df and nobs, and AIC/BIC agree with it", {
  fit <- small_fit()
  ll <- logLik(fit)
  expect_s3_class(ll, "logLik")
  expect_equal(as.numeric(ll), -fit$objective[["behaviour"]])
  # 12 betas + max(K_s - 2, 0) over s1..s5 (s3 has two actions; "end" has none)
  expect_identical(attr(ll, "df"), 16L)
  expect_identical(attr(ll, "nobs"), 480L)
  expect_identical(nobs(fit), 480L)
  expect_equal(AIC(fit), -2 * as.numeric(ll) + 2 * 16)
  expect_equal(BIC(fit), -2 * as.numeric(ll) + log(480) * 16)
  P <- policy_from_labels(fit, small_data())
  a <- match(small_data()$action, colnames(P))
  expect_equal(as.numeric(ll), sum(log(P[cbind(seq_along(a), a)])), tolerance = 1e-8)
})

test_that("simulate is reproducible with a seed and restores the RNG", {
  fit <- small_fit()
  set.seed(99)
  before <- .Random.seed
  s1 <- simulate(fit, nsim = 3, seed = 42)
  expect_identical(.Random.seed, before)
  s2 <- simulate(fit, nsim = 3, seed = 42)
  expect_identical(s1, s2)
  expect_s3_class(s1, "data.frame")
  expect_identical(dim(s1), c(480L, 3L))
  expect_named(s1, c("sim_1", "sim_2", "sim_3"))
  for (col in s1) expect_identical(levels(col), c("a", "b", "c"))
  expect_identical(attr(s1, "seed"), structure(42, kind = as.list(RNGkind())))
  expect_false(identical(s1$sim_1, s1$sim_2))
  expect_false(identical(simulate(fit, seed = 43)$sim_1, s1$sim_1))
})

test_that("simulate without a seed uses and records the current stream", {
  fit <- small_fit()
  set.seed(7)
  state <- .Random.seed
  s1 <- simulate(fit)
  expect_identical(attr(s1, "seed"), state)
  assign(".Random.seed", state, envir = globalenv())
  expect_identical(simulate(fit)$sim_1, s1$sim_1)
})

test_that("simulated actions follow the fitted policy, never unavailable ones", {
  fit <- small_fit()
  d <- small_data()
  sims <- simulate(fit, nsim = 100, seed = 1)
  P <- predict(fit)
  freq <- sapply(c("a", "b", "c"), function(a) rowMeans(sims == a))
  expect_lt(max(abs(colMeans(freq) - colMeans(P))), 0.01)
  s3 <- d$state == "s3"
  expect_true(all(as.matrix(sims[s3, ]) != "c"))
  # rows follow the data order: the state of the row decides the support
  expect_equal(mean(freq[s3, "b"]), mean(P[s3, "b"]), tolerance = 0.02)
})

test_that("simulate rejects bad nsim and seed", {
  fit <- small_fit()
  expect_snapshot(simulate(fit, nsim = 0), error = TRUE)
  expect_snapshot(simulate(fit, seed = "x"), error = TRUE)
})

test_that("plot draws every panel without error and returns the fit", {
  for (fit in list(small_fit(), small_fit(reward = FALSE))) {
    grDevices::pdf(NULL)
    on.exit(grDevices::dev.off(), add = TRUE)
    expect_invisible(plot(fit))
    expect_identical(plot(fit, which = "beta"), fit)
    expect_silent(plot(fit, which = "trace"))
    expect_silent(plot(fit, which = "adv", main = "A"))
    expect_silent(plot(fit, which = 1:2, level = 0.8, ask = FALSE))
    grDevices::dev.off()
    on.exit()
  }
})

test_that("plot errors name bad which and level", {
  fit <- small_fit()
  expect_snapshot(plot(fit, which = c("beta", "qq")), error = TRUE)
  expect_error(plot(fit, which = 5), class = "rlpsy_error_input")
  expect_identical(rlpsy:::check_which(c("adv", "b")), c("advantage", "beta"))
  expect_identical(rlpsy:::check_which(3:2), c("advantage", "trace"))
  expect_error(plot(fit, level = 0), class = "rlpsy_error_input")
})

test_that("methods work on a saved and reloaded fit", {
  fit <- unserialize(serialize(small_fit(), NULL))
  expect_equal(coef(fit), coef(small_fit()))
  expect_equal(summary(fit)$fit, summary(small_fit())$fit)
  expect_equal(predict(fit, small_data(), type = "beta"),
               predict(small_fit(), small_data(), type = "beta"))
})
