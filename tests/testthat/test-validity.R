# cor_validity(): validity correlations of participant scores (spec 6.1).

sim_validity <- function(n = 50, seed = 1) {
  set.seed(seed)
  ability <- rnorm(n)
  ids <- sprintf("p%03d", seq_len(n))
  beta <- setNames(exp(0.6 * ability + rnorm(n, sd = 0.4)), ids)
  crit <- setNames(ability + rnorm(n), ids)
  list(beta = beta, crit = crit)
}

# A stand-in for an rlpsy_fit: the class vector puts "rlpsy_fake_fit" first,
# so coef() finds the registered fake method (even once the real
# coef.rlpsy_fit exists) while cor_validity() dispatches to its rlpsy_fit
# method.
fake_fit <- function(beta) {
  coef_fake <- function(object, type = c("beta", "log"), ...) {
    type <- match.arg(type)
    if (type == "log") log(object$beta) else object$beta
  }
  registerS3method("coef", "rlpsy_fake_fit", coef_fake,
                   envir = asNamespace("stats"))
  structure(list(beta = beta), class = c("rlpsy_fake_fit", "rlpsy_fit"))
}

quiet_validity <- function(expr) {
  withCallingHandlers(expr, rlpsy_warning_validity = function(w) {
    invokeRestart("muffleWarning")
  })
}

test_that("Pearson r, interval and p-value equal cor.test()", {
  d <- sim_validity()
  v <- cor_validity(d$beta, d$crit)
  ct <- stats::cor.test(d$beta, d$crit)
  expect_s3_class(v, "rlpsy_validity")
  expect_equal(v$estimate, unname(ct$estimate), tolerance = 1e-12)
  expect_equal(as.numeric(v$conf.int), as.numeric(ct$conf.int),
               tolerance = 1e-12)
  expect_equal(attr(v$conf.int, "conf.level"), 0.95)
  expect_equal(v$p.value, ct$p.value, tolerance = 1e-12)
  expect_equal(v$statistic, unname(ct$statistic), tolerance = 1e-12)
  expect_equal(v$df, unname(ct$parameter))
  expect_identical(v$n, 50L)
  expect_identical(v$method, "pearson")
  expect_identical(v$scale, "beta")
  expect_identical(v$n_unmatched_fit, 0L)
  expect_identical(v$n_unmatched_criterion, 0L)
  expect_identical(v$n_missing, 0L)
  expect_identical(v$notes, character())

  v90 <- cor_validity(d$beta, d$crit, conf.level = 0.9)
  ct90 <- stats::cor.test(d$beta, d$crit, conf.level = 0.9)
  expect_equal(as.numeric(v90$conf.int), as.numeric(ct90$conf.int),
               tolerance = 1e-12)
})

test_that("scale = 'log' correlates log beta", {
  d <- sim_validity()
  v <- cor_validity(d$beta, d$crit, scale = "log")
  ct <- stats::cor.test(log(d$beta), d$crit)
  expect_equal(v$estimate, unname(ct$estimate), tolerance = 1e-12)
  expect_equal(as.numeric(v$conf.int), as.numeric(ct$conf.int),
               tolerance = 1e-12)
  expect_equal(v$p.value, ct$p.value, tolerance = 1e-12)
  expect_identical(v$scale, "log")
  expect_equal(v$data$score, unname(log(d$beta)))
})

test_that("Spearman equals cor(method = 'spearman'), Bonett-Wright interval", {
  d <- sim_validity(n = 40, seed = 2)
  d$crit[] <- round(d$crit)  # ties in the criterion
  v <- cor_validity(d$beta, d$crit, method = "spearman", conf.level = 0.9)
  rs <- stats::cor(d$beta, d$crit, method = "spearman")
  n <- 40
  se <- sqrt((1 + rs^2 / 2) / (n - 3))
  ci <- tanh(atanh(rs) + c(-1, 1) * qnorm(0.95) * se)
  t <- rs * sqrt((n - 2) / (1 - rs^2))
  expect_equal(v$estimate, rs, tolerance = 1e-12)
  expect_equal(as.numeric(v$conf.int), ci, tolerance = 1e-12)
  expect_equal(attr(v$conf.int, "conf.level"), 0.9)
  expect_equal(v$p.value, 2 * pt(-abs(t), n - 2), tolerance = 1e-12)
  expect_identical(v$method, "spearman")
  # ranks do not change under log
  v_log <- cor_validity(d$beta, d$crit, method = "spearman", scale = "log")
  expect_equal(v_log$estimate, rs, tolerance = 1e-12)
})

test_that("the rlpsy_fit method takes the scores from coef()", {
  d <- sim_validity()
  fit <- fake_fit(d$beta)
  expect_equal(cor_validity(fit, d$crit), cor_validity(d$beta, d$crit))
  expect_equal(cor_validity(fit, d$crit, scale = "log", method = "spearman"),
               cor_validity(d$beta, d$crit, scale = "log", method = "spearman"))
  expect_equal(cor_validity(fit, d$crit, scale = "log")$data$score,
               unname(log(d$beta)))
})

test_that("matching is by name, not by position", {
  d <- sim_validity()
  v <- cor_validity(d$beta, d$crit)
  set.seed(3)
  shuffled <- d$crit[sample(length(d$crit))]
  expect_equal(cor_validity(d$beta, shuffled), v)
  # positional pairing with the shuffled vector would give another answer
  expect_false(isTRUE(all.equal(cor(d$beta, unname(shuffled)), v$estimate)))
})

test_that("a data-frame criterion equals the vector criterion", {
  d <- sim_validity()
  v <- cor_validity(d$beta, d$crit, method = "spearman")
  df <- data.frame(participant = rev(names(d$crit)),
                   post = rev(unname(d$crit)), group = "a")
  expect_equal(cor_validity(d$beta, df, method = "spearman"), v)
  df2 <- data.frame(id = factor(names(d$crit)), post = unname(d$crit),
                    other = 1)
  expect_equal(cor_validity(d$beta, df2, by = "id", column = "post",
                            method = "spearman"), v)
})

test_that("logical and 0/1 criteria are accepted", {
  d <- sim_validity()
  pass <- d$crit > 0
  v <- cor_validity(d$beta, pass)
  expect_equal(v$estimate, cor(d$beta, as.numeric(pass)), tolerance = 1e-12)
  expect_equal(cor_validity(d$beta, pass * 1L), v)
})

test_that("unmatched and missing participants are reported, not dropped", {
  d <- sim_validity()
  crit <- d$crit[-(1:3)]                      # p001-p003 have no criterion
  crit <- c(crit, x1 = 0.2, x2 = 1.1)         # two criterion-only participants
  crit["p010"] <- NA                          # one missing value
  expect_warning(v <- cor_validity(d$beta, crit),
                 class = "rlpsy_warning_validity")
  expect_identical(v$n, 46L)
  expect_identical(v$n_unmatched_fit, 3L)
  expect_identical(v$unmatched_fit, c("p001", "p002", "p003"))
  expect_identical(v$n_unmatched_criterion, 2L)
  expect_identical(v$unmatched_criterion, c("x1", "x2"))
  expect_identical(v$n_missing, 1L)
  expect_identical(v$missing, "p010")
  expect_length(v$notes, 3L)
  keep <- setdiff(names(d$beta), c("p001", "p002", "p003", "p010"))
  expect_identical(v$data$participant, keep)
  ct <- stats::cor.test(d$beta[keep], crit[keep])
  expect_equal(v$estimate, unname(ct$estimate), tolerance = 1e-12)
  expect_snapshot(v)
  expect_snapshot(cor_validity(d$beta, crit))
})

test_that("many unmatched participants are summarised", {
  d <- sim_validity()
  crit <- d$crit[1:10]
  v <- quiet_validity(cor_validity(d$beta, crit))
  expect_identical(v$n_unmatched_fit, 40L)
  expect_length(v$unmatched_fit, 40L)
  expect_match(v$notes, paste0("^40 participants with a score are not in ",
                               "the criterion: \"p011\".* and 35 more\\.$"))
})

test_that("input errors have class rlpsy_error_input", {
  d <- sim_validity(n = 8)
  dup <- c(d$crit, p002 = 1, p005 = 2)
  expect_error(cor_validity(d$beta, dup), class = "rlpsy_error_input")
  expect_snapshot(cor_validity(d$beta, dup), error = TRUE)
  df_dup <- data.frame(participant = c(names(d$crit), "p003"), y = c(d$crit, 0))
  expect_snapshot(cor_validity(d$beta, df_dup), error = TRUE)

  chr <- setNames(as.character(d$crit), names(d$crit))
  expect_error(cor_validity(d$beta, chr), class = "rlpsy_error_input")
  expect_snapshot(cor_validity(d$beta, chr), error = TRUE)
  fac <- data.frame(participant = names(d$crit), y = factor(d$crit > 0))
  expect_snapshot(cor_validity(d$beta, fac, column = "y"), error = TRUE)

  few <- d$crit[1:2]
  expect_error(quiet_validity(cor_validity(d$beta, few)),
               class = "rlpsy_error_input")
  expect_snapshot(quiet_validity(cor_validity(d$beta, few)), error = TRUE)
  none <- setNames(d$crit, toupper(names(d$crit)))
  expect_snapshot(quiet_validity(cor_validity(d$beta, none)), error = TRUE)

  for (cl in list(0, 1, 1.5, -0.1, NA_real_, c(0.9, 0.95), "0.95")) {
    expect_error(cor_validity(d$beta, d$crit, conf.level = cl),
                 class = "rlpsy_error_input")
  }
  expect_snapshot(cor_validity(d$beta, d$crit, conf.level = 95), error = TRUE)
})

test_that("zero variance, naming and data-frame problems are errors", {
  d <- sim_validity(n = 8)
  const <- setNames(rep(1, 8), names(d$crit))
  expect_error(cor_validity(d$beta, const), class = "rlpsy_error_input")
  expect_snapshot(cor_validity(d$beta, const), error = TRUE)
  expect_snapshot(cor_validity(setNames(rep(2, 8), names(d$beta)), const),
                  error = TRUE)
  expect_snapshot(cor_validity(d$beta, unname(d$crit)), error = TRUE)
  expect_snapshot(cor_validity(unname(d$beta), d$crit), error = TRUE)
  expect_snapshot(cor_validity(d$beta, d$crit, scale = "log", bogus = 1),
                  error = TRUE)
  neg <- d$beta
  neg[2] <- -1
  expect_snapshot(cor_validity(neg, d$crit, scale = "log"), error = TRUE)

  two <- data.frame(participant = names(d$crit), a = d$crit, b = d$crit)
  expect_error(cor_validity(d$beta, two), class = "rlpsy_error_input")
  expect_snapshot(cor_validity(d$beta, two), error = TRUE)
  expect_equal(cor_validity(d$beta, two, column = "b")$estimate,
               cor(d$beta, d$crit), tolerance = 1e-12)
  expect_snapshot(cor_validity(d$beta, two, by = "id"), error = TRUE)
  expect_snapshot(cor_validity(d$beta, two, column = "c"), error = TRUE)
  chr_only <- data.frame(participant = names(d$crit), y = "x")
  expect_snapshot(cor_validity(d$beta, chr_only), error = TRUE)
  na_id <- two[, c("participant", "a")]
  na_id$participant[c(2, 5)] <- NA
  expect_snapshot(cor_validity(d$beta, na_id), error = TRUE)
  expect_error(cor_validity(d$beta, d$crit, method = "kendall"))
  expect_error(cor_validity(list(1, 2), d$crit), class = "rlpsy_error_input")
})

test_that("missing and infinite scores", {
  d <- sim_validity()
  b <- d$beta
  b[c("p004", "p007")] <- NA
  expect_warning(v <- cor_validity(b, d$crit), class = "rlpsy_warning_validity")
  expect_identical(v$missing, c("p004", "p007"))
  expect_identical(v$n, 48L)
  expect_identical(v$n_unmatched_fit, 0L)
  b[3] <- Inf
  expect_error(quiet_validity(cor_validity(b, d$crit)),
               class = "rlpsy_error_input")
  expect_snapshot(quiet_validity(cor_validity(b, d$crit)), error = TRUE)
})

test_that("n = 3 gives an estimate but no interval", {
  x <- c(a = 1, b = 2, c = 4)
  y <- c(c = 3, a = 1, b = 1.5)
  v <- cor_validity(x, y)
  ct <- stats::cor.test(x, y[names(x)])
  expect_equal(v$estimate, unname(ct$estimate), tolerance = 1e-12)
  expect_equal(v$p.value, ct$p.value, tolerance = 1e-12)
  expect_identical(as.numeric(v$conf.int), c(NA_real_, NA_real_))
  expect_snapshot(v)
})

test_that("print is compact", {
  d <- sim_validity(n = 120, seed = 4)
  expect_snapshot({
    cor_validity(d$beta, d$crit)
    cor_validity(d$beta, d$crit, method = "spearman", scale = "log",
                 conf.level = 0.9)
    cor_validity(d$beta, -d$crit + rnorm(120, sd = 20))
  })
  v <- cor_validity(d$beta, d$crit)
  capture.output(res <- withVisible(print(v)))
  expect_false(res$visible)
  expect_identical(res$value, v)
  expect_output(print(cor_validity(d$beta, d$crit)),
                "^Validity of beta \\(Pearson, n = 120\\): r = ")
})

test_that("as.data.frame gives one row with the documented columns", {
  d <- sim_validity()
  crit <- d$crit[-1]
  v <- quiet_validity(cor_validity(d$beta, crit, method = "spearman"))
  df <- as.data.frame(v)
  expect_s3_class(df, "data.frame")
  expect_identical(nrow(df), 1L)
  expect_identical(names(df), c("method", "scale", "n", "r", "lower", "upper",
                                "p.value", "n_unmatched_fit",
                                "n_unmatched_criterion", "n_missing"))
  expect_identical(df$method, "spearman")
  expect_identical(df$scale, "beta")
  expect_identical(df$n, 49L)
  expect_identical(df$r, v$estimate)
  expect_identical(c(df$lower, df$upper), as.numeric(v$conf.int))
  expect_identical(df$p.value, v$p.value)
  expect_identical(df$n_unmatched_fit, 1L)
  expect_identical(df$n_unmatched_criterion, 0L)
  both <- rbind(as.data.frame(v), as.data.frame(cor_validity(d$beta, d$crit)))
  expect_identical(nrow(both), 2L)
})
