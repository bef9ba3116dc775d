# Real data: the PISA 2012 Climate Control item (shared/data/pisa-cc).
#
#   Rscript bench/realdata.R [--quick]
#
# Builds the compact MDP that shared/data/pisa-cc/README.md describes from
# the students' action sequences, fits it, and correlates beta with the
# correctness of the student's final answer (cor_validity(), Pearson and
# Spearman). Skips cleanly (writes a note) when the data file is absent.
# The data are found at RLPSY_PISA_CC, or ../shared/data/pisa-cc/cc_data.rda
# relative to the package root (pisa_cc_path() in common.R).
# Quick mode uses every 8th student. Writes results/realdata.{csv,md}.
#
# Coding: see data-raw/cc_decisions.R (cc_decisions(), cc_available()),
# which data-raw/pisa_cc.R also uses to build the shipped subset `pisa_cc`.
# Reward: learned (inverse RL, reward = NULL) in the main fit; a second
# fit uses a simple observed reward, 1 for "vary_new" (new information)
# and 0 otherwise. gamma = 0.9, default control with threads = 2.
#
# Third fit, the raw coding (cc_raw_decisions() below; performance issue):
# state = the current slider setting "top_mid_bottom" (125 settings; the
# item starts at the baseline 0_0_0, so the first decision after "start"
# is made in 0_0_0), action = the setting applied next (125 settings; the
# reset button returns the sliders to 0_0_0 and is coded as the action
# "0_0_0"; pressing APPLY on the current setting is the action of staying)
# or "end" (terminal state "end"). Next state = the setting applied.
# Reward (observed, per decision): 1 when the applied setting moves exactly
# one slider away from the baseline (the other two at 0) and that slider had
# not been varied alone before in the student's sequence (the compact
# coding's vary_new), else 0; it depends on the history, not only on
# (state, action), so the fit's Bellman term uses each pair's mean reward.
# All 126 actions are available everywhere (available = NULL); the fit's
# choice sets are the actions taken in each state. gamma = 0.5 and tau = 1
# (the design of the measurement issue), default control, threads = 2.
source(local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  file.path(if (length(f)) dirname(f[1]) else "bench", "common.R")
}))

quick <- is_quick()
path <- pisa_cc_path()
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

#' The raw coding of the action sequences (see the header): one row per
#' event after "start", columns student, state, action, next_state
#' (characters), done and reward.
cc_raw_decisions <- function(seqs) {
  id <- rep(names(seqs), lengths(seqs))
  ev <- unlist(seqs, use.names = FALSE)
  first <- sequence(lengths(seqs)) == 1L
  setting <- ifelse(ev %in% c("start", "reset"), "0_0_0", ev)  # what the sliders show after the event
  before <- c("0_0_0", setting[-length(ev)])
  before[first] <- "0_0_0"
  compact <- cc_decisions(seqs)  # same events, same order: its vary_new is the reward
  keep <- ev != "start"
  stopifnot(sum(keep) == nrow(compact))
  data.frame(student = id[keep], state = before[keep],
             action = ifelse(ev[keep] == "end", "end", setting[keep]),
             next_state = ifelse(ev[keep] == "end", "end", setting[keep]),
             done = ev[keep] == "end", reward = compact$reward,
             stringsAsFactors = FALSE)
}

fit_one <- function(reward, data = dec, available = av, gamma = 0.9,
                    coding = "compact") {
  enc <- rlpsy_data(data, "student", "state", "action", "next_state", done = "done",
                    reward = reward, available = available)
  warn <- character()
  t <- system.time(fit <- withCallingHandlers(
    rlpsy_fit(enc, gamma = gamma, control = rlpsy_control(threads = 2)),
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
    coding = coding, states = enc$n_states, actions = enc$n_actions,
    gamma = gamma, evaluations = sum(fit$trace$mstep_evals),
    task_consistency = fit$diagnostics$task_consistency,
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

t_build_raw <- system.time(raw <- cc_raw_decisions(seqs))[["elapsed"]]
res <- rbind(fit_one(NULL), fit_one("reward"),
             fit_one("reward", raw, NULL, gamma = 0.5, coding = "raw (slider settings)"))
res$reward[3] <- "observed: 1 for varying an untested slider alone, else 0"
res$build_mdp_s <- c(t_build, t_build, t_build_raw)
tab <- table(dec$state, dec$action)
write_table(res, "realdata", "Real data: PISA 2012 Climate Control (CP025Q01)",
  notes = c(
    sprintf("Data: %s%s; %s students, %s decisions (events after \"start\"); building the MDP took %.2f s.",
            attr(path, "shown"), if (quick) " (quick mode: every 8th student)" else "",
            format(length(seqs), big.mark = ","), format(nrow(dec), big.mark = ","), t_build),
    "MDP: state = number of sliders varied alone so far (0-3), terminal \"end\"; actions vary_new, vary_again, vary_several, reset (button or setting 0_0_0), end. A setting counts as varying a slider alone when exactly that slider differs from the baseline 0_0_0. See data-raw/cc_decisions.R.",
    paste0("Decisions by state (rows) and action: ",
           paste(apply(tab, 1, function(r) paste(paste0(names(r), "=", r), collapse = " ")),
                 rownames(tab), sep = " in state ", collapse = "; "), "."),
    sprintf("Raw coding (third row; see the script's header): state = current slider setting (%d of 125 settings occur, plus terminal \"end\"), action = the setting applied next (reset = back to 0_0_0) or end, %d actions in all; reward 1 for varying an untested slider alone; gamma = 0.5, tau = 1, default control; %s decisions. Performance target: fit <= 10 s.",
            length(unique(raw$state)), length(unique(raw$action)),
            format(nrow(raw), big.mark = ",")),
    "Fit: rlpsy_fit(gamma = 0.9 for the compact coding, 0.5 for the raw one; rlpsy_control(threads = 2), defaults otherwise: observed reward lambda_bell = 1000 value units, lambda_cql = 0; learned 1 and 0.05). `evaluations`: objective + gradient evaluations of the profiled M-steps. `task_consistency`: fit$diagnostics (NA with a learned reward). Validity: cor_validity(fit, cc_data$responses) with the final answer's correctness (0/1): Pearson on beta (and on log beta), Spearman; 95% intervals (Fisher; Bonett-Wright for Spearman)."))
