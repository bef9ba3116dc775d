# Several temperatures per participant: rlpsy_fit(dimension = ).

dims_task <- function() random_task(S = 20, K = 3, seed = 1)

test_that("a constant dimension column gives today's fit exactly", {
  sims <- simulate_people(random_task(S = 10, K = 3), n_participants = 40,
                          n_decisions = 60)
  sims$one <- "all"
  f0 <- fit_people(sims)
  f1 <- rlpsy_fit(sims, "participant", "state", "action", "next_state",
                  done = "done", reward = "reward", gamma = 0.9, tau = 1,
                  dimension = "one", control = rlpsy_control(threads = 2))
  expect_identical(coef(f1), coef(f0))
  expect_identical(f1$se, f0$se)
  expect_identical(f1$prior, f0$prior)
  expect_identical(f1$Q, f0$Q)
  expect_identical(f1$objective, f0$objective)
  expect_identical(f1$participants, f0$participants)
  expect_identical(f1$trace[names(f1$trace) != "time"], f0$trace[names(f0$trace) != "time"])
})

test_that("two dimensions split by state parity are recovered (issue 13)", {
  sd <- simulate_dims(dims_task(), J = 300, rho = 0.5)
  fit <- fit_dims(sd$data, dimension = "dim")
  expect_true(fit$converged)
  expect_identical(fit$dimensions, c("even", "odd"))
  expect_identical(dim(coef(fit)), c(300L, 2L))
  z <- fit$z[rownames(sd$z), ]
  r <- diag(cor(z, sd$z))
  expect_true(all(r >= 0.8))
  rho_hat <- stats::cov2cor(fit$prior$Sigma)[1, 2]
  expect_lt(abs(rho_hat - 0.5), 0.15)
  expect_named(fit$prior, c("mu", "Sigma"))
  expect_identical(dimnames(fit$prior$Sigma), list(c("even", "odd"), c("even", "odd")))
  # the EB fixed point: mu = mean z, Sigma = mean of (z - mu)(z - mu)' + V_j
  expect_equal(unname(fit$prior$mu), unname(colMeans(fit$z)), tolerance = 1e-5)
  R <- sweep(fit$z, 2L, colMeans(fit$z))
  S <- crossprod(R) / nrow(R) + apply(fit$posterior_cov, c(2L, 3L), mean)
  expect_equal(unname(fit$prior$Sigma), unname(S), tolerance = 1e-5)
  expect_equal(unname(fit$se), unname(t(sqrt(apply(fit$posterior_cov, 1L, diag)))),
               tolerance = 1e-12)
})

test_that("the D-dimensional E-step finds the exact posterior mode and curvature", {
  sd <- simulate_dims(random_task(S = 8, K = 3, seed = 2), J = 30, n = 40, seed = 5)
  fit <- fit_dims(sd$data, dimension = "dim")
  for (j in c(1L, 7L, 19L)) {
    f <- function(z) -log_posterior_dims(fit, j, z)
    opt <- stats::optim(c(0, 0), f, method = "BFGS",
                        control = list(reltol = 1e-14, maxit = 1000))
    expect_equal(unname(fit$z[j, ]), opt$par, tolerance = 1e-4)
    H <- stats::optimHess(unname(fit$z[j, ]), f)
    expect_equal(unname(fit$posterior_cov[j, , ]), solve(H), tolerance = 1e-4)
  }
})

test_that("several dimensions give the same numbers with 1 and 2 threads", {
  sd <- simulate_dims(dims_task(), J = 60, n = 60, seed = 7)
  f1 <- fit_dims(sd$data, threads = 1, dimension = "dim")
  f2 <- fit_dims(sd$data, threads = 2, dimension = "dim")
  expect_identical(f1$z, f2$z)
  expect_identical(f1$se, f2$se)
  expect_identical(f1$prior, f2$prior)
  expect_identical(f1$Q, f2$Q)
})

test_that("a participant without decisions in a dimension is scored from the prior", {
  sd <- simulate_dims(dims_task(), J = 40, n = 60, seed = 8)
  d <- sd$data[!(sd$data$participant == "p001" & sd$data$dim == "odd"), ]
  expect_warning(fit <- fit_dims(d, dimension = "dim"),
                 class = "rlpsy_warning_identification")
  p <- fit$participants
  row <- p$participant == "p001" & p$dimension == "odd"
  expect_identical(p$n_decisions[row], 0L)
  expect_identical(as.character(p$status[row]), "not_identified")
  # its odd z is the prior's conditional mean given its even z
  S <- fit$prior$Sigma
  m <- fit$prior$mu[["odd"]] + S[2, 1] / S[1, 1] * (fit$z["p001", "even"] - fit$prior$mu[["even"]])
  expect_equal(fit$z["p001", "odd"], m, tolerance = 1e-6)
})

test_that("the methods work per dimension and the rest refuse clearly", {
  sd <- simulate_dims(dims_task(), J = 40, n = 60, seed = 9)
  fit <- fit_dims(sd$data, dimension = dim)
  expect_identical(rownames(coef(fit)), sprintf("p%03d", 1:40))
  ci <- confint(fit, parm = c("p002", "p005"))
  expect_identical(rownames(ci), c("p002:even", "p002:odd", "p005:even", "p005:odd"))
  expect_equal(unname(ci[1, ]), unname(exp(fit$z["p002", "even"] +
                                             c(-1, 1) * qnorm(0.975) * fit$se["p002", "even"])))
  expect_identical(rownames(coef(summary(fit)))[1:2], c("p001:even", "p001:odd"))
  pb <- predict(fit, type = "beta")
  expect_identical(names(pb)[1:2], c("participant", "dimension"))
  expect_identical(nrow(pb), 80L)
  expect_identical(tidy(fit)$dimension, rep(c("even", "odd"), 40))
  expect_identical(tidy(fit, effects = "prior")$term,
                   c("mu[even]", "mu[odd]", "sigma[even]", "sigma[odd]", "cor[even,odd]"))
  v <- cor_validity(fit, stats::setNames(sd$z[, "even"], rownames(sd$z)), scale = "log")
  expect_identical(v$dimension, c("even", "odd"))
  expect_gt(v$r[1], v$r[2])
  rel <- rlpsy_reliability(fit, method = "model")
  expect_identical(rel$dimension, c("even", "odd", "even", "odd"))
  expect_identical(rel$method, rep(c("model", "model-eap"), each = 2))
  sc <- rlpsy_scores(fit, "eap")
  expect_equal(rel$reliability[3:4], unname(attr(sc, "reliability")["eap", ]))
  expect_output(print(fit), "MVN\\(mu = ")
  expect_output(print(summary(fit)), "model \\(conditional on Q\\): even")
  P <- predict(fit, type = "prob")
  beta <- fit$beta[cbind(match(sd$data$participant, rownames(fit$beta)),
                         match(sd$data$dim, colnames(fit$beta)))]
  i <- 5L
  A <- unclass(fit$advantage)[as.character(sd$data$state[i]), ]
  expect_equal(unname(P[i, ]), unname(exp(beta[i] * A) / sum(exp(beta[i] * A))))
  for (f in list(function() rlpsy_fit_stats(fit, calibrate = "bootstrap", R = 2),
                 function() simulate(fit, type = "trajectory"))) {
    expect_error(f(), class = "rlpsy_error_unsupported")
  }
})

test_that("new participants are scored on every dimension under the fit's Q and prior", {
  sd <- simulate_dims(dims_task(), J = 120, n = 80, seed = 11)
  fit <- fit_dims(sd$data, dimension = "dim")
  # the fit's own decisions, given as new data: the same scores as the fit's
  # (its last E-step ran under the returned Q and prior)
  who <- rownames(fit$z)[c(3, 7, 50)]
  nd <- sd$data[sd$data$participant %in% who, ]
  p <- predict(fit, newdata = nd, type = "beta")
  expect_identical(names(p)[1:3], c("participant", "dimension", "beta"))
  expect_identical(p$participant, rep(who[order(match(who, rownames(fit$z)))], each = 2))
  expect_identical(p$dimension, rep(c("even", "odd"), 3))
  ref <- fit$z[cbind(match(p$participant, rownames(fit$z)), match(p$dimension, colnames(fit$z)))]
  expect_equal(p$z, ref, tolerance = 1e-6)
  ref_se <- fit$se[cbind(match(p$participant, rownames(fit$se)), match(p$dimension, colnames(fit$se)))]
  expect_equal(p$se, ref_se, tolerance = 1e-6)
  n <- table(factor(nd$participant, who), factor(nd$dim, c("even", "odd")))
  expect_identical(p$n_decisions, as.integer(t(n[unique(p$participant), ])))
  # a newcomer with decisions on one dimension only: the other is predicted
  # from the prior given the first (the prior's correlation moves it)
  one <- nd[nd$participant == who[1] & nd$dim == "even", ]
  one$participant <- "newcomer"
  q <- predict(fit, newdata = one, type = "beta")
  expect_identical(q$n_decisions, c(nrow(one), 0L))
  S <- fit$prior$Sigma
  mu <- fit$prior$mu
  expect_equal(q$z[2], unname(mu[2] + S[2, 1] / S[1, 1] * (q$z[1] - mu[1])),
               tolerance = 1e-6)
  # choice probabilities for new data: each decision's beta of its dimension
  P_fit <- predict(fit, type = "prob")[sd$data$participant %in% who, ]
  expect_equal(predict(fit, newdata = nd, type = "prob"), P_fit, tolerance = 1e-10,
               ignore_attr = TRUE)
  P_new <- predict(fit, newdata = one, type = "prob")
  A <- unclass(fit$advantage)[as.character(one$state), , drop = FALSE]
  expect_equal(unname(P_new), unname(exp(exp(q$z[1]) * A) / rowSums(exp(exp(q$z[1]) * A))),
               tolerance = 1e-10)
  # bad dimension columns in newdata
  expect_error(predict(fit, newdata = nd[setdiff(names(nd), "dim")], type = "beta"),
               "needs the `dimension` column", class = "rlpsy_error_input")
  bad <- nd
  bad$dim[2] <- "sideways"
  expect_error(predict(fit, newdata = bad, type = "beta"), "sideways",
               class = "rlpsy_error_input")
})

test_that("a warm start continues a fit with several dimensions and adds participants", {
  sd <- simulate_dims(dims_task(), J = 120, n = 80, seed = 12)
  fit <- fit_dims(sd$data, dimension = "dim")
  again <- fit_dims(sd$data, dimension = "dim", start = fit)
  expect_true(again$converged)
  expect_lte(again$iterations, 2L)  # it starts at the optimum
  expect_equal(again$z, fit$z, tolerance = 1e-4)
  expect_equal(again$prior$Sigma, fit$prior$Sigma, tolerance = 1e-4)
  # participants the start does not have begin at the prior mean
  more <- simulate_dims(dims_task(), J = 20, n = 80, seed = 13)$data
  more$participant <- paste0("new", more$participant)
  both <- fit_dims(rbind(sd$data, more), dimension = "dim", start = fit)
  expect_true(both$converged)
  expect_identical(dim(both$z), c(140L, 2L))
  expect_equal(both$z[rownames(fit$z), ], fit$z, tolerance = 0.05)
  # other dimensions than the start's
  sd$data$other <- ifelse(sd$data$state %in% unique(sd$data$state)[1:3], "a", "b")
  expect_error(fit_dims(sd$data, dimension = "other", start = fit),
               "other dimensions", class = "rlpsy_error_input")
})

test_that("bootstrap intervals are given per participant and dimension", {
  sd <- simulate_dims(dims_task(), J = 60, n = 80, seed = 14)
  fit <- fit_dims(sd$data, dimension = "dim")
  ci <- suppressWarnings(confint(fit, parm = c(2, 5), method = "boot", R = 8, seed = 1))
  p <- rownames(fit$z)[c(2, 5)]
  expect_identical(rownames(ci), paste0(rep(p, each = 2), ":", c("even", "odd")))
  expect_identical(rownames(ci), rownames(confint(fit, parm = c(2, 5))))
  expect_identical(attr(ci, "R"), 8L)
  z <- as.vector(t(fit$z[c(2, 5), ]))
  expect_true(all(log(ci[, 1]) < z & z < log(ci[, 2])))
  # reproducible with a seed; the scores of each replicate are those of
  # predict() under the replicate's refit
  expect_identical(suppressWarnings(confint(fit, parm = c(2, 5), method = "boot",
                                            R = 8, seed = 1)), ci)
  bs <- suppressWarnings(rlpsy:::boot_scores(fit, R = 2, seed = 3, parm = c(2, 5)))
  expect_identical(colnames(bs$z), rownames(ci))
  expect_true(all(is.finite(bs$z)) && all(bs$se > 0))
})

test_that("cross-validation prefers the second dimension when the betas differ", {
  # mean log beta log 2 on one dimension and 0 on the other: one beta per
  # person predicts held-out decisions worse, on the same folds
  sd <- simulate_dims(dims_task(), J = 120, n = 80, seed = 15)
  f2 <- fit_dims(sd$data, dimension = "dim")
  f1 <- fit_dims(sd$data)
  for (by in c("decision", "participant")) {
    c2 <- suppressWarnings(rlpsy_cv(f2, folds = 3, by = by, seed = 2))
    c1 <- suppressWarnings(rlpsy_cv(f1, folds = 3, by = by, seed = 2))
    expect_identical(attr(c2, "assignment"), attr(c1, "assignment"))
    expect_lt(attr(c2, "mean"), attr(c1, "mean") - 0.01)
    expect_lte(sum(c2$n_unscored), 5L)
  }
})

test_that("person fit is per participant and dimension: a planted random dimension is flagged", {
  sd <- simulate_dims(dims_task(), J = 150, n = 80, seed = 16)
  d <- sd$data
  planted <- d$participant == d$participant[1] & d$dim == "odd"
  set.seed(5)
  d$action[planted] <- sample(unique(d$action), sum(planted), replace = TRUE)
  fit <- fit_dims(d, dimension = "dim")
  ps <- rlpsy_fit_stats(fit, by = "participant")
  expect_identical(names(ps)[1:3], c("participant", "dimension", "n_decisions"))
  expect_identical(nrow(ps), 300L)
  row <- function(dim) which(ps$participant == d$participant[1] & ps$dimension == dim)
  expect_lt(ps$l_z_star[row("odd")], -3)
  expect_gt(ps$l_z_star[row("even")], -2)
  expect_true(ps$flagged[row("odd")])
  # the other units follow the model: l_z* about standard normal
  rest <- ps$l_z_star[-c(row("odd"), row("even"))]
  expect_lt(abs(mean(rest, na.rm = TRUE)), 0.2)
  expect_gt(stats::sd(rest, na.rm = TRUE), 0.8)
  expect_lt(stats::sd(rest, na.rm = TRUE), 1.2)
  # the state table uses each decision's beta of its dimension
  st <- rlpsy_fit_stats(fit, by = "state")
  expect_equal(sum(attr(st, "expected")), nrow(d), tolerance = 1e-8)
})

test_that("the beta plots show one panel per dimension", {
  sd <- simulate_dims(dims_task(), J = 30, n = 60, seed = 17)
  fit <- fit_dims(sd$data, dimension = "dim")
  tmp <- tempfile(fileext = ".pdf")
  grDevices::pdf(tmp)
  on.exit({grDevices::dev.off(); unlink(tmp)})
  op <- graphics::par("mfrow")
  expect_identical(plot(fit, which = "beta"), fit)
  expect_identical(graphics::par("mfrow"), op)  # restored
  skip_if_not_installed("ggplot2")
  g <- ggplot2::autoplot(fit, which = "beta")
  expect_s3_class(g, "ggplot")
  expect_identical(nrow(g$data), 60L)
  for (d in c("even", "odd")) {
    one <- g$data[g$data$dimension == d, ]
    expect_identical(one$rank, seq_len(30L))
    expect_true(all(diff(one$beta) >= 0))
    expect_equal(sort(one$beta), sort(unname(coef(fit)[, d])))
  }
  expect_silent(print(g))
})

test_that("bad `dimension` input gives clear errors", {
  sd <- simulate_dims(random_task(S = 6, K = 3), J = 10, n = 20, seed = 4)
  d <- sd$data
  expect_error(fit_dims(d, dimension = "nope"), "does not have", class = "rlpsy_error_input")
  expect_error(fit_dims(d, dimension = "reward"), "character or a factor",
               class = "rlpsy_error_input")
  expect_error(fit_dims(d, dimension = "action"), "before the choice",
               class = "rlpsy_error_input")
  d$by_action <- ifelse(d$action == d$action[1], "a", "b")
  expect_warning(fit_dims(d, dimension = "by_action"), "function of the action",
                 class = "rlpsy_warning_dimension")
  d$dim[3] <- NA
  expect_error(fit_dims(d, dimension = "dim"), "missing or empty", class = "rlpsy_error_input")
  expect_error(fit_dims(sd$data, dimension = "dim", start = fit_dims(sd$data)),
               "other dimensions", class = "rlpsy_error_input")
  expect_error(fit_dims(sd$data, dimension = c("dim", "dim")), class = "rlpsy_error_input")
  enc <- rlpsy_data(sd$data, "participant", "state", "action", "next_state", "done", "reward")
  expect_error(rlpsy_fit(enc, gamma = 0.9, dimension = "dim"), "data frame",
               class = "rlpsy_error_input")
})

test_that("split-half reliability refits the halves with their dimensions", {
  sd <- simulate_dims(dims_task(), J = 60, n = 80, seed = 12)
  fit <- fit_dims(sd$data, dimension = "dim")
  rel <- rlpsy_reliability(fit, method = "split-half")
  expect_identical(rel$dimension, c("even", "odd"))
  expect_identical(rel$method, rep("split-half", 2))
  expect_identical(rel$n, c(60L, 60L))
  h <- attr(rel, "halves")
  expect_named(h, c("even", "odd"))
  sb <- function(r) 2 * r / (1 + r)
  for (d in c("even", "odd")) {
    expect_equal(rel$reliability[rel$dimension == d],
                 sb(cor(h[[d]]$z1[, 1], h[[d]]$z2[, 1])))
  }
  # the halves were fitted with two temperatures: a half's refit by hand
  # (odd positions within each participant and dimension) gives its scores
  d <- sd$data[order(sd$data$participant, sd$data$dim), ]
  pos <- ave(seq_len(nrow(d)), d$participant, d$dim, FUN = seq_along)
  half <- fit_dims(d[pos %% 2 == 1, ], dimension = "dim")
  expect_equal(unname(h$even$z1[, 1]), unname(half$z[rownames(h$even$z1), "even"]),
               tolerance = 1e-6)
  expect_output(print(rel), "split-half \\(odd-even\\), dimension odd")
  both <- rlpsy_reliability(fit)
  expect_identical(both$method, c("split-half", "split-half", "model", "model",
                                  "model-eap", "model-eap"))
})
