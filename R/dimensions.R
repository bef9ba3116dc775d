# Several temperatures per participant (`dimension` in rlpsy_fit()): each
# decision belongs to one dimension d of beta, participant j has
# z_j = log beta_j in R^D with the prior z_j ~ N(mu, Sigma). In the core,
# participant j's decisions of dimension d are the pseudo-participant
# j * D + d (the behaviour term and its gradient are those of J * D units
# with their own beta); only the E-step and the prior couple the D
# coordinates of a participant (estep_mvn in inst/include/rlpsy/estep.h).

#' The dimension of every decision, checked and encoded
#'
#' @param enc the encoded decisions (rows in enc order, enc$row the rows of
#'   `data`); @param data the user's data frame; @param column the column
#'   name (a string) or NULL.
#' @return enc, with `dimension` (0-based codes in enc order) and
#'   `dimensions` (the sorted labels) when D > 1; unchanged when `column` is
#'   NULL or names a constant column (one dimension: today's model).
#' @noRd
dimension_encoding <- function(enc, data, column) {
  if (is.null(column)) return(enc)
  if (!is.data.frame(data)) {
    rlpsy_abort("`dimension` names a column of the decisions, so `data` must be ",
                "a data frame, not an rlpsy_data object.")
  }
  if (!is.character(column) || length(column) != 1L || is.na(column)) {
    rlpsy_abort("`dimension` must be NULL or the name of a column of `data` ",
                "(a string or a bare name), not ", describe_value(column), ".")
  }
  if (!column %in% names(data)) {
    rlpsy_abort("`data` does not have the `dimension` column \"", column, "\".")
  }
  used <- unlist(enc$columns[c("action", "next_state")])
  if (column %in% used) {
    rlpsy_abort("`dimension` = \"", column, "\" is the action or next-state ",
                "column: a dimension must be known before the choice (state, ",
                "phase, item), never the action taken or its outcome.")
  }
  x <- data[[column]]
  if (!is.character(x) && !is.factor(x)) {
    rlpsy_abort("The `dimension` column \"", column, "\" must be character or ",
                "a factor, not ", describe_type(x), ".")
  }
  bad <- which(is.na(x) | (is.character(x) & !nzchar(x)))
  if (length(bad)) {
    rlpsy_abort("The `dimension` column \"", column, "\" has missing or empty ",
                "values in rows ", show_values(bad), ".")
  }
  labels <- if (is.factor(x)) levels(droplevels(x)) else sort(unique(x))
  if (length(labels) == 1L) return(enc)
  enc$dimension <- match(as.character(x), labels)[enc$row] - 1L
  enc$dimensions <- labels
  enc$columns$dimension <- column
  warn_action_dimension(enc)
  enc
}

#' Warn when the dimension looks like a function of the action taken: in
#' the states where several dimensions occur (at least 20 decisions there),
#' every (state, action) pair has a single dimension. Splitting decisions by
#' the chosen action conditions on the outcome and biases both betas
#' (DESIGN.md section 7).
#' @noRd
warn_action_dimension <- function(enc) {
  n_dim <- tapply(enc$dimension, enc$state, function(v) length(unique(v)))
  mixed <- enc$state %in% as.integer(names(n_dim)[n_dim > 1L])
  if (sum(mixed) < 20L) return(invisible())
  sa <- enc$state[mixed] * enc$n_actions + enc$action[mixed]
  per_pair <- tapply(enc$dimension[mixed], sa, function(v) length(unique(v)))
  if (all(per_pair == 1L)) {
    rlpsy_warn("The `dimension` column \"", enc$columns$dimension, "\" looks like a ",
               "function of the action taken: in the states where several ",
               "dimensions occur, each action always has the same dimension. A ",
               "dimension must be known before the choice (state, phase, item); ",
               "splitting decisions by the chosen action biases both betas.",
               class = "dimension")
  }
}

#' An rlpsy_data object given as `data` (e.g. a fit's `fit$data`) without
#' the dimension codes a fit with `dimension` added: the dimension comes
#' from the `dimension` argument only
#' @noRd
strip_dimension <- function(enc) {
  if (is.null(enc$dimensions)) return(enc)
  enc$dimension <- enc$dimensions <- NULL
  enc$columns$dimension <- NULL
  enc
}

#' The number of dimensions of an encoding or fit state (1 without)
#' @noRd
n_dimensions <- function(enc) if (is.null(enc$dimensions)) 1L else length(enc$dimensions)

#' The encoding the C++ core sees: with D > 1 dimensions, one
#' pseudo-participant j * D + d per (participant, dimension), decisions
#' ordered by it (stable, so each keeps its order); unchanged otherwise.
#' A pair without decisions is an empty pseudo-participant, informed by the
#' prior only.
#' @noRd
core_encoding <- function(enc) {
  D <- n_dimensions(enc)
  if (D == 1L) return(enc)
  J <- enc$n_participants
  pair <- enc$participant * D + enc$dimension
  ord <- order(pair, method = "radix")
  for (f in c("state", "action", "next_state", "done", "reward")) {
    if (!is.null(enc[[f]])) enc[[f]] <- enc[[f]][ord]
  }
  enc$participant <- pair[ord]
  enc$participants <- paste0(rep(enc$participants, each = D), ":", enc$dimensions)
  enc$n_participants <- J * D
  enc$offsets <- as.integer(cumsum(c(0, tabulate(pair + 1L, J * D))))
  enc$row <- enc$row[ord]
  enc$dimension <- enc$dimensions <- NULL
  enc
}

#' The inputs rlpsy_fit() cannot combine with several dimensions yet
#' @noRd
check_dimension_use <- function(enc, X, method, start) {
  if (n_dimensions(enc) == 1L) return(invisible())
  what <- c(if (!is.null(X)) "a latent regression (`person_formula`)",
            if (method == "marginal") "method = \"marginal\"",
            if (!is.null(start)) "a warm start (`start`)")
  if (length(what)) {
    rlpsy_abort("Several dimensions of beta (`dimension`) cannot yet be ",
                "combined with ", paste(what, collapse = " or "), ".")
  }
}

#' Stop when a function that does not yet support several dimensions of beta
#' is given such a fit
#' @noRd
check_one_dimension <- function(fit, what) {
  if (n_dimensions(fit$data) > 1L) {
    rlpsy_abort(what, ": not yet available for fits with several dimensions ",
                "of beta (`dimension` in rlpsy_fit()).", class = "unsupported")
  }
  invisible(fit)
}

# --- the multivariate normal prior ----------------------------------------------

#' The starting prior for D dimensions: N(mu 1, sigma^2 I) from the scalar
#' prior c(mu, sigma) (the default N(0, 1) or the fixed `prior`)
#' @noRd
mvn_prior_start <- function(prior, labels) {
  D <- length(labels)
  list(mu = stats::setNames(rep(prior[["mu"]], D), labels),
       Sigma = matrix(diag(prior[["sigma"]]^2, D), D, D,
                      dimnames = list(labels, labels)))
}

#' The prior as the vector the EB fixed point iterates on: c(mu, log of the
#' Cholesky factor's diagonal, its lower triangle)
#' @noRd
mvn_par <- function(prior) {
  L <- t(chol(prior$Sigma))
  c(prior$mu, log(diag(L)), L[lower.tri(L)])
}

#' The prior from mvn_par()'s vector
#' @noRd
mvn_set_par <- function(prior, x) {
  D <- length(prior$mu)
  L <- diag(exp(x[D + seq_len(D)]), D)
  L[lower.tri(L)] <- x[-seq_len(2L * D)]
  prior$mu[] <- x[seq_len(D)]
  prior$Sigma[] <- tcrossprod(L)
  prior
}

#' The empirical-Bayes update of the MVN prior from the E-step (Laplace EM
#' step): mu = mean_j z_j, Sigma = mean_j ((z_j - mu)(z_j - mu)' + V_j), V_j
#' the posterior covariance (-H_j)^-1. As mvn_par()'s vector.
#' @noRd
mvn_update <- function(e, D) {
  Z <- matrix(e$z, ncol = D, byrow = TRUE)
  mu <- colMeans(Z)
  R <- sweep(Z, 2L, mu)
  V <- matrix(rowMeans(matrix(e$cov, D * D)), D, D, byrow = TRUE)
  Sigma <- crossprod(R) / nrow(Z) + V
  Sigma <- (Sigma + t(Sigma)) / 2
  # dimensions that measure the same thing make Sigma (nearly) singular:
  # keep it positive definite with the smallest ridge that does
  ridge <- 0
  repeat {
    L <- tryCatch(t(chol(Sigma + diag(ridge, D))), error = function(e) NULL)
    if (!is.null(L)) break
    ridge <- max(2 * ridge, 1e-10 * mean(diag(Sigma)))
  }
  c(mu, log(diag(L)), L[lower.tri(L)])
}

#' E-step and (empirical prior) the EB fixed point with D > 1 dimensions;
#' as estep_prior() (same SQUAREM iteration on mvn_par()'s vector).
#' @noRd
estep_prior_mvn <- function(core, st, ctrl, empirical) {
  D <- length(st$prior$mu)
  estep_at <- function(p) {
    e <- core_estep(core, st$theta, st$z, rep(p$mu, length(st$z) / D), 1,
                    ctrl$threads, ctrl$estep_iter, ctrl$estep_tol, NULL,
                    solve(p$Sigma))
    st$z <<- e$z
    e
  }
  e <- estep_at(st$prior)
  if (empirical) {
    map <- function(x) {
      e <<- estep_at(mvn_set_par(st$prior, x))
      mvn_update(e, D)
    }
    ok <- function(x) all(is.finite(x)) && all(abs(x[D + seq_len(D)]) < 25)
    x <- squarem_fixed_point(map, mvn_par(st$prior), ctrl$tol_z * 1e-2, ok)
    st$prior <- mvn_set_par(st$prior, x)
    e <- estep_at(st$prior)
  }
  st$estep <- e
  st
}

#' The precision Sigma^-1 of a D > 1 state's prior for the core; NULL for
#' one dimension (the scalar E-step and prior)
#' @noRd
prior_prec <- function(st) {
  if (is.null(st$D)) NULL else solve(st$prior$Sigma)
}

#' The prior's numbers as one vector (convergence checks, trace)
#' @noRd
prior_vector <- function(st) c(unlist(st$prior), st$coef)

#' The prior's summary in an EM trace row: mu and sigma, or with D > 1
#' dimensions NA there and mu, sd of each dimension after them
#' @noRd
trace_prior <- function(st) {
  if (is.null(st$D)) return(c(mu = st$prior[["mu"]], sigma = st$prior[["sigma"]]))
  lab <- names(st$prior$mu)
  c(mu = NA_real_, sigma = NA_real_,
    stats::setNames(st$prior$mu, paste0("mu_", lab)),
    stats::setNames(sqrt(diag(st$prior$Sigma)), paste0("sigma_", lab)))
}
