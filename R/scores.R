# Person scores from each participant's posterior of z = log beta given the
# fit's Q and prior (issue 13, "the person model"): the marginal likelihood
# by adaptive Gauss-Hermite quadrature, EAP scores with posterior SDs and
# quantiles, plausible values drawn from the exact posterior, and the
# marginal and EAP reliabilities. The behaviour log-likelihood l_j(z) comes
# from the C++ core (core_person_grid); R never recomputes the policy.

#' Person scores: posterior modes, posterior means and plausible values
#'
#' Scores every participant of a fit on the log inverse temperature
#' \eqn{z_j = \log\beta_j} from their posterior given the fitted advantage
#' and prior, \eqn{p(z \mid \mathrm{data}_j) \propto \exp(l_j(z))\,
#' N(z; \mu, \sigma^2)}, where \eqn{l_j} is the behaviour log-likelihood of
#' participant j's decisions.
#'
#' @section Methods:
#' * `"map"`: the posterior mode, as in [coef.rlpsy_fit()]; `std.error` is
#'   the curvature-based standard error and the interval is the Wald
#'   interval \eqn{\hat z \pm q\,SE} (as [confint.rlpsy_fit()], on the log
#'   scale).
#' * `"eap"`: the posterior mean (expected a posteriori) by adaptive
#'   Gauss-Hermite quadrature with `nodes` nodes, centred at the mode and
#'   scaled by its standard error (as `glmer(nAGQ = )` in lme4 and `mirt`);
#'   `std.error` is the posterior standard deviation and `conf.low`,
#'   `conf.high` are the equal-tailed posterior quantiles at `level` (a
#'   credible interval, not a normal approximation: with few decisions the
#'   posterior of \eqn{z} is skewed).
#' * `"plausible"`: the EAP columns plus `draws` plausible values
#'   `draw1`, `draw2`, ... of \eqn{z_j}, independent draws from each
#'   participant's exact posterior. They are drawn by inverting the
#'   posterior's distribution function, computed on a fine grid (501
#'   points, adapted to each participant so that it covers all but a
#'   relative \eqn{e^{-35}} of the density) by the trapezoidal rule and
#'   interpolated linearly. Unlike a normal approximation this keeps the
#'   skewness of the posterior, and unlike a Markov chain the draws are
#'   independent, exact up to the grid's resolution and need no tuning.
#'   Use plausible values, not point estimates, to estimate population
#'   quantities (variances, correlations with other variables, group
#'   differences): across participants they have the prior's distribution,
#'   whereas modes and means are shrunk towards \eqn{\mu}. Analyse each
#'   draw separately and pool with Rubin's rules.
#'
#' All figures are conditional on the fitted \eqn{Q} and prior (their
#' uncertainty is not propagated), like the standard errors of the fit.
#' Participants whose \eqn{\beta} the data cannot identify (status
#' `"not_identified"` in `fit$participants`; see
#' [identification_participants()]) get the prior as their posterior for
#' every method: estimate \eqn{\mu}, standard error \eqn{\sigma}, prior
#' quantiles and draws from the prior.
#'
#' @section Several dimensions of beta:
#' For a fit with D = 2 or 3 dimensions (`dimension` in [rlpsy_fit()]),
#' participant j's posterior is \eqn{p(z \mid \mathrm{data}_j) \propto
#' \exp(\sum_d l_{jd}(z_d))\, N(z; \mu_j, \Sigma)}, and the result has one
#' row per participant and dimension (column `dimension`, in the order of
#' `fit$participants`).
#' * `"eap"`: posterior means and SDs of each \eqn{z_{jd}} by adaptive
#'   Gauss-Hermite quadrature on a product of D rules (`nodes` per
#'   dimension), centred at the posterior mode and sheared by the Cholesky
#'   factor of the participant's posterior covariance (the inverse of minus
#'   the D x D Hessian), so a posterior correlated through the prior is
#'   integrated as well as an uncorrelated one. The intervals are the
#'   equal-tailed quantiles of each \eqn{z_{jd}}'s marginal posterior,
#'   whose density is computed on the adaptive grid described above with
#'   the other coordinates integrated out by quadrature (on their Laplace
#'   conditional given \eqn{z_{jd}}). On these grids, and in the chains of
#'   `"plausible"`, each \eqn{l_{jd}} is interpolated (quintic Hermite)
#'   from the core's value and first two derivatives at 257 points around
#'   the pair's posterior, within about 1e-9, and computed exactly
#'   outside them; the EAPs, SDs and marginal likelihoods use the exact
#'   \eqn{l_{jd}}.
#' * `"plausible"`: draws of the whole vector \eqn{z_j} from its exact
#'   joint posterior by an independence Metropolis-Hastings chain per
#'   participant: proposals from a multivariate t (4 df) centred at the
#'   posterior mean with the posterior covariance as its scale matrix, the
#'   log posterior of every proposal (the core's \eqn{l_{jd}}, from the
#'   table above, no normal approximation); the chain starts at the mean, the first 20
#'   steps are discarded and every 10th state is kept. The posterior is
#'   the chain's stationary distribution, so the draws are exact in
#'   distribution; successive draws of a participant are nearly
#'   independent (the attribute `acceptance` gives the acceptance rate,
#'   typically 0.7-0.9; a draw equals the previous one with probability at
#'   most (1 - acceptance)^10 per participant on average).
#' * `"map"`: the fit's modes and their SEs.
#'
#' A (participant, dimension) pair whose \eqn{\beta} is not identified
#' (among them a pair without decisions) has its likelihood left out, so
#' its score comes from the prior given the participant's other
#' dimensions. The default `nodes` is 15 for two dimensions and 9 for
#' three (225 and 729 nodes per participant); more than three dimensions
#' are an error of class `rlpsy_error_unsupported`.
#'
#' @section Reliability:
#' The attribute `reliability` holds two model-based reliabilities of
#' \eqn{z} from the quadrature (the same for every `method`):
#' * `marginal`: \eqn{1 - \mathrm{mean}_j \mathrm{Var}(z_j \mid
#'   \mathrm{data}) / \sigma^2}, the share of the prior variance that the
#'   data remove on average;
#' * `eap`: \eqn{\mathrm{var}(\mathrm{EAP}) / (\mathrm{var}(\mathrm{EAP}) +
#'   \mathrm{mean}_j \mathrm{Var}(z_j \mid \mathrm{data}))}, the
#'   reliability of the EAP scores (`var()` with denominator \eqn{J - 1}).
#'
#' With D > 1 dimensions it is a 2 x D matrix (rows `marginal` and `eap`,
#' \eqn{\sigma^2} the prior variance of each dimension).
#'
#' They are conditional on \eqn{Q}, as the "model" figure of
#' [rlpsy_reliability()], which shows the EAP reliability beside it; the
#' split-half reliability is the honest figure.
#'
#' @param fit an `rlpsy_fit` object.
#' @param method `"map"` (default), `"eap"` or `"plausible"`; see
#'   "Methods".
#' @param draws number of plausible values per participant (a whole number
#'   from 1 to 10000); used by `"plausible"` only.
#' @param level level of the intervals, strictly between 0 and 1.
#' @param nodes number of adaptive Gauss-Hermite quadrature nodes per
#'   dimension of beta (a whole number from 1 to 100; 1 is the Laplace
#'   approximation), or `NULL` (default) for 21 with one dimension, 15 with
#'   two and 9 with three. 21 nodes integrate the posteriors of the
#'   one-dimensional fits we have seen to about 10 digits; 15^2 nodes those
#'   of two dimensions to about 1e-7 (log marginal likelihood per
#'   participant) and 1e-5 (posterior SDs).
#' @param seed `NULL` (use the session's random numbers) or a whole number:
#'   the plausible values are then drawn from a private stream seeded with
#'   it, and the caller's random number state is left as it was.
#' @return A data frame with one row per participant (in the fit's order)
#'   and columns `participant`, `estimate` (of \eqn{z = \log\beta}),
#'   `std.error`, `conf.low`, `conf.high` (all on the log scale), `beta`
#'   (\eqn{\exp} of `estimate`; for EAP, the posterior geometric mean of
#'   \eqn{\beta}), `n_decisions`, `status` (as in `fit$participants`) and,
#'   for `"plausible"`, `draw1` ... `drawK` (on the log scale); with
#'   several dimensions one row per participant and dimension, with a
#'   `dimension` column after `participant`. Attributes: `method`, `level`,
#'   `nodes`, `prior` (`fit$prior`), `reliability` (named `marginal`, `eap`;
#'   see "Reliability") and, for plausible values with several dimensions,
#'   `acceptance`.
#' @section Errors and warnings:
#' An error of class `rlpsy_error_input` naming the argument when `fit` is
#' not an `rlpsy_fit`, `method` is not one of the allowed values, `draws`
#' or `nodes` is not a whole number in its range, `level` is not strictly
#' between 0 and 1, or `seed` is not `NULL` or a whole number >= 0; of
#' class `rlpsy_error_unsupported` for a fit with more than 3 dimensions of
#' beta. No warnings.
#' @seealso [rlpsy_marginal_loglik()]; [coef.rlpsy_fit()] and
#'   [confint.rlpsy_fit()] for the modes; [rlpsy_reliability()].
#' @examples
#' ex <- rlpsy_example[rlpsy_example$participant %in%
#'                       unique(rlpsy_example$participant)[1:60], ]
#' fit <- rlpsy_fit(ex, participant = "participant", state = "state",
#'                  action = "action", next_state = "next_state",
#'                  done = "done", reward = "reward", gamma = 0.9,
#'                  tau = 0.05, control = rlpsy_control(threads = 1))
#' head(rlpsy_scores(fit))
#' eap <- rlpsy_scores(fit, "eap")
#' head(eap)
#' attr(eap, "reliability")
#' pv <- rlpsy_scores(fit, "plausible", draws = 5, seed = 1)
#' # plausible values keep the population's spread; EAPs are shrunk
#' c(prior = fit$prior[["sigma"]]^2, eap = var(eap$estimate),
#'   plausible = mean(apply(pv[paste0("draw", 1:5)], 2, var)))
#' # two temperatures: decisions in odd and in even states
#' ex$parity <- ifelse(as.integer(factor(ex$state)) %% 2 == 1, "odd", "even")
#' fit2 <- rlpsy_fit(ex, participant, state, action, next_state, done = done,
#'                   reward = reward, gamma = 0.9, tau = 0.05,
#'                   dimension = parity, control = rlpsy_control(threads = 1))
#' pv2 <- rlpsy_scores(fit2, "plausible", draws = 3, seed = 1)
#' head(pv2)
#' attr(pv2, "reliability")
#' @export
rlpsy_scores <- function(fit, method = c("map", "eap", "plausible"), draws = 5,
                         level = 0.95, nodes = NULL, seed = NULL) {
  check_rlpsy_fit(fit)
  method <- check_choice(method, c("map", "eap", "plausible"), "method")
  draws <- check_count(draws, "draws", min = 1, max = 10000)
  level <- check_level(level)
  nodes <- check_nodes(nodes, fit)
  if (!is.null(seed)) seed <- check_count(seed, "seed", min = 0)
  post <- person_posterior(fit, nodes)
  p <- fit$participants
  ni <- p$status == "not_identified"
  acceptance <- NULL
  out <- if (method == "map") {
    q <- stats::qnorm((1 + level) / 2)
    # D > 1: the fit's modes (a pair without decisions has the prior's
    # conditional mode already)
    z <- if (post$D > 1L) p$z else ifelse(ni, post$mu, p$z)
    se <- if (post$D > 1L) p$se else ifelse(ni, post$sigma, p$se)
    scores_table(p, z, se, z - q * se, z + q * se)
  } else {
    if (post$D > 1L) post$table <- scores_table_loglik(post)
    grid <- posterior_grid(post)
    a <- (1 - level) / 2
    ci <- posterior_quantiles(grid, c(a, 1 - a))
    tab <- scores_table(p, pairs_vector(post$eap), sqrt(pairs_vector(post$var)),
                        ci[, 1L], ci[, 2L])
    if (method == "plausible") {
      stream <- seeded_stream(seed)
      pv <- if (post$D > 1L) plausible_mvn(post, draws, stream) else
        posterior_quantiles(grid, stream(matrix(stats::runif(nrow(p) * draws),
                                                nrow(p), draws)))
      acceptance <- attr(pv, "acceptance")
      pv <- matrix(pv, nrow(p), dimnames = list(NULL, paste0("draw", seq_len(draws))))
      tab <- cbind(tab, as.data.frame(pv))
    }
    tab
  }
  structure(out, method = method, level = level, nodes = nodes,
            prior = fit$prior, reliability = score_reliability(post),
            acceptance = acceptance)
}

#' The marginal and EAP reliabilities of rlpsy_scores(): c(marginal, eap),
#' or with D > 1 dimensions a 2 x D matrix (rows marginal, eap)
#' @noRd
score_reliability <- function(post) {
  one <- function(eap, var, sigma) {
    c(marginal = 1 - mean(var) / sigma^2, eap = reliability(eap, sqrt(var)))
  }
  if (post$D == 1L) return(one(post$eap, post$var, post$sigma))
  vapply(stats::setNames(seq_len(post$D), colnames(post$Sigma)), function(d)
    one(post$eap[, d], post$var[, d], post$sigma[d]), numeric(2))
}

#' A J x D matrix as a vector in the order of fit$participants (participant
#' by participant); a vector is returned as it is
#' @noRd
pairs_vector <- function(x) if (is.matrix(x)) as.vector(t(x)) else x

#' `nodes` of rlpsy_scores() and rlpsy_marginal_loglik(): a whole number
#' from 1 to 100 per dimension, or NULL for the default of the fit's number
#' of dimensions (21, 15, 9); more than 3 dimensions are an error
#' @noRd
check_nodes <- function(nodes, fit) {
  D <- n_dimensions(fit$data)
  if (is.null(nodes)) return(default_quad_nodes(D))
  check_quadrature_dimensions(D)
  check_count(nodes, "nodes", min = 1, max = 100)
}

#' The marginal log-likelihood of a fit's data
#'
#' The behaviour log-likelihood with each participant's log inverse
#' temperature integrated over the fitted prior (the specification's
#' \eqn{\mathcal{L}_{\text{beh-mix}}}), at the fitted \eqn{Q}:
#' \deqn{\sum_j \log \int \exp(l_j(z))\, N(z; \mu, \sigma^2)\, dz,}
#' where \eqn{l_j(z)} is the log-likelihood of participant j's decisions
#' under the policy \eqn{\mathrm{softmax}(e^z A)}. Each integral is computed
#' by adaptive Gauss-Hermite quadrature with `nodes` nodes, centred at the
#' participant's posterior mode and scaled by its standard error (the
#' method of lme4's `glmer(nAGQ = )`); `nodes = 1` is the Laplace
#' approximation. With D = 2 or 3 dimensions of beta the integral is over
#' \eqn{z \in R^D} with the prior \eqn{N(\mu_j, \Sigma)} and
#' \eqn{l_j(z) = \sum_d l_{jd}(z_d)}, on a product of D rules with `nodes`
#' nodes each, sheared by the Cholesky factor of the posterior covariance
#' (see "Several dimensions of beta" in [rlpsy_scores()]); it agrees with a
#' brute-force integral on a fine 2-D grid to about 1e-8 relative at the
#' default 15 nodes per dimension on the test problems. Unlike [logLik.rlpsy_fit()], which plugs in the
#' posterior modes, this is a likelihood of the data given the task model
#' and the population distribution of \eqn{\log\beta}, so it does not grow
#' with the number of participants' parameters.
#'
#' @inheritParams rlpsy_scores
#' @return An object of class `logLik`: the marginal log-likelihood, with
#'   attributes `df` (every free parameter, the \eqn{\beta_j} integrated
#'   out; see "Degrees of freedom" in [logLik.rlpsy_fit()]), `nobs` (the
#'   number of decisions), `participant` (each participant's term, named)
#'   and `nodes`. Every participant counts, identified or not.
#' @section Errors and warnings: An error of class `rlpsy_error_input`
#'   naming the argument when `fit` is not an `rlpsy_fit` or `nodes` is not
#'   a whole number from 1 to 100; of class `rlpsy_error_unsupported` for
#'   a fit with more than 3 dimensions of beta. No warnings.
#' @seealso [rlpsy_scores()], [logLik.rlpsy_fit()].
#' @examples
#' ex <- rlpsy_example[rlpsy_example$participant %in%
#'                       unique(rlpsy_example$participant)[1:60], ]
#' fit <- rlpsy_fit(ex, participant = "participant", state = "state",
#'                  action = "action", next_state = "next_state",
#'                  done = "done", reward = "reward", gamma = 0.9,
#'                  tau = 0.05, control = rlpsy_control(threads = 1))
#' rlpsy_marginal_loglik(fit)
#' rlpsy_marginal_loglik(fit, nodes = 1)  # Laplace
#' logLik(fit)                            # conditional on the modes
#' @export
rlpsy_marginal_loglik <- function(fit, nodes = NULL) {
  check_rlpsy_fit(fit)
  nodes <- check_nodes(nodes, fit)
  post <- person_posterior(fit, nodes)
  structure(sum(post$log_marginal), df = marginal_df(fit),
            nobs = fit$data$n_decisions,
            participant = stats::setNames(post$log_marginal, fit$data$participants),
            nodes = nodes, class = "logLik")
}

#' Stop unless `fit` is an rlpsy_fit
#' @noRd
check_rlpsy_fit <- function(fit, arg = "fit") {
  if (!inherits(fit, "rlpsy_fit")) {
    rlpsy_abort("`", arg, "` must be an rlpsy_fit object (from rlpsy_fit()), not ",
                describe_type(fit), ".")
  }
  invisible(fit)
}

#' The data frame of rlpsy_scores() (log scale)
#' @noRd
scores_table <- function(p, estimate, se, low, high) {
  out <- data.frame(participant = p$participant, estimate = estimate, std.error = se,
                    conf.low = low, conf.high = high, beta = exp(estimate),
                    n_decisions = p$n_decisions, status = p$status,
                    stringsAsFactors = FALSE, row.names = NULL)
  if (is.null(p$dimension)) return(out)
  cbind(out[1L], dimension = p$dimension, out[-1L], stringsAsFactors = FALSE)
}

#' Gauss-Hermite rule for the standard normal weight, by the Golub-Welsch
#' method: the nodes are the eigenvalues of the symmetric tridiagonal Jacobi
#' matrix of the probabilists' Hermite polynomials (off-diagonal sqrt(k)),
#' the weights the squared first components of its unit eigenvectors, so
#' that sum_i w_i f(x_i) ~ E f(X), X ~ N(0, 1); exact for polynomials of
#' degree < 2n. Symmetrised and cached per n.
#' @noRd
gauss_hermite <- function(n) {
  key <- as.character(n)
  if (is.null(.gh_cache[[key]])) {
    J <- matrix(0, n, n)
    if (n > 1L) {
      k <- seq_len(n - 1L)
      J[cbind(k, k + 1L)] <- J[cbind(k + 1L, k)] <- sqrt(k)
    }
    e <- eigen(J, symmetric = TRUE)
    ord <- order(e$values)
    x <- e$values[ord]
    w <- e$vectors[1L, ord]^2
    .gh_cache[[key]] <- list(x = (x - rev(x)) / 2, w = (w + rev(w)) / (2 * sum(w)))
  }
  .gh_cache[[key]]
}
.gh_cache <- new.env(parent = emptyenv())

#' log sum exp over the rows of a matrix
#' @noRd
row_logsumexp <- function(X) {
  m <- X[, 1L]
  for (g in seq_len(ncol(X))[-1L]) m <- pmax(m, X[, g])
  m + log(rowSums(exp(X - m)))
}

#' Each participant's posterior of z by adaptive Gauss-Hermite quadrature
#' (quadrature_posterior(), R/person.R) at the fit's Q, prior, modes and
#' SEs. Returns the log marginal likelihood of every participant, and the
#' posterior mean and variance, with the prior's (mu, sigma^2) for the
#' participants whose beta is not identified; also what posterior_grid()
#' needs.
#' @noRd
person_posterior <- function(fit, nodes) {
  core <- fit_core(fit)
  Q <- fit_theta(fit)
  if (is.matrix(fit$z)) return(person_posterior_mvn(fit, nodes, core, Q))
  sigma <- fit$prior[["sigma"]]
  q <- quadrature_posterior(core, Q, fit$z, fit$se, fit_prior_mean(fit), sigma,
                            nodes, fit$control$threads)
  eap <- q$eap
  v <- q$var
  ni <- fit$participants$status == "not_identified"
  eap[ni] <- q$mu[ni]
  v[ni] <- sigma^2
  list(log_marginal = q$log_marginal, eap = eap, var = v,
       mode = q$mode, scale = q$scale, mu = q$mu, sigma = sigma, not_identified = ni,
       core = core, Q = Q, threads = fit$control$threads, D = 1L)
}

#' person_posterior() with D > 1 dimensions: the quadrature on the product
#' grid (quadrature_posterior()) at the fit's modes, marginal SDs, prior
#' means and Sigma. The log marginal likelihoods use every decision; the
#' scores leave out the likelihood of the (participant, dimension) pairs
#' whose beta is not identified, so such a z has the prior's distribution
#' given the participant's other dimensions. eap and var are J x D, cov
#' J x D x D; `rows` describes the (participant, dimension) pairs, in the
#' order of fit$participants, for posterior_grid().
#' @noRd
person_posterior_mvn <- function(fit, nodes, core, Q) {
  D <- ncol(fit$z)
  mu <- fit_prior_mean(fit)
  Sigma <- fit$prior$Sigma
  ni <- matrix(fit$participants$status == "not_identified", ncol = D, byrow = TRUE)
  threads <- fit$control$threads
  cov <- unname(fit$posterior_cov)
  q <- quadrature_posterior(core, Q, fit$z, cov, mu, Sigma, nodes, threads)
  qs <- if (any(ni)) quadrature_posterior(core, Q, fit$z, cov, mu, Sigma, nodes,
                                          threads, drop = ni) else q
  sigma <- unname(sqrt(diag(Sigma)))
  post <- list(log_marginal = q$log_marginal, eap = qs$eap, var = qs$var, cov = qs$cov,
               q = qs, mu_j = mu, Sigma = Sigma, D = D, nodes = nodes, core = core, Q = Q,
               threads = threads)
  # the (participant, dimension) pairs as the rows of posterior_grid()
  c(post, list(mode = pairs_vector(qs$mode), scale = pairs_vector(qs$scale),
               mu = pairs_vector(mu), sigma = rep(sigma, nrow(mu)),
               not_identified = rep(FALSE, length(mu))))
}

#' With D > 1 dimensions: the tables of every pair's l_jd (pair_table())
#' around the scores' quadrature centres, from which the interval grids'
#' marginal posteriors and the plausible values' Metropolis chains take
#' l_jd instead of calling the core at each of their points; pairs left out
#' (`drop`) get none
#' @noRd
scores_table_loglik <- function(post) {
  skip <- if (!is.null(post$q$drop)) as.vector(t(post$q$drop))
  pair_table(post$core, post$Q, post$mode, post$scale, post$threads, skip)
}

#' Each participant's log posterior kernel on `n` equally spaced points
#' from lo to hi (rows with `todo` FALSE are not computed: NA)
#' @noRd
grid_log_posterior <- function(post, lo, hi, n, todo) {
  Z <- lo + outer(hi - lo, seq(0, 1, length.out = n))
  Z[!todo, ] <- NA_real_
  if (post$D > 1L) return(list(z = Z, lp = marginal_log_posterior(post, Z, todo)))
  lp <- core_person_grid(post$core, post$Q, Z, post$threads) +
    stats::dnorm(Z, post$mu, post$sigma, log = TRUE)
  list(z = Z, lp = lp)
}

#' The posterior of every participant on a grid adapted to it: start from
#' mode +- 10 SE, widen a side (doubling its reach) while the log density
#' at its end is within 30 of the maximum, then trim both ends to where it
#' falls 35 below the maximum and evaluate again, so that n points cover
#' the posterior's mass at a resolution fit to its width. The distribution
#' function is the trapezoidal integral of the density, normalised. Not
#' identified participants get the prior.
#' @return list(z, cdf): J x n matrices.
#' @noRd
posterior_grid <- function(post, n = 501L, cut = 35) {
  J <- length(post$mode)
  ni <- post$not_identified
  lo <- post$mode - 10 * post$scale
  hi <- post$mode + 10 * post$scale
  lo[ni] <- post$mu[ni] - 10 * post$sigma
  hi[ni] <- post$mu[ni] + 10 * post$sigma
  todo <- !ni
  g <- list(z = matrix(NA_real_, J, n), lp = matrix(NA_real_, J, n))
  for (pass in seq_len(8L)) {
    if (!any(todo)) break
    r <- grid_log_posterior(post, lo, hi, n, todo)
    g$z[todo, ] <- r$z[todo, ]
    g$lp[todo, ] <- r$lp[todo, ]
    top <- apply(g$lp, 1L, max)
    wide_lo <- todo & g$lp[, 1L] > top - 30
    wide_hi <- todo & g$lp[, n] > top - 30
    lo[wide_lo] <- post$mode[wide_lo] - 2 * (post$mode[wide_lo] - lo[wide_lo])
    hi[wide_hi] <- post$mode[wide_hi] + 2 * (hi[wide_hi] - post$mode[wide_hi])
    todo <- wide_lo | wide_hi
  }
  keep <- !ni
  if (any(keep)) {
    top <- apply(g$lp, 1L, max)
    inside <- g$lp > top - cut
    first <- pmax(max.col(inside, ties.method = "first") - 1L, 1L)
    last <- pmin(n + 1L - max.col(inside[, n:1, drop = FALSE], ties.method = "first") + 1L, n)
    idx <- cbind(seq_len(J), first)
    lo2 <- g$z[idx]
    hi2 <- g$z[cbind(seq_len(J), last)]
    r <- grid_log_posterior(post, lo2, hi2, n, keep)
    g$z[keep, ] <- r$z[keep, ]
    g$lp[keep, ] <- r$lp[keep, ]
  }
  if (any(ni)) {
    g$z[ni, ] <- lo[ni] + outer(hi[ni] - lo[ni], seq(0, 1, length.out = n))
    g$lp[ni, ] <- stats::dnorm(g$z[ni, ], post$mu[ni], post$sigma, log = TRUE)
  }
  dens <- exp(g$lp - apply(g$lp, 1L, max))
  dz <- (g$z[, n] - g$z[, 1L]) / (n - 1)
  cells <- dz * (dens[, -1L, drop = FALSE] + dens[, -n, drop = FALSE]) / 2
  cdf <- cbind(0, matrix(t(apply(cells, 1L, cumsum)), J))
  list(z = g$z, cdf = cdf / cdf[, n], prior = ni, mu = post$mu, sigma = post$sigma)
}

#' With D > 1 dimensions: the log marginal posterior density of z_jd (up to
#' a constant per pair) at the points in row (j, d) of Z (pairs in the
#' core's order; rows with `todo` FALSE are not computed): l_jd(t) plus the
#' log of the integral over the other coordinates of exp(sum_d' l_jd'(z_d'))
#' N(z; mu_j, Sigma) at z_d = t, by adaptive quadrature on the other
#' coordinates' Laplace conditional given z_d = t (centre m_-d + V_-d,d /
#' V_dd (t - m_d), the Cholesky factor of V_-d,-d - V_-d,d V_d,-d / V_dd;
#' V the quadrature's L L'), with the fit's number of nodes per dimension.
#' With the tables of l_jd (post$table, scores_table_loglik()) the core
#' computes it all (core_conditional_grid(), the same sums in C++ with l_jd
#' interpolated); without them, R here with the core's exact l_jd.
#' @noRd
marginal_log_posterior <- function(post, Z, todo) {
  q <- post$q
  D <- post$D
  J <- nrow(q$mode)
  gh <- gauss_hermite(post$nodes)
  lp <- matrix(NA_real_, nrow(Z), ncol(Z))
  full <- function(jj, x) {
    out <- matrix(NA_real_, J, ncol(x))
    out[jj, ] <- x
    out
  }
  for (d in seq_len(D)) {
    rows <- seq.int(d, nrow(Z), by = D)
    jj <- which(todo[rows])
    if (!length(jj)) next
    o <- setdiff(seq_len(D), d)
    B <- matrix(0, length(jj), D - 1L)
    Lc <- array(0, c(length(jj), D - 1L, D - 1L))
    for (a in seq_along(jj)) {
      V <- tcrossprod(q$chol[jj[a], , ])
      B[a, ] <- V[o, d] / V[d, d]
      Lc[a, , ] <- t(chol(V[o, o, drop = FALSE] - tcrossprod(V[o, d]) / V[d, d]))
    }
    g0 <- sheared_grid(q$mode[jj, o, drop = FALSE], Lc, gh)
    G <- ncol(g0$lrule)
    mu <- post$mu_j[jj, , drop = FALSE]
    if (!is.null(post$table)) {
      dropped <- if (is.null(q$drop)) rep(FALSE, J * D) else as.vector(t(q$drop))
      lp[rows[jj], ] <- core_conditional_grid(
        post$core, post$Q, post$table$tab, post$table$lo, post$table$h, d - 1L,
        jj - 1L, Z[rows[jj], , drop = FALSE], unlist(g0$Z), B, q$mode[jj, d], mu,
        t(chol(post$Sigma)), g0$lrule, dropped, post$threads)
      next
    }
    chunk <- max(1L, floor(2e6 / (J * D * G)))
    for (ii in split(seq_len(ncol(Z)), ceiling(seq_len(ncol(Z)) / chunk))) {
      t_ii <- Z[rows[jj], ii, drop = FALSE]
      shift <- (t_ii - q$mode[jj, d])[, rep(seq_along(ii), each = G), drop = FALSE]
      Zo <- lapply(seq_along(o), function(k) {
        g0$Z[[k]][, rep(seq_len(G), length(ii)), drop = FALSE] + B[, k] * shift
      })
      vals <- vector("list", D)
      vals[[d]] <- full(jj, t_ii)
      vals[o] <- lapply(Zo, function(x) full(jj, x))
      l <- pair_loglik(post$core, post$Q, vals, post$threads, q$drop, post$table)
      Zl <- vector("list", D)
      Zl[[d]] <- t_ii[, rep(seq_along(ii), each = G), drop = FALSE]
      Zl[o] <- Zo
      lw <- Reduce(`+`, lapply(l[o], function(x) x[jj, , drop = FALSE])) +
        mvn_log_density(Zl, mu, post$Sigma) +
        g0$lrule[, rep(seq_len(G), length(ii)), drop = FALSE]
      lp[rows[jj], ii] <- l[[d]][jj, seq_along(ii), drop = FALSE] +
        block_logsumexp(lw, G)
    }
  }
  lp
}

#' log sum exp over each block of G consecutive columns of X (n * G
#' columns): an nrow(X) x n matrix
#' @noRd
block_logsumexp <- function(X, G) {
  A <- array(X, c(nrow(X), G, ncol(X) / G))
  top <- A[, 1L, , drop = FALSE]
  for (g in seq_len(G)[-1L]) top <- pmax(top, A[, g, , drop = FALSE])
  s <- 0
  for (g in seq_len(G)) s <- s + exp(A[, g, , drop = FALSE] - top)
  matrix(top + log(s), nrow(X))
}

#' Plausible values with D > 1 dimensions: `draws` draws of every
#' participant's z from the exact joint posterior by an independence
#' Metropolis-Hastings chain per participant, with a multivariate t
#' proposal (4 df) centred at the posterior mean, scaled by the posterior
#' covariance (both from the quadrature; proposal covariance twice it, with
#' heavier tails than the posterior). The log posterior of every proposal is
#' exact (the core's l_jd at the proposed z_d, summed, plus the MVN prior),
#' so the chain's stationary distribution is the posterior itself; the
#' chain starts at the mean, discards 20 steps and keeps every 10th state.
#' `stream` is the private random stream (seeded_stream()). Rows in the
#' order of fit$participants (participant by participant); the acceptance
#' rate is the attribute `acceptance`.
#' @noRd
plausible_mvn <- function(post, draws, stream, nu = 4, burn = 20L, thin = 10L) {
  D <- post$D
  J <- nrow(post$eap)
  centre <- post$eap
  Lf <- array(0, c(J, D, D))
  for (j in seq_len(J)) {
    V <- post$cov[j, , ]
    L <- tryCatch(t(chol(V)), error = function(e) diag(sqrt(pmax(diag(V), 1e-12)), D))
    Lf[j, , ] <- L
  }
  log_target <- function(Y) {
    Reduce(`+`, pair_loglik(post$core, post$Q, Y, post$threads, post$q$drop,
                            post$table)) +
      mvn_log_density(Y, post$mu_j, post$Sigma)
  }
  state <- centre
  lr_x <- drop(log_target(lapply(seq_len(D), function(d) centre[, d, drop = FALSE])))
  n_steps <- burn + draws * thin
  out <- matrix(NA_real_, J * D, draws)
  accepted <- 0
  for (start in seq.int(1L, n_steps, by = 500L)) {
    cols <- start:min(start + 499L, n_steps)
    C <- length(cols)
    rn <- stream(list(eps = array(stats::rnorm(J * D * C), c(J, D, C)),
                      w = matrix(stats::rchisq(J * C, nu) / nu, J, C),
                      u = matrix(stats::runif(J * C), J, C)))
    Y <- lapply(seq_len(D), function(d) {
      shift <- 0
      for (b in seq_len(d)) shift <- shift + Lf[, d, b] * rn$eps[, b, ]
      centre[, d] + matrix(shift, J) / sqrt(rn$w)
    })
    r2 <- matrix(0, J, C)
    for (d in seq_len(D)) r2 <- r2 + matrix(rn$eps[, d, ], J)^2
    lr <- log_target(Y) + (nu + D) / 2 * log1p(r2 / (rn$w * nu))
    for (k in seq_len(C)) {
      acc <- log(rn$u[, k]) < lr[, k] - lr_x
      acc[is.na(acc)] <- FALSE
      accepted <- accepted + sum(acc)
      for (d in seq_len(D)) state[acc, d] <- Y[[d]][acc, k]
      lr_x[acc] <- lr[acc, k]
      step <- cols[k] - burn
      if (step > 0L && step %% thin == 0L) out[, step %/% thin] <- as.vector(t(state))
    }
  }
  structure(out, acceptance = accepted / (J * n_steps))
}

#' Quantiles of every participant's posterior: row j of `u` (or the vector
#' `u` for every row) through the inverse of the grid's distribution
#' function, linear between grid points (the density is constant within a
#' cell; cells without mass are skipped); for participants whose posterior
#' is the prior, the prior's quantiles.
#' @return J x length(u) (or J x ncol(u)) matrix.
#' @noRd
posterior_quantiles <- function(grid, u) {
  J <- nrow(grid$z)
  n <- ncol(grid$z)
  if (!is.matrix(u)) u <- matrix(u, J, length(u), byrow = TRUE)
  out <- matrix(NA_real_, J, ncol(u))
  for (j in seq_len(J)) {
    if (grid$prior[j]) {
      out[j, ] <- stats::qnorm(u[j, ], grid$mu[j], grid$sigma)
      next
    }
    F <- grid$cdf[j, ]
    i <- pmin(findInterval(u[j, ], F, rightmost.closed = TRUE), n - 1L)
    i <- pmax(i, 1L)
    f <- (u[j, ] - F[i]) / (F[i + 1L] - F[i])
    f[!is.finite(f)] <- 0
    out[j, ] <- grid$z[j, i] + pmin(pmax(f, 0), 1) * (grid$z[j, i + 1L] - grid$z[j, i])
  }
  out
}
