# rlpsy_reliability(): split-half by refit and the model-based figure,
# checked against an independent split-half computed here by hand, plus the
# split itself, seeding and argument errors.

# Simulated data from the model, rows interleaved across participants (each
# participant's decisions keep their logged order), and its fit; cached.
reliability_problem <- local({
  cache <- NULL
  function() {
    if (is.null(cache)) {
      sims <- simulate_people(random_task(S = 10, K = 3), n_participants = 150,
                              n_decisions = 60)
      t <- stats::ave(seq_len(nrow(sims)), sims$participant, FUN = seq_along)
      sims <- sims[order(t, sims$participant), ]
      rownames(sims) <- NULL
      cache <<- list(sims = sims, fit = fit_people(sims))
    }
    cache
  }
})

test_that("split-half and model reliability agree with an independent split-half", {
  p <- reliability_problem()
  sims <- p$sims
  # independent: odd and even decisions of each participant, in data order,
  # fitted with rlpsy_fit() directly; Spearman-Brown by hand
  t <- stats::ave(seq_len(nrow(sims)), sims$participant, FUN = seq_along)
  z1 <- coef(fit_people(sims[t %% 2 == 1, ]), type = "log")
  z2 <- coef(fit_people(sims[t %% 2 == 0, ]), type = "log")
  ids <- intersect(names(z1), names(z2))
  r <- cor(z1[ids], z2[ids])
  by_hand <- 2 * r / (1 + r)

  rel <- rlpsy_reliability(p$fit, seed = 1)
  expect_s3_class(rel, c("rlpsy_reliability", "data.frame"))
  expect_named(rel, c("method", "split", "reliability", "lower", "upper", "n"))
  expect_identical(rel$method, c("split-half", "model", "model-eap"))
  expect_identical(rel$split, c("odd-even", NA, NA))
  expect_identical(rel$n, c(150L, 150L, 150L))
  expect_lt(abs(rel$reliability[1] - by_hand), 0.1)
  expect_lt(abs(rel$reliability[2] - by_hand), 0.1)
  # the odd-even refits are the same fits as the independent ones
  expect_equal(rel$reliability[1], by_hand, tolerance = 1e-6)
  expect_equal(rel$reliability[2], rlpsy:::reliability(p$fit$z, p$fit$se))
  expect_equal(rel$reliability[3], attr(rlpsy_scores(p$fit), "reliability")[["eap"]])
  expect_lt(abs(rel$reliability[3] - rel$reliability[2]), 0.05)
  expect_true(all(rel$lower < rel$reliability & rel$reliability < rel$upper))
  # and both near the truth of the simulation, cor(z_hat, z)^2
  truth <- cor(p$fit$z, log(attr(sims, "beta"))[names(p$fit$z)])^2
  expect_lt(max(abs(rel$reliability - truth)), 0.1)

  rnd <- rlpsy_reliability(p$fit, "split-half", split = "random", times = 3, seed = 2)
  expect_identical(nrow(rnd), 1L)
  expect_lt(abs(rnd$reliability - by_hand), 0.1)
  h <- attr(rnd, "halves")
  expect_identical(dim(h$z1), c(150L, 3L))
  expect_equal(rnd$reliability, mean(2 * h$r / (1 + h$r)))
  expect_output(print(rel), "split-half (odd-even): ", fixed = TRUE)
  expect_output(print(rel), "model, EAP (conditional on Q): ", fixed = TRUE)
})

test_that("odd-even halves partition each participant's decisions exactly", {
  enc <- reliability_problem()$fit$data
  h <- rlpsy:::first_half(enc, "odd-even")
  a <- rlpsy:::subset_decisions(enc, h)
  b <- rlpsy:::subset_decisions(enc, !h)
  expect_setequal(c(a$row, b$row), enc$row)
  expect_length(intersect(a$row, b$row), 0L)
  expect_identical(a$states, enc$states)
  expect_identical(a$actions, enc$actions)
  expect_identical(a$available, enc$available)
  for (j in c(1L, 7L, 150L)) {
    rows <- enc$row[enc$participant == j - 1L]  # logged order
    lab <- enc$participants[j]
    expect_identical(a$row[a$participant == match(lab, a$participants) - 1L],
                     rows[c(TRUE, FALSE)])
    expect_identical(b$row[b$participant == match(lab, b$participants) - 1L],
                     rows[c(FALSE, TRUE)])
  }
  expect_identical(diff(a$offsets) + diff(b$offsets), diff(enc$offsets))
  # a random half also partitions, with the larger half first
  r <- rlpsy:::first_half(enc, "random")
  n1 <- tabulate(enc$participant[r] + 1L, enc$n_participants)
  expect_identical(n1, as.integer(ceiling(diff(enc$offsets) / 2)))
})

test_that("subset_decisions drops participants and keeps a valid encoding", {
  enc <- reliability_problem()$fit$data
  keep <- enc$participant %in% c(2L, 5L) & (seq_len(enc$n_decisions) %% 3L != 0L)
  s <- rlpsy:::subset_decisions(enc, keep)
  expect_s3_class(s, "rlpsy_data")
  expect_identical(s$participants, enc$participants[c(3, 6)])
  expect_identical(s$n_decisions, sum(keep))
  expect_identical(s$participant, rep(0:1, diff(s$offsets)))
  expect_identical(s$state, enc$state[keep])
  expect_identical(s$reward, enc$reward[keep])
  expect_identical(rlpsy:::subset_decisions(enc, which(keep)), s)
})

test_that("seeds reproduce results and leave the caller's RNG state alone", {
  fit <- reliability_problem()$fit
  set.seed(99)
  before <- .Random.seed
  a <- rlpsy_reliability(fit, split = "random", times = 2, seed = 5)
  expect_identical(.Random.seed, before)
  b <- rlpsy_reliability(fit, split = "random", times = 2, seed = 5)
  expect_identical(a, b)
  c <- rlpsy_reliability(fit, split = "random", times = 2, seed = 6)
  expect_false(identical(a$reliability[1], c$reliability[1]))
  m1 <- rlpsy_reliability(fit, "model", seed = 5)
  expect_identical(.Random.seed, before)
  expect_identical(m1, rlpsy_reliability(fit, "model", seed = 5))
})

test_that("participants with fewer than 2 decisions are left out with a message", {
  sims <- reliability_problem()$sims
  one <- sims[sims$participant == "p001", ][1, ]
  one$participant <- "solo"
  expect_warning(
    fit <- fit_people(rbind(sims[sims$participant %in% sprintf("p%03d", 1:40), ], one)),
    "cannot identify beta", class = "rlpsy_warning_identification")
  # (20-30 decisions per half: some halves depart from the task's values and
  # say so; only the message matters here)
  expect_message(rel <- suppressWarnings(rlpsy_reliability(fit, "split-half", seed = 1)),
                 "1 participant has fewer than 2 decisions")
  expect_identical(rel$n, 40L)
  expect_identical(attr(rel, "halves")$dropped, "solo")
})

test_that("summary shows the split-half figure when given, else says so", {
  fit <- reliability_problem()$fit
  s <- summary(fit)
  expect_null(s$reliability_split)
  expect_true(any(grepl("split-half: not computed (rlpsy_reliability(fit))",
                        capture.output(print(s)), fixed = TRUE)))
  rel <- rlpsy_reliability(fit, seed = 1)
  s2 <- summary(fit, reliability = rel)
  expect_equal(s2$reliability_split$reliability, rel$reliability[1])
  out <- capture.output(print(s2))
  expect_true(any(grepl("split-half (odd-even): ", out, fixed = TRUE)))
  expect_true(any(grepl("model (conditional on Q): ", out, fixed = TRUE)))
  s3 <- summary(fit, reliability = TRUE)
  expect_equal(s3$reliability_split$reliability, rel$reliability[1])
})

test_that("bad arguments give input errors naming the argument", {
  fit <- reliability_problem()$fit
  err <- function(expr, arg) {
    e <- expect_error(expr, class = "rlpsy_error_input")
    expect_match(conditionMessage(e), arg, fixed = TRUE)
  }
  err(rlpsy_reliability(list()), "`fit`")
  err(rlpsy_reliability(fit, method = "bogus"), "`method`")
  err(rlpsy_reliability(fit, method = c("model", "model")), "`method`")
  err(rlpsy_reliability(fit, method = 1), "`method`")
  err(rlpsy_reliability(fit, split = "halves"), "`split`")
  err(rlpsy_reliability(fit, times = 0), "`times`")
  err(rlpsy_reliability(fit, times = 2.5), "`times`")
  err(rlpsy_reliability(fit, times = NA), "`times`")
  err(rlpsy_reliability(fit, seed = -1), "`seed`")
  err(rlpsy_reliability(fit, level = 1), "`level`")
  err(rlpsy_reliability(fit, level = c(0.9, 0.95)), "`level`")
  err(summary(fit, reliability = "yes"), "`reliability`")
  err(summary(fit, reliability = rlpsy_reliability(fit, "model")), "`reliability`")
  small <- fit_people(reliability_problem()$sims[1:600, ])
  err(summary(fit, reliability = rlpsy_reliability(small, "model")), "another fit")
  expect_snapshot(rlpsy_reliability(fit, method = "bogus"), error = TRUE)
})

test_that("print shows one line per method and what each figure means", {
  x <- structure(
    data.frame(method = c("split-half", "model"), split = c("random", NA),
               reliability = c(0.71234, 0.8561), lower = c(0.65, 0.83),
               upper = c(0.76, 0.88), n = c(98L, 100L), stringsAsFactors = FALSE),
    class = c("rlpsy_reliability", "data.frame"), level = 0.9, times = 20L)
  expect_snapshot(print(x))
  expect_snapshot(print(x[2, ], digits = 2))
})

test_that("negatively correlated halves warn that the figure is no reliability", {
  expect_warning(rlpsy:::warn_negative_halves(c(-0.3, 0.1)),
                 class = "rlpsy_warning_reliability")
  expect_silent(rlpsy:::warn_negative_halves(c(0.3, -0.1)))
})
