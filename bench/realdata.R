# Real data: the PISA 2012 Climate Control item (shared/data/pisa-cc).
#
#   Rscript bench/realdata.R [--quick]
#
# Builds the compact MDP that shared/data/pisa-cc/README.md describes from
# the students' action sequences, fits it, and correlates beta with the
# correctness of the student's final answer (cor_validity(), Pearson and
# Spearman). Skips cleanly (writes a note) when the data file is absent.
# The data are found at RLPSY_PISA_CC, or ../shared/data/pisa-cc/cc_data.rda
# relative to the package root, or /work/shared/data/pisa-cc/cc_data.rda.
# Quick mode uses every 8th student. Writes results/realdata.{csv,md}.
#
# Coding: see data-raw/cc_decisions.R (cc_decisions(), cc_available()),
# which data-raw/pisa_cc.R also uses to build the shipped subset `pisa_cc`.
# Reward: learned (inverse RL, reward = NULL) in the main fit; a second
# fit uses a simple observed reward, 1 for "vary_new" (new information)
# and 0 otherwise. gamma = 0.9, default control with threads = 2.
source(local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  file.path(if (length(f)) dirname(f[1]) else "bench", "common.R")
}))

quick <- is_quick()
candidates <- c(Sys.getenv("RLPSY_PISA_CC"),
                file.path(BENCH_DIR, "..", "..", "shared", "data", "pisa-cc", "cc_data.rda"),
                "/work/shared/data/pisa-cc/cc_data.rda")
path <- candidates[nzchar(candidates) & file.exists(candidates)][1]
if (is.na(path)) {
  write_table(data.frame(status = "skipped: cc_data.rda not found"), "realdata",
              "Real data: PISA 2012 Climate Control",
              notes = paste("Looked for:", paste(candidates[nzchar(candidates)], collapse = ", ")))
  quit(save = "no")
}

source(file.path(BENCH_DIR, "..", "data-raw", "cc_decisions.R"))

env <- new.env()
load(path, envir = env)
cc <- env$cc_data
seqs <- cc$seqs$action_seqs
if (quick) seqs <- seqs[seq(1, length(seqs), by = 8)]
t_build <- system.time(dec <- cc_decisions(seqs))[["elapsed"]]
av <- cc_available()

fit_one <- function(reward) {
  enc <- rlpsy_data(dec, "student", "state", "action", "next_state", done = "done",
                    reward = reward, available = av)
  warn <- character()
  t <- system.time(fit <- withCallingHandlers(
    rlpsy_fit(enc, gamma = 0.9, control = rlpsy_control(threads = 2)),
    warning = function(w) {
      warn <<- c(warn, conditionMessage(w))
      invokeRestart("muffleWarning")
    }))[["elapsed"]]
  v <- function(method, scale = "beta") {
    crit <- cc$responses[names(cc$responses) %in% enc$participants]
    as.data.frame(cor_validity(fit, crit, method = method, scale = scale))
  }
  vp <- v("pearson")
  vpl <- v("pearson", "log")
  vs <- v("spearman")
  data.frame(
    reward = if (is.null(reward)) "learned (tanh(w), inverse RL)" else "observed: 1 for vary_new, else 0",
    students = enc$n_participants, decisions = enc$n_decisions,
    fit_s = t, iterations = fit$iterations, converged = fit$converged,
    mu = fit$prior[["mu"]], sigma = fit$prior[["sigma"]],
    median_beta = stats::median(fit$beta),
    n_matched = vp$n, pearson_r = vp$r, pearson_lower = vp$lower,
    pearson_upper = vp$upper, pearson_log_r = vpl$r, spearman_r = vs$r,
    spearman_lower = vs$lower, spearman_upper = vs$upper,
    warnings = if (length(warn)) paste(warn, collapse = " | ") else "",
    stringsAsFactors = FALSE)
}

res <- rbind(fit_one(NULL), fit_one("reward"))
res$build_mdp_s <- t_build
tab <- table(dec$state, dec$action)
write_table(res, "realdata", "Real data: PISA 2012 Climate Control (CP025Q01)",
  notes = c(
    sprintf("Data: %s%s; %s students, %s decisions (events after \"start\"); building the MDP took %.2f s.",
            path, if (quick) " (quick mode: every 8th student)" else "",
            format(length(seqs), big.mark = ","), format(nrow(dec), big.mark = ","), t_build),
    "MDP: state = number of sliders varied alone so far (0-3), terminal \"end\"; actions vary_new, vary_again, vary_several, reset (button or setting 0_0_0), end. A setting counts as varying a slider alone when exactly that slider differs from the baseline 0_0_0. See data-raw/cc_decisions.R.",
    paste0("Decisions by state (rows) and action: ",
           paste(apply(tab, 1, function(r) paste(paste0(names(r), "=", r), collapse = " ")),
                 rownames(tab), sep = " in state ", collapse = "; "), "."),
    "Fit: rlpsy_fit(gamma = 0.9, rlpsy_control(threads = 2)). Validity: cor_validity(fit, cc_data$responses) with the final answer's correctness (0/1): Pearson on beta (and on log beta), Spearman; 95% intervals (Fisher; Bonett-Wright for Spearman)."))
