# Memory and time per parallel call: does resident memory grow with the
# number of parallel loop calls (and so with EM iterations)?
#
#   Rscript bench/arena.R [--quick]
#
# Measures the growth of VmRSS and the time per call over many calls of
# (a) RcppParallel::parallelFor(..., numThreads = 2) on a trivial loop, which
# builds a new tbb::task_arena per call like rlpsy's ParallelRunner;
# (b) the same loop in one reused tbb::task_arena (bench/arena.cpp);
# (c) rlpsy:::core_estep and rlpsy:::core_objective with threads = 1 and 2 on
# the 10^4-decision 500-state problem. Writes results/arena.{csv,md}.
source(local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  file.path(if (length(f)) dirname(f[1]) else "bench", "common.R")
}))
quick <- is_quick()
calls <- if (quick) 2000L else 10000L
Rcpp::sourceCpp(file.path(BENCH_DIR, "arena.cpp"), cacheDir = tempfile("arena-"))

prob <- bench_problem("1e4")
enc <- bench_encode(prob)
ctrl <- rlpsy_control(threads = 2)
prep <- bench_core(enc, ctrl, gamma = 0.9)
core <- prep$core
st <- prep$state
z <- rlpsy:::core_estep(core, st$theta, st$z, 0, 1, 1L, 100L, 1e-8)$z

measure <- function(what, threads, pf, f) {
  f(10L)  # warm up (thread creation, first allocations)
  invisible(gc())
  m0 <- proc_memory()[["rss_mb"]]
  t <- time_call(function() f(calls))
  invisible(gc())
  m1 <- proc_memory()[["rss_mb"]]
  data.frame(call = what, threads = threads, parallel_loops_per_call = pf,
             calls = calls, us_per_call = 1e6 * t / calls,
             rss_growth_mb = m1 - m0, kb_per_call = 1024 * (m1 - m0) / calls,
             stringsAsFactors = FALSE)
}
rep_call <- function(g) function(n) for (i in seq_len(n)) g()
res <- rbind(
  measure("RcppParallel::parallelFor (new arena per call)", 2L, 1L,
          function(n) loop_rcppparallel(n, 2L)),
  measure("one reused tbb::task_arena", 2L, 1L, function(n) loop_reused_arena(n, 2L)),
  measure("rlpsy core_estep", 1L, 2L,
          rep_call(function() rlpsy:::core_estep(core, st$theta, z, 0, 1, 1L, 100L, 1e-8))),
  measure("rlpsy core_estep", 2L, 2L,
          rep_call(function() rlpsy:::core_estep(core, st$theta, z, 0, 1, 2L, 100L, 1e-8))),
  measure("rlpsy core_objective (gradient)", 1L, 4L,
          rep_call(function() rlpsy:::core_objective(core, st$theta, NULL, z, 0, 1, 1L, TRUE))),
  measure("rlpsy core_objective (gradient)", 2L, 4L,
          rep_call(function() rlpsy:::core_objective(core, st$theta, NULL, z, 0, 1, 2L, TRUE)))
)
write_table(res, "arena", "Resident memory and time per parallel call",
  notes = c(
    sprintf("%s calls each, after 10 warm-up calls; `rss_growth_mb` = VmRSS after minus before (after gc()).", format(calls, big.mark = ",")),
    "`parallel_loops_per_call`: parallel loops one call runs (E-step: advantage + Newton; objective: state values, behaviour blocks, state gradients; each through the runner).",
    "rlpsy calls are on the 10^4-decision, 500-state problem (E-step warm-started at its mode, so one Newton evaluation per participant).",
    "A growth that is linear in the number of calls with threads = 2 but not with threads = 1 points at the per-call tbb::task_arena of RcppParallel::parallelFor(numThreads = n) with the system's oneTBB, not at rlpsy's own allocations."))
