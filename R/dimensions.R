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
  if (inherits(column, "rlpsy_dimension_codes")) {
    # a refit of a fit's (subset of) decisions: the codes in enc's order
    enc$dimension <- column$code
    enc$dimensions <- column$labels
    enc$columns$dimension <- column$column
    return(enc)
  }
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

#' The dimension codes of an encoding as rlpsy_fit()'s `dimension` takes
#' them from refit_like() (refits of a fit's decisions, whose rlpsy_data
#' `data` would otherwise lose them: strip_dimension())
#' @noRd
dimension_codes <- function(enc) {
  structure(list(code = enc$dimension, labels = enc$dimensions,
                 column = enc$columns$dimension), class = "rlpsy_dimension_codes")
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

#' The key of a (participant, dimension) unit, for matching scores
#' @noRd
unit_key <- function(participant, dimension) paste0(participant, "\r", dimension)

#' The unit keys of the rows of a scores table (participant, and dimension
#' with several dimensions), as predict_beta_new() returns them
#' @noRd
score_keys <- function(sc) {
  if (is.null(sc$dimension)) sc$participant else unit_key(sc$participant, sc$dimension)
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

#' The quadrature's limit of 3 dimensions for the marginal fit
#' @noRd
check_dimension_use <- function(enc, method) {
  D <- n_dimensions(enc)
  if (D > 1L && method == "marginal") check_quadrature_dimensions(D)
  invisible()
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

#' The covariance matrix as the unconstrained vector the EB fixed point
#' iterates on: the log of its Cholesky factor's diagonal, then the factor's
#' lower triangle
#' @noRd
chol_par <- function(Sigma) {
  L <- t(chol(Sigma))
  c(log(diag(L)), L[lower.tri(L)])
}

#' The covariance matrix (D x D) from chol_par()'s vector x
#' @noRd
chol_set_par <- function(x, D) {
  L <- diag(exp(x[seq_len(D)]), D)
  L[lower.tri(L)] <- x[-seq_len(D)]
  tcrossprod(L)
}

#' The covariance update of the MVN prior: Sigma = mean_j r_j r_j' + V
#' (residuals R, J x D; V the mean posterior covariance), as chol_par()'s
#' vector. Dimensions that measure the same thing (or few participants,
#' under the marginal-ML update) make it nearly singular: its eigenvalues
#' are kept at least 1e-8 times its mean variance.
#' @noRd
mvn_sigma_update <- function(R, V) {
  D <- ncol(R)
  Sigma <- crossprod(R) / nrow(R) + V
  Sigma <- (Sigma + t(Sigma)) / 2
  floor <- 1e-8 * mean(diag(Sigma))
  E <- eigen(Sigma, symmetric = TRUE)
  if (min(E$values) < floor) {
    Sigma <- E$vectors %*% diag(pmax(E$values, floor), D) %*% t(E$vectors)
    Sigma <- (Sigma + t(Sigma)) / 2
  }
  chol_par(Sigma)
}

#' A J x D matrix from a participant-major vector of length J * D (the
#' core's pseudo-participant order); the vector itself for one dimension
#' @noRd
by_participant <- function(x, D) if (D == 1L) x else matrix(x, ncol = D, byrow = TRUE)

#' The E-step's posterior covariances (D x D per participant, in a vector)
#' as a J x D x D array
#' @noRd
cov_array <- function(cov, D) {
  aperm(array(cov, c(D, D, length(cov) / D^2)), c(3L, 2L, 1L))
}

#' The mean over participants of the E-step's D x D posterior covariances
#' @noRd
mean_posterior_cov <- function(e, D) matrix(rowMeans(matrix(e$cov, D * D)), D, D, byrow = TRUE)

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
