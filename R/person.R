# The person model (issue 13): the latent regression of z = log beta on
# person covariates, and the marginal-likelihood fit (EM over adaptive
# Gauss-Hermite nodes with posterior weights, the M-step on the core's
# person nodes). DESIGN.md section 1 ("person weights are the seam").

# --- latent regression: the design ------------------------------------------------

#' The latent regression's design matrix: one row per participant of `enc`
#' (in the fit's order), from `person_data` keyed by the participant column
#' of the fit's data, and the one-sided `person_formula`. NULL without a
#' formula.
#' @noRd
person_design <- function(enc, person_data, person_formula) {
  if (is.null(person_formula)) {
    if (!is.null(person_data)) {
      rlpsy_abort("`person_data` is given but `person_formula` is not; give ",
                  "`person_formula = ~ x1 + x2` to regress log(beta) on ",
                  "person covariates.")
    }
    return(NULL)
  }
  if (!inherits(person_formula, "formula") || length(person_formula) != 2L) {
    rlpsy_abort("`person_formula` must be a one-sided formula such as ~ x1 + x2, ",
                "not ", describe_type(person_formula), ".")
  }
  if (!is.data.frame(person_data)) {
    rlpsy_abort("`person_formula` needs `person_data`: a data frame with one row ",
                "per participant; got ", describe_type(person_data), ".")
  }
  key <- enc$columns$participant
  if (is.null(key)) key <- "participant"
  if (!key %in% names(person_data)) {
    rlpsy_abort("`person_data` has no column \"", key, "\" (the participant ",
                "column of the fit's data) to key its rows by; its columns are ",
                show_values(names(person_data)), ".")
  }
  vars <- all.vars(person_formula)
  unknown <- setdiff(vars, names(person_data))
  if (length(unknown)) {
    rlpsy_abort("`person_formula` uses ", if (length(unknown) > 1L) "columns " else
                "the column ", show_values(unknown), " that `person_data` does ",
                "not have; its columns are ", show_values(names(person_data)), ".")
  }
  ids <- as.character(person_data[[key]])
  dup <- unique(ids[duplicated(ids)])
  if (length(dup)) {
    rlpsy_abort("`person_data` must have one row per participant, but ",
                if (length(dup) > 1L) "participants " else "participant ",
                show_values(dup), " appear", if (length(dup) == 1L) "s",
                " more than once in column \"", key, "\".")
  }
  parts <- as.character(enc$participants)
  rows <- match(parts, ids)
  if (anyNA(rows)) {
    miss <- parts[is.na(rows)]
    rlpsy_abort("`person_data` lacks ", length(miss), " participant",
                if (length(miss) > 1L) "s", " of the data: ", show_values(miss),
                " (matched by column \"", key, "\").")
  }
  pd <- person_data[rows, vars, drop = FALSE]
  for (v in vars) {
    x <- pd[[v]]
    bad <- if (is.numeric(x)) !is.finite(x) else is.na(x)
    if (any(bad)) {
      rlpsy_abort("The covariate \"", v, "\" of `person_data` is missing or not ",
                  "finite for ", if (sum(bad) > 1L) "participants " else
                  "participant ", show_values(parts[bad]), ".")
    }
  }
  X <- stats::model.matrix(person_formula, stats::model.frame(person_formula, pd))
  rownames(X) <- parts
  if (qr(X)$rank < ncol(X) || nrow(X) <= ncol(X)) {
    rlpsy_abort("The latent regression's design (`person_formula` on ",
                "`person_data`) has ", ncol(X), " columns and rank ", qr(X)$rank,
                " for ", nrow(X), " participants: it needs full column rank and ",
                "more participants than columns.")
  }
  attr(X, "formula") <- person_formula
  X
}

#' The fit's state with the latent regression's design: X, its QR and the
#' starting Gamma (the least-squares fit of the starting prior mean; with
#' D > 1 dimensions a terms x dimensions matrix)
#' @noRd
with_design <- function(st, X) {
  st$X <- X
  st$Xqr <- qr(X)
  if (!is.null(st$D)) {
    mu <- st$prior$mu
    st$coef <- qr.coef(st$Xqr, matrix(rep(mu, each = nrow(X)), nrow(X)))
    dimnames(st$coef) <- list(colnames(X), names(mu))
    return(st)
  }
  st$coef <- stats::setNames(qr.coef(st$Xqr, rep(st$prior[["mu"]], nrow(X))),
                             colnames(X))
  st
}

#' Check the latent regression against the prior setting
#' @noRd
check_person_prior <- function(X, ctrl) {
  if (!is.null(X) && !is.character(ctrl$prior)) {
    rlpsy_abort("A latent regression (`person_formula`) estimates the prior of ",
                "log(beta), so it needs prior = \"empirical\" in rlpsy_control(), ",
                "not a fixed prior.")
  }
  invisible(X)
}

#' The prior mean of every participant's z under the state of a fit: mu, or
#' X Gamma under a latent regression; with D > 1 dimensions a vector of
#' length J * D in the core's order (participant-major)
#' @noRd
prior_mu <- function(st) {
  if (!is.null(st$D)) {
    if (!is.null(st$X)) return(as.vector(t(st$X %*% st$coef)))
    return(rep(st$prior$mu, length(st$z) / st$D))
  }
  if (is.null(st$X)) st$prior[["mu"]] else drop(st$X %*% st$coef)
}

#' The prior SD the core takes (unused with D > 1 dimensions: 1 there)
#' @noRd
prior_sigma <- function(st) if (is.null(st$D)) st$prior[["sigma"]] else 1

#' The prior's spread for the quadrature: sigma, or with D > 1 dimensions
#' the covariance matrix Sigma
#' @noRd
prior_spread <- function(st) if (is.null(st$D)) st$prior[["sigma"]] else st$prior$Sigma

#' The prior's parameters as the vector the EB fixed point iterates on:
#' c(mu, log sigma), or c(Gamma, log sigma) under a latent regression; with
#' D > 1 dimensions c(mu or vec(Gamma), chol_par(Sigma))
#' @noRd
prior_par <- function(st) {
  if (!is.null(st$D)) {
    return(c(if (is.null(st$X)) st$prior$mu else as.vector(st$coef),
             chol_par(st$prior$Sigma)))
  }
  c(if (is.null(st$X)) st$prior[["mu"]] else st$coef, log(st$prior[["sigma"]]))
}

#' The state with the prior set from prior_par()'s vector x
#' @noRd
set_prior_par <- function(st, x) {
  p <- length(x)
  if (!is.null(st$D)) {
    D <- st$D
    k <- p - D * (D + 1L) / 2L
    st$prior$Sigma[] <- chol_set_par(x[-seq_len(k)], D)
    if (is.null(st$X)) {
      st$prior$mu[] <- x[seq_len(k)]
    } else {
      st$coef[] <- x[seq_len(k)]
      st$prior$mu[] <- colMeans(st$X %*% st$coef)
    }
    return(st)
  }
  if (is.null(st$X)) {
    st$prior <- c(mu = x[1], sigma = exp(x[2]))
  } else {
    st$coef <- stats::setNames(x[-p], colnames(st$X))
    st$prior <- c(mu = mean(drop(st$X %*% st$coef)), sigma = exp(x[p]))
  }
  st
}

#' Whether an extrapolated prior_par() vector x may be used: finite, with a
#' log SD (log sigma, or the log diagonal of Sigma's Cholesky factor) that
#' is not absurd
#' @noRd
prior_par_ok <- function(st, x) {
  if (!all(is.finite(x))) return(FALSE)
  if (is.null(st$D)) return(abs(x[length(x)]) < 50)
  D <- st$D
  all(abs(x[length(x) - D * (D + 1L) / 2L + seq_len(D)]) < 25)
}

#' The empirical-Bayes (normal prior) update from posterior means `m` and
#' variances `v` of z, as prior_par()'s vector: mu = mean(m), or the least
#' squares Gamma of m on X; sigma^2 = mean((m - X Gamma)^2 + v). With the
#' MAP's modes and squared SEs this is the Laplace EM step; with the
#' quadrature's posterior means and variances the exact marginal-ML one.
#' With D > 1 dimensions, `m` is J x D and `v` the mean posterior
#' covariance (D x D): Sigma = mean_j r_j r_j' + v, r_j = m_j - mu (or
#' m_j - Gamma' x_j).
#' @noRd
prior_update <- function(st, m, v) {
  if (!is.null(st$D)) {
    if (is.null(st$X)) {
      mu <- colMeans(m)
      return(c(mu, mvn_sigma_update(sweep(m, 2L, mu), v)))
    }
    coef <- qr.coef(st$Xqr, m)
    return(c(coef, mvn_sigma_update(m - st$X %*% coef, v)))
  }
  if (is.null(st$X)) {
    p <- update_prior(m, sqrt(v))
    return(c(p[["mu"]], log(p[["sigma"]])))
  }
  coef <- qr.coef(st$Xqr, m)
  c(coef, 0.5 * log(mean((m - drop(st$X %*% coef))^2 + v)))
}

#' The latent regression's coefficients with standard errors: Gamma solves
#' the weighted normal equations of the final EB step, and its covariance is
#' sigma^2 (X' R X)^-1 with R = diag(r_j), r_j = 1 - v_j / sigma^2 clamped to
#' [0, 1] (v_j the posterior variance of z_j): the inverse information of
#' Gamma in the normal approximation z_j_hat ~ N(x_j' Gamma, sigma^2 + s_j^2)
#' of the unshrunk estimates (s_j their likelihood SE), since
#' 1 / (sigma^2 + s_j^2) = r_j / sigma^2. It is conditional on Q, as the
#' other standard errors of the fit.
#' @noRd
person_coefficients <- function(st, v) {
  if (!is.null(st$D)) return(person_coefficients_mvn(st, v))
  sigma <- st$prior[["sigma"]]
  r <- pmin(pmax(1 - v / sigma^2, 0), 1)
  r[!is.finite(r)] <- 0
  info <- crossprod(st$X, r * st$X) / sigma^2
  vc <- tryCatch(solve(info), error = function(e) {
    matrix(NA_real_, ncol(st$X), ncol(st$X))
  })
  dimnames(vc) <- list(colnames(st$X), colnames(st$X))
  list(coefficients = matrix(st$coef, ncol = 1L,
                             dimnames = list(colnames(st$X), "log_beta")),
       vcov = vc)
}

#' person_coefficients() with D > 1 dimensions: Gamma (terms x dimensions)
#' with the covariance of vec(Gamma) (dimension-major), the inverse of
#' sum_j W_j (x) x_j x_j', W_j = Sigma^-1 (Sigma - V_j) Sigma^-1 =
#' (Sigma + S_j)^-1 (Woodbury; V_j the posterior covariance, S_j the
#' likelihood's), the information of Gamma when z_j_hat ~ N(Gamma' x_j,
#' Sigma + S_j). Sigma - V_j is clamped between 0 and Sigma (the
#' eigenvalues of I - Sigma^-1/2 V_j Sigma^-1/2 to [0, 1]), as r_j for one
#' dimension; a non-finite V_j gives W_j = 0. `v`: J x D x D.
#' @noRd
person_coefficients_mvn <- function(st, v) {
  X <- st$X
  D <- st$D
  p <- ncol(X)
  E <- eigen(st$prior$Sigma, symmetric = TRUE)
  half <- E$vectors %*% diag(sqrt(E$values), D) %*% t(E$vectors)
  ihalf <- solve(half)
  info <- matrix(0, p * D, p * D)
  W <- array(0, c(nrow(X), D, D))
  for (j in seq_len(nrow(X))) {
    Vj <- v[j, , ]
    if (!all(is.finite(Vj))) next
    e <- eigen(diag(D) - ihalf %*% Vj %*% ihalf, symmetric = TRUE)
    M <- e$vectors %*% diag(pmin(pmax(e$values, 0), 1), D) %*% t(e$vectors)
    W[j, , ] <- ihalf %*% M %*% ihalf
  }
  for (a in seq_len(D)) for (b in seq_len(D)) {
    info[(a - 1L) * p + seq_len(p), (b - 1L) * p + seq_len(p)] <-
      crossprod(X, W[, a, b] * X)
  }
  vc <- tryCatch(solve(info), error = function(e) matrix(NA_real_, p * D, p * D))
  dims <- colnames(st$coef)
  lab <- paste0(rep(dims, each = p), ":", colnames(X))
  dimnames(vc) <- list(lab, lab)
  list(coefficients = st$coef, vcov = vc)
}

#' fit$prior of a latent regression: list(mu = mean prior mean, sigma =
#' residual SD, coefficients = terms x 1 matrix, vcov, se, mean = the
#' participants' prior means x_j' Gamma, formula). With D > 1 dimensions:
#' list(mu, Sigma = residual covariance, coefficients and se = terms x
#' dimensions, vcov of vec(Gamma) (rows "dimension:term"), mean = J x D,
#' formula).
#' @noRd
person_prior <- function(st, v, enc) {
  co <- person_coefficients(st, v)
  if (!is.null(st$D)) {
    se <- st$coef
    se[] <- sqrt(diag(co$vcov))
    return(list(mu = st$prior$mu, Sigma = st$prior$Sigma,
                coefficients = co$coefficients, vcov = co$vcov, se = se,
                mean = matrix(prior_mu(st), ncol = st$D, byrow = TRUE,
                              dimnames = list(enc$participants, colnames(st$coef))),
                formula = attr(st$X, "formula")))
  }
  list(mu = st$prior[["mu"]], sigma = st$prior[["sigma"]],
       coefficients = co$coefficients, vcov = co$vcov,
       se = stats::setNames(sqrt(diag(co$vcov)), colnames(st$X)),
       mean = stats::setNames(prior_mu(st), enc$participants),
       formula = attr(st$X, "formula"))
}

#' The prior mean of every participant's z in a fit (length J; a J x D
#' matrix with D > 1 dimensions)
#' @noRd
fit_prior_mean <- function(fit) {
  if (is.list(fit$prior) && !is.null(fit$prior$mean)) return(unname(fit$prior$mean))
  J <- fit$data$n_participants
  if (is.matrix(fit$z)) return(matrix(rep(unname(fit$prior$mu), each = J), J))
  rep(fit$prior[["mu"]], J)
}

# --- quadrature posterior -----------------------------------------------------------

#' Every participant's posterior of z by adaptive Gauss-Hermite quadrature at
#' theta: nodes z = m_j + s_j x at the rule's nodes x, with m_j the posterior
#' mode and s_j its standard error (the prior's mean and sigma where these
#' are not finite), so that int exp(h(z)) dz = s sqrt(2 pi) E[exp(h(m + s X) +
#' X^2 / 2)] with h the log posterior kernel l_j(z) + log N(z; mu_j, sigma^2).
#' With D > 1 dimensions (`mode` and `mu` J x D, `se` the J x D x D
#' posterior covariances, `sigma` the prior's Sigma) see
#' quadrature_posterior_mvn().
#' @return list(Z = J x G nodes, l, lrule (J x G), p = normalised posterior
#'   weights, log_marginal, eap, var, mode, scale)
#' @noRd
quadrature_posterior <- function(core, theta, mode, se, mu, sigma, nodes, threads,
                                 drop = NULL) {
  if (is.matrix(mode)) {
    return(quadrature_posterior_mvn(core, theta, mode, se, mu, sigma, nodes, threads, drop))
  }
  gh <- gauss_hermite(nodes)
  m <- unname(mode)
  s <- unname(se)
  mu <- rep_len(mu, length(m))
  bad <- !is.finite(m) | !is.finite(s) | s <= 0
  m[bad] <- mu[bad]
  s[bad] <- sigma
  Z <- m + outer(s, gh$x)
  quadrature_weights(list(Z = Z, l = core_person_grid(core, theta, Z, threads),
                          lrule = rep(log(gh$w) + gh$x^2 / 2, each = length(m)) +
                            log(s) + 0.5 * log(2 * pi),
                          mode = m, scale = s), mu, sigma)
}

#' quadrature_posterior() with D > 1 dimensions: the product of D rules in
#' the coordinates of the Cholesky factor L_j of the participant's Laplace
#' posterior covariance V (`cov`, J x D x D), centred at the mode: z_jg =
#' m_j + L_j x_g, x_g in the product of the 1-D rules (q^D nodes), as
#' multivariate adaptive quadrature does (GLMMadaptive, mirt). Unlike an
#' axis-aligned grid this integrates a correlated posterior as exactly as
#' an uncorrelated one (an axis-aligned 15^2 grid is off by 0.4% at a
#' posterior correlation of 0.9). Coordinate d of z_jg depends on the
#' first d indices of g only, so the core evaluates the separable
#' l_j(z) = sum_d l_jd(z_d) at q^d points of pair (j, d) (q + q^2 for two
#' dimensions) and the grid's log-likelihoods are sums of those. Rows with
#' non-finite modes or covariances are centred at the prior mean with L the
#' prior's factor. `drop` (J x D, TRUE: the pair's likelihood is left out,
#' so that z_jd has the prior's distribution given the other dimensions)
#' centres the pair at the prior mean with the prior's variance, no
#' correlation.
#' @return the list of quadrature_posterior() with Z a list of D J x G
#'   matrices (one per coordinate) and `cov` (J x D x D) besides `var` (J x
#'   D); `chol` the factors used (J x D x D), `nodes` the pairs' distinct
#'   nodes (a list of D J x q^d matrices) and `drop`.
#' @noRd
quadrature_posterior_mvn <- function(core, theta, mode, cov, mu, Sigma, nodes, threads,
                                     drop = NULL) {
  D <- ncol(mode)
  check_quadrature_dimensions(D)
  m <- unname(mode)
  mu <- unname(mu)
  Lc <- array(0, c(nrow(m), D, D))
  L0 <- t(chol(Sigma))
  for (j in seq_len(nrow(m))) {
    V <- cov[j, , ]
    dd <- if (is.null(drop)) rep(FALSE, D) else drop[j, ]
    if (any(dd)) {
      m[j, dd] <- mu[j, dd]
      V[dd, ] <- V[, dd] <- 0
      V[cbind(which(dd), which(dd))] <- diag(Sigma)[dd]
    }
    L <- if (all(is.finite(m[j, ])) && all(is.finite(V)))
      tryCatch(t(chol(V)), error = function(e) NULL)
    if (is.null(L)) {
      m[j, ] <- mu[j, ]
      L <- L0
    }
    Lc[j, , ] <- L
  }
  g <- sheared_grid(m, Lc, gauss_hermite(nodes))
  distinct <- lapply(seq_len(D), function(d) g$Z[[d]][, seq_len(nodes^d), drop = FALSE])
  l <- pair_loglik(core, theta, distinct, threads, drop)
  G <- nodes^D
  q <- list(Z = g$Z, lrule = g$lrule, mode = m, chol = Lc, nodes = distinct, drop = drop,
            l = Reduce(`+`, lapply(seq_len(D), function(d)
              l[[d]][, (seq_len(G) - 1L) %% nodes^d + 1L, drop = FALSE])))
  q$scale <- sqrt(apply(Lc^2, c(1L, 2L), sum))
  quadrature_weights(q, mu, Sigma)
}

#' The product of k Gauss-Hermite rules (`gh`) sheared by each row's
#' lower-triangular factor: nodes m_j + L_j x_g (a list of k J x G matrices,
#' the first index of g varying fastest) and the log of the rule's weights
#' with the change of variables, log w_g + |x_g|^2 / 2 + log det L_j +
#' (k / 2) log(2 pi) (J x G).
#' @noRd
sheared_grid <- function(m, Lc, gh) {
  J <- nrow(m)
  k <- ncol(m)
  idx <- as.matrix(expand.grid(rep(list(seq_along(gh$x)), k)))
  X <- matrix(gh$x[idx], ncol = k)
  Z <- lapply(seq_len(k), function(d) {
    z <- matrix(m[, d], J, nrow(X))
    for (b in seq_len(d)) z <- z + outer(Lc[, d, b], X[, b])
    z
  })
  rule <- rowSums(matrix(log(gh$w)[idx] + gh$x[idx]^2 / 2, ncol = k))
  logdet <- rowSums(matrix(log(Lc[cbind(rep(seq_len(J), k), rep(seq_len(k), each = J),
                                        rep(seq_len(k), each = J))]), J))
  list(Z = Z, lrule = outer(logdet + k / 2 * log(2 * pi), rule, "+"))
}

#' Behaviour log-likelihoods l_jd of the (participant, dimension) pairs at
#' the points in row j of values[[d]] (a list of D matrices with J rows and
#' any number of columns; NULL for none), by one call of the core on its
#' pseudo-participants; pairs in `drop` (J x D) get 0. With a `table`
#' (pair_table()) the values inside a pair's table are interpolated from it
#' and only the others are evaluated by the core.
#' @noRd
pair_loglik <- function(core, theta, values, threads, drop = NULL, table = NULL) {
  D <- length(values)
  J <- max(vapply(values, NROW, 0L))
  M <- matrix(NA_real_, J * D, max(vapply(values, NCOL, 0L)))
  rows <- function(d) seq.int(d, J * D, by = D)
  for (d in seq_len(D)) {
    if (!is.null(values[[d]])) M[rows(d), seq_len(ncol(values[[d]]))] <- values[[d]]
  }
  dropped <- if (!is.null(drop)) as.vector(t(drop))
  l <- if (is.null(table)) core_person_grid(core, theta, M, threads) else
    table_loglik(core, theta, M, threads, table, dropped)
  if (!is.null(drop)) l[dropped, ] <- 0
  lapply(seq_len(D), function(d) {
    if (is.null(values[[d]])) NULL else l[rows(d), seq_len(ncol(values[[d]])), drop = FALSE]
  })
}

#' The tables of every (pair of a fit's) pseudo-participant's l_jd for
#' table_loglik(): the core's l_jd, l_jd' and l_jd'' (core_person_table())
#' at n equally spaced points centred at `centre` with spacing
#' min(scale / per_sd, max_h), so that they reach (n - 1) / (2 per_sd)
#' scales either side (16 for the defaults) where the scale is below
#' per_sd max_h (0.16), and (n - 1) max_h / 2 (2.56) in z beyond. Pairs in `skip` or with a non-finite
#' centre or scale get no table. Quintic Hermite interpolation on such a
#' grid is exact to about 1e-10 (l_jd is smooth in z on the scale of its
#' posterior SD or 1, whichever is smaller; h^6 |l^(6)| / 46080).
#' @noRd
pair_table <- function(core, theta, centre, scale, threads, skip = NULL, n = 257L,
                       per_sd = 8, max_h = 0.02) {
  h <- pmin(scale / per_sd, max_h)
  lo <- centre - (n - 1L) / 2 * h
  bad <- !is.finite(lo) | !is.finite(h) | !(h > 0)
  if (!is.null(skip)) bad <- bad | skip
  lo[bad] <- NA_real_
  h[bad] <- NA_real_
  list(tab = core_person_table(core, theta, lo, h, n, threads), lo = lo, h = h)
}

#' The core's l_jd at the points of M (rows the pseudo-participants, NA for
#' none) from the `table` of pair_table() where it covers them, by the core
#' elsewhere (core_person_grid_table()); rows in `skip` (logical) are not
#' computed (NA)
#' @noRd
table_loglik <- function(core, theta, M, threads, table, skip = NULL) {
  if (!is.null(skip) && any(skip)) M[skip, ] <- NA_real_
  core_person_grid_table(core, theta, M, table$tab, table$lo, table$h, threads)
}

#' Stop unless the quadrature can handle D dimensions (q^D nodes per
#' participant: at most 3)
#' @noRd
check_quadrature_dimensions <- function(D) {
  if (D > 3L) {
    rlpsy_abort("Integrating over the prior of log(beta) (method = \"marginal\", ",
                "EAP and plausible scores, the marginal log-likelihood) is ",
                "available for at most 3 dimensions of beta (a product grid of ",
                "q^D nodes per participant); this fit has ", D, ".",
                class = "unsupported")
  }
  invisible(D)
}

#' The default number of quadrature nodes per dimension: 21, 15 and 9 for
#' D = 1, 2, 3 (21, 225 and 729 nodes per participant)
#' @noRd
default_quad_nodes <- function(D) {
  check_quadrature_dimensions(D)
  c(21L, 15L, 9L)[D]
}

#' The posterior weights, log marginal likelihoods, means and variances on
#' fixed nodes q$Z with behaviour log-likelihoods q$l, for the prior
#' N(mu, sigma^2) (mu of length 1 or J); with D > 1 dimensions for the
#' prior N(mu_j, Sigma) (mu J x D, `sigma` = Sigma), with the posterior
#' covariances too
#' @noRd
quadrature_weights <- function(q, mu, sigma) {
  if (is.list(q$Z)) {
    lw <- q$l + mvn_log_density(q$Z, mu, sigma) + q$lrule
  } else {
    lw <- q$l + stats::dnorm(q$Z, mu, sigma, log = TRUE) + q$lrule
  }
  lse <- row_logsumexp(lw)
  q$p <- exp(lw - lse)
  q$log_marginal <- lse
  if (is.list(q$Z)) {
    D <- length(q$Z)
    q$eap <- matrix(vapply(q$Z, function(Z) rowSums(q$p * Z), numeric(nrow(lw))), ncol = D)
    R <- lapply(seq_len(D), function(d) q$Z[[d]] - q$eap[, d])
    q$cov <- array(0, c(nrow(lw), D, D))
    for (a in seq_len(D)) for (b in seq_len(a)) {
      q$cov[, a, b] <- q$cov[, b, a] <- rowSums(q$p * R[[a]] * R[[b]])
    }
    q$var <- matrix(vapply(seq_len(D), function(d) q$cov[, d, d], numeric(nrow(lw))), ncol = D)
    q$mu <- mu
    return(q)
  }
  q$eap <- rowSums(q$p * q$Z)
  q$var <- rowSums(q$p * (q$Z - q$eap)^2)
  q$mu <- rep_len(mu, nrow(q$Z))
  q
}

#' log N(z; mu_j, Sigma) at every node: Z a list of D matrices (J x G), one
#' per coordinate, mu J x D; by forward substitution with Sigma's Cholesky
#' factor
#' @noRd
mvn_log_density <- function(Z, mu, Sigma) {
  L <- t(chol(Sigma))
  D <- nrow(L)
  w <- vector("list", D)
  quad <- 0
  for (a in seq_len(D)) {
    r <- Z[[a]] - mu[, a]
    for (b in seq_len(a - 1L)) r <- r - L[a, b] * w[[b]]
    w[[a]] <- r / L[a, a]
    quad <- quad + w[[a]]^2
  }
  -0.5 * quad - sum(log(diag(L))) - D / 2 * log(2 * pi)
}

#' The M-step's person nodes of a quadrature: for every (pseudo-)
#' participant in the core's order its nodes, and their posterior weights
#' (negligible ones, below 1e-10, set to 0 so that the core skips them), as
#' the vectors and offsets core_mstep_nodes() takes. With D > 1 dimensions
#' pair (j, d) takes the posterior weights of the grid nodes on each of its
#' q^d distinct values (quadrature_posterior_mvn()), sum_g p_jg sum_d
#' l_jd(z_jgd) = sum_(j,d) sum_i w_jdi l_jd(z_jdi); with `compress`, the
#' q^d weighted values of d > 1 are replaced by the q-point Gauss rule of
#' that discrete distribution (gauss_rule_discrete()), exact for l_jd
#' polynomial of degree < 2q in z, so that the M-step's cost per decision
#' is that of one dimension.
#' @noRd
quadrature_nodes <- function(q, compress = TRUE) {
  if (is.null(q$nodes)) {
    Z <- q$Z
    w <- q$p
  } else {
    G <- ncol(q$p)
    n <- ncol(q$nodes[[1L]])
    per_dim <- lapply(seq_along(q$nodes), function(d) {
      k <- ncol(q$nodes[[d]])
      w <- q$p %*% outer((seq_len(G) - 1L) %% k + 1L, seq_len(k), "==")
      if (compress && k > n) gauss_rule_discrete(q$nodes[[d]], w, n) else
        list(z = q$nodes[[d]], w = w)
    })
    Z <- do.call(cbind, lapply(per_dim, `[[`, "z"))
    w <- do.call(cbind, lapply(per_dim, `[[`, "w"))
  }
  w <- t(w)
  w[w < 1e-10] <- 0  # negligible nodes: skipped by the core
  sizes <- if (is.null(q$nodes)) rep(ncol(q$Z), nrow(q$Z)) else
    rep(vapply(per_dim, function(x) ncol(x$z), 0L), nrow(q$p))
  list(z = as.vector(t(Z)), w = as.vector(w),
       off = as.integer(cumsum(c(0, sizes))))
}

#' The n-point Gauss rule of each row's discrete distribution (points X[i, ],
#' probabilities W[i, ], summing to 1): the eigenvalues of the Jacobi
#' matrix of its orthogonal polynomials, from the discretised Stieltjes
#' procedure (Gautschi 2004, section 2.2.3) on the standardised points,
#' and the squared first components of the eigenvectors. A row whose
#' recursion breaks down (fewer than n points with weight) keeps its
#' points. Returns list(z, w), n columns (or ncol(X) for every row when
#' some row kept its points).
#' @noRd
gauss_rule_discrete <- function(X, W, n) {
  W[W < 0] <- 0
  W <- W / rowSums(W)
  centre <- rowSums(W * X)
  scale <- sqrt(rowSums(W * (X - centre)^2))
  U <- (X - centre) / scale
  a <- b <- matrix(0, nrow(X), n)
  p_old <- 0
  p <- matrix(1, nrow(X), ncol(X))
  norm_old <- 1
  for (k in seq_len(n)) {
    norm <- rowSums(W * p^2)
    if (k > 1L) b[, k] <- norm / norm_old
    a[, k] <- rowSums(W * U * p^2) / norm
    p_new <- (U - a[, k]) * p - b[, k] * p_old
    p_old <- p
    p <- p_new
    norm_old <- norm
  }
  ok <- is.finite(rowSums(a)) & is.finite(rowSums(b)) & scale > 0 &
    apply(b[, -1L, drop = FALSE], 1L, min) > 1e-12
  if (!all(ok)) return(list(z = X, w = W))
  z <- w <- matrix(0, nrow(X), n)
  for (i in seq_len(nrow(X))) {
    Jm <- diag(a[i, ], n)
    off <- sqrt(b[i, -1L])
    Jm[cbind(seq_len(n - 1L), 2:n)] <- Jm[cbind(2:n, seq_len(n - 1L))] <- off
    e <- eigen(Jm, symmetric = TRUE)
    z[i, ] <- centre[i] + scale[i] * e$values
    w[i, ] <- e$vectors[1L, ]^2
  }
  list(z = z, w = w)
}

#' The posterior variances the prior's update takes: each participant's
#' (one dimension), or the mean posterior covariance (D > 1)
#' @noRd
quadrature_var <- function(q) if (is.null(q$cov)) q$var else apply(q$cov, c(2L, 3L), mean)

#' The prior's M-step on fixed nodes: the EM of the prior alone (weights,
#' then the marginal-ML update) with the nodes and their log-likelihoods
#' fixed, iterated to its fixed point (each step increases the fixed-node
#' marginal likelihood), from the state st; returns the state and the
#' quadrature at the new prior.
#' @noRd
prior_mstep <- function(st, q, tol, max_iter = 500L) {
  for (k in seq_len(max_iter)) {
    x0 <- prior_par(st)
    st <- set_prior_par(st, prior_update(st, q$eap, quadrature_var(q)))
    q <- quadrature_weights(q, prior_mean(st), prior_spread(st))
    if (max(abs(prior_par(st) - x0)) < tol) break
  }
  list(state = st, q = q)
}

#' The prior mean of every participant as the quadrature takes it: a
#' vector (one dimension) or a J x D matrix
#' @noRd
prior_mean <- function(st) {
  if (is.null(st$D)) prior_mu(st) else by_participant(prior_mu(st), st$D)
}

# --- the marginal fit ---------------------------------------------------------------

#' The marginal-likelihood fit: EM for L_beh-mix plus the penalties, from
#' the MAP fit. Each iteration: (E) at the current theta and prior, every
#' participant's posterior over z on adaptive Gauss-Hermite nodes with
#' normalised weights w_jg; (M) the prior's marginal-ML update (mu =
#' sum_jg w z / J, sigma^2 = sum_jg w (z - mu)^2 / J, or the regression
#' version) and L-BFGS on theta for sum_jg w_jg * behaviour_j(e^z_jg) +
#' penalties with the nodes fixed (core_mstep_nodes). For fixed nodes this is
#' an exact EM for the quadrature's marginal objective, so the objective
#' -sum_j log L_j + penalties does not increase (the nodes re-adapt each
#' iteration, which changes it by the quadrature error only). Converged when
#' the M-step converged and neither any posterior mean nor the prior moved
#' more than `tol_z`.
#' @noRd
run_marginal <- function(core, enc, st, ctrl, fixed_q = FALSE) {
  t_map <- proc.time()[["elapsed"]]
  map <- if (fixed_q) list(state = estep_prior(core, st, ctrl, is.character(ctrl$prior)),
                           iterations = 1L) else run_em(core, enc, st, ctrl)
  st <- map$state
  t_map <- proc.time()[["elapsed"]] - t_map
  empirical <- is.character(ctrl$prior)
  tol_abs <- ctrl$tol * max(1, enc$n_decisions)
  D <- n_dimensions(enc)
  G <- if (is.null(ctrl$quad_nodes)) default_quad_nodes(D) else ctrl$quad_nodes
  estep <- function(st, penalty) {
    e <- core_estep(core, st$theta, st$z, prior_mu(st), prior_sigma(st),
                    ctrl$threads, ctrl$estep_iter, ctrl$estep_tol, NULL, prior_prec(st))
    q <- quadrature_posterior(core, st$theta, by_participant(e$z, D),
                              if (D == 1L) e$se else cov_array(e$cov, D),
                              prior_mean(st), prior_spread(st), G, ctrl$threads)
    q$estep <- e
    q$penalty <- penalty
    q$objective <- -sum(q$log_marginal) + penalty
    q
  }
  obj0 <- core_objective(core, st$theta, st$w, st$z, prior_mu(st),
                         prior_sigma(st), ctrl$threads, FALSE, prior_prec(st))$components
  q <- estep(st, obj0[["total"]] - obj0[["behaviour"]] - obj0[["prior"]])
  trace <- list(c(iter = 0, total = q$objective, loglik = sum(q$log_marginal),
                  penalty = q$penalty, trace_prior(st), max_dz = NA_real_, mstep_iter = 0,
                  mstep_evals = 0, mstep_status = 0, decrement = 0, time = t_map))
  converged <- FALSE
  it <- 0L
  for (it in seq_len(ctrl$max_iter)) {
    t0 <- proc.time()[["elapsed"]]
    st$z <- q$estep$z
    par_old <- prior_par(st)
    eap_old <- q$eap
    if (empirical) {
      pm <- prior_mstep(st, q, ctrl$tol_z * 1e-2)
      st <- pm$state
      q <- pm$q
    }
    nodes <- quadrature_nodes(q)
    m <- if (fixed_q) list(iter = 0L, n_eval = 0L, status = 0L, decrement = 0) else
      core_mstep_nodes(core, st$theta, st$w, nodes$off, nodes$z, nodes$w,
                       ctrl$threads, ctrl$mstep_iter, tol_abs, FALSE)
    if (!fixed_q) {
      st$theta <- m$theta
      st$w <- m$w
    }
    q_new <- estep(st, if (fixed_q) q$penalty else
      m$components[["total"]] - m$components[["behaviour"]])
    if (!is.finite(q_new$objective)) {
      rlpsy_abort("The marginal objective became non-finite at EM iteration ", it,
                  "; rescale the reward, or use a smaller `tau` or smaller ",
                  "penalty weights.", class = "numerical")
    }
    max_dz <- max(abs(q_new$eap - eap_old))
    d_prior <- max(abs(prior_par(st) - par_old))
    q <- q_new
    trace[[it + 1L]] <- c(iter = it, total = q$objective,
                          loglik = sum(q$log_marginal), penalty = q$penalty,
                          trace_prior(st), max_dz = max_dz, mstep_iter = m$iter,
                          mstep_evals = m$n_eval, mstep_status = m$status,
                          decrement = m$decrement,
                          time = proc.time()[["elapsed"]] - t0)
    if (m$status == 0L && max_dz < ctrl$tol_z && d_prior < ctrl$tol_z) {
      converged <- TRUE
      break
    }
  }
  st$z <- q$estep$z
  st$estep <- q$estep
  list(state = st, estep = q$estep, trace = as.data.frame(do.call(rbind, trace)),
       converged = converged, iterations = it,
       marginal = list(loglik = sum(q$log_marginal),
                       participant = q$log_marginal, eap = q$eap,
                       eap_sd = sqrt(q$var), cov = q$cov, objective = q$objective,
                       penalty = q$penalty, nodes = G, map_iterations = map$iterations))
}

#' Scores named by participant: a named vector, or with D > 1 dimensions a
#' participants x dimensions matrix
#' @noRd
name_scores <- function(x, enc) {
  if (!is.matrix(x)) return(stats::setNames(x, enc$participants))
  dimnames(x) <- list(enc$participants, enc$dimensions)
  x
}

#' The person-model parts of a fit object: the latent regression's prior,
#' the marginal fit's EAP scores and marginal log-likelihood, and the method.
#' @noRd
person_fit_parts <- function(fit, run, enc) {
  st <- run$state
  fit$method <- if (is.null(run$marginal)) "map" else "marginal"
  if (!is.null(run$marginal)) {
    mg <- run$marginal
    fit$eap <- name_scores(mg$eap, enc)
    fit$eap_sd <- name_scores(mg$eap_sd, enc)
    fit$marginal <- mg[c("loglik", "objective", "penalty", "nodes",
                         "map_iterations")]
    fit$marginal$participant <- stats::setNames(mg$participant, enc$participants)
  }
  if (!is.null(st$X)) {
    v <- if (!is.null(st$D)) {
      if (is.null(run$marginal)) fit$posterior_cov else run$marginal$cov
    } else if (is.null(run$marginal)) run$estep$se^2 else run$marginal$eap_sd^2
    fit$prior <- person_prior(st, v, enc)
    fit$person_design <- st$X
  }
  fit
}

#' Degrees of freedom of a fit's marginal likelihood: every free parameter.
#' Tabular Q: per visited state, its K_s available actions less the
#' centring and, with per-state normalisation, the scale (max(K_s - 2, 0));
#' with global normalisation one scale for all (sum (K_s - 1) - 1). Q
#' features: length(theta). A learned reward: its free parameters (the
#' (state, action) pairs with transitions for the default table, else
#' length(w)). The prior: 2 (mu, sigma), or the regression's coefficients
#' + 1; none when fixed. The beta_j are integrated out.
#' @noRd
marginal_df <- function(fit) {
  d <- fit$data
  visited <- tabulate(d$state + 1L, d$n_states) > 0L
  k <- rowSums(d$available)[visited]
  q_df <- if (!is.null(fit$q_model) && fit$q_model$type != "table") {
    length(fit$theta)
  } else if (identical(fit$normalise, "global")) {
    max(sum(pmax(k - 1, 0)) - 1, 0)
  } else {
    sum(pmax(k - 2, 0))
  }
  w_df <- if (is.null(fit$w)) 0 else if (is.matrix(fit$w)) {
    taken <- tabulate(d$action * d$n_states + d$state + 1L, d$n_states * d$n_actions) > 0L
    sum(matrix(taken, d$n_states, d$n_actions) & d$available)
  } else length(fit$w)
  D <- n_dimensions(d)
  n_mean <- if (is.list(fit$prior) && !is.null(fit$prior$coefficients))
    length(fit$prior$coefficients) else D
  prior_df <- if (fit$prior_fixed) 0 else n_mean + D * (D + 1) / 2
  as.integer(q_df + w_df + prior_df)
}

#' The print() lines of the person model: the latent regression's
#' coefficients and the marginal fit's log-likelihood (nothing for a plain
#' MAP fit)
#' @noRd
print_person_model <- function(x, f) {
  if (is.list(x$prior) && !is.null(x$prior$coefficients)) {
    co <- x$prior$coefficients
    se <- matrix(x$prior$se, nrow(co))
    cat("           mu = x'Gamma (latent regression ",
        paste(deparse(x$prior$formula), collapse = " "), "): ", sep = "")
    for (d in seq_len(ncol(co))) {
      cat(if (ncol(co) > 1L) paste0("\n             ", colnames(co)[d], ": "),
          paste0(rownames(co), " ", f(co[, d]), " (SE ", f(se[, d]), ")", collapse = ", "),
          sep = "")
    }
    cat(if (ncol(co) > 1L) "\n           Sigma is the residual covariance\n" else
      "; sigma is the residual SD\n", sep = "")
  }
  if (identical(x$method, "marginal")) {
    D <- n_dimensions(x$data)
    cat("Marginal:  log-likelihood ", f(x$marginal$loglik), " (", x$marginal$nodes,
        if (D > 1L) paste0("^", D, " = ", x$marginal$nodes^D),
        " adaptive Gauss-Hermite nodes per participant); fit$eap holds the ",
        "posterior means\n", sep = "")
  }
  invisible(x)
}
