# predict() for rlpsy_fit: choice probabilities and most probable actions
# for decisions, scores of (new) participants with Q and the prior fixed,
# and the labelled value, advantage and reward tables.

#' Predictions from a fitted RL psychometric model
#'
#' Choice probabilities and most probable actions for decisions, scores
#' (\eqn{\beta}) for the fit's or new participants, and the fitted task
#' quantities.
#'
#' @section Types:
#' * `"prob"`: the policy \eqn{\pi(a \mid s, \hat\beta_j) =
#'   \mathrm{softmax}_a(\hat\beta_j A(s, a))} of each decision: a matrix
#'   with one row per row of `newdata` (or, without `newdata`, per decision
#'   of the fitted data, in the original row order) and one column per
#'   action (column names: the action labels). Rows sum to 1; unavailable
#'   actions have probability 0. `newdata` needs the participant and state
#'   columns (with the names used in the fit), and its participants must be
#'   in the fit.
#' * `"action"`: the most probable action of each of those rows, a factor
#'   with the action labels as levels (ties go to the first action in label
#'   order). Since \eqn{\beta_j > 0} it is the action with the largest
#'   advantage.
#' * `"beta"`: participant scores. Without `newdata`, the fit's own
#'   estimates. With `newdata` (decisions in the format of the fitted data:
#'   participant, state and action columns; others are ignored), every
#'   participant in `newdata`, new ones included, is scored from those
#'   decisions alone with the fitted \eqn{Q} and prior held fixed: the
#'   posterior mode of \eqn{z = \log\beta} and its standard error, exactly
#'   as the E-step of [rlpsy_fit()] does. Scoring the fitted data again
#'   reproduces `coef(fit)`. A data frame with one row per participant
#'   (ordered as [rlpsy_data()] orders participants) and columns
#'   `participant`, `beta`, `z`, `se` (SE of `z`), `lower`, `upper` (the
#'   interval for \eqn{\beta} at `level`, as in [confint.rlpsy_fit()]),
#'   `n_decisions` and `status` (the E-step status: `converged`,
#'   `max_iter`, `non_finite` or `stalled`).
#' * `"q"`: the fitted \eqn{Q}, a states x actions matrix labelled by state
#'   and action; `NA` for unavailable actions.
#' * `"advantage"`: the identified advantage \eqn{A} (per state centred and
#'   scaled to unit root-mean-square over the available actions), the same
#'   layout; `NA` for unavailable actions.
#' * `"value"`: the soft value \eqn{V(s) = \tau \log\sum_a e^{Q(s, a)/\tau}},
#'   a vector named by state.
#' * `"reward"`: when the reward was learned, \eqn{r(s, a) = \tanh(w_{sa})};
#'   when it was observed, the mean observed reward of each (state, action)
#'   over the fitted decisions (over their next states, too), `NA` where the
#'   pair was never chosen. Same layout as `"q"`; `NA` for unavailable
#'   actions.
#'
#' For `"q"`, `"advantage"`, `"value"` and `"reward"`, `newdata` is not
#' needed and is ignored.
#'
#' @param object an `rlpsy_fit` object.
#' @param newdata `NULL` (use the fitted data) or a data frame of decisions
#'   with the column names used in the fit; see "Types".
#' @param type what to predict; see "Types".
#' @param level the confidence level of the intervals of `type = "beta"`,
#'   strictly between 0 and 1.
#' @param ... not used.
#' @return See "Types".
#' @section Errors and warnings: An error of class `rlpsy_error_input` when `type` is
#'   not one of the allowed values; when `newdata` is not a data frame,
#'   lacks a needed column or has a column of the wrong type or with missing
#'   values; when it has states or actions that were not in the fitted data
#'   (the message names them); for `"prob"` and `"action"`, when it has
#'   participants that are not in the fit (score them first with
#'   `type = "beta"`); for `"beta"`, when `newdata` has no rows, chooses an
#'   action that is unavailable in its state, or `level` is not strictly
#'   between 0 and 1. A `newdata` with no rows gives a 0-row matrix for
#'   `"prob"` and a 0-length factor for `"action"`. An error of class
#'   `rlpsy_error_memory`, before allocating, when the probability matrix
#'   would not fit in the memory available. No warnings: for `"beta"` with
#'   `newdata`, participants whose E-step did not converge keep finite
#'   estimates and are flagged in the `status` column.
#' @seealso [coef.rlpsy_fit()], [simulate.rlpsy_fit()].
#' @examples
#' fit <- rlpsy_fit(rlpsy_example, participant = "participant",
#'                  state = "state", action = "action",
#'                  next_state = "next_state", done = "done",
#'                  reward = "reward", gamma = 0.9, tau = 0.05,
#'                  control = rlpsy_control(threads = 1))
#' # choice probabilities and most probable actions
#' nd <- data.frame(participant = c("p0001", "p0002"), state = "r1c1")
#' predict(fit, nd)
#' predict(fit, nd, type = "action")
#' head(predict(fit))              # the fitted decisions
#'
#' # score participants from new decisions, Q and prior fixed
#' new <- rlpsy_example[rlpsy_example$participant %in% c("p0001", "p0002"), ]
#' new$participant <- paste0("new_", new$participant)
#' predict(fit, new, type = "beta")
#'
#' # task quantities
#' round(predict(fit, type = "advantage")[1:5, ], 2)
#' head(predict(fit, type = "value"))
#' @importFrom stats predict
#' @export
predict.rlpsy_fit <- function(object, newdata = NULL,
                              type = c("prob", "action", "beta", "q", "advantage",
                                       "value", "reward"),
                              level = 0.95, ...) {
  check_dots_empty_rlpsy("predict()", ...)
  type <- check_choice(type, c("prob", "action", "beta", "q", "advantage",
                               "value", "reward"), "type")
  av <- object$data$available
  switch(type,
    prob = predict_prob(object, newdata),
    action = {
      P <- predict_prob(object, newdata)
      acts <- object$data$actions
      factor(acts[max.col(P, ties.method = "first")], levels = acts)
    },
    beta = {
      level <- check_level(level)
      if (is.null(newdata)) predict_beta_fitted(object, level) else
        predict_beta_new(object, newdata, level)
    },
    q = mask_unavailable(object$Q, av),
    advantage = mask_unavailable(object$advantage, av),
    value = object$value,
    reward = predict_reward(object)
  )
}

#' Softmax policy of decisions: rows beta[i] * A[s[i], ] over available actions
#' @param A S x K advantage; av S x K logical; beta, s (1-based) per row.
#' @return n x K matrix of probabilities (0 for unavailable actions).
#' @noRd
policy_probs <- function(A, av, beta, s) {
  n <- length(s)
  eta <- beta * A[s, , drop = FALSE]
  eta[!av[s, , drop = FALSE]] <- -Inf
  if (n == 0L) return(eta)
  m <- eta[cbind(seq_len(n), max.col(eta, ties.method = "first"))]
  P <- exp(eta - m)
  P / rowSums(P)
}

#' Policy probabilities for newdata (or the fitted decisions in data order)
#' @noRd
predict_prob <- function(fit, newdata) {
  d <- fit$data
  if (is.null(newdata)) {
    inv <- order(d$row)
    part <- d$participant[inv]
    state <- d$state[inv]
  } else {
    nd <- encode_newdata(d, newdata, need = c("participant", "state"),
                         allow_new_participants = TRUE)
    if (any(nd$new_participant)) abort_new_participants(d, nd)
    part <- nd$participant
    state <- nd$state
  }
  check_memory(32 * as.double(length(state)) * d$n_actions,
               paste0("Predicting ", format(length(state), big.mark = ",",
                                            scientific = FALSE, trim = TRUE),
                      " decisions x ", d$n_actions, " actions"),
               "Predict for fewer rows at a time.")
  P <- policy_probs(fit$advantage, d$available, fit$beta[part + 1L], state + 1L)
  dimnames(P) <- list(NULL, d$actions)
  P
}

#' Stop for participants of newdata that are not in the fit
#' @noRd
abort_new_participants <- function(d, nd) {
  rows <- which(nd$new_participant)
  who <- unique(nd$participant_label[rows])
  rlpsy_abort("`newdata` column \"", d$columns$participant, "\" (participant) has ",
              if (length(who) == 1L) "participant " else "participants ",
              show_values(who), " (", show_rows(rows), ") not in the fit. ",
              "Score new participants first with predict(fit, newdata, type = \"beta\").")
}

#' The fit's own participant table at a confidence level
#' @noRd
predict_beta_fitted <- function(fit, level) {
  p <- fit$participants
  beta_table(p$participant, p$z, p$se, p$n_decisions, p$status, level)
}

#' The data frame returned by predict(type = "beta")
#' @noRd
beta_table <- function(participant, z, se, n, status, level) {
  ci <- wald_limits(z, se, level)
  data.frame(participant = participant, beta = exp(z), z = z, se = se,
             lower = ci[, 1L], upper = ci[, 2L], n_decisions = n, status = status,
             stringsAsFactors = FALSE, row.names = NULL)
}

#' Score the participants of newdata with Q and the prior fixed (E-step on a
#' fresh core built from newdata's decisions)
#' @noRd
predict_beta_new <- function(fit, newdata, level) {
  check_data_frame(newdata, "newdata")
  if (nrow(newdata) == 0L) {
    rlpsy_abort("`newdata` has no rows: there are no decisions to score.")
  }
  d <- fit$data
  nd <- encode_newdata(d, newdata, need = c("participant", "state", "action"),
                       allow_new_participants = TRUE)
  check_newdata_available(d, nd)
  pieces <- index_labels(newdata[[d$columns$participant]])
  lab <- combine_labels(list(pieces), "participant", fill = FALSE, drop_unused = TRUE)
  code <- codes_of(pieces, lab)
  enc <- scoring_encoding(d, code, nd$state, nd$action, length(lab$labels))
  core <- core_new(enc, fit$settings)
  mu <- fit$prior[["mu"]]
  sigma <- fit$prior[["sigma"]]
  ctrl <- fit$control
  e <- core_estep(core, fit$Q, rep(mu, enc$n_participants), mu, sigma,
                  ctrl$threads, ctrl$estep_iter, ctrl$estep_tol)
  status <- factor(estep_status_labels[e$status + 1L], levels = estep_status_labels)
  beta_table(lab$labels, e$z, e$se, diff(enc$offsets), status, level)
}

#' Stop if newdata chooses an action that is unavailable in its state
#' @noRd
check_newdata_available <- function(d, nd) {
  ok <- d$available[cbind(nd$state + 1L, nd$action + 1L)]
  if (all(ok)) return(invisible())
  bad <- which(!ok)
  rlpsy_abort("`newdata` chooses actions that are unavailable in their states ",
              "(columns \"", d$columns$action, "\" and \"", d$columns$state, "\"): ",
              show_rows(bad), if (length(bad) == 1L) " chooses " else " choose ",
              show_values(d$actions[nd$action[bad] + 1L]), " in ",
              show_values(d$states[nd$state[bad] + 1L]), ".")
}

#' An encoded-data list for the core from 0-based participant, state and
#' action codes. Only the behaviour term matters for the E-step, so every
#' transition is marked terminal (next state = state) and the reward is
#' left out.
#' @noRd
scoring_encoding <- function(d, participant, state, action, J) {
  ord <- order(participant, method = "radix")
  n <- length(participant)
  list(n_decisions = n, n_participants = J, n_states = d$n_states,
       n_actions = d$n_actions,
       offsets = as.integer(cumsum(c(0, tabulate(participant + 1L, J)))),
       participant = as.integer(participant[ord]), state = as.integer(state[ord]),
       action = as.integer(action[ord]), next_state = as.integer(state[ord]),
       done = rep(1L, n), reward = NULL, available = d$available)
}

#' Learned reward tanh(w), or the mean observed reward per (state, action)
#' @noRd
predict_reward <- function(fit) {
  if (!is.null(fit$reward)) return(fit$reward)
  d <- fit$data
  S <- d$n_states
  K <- d$n_actions
  idx <- d$state * K + d$action + 1L
  n <- tabulate(idx, S * K)
  sums <- numeric(S * K)
  r <- rowsum(d$reward, idx, reorder = TRUE)
  sums[as.integer(rownames(r))] <- r[, 1L]
  M <- matrix(ifelse(n > 0L, sums / n, NA_real_), S, K, byrow = TRUE,
              dimnames = dimnames(d$available))
  mask_unavailable(M, d$available)
}
