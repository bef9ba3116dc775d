# The data contract: rlpsy_data() validation, label encoding, CSR layout,
# and the internal helpers decode_labels() / encode_newdata().

toy_data <- function() {
  data.frame(
    id = c(2L, 1L, 2L, 1L, 2L, 1L),
    s = c(1L, 2L, 2L, 1L, 3L, 3L),
    a = c(1L, 2L, 1L, 1L, 2L, 2L),
    s2 = c(2L, 3L, 3L, 2L, 4L, 4L),
    d = c(FALSE, FALSE, FALSE, FALSE, TRUE, TRUE),
    r = c(0, 0, 0, 0, 1, -1)
  )
}

toy_encode <- function(data = toy_data(), ...) {
  rlpsy_data(data, participant = "id", state = "s", action = "a",
             next_state = "s2", ...)
}

# Labels of the encoded decisions must equal the data's values in row order.
expect_round_trip <- function(enc, data) {
  cols <- enc$columns
  for (f in c("participant", "state", "action")) {
    expect_identical(
      decode_labels(enc, f, enc[[f]]),
      as.character(data[[cols[[f]]]][enc$row]),
      label = paste("decoded", f)
    )
  }
  expect_identical(
    decode_labels(enc, "state", enc$next_state),
    as.character(data[[cols$next_state]][enc$row])
  )
}

decode_labels <- rlpsy:::decode_labels
encode_newdata <- rlpsy:::encode_newdata

# --- structure -------------------------------------------------------------------

test_that("integer-coded data are encoded with CSR offsets and integer storage", {
  dat <- toy_data()
  enc <- toy_encode(dat, done = "d", reward = "r")
  expect_s3_class(enc, "rlpsy_data")
  expect_identical(enc$participants, c("1", "2"))
  expect_identical(enc$states, c("1", "2", "3", "4"))
  expect_identical(enc$actions, c("1", "2"))
  expect_identical(c(enc$n_decisions, enc$n_participants, enc$n_states, enc$n_actions),
                   c(6L, 2L, 4L, 2L))
  expect_identical(enc$offsets, c(0L, 3L, 6L))
  # stable: original order kept within each participant
  expect_identical(enc$row, c(2L, 4L, 6L, 1L, 3L, 5L))
  expect_identical(enc$participant, c(0L, 0L, 0L, 1L, 1L, 1L))
  expect_identical(enc$state, dat$s[enc$row] - 1L)
  expect_identical(enc$action, dat$a[enc$row] - 1L)
  expect_identical(enc$next_state, dat$s2[enc$row] - 1L)
  expect_identical(enc$done, as.integer(dat$d[enc$row]))
  expect_identical(enc$reward, dat$r[enc$row])
  for (f in c("offsets", "participant", "state", "action", "next_state", "done", "row")) {
    expect_true(is.integer(enc[[f]]) && is.null(attributes(enc[[f]])), label = f)
  }
  expect_true(is.double(enc$reward))
  expect_identical(enc$available,
                   matrix(TRUE, 4, 2, dimnames = list(state = enc$states, action = enc$actions)))
  expect_identical(enc$columns, list(participant = "id", state = "s", action = "a",
                                     next_state = "s2", done = "d", reward = "r"))
  expect_round_trip(enc, dat)
  expect_snapshot(print(enc))
})

test_that("done and reward default to no terminal transitions and a learned reward", {
  enc <- toy_encode()
  expect_identical(enc$done, integer(6))
  expect_null(enc$reward)
  expect_true("reward" %in% names(enc$columns) && is.null(enc$columns$reward))
  expect_true("done" %in% names(enc$columns) && is.null(enc$columns$done))
})

test_that("0/1 done is accepted, as integer or double", {
  dat <- toy_data()
  dat$d01 <- as.integer(dat$d)
  dat$dd <- as.double(dat$d)
  ref <- toy_encode(dat, done = "d")$done
  expect_identical(toy_encode(dat, done = "d01")$done, ref)
  expect_identical(toy_encode(dat, done = "dd")$done, ref)
})

test_that("decisions are stable within participant and offsets match the codes", {
  set.seed(1)
  n <- 200
  dat <- data.frame(id = sample(c("x", "y", "z", "w"), n, TRUE), t = seq_len(n),
                    s = sample.int(5, n, TRUE), a = sample.int(3, n, TRUE),
                    s2 = sample.int(5, n, TRUE))
  enc <- rlpsy_data(dat, "id", "s", "a", "s2")
  expect_identical(enc$participants, c("w", "x", "y", "z"))
  expect_false(is.unsorted(enc$participant))
  expect_identical(diff(enc$offsets), tabulate(enc$participant + 1L, enc$n_participants))
  expect_identical(enc$offsets[enc$n_participants + 1L], enc$n_decisions)
  for (j in seq_len(enc$n_participants)) {
    pos <- seq.int(enc$offsets[j] + 1L, length.out = enc$offsets[j + 1L] - enc$offsets[j])
    expect_true(all(enc$participant[pos] == j - 1L))
    expect_false(is.unsorted(dat$t[enc$row[pos]], strictly = TRUE))
  }
  expect_identical(sort(enc$row), seq_len(n))
  expect_round_trip(enc, dat)
})

# --- labels ------------------------------------------------------------------------

test_that("integer labels >= 1 give 1..max, keeping unvisited states", {
  dat <- data.frame(id = c(10, 3, 10), s = c(2, 5, 2), a = c(3L, 2L, 1L), s2 = c(7, 2, 5))
  enc <- rlpsy_data(dat, "id", "s", "a", "s2")
  expect_identical(enc$participants, c("3", "10"))
  expect_identical(enc$states, as.character(1:7))
  expect_identical(enc$actions, as.character(1:3))
  expect_round_trip(enc, dat)
})

test_that("action codes never chosen are dropped and named, not renumbered", {
  dat <- data.frame(id = c(1, 1, 2, 2), s = 1, a = c(1L, 2L, 10L, 2L), s2 = 1)
  expect_snapshot(enc <- rlpsy_data(dat, "id", "s", "a", "s2"))
  expect_message(rlpsy_data(dat, "id", "s", "a", "s2"), class = "rlpsy_message_actions")
  expect_identical(enc$actions, c("1", "2", "10"))
  expect_identical(enc$n_actions, 3L)
  expect_identical(dim(enc$available), c(1L, 3L))
  expect_round_trip(enc, dat)
  # 1 state x 1000 action codes, 471 of them never chosen
  set.seed(3)
  chosen <- sort(sample.int(1000, 529))
  chosen[length(chosen)] <- 1000L
  dat <- data.frame(id = rep(1:2, length.out = 2000), s = 1L,
                    a = rep(chosen, length.out = 2000), s2 = 1L)
  msg <- tryCatch(rlpsy_data(dat, "id", "s", "a", "s2"),
                  rlpsy_message_actions = function(m) conditionMessage(m))
  expect_match(msg, "and 461 more", fixed = TRUE)
  enc <- suppressMessages(rlpsy_data(dat, "id", "s", "a", "s2"))
  expect_identical(enc$actions, as.character(chosen))
  expect_round_trip(enc, dat)
})

test_that("unused action levels are dropped only when `available` is NULL", {
  dat <- data.frame(id = c(1, 2), s = 1, a = factor(c("up", "down"), levels = c("up", "down", "wait")),
                    s2 = 1)
  expect_message(enc <- rlpsy_data(dat, "id", "s", "a", "s2"), "droplevels",
                 class = "rlpsy_message_actions")
  expect_identical(enc$actions, c("up", "down"))
  expect_silent(enc <- rlpsy_data(droplevels(dat), "id", "s", "a", "s2"))
  expect_identical(enc$actions, c("up", "down"))
  # with `available`, an action never chosen is kept
  av <- matrix(TRUE, 1, 3)
  expect_silent(enc <- rlpsy_data(dat, "id", "s", "a", "s2", available = av))
  expect_identical(enc$actions, c("up", "down", "wait"))
})

test_that("numbers below 1 and large ids give sorted unique labels", {
  dat <- data.frame(id = c(1e6, 123456789012, 1e6), s = c(0L, 4L, -2L),
                    a = c(0, 2, 0), s2 = c(4L, 0L, 10L))
  enc <- rlpsy_data(dat, "id", "s", "a", "s2")
  expect_identical(enc$participants, c("1000000", "123456789012"))
  expect_identical(enc$states, c("-2", "0", "4", "10"))
  expect_identical(enc$actions, c("0", "2"))
  expect_identical(decode_labels(enc, "participant", enc$participant),
                   c("1000000", "1000000", "123456789012"))
  expect_identical(decode_labels(enc, "state", enc$state), c("0", "-2", "4"))
})

test_that("factor labels keep unused state levels and drop unused participant and action levels", {
  dat <- data.frame(
    id = factor(c("b", "a", "b"), levels = c("c", "b", "a")),
    s = factor(c("s2", "s1", "s1"), levels = c("s2", "s1", "s9")),
    a = factor(c("up", "up", "down"), levels = c("up", "left", "down")),
    s2 = factor(c("s1", "end", "s2"), levels = c("end", "s1", "s2", "s8"))
  )
  expect_message(enc <- rlpsy_data(dat, "id", "s", "a", "s2"), "\"left\"",
                 class = "rlpsy_message_actions")
  expect_identical(enc$participants, c("b", "a"))
  expect_identical(enc$states, c("s2", "s1", "s9", "end", "s8"))
  expect_identical(enc$actions, c("up", "down"))
  expect_identical(enc$offsets, c(0L, 2L, 3L))
  expect_identical(enc$row, c(1L, 3L, 2L))
  expect_round_trip(enc, dat)
})

test_that("character labels are sorted independently of the locale", {
  dat <- data.frame(id = c("b", "B", "a", "A"), s = c("x", "Y", "x", "y"),
                    a = c("go", "Stop", "go", "stop"), s2 = c("Z", "x", "x", "Y"))
  enc <- rlpsy_data(dat, "id", "s", "a", "s2")
  expect_identical(enc$participants, c("A", "B", "a", "b"))
  expect_identical(enc$states, c("Y", "Z", "x", "y"))
  expect_identical(enc$actions, c("Stop", "go", "stop"))
  expect_round_trip(enc, dat)
})

test_that("labels seen only as next states become states without decisions", {
  dat <- data.frame(id = 1, s = c("start", "mid"), a = "go", s2 = c("mid", "goal"))
  enc <- rlpsy_data(dat, "id", "s", "a", "s2")
  expect_identical(enc$states, c("goal", "mid", "start"))
  expect_identical(enc$next_state, c(1L, 0L))
  expect_snapshot(print(enc))
})

test_that("mixed label kinds are unioned, first column's labels first", {
  dat <- data.frame(id = 1, s = factor(c("b", "a"), levels = c("b", "a")), a = 1L,
                    s2 = c("a", "end"))
  enc <- rlpsy_data(dat, "id", "s", "a", "s2")
  expect_identical(enc$states, c("b", "a", "end"))
  dat <- data.frame(id = 1, s = c(2L, 10L), a = 1L, s2 = c("10", "terminal"))
  enc <- rlpsy_data(dat, "id", "s", "a", "s2")
  expect_identical(enc$states, c("2", "10", "terminal"))
  expect_round_trip(enc, dat)
})

# --- available -----------------------------------------------------------------------

test_that("available without dimnames follows the derived labels", {
  av <- matrix(c(1, 1, 1, 1, 1, 1, 1, 0), 4, 2)
  enc <- toy_encode(available = av)
  expect_identical(enc$available,
                   matrix(as.logical(av), 4, 2, dimnames = list(state = as.character(1:4),
                                                                action = c("1", "2"))))
  expect_snapshot(print(enc))
})

test_that("available with dimnames sets the labels and their order", {
  dat <- toy_data()
  av <- matrix(TRUE, 5, 3, dimnames = list(c("4", "3", "2", "1", "5"), c("2", "1", "3")))
  av["1", "3"] <- FALSE
  enc <- toy_encode(dat, available = av)
  expect_identical(enc$states, c("4", "3", "2", "1", "5"))
  expect_identical(enc$actions, c("2", "1", "3"))
  expect_identical(unname(enc$available), unname(av))
  expect_identical(names(dimnames(enc$available)), c("state", "action"))
  expect_round_trip(enc, dat)
  # only row names: actions derived from the data
  av2 <- matrix(TRUE, 4, 2, dimnames = list(c("4", "3", "2", "1"), NULL))
  enc2 <- toy_encode(dat, available = av2)
  expect_identical(enc2$states, c("4", "3", "2", "1"))
  expect_identical(enc2$actions, c("1", "2"))
})

# --- errors --------------------------------------------------------------------------

test_that("bad data and column arguments are input errors", {
  dat <- toy_data()
  expect_snapshot(error = TRUE, rlpsy_data(as.matrix(dat), "id", "s", "a", "s2"))
  expect_snapshot(error = TRUE, rlpsy_data(dat[0, ], "id", "s", "a", "s2"))
  expect_snapshot(error = TRUE, rlpsy_data(dat, "id", "s", "a"))
  expect_snapshot(error = TRUE, rlpsy_data(dat, "id", c("s", "a"), "a", "s2"))
  expect_snapshot(error = TRUE, rlpsy_data(dat, "id", "s", 3, "s2"))
  expect_snapshot(error = TRUE, rlpsy_data(dat, "id", "s", "a", NA_character_))
  expect_snapshot(error = TRUE, rlpsy_data(dat, "id", "state", "a", "s2"))
  expect_snapshot(error = TRUE, toy_encode(dat, done = TRUE))
  expect_snapshot(error = TRUE, toy_encode(dat, reward = "rew"))
  names(dat)[3] <- "s"
  expect_snapshot(error = TRUE, rlpsy_data(dat, "id", "s", "d", "s2"))
  expect_error(rlpsy_data(list(), "id", "s", "a", "s2"), class = "rlpsy_error_input")
})

test_that("missing values in any used column are input errors naming the rows", {
  for (col in c("id", "s", "a", "s2", "d", "r")) {
    dat <- toy_data()
    dat[[col]][c(2, 5)] <- NA
    expect_error(toy_encode(dat, done = "d", reward = "r"), class = "rlpsy_error_input")
  }
  dat <- toy_data()
  dat$s[4] <- NA
  expect_snapshot(error = TRUE, toy_encode(dat))
  dat <- toy_data()
  dat$r[c(1, 3)] <- NaN
  expect_snapshot(error = TRUE, toy_encode(dat, reward = "r"))
  dat <- toy_data()
  dat$a <- factor(c("x", NA, "y", "x", "x", "y"), exclude = NULL)
  expect_snapshot(error = TRUE, toy_encode(dat))
  dat <- toy_data()
  dat$id <- as.character(dat$id)
  dat$id[c(1, 2, 3, 4, 5, 6)] <- NA
  expect_snapshot(error = TRUE, toy_encode(dat))
})

test_that("unsupported label column types are input errors", {
  dat <- toy_data()
  dat$id <- list(1, 2, 3, 4, 5, 6)
  expect_snapshot(error = TRUE, toy_encode(dat))
  dat <- toy_data()
  dat$s <- complex(real = dat$s)
  expect_snapshot(error = TRUE, toy_encode(dat))
  dat <- toy_data()
  dat$a <- dat$a == 1
  expect_snapshot(error = TRUE, toy_encode(dat))
  dat <- toy_data()
  dat$s2 <- dat$s2 + c(0, 0.5, 0, 0, 0.25, 0)
  expect_snapshot(error = TRUE, toy_encode(dat))
  dat <- toy_data()
  dat$s <- c(1, 2, Inf, 1, 3, 3)
  expect_snapshot(error = TRUE, toy_encode(dat))
  dat <- toy_data()
  dat$id <- as.Date("2020-01-01") + dat$id
  expect_snapshot(error = TRUE, toy_encode(dat))
  dat <- toy_data()
  dat$s <- matrix(1:12, 6)
  expect_error(toy_encode(dat), class = "rlpsy_error_input")
})

test_that("bad done and reward columns are input errors", {
  dat <- toy_data()
  dat$d2 <- c(0, 1, 2, 0, 1, -1)
  expect_snapshot(error = TRUE, toy_encode(dat, done = "d2"))
  dat$d3 <- c("no", "no", "no", "no", "yes", "yes")
  expect_snapshot(error = TRUE, toy_encode(dat, done = "d3"))
  dat$d4 <- factor(dat$d)
  expect_error(toy_encode(dat, done = "d4"), class = "rlpsy_error_input")
  dat$r2 <- c(0, Inf, 0, -Inf, 1, 1)
  expect_snapshot(error = TRUE, toy_encode(dat, reward = "r2"))
  dat$r3 <- as.character(dat$r)
  expect_snapshot(error = TRUE, toy_encode(dat, reward = "r3"))
  dat$r4 <- TRUE
  expect_error(toy_encode(dat, reward = "r4"), class = "rlpsy_error_input")
})

test_that("bad available matrices are input errors", {
  expect_snapshot(error = TRUE, toy_encode(available = as.data.frame(matrix(TRUE, 4, 2))))
  expect_snapshot(error = TRUE, toy_encode(available = matrix("yes", 4, 2)))
  expect_snapshot(error = TRUE, toy_encode(available = matrix(TRUE, 3, 2)))
  expect_snapshot(error = TRUE, toy_encode(available = matrix(TRUE, 4, 3)))
  av <- matrix(TRUE, 4, 2)
  av[c(2, 7)] <- NA
  expect_snapshot(error = TRUE, toy_encode(available = av))
  expect_snapshot(error = TRUE, toy_encode(available = matrix(c(1, 1, 2, 1, 1, 1, 1, 0), 4)))
  av <- matrix(TRUE, 4, 2)
  av[c(1, 4), ] <- FALSE
  expect_snapshot(error = TRUE, toy_encode(available = av))
  av <- matrix(TRUE, 4, 2)
  av[2:3, 2] <- FALSE
  expect_snapshot(error = TRUE, toy_encode(available = av))
  av <- matrix(TRUE, 3, 2, dimnames = list(c("1", "2", "x"), c("1", "2")))
  expect_snapshot(error = TRUE, toy_encode(available = av))
  av <- matrix(TRUE, 4, 1, dimnames = list(NULL, "2"))
  expect_snapshot(error = TRUE, toy_encode(available = av))
  av <- matrix(TRUE, 4, 2, dimnames = list(c("1", "2", "3", "3"), NULL))
  expect_snapshot(error = TRUE, toy_encode(available = av))
})

# --- internal helpers ------------------------------------------------------------------

test_that("decode_labels maps 0-based codes to labels, NA to NA", {
  enc <- toy_encode()
  expect_identical(decode_labels(enc, "state", c(3L, 0L, NA)), c("4", "1", NA))
  expect_identical(decode_labels(enc, "participant", 1L), "2")
  expect_identical(decode_labels(enc, "action", integer()), character())
})

test_that("encode_newdata uses the fit's labels and flags new participants", {
  dat <- data.frame(id = c("p1", "p2", "p1"), s = factor(c("a", "b", "c")),
                    a = c("x", "y", "x"), s2 = c("b", "c", "end"))
  enc <- rlpsy_data(dat, "id", "s", "a", "s2")
  nd <- data.frame(id = c("p2", "new", "p1"), s = c("end", "a", "b"), a = "y")
  out <- encode_newdata(enc, nd)
  expect_identical(out$n, 3L)
  expect_identical(out$participant, c(1L, NA, 0L))
  expect_identical(out$participant_label, c("p2", "new", "p1"))
  expect_identical(out$new_participant, c(FALSE, TRUE, FALSE))
  expect_identical(out$state, c(3L, 0L, 1L))
  expect_identical(decode_labels(enc, "state", out$state), nd$s)
  out2 <- encode_newdata(enc, nd, need = c("state", "action"))
  expect_identical(out2$action, c(1L, 1L, 1L))
  expect_null(out2$participant)
  out3 <- encode_newdata(enc, nd[0, ])
  expect_identical(out3$state, integer())
  expect_snapshot(error = TRUE, encode_newdata(enc, nd, allow_new_participants = FALSE))
  expect_snapshot(error = TRUE, encode_newdata(enc, transform(nd, s = c("a", "zz", "zz"))))
  expect_snapshot(error = TRUE, encode_newdata(enc, nd[c("id", "a")]))
  expect_snapshot(error = TRUE, encode_newdata(enc, transform(nd, s = c("a", NA, "b"))))
  expect_snapshot(error = TRUE, encode_newdata(enc, as.list(nd)))
})

test_that("encode_newdata matches numeric and factor columns by label", {
  enc <- toy_encode(done = "d")
  nd <- data.frame(id = factor(c("2", "1")), s = c(4, 1), s2 = c(3L, 3L), d = c(1, 0))
  out <- encode_newdata(enc, nd, need = c("participant", "state", "next_state", "done"))
  expect_identical(out$participant, c(1L, 0L))
  expect_identical(out$state, c(3L, 0L))
  expect_identical(out$next_state, c(2L, 2L))
  expect_identical(out$done, c(1L, 0L))
  expect_null(encode_newdata(enc, nd, need = "reward")$reward)
})
