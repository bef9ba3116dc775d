#' Control the fit
#'
#' Every tuning knob of [rlpsy_fit()], validated, with documented defaults.
#' A plain list with some of these names is accepted by `rlpsy_fit()` too and
#' goes through the same checks.
#'
#' The penalty weights are *per decision* and, for the Bellman term,
#' *scale-free*: the objective is
#' \deqn{J = \sum_t -\log \pi(a_t \mid s_t, \beta_{j(t)})
#'   + \frac{\lambda_{bell}}{v^2} \sum_t \delta_t^2
#'   + \lambda_{cql} \sum_t [\log \sum_b e^{Q(s_t, b)} - Q(s_t, a_t)]
#'   + \lambda_r \|w\|^2 + \sum_j (z_j - \mu)^2 / (2\sigma^2),}
#' so the specification's mean-based weights equal these times the number of
#' decisions N, and the balance between the behaviour term and the penalties
#' does not drift with the size of the data. With an observed reward, \eqn{v}
#' is the value unit of the task: the root-mean-square, over the decisions,
#' of the task's values centred in each state's choice set (the soft-Q fixed
#' point of the observed reward under the empirical transitions). Dividing by
#' \eqn{v^2} measures Bellman residuals in units of the task's advantage, so
#' `lambda_bell` means the same whatever the reward's scale (rewards times
#' 1e9 give the same fit). With a learned reward, \eqn{v = 1} (the reward
#' is bounded in \[-1, 1\]).
#'
#' @section Why these defaults:
#' With an observed reward, beta should measure how decisively a person acts
#' on *the task's* values, so Q must stay the Bellman-consistent value of the
#' reward wherever the data determine it, and the behaviour term may shape it
#' only where the task leaves it free. The behaviour term moves the advantage
#' by at most about \eqn{\beta / (2 \lambda_{bell})} of its unit, so the
#' default `lambda_bell = 1000` keeps it within a fraction of a per cent of
#' the task's for \eqn{\beta} up to about 5, also in states whose values
#' spread less than the typical state's (the fit reports this as "task
#' consistency" and warns below 0.99), and `lambda_cql = 0`, since the CQL
#' term pulls Q towards the pooled choice frequencies (beta would measure
#' conformity). Use `q = "task"` in [rlpsy_fit()] to hold Q at the task's
#' values exactly. With a learned reward (inverse RL), the Bellman term can
#' always be met by the reward, the behaviour term shapes Q, and beta is
#' decisiveness *relative to the population's inferred values*; there the
#' defaults are `lambda_bell = 1` and `lambda_cql = 0.05`, a light anchor of
#' Q's scale.
#'
#' @param lambda_bell weight of the soft Bellman consistency term (>= 0), in
#'   units of the task's values (see Details), or `NULL` (default) for 1000
#'   when the reward is observed and 1 when it is learned. It ties Q to the
#'   task's dynamics and reward.
#' @param lambda_cql weight of the conservative (CQL) term (>= 0), or `NULL`
#'   (default) for 0 when the reward is observed and 0.05 when it is
#'   learned. The CQL term pulls Q towards the pooled log choice frequencies;
#'   with a learned reward a light touch keeps the scale of Q anchored.
#' @param lambda_r weight of the L2 penalty on the learned-reward parameters
#'   w, where r = tanh(w) (>= 0); unused when the reward is observed. It keeps
#'   w away from the flat tails of tanh, where the fit would otherwise creep
#'   slowly towards rewards of exactly -1 or 1.
#' @param prior `"empirical"` (default) to estimate the prior of
#'   \eqn{\log\beta_j}, \eqn{N(\mu, \sigma^2)}, by empirical Bayes after every
#'   E-step, or a numeric vector `c(mu = , sigma = )` to fix it.
#' @param max_iter largest number of EM iterations.
#' @param tol convergence tolerance of the M-step, per decision: converged
#'   when the decrease of the objective that the quasi-Newton model predicts
#'   is below `tol` times the number of decisions. Scale-free: the objective
#'   is in nats and the Bellman term is measured in units of the task's
#'   values.
#' @param tol_z convergence tolerance on the largest change of any
#'   \eqn{z_j = \log\beta_j} between EM iterations.
#' @param mstep_iter largest number of L-BFGS iterations per M-step (each
#'   evaluation includes the exact E-step: the M-step minimises the profiled
#'   objective).
#' @param estep_iter largest number of Newton iterations per participant.
#' @param estep_tol convergence tolerance of the Newton E-step on the
#'   gradient of the participant's log posterior.
#' @param eps the constant in the unit-RMS normalisation of the advantage.
#' @param flat_tol a visited state whose task values spread (root-mean-square
#'   over its choice set, centred) less than `flat_tol` value units is
#'   reported as near-flat (see the diagnostics in [summary.rlpsy_fit()]).
#' @param flat_states `"keep"` (default) or `"drop"`: with `"drop"`, the
#'   decisions in near-flat states get zero weight in the behaviour term (so
#'   in every beta); they still inform the task's values. Per-state
#'   normalisation scales a state whose values hardly differ to the same
#'   unit as any other, so its advantage is mostly noise at full weight;
#'   `normalise = "global"` in [rlpsy_fit()] is the smooth alternative.
#' @param threads number of threads for the E-step and the objective. Results
#'   do not depend on it. The default is the setting of
#'   [RcppParallel::setThreadOptions()] (the environment variable
#'   `RCPP_PARALLEL_NUM_THREADS`) when there is one, else 2; more threads
#'   than the machine has (`RcppParallel::defaultNumThreads()`) are capped,
#'   with a message.
#' @param shards number of participant shards of the data: consecutive
#'   ranges of participants, split at multiples of 1,024 participants (so at
#'   most one shard per 1,024), each with its own sufficient statistics;
#'   sums over participants run over the shards in a fixed order, and the
#'   fit is identical to the unsharded one. The seam for a fit distributed
#'   over machines. 1 by default.
#' @param quad_nodes number of adaptive Gauss-Hermite quadrature nodes per
#'   participant and dimension of beta of the marginal-likelihood fit
#'   (`method = "marginal"` in [rlpsy_fit()]), a whole number from 1 to 100
#'   (1 is the Laplace approximation), or `NULL` (default) for 21, 15 or 9
#'   nodes with 1, 2 or 3 dimensions of beta (`dimension` in [rlpsy_fit()]):
#'   with D dimensions the grid is the product of D rules, q^D nodes per
#'   participant (21, 225, 729), so the rule shrinks with D as mirt's
#'   `quadpts` does.
#' @param verbose `FALSE` (default), `TRUE` or a whole number k: print a
#'   compact line (objective J, its change, the largest change of
#'   \eqn{\log\beta_j} and the prior) at the first EM iteration, every k-th
#'   (every 10th for `TRUE`) and the last. Stored as k (0 = off).
#' @param progress show a progress bar with the EM iteration and the change
#'   of the objective (package \pkg{cli}; it appears after 2 seconds). By
#'   default: in interactive sessions, when not verbose, and never while
#'   \pkg{knitr} knits a document (set `progress = TRUE` to have it there).
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
#' 1024.
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
rlpsy_control <- function(lambda_bell = NULL, lambda_cql = NULL, lambda_r = 1,
                          prior = "empirical", max_iter = 500L, tol = 1e-9,
                          tol_z = 1e-4, mstep_iter = 50L, estep_iter = 100L,
                          estep_tol = 1e-8, eps = 1e-8, flat_tol = 0.01,
                          flat_states = c("keep", "drop"),
                          threads = default_threads(), shards = 1L,
                          quad_nodes = NULL, verbose = FALSE,
                          progress = default_progress(verbose), ...) {
  check_no_unknown_settings(...)
  ctrl <- list(
    lambda_bell = if (is.null(lambda_bell)) NULL else
      check_number(lambda_bell, "lambda_bell", min = 0, max = max_lambda),
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
    flat_tol = check_number(flat_tol, "flat_tol", min = 0, max = 1),
    flat_states = check_choice(flat_states, c("keep", "drop"), "flat_states"),
    threads = cap_threads(check_count(threads, "threads", min = 1, max = 1024)),
    shards = check_count(shards, "shards", min = 1, max = 1e6),
    quad_nodes = if (is.null(quad_nodes)) NULL else
      check_count(quad_nodes, "quad_nodes", min = 1, max = 100),
    verbose = check_verbose(verbose),
    progress = check_flag(progress, "progress")
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
  check_dots_empty_rlpsy("print()", ...)
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
