# A seeded fuzzer for the public functions of rlpsy. Case i of seed s is a
# deterministic function of (s, i): a call of one public function with random
# malformed or extreme arguments. fuzz_run() executes the cases in child R
# processes and records, for each case, whether it returned a value, ended in
# an rlpsy error (class rlpsy_error), ended in another R error, or crashed the
# process (a signal, an abort, a hang). Used by test-fuzz.R (a short run) and
# tools/fuzz.R (the long run).

# --- random values -----------------------------------------------------------

fuzz_nasty <- function() {
  pool <- list(
    NULL, NA, NA_real_, NA_integer_, NA_character_, NaN, Inf, -Inf, 0, -1, 1,
    0.5, 2.5, -0.5, 1e308, -1e308, 1e-308, 5e-324, .Machine$integer.max,
    -.Machine$integer.max, 2^31, 1e10, 1e300, "a", "", character(0), numeric(0),
    integer(0), logical(0), TRUE, FALSE, c(1, 2), 1:10, c(NA, 1), c(Inf, 1),
    list(), list(1), list(a = 1), data.frame(), data.frame(x = 1), matrix(1, 2, 2),
    matrix(NA, 1, 1), factor("a"), factor(c("a", NA)), as.Date("2020-01-01"),
    complex(real = 1, imaginary = 1), function(x) x, new.env(), quote(x),
    expression(1), raw(1), c(a = 1), c(mu = 0, sigma = 1), array(1, c(1, 1, 1)),
    structure(1, class = "foo"), "\u00e9\u00e8", strrep("x", 1000)
  )
  pool[[sample.int(length(pool), 1)]]
}

# a nasty atomic scalar (for cells of vectors)
fuzz_scalar <- function() {
  v <- fuzz_nasty()
  if (is.atomic(v) && length(v) >= 1L) v[1L] else NA
}

# one of the valid (possibly extreme) values of an argument
fuzz_number <- function(valid) {
  valid[[sample.int(length(valid), 1)]]
}

# With probability 0.7, replace one or two arguments (not those in `keep`)
# by nasty values; otherwise leave the (valid or extreme) call alone.
fuzz_corrupt <- function(args, keep = character()) {
  if (stats::runif(1) < 0.3) return(args)
  cand <- setdiff(names(args), keep)
  if (!length(cand)) return(args)
  for (nm in sample(cand, min(length(cand), sample(1:2, 1, prob = c(0.8, 0.2))))) {
    v <- fuzz_nasty()
    if (is.null(v)) args[nm] <- list(NULL) else args[[nm]] <- v
  }
  args
}

fuzz_call <- function(fun, args, keep = character()) {
  list(fun = fun, args = fuzz_corrupt(args, keep))
}

fuzz_labels <- function(n, k) {
  kind <- sample(c("int", "dbl", "chr", "fct", "big", "neg", "gap", "numid",
                   "huge", "empty", "int64"), 1,
                 prob = c(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1))
  v <- sample.int(k, n, replace = TRUE)
  switch(kind,
         int = v, dbl = as.double(v), chr = paste0("L", v),
         fct = factor(paste0("L", v), levels = paste0("L", sample.int(k + 1))),
         big = c(1e6, 2e6, 5e6)[((v - 1) %% 3) + 1],
         neg = v - 3L,
         # integer codes with gaps (1, 2, 10 means 10 labels)
         gap = c(1L, 2L, 10L, 40L)[((v - 1) %% 4) + 1],
         # numeric ids that as.character() writes in scientific notation
         numid = 1e5 * v,
         # beyond 2^53: doubles cannot tell them apart
         huge = 2^53 + 2 * v,
         empty = { x <- paste0("L", v); x[sample.int(n, 1)] <- ""; x },
         int64 = structure(v * 5e-324, class = "integer64"))
}

# an action column: plain codes, strings, factors with unused levels, codes
# with gaps (several actions never chosen)
fuzz_actions <- function(n, K) {
  a <- sample.int(K, n, replace = TRUE)
  switch(sample(c("int", "chr", "padded", "gap"), 1, prob = c(4, 3, 2, 2)),
         int = a, chr = c("x", "y", "z")[a],
         padded = factor(c("x", "y", "z")[a], levels = c("x", "y", "z", "wait", "jump")),
         gap = c(1L, 5L, 1000L)[a])
}

# a small random decision data frame (valid)
fuzz_base_data <- function() {
  n <- sample(c(1, 2, 5, 20, 60), 1)
  S <- sample(1:5, 1)
  K <- sample(1:3, 1)
  J <- sample(1:4, 1)
  d <- data.frame(
    pid = fuzz_labels(n, J), s = sample.int(S, n, replace = TRUE),
    a = fuzz_actions(n, K), s2 = sample.int(S + 1, n, replace = TRUE),
    d = stats::runif(n) < 0.3,
    r = stats::rnorm(n) * sample(c(1, 1, 1, 1e-300, 1e50, 1e12, 0), 1)
  )
  if (stats::runif(1) < 0.3) d$s <- paste0("s", d$s)
  if (is.character(d$s)) d$s2 <- paste0("s", d$s2)
  d
}

# a valid rlpsy_data object with one field corrupted (lengths, codes,
# offsets, flags, rewards, labels, `available`, a missing field)
fuzz_corrupt_encoding <- function(enc) {
  f <- sample(c("reward", "state", "action", "next_state", "participant", "done",
                "offsets", "available", "actions", "states", "n_states",
                "n_decisions", "drop"), 1)
  if (f == "drop") {
    enc[[sample(names(enc), 1)]] <- NULL
    return(enc)
  }
  v <- enc[[f]]
  how <- sample(c("short", "na", "big", "negative", "type", "nasty"), 1)
  v <- switch(how,
    short = if (length(v) > 1L) v[-length(v)] else v[0],
    na = { if (length(v)) v[sample.int(length(v), 1)] <- NA; v },
    big = { if (length(v) && is.numeric(v)) v[sample.int(length(v), 1)] <- 1e6L; v },
    negative = { if (length(v) && is.numeric(v)) v[sample.int(length(v), 1)] <- -1L; v },
    type = if (is.numeric(v)) as.double(v) + 0.5 else as.character(v),
    nasty = fuzz_nasty())
  if (is.null(v)) enc[f] <- list(NULL) else enc[[f]] <- v
  enc
}

fuzz_gen_encoded <- function() {
  d <- fuzz_base_data()
  enc <- suppressMessages(rlpsy::rlpsy_data(
    d, "pid", "s", "a", "s2", done = "d",
    reward = if (all(is.finite(d$r)) && max(abs(d$r)) < 1e100) "r"))
  if (stats::runif(1) < 0.8) enc <- fuzz_corrupt_encoding(enc)
  if (stats::runif(1) < 0.3) {
    return(list(fun = "identification_participants", args = list(enc = enc)))
  }
  list(fun = "rlpsy_fit", args = list(
    data = enc, gamma = 0.9,
    control = list(threads = sample(1:2, 1), progress = FALSE, max_iter = 5L)))
}

# mutate a data frame: a cell, a column, the rows or the names
fuzz_mutate_data <- function(d) {
  what <- sample(c("none", "cell", "column", "rows", "names", "dup", "extreme"), 1,
                 prob = c(3, 3, 2, 1, 1, 1, 2))
  col <- sample(names(d), 1)
  out <- tryCatch(switch(what,
    none = d,
    cell = { d[[col]][sample.int(nrow(d), 1)] <- fuzz_nasty(); d },
    column = { d[[col]] <- rep_len(fuzz_nasty(), nrow(d)); d },
    rows = d[seq_len(sample(c(0, 1), 1)), , drop = FALSE],
    names = { names(d)[names(d) == col] <- sample(c("", NA, "zz"), 1); d },
    dup = { names(d)[2] <- names(d)[1]; d },
    extreme = {
      v <- sample(list(1e300, -1e300, 1e-300, 1e9, 2^31, -2^31, 1e15), 1)[[1]]
      if (is.numeric(d[[col]])) d[[col]][sample.int(nrow(d), 1)] <- v
      d
    }), error = function(e) d)
  if (!is.data.frame(out)) d else out
}

fuzz_control <- function(for_fit = TRUE) {
  ctrl <- list(threads = sample(1:2, 1), progress = FALSE,
               max_iter = sample(c(1L, 5L, 30L), 1))
  if (stats::runif(1) < 0.5) {
    ctrl$lambda_bell <- fuzz_number(list(0, 1e-12, 1, 1e10))
  }
  if (stats::runif(1) < 0.3) ctrl$lambda_cql <- fuzz_number(list(0, 0.5, 1e10))
  if (stats::runif(1) < 0.3) ctrl$lambda_r <- fuzz_number(list(0, 1, 1e10))
  if (stats::runif(1) < 0.3) {
    ctrl$prior <- fuzz_number(list("empirical", c(mu = 0, sigma = 1),
                                   c(mu = 50, sigma = 1e-6), c(mu = -50, sigma = 100)))
  }
  if (stats::runif(1) < 0.2) ctrl$eps <- fuzz_number(list(1e-8, 1e-300, 1e300))
  if (stats::runif(1) < 0.2) ctrl$minibatch <- fuzz_number(list(NULL, 0.5, 2))
  if (stats::runif(1) < 0.2) ctrl$seed <- fuzz_number(list(1, 0, 2^30))
  if (stats::runif(1) < 0.1) ctrl$tol <- fuzz_number(list(0, 1e-3))
  if (for_fit && stats::runif(1) < 0.15) {
    nm <- sample(c("lambda_bell", "lambda_cql", "lambda_r", "prior", "eps", "seed",
                   "tol", "minibatch", "threads", "verbose", "bogus"), 1)
    v <- fuzz_nasty()
    if (is.null(v)) ctrl[nm] <- list(NULL) else ctrl[[nm]] <- v
  }
  if (!for_fit && stats::runif(1) < 0.5) {
    nm <- sample(c("max_iter", "estep_iter", "mstep_iter", "threads", "tol_z",
                   "estep_tol", "verbose", "minibatch_epochs", "foo"), 1)
    ctrl[[nm]] <- fuzz_nasty()
  }
  ctrl
}

# --- the cases -----------------------------------------------------------------

# A fit and its data to run the methods on (built once per process).
fuzz_fit <- local({
  cache <- NULL
  function() {
    if (is.null(cache)) {
      old <- get0(".Random.seed", envir = globalenv(), inherits = FALSE)
      set.seed(99)
      grid <- rlpsy::rlpsy_gridworld(3, 3, goal = c(3, 3))
      d <- rlpsy::rlpsy_simulate(grid, c(p1 = 1, p2 = 2, p3 = 4, p4 = 0.5), 20,
                                 gamma = 0.9, tau = 0.1)
      fit <- suppressWarnings(rlpsy::rlpsy_fit(
        d, "participant", "state", "action", "next_state", "done", "reward",
        gamma = 0.9, control = rlpsy::rlpsy_control(threads = 1, progress = FALSE,
                                                    max_iter = 50)))
      if (!is.null(old)) assign(".Random.seed", old, envir = globalenv())
      cache <<- list(fit = fit, data = d, grid = grid)
    }
    cache
  }
})

fuzz_gen_fit <- function() {
  d <- fuzz_mutate_data(fuzz_base_data())
  cols <- list(participant = "pid", state = "s", action = "a", next_state = "s2",
               done = sample(list("d", NULL), 1)[[1]], reward = sample(list("r", NULL), 1)[[1]])
  args <- c(list(data = d), cols)
  if (stats::runif(1) < 0.15) {
    args$available <- sample(list(matrix(stats::runif(6) < 0.7, 3, 2),
                                  matrix(TRUE, 6, 4), matrix(TRUE, 5, 3)), 1)[[1]]
  }
  if (stats::runif(1) < 0.3) {
    return(fuzz_call("rlpsy_data", args, keep = if (stats::runif(1) < 0.5) names(args)))
  }
  args$gamma <- fuzz_number(list(0, 0.5, 0.9, 0.999999))
  args$tau <- fuzz_number(list(1, 1e-6, 1e6))
  args$control <- fuzz_control(TRUE)
  # half of the fits run on valid (possibly extreme) arguments and data
  fuzz_call("rlpsy_fit", args, keep = if (stats::runif(1) < 0.5) names(args) else "control")
}

fuzz_newdata <- function(d) {
  nd <- d[sample.int(nrow(d), sample(c(0, 1, 5), 1)), , drop = FALSE]
  if (nrow(nd) > 0 && stats::runif(1) < 0.3) {
    col <- sample(c("participant", "state", "action"), 1)
    nd[[col]][1] <- sample(c("unseen", NA), 1)
  }
  if (stats::runif(1) < 0.3) nd <- fuzz_mutate_data(nd)
  nd
}

fuzz_gen_method <- function() {
  f <- fuzz_fit()
  fit <- f$fit
  m <- sample(c("predict", "confint", "coef", "simulate", "plot", "print",
                "summary", "logLik", "cor_validity"), 1)
  keep <- c("object", "x")
  switch(m,
    predict = fuzz_call("predict", keep = keep, list(
      object = fit,
      newdata = if (stats::runif(1) < 0.7) fuzz_newdata(f$data),
      type = fuzz_number(list("prob", "action", "beta", "q", "advantage", "value", "reward")),
      level = fuzz_number(list(0.95, 0.5)))),
    confint = fuzz_call("confint", keep = keep, list(
      object = fit, parm = fuzz_number(list(1, "p1", c("p2", "p1"), 1:4)),
      level = fuzz_number(list(0.95, 1e-10, 1 - 1e-10)))),
    coef = fuzz_call("coef", keep = keep, list(object = fit, type = fuzz_number(list("beta", "log")))),
    simulate = fuzz_call("simulate", keep = keep, list(
      object = fit, nsim = fuzz_number(list(1, 3)), seed = fuzz_number(list(NULL, 1)))),
    plot = fuzz_call("plot", keep = keep, list(
      x = fit, which = fuzz_number(list("beta", "trace", "advantage", 1:3, "adv")),
      level = fuzz_number(list(0.95)))),
    print = fuzz_call("print", keep = keep, list(x = fit, digits = fuzz_number(list(3, 7)))),
    summary = list(fun = "summary", args = list(object = fit)),
    logLik = list(fun = "logLik", args = list(object = fit)),
    cor_validity = fuzz_gen_validity(fit)
  )
}

fuzz_gen_validity <- function(fit) {
  ids <- names(stats::coef(fit))
  crit <- stats::setNames(stats::rnorm(length(ids)), ids)
  kind <- sample(c("vec", "df", "nasty", "dup", "bad", "numid"), 1)
  criterion <- switch(kind,
    vec = crit,
    df = data.frame(participant = sample(ids), y = stats::rnorm(length(ids))),
    numid = data.frame(participant = sample(list(1e5 * seq_along(ids), 2^53 + seq_along(ids),
                                                 structure(seq_along(ids) * 5e-324, class = "integer64"),
                                                 c("", ids[-1])), 1)[[1]],
                       y = stats::rnorm(length(ids))),
    nasty = fuzz_nasty(),
    dup = c(crit, crit[1]),
    bad = { crit[sample.int(length(crit), 1)] <- fuzz_scalar(); crit })
  scores <- if (stats::runif(1) < 0.5) fit else stats::setNames(stats::rexp(length(ids)), ids)
  args <- list(fit = scores, criterion = criterion,
               method = fuzz_number(list("pearson", "spearman")),
               conf.level = fuzz_number(list(0.95, 0.5)),
               scale = fuzz_number(list("beta", "log")))
  if (kind %in% c("df", "numid") && stats::runif(1) < 0.5) args$by <- fuzz_number(list("participant"))
  if (kind %in% c("df", "numid") && stats::runif(1) < 0.5) args$column <- fuzz_number(list("y", NULL))
  fuzz_call("cor_validity", args, keep = if (kind != "vec") names(args))
}

fuzz_gen_task <- function() {
  grid <- fuzz_fit()$grid
  m <- sample(c("rlpsy_gridworld", "rlpsy_task", "rlpsy_soft_q", "rlpsy_simulate",
                "rlpsy_control"), 1)
  switch(m,
    rlpsy_gridworld = fuzz_call(m, list(
      nrow = fuzz_number(list(1, 2, 4)), ncol = fuzz_number(list(2, 3)),
      walls = fuzz_number(list(NULL, c(1, 2))), goal = fuzz_number(list(c(2, 2))),
      trap = fuzz_number(list(NULL, c(1, 2))), slip = fuzz_number(list(0, 0.1, 1)),
      step_cost = fuzz_number(list(0, 1)), start = fuzz_number(list(c(1, 1))))),
    rlpsy_task = fuzz_gen_task_def(),
    rlpsy_soft_q = fuzz_call(m, list(
      task = fuzz_number(list(grid)), gamma = fuzz_number(list(0, 0.5, 0.99)),
      tau = fuzz_number(list(1, 1e-300, 1e300, 0.01)),
      tol = fuzz_number(list(1e-8, 1e-300)),
      max_iter = fuzz_number(list(1, 100, 1000)))),
    rlpsy_simulate = fuzz_call(m, list(
      task = fuzz_number(list(grid)),
      beta = fuzz_number(list(c(1, 2), 1e-300, 1e300, c(a = 1, a = 2), c(1, NA))),
      n_decisions = fuzz_number(list(1, 10)), gamma = fuzz_number(list(0.9)),
      tau = fuzz_number(list(1, 0.1)), Q = if (stats::runif(1) < 0.3) fuzz_nasty(),
      eps = fuzz_number(list(1e-8, 1e300))), keep = "Q"),
    rlpsy_control = list(fun = m, args = fuzz_control(FALSE))
  )
}

fuzz_gen_task_def <- function() {
  S <- sample(1:4, 1)
  K <- sample(1:3, 1)
  P <- array(stats::runif(S * K * S), c(S, K, S))
  P <- P / as.vector(apply(P, 1:2, sum))
  if (stats::runif(1) < 0.3) P[sample.int(length(P), 1)] <- fuzz_scalar()
  trans <- if (stats::runif(1) < 0.5) P else {
    idx <- which(P != 0 | is.na(P), arr.ind = TRUE)
    data.frame(state = idx[, 1], action = idx[, 2], next_state = idx[, 3], prob = P[idx])
  }
  if (stats::runif(1) < 0.2) trans <- fuzz_nasty()
  if (is.data.frame(trans) && nrow(trans) > 0 && stats::runif(1) < 0.3) {
    trans <- fuzz_mutate_data(trans)
  }
  fuzz_call("rlpsy_task", list(
    transitions = trans, reward = fuzz_number(list(0, 1, matrix(1, S, K))),
    terminal = fuzz_number(list(NULL, S, rep(FALSE, S))),
    start = fuzz_number(list(NULL, 1)),
    available = fuzz_number(list(NULL, matrix(TRUE, S, K))),
    states = NULL, actions = NULL), keep = if (stats::runif(1) < 0.3) "transitions")
}

# Case i of seed `seed`: list(fun, args).
fuzz_case <- function(i, seed) {
  set.seed((as.double(seed) * 100003 + i) %% .Machine$integer.max)
  for (attempt in 1:5) {
    gen <- sample(c("fit", "method", "task", "encoded"), 1, prob = c(0.4, 0.27, 0.23, 0.1))
    case <- tryCatch(
      switch(gen, fit = fuzz_gen_fit(), method = fuzz_gen_method(), task = fuzz_gen_task(),
             encoded = fuzz_gen_encoded()),
      error = function(e) NULL)  # an impossible mutation: draw again
    if (!is.null(case)) return(case)
  }
  list(fun = "rlpsy_control", args = list())
}

# Run one case: "value", "rlpsy_error" (with its class) or "r_error".
fuzz_exec <- function(case) {
  fun <- switch(case$fun,
    predict = stats::predict, confint = stats::confint, coef = stats::coef,
    simulate = stats::simulate, logLik = stats::logLik, summary = summary,
    print = print, plot = plot, getExportedValue("rlpsy", case$fun))
  grDevices::pdf(NULL)
  on.exit(grDevices::dev.off())
  res <- tryCatch(
    suppressWarnings({
      out <- utils::capture.output(v <- do.call(fun, case$args, quote = TRUE))
      fuzz_check_value(v)
    }),
    rlpsy_error = function(e) paste0("rlpsy_error\t", class(e)[1], "\t",
                                     substr(gsub("[\t\n]", " ", conditionMessage(e)), 1, 150)),
    error = function(e) paste0("r_error\t", class(e)[1], "\t",
                               substr(gsub("[\t\n]", " ", conditionMessage(e)), 1, 150)))
  res
}

# "value", or "nonfinite\t<where>" when a fit has a non-finite estimate or a
# result holds NaN (documented NAs are fine, NaN never is)
fuzz_check_value <- function(v) {
  if (inherits(v, "rlpsy_fit")) {
    for (el in c("beta", "z", "se", "prior", "Q", "advantage", "value", "objective")) {
      if (!all(is.finite(v[[el]]))) return(paste0("nonfinite\trlpsy_fit\t", el))
    }
    return("value")
  }
  x <- if (is.list(v)) unlist(lapply(v, function(e) if (is.numeric(e)) e), use.names = FALSE)
       else if (is.numeric(v)) v
  if (any(is.nan(x))) return("nonfinite\tNaN\t")
  "value"
}

# Child process body: run cases `from`..`to` of `seed`, one line per case
# ("<i>\t<outcome>...") to `log`, flushed after each, then "DONE".
fuzz_child <- function(from, to, seed, log) {
  con <- file(log, open = "a")
  on.exit(close(con))
  for (i in seq.int(from, to)) {
    case <- tryCatch(fuzz_case(i, seed), error = function(e) {
      list(fun = "generator", error = conditionMessage(e))
    })
    out <- if (identical(case$fun, "generator")) {
      paste0("gen_error\t\t", case$error)
    } else fuzz_exec(case)
    writeLines(paste0(i, "\t", case$fun, "\t", out), con)
    flush(con)
  }
  writeLines("DONE", con)
  flush(con)
}

# Run n cases in child processes. After a crash (or a hang longer than
# `timeout` seconds) the crashing case is recorded and a new child continues
# with the next case. Returns a data frame: case, fun, outcome
# ("value", "rlpsy_error", "r_error", "crash"), class, message.
fuzz_run <- function(n, seed = 1, lib = NULL, helper = NULL, timeout = 600,
                     mem_limit_kb = 8e6, verbose = FALSE) {
  helper <- normalizePath(helper %||% fuzz_helper_path(), mustWork = TRUE)
  log <- tempfile("fuzz-", fileext = ".tsv")
  rscript <- file.path(R.home("bin"), "Rscript")
  libline <- if (is.null(lib)) "" else
    sprintf(".libPaths(c(%s, .libPaths()));", deparse(normalizePath(lib)))
  asan <- nzchar(Sys.getenv("RLPSY_SANITIZER"))
  start <- 1
  crashes <- list()
  while (start <= n) {
    expr <- sprintf(
      "%s suppressMessages(library(rlpsy)); source(%s); fuzz_child(%d, %d, %d, %s)",
      libline, deparse(helper), start, n, seed, deparse(log))
    script <- tempfile("fuzz-child-", fileext = ".R")
    writeLines(expr, script)
    cmd <- sprintf("%s%s%s --vanilla %s",
                   if (!asan && .Platform$OS.type == "unix")
                     sprintf("ulimit -v %d 2>/dev/null; ", as.integer(mem_limit_kb)) else "",
                   if (nzchar(Sys.which("timeout"))) sprintf("timeout %d ", timeout) else "",
                   shQuote(rscript), shQuote(script))
    status <- suppressWarnings(system(cmd, ignore.stdout = !verbose,
                                      ignore.stderr = !verbose))
    lines <- if (file.exists(log)) readLines(log, warn = FALSE) else character()
    done <- length(lines) && lines[length(lines)] == "DONE"
    if (done) break
    last <- suppressWarnings(max(c(0, as.integer(sub("\t.*", "", lines))), na.rm = TRUE))
    crashed <- max(last + 1, start)
    crashes[[length(crashes) + 1L]] <- data.frame(
      case = crashed, fun = tryCatch(fuzz_case(crashed, seed)$fun, error = function(e) "?"),
      outcome = "crash",
      class = paste0("exit status ", status), message = "", stringsAsFactors = FALSE)
    start <- crashed + 1
  }
  lines <- if (file.exists(log)) readLines(log, warn = FALSE) else character()
  lines <- lines[lines != "DONE"]
  parts <- strsplit(lines, "\t", fixed = TRUE)
  res <- data.frame(
    case = as.integer(vapply(parts, `[`, "", 1)),
    fun = vapply(parts, `[`, "", 2),
    outcome = vapply(parts, `[`, "", 3),
    class = vapply(parts, function(p) if (length(p) >= 4) p[4] else "", ""),
    message = vapply(parts, function(p) if (length(p) >= 5) p[5] else "", ""),
    stringsAsFactors = FALSE)
  res <- rbind(res, do.call(rbind, crashes))
  res[order(res$case), , drop = FALSE]
}

`%||%` <- function(x, y) if (is.null(x)) y else x

fuzz_helper_path <- function() {
  for (p in c("helper-fuzz.R", file.path("tests", "testthat", "helper-fuzz.R"))) {
    if (file.exists(p)) return(p)
  }
  stop("helper-fuzz.R not found")
}
