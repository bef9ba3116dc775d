# Building the rlpsy_fit object from an EM run, and the small accessors the
# methods share.

#' E-step status codes of the C++ core, as labels
#' @noRd
estep_status_labels <- c("converged", "max_iter", "non_finite", "stalled")
# (build_fit adds the level "not_identified": see mark_not_identified())

#' Assemble the rlpsy_fit object and signal convergence and identification
#' trouble
#' @noRd
build_fit <- function(call, prep, run, ctrl) {
  enc <- prep$enc
  core <- prep$core
  st <- run$state
  e <- run$estep
  labs <- list(state = enc$states, action = enc$actions)
  Q <- core_q(core, st$theta)
  dimnames(Q) <- labs
  theta <- st$theta
  if (is.matrix(theta)) dimnames(theta) <- labs else
    names(theta) <- theta_names(prep$spec$q_model, prep$params$q)
  w <- st$w
  if (is.matrix(w)) dimnames(w) <- labs
  if (!is.null(st$D)) return(build_fit_dims(call, prep, run, ctrl, Q, theta, w))
  z <- stats::setNames(e$z, enc$participants)
  se <- stats::setNames(e$se, enc$participants)
  prior <- st$prior
  status <- factor(estep_status_labels[e$status + 1L], levels = estep_status_labels)
  status <- mark_not_identified(status, enc)
  not_identified <- attr(status, "identification_message")
  attr(status, "identification_message") <- NULL
  n_j <- diff(enc$offsets)
  prior_j <- (e$z - prior_mu(st))^2 / (2 * prior[["sigma"]]^2)
  participants <- data.frame(
    participant = enc$participants, beta = exp(e$z), z = e$z, se = se,
    n_decisions = n_j, loglik = e$loglik + prior_j, iter = e$iter,
    status = status, stringsAsFactors = FALSE, row.names = NULL
  )
  head <- list(call = compact_call(call), beta = exp(z), z = z, se = se,
               prior = prior, prior_fixed = !is.character(ctrl$prior))
  finish_fit(fit_object(head, prep, run, ctrl, Q, theta, w, participants),
             prep, run, not_identified)
}

#' The fit object: `head` (call, scores, prior), then Q and the rest, in
#' the order every fit has
#' @noRd
fit_object <- function(head, prep, run, ctrl, Q, theta, w, participants) {
  enc <- prep$enc
  core <- prep$core
  st <- run$state
  settings <- prep$settings
  obj <- core_objective(core, st$theta, st$w, st$z, prior_mu(st), prior_sigma(st),
                        ctrl$threads, FALSE, prior_prec(st))
  A <- core_advantage(core, st$theta)
  A[!enc$available] <- 0
  dimnames(A) <- dimnames(Q)
  c(head, list(
    Q = Q, theta = theta, w = w, reward = learned_reward(core, w, enc),
    advantage = A, value = soft_value(Q, enc$available, settings$tau),
    q_model = prep$spec$q_model, reward_model = prep$spec$reward_model,
    params = prep$params,
    participants = participants, objective = obj$components,
    trace = run$trace, converged = run$converged, iterations = run$iterations,
    gamma = settings$gamma, tau = settings$tau, q = prep$spec$q,
    normalise = prep$spec$normalise, task = prep$spec$task,
    settings = settings, control = ctrl, data = enc, core = core
  ))
}

#' The last stage of build_fit(): person-model parts, diagnostics, class
#' and warnings
#' @noRd
finish_fit <- function(fit, prep, run, not_identified) {
  fit <- person_fit_parts(fit, run, prep$enc)
  fit$diagnostics <- diagnose(fit, prep)
  class(fit) <- "rlpsy_fit"
  warn_convergence(fit)
  warn_identification(fit$diagnostics, not_identified)
  fit
}

#' build_fit() for D > 1 dimensions of beta: z, se and beta are
#' participants x dimensions matrices, `prior` is list(mu, Sigma),
#' `participants` has one row per participant and dimension (a pair without
#' decisions is informed by the prior only and is "not_identified"), and
#' `posterior_cov` holds each participant's D x D posterior covariance of z
#' (J x D x D).
#' @noRd
build_fit_dims <- function(call, prep, run, ctrl, Q, theta, w) {
  enc <- prep$enc
  st <- run$state
  e <- run$estep
  D <- st$D
  J <- enc$n_participants
  dn <- list(enc$participants, enc$dimensions)
  z <- matrix(e$z, J, D, byrow = TRUE, dimnames = dn)
  se <- matrix(e$se, J, D, byrow = TRUE, dimnames = dn)
  cov <- cov_array(e$cov, D)
  dimnames(cov) <- c(dn, list(enc$dimensions))
  pairs <- core_encoding(enc)
  status <- factor(estep_status_labels[rep(e$status, each = D) + 1L],
                   levels = estep_status_labels)
  status <- mark_not_identified(status, pairs)
  not_identified <- attr(status, "identification_message")
  attr(status, "identification_message") <- NULL
  participants <- data.frame(
    participant = rep(enc$participants, each = D),
    dimension = rep(enc$dimensions, J), beta = exp(e$z), z = e$z, se = e$se,
    n_decisions = diff(pairs$offsets), loglik = rep(e$loglik, each = D),
    iter = rep(e$iter, each = D), status = status, stringsAsFactors = FALSE,
    row.names = NULL)
  head <- list(call = compact_call(call), beta = exp(z), z = z, se = se,
               prior = st$prior, prior_fixed = !is.character(ctrl$prior),
               dimensions = enc$dimensions, posterior_cov = cov)
  finish_fit(fit_object(head, prep, run, ctrl, Q, theta, w, participants),
             prep, run, not_identified)
}

#' The call of a fit with every argument that is not a symbol, a small
#' constant or a short expression replaced by a placeholder symbol such as
#' `<data.frame 30000 x 6>`: do.call(rlpsy_fit, list(data = big)) puts the
#' data themselves into the call, which print() would show in full.
#' @noRd
compact_call <- function(call) {
  if (!is.call(call)) return(call)
  # do.call(rlpsy_fit, ...) puts the function itself in the call
  if (is.function(call[[1L]])) call[[1L]] <- as.symbol("rlpsy_fit")
  if (length(call) < 2L) return(call)
  for (i in seq_along(call)[-1L]) {
    arg <- call[[i]]
    if (is.null(arg) || is.symbol(arg) || is_small_constant(arg)) next
    if (is.call(arg)) {
      txt <- deparse(arg, width.cutoff = 500L, nlines = 3L)
      if (length(txt) == 1L && nchar(txt) <= 120L) next
    }
    call[[i]] <- as.symbol(describe_argument(arg))
  }
  call
}

#' TRUE for a short atomic constant without attributes other than names
#' (a number, a string, c(mu = 0, sigma = 1))
#' @noRd
is_small_constant <- function(x) {
  is.atomic(x) && length(x) <= 5L && all(names(attributes(x)) %in% "names") &&
    (!is.character(x) || all(nchar(x, allowNA = TRUE) <= 60L, na.rm = TRUE))
}

#' Short description of a value for compact_call(): "<data.frame 30000 x 6>"
#' @noRd
describe_argument <- function(x) {
  what <- if (inherits(x, "rlpsy_data")) {
    paste0("rlpsy_data ", x$n_decisions, " decisions")
  } else if (is.data.frame(x)) {
    paste0(class(x)[1L], " ", nrow(x), " x ", ncol(x))
  } else if (is.matrix(x)) {
    paste0(typeof(x), " matrix ", nrow(x), " x ", ncol(x))
  } else if (is.call(x)) {
    "expression"
  } else if (is.object(x)) {
    class(x)[1L]
  } else if (is.list(x)) {
    paste0("list of ", length(x))
  } else {
    paste0(typeof(x), " vector of length ", length(x))
  }
  paste0("<", what, ">")
}

#' Set entries of unavailable actions to NA (for labelled outputs)
#' @noRd
mask_unavailable <- function(M, available) {
  M[!available] <- NA_real_
  M
}

#' Soft value V(s) = tau log sum_a exp(Q(s, a) / tau) over available actions
#' (the core's equation)
#' @noRd
soft_value <- function(Q, available, tau) {
  stats::setNames(soft_value_cpp(unname(Q), available, tau), rownames(Q))
}

#' The learned reward: the S x K table tanh(w) (unavailable pairs NA) for the
#' default r(s, a), else one row per observed (state, action, next_state)
#' with its reward; NULL for an observed reward.
#' @noRd
learned_reward <- function(core, w, enc) {
  if (is.null(w)) return(NULL)
  if (is.matrix(w)) return(mask_unavailable(tanh(w), enc$available))
  tu <- core_tuples(core)
  r <- core_reward(core, w)
  keep <- !duplicated(paste(tu$state, tu$action, tu$next_state))
  data.frame(state = enc$states[tu$state[keep] + 1L],
             action = enc$actions[tu$action[keep] + 1L],
             next_state = enc$states[tu$next_state[keep] + 1L],
             reward = r[keep], stringsAsFactors = FALSE, row.names = NULL)
}

#' Names of theta for a parameterised Q: the feature names (linear), or the
#' network's weights (MLP)
#' @noRd
theta_names <- function(q, qp) {
  if (q$type == "linear") return(c("(Intercept)", q$features$names))
  P <- ncol(qp$features)
  H <- q$hidden
  c(paste0("W[", rep(seq_len(H), each = P), ",", q$features$names, "]"),
    paste0("b1[", seq_len(H), "]"), paste0("v[", seq_len(H), "]"), "b2")
}

#' One warning with counts when EM or some E-steps did not converge
#' @noRd
warn_convergence <- function(fit) {
  msgs <- character()
  if (!fit$converged) {
    msgs <- c(msgs, sprintf(
      "EM stopped after %d iterations without meeting the tolerance (see `fit$trace`; raise `max_iter` in rlpsy_control()).",
      fit$iterations))
  }
  bad <- !fit$participants$status %in% c("converged", "not_identified")
  if (any(bad)) {
    tab <- table(droplevels(fit$participants$status[bad]))
    msgs <- c(msgs, sprintf(
      "The E-step did not converge for %d of %d participants (%s): %s.",
      sum(bad), length(bad), paste(names(tab), tab, sep = ": ", collapse = ", "),
      show_values(fit$participants$participant[bad])))
  }
  if (length(msgs)) {
    rlpsy_warn(paste(msgs, collapse = "\n"), class = "convergence")
  }
}

#' The C++ core of a fit, rebuilt from the encoded data when the external
#' pointer did not survive (a fit saved and loaded again).
#' @noRd
fit_core <- function(fit) {
  if (!core_alive(fit$core)) fit$core <- make_core(fit$data, fit$settings, fit$params)
  fit$core
}

#' The parameters of a fit's Q as the core takes them (the S x K table for a
#' tabular Q)
#' @noRd
fit_theta <- function(fit) {
  th <- if (is.null(fit$theta)) fit$Q else fit$theta
  unname(unclass(th))
}
