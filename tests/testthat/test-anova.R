# anova() of marginal-likelihood fits (issue 13, item 5).

anova_problem <- local({
  cache <- NULL
  function() {
    if (is.null(cache)) {
      ls <- latent_sims()
      sims <- ls$sims
      pd <- ls$pd
      fit <- function(formula = NULL, method = "marginal", data = sims) {
        rlpsy_fit(data, participant = "participant", state = "state",
                  action = "action", next_state = "next_state", done = "done",
                  reward = "reward", gamma = 0.9, tau = 1, method = method,
                  person_data = if (!is.null(formula)) pd, person_formula = formula,
                  control = rlpsy_control(threads = 2))
      }
      cache <<- list(sims = sims, fit = fit, f0 = fit(), f1 = fit(~ x),
                     f2 = fit(~ x + noise))
    }
    cache
  }
})

test_that("anova() finds the covariate (true slope 0.6): p < 0.001", {
  p <- anova_problem()
  a <- anova(p$f1, p$f0)
  expect_s3_class(a, "anova")
  expect_identical(rownames(a), c("p$f0", "p$f1"))  # ordered by df
  expect_identical(a$df, c(attr(logLik(p$f0), "df"), attr(logLik(p$f1), "df")))
  expect_identical(diff(a$df), 1L)
  expect_equal(a$logLik, c(as.numeric(logLik(p$f0)), as.numeric(logLik(p$f1))))
  expect_equal(a$Chisq[2], 2 * (a$logLik[2] - a$logLik[1]))
  expect_equal(a$AIC, c(AIC(logLik(p$f0)), AIC(logLik(p$f1))))
  expect_equal(a$BIC, -2 * a$logLik + log(300) * a$df)
  expect_lt(a[["Pr(>Chisq)"]][2], 0.001)
  expect_true(is.na(a[["Pr(>Chisq)"]][1]))
  expect_lt(abs(p$f1$prior$coefficients["x", 1] - 0.6), 0.1)
  # a noise covariate on top: the LR statistic is small and non-negative-ish
  a3 <- anova(p$f0, p$f1, p$f2)
  expect_identical(rownames(a3), c("p$f0", "p$f1", "p$f2"))
  expect_gt(a3[["Pr(>Chisq)"]][3], 0.001)
  expect_output(print(a3), "Marginal-likelihood fits")
})

test_that("anova() refuses MAP fits, other data and other objects", {
  p <- anova_problem()
  map <- p$fit(method = "map")
  expect_error(anova(map, p$f0), "`map` is a MAP fit.*conditional",
               class = "rlpsy_error_input")
  expect_error(anova(p$f0, map), "MAP fit", class = "rlpsy_error_input")
  other <- p$fit(data = p$sims[p$sims$participant != "p001", ])
  expect_error(anova(p$f0, other), "different data.*decisions",
               class = "rlpsy_error_input")
  flipped <- p$sims
  i <- which(flipped$action != flipped$action[1])[1]
  flipped$action[c(1, i)] <- flipped$action[c(i, 1)]
  expect_error(anova(p$f0, p$fit(data = flipped)), "different decisions",
               class = "rlpsy_error_input")
  expect_error(anova(p$f0, lm(1 ~ 1)), "rlpsy_fit objects", class = "rlpsy_error_input")
})
