# The standard accessors of stats for rlpsy_fit: fitted, residuals,
# deviance, df.residual, sigma and vcov. Each works or errors clearly;
# none returns NULL. The probabilities come from predict(type = "prob").

#' Fitted probabilities, residuals and deviance of the choices
#'
#' A fit predicts, for each decision, the probability
#' \eqn{p_t = \pi(a_t \mid s_t, \hat\beta_{j(t)})} of the action that was
#' chosen. `fitted()` returns these probabilities and `residuals()` the
#' residuals of the indicator of the chosen action (which is 1) against them:
#' * `"response"`: \eqn{1 - p_t};
#' * `"pearson"`: \eqn{(1 - p_t) / \sqrt{p_t (1 - p_t)}} (0 when
#'   \eqn{p_t = 1}, a state with one available action);
#' * `"deviance"`: \eqn{\sqrt{-2 \log p_t}}, so that the squared deviance
#'   residuals add up to the deviance.
#' All are \eqn{\ge 0} and large for surprising choices. For residuals of
#' each action's count in a state, see [rlpsy_fit_stats()].
#'
#' `deviance()` is \eqn{-2} times the behaviour log-likelihood of
#' [logLik.rlpsy_fit()], conditional on the posterior-mode scores
#' \eqn{\hat\beta_j} and the fitted advantage (not a marginal deviance;
#' with `flat_states = "drop"` the decisions in dropped states are left
#' out of it, but not out of `fitted()`). `df.residual()` is the number of
#' decisions minus the degrees of freedom of `logLik()`. `sigma()` is the
#' standard deviation \eqn{\sigma} of the prior of \eqn{\log\beta_j}
#' (`fit$prior`), the spread of the scores in the population.
#'
#' `vcov()` is not available: the fit has no joint covariance matrix (the
#' value function has no standard errors, and those of \eqn{\log\beta_j} are
#' per participant and conditional on it). It is an error of class
#' `rlpsy_error_unsupported` that points to what there is:
#' [confint.rlpsy_fit()] (Wald, or `method = "boot"` including the
#' uncertainty of the value function) and the `std.error` of
#' [tidy.rlpsy_fit()].
#'
#' @param object an `rlpsy_fit` object.
#' @param type the type of residual: `"response"` (default), `"pearson"`
#'   or `"deviance"`.
#' @param ... not used: any other argument is an error.
#' @return `fitted()`, `residuals()`: numeric vectors with one element per
#'   decision of the fitted data, in its original row order. `deviance()`,
#'   `sigma()`: a number. `df.residual()`: an integer.
#' @section Errors and warnings: An error of class `rlpsy_error_input` for a
#'   bad `type` or any argument in `...`; `vcov()` always raises an error of
#'   class `rlpsy_error_unsupported`. No warnings.
#' @seealso [augment()][tidy.rlpsy_fit()] for the same numbers next to the
#'   decisions, [logLik.rlpsy_fit()].
#' @examples
#' fit <- rlpsy_fit(rlpsy_example, "participant", "state", "action",
#'                  "next_state", done = "done", reward = "reward",
#'                  gamma = 0.9, tau = 0.05,
#'                  control = rlpsy_control(threads = 1))
#' head(fitted(fit))
#' head(residuals(fit, type = "pearson"))
#' all.equal(deviance(fit), sum(residuals(fit, type = "deviance")^2))
#' df.residual(fit)
#' sigma(fit)
#' try(vcov(fit))
#' @importFrom stats fitted residuals deviance df.residual sigma vcov
#' @export
fitted.rlpsy_fit <- function(object, ...) {
  check_dots_empty_rlpsy("fitted()", ...)
  chosen_probability(object, NULL)
}

#' @rdname fitted.rlpsy_fit
#' @export
residuals.rlpsy_fit <- function(object, type = c("response", "pearson", "deviance"),
                                ...) {
  check_dots_empty_rlpsy("residuals()", ...)
  type <- check_choice(type, c("response", "pearson", "deviance"), "type")
  choice_residuals(chosen_probability(object, NULL), type)
}

#' @rdname fitted.rlpsy_fit
#' @export
deviance.rlpsy_fit <- function(object, ...) {
  check_dots_empty_rlpsy("deviance()", ...)
  -2 * as.numeric(logLik(object))
}

#' @rdname fitted.rlpsy_fit
#' @export
df.residual.rlpsy_fit <- function(object, ...) {
  check_dots_empty_rlpsy("df.residual()", ...)
  as.integer(object$data$n_decisions - attr(logLik(object), "df"))
}

#' @rdname fitted.rlpsy_fit
#' @export
sigma.rlpsy_fit <- function(object, ...) {
  check_dots_empty_rlpsy("sigma()", ...)
  if (is.matrix(object$z)) return(sqrt(diag(object$prior$Sigma)))
  object$prior[["sigma"]]
}

#' @rdname fitted.rlpsy_fit
#' @export
vcov.rlpsy_fit <- function(object, ...) {
  check_dots_empty_rlpsy("vcov()", ...)
  rlpsy_abort("vcov() is not available for an rlpsy_fit: there is no joint ",
              "covariance matrix (the value function has no standard errors). ",
              "Use confint(fit) for Wald intervals of each beta, ",
              "confint(fit, method = \"boot\") for intervals that include the ",
              "uncertainty of the value function, or tidy(fit)$std.error for ",
              "the standard errors of log(beta).", class = "unsupported")
}

#' Probability of the chosen action of each decision: of the fitted data in
#' its original row order (newdata NULL), or of the rows of newdata
#' @noRd
chosen_probability <- function(fit, newdata) {
  d <- fit$data
  if (is.null(newdata)) {
    a <- d$action[order(d$row)]
  } else {
    check_data_frame(newdata, "newdata")
    a <- encode_newdata(d, newdata, need = c("participant", "state", "action"),
                        allow_new_participants = TRUE)$action
  }
  P <- stats::predict(fit, newdata = newdata, type = "prob")
  P[cbind(seq_len(nrow(P)), a + 1L)]
}

#' Residuals of the chosen-action indicator against its probability p
#' @noRd
choice_residuals <- function(p, type) {
  switch(type,
    response = 1 - p,
    pearson = ifelse(p >= 1, 0, sqrt((1 - p) / p)),
    deviance = sqrt(-2 * log(p))
  )
}
