# Scaling of a full fit with the number of decisions.
#
#   Rscript bench/scaling.R [--quick]
#
# For each simulated problem (bench_sizes() in common.R: 10^4, 10^5, 10^6
# decisions on a 500-state, 5-action task; 10^7 on a 1,000-state task with
# 5-10 available actions per state, full mode only) the problem is simulated
# here, saved, and fitted in a fresh child process (bench/fit_child.R) run
# under `/usr/bin/time -v` and `timeout`, so the peak resident memory (max
# RSS) is that of the fitting process alone. Fit: rlpsy_fit() on
# rlpsy_data()-encoded data, gamma = 0.9, observed reward, default control
# with threads = 2. Writes results/scaling.{csv,md} and results/scaling.png.
#
# `--plot-only` redraws scaling.png from results/scaling.csv.
# Environment: RLPSY_BENCH_TIMEOUT (seconds, default 600) limits each child;
# RLPSY_BENCH_SIZES (e.g. "1e4,1e5") overrides the list of sizes.
source(local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  file.path(if (length(f)) dirname(f[1]) else "bench", "common.R")
}))

quick <- is_quick()
sizes <- if (quick) "1e4s" else c("1e4s", "1e4", "1e5", "1e6", "1e7")
if (nzchar(Sys.getenv("RLPSY_BENCH_SIZES"))) {
  sizes <- strsplit(Sys.getenv("RLPSY_BENCH_SIZES"), ",")[[1]]
}
timeout_s <- as.numeric(Sys.getenv("RLPSY_BENCH_TIMEOUT", "600"))
threads <- 2L
have_time <- file.exists("/usr/bin/time")
have_timeout <- nzchar(Sys.which("timeout"))

work <- tempfile("rlpsy-scaling-")
dir.create(work)
on.exit(unlink(work, recursive = TRUE), add = TRUE)

run_size <- function(label) {
  message("scaling: ", label, " decisions: simulating")
  t_sim <- system.time(prob <- bench_problem(label))[["elapsed"]]
  pfile <- file.path(work, paste0("problem-", label, ".rds"))
  saveRDS(prob, pfile, compress = FALSE)
  rm(prob)
  invisible(gc())
  rfile <- file.path(work, paste0("result-", label, ".rds"))
  tfile <- file.path(work, paste0("time-", label, ".txt"))
  cmd <- c(if (have_timeout) c("timeout", timeout_s), rscript(),
           file.path(BENCH_DIR, "fit_child.R"), pfile, rfile, threads)
  message("scaling: ", label, " decisions: fitting in a child process")
  t0 <- Sys.time()
  c0 <- cpu_snapshot()
  status <- if (have_time) {
    system2("/usr/bin/time", c("-v", "-o", tfile, cmd))
  } else {
    system2(cmd[1], cmd[-1])
  }
  wall <- as.numeric(difftime(Sys.time(), t0, units = "secs"))
  others <- other_cores(c0, cpu_snapshot())
  unlink(pfile)
  tv <- if (file.exists(tfile)) readLines(tfile) else character()
  max_rss <- as.numeric(time_v_field(tv, "Maximum resident set size")) / 1024
  if (!file.exists(rfile)) {
    outcome <- if (status == 124) sprintf("timed out after %g s", timeout_s) else
      sprintf("failed (exit status %s)", status)
    p <- bench_sizes()
    p <- p[p$label == label, ]
    return(data.frame(
      problem = label, decisions = p$participants * p$per, participants = p$participants,
      states = p$states, actions = p$actions, outcome = outcome,
      simulate_s = t_sim, encode_s = NA, fit_s = NA, process_s = wall,
      iterations = NA, evaluations = NA, converged = NA, ns_per_decision_iter = NA,
      ns_per_decision_eval = NA,
      units = NA, raw_mb = NA, peak_rss_mb = max_rss, base_rss_mb = NA,
      peak_over_raw = NA, peak_above_base_over_raw = NA, beta_cor = NA,
      task_consistency = NA,
      other_load_cores = others, stringsAsFactors = FALSE))
  }
  r <- readRDS(rfile)
  peak <- if (is.na(max_rss)) r$peak_mb else max_rss
  raw_mb <- r$raw_bytes / 2^20
  data.frame(
    problem = label, decisions = r$decisions, participants = r$participants,
    states = r$states,
    actions = if (label == "1e7") sprintf("%d (5-%d avail.)", r$actions, r$actions) else as.character(r$actions),
    outcome = if (nzchar(r$warnings)) paste("warning:", r$warnings) else "ok",
    simulate_s = t_sim, encode_s = r$encode_s, fit_s = r$fit_s,
    process_s = wall, iterations = r$iterations, evaluations = r$mstep_evals_total,
    converged = r$converged,
    ns_per_decision_iter = 1e9 * r$fit_s / (r$decisions * r$iterations),
    ns_per_decision_eval = 1e9 * r$fit_s / (r$decisions * r$mstep_evals_total),
    units = r$units, raw_mb = raw_mb, peak_rss_mb = peak,
    base_rss_mb = r$rss_base_mb, peak_over_raw = peak / raw_mb,
    peak_above_base_over_raw = (peak - r$rss_base_mb) / raw_mb,
    beta_cor = r$beta_cor, task_consistency = r$task_consistency,
    other_load_cores = others, stringsAsFactors = FALSE)
}

run_all <- function() {
  res <- do.call(rbind, lapply(sizes, run_size))
  res$actions <- as.character(res$actions)

  notes <- c(
    "Fit: `rlpsy_fit()` on `rlpsy_data()`-encoded data (encoding time separate), gamma = 0.9, observed reward, `rlpsy_control(threads = 2)` (defaults otherwise: lambda_bell = 1000 value units, lambda_cql = 0, tol = 1e-9 per decision, tol_z = 1e-4, mstep_iter = 50; profiled L-BFGS M-step, SQUAREM empirical-Bayes prior).",
    "Problems: random sparse MDPs (bench/tasks.R), 100 decisions per participant; `1e4`, `1e5`, `1e6` on one 500-state, 5-action task (only the number of decisions changes); `1e4s` = 10^4 decisions on a 50-state, 5-action task (denser data); `1e7` on a 1,000-state task with 5-10 available actions (of 10) per state.",
    "`iterations` = EM iterations (each: the E-step/prior fixed point at the current Q, then one profiled L-BFGS M-step of at most 50 iterations); `evaluations` = objective + gradient evaluations of all M-steps together, each including an exact E-step (a few Newton passes over the units). `ns_per_decision_iter` = fit time / (decisions x EM iterations); `ns_per_decision_eval` = fit time / (decisions x evaluations), which also carries the E-step/prior fixed points between M-steps.",
    "`task_consistency` = correlation of the fitted advantage with the task's over the choice sets (fit$diagnostics).",
    "`units` = distinct (participant, state) pairs: the behaviour term's sufficient statistics.",
    "`raw_mb` = object.size() of the integer-coded data frame (participant, state, action, next_state integer; done logical; reward double). `peak_rss_mb` = maximum resident set size of the child process (`/usr/bin/time -v`), which includes R itself; `base_rss_mb` = its resident memory after loading rlpsy, before reading the data. `peak_over_raw` = peak / raw; `peak_above_base_over_raw` = (peak - base) / raw.",
    "`beta_cor` = correlation of estimated and true log beta (a sanity check of the fit).",
    "`other_load_cores` = average number of cores other processes kept busy while the child ran (from /proc/stat; the machine has 2 and is shared).",
    sprintf("Each child ran under `timeout %g`.", timeout_s)
  )
  write_table(res, "scaling", "Scaling of a full fit with the number of decisions",
              notes = notes)
  res
}

# --- plot ---------------------------------------------------------------------
plot_scaling <- function(res, file) {
  ok <- !is.na(res$fit_s) & (res$problem != "1e4s" | all(res$problem == "1e4s"))
  failed <- is.na(res$fit_s)
  png(file, width = 1000, height = 450, res = 100)
  op <- par(mfrow = c(1, 2), mar = c(4.5, 5, 2.5, 1))
  on.exit({ par(op); dev.off() })
  if (!any(ok)) return(invisible())
  x <- res$decisions[ok]
  y <- res$fit_s[ok]
  xl <- range(c(res$decisions, 1e4, 1e7)) * c(0.6, 1.6)
  ref <- which.max(x >= 1e5)  # linear reference through the 10^5 fit
  yl <- range(c(y, 5, 60, y[ref] * range(x) / x[ref]), na.rm = TRUE) * c(0.8, 1.3)
  plot(x, y, log = "xy", xlim = xl, ylim = yl, pch = 19, type = "b",
       xlab = "decisions", ylab = "fit wall time (s)",
       main = "Full fit, 2 threads", xaxt = "n", yaxt = "n")
  xt <- 10^(3:8)
  axis(1, at = xt, labels = parse(text = paste0("10^", 3:8)))
  yt <- c(0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
  axis(2, at = yt, labels = format(yt, drop0trailing = TRUE, scientific = FALSE, trim = TRUE), las = 1)
  lines(xl, y[ref] * xl / x[ref], lty = 2, col = "grey40")
  points(c(1e6, 1e7), c(5, 60), pch = 4, col = "red", cex = 1.5, lwd = 2)
  text(x, y, paste0(res$iterations[ok], " it., ",
                   if (is.null(res$evaluations)) "" else res$evaluations[ok], " ev."),
       pos = 1, cex = 0.75)
  if (any(failed)) {
    abline(v = res$decisions[failed], col = "red", lty = 3)
    text(res$decisions[failed], yl[2], "not finished", col = "red", pos = 2, cex = 0.8)
  }
  legend("topleft", c("measured (EM iterations, evaluations)", "linear through the 10^5 fit",
                      "targets: 5 s at 10^6, 60 s at 10^7"),
         pch = c(19, NA, 4), lty = c(1, 2, NA), col = c("black", "grey40", "red"),
         bty = "n", cex = 0.85)
  cpe <- if (is.null(res$ns_per_decision_eval)) rep(NA_real_, sum(ok)) else res$ns_per_decision_eval[ok]
  plot(x, cpe, log = "x", xlim = xl, pch = 19, type = "b",
       ylim = c(0, max(cpe, 1, na.rm = TRUE) * 1.2), xlab = "decisions",
       ylab = "ns per decision per evaluation",
       main = "Cost per decision per M-step evaluation", xaxt = "n")
  axis(1, at = xt, labels = parse(text = paste0("10^", 3:8)))
  invisible()
}

if ("--plot-only" %in% commandArgs(TRUE)) {
  res <- utils::read.csv(file.path(results_dir(), "scaling.csv"), stringsAsFactors = FALSE)
} else {
  res <- run_all()
}
plot_scaling(res, file.path(results_dir(), "scaling.png"))
message("wrote ", file.path(results_dir(), "scaling.png"))
