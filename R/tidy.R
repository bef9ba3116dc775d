# Tidiers (generics::tidy, glance, augment) and data-frame conversions of
# rlpsy_fit and its summary. One person table everywhere: as.data.frame(fit),
# summary(fit)$participants and predict(fit, type = "beta") are the same
# table; tidy(fit) is that table with broom's column names.

#' @importFrom generics tidy glance augment
#' @export
generics::tidy

#' @export
generics::glance

#' @export
generics::augment

#' Tidy a fitted RL psychometric model
#'
#' broom-style summaries of an [rlpsy_fit()] result, for tables in reports
#' (`knitr::kable(tidy(fit))`) and for pipelines. The generics come from the
#' light \pkg{generics} package (re-exported here), so \pkg{broom} need not
#' be installed; with broom or broom.mixed loaded they are the same
#' functions.
#'
#' * `tidy(fit)`: one row per participant: `participant`, `term`
#'   (`"beta"`), `estimate` (\eqn{\hat\beta_j}, or \eqn{\hat z_j =
#'   \log\hat\beta_j} with `scale = "log"`), `std.error` (the standard error
#'   of \eqn{\log\hat\beta_j}, on the log scale whatever `scale`),
#'   `conf.low`, `conf.high` (the Wald interval of [confint.rlpsy_fit()] at
#'   `conf.level`, on the scale of `estimate`), `n_decisions` and `status`
#'   (the E-step status). No test statistic: \eqn{\beta_j = 0} is not a
#'   hypothesis of interest. The numbers are those of
#'   `predict(fit, type = "beta")`, `as.data.frame(fit)` and
#'   `summary(fit)$participants`.
#' * `tidy(fit, effects = "prior")`: the prior of \eqn{\log\beta_j}: rows
#'   `mu` and `sigma` with `estimate`, `std.error`, `conf.low` and
#'   `conf.high` (`NA`: the fit has no standard errors of the
#'   hyper-parameters) and `fixed` (whether the prior was fixed or estimated
#'   by empirical Bayes).
#' * `glance(fit)`: one row: `nobs` (decisions), `n_participants`,
#'   `logLik`, `df`, `AIC`, `BIC`, `deviance` (see [logLik.rlpsy_fit()]),
#'   `mu`, `sigma` (the prior of \eqn{\log\beta}), `reliability` (the
#'   model-based empirical reliability of [summary.rlpsy_fit()], conditional
#'   on Q), `converged` and `iterations`.
#' * `augment(fit)`: the decisions, one row per decision of the fitted data
#'   in its original row order, with the participant, state, action, next
#'   state, done and reward columns (as labels, with the fit's column
#'   names), `.fitted` (the fitted probability of the chosen action,
#'   [fitted.rlpsy_fit()]) and `.resid` (its residual of type
#'   `type.residuals`, [residuals.rlpsy_fit()]). Give the fitted data frame
#'   as `data` to keep all its columns instead. With `newdata` (participant,
#'   state and action columns; participants of the fit), the rows of
#'   `newdata` with `.fitted` and `.resid` of their actions.
#'
#' @param x an `rlpsy_fit` object.
#' @param effects `"participants"` (default) or `"prior"`.
#' @param scale `"beta"` (default) or `"log"`: the scale of `estimate`,
#'   `conf.low` and `conf.high`.
#' @param conf.level confidence level of the intervals, strictly between 0
#'   and 1.
#' @param data `NULL`, or the data frame the model was fitted to (same rows,
#'   same order), whose columns are kept.
#' @param newdata `NULL`, or a data frame of decisions of the fit's
#'   participants with the participant, state and action columns.
#' @param type.residuals `"deviance"` (default), `"pearson"` or
#'   `"response"`; see [residuals.rlpsy_fit()].
#' @param ... not used: any other argument is an error.
#' @return A data frame (plain `data.frame`; it prints as a tibble once
#'   converted with `tibble::as_tibble()`). With several dimensions of beta
#'   (`dimension` in [rlpsy_fit()]), `tidy()` has a `dimension` column (one
#'   row per participant and dimension), `tidy(effects = "prior")` the terms
#'   `mu[d]`, `sigma[d]` and `cor[d1,d2]`, and `glance()` gives `NA` for
#'   `mu`, `sigma` and `reliability`.
#' @section Errors and warnings: An error of class `rlpsy_error_input` for
#'   a bad `effects`, `scale`, `conf.level` or `type.residuals`, a `data`
#'   whose number of rows is not the number of fitted decisions, both
#'   `data` and `newdata`, the errors of [predict.rlpsy_fit()] for a bad
#'   `newdata` (and when it lacks the action column), and for any argument
#'   in `...`. No warnings.
#' @seealso [as.data.frame.rlpsy_fit()], [confint.rlpsy_fit()],
#'   [rlpsy_fit_stats()].
#' @examples
#' fit <- rlpsy_fit(rlpsy_example, participant, state, action, next_state,
#'                  done = done, reward = reward, gamma = 0.9, tau = 0.05,
#'                  control = rlpsy_control(threads = 1))
#' head(tidy(fit))
#' tidy(fit, effects = "prior")
#' glance(fit)
#' head(augment(fit))
#' knitr::kable(head(tidy(fit)), digits = 2)
#' @name tidy.rlpsy_fit
#' @method tidy rlpsy_fit
#' @export
tidy.rlpsy_fit <- function(x, effects = c("participants", "prior"),
                           scale = c("beta", "log"), conf.level = 0.95, ...) {
  check_dots_empty_rlpsy("tidy()", ...)
  effects <- check_choice(effects, c("participants", "prior"), "effects")
  scale <- check_choice(scale, c("beta", "log"), "scale")
  level <- check_level(conf.level, "conf.level")
  if (effects == "prior" && is.matrix(x$z)) return(tidy_prior_dims(x))
  if (effects == "prior") {
    return(data.frame(term = c("mu", "sigma"), estimate = unname(x$prior),
                      std.error = NA_real_, conf.low = NA_real_,
                      conf.high = NA_real_, fixed = isTRUE(x$prior_fixed),
                      stringsAsFactors = FALSE))
  }
  p <- person_table(x, level)
  tr <- if (scale == "log") log else identity
  out <- data.frame(participant = p$participant, term = "beta",
                    estimate = if (scale == "log") p$z else p$beta,
                    std.error = p$se, conf.low = tr(p$lower), conf.high = tr(p$upper),
                    n_decisions = p$n_decisions, status = p$status,
                    stringsAsFactors = FALSE)
  if (is.null(p$dimension)) return(out)
  cbind(out[1L], dimension = p$dimension, out[-1L], stringsAsFactors = FALSE)
}

#' tidy(effects = "prior") with several dimensions of beta: mu and sigma of
#' each dimension (terms "mu[d]", "sigma[d]") and the correlations
#' ("cor[d1,d2]")
#' @noRd
tidy_prior_dims <- function(x) {
  lab <- names(x$prior$mu)
  R <- stats::cov2cor(x$prior$Sigma)
  up <- which(upper.tri(R), arr.ind = TRUE)
  data.frame(term = c(paste0("mu[", lab, "]"), paste0("sigma[", lab, "]"),
                      paste0("cor[", lab[up[, 1L]], ",", lab[up[, 2L]], "]")),
             estimate = c(unname(x$prior$mu), sqrt(diag(x$prior$Sigma)), R[up]),
             std.error = NA_real_, conf.low = NA_real_, conf.high = NA_real_,
             fixed = isTRUE(x$prior_fixed), stringsAsFactors = FALSE)
}

#' @rdname tidy.rlpsy_fit
#' @method glance rlpsy_fit
#' @export
glance.rlpsy_fit <- function(x, ...) {
  check_dots_empty_rlpsy("glance()", ...)
  ll <- logLik(x)
  data.frame(nobs = x$data$n_decisions, n_participants = x$data$n_participants,
             logLik = as.numeric(ll), df = attr(ll, "df"),
             AIC = stats::AIC(ll), BIC = stats::BIC(ll),
             deviance = -2 * as.numeric(ll),
             # one dimension of beta only (several: tidy(x, effects = "prior"))
             mu = if (is.matrix(x$z)) NA_real_ else x$prior[["mu"]],
             sigma = if (is.matrix(x$z)) NA_real_ else x$prior[["sigma"]],
             reliability = if (is.matrix(x$z)) NA_real_ else reliability(x$z, x$se),
             converged = x$converged, iterations = x$iterations)
}

#' @rdname tidy.rlpsy_fit
#' @method augment rlpsy_fit
#' @export
augment.rlpsy_fit <- function(x, data = NULL, newdata = NULL,
                              type.residuals = c("deviance", "pearson", "response"),
                              ...) {
  check_dots_empty_rlpsy("augment()", ...)
  type <- check_choice(type.residuals, c("deviance", "pearson", "response"),
                       "type.residuals")
  if (!is.null(data) && !is.null(newdata)) {
    rlpsy_abort("Give `data` (the fitted data, to keep its columns) or ",
                "`newdata` (other decisions), not both.")
  }
  if (!is.null(newdata)) {
    p <- chosen_probability(x, newdata)
    out <- newdata
  } else {
    p <- chosen_probability(x, NULL)
    out <- if (is.null(data)) decisions_table(x) else check_augment_data(x, data)
  }
  out$.fitted <- p
  out$.resid <- choice_residuals(p, type)
  out
}

#' The fitted decisions as a data frame of labels in the original row order,
#' with the fit's column names
#' @noRd
decisions_table <- function(fit) {
  d <- fit$data
  o <- order(d$row)
  cols <- d$columns
  out <- list(d$participants[d$participant[o] + 1L], d$states[d$state[o] + 1L],
              d$actions[d$action[o] + 1L], d$states[d$next_state[o] + 1L])
  names(out) <- c(cols$participant, cols$state, cols$action, cols$next_state)
  if (!is.null(cols$done)) out[[cols$done]] <- d$done[o] == 1L
  if (!is.null(cols$reward)) out[[cols$reward]] <- d$reward[o]
  as.data.frame(out, stringsAsFactors = FALSE, optional = TRUE)
}

#' `data` of augment(): the fitted data frame, one row per fitted decision
#' @noRd
check_augment_data <- function(fit, data) {
  check_data_frame(data, "data")
  if (nrow(data) != fit$data$n_decisions) {
    rlpsy_abort("`data` has ", nrow(data), " rows, but the fit has ",
                fit$data$n_decisions, " decisions: give the data frame the ",
                "model was fitted to, or use `newdata` for other decisions.")
  }
  data
}

#' Convert a fit or its summary to a data frame: the person table
#'
#' `as.data.frame()` of an [rlpsy_fit()] result or of its [summary()] is the
#' table of participant scores, the same as `predict(fit, type = "beta")`
#' and `summary(fit)$participants`: one row per participant with
#' `participant`, `beta`, `z` (\eqn{\log\hat\beta}), `se` (standard error of
#' `z`), `lower`, `upper` (the Wald interval for \eqn{\beta} at `level`),
#' `n_decisions` and `status`. So `knitr::kable(summary(fit))` and
#' `knitr::kable(as.data.frame(fit))` make a table. `coef(summary(fit))` is
#' the numeric part as a matrix with participants as row names. See
#' [tidy.rlpsy_fit()] for the broom-style version.
#'
#' @param x an `rlpsy_fit` or `summary.rlpsy_fit` object.
#' @param object a `summary.rlpsy_fit` object.
#' @param row.names,optional not used (they are part of the generic);
#'   row names are `1, 2, ...`.
#' @param level confidence level of the intervals (for a fit; a summary has
#'   its 95% intervals).
#' @param ... not used: any other argument (except `stringsAsFactors`,
#'   which [data.frame()] passes on and which is ignored) is an error.
#' @return A data frame; for `coef()`, a numeric matrix with columns
#'   `beta`, `z`, `se`, `lower` and `upper`.
#' @section Errors and warnings: An error of class `rlpsy_error_input` when
#'   `level` is not strictly between 0 and 1, or for arguments in `...`.
#' @examples
#' fit <- rlpsy_fit(rlpsy_example, "participant", "state", "action",
#'                  "next_state", done = "done", reward = "reward",
#'                  gamma = 0.9, tau = 0.05,
#'                  control = rlpsy_control(threads = 1))
#' head(as.data.frame(fit))
#' head(coef(summary(fit)))
#' knitr::kable(head(as.data.frame(summary(fit))), digits = 2)
#' @export
as.data.frame.rlpsy_fit <- function(x, row.names = NULL, optional = FALSE,
                                    level = 0.95, ...) {
  check_dots_empty_rlpsy("as.data.frame()", ..., allow = "stringsAsFactors")
  person_table(x, check_level(level))
}

#' @rdname as.data.frame.rlpsy_fit
#' @export
as.data.frame.summary.rlpsy_fit <- function(x, row.names = NULL,
                                            optional = FALSE, ...) {
  check_dots_empty_rlpsy("as.data.frame()", ..., allow = "stringsAsFactors")
  x$participants
}

#' @rdname as.data.frame.rlpsy_fit
#' @export
coef.summary.rlpsy_fit <- function(object, ...) {
  check_dots_empty_rlpsy("coef()", ...)
  p <- object$participants
  m <- as.matrix(p[c("beta", "z", "se", "lower", "upper")])
  rownames(m) <- if (is.null(p$dimension)) p$participant else
    paste0(p$participant, ":", p$dimension)
  m
}

#' The person table: the fit's participant scores with intervals at `level`
#' @noRd
person_table <- function(fit, level = 0.95) {
  predict_beta_fitted(fit, level)
}
