# Every malformed input to a public function ends in an error of a package
# condition class whose message names the argument (or column) and shows the
# offending values or rows.

# expect an rlpsy error of `class` whose message matches every pattern
expect_rlpsy_error <- function(expr, ..., class = "rlpsy_error_input") {
  err <- expect_error(expr, class = class)
  for (p in c(...)) expect_match(conditionMessage(err), p, fixed = TRUE)
  invisible(err)
}

tiny_data <- function() {
  data.frame(id = c("a", "a", "b", "b", "c", "c"),
             s = c(1, 2, 1, 2, 1, 2), act = c("x", "y", "y", "x", "x", "x"),
             s2 = c(2, 3, 2, 3, 2, 3), end = c(FALSE, TRUE, FALSE, TRUE, FALSE, TRUE),
             r = c(0, 1, 0, 1, 0, -1), stringsAsFactors = FALSE)
}

fit_tiny <- function(data = tiny_data(), ..., gamma = 0.9,
                     control = rlpsy_control(threads = 1, progress = FALSE)) {
  rlpsy_fit(data, "id", "s", "act", "s2", done = "end", reward = "r",
            gamma = gamma, ..., control = control)
}

test_that("rlpsy_fit rejects bad gamma and tau, naming them and the value", {
  bad_gamma <- list(NA, NaN, Inf, -Inf, -0.1, 1, 1.5, "0.9", c(0.5, 0.6),
                    numeric(0), NULL, TRUE, list(0.9))
  for (g in bad_gamma) {
    expect_rlpsy_error(fit_tiny(gamma = g), "`gamma`")
  }
  expect_rlpsy_error(fit_tiny(gamma = 1), "`gamma`", "[0, 1)", "1")
  expect_rlpsy_error(fit_tiny(gamma = -0.1), "`gamma`", "-0.1")
  expect_rlpsy_error(rlpsy_fit(tiny_data(), "id", "s", "act", "s2"), "`gamma` is missing")
  for (t in list(0, -1, NA, NaN, Inf, "1", c(1, 2), NULL)) {
    expect_rlpsy_error(fit_tiny(tau = t), "`tau`")
  }
  expect_rlpsy_error(fit_tiny(tau = 0), "`tau`", "[1e-100, 1e+100]", "not 0")
  expect_rlpsy_error(fit_tiny(tau = 1e308), "`tau`", "not 1e+308")
})

test_that("rlpsy_fit and rlpsy_data reject data that are not a data frame or have no rows", {
  d <- tiny_data()
  for (x in list(NULL, as.list(d), as.matrix(d), 1:3, "data", function() 1)) {
    expect_rlpsy_error(rlpsy_fit(x, "id", "s", "act", "s2", gamma = 0.9),
                       "`data` must be a data frame")
  }
  expect_rlpsy_error(fit_tiny(d[0, ]), "`data` has no rows")
  expect_rlpsy_error(rlpsy_data(d[0, ], "id", "s", "act", "s2"), "no rows")
})

test_that("bad column arguments name the argument and the columns", {
  d <- tiny_data()
  expect_rlpsy_error(rlpsy_data(d, "id", "nope", "act", "s2"), "`state`", "\"nope\"",
                     "\"id\", \"s\"")
  expect_rlpsy_error(rlpsy_data(d, "id", 2, "act", "s2"), "`state`", "column name")
  expect_rlpsy_error(rlpsy_data(d, "id", c("s", "s2"), "act", "s2"), "`state`")
  expect_rlpsy_error(rlpsy_data(d, "id", NA_character_, "act", "s2"), "`state`")
  expect_rlpsy_error(rlpsy_data(d, "id", "s", "act", "s2", done = 1), "`done`")
  expect_rlpsy_error(rlpsy_data(d, "id", "s", "act"), "`next_state` is missing")
  dd <- d
  names(dd)[2] <- "id"
  expect_rlpsy_error(rlpsy_data(dd, "id", "s2", "act", "s2"), "`participant`", "2 times")
})

test_that("NA, NaN and Inf in used columns name the column and the rows", {
  d <- tiny_data()
  cases <- list(
    list(col = "s", value = NA, arg = "`state` column \"s\"", rows = "row 3"),
    list(col = "s", value = NaN, arg = "`state` column \"s\"", rows = "row 3"),
    list(col = "s", value = Inf, arg = "`state` column \"s\"", rows = "row 3"),
    list(col = "s2", value = -Inf, arg = "`next_state` column \"s2\"", rows = "row 3"),
    list(col = "id", value = NA, arg = "`participant` column \"id\"", rows = "row 3"),
    list(col = "act", value = NA, arg = "`action` column \"act\"", rows = "row 3"),
    list(col = "end", value = NA, arg = "`done` column \"end\"", rows = "row 3"),
    list(col = "r", value = NA, arg = "`reward` column \"r\"", rows = "row 3"),
    list(col = "r", value = NaN, arg = "`reward` column \"r\"", rows = "row 3"),
    list(col = "r", value = Inf, arg = "`reward` column \"r\"", rows = "row 3"),
    list(col = "r", value = 1e200, arg = "`reward` column \"r\"", rows = "row 3")
  )
  for (cs in cases) {
    x <- d
    x[[cs$col]][3] <- cs$value
    expect_rlpsy_error(fit_tiny(x), cs$arg, cs$rows)
  }
})

test_that("columns of the wrong type name the column and the type", {
  d <- tiny_data()
  x <- d; x$s <- x$s + 0.5
  expect_rlpsy_error(fit_tiny(x), "`state` column \"s\"", "whole numbers", "1.5")
  x <- d; x$s <- as.complex(x$s)
  expect_rlpsy_error(fit_tiny(x), "`state` column \"s\"", "complex")
  x <- d; x$id <- as.Date("2020-01-01") + seq_len(nrow(x))
  expect_rlpsy_error(fit_tiny(x), "`participant` column \"id\"", "Date")
  x <- d; x$act <- I(as.list(x$act))
  expect_rlpsy_error(fit_tiny(x), "`action` column \"act\"")
  x <- d; x$end <- c("yes", "no", "no", "yes", "no", "yes")
  expect_rlpsy_error(fit_tiny(x), "`done` column \"end\"", "character")
  x <- d; x$end <- c(0, 2, 0, 1, 0, 1)
  expect_rlpsy_error(fit_tiny(x), "`done` column \"end\"", "row 2", "2")
  x <- d; x$r <- as.character(x$r)
  expect_rlpsy_error(fit_tiny(x), "`reward` column \"r\"", "numeric")
  x <- d; x$s <- NA
  expect_rlpsy_error(fit_tiny(x), "`state` column \"s\"", "missing values", "rows 1")
})

test_that("a bad `available` names the problem", {
  d <- tiny_data()
  expect_rlpsy_error(fit_tiny(available = "yes"), "`available`")
  expect_rlpsy_error(fit_tiny(available = matrix("a", 3, 2)), "`available`", "character")
  expect_rlpsy_error(fit_tiny(available = matrix(TRUE, 2, 2)), "`available`", "3 x 2")
  av <- matrix(TRUE, 3, 2)
  av[2, 1] <- NA
  expect_rlpsy_error(fit_tiny(available = av), "`available`", "NA")
  av <- matrix(TRUE, 3, 2, dimnames = list(1:3, c("x", "y")))
  av["1", "y"] <- FALSE
  expect_rlpsy_error(fit_tiny(available = av), "`available`", "row 3", "\"y\"")
  av <- matrix(TRUE, 3, 2)
  av[3, ] <- FALSE
  expect_rlpsy_error(fit_tiny(available = av), "`available`", "state", "\"3\"")
})

test_that("rlpsy_control rejects bad settings, naming the setting and value", {
  bad <- list(
    lambda_bell = list(-1, NA, NaN, Inf, "1", c(1, 2), 1e11),
    lambda_cql = list(-0.5, NA, Inf),
    lambda_r = list(-1e-3, NA, Inf),
    threads = list(0, -1, 1.5, NA, Inf, "2", 1e6),
    max_iter = list(0, 2.5, NA, 1e7),
    tol = list(-1, NA, Inf),
    tol_z = list(-1, NaN),
    mstep_iter = list(0, NA),
    estep_iter = list(0, 1.5),
    estep_tol = list(0, -1),
    eps = list(0, -1, Inf),
    flat_tol = list(-1, 2, NA, "a"),
    flat_states = list("none", 1, NA),
    verbose = list(NA, "yes", c(TRUE, FALSE)),
    progress = list(NA, 1),
    prior = list("eb", c(1, 2), c(mu = 0, sigma = 0), c(mu = 0, sigma = -1),
                 c(mu = NA, sigma = 1), c(mu = 1000, sigma = 1),
                 list(mu = 0, sigma = 1), NULL)
  )
  for (arg in names(bad)) {
    for (v in bad[[arg]]) {
      args <- stats::setNames(list(v), arg)
      expect_rlpsy_error(do.call(rlpsy_control, args), paste0("`", arg, "`"))
    }
  }
  expect_rlpsy_error(rlpsy_control(lambda_bell = -1), "-1")
  expect_rlpsy_error(rlpsy_control(threads = 0), "not 0")
  expect_rlpsy_error(rlpsy_control(lamda_bell = 1), "\"lamda_bell\"", "Known settings")
  expect_rlpsy_error(fit_tiny(control = list(lamda_bell = 1)), "\"lamda_bell\"")
  expect_rlpsy_error(fit_tiny(control = list(1)), "`control`")
  expect_rlpsy_error(fit_tiny(control = "fast"), "`control`")
  expect_rlpsy_error(fit_tiny(control = list(threads = 0)), "`threads`")
})

test_that("predict, coef and confint reject bad arguments", {
  fit <- small_fit()
  nd <- data.frame(id = c("p01", "p02"), state = c("s1", "s2"), action = c("a", "b"))
  expect_rlpsy_error(predict(fit, as.matrix(nd)), "`newdata` must be a data frame")
  expect_rlpsy_error(predict(fit, as.list(nd)), "`newdata` must be a data frame")
  expect_rlpsy_error(predict(fit, "p01"), "`newdata` must be a data frame")
  expect_rlpsy_error(predict(fit, data.frame(id = "p01", state = "s9")),
                     "`newdata` column \"state\"", "\"s9\"", "not seen")
  expect_rlpsy_error(predict(fit, data.frame(id = "p01", state = c("s9", "s8", "s1"))),
                     "states \"s8\", \"s9\"")
  expect_rlpsy_error(predict(fit, data.frame(id = c("p01", "zz"), state = "s1")),
                     "participant \"zz\"", "row 2")
  expect_rlpsy_error(predict(fit, data.frame(id = "p01", state = NA)),
                     "`newdata` column \"state\"", "missing values", "row 1")
  expect_rlpsy_error(predict(fit, data.frame(id = "p01", state = Inf)),
                     "`newdata` column \"state\"")
  expect_rlpsy_error(predict(fit, transform(nd, action = c("a", "zz")), type = "beta"),
                     "`newdata` column \"action\"", "\"zz\"")
  expect_rlpsy_error(predict(fit, nd[0, ], type = "beta"), "`newdata` has no rows")
  expect_rlpsy_error(predict(fit, data.frame(x = 1)), "\"id\"", "Columns of `newdata`: \"x\"")
  for (type in list("probability", NA, 1, c("prob", "beta"), NULL)) {
    expect_rlpsy_error(predict(fit, type = type), "`type`")
  }
  for (lv in list(0, 1, -0.5, 95, NA, NaN, Inf, "0.9", c(0.9, 0.95))) {
    expect_rlpsy_error(predict(fit, type = "beta", level = lv), "`level`")
    expect_rlpsy_error(confint(fit, level = lv), "`level`")
  }
  expect_rlpsy_error(confint(fit, level = 2), "not 2")
  expect_rlpsy_error(confint(fit, parm = "zz"), "`parm`", "\"zz\"")
  expect_rlpsy_error(confint(fit, parm = c(1, 99)), "`parm`", "99")
  expect_rlpsy_error(confint(fit, parm = 0), "`parm`", "0")
  expect_rlpsy_error(confint(fit, parm = NA), "`parm`")
  expect_rlpsy_error(confint(fit, parm = list(1)), "`parm`")
  expect_rlpsy_error(coef(fit, type = "logit"), "`type`", "\"logit\"")
})

test_that("simulate and plot reject bad arguments", {
  fit <- small_fit()
  for (n in list(0, -1, 1.5, NA, Inf, "2", c(1, 2), NULL)) {
    expect_rlpsy_error(simulate(fit, nsim = n), "`nsim`")
  }
  for (s in list("a", NA, 1.5, Inf, 1e20, c(1, 2))) {
    expect_rlpsy_error(simulate(fit, seed = s), "`seed`")
  }
  expect_rlpsy_error(plot(fit, which = 4), "`which`", "4")
  expect_rlpsy_error(plot(fit, which = "betas2"), "`which`", "\"betas2\"")
  expect_rlpsy_error(plot(fit, which = character()), "`which`")
  expect_rlpsy_error(plot(fit, which = "beta", level = 1.5), "`level`")
  expect_rlpsy_error(print(fit, digits = "a"), "`digits`")
  expect_rlpsy_error(print(summary(fit), digits = -1), "`digits`")
})

test_that("cor_validity rejects bad criteria, naming duplicated participants", {
  fit <- small_fit()
  ids <- names(coef(fit))
  crit <- stats::setNames(seq_along(ids) + 0.5, ids)
  expect_rlpsy_error(cor_validity(fit, c(crit, crit[c(2, 3)])),
                     "duplicated participants", "\"p02\", \"p03\"")
  df <- data.frame(participant = c(ids, ids[1]), y = c(crit, 1))
  expect_rlpsy_error(cor_validity(fit, df), "duplicated participants", "\"p01\"")
  expect_rlpsy_error(cor_validity(fit, replace(crit, 2, Inf)), "\"p02\"", "infinite")
  expect_rlpsy_error(cor_validity(fit, unname(crit)), "`criterion` must be named")
  expect_rlpsy_error(cor_validity(fit, as.character(crit)), "`criterion`")
  expect_rlpsy_error(cor_validity(fit, as.list(crit)), "`criterion`", "list")
  expect_rlpsy_error(cor_validity(fit, factor(crit)), "`criterion`", "factor")
  expect_rlpsy_error(cor_validity(fit, NULL), "`criterion`")
  expect_rlpsy_error(cor_validity(fit, crit[1:2]), "Only 2 participants")
  expect_rlpsy_error(cor_validity(fit, df[0, ]), "Only 0 participants")
  expect_rlpsy_error(cor_validity(fit, data.frame(who = ids, y = crit)), "`by`")
  expect_rlpsy_error(cor_validity(fit, data.frame(participant = ids, y = crit),
                                  column = "z"), "`column`", "\"z\"")
  expect_rlpsy_error(cor_validity(fit, data.frame(participant = c(NA, ids[-1]),
                                                  y = crit)), "missing values", "row 1")
  for (cl in list(0, 1, NA, "0.9", c(0.5, 0.9))) {
    expect_rlpsy_error(cor_validity(fit, crit, conf.level = cl), "`conf.level`")
  }
  expect_rlpsy_error(cor_validity(fit, crit, method = "kendall"), "`method`", "\"kendall\"")
  expect_rlpsy_error(cor_validity(fit, crit, scale = "logit"), "`scale`", "\"logit\"")
  expect_rlpsy_error(cor_validity(fit, crit, foo = 1), "`foo`")
  expect_rlpsy_error(cor_validity("a", crit), "`fit`")
  expect_rlpsy_error(cor_validity(c(a = -1, b = 1, c = 2), c(a = 1, b = 2, c = 3),
                                  scale = "log"), "\"a\"")
  expect_rlpsy_error(cor_validity(fit, stats::setNames(rep(1, length(crit)), ids)),
                     "zero variance")
  v <- cor_validity(fit, crit)
  expect_rlpsy_error(print(v, digits = NA), "`digits`")
})

test_that("task tools reject bad arguments, naming them", {
  grid <- rlpsy_gridworld(3, 3, goal = c(3, 3))
  for (n in list(0, -1, NA, Inf, 2.5, "3", c(2, 3), NULL)) {
    expect_rlpsy_error(rlpsy_gridworld(nrow = n), "`nrow`")
  }
  expect_rlpsy_error(rlpsy_gridworld(3, 3, goal = c(5, 5)), "`goal`", "(5, 5)")
  expect_rlpsy_error(rlpsy_gridworld(3, 3, slip = 2), "`slip`", "2")
  expect_rlpsy_error(rlpsy_gridworld(3, 3, slip = NaN), "`slip`")
  expect_rlpsy_error(rlpsy_soft_q(grid, gamma = 1), "`gamma`", "1")
  expect_rlpsy_error(rlpsy_soft_q(grid), "`gamma`")
  expect_rlpsy_error(rlpsy_soft_q(grid, 0.9, tau = 0), "`tau`", "0")
  expect_rlpsy_error(rlpsy_soft_q(grid, 0.9, tol = -1), "`tol`")
  expect_rlpsy_error(rlpsy_soft_q(list(), 0.9), "`task`")
  expect_rlpsy_error(rlpsy_simulate(grid, c(1, -2), 5), "`beta`", "-2")
  expect_rlpsy_error(rlpsy_simulate(grid, c(1, NA), 5), "`beta`")
  expect_rlpsy_error(rlpsy_simulate(grid, c(a = 1, a = 2), 5), "`beta`", "\"a\"")
  expect_rlpsy_error(rlpsy_simulate(grid, 1, 0), "`n_decisions`", "0")
  expect_rlpsy_error(rlpsy_simulate(grid, 1, NA), "`n_decisions`")
  expect_rlpsy_error(rlpsy_simulate(grid, 1, 5, Q = matrix(0, 2, 2)), "`Q`", "2 x 2")
  P <- array(0, c(2, 1, 2))
  P[1, 1, 2] <- 1
  expect_rlpsy_error(rlpsy_task(replace(P, 3, NA), terminal = 2), "`transitions`", "NA")
  expect_rlpsy_error(rlpsy_task(replace(P, 3, -1), terminal = 2), "`transitions`", "-1")
  expect_rlpsy_error(rlpsy_task(array("a", c(2, 1, 2))), "`transitions`", "character")
  expect_rlpsy_error(rlpsy_task(NULL), "`transitions`")
  expect_rlpsy_error(rlpsy_task(P, reward = Inf, terminal = 2), "`reward`")
  expect_rlpsy_error(rlpsy_task(P, reward = "1", terminal = 2), "`reward`")
  expect_rlpsy_error(rlpsy_task(P, terminal = NA), "`terminal`")
  expect_rlpsy_error(rlpsy_task(P, terminal = 5), "`terminal`", "\"5\"")
  expect_rlpsy_error(rlpsy_task(P, terminal = 2, start = c(-1, 2)), "`start`", "-1")
  expect_rlpsy_error(rlpsy_task(P, terminal = 2, states = c("a", "a")), "`states`", "\"a\"")
  tr <- data.frame(state = 1, action = 1, next_state = 2, prob = 1)
  expect_rlpsy_error(rlpsy_task(tr[0, ], terminal = 2), "`transitions`", "no rows")
  expect_rlpsy_error(rlpsy_task(tr[, 1:3], terminal = 2), "`transitions`", "\"prob\"")
  expect_rlpsy_error(rlpsy_task(transform(tr, state = NA), terminal = 2),
                     "Column `state`", "row 1")
})

test_that("inputs too large for the memory fail early with a size estimate", {
  withr_limit <- function(bytes, code) {
    old <- options(rlpsy.memory_limit = bytes)
    on.exit(options(old))
    code
  }
  d <- tiny_data()
  # numeric state codes up to 1e9 mean 1e9 states: caught before allocating
  x <- d
  x$s2[2] <- 1e9
  expect_rlpsy_error(fit_tiny(x), "1,000,000,000 states", "memory", class = "rlpsy_error_memory")
  withr_limit(1000, {
    expect_rlpsy_error(rlpsy_data(d, "id", "s", "act", "s2"), "Fitting 6 decisions",
                       "available", class = "rlpsy_error_memory")
    expect_rlpsy_error(rlpsy_gridworld(20, 20), "20 x 20 gridworld",
                       class = "rlpsy_error_memory")
  })
  fit <- small_fit()
  expect_rlpsy_error(simulate(fit, nsim = 1e9), "nsim = 1000000000",
                     class = "rlpsy_error_memory")
  grid <- rlpsy_gridworld(3, 3, goal = c(3, 3))
  expect_rlpsy_error(rlpsy_simulate(grid, rep(1, 1e4), 2e5), "Simulating",
                     class = "rlpsy_error_memory")
})

test_that("a selection of messages is stable", {
  d <- tiny_data()
  d$r[c(2, 5)] <- c(NaN, Inf)
  expect_snapshot(error = TRUE, {
    fit_tiny(gamma = 1)
    fit_tiny(tau = -1)
    rlpsy_control(threads = 0.5)
    rlpsy_control(lambda_cql = -2)
    rlpsy_control(lamda_bell = 1)
    fit_tiny(d)
    cor_validity(c(a = 1, b = 2, c = 3, d = 4), c(a = 1, b = 2, b = 3, d = 4, c = 1))
    cor_validity(c(a = 1, b = 2, c = 3, d = 4), c(a = 1, b = 2, d = 3), method = "kendall")
    rlpsy_gridworld(Inf, 3)
  })
})
