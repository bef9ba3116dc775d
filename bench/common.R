# Helpers shared by the benchmark scripts: where things are, the machine,
# command-line flags, problem generation with an optional cache, memory
# readings and the markdown/CSV table writer. Sourced by every script under
# bench/; not part of the package.

suppressPackageStartupMessages(library(rlpsy))  # honours R_LIBS / .libPaths()

#' Directory of the running script (bench/), however it was started.
bench_dir <- function() {
  for (i in rev(seq_len(sys.nframe()))) {  # the file being source()d
    f <- sys.frame(i)$ofile
    if (!is.null(f) && basename(f) == "common.R") return(dirname(normalizePath(f)))
  }
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(f)) return(normalizePath(dirname(f[1])))
  if (file.exists("bench/common.R")) return(normalizePath("bench"))
  if (file.exists("common.R")) return(normalizePath("."))
  stop("cannot locate bench/; run the scripts from the package root")
}

BENCH_DIR <- bench_dir()
source(file.path(BENCH_DIR, "tasks.R"))

#' TRUE when the script was started with --quick (or RLPSY_BENCH_QUICK=1).
is_quick <- function() {
  "--quick" %in% commandArgs(TRUE) || identical(Sys.getenv("RLPSY_BENCH_QUICK"), "1")
}

#' Results go to bench/results (full) or bench/results/quick (--quick), so
#' the CI smoke run never overwrites the tables of a full run.
results_dir <- function(quick = is_quick()) {
  d <- file.path(BENCH_DIR, "results")
  if (quick) d <- file.path(d, "quick")
  dir.create(d, recursive = TRUE, showWarnings = FALSE)
  d
}

#' The machine, as a named list (recorded with every table).
machine_info <- function() {
  cpu <- tryCatch({
    l <- grep("^model name", readLines("/proc/cpuinfo"), value = TRUE)
    trimws(sub("^model name\\s*:", "", l[1]))
  }, error = function(e) NA_character_)
  mem <- tryCatch({
    l <- grep("^MemTotal", readLines("/proc/meminfo"), value = TRUE)
    sprintf("%.1f GB", as.numeric(gsub("[^0-9]", "", l)) / 2^20)
  }, error = function(e) NA_character_)
  nproc <- tryCatch(as.integer(system("nproc", intern = TRUE)),
                    error = function(e) parallel::detectCores())
  list(cpu = cpu, nproc = nproc, memory = mem,
       r = sub("R version ", "", R.version.string),
       rlpsy = as.character(utils::packageVersion("rlpsy")),
       os = utils::sessionInfo()$running,
       date = format(Sys.time(), "%Y-%m-%d %H:%M %Z"),
       load = tryCatch(paste(strsplit(readLines("/proc/loadavg"), " ")[[1]][1:3],
                             collapse = " "), error = function(e) NA_character_))
}

#' The PISA Climate Control data: RLPSY_PISA_CC, or ../shared/data/pisa-cc/
#' cc_data.rda beside the package root; NA when neither exists. The
#' attribute `shown` is how the results name it (no machine's paths).
pisa_cc_path <- function() {
  env <- Sys.getenv("RLPSY_PISA_CC")
  if (nzchar(env) && file.exists(env)) return(structure(env, shown = "RLPSY_PISA_CC"))
  rel <- file.path(BENCH_DIR, "..", "..", "shared", "data", "pisa-cc", "cc_data.rda")
  if (file.exists(rel)) return(structure(rel, shown = "../shared/data/pisa-cc/cc_data.rda"))
  NA_character_
}

#' The R library holding the previous release (RLPSY_BENCH_OLD_LIB), for the
#' before/after rows of measurement.R and minibatch.R; "" when unset
old_release_lib <- function() Sys.getenv("RLPSY_BENCH_OLD_LIB")

#' One line describing the machine, for the `machine` column of the CSVs.
machine_line <- function(m = machine_info()) {
  sprintf("%s; %d cores; %s; R %s; rlpsy %s", m$cpu, m$nproc, m$memory,
          sub(" .*", "", m$r), m$rlpsy)
}

#' Write a data frame as bench/results/<name>.csv (with machine and date
#' columns) and <name>.md (machine header, the table, notes).
write_table <- function(df, name, title, notes = character(), quick = is_quick(),
                        digits = 4) {
  m <- machine_info()
  dir <- results_dir(quick)
  csv <- df
  csv$machine <- machine_line(m)
  csv$date <- m$date
  utils::write.csv(csv, file.path(dir, paste0(name, ".csv")), row.names = FALSE)
  md <- c(paste("#", title), "",
          sprintf("Machine: %s, %d cores (nproc), %s RAM; R %s; rlpsy %s; %s.",
                  m$cpu, m$nproc, m$memory, m$r, m$rlpsy, m$os),
          sprintf("Run: %s%s; load average at write time %s.", m$date,
                  if (quick) " (quick mode)" else "", m$load),
          "", md_table(df, digits), "")
  if (length(notes)) md <- c(md, paste0("- ", notes), "")
  writeLines(md, file.path(dir, paste0(name, ".md")))
  message("wrote ", file.path(dir, paste0(name, ".{csv,md}")))
  invisible(df)
}

#' A data frame as a markdown table.
md_table <- function(df, digits = 4) {
  fmt <- vapply(df, function(x) {
    if (is.numeric(x)) {
      out <- ifelse(is.na(x), "NA", format_num(x, digits))
    } else {
      out <- ifelse(is.na(x), "NA", as.character(x))
    }
    out
  }, character(nrow(df)))
  if (!is.matrix(fmt)) fmt <- matrix(fmt, nrow = nrow(df))
  c(paste("|", paste(names(df), collapse = " | "), "|"),
    paste("|", paste(rep("---", ncol(df)), collapse = " | "), "|"),
    apply(fmt, 1, function(r) paste("|", paste(r, collapse = " | "), "|")))
}

format_num <- function(x, digits = 4) {
  vapply(x, function(v) {
    if (is.na(v)) return("NA")
    if (v == round(v) && abs(v) < 1e15) return(format(v, big.mark = ",", scientific = FALSE))
    formatC(v, digits = digits, format = "g", flag = "#")
  }, "")
}

#' Peak (VmHWM) and current (VmRSS) resident memory of this process, in MB.
proc_memory <- function() {
  st <- tryCatch(readLines("/proc/self/status"), error = function(e) character())
  get <- function(key) {
    l <- grep(paste0("^", key, ":"), st, value = TRUE)
    if (!length(l)) return(NA_real_)
    as.numeric(gsub("[^0-9]", "", l)) / 1024
  }
  c(peak_mb = get("VmHWM"), rss_mb = get("VmRSS"))
}

#' The simulated problems used throughout (see bench/tasks.R):
#' decisions = participants x per-participant decisions. "1e4" to "1e6" use
#' one 500-state, 5-action task (only the number of decisions changes);
#' "1e4s" is 10^4 decisions on a small 50-state task (the quick-mode
#' problem); "1e7" has 1,000 states with 5-10 available actions (of 10).
bench_sizes <- function() {
  data.frame(
    label = c("1e4s", "1e4", "1e5", "1e6", "1e7"),
    participants = c(100L, 100L, 1000L, 10000L, 100000L),
    per = 100L,
    states = c(50L, 500L, 500L, 500L, 1000L),
    actions = c(5L, 5L, 5L, 5L, 10L),
    min_actions = c(5L, 5L, 5L, 5L, 5L),
    stringsAsFactors = FALSE
  )
}

#' Get (simulate or load from the cache) problem `label`: a list with the
#' integer-coded decision data frame `data` and the task's `available`.
#' The cache directory is RLPSY_BENCH_CACHE (run.R sets a fresh one per run);
#' without it the problem is simulated every time.
bench_problem <- function(label) {
  p <- bench_sizes()
  p <- p[p$label == label, ]
  stopifnot(nrow(p) == 1)
  cache <- Sys.getenv("RLPSY_BENCH_CACHE")
  file <- if (nzchar(cache)) file.path(cache, paste0("problem-", label, ".rds"))
  if (!is.null(file) && file.exists(file)) return(readRDS(file))
  prob <- bench_data_int(p$participants, p$per, p$states, p$actions,
                         min_actions = p$min_actions)
  if (!is.null(file)) {
    dir.create(cache, recursive = TRUE, showWarnings = FALSE)
    saveRDS(prob, file, compress = FALSE)
  }
  prob
}

#' The C++ core of a fit as rlpsy_fit() sets it up (choice sets, the task's
#' values, the scale-free penalty weights, starting values), through the
#' package's internal prepare_fit(): a list with `core`, `settings` (the
#' effective weights the core uses), `enc` (with the choice-set `available`),
#' `state` (starting Q, z, prior) and `task_Q`. Used by the scripts that time
#' the kernels or compare peers, so they measure exactly the fit's problem.
bench_core <- function(enc, ctrl = rlpsy_control(), gamma = 0.9, tau = 1,
                       q = "joint", normalise = "state") {
  ctrl <- rlpsy:::as_control(ctrl)
  q_model <- if (inherits(q, "rlpsy_q")) q else rlpsy_q_table()
  if (inherits(q, "rlpsy_q")) q <- "joint"
  spec <- rlpsy:::model_spec(enc, q, normalise, NULL, gamma, tau)
  spec$q_model <- q_model
  rlpsy:::prepare_fit(enc, spec, ctrl, NULL)
}

#' The sparse problem of the performance issue: 11,939 decisions of 100
#' participants on the 500-state, 5-action task of `1e4`-`1e6` (random sparse
#' MDP, bench_task(500, 5)), so about 24 decisions per state and some
#' (state, action) pairs never taken. Participants make unequal numbers of
#' decisions: each one's first n_j of 200 simulated decisions, with n_j drawn
#' uniformly from 40..200 (seeded) and adjusted by one at a time so that they
#' sum to 11,939. Same list layout as bench_problem().
bench_sparse <- function(total = 11939L, participants = 100L) {
  cache <- Sys.getenv("RLPSY_BENCH_CACHE")
  file <- if (nzchar(cache)) file.path(cache, "problem-sparse.rds")
  if (!is.null(file) && file.exists(file)) return(readRDS(file))
  prob <- bench_data_int(participants, 200L, 500L, 5L)
  set.seed(11939)
  n <- sample(40:200, participants, replace = TRUE)
  n <- pmin(200L, pmax(1L, round(n * total / sum(n))))
  i <- 0L
  while (sum(n) != total) {
    i <- i %% participants + 1L
    step <- sign(total - sum(n))
    if (n[i] + step >= 1L && n[i] + step <= 200L) n[i] <- n[i] + step
  }
  pos <- stats::ave(prob$data$participant, prob$data$participant, FUN = seq_along)
  prob$data <- prob$data[pos <= n[prob$data$participant], ]
  rownames(prob$data) <- NULL
  if (!is.null(file)) saveRDS(prob, file, compress = FALSE)
  prob
}

#' Encode a problem for rlpsy_fit (observed reward).
bench_encode <- function(prob) {
  av <- if (all(prob$available)) NULL else prob$available
  rlpsy_data(prob$data, "participant", "state", "action", "next_state",
             done = "done", reward = "reward", available = av)
}

#' Median of a vector of timings, formatted helpers.
med <- function(x) stats::median(x)

#' Read a key from a `/usr/bin/time -v` report.
time_v_field <- function(lines, key) {
  l <- grep(key, lines, value = TRUE, fixed = TRUE)
  if (!length(l)) return(NA_character_)
  trimws(sub(".*: ", "", l[1]))
}

#' Seconds from a `/usr/bin/time -v` elapsed field (h:mm:ss or m:ss.ss).
parse_elapsed <- function(x) {
  if (is.na(x)) return(NA_real_)
  p <- as.numeric(strsplit(x, ":")[[1]])
  sum(p * 60^(rev(seq_along(p)) - 1))
}

#' Path to the Rscript of this R.
rscript <- function() file.path(R.home("bin"), "Rscript")

#' Seconds per call of f(), with a clock of microsecond resolution: calls f
#' `inner` times in a row and divides (inner chosen so that one measurement
#' lasts about `min_time` seconds, see calibrate_inner()).
time_call <- function(f, inner = 1L) {
  t0 <- Sys.time()
  for (i in seq_len(inner)) f()
  as.numeric(difftime(Sys.time(), t0, units = "secs")) / inner
}

#' Number of back-to-back calls of f() that last about min_time seconds.
calibrate_inner <- function(f, min_time = 0.1) {
  t <- time_call(f)
  max(1L, as.integer(ceiling(min_time / max(t, 1e-6))))
}

#' CPU snapshot for other_cores(): busy seconds of the whole machine
#' (/proc/stat), CPU seconds of this process and its waited-for children,
#' and the wall clock.
cpu_snapshot <- function() {
  v <- tryCatch(as.numeric(strsplit(readLines("/proc/stat", n = 1L), " +")[[1]][-1]),
                error = function(e) rep(NA_real_, 8))
  pt <- proc.time()
  list(busy = sum(v[c(1, 2, 3, 6, 7, 8)]) / 100,  # user nice system irq softirq steal
       own = sum(pt[c("user.self", "sys.self", "user.child", "sys.child")], na.rm = TRUE),
       wall = as.numeric(Sys.time()))
}

#' Average number of cores kept busy by other processes between two
#' snapshots (the noise from sharing the machine).
other_cores <- function(a, b) {
  max(0, ((b$busy - a$busy) - (b$own - a$own)) / (b$wall - a$wall))
}

#' Pin the calling (main) R thread to the given CPUs with `taskset -p`
#' (Linux); returns FALSE when that is not possible. Threads created later
#' inherit the mask, so start worker pools (one multi-threaded call) first.
pin_main_thread <- function(cpus) {
  if (!nzchar(Sys.which("taskset"))) return(FALSE)
  st <- suppressWarnings(system2("taskset", c("-pc", paste(cpus, collapse = ","),
                                              Sys.getpid()), stdout = FALSE, stderr = FALSE))
  identical(st, 0L)
}
