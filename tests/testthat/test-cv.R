# rlpsy_cv(): held-out negative log-likelihood by refitting (issue 12).

cv_case <- function() {
  task <- random_task(S = 25, K = 4, seed = 1)
  sims <- simulate_people(task, 200, 100, seed = 2)
  list(task = task, sims = sims, fit = fit_people(sims))
}

# NLL of the generating model (true task values and betas) on rows of sims
true_nll <- function(task, sims, rows) {
  A <- reference_advantage(rlpsy_soft_q(task, 0.9, 1), task$available)
  d <- sims[rows, ]
  b <- attr(sims, "beta")[as.character(d$participant)]
  eta <- b * A[match(as.character(d$state), rownames(A)), , drop = FALSE]
  eta[!task$available[match(as.character(d$state), rownames(A)), , drop = FALSE]] <- -Inf
  lse <- apply(eta, 1, function(x) max(x) + log(sum(exp(x - max(x)))))
  -mean(eta[cbind(seq_len(nrow(d)), match(as.character(d$action), colnames(A)))] - lse)
}

test_that("by decision, the held-out NLL is close to the true model's on the same decisions", {
  k <- cv_case()
  cv <- suppressWarnings(rlpsy_cv(k$fit, folds = 5, by = "decision", seed = 3))
  expect_s3_class(cv, "rlpsy_cv")
  expect_identical(cv$fold, 1:5)
  asg <- attr(cv, "assignment")
  expect_identical(asg$row, seq_len(nrow(k$sims)))
  # every participant's decisions are dealt evenly to the folds
  per <- table(k$sims$participant, asg$fold)
  expect_true(all(per >= 19 & per <= 21))
  expect_identical(sum(cv$n_decisions) + sum(cv$n_unscored), nrow(k$sims))
  ratio <- attr(cv, "mean") / true_nll(k$task, k$sims, seq_len(nrow(k$sims)))
  expect_gte(ratio, 0.97)
  expect_lte(ratio, 1.05)
  # the mean is the decision-weighted mean of the folds
  expect_equal(attr(cv, "mean"), sum(cv$nll * cv$n_decisions) / sum(cv$n_decisions))
  # reproducible by seed, and the global stream is left alone
  set.seed(9)
  r0 <- runif(1)
  set.seed(9)
  again <- suppressWarnings(rlpsy_cv(k$fit, folds = 5, by = "decision", seed = 3))
  expect_identical(runif(1), r0)
  expect_identical(unclass(again), unclass(cv))
  expect_output(print(cv), "5-fold cross-validation by decision")
})

test_that("by participant, held-out people are scored on odd decisions and predicted on even ones", {
  k <- cv_case()
  cv <- suppressWarnings(rlpsy_cv(k$fit, folds = 4, by = "participant", seed = 4))
  asg <- attr(cv, "assignment")
  # one fold per participant, the roles alternate within a participant
  expect_true(all(tapply(asg$fold, k$sims$participant, function(f) length(unique(f))) == 1))
  expect_identical(asg$role[1:4], c("score", "predict", "score", "predict"))
  expect_identical(sum(cv$n_decisions) + sum(cv$n_unscored), sum(asg$role == "predict"))
  ratio <- attr(cv, "mean") / true_nll(k$task, k$sims, which(asg$role == "predict"))
  # predicting from a score of 50 decisions costs a little more
  expect_gte(ratio, 0.97)
  expect_lte(ratio, 1.10)
})

test_that("rlpsy_cv rejects bad arguments", {
  fit <- small_fit()
  expect_error(rlpsy_cv(1), class = "rlpsy_error_input", regexp = "fit")
  expect_error(rlpsy_cv(fit, folds = 1), class = "rlpsy_error_input", regexp = "folds")
  expect_error(rlpsy_cv(fit, by = "state"), class = "rlpsy_error_input", regexp = "by")
  expect_error(rlpsy_cv(fit, folds = 1000, by = "participant"), class = "rlpsy_error_input",
               regexp = "participants")
  expect_error(rlpsy_cv(fit, folds = 1000, by = "decision"), class = "rlpsy_error_input",
               regexp = "at least")
})
