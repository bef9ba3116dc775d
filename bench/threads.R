# Thread scaling of the two hot kernels, 1 vs 2 threads, in one process.
#
#   Rscript bench/threads.R [--quick]
#
# On the 10^6-decision problem (10,000 participants x 100 decisions, 500
# states, 5 actions; quick mode: the 10^5 problem) times one full E-step
# (rlpsy:::core_estep from z = 0 under the starting Q of a fit, N(0, 1)
# prior) and one objective + gradient evaluation (rlpsy:::core_objective at
# the E-step's z), alternating 1 and 2 threads, and reports medians, the
# speedup and whether the results are identical. Writes results/threads.*.
source(local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  file.path(if (length(f)) dirname(f[1]) else "bench", "common.R")
}))

quick <- is_quick()
label <- if (quick) "1e5" else "1e6"
reps <- if (quick) 5L else 11L
prob <- bench_problem(label)
enc <- bench_encode(prob)
ctrl <- rlpsy_control(threads = 2)
prep <- bench_core(enc, ctrl, gamma = 0.9)
settings <- prep$settings
core <- prep$core
st <- prep$state
info <- rlpsy:::core_info(core)

estep <- function(threads) {
  rlpsy:::core_estep(core, st$theta, st$z, 0, 1, threads, ctrl$estep_iter, ctrl$estep_tol)
}
z <- estep(1L)$z
objective <- function(threads) {
  rlpsy:::core_objective(core, st$theta, NULL, z, 0, 1, threads, TRUE)
}

# The two vCPUs of the benchmark machine are not equally fast (a single
# thread runs ~1.7x faster on one than on the other), so single-thread
# times are taken with the main thread pinned to each CPU in turn, and the
# two-thread time with it free. The parallel efficiency compares the
# two-thread time with the ideal 1 / (1/t_cpu0 + 1/t_cpu1) of these cores;
# 2 x efficiency is the speedup the same code would show on two equal cores.
cpus <- seq_len(max(1L, parallel::detectCores())) - 1L
can_pin <- length(cpus) >= 2L && pin_main_thread(cpus)
time_alternating <- function(f, reps) {
  f(2L); f(1L)  # warm up; starts the worker threads with the full CPU mask
  inner <- calibrate_inner(function() f(1L), 0.1)
  modes <- if (can_pin) c(paste0("cpu", cpus[1:2]), "free") else c("free1", "free")
  t <- matrix(NA_real_, reps, length(modes), dimnames = list(NULL, modes))
  for (i in seq_len(reps)) for (k in seq_along(modes)) {
    threads <- if (modes[k] == "free") 2L else 1L
    if (can_pin) pin_main_thread(if (modes[k] == "free") cpus else cpus[k])
    t[i, k] <- time_call(function() f(threads), inner)
  }
  if (can_pin) pin_main_thread(cpus)
  attr(t, "inner") <- inner
  t
}

message("threads: E-step")
c0 <- cpu_snapshot()
te <- time_alternating(estep, reps)
c1 <- cpu_snapshot()
message("threads: objective + gradient")
to <- time_alternating(objective, reps)
c2 <- cpu_snapshot()
attr(te, "others") <- other_cores(c0, c1)
attr(to, "others") <- other_cores(c1, c2)
same_e <- identical(estep(1L), estep(2L))
same_o <- identical(objective(1L), objective(2L))
e1 <- estep(1L)

row <- function(what, t, same) {
  m <- apply(t, 2, med)
  n1 <- ncol(t) - 1L
  t1 <- m[seq_len(n1)]
  t2 <- m[["free"]]
  ideal <- 1 / sum(1 / (if (n1 == 2L) t1 else rep(t1, 2)))
  data.frame(kernel = what, decisions = enc$n_decisions,
             participants = enc$n_participants, units = info$n_units,
             repeats = nrow(t), calls_per_repeat = attr(t, "inner"),
             t1_cpu0_ms = 1000 * t1[1], t1_cpu1_ms = 1000 * t1[n1],
             t2_ms = 1000 * t2,
             speedup_vs_faster_cpu = min(t1) / t2,
             speedup_vs_slower_cpu = max(t1) / t2,
             efficiency = ideal / t2, equal_core_speedup = 2 * ideal / t2,
             ns_per_unit_1thread = 1e9 * min(t1) / info$n_units,
             identical = same, other_load_cores = attr(t, "others"),
             stringsAsFactors = FALSE)
}
newton <- sum(e1$iter)
res <- rbind(
  row("E-step (core_estep, cold start)", te, same_e),
  row("objective + gradient (core_objective)", to, same_o)
)
write_table(res, "threads", "Threads: 1 vs 2 for one E-step and one objective + gradient",
  notes = c(
    sprintf("Problem `%s`: %s decisions, %s participants, 500 states, 5 actions; %s units (participant, state).",
            label, format(enc$n_decisions, big.mark = ","),
            format(enc$n_participants, big.mark = ","), format(info$n_units, big.mark = ",")),
    sprintf("E-step: all participants from z = 0 under the fit's starting Q and prior N(0, 1); %.2f Newton iterations per participant on average (%d in all), each with at least one evaluation pass over the participant's units.",
            newton / enc$n_participants, newton),
    "Objective: value and gradient at that Q and the E-step's z (`gradient = TRUE`).",
    sprintf("Times per call are medians (and minima) of %d repeats, 1 and 2 threads alternating in one process, after one warm-up call each; a repeat times `calls_per_repeat` back-to-back calls (about 0.1 s) and divides. `identical` compares the full returned lists with identical().", reps),
    "`ns_per_unit_1thread` = single-thread time / units (for the E-step this includes all Newton iterations).",
    "`other_load_cores`: average number of cores kept busy by other processes during the measurement (/proc/stat); the machine has 2 and is shared, so a value near 1 means the second thread had to share a core.",
    "Target: speedup >= 1.7 on 2 cores."))
