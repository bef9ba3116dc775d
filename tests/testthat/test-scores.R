# Person scores (issue 13, items 3 and 4): the C++ grid of behaviour
# log-likelihoods, the marginal log-likelihood by adaptive Gauss-Hermite
# quadrature, MAP / EAP / plausible-value scores and the model-based
# reliabilities, checked against pure-R references and integrate().

# Data simulated from the model: 300 participants with few decisions
# (posteriors wide and skewed) or 20 with many; fits cached.
scores_problem <- local({
  cache <- list()
  function(n_decisions = 10, n_participants = 300) {
    key <- paste(n_decisions, n_participants)
    if (is.null(cache[[key]])) {
      task <- random_task()
      sims <- simulate_people(task, n_participants = n_participants,
                              n_decisions = n_decisions, seed = 3)
      cache[[key]] <<- list(sims = sims, fit = suppressWarnings(fit_people(sims)))
    }
    cache[[key]]
  }
})

# Participant j's posterior kernel exp(l_j(z) - l_j(mode)) N(z; mu, sigma^2),
# vectorised over z, from the pure-R reference likelihood.
reference_kernel <- function(fit, j) {
  A <- unclass(fit$advantage)
  l <- function(z) vapply(z, function(zz)
    reference_estep_loglik(fit$data, A, j, zz, 0, Inf), 0)
  top <- l(fit$z[[j]])
  list(f = function(z) exp(l(z) - top) * dnorm(z, fit$prior[["mu"]], fit$prior[["sigma"]]),
       log_scale = top)
}

# The exact posterior distribution function of participant j: integrate()
# over 300 cells of mode +- 12 SE, cumulated, interpolated by a monotone
# spline (accurate to about 1e-9).
reference_cdf <- function(fit, j) {
  f <- reference_kernel(fit, j)$f
  pts <- fit$z[[j]] + fit$se[[j]] * seq(-12, 12, length.out = 301)
  cells <- vapply(seq_len(300), function(k)
    integrate(f, pts[k], pts[k + 1], rel.tol = 1e-11)$value, 0)
  stats::splinefun(pts, c(0, cumsum(cells)) / sum(cells), method = "hyman")
}

# Mean and skewness of each participant's posterior from the grid of
# posterior_grid() (cell midpoints weighted by the cells' probabilities)
grid_moments <- function(post) {
  g <- rlpsy:::posterior_grid(post)
  mid <- (g$z[, -1] + g$z[, -ncol(g$z)]) / 2
  p <- t(apply(g$cdf, 1, diff))
  m1 <- rowSums(p * mid)
  list(mean = m1,
       skewness = rowSums(p * (mid - m1)^3) / rowSums(p * (mid - m1)^2)^1.5)
}

test_that("the grid of log-likelihoods equals the pure-R reference, for any threads", {
  fit <- small_fit()
  core <- rlpsy:::fit_core(fit)
  Z <- cbind(fit$z, fit$z - 1, fit$z + 0.5, NA)
  G1 <- rlpsy:::core_person_grid(core, unclass(fit$Q), Z, 1L)
  G2 <- rlpsy:::core_person_grid(core, unclass(fit$Q), Z, 2L)
  expect_identical(G1, G2)
  expect_true(all(is.na(G1[, 4])))
  # at the mode: the fit's log-likelihood of each participant (no prior)
  expect_equal(G1[, 1], fit$participants$loglik, tolerance = 1e-12)
  A <- unclass(fit$advantage)
  ref <- outer(seq_along(fit$z), 1:3, Vectorize(function(j, g)
    reference_estep_loglik(fit$data, A, j, Z[j, g], 0, Inf)))
  expect_lt(max_rel_err(G1[, 1:3], ref), 1e-12)
  # threads on a larger problem (several parallel slices)
  big <- scores_problem()$fit
  Zb <- big$z + outer(big$se, seq(-3, 3, by = 0.5))
  core <- rlpsy:::fit_core(big)
  expect_identical(rlpsy:::core_person_grid(core, unclass(big$Q), Zb, 1L),
                   rlpsy:::core_person_grid(core, unclass(big$Q), Zb, 2L))
})

test_that("Gauss-Hermite rules integrate polynomials against N(0, 1) exactly", {
  for (n in c(1, 2, 5, 21, 60)) {
    gh <- rlpsy:::gauss_hermite(n)
    expect_equal(sum(gh$w), 1, tolerance = 1e-14)
    expect_equal(gh$x, -rev(gh$x))
    # E X^(2k) = (2k - 1)!!, exact for 2k < 2n
    for (k in seq_len(min(n - 1, 6))) {
      expect_equal(sum(gh$w * gh$x^(2 * k)), prod(seq(1, 2 * k - 1, by = 2)),
                   tolerance = 1e-10)
    }
  }
  expect_identical(rlpsy:::gauss_hermite(21), rlpsy:::gauss_hermite(21))
})

test_that("the marginal log-likelihood equals integrate() to a relative 1e-6", {
  for (fit in list(small_fit(), scores_problem()$fit)) {
    js <- if (length(fit$z) > 20) c(1, 50, 150, 267, 300) else seq_along(fit$z)
    ml <- rlpsy_marginal_loglik(fit)
    expect_s3_class(ml, "logLik")
    by_part <- attr(ml, "participant")
    ref <- vapply(js, function(j) {
      k <- reference_kernel(fit, j)
      v <- integrate(k$f, fit$z[[j]] - 15 * fit$se[[j]], fit$z[[j]] + 15 * fit$se[[j]],
                     rel.tol = 1e-12, subdivisions = 1000L)$value
      log(v) + k$log_scale
    }, 0)
    # each participant's integral to a relative 1e-6 (an absolute 1e-6 on the
    # log scale), and so the sum
    expect_lt(max(abs(by_part[js] - ref)), 1e-6)
    expect_lt(abs(sum(by_part[js]) - sum(ref)) / abs(sum(ref)), 1e-6)
    expect_equal(as.numeric(ml), sum(by_part))
    # more nodes change nothing that matters; the Laplace rule is close
    expect_lt(abs(rlpsy_marginal_loglik(fit, nodes = 41) - ml) / abs(ml), 1e-8)
    expect_lt(abs(rlpsy_marginal_loglik(fit, nodes = 1) - ml) / abs(ml), 1e-2)
  }
  fit <- small_fit()
  ml <- rlpsy_marginal_loglik(fit)
  expect_identical(attr(ml, "nobs"), fit$data$n_decisions)
  # the betas are integrated out; mu and sigma were estimated
  expect_identical(attr(ml, "df"), attr(logLik(fit), "df") - length(fit$z) + 2L)
  expect_true(is.finite(AIC(ml)))
  # the marginal likelihood is below the one at the modes (the prior's
  # spread costs), and above it minus the prior's penalty at the modes
  expect_lt(as.numeric(ml), as.numeric(logLik(fit)))
})

test_that("MAP scores are the fit's modes; EAP scores its posterior means", {
  fit <- small_fit()
  map <- rlpsy_scores(fit)
  expect_named(map, c("participant", "estimate", "std.error", "conf.low",
                      "conf.high", "beta", "n_decisions", "status"))
  expect_equal(map$estimate, unname(fit$z))
  expect_equal(map$beta, unname(fit$beta))
  expect_equal(exp(cbind(map$conf.low, map$conf.high)),
               unname(confint(fit)), ignore_attr = TRUE)
  eap <- rlpsy_scores(fit, "eap", level = 0.9)
  for (j in c(1, 7)) {
    f <- reference_kernel(fit, j)$f
    lim <- fit$z[[j]] + c(-15, 15) * fit$se[[j]]
    m0 <- integrate(f, lim[1], lim[2], rel.tol = 1e-12)$value
    m1 <- integrate(function(z) z * f(z), lim[1], lim[2], rel.tol = 1e-12)$value / m0
    m2 <- integrate(function(z) (z - m1)^2 * f(z), lim[1], lim[2], rel.tol = 1e-12)$value / m0
    expect_lt(abs(eap$estimate[j] - m1), 1e-7 * sqrt(m2))
    expect_lt(abs(eap$std.error[j] - sqrt(m2)), 1e-7 * sqrt(m2))
    # the interval: exact posterior quantiles, not mean +- q SD
    F <- reference_cdf(fit, j)
    q <- vapply(c(0.05, 0.95), function(p)
      uniroot(function(x) F(x) - p, lim, tol = 1e-12)$root, 0)
    expect_lt(max(abs(c(eap$conf.low[j], eap$conf.high[j]) - q)), 1e-3 * sqrt(m2))
  }
})

test_that("EAP is close to MAP with many decisions and follows the skew with few", {
  many <- scores_problem(n_decisions = 1000, n_participants = 20)$fit
  e <- rlpsy_scores(many, "eap")
  d_many <- abs(e$estimate - many$z) / many$se
  expect_lt(max(d_many), 0.05)
  expect_lt(max(abs(e$std.error / many$se - 1)), 0.02)
  # with 10 decisions the posterior of log(beta) is skewed, mostly to the
  # left (the likelihood flattens as beta -> 0, while it falls fast past
  # the mode): the mean moves from the mode towards the longer tail, so EAP
  # < MAP for most participants. It is more shrunk than MAP above mu, less
  # below; it is not more shrunk overall.
  few <- scores_problem()$fit
  post <- rlpsy:::person_posterior(few, 21)
  mom <- grid_moments(post)
  m1 <- mom$mean
  skew <- mom$skewness
  shift <- (post$eap - few$z) / few$se
  expect_gt(mean(abs(shift)), 2 * mean(d_many))
  moved <- abs(shift) > 0.01
  expect_gt(mean(sign(shift[moved]) == sign(skew[moved])), 0.9)
  expect_gt(mean(shift < 0), 0.75)
  # EAPs from the quadrature and the grid agree
  expect_lt(max(abs(m1 - post$eap) / few$se), 1e-3)
})

test_that("plausible values keep the prior's variance and follow the exact posterior", {
  pr <- scores_problem(n_decisions = 30)
  fit <- pr$fit
  pv <- rlpsy_scores(fit, "plausible", draws = 5, seed = 11)
  expect_named(pv, c("participant", "estimate", "std.error", "conf.low", "conf.high",
                     "beta", "n_decisions", "status", paste0("draw", 1:5)))
  draws <- as.matrix(pv[paste0("draw", 1:5)])
  ratio <- apply(draws, 2, var) / fit$prior[["sigma"]]^2
  expect_lt(abs(mean(ratio) - 1), 0.15)
  expect_true(all(abs(ratio - 1) < 0.25))
  # the modes are shrunk: their variance is well below the prior's
  expect_lt(var(fit$z) / fit$prior[["sigma"]]^2, 0.85)
  # a skewed posterior (10 decisions): 4000 draws against its exact
  # distribution function (Kolmogorov-Smirnov), and against the normal
  # approximation at the mode, which the test must reject
  few <- scores_problem()$fit
  pv <- rlpsy_scores(few, "plausible", draws = 4000, seed = 3)
  skew <- grid_moments(rlpsy:::person_posterior(few, 21))$skewness
  j <- which.min(skew)  # the most skewed posterior of this fit
  expect_lt(skew[j], -0.25)
  x <- unlist(pv[j, paste0("draw", 1:4000)], use.names = FALSE)
  F <- reference_cdf(few, j)
  expect_gt(suppressWarnings(stats::ks.test(x, F))$p.value, 0.01)
  expect_lt(suppressWarnings(stats::ks.test(x, "pnorm", few$z[[j]], few$se[[j]]))$p.value, 1e-4)
  qs <- c(0.025, 0.25, 0.5, 0.75, 0.975)
  exact <- vapply(qs, function(p) uniroot(function(v) F(v) - p, few$z[[j]] + c(-12, 12) *
                                            few$se[[j]], tol = 1e-12)$root, 0)
  expect_lt(max(abs(stats::quantile(x, qs, names = FALSE) - exact)), 0.1 * few$se[[j]])
})

test_that("plausible values are reproducible by seed and leave the RNG alone", {
  fit <- small_fit()
  set.seed(99)
  before <- .Random.seed
  a <- rlpsy_scores(fit, "plausible", seed = 4)
  expect_identical(.Random.seed, before)
  expect_identical(a, rlpsy_scores(fit, "plausible", seed = 4))
  expect_false(identical(a$draw1, rlpsy_scores(fit, "plausible", seed = 5)$draw1))
  # without a seed, the session's stream
  set.seed(1)
  b <- rlpsy_scores(fit, "plausible")
  set.seed(1)
  expect_identical(b, rlpsy_scores(fit, "plausible"))
  # EAP columns are the same whatever the method
  e <- rlpsy_scores(fit, "eap")
  expect_identical(a[names(e)], e[names(e)], ignore_attr = TRUE)
})

test_that("reliabilities: marginal and EAP, shown beside the MAP figure", {
  fit <- scores_problem(n_decisions = 30)$fit
  s <- rlpsy_scores(fit, "eap")
  rel <- attr(s, "reliability")
  post_var <- s$std.error^2
  expect_equal(rel[["marginal"]], 1 - mean(post_var) / fit$prior[["sigma"]]^2)
  expect_equal(rel[["eap"]], var(s$estimate) / (var(s$estimate) + mean(post_var)))
  # both near the MAP figure and near the truth of the simulation
  truth <- cor(fit$z, log(attr(scores_problem(30)$sims, "beta"))[names(fit$z)])^2
  expect_lt(max(abs(rel - rlpsy:::reliability(fit$z, fit$se))), 0.05)
  expect_lt(max(abs(rel - truth)), 0.1)
  r <- rlpsy_reliability(fit, "model", seed = 1)
  expect_identical(r$method, c("model", "model-eap"))
  expect_equal(r$reliability[2], rel[["eap"]])
  expect_output(print(r), "model, EAP (conditional on Q)", fixed = TRUE)
})

test_that("non-identified participants get the prior as their posterior", {
  sims <- scores_problem(n_decisions = 30)$sims
  one <- sims[sims$participant == "p001", ][1, ]
  one$participant <- "solo"
  d <- rbind(sims[sims$participant %in% sprintf("p%03d", 1:40), ], one)
  fit <- suppressWarnings(fit_people(d))
  expect_identical(as.character(fit$participants$status[41]), "not_identified")
  mu <- fit$prior[["mu"]]
  sigma <- fit$prior[["sigma"]]
  for (m in c("map", "eap")) {
    s <- rlpsy_scores(fit, m, level = 0.9)
    expect_equal(unlist(s[41, c("estimate", "std.error", "conf.low", "conf.high")],
                        use.names = FALSE),
                 c(mu, sigma, mu + qnorm(c(0.05, 0.95)) * sigma), tolerance = 1e-4)
  }
  pv <- rlpsy_scores(fit, "plausible", draws = 2000, seed = 1)
  x <- unlist(pv[41, paste0("draw", 1:2000)], use.names = FALSE)
  expect_gt(stats::ks.test(x, "pnorm", mu, sigma)$p.value, 0.01)
  # the marginal likelihood still counts their decision
  expect_true(is.finite(attr(rlpsy_marginal_loglik(fit), "participant")[["solo"]]))
})

test_that("bad arguments give input errors naming the argument", {
  fit <- small_fit()
  err <- function(expr, arg) {
    e <- expect_error(expr, class = "rlpsy_error_input")
    expect_match(conditionMessage(e), arg, fixed = TRUE)
  }
  err(rlpsy_scores(list()), "`fit`")
  err(rlpsy_marginal_loglik(1), "`fit`")
  err(rlpsy_scores(fit, method = "mode"), "`method`")
  err(rlpsy_scores(fit, method = NA), "`method`")
  err(rlpsy_scores(fit, draws = 0), "`draws`")
  err(rlpsy_scores(fit, draws = 2.5), "`draws`")
  err(rlpsy_scores(fit, level = 1), "`level`")
  err(rlpsy_scores(fit, level = NA), "`level`")
  err(rlpsy_scores(fit, nodes = 0), "`nodes`")
  err(rlpsy_scores(fit, nodes = 101), "`nodes`")
  err(rlpsy_marginal_loglik(fit, nodes = "a"), "`nodes`")
  err(rlpsy_scores(fit, seed = -1), "`seed`")
  err(rlpsy_scores(fit, seed = "x"), "`seed`")
})

test_that("scores work on a fit whose core was lost (saved and loaded)", {
  fit <- small_fit()
  path <- tempfile(fileext = ".rds")
  saveRDS(fit, path)
  back <- readRDS(path)
  expect_false(rlpsy:::core_alive(back$core))
  expect_equal(rlpsy_scores(back, "eap"), rlpsy_scores(fit, "eap"))
  expect_equal(rlpsy_marginal_loglik(back), rlpsy_marginal_loglik(fit))
})

test_that("logLik(type = \"marginal\") is the marginal log-likelihood", {
  fit <- small_fit()
  expect_identical(logLik(fit, type = "marginal"), rlpsy_marginal_loglik(fit))
  expect_identical(logLik(fit, "marginal", nodes = 5), rlpsy_marginal_loglik(fit, 5))
  expect_identical(logLik(fit), logLik(fit, "conditional"))
  expect_error(logLik(fit, type = "joint"), class = "rlpsy_error_input")
})
