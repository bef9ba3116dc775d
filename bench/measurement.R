# Measurement quality before and after the task-consistent defaults: recovery
# of beta on simulated tasks and validity and reliability on the real PISA
# data, with the previous release (its default control) and this one.
#
#   Rscript bench/measurement.R [--quick]
#
# Problems (observed reward; 300 participants x 100 decisions, beta =
# exp(N(log 2, 0.5^2)), simulated with rlpsy_simulate() of this release):
#  * grid: rlpsy_gridworld(5, 5, goal = c(5, 5), trap = c(4, 5), slip = 0.1)
#    (step cost 0.04, goal +1, trap -1), gamma = 0.9, tau = 0.05 for the
#    simulation and the fit;
#  * mdp1..mdp3: random 40-state MDPs, 4 actions, 3 next states per
#    (state, action), rewards U(-1, 1) (bench_task(40, 4, seed = 1..3)),
#    gamma = 0.9, tau = 1;
#  * pisa: the PISA 2012 Climate Control item, all 16,763 students, the
#    compact 4-state MDP of data-raw/cc_decisions.R, reward 1 for vary_new,
#    gamma = 0.5, tau = 1, available = cc_available() (vary_new not in
#    state 3, vary_again not in state 0); criterion: the final answer's
#    correctness. Skipped when cc_data.rda is not found (as realdata.R).
# Quick mode: 60 participants x 50 decisions, grid and mdp1 only, every 8th
# PISA student, no split-half.
#
# Fits run in child processes (bench/measurement_child.R): "before" with
# the previous release (RLPSY_BENCH_OLD_LIB, an R library holding it,
# no default; skipped with a note when absent) at its default
# control; "after" with this release (the library R_LIBS selects) at its
# defaults, and with q = "task" and (PISA) normalise = "global"; threads = 2.
#
# Reported per fit: median beta-hat / beta, coverage of the 95% Wald
# interval exp(z +- 1.96 se), cor(log beta-hat, log beta), task consistency
# (correlation of the fitted advantage with the task's over the choice sets
# of visited states: fit$diagnostics$task_consistency for this release; for
# the previous release the same correlation computed here against this
# release's task advantage, over this release's choice sets), fit time; for
# PISA r(log beta, correctness) (cor_validity(fit, crit, scale = "log")),
# Spearman(beta, number of decisions), model reliability var(z) / (var(z) +
# mean(se^2)), odd/even split-half reliability by refit (both halves
# refitted with the same settings, Pearson of log beta, Spearman-Brown; for
# this release also rlpsy_reliability(fit, "split-half", "odd-even")).
# Writes results/measurement.{csv,md}.
source(local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  file.path(if (length(f)) dirname(f[1]) else "bench", "common.R")
}))

quick <- is_quick()
old_lib <- old_release_lib()
new_lib <- dirname(find.package("rlpsy"))
n_part <- if (quick) 60L else 300L
n_per <- if (quick) 50L else 100L

work <- tempfile("rlpsy-measurement-")
dir.create(work)
on.exit(unlink(work, recursive = TRUE), add = TRUE)

# --- problems ------------------------------------------------------------------
sim_problem <- function(name, task, gamma, tau, seed) {
  set.seed(seed)
  beta <- exp(rnorm(n_part, log(2), 0.5))
  names(beta) <- sprintf("p%03d", seq_len(n_part))
  d <- rlpsy_simulate(task, beta, n_per, gamma = gamma, tau = tau)
  list(name = name, data = d, gamma = gamma, tau = tau, available = NULL,
       beta = beta, criterion = NULL, split_half = FALSE, variants = FALSE)
}
problems <- list(
  sim_problem("grid", rlpsy_gridworld(5, 5, goal = c(5, 5), trap = c(4, 5), slip = 0.1),
              gamma = 0.9, tau = 0.05, seed = 101))
for (k in if (quick) 1L else 1:3) {
  problems[[length(problems) + 1L]] <-
    sim_problem(paste0("mdp", k), bench_task(40, 4, branching = 3, seed = k),
                gamma = 0.9, tau = 1, seed = 200 + k)
}
pisa_path <- pisa_cc_path()
if (!is.na(pisa_path)) {
  source(file.path(BENCH_DIR, "..", "data-raw", "cc_decisions.R"))
  env <- new.env()
  load(pisa_path, envir = env)
  seqs <- env$cc_data$seqs$action_seqs
  if (quick) seqs <- seqs[seq(1, length(seqs), by = 8)]
  dec <- cc_decisions(seqs)
  names(dec)[names(dec) == "student"] <- "participant"
  problems[[length(problems) + 1L]] <- list(
    name = "pisa", data = dec, gamma = 0.5, tau = 1, available = cc_available(),
    beta = NULL, criterion = env$cc_data$responses, split_half = !quick,
    variants = TRUE)
}
for (i in seq_along(problems)) {
  saveRDS(problems[[i]], file.path(work, sprintf("problem-%d-%s.rds", i, problems[[i]]$name)))
}

# --- fits ----------------------------------------------------------------------
run_child <- function(which, lib) {
  message("measurement: fits with the ", which, " release (", lib, ")")
  libs <- paste(c(lib, .libPaths()), collapse = ":")
  status <- system2(rscript(), c(file.path(BENCH_DIR, "measurement_child.R"), work, which),
                    env = paste0("R_LIBS=", libs))
  f <- file.path(work, paste0("fits-", which, ".rds"))
  if (status != 0 || !file.exists(f)) {
    message("measurement: the ", which, " fits failed (exit status ", status, ")")
    return(list())
  }
  readRDS(f)
}
has_old <- nzchar(old_lib) && dir.exists(file.path(old_lib, "rlpsy"))
fits <- c(if (has_old) run_child("old", old_lib), run_child("new", new_lib))

# --- measures ------------------------------------------------------------------
find_fit <- function(problem, release, variant) {
  for (f in fits) if (f$problem == problem && f$release == release && f$variant == variant) return(f)
  NULL
}
spearman_brown <- function(r) 2 * r / (1 + r)
measure <- function(f) {
  p <- Filter(function(p) p$name == f$problem, problems)[[1]]
  ref <- find_fit(f$problem, "new", "default")
  task <- find_fit(f$problem, "new", "q_task")
  consistency <- f$task_consistency
  if (is.na(consistency) && !is.null(ref) && !is.null(task)) {
    visited <- seq_len(nrow(ref$available)) %in% (unique(match(p$data$state, rownames(ref$advantage))))
    ok <- ref$available & visited
    A <- f$advantage[rownames(ref$advantage), colnames(ref$advantage)]
    consistency <- stats::cor(task$advantage[ok], A[ok])
  }
  row <- data.frame(
    problem = f$problem, release = if (f$release == "old") "before (previous release)" else "after",
    variant = switch(f$variant, default = "default", q_task = "q = \"task\"",
                     global = "normalise = \"global\""),
    participants = length(f$z), decisions = sum(f$n_decisions),
    median_ratio = NA_real_, coverage_95 = NA_real_, cor_log = NA_real_,
    task_consistency = consistency, validity_r_log = NA_real_,
    validity_lower = NA_real_, validity_upper = NA_real_,
    spearman_beta_n = if (stats::sd(f$n_decisions) > 0)
      stats::cor(f$z, f$n_decisions, method = "spearman") else NA_real_,
    model_reliability = { v <- stats::var(f$z); v / (v + mean(f$se^2)) },
    split_half = NA_real_, split_half_fn = NA_real_,
    fit_s = f$time, split_half_s = NA_real_, iterations = f$iterations,
    evaluations = f$evaluations, converged = f$converged,
    lambda_bell_effective = if (is.null(f$settings)) NA_real_ else f$settings$lambda_bell,
    warnings = if (length(f$warnings)) paste(unique(f$warnings), collapse = " | ") else "",
    stringsAsFactors = FALSE)
  if (!is.null(p$beta)) {
    b <- p$beta[names(f$z)]
    row$median_ratio <- stats::median(exp(f$z) / b)
    row$coverage_95 <- mean(f$z - 1.96 * f$se <= log(b) & log(b) <= f$z + 1.96 * f$se)
    row$cor_log <- stats::cor(f$z, log(b))
  }
  if (!is.null(f$validity)) {
    row$validity_r_log <- f$validity$r
    row$validity_lower <- f$validity$lower
    row$validity_upper <- f$validity$upper
  }
  if (!is.null(f$halves)) {
    row$split_half <- spearman_brown(stats::cor(f$halves$z1, f$halves$z2))
    row$split_half_s <- f$halves$time
  }
  if (!is.null(f$reliability_fn)) row$split_half_fn <- f$reliability_fn$value
  row
}
res <- do.call(rbind, lapply(fits, measure))
res <- res[order(match(res$problem, vapply(problems, `[[`, "", "name")),
                 res$release != "before (previous release)", res$variant != "default"), ]
rownames(res) <- NULL

# --- targets -------------------------------------------------------------------
sim <- res[!is.na(res$median_ratio), ]
pisa <- res[res$problem == "pisa", ]
holds <- function(ok) ifelse(is.na(ok), "NA", ifelse(ok, "yes", "no"))
target_lines <- c(
  if (nrow(sim)) sprintf("Recovery targets (median ratio within 3%% of 1, coverage in [0.93, 0.97]): %s.",
    paste(sprintf("%s %s%s: ratio %.3f (%s), coverage %.3f (%s)", sim$problem,
                  ifelse(grepl("before", sim$release), "before", "after"),
                  ifelse(sim$variant == "default", "", paste0(", ", sim$variant)),
                  sim$median_ratio, holds(abs(sim$median_ratio - 1) <= 0.03),
                  sim$coverage_95, holds(sim$coverage_95 >= 0.93 & sim$coverage_95 <= 0.97)),
          collapse = "; ")),
  if (nrow(pisa)) sprintf("PISA targets (consistency >= 0.99, r >= 0.40, split-half >= 0.55): %s.",
    paste(sprintf("%s%s: consistency %.4f (%s), r %.3f (%s), split-half %.3f (%s)",
                  ifelse(grepl("before", pisa$release), "before", "after"),
                  ifelse(pisa$variant == "default", "", paste0(", ", pisa$variant)),
                  pisa$task_consistency, holds(pisa$task_consistency >= 0.99),
                  pisa$validity_r_log, holds(pisa$validity_r_log >= 0.40),
                  pisa$split_half, holds(pisa$split_half >= 0.55)), collapse = "; ")))

write_table(res, "measurement", "Measurement quality before and after the task-consistent defaults",
  notes = c(
    target_lines,
    sprintf("Before: the previous release (%s) at its default control (observed reward: lambda_bell = 1 per decision on the raw scale, lambda_cql = 0.5, Q from the pooled choice frequencies, plain GEM). After: this release (%s) at its defaults (lambda_bell = 1000 value units, lambda_cql = 0, Q starts at the task's values, profiled M-step), and with q = \"task\" (Q fixed at the task's values) and, for PISA, normalise = \"global\". threads = 2; every fit from scratch.%s",
            if (has_old) "RLPSY_BENCH_OLD_LIB" else "not found: no before rows",
            "the library R_LIBS selects",
            if (quick) " Quick mode: 60 participants x 50 decisions, grid and mdp1, every 8th PISA student, no split-half." else ""),
    "Simulated problems: 300 participants x 100 decisions, log beta ~ N(log 2, 0.5^2); grid = rlpsy_gridworld(5, 5, goal (5, 5), trap (4, 5), slip 0.1), gamma 0.9, tau 0.05 (simulation and fit); mdp1-3 = random 40-state MDPs (4 actions, 3 next states, rewards U(-1, 1); bench_task(40, 4, seed = 1..3)), gamma 0.9, tau 1. `median_ratio` = median beta-hat / beta; `coverage_95` = share of true beta inside exp(z +- 1.96 se); `cor_log` = cor(log beta-hat, log beta).",
    "`task_consistency`: this release's fits report fit$diagnostics$task_consistency (correlation of the fitted with the task's advantage over the choice sets of visited states); for the previous release the same correlation is computed here against this release's task advantage (its q = \"task\" fit) over this release's choice sets.",
    "PISA: compact MDP (data-raw/cc_decisions.R), reward 1 for vary_new, gamma 0.5, tau 1, cc_available(); `validity_r_log` = cor_validity(fit, correctness, scale = \"log\") (Pearson, with its 95% interval); `spearman_beta_n` = Spearman correlation of beta with the number of decisions; `model_reliability` = var(z) / (var(z) + mean(se^2)); `split_half` = odd/even split (by position within the student's logged decisions), both halves refitted with the same release and settings, Pearson of log beta, Spearman-Brown (the previous release has no rlpsy_reliability()); `split_half_fn` = rlpsy_reliability(fit, \"split-half\", \"odd-even\") of this release (should equal split_half); `split_half_s` = time of the two refits.",
    "`lambda_bell_effective` = fit$settings$lambda_bell, the weight the core uses (lambda_bell / value unit^2)."))
