# The fit driver: prepare (encode, initialise) -> optimise (generalised EM
# on the C++ core) -> build the rlpsy_fit object. DESIGN.md section 1.

#' Fit the RL psychometric model by generalised EM
#'
#' Explains each participant's decisions by a softmax policy
#' \eqn{\pi(a \mid s, \beta_j) = \mathrm{softmax}_a(\beta_j A(s, a))} over
#' the identified advantage \eqn{A} of a shared task value function
#' \eqn{Q(s, a)} and estimates all of it jointly: one inverse temperature
#' \eqn{\beta_j > 0} per participant ("decisiveness"), the tabular \eqn{Q},
#' and, when no reward is observed, a bounded reward
#' \eqn{r(s, a) = \tanh(w_{sa})} (inverse reinforcement learning).
#'
#' @section Model:
#' Per state, the advantage is \eqn{Q} centred over the available actions and
#' scaled to unit root-mean-square, \eqn{A = c / \sqrt{\mathrm{mean}(c^2) +
#' \varepsilon}}, which removes the two symmetries of the softmax likelihood
#' (per-state shifts of \eqn{Q} and the \eqn{(cQ, \beta / c)} co-scaling), so
#' \eqn{\beta_j} is on a scale shared by all participants. The objective
#' (minimised) is the behaviour negative log-likelihood plus
#' `lambda_bell` times the summed squared soft Bellman residuals
#' \eqn{\delta_t = Q(s_t, a_t) - r_t - \gamma (1 - d_t) V(s'_t)} with
#' \eqn{V(s) = \tau \log \sum_a e^{Q(s, a) / \tau}}, plus `lambda_cql` times
#' the CQL term, plus `lambda_r` \eqn{\|w\|^2}, plus the normal prior on
#' \eqn{z_j = \log \beta_j}; see [rlpsy_control()] for the weights.
#'
#' @section Algorithm:
#' Q starts from the pooled, smoothed log action frequencies, `z = 0`, and the
#' prior is \eqn{N(0, 1)}. Each EM iteration runs a safeguarded Newton E-step
#' for every \eqn{z_j} (in parallel), updates the prior by empirical Bayes
#' (\eqn{\mu = \mathrm{mean}(\hat z)}, \eqn{\sigma^2 = \mathrm{mean}((\hat z -
#' \mu)^2 + SE^2)}) unless it is fixed, and takes `mstep_iter` L-BFGS
#' iterations on \eqn{Q} (and \eqn{w}) with \eqn{\beta} fixed. It stops when
#' the relative change of the objective is below `tol` and no \eqn{z_j}
#' moved more than `tol_z`. The fit ends with an E-step under the returned
#' \eqn{Q} and prior, so [coef()], [confint()] and `fit$prior` agree.
#' Standard errors of \eqn{\log\beta_j} come from the exact second derivative
#' of the participant's log posterior at its mode; they are conditional on
#' the estimated \eqn{Q} (its uncertainty is not propagated).
#'
#' @inheritParams rlpsy_data
#' @param data a data frame with one row per decision, or an object made by
#'   [rlpsy_data()] (then the column arguments are ignored).
#' @param gamma discount factor in \[0, 1).
#' @param tau temperature of the soft Bellman backup (> 0); fixes the scale of
#'   Q, 1 by default.
#' @param control an [rlpsy_control()] object or a list of its settings.
#' @return An object of class `rlpsy_fit`, a list with, among others,
#'   `beta`, `z` and `se` (named by participant; SE of \eqn{z}), `prior`
#'   (`c(mu, sigma)` on the log scale), `Q`, `advantage`, `value` and
#'   `reward` (labelled by state and action), `participants` (a data frame of
#'   per-participant results and E-step status), `objective` (the final
#'   components), `trace` (one row per EM iteration), `converged`, `data`
#'   (the encoded data) and `control`. Use the methods rather than the
#'   elements: [coef.rlpsy_fit()], [confint.rlpsy_fit()],
#'   [predict.rlpsy_fit()], [summary.rlpsy_fit()], [plot.rlpsy_fit()],
#'   [logLik.rlpsy_fit()], [simulate.rlpsy_fit()], [cor_validity()].
#' @section Errors and warnings:
#' Bad data give the errors of [rlpsy_data()]; bad settings those of
#' [rlpsy_control()] (data too large for the machine's memory give class
#' `rlpsy_error_memory`, before anything is allocated); `gamma` outside
#' \[0, 1) or `tau` outside \[1e-100, 1e100\] give an error of class
#' `rlpsy_error_input`. `gamma = 1` is not allowed even when every episode
#' terminates: logs may end inside an episode, and the soft value adds an
#' entropy bonus at every step; use e.g. 0.999. If the objective becomes
#' non-finite (extreme rewards or settings), the fit stops with an error of
#' class `rlpsy_error_numerical` naming the iteration and the components. When EM stops at `max_iter` before converging,
#' or when the E-step of some participants did not converge, one warning of
#' class `rlpsy_warning_convergence` gives the counts; the per-participant
#' status is in `fit$participants$status`. With a single participant the
#' empirical-Bayes prior cannot be estimated: the fit uses the fixed prior
#' \eqn{\log\beta \sim N(0, 1)} and warns (class `rlpsy_warning_prior`).
#' Participants whose beta the data cannot identify (see
#' [identification_participants()]) get status `"not_identified"` and one
#' warning of class `rlpsy_warning_identification` names them. An
#' `rlpsy_data` object passed as `data` is re-validated (lengths, offsets,
#' code ranges, flags, rewards, `available`); a modified one gives an error
#' of class `rlpsy_error_input`. Arguments holding data (as from
#' [do.call()]) appear in `fit$call` as placeholders such as
#' `<data.frame 30000 x 7>`.
#' @examples
#' fit <- rlpsy_fit(rlpsy_example, participant = "participant",
#'                  state = "state", action = "action",
#'                  next_state = "next_state", done = "done",
#'                  reward = "reward", gamma = 0.9,
#'                  control = rlpsy_control(threads = 1))
#' fit
#' head(coef(fit))
#' @export
rlpsy_fit <- function(data, participant, state, action, next_state,
                      done = NULL, reward = NULL, available = NULL, gamma,
                      tau = 1, control = rlpsy_control()) {
  call <- match.call()
  ctrl <- as_control(control)
  if (missing(gamma)) rlpsy_abort("`gamma` is missing; give the discount factor in [0, 1).")
  gamma <- check_number(gamma, "gamma", min = 0)
  if (gamma >= 1) rlpsy_abort("`gamma` must be in [0, 1), not ", gamma, ".")
  tau <- check_number(tau, "tau", min = 1e-100, max = 1e100)
  enc <- if (inherits(data, "rlpsy_data")) check_encoding(data) else
    rlpsy_data(data, participant, state, action, next_state, done = done,
               reward = reward, available = available)
  ctrl <- prior_for_data(ctrl, enc)
  settings <- core_settings(ctrl, gamma, tau, learned = is.null(enc$reward))
  state0 <- initial_state(enc, ctrl)
  core <- core_new(enc, settings)
  if (!is.null(ctrl$minibatch)) state0 <- run_minibatch(core, enc, state0, ctrl)
  run <- run_em(core, enc, state0, ctrl)
  build_fit(call, enc, core, run, ctrl, settings)
}

#' The empirical-Bayes prior needs at least two participants; with one, fall
#' back to the fixed prior N(0, 1) on log beta, with a warning.
#' @noRd
prior_for_data <- function(ctrl, enc) {
  if (is.character(ctrl$prior) && enc$n_participants < 2L) {
    rlpsy_warn("The empirical-Bayes prior needs at least 2 participants; the ",
               "data have 1, so the fixed prior log(beta) ~ N(0, 1) is used ",
               "(set `prior` in rlpsy_control() to choose another).",
               class = "prior")
    ctrl$prior <- c(mu = 0, sigma = 1)
  }
  ctrl
}

#' The settings the C++ core needs
#' @noRd
core_settings <- function(ctrl, gamma, tau, learned) {
  lambda_cql <- ctrl$lambda_cql
  if (is.null(lambda_cql)) lambda_cql <- if (learned) 0.05 else 0.5
  list(gamma = gamma, tau = tau, eps = ctrl$eps,
       lambda_bell = ctrl$lambda_bell, lambda_cql = lambda_cql,
       lambda_r = ctrl$lambda_r)
}

#' Starting values: Q from pooled, smoothed log action frequencies (so A
#' starts as a sensible policy), w = 0, z = 0, prior N(0, 1) or the fixed one.
#' @noRd
initial_state <- function(enc, ctrl) {
  S <- enc$n_states
  K <- enc$n_actions
  counts <- matrix(tabulate(enc$state * K + enc$action + 1L, S * K), S, K,
                   byrow = TRUE)
  av <- enc$available
  freq <- (counts + 0.5) * av
  Q <- log(freq / rowSums(freq))
  Q[!av] <- 0
  prior <- if (is.character(ctrl$prior)) c(mu = 0, sigma = 1) else ctrl$prior
  list(Q = Q, w = if (is.null(enc$reward)) matrix(0, S, K),
       z = numeric(enc$n_participants), prior = prior)
}

#' Empirical-Bayes update of the prior of z: mu = mean(z),
#' sigma^2 = mean((z - mu)^2 + se^2).
#' @noRd
update_prior <- function(z, se) {
  mu <- mean(z)
  c(mu = mu, sigma = sqrt(mean((z - mu)^2 + se^2)))
}

#' Generalised EM on the core. Returns the final state, the last E-step and
#' the per-iteration trace.
#' @noRd
run_em <- function(core, enc, st, ctrl) {
  empirical <- is.character(ctrl$prior)
  trace <- list()
  pb <- em_progress(ctrl)
  on.exit(pb$close(), add = TRUE)
  J_old <- Inf
  converged <- FALSE
  for (it in seq_len(ctrl$max_iter)) {
    t0 <- proc.time()[["elapsed"]]
    e <- core_estep(core, st$Q, st$z, st$prior[["mu"]], st$prior[["sigma"]],
                    ctrl$threads, ctrl$estep_iter, ctrl$estep_tol)
    max_dz <- max(abs(e$z - st$z))
    st$z <- e$z
    if (empirical) st$prior <- update_prior(e$z, e$se)
    m <- core_mstep(core, st$Q, st$w, st$z, ctrl$threads, ctrl$mstep_iter,
                    ctrl$tol * 1e-2, it == 1L)
    st$Q <- m$Q
    st$w <- m$w
    prior_term <- sum((st$z - st$prior[["mu"]])^2) / (2 * st$prior[["sigma"]]^2)
    comp <- m$components
    comp[["prior"]] <- prior_term
    comp[["total"]] <- m$value + prior_term
    if (!is.finite(comp[["total"]])) {
      rlpsy_abort("The objective became non-finite at EM iteration ", it, " (",
                  paste(names(comp), format(comp), sep = " = ", collapse = ", "),
                  "); rescale the reward, or use a smaller `tau` or smaller ",
                  "penalty weights.", class = "numerical")
    }
    rel <- abs(J_old - comp[["total"]]) / max(1, abs(comp[["total"]]))
    trace[[it]] <- c(iter = it, comp, mu = st$prior[["mu"]],
                     sigma = st$prior[["sigma"]], max_dz = max_dz,
                     mstep_iter = m$iter, mstep_evals = m$n_eval,
                     mstep_status = m$status,
                     time = proc.time()[["elapsed"]] - t0)
    if (ctrl$verbose) em_report(trace[[it]])
    pb$update(it)
    J_old <- comp[["total"]]
    if (rel < ctrl$tol && max_dz < ctrl$tol_z) {
      converged <- TRUE
      break
    }
  }
  # end with an E-step under the returned Q and prior
  final <- core_estep(core, st$Q, st$z, st$prior[["mu"]], st$prior[["sigma"]],
                      ctrl$threads, ctrl$estep_iter, ctrl$estep_tol)
  st$z <- final$z
  trace <- as.data.frame(do.call(rbind, trace))
  list(state = st, estep = final, trace = trace, converged = converged,
       iterations = it)
}

#' Progress bar for interactive sessions (a no-op otherwise)
#' @noRd
em_progress <- function(ctrl) {
  if (!ctrl$progress) return(list(update = function(i) NULL, close = function() NULL))
  bar <- utils::txtProgressBar(min = 0, max = ctrl$max_iter, style = 3)
  list(update = function(i) utils::setTxtProgressBar(bar, i),
       close = function() close(bar))
}

#' One verbose line per EM iteration
#' @noRd
em_report <- function(tr) {
  cat(sprintf(paste0("iter %3d  J = %.6g  (beh %.6g, bell %.4g, cql %.4g, ",
                     "prior %.4g)  mu = %.3f  sigma = %.3f  max|dz| = %.2e  %.2fs\n"),
              tr[["iter"]], tr[["total"]], tr[["behaviour"]], tr[["bellman"]],
              tr[["cql"]], tr[["prior"]], tr[["mu"]], tr[["sigma"]],
              tr[["max_dz"]], tr[["time"]]))
  utils::flush.console()
}

#' Mini-batch (online) EM, specification section 5.3: per iteration a random
#' set of participants gets an E-step, and their decisions (weighted by
#' J / batch size, so the behaviour term stays unbiased) drive `mstep_iter`
#' L-BFGS iterations; the Bellman and CQL terms use all decisions (they are
#' cheap: compressed to counts). Runs `minibatch_epochs` passes' worth of
#' batches and returns the state, which full-batch EM then polishes. The
#' participant sampling uses `ctrl$seed` and restores the global RNG state.
#' @noRd
run_minibatch <- function(core, enc, st, ctrl) {
  J <- enc$n_participants
  m <- if (ctrl$minibatch < 1) ceiling(ctrl$minibatch * J) else ctrl$minibatch
  m <- as.integer(min(max(m, 2L), J))
  n_iter <- ceiling(ctrl$minibatch_epochs * J / m)
  se <- rep(st$prior[["sigma"]], J)
  weights <- numeric(J)
  rng <- seeded_stream(ctrl$seed)
  for (it in seq_len(n_iter)) {
    U <- rng(sample.int(J, m))
    e <- core_estep(core, st$Q, st$z, st$prior[["mu"]], st$prior[["sigma"]],
                    ctrl$threads, ctrl$estep_iter, ctrl$estep_tol, U - 1L)
    st$z[U] <- e$z[U]
    se[U] <- e$se[U]
    if (is.character(ctrl$prior)) st$prior <- update_prior(st$z, se)
    weights[] <- 0
    weights[U] <- J / m
    mm <- core_mstep(core, st$Q, st$w, st$z, ctrl$threads, ctrl$mstep_iter,
                     0, TRUE, weights)
    st$Q <- mm$Q
    st$w <- mm$w
    if (ctrl$verbose) {
      cat(sprintf("minibatch %3d/%d  batch J = %.6g  mu = %.3f  sigma = %.3f\n",
                  it, n_iter, mm$value, st$prior[["mu"]], st$prior[["sigma"]]))
    }
  }
  st
}

#' A private random stream: returns a function that evaluates its argument
#' with the stream's RNG state (seeded by `seed` if not NULL, else the global
#' one), restoring the caller's global RNG state afterwards.
#' @noRd
seeded_stream <- function(seed) {
  if (is.null(seed)) return(function(expr) expr)
  state <- NULL
  function(expr) {
    had <- exists(".Random.seed", envir = globalenv(), inherits = FALSE)
    old <- if (had) get(".Random.seed", envir = globalenv(), inherits = FALSE)
    on.exit(if (had) assign(".Random.seed", old, envir = globalenv())
            else rm(".Random.seed", envir = globalenv()))
    if (is.null(state)) set.seed(seed) else
      assign(".Random.seed", state, envir = globalenv())
    value <- expr
    state <<- get(".Random.seed", envir = globalenv(), inherits = FALSE)
    value
  }
}
