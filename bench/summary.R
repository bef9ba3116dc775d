# Collect the result tables into results/summary.md, with the targets of the
# benchmark issue and whether each holds.
#
#   Rscript bench/summary.R [--quick]
#
# Reads results/*.csv (or results/quick/*.csv) written by the other scripts;
# a missing table is reported as not run.
source(local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  file.path(if (length(f)) dirname(f[1]) else "bench", "common.R")
}))
quick <- is_quick()
dir <- results_dir(quick)
read <- function(name) {
  f <- file.path(dir, paste0(name, ".csv"))
  if (file.exists(f)) utils::read.csv(f, stringsAsFactors = FALSE)
}
yes_no <- function(ok) ifelse(is.na(ok), "not measured", ifelse(ok, "yes", "**no**"))
fmt <- function(x, d = 3) ifelse(is.na(x), "NA", formatC(x, digits = d, format = "g"))
targets <- list()
add <- function(target, measured, holds) {
  targets[[length(targets) + 1]] <<- data.frame(target = target, measured = measured,
                                                holds = yes_no(holds),
                                                stringsAsFactors = FALSE)
}

sc <- read("scaling")
if (!is.null(sc)) {
  get <- function(p, col) { v <- sc[sc$problem == p, col]; if (length(v)) v[1] else NA }
  lin <- sc[sc$problem %in% c("1e4", "1e5", "1e6", "1e7") & !is.na(sc$fit_s), ]
  if (nrow(lin) >= 2) {
    slope <- diff(log10(lin$fit_s)) / diff(log10(lin$decisions))
    cpe <- if (is.null(lin$ns_per_decision_eval)) lin$ns_per_decision_iter else lin$ns_per_decision_eval
    big <- lin$decisions >= 1e5
    add("Fit time linear in decisions: slope of log fit time on log decisions <= 1.1 between consecutive sizes, and the cost per decision per M-step evaluation not growing with size (from 10^5 on, within 1.5x of the 10^5 value)",
        sprintf("slopes %s (%s); ns per decision per evaluation %s (%s); EM iterations %s; evaluations %s",
                paste(fmt(slope), collapse = ", "),
                paste(sprintf("%s->%s", lin$problem[-nrow(lin)], lin$problem[-1]), collapse = ", "),
                paste(fmt(cpe), collapse = ", "), paste(lin$problem, collapse = ", "),
                paste(lin$iterations, collapse = ", "),
                paste(if (is.null(lin$evaluations)) NA else lin$evaluations, collapse = ", ")),
        all(slope <= 1.1) && (sum(big) < 2 || max(cpe[big]) / cpe[big][1] <= 1.5))
  }
  has <- function(p) p %in% sc$problem
  t6 <- get("1e6", "fit_s")
  conv <- function(p) isTRUE(as.logical(get(p, "converged")))
  if (has("1e6")) add("10^6 decisions (10,000 participants, 500 states, 5 actions) converged in <= 5 s on 2 cores",
      sprintf("%s s (%s EM iterations, %s evaluations, converged %s)", fmt(t6),
              get("1e6", "iterations"), get("1e6", "evaluations"), get("1e6", "converged")),
      t6 <= 5 && conv("1e6"))
  t7 <- get("1e7", "fit_s")
  if (has("1e7")) add("10^7 decisions converged in <= 60 s on 2 cores",
      if (is.na(t7)) paste("did not finish:", get("1e7", "outcome")) else
        sprintf("%s s (%s EM iterations, %s evaluations, converged %s)", fmt(t7),
                get("1e7", "iterations"), get("1e7", "evaluations"), get("1e7", "converged")),
      if (is.na(t7) && !is.na(get("1e7", "outcome"))) FALSE else t7 <= 60 && conv("1e7"))
  for (p in intersect(c("1e6", "1e7"), sc$problem)) {
    r <- get(p, "peak_over_raw")
    add(sprintf("Peak memory <= 3x raw data size (%s; the target is set at 10^7)", p),
        sprintf("peak RSS %s MB / raw %s MB = %sx (above R's baseline: %sx)",
                fmt(get(p, "peak_rss_mb")), fmt(get(p, "raw_mb")), fmt(r),
                fmt(get(p, "peak_above_base_over_raw"))), r <= 3)
  }
}
th <- read("threads")
if (!is.null(th)) {
  for (i in seq_len(nrow(th))) {
    add(sprintf("2 threads >= 1.7x faster than 1, identical results: %s", th$kernel[i]),
        sprintf("equal-core speedup %sx (efficiency %s); measured %sx vs the faster vCPU, %sx vs the slower (%s / %s -> %s ms); identical: %s",
                fmt(th$equal_core_speedup[i]), fmt(th$efficiency[i]),
                fmt(th$speedup_vs_faster_cpu[i]), fmt(th$speedup_vs_slower_cpu[i]),
                fmt(th$t1_cpu0_ms[i]), fmt(th$t1_cpu1_ms[i]), fmt(th$t2_ms[i]),
                th$identical[i]),
        th$equal_core_speedup[i] >= 1.7 && isTRUE(as.logical(th$identical[i])))
  }
}
pe <- read("peers")
if (!is.null(pe)) {
  i <- grep("PyTorch", pe$method, fixed = TRUE)
  add(sprintf("Sparse problem (%s): rlpsy converged at the default tolerance", if (quick) "quick: 10^4s" else "11,939 decisions"),
      sprintf("converged %s, %s s, %s EM iterations, %s evaluations", pe$converged[1],
              fmt(pe$time_s[1]), pe$iterations[1], pe$evaluations[1]),
      isTRUE(as.logical(pe$converged[1])))
  if (!length(i)) {
    add("rlpsy >= 30x faster than the PyTorch GEM", "not run", NA)
  } else {
    add("rlpsy >= 30x faster than the PyTorch GEM (sparse problem)",
        sprintf("%sx (%s s vs %s s; PyTorch converged: %s after %s EM iterations)",
                fmt(pe$time_ratio_to_rlpsy[i]), fmt(pe$time_s[i]), fmt(pe$time_s[1]),
                pe$converged[i], pe$iterations[i]),
        pe$time_ratio_to_rlpsy[i] >= 30)
    d <- if (is.null(pe$at_rlpsy_prior_minus_rlpsy)) pe$objective_minus_rlpsy[i] else pe$at_rlpsy_prior_minus_rlpsy[i]
    add("rlpsy's Q at least as good as the PyTorch GEM's (profiled objective at rlpsy's prior, to 1e-6 relative)",
        sprintf("difference %s (final objectives: rlpsy %s, PyTorch %s at its own prior)", fmt(d),
                fmt(pe$objective_rlpsy_eval[1], 10), fmt(pe$objective_rlpsy_eval[i], 10)),
        d >= -1e-6 * abs(pe$objective_rlpsy_eval[1]))
  }
}
rd <- read("realdata")
if (!is.null(rd) && !is.null(rd$coding)) {
  i <- grep("raw", rd$coding)
  if (length(i)) add("PISA raw coding (slider settings) fitted and converged in <= 10 s",
      sprintf("%s s, converged %s (%s decisions, %s states x %s actions)", fmt(rd$fit_s[i]),
              rd$converged[i], rd$decisions[i], rd$states[i], rd$actions[i]),
      rd$fit_s[i] <= 10 && isTRUE(as.logical(rd$converged[i])))
}
me <- read("measurement")
if (!is.null(me)) {
  after <- me[me$release == "after" & me$variant == "default", ]
  sim <- after[!is.na(after$median_ratio), ]
  if (nrow(sim)) {
    add("Recovery at defaults (after): median beta-hat/beta within 3% of 1 on each task",
        paste(sprintf("%s %s", sim$problem, fmt(sim$median_ratio)), collapse = "; "),
        all(abs(sim$median_ratio - 1) <= 0.03))
    add("Recovery at defaults (after): 95% Wald coverage in [0.93, 0.97] on each task",
        paste(sprintf("%s %s", sim$problem, fmt(sim$coverage_95)), collapse = "; "),
        all(sim$coverage_95 >= 0.93 & sim$coverage_95 <= 0.97))
  }
  pi <- after[after$problem == "pisa", ]
  if (nrow(pi)) {
    add("PISA (after, defaults): task consistency >= 0.99", fmt(pi$task_consistency, 4),
        pi$task_consistency >= 0.99)
    add("PISA (after, defaults): r(log beta, correctness) >= 0.40", fmt(pi$validity_r_log),
        pi$validity_r_log >= 0.40)
    add("PISA (after, defaults): odd/even split-half reliability >= 0.55", fmt(pi$split_half),
        if (is.na(pi$split_half)) NA else pi$split_half >= 0.55)
  }
}
mb <- read("minibatch")
if (!is.null(mb) && nrow(mb) == 3) {
  add(sprintf("Mini-batch EM removed, for a measured reason (%s decisions): the previous release's mini-batch phase did not bring its objective within 1e-4 of the full-batch optimum sooner than its plain full-batch fit", if (quick) "quick: 10^4" else "10^6"),
      sprintf("with the mini-batch phase (%s s of it) %s s; full-batch alone %s s; this release's full-batch fit %s s to converge",
              fmt(mb$minibatch_phase_s[2]), fmt(mb$time_to_target_s[2]),
              fmt(mb$time_to_target_s[1]), fmt(mb$total_s[3])),
      mb$time_to_target_s[2] >= mb$time_to_target_s[1])
}

tg <- if (length(targets)) do.call(rbind, targets)
m <- machine_info()
out <- c("# rlpsy benchmark summary", "",
         sprintf("Machine: %s, %d cores (nproc), %s RAM; R %s; rlpsy %s; %s.",
                 m$cpu, m$nproc, m$memory, m$r, m$rlpsy, m$os),
         sprintf("Summary written %s%s. The machine is shared with other work, so timings carry some noise; ratios were measured side by side in one process.",
                 m$date, if (quick) " (quick mode: tiny smoke run, not the benchmark)" else ""),
         "", "## Targets", "")
out <- c(out, if (is.null(tg)) "No tables found." else md_table(tg), "")
for (name in c("scaling", "peers", "minibatch", "measurement", "realdata", "threads",
               "bound", "arena")) {
  f <- file.path(dir, paste0(name, ".md"))
  if (!file.exists(f)) next
  body <- readLines(f)
  body[1] <- sub("^# ", "## ", body[1])
  out <- c(out, body, "")
}
if (file.exists(file.path(dir, "scaling.png"))) out <- c(out, "![scaling](scaling.png)", "")
writeLines(out, file.path(dir, "summary.md"))
message("wrote ", file.path(dir, "summary.md"))
