# Why mini-batch EM was removed: the previous release's mini-batch phase
# against full-batch fits, at 10^6 decisions.
#
#   Rscript bench/minibatch.R [--quick]
#
# Problem `1e6` (10,000 participants x 100 decisions, 500 states, 5 actions,
# observed reward, gamma = 0.9; quick mode: `1e4s`). Three fits, each in a
# fresh child process (bench/minibatch_child.R), one after another:
#  * old full: the previous release (RLPSY_BENCH_OLD_LIB, an R library
#    holding it; without it those rows say so) at its default control;
#  * old mini-batch: the same release with control minibatch = 0.1 (10% of
#    the participants per batch), minibatch_epochs = 3, seed = 1, i.e. its
#    mini-batch phase followed by its full-batch EM;
#  * new full: this release (the library R_LIBS selects) at its defaults.
# Reported: the time to bring the previous release's objective within 1e-4
# (relative) of its full-batch optimum (the final objective of "old full"),
# with and without the mini-batch phase, and the new full-batch fit's time.
# The two releases minimise different objectives (the Bellman term and its
# weight changed), so only times are compared across releases. Without the
# old library the table says so. Writes results/minibatch.{csv,md}.
source(local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  file.path(if (length(f)) dirname(f[1]) else "bench", "common.R")
}))

quick <- is_quick()
label <- if (quick) "1e4s" else "1e6"
old_lib <- old_release_lib()
new_lib <- dirname(find.package("rlpsy"))
rel_tol <- 1e-4

work <- tempfile("rlpsy-minibatch-")
dir.create(work)
on.exit(unlink(work, recursive = TRUE), add = TRUE)
pfile <- file.path(work, "problem.rds")
saveRDS(bench_problem(label), pfile, compress = FALSE)

run_child <- function(mode, lib) {
  out <- file.path(work, paste0(mode, ".rds"))
  message("minibatch: ", mode, " (", lib, ")")
  libs <- paste(c(lib, .libPaths()), collapse = ":")
  status <- system2(rscript(), c(file.path(BENCH_DIR, "minibatch_child.R"), pfile, out, mode),
                    env = paste0("R_LIBS=", libs))
  if (status != 0 || !file.exists(out)) return(NULL)
  readRDS(out)
}

res <- list()
if (nzchar(old_lib) && dir.exists(file.path(old_lib, "rlpsy"))) {
  res$old_full <- run_child("old-full", old_lib)
  res$old_mb <- run_child("old-minibatch", old_lib)
}
res$new_full <- run_child("new-full", new_lib)

time_to <- function(r, target, start_s = 0) {
  if (is.null(r)) return(NA_real_)
  if (!is.null(r$after_minibatch) && r$after_minibatch <= target) return(start_s)
  hit <- which(r$trace$total <= target)
  if (!length(hit)) return(NA_real_)
  start_s + cumsum(r$trace$time)[hit[1]]
}
row <- function(what, r, target, note) {
  if (is.null(r)) {
    return(data.frame(fit = what, library = NA, minibatch_phase_s = NA,
                      gap_after_minibatch = NA, time_to_target_s = NA, total_s = NA,
                      em_iterations = NA, evaluations = NA, converged = NA,
                      final_objective = NA, note = "not run (library missing or fit failed)",
                      stringsAsFactors = FALSE))
  }
  data.frame(fit = what, library = if (identical(r$lib, old_lib)) "RLPSY_BENCH_OLD_LIB" else
               "R_LIBS", minibatch_phase_s = r$minibatch_s,
             gap_after_minibatch = if (is.null(r$after_minibatch)) NA_real_ else
               (r$after_minibatch - target / (1 + rel_tol)) / abs(target / (1 + rel_tol)),
             time_to_target_s = time_to(r, target, r$minibatch_s), total_s = r$fit_s,
             em_iterations = r$iterations, evaluations = r$evaluations,
             converged = r$converged, final_objective = r$final, note = note,
             stringsAsFactors = FALSE)
}
J_old <- if (!is.null(res$old_full)) res$old_full$final else NA_real_
target_old <- J_old * (1 + rel_tol)
tab <- rbind(
  row("previous release, full-batch EM (default control)", res$old_full, target_old,
      "target: its own final objective"),
  row("previous release, mini-batch phase (minibatch = 0.1, 3 epochs) + full-batch EM",
      res$old_mb, target_old, "target: the full-batch fit's final objective"),
  row("this release, profiled full-batch fit (default control)", res$new_full,
      if (is.null(res$new_full)) NA else res$new_full$final * (1 + rel_tol),
      "target: its own final objective (a different objective: only the time compares)"))

sentence <- if (all(!is.na(tab$total_s))) sprintf(
  "Mini-batch EM was removed: at %s decisions the previous release's mini-batch phase (control minibatch = 0.1, 3 epochs) took %.1f s and left the objective %.2g (relative) above the full-batch optimum; with the full-batch EM that must follow it, it reached the optimum within 1e-4 relative after %.1f s in all (%.1f s to finish), against %.1f s for that release's plain full-batch fit (%.1f s to finish) and %.1f s for this release's profiled full-batch fit (%d evaluations, each a full pass with the E-step).",
  format(nrow(readRDS(pfile)$data), big.mark = ","), tab$minibatch_phase_s[2],
  tab$gap_after_minibatch[2], tab$time_to_target_s[2], tab$total_s[2],
  tab$time_to_target_s[1], tab$total_s[1], tab$total_s[3], tab$evaluations[3]) else
  "Not all fits ran; see the table."
write_table(tab, "minibatch", "Mini-batch EM (removed) against full-batch fits",
  notes = c(sentence,
    sprintf("Problem `%s` (bench_problem()), observed reward, gamma = 0.9, threads = 2; every fit in a fresh R process, one after another. Previous release from the library RLPSY_BENCH_OLD_LIB names.", label),
    "`time_to_target_s`: seconds until the EM trace's objective first came within 1e-4 (relative) of the target (for the mini-batch run: the mini-batch phase plus the full-batch EM iterations after it); `gap_after_minibatch`: relative excess of the objective after the mini-batch phase (at the E-step and prior update that follow it) over the full-batch fit's final objective; `total_s`: the whole fit; `evaluations`: objective + gradient evaluations of the full-batch M-steps (the mini-batch phase's are not counted).",
    "The mini-batch phase's own M-steps pass over all Bellman tuples and the batch's units each iteration; with 10% batches and 3 epochs that is 30 E-steps on 10% of the participants and 30 M-steps of up to 10 L-BFGS iterations each."))
