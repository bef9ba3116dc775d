# Model checks in the manner of mirt's itemfit/personfit: per state,
# observed against expected action counts; per participant, the
# standardised log-likelihood person-fit statistic l_z. The policy
# probabilities come from predict(type = "prob").

#' State fit and person fit of a fitted model
#'
#' Checks where the model does not describe the choices.
#'
#' @section By state:
#' For each state with decisions, the observed count \eqn{O_a} of each
#' action of its choice set is compared with the expected count
#' \eqn{E_a = \sum_t p_t(a)}, the sum over the state's decisions of each
#' participant's fitted policy probabilities. The statistic is the
#' generalised Pearson chi-square
#' \eqn{X^2 = (O - E)' V^{-} (O - E)} with \eqn{V = \sum_t (\mathrm{diag}(p_t)
#' - p_t p_t')} the covariance of the counts under the fitted policy (the
#' decisions differ in their probabilities, so \eqn{\sum_a (O_a - E_a)^2 /
#' E_a} would not be chi-square), and \eqn{V^{-}} its pseudo-inverse. It has
#' `df` = the rank of \eqn{V}: \eqn{K_s - 1} for \eqn{K_s} actions in the
#' choice set (less if some have probability near 0); when all decisions
#' have the same probabilities it equals Pearson's statistic. The p-value
#' is from the chi-square distribution with `df` degrees of freedom. It
#' treats the fitted advantage as known, so it tests the fitted values, not
#' only the softmax: with the task's true values (`q = "task"` and the
#' `task` that generated the data) it is calibrated (in simulations of a
#' 4 x 4 gridworld, 100 participants x 150 decisions, 5.8% of 104 state
#' tests had p < 0.05); with values estimated from the data, their
#' estimation error is misfit the test sees when a state has many
#' decisions (21% of the same tests with the default `q = "joint"` fit,
#' 40% with `q = "task"` from the empirical transitions). A flagged state is
#' then one whose fitted values do not match the choices made there, which
#' attenuates beta (errors in the advantage), but not necessarily one where
#' people act against the task.
#'
#' `calibrate = "bootstrap"` accounts for the estimation of the values: it
#' simulates `R` data sets of trajectories from the fit (as
#' `simulate(fit, type = "trajectory")`: the empirical transitions, each
#' participant's \eqn{\hat\beta_j} and number of decisions), refits each
#' with the fit's settings, and divides each state's statistic by
#' `scale` = max(1, mean bootstrap statistic / df), the inflation that
#' estimating the values causes there, before taking its chi-square
#' p-value. In the simulations above this brought the default fit's share
#' of p < 0.05 from 21% to 4.8% (R = 30). It takes `R` refits.
#'
#' With a learned reward each state's advantage is fitted to its own
#' choices and the asymptotic test is conservative. The approximation needs
#' expected counts that are not tiny: see `min_expected`.
#'
#' @section By participant:
#' The standardised log-likelihood (Drasgow, Levine and Williams 1985)
#' \deqn{l_z = (l - E[l]) / \sqrt{\mathrm{Var}[l]},}
#' with \eqn{l = \sum_t \log p_t(a_t)} the participant's log-likelihood at
#' \eqn{\hat\beta_j}, and its mean \eqn{E[l] = \sum_t \sum_a p_t(a) \log
#' p_t(a)} and variance \eqn{\mathrm{Var}[l] = \sum_t (\sum_a p_t(a) \log^2
#' p_t(a) - (\sum_a p_t(a) \log p_t(a))^2)} computed exactly from the fitted
#' policy of each decision.
#'
#' In this model \eqn{\log p_t(a) = \beta_j A(s_t, a) - \log Z_t}, so
#' \eqn{l - E[l] = \beta_j \sum_t (A(s_t, a_t) - E_{p_t} A(s_t, \cdot))}
#' is \eqn{\beta_j} times the score of \eqn{\beta_j}: at the maximum
#' likelihood estimate \eqn{l_z} would be 0 for everyone, and at the
#' posterior mode it is \eqn{(\hat z_j - \mu) / (\sigma^2
#' \sqrt{\mathrm{Var}[l]})}, the pull of the prior. Under the model its
#' variance is \eqn{1 / (1 + \sigma^2 I_j)} (far below 1 when scores are
#' reliable), where \eqn{I_j = \mathrm{Var}[l]} is also the Fisher
#' information of \eqn{\log\beta_j}. The corrected statistic (in the spirit
#' of Snijders' 2001 \eqn{l_z^*})
#' \deqn{l_z^* = l_z \sqrt{1 + \sigma^2 \mathrm{Var}[l]}}
#' is standard normal under the model (to first order it is \eqn{(\hat
#' z^{ML}_j - \mu) / \sqrt{\sigma^2 + 1 / I_j}}): in simulations of the
#' generating model its mean was 0.02, its SD 1.01, and 4.3% of 800
#' participants had p < 0.05. The p-values and flags use \eqn{l_z^*}, lower
#' tail. Large negative values mean choices far less consistent with the
#' task's values than the population's prior allows for the amount of
#' data: random responding, or acting on other values. Because the
#' likelihood depends on the choices only through the score, no person-fit
#' statistic built on it can tell a random responder from a participant
#' with a very small \eqn{\beta_j}: it is the prior that makes such a
#' participant stand out. For values that do not fit a state's choices, use
#' `by = "state"`. Participants with fewer than 2 decisions in states with
#' a choice get `NA`.
#'
#' With several dimensions of beta (`dimension` in [rlpsy_fit()]) there is
#' one row per participant and dimension (a `dimension` column), each over
#' that dimension's decisions, with \eqn{\sigma^2} the conditional prior
#' variance \eqn{1 / (\Sigma^{-1})_{dd}} of the dimension given the
#' participant's others; a simulation of two dimensions (150 participants,
#' one participant's second dimension answered at random) gave that unit
#' \eqn{l_z^* = -4.1}, and the other units mean 0.00 and SD 0.97. By
#' state, each decision's expected counts use the beta of its dimension;
#' `calibrate = "bootstrap"` is not available for such fits (it simulates
#' whole trajectories).
#'
#' @section Flags:
#' `flagged` is `p.adjusted < alpha`, with the p-values adjusted for the
#' number of states (or participants) by [stats::p.adjust()] with method
#' `adjust` (Holm by default, which controls the family-wise error rate;
#' `"BH"` controls the false discovery rate, `"none"` flags at the nominal
#' level).
#'
#' @param fit an `rlpsy_fit` object.
#' @param by `"state"` (default) or `"participant"`.
#' @param adjust the p-value adjustment: a method of [stats::p.adjust()]
#'   (`"holm"` by default).
#' @param alpha the level at which adjusted p-values are flagged.
#' @param calibrate `"asymptotic"` (default: chi-square p-values that treat
#'   the fitted values as known) or `"bootstrap"` (by state only; see "By
#'   state").
#' @param R number of bootstrap data sets for `calibrate = "bootstrap"`.
#' @param seed `NULL` or a whole number: the seed of the bootstrap (the
#'   caller's random number stream is restored).
#' @return A data frame of class `rlpsy_fit_stats`. By state: one row per
#'   state with decisions: `state`, `n` (decisions), `n_actions` (size of
#'   the choice set), `statistic`, `df`, `p.value`, `p.adjusted`, `flagged`,
#'   `min_expected` (smallest expected count), and with
#'   `calibrate = "bootstrap"` `scale` (the p-value is that of
#'   `statistic / scale`); attributes `observed` and
#'   `expected` hold the states x actions count matrices. By participant:
#'   `participant`, `n_decisions`, `beta`, `loglik`, `expected` (\eqn{E[l]}),
#'   `sd` (\eqn{\sqrt{\mathrm{Var}[l]}}), `l_z`, `l_z_star`, `p.value` (of
#'   `l_z_star`), `p.adjusted`, `flagged`. Printing shows the flagged rows first.
#' @section Errors and warnings: An error of class `rlpsy_error_input` when
#'   `fit` is not an `rlpsy_fit`, `by`, `adjust` or `calibrate` is not one of
#'   the allowed values, `alpha` is not strictly between 0 and 1, `R` or
#'   `seed` are given without `calibrate = "bootstrap"`, or the bootstrap is
#'   asked for with `by = "participant"`. With the bootstrap, warnings of the
#'   refits are gathered into one per kind (class `rlpsy_warning_<kind>`).
#' @seealso [fitted.rlpsy_fit()], [simulate.rlpsy_fit()] for simulation
#'   checks.
#' @references Drasgow, F., Levine, M. V. and Williams, E. A. (1985).
#'   Appropriateness measurement with polychotomous item response models
#'   and standardized indices. *British Journal of Mathematical and
#'   Statistical Psychology*, 38, 67-86.
#'
#'   Snijders, T. A. B. (2001). Asymptotic null distribution of person fit
#'   statistics with estimated person parameter. *Psychometrika*, 66,
#'   331-342.
#' @examples
#' fit <- rlpsy_fit(rlpsy_example, "participant", "state", "action",
#'                  "next_state", done = "done", reward = "reward",
#'                  gamma = 0.9, tau = 0.05,
#'                  control = rlpsy_control(threads = 1))
#' rlpsy_fit_stats(fit)
#' # p-values that account for the estimated values (R refits; use ~100)
#' rlpsy_fit_stats(fit, calibrate = "bootstrap", R = 10, seed = 1)
#' pf <- rlpsy_fit_stats(fit, by = "participant")
#' head(pf)
#' mean(pf$p.value < 0.05)  # about 5% or less when the model is right
#' @export
rlpsy_fit_stats <- function(fit, by = c("state", "participant"), adjust = "holm",
                            alpha = 0.05, calibrate = c("asymptotic", "bootstrap"),
                            R = 100, seed = NULL) {
  if (!inherits(fit, "rlpsy_fit")) {
    rlpsy_abort("`fit` must be an rlpsy_fit object (from rlpsy_fit()), not ",
                describe_type(fit), ".")
  }
  by <- check_choice(by, c("state", "participant"), "by")
  adjust <- check_choice(adjust, stats::p.adjust.methods, "adjust")
  alpha <- check_level(alpha, "alpha")
  calibrate <- check_choice(calibrate, c("asymptotic", "bootstrap"), "calibrate")
  if (by == "participant" && calibrate == "bootstrap") {
    rlpsy_abort("calibrate = \"bootstrap\" is for by = \"state\"; the person-fit ",
                "statistic l_z* is standard normal under the model already.")
  }
  if (calibrate == "bootstrap") {
    check_one_dimension(fit, "rlpsy_fit_stats(calibrate = \"bootstrap\")")
  }
  if (calibrate == "asymptotic" && (!missing(R) || !is.null(seed))) {
    rlpsy_abort("`R` and `seed` are settings of calibrate = \"bootstrap\".")
  }
  if (by == "state") {
    out <- state_table(fit)
    if (calibrate == "bootstrap") out <- calibrate_states(fit, out, R, seed)
  } else {
    d <- fit$data
    o <- order(d$row)
    D <- n_dimensions(d)
    unit <- if (D == 1L) d$participant else d$participant * D + d$dimension
    out <- person_fit(stats::predict(fit, type = "prob"), unit[o], d$action[o], fit)
  }
  counts <- list(observed = attr(out, "observed"), expected = attr(out, "expected"))
  out$p.adjusted <- stats::p.adjust(out$p.value, method = adjust)
  out$flagged <- !is.na(out$p.adjusted) & out$p.adjusted < alpha
  if (by == "state") out <- out[c(setdiff(names(out), "min_expected"), "min_expected")]
  structure(out, class = c("rlpsy_fit_stats", "data.frame"), by = by,
            adjust = adjust, alpha = alpha, observed = counts$observed,
            expected = counts$expected)
}

#' The state-fit table of a fit (policy probabilities from predict())
#' @noRd
state_table <- function(fit) {
  d <- fit$data
  o <- order(d$row)
  state_fit(stats::predict(fit, type = "prob"), d$state[o], d$action[o], d)
}

#' Generalised Pearson chi-square per state (P: decisions x actions in data
#' order; s, a: 0-based codes)
#' @noRd
state_fit <- function(P, s, a, d) {
  S <- d$n_states
  K <- d$n_actions
  O <- matrix(tabulate(a * S + s + 1L, S * K), S, K, dimnames = dimnames(d$available))
  E <- matrix(0, S, K, dimnames = dimnames(d$available))
  rs <- rowsum(P, s + 1L, reorder = TRUE)
  E[as.integer(rownames(rs)), ] <- rs
  visited <- which(visited_states(d))
  rows <- split(seq_along(s), factor(s + 1L, levels = visited))
  st <- vapply(seq_along(visited), function(i) {
    k <- which(d$available[visited[i], ])
    chisq_counts(O[visited[i], k], E[visited[i], k], P[rows[[i]], k, drop = FALSE])
  }, numeric(2))
  out <- data.frame(state = d$states[visited], n = tabulate(s + 1L, S)[visited],
                    n_actions = rowSums(d$available)[visited],
                    statistic = st[1L, ], df = as.integer(st[2L, ]),
                    stringsAsFactors = FALSE, row.names = NULL)
  out$p.value <- ifelse(out$df > 0L,
                        stats::pchisq(out$statistic, out$df, lower.tail = FALSE),
                        NA_real_)
  out$min_expected <- vapply(visited, function(v) {
    min(E[v, d$available[v, ]])
  }, numeric(1))
  attr(out, "observed") <- O[visited, , drop = FALSE]
  attr(out, "expected") <- E[visited, , drop = FALSE]
  out
}

#' (O - E)' V^- (O - E) and the rank of V = sum_t diag(p_t) - p_t p_t'
#' @return c(statistic, df); (NA, 0) with one action
#' @noRd
chisq_counts <- function(O, E, P) {
  if (length(O) < 2L) return(c(NA_real_, 0))
  V <- diag(colSums(P), length(O)) - crossprod(P)
  ev <- eigen(V, symmetric = TRUE)
  keep <- ev$values > 1e-8 * max(ev$values, 1e-300)
  if (!any(keep)) return(c(NA_real_, 0))
  u <- crossprod(ev$vectors[, keep, drop = FALSE], O - E)
  c(sum(u^2 / ev$values[keep]), sum(keep))
}

#' The l_z person-fit statistic per participant (P in data order; j, a:
#' 0-based codes)
#' @noRd
person_fit <- function(P, j, a, fit) {
  logP <- log(P)
  logP[P <= 0] <- 0  # 0 log 0 = 0
  e_t <- rowSums(P * logP)
  v_t <- pmax(rowSums(P * logP^2) - e_t^2, 0)
  l_t <- logP[cbind(seq_along(a), a + 1L)]
  J <- fit$data$n_participants * n_dimensions(fit$data)
  sums <- function(x) vapply(split(x, factor(j + 1L, levels = seq_len(J))), sum, 0)
  l <- sums(l_t)
  e <- sums(e_t)
  sd <- sqrt(sums(v_t))
  informative <- sums(as.numeric(v_t > 0))
  lz <- unname(ifelse(informative >= 2 & sd > 0, (l - e) / sd, NA_real_))
  # Var[l] is the Fisher information of log(beta): see the docs
  lz_star <- lz * sqrt(1 + person_fit_prior_var(fit) * unname(sd)^2)
  p <- fit$participants
  out <- data.frame(participant = p$participant, n_decisions = p$n_decisions,
                    beta = p$beta, loglik = unname(l), expected = unname(e),
                    sd = unname(sd), l_z = lz, l_z_star = lz_star,
                    p.value = stats::pnorm(lz_star), stringsAsFactors = FALSE,
                    row.names = NULL)
  if (is.null(p$dimension)) return(out)
  cbind(out[1L], dimension = p$dimension, out[-1L], stringsAsFactors = FALSE)
}

#' The prior variance of each unit's log beta in l_z*'s correction: sigma^2;
#' with several dimensions (units participant x dimension, participant-major)
#' the conditional variance 1 / (Sigma^-1)_dd of dimension d given the
#' participant's other dimensions, which their own decisions inform
#' @noRd
person_fit_prior_var <- function(fit) {
  if (!is.list(fit$prior) || is.null(fit$prior$Sigma)) return(fit$prior[["sigma"]]^2)
  rep(1 / diag(solve(fit$prior$Sigma)), fit$data$n_participants)
}

#' @rdname rlpsy_fit_stats
#' @param x an `rlpsy_fit_stats` object.
#' @param n number of rows to print (the flagged first, then by p-value).
#' @param digits significant digits.
#' @param ... not used: any other argument is an error.
#' @export
print.rlpsy_fit_stats <- function(x, n = 10L, digits = 3L, ...) {
  check_dots_empty_rlpsy("print()", ...)
  n <- check_count(n, "n", min = 1)
  digits <- check_count(digits, "digits", min = 1, max = 22)
  by <- attr(x, "by")
  if (is.null(by)) {  # a subset ([ keeps the class, not the attributes)
    print(structure(x, class = "data.frame"), digits = digits)
    return(invisible(x))
  }
  what <- if (by == "state") "states" else "participants"
  cat(if (by == "state") "State fit: observed vs expected action counts (generalised Pearson chi-square)\n"
      else "Person fit: standardised log-likelihood, corrected l_z* (lower tail)\n")
  cat(sum(x$flagged), " of ", sum(!is.na(x$p.value)), " ", what, " flagged at ",
      attr(x, "alpha"), " (p-values adjusted: ", attr(x, "adjust"), ")\n", sep = "")
  df <- as.data.frame(unclass(x), stringsAsFactors = FALSE)
  df <- df[order(!df$flagged, df$p.value, na.last = TRUE), , drop = FALSE]
  shown <- utils::head(df, n)
  print(shown, digits = digits, row.names = FALSE)
  if (nrow(df) > n) cat("... and ", nrow(df) - n, " more rows\n", sep = "")
  invisible(x)
}

#' Parametric-bootstrap calibration of the state statistics: R data sets of
#' trajectories from the fit (empirical transitions, each participant's beta
#' and length), each refitted with the fit's settings; per state the
#' statistic is divided by c = max(1, mean bootstrap statistic / df), the
#' inflation that estimating the values causes, before its chi-square
#' p-value.
#' @noRd
calibrate_states <- function(fit, st, R, seed) {
  R <- check_count(R, "R", min = 2)
  if (!is.null(seed)) seed <- check_count(seed, "seed", min = 0)
  d <- fit$data
  traj <- trajectory_model(fit, NULL)
  n_j <- diff(d$offsets)
  beta <- stats::setNames(unname(fit$beta), d$participants)
  av <- if (is.null(d$available_user)) d$available else d$available_user
  rng <- seeded_stream(seed)
  X <- matrix(NA_real_, R, nrow(st))
  collect_refit_warnings(for (b in seq_len(R)) {
    sim <- rng(simulate_runs(traj$task, traj$A, beta, n_j))
    enc <- rlpsy_data(sim, "participant", "state", "action", "next_state",
                      done = "done", reward = if (is.null(fit$w)) "reward",
                      available = av)
    fb <- tryCatch(refit_like(fit, enc, start = fit), rlpsy_error = function(e) NULL)
    if (is.null(fb)) next
    sb <- state_table(fb)
    X[b, ] <- sb$statistic[match(st$state, sb$state)]
  }, R, what = paste0("of the ", R, " bootstrap refits"),
  consequence = "the calibration may be off")
  df <- ifelse(st$df > 0L, st$df, NA_real_)
  st$scale <- pmax(1, colMeans(X, na.rm = TRUE) / df)
  x2 <- st$statistic / st$scale
  st$p.value <- ifelse(st$df > 0L & is.finite(x2),
                       stats::pchisq(x2, st$df, lower.tail = FALSE), NA_real_)
  attr(st, "R") <- sum(rowSums(is.finite(X)) > 0L)
  st
}
