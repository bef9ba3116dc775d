# The EM progress bar (cli) and the compact verbose lines (issue 14)

test_that("the progress bar shows the iteration and J, then goes away", {
  sims <- simulate_people(random_task(S = 6), n_participants = 15,
                          n_decisions = 30, seed = 3)
  withr_opts <- options(cli.progress_show_after = 0, cli.dynamic = FALSE)
  on.exit(options(withr_opts))
  msgs <- character()
  fit <- withCallingHandlers(
    fit_people(sims, progress = TRUE),
    message = function(m) {
      msgs <<- c(msgs, conditionMessage(m))
      invokeRestart("muffleMessage")
    })
  expect_true(any(grepl("EM iteration [0-9]+ .*\\| J = ", msgs)))
  expect_false(any(grepl("change NA", msgs)))
  # quiet without progress or verbose
  expect_silent(fit_people(sims, progress = FALSE))
})
