# The person model with several dimensions of beta (issue 13): the product
# grid quadrature, the marginal fit, scores per dimension and the latent
# regression with a terms x dimensions Gamma.

dims_person_task <- function() random_task(S = 20, K = 3, seed = 1)

# 300 participants, true correlation 0.5 (as test-dimensions.R); cached
dims_person_fits <- local({
  cache <- NULL
  function() {
    if (is.null(cache)) {
      sd <- simulate_dims(dims_person_task(), J = 300, rho = 0.5)
      cache <<- list(sd = sd, map = fit_dims(sd$data, dimension = "dim"),
                     marginal = fit_dims(sd$data, dimension = "dim",
                                         method = "marginal"))
    }
    cache
  }
})

# a small problem for the brute-force checks
dims_small <- local({
  cache <- NULL
  function() {
    if (is.null(cache)) {
      # 40 participants x 30 decisions: the fitted prior correlation is 0.86,
      # so the posteriors are strongly correlated
      sd <- simulate_dims(random_task(S = 8, K = 3, seed = 2), J = 40, n = 30, seed = 7)
      cache <<- list(sd = sd, fit = fit_dims(sd$data, dimension = "dim",
                                             method = "marginal"))
    }
    cache
  }
})

test_that("the D = 2 marginal log-likelihood equals a brute-force 2-D integral", {
  fit <- dims_small()$fit
  brute <- vapply(seq_len(nrow(fit$z)), function(j) brute_posterior_2d(fit, j)$log_marginal, 0)
  ll <- rlpsy_marginal_loglik(fit, nodes = 25)
  expect_equal(unname(attr(ll, "participant")), brute, tolerance = 1e-7)
  expect_lt(abs(as.numeric(ll) - sum(brute)) / abs(sum(brute)), 1e-6)
  # the fit's own logLik (15 nodes per dimension) is as close
  expect_lt(abs(as.numeric(logLik(fit)) - sum(brute)) / abs(sum(brute)), 1e-6)
  expect_identical(attr(logLik(fit), "nodes"), 15L)
  # df: the advantage's free values, 2 means and the 3 parameters of Sigma
  d <- fit$data
  k <- rowSums(d$available)[tabulate(d$state + 1L, d$n_states) > 0]
  expect_identical(attr(logLik(fit), "df"), as.integer(sum(pmax(k - 2, 0)) + 5))
  # the Laplace approximation (1 node) is worse
  lap <- rlpsy_marginal_loglik(fit, nodes = 1)
  expect_gt(abs(as.numeric(lap) - sum(brute)), abs(as.numeric(ll) - sum(brute)))
})

test_that("EAPs, posterior SDs and credible intervals per dimension are the exact posterior's", {
  fit <- dims_small()$fit
  sc <- rlpsy_scores(fit, "eap", level = 0.9, nodes = 25)
  # the default 15 nodes per dimension are within 1e-4
  expect_equal(rlpsy_scores(fit, "eap")$std.error, sc$std.error, tolerance = 1e-4)
  expect_identical(names(sc)[1:3], c("participant", "dimension", "estimate"))
  expect_identical(nrow(sc), 80L)
  expect_identical(sc$dimension, rep(c("even", "odd"), 40))
  expect_equal(sc$estimate, as.vector(t(fit$eap)), tolerance = 1e-5)
  for (j in c(1L, 8L, 17L)) {
    b <- brute_posterior_2d(fit, j)
    rows <- 2L * j - 1:0
    expect_equal(sc$estimate[rows], b$mean, tolerance = 1e-6)
    expect_equal(sc$std.error[rows], sqrt(b$var), tolerance = 1e-6)
    for (d in 1:2) {
      expect_equal(c(sc$conf.low[rows[d]], sc$conf.high[rows[d]]),
                   brute_quantile(b, d, c(0.05, 0.95)), tolerance = 2e-3)
    }
  }
  rel <- attr(sc, "reliability")
  expect_identical(dimnames(rel), list(c("marginal", "eap"), c("even", "odd")))
  expect_true(all(rel > 0 & rel < 1))
  mp <- rlpsy_scores(fit)
  expect_equal(mp$estimate, as.vector(t(fit$z)))
  expect_equal(mp$std.error, as.vector(t(fit$se)))
})

test_that("the interval grids and draws from l_jd's tables match the core's exact l_jd", {
  fit <- dims_small()$fit
  post <- rlpsy:::person_posterior(fit, 15L)
  fast <- post
  fast$table <- rlpsy:::scores_table_loglik(post)
  # the quintic Hermite tables against the core, inside and outside them
  J <- nrow(fit$z)
  set.seed(3)
  Z <- post$mode + post$scale * matrix(stats::rnorm(2 * J * 50, sd = 6), 2 * J)
  Z[, 1:5] <- post$mode + outer(post$scale, c(-60, -35, 0, 35, 60))
  Z[3, 7] <- NA
  core <- rlpsy:::fit_core(fit)
  Q <- rlpsy:::fit_theta(fit)
  exact <- rlpsy:::core_person_grid(core, Q, Z, 1L)
  tab <- rlpsy:::table_loglik(core, Q, Z, 1L, fast$table)
  expect_identical(is.na(tab), is.na(exact))
  expect_lt(max(abs(tab - exact), na.rm = TRUE), 1e-9)
  # beyond the tables (+-60 SDs; they reach 16 at most) the core's values
  expect_identical(tab[, c(1, 5)], exact[, c(1, 5)])
  # the scores' interval grids and Metropolis chains with and without tables
  u <- c(0.05, 0.5, 0.95)
  q_exact <- rlpsy:::posterior_quantiles(rlpsy:::posterior_grid(post), u)
  q_fast <- rlpsy:::posterior_quantiles(rlpsy:::posterior_grid(fast), u)
  expect_lt(max(abs(q_fast - q_exact)), 1e-8)
  pv <- function(p) rlpsy:::plausible_mvn(p, 20, rlpsy:::seeded_stream(4))
  expect_equal(pv(fast), pv(post), tolerance = 1e-10)
  # rlpsy_scores() takes the tables; its EAPs, SDs and log marginal
  # likelihoods come from the quadrature as before
  sc <- rlpsy_scores(fit, "eap", level = 0.9)
  expect_equal(cbind(sc$conf.low, sc$conf.high), q_fast[, c(1, 3)], tolerance = 1e-12)
  expect_identical(sc$estimate, as.vector(t(post$eap)))
  expect_identical(sc$std.error, sqrt(as.vector(t(post$var))))
  # a pair left out of the likelihood (no decisions) gets no table
  sd <- simulate_dims(random_task(S = 8, K = 3, seed = 2), J = 40, n = 30, seed = 7)
  d <- sd$data[!(sd$data$participant == "p001" & sd$data$dim == "odd"), ]
  f2 <- suppressWarnings(fit_dims(d, dimension = "dim"))
  p2 <- rlpsy:::person_posterior(f2, 15L)
  t2 <- rlpsy:::scores_table_loglik(p2)
  expect_true(is.na(t2$lo[2]) && all(is.finite(t2$lo[-2])))
  fast2 <- p2
  fast2$table <- t2
  expect_lt(max(abs(rlpsy:::posterior_quantiles(rlpsy:::posterior_grid(fast2), u) -
                      rlpsy:::posterior_quantiles(rlpsy:::posterior_grid(p2), u))), 1e-8)
})

test_that("plausible values are draws from the exact joint posterior, reproducibly", {
  fit <- dims_small()$fit
  set.seed(11)
  before <- .Random.seed
  pv <- rlpsy_scores(fit, "plausible", draws = 250, seed = 2)
  expect_identical(.Random.seed, before)
  # the same seed, the same draws
  expect_identical(rlpsy_scores(fit, "plausible", draws = 3, seed = 5),
                   rlpsy_scores(fit, "plausible", draws = 3, seed = 5))
  expect_gt(attr(pv, "acceptance"), 0.5)
  draws <- as.matrix(pv[paste0("draw", 1:250)])
  # probability integral transform through the exact marginal CDFs: uniform
  u <- unlist(lapply(seq_len(40), function(j) {
    b <- brute_posterior_2d(fit, j, n = 401)
    c(stats::approx(b$grid[[1]], b$cdf[[1]], draws[2 * j - 1, ])$y,
      stats::approx(b$grid[[2]], b$cdf[[2]], draws[2 * j, ])$y)
  }))
  # (20,000 values: draws from the normal with the exact posterior mean and
  # SD give 0.492 and 0.019 here, from the Laplace approximation 0.528 and
  # 0.039; these draws 0.5015 and 0.006)
  expect_lt(abs(mean(u) - 0.5), 0.005)
  expect_lt(suppressWarnings(stats::ks.test(u, "punif")$statistic), 0.013)
  # and the joint: the draws' correlation within participants is the posterior's
  b <- brute_posterior_2d(fit, 3)
  r <- stats::cor(draws[5, ], draws[6, ])
  expect_lt(abs(r - b$cov / sqrt(prod(b$var))), 0.12)
})

test_that("a D = 2 marginal fit recovers the correlation, EAPs and the population spread", {
  f <- dims_person_fits()
  fit <- f$marginal
  expect_identical(fit$method, "marginal")
  expect_true(fit$converged)
  expect_true(all(diff(fit$trace$total) <= 1e-9 * abs(fit$trace$total[-1])))
  rho <- stats::cov2cor(fit$prior$Sigma)[1, 2]
  expect_lt(abs(rho - 0.5), 0.15)
  expect_identical(dim(fit$eap), c(300L, 2L))
  r <- diag(stats::cor(fit$eap[rownames(f$sd$z), ], f$sd$z))
  expect_true(all(r >= 0.8))
  # the marginal-ML fixed point: mu = mean EAP, Sigma = mean of the
  # posterior second moments about mu
  expect_equal(unname(fit$prior$mu), unname(colMeans(fit$eap)), tolerance = 1e-4)
  R <- sweep(fit$eap, 2L, colMeans(fit$eap))
  expect_equal(unname(diag(fit$prior$Sigma)), unname(colMeans(R^2 + fit$eap_sd^2)),
               tolerance = 1e-4)
  sc <- rlpsy_scores(fit, "plausible", draws = 5, seed = 1)
  # plausible values keep the prior's variance; EAPs are shrunk
  for (d in c("even", "odd")) {
    pv <- as.matrix(sc[sc$dimension == d, paste0("draw", 1:5)])
    ratio <- mean(apply(pv, 2, stats::var)) / fit$prior$Sigma[d, d]
    expect_lt(abs(ratio - 1), 0.15)
    expect_lt(stats::var(sc$estimate[sc$dimension == d]), fit$prior$Sigma[d, d])
  }
  # marginal beats MAP on the marginal objective; anova() compares fits
  pen <- function(x) x$objective[["total"]] - x$objective[["behaviour"]] -
    x$objective[["prior"]]
  expect_lt(fit$marginal$objective,
            -as.numeric(rlpsy_marginal_loglik(f$map)) + pen(f$map))
  expect_output(print(fit), "15\\^2 = 225 adaptive")
})

test_that("the D = 2 marginal fit does not depend on the number of threads", {
  sd <- dims_small()$sd
  f1 <- fit_dims(sd$data, threads = 1, dimension = "dim", method = "marginal")
  f2 <- fit_dims(sd$data, threads = 2, dimension = "dim", method = "marginal")
  expect_identical(f1$prior, f2$prior)
  expect_identical(f1$eap, f2$eap)
  expect_identical(f1$Q, f2$Q)
  expect_identical(f1$marginal, f2$marginal)
})

test_that("the M-step's nodes of each pair carry the grid's posterior weights", {
  fit <- dims_small()$fit
  core <- rlpsy:::fit_core(fit)
  Q <- rlpsy:::fit_theta(fit)
  q <- rlpsy:::quadrature_posterior(core, Q, fit$z, unname(fit$posterior_cov),
                                    rlpsy:::fit_prior_mean(fit), fit$prior$Sigma, 7L, 1L)
  n <- rlpsy:::quadrature_nodes(q, compress = FALSE)
  # pair (j, 1) has 7 nodes, pair (j, 2) 7^2 (the grid is sheared)
  expect_identical(diff(n$off), rep(c(7L, 49L), 40))
  pair <- rep(seq_len(80), diff(n$off))
  expect_equal(as.vector(tapply(n$w, pair, sum)), rep(1, 80), tolerance = 1e-8)
  # the weighted nodes have the grid's posterior means
  expect_equal(as.vector(tapply(n$w * n$z, pair, sum)), as.vector(t(q$eap)), tolerance = 1e-8)
  # and the weighted log-likelihoods are the grid's expected l_j
  expected_l <- function(n) {
    sizes <- diff(n$off)
    pair <- rep(seq_along(sizes), sizes)
    Z <- matrix(NA_real_, 80, max(sizes))
    for (k in seq_len(80)) Z[k, seq_len(sizes[k])] <- n$z[pair == k]
    l <- rlpsy:::core_person_grid(core, Q, Z, 1L)
    colSums(matrix(as.vector(tapply(n$w * t(l)[!is.na(t(Z))], pair, sum)), 2))
  }
  expect_equal(expected_l(n), rowSums(q$p * q$l), tolerance = 1e-6)
  # compressed: the 49 values of pair (j, 2) become their 7-point Gauss
  # rule, with the same moments up to degree 13
  nc <- rlpsy:::quadrature_nodes(q)
  expect_identical(diff(nc$off), rep(7L, 80))
  pc <- rep(seq_len(80), each = 7)
  for (k in 0:13) {
    expect_equal(as.vector(tapply(nc$w * nc$z^k, pc, sum)),
                 as.vector(tapply(n$w * n$z^k, pair, sum)), tolerance = 1e-7)
  }
  expect_equal(expected_l(nc), rowSums(q$p * q$l), tolerance = 1e-6)
})

test_that("a latent regression with two dimensions recovers a slope on one of them", {
  set.seed(21)
  J <- 300
  x <- stats::rnorm(J)
  sd <- simulate_dims(dims_person_task(), J = J, rho = 0.3, sd = 0.3, seed = 22,
                      mean = cbind(0.6 * x, 0))
  pd <- data.frame(participant = sprintf("p%03d", seq_len(J)), x = x)
  for (method in c("map", "marginal")) {
    fit <- fit_dims(sd$data, dimension = "dim", method = method,
                    person_data = pd, person_formula = ~ x)
    co <- fit$prior$coefficients
    expect_identical(dimnames(co), list(c("(Intercept)", "x"), c("even", "odd")))
    expect_lt(abs(co["x", "even"] - 0.6), 0.1)
    expect_lt(abs(co["x", "odd"]), 0.1)
    se <- fit$prior$se
    expect_identical(dim(se), c(2L, 2L))
    expect_true(all(se > 0 & se < 0.1))
    expect_lt(abs(co["x", "even"] - 0.6) / se["x", "even"], 4)
    expect_identical(dim(fit$prior$vcov), c(4L, 4L))
    expect_identical(rownames(fit$prior$vcov)[2], "even:x")
    expect_identical(dim(fit$prior$mean), c(300L, 2L))
    expect_equal(unname(fit$prior$mean), unname(cbind(1, x) %*% co), tolerance = 1e-12)
    # the residual covariance is smaller than without the covariate
    expect_lt(fit$prior$Sigma[1, 1], 0.3^2 + 0.6^2 * 0.5)
    expect_output(print(fit), "even: \\(Intercept\\)")
  }
  # the marginal fit: Gamma is the least-squares fit of the EAPs on X
  expect_equal(unname(co), unname(qr.coef(qr(cbind(1, x)), fit$eap)), tolerance = 1e-3)
  df0 <- attr(logLik(fit_dims(sd$data, dimension = "dim", method = "marginal")), "df")
  expect_identical(attr(logLik(fit), "df"), df0 + 2L)
})

test_that("three dimensions integrate on a 9^3 grid; more are refused clearly", {
  sd3 <- simulate_dims3(random_task(S = 12, K = 3, seed = 3))
  f3 <- fit_dims(sd3$data, dimension = "dim", method = "marginal")
  expect_true(f3$converged)
  expect_identical(f3$marginal$nodes, 9L)
  expect_identical(dim(f3$eap), c(60L, 3L))
  expect_identical(attr(logLik(f3), "df") - attr(logLik(f3, type = "conditional"), "df"),
                   9L - 60L * 3L)
  ll <- as.numeric(logLik(f3))
  expect_lt(abs(as.numeric(rlpsy_marginal_loglik(f3, nodes = 13)) - ll) / abs(ll), 1e-6)
  sc <- rlpsy_scores(f3, "eap")
  expect_identical(nrow(sc), 180L)
  expect_equal(sc$estimate, as.vector(t(f3$eap)), tolerance = 1e-6)
  expect_true(all(sc$conf.low < sc$estimate & sc$estimate < sc$conf.high))
  # the intervals from l_jd's tables (core_conditional_grid()) are those of
  # the core's exact l_jd (R's conditional quadrature)
  post <- rlpsy:::person_posterior(f3, 9L)
  fast <- post
  fast$table <- rlpsy:::scores_table_loglik(post)
  u <- c(0.025, 0.975)
  expect_lt(max(abs(rlpsy:::posterior_quantiles(rlpsy:::posterior_grid(fast), u) -
                      rlpsy:::posterior_quantiles(rlpsy:::posterior_grid(post), u))), 1e-8)
  d4 <- sd3$data
  d4$d4 <- c("a", "b", "c", "d")[as.integer(as.character(d4$state)) %% 4 + 1]
  f4 <- fit_dims(d4, dimension = "d4")
  expect_error(rlpsy_scores(f4, "eap"), "at most 3 dimensions",
               class = "rlpsy_error_unsupported")
  expect_error(rlpsy_marginal_loglik(f4), class = "rlpsy_error_unsupported")
  expect_error(fit_dims(d4, dimension = "d4", method = "marginal"),
               "at most 3 dimensions", class = "rlpsy_error_unsupported")
})

test_that("a pair without decisions is scored from the prior given the other dimension", {
  sd <- simulate_dims(random_task(S = 8, K = 3, seed = 2), J = 40,
                      n = 30, seed = 7)
  d <- sd$data[!(sd$data$participant == "p001" & sd$data$dim == "odd"), ]
  fit <- suppressWarnings(fit_dims(d, dimension = "dim", method = "marginal"))
  S <- fit$prior$Sigma
  mu <- fit$prior$mu
  sc <- rlpsy_scores(fit, "eap", nodes = 25)
  e <- sc[sc$participant == "p001", ]
  b <- S[2, 1] / S[1, 1]
  # l_odd = 0: z_odd | z_even is the prior's conditional, exactly
  expect_equal(e$estimate[2], mu[["odd"]] + b * (e$estimate[1] - mu[["even"]]),
               tolerance = 1e-8)
  expect_equal(e$std.error[2]^2, S[2, 2] - S[2, 1]^2 / S[1, 1] + b^2 * e$std.error[1]^2,
               tolerance = 1e-8)
  # and the participant's marginal likelihood is that of the even decisions
  # under the even prior alone
  core <- rlpsy:::fit_core(fit)
  Q <- rlpsy:::fit_theta(fit)
  l_even <- function(z) {
    Z <- matrix(NA_real_, 80, length(z))
    Z[1, ] <- z
    rlpsy:::core_person_grid(core, Q, Z, 1L)[1, ]
  }
  top <- l_even(fit$z[1, 1])
  f <- function(z) exp(l_even(z) - top) * dnorm(z, mu[["even"]], sqrt(S[1, 1]))
  ref <- top + log(integrate(f, fit$z[1, 1] - 15 * fit$se[1, 1],
                             fit$z[1, 1] + 15 * fit$se[1, 1], rel.tol = 1e-12)$value)
  ll <- attr(rlpsy_marginal_loglik(fit, nodes = 25), "participant")
  expect_equal(ll[["p001"]], ref, tolerance = 1e-9)
})
