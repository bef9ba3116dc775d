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
    cpi <- lin$ns_per_decision_iter
    big <- lin$decisions >= 1e5
    add("Fit time linear in decisions: slope of log fit time on log decisions <= 1.1 between consecutive sizes, and the cost per decision per EM iteration not growing with size (from 10^5 on, within 1.5x of the 10^5 value)",
        sprintf("slopes %s (%s); ns per decision per iteration %s (%s); EM iterations %s",
                paste(fmt(slope), collapse = ", "),
                paste(sprintf("%s->%s", lin$problem[-nrow(lin)], lin$problem[-1]), collapse = ", "),
                paste(fmt(cpi), collapse = ", "), paste(lin$problem, collapse = ", "),
                paste(lin$iterations, collapse = ", ")),
        all(slope <= 1.1) && (sum(big) < 2 || max(cpi[big]) / cpi[big][1] <= 1.5))
  }
  has <- function(p) p %in% sc$problem
  t6 <- get("1e6", "fit_s")
  if (has("1e6")) add("10^6 decisions (10,000 participants, 500 states, 5 actions) in < 20 s on 2 cores",
      sprintf("%s s (%s EM iterations)", fmt(t6), get("1e6", "iterations")), t6 < 20)
  for (p in intersect(c("1e6", "1e7"), sc$problem)) {
    r <- get(p, "peak_over_raw")
    add(sprintf("Peak memory < 10x raw data size (%s)", p),
        sprintf("peak RSS %s MB / raw %s MB = %sx (above R's baseline: %sx)",
                fmt(get(p, "peak_rss_mb")), fmt(get(p, "raw_mb")), fmt(r),
                fmt(get(p, "peak_above_base_over_raw"))), r < 10)
  }
  t7 <- get("1e7", "fit_s")
  if (has("1e7")) add("10^7 decisions in < 5 minutes",
      if (is.na(t7)) paste("did not finish:", get("1e7", "outcome")) else
        sprintf("%s s (%s EM iterations)", fmt(t7), get("1e7", "iterations")),
      if (is.na(t7) && !is.na(get("1e7", "outcome"))) FALSE else t7 < 300)
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
  obj_ok <- function(i) pe$objective_minus_rlpsy[i] >= -1e-6 * abs(pe$objective_rlpsy_eval[1])
  for (k in list(c("PyTorch", 10), c("plain R", 100))) {
    i <- grep(k[1], pe$method, fixed = TRUE)
    if (!length(i)) {
      add(sprintf("rlpsy >= %sx faster than %s", k[2], k[1]), "not run", NA)
      next
    }
    add(sprintf("rlpsy >= %sx faster than %s (%s decisions)", k[2], k[1],
                if (quick) "10^4" else "10^5"),
        sprintf("%sx (%s s vs %s s; %s vs %s EM iterations)", fmt(pe$time_ratio_to_rlpsy[i]),
                fmt(pe$time_s[i]), fmt(pe$time_s[1]), pe$iterations[i], pe$iterations[1]),
        pe$time_ratio_to_rlpsy[i] >= as.numeric(k[2]))
    add(sprintf("rlpsy's final objective at least as low as %s's (to 1e-6 relative)", k[1]),
        sprintf("rlpsy %s; %s %s (difference %s)", fmt(pe$objective_rlpsy_eval[1], 12),
                k[1], fmt(pe$objective_rlpsy_eval[i], 12), fmt(pe$objective_minus_rlpsy[i])),
        obj_ok(i))
  }
}

tg <- if (length(targets)) do.call(rbind, targets)
m <- machine_info()
out <- c("# rlpsy benchmark summary", "",
         sprintf("Machine: %s, %d cores (nproc), %s RAM; R %s; rlpsy %s (library %s); %s.",
                 m$cpu, m$nproc, m$memory, m$r, m$rlpsy, m$rlpsy_lib, m$os),
         sprintf("Summary written %s%s. The machine is shared with other work, so timings carry some noise; ratios were measured side by side in one process.",
                 m$date, if (quick) " (quick mode: tiny smoke run, not the benchmark)" else ""),
         "", "## Targets", "")
out <- c(out, if (is.null(tg)) "No tables found." else md_table(tg), "")
for (name in c("scaling", "threads", "peers", "bound", "realdata", "arena")) {
  f <- file.path(dir, paste0(name, ".md"))
  if (!file.exists(f)) next
  body <- readLines(f)
  body[1] <- sub("^# ", "## ", body[1])
  out <- c(out, body, "")
}
if (file.exists(file.path(dir, "scaling.png"))) out <- c(out, "![scaling](scaling.png)", "")
writeLines(out, file.path(dir, "summary.md"))
message("wrote ", file.path(dir, "summary.md"))
