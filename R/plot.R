# plot() for rlpsy_fit, base graphics: participant scores with intervals,
# the EM trace, and a heat map of the identified advantage.

#' Plot a fitted RL psychometric model
#'
#' Base-graphics diagnostics of an [rlpsy_fit()] result:
#' * `"beta"`: the participants sorted by \eqn{\hat\beta_j} with their
#'   intervals at `level` (from [confint.rlpsy_fit()]) on a log-scale axis;
#'   the dashed line is the prior median \eqn{e^{\mu}}. With at most 40
#'   participants their labels are shown. With several dimensions of beta
#'   (`dimension` in [rlpsy_fit()]), one panel per dimension side by side
#'   (the graphics parameters are restored afterwards).
#' * `"trace"`: the objective after each EM iteration (`fit$trace$total`),
#'   relative to its final value.
#'   With an empirical-Bayes prior the prior term changes between
#'   iterations, so the curve need not be monotone in the first iterations.
#' * `"advantage"`: a heat map of the identified advantage \eqn{A(s, a)},
#'   states in rows (first state at the top) and actions in columns, on a
#'   symmetric blue (negative) to red (positive) scale; unavailable actions
#'   and the rows of states without decisions (terminal states, or states
#'   only ever reached at the end of a log: the fit has no advantage there)
#'   are left blank. Every state is labelled. Values are printed in the
#'   cells when there are at most 100 of them.
#'
#' Several plots are drawn one after another; in an interactive session the
#' device asks before each new page, as [plot.lm()][stats::plot.lm] does.
#'
#' @param x an `rlpsy_fit` object.
#' @param which which plots: any of `"beta"`, `"trace"`, `"advantage"`
#'   (partial matching), or their numbers 1 to 3. All three by default.
#' @param level confidence level of the intervals of the `"beta"` plot,
#'   strictly between 0 and 1.
#' @param ask ask before each new page (default: when several plots are
#'   drawn on an interactive device with a single panel).
#' @param ... further graphical arguments for the main plotting call of each
#'   plot ([plot()] for `"beta"` and `"trace"`, [image()] for
#'   `"advantage"`), such as `main` or `xlab`; they replace the defaults.
#' @return `x`, invisibly.
#' @section Errors and warnings: An error of class `rlpsy_error_input` when
#'   `which` has values other than the plot names or numbers 1 to 3 (the
#'   message names them), or `level` is not strictly between 0 and 1. Errors
#'   of the graphics functions for bad graphical arguments in `...` are
#'   passed on. No warnings.
#' @seealso [confint.rlpsy_fit()], [predict.rlpsy_fit()] with
#'   `type = "advantage"`.
#' @examples
#' fit <- rlpsy_fit(rlpsy_example, participant = "participant",
#'                  state = "state", action = "action",
#'                  next_state = "next_state", done = "done",
#'                  reward = "reward", gamma = 0.9, tau = 0.05,
#'                  control = rlpsy_control(threads = 1))
#' plot(fit, which = "beta")
#' plot(fit, which = "trace")
#' plot(fit, which = "advantage", main = "Gridworld advantage")
#' @export
plot.rlpsy_fit <- function(x, which = c("beta", "trace", "advantage"),
                           level = 0.95,
                           ask = length(which) > prod(graphics::par("mfcol")) &&
                             grDevices::dev.interactive(),
                           ...) {
  which <- check_which(which)
  level <- check_level(level)
  if (isTRUE(ask)) {
    old <- grDevices::devAskNewPage(TRUE)
    on.exit(grDevices::devAskNewPage(old), add = TRUE)
  }
  for (w in which) {
    switch(w,
           beta = plot_beta(x, level, ...),
           trace = plot_trace(x, ...),
           advantage = plot_advantage(x, ...))
  }
  invisible(x)
}

#' Match `which` of plot() to plot names (partial matching or numbers 1-3)
#' @noRd
check_which <- function(which) {
  choices <- c("beta", "trace", "advantage")
  if (is.numeric(which) && !anyNA(which) && all(which %in% 1:3)) {
    return(choices[which])
  }
  i <- if (is.character(which) && !anyNA(which)) pmatch(which, choices, duplicates.ok = TRUE)
  if (length(which) == 0L || is.null(i) || anyNA(i)) {
    bad <- if (is.null(i)) which else which[is.na(i)]
    rlpsy_abort("`which` must name plots among ", show_values(choices),
                " (or be numbers 1 to 3), not ",
                if (length(which) == 0L) "an empty vector" else describe_value(bad), ".")
  }
  choices[i]
}

#' Call a plotting function with defaults that `...` may replace
#' @noRd
call_with_defaults <- function(fun, defaults, ...) {
  do.call(fun, utils::modifyList(defaults, list(...)))
}

#' Participants sorted by beta with their intervals (log-scale axis); with
#' several dimensions one panel per dimension
#' @noRd
plot_beta <- function(fit, level, ...) {
  p <- person_table(fit, level)
  if (is.null(p$dimension)) {
    return(caterpillar(p, exp(fit$prior[["mu"]]), paste0(
      "Inverse temperature by participant (", format(100 * level), "% intervals)"), ...))
  }
  dims <- colnames(fit$z)
  old <- graphics::par(mfrow = c(1L, length(dims)))
  on.exit(graphics::par(old), add = TRUE)
  for (d in dims) {
    caterpillar(p[p$dimension == d, , drop = FALSE], exp(fit$prior$mu[[d]]),
                paste0("beta: ", d, " (", format(100 * level), "% intervals)"), ...)
  }
  invisible()
}

#' One caterpillar panel: rows of a person table sorted by beta, with their
#' intervals and a dashed line at the prior's median `centre`
#' @noRd
caterpillar <- function(p, centre, main, ...) {
  o <- order(p$beta)
  beta <- p$beta[o]
  ci <- cbind(p$lower, p$upper)[o, , drop = FALSE]
  J <- length(beta)
  ok <- is.finite(ci[, 1L]) & is.finite(ci[, 2L]) & ci[, 1L] > 0
  show_labels <- J <= 40L
  call_with_defaults(graphics::plot, list(
    x = seq_len(J), y = beta, log = "y", type = "n",
    ylim = range(c(beta, ci[ok, ])), xaxt = if (show_labels) "n" else "s",
    xlab = if (show_labels) "" else "Participant (sorted by beta)",
    ylab = "beta (log scale)", main = main
  ), ...)
  graphics::segments(which(ok), ci[ok, 1L], which(ok), ci[ok, 2L], col = "grey55")
  graphics::points(seq_len(J), beta, pch = 20)
  graphics::abline(h = centre, lty = 2, col = "grey30")
  if (show_labels) {
    graphics::axis(1, at = seq_len(J), labels = p$participant[o], las = 2,
                   cex.axis = if (J > 20L) 0.6 else 0.8)
  }
  invisible()
}

#' Objective per EM iteration
#' @noRd
plot_trace <- function(fit, ...) {
  tr <- fit$trace
  # relative to the final value: J itself can be large next to its changes
  call_with_defaults(graphics::plot, list(
    x = tr$iter, y = tr$total - tr$total[nrow(tr)], type = "b", pch = 20,
    xlab = "EM iteration", ylab = "Objective - final objective",
    main = if (fit$converged) "EM trace (converged)" else "EM trace (not converged)"
  ), ...)
  invisible()
}

#' Heat map of the identified advantage, states x actions
#' @noRd
plot_advantage <- function(fit, ...) {
  A <- advantage_shown(fit)
  S <- nrow(A)
  K <- ncol(A)
  lim <- max(abs(A), na.rm = TRUE)
  if (!is.finite(lim) || lim == 0) lim <- 1
  states <- rownames(A)
  old <- graphics::par(mar = c(4, min(12, 1.5 + 0.5 * max(nchar(states), 3)), 3, 1))
  on.exit(graphics::par(old), add = TRUE)
  call_with_defaults(graphics::image, list(
    x = seq(0.5, K + 0.5), y = seq(0.5, S + 0.5),
    z = t(A[rev(seq_len(S)), , drop = FALSE]),
    zlim = c(-lim, lim), col = grDevices::hcl.colors(64L, "Blue-Red 3"),
    axes = FALSE, xlab = "Action", ylab = "",
    main = "Identified advantage A(s, a)"
  ), ...)
  # gap.axis = -1: every label, even where they would touch
  graphics::axis(1, at = seq_len(K), labels = colnames(A), tick = FALSE,
                 gap.axis = -1)
  graphics::axis(2, at = seq_len(S), labels = rev(states), las = 1, tick = FALSE,
                 cex.axis = if (S > 50L) 0.45 else if (S > 25L) 0.6 else 0.8,
                 gap.axis = -1)
  graphics::box()
  if (S * K <= 100L) {
    At <- t(A[rev(seq_len(S)), , drop = FALSE])
    keep <- !is.na(At)
    graphics::text(row(At)[keep], col(At)[keep], format(round(At[keep], 2), nsmall = 2),
                   cex = 0.7)
  }
  invisible()
}

#' The advantage as plotted: NA for unavailable actions and for the rows of
#' states without decisions (the fit has no advantage there)
#' @noRd
advantage_shown <- function(fit) {
  A <- mask_unavailable(fit$advantage, fit$data$available)
  A[!visited_states(fit$data), ] <- NA_real_
  A
}
