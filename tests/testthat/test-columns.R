# Bare or quoted column names in rlpsy_fit() and rlpsy_data() (issue 14)

test_that("bare column names give the same fit as strings", {
  ex <- rlpsy_example[rlpsy_example$participant %in% sprintf("p%04d", 1:40), ]
  ctl <- rlpsy_control(threads = 1, progress = FALSE)
  f1 <- rlpsy_fit(ex, "participant", "state", "action", "next_state",
                  done = "done", reward = "reward", gamma = 0.9, tau = 0.05,
                  control = ctl)
  f2 <- rlpsy_fit(ex, participant, state, action, next_state, done = done,
                  reward = reward, gamma = 0.9, tau = 0.05, control = ctl)
  expect_identical(coef(f2), coef(f1))
  expect_identical(f2$Q, f1$Q)
  # a variable holding a column name (not itself a column) still works
  col <- "participant"
  rew <- "reward"
  f3 <- rlpsy_fit(ex, col, "state", action, "next_state", done = done,
                  reward = rew, gamma = 0.9, tau = 0.05, control = ctl)
  expect_identical(coef(f3), coef(f1))
  # an expression giving a string
  f4 <- rlpsy_fit(ex, paste0("partic", "ipant"), "state", "action",
                  "next_state", "done", "reward", gamma = 0.9, tau = 0.05,
                  control = ctl)
  expect_identical(coef(f4), coef(f1))
})

test_that("rlpsy_data() takes bare names, and wrappers pass theirs on", {
  d <- data.frame(id = c("a", "a", "b"), room = c(1, 2, 1), move = c("l", "r", "r"),
                  nxt = c(2, 3, 3), end = c(FALSE, TRUE, TRUE))
  e1 <- rlpsy_data(d, "id", "room", "move", "nxt", "end")
  e2 <- rlpsy_data(d, id, room, move, nxt, end)
  expect_identical(e2, e1)
  # a variable that does not name a column does not hide the column
  room <- 3
  move <- "north"
  expect_identical(rlpsy_data(d, id, room, move, nxt, end), e1)
  # a wrapper passing its own arguments on, NULL included
  f <- function(data, who, end = NULL) rlpsy_data(data, who, "room", "move", "nxt", done = end)
  expect_identical(f(d, "id")$done, c(0L, 0L, 0L))
  expect_identical(f(d, "id", "end")$done, e1$done)
  expect_null(f(d, "id")$columns$done)
})

test_that("errors are unchanged", {
  d <- data.frame(id = "a", room = 1, move = "l", nxt = 2)
  msg <- function(expr) conditionMessage(tryCatch(expr, rlpsy_error_input = identity))
  expect_identical(msg(rlpsy_data(d, idd, room, move, nxt)),
                   msg(rlpsy_data(d, "idd", "room", "move", "nxt")))
  expect_match(msg(rlpsy_data(d, idd, room, move, nxt)),
               "`participant` names column \"idd\", which `data` does not have")
  expect_error(rlpsy_data(d, id, room, move), "`next_state` is missing",
               class = "rlpsy_error_input")
  one <- 1
  expect_error(rlpsy_data(d, one, room, move, nxt), "a double vector",
               class = "rlpsy_error_input")
  expect_error(rlpsy_fit(d, id, room, move, nxt, done = ending, gamma = 0.5),
               "names column \"ending\"", class = "rlpsy_error_input")
})
