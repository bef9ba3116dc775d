# Identification diagnostics of a fit: does the fitted advantage agree with
# the task's, do the data identify it, does the entropy bonus swamp the
# reward? Computed once when the fit is built; summary() prints them and one
# warning of class rlpsy_warning_identification names what needs attention.

#' Identification diagnostics of a fit
#' @return a list: task_consistency (correlation of the fitted and the task's
#'   advantage over the choice sets of visited states; NA without task
#'   values), cor_beta_decisions (Spearman correlation of beta with the
#'   number of decisions), flat_states (data frame state, spread: states
#'   whose task values hardly differ, spread relative to the value unit),
#'   entropy_ratio (tau log K / (1 - gamma) over the reward range, when some
#'   decisions end an episode; > 1 means the entropy bonus of going on can
#'   outweigh any reward, so ending is never worth it), never_taken (data frame of the
#'   (state, action) pairs left out of the choice sets),
#'   available_given (whether `available` restricted any action) and
#'   collapsed_states (data frame state, rms: see collapsed_states()).
#' @noRd
diagnose <- function(fit, prep) {
  enc <- fit$data
  n_s <- tabulate(enc$state + 1L, enc$n_states)
  visited <- n_s > 0
  out <- list(task_consistency = NA_real_, flat_states = empty_flat(),
              entropy_ratio = NA_real_, never_taken = prep$never_taken,
              available_given = prep$available_given,
              collapsed_states = collapsed_states(fit, visited),
              cor_beta_decisions = if (is.matrix(fit$z))
                rank_cor(fit$participants$z, fit$participants$n_decisions) else
                rank_cor(fit$z, diff(enc$offsets)))
  if (is.null(prep$task_Q)) return(out)
  At <- identified_advantage(prep$task_Q, enc$available, fit$settings$eps,
                             if (fit$normalise == "global") visited | enc$n_decisions == 0)
  ok <- enc$available & visited
  out$task_consistency <- plain_cor(At[ok], unclass(fit$advantage)[ok])
  out$flat_states <- flat_states(prep$task_Q, enc, prep$unit, fit$control$flat_tol, n_s)
  if (!is.null(enc$reward) && max(enc$done, 0L) > 0L) {  # (no N-long temporary)
    range_r <- diff(range(enc$reward))
    K <- max(rowSums(enc$available[visited, , drop = FALSE]))
    out$entropy_ratio <- fit$tau * log(K) / (1 - fit$gamma) / max(range_r, 1e-300)
  }
  out
}

empty_flat <- function() data.frame(state = character(), spread = numeric())

#' Visited states whose fitted values collapsed to a near-tie: the
#' identified advantage is c / sqrt(mean c^2 + eps), so its root mean square
#' over the choice set is 1 unless the fitted values' own spread falls to
#' about sqrt(eps). The behaviour term can prefer that (near-uniform
#' predictions in a state whose choices disagree with every unit-RMS
#' advantage the penalties allow), which a weak Bellman weight or a learned
#' reward makes cheap. Such a state barely informs beta, and the objective's
#' curvature there is extreme (it slows the fit and defeats the sandwich).
#' Per-state normalisation only (with global normalisation a state's RMS
#' differs from 1 by design).
#' @param visited logical, the states with decisions
#' @return data frame state, rms (states with at least two actions and an
#'   RMS below 0.99)
#' @noRd
collapsed_states <- function(fit, visited) {
  enc <- fit$data
  none <- data.frame(state = character(), rms = numeric())
  if (!identical(fit$normalise, "state")) return(none)
  av <- enc$available
  A <- unclass(fit$advantage)
  k <- rowSums(av)
  rms <- sqrt(rowSums(A^2) / pmax(k, 1L))  # A is 0 outside the choice sets
  bad <- visited & k > 1L & rms < 0.99
  data.frame(state = enc$states[bad], rms = rms[bad], stringsAsFactors = FALSE)
}

#' Pearson correlation, NA when either side is constant
#' @noRd
plain_cor <- function(x, y) {
  if (length(x) < 2L || stats::sd(x) == 0 || stats::sd(y) == 0) return(NA_real_)
  stats::cor(x, y)
}

#' Spearman correlation, NA when either side is constant
#' @noRd
rank_cor <- function(x, y) {
  if (length(x) < 3L || stats::sd(x) == 0 || stats::sd(y) == 0) return(NA_real_)
  stats::cor(x, y, method = "spearman")
}

#' Visited states whose task values hardly differ: the RMS of the centred
#' values over the choice set, relative to the value unit, below `tol`.
#' @noRd
flat_states <- function(Q, enc, unit, tol, n_s = tabulate(enc$state + 1L, enc$n_states)) {
  spread <- state_spread(Q, enc$available) / unit
  flat <- n_s > 0 & rowSums(enc$available) > 1L & spread < tol
  data.frame(state = enc$states[flat], spread = spread[flat],
             stringsAsFactors = FALSE)
}

#' One warning (class rlpsy_warning_identification) naming each problem the
#' diagnostics found and its remedy; `participants` is the message about
#' participants whose beta the data cannot identify (see
#' mark_not_identified()), or NULL
#' @noRd
warn_identification <- function(d, participants = NULL) {
  msg <- participants
  if (isTRUE(d$task_consistency < 0.99)) {
    msg <- c(msg, sprintf(paste0(
      "The fitted advantage departs from the task's (task consistency %.3f < 0.99): ",
      "beta then also measures agreement with the crowd's choices. Raise ",
      "`lambda_bell` in rlpsy_control() or use q = \"task\"."), d$task_consistency))
  }
  if (nrow(d$flat_states)) {
    msg <- c(msg, paste0(
      "In ", nrow(d$flat_states), " state(s) the task's values hardly differ ",
      "(spread below ", "flat_tol of the value unit): ", show_values(d$flat_states$state),
      ". Per-state normalisation gives them full weight; use normalise = \"global\" ",
      "to weigh states by their stakes, or rlpsy_control(flat_states = \"drop\") ",
      "to leave them out of the behaviour term."))
  }
  if (NROW(d$collapsed_states)) {
    msg <- c(msg, paste0(
      "In ", nrow(d$collapsed_states), " state(s) the fitted values collapsed to a ",
      "near-tie (advantage RMS below 0.99 of its unit): ",
      show_values(d$collapsed_states$state), ". There the model predicts ",
      "near-uniform choice, so these decisions barely inform beta: the choices ",
      "disagree with every advantage the penalties allow, and the penalties hold ",
      "Q weakly there. Raise `lambda_bell` in rlpsy_control(), or give the reward."))
  }
  if (isTRUE(d$entropy_ratio > 1)) {
    msg <- c(msg, sprintf(paste0(
      "The entropy bonus of the soft value, tau log K / (1 - gamma), is %.3g times ",
      "the range of the rewards, so acting at random can be worth more than any ",
      "reward; use a smaller `tau` or rescale the reward."), d$entropy_ratio))
  }
  if (isTRUE(d$available_given) && nrow(d$never_taken)) {
    msg <- c(msg, paste0(
      nrow(d$never_taken), " available (state, action) pair(s) were never taken, ",
      "so the data cannot value them and they are left out of the choice sets: ",
      show_values(paste0(d$never_taken$state, ":", d$never_taken$action)),
      ". Give the task (q = \"task\", task = ) to value them."))
  }
  if (length(msg)) rlpsy_warn(paste(msg, collapse = "\n"), class = "identification")
}
