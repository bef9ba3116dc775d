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
    offsets_past = function(e) { e$offsets[2] <- e$n_decisions + 5L; e },
    offsets_down = function(e) { e$offsets[3] <- 0L; e },
    available_na = function(e) { e$available[2, 2] <- NA; e },
    available_empty = function(e) { e$available[2, ] <- FALSE; e },
    inf_reward = function(e) { e$reward[9] <- -Inf; e },
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

# --- item 4: compact call --------------------------------------------------------

test_that("the call of a fit made by do.call() does not embed the data", {
  fit <- do.call(rlpsy_fit, list(
    data = rlpsy_example, participant = "participant", state = "state",
    action = "action", next_state = "next_state", done = "done", reward = "reward",
    gamma = 0.9, tau = 0.05, control = rlpsy_control(threads = 1, progress = FALSE)))
  txt <- deparse(fit$call)
  expect_lt(length(txt), 6L)
  expect_match(paste(txt, collapse = " "), "<data.frame 30000 x 7>", fixed = TRUE)
  expect_match(paste(txt, collapse = " "), "^rlpsy_fit\\(")
  expect_lt(length(capture.output(print(fit))), 30L)
  # an ordinary call is kept as written
  fit2 <- quiet_fit(rlpsy_example, "participant", "state", "action", "next_state",
                    "done", "reward", gamma = 0.9)
  expect_identical(deparse(fit2$call[["control"]]), "control")
  expect_identical(fit2$call[["gamma"]], 0.9)
})

# --- item 6: identification ------------------------------------------------------

test_that("identification_participants() finds the three kinds", {
  d <- data.frame(
    id = c("one", "one", "single", "priv", "priv", "ok", "ok", "ok", "ok2", "ok2"),
    s = c("f", "f", "a", "p1", "p2", "a", "a", "b", "a", "b"),
    a = c("x", "x", "x", "x", "y", "x", "y", "x", "y", "y"),
    s2 = "a")
  av <- matrix(TRUE, 5, 2, dimnames = list(c("a", "b", "f", "p1", "p2"), c("x", "y")))
  av["f", "y"] <- FALSE
  enc <- rlpsy_data(d, "id", "s", "a", "s2", available = av)
  ni <- identification_participants(enc)
  expect_identical(ni$label, c("one", "priv", "single"))
  expect_identical(ni$reason, c("no_choice", "private_states", "single_decision"))
  expect_identical(enc$participants[ni$participant], ni$label)
  expect_identical(names(ni), c("participant", "label", "reason"))
  # a private state visited repeatedly with different actions informs beta
  d2 <- rbind(d, data.frame(id = "priv", s = "p1", a = "y", s2 = "a"))
  expect_false("priv" %in% identification_participants(
    rlpsy_data(d2, "id", "s", "a", "s2", available = av))$label)
  expect_identical(nrow(identification_participants(ex_enc())), 0L)
  expect_rlpsy_input_error(identification_participants(d), "`enc`")
})

test_that("a fit marks non-identified participants with one warning", {
  set.seed(1)
  # every decision in a state with a single available action
  d <- data.frame(id = rep(1:20, each = 30), s = sample.int(5, 600, TRUE), a = 1L,
                  s2 = sample.int(5, 600, TRUE))
  av <- matrix(c(TRUE, FALSE), 6, 2, byrow = TRUE, dimnames = list(1:6, 1:2))
  av[6, ] <- TRUE
  ctrl <- rlpsy_control(threads = 1, progress = FALSE)
  w <- expect_warning(fit <- rlpsy_fit(d, "id", "s", "a", "s2", available = av,
                                       gamma = 0.5, control = ctrl),
                      class = "rlpsy_warning_identification")
  expect_match(conditionMessage(w), "20 of 20 participants", fixed = TRUE)
  expect_match(conditionMessage(w), "\"5\" and 15 more", fixed = TRUE)
  expect_true(all(fit$participants$status == "not_identified"))
  expect_match(paste(capture.output(print(fit)), collapse = "\n"), "not identified")
  # random choosers in states visited once each: reported, not "converged"
  d <- data.frame(id = rep(1:50, each = 20), s = 1:1000,
                  a = sample.int(3, 1000, TRUE), s2 = c(2:1000, 1))
  ws <- list()
  fit <- withCallingHandlers(
    rlpsy_fit(d, "id", "s", "a", "s2", gamma = 0.5,
              control = rlpsy_control(threads = 1, progress = FALSE, max_iter = 30)),
    warning = function(w) {
      ws[[length(ws) + 1L]] <<- w
      invokeRestart("muffleWarning")
    })
  cls <- vapply(ws, function(w) class(w)[1], "")
  expect_identical(sum(cls == "rlpsy_warning_identification"), 1L)
  expect_true(all(fit$participants$status == "not_identified"))
  # the example data are identified: no warning of this class
  fit <- withCallingHandlers(
    rlpsy_fit(rlpsy_example, "participant", "state", "action", "next_state", "done",
              "reward", gamma = 0.9, tau = 0.05, control = ctrl),
    rlpsy_warning_identification = function(w) stop("unexpected"))
  expect_false(any(fit$participants$status == "not_identified"))
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
