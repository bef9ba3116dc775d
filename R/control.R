#' Control the fit
#'
#' Every tuning knob of [rlpsy_fit()], validated, with documented defaults.
#' A plain list with some of these names is accepted by `rlpsy_fit()` too and
#' goes through the same checks.
#'
#' The penalty weights are *per decision*: the objective is
#' \deqn{J = \sum_t -\log \pi(a_t \mid s_t, \beta_{j(t)})
#'   + \lambda_{bell} \sum_t \delta_t^2
#'   + \lambda_{cql} \sum_t [\log \sum_b e^{Q(s_t, b)} - Q(s_t, a_t)]
#'   + \lambda_r \|w\|^2 + \sum_j (z_j - \mu)^2 / (2\sigma^2),}
#' so the specification's mean-based weights equal these times the number of
#' decisions N, and the balance between the behaviour term and the penalties
#' does not drift with the size of the data.
#'
#' @param lambda_bell weight of the soft Bellman consistency term (>= 0). It
#'   ties Q to the task's dynamics and reward, and so fixes the scale and
#'   offset of Q.
#' @param lambda_cql weight of the conservative (CQL) term (>= 0), or `NULL`
#'   (default) for 0.5 when the reward is observed and 0.05 when it is
#'   learned. The behaviour likelihood depends on each state's Q only through
#'   its direction (the advantage is normalised per state), so without this
#'   term Q can shrink towards a flat, nearly singular point in states where
#'   behaviour and dynamics disagree, and the fit converges slowly. The CQL
#'   term keeps the scale of Q tied to the pooled choice frequencies. When
#'   the reward is learned, the Bellman term anchors Q only weakly and a
#'   strong CQL term would pull the advantages towards the pooled log
#'   frequencies (biasing beta downwards), hence the smaller default.
#' @param lambda_r weight of the L2 penalty on the learned-reward parameters
#'   w, where r = tanh(w) (>= 0); unused when the reward is observed. It keeps
#'   w away from the flat tails of tanh, where the fit would otherwise creep
#'   slowly towards rewards of exactly -1 or 1.
#' @param prior `"empirical"` (default) to estimate the prior of
#'   \eqn{\log\beta_j}, \eqn{N(\mu, \sigma^2)}, by empirical Bayes after every
#'   E-step, or a numeric vector `c(mu = , sigma = )` to fix it.
#' @param max_iter largest number of EM iterations.
#' @param tol convergence tolerance on the relative change of the objective
#'   between EM iterations.
#' @param tol_z convergence tolerance on the largest change of any
#'   \eqn{z_j = \log\beta_j} between EM iterations.
#' @param mstep_iter L-BFGS iterations per M-step.
#' @param estep_iter largest number of Newton iterations per participant.
#' @param estep_tol convergence tolerance of the Newton E-step on the
#'   gradient of the participant's log posterior.
#' @param eps the constant in the unit-RMS normalisation of the advantage.
#' @param threads number of threads for the E-step and the objective. Results
#'   do not depend on it. The default is the setting of
#'   [RcppParallel::setThreadOptions()] (the environment variable
#'   `RCPP_PARALLEL_NUM_THREADS`) when there is one, else 2; more threads
#'   than the machine has (`RcppParallel::defaultNumThreads()`) are capped,
#'   with a message.
#' @param minibatch `NULL` (full-batch EM, the default) or the number
#'   (>= 2) or fraction (in (0, 1)) of participants used per iteration of
#'   online EM (specification section 5.3). Each iteration updates the
#'   sampled participants' beta and takes M-step iterations on their
#'   decisions; a final full E-step and full M-step polish the result. Use
#'   it for very large data, where a full pass per iteration is expensive;
#'   for data that fit in a few seconds, full-batch EM is simpler and exact.
#' @param minibatch_epochs with `minibatch`, how many passes over the
#'   participants (in expectation) the mini-batch phase makes before
#'   full-batch EM polishes the estimates.
#' @param verbose print one line per EM iteration.
#' @param progress show a progress bar (default: in interactive sessions,
#'   when not verbose).
#' @param seed seed for the participant sampling of mini-batch EM (the
#'   global RNG state is restored afterwards), or `NULL`.
#' @param ... not used: any other argument is an error (a misspelt setting
#'   is never ignored silently).
#' @return An object of class `rlpsy_control`: a named list of the settings.
#' @section Ranges:
#' The penalty weights `lambda_bell`, `lambda_cql` and `lambda_r` must lie in
#' \[0, 1e10\]: 0 switches a term off, and beyond 1e10 the weighted terms can
#' overflow double precision (with weights this large the fit is in effect
#' the constrained one, so nothing is lost). A fixed `prior` needs
#' \eqn{|\mu| \le 50} (\eqn{\beta} between \eqn{e^{-50}} and \eqn{e^{50}})
#' and \eqn{0 < \sigma \le 100}. `max_iter` is at most 1e6, `threads` at most
#' 1024 and `minibatch_epochs` at most 1000.
#' @section Errors and warnings: An error of class `rlpsy_error_input` names
#'   the setting and the value when a setting is of the wrong type (a string,
#'   a vector of length other than 1, `NULL` where a value is needed), is
#'   `NA`, `NaN` or infinite, or is out of range (negative lambdas,
#'   `threads < 1`, tolerances below 0, `eps <= 0`, ...), and when an unknown
#'   setting is given (to `rlpsy_control()` or in a list passed as `control`
#'   to [rlpsy_fit()]). There are no warnings. A message of class
#'   `rlpsy_message_threads` says when `threads` was capped at the number of
#'   hardware threads.
#' @examples
#' rlpsy_control(lambda_bell = 2, threads = 1)
#' rlpsy_control(prior = c(mu = 0, sigma = 1))
#' @export
rlpsy_control <- function(lambda_bell = 1, lambda_cql = NULL, lambda_r = 1,
                          prior = "empirical", max_iter = 500L, tol = 1e-8,
                          tol_z = 1e-4, mstep_iter = 10L, estep_iter = 100L,
                          estep_tol = 1e-8, eps = 1e-8,
                          threads = default_threads(), minibatch = NULL,
                          minibatch_epochs = 3, verbose = FALSE,
                          progress = interactive() && !verbose, seed = NULL,
                          ...) {
  check_no_unknown_settings(...)
  ctrl <- list(
    lambda_bell = check_number(lambda_bell, "lambda_bell", min = 0, max = max_lambda),
    lambda_cql = if (is.null(lambda_cql)) NULL else
      check_number(lambda_cql, "lambda_cql", min = 0, max = max_lambda),
    lambda_r = check_number(lambda_r, "lambda_r", min = 0, max = max_lambda),
    prior = check_prior(prior),
    max_iter = check_count(max_iter, "max_iter", min = 1, max = 1e6),
    tol = check_number(tol, "tol", min = 0),
    tol_z = check_number(tol_z, "tol_z", min = 0),
    mstep_iter = check_count(mstep_iter, "mstep_iter", min = 1),
    estep_iter = check_count(estep_iter, "estep_iter", min = 1),
    estep_tol = check_number(estep_tol, "estep_tol", min = 0, open = TRUE),
    eps = check_number(eps, "eps", min = 0, open = TRUE),
    threads = cap_threads(check_count(threads, "threads", min = 1, max = 1024)),
    minibatch = check_minibatch(minibatch),
    minibatch_epochs = check_number(minibatch_epochs, "minibatch_epochs", min = 0,
                                    max = 1000, open = TRUE),
    verbose = check_flag(verbose, "verbose"),
    progress = check_flag(progress, "progress"),
    seed = if (is.null(seed)) NULL else check_count(seed, "seed", min = 0)
  )
  structure(ctrl, class = "rlpsy_control")
}

#' Number of threads used by default: the user's RcppParallel setting
#' (RcppParallel::setThreadOptions(numThreads = ) sets the environment
#' variable RCPP_PARALLEL_NUM_THREADS) if there is one, else 2; rlpsy_control()
#' caps it at the hardware.
#' @noRd
default_threads <- function() {
  env <- suppressWarnings(as.integer(Sys.getenv("RCPP_PARALLEL_NUM_THREADS", "")))
  if (length(env) == 1L && !is.na(env) && env >= 1L) return(min(env, 1024L))
  as.integer(min(2L, hardware_threads()))
}

#' Number of hardware threads (what TBB would use), at least 1
#' @noRd
hardware_threads <- function() {
  n <- tryCatch(RcppParallel::defaultNumThreads(), error = function(e) NA)
  if (!is.numeric(n) || length(n) != 1L || is.na(n) || n < 1) 1L else as.integer(n)
}

#' Cap a thread count at the hardware, with a message (class
#' rlpsy_message_threads) when it is more: TBB would warn on stderr and the
#' extra threads would only compete for the same cores.
#' @noRd
cap_threads <- function(threads) {
  hw <- hardware_threads()
  if (threads <= hw) return(threads)
  rlpsy_inform("`threads` = ", threads, " is more than the ", hw, " thread",
               if (hw > 1L) "s", " this machine runs at once ",
               "(RcppParallel::defaultNumThreads()); using ", hw, ".",
               class = "threads")
  hw
}

#' Turn what the user passed as `control` into a validated rlpsy_control
#' @noRd
as_control <- function(control) {
  if (inherits(control, "rlpsy_control")) return(control)
  if (!is.list(control)) {
    rlpsy_abort("`control` must be the result of rlpsy_control() or a list, ",
                "not ", class(control)[1], ".")
  }
  known <- setdiff(names(formals(rlpsy_control)), "...")
  bad <- setdiff(names(control), known)
  if (length(bad) || (length(control) && is.null(names(control)))) {
    rlpsy_abort("`control` has unknown settings: ",
                show_values(if (length(bad)) bad else "(unnamed)"),
                ". Known settings: ", paste(known, collapse = ", "), ".")
  }
  do.call(rlpsy_control, control, quote = TRUE)
}

#' @export
print.rlpsy_control <- function(x, ...) {
  cat("<rlpsy_control>\n")
  show <- vapply(x, function(v) {
    if (is.null(v)) "NULL" else paste(format(v), collapse = ", ")
  }, "")
  prior <- x$prior
  show["prior"] <- if (is.character(prior)) prior else
    sprintf("fixed: mu = %g, sigma = %g", prior[["mu"]], prior[["sigma"]])
  cat(paste0("  ", format(names(show)), " ", show), sep = "\n")
  invisible(x)
}

check_number <- function(x, arg, min = -Inf, max = Inf, open = FALSE) {
  ok <- is.numeric(x) && length(x) == 1L && !is.na(x) && is.finite(x) &&
    (if (open) x > min else x >= min) && x <= max
  if (!ok) {
    range <- if (is.finite(max)) sprintf("in %s%g, %g]", if (open) "(" else "[", min, max) else
      sprintf("%s %g", if (open) ">" else ">=", min)
    rlpsy_abort("`", arg, "` must be a single finite number ", range,
                ", not ", describe_value(x), ".")
  }
  as.double(x)
}

check_count <- function(x, arg, min = 0, max = .Machine$integer.max) {
  ok <- is.numeric(x) && length(x) == 1L && !is.na(x) && is.finite(x) &&
    x == round(x) && x >= min && x <= max
  if (!ok) {
    range <- if (max < .Machine$integer.max) sprintf("from %g to %g", min, max) else
      sprintf(">= %g", min)
    rlpsy_abort("`", arg, "` must be a single whole number ", range,
                ", not ", describe_value(x), ".")
  }
  as.integer(x)
}

#' Largest allowed penalty weight (see the "Ranges" section of rlpsy_control)
#' @noRd
max_lambda <- 1e10

#' Stop for arguments of rlpsy_control() that are not settings
#' @noRd
check_no_unknown_settings <- function(...) {
  if (...length() == 0L) return(invisible())
  nm <- names(list(...))
  known <- setdiff(names(formals(rlpsy_control)), "...")
  bad <- if (is.null(nm)) rep("", ...length()) else nm
  bad[bad == ""] <- "(unnamed)"
  rlpsy_abort("rlpsy_control() has no setting", if (length(bad) > 1L) "s", " ",
              show_values(bad), ". Known settings: ", paste(known, collapse = ", "),
              ".")
}

check_flag <- function(x, arg) {
  if (!is.logical(x) || length(x) != 1L || is.na(x)) {
    rlpsy_abort("`", arg, "` must be TRUE or FALSE, not ", describe_value(x), ".")
  }
  x
}

check_prior <- function(prior) {
  if (identical(prior, "empirical")) return(prior)
  ok <- is.numeric(prior) && length(prior) == 2L && !is.null(names(prior)) &&
    setequal(names(prior), c("mu", "sigma")) && all(is.finite(prior)) &&
    prior[["sigma"]] > 0 && prior[["sigma"]] <= 100 && abs(prior[["mu"]]) <= 50
  if (!ok) {
    rlpsy_abort("`prior` must be \"empirical\" or c(mu = <number in [-50, 50]>, ",
                "sigma = <number in (0, 100]>), not ", describe_value(prior), ".")
  }
  c(mu = as.double(prior[["mu"]]), sigma = as.double(prior[["sigma"]]))
}

check_minibatch <- function(x) {
  if (is.null(x)) return(NULL)
  ok <- is.numeric(x) && length(x) == 1L && is.finite(x) &&
    ((x > 0 && x < 1) || (x >= 2 && x == round(x)))
  if (!ok) {
    rlpsy_abort("`minibatch` must be NULL, a fraction in (0, 1) or a whole ",
                "number of participants >= 2, not ", describe_value(x), ".")
  }
  as.double(x)
}

#' Describe a value for an error message: its first elements or its type
#' @noRd
describe_value <- function(x) {
  if (is.null(x)) return("NULL")
  if (is.atomic(x) && length(x) == 0L) return(paste0("an empty ", typeof(x), " vector"))
  if (is.atomic(x) && length(x) <= 5L && !is.factor(x)) {
    if (!is.null(names(x))) {
      return(paste0("c(", paste(names(x), "=", format(x), collapse = ", "), ")"))
    }
    return(show_values(x))
  }
  if (is.atomic(x)) return(paste0("a ", typeof(x), " vector of length ", length(x)))
  paste0("an object of class ", class(x)[1])
}
