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
#'   columns (with the names used in the fit). The betas are `beta` when it
#'   is given; otherwise each participant of the fit has its fitted beta,
#'   and participants who are not in the fit are first scored from their
#'   decisions in `newdata` (as `type = "beta"` does; then `newdata` needs
#'   the action column too).
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
#'   `max_iter`, `non_finite` or `stalled`). With several dimensions of
#'   beta (`dimension` in [rlpsy_fit()]), one row per participant and
#'   dimension, with a `dimension` column after `participant`. Scoring
#'   `newdata` then needs the fit's dimension column in `newdata`: each
#'   participant is scored on all dimensions jointly under the fit's
#'   multivariate prior (a dimension without decisions gets its conditional
#'   prior mean given the others); `"prob"` and `"action"` for `newdata`
#'   use each decision's beta of its dimension.
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
#' @section New tasks:
#' With a feature-based Q (`q = rlpsy_q_linear()` or `rlpsy_q_mlp()` in
#' [rlpsy_fit()]), `features` (a data frame in the format of those
#' functions, with the same feature columns) describes a new task, possibly
#' with other and more states: the fitted parameters give its Q, and its
#' choice sets are the (state, action) pairs with a row. Then `"q"`,
#' `"advantage"` and `"value"` are the new task's; `"beta"` scores the
#' participants of `newdata` (decisions in the new task's labels) on it;
#' `"prob"` and `"action"` use `beta`, or the betas scored from `newdata`
#' (every participant is scored on the new task, those of the fit too).
#' With `normalise = "global"`, the one root-mean-square runs over the
#' states with decisions in `newdata` (all states without it). `"reward"`
#' is not defined for a new task.
#'
#' @param object an `rlpsy_fit` object.
#' @param newdata `NULL` (use the fitted data) or a data frame of decisions
#'   with the column names used in the fit; see "Types".
#' @param type what to predict; see "Types".
#' @param level the confidence level of the intervals of `type = "beta"`,
#'   strictly between 0 and 1.
#' @param features `NULL` (the fitted task), or the features of a new task
#'   for a feature-based Q; see "New tasks".
#' @param beta `NULL`, or for `"prob"` and `"action"` the betas to use: one
#'   positive number for every row, or a vector named by participant.
#' @param ... not used.
#' @return See "Types".
#' @section Errors and warnings: An error of class `rlpsy_error_input` when `type` is
#'   not one of the allowed values; when `newdata` is not a data frame,
#'   lacks a needed column or has a column of the wrong type or with missing
#'   values; when it has states or actions that were not in the fitted data
#'   (the message names them); for `"prob"` and `"action"`, when it has
#'   participants that are not in the fit and no action column (and no
#'   `beta`); for `"beta"`, when `newdata` has no rows, chooses an
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
                              level = 0.95, features = NULL, beta = NULL, ...) {
  check_dots_empty_rlpsy("predict()", ...)
  type <- check_choice(type, c("prob", "action", "beta", "q", "advantage",
                               "value", "reward"), "type")
  tk <- predict_task(object, features, newdata)
  if (!is.null(beta) && !type %in% c("prob", "action")) {
    rlpsy_abort("`beta` gives the betas of the decisions for type = \"prob\" or ",
                "\"action\"; it is not used for type = \"", type, "\".")
  }
  switch(type,
    prob = predict_prob(object, newdata, tk, beta),
    action = {
      P <- predict_prob(object, newdata, tk, beta)
      factor(tk$actions[max.col(P, ties.method = "first")], levels = tk$actions)
    },
    beta = {
      level <- check_level(level)
      if (is.null(newdata)) {
        if (tk$new) {
          rlpsy_abort("type = \"beta\" on a new task needs `newdata`: the ",
                      "decisions to score.")
        }
        predict_beta_fitted(object, level)
      } else {
        beta_table_of(predict_beta_new(object, newdata, tk), level)
      }
    },
    q = mask_unavailable(tk$Q, tk$available),
    advantage = mask_unavailable(tk$A, tk$available),
    value = soft_value(tk$Q, tk$available, object$tau),
    reward = {
      if (tk$new) {
        rlpsy_abort("type = \"reward\" is the fitted task's reward; it is not ",
                    "defined for the new task given by `features`.")
      }
      predict_reward(object)
    }
  )
}

#' Softmax policy of decisions: rows beta[i] * A[s[i], ] over available
#' actions (the core's policy_row())
#' @param A S x K advantage; av S x K logical; beta, s (1-based) per row.
#' @return n x K matrix of probabilities (0 for unavailable actions).
#' @noRd
policy_probs <- function(A, av, beta, s) {
  storage.mode(A) <- "double"
  policy_cpp(unname(unclass(A)), av, as.double(beta), as.integer(s))
}

#' The task of a prediction: the fitted one, or a new task given by the
#' features of a feature-based Q. A list: states, actions, available (S x K
#' logical), Q and A (S x K), new (TRUE for a new task).
#' @noRd
predict_task <- function(fit, features, newdata) {
  d <- fit$data
  if (is.null(features)) {
    return(list(states = d$states, actions = d$actions, available = d$available,
                Q = fit$Q, A = fit$advantage, new = FALSE))
  }
  qm <- fit$q_model
  if (is.null(qm) || qm$type == "table") {
    rlpsy_abort("`features` describe a new task for a feature-based Q; this ",
                "fit's Q is a table (fit with q = rlpsy_q_linear() or ",
                "rlpsy_q_mlp() to predict on new tasks).")
  }
  f <- check_features(features, "features", c("state", "action"))
  miss <- setdiff(qm$features$names, f$names)
  extra <- setdiff(f$names, qm$features$names)
  if (length(miss) || length(extra)) {
    rlpsy_abort("`features` must have the feature columns of the fit (",
                show_values(qm$features$names), ")",
                if (length(miss)) paste0("; missing ", show_values(miss)),
                if (length(extra)) paste0("; not in the fit: ", show_values(extra)), ".")
  }
  f$X <- f$X[, qm$features$names, drop = FALSE]
  f$names <- qm$features$names
  qm$features <- f
  states <- used_labels(index_labels(f$keys$state))
  actions <- used_labels(index_labels(f$keys$action))
  av <- matrix(FALSE, length(states), length(actions),
               dimnames = list(state = states, action = actions))
  av[cbind(match(f$keys$state, states), match(f$keys$action, actions))] <- TRUE
  qp <- q_params(qm, states, actions, av)
  Q <- q_values_cpp(qp, fit_theta(fit), length(states), length(actions))
  dimnames(Q) <- dimnames(av)
  global <- NULL
  if (identical(fit$normalise, "global")) {
    # one RMS over the states with decisions in newdata (all without newdata)
    global <- rep(TRUE, length(states))
    col <- d$columns$state
    if (is.data.frame(newdata) && col %in% names(newdata) && nrow(newdata) > 0L)
      global <- states %in% as.character(newdata[[col]])
  }
  A <- identified_advantage(Q, av, fit$settings$eps, global)
  list(states = states, actions = actions, available = av, Q = Q, A = A, new = TRUE)
}

#' Encode the participant, state (and action) columns of newdata against a
#' task frame: 0-based state and action codes, participant labels.
#' @noRd
encode_task_newdata <- function(fit, newdata, tk, need_action) {
  d <- fit$data
  need <- c("participant", "state", if (need_action) "action")
  if (!tk$new) {
    nd <- encode_newdata(d, newdata, need = need, allow_new_participants = TRUE)
    return(list(n = nd$n, participant = nd$participant_label, state = nd$state,
                action = nd$action))
  }
  check_data_frame(newdata, "newdata")
  out <- list(n = nrow(newdata))
  for (f in need) {
    col <- d$columns[[f]]
    x <- newdata_column(newdata, col, f)
    where <- column_where(f, col, newdata = TRUE)
    check_label_column(x, where)
    x <- as.character(x)
    if (f == "participant") {
      out$participant <- x
      next
    }
    labs <- if (f == "state") tk$states else tk$actions
    code <- match(x, labs)
    if (anyNA(code)) {
      rlpsy_abort(where, " has ", f, "s ", show_values(unique(x[is.na(code)])),
                  " that `features` do not describe (", show_rows(which(is.na(code))), ").")
    }
    out[[f]] <- code - 1L
  }
  out
}

#' Policy probabilities for newdata (or the fitted decisions in data order),
#' on the task frame tk. The betas: `beta` when given (one number, or named
#' by participant), else the fitted beta of the fit's participants, and
#' participants not in the fit scored from newdata first.
#' @noRd
predict_prob <- function(fit, newdata, tk = predict_task(fit, NULL, NULL), beta = NULL) {
  policy_rows(fit, newdata, tk, beta)$P
}

#' The policy of each row of newdata (or of the fitted decisions in data
#' order) and, with newdata, its encoding on tk (see predict_prob)
#' With `need_action`, newdata must have the action column, and its chosen
#' actions must be available (checked before any participant is scored).
#' @return list(P = n x K probabilities, nd = encode_task_newdata() or NULL)
#' @noRd
policy_rows <- function(fit, newdata, tk, beta, need_action = FALSE) {
  d <- fit$data
  nd <- NULL
  if (is.null(newdata)) {
    if (tk$new) rlpsy_abort("type = \"prob\" on a new task needs `newdata`.")
    inv <- order(d$row)
    b <- if (is.null(beta)) decision_betas(fit)[inv] else
      row_betas(beta, d$participants[d$participant[inv] + 1L])
    state <- d$state[inv]
  } else {
    # participants to score from newdata need its action column
    score <- is.null(beta) &&
      (tk$new || need_scores(d, encode_newdata(d, newdata, "participant"), newdata))
    nd <- encode_task_newdata(fit, newdata, tk, need_action = need_action || score)
    if (need_action) check_newdata_available(fit, tk, nd)
    b <- if (!is.null(beta)) row_betas(beta, nd$participant) else
      fitted_or_scored_betas(fit, newdata, tk, nd)
    state <- nd$state
  }
  check_memory(32 * as.double(length(state)) * length(tk$actions),
               paste0("Predicting ", format(length(state), big.mark = ",",
                                            scientific = FALSE, trim = TRUE),
                      " decisions x ", length(tk$actions), " actions"),
               "Predict for fewer rows at a time.")
  P <- policy_probs(tk$A, tk$available, b, state + 1L)
  dimnames(P) <- list(NULL, tk$actions)
  list(P = P, nd = nd)
}

#' Whether newdata has participants who are not in the fit (then they are
#' scored from their decisions); stops when it lacks the action column to do so
#' @noRd
need_scores <- function(d, nd, newdata) {
  if (!any(nd$new_participant)) return(FALSE)
  if (!d$columns$action %in% names(newdata)) {
    rows <- which(nd$new_participant)
    who <- unique(nd$participant_label[rows])
    rlpsy_abort("`newdata` column \"", d$columns$participant, "\" (participant) has ",
                if (length(who) == 1L) "participant " else "participants ",
                show_values(who), " (", show_rows(rows), ") not in the fit. ",
                "Give their decisions (the action column \"", d$columns$action,
                "\") to score them first, or their `beta`.")
  }
  TRUE
}

#' The beta of each row from a user's `beta`: one positive number, or a
#' vector named by participant covering every participant of the rows
#' @noRd
row_betas <- function(beta, participant) {
  if (!is.numeric(beta) || anyNA(beta) || any(!is.finite(beta)) || any(beta <= 0)) {
    rlpsy_abort("`beta` must be positive finite numbers, not ", describe_value(beta), ".")
  }
  if (length(beta) == 1L && is.null(names(beta))) return(rep(unname(beta), length(participant)))
  if (is.null(names(beta))) {
    rlpsy_abort("`beta` must be one number or a vector named by participant.")
  }
  b <- beta[participant]
  if (anyNA(b)) {
    rlpsy_abort("`beta` has no value for participant",
                if (length(unique(participant[is.na(b)])) > 1L) "s", " ",
                show_values(unique(participant[is.na(b)])), ".")
  }
  unname(b)
}

#' The fitted beta of the fit's participants on its own task; on a new task,
#' or for participants not in the fit, scored from newdata's decisions.
#' With several dimensions, each row's beta is that of its dimension.
#' @noRd
fitted_or_scored_betas <- function(fit, newdata, tk, nd) {
  D <- n_dimensions(fit$data)
  key <- if (D == 1L) nd$participant else
    unit_key(nd$participant, fit$data$dimensions[newdata_dimension(fit, newdata) + 1L])
  b <- stats::setNames(rep(NA_real_, length(unique(key))), unique(key))
  scored <- if (tk$new) unique(nd$participant) else setdiff(unique(nd$participant), fit$data$participants)
  if (!tk$new) {
    fitted <- if (D == 1L) fit$beta else stats::setNames(
      as.vector(t(fit$beta)), unit_key(rep(rownames(fit$beta), each = D), colnames(fit$beta)))
    known <- intersect(names(b), names(fitted))
    b[known] <- fitted[known]
  }
  if (length(scored)) {
    rows <- nd$participant %in% scored
    sc <- predict_beta_new(fit, newdata[rows, , drop = FALSE], tk)
    b[score_keys(sc)] <- exp(sc$z)
  }
  unname(b[key])
}

#' The fit's own participant table at a confidence level
#' @noRd
predict_beta_fitted <- function(fit, level) {
  p <- fit$participants
  out <- beta_table(p$participant, p$z, p$se, p$n_decisions, p$status, level)
  if (is.null(p$dimension)) return(out)
  cbind(out[1L], dimension = p$dimension, out[-1L], stringsAsFactors = FALSE)
}

#' The fitted beta of every decision of the fit's data (in the encoded
#' order): the participant's beta, or with several dimensions the beta of
#' the decision's dimension
#' @noRd
decision_betas <- function(fit) {
  d <- fit$data
  if (!is.matrix(fit$beta)) return(fit$beta[d$participant + 1L])
  unname(fit$beta[cbind(d$participant + 1L, d$dimension + 1L)])
}

#' The data frame returned by predict(type = "beta")
#' @noRd
beta_table <- function(participant, z, se, n, status, level) {
  ci <- wald_limits(z, se, level)
  data.frame(participant = participant, beta = exp(z), z = z, se = se,
             lower = ci[, 1L], upper = ci[, 2L], n_decisions = n, status = status,
             stringsAsFactors = FALSE, row.names = NULL)
}

#' A beta table from the scores of predict_beta_new() (with a `dimension`
#' column when the fit has several dimensions)
#' @noRd
beta_table_of <- function(sc, level) {
  out <- beta_table(sc$participant, sc$z, sc$se, sc$n_decisions, sc$status, level)
  if (is.null(sc$dimension)) return(out)
  cbind(out[1L], dimension = sc$dimension, out[-1L], stringsAsFactors = FALSE)
}

#' Score the participants of newdata on the task frame tk with Q and the
#' prior fixed (E-step on a fresh core built from newdata's decisions).
#' With several dimensions, newdata carries the fit's dimension column and
#' each participant gets one score per dimension (the multivariate E-step
#' under the fit's prior), in participant-major order.
#' @return list(participant, z, se, n_decisions, status), and dimension
#'   with several dimensions
#' @noRd
predict_beta_new <- function(fit, newdata, tk = predict_task(fit, NULL, NULL)) {
  check_data_frame(newdata, "newdata")
  if (nrow(newdata) == 0L) {
    rlpsy_abort("`newdata` has no rows: there are no decisions to score.")
  }
  nd <- encode_task_newdata(fit, newdata, tk, need_action = TRUE)
  check_newdata_available(fit, tk, nd)
  # labels ordered as rlpsy_data() orders them (numbers numerically)
  pieces <- index_labels(newdata[[fit$data$columns$participant]])
  lab <- combine_labels(list(pieces), "participant", fill = FALSE, drop_unused = TRUE)
  codes <- codes_of(pieces, lab)
  D <- n_dimensions(fit$data)
  if (D == 1L) return(score_codes(fit, tk, codes, nd$state, nd$action, lab$labels))
  sc <- score_codes(fit, tk, codes * D + newdata_dimension(fit, newdata), nd$state,
                    nd$action, rep(lab$labels, each = D), D)
  sc$dimension <- rep(fit$data$dimensions, length(lab$labels))
  sc
}

#' The 0-based dimension code of every row of newdata (several dimensions):
#' the fit's dimension column, whose values must be the fit's dimensions
#' @noRd
newdata_dimension <- function(fit, newdata) {
  col <- fit$data$columns$dimension
  if (!col %in% names(newdata)) {
    rlpsy_abort("`newdata` needs the `dimension` column \"", col, "\" of the fit: ",
                "each decision is scored on its dimension of beta.")
  }
  x <- as.character(newdata[[col]])
  code <- match(x, fit$data$dimensions)
  bad <- which(is.na(code))
  if (length(bad)) {
    rlpsy_abort("The `dimension` column \"", col, "\" of `newdata` has values the ",
                "fit does not have (", show_values(fit$data$dimensions), ") in ",
                show_rows(bad), ": ", show_values(unique(x[bad])), ".")
  }
  code - 1L
}

#' Score participants given as 0-based codes (labels `labels`) on the task
#' frame tk: the E-step with the fit's prior. With D > 1 dimensions the
#' codes are the core's pseudo-participants j * D + d and `labels` has one
#' entry per pseudo-participant; the multivariate E-step scores each
#' participant's D coordinates jointly.
#' @noRd
score_codes <- function(fit, tk, participant, state, action, labels, D = 1L) {
  enc <- scoring_encoding(tk, participant, state, action, length(labels))
  core <- core_new(enc, fit$settings)
  ctrl <- fit$control
  Q <- unname(unclass(tk$Q))
  Q[!tk$available] <- 0
  if (D == 1L) {
    mu <- fit$prior[["mu"]]
    e <- core_estep(core, Q, rep(mu, enc$n_participants), mu, fit$prior[["sigma"]],
                    ctrl$threads, ctrl$estep_iter, ctrl$estep_tol)
  } else {
    mu <- rep(unname(fit$prior$mu), enc$n_participants / D)
    e <- core_estep(core, Q, mu, mu, 1, ctrl$threads, ctrl$estep_iter, ctrl$estep_tol,
                    NULL, solve(fit$prior$Sigma))
  }
  status <- factor(estep_status_labels[rep(e$status, each = D) + 1L],
                   levels = estep_status_labels)
  list(participant = labels, z = e$z, se = e$se, n_decisions = diff(enc$offsets),
       status = status)
}

#' Stop if newdata chooses an action that is unavailable in its state
#' @noRd
check_newdata_available <- function(fit, tk, nd) {
  d <- fit$data
  ok <- tk$available[cbind(nd$state + 1L, nd$action + 1L)]
  if (all(ok)) return(invisible())
  bad <- which(!ok)
  rlpsy_abort("`newdata` chooses actions that are unavailable in their states ",
              "(columns \"", d$columns$action, "\" and \"", d$columns$state, "\"): ",
              show_rows(bad), if (length(bad) == 1L) " chooses " else " choose ",
              show_values(tk$actions[nd$action[bad] + 1L]), " in ",
              show_values(tk$states[nd$state[bad] + 1L]), ".")
}

#' An encoded-data list for the core from 0-based participant, state and
#' action codes on the task frame tk. Only the behaviour term matters for
#' the E-step, so every transition is marked terminal (next state = state)
#' and the reward is left out.
#' @noRd
scoring_encoding <- function(tk, participant, state, action, J) {
  ord <- order(participant, method = "radix")
  n <- length(participant)
  list(n_decisions = n, n_participants = J, n_states = length(tk$states),
       n_actions = length(tk$actions),
       offsets = as.integer(cumsum(c(0, tabulate(participant + 1L, J)))),
       participant = as.integer(participant[ord]), state = as.integer(state[ord]),
       action = as.integer(action[ord]), next_state = as.integer(state[ord]),
       done = rep(1L, n), reward = NULL, available = tk$available)
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
