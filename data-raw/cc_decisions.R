# The compact MDP of the PISA 2012 Climate Control item (CP025Q01) built
# from the students' action sequences. Shared by data-raw/pisa_cc.R (the
# shipped subset `pisa_cc`) and bench/realdata.R (the full data); not part of
# the package. Plain base R, no dependencies.
#
# Coding (one decision per logged event after "start"):
# * A slider setting "top_mid_bottom" is compared with the baseline 0_0_0:
#   exactly one slider non-zero = that slider is varied alone; two or three
#   non-zero = several sliders varied at once; all zero (0_0_0) = a return to
#   the baseline, coded like "reset". Repeating a setting is a new decision
#   and is coded the same way (so pressing APPLY again on a one-slider
#   setting counts as varying that slider alone again).
# * State = how many of the three sliders have been varied alone so far in
#   this student's sequence, before the event: "0", "1", "2", "3"; "end" is
#   the terminal state.
# * Actions: "vary_new" (vary alone a slider not yet varied alone; the state
#   goes up by one), "vary_again" (vary alone a slider already varied alone),
#   "vary_several", "reset" (the reset button or setting 0_0_0) and "end"
#   (next state "end", done = TRUE). "vary_new" does not exist in state 3 and
#   "vary_again" not in state 0 (cc_available()).
# * Reward column: 1 for "vary_new" (new information), 0 otherwise (a simple
#   observed reward; leave it out to learn the reward instead).

#' State and action labels of the compact MDP, in order.
cc_states <- c("0", "1", "2", "3", "end")
cc_actions <- c("vary_new", "vary_again", "vary_several", "reset", "end")

#' The compact MDP of the action sequences: one row per event after "start",
#' with columns student, state, action, next_state (factors with the levels
#' above), done and reward.
#' @param seqs named list of character vectors, `cc_data$seqs$action_seqs`.
cc_decisions <- function(seqs) {
  id <- rep(names(seqs), lengths(seqs))
  ev <- unlist(seqs, use.names = FALSE)
  first <- sequence(lengths(seqs)) == 1L
  setting <- !(ev %in% c("start", "reset", "end"))
  m <- matrix(0L, length(ev), 3)
  m[setting, ] <- matrix(as.integer(unlist(strsplit(ev[setting], "_", fixed = TRUE))),
                         ncol = 3, byrow = TRUE)
  nz <- rowSums(m != 0L)
  alone <- setting & nz == 1L
  slider <- ifelse(alone, max.col(m != 0L, ties.method = "first"), 0L)
  before <- after <- matrix(0L, length(ev), 3)
  for (i in 1:3) {
    after[, i] <- stats::ave(as.integer(slider == i), id, FUN = cummax)
    before[, i] <- c(0L, after[-length(ev), i])
    before[first, i] <- 0L
  }
  tested_before <- before[cbind(seq_along(ev), pmax(slider, 1L))] == 1L
  action <- ifelse(ev == "end", "end",
            ifelse(ev == "reset" | (setting & nz == 0L), "reset",
            ifelse(alone & !tested_before, "vary_new",
            ifelse(alone, "vary_again", "vary_several"))))
  state <- as.character(rowSums(before))
  next_state <- ifelse(ev == "end", "end", as.character(rowSums(after)))
  keep <- ev != "start"
  data.frame(student = id[keep], state = factor(state[keep], cc_states),
             action = factor(action[keep], cc_actions),
             next_state = factor(next_state[keep], cc_states),
             done = (ev == "end")[keep],
             reward = as.numeric(action[keep] == "vary_new"),
             stringsAsFactors = FALSE)
}

#' Which actions exist in which state: "vary_new" not in state 3,
#' "vary_again" not in state 0 (and every action in "end", where no decision
#' is logged).
cc_available <- function() {
  av <- matrix(TRUE, length(cc_states), length(cc_actions),
               dimnames = list(cc_states, cc_actions))
  av["3", "vary_new"] <- FALSE
  av["0", "vary_again"] <- FALSE
  av
}
