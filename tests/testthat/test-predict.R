# predict() for rlpsy_fit, on the small planted fits of helper-fits.R.

softmax_rows <- function(fit, participant, state) {
  A <- fit$advantage
  av <- fit$data$available
  eta <- fit$beta[participant] * A[state, , drop = FALSE]
  eta[!av[state, , drop = FALSE]] <- -Inf
  P <- exp(eta - apply(eta, 1, max))
  P / rowSums(P)
}

test_that("prob rows sum to 1 and equal softmax(beta * A), in data order", {
  fit <- small_fit()
  d <- small_data()
  P <- predict(fit)
  expect_identical(dim(P), c(480L, 3L))
  expect_identical(colnames(P), c("a", "b", "c"))
  expect_equal(rowSums(P), rep(1, 480))
  expect_equal(P, softmax_rows(fit, d$id, d$state), ignore_attr = TRUE)
  expect_true(all(P[d$state == "s3", "c"] == 0))
  expect_identical(predict(fit, type = "pr"), P)
})

test_that("prob for newdata follows its rows; extra columns are ignored", {
  fit <- small_fit()
  nd <- data.frame(state = c("s5", "s3", "s1", "s1"), id = c("p02", "p02", "p12", "p02"),
                   other = 1:4)
  P <- predict(fit, nd)
  expect_equal(P, softmax_rows(fit, nd$id, nd$state), ignore_attr = TRUE)
  expect_equal(P[3, ] == P[4, ], c(a = FALSE, b = FALSE, c = FALSE))
  expect_identical(unname(P[2, "c"]), 0)
  nd$id <- factor(nd$id)
  expect_identical(predict(fit, nd), P)
  expect_identical(dim(predict(fit, nd[0, ])), c(0L, 3L))
})

test_that("action is the most probable action, a factor of action labels", {
  fit <- small_fit()
  d <- small_data()
  act <- predict(fit, type = "action")
  expect_s3_class(act, "factor")
  expect_identical(levels(act), c("a", "b", "c"))
  expect_length(act, 480)
  P <- predict(fit)
  expect_identical(as.character(act), colnames(P)[apply(P, 1, which.max)])
  nd <- data.frame(id = c("p01", "p05"), state = c("s3", "s5"))
  expect_identical(as.character(predict(fit, nd, type = "action")),
                   unname(c("s3" = names(which.max(fit$advantage["s3", 1:2])),
                            "s5" = names(which.max(fit$advantage["s5", ])))))
})

test_that("unseen labels and unknown participants in newdata are errors", {
  fit <- small_fit()
  nd <- data.frame(id = c("p01", "p02"), state = c("s1", "s99"))
  expect_error(predict(fit, nd), class = "rlpsy_error_input")
  expect_snapshot(predict(fit, nd), error = TRUE)
  expect_snapshot(predict(fit, data.frame(id = c("p01", "zed", "zed"), state = "s1")),
                  error = TRUE)
  expect_snapshot(predict(fit, data.frame(id = "p01")), error = TRUE)
  expect_snapshot(predict(fit, list(id = "p01", state = "s1")), error = TRUE)
  expect_snapshot(predict(fit, type = "probability"), error = TRUE)
})

test_that("beta without newdata is the fit's participant table", {
  fit <- small_fit()
  tab <- predict(fit, type = "beta")
  expect_named(tab, c("participant", "beta", "z", "se", "lower", "upper",
                      "n_decisions", "status"))
  expect_identical(tab$participant, names(coef(fit)))
  expect_equal(tab$beta, unname(coef(fit)))
  expect_equal(tab$se, unname(fit$se))
  expect_equal(cbind(tab$lower, tab$upper), unname(confint(fit)))
  tab90 <- predict(fit, type = "beta", level = 0.9)
  expect_equal(cbind(tab90$lower, tab90$upper), unname(confint(fit, level = 0.9)))
  expect_identical(levels(tab$status), c("converged", "max_iter", "non_finite", "stalled"))
  expect_snapshot(predict(fit, type = "beta", level = 95), error = TRUE)
})

test_that("beta on the fit's own data reproduces coef(fit)", {
  for (fit in list(small_fit(), small_fit(reward = FALSE))) {
    d <- small_data()
    tab <- predict(fit, d, type = "beta")
    expect_identical(tab$participant, names(coef(fit)))
    expect_equal(tab$z, unname(coef(fit, type = "log")), tolerance = 1e-6)
    expect_equal(tab$se, unname(fit$se), tolerance = 1e-6)
    expect_equal(tab$n_decisions, rep(40L, 12))
    expect_true(all(tab$status == "converged"))
    # row order does not matter
    tab2 <- predict(fit, d[rev(seq_len(nrow(d))), ], type = "beta")
    expect_equal(tab2$z, tab$z, tolerance = 1e-8)
  }
})

test_that("beta scores subsets and new participants with finite results", {
  fit <- small_fit()
  d <- small_data()
  sub <- d[d$id %in% c("p03", "p07"), ][1:15, ]
  sub$id[sub$id == "p07"] <- "newbie"
  tab <- predict(fit, sub, type = "beta")
  expect_identical(tab$participant, sort(unique(sub$id)))
  expect_true(all(is.finite(as.matrix(tab[c("beta", "z", "se", "lower", "upper")]))))
  expect_equal(sum(tab$n_decisions), 15)
  # a new participant who always takes the action with the largest advantage:
  # finite thanks to the prior, and above the prior median
  best <- colnames(fit$advantage)[apply(fit$advantage[1:5, ], 1, which.max)]
  ace <- data.frame(id = "ace", state = rep(paste0("s", 1:5), 4), action = rep(best, 4))
  a <- predict(fit, ace, type = "beta")
  expect_true(is.finite(a$z))
  expect_gt(a$beta, exp(fit$prior[["mu"]]))
  # integer participant ids are ordered numerically, like rlpsy_data()
  num <- d[d$id %in% c("p01", "p02", "p10"), ]
  num$id <- as.integer(sub("p", "", num$id))
  expect_identical(predict(fit, num, type = "beta")$participant, c("1", "2", "10"))
})

test_that("beta with newdata checks its labels and availability", {
  fit <- small_fit()
  nd <- data.frame(id = "x", state = c("s1", "s3"), action = c("a", "c"))
  expect_snapshot(predict(fit, nd, type = "beta"), error = TRUE)
  nd$action[1] <- "jump"
  expect_snapshot(predict(fit, nd, type = "beta"), error = TRUE)
  expect_snapshot(predict(fit, nd[0, ], type = "beta"), error = TRUE)
  expect_snapshot(predict(fit, nd[c("id", "state")], type = "beta"), error = TRUE)
})

test_that("q, advantage, value and reward are labelled tables", {
  fit <- small_fit()
  dn <- list(state = c(paste0("s", 1:5), "end"), action = c("a", "b", "c"))
  q <- predict(fit, type = "q")
  expect_identical(dimnames(q), dn)
  expect_true(is.na(q["s3", "c"]))
  expect_equal(q[-3, ], fit$Q[-3, ])
  A <- predict(fit, type = "advantage", newdata = data.frame(ignored = 1))
  expect_identical(dimnames(A), dn)
  expect_true(is.na(A["s3", "c"]))
  expect_equal(rowSums(A[1:5, ], na.rm = TRUE), setNames(rep(0, 5), dn$state[1:5]),
               tolerance = 1e-10)
  expect_equal(A["s1", ], fit$advantage["s1", ])
  v <- predict(fit, type = "value")
  expect_named(v, dn$state)
  expect_equal(v[["s1"]], log(sum(exp(fit$Q["s1", ]))))
  expect_equal(v[["s3"]], log(sum(exp(fit$Q["s3", 1:2]))))
})

test_that("reward: mean observed reward per pair, or the learned tanh(w)", {
  fit <- small_fit()
  d <- small_data()
  r <- predict(fit, type = "reward")
  expect_identical(dimnames(r), dimnames(fit$data$available))
  means <- tapply(d$reward, list(d$state, d$action), mean)
  expect_equal(r[rownames(means), colnames(means)], means, ignore_attr = TRUE)
  expect_true(all(is.na(r["end", ])))
  expect_true(is.na(r["s3", "c"]))
  learned <- small_fit(reward = FALSE)
  rl <- predict(learned, type = "reward")
  expect_equal(rl[-3, ], tanh(learned$w)[-3, ])
  expect_true(is.na(rl["s3", "c"]))
  expect_true(all(abs(rl) <= 1, na.rm = TRUE))
})
