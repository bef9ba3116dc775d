# ggplot2 versions of the plots (ggplot2 is suggested, not required): the
# methods are registered for ggplot2::autoplot when ggplot2 is loaded
# (delayed S3 registration in NAMESPACE), so rlpsy installs and works
# without it.

#' ggplot2 plots of a fit and of a validity correlation
#'
#' `autoplot()` methods for \pkg{ggplot2} (which must be installed; load it
#' or call `ggplot2::autoplot()`). Each returns one `ggplot` object, which
#' can be modified further with `+`.
#' * `which = "beta"`: the caterpillar plot of the participants sorted by
#'   \eqn{\hat\beta_j} with their intervals at `level` (Wald, from
#'   [confint.rlpsy_fit()]) on a log scale; the dashed line is the prior
#'   median \eqn{e^{\mu}}. With at most 40 participants they are labelled.
#'   With several dimensions of beta, one facet per dimension, each with
#'   its own prior median.
#' * `which = "trace"`: the objective after each EM iteration relative to
#'   its final value.
#' * `which = "advantage"`: a heat map of the identified advantage
#'   \eqn{A(s, a)}, every state labelled, first state at the top, blank for
#'   unavailable actions and for states without decisions, with the values
#'   printed when there are at most 100 cells.
#' * For a [cor_validity()] result: the scatter of the criterion against the
#'   scores (on the scale of the correlation) with the least-squares line;
#'   the subtitle gives the correlation and its interval.
#'
#' The same plots in base graphics: [plot.rlpsy_fit()].
#'
#' @param object an `rlpsy_fit` or `rlpsy_validity` object.
#' @param which `"beta"` (default), `"trace"` or `"advantage"`.
#' @param level confidence level of the intervals of the `"beta"` plot.
#' @param ... not used: any other argument is an error.
#' @return A `ggplot` object.
#' @section Errors and warnings: An error of class `rlpsy_error_input` for
#'   a bad `which` or `level` or any argument in `...`; an error of class
#'   `rlpsy_error_unsupported` when ggplot2 is not installed. No warnings.
#' @examplesIf requireNamespace("ggplot2", quietly = TRUE)
#' fit <- rlpsy_fit(rlpsy_example, "participant", "state", "action",
#'                  "next_state", done = "done", reward = "reward",
#'                  gamma = 0.9, tau = 0.05,
#'                  control = rlpsy_control(threads = 1))
#' ggplot2::autoplot(fit)
#' ggplot2::autoplot(fit, which = "advantage")
#' ggplot2::autoplot(fit, which = "trace")
#' crit <- log(attr(rlpsy_example, "beta")) + rnorm(300, sd = 0.3)
#' ggplot2::autoplot(cor_validity(fit, crit))
#' @name autoplot.rlpsy_fit
#' @exportS3Method ggplot2::autoplot
autoplot.rlpsy_fit <- function(object, which = c("beta", "trace", "advantage"),
                               level = 0.95, ...) {
  check_dots_empty_rlpsy("autoplot()", ...)
  need_ggplot2()
  which <- check_choice(which, c("beta", "trace", "advantage"), "which")
  level <- check_level(level)
  switch(which,
         beta = gg_beta(object, level),
         trace = gg_trace(object),
         advantage = gg_advantage(object))
}

#' @rdname autoplot.rlpsy_fit
#' @exportS3Method ggplot2::autoplot
autoplot.rlpsy_validity <- function(object, ...) {
  check_dots_empty_rlpsy("autoplot()", ...)
  need_ggplot2()
  d <- object$data
  what <- if (object$scale == "log") "log(beta)" else "beta"
  level <- attr(object$conf.int, "conf.level")
  ggplot2::ggplot(d, ggplot2::aes(x = .data$score, y = .data$criterion)) +
    ggplot2::geom_point(alpha = 0.6) +
    ggplot2::geom_smooth(method = "lm", formula = y ~ x, se = FALSE,
                         colour = "grey30", linewidth = 0.5) +
    ggplot2::labs(x = what, y = "criterion", title = "Validity",
                  subtitle = paste0(validity_format(object, 2L)))
}

#' Stop unless ggplot2 is installed
#' @noRd
need_ggplot2 <- function() {
  if (!requireNamespace("ggplot2", quietly = TRUE)) {
    rlpsy_abort("autoplot() needs the package ggplot2, which is not installed; ",
                "use plot() for the same plots in base graphics.",
                class = "unsupported")
  }
}

#' Caterpillar plot of beta with intervals; with several dimensions one
#' facet per dimension
#' @noRd
gg_beta <- function(fit, level) {
  p <- person_table(fit, level)
  dims <- !is.null(p$dimension)
  panel <- if (dims) p$dimension else rep("", nrow(p))
  o <- order(panel, p$beta)
  p <- p[o, , drop = FALSE]
  p$rank <- stats::ave(seq_len(nrow(p)), panel[o], FUN = seq_along)
  centre <- if (dims) data.frame(dimension = names(fit$prior$mu),
                                 beta = exp(unname(fit$prior$mu))) else
    data.frame(beta = exp(fit$prior[["mu"]]))
  labelled <- nrow(p) <= 40L * (if (dims) length(unique(p$dimension)) else 1L)
  g <- ggplot2::ggplot(p, ggplot2::aes(x = .data$rank, y = .data$beta)) +
    ggplot2::geom_hline(data = centre, ggplot2::aes(yintercept = .data$beta),
                        linetype = 2, colour = "grey40") +
    ggplot2::geom_linerange(ggplot2::aes(ymin = .data$lower, ymax = .data$upper),
                            colour = "grey60") +
    ggplot2::geom_point(size = 1) +
    ggplot2::scale_y_log10() +
    ggplot2::labs(x = if (labelled && !dims) NULL else "Participant (sorted by beta)",
                  y = "beta (log scale)",
                  title = paste0("Inverse temperature by participant (",
                                 format(100 * level), "% intervals)"))
  if (dims) {
    g <- g + ggplot2::facet_wrap(ggplot2::vars(.data$dimension), scales = "free_x")
  } else if (labelled) {
    g <- g + ggplot2::scale_x_continuous(breaks = p$rank, labels = p$participant) +
      ggplot2::theme(axis.text.x = ggplot2::element_text(angle = 90, hjust = 1,
                                                         vjust = 0.5))
  }
  g
}

#' Objective per EM iteration, relative to the final value
#' @noRd
gg_trace <- function(fit) {
  tr <- fit$trace
  d <- data.frame(iter = tr$iter, rel = tr$total - tr$total[nrow(tr)])
  ggplot2::ggplot(d, ggplot2::aes(x = .data$iter, y = .data$rel)) +
    ggplot2::geom_line(colour = "grey40") + ggplot2::geom_point() +
    ggplot2::labs(x = "EM iteration", y = "Objective - final objective",
                  title = if (fit$converged) "EM trace (converged)" else
                    "EM trace (not converged)")
}

#' Heat map of the identified advantage
#' @noRd
gg_advantage <- function(fit) {
  A <- advantage_shown(fit)
  S <- nrow(A)
  K <- ncol(A)
  d <- data.frame(state = factor(rep(rownames(A), K), levels = rev(rownames(A))),
                  action = factor(rep(colnames(A), each = S), levels = colnames(A)),
                  A = as.vector(A))
  lim <- max(abs(d$A), 1e-12, na.rm = TRUE)
  g <- ggplot2::ggplot(d, ggplot2::aes(x = .data$action, y = .data$state,
                                       fill = .data$A)) +
    ggplot2::geom_tile(colour = "white") +
    ggplot2::scale_fill_gradient2(low = "#2166AC", mid = "white", high = "#B2182B",
                                  limits = c(-lim, lim), na.value = "transparent") +
    ggplot2::scale_y_discrete(drop = FALSE) +
    ggplot2::labs(x = "Action", y = NULL, fill = "A(s, a)",
                  title = "Identified advantage A(s, a)")
  if (S * K <= 100L) {
    g <- g + ggplot2::geom_text(data = d[!is.na(d$A), , drop = FALSE],
                                ggplot2::aes(label = format(round(.data$A, 2), nsmall = 2)),
                                size = 3)
  }
  g
}
