test_that("interrupting a long fit leaves R usable and a rerun works", {
  skip_on_os("windows")  # mcparallel() forks
  skip_on_cran()
  sims <- simulate_people(random_task(S = 20), n_participants = 200,
                          n_decisions = 100, seed = 12)
  parent <- Sys.getpid()
  # a child process sends SIGINT to this R process while the fit runs; with
  # tol = 0 the fit would otherwise run for max_iter iterations
  signaller <- parallel::mcparallel({
    Sys.sleep(1.5)
    tools::pskill(parent, tools::SIGINT)
  })
  started <- Sys.time()
  res <- tryCatch(fit_people(sims, tol = 0, tol_z = 0, max_iter = 1e5),
                  interrupt = function(e) "interrupted")
  parallel::mccollect(signaller)
  expect_identical(res, "interrupted")
  expect_lt(as.numeric(difftime(Sys.time(), started, units = "secs")), 60)
  fit <- fit_people(sims)
  expect_true(fit$converged)
  expect_true(all(is.finite(coef(fit))))
})
