# Ctrl-C (SIGINT) during long computations: the C++ loops poll R for
# interrupts on the main thread (between slices of parallel work, every few
# thousand items of serial loops, every soft-Q sweep), so R stops within a
# fraction of a second and stays usable.

# Sends SIGINT to this R process `after` seconds from now (from a forked
# child), evaluates `expr`, and returns the seconds from the signal to the
# interrupt being caught (NA when `expr` finished first).
time_to_interrupt <- function(expr, after) {
  parent <- Sys.getpid()
  signaller <- parallel::mcparallel({
    Sys.sleep(after)
    sent <- Sys.time()
    tools::pskill(parent, tools::SIGINT)
    sent
  })
  caught <- tryCatch({
    force(expr)
    Sys.sleep(after + 5)  # finished early: wait for the signal here
    NA
  }, interrupt = function(e) Sys.time())
  sent <- parallel::mccollect(signaller)[[1]]
  as.numeric(caught) - as.numeric(sent)
}

test_that("interrupting a long fit leaves R usable and a rerun works", {
  skip_on_os("windows")  # mcparallel() forks
  skip_on_cran()
  sims <- simulate_people(random_task(S = 20), n_participants = 200,
                          n_decisions = 100, seed = 12)
  # with tol = 0 the fit would otherwise run for max_iter iterations
  delay <- time_to_interrupt(fit_people(sims, tol = 0, tol_z = 0, max_iter = 1e5),
                             after = 1.5)
  expect_false(is.na(delay))
  expect_lt(delay, 5)
  fit <- fit_people(sims)
  expect_true(fit$converged)
  expect_true(all(is.finite(coef(fit))))
})

test_that("soft value iteration stops on an interrupt", {
  skip_on_os("windows")
  skip_on_cran()
  grid <- rlpsy_gridworld(60, 60)
  # about a minute of sweeps without the interrupt
  delay <- time_to_interrupt(
    rlpsy_soft_q(grid, gamma = 0.99999, tol = 1e-300, max_iter = 2e5), after = 1)
  expect_false(is.na(delay))
  expect_lt(delay, 3)
  expect_true(all(is.finite(rlpsy_soft_q(grid, gamma = 0.9))))
})

test_that("a fit of 10^7 decisions stops within a fraction of a second", {
  skip_on_os("windows")
  skip_on_cran()
  skip_if(nzchar(Sys.getenv("RLPSY_SKIP_LARGE")))
  # 10^7 decisions, 10^5 participants, 10^4 states: building the core takes
  # several seconds and one E- or M-step seconds, so before the C++ loops
  # polled for interrupts, Ctrl-C waited up to ~10 s
  set.seed(1)
  J <- 1e5
  n <- 100
  S <- 1e4
  N <- J * n
  enc <- rlpsy_data(
    data.frame(id = rep(seq_len(J), each = n), s = sample.int(S, N, TRUE),
               a = sample.int(4L, N, TRUE), s2 = sample.int(S, N, TRUE),
               r = stats::runif(N)),
    "id", "s", "a", "s2", reward = "r")
  ctrl <- rlpsy_control(threads = 2, progress = FALSE)
  # during the construction of the compressed data
  delay <- time_to_interrupt(rlpsy_fit(enc, gamma = 0.9, control = ctrl), after = 2)
  expect_false(is.na(delay))
  expect_lt(delay, 3)
  # during one long M-step (a single call of the core)
  spec <- rlpsy:::model_spec(enc, "joint", "state", NULL, 0.9, 1)
  spec$q_model <- rlpsy_q_table()
  prep <- rlpsy:::prepare_fit(enc, spec, ctrl, NULL)
  core <- prep$core
  st <- prep$state
  delay <- time_to_interrupt(
    rlpsy:::core_mstep(core, st$theta, st$w, st$z, 0, 1, TRUE, 2L, 10000L, 0, TRUE),
    after = 1)
  expect_false(is.na(delay))
  expect_lt(delay, 3)
  # and the core still works
  e <- rlpsy:::core_estep(core, st$theta, st$z, 0, 1, 2L, 100L, 1e-8)
  expect_true(all(is.finite(e$z)))
})
