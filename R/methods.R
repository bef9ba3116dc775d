# S3 methods of class "rlpsy_fit" for printing, summaries and the small
# accessors (coef, confint, logLik, nobs). predict(), simulate() and plot()
# live in their own files. DESIGN.md section 3.

# --- print -------------------------------------------------------------------------

#' Print a fitted RL psychometric model
#'
#' A compact overview of an [rlpsy_fit()] result: the call, the size of the
#' data, whether the reward was observed or learned, the discount factor and
#' Bellman temperature, convergence of the EM algorithm, the final
#' objective, the median and quartiles of the participants' inverse
#' temperatures \eqn{\beta_j}, and the prior of \eqn{\log\beta_j}. Use
#' [summary.rlpsy_fit()] for more.
#'
#' @param x an `rlpsy_fit` object.
#' @param digits number of significant digits for the numbers shown.
#' @param ... not used.
#' @return `x`, invisibly.
#' @section Errors and warnings: An error of class `rlpsy_error_input` when
#'   `digits` is not a single whole number from 1 to 22. No warnings.
#' @seealso [summary.rlpsy_fit()], [coef.rlpsy_fit()], [rlpsy_fit()].
#' @examples
#' fit <- rlpsy_fit(rlpsy_example, participant = "participant",
#'                  state = "state", action = "action",
#'                  next_state = "next_state", done = "done",
#'                  reward = "reward", gamma = 0.9, tau = 0.05,
#'                  control = rlpsy_control(threads = 1))
#' fit
#' print(fit, digits = 5)
#' @export
print.rlpsy_fit <- function(x, digits = max(3L, getOption("digits") - 4L), ...) {
  check_dots_empty_rlpsy("print()", ...)
  digits <- check_count(digits, "digits", min = 1, max = 22)
  d <- x$data
  f <- function(v) format(v, digits = digits)
  q <- stats::quantile(x$beta, c(0.25, 0.5, 0.75), names = FALSE)
  cat("<rlpsy_fit> RL psychometric model\n")
  cat("Call:\n", paste(deparse(x$call), collapse = "\n"), "\n", sep = "")
  cat("Data:      ", count_of(d$n_decisions, "decision"), " by ",
      count_of(d$n_participants, "participant"), "; ",
      count_of(d$n_states, "state"), ", ", count_of(d$n_actions, "action"),
      "\n", sep = "")
  cat("Reward:    ", describe_reward(x), "\n", sep = "")
  cat("Model:     gamma = ", f(x$gamma), ", tau = ", f(x$tau), "\n", sep = "")
  cat("Q:         ", describe_q(x), "\n", sep = "")
  cat("EM:        ", describe_convergence(x), "\n", sep = "")
  bad <- sum(!x$participants$status %in% c("converged", "not_identified"))
  if (bad > 0L) {
    cat("E-step:    did not converge for ", bad, " of ", d$n_participants,
        " participants (see `fit$participants$status`)\n", sep = "")
  }
  ni <- sum(x$participants$status == "not_identified")
  if (ni > 0L) {
    cat("Identification: beta not identified for ", ni, " of ", d$n_participants,
        " participants (status \"not_identified\")\n", sep = "")
  }
  cat("Objective: ", f(x$objective[["total"]]), "\n", sep = "")
  cat("beta:      median ", f(q[2L]), " (quartiles ", f(q[1L]), ", ", f(q[3L]),
      ")\n", sep = "")
  cat("Prior:     log(beta) ~ ", prior_text(x$prior, f), ", ",
      if (x$prior_fixed) "fixed" else "empirical Bayes", "\n", sep = "")
  print_person_model(x, f)  # latent regression, marginal fit: R/person.R
  invisible(x)
}

#' "1,200 decisions", "1 state"
#' @noRd
count_of <- function(n, word) {
  paste0(format(n, big.mark = ",", scientific = FALSE, trim = TRUE), " ", word,
         if (n != 1) "s")
}

#' How the reward entered the fit, for print() and summary()
#' @noRd
describe_reward <- function(fit) {
  rm <- fit$reward_model
  if (is.null(fit$w)) {
    paste0("observed (column \"", fit$data$columns$reward, "\")")
  } else if (is.null(rm)) {
    "learned, r(s, a) = tanh(w)"
  } else if (rm$type == "table") {
    "learned, r(s, a, s') = tanh(w)"
  } else {
    paste0("learned, linear in ", length(rm$features$names), " transition features")
  }
}

#' The form of Q, for print() and summary()
#' @noRd
describe_q <- function(fit) {
  qm <- fit$q_model
  if (is.null(qm) || qm$type == "table") return("table (one value per state and action)")
  paste0(if (qm$type == "linear") "linear" else
    paste0("network (", qm$hidden, " hidden units)"), " in ",
    length(qm$features$names), " features (", paste(qm$features$names, collapse = ", "), ")")
}

#' "converged in 12 iterations" or "not converged after 500 iterations"
#' @noRd
describe_convergence <- function(fit) {
  it <- fit$iterations
  if (fit$converged) {
    paste0("converged in ", count_of(it, "iteration"))
  } else {
    paste0("NOT converged after ", count_of(it, "iteration"), " (max_iter)")
  }
}

# --- summary -----------------------------------------------------------------------

#' Summarise a fitted RL psychometric model
#'
#' Collects what a report on an [rlpsy_fit()] needs: the size of the data,
#' the model settings, convergence, the components of the objective, the
#' distribution of the inverse temperatures \eqn{\beta_j}, the reliability
#' of \eqn{\log\beta_j} and how well the fitted policy explains the choices.
#'
#' @section Reliability:
#' The empirical reliability of \eqn{z_j = \log\hat\beta_j} is
#' \deqn{\mathrm{var}(\hat z) / (\mathrm{var}(\hat z) + \mathrm{mean}(SE_j^2)),}
#' the share of the variance of the estimates that is not measurement error
#' (`var()` with denominator \eqn{J - 1}; `NA` with one participant). The
#' standard errors are conditional on the estimated \eqn{Q} (they treat the
#' advantage as known and the model as right), so on real data this figure
#' can be far from the truth in either direction; estimates are shrunk
#' towards the prior mean, as usual for empirical-Bayes scores. The honest
#' figure is the split-half reliability, with both halves refitted, of
#' [rlpsy_reliability()]: pass its result (or `TRUE` to compute the
#' odd-even split) as `reliability` and both are shown; otherwise the
#' printed summary says that the split-half figure was not computed.
#'
#' @section Behaviour fit:
#' * `loglik`: the behaviour log-likelihood \eqn{\sum_t \log\pi(a_t \mid s_t,
#'   \hat\beta_{j(t)})} (as in [logLik.rlpsy_fit()]), also per decision;
#' * `pseudo_r2`: McFadden's \eqn{1 - LL / LL_0} against the uniform policy
#'   over the available actions, \eqn{LL_0 = -\sum_t \log K_{s_t}}
#'   (`NA` when every decision had a single available action);
#' * `hit_rate`: the share of decisions in which the most probable action
#'   under the fitted policy is the one chosen. Because \eqn{\beta_j > 0},
#'   the most probable action is the one with the largest advantage, the
#'   same for every participant; when several available actions tie for the
#'   largest advantage, a decision for one of them counts as 1 / (number
#'   tied), the expected hit rate of a random tie break.
#'
#' @param object an `rlpsy_fit` object.
#' @param reliability `NULL` (default: the split-half reliability is not
#'   computed), `TRUE` (compute it with
#'   `rlpsy_reliability(object, method = "split-half")`, odd-even split: two
#'   refits) or the result of [rlpsy_reliability()] on `object`.
#' @param x a `summary.rlpsy_fit` object.
#' @param digits number of significant digits for the numbers shown.
#' @param ... not used.
#' @return `summary()` returns an object of class `summary.rlpsy_fit`, a list
#'   with
#'   * `call`;
#'   * `n`: named integer vector: `decisions`, `participants`, `states`,
#'     `states_with_decisions`, `actions`, `terminal` (terminal transitions);
#'   * `reward`: `"observed"` or `"learned"`, and `reward_column`;
#'   * `settings`: list with `gamma`, `tau`, `q`, `normalise`,
#'     `lambda_bell` (as given, in value units), `unit` (the value unit
#'     \eqn{v} of [rlpsy_control()]), `lambda_cql`, `lambda_r`, `eps` and
#'     `prior` (`"empirical"` or `"fixed"`);
#'   * `diagnostics`: the identification diagnostics of the fit
#'     (`fit$diagnostics`): `task_consistency` (correlation of the fitted
#'     and the task's advantage over the choice sets of visited states),
#'     `cor_beta_decisions` (Spearman correlation of \eqn{\hat\beta_j} with the
#'     number of decisions: a score that mostly counts decisions measures
#'     sequence length), `flat_states`, `entropy_ratio`, `never_taken`,
#'     `available_given` and `collapsed_states` (states whose fitted values
#'     collapsed to a near-tie, so that the advantage's root mean square
#'     falls below 0.99 and the model predicts near-uniform choice there);
#'   * `convergence`: list with `converged`, `iterations`, `max_iter`, `tol`,
#'     `tol_z` and `estep_status` (a table of the E-step status of the
#'     participants: converged, max_iter, non_finite, stalled);
#'   * `objective`: matrix with one row per component (`behaviour`,
#'     `bellman`, `cql`, `reward_l2`, `prior`, `total`) and columns `value`
#'     (the unweighted term), `weight` (its weight in the objective) and
#'     `contribution` (`value * weight`; they add up to `total`);
#'   * `beta`: named vector `min`, `q1`, `median`, `q3`, `max` of
#'     \eqn{\hat\beta_j};
#'   * `prior`: `c(mu, sigma)` of \eqn{\log\beta_j};
#'   * `reliability`: the empirical reliability of \eqn{\log\hat\beta_j};
#'   * `reliability_split` (only when `reliability` was given): the
#'     split-half row of [rlpsy_reliability()], a data frame with `method`,
#'     `split`, `reliability`, `lower`, `upper` and `n`;
#'   * `fit`: named vector `loglik`, `loglik_per_decision`,
#'     `loglik_uniform`, `pseudo_r2`, `hit_rate` (see "Behaviour fit");
#'   * `participants`: the per-participant table of
#'     `predict(object, type = "beta")` (95% intervals).
#'
#'   `print()` returns `x` invisibly.
#' @section Errors and warnings: `summary()` works on any `rlpsy_fit`,
#'   converged or not (quantities that are not defined, such as
#'   the reliability with one participant or the pseudo-\eqn{R^2} when every
#'   decision had a single available action, are `NA`). It raises an error of
#'   class `rlpsy_error_input` when `reliability` is not `NULL`, `TRUE` or an
#'   [rlpsy_reliability()] result with a split-half row computed on
#'   `object`, and passes on those of [rlpsy_reliability()]. Its `print()` method
#'   raises an error of class `rlpsy_error_input` when `digits` is not a
#'   single whole number from 1 to 22. No warnings of its own.
#' @seealso [print.rlpsy_fit()], [confint.rlpsy_fit()],
#'   [logLik.rlpsy_fit()].
#' @examples
#' fit <- rlpsy_fit(rlpsy_example, participant = "participant",
#'                  state = "state", action = "action",
#'                  next_state = "next_state", done = "done",
#'                  reward = "reward", gamma = 0.9, tau = 0.05,
#'                  control = rlpsy_control(threads = 1))
#' s <- summary(fit)
#' s
#' s$reliability
#' summary(fit, reliability = TRUE)  # adds the split-half figure (2 refits)
#' s$fit[["hit_rate"]]
#' s$objective
#' @export
summary.rlpsy_fit <- function(object, reliability = NULL, ...) {
  check_dots_empty_rlpsy("summary()", ...)
  rel_split <- summary_split_half(object, reliability)
  d <- object$data
  ctrl <- object$control
  n <- c(decisions = d$n_decisions, participants = d$n_participants,
         states = d$n_states,
         states_with_decisions = sum(tabulate(d$state + 1L, d$n_states) > 0L),
         actions = d$n_actions, terminal = sum(d$done))
  conv <- list(converged = object$converged, iterations = object$iterations,
               max_iter = ctrl$max_iter, tol = ctrl$tol, tol_z = ctrl$tol_z,
               estep_status = table(object$participants$status, dnn = NULL))
  q <- stats::quantile(object$beta, c(0, 0.25, 0.5, 0.75, 1), names = FALSE)
  out <- list(
    call = object$call, n = n,
    reward = if (is.null(object$w)) "observed" else "learned",
    reward_column = d$columns$reward, reward_text = describe_reward(object),
    q_form = describe_q(object),
    settings = list(gamma = object$gamma, tau = object$tau,
                    q = object$q, normalise = object$normalise,
                    lambda_bell = object$settings$lambda_bell_unitless,
                    unit = object$settings$unit,
                    lambda_cql = object$settings$lambda_cql,
                    lambda_r = object$settings$lambda_r,
                    eps = object$settings$eps,
                    prior = if (object$prior_fixed) "fixed" else "empirical"),
    convergence = conv, objective = objective_table(object),
    beta = stats::setNames(q, c("min", "q1", "median", "q3", "max")),
    prior = object$prior, reliability = fit_reliability(object),
    fit = behaviour_fit(object), diagnostics = object$diagnostics,
    participants = predict_beta_fitted(object, 0.95)
  )
  out$reliability_split <- rel_split
  class(out) <- "summary.rlpsy_fit"
  out
}

#' The split-half row for summary(): NULL when not asked for, computed for
#' TRUE, taken from an rlpsy_reliability of this fit.
#' @noRd
summary_split_half <- function(fit, reliability) {
  if (is.null(reliability) || isFALSE(reliability)) return(NULL)
  if (isTRUE(reliability)) {
    reliability <- rlpsy_reliability(fit, method = "split-half", split = "odd-even")
  }
  if (!inherits(reliability, "rlpsy_reliability")) {
    rlpsy_abort("`reliability` must be NULL, TRUE (compute the odd-even ",
                "split-half reliability) or the result of rlpsy_reliability(), ",
                "not ", describe_type(reliability), ".")
  }
  if (!identical(attr(reliability, "fit_key"), fit_key(fit))) {
    rlpsy_abort("`reliability` was computed on another fit: call ",
                "rlpsy_reliability() on this one.")
  }
  row <- reliability[reliability$method == "split-half", , drop = FALSE]
  if (nrow(row) == 0L) {
    rlpsy_abort("`reliability` has no split-half figure: use ",
                "rlpsy_reliability(fit, method = \"split-half\").")
  }
  row <- as.data.frame(unclass(row), stringsAsFactors = FALSE)
  attr(row, "times") <- attr(reliability, "times")
  row
}

#' The identification block of print.summary.rlpsy_fit
#' @noRd
print_diagnostics <- function(dg, digits) {
  f <- function(v) format(v, digits = digits)
  cat("Identification:\n")
  cat("  task consistency = ", if (is.na(dg$task_consistency))
    "NA (no task values: learned reward)" else paste0(
      f(dg$task_consistency), " (correlation of the fitted and the task's advantage)"),
    "\n", sep = "")
  cat("  Spearman cor(beta, number of decisions) = ", f(dg$cor_beta_decisions),
      "\n", sep = "")
  cat("  near-flat states: ", if (nrow(dg$flat_states))
    show_values(dg$flat_states$state) else "none", "\n", sep = "")
  if (NROW(dg$collapsed_states)) {
    cat("  states whose fitted values collapsed (advantage RMS < 0.99): ",
        show_values(dg$collapsed_states$state), "\n", sep = "")
  }
  if (!is.na(dg$entropy_ratio)) {
    cat("  entropy bonus / reward range = ", f(dg$entropy_ratio),
        if (dg$entropy_ratio > 1) " (> 1: the bonus outweighs the reward)", "\n", sep = "")
  }
  cat("  (state, action) pairs never taken, left out of the choice sets: ",
      nrow(dg$never_taken), "\n\n", sep = "")
}

#' The fit's empirical reliability of log(beta): one number, or one per
#' dimension (named) with several dimensions of beta
#' @noRd
fit_reliability <- function(fit) {
  if (!is.matrix(fit$z)) return(reliability(fit$z, fit$se))
  vapply(stats::setNames(seq_len(ncol(fit$z)), colnames(fit$z)),
         function(d) reliability(fit$z[, d], fit$se[, d]), numeric(1))
}

#' The prior of log(beta) in words: "N(mu = 0.1, sigma = 0.5)", or with
#' several dimensions "MVN(mu = (a 0.1, b 0.2), sd = (a 0.5, b 0.4),
#' cor = (a-b 0.5))"
#' @noRd
prior_text <- function(prior, f) {
  if (!is.list(prior) || is.null(prior$Sigma)) {
    return(paste0("N(mu = ", f(prior[["mu"]]), ", sigma = ", f(prior[["sigma"]]), ")"))
  }
  lab <- names(prior$mu)
  R <- stats::cov2cor(prior$Sigma)
  up <- which(upper.tri(R), arr.ind = TRUE)
  each <- function(v, nm) paste(nm, f(v), collapse = ", ")
  paste0("MVN(mu = (", each(prior$mu, lab), "), sd = (",
         each(sqrt(diag(prior$Sigma)), lab), "), cor = (",
         each(R[up], paste0(lab[up[, 1L]], "-", lab[up[, 2L]])), "))")
}

#' Empirical reliability var(z) / (var(z) + mean(se^2))
#' @noRd
reliability <- function(z, se) {
  if (length(z) < 2L) return(NA_real_)
  v <- stats::var(z)
  v / (v + mean(se^2))
}

#' Objective components with their weights and weighted contributions
#' @noRd
objective_table <- function(fit) {
  comp <- fit$objective
  st <- fit$settings
  rows <- c("behaviour", "bellman", "cql", "reward_l2", "prior")
  value <- comp[rows]
  weight <- c(1, st$lambda_bell, st$lambda_cql, if (is.null(fit$w)) 0 else st$lambda_r, 1)
  contribution <- value * weight
  cbind(value = c(value, total = comp[["total"]]),
        weight = c(weight, NA),
        contribution = c(contribution, total = comp[["total"]]))
}

#' Log-likelihood, McFadden pseudo-R^2 and hit rate of the fitted policy
#' (vectorised over decisions; see the "Behaviour fit" section of summary)
#' @noRd
behaviour_fit <- function(fit) {
  d <- fit$data
  s <- d$state + 1L
  a <- d$action + 1L
  av <- d$available
  ll <- -fit$objective[["behaviour"]]
  ll0 <- -sum(log(rowSums(av))[s])
  A <- fit$advantage
  A[!av] <- -Inf
  amax <- A[cbind(seq_len(nrow(A)), max.col(A, ties.method = "first"))]
  top <- A >= amax - 1e-10
  hit <- mean(top[cbind(s, a)] / rowSums(top)[s])
  c(loglik = ll, loglik_per_decision = ll / d$n_decisions, loglik_uniform = ll0,
    pseudo_r2 = if (ll0 < 0) 1 - ll / ll0 else NA_real_, hit_rate = hit)
}

#' @rdname summary.rlpsy_fit
#' @export
print.summary.rlpsy_fit <- function(x, digits = max(3L, getOption("digits") - 3L), ...) {
  check_dots_empty_rlpsy("print()", ...)
  digits <- check_count(digits, "digits", min = 1, max = 22)
  f <- function(v) format(v, digits = digits)
  n <- x$n
  st <- x$settings
  cv <- x$convergence
  cat("RL psychometric model (rlpsy)\n\n")
  cat("Call:\n", paste(deparse(x$call), collapse = "\n"), "\n\n", sep = "")
  cat("Data: ", count_of(n[["decisions"]], "decision"), " by ",
      count_of(n[["participants"]], "participant"), "; ",
      count_of(n[["terminal"]], "terminal transition"), "\n      ",
      count_of(n[["states"]], "state"), " (", n[["states_with_decisions"]],
      " with decisions), ", count_of(n[["actions"]], "action"), "\n", sep = "")
  cat("Reward: ", x$reward_text, "\n", "Q:      ", x$q_form, "\n\n", sep = "")
  cat("Model settings:\n")
  cat("  gamma = ", f(st$gamma), ", tau = ", f(st$tau), ", lambda_bell = ",
      f(st$lambda_bell), ", lambda_cql = ", f(st$lambda_cql), ", lambda_r = ",
      f(st$lambda_r), if (x$reward == "observed") " (unused)", "\n", sep = "")
  cat("  Q: ", if (st$q == "task") "fixed at the task's values (q = \"task\")" else
    paste0("estimated jointly (q = \"joint\"); Bellman weight in units of ",
           "v = ", f(st$unit), " (the task's value unit)"),
      "; advantage normalised per ", st$normalise, "\n", sep = "")
  cat("  prior of log(beta): ", if (st$prior == "fixed") "fixed" else
    "empirical Bayes", "\n\n", sep = "")
  print_diagnostics(x$diagnostics, digits)
  cat("Convergence:\n")
  cat("  EM ", if (cv$converged) paste0("converged in ", count_of(cv$iterations, "iteration"))
      else paste0("NOT converged: stopped at max_iter = ", cv$max_iter),
      " (tol = ", format(cv$tol), ", tol_z = ", format(cv$tol_z), ")\n", sep = "")
  cat("  E-step status: ", paste(names(cv$estep_status), cv$estep_status,
                                 sep = " ", collapse = ", "), "\n\n", sep = "")
  cat("Objective (minimised):\n")
  print_table(x$objective, digits)
  cat("\nInverse temperature beta:\n")
  b <- format(x$beta, digits = digits)
  names(b) <- c("Min.", "1st Qu.", "Median", "3rd Qu.", "Max.")
  txt <- utils::capture.output(print.default(b, quote = FALSE, right = TRUE))
  cat(paste0("  ", txt), sep = "\n")
  if (!is.list(x$prior) || is.null(x$prior$Sigma)) {
    cat("  log(beta): mu = ", f(x$prior[["mu"]]), ", sigma = ", f(x$prior[["sigma"]]),
        "\n\n", sep = "")
  } else {
    cat("  log(beta) ~ ", prior_text(x$prior, f), "\n\n", sep = "")
  }
  cat("Reliability of log(beta):\n")
  cat("  model (conditional on Q): ", if (length(x$reliability) > 1L)
    paste(names(x$reliability), f(x$reliability), sep = " ", collapse = ", ") else
      f(x$reliability), "\n", sep = "")
  cat("  ", if (is.null(x$reliability_split))
    "split-half: not computed (rlpsy_reliability(fit))" else
      reliability_line(x$reliability_split, digits, attr(x$reliability_split, "times")),
    "\n\n", sep = "")
  fit <- x$fit
  cat("Behaviour fit:\n")
  cat("  log-likelihood = ", f(fit[["loglik"]]), " (", f(fit[["loglik_per_decision"]]),
      " per decision)\n", sep = "")
  cat("  McFadden pseudo-R^2 = ", f(fit[["pseudo_r2"]]),
      " (against uniform choice among available actions)\n", sep = "")
  cat("  hit rate = ", f(fit[["hit_rate"]]),
      " (most probable action is the one chosen)\n", sep = "")
  invisible(x)
}

#' Print a numeric matrix indented, NA as empty
#' @noRd
print_table <- function(m, digits) {
  out <- m
  storage.mode(out) <- "character"
  for (j in seq_len(ncol(m))) out[, j] <- format(m[, j], digits = digits)
  out[is.na(m)] <- ""
  txt <- utils::capture.output(print.default(out, quote = FALSE, right = TRUE))
  cat(paste0("  ", txt), sep = "\n")
}

# --- coef and confint ----------------------------------------------------------------

#' Participant scores and their confidence intervals
#'
#' `coef()` returns the estimated inverse temperature \eqn{\hat\beta_j} of
#' every participant (or \eqn{\hat z_j = \log\hat\beta_j}); `confint()`
#' returns intervals for \eqn{\beta_j}: by default (`method = "wald"`) Wald
#' intervals built on the log scale and exponentiated,
#' \eqn{[\exp(\hat z_j - q\,SE_j), \exp(\hat z_j + q\,SE_j)]} with \eqn{q}
#' the standard normal quantile for `level` (specification section 6.2);
#' with `method = "boot"`, participant-bootstrap intervals that also carry
#' the uncertainty of the value function and the prior (see "Bootstrap
#' intervals"); with `method = "sandwich"`, Wald intervals whose variance
#' adds the uncertainty of the value function by the delta method (see
#' "Sandwich intervals").
#'
#' What each covers:
#' * `"wald"`: the measurement error of \eqn{z_j} given the estimated value
#'   function and prior. Fast; too narrow, and centred on an attenuated
#'   \eqn{\hat\beta_j}, when the advantage is noisy (few decisions per
#'   state, learned reward).
#' * `"boot"`: measurement error plus the sampling variability of the value
#'   function and the prior, and a correction for the part of the
#'   attenuation bias that the bootstrap can see. About `R` refits.
#' * `"sandwich"`: measurement error plus the sampling variability of the
#'   value function and reward (robust covariance), with the prior held
#'   fixed and no bias correction. For fits with at most 2,000 task
#'   parameters (Q and reward); \eqn{2p} profiled gradient evaluations
#'   plus one gradient per participant (on the data without them), so its
#'   cost grows with participants times decisions.
#'
#' The estimates are posterior modes of \eqn{z_j} under the prior
#' \eqn{N(\mu, \sigma^2)} of `fit$prior`, and \eqn{SE_j} is the inverse
#' square root of minus the exact second derivative of the participant's
#' log posterior at its mode. Both are conditional on the estimated value
#' function: its uncertainty is not propagated, so the Wald intervals are
#' somewhat too narrow when there are few decisions per state.
#'
#' @section Bootstrap intervals:
#' `method = "boot"` resamples the participants with replacement `R` times
#' and refits the model to each sample with the fit's settings (so the
#' value function and the prior are estimated again, as they would be from
#' another sample of people). Every selected participant's own decisions are
#' then scored under each replicate's value function and prior (as
#' `predict(type = "beta")` scores new participants), giving \eqn{\hat
#' z_{jb}} and \eqn{SE_{jb}}. The interval is made of the quantiles of the
#' mixture of the normals \eqn{N(\hat z_{jb}, SE_{jb}^2)} over the
#' replicates: the spread of \eqn{\hat z_{jb}} over replicates is the
#' uncertainty due to the value function, and \eqn{SE_{jb}} the measurement
#' error given it (the same as drawing \eqn{z \sim N(\hat z_{jb},
#' SE_{jb}^2)} in every replicate, without the Monte Carlo error). With
#' \eqn{q_{lo}, q_{hi}} the mixture's \eqn{(1 \mp} `level`\eqn{)/2}
#' quantiles, the interval is the basic (reflected) bootstrap interval
#' \eqn{[\exp(2\hat z_j - q_{hi}), \exp(2\hat z_j - q_{lo})]}. The
#' reflection matters: errors in the advantage attenuate \eqn{\hat\beta}
#' (bias toward 0), and re-scoring under a replicate's value function adds
#' a second dose of that error, so the mixture sits below \eqn{\hat z_j}
#' by about the bias of \eqn{\hat z_j}; its plain percentiles would double
#' the bias, the reflection removes it. The bootstrap sees only the
#' sampling variability of the value function, not the bias of the
#' penalised estimate itself, so it corrects part of the attenuation: in
#' `bench/coverage.R` (learned reward, 100 participants with 30 decisions
#' each, 5 data sets per task, `R = 200`) the 95% intervals cover the true
#' \eqn{\beta_j} of 88% (Wald) and 94.4% (bootstrap) of participants on a
#' 30-state task, and 77% and 89% on a 35-state task, where the bias of the
#' penalised value function itself dominates (see
#' `bench/results/coverage.md`). A decision whose action no
#' resampled participant took in that state is outside the replicate's
#' choice sets and is left out of that replicate's score. Each replicate is
#' a full refit (warm-started from `object`), so this takes about `R` times
#' as long as the fit; `seed` makes it reproducible and leaves the caller's
#' random number stream as it was. The result has attributes `R` (the
#' replicates used) and `failed` (refits that stopped with an error and
#' were skipped). Profile-likelihood intervals are not implemented.
#'
#' @section Sandwich intervals:
#' `method = "sandwich"` keeps the Wald form \eqn{\exp(\hat z_j \pm q\,
#' s_j)} with \eqn{s_j^2 = SE_j^2 + g_j' V g_j}. Here \eqn{x} are the task
#' parameters (Q's parameters and the learned reward's), \eqn{z^*(x)} the
#' participants' modes at \eqn{x} (prior held at `fit$prior`), \eqn{g_j =
#' \partial z_j^* / \partial x}, and \eqn{V = H^{+} B H^{+}} the sandwich
#' covariance of \eqn{\hat x}: \eqn{H} the Hessian of the profiled
#' objective \eqn{J^*(x) = \min_z J(x, z)} and \eqn{B} the centred sum over
#' participants of the outer products of each participant's contribution to
#' the gradient of \eqn{J} in \eqn{x} (exact for the behaviour and CQL
#' terms; for the Bellman term, whose targets are pooled over everyone's
#' transitions, the participant's jackknife influence: the gradient less
#' that without the participant). \eqn{H} and \eqn{g_j} are central
#' differences of the exact gradient and of the E-step, \eqn{2p}
#' evaluations for \eqn{p} parameters, and \eqn{H^{+}} drops the directions
#' the objective does not determine. The parameters of states whose fitted
#' values collapsed to a near-tie (`fit$diagnostics$collapsed_states`) are
#' held fixed: their curvature is some \eqn{10^8} times the rest, which
#' made the differences meaningless and the pseudo-inverse drop most
#' well-determined directions. It is therefore limited to fits with at
#' most 2,000 task parameters (an error names `method = "boot"` otherwise),
#' to MAP fits without `person_formula`, and it does not correct the
#' attenuation bias. It is a local (first-order) approximation and can
#' understate what the bootstrap sees: on the test gridworld (observed
#' reward, 25 participants) the added standard deviation
#' \eqn{\sqrt{g_j' V g_j}} averages 0.022 on the log scale, against a
#' spread of the re-scored modes over bootstrap refits of 0.064 (prior held
#' fixed) and 0.087 (prior re-estimated); its intervals are 1-2% wider than
#' Wald's. In `bench/coverage.R` (learned reward, 240-280 task parameters,
#' under 0.4 s a fit) it covers 0.78 and 0.89 where Wald covers 0.77 and
#' 0.88 and the bootstrap 0.89 and 0.94. Why it stays below the bootstrap,
#' measured on one such data set: the spread of the per-participant
#' gradients equals \eqn{B} (within 4%), but the refits' task parameters
#' move about twice as far as the linear response \eqn{-H^{+}g} predicts,
#' and in directions it predicts poorly (median correlation 0.29): the
#' penalised problem is strongly nonlinear at the scale of its own sampling
#' variation; re-estimating the prior adds another 30% to the bootstrap's
#' variance. Prefer `method = "boot"` where the refits are affordable. The
#' result has an attribute `se`, the \eqn{s_j}.
#'
#' @param object an `rlpsy_fit` object.
#' @param type `"beta"` (default) for \eqn{\hat\beta_j}, `"log"` for
#'   \eqn{\hat z_j = \log\hat\beta_j}.
#' @param parm participants to include: a character vector of participant
#'   labels or a vector of indices into `coef(object)`; all when missing.
#' @param level the confidence level, strictly between 0 and 1.
#' @param method `"wald"` (default), `"boot"` or `"sandwich"`; see
#'   "Bootstrap intervals" and "Sandwich intervals".
#' @param R number of bootstrap replicates (`method = "boot"`), at least 2.
#' @param seed `NULL` or a whole number: the seed of the bootstrap
#'   (`method = "boot"`); the caller's random number stream is restored.
#' @param ... not used: any other argument is an error.
#' @return `coef()`: a numeric vector named by participant. `confint()`: a
#'   matrix with one row per selected participant (row names: participant
#'   labels) and two columns, the lower and upper limits of \eqn{\beta_j},
#'   named as in [stats::confint()] (`"2.5 %"`, `"97.5 %"` for the default
#'   level). With several dimensions of beta (`dimension` in [rlpsy_fit()]):
#'   `coef()` is a participants x dimensions matrix, and `confint()` has
#'   one row per selected participant and dimension, named
#'   `"participant:dimension"` (participant-major, as lme4 names grouped
#'   terms); `parm` selects participants; `method = "boot"` gives the same
#'   rows (each replicate refits with the dimensions and re-scores every
#'   dimension); `method = "sandwich"` is not available (class
#'   `rlpsy_error_unsupported`).
#' @section Errors and warnings: An error of class `rlpsy_error_input` when
#'   `type` or `method` is not one of the allowed values (for example
#'   `method = "profile"`: only `"wald"`, `"boot"` and `"sandwich"` exist),
#'   when `R` or `seed` are given without `method = "boot"`, when
#'   `method = "sandwich"` meets a fit with more than 2,000 task parameters,
#'   a marginal fit or one with `person_formula`, when `...` is not empty, when
#'   `level` is not a single
#'   number strictly between 0 and 1 (`NA`, `NaN`, 0, 1, a string or a
#'   vector), or when `parm` names participants not in the fit, has indices
#'   out of range or `NA` (the message lists them). No warnings: a
#'   participant whose E-step did not converge keeps finite estimates and is
#'   flagged in `fit$participants$status` and in the one warning of
#'   [rlpsy_fit()]. With `method = "boot"`, warnings of the refits are
#'   gathered into one per kind (class `rlpsy_warning_<kind>`).
#' @seealso [predict.rlpsy_fit()] with `type = "beta"` for the same numbers
#'   as a data frame, and for scoring new participants.
#' @examples
#' fit <- rlpsy_fit(rlpsy_example, participant = "participant",
#'                  state = "state", action = "action",
#'                  next_state = "next_state", done = "done",
#'                  reward = "reward", gamma = 0.9, tau = 0.05,
#'                  control = rlpsy_control(threads = 1))
#' head(coef(fit))
#' head(coef(fit, type = "log"))
#' confint(fit, parm = c("p0001", "p0002"))
#' confint(fit, parm = 1:3, level = 0.9)
#' # intervals that include the uncertainty of Q (R = 20 refits; use more)
#' confint(fit, parm = 1:3, method = "boot", R = 20, seed = 1)
#' # the same by the delta method and a robust covariance of Q (no refits)
#' confint(fit, parm = 1:3, method = "sandwich")
#' @importFrom stats coef confint
#' @export
coef.rlpsy_fit <- function(object, type = c("beta", "log"), ...) {
  check_dots_empty_rlpsy("coef()", ...)
  type <- check_choice(type, c("beta", "log"), "type")
  if (type == "beta") object$beta else object$z
}

#' @rdname coef.rlpsy_fit
#' @export
confint.rlpsy_fit <- function(object, parm, level = 0.95,
                              method = c("wald", "boot", "sandwich"), R = 200,
                              seed = NULL,
                              ...) {
  check_dots_empty_rlpsy("confint()", ...)
  method <- check_choice(method, c("wald", "boot", "sandwich"), "method")
  level <- check_level(level)
  labels <- if (is.matrix(object$z)) rownames(object$z) else names(object$z)
  j <- if (missing(parm)) seq_along(labels) else select_participants(parm, labels)
  if (method == "boot") return(boot_limits(object, j, level, R, seed))
  if (!missing(R) || !is.null(seed)) {
    rlpsy_abort("`R` and `seed` are settings of the bootstrap: use them with ",
                "method = \"boot\", not with the ", method, " intervals.")
  }
  if (method == "sandwich") return(sandwich_limits(check_one_dimension(
    object, "confint(method = \"sandwich\")"), j, level))
  if (is.matrix(object$z)) return(confint_dims(object, j, level))
  wald_limits(object$z[j], object$se[j], level)
}

#' Wald intervals of a fit with several dimensions of beta: one row per
#' selected participant and dimension, named "participant:dimension"
#' (participant-major, as `fit$participants`)
#' @noRd
confint_dims <- function(fit, j, level) {
  z <- t(fit$z[j, , drop = FALSE])
  se <- t(fit$se[j, , drop = FALSE])
  z <- stats::setNames(as.vector(z), paste0(rep(rownames(fit$z)[j], each = ncol(fit$z)),
                                            ":", colnames(fit$z)))
  wald_limits(z, as.vector(se), level)
}

#' exp(z -+ q se) as a matrix with stats::confint column names
#' @noRd
wald_limits <- function(z, se, level) {
  q <- stats::qnorm((1 + level) / 2)
  probs <- c((1 - level) / 2, (1 + level) / 2)
  ci <- cbind(exp(z - q * se), exp(z + q * se))
  dimnames(ci) <- list(names(z), paste(format(100 * probs, trim = TRUE,
                                              scientific = FALSE, digits = 3), "%"))
  ci
}

#' Stop unless `level` is a single number strictly between 0 and 1
#' @noRd
check_level <- function(level, arg = "level") {
  ok <- is.numeric(level) && length(level) == 1L && !is.na(level) &&
    level > 0 && level < 1
  if (!ok) {
    rlpsy_abort("`", arg, "` must be a single number strictly between 0 and 1, not ",
                describe_value(level), ".")
  }
  as.double(level)
}

#' Match a single-string choice argument (partial matching; the full default
#' vector means its first element)
#' @noRd
check_choice <- function(x, choices, arg) {
  if (identical(x, choices)) return(choices[1L])
  i <- if (is.character(x) && length(x) == 1L && !is.na(x)) pmatch(x, choices) else NA
  if (is.na(i)) {
    rlpsy_abort("`", arg, "` must be one of ", show_values(choices, max = 10L),
                ", not ", describe_value(x), ".")
  }
  choices[i]
}

#' Indices of participants selected by label or by index
#' @noRd
select_participants <- function(parm, labels, arg = "parm") {
  if (is.factor(parm)) parm <- as.character(parm)
  if (is.character(parm) && !anyNA(parm)) {
    bad <- unique(parm[!parm %in% labels])
    if (length(bad)) {
      rlpsy_abort("`", arg, "` names ", if (length(bad) == 1L) "a participant" else
        "participants", " not in the fit: ", show_values(bad), ". Participants: ",
        show_values(labels), ".")
    }
    return(match(parm, labels))
  }
  if (is.numeric(parm) && !anyNA(parm)) {
    bad <- unique(parm[parm < 1 | parm > length(labels) | parm != round(parm)])
    if (length(bad)) {
      rlpsy_abort("`", arg, "` must hold whole numbers from 1 to ", length(labels),
                  " (the number of participants), but has ", show_values(bad), ".")
    }
    return(as.integer(parm))
  }
  rlpsy_abort("`", arg, "` must be participant labels (character) or indices ",
              "(whole numbers) without NA, not ", describe_value(parm), ".")
}

# --- logLik and nobs ------------------------------------------------------------------

#' Log-likelihood and number of decisions of a fit
#'
#' `logLik()` returns the behaviour log-likelihood
#' \eqn{\sum_t \log\pi(a_t \mid s_t, \hat\beta_{j(t)})} of the fit, the
#' negative of the `behaviour` component of `fit$objective`, with the
#' attributes `df` and `nobs` that [AIC()] and [BIC()] use. `nobs()` is the
#' number of decisions.
#'
#' The degrees of freedom count the parameters the choices depend on:
#' one \eqn{\beta_j} per participant plus, for each state in which at least
#' one decision was logged, \eqn{\max(K_s - 2, 0)} for its identified
#' advantage over its \eqn{K_s} available actions (the advantage is centred,
#' which removes one parameter, and scaled to unit root-mean-square, which
#' removes another; a state with two actions contributes none, since its
#' advantage is \eqn{\pm 1}). States without decisions do not count. The
#' value function, the learned reward and the prior enter only through
#' the penalties and are not counted.
#'
#' The \eqn{\hat\beta_j} are posterior modes under the prior and the
#' advantage is penalised by the Bellman (and CQL) terms, so this is not a
#' maximised likelihood: use AIC and BIC as rough guides when comparing fits
#' of the same data (for example different `gamma` or `lambda_bell`), not as
#' exact criteria.
#'
#' With `type = "marginal"`, the likelihood with each \eqn{\log\beta_j}
#' integrated over the fitted prior instead, from [rlpsy_marginal_loglik()].
#' For a fit with `method = "marginal"` this is the default (see
#' "Degrees of freedom").
#'
#' @section Degrees of freedom:
#' Of a MAP fit (`type = "conditional"`): one \eqn{\beta_j} per participant
#' plus the advantage's \eqn{\max(K_s - 2, 0)} per state with decisions, as
#' above; Q's other entries, the learned reward and the prior are not
#' counted. Of the marginal likelihood (`type = "marginal"`, and every
#' `logLik()` of a marginal fit): every free parameter, the
#' \eqn{\beta_j} integrated out: for a tabular Q, per state with decisions
#' its \eqn{K_s} values less the centring and the per-state scale
#' (\eqn{\max(K_s - 2, 0)}; with `normalise = "global"` one scale for all
#' states, \eqn{\sum_s (K_s - 1) - 1}); for Q features, the number of
#' parameters; for a learned reward, its free parameters (the (state,
#' action) pairs with transitions for the default table); for the prior,
#' 2 (\eqn{\mu, \sigma}) or the latent regression's coefficients plus 1,
#' and with D dimensions of beta D means (or the D x terms coefficients)
#' plus the D(D + 1)/2 parameters of \eqn{\Sigma} (none when the prior is
#' fixed). Q's per-state shifts and scale, which the
#' penalties pin, are not counted: they do not change the likelihood.
#'
#' With `newdata`, the held-out log-likelihood of its decisions: the sum
#' over its rows of log pi(a | s, beta) under the fitted task (or the new
#' task of `features`), with the betas of [predict.rlpsy_fit()]'s
#' `type = "prob"`: `beta` when given, else the fitted beta of the fit's
#' participants, and participants who are not in the fit scored on
#' `newdata` itself (so their part is not held out; see [rlpsy_cv()] for
#' held-out people). Its `nobs` is the number of rows.
#'
#' @param object an `rlpsy_fit` object.
#' @param newdata `NULL` (the fitted data), or a data frame of decisions
#'   (participant, state and action columns, named as in the fit).
#' @param features,beta as in [predict.rlpsy_fit()], with `newdata`.
#' @param type `"conditional"` (default: at the posterior modes) or
#'   `"marginal"` (see [rlpsy_marginal_loglik()]; not with `newdata`).
#' @param nodes quadrature nodes per dimension of beta for `type =
#'   "marginal"`: `NULL` (default) for a marginal fit's own number, else
#'   that of [rlpsy_marginal_loglik()] (21, 15 or 9 for 1, 2 or 3
#'   dimensions).
#' @param ... not used.
#' @return `logLik()`: an object of class `logLik`, a number with attributes
#'   `df` and `nobs`. `nobs()`: the number of decisions, an integer.
#' @section Errors and warnings: An error of class `rlpsy_error_input` when
#'   `type` or `nodes` is not allowed. No warnings.
#' @examples
#' fit <- rlpsy_fit(rlpsy_example, participant = "participant",
#'                  state = "state", action = "action",
#'                  next_state = "next_state", done = "done",
#'                  reward = "reward", gamma = 0.9, tau = 0.05,
#'                  control = rlpsy_control(threads = 1))
#' logLik(fit)
#' logLik(fit, type = "marginal")  # log(beta) integrated over the prior
#' nobs(fit)
#' AIC(fit)
#' BIC(fit)
#' @importFrom stats logLik nobs
#' @export
logLik.rlpsy_fit <- function(object, type = c("conditional", "marginal"),
                             nodes = NULL, newdata = NULL, features = NULL,
                             beta = NULL, ...) {
  check_dots_empty_rlpsy("logLik()", ...)
  if (missing(type) && is.null(newdata) && identical(object$method, "marginal")) type <- "marginal"
  if (missing(nodes) && !is.null(object$marginal)) nodes <- object$marginal$nodes
  type <- check_choice(type, c("conditional", "marginal"), "type")
  if (!is.null(newdata) || !is.null(features) || !is.null(beta)) {
    if (type == "marginal") {
      rlpsy_abort("type = \"marginal\" is the likelihood of the fitted data; ",
                  "with `newdata` use type = \"conditional\".")
    }
    if (is.null(newdata)) {
      rlpsy_abort("`features` and `beta` need `newdata`: the decisions to evaluate.")
    }
    lp <- heldout_logprob(object, newdata, features, beta)
    return(structure(sum(lp), df = loglik_df(object), nobs = length(lp),
                     class = "logLik"))
  }
  if (type == "marginal") return(rlpsy_marginal_loglik(object, nodes))
  structure(-object$objective[["behaviour"]], df = loglik_df(object),
            nobs = object$data$n_decisions, class = "logLik")
}

#' Degrees of freedom of the behaviour likelihood: J + sum over states with
#' decisions of max(K_s - 2, 0)
#' @noRd
loglik_df <- function(fit) {
  d <- fit$data
  visited <- tabulate(d$state + 1L, d$n_states) > 0L
  k <- rowSums(d$available)[visited]
  as.integer(d$n_participants * n_dimensions(d) + sum(pmax(k - 2, 0)))
}

#' @rdname logLik.rlpsy_fit
#' @export
nobs.rlpsy_fit <- function(object, ...) {
  check_dots_empty_rlpsy("nobs()", ...)
  object$data$n_decisions
}
