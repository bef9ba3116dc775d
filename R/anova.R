# Model comparison of marginal-likelihood fits (issue 13, item 5).

#' Compare marginal-likelihood fits: AIC, BIC and likelihood-ratio tests
#'
#' A table of the marginal log-likelihood ([logLik.rlpsy_fit()]), its
#' degrees of freedom, AIC and BIC of each fit and, between consecutive fits
#' ordered by their degrees of freedom, the likelihood-ratio chi-square
#' \eqn{2(\ell_2 - \ell_1)} on \eqn{df_2 - df_1} degrees of freedom with its
#' p-value. BIC uses the number of participants (the independent units of a
#' marginal likelihood, as in lme4), not of decisions.
#'
#' Only fits with `method = "marginal"` ([rlpsy_fit()]) of the same data
#' can be compared: the log-likelihood of a MAP fit is the behaviour
#' log-likelihood at the participants' posterior modes, conditional on them
#' (each \eqn{\beta_j} fitted to its own decisions, then shrunk by the
#' prior), not a likelihood of the data under the model, so neither its
#' differences nor its degrees of freedom follow the likelihood-ratio
#' theory. The chi-square test is for *nested* models, e.g. a latent
#' regression with and without a covariate (`person_formula`) on the same
#' Q settings; `anova()` cannot check nesting, so the p-value of fits that
#' are not nested has no meaning (AIC and BIC still compare them). The fits
#' maximise the marginal likelihood less the Bellman and CQL penalties, so
#' the test is approximate when the penalties bind differently in the two
#' fits; with the same task, `gamma`, `tau` and penalty weights they cancel
#' to first order.
#'
#' @param object an `rlpsy_fit` with `method = "marginal"`.
#' @param ... more such fits of the same data.
#' @return An object of class `c("anova", "data.frame")` with one row per
#'   fit (named as the arguments, ordered by `df`) and columns `df`,
#'   `logLik`, `AIC`, `BIC`, `Chisq`, `Chi Df` and `Pr(>Chisq)` (`NA` in
#'   the first row and where the degrees of freedom do not increase).
#' @section Errors and warnings: An error of class `rlpsy_error_input` when
#'   an argument is not an `rlpsy_fit`, is a MAP fit (saying why), or the
#'   fits are of different data (different numbers of decisions or
#'   participants, different labels, or different decisions: a fingerprint
#'   of the encoded data is compared). No warnings.
#' @seealso [logLik.rlpsy_fit()], [rlpsy_marginal_loglik()].
#' @examples
#' ex <- rlpsy_example[rlpsy_example$participant %in%
#'                       unique(rlpsy_example$participant)[1:40], ]
#' people <- data.frame(participant = unique(ex$participant))
#' set.seed(1)
#' people$x <- rnorm(nrow(people))
#' fit0 <- rlpsy_fit(ex, participant = "participant", state = "state",
#'                   action = "action", next_state = "next_state",
#'                   done = "done", reward = "reward", gamma = 0.9,
#'                   tau = 0.05, method = "marginal",
#'                   control = rlpsy_control(threads = 1))
#' fit1 <- rlpsy_fit(ex, participant = "participant", state = "state",
#'                   action = "action", next_state = "next_state",
#'                   done = "done", reward = "reward", gamma = 0.9,
#'                   tau = 0.05, method = "marginal", person_data = people,
#'                   person_formula = ~ x, control = rlpsy_control(threads = 1))
#' anova(fit0, fit1)  # x was drawn at random, unrelated to beta
#' @importFrom stats anova
#' @export
anova.rlpsy_fit <- function(object, ...) {
  fits <- c(list(object), list(...))
  labels <- vapply(as.list(substitute(list(object, ...)))[-1L],
                   function(e) paste(deparse(e, width.cutoff = 60L), collapse = " "), "")
  if (!is.null(names(fits))) labels[nzchar(names(fits))] <- names(fits)[nzchar(names(fits))]
  for (i in seq_along(fits)) check_marginal_fit(fits[[i]], labels[i])
  fp <- lapply(fits, data_fingerprint)
  for (i in seq_along(fits)[-1L]) {
    if (!identical(fp[[i]], fp[[1L]])) {
      rlpsy_abort("anova() compares fits of the same data, but `", labels[i],
                  "` and `", labels[1L], "` were fitted to different data (",
                  fingerprint_difference(fp[[i]], fp[[1L]]), ").")
    }
  }
  ll <- lapply(fits, stats::logLik)
  df <- vapply(ll, function(l) attr(l, "df"), 0L)
  val <- vapply(ll, as.numeric, 0)
  J <- fits[[1L]]$data$n_participants
  ord <- order(df)
  df <- df[ord]
  val <- val[ord]
  chisq <- c(NA_real_, 2 * diff(val))
  ddf <- c(NA_integer_, diff(df))
  nested <- !is.na(ddf) & ddf > 0L
  chisq[!nested] <- NA_real_
  ddf[!nested] <- NA_integer_
  p <- ifelse(nested, stats::pchisq(pmax(chisq, 0), ddf, lower.tail = FALSE), NA_real_)
  tab <- data.frame(df = df, logLik = val, AIC = -2 * val + 2 * df,
                    BIC = -2 * val + log(J) * df, Chisq = chisq, `Chi Df` = ddf,
                    `Pr(>Chisq)` = p, check.names = FALSE,
                    row.names = make.unique(labels[ord]))
  structure(tab, heading = c(
    "Marginal-likelihood fits of the same data (rlpsy_fit(method = \"marginal\"))\n",
    paste0(fits[[1L]]$data$n_decisions, " decisions of ", J,
           " participants; BIC with n = participants\n")),
    class = c("anova", "data.frame"))
}

#' Stop unless `fit` is a marginal-likelihood rlpsy_fit
#' @noRd
check_marginal_fit <- function(fit, label) {
  if (!inherits(fit, "rlpsy_fit")) {
    rlpsy_abort("anova() compares rlpsy_fit objects, but `", label, "` is ",
                describe_type(fit), ".")
  }
  if (!identical(fit$method, "marginal")) {
    rlpsy_abort("anova() needs marginal-likelihood fits, but `", label,
                "` is a MAP fit: its logLik() is the behaviour log-likelihood ",
                "at the posterior modes, conditional on them, not a likelihood ",
                "of the data, so likelihood-ratio tests and information ",
                "criteria do not apply. Refit with rlpsy_fit(..., method = ",
                "\"marginal\").")
  }
  invisible(fit)
}

#' A fingerprint of a fit's encoded data: sizes, labels and weighted sums
#' of the coded columns (equal for the same data, different when any
#' decision differs, up to coincidence)
#' @noRd
data_fingerprint <- function(fit) {
  d <- fit$data
  i <- seq_len(d$n_decisions)
  w <- (i %% 1009L + 1) / 1009 + (i %% 7919L) / 7919
  wsum <- function(x) if (is.null(x)) NA_real_ else sum(w * as.double(x))
  list(n = c(decisions = d$n_decisions, participants = d$n_participants),
       labels = list(as.character(d$participants), as.character(d$states),
                     as.character(d$actions)),
       sums = c(wsum(d$participant), wsum(d$state), wsum(d$action),
                wsum(d$next_state), wsum(d$done), wsum(d$reward)))
}

#' What differs between two fingerprints, in words
#' @noRd
fingerprint_difference <- function(a, b) {
  if (!identical(a$n, b$n)) {
    return(paste0(a$n[["decisions"]], " vs ", b$n[["decisions"]], " decisions, ",
                  a$n[["participants"]], " vs ", b$n[["participants"]],
                  " participants"))
  }
  if (!identical(a$labels, b$labels)) return("different participant, state or action labels")
  "the same sizes and labels but different decisions"
}
