# Reliability of the participant scores z_j = log beta_j: split-half by
# refitting each half (the honest figure, DESIGN.md section 7) and the
# model-based empirical reliability (conditional on Q), each with a
# participant-bootstrap interval.

#' Reliability of the inverse temperatures: split-half and model-based
#'
#' Estimates how reliably the fit measures \eqn{z_j = \log\beta_j}, in two
#' ways that answer different questions.
#'
#' **Split-half** (`method = "split-half"`): each participant's decisions are
#' split into two halves, the model is fitted again, from scratch and with the
#' settings of `fit`, to each half (so \eqn{Q} and the prior are re-estimated
#' on each half), and the log inverse temperatures of the two halves are
#' correlated (Pearson) over the participants present in both. The
#' Spearman-Brown formula \eqn{2r / (1 + r)} steps the half-length
#' correlation up to the full length. `split = "odd-even"` puts a
#' participant's 1st, 3rd, 5th, ... decision (in logged order) in one half
#' and the 2nd, 4th, ... in the other; `split = "random"` draws a random
#' half of each participant's decisions (the first half gets the extra
#' decision when their number is odd), `times` times, and averages the
#' Spearman-Brown figures. Odd-even keeps the two halves balanced over time
#' (learning, fatigue); random splits avoid any alternation in the task.
#' Participants with fewer than 2 decisions cannot be split and are left out
#' (with a message). Costs two fits per split.
#'
#' **Model** (`method = "model"`): the empirical reliability
#' \eqn{\mathrm{var}(\hat z) / (\mathrm{var}(\hat z) + \mathrm{mean}(SE_j^2))}
#' of the fit itself, as in [summary.rlpsy_fit()], from the posterior modes
#' and their standard errors (row `"model"`), and beside it the same figure
#' for the EAP scores, \eqn{\mathrm{var}(\mathrm{EAP}) / (\mathrm{var}(\mathrm{EAP})
#' + \mathrm{mean}_j \mathrm{Var}(z_j \mid \mathrm{data}))}, with the
#' posterior means and variances by adaptive quadrature (row `"model-eap"`;
#' see [rlpsy_scores()]). No refit.
#'
#' **Why they differ.** The model figure is conditional on the estimated
#' \eqn{Q}: its standard errors treat the advantage \eqn{A} as known and the
#' model as right, so it leaves out the error of \eqn{A} (which attenuates
#' \eqn{\beta}, an errors-in-variables effect) and any misfit of the softmax
#' policy to real behaviour. The split-half figure re-estimates \eqn{Q} on
#' each half, so it includes the uncertainty of \eqn{Q} and whatever in
#' behaviour the model does not capture (strategies, learning, lapses), at
#' the price of a little less precision (half the data per fit). On data
#' simulated from the model the two agree; on real data they can differ in
#' either direction, and the split-half figure is the one to report.
#'
#' **Intervals** come from a participant bootstrap: participants are
#' resampled with replacement 1,000 times (whatever `times` is) and the
#' statistic is recomputed from the estimates already in hand, without
#' refitting: for split-half, the correlation of the two halves' \eqn{\log\beta}
#' (for each random split, averaged over splits after Spearman-Brown), for
#' the model, the empirical reliability. The interval is the percentile
#' interval. It reflects the sampling of participants given the fits, not
#' the refit-to-refit variation of \eqn{Q}.
#'
#' @param fit an `rlpsy_fit` object.
#' @param method which figures: `"split-half"`, `"model"`, or both (the
#'   default).
#' @param split how to split for the split-half figure: `"odd-even"`
#'   (default) or `"random"`.
#' @param times number of random splits averaged when `split = "random"`
#'   (a whole number >= 1; not used for odd-even).
#' @param seed `NULL` (use the session's random numbers) or a whole number:
#'   the random splits and the bootstrap then use a private random stream
#'   seeded with it, and the caller's random number state is left as it was.
#' @param level confidence level of the bootstrap intervals, strictly
#'   between 0 and 1.
#' @param x an `rlpsy_reliability` object.
#' @param digits number of significant digits shown.
#' @param ... not used.
#' @return A data frame of class `c("rlpsy_reliability", "data.frame")` with
#'   one row per figure (`"split-half"`, and `"model"` and `"model-eap"`
#'   for the model figures) and columns `method`, `split` (`NA` for the model
#'   figures), `reliability`, `lower`, `upper` (the bootstrap interval) and
#'   `n` (participants used). Attributes: `level`, `times`, `seed`,
#'   `halves` (for split-half: a list with `z1` and `z2`, matrices of the two
#'   halves' \eqn{\log\beta}, one row per participant used and one column per
#'   split, `r`, the half-length correlation of each split, and `dropped`,
#'   the participants with fewer than 2 decisions) and `fit_key` (identifies
#'   the fit, so that [summary.rlpsy_fit()] can check that it belongs to it).
#'   With several dimensions of beta (`dimension` in [rlpsy_fit()]) there
#'   is one row per figure and dimension, with a `dimension` column: the
#'   split-half figure splits the decisions of each (participant,
#'   dimension) pair (so both halves have every dimension), refits each
#'   half with the fit's dimensions and correlates each dimension's scores
#'   over the participants whose pair had 2 or more decisions; `halves` is
#'   then a list of such lists, one per dimension. The EAP figure needs at
#'   most 3 dimensions (the quadrature of [rlpsy_scores()]).
#'   `print()` returns `x` invisibly.
#' @section Errors and warnings:
#' Errors have class `rlpsy_error_input` (and `rlpsy_error`) and name the
#' argument when `fit` is not an `rlpsy_fit`, `method` or `split` is not one
#' of the allowed values, `times` is not a whole number >= 1, `seed` is not
#' `NULL` or a whole number >= 0, `level` is not strictly between 0 and 1,
#' or fewer than 3 participants have 2 or more decisions (split-half).
#' Warnings raised by the refits (convergence) are collected into one
#' warning of class `rlpsy_warning_convergence`. When the two halves'
#' \eqn{\log\beta} correlate negatively (on average over the splits), a
#' warning of class `rlpsy_warning_reliability` says that the split-half
#' figure is then no reliability: the decisions of a participant are not
#' exchangeable between halves. This happens on real data where every
#' participant makes one decision per episode with a very low advantage
#' (such as ending the task): the half it falls in gets a low \eqn{\beta},
#' the other a high one.
#' @seealso [summary.rlpsy_fit()], which shows the figures;
#'   [cor_validity()].
#' @examples
#' # 60 participants of the example data, quick settings (runs in < 5 s)
#' ex <- rlpsy_example[rlpsy_example$participant %in%
#'                       unique(rlpsy_example$participant)[1:60], ]
#' fit <- rlpsy_fit(ex, participant = "participant", state = "state",
#'                  action = "action", next_state = "next_state",
#'                  done = "done", reward = "reward", gamma = 0.9,
#'                  tau = 0.05, control = rlpsy_control(threads = 1))
#' rel <- rlpsy_reliability(fit, seed = 1)
#' rel
#' summary(fit, reliability = rel)
#' @export
rlpsy_reliability <- function(fit, method = c("split-half", "model"),
                              split = c("odd-even", "random"), times = 20,
                              seed = NULL, level = 0.95) {
  if (!inherits(fit, "rlpsy_fit")) {
    rlpsy_abort("`fit` must be an rlpsy_fit object (from rlpsy_fit()), not ",
                describe_type(fit), ".")
  }
  method <- reliability_methods(method)
  split <- check_choice(split, c("odd-even", "random"), "split")
  times <- check_count(times, "times", min = 1)
  if (!is.null(seed)) seed <- check_count(seed, "seed", min = 0)
  if (!is.numeric(level) || length(level) != 1L || is.na(level) ||
      level <= 0 || level >= 1) {
    rlpsy_abort("`level` must be a single number strictly between 0 and 1, ",
                "not ", describe_value(level), ".")
  }
  rng <- seeded_stream(seed)
  rows <- list()
  halves <- NULL
  rng({
    if ("split-half" %in% method) {
      sh <- split_half(fit, split, times, level)
      rows <- c(rows, sh$rows)
      halves <- sh$halves
    }
    if ("model" %in% method && is.matrix(fit$z)) {
      rows <- c(rows, model_reliability_dims(fit, level))
    } else if ("model" %in% method) {
      rows[["model"]] <- model_reliability(fit$z, fit$se, level, "model")
      post <- person_posterior(fit, 21L)
      rows[["model-eap"]] <- model_reliability(post$eap, sqrt(post$var), level,
                                               "model-eap")
    }
  })
  out <- do.call(rbind, rows)
  rownames(out) <- NULL
  structure(out, class = c("rlpsy_reliability", "data.frame"), level = level,
            times = if (split == "random") times else 1L, seed = seed,
            halves = halves, fit_key = fit_key(fit))
}

#' `method` of rlpsy_reliability(): one or both of the two, no abbreviations
#' beyond pmatch
#' @noRd
reliability_methods <- function(method) {
  choices <- c("split-half", "model")
  if (identical(method, choices)) return(choices)
  ok <- is.character(method) && length(method) %in% 1:2 && !anyNA(method)
  i <- if (ok) pmatch(method, choices) else NA
  if (anyNA(i) || anyDuplicated(i)) {
    rlpsy_abort("`method` must be \"split-half\", \"model\" or both, not ",
                describe_value(method), ".")
  }
  choices[sort(i)]
}

#' What identifies a fit, for checking that a reliability belongs to it
#' @noRd
fit_key <- function(fit) {
  c(decisions = fit$data$n_decisions, participants = fit$data$n_participants,
    objective = signif(fit$objective[["total"]], 10))
}

#' Refit the model to other data with the settings recorded in `fit`
#'
#' Passes on gamma, tau and control (quietly: no progress bar, not verbose)
#' and, when the fit records them, the value-function and normalisation
#' options and the task, so that it works whatever arguments rlpsy_fit() has.
#' The call is built from symbols so that the refit's `call` stays small.
#' @param fit an rlpsy_fit.
#' @param enc an rlpsy_data object with the same state and action labels.
#' @param start NULL, or a fit to start from (rlpsy_fit()'s `start`).
#' @noRd
refit_like <- function(fit, enc, start = NULL) {
  control <- fit$control
  control$progress <- FALSE
  control$verbose <- FALSE
  args <- list(data = enc, gamma = fit$gamma, tau = fit$tau, control = control)
  if (!is.null(start)) args$start <- start
  if (!is.null(fit$q)) args$q <- fit$q
  if (identical(fit$q, "joint") && !is.null(fit$q_model) && fit$q_model$type != "table")
    args$q <- fit$q_model
  if (!is.null(fit$reward_model)) args$reward_model <- fit$reward_model
  if (!is.null(fit$normalise)) args$normalise <- fit$normalise
  if (!is.null(fit$task)) args$task <- fit$task
  if (n_dimensions(enc) > 1L) args$dimension <- dimension_codes(enc)
  env <- list2env(args, parent = environment())
  cl <- as.call(c(list(quote(rlpsy_fit)),
                  stats::setNames(lapply(names(args), as.name), names(args))))
  eval(cl, env)
}

#' A valid rlpsy_data object holding some of the decisions of `enc`
#'
#' Keeps the state and action labels and `available` of `enc` (so all
#' subsets share one encoding), drops participants left without decisions,
#' and keeps the order of the decisions within each participant.
#' @param enc an rlpsy_data object.
#' @param keep logical vector of length `enc$n_decisions`, or positions
#'   (1-based) of the encoded decisions.
#' @noRd
subset_decisions <- function(enc, keep) {
  idx <- if (is.logical(keep)) which(keep) else sort(unique(as.integer(keep)))
  if (length(idx) == 0L || anyNA(idx) || idx[1L] < 1L ||
      idx[length(idx)] > enc$n_decisions) {
    rlpsy_abort("internal: `keep` must select some of the ", enc$n_decisions,
                " decisions.", class = "internal")
  }
  p_old <- enc$participant[idx]
  used <- sort(unique(p_old))
  counts <- tabulate(match(p_old, used), length(used))
  out <- enc
  out$participants <- enc$participants[used + 1L]
  out$n_decisions <- length(idx)
  out$n_participants <- length(used)
  out$offsets <- as.integer(cumsum(c(0, counts)))
  out$participant <- match(p_old, used) - 1L
  for (f in c("state", "action", "next_state", "done", "row")) out[[f]] <- enc[[f]][idx]
  if (!is.null(enc$reward)) out$reward <- enc$reward[idx]
  if (!is.null(enc$dimension)) out$dimension <- enc$dimension[idx]
  out
}

#' Position (1-based) of each encoded decision within its participant
#' @noRd
position_in_participant <- function(enc) {
  n_j <- diff(enc$offsets)
  seq_len(enc$n_decisions) - rep(enc$offsets[-length(enc$offsets)], n_j)
}

#' TRUE for the decisions in the first half of a split (odd positions, or
#' odd positions of a random order within participant)
#' @noRd
first_half <- function(enc, split) {
  D <- n_dimensions(enc)
  if (D > 1L) {
    # within each (participant, dimension) pair, so that both halves have
    # decisions of every dimension
    pair <- enc$participant * D + enc$dimension
    key <- if (split == "random") stats::runif(enc$n_decisions) else seq_len(enc$n_decisions)
    ord <- order(pair, key)
    pos <- integer(enc$n_decisions)
    pos[ord] <- sequence(rle(pair[ord])$lengths)
    return(pos %% 2L == 1L)
  }
  pos <- position_in_participant(enc)
  if (split == "random") {
    ord <- order(enc$participant, stats::runif(enc$n_decisions))
    pos[ord] <- pos  # ord stays grouped by participant, in the same blocks
  }
  pos %% 2L == 1L
}

#' Split-half reliability: refit both halves of each split, correlate log
#' beta, Spearman-Brown, average over splits; participant-bootstrap interval.
#' @noRd
split_half <- function(fit, split, times, level) {
  enc <- fit$data
  D <- n_dimensions(enc)
  unit <- if (D == 1L) enc$participant else enc$participant * D + enc$dimension
  n_j <- tabulate(unit + 1L, enc$n_participants * D)
  dropped <- enc$participants[n_j < 2L]
  if (D > 1L) dropped <- paste0(rep(enc$participants, each = D), ":", enc$dimensions)[n_j < 2L]
  what <- if (D == 1L) "participant" else "(participant, dimension) pair"
  if (length(dropped)) {
    message(length(dropped), " ", what, if (length(dropped) > 1L) "s have" else " has",
            " fewer than 2 decisions and cannot be split: left out of the ",
            "split-half reliability.")
  }
  ok <- n_j[unit + 1L] >= 2L
  if (sum(n_j >= 2L) < 3L * D) {
    rlpsy_abort("The split-half reliability needs at least 3 participants with ",
                "2 or more decisions", if (D > 1L) " in every dimension", "; `fit` has ",
                sum(n_j >= 2L) %/% D, ".")
  }
  n_split <- if (split == "random") times else 1L
  zs <- collect_refit_warnings(lapply(seq_len(n_split), function(i) {
    h <- first_half(enc, split)
    list(z1 = refit_like(fit, subset_decisions(enc, ok & h))$z,
         z2 = refit_like(fit, subset_decisions(enc, ok & !h))$z)
  }), n_split)
  if (D == 1L) return(split_half_figure(zs, split, level, dropped))
  # per dimension, the participants whose pair was split
  pairs_ok <- matrix(n_j >= 2L, ncol = D, byrow = TRUE,
                     dimnames = list(enc$participants, enc$dimensions))
  parts <- lapply(enc$dimensions, function(d) {
    zd <- lapply(zs, function(x) {
      keep <- function(z) z[intersect(rownames(z)[pairs_ok[rownames(z), d]],
                                      rownames(x$z1)[rownames(x$z1) %in% rownames(x$z2)]), d]
      list(z1 = keep(x$z1), z2 = keep(x$z2))
    })
    f <- split_half_figure(zd, split, level, dropped)
    f$rows[[1L]] <- cbind(f$rows[[1L]][1L], dimension = d, f$rows[[1L]][-1L],
                          stringsAsFactors = FALSE)
    f
  })
  list(rows = lapply(parts, function(x) x$rows[[1L]]),
       halves = stats::setNames(lapply(parts, function(x) x$halves), enc$dimensions))
}

#' The split-half figure from the halves' scores of every split (zs: a list
#' of list(z1, z2), named vectors): the participants in both halves of
#' every split, the correlation of each split, Spearman-Brown, the mean
#' over splits and a participant-bootstrap interval
#' @noRd
split_half_figure <- function(zs, split, level, dropped) {
  zs <- lapply(zs, function(x) {
    ids <- intersect(names(x$z1), names(x$z2))
    list(z1 = x$z1[ids], z2 = x$z2[ids])
  })
  ids <- Reduce(intersect, lapply(zs, function(x) names(x$z1)))
  n_split <- length(zs)
  Z1 <- vapply(zs, function(x) x$z1[ids], numeric(length(ids)))
  Z2 <- vapply(zs, function(x) x$z2[ids], numeric(length(ids)))
  dim(Z1) <- dim(Z2) <- c(length(ids), n_split)
  rownames(Z1) <- rownames(Z2) <- ids
  r <- col_cor(Z1, Z2)
  warn_negative_halves(r)
  boot <- bootstrap_stat(length(ids), function(i) mean(spearman_brown(col_cor(Z1[i, , drop = FALSE], Z2[i, , drop = FALSE]))))
  ci <- percentile_interval(boot, level)
  list(rows = list(data.frame(method = "split-half", split = split,
                              reliability = mean(spearman_brown(r)), lower = ci[1L],
                              upper = ci[2L], n = length(ids), stringsAsFactors = FALSE)),
       halves = list(z1 = Z1, z2 = Z2, r = r, dropped = dropped))
}

#' Warn when the halves correlate negatively on average: Spearman-Brown then
#' gives no reliability, and the usual cause is decisions that are not
#' exchangeable within a participant.
#' @noRd
warn_negative_halves <- function(r) {
  m <- mean(r)
  if (is.na(m) || m >= 0) return(invisible())
  rlpsy_warn("The two halves' log(beta) correlate negatively (mean r = ",
             format(m, digits = 3), "), so the split-half figure is not a ",
             "reliability. A participant's decisions are then not exchangeable ",
             "between halves: e.g. a choice made once per episode (such as ",
             "ending it) with a very low advantage lowers the beta of the half ",
             "it falls in and raises the other's; or the scores carry little ",
             "signal beyond such structure.", class = "reliability")
}

#' Model-based empirical reliability var(z) / (var(z) + mean(se^2)) of
#' scores z with standard errors se (MAP: z and its SE; EAP: posterior
#' means and SDs), with a participant-bootstrap interval
#' @noRd
model_reliability <- function(z, se, level, method) {
  z <- unname(z)
  se <- unname(se)
  J <- length(z)
  ci <- if (J >= 2L) {
    percentile_interval(bootstrap_stat(J, function(i) reliability(z[i], se[i])), level)
  } else c(NA_real_, NA_real_)
  data.frame(method = method, split = NA_character_,
             reliability = reliability(z, se), lower = ci[1L], upper = ci[2L],
             n = J, stringsAsFactors = FALSE)
}

#' The model-based reliability of each dimension of beta: rows with a
#' `dimension` column, from the MAP scores ("model") and, for up to 3
#' dimensions, from the EAP scores of the product-grid quadrature
#' ("model-eap")
#' @noRd
model_reliability_dims <- function(fit, level) {
  dims <- colnames(fit$z)
  post <- if (ncol(fit$z) <= 3L) person_posterior(fit, default_quad_nodes(ncol(fit$z)))
  one <- function(z, se, method, d) {
    r <- model_reliability(z, se, level, method)
    cbind(r[1L], dimension = d, r[-1L], stringsAsFactors = FALSE)
  }
  c(lapply(dims, function(d) one(fit$z[, d], fit$se[, d], "model", d)),
    if (!is.null(post)) lapply(seq_along(dims), function(d)
      one(post$eap[, d], sqrt(post$var[, d]), "model-eap", dims[d])))
}

#' Run the refits, collecting their warnings into one
#' @noRd
collect_refit_warnings <- function(expr, n_split,
                                   what = paste0("of the ", 2L * n_split,
                                                 " refits of the halves"),
                                   consequence = "the split-half reliability may be off") {
  seen <- list()
  value <- withCallingHandlers(expr, rlpsy_warning = function(w) {
    kind <- sub("^rlpsy_warning_", "", class(w)[1])
    seen[[kind]] <<- c(seen[[kind]], conditionMessage(w))
    invokeRestart("muffleWarning")
  })
  # one warning per kind, keeping its class: a refit that did not converge
  # puts the figure in doubt; diagnostics the full fit shares do not
  for (kind in names(seen)) {
    u <- unique(seen[[kind]])
    rlpsy_warn(length(seen[[kind]]), " ", what, " warned (", kind, ")",
               if (kind == "convergence") paste0("; ", consequence),
               ":\n", paste(utils::head(u, 3L), collapse = "\n"),
               if (length(u) > 3L) "\n(and more)", class = kind)
  }
  value
}

#' Pearson correlation of matching columns of X and Y
#' @noRd
col_cor <- function(X, Y) {
  X <- sweep(X, 2L, colMeans(X))
  Y <- sweep(Y, 2L, colMeans(Y))
  colSums(X * Y) / sqrt(colSums(X^2) * colSums(Y^2))
}

#' Spearman-Brown step-up of a half-length correlation to full length
#' @noRd
spearman_brown <- function(r) 2 * r / (1 + r)

#' 1000 participant-bootstrap replicates of `stat(index)`
#' @noRd
bootstrap_stat <- function(J, stat, B = 1000L) {
  vapply(seq_len(B), function(b) stat(sample.int(J, J, replace = TRUE)), numeric(1))
}

#' Percentile interval of bootstrap replicates (non-finite ones ignored)
#' @noRd
percentile_interval <- function(x, level) {
  x <- x[is.finite(x)]
  if (length(x) < 2L) return(c(NA_real_, NA_real_))
  a <- (1 - level) / 2
  unname(stats::quantile(x, c(a, 1 - a), names = FALSE))
}

#' @rdname rlpsy_reliability
#' @export
print.rlpsy_reliability <- function(x, digits = 3L, ...) {
  check_dots_empty_rlpsy("print()", ...)
  digits <- check_count(digits, "digits", min = 1, max = 22)
  lev <- attr(x, "level")
  cat("Reliability of log(beta) (", format(100 * lev), "% participant-bootstrap intervals)\n",
      sep = "")
  for (i in seq_len(nrow(x))) cat("  ", reliability_line(x[i, ], digits, attr(x, "times")), "\n", sep = "")
  if ("split-half" %in% x$method) {
    cat("split-half: both halves refitted (Q re-estimated), Spearman-Brown;\n",
        "  includes the uncertainty of Q and any misfit: the figure to report.\n", sep = "")
  }
  if ("model" %in% x$method) {
    cat("model: var(z) / (var(z) + mean(se^2)); treats A as known and the model\n",
        "  as right.\n", sep = "")
  }
  if ("model-eap" %in% x$method) {
    cat("model, EAP: the same for the posterior means and SDs of log(beta) by\n",
        "  quadrature (rlpsy_scores(fit, \"eap\")).\n", sep = "")
  }
  invisible(x)
}

#' One line for a row of an rlpsy_reliability: "split-half (odd-even):
#' 0.81 [0.76, 0.85], n = 200"
#' @noRd
reliability_line <- function(row, digits = 3L, times = 1L) {
  f <- function(v) if (is.na(v)) "NA" else format(v, digits = digits)
  what <- if (row$method == "split-half") {
    paste0("split-half (", row$split,
           if (row$split == "random") paste0(", ", times, " splits"), ")")
  } else if (row$method == "model-eap") "model, EAP (conditional on Q)" else
    "model (conditional on Q)"
  if (!is.null(row$dimension)) what <- paste0(what, ", dimension ", row$dimension)
  paste0(what, ": ", f(row$reliability), " [", f(row$lower), ", ", f(row$upper),
         "], n = ", row$n)
}
