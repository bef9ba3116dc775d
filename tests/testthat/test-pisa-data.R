# The shipped PISA 2012 Climate Control subset: shape, coding, and that it
# encodes and fits with its `available` matrix.

test_that("pisa_cc and pisa_cc_students have the documented shape and coding", {
  expect_named(pisa_cc, c("participant", "state", "action", "next_state", "done",
                          "reward", "country"))
  expect_identical(nrow(pisa_cc), 35416L)
  expect_identical(levels(pisa_cc$state), c("0", "1", "2", "3", "end"))
  expect_identical(levels(pisa_cc$next_state), levels(pisa_cc$state))
  expect_identical(levels(pisa_cc$action),
                   c("vary_new", "vary_again", "vary_several", "reset", "end"))
  expect_identical(pisa_cc$reward, as.numeric(pisa_cc$action == "vary_new"))
  expect_identical(pisa_cc$done, pisa_cc$action == "end")
  expect_true(all(pisa_cc$next_state[pisa_cc$done] == "end"))
  expect_false(any(pisa_cc$state == "end"))
  # vary_new moves the state up by one, nothing else changes it
  up <- as.integer(pisa_cc$next_state) - as.integer(pisa_cc$state)
  expect_true(all(up[!pisa_cc$done] == (pisa_cc$action == "vary_new")[!pisa_cc$done]))

  av <- attr(pisa_cc, "available")
  expect_identical(dimnames(av), list(levels(pisa_cc$state), levels(pisa_cc$action)))
  expect_false(av["3", "vary_new"])
  expect_false(av["0", "vary_again"])
  expect_identical(sum(!av), 2L)

  s <- pisa_cc_students
  expect_named(s, c("participant", "country", "correct", "n_events"))
  expect_identical(nrow(s), 2000L)
  expect_false(anyDuplicated(s$participant) > 0)
  expect_setequal(s$participant, unique(pisa_cc$participant))
  expect_true(all(s$correct %in% 0:1))
  expect_identical(s$n_events, as.integer(table(pisa_cc$participant)[s$participant]))
  expect_identical(as.character(s$country), substr(s$participant, 1, 3))
  # one end per student, as the last decision
  last <- !duplicated(pisa_cc$participant, fromLast = TRUE)
  expect_true(all(pisa_cc$done == last))
})

test_that("pisa_cc encodes and fits with its available matrix", {
  enc <- rlpsy_data(pisa_cc, "participant", "state", "action", "next_state",
                    done = "done", reward = "reward",
                    available = attr(pisa_cc, "available"))
  expect_identical(enc$n_participants, 2000L)
  expect_identical(enc$states, c("0", "1", "2", "3", "end"))
  # the issue's design: gamma 0.5, tau 1; ending competes with an entropy
  # bonus of log(5) / 0.5 > the reward range 1, which the diagnostics say
  expect_warning(fit <- rlpsy_fit(enc, gamma = 0.5, control = rlpsy_control(threads = 2)),
                 "entropy bonus", class = "rlpsy_warning_identification")
  expect_gt(fit$diagnostics$task_consistency, 0.99)
  expect_length(coef(fit), 2000L)
  expect_true(all(is.finite(coef(fit, type = "log"))))
})
