test_that("beta is recovered on a gridworld with observed rewards", {
  task <- rlpsy_gridworld(nrow = 4, ncol = 4, walls = c(2, 2), goal = c(4, 4),
                          trap = c(3, 3), slip = 0.1)
  sims <- simulate_people(task, tau = 0.05)
  fit <- fit_people(sims, tau = 0.05)
  expect_true(fit$converged)
  expect_recovered(fit, sims)
})

test_that("beta is recovered on a random MDP with observed rewards", {
  sims <- simulate_people(random_task(), seed = 3)
  fit <- fit_people(sims)
  expect_true(fit$converged)
  expect_recovered(fit, sims)
})

test_that("beta is recovered on a random MDP with a learned reward", {
  sims <- simulate_people(random_task(seed = 4), seed = 5)
  # (a learned reward may let a state's values collapse: reported, see
  # test-defaults.R)
  fit <- withCallingHandlers(fit_people(sims, reward = NULL, max_iter = 2000),
                             rlpsy_warning_identification = function(w) {
                               expect_match(conditionMessage(w), "collapsed")
                               invokeRestart("muffleWarning")
                             })
  expect_true(fit$converged)
  expect_true(all(abs(fit$reward) <= 1, na.rm = TRUE))
  expect_recovered(fit, sims)
})

test_that("with a fixed prior the objective never increases across EM iterations", {
  sims <- simulate_people(random_task(S = 10), n_participants = 60,
                          n_decisions = 80, seed = 6)
  for (reward in list("reward", NULL)) {
    # a capped run: only the monotone trace matters here
    fit <- suppressWarnings(fit_people(sims, reward = reward, max_iter = 40,
                                       prior = c(mu = 0.5, sigma = 0.7)))
    J <- fit$trace$total
    expect_true(all(diff(J) <= 1e-9 * abs(J[-1])), info = paste(reward))
    expect_equal(unname(fit$prior), c(0.5, 0.7))
  }
})

test_that("the fit ends with an E-step: each z maximises its log posterior", {
  sims <- simulate_people(random_task(S = 10), n_participants = 30,
                          n_decisions = 60, seed = 7)
  fit <- fit_people(sims)
  enc <- fit$data
  A <- fit$advantage
  for (j in c(1, 10, 30)) {
    brute <- optimize(function(z) reference_estep_loglik(
      enc, A, j, z, fit$prior[["mu"]], fit$prior[["sigma"]]),
      c(-8, 8), maximum = TRUE, tol = 1e-10)$maximum
    expect_equal(unname(fit$z[j]), brute, tolerance = 1e-6)
  }
})

test_that("stopping at max_iter warns with class and records it", {
  sims <- simulate_people(random_task(S = 10), n_participants = 30,
                          n_decisions = 50, seed = 9)
  expect_warning(fit <- fit_people(sims, max_iter = 2),
                 class = "rlpsy_warning_convergence")
  expect_false(fit$converged)
  expect_equal(nrow(fit$trace), 2)
})

test_that("verbose prints a compact line every k iterations and the last", {
  sims <- simulate_people(random_task(S = 8), n_participants = 20,
                          n_decisions = 40, seed = 10)
  out <- capture.output(fit <- fit_people(sims, verbose = 2))
  it <- fit$iterations
  shown <- sort(unique(c(1, seq(2, it, by = 2)[seq(2, it, by = 2) <= it], it)))
  expect_equal(as.integer(sub("^EM +([0-9]+):.*", "\\1", out)), shown)
  expect_match(out, "J = .* dJ = ")
  expect_identical(rlpsy_control(verbose = TRUE)$verbose, 10L)
  expect_identical(rlpsy_control(verbose = FALSE)$verbose, 0L)
  expect_false(rlpsy_control(verbose = 5)$progress)
  # never a progress bar while knitr knits, unless asked
  withr_opt <- options(knitr.in.progress = TRUE)
  on.exit(options(withr_opt))
  expect_false(rlpsy_control()$progress)
  expect_true(rlpsy_control(progress = TRUE)$progress)
})

test_that("gamma and tau are validated", {
  sims <- simulate_people(random_task(S = 5), n_participants = 5,
                          n_decisions = 10, seed = 1)
  expect_error(fit_people(sims, gamma = 1), class = "rlpsy_error_input")
  expect_error(fit_people(sims, gamma = -0.1), class = "rlpsy_error_input")
  expect_error(fit_people(sims, tau = 0), class = "rlpsy_error_input")
})

test_that("an action level never chosen does not change the betas", {
  ex <- rlpsy_example
  fit_ex <- function(d) {
    rlpsy_fit(d, "participant", "state", "action", "next_state", "done", "reward",
              gamma = 0.9, tau = 0.05,
              control = rlpsy_control(threads = 1, progress = FALSE))
  }
  plain <- fit_ex(ex)
  ex$action <- factor(ex$action, levels = c("up", "down", "left", "right", "wait"))
  expect_message(padded <- fit_ex(ex), class = "rlpsy_message_actions")
  expect_equal(coef(padded), coef(plain))
  # the true betas' median is 2.18; the unused level used to give 14
  truth <- tapply(ex$true_beta, ex$participant, `[`, 1)
  expect_equal(median(coef(padded)), median(truth), tolerance = 0.06)
  expect_setequal(colnames(padded$Q), colnames(plain$Q))
})
