# Participant bootstrap of the scores: resample participants, refit (so Q
# and the prior are re-estimated), and re-score every original participant's
# decisions under each replicate's Q and prior. confint(method = "boot")
# turns the replicates into intervals that include the uncertainty of Q as
# well as the measurement error of each score.

#' Participant-bootstrap scores of a fit
#'
#' For b = 1..R: draw J participants with replacement (a duplicate is a new
#' participant), refit with the fit's settings (refit_like(), warm-started
#' from the fit), and score the decisions of the participants `parm` of the
#' original data with the replicate's Q and prior held fixed
#' (predict(type = "beta") with newdata). Decisions whose action is not in
#' the replicate's choice set (a pair no resampled participant took) are
#' left out of that replicate's score and counted in `dropped`.
#' @param fit an rlpsy_fit.
#' @param R number of bootstrap replicates (>= 2).
#' @param seed NULL (the global stream) or a whole number (the caller's RNG
#'   state is restored afterwards).
#' @param parm indices (1-based) of the participants to score.
#' @return list(z, se, dropped: R x (scored units) matrices, column names
#'   the units' labels (participants, or "participant:dimension" with
#'   several dimensions, participant-major), NA rows for failed refits;
#'   failed: number of refits that failed with an error; seed)
#' @noRd
boot_scores <- function(fit, R = 200, seed = NULL,
                        parm = seq_len(fit$data$n_participants)) {
  R <- check_count(R, "R", min = 2)
  if (!is.null(seed)) seed <- check_count(seed, "seed", min = 0)
  d <- fit$data
  J <- d$n_participants
  draws <- seeded_stream(seed)(lapply(seq_len(R), function(b) {
    sample.int(J, J, replace = TRUE)
  }))
  units <- score_units(d, parm)
  newdata <- scoring_frame(d, parm)
  empty <- matrix(NA_real_, R, length(units$key), dimnames = list(NULL, units$label))
  out <- list(z = empty, se = empty, dropped = empty, failed = 0L, seed = seed)
  collect_refit_warnings(for (b in seq_len(R)) {
    fb <- tryCatch(refit_like(fit, resample_encoding(d, draws[[b]]), start = fit),
                   rlpsy_error = function(e) NULL)
    if (is.null(fb)) {
      out$failed <- out$failed + 1L
      next
    }
    sc <- rescore(fb, newdata, units$key)
    out$z[b, ] <- sc$z
    out$se[b, ] <- sc$se
    out$dropped[b, ] <- sc$dropped
  }, R, what = paste0("of the ", R, " bootstrap refits"),
  consequence = "the bootstrap intervals may be off")
  out
}

#' The scored units of participants `parm`: the participants, or with
#' several dimensions each (participant, dimension) pair, participant-major
#' (as confint() names them); `key` matches them to predict()'s rows
#' @noRd
score_units <- function(d, parm) {
  p <- d$participants[parm]
  if (n_dimensions(d) == 1L) return(list(key = p, label = p))
  D <- n_dimensions(d)
  list(key = unit_key(rep(p, each = D), d$dimensions),
       label = paste0(rep(p, each = D), ":", d$dimensions))
}

#' An encoding of the participants `draw` (1-based, with repeats): each draw
#' is a participant of its own, labelled "<label>#<k>"
#' @noRd
resample_encoding <- function(enc, draw) {
  n_j <- diff(enc$offsets)[draw]
  idx <- sequence(n_j, from = enc$offsets[draw] + 1L)
  out <- enc
  out$participants <- paste0(enc$participants[draw], "#", seq_along(draw))
  out$n_participants <- length(draw)
  out$n_decisions <- length(idx)
  out$offsets <- as.integer(cumsum(c(0, n_j)))
  out$participant <- rep(seq_along(draw) - 1L, n_j)
  for (f in c("state", "action", "next_state", "done", "row", "dimension")) {
    if (!is.null(enc[[f]])) out[[f]] <- enc[[f]][idx]
  }
  if (!is.null(enc$reward)) out$reward <- enc$reward[idx]
  out
}

#' The decisions of participants `parm` as a data frame of labels in the
#' fit's column names (what predict(type = "beta") scores), with the
#' dimension column when there are several; attributes `pair` (state,
#' action; 1-based) and `unit` (each decision's key in score_units())
#' @noRd
scoring_frame <- function(d, parm) {
  keep <- (d$participant + 1L) %in% parm
  who <- d$participants[d$participant[keep] + 1L]
  out <- list(who, d$states[d$state[keep] + 1L], d$actions[d$action[keep] + 1L])
  names(out) <- c(d$columns$participant, d$columns$state, d$columns$action)
  unit <- who
  if (n_dimensions(d) > 1L) {
    dim <- d$dimensions[d$dimension[keep] + 1L]
    out[[d$columns$dimension]] <- dim
    unit <- unit_key(who, dim)
  }
  attr(out, "pair") <- cbind(d$state[keep] + 1L, d$action[keep] + 1L)
  attr(out, "unit") <- unit
  out
}

#' Score the decisions of `newdata` (from scoring_frame()) under a
#' replicate's Q and prior; decisions outside its choice sets are left out
#' @return list(z, se, dropped), in the order of the unit keys `units` (NA
#'   when a unit has no decision left)
#' @noRd
rescore <- function(fb, newdata, units) {
  ok <- fb$data$available[attr(newdata, "pair")]
  dropped <- tabulate(match(attr(newdata, "unit")[!ok], units), length(units))
  nd <- as.data.frame(lapply(newdata, `[`, ok), stringsAsFactors = FALSE,
                      optional = TRUE)
  names(nd) <- names(newdata)
  sc <- stats::predict(fb, newdata = nd, type = "beta")
  i <- match(units, score_keys(sc))
  list(z = sc$z[i], se = sc$se[i], dropped = dropped)
}

#' confint(method = "boot"): per participant, the basic (reflected)
#' bootstrap interval of z built on the equal-weight mixture over replicates
#' of N(z_b, se_b^2) (as if drawing z ~ N(z_b, se_b^2) in every replicate,
#' without the Monte Carlo error): with q_lo, q_hi the mixture's quantiles,
#' [2 z_hat - q_hi, 2 z_hat - q_lo], exponentiated. The reflection corrects
#' the bias that the mixture measures: re-scoring under a replicate's Q adds
#' a second dose of the noise of Q, so mean(z_b) - z_hat estimates the
#' attenuation z_hat - z (errors in A bias beta toward 0); the plain
#' percentile interval doubles that bias instead (bench/coverage.R).
#' @noRd
boot_limits <- function(fit, j, level, R, seed) {
  bs <- boot_scores(fit, R = R, seed = seed, parm = j)
  zhat <- if (is.matrix(fit$z)) as.vector(t(fit$z[j, , drop = FALSE])) else fit$z[j]
  probs <- c((1 - level) / 2, (1 + level) / 2)
  lim <- t(vapply(seq_along(zhat), function(i) {
    ok <- is.finite(bs$z[, i]) & is.finite(bs$se[, i])
    if (sum(ok) < 2L) return(c(NA_real_, NA_real_))
    q <- mixture_quantiles(bs$z[ok, i], bs$se[ok, i], probs)
    exp(2 * zhat[[i]] - rev(q))
  }, numeric(2)))
  dimnames(lim) <- list(colnames(bs$z), paste(format(100 * probs, trim = TRUE,
                                                     scientific = FALSE, digits = 3), "%"))
  attr(lim, "R") <- sum(rowSums(is.finite(bs$z)) > 0L)
  attr(lim, "failed") <- bs$failed
  lim
}

#' Quantiles of the mixture sum_b N(m_b, s_b^2) / B at `probs`
#' @noRd
mixture_quantiles <- function(m, s, probs) {
  cdf <- function(x) mean(stats::pnorm((x - m) / s))
  lo <- min(m - 10 * s)
  hi <- max(m + 10 * s)
  vapply(probs, function(p) {
    stats::uniroot(function(x) cdf(x) - p, c(lo, hi), tol = 1e-10)$root
  }, numeric(1))
}
