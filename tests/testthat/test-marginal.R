# The marginal-likelihood fit (issue 13, item 3): EM over adaptive
# Gauss-Hermite nodes, its logLik against integrate(), monotonicity, the
# marginal-ML fixed point, thread independence and the degrees of freedom.

marginal_problem <- local({
  cache <- list()
  function(n_participants = 40, n_decisions = 40, ...) {
    key <- paste(n_participants, n_decisions)
    if (is.null(cache[[key]])) {
      task <- random_task(S = 8, K = 3, seed = 4)
      sims <- simulate_people(task, n_participants = n_participants,
                              n_decisions = n_decisions, seed = 5)
      cache[[key]] <<- sims
    }
    cache[[key]]
  }
})

fit_marginal <- function(sims, threads = 2, method = "marginal", reward = "reward",
                         ...) {
  rlpsy_fit(sims, participant = "participant", state = "state",
            action = "action", next_state = "next_state", done = "done",
            reward = reward, gamma = 0.9, tau = 1, method = method,
            control = rlpsy_control(threads = threads), ...)
}

# log of int exp(l_j(z)) N(z; m_j, sigma^2) dz by integrate(), l_j from the
# core's grid at the fit's Q
brute_marginal <- function(fit) {
  core <- rlpsy:::fit_core(fit)
  Q <- rlpsy:::fit_theta(fit)
  J <- length(fit$z)
  m <- rlpsy:::fit_prior_mean(fit)
  s <- fit$prior[["sigma"]]
  vapply(seq_len(J), function(j) {
    l <- function(z) {
      Z <- matrix(NA_real_, J, length(z))
      Z[j, ] <- z
      rlpsy:::core_person_grid(core, Q, Z, 1L)[j, ]
    }
    top <- l(fit$z[[j]])
    f <- function(z) exp(l(z) - top) * dnorm(z, m[j], s)
    lo <- fit$z[[j]] - 15 * fit$se[[j]]
    hi <- fit$z[[j]] + 15 * fit$se[[j]]
    top + log(integrate(f, lo, hi, rel.tol = 1e-12, subdivisions = 1000L)$value)
  }, 0)
}

test_that("the marginal fit's logLik equals integrate() to 1e-6 relative", {
  fit <- fit_marginal(marginal_problem())
  expect_identical(fit$method, "marginal")
  ll <- logLik(fit)
  brute <- brute_marginal(fit)
  expect_equal(as.numeric(ll), sum(brute), tolerance = 1e-6)
  expect_equal(unname(attr(ll, "participant")), brute, tolerance = 1e-6)
  expect_equal(as.numeric(ll), fit$marginal$loglik, tolerance = 1e-10)
  expect_identical(attr(ll, "nobs"), nobs(fit))
  # the conditional logLik is still there on request
  expect_equal(as.numeric(logLik(fit, type = "conditional")),
               -fit$objective[["behaviour"]])
})

test_that("the marginal EM decreases its objective and ends at the marginal-ML fixed point", {
  fit <- fit_marginal(marginal_problem())
  tr <- fit$trace
  expect_true(fit$converged)
  expect_gte(nrow(tr), 2L)
  expect_true(all(diff(tr$total) <= 1e-9 * abs(tr$total[-1])))
  expect_equal(tail(tr$total, 1), fit$marginal$objective)
  expect_equal(fit$marginal$objective, -fit$marginal$loglik + fit$marginal$penalty)
  # prior: mu = mean of the posterior means, sigma^2 = mean posterior second
  # moment about mu (the marginal-ML update), up to the stopping tolerance
  mu <- mean(fit$eap)
  expect_equal(fit$prior[["mu"]], mu, tolerance = 1e-3)
  expect_equal(fit$prior[["sigma"]], sqrt(mean(fit$eap_sd^2 + (fit$eap - mu)^2)),
               tolerance = 1e-3)
  # EAPs agree with rlpsy_scores() at the fit
  sc <- rlpsy_scores(fit, "eap")
  expect_equal(sc$estimate, unname(fit$eap), tolerance = 1e-6)
  expect_equal(sc$std.error, unname(fit$eap_sd), tolerance = 1e-6)
  # fit$z are the modes at the final Q and prior
  e <- rlpsy:::core_estep(rlpsy:::fit_core(fit), rlpsy:::fit_theta(fit),
                          unname(fit$eap), fit$prior[["mu"]], fit$prior[["sigma"]],
                          1L, 100L, 1e-10)
  expect_equal(e$z, unname(fit$z), tolerance = 1e-6)
})

test_that("the marginal fit beats the MAP fit on the marginal objective", {
  sims <- marginal_problem()
  mfit <- fit_marginal(sims)
  map <- fit_marginal(sims, method = "map")
  expect_identical(map$method, "map")
  pen <- function(f) f$objective[["total"]] - f$objective[["behaviour"]] -
    f$objective[["prior"]]
  obj_map <- -as.numeric(rlpsy_marginal_loglik(map)) + pen(map)
  expect_lt(mfit$marginal$objective, obj_map)
  expect_equal(mfit$marginal$penalty, pen(mfit), tolerance = 1e-8)
})

test_that("the marginal fit does not depend on the number of threads", {
  sims <- marginal_problem()
  f1 <- fit_marginal(sims, threads = 1)
  f2 <- fit_marginal(sims, threads = 2)
  expect_identical(f1$Q, f2$Q)
  expect_identical(f1$prior, f2$prior)
  expect_identical(f1$eap, f2$eap)
  expect_identical(f1$z, f2$z)
  expect_identical(f1$marginal, f2$marginal)
})

test_that("marginal fits: latent regression, q = \"task\", learned reward, df", {
  sims <- marginal_problem()
  set.seed(1)
  pd <- data.frame(participant = unique(sims$participant), x = rnorm(40))
  f <- fit_marginal(sims, person_data = pd, person_formula = ~ x)
  expect_identical(rownames(f$prior$coefficients), c("(Intercept)", "x"))
  expect_equal(unname(f$prior$coefficients[, 1]),
               unname(qr.coef(qr(cbind(1, pd$x)), f$eap)), tolerance = 1e-3)
  d <- f$data
  k <- rowSums(d$available)[tabulate(d$state + 1L, d$n_states) > 0]
  expect_identical(attr(logLik(f), "df"), as.integer(sum(pmax(k - 2, 0)) + 3))
  expect_equal(as.numeric(logLik(f)), sum(brute_marginal(f)), tolerance = 1e-6)
  ft <- fit_marginal(sims, q = "task")
  expect_true(all(diff(ft$trace$total) <= 1e-9 * abs(ft$trace$total[-1])))
  expect_equal(ft$Q, fit_marginal(sims, q = "task", method = "map")$Q)
  expect_identical(attr(logLik(ft), "df"), as.integer(sum(pmax(k - 2, 0)) + 2))
  fl <- suppressWarnings(fit_marginal(sims, reward = NULL))
  expect_true(all(diff(fl$trace$total) <= 1e-9 * abs(fl$trace$total[-1])))
  expect_gt(attr(logLik(fl), "df"), attr(logLik(ft), "df"))
  expect_error(fit_marginal(sims, method = "bayes"), "method",
               class = "rlpsy_error_input")
  expect_output(print(f), "latent regression.*Marginal")
})
