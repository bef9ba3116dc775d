# Held-out evaluation: the log-likelihood of new decisions, and K-fold
# cross-validation by refitting with a fit's settings.

#' Log-probability of each chosen action of newdata (see logLik.rlpsy_fit)
#' @noRd
heldout_logprob <- function(fit, newdata, features = NULL, beta = NULL) {
  tk <- predict_task(fit, features, newdata)
  r <- policy_rows(fit, newdata, tk, beta, need_action = TRUE)
  log(r$P[cbind(seq_len(nrow(r$P)), r$nd$action + 1L)])
}

#' Cross-validated held-out log-likelihood
#'
#' Splits the fitted decisions into `folds` parts, refits the model on all
#' but one part with the fit's settings (as [rlpsy_reliability()] does) and
#' evaluates the held-out part: the negative log-likelihood per decision of
#' its chosen actions under the refit's task values and betas. This is the
#' criterion the specification judges models by (held-out NLL): compare
#' settings (`gamma`, `lambda_bell`, a feature-based Q, ...) by it.
#'
#' * `by = "decision"`: each participant's decisions are dealt at random to
#'   the folds (as evenly as possible), so every participant is in every
#'   training set and the held-out decisions are predicted with the refit's
#'   beta of their participant.
#' * `by = "participant"`: participants are dealt at random to the folds.
#'   A held-out participant has no beta in the refit, so their decisions are
#'   split in two by position (odd and even, in data order): the
#'   participant is scored on the odd ones with the refit's Q and prior
#'   held fixed (as `predict(type = "beta")` does), and the even ones are
#'   predicted with that score. Only the even decisions count. This
#'   measures how well the task values transfer to new people.
#'
#' With several dimensions of beta (`dimension` in [rlpsy_fit()]) the refits
#' keep the dimensions, a held-out decision is predicted with the beta of
#' its dimension, and a held-out participant is scored on all dimensions
#' jointly under the refit's prior. Comparing a fit with and without
#' `dimension` on the same folds (the same `seed`) tells whether the second
#' temperature predicts better.
#'
#' A held-out decision whose action is outside the refit's choice set in
#' its state (no training participant ever took it there, so the refit has
#' no value for it), or whose participant the refit cannot score, is not
#' scored: it is counted in `n_unscored`, and a warning says how many.
#'
#' @param fit an `rlpsy_fit` object.
#' @param folds number of folds, at least 2.
#' @param by `"participant"` (default) or `"decision"`; see Details.
#' @param seed `NULL` or a number: the seed of the random split (the
#'   global random number stream is left as it was).
#' @return A data frame of class `rlpsy_cv`, one row per fold: `fold`,
#'   `n_decisions` (held-out decisions scored), `nll` (negative
#'   log-likelihood per held-out decision) and `n_unscored`; the attribute
#'   `mean` is the NLL per decision over all folds, and `assignment` a data
#'   frame with the fold (and, by participant, the `role`: `"score"` or
#'   `"predict"`) of every row of the fitted data.
#' @section Errors and warnings: An error of class `rlpsy_error_input` for a
#'   bad `folds`, `by` or `seed`, or when there are fewer participants (by
#'   participant) or decisions per participant (by decision) than folds.
#'   The refits' warnings are collected per class, as in
#'   [rlpsy_reliability()].
#' @seealso [logLik.rlpsy_fit()] with `newdata` for a given held-out set.
#' @examples
#' fit <- rlpsy_fit(rlpsy_example, participant = "participant",
#'                  state = "state", action = "action",
#'                  next_state = "next_state", done = "done",
#'                  reward = "reward", gamma = 0.9, tau = 0.05,
#'                  control = rlpsy_control(threads = 1))
#' cv <- rlpsy_cv(fit, folds = 2, by = "decision", seed = 1)
#' cv
#' @export
rlpsy_cv <- function(fit, folds = 5, by = c("participant", "decision"), seed = NULL) {
  if (!inherits(fit, "rlpsy_fit")) {
    rlpsy_abort("`fit` must be an rlpsy_fit object, not ", describe_value(fit), ".")
  }
  folds <- check_count(folds, "folds", min = 2, max = 1e6)
  by <- check_choice(by, c("participant", "decision"), "by")
  if (!is.null(seed)) seed <- check_number(seed, "seed")
  enc <- fit$data
  stream <- seeded_stream(seed)
  fold <- stream(if (by == "decision") deal_decisions(enc, folds) else
    deal_participants(enc, folds))
  role <- if (by == "participant") ifelse(position_in_participant(enc) %% 2L == 1L,
                                          "score", "predict")
  res <- collect_refit_warnings(lapply(seq_len(folds), function(k) {
    test <- fold == k
    refit <- refit_like(fit, subset_decisions(enc, !test))
    if (by == "decision") cv_decisions(refit, enc, test) else
      cv_participants(refit, enc, test, role)
  }), folds, what = paste0("of the ", folds, " refits of the folds"),
  consequence = "the held-out NLL may be off")
  out <- data.frame(fold = seq_len(folds),
                    n_decisions = vapply(res, function(r) length(r), 0L),
                    nll = vapply(res, function(r) -mean(r), 0),
                    n_unscored = vapply(res, function(r) attr(r, "unscored"), 0L))
  lp <- unlist(res)
  if (sum(out$n_unscored) > 0L) {
    rlpsy_warn(sum(out$n_unscored), " held-out decision",
               if (sum(out$n_unscored) > 1L) "s were" else " was",
               " not scored (an action outside the refit's choice set, or a ",
               "participant it could not score); see `n_unscored`.",
               class = "cv")
  }
  asg <- data.frame(row = enc$row, fold = fold)
  if (!is.null(role)) asg$role <- role
  asg <- asg[order(asg$row), , drop = FALSE]
  rownames(asg) <- NULL
  structure(out, class = c("rlpsy_cv", "data.frame"), mean = -mean(lp), by = by,
            assignment = asg)
}

#' @export
print.rlpsy_cv <- function(x, digits = max(3L, getOption("digits") - 3L), ...) {
  cat("<rlpsy_cv> ", nrow(x), "-fold cross-validation by ", attr(x, "by"),
      ": held-out NLL per decision ", format(attr(x, "mean"), digits = digits),
      "\n", sep = "")
  print(as.data.frame(unclass(x)[names(x)], stringsAsFactors = FALSE),
        digits = digits, row.names = FALSE)
  invisible(x)
}

#' Fold of each decision: each participant's decisions dealt at random to
#' the folds, as evenly as possible
#' @noRd
deal_decisions <- function(enc, folds) {
  n_j <- diff(enc$offsets)
  if (any(n_j < folds)) {
    rlpsy_abort("By decision, every participant needs at least `folds` = ", folds,
                " decisions; ", sum(n_j < folds), " participant",
                if (sum(n_j < folds) > 1L) "s have" else " has", " fewer (",
                show_values(enc$participants[n_j < folds]), ").")
  }
  pos <- position_in_participant(enc)
  start <- stats::runif(length(n_j))  # a random offset per participant
  ord <- order(enc$participant, stats::runif(enc$n_decisions))
  fold <- integer(enc$n_decisions)
  fold[ord] <- ((pos - 1L) + floor(start * folds)[enc$participant + 1L]) %% folds + 1L
  fold
}

#' Fold of each decision: participants dealt at random to the folds
#' @noRd
deal_participants <- function(enc, folds) {
  J <- enc$n_participants
  if (J < folds) {
    rlpsy_abort("By participant, `folds` = ", folds, " needs at least as many ",
                "participants; the fit has ", J, ".")
  }
  f <- sample(rep_len(seq_len(folds), J))
  f[enc$participant + 1L]
}

#' Log-probabilities of the held-out decisions `test` of enc under a refit
#' (their participants are in it; with several dimensions each decision
#' takes the beta of its dimension); attribute `unscored`
#' @noRd
cv_decisions <- function(refit, enc, test) {
  idx <- which(test)
  lab <- enc$participants[enc$participant[idx] + 1L]
  beta <- if (is.matrix(refit$beta)) {
    unname(refit$beta[cbind(match(lab, rownames(refit$beta)), enc$dimension[idx] + 1L)])
  } else {
    unname(refit$beta[lab])
  }
  chosen_logprob(refit, beta, enc$state[idx], enc$action[idx])
}

#' Held-out participants: scored on their "score" decisions, predicted on
#' their "predict" ones (with several dimensions, scored on all dimensions
#' jointly, each predicted decision with the beta of its dimension)
#' @noRd
cv_participants <- function(refit, enc, test, role) {
  tk <- predict_task(refit, NULL, NULL)
  D <- n_dimensions(enc)
  sc <- which(test & role == "score")
  pr <- which(test & role == "predict")
  av <- refit$data$available
  ok <- av[cbind(enc$state[sc] + 1L, enc$action[sc] + 1L)]
  sc <- sc[ok]
  p_lab <- enc$participants[enc$participant[sc] + 1L]
  labs <- unique(p_lab)
  code <- function(i, lab) {
    j <- match(lab, labs) - 1L
    if (D == 1L) j else j * D + enc$dimension[i]
  }
  s <- score_codes(refit, tk, code(sc, p_lab), enc$state[sc], enc$action[sc],
                   rep(labs, each = D), D)
  beta <- exp(s$z)
  lab_pr <- enc$participants[enc$participant[pr] + 1L]
  chosen_logprob(refit, beta[code(pr, lab_pr) + 1L], enc$state[pr], enc$action[pr])
}

#' Log-probability of chosen actions (0-based state and action codes) under
#' a fit's advantage with the given betas; decisions with an unknown beta or
#' an action outside the choice set are left out and counted
#' @noRd
chosen_logprob <- function(fit, beta, state, action) {
  av <- fit$data$available
  ok <- !is.na(beta) & is.finite(beta) & av[cbind(state + 1L, action + 1L)]
  P <- policy_probs(fit$advantage, av, beta[ok], state[ok] + 1L)
  lp <- log(P[cbind(seq_len(sum(ok)), action[ok] + 1L)])
  structure(lp, unscored = sum(!ok))
}
