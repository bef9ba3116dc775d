# Robustness, round 2 (issue 11): labels that cannot be told apart or read,
# corrupted rlpsy_data objects, compact calls, participants whose beta is
# not identified, and the thread setting.

expect_rlpsy_input_error <- function(expr, ...) {
  err <- expect_error(expr, class = "rlpsy_error_input")
  for (p in c(...)) expect_match(conditionMessage(err), p, fixed = TRUE)
  invisible(err)
}

quiet_fit <- function(data, ..., control = rlpsy_control(threads = 1, progress = FALSE)) {
  suppressWarnings(rlpsy_fit(data, ..., control = control))
}

ex_enc <- function() {
  rlpsy_data(rlpsy_example, "participant", "state", "action", "next_state",
             "done", "reward")
}

# --- item 5 and 9: numeric and integer64 ids -------------------------------------

test_that("ids beyond 2^53 are refused instead of merged", {
  d <- data.frame(id = 2^53 + 0:11, s = 1, a = c(1, 2), s2 = 1)
  expect_rlpsy_input_error(rlpsy_data(d, "id", "s", "a", "s2"),
                           "`participant` column \"id\"", "2^53", "rows 1, 2",
                           "9007199254740992", "as character")
  d$id <- paste0("9007199254740", 992:1003)  # the same ids as strings
  expect_identical(rlpsy_data(d, "id", "s", "a", "s2")$n_participants, 12L)
  d <- data.frame(id = 1, s = c(1, -2^60), a = 1, s2 = 1)
  expect_rlpsy_input_error(rlpsy_data(d, "id", "s", "a", "s2"), "`state` column", "row 2")
})

test_that("integer64 columns are named as such, not shown as tiny doubles", {
  d <- data.frame(id = 1:3, s = 1, a = 1, s2 = 1, r = 0)
  d$id <- structure(c(5e-324, 1e-323, 1.5e-323), class = "integer64")
  err <- expect_rlpsy_input_error(rlpsy_data(d, "id", "s", "a", "s2"),
                                  "<integer64>", "as.character()")
  expect_no_match(conditionMessage(err), "e-324")
  d$id <- 1:3
  d$r <- structure(c(5e-324, 1e-323, 1.5e-323), class = "integer64")
  err <- expect_rlpsy_input_error(rlpsy_data(d, "id", "s", "a", "s2", reward = "r"),
                                  "<integer64>")
  expect_no_match(conditionMessage(err), "e-324")
})

test_that("numeric ids match between the fit and a criterion", {
  d <- small_data()
  ids <- unique(as.character(d$id))
  num <- 1e5 * seq_along(ids)  # 1e5, 2e5, ...: as.character() gives "1e+05"
  d$id <- num[match(as.character(d$id), ids)]
  fit <- quiet_fit(d, participant = "id", state = "state", action = "action",
                   next_state = "next_state", done = "done", reward = "reward",
                   available = attr(small_data(), "task")$available, gamma = 0.9)
  expect_true("100000" %in% names(coef(fit)))
  set.seed(1)
  crit <- data.frame(pid = num, y = log(coef(fit)[sprintf("%.0f", num)]) +
                       stats::rnorm(length(num), sd = 0.1))
  v <- cor_validity(fit, crit, by = "pid", column = "y")
  expect_identical(v$n, length(num))
  # a criterion vector named by as.character() of numbers ("1e+05")
  vec <- stats::setNames(crit$y, num)
  expect_true("1e+05" %in% names(vec))
  expect_identical(cor_validity(fit, vec)$n, length(num))
  # integer64 ids on the criterion side
  crit$pid <- structure(seq_along(num) * 5e-324, class = "integer64")
  err <- expect_rlpsy_input_error(cor_validity(fit, crit, by = "pid", column = "y"),
                                  "<integer64>")
  expect_no_match(conditionMessage(err), "e-324")
})

# --- item 8: empty labels and corrupted rlpsy_data -------------------------------

test_that("empty labels are refused at input, naming the rows", {
  d <- data.frame(id = c("a", "", "b", ""), s = 1, a = 1:2, s2 = 1)
  expect_rlpsy_input_error(rlpsy_data(d, "id", "s", "a", "s2"),
                           "`participant` column \"id\"", "empty labels", "rows 2, 4")
  d$id <- factor(c("a", "", "b", ""))
  expect_rlpsy_input_error(rlpsy_data(d, "id", "s", "a", "s2"), "rows 2, 4")
  d$id <- c("a", NA, "b", "c")
  expect_rlpsy_input_error(rlpsy_data(d, "id", "s", "a", "s2"), "row 2")
  d <- data.frame(id = "a", s = c("x", "y"), a = c("up", ""), s2 = "x")
  expect_rlpsy_input_error(rlpsy_data(d, "id", "s", "a", "s2"), "`action` column", "row 2")
  d <- data.frame(id = "a", s = c("x", "y"), a = "up", s2 = c("", "x"))
  expect_rlpsy_input_error(rlpsy_data(d, "id", "s", "a", "s2"), "`next_state` column", "row 1")
})

test_that("a corrupted rlpsy_data object is an input error, never an internal one", {
  enc <- ex_enc()
  fit_enc <- function(e) {
    rlpsy_fit(e, gamma = 0.9, control = rlpsy_control(threads = 1, max_iter = 1,
                                                       progress = FALSE))
  }
  corrupt <- list(
    short_reward = function(e) { e$reward <- e$reward[1:10]; e },
    na_reward = function(e) { e$reward[3] <- NA; e },
    big_state = function(e) { e$state[5] <- 1000L; e },
    negative_action = function(e) { e$action[7] <- -1L; e },
    next_state = function(e) { e$next_state[2] <- e$n_states; e },
    double_codes = function(e) { e$state <- as.double(e$state); e },
    short_codes = function(e) { e$action <- e$action[-1]; e },
    offsets = function(e) { e$offsets[3] <- 1e6L; e },
    offsets_end = function(e) { e$offsets <- e$offsets[-length(e$offsets)]; e },
    participant = function(e) { e$participant[1] <- 5L; e },
    done = function(e) { e$done[1] <- 2L; e },
    n_states = function(e) { e$n_states <- NULL; e },
    n_actions = function(e) { e$n_actions <- 99L; e },
    available_dim = function(e) { e$available <- e$available[-1, ]; e },
    available_chosen = function(e) { e$available[] <- FALSE; e$available[, 1] <- TRUE; e },
    labels = function(e) { e$actions <- e$actions[-1]; e },
    not_list = function(e) structure(1:3, class = "rlpsy_data")
  )
  for (nm in names(corrupt)) {
    err <- expect_error(fit_enc(corrupt[[nm]](enc)), class = "rlpsy_error_input",
                        label = nm)
    expect_match(conditionMessage(err), "`data` is an rlpsy_data object that is not valid",
                 fixed = TRUE, label = nm)
    expect_no_match(conditionMessage(err), "internal", label = nm)
  }
  expect_snapshot(error = TRUE, fit_enc(corrupt$short_reward(enc)))
  expect_s3_class(suppressWarnings(fit_enc(enc)), "rlpsy_fit")
})

# --- item 7: threads ---------------------------------------------------------------

test_that("threads default to the RcppParallel setting and are capped at the hardware", {
  old <- Sys.getenv("RCPP_PARALLEL_NUM_THREADS", NA)
  on.exit(if (is.na(old)) Sys.unsetenv("RCPP_PARALLEL_NUM_THREADS") else
    Sys.setenv(RCPP_PARALLEL_NUM_THREADS = old))
  RcppParallel::setThreadOptions(numThreads = 1)
  expect_identical(rlpsy_control()$threads, 1L)
  hw <- RcppParallel::defaultNumThreads()
  RcppParallel::setThreadOptions(numThreads = hw + 1)
  expect_message(ctrl <- rlpsy_control(), class = "rlpsy_message_threads")
  expect_identical(ctrl$threads, as.integer(hw))
  RcppParallel::setThreadOptions()
  expect_identical(rlpsy_control()$threads, as.integer(min(2, hw)))
  expect_message(ctrl <- rlpsy_control(threads = hw + 3), "using", class = "rlpsy_message_threads")
  expect_identical(ctrl$threads, as.integer(hw))
  expect_silent(rlpsy_control(threads = 1))
})
