# External validity of the participant scores (spec section 6.1): the
# correlation of beta_hat_j (or z_j = log beta_hat_j) with a criterion Y_j,
# matched by participant, with a Fisher-z interval and a t-test p-value.

#' Validity correlation of participant scores with an external criterion
#'
#' Correlates each participant's estimated decisiveness \eqn{\hat\beta_j}
#' with an external criterion \eqn{Y_j} such as a post-test,
#' a performance measure or a rating. Scores and criterion are matched by
#' participant label, never by position; participants present on only one
#' side, or with a missing value, are excluded and reported.
#'
#' **Pearson** (`method = "pearson"`): the product-moment correlation \eqn{r}
#' of the scores with the criterion. The interval is Fisher's:
#' \eqn{\tanh(\operatorname{atanh}(r) \pm q / \sqrt{n - 3})} with \eqn{q} the
#' standard normal quantile for `conf.level`; the p-value is the two-sided
#' t-test of \eqn{\rho = 0}, \eqn{t = r\sqrt{(n-2)/(1-r^2)}} on \eqn{n - 2}
#' degrees of freedom. Both are those of [stats::cor.test()].
#'
#' **Spearman** (`method = "spearman"`): the Pearson correlation of the ranks
#' (ties get their average rank). The interval is Fisher's with the
#' Bonett-Wright standard error \eqn{\sqrt{(1 + r^2/2)/(n - 3)}}. The p-value
#' uses the same t approximation on \eqn{n - 2} degrees of freedom as Pearson
#' (applied to the rank correlation); unlike the exact test of
#' [stats::cor.test()], it is available with ties and for any \eqn{n}.
#'
#' All tests are two-sided. With exactly 3 matched participants the interval
#' is not defined (\eqn{n - 3 = 0}) and is returned as `NA`.
#'
#' The scores are estimates: measurement error in \eqn{\hat\beta_j} attenuates
#' the correlation towards 0 and the interval does not account for it (nor for
#' the uncertainty of the shared value function, on which the scores are
#' conditional). Because \eqn{\beta_j > 0} is usually right-skewed,
#' `scale = "log"` (Pearson on \eqn{z_j = \log\hat\beta_j}) is often the better
#' choice for Pearson; Spearman is the same on either scale.
#'
#' @param fit an `rlpsy_fit` (the scores are `coef(fit)`, or
#'   `coef(fit, type = "log")` when `scale = "log"`), or, for the default
#'   method, a numeric vector of scores on the \eqn{\beta} scale named by
#'   participant. `NA` scores are excluded and reported.
#' @param criterion the external criterion, either a numeric (or logical)
#'   vector named by participant, or a data frame with a participant column
#'   (`by`) and a numeric or logical criterion column (`column`). Logical
#'   values count as 0/1. `NA` values are excluded and reported. Each
#'   participant may appear only once.
#' @param method `"pearson"` (default) or `"spearman"`.
#' @param conf.level confidence level of the interval, strictly between 0
#'   and 1.
#' @param scale `"beta"` (default) correlates \eqn{\hat\beta_j};
#'   `"log"` correlates \eqn{z_j = \log\hat\beta_j}. For the default method
#'   `"log"` takes the log of `fit`, which must then be positive.
#' @param by name of the participant column when `criterion` is a data frame.
#' @param column name of the criterion column when `criterion` is a data
#'   frame; `NULL` picks the only numeric or logical column other than `by`.
#' @param ... not used; unknown arguments are an error.
#' @param x an `rlpsy_validity` object.
#' @param digits number of decimals for the correlation and its interval.
#' @param row.names `NULL` or the row name of the one-row data frame.
#' @param optional ignored (present for consistency with [as.data.frame()]).
#'
#' @return `cor_validity()` on a fit with several dimensions of beta
#'   (`dimension` in [rlpsy_fit()]) returns a data frame with one row per
#'   dimension: `dimension` and the columns of `as.data.frame()` of an
#'   `rlpsy_validity`. Otherwise an object of class `"rlpsy_validity"`, a
#'   list with
#'   * `estimate`: the correlation (Pearson \eqn{r} or Spearman
#'     \eqn{r_s});
#'   * `conf.int`: length-2 interval with attribute `conf.level`;
#'   * `p.value`, `statistic` (the t value) and `df` (\eqn{n - 2});
#'   * `n`: number of participants used;
#'   * `method` (`"pearson"` or `"spearman"`) and `scale` (`"beta"` or
#'     `"log"`);
#'   * `n_unmatched_fit`, `unmatched_fit`: count and labels of participants
#'     with a score but absent from the criterion;
#'   * `n_unmatched_criterion`, `unmatched_criterion`: count and labels of
#'     criterion participants without a score;
#'   * `n_missing`, `missing`: count and labels of matched participants
#'     excluded because their criterion or score is `NA`;
#'   * `notes`: character vector describing the exclusions (empty when none);
#'   * `data`: data frame (`participant`, `score`, `criterion`) of the
#'     matched participants actually used, in the order of the scores.
#'
#'   `print()` shows a one-line summary plus the notes and returns `x`
#'   invisibly. `as.data.frame()` returns a one-row data frame with columns
#'   `method`, `scale`, `n`, `r`, `lower`, `upper`, `p.value`,
#'   `n_unmatched_fit`, `n_unmatched_criterion` and `n_missing`.
#'
#' @section Errors and warnings:
#' Errors have class `rlpsy_error_input` (and `rlpsy_error`) when
#' * `criterion` is not numeric or logical (an `integer64` vector is named
#'   as such), is not named by participant, or is a data frame without the
#'   `by` column or without a single usable criterion column;
#' * the `by` column has missing or empty ids, numbers that are not whole or
#'   of 2^53 or more, or is of class `integer64` (convert it with
#'   `as.character()`). Numeric ids are labelled as in the fit ("100000",
#'   never "1e+05"); names of a criterion vector written "1e+05" by
#'   `as.character()` are matched to such ids too;
#' * a participant appears more than once in `criterion` or in the scores
#'   (the message names them);
#' * fewer than 3 participants remain after matching and removing `NA`s;
#' * the scores or the criterion have zero variance among them;
#' * `conf.level` is not a single number strictly between 0 and 1;
#' * `method` or `scale` is not one of the allowed values, or an unknown
#'   argument is given;
#' * `digits` of `print()` is not a whole number from 0 to 15.
#'
#' Exclusions (participants on one side only, `NA` values) are not errors:
#' they raise one warning of class `rlpsy_warning_validity` and are recorded
#' in the result.
#'
#' @examples
#' set.seed(1)
#' n <- 60
#' ability <- rnorm(n)
#' beta <- exp(0.5 * ability + rnorm(n, sd = 0.3))
#' names(beta) <- sprintf("p%02d", 1:n)
#' post_test <- setNames(ability + rnorm(n), names(beta))
#' cor_validity(beta, post_test)
#' cor_validity(beta, post_test, method = "spearman")
#' v <- cor_validity(beta, post_test, scale = "log", conf.level = 0.9)
#' as.data.frame(v)
#'
#' # A data-frame criterion, in any order, with a missing value:
#' crit <- data.frame(participant = rev(names(post_test)),
#'                    score = rev(post_test))
#' crit$score[1] <- NA
#' v <- withCallingHandlers(
#'   cor_validity(beta, crit),
#'   rlpsy_warning_validity = function(w) invokeRestart("muffleWarning")
#' )
#' v$n_missing
#' @export
cor_validity <- function(fit, criterion, ...) {
  UseMethod("cor_validity")
}

#' @rdname cor_validity
#' @export
cor_validity.rlpsy_fit <- function(fit, criterion,
                                   method = c("pearson", "spearman"),
                                   conf.level = 0.95, scale = c("beta", "log"),
                                   by = "participant", column = NULL, ...) {
  validity_check_no_dots(...)
  method <- check_choice(method, c("pearson", "spearman"), "method")
  scale <- check_choice(scale, c("beta", "log"), "scale")
  scores <- stats::coef(fit, type = if (scale == "log") "log" else "beta")
  if (is.matrix(scores)) {
    return(validity_dims(scores, criterion, method, conf.level, scale, by, column))
  }
  validity_compute(scores, criterion, method, conf.level, scale, by, column,
                   what = "The scores `coef(fit)`")
}

#' @rdname cor_validity
#' @export
cor_validity.default <- function(fit, criterion,
                                 method = c("pearson", "spearman"),
                                 conf.level = 0.95, scale = c("beta", "log"),
                                 by = "participant", column = NULL, ...) {
  validity_check_no_dots(...)
  method <- check_choice(method, c("pearson", "spearman"), "method")
  scale <- check_choice(scale, c("beta", "log"), "scale")
  if (!is.numeric(fit) || !is.null(dim(fit))) {
    rlpsy_abort("`fit` must be an rlpsy_fit or a numeric vector of scores ",
                "named by participant, not ", validity_describe_type(fit), ".")
  }
  fit <- validity_as_named_values(fit, "`fit`")
  if (scale == "log") fit <- validity_log_scores(fit)
  validity_compute(fit, criterion, method, conf.level, scale, by, column,
                   what = "`fit`")
}

# ---- computation -----------------------------------------------------------

#' cor_validity() of a fit with several dimensions of beta: one row per
#' dimension (the columns of as.data.frame() of an rlpsy_validity, after
#' `dimension`)
#' @noRd
validity_dims <- function(scores, criterion, method, conf.level, scale, by, column) {
  rows <- lapply(colnames(scores), function(d) {
    v <- validity_compute(scores[, d], criterion, method, conf.level, scale, by,
                          column, what = paste0("The scores `coef(fit)[, \"", d, "\"]`"))
    cbind(dimension = d, as.data.frame(v), stringsAsFactors = FALSE)
  })
  do.call(rbind, rows)
}

#' Match scores with the criterion and compute the correlation
#' @param scores named numeric vector, already on the requested scale.
#' @param what how to call the scores in messages.
#' @noRd
validity_compute <- function(scores, criterion, method, conf.level, scale,
                             by, column, what) {
  validity_check_conf_level(conf.level)
  crit <- validity_criterion_vector(criterion, by, column)
  scores <- validity_as_named_values(scores, what)
  m <- validity_match_participants(scores, crit)
  validity_check_matched(m$data)
  est <- validity_estimate(m$data$score, m$data$criterion, method, conf.level)
  if (length(m$notes) > 0L) {
    rlpsy_warn("Validity correlation: ", paste(m$notes, collapse = " "),
               class = "validity")
  }
  structure(c(est, list(method = method, scale = scale), m[names(m) != "data"],
              list(data = m$data)),
            class = "rlpsy_validity")
}

#' Correlation, Fisher-z interval and t-test p-value
#'
#' Pearson: r, interval tanh(atanh(r) +- q / sqrt(n - 3)). Spearman: Pearson
#' of average ranks, Bonett-Wright SE sqrt((1 + r^2 / 2) / (n - 3)). Both:
#' t = r sqrt((n - 2) / (1 - r^2)) on n - 2 df, two-sided.
#' @noRd
validity_estimate <- function(x, y, method, conf.level) {
  n <- length(x)
  if (method == "spearman") {
    x <- rank(x)
    y <- rank(y)
  }
  r <- stats::cor(x, y)
  r <- max(-1, min(1, r))
  se_z <- if (method == "pearson") {
    1 / sqrt(n - 3)
  } else {
    sqrt((1 + r^2 / 2) / (n - 3))
  }
  ci <- if (n > 3L) {
    tanh(atanh(r) + c(-1, 1) * stats::qnorm((1 + conf.level) / 2) * se_z)
  } else {
    c(NA_real_, NA_real_)
  }
  attr(ci, "conf.level") <- conf.level
  df <- n - 2L
  t <- r * sqrt(df / (1 - r^2))
  p <- 2 * min(stats::pt(t, df), stats::pt(t, df, lower.tail = FALSE))
  list(estimate = r, conf.int = ci, p.value = p, statistic = t, df = df, n = n)
}

#' Names of a criterion vector written by as.character() from numbers
#' ("1e+05") in the labelling of the fit ("100000"), where that gives a
#' participant of the fit and the name itself does not
#' @noRd
canonical_number_labels <- function(nms, ids) {
  cand <- which(!nms %in% ids & grepl("^-?[0-9.]+e[+-]?[0-9]+$", nms))
  if (length(cand) == 0L) return(nms)
  v <- suppressWarnings(as.double(nms[cand]))
  ok <- !is.na(v) & v == trunc(v) & abs(v) < max_exact_whole
  lab <- format_whole(v[ok])
  hit <- lab %in% ids
  nms[cand[ok][hit]] <- lab[hit]
  nms
}

#' Match scores and criterion by participant; record what was left out
#' @return list: data (participant, score, criterion), unmatched and missing
#'   counts and labels, notes.
#' @noRd
validity_match_participants <- function(scores, crit) {
  ids <- names(scores)
  names(crit) <- canonical_number_labels(names(crit), ids)
  unmatched_fit <- setdiff(ids, names(crit))
  unmatched_crit <- setdiff(names(crit), ids)
  both <- ids[ids %in% names(crit)]
  d <- data.frame(participant = both, score = unname(scores[both]),
                  criterion = unname(crit[both]), stringsAsFactors = FALSE)
  na <- is.na(d$score) | is.na(d$criterion)
  missing <- d$participant[na]
  d <- d[!na, , drop = FALSE]
  rownames(d) <- NULL
  list(
    data = d,
    n_unmatched_fit = length(unmatched_fit), unmatched_fit = unmatched_fit,
    n_unmatched_criterion = length(unmatched_crit),
    unmatched_criterion = unmatched_crit,
    n_missing = length(missing), missing = missing,
    notes = validity_exclusion_notes(unmatched_fit, unmatched_crit, missing)
  )
}

#' One sentence per kind of exclusion, naming the first few participants
#' @noRd
validity_exclusion_notes <- function(unmatched_fit, unmatched_crit, missing) {
  note <- function(ids, singular, plural) {
    if (length(ids) == 0L) return(character())
    paste0(length(ids), " ", if (length(ids) == 1L) singular else plural,
           ": ", show_values(ids), ".")
  }
  c(
    note(unmatched_fit, "participant with a score is not in the criterion",
         "participants with a score are not in the criterion"),
    note(unmatched_crit, "criterion participant has no score",
         "criterion participants have no score"),
    note(missing, "participant excluded for a missing value",
         "participants excluded for missing values")
  )
}

# ---- input checks ----------------------------------------------------------

#' Turn `criterion` (named vector or data frame) into a named numeric vector
#' @noRd
validity_criterion_vector <- function(criterion, by, column) {
  if (is.data.frame(criterion)) {
    return(validity_criterion_from_df(criterion, by, column))
  }
  if (!is.null(dim(criterion)) || !is.atomic(criterion)) {
    rlpsy_abort("`criterion` must be a named numeric vector or a data frame, ",
                "not ", validity_describe_type(criterion), ".")
  }
  validity_check_criterion_type(criterion, "`criterion`")
  if (is.null(names(criterion))) {
    rlpsy_abort("`criterion` must be named by participant (or be a data ",
                "frame with a participant column `by`).")
  }
  validity_as_named_values(criterion, "`criterion`")
}

#' @noRd
validity_criterion_from_df <- function(df, by, column) {
  if (!is.character(by) || length(by) != 1L || !by %in% names(df)) {
    rlpsy_abort("`criterion` has no participant column ",
                describe_value(by), "; set `by` to its name.")
  }
  column <- validity_pick_criterion_column(df, by, column)
  ids <- df[[by]]
  if (anyNA(ids)) {
    rlpsy_abort("Participant column ", show_values(by), " of `criterion` has ",
                "missing values in ", show_rows(which(is.na(ids))), ".")
  }
  values <- df[[column]]
  what <- paste0("Criterion column ", show_values(column))
  validity_check_criterion_type(values, what)
  ids <- label_strings(ids, paste0("Participant column ", show_values(by),
                                   " of `criterion`"))
  validity_as_named_values(stats::setNames(values, ids), "`criterion`")
}

#' @noRd
validity_pick_criterion_column <- function(df, by, column) {
  if (!is.null(column)) {
    if (!is.character(column) || length(column) != 1L ||
        !column %in% names(df)) {
      rlpsy_abort("`column` must name a column of `criterion`; ",
                  describe_value(column), " is not one.")
    }
    return(column)
  }
  others <- setdiff(names(df), by)
  is_usable <- function(v) is.numeric(v) || is.logical(v)
  usable <- others[vapply(df[others], is_usable, logical(1))]
  if (length(usable) == 1L) return(usable)
  if (length(usable) == 0L) {
    rlpsy_abort("`criterion` has no numeric or logical column besides ",
                show_values(by), "; name the criterion with `column`.")
  }
  rlpsy_abort("`criterion` has ", length(usable), " numeric columns (",
              show_values(usable), "); choose one with `column`.")
}

#' @noRd
validity_check_criterion_type <- function(values, what) {
  if (!(is.numeric(values) || is.logical(values)) || is.factor(values) ||
      inherits(values, "integer64")) {
    rlpsy_abort(what, " must be numeric or logical, not ",
                validity_describe_type(values), ".")
  }
  invisible(values)
}

#' Check labels (present, non-empty, unique) and return a named double vector
#' @noRd
validity_as_named_values <- function(x, what) {
  ids <- names(x)
  if (is.null(ids) || anyNA(ids) || any(ids == "")) {
    rlpsy_abort(what, " must be named by participant; some names are ",
                "missing or empty.")
  }
  dup <- unique(ids[duplicated(ids)])
  if (length(dup) > 0L) {
    rlpsy_abort(what, " has duplicated participants: ", show_values(dup),
                ". Each participant may appear only once.")
  }
  if (any(is.infinite(x))) {
    rlpsy_abort(what, " must be finite; ", validity_who(ids[is.infinite(x)],
                "has an infinite value", "have infinite values"), ".")
  }
  stats::setNames(as.double(x), ids)
}

#' @noRd
validity_log_scores <- function(x) {
  bad <- !is.na(x) & x <= 0
  if (any(bad)) {
    rlpsy_abort("`scale = \"log\"` needs positive scores; ",
                validity_who(names(x)[bad],
                "has a score <= 0", "have scores <= 0"), ".")
  }
  log(x)
}

#' @noRd
validity_check_matched <- function(d) {
  if (nrow(d) < 3L) {
    rlpsy_abort("Only ", nrow(d),
                if (nrow(d) == 1L) " participant has" else " participants have",
                " both a score and a criterion value; a validity ",
                "correlation needs at least 3. Check that the criterion is ",
                "labelled with the participant labels of the scores.")
  }
  constant <- c(validity_is_constant(d$score),
                validity_is_constant(d$criterion))
  if (any(constant)) {
    rlpsy_abort("The ", paste(c("scores", "criterion")[constant],
                              collapse = " and the "),
                " of the ", nrow(d), " matched participants ",
                if (identical(constant, c(FALSE, TRUE))) "has" else "have",
                " zero variance; the correlation is not defined.")
  }
  invisible(d)
}

#' `participant "a" <one>` or `3 participants "a", "b", "c" <many>`
#' @noRd
validity_who <- function(ids, one, many) {
  if (length(ids) == 1L) {
    return(paste0("participant ", show_values(ids), " ", one))
  }
  paste0(length(ids), " participants ", show_values(ids), " ", many)
}

#' @noRd
validity_is_constant <- function(x) all(x == x[1L])

#' @noRd
validity_check_conf_level <- function(conf.level) {
  ok <- is.numeric(conf.level) && length(conf.level) == 1L &&
    !is.na(conf.level) && conf.level > 0 && conf.level < 1
  if (!ok) {
    rlpsy_abort("`conf.level` must be a single number strictly between 0 ",
                "and 1, not ", describe_value(conf.level), ".")
  }
  invisible(conf.level)
}

#' @noRd
validity_check_no_dots <- function(...) {
  if (...length() > 0L) {
    nm <- names(list(...))
    what <- if (is.null(nm) || any(nm == "")) "unnamed arguments" else
      paste0("`", nm, "`", collapse = ", ")
    rlpsy_abort("Unknown argument(s) to cor_validity(): ", what, ".")
  }
}

#' @noRd
validity_describe_type <- function(x) {
  if (is.factor(x)) return("a factor")
  if (inherits(x, "integer64")) return("an object of class <integer64> (package bit64)")
  if (is.data.frame(x)) return("a data frame")
  if (is.matrix(x)) return(paste("a", typeof(x), "matrix"))
  paste("a", class(x)[1L], if (is.atomic(x)) "vector" else "object")
}

# ---- methods ---------------------------------------------------------------

#' @rdname cor_validity
#' @export
print.rlpsy_validity <- function(x, digits = 2L, ...) {
  check_dots_empty_rlpsy("print()", ...)
  digits <- check_count(digits, "digits", min = 0, max = 15)
  cat(validity_format(x, digits), "\n", sep = "")
  for (note in x$notes) cat("  ", note, "\n", sep = "")
  invisible(x)
}

#' @noRd
validity_format <- function(x, digits) {
  f <- function(v) formatC(v, format = "f", digits = digits)
  what <- if (x$scale == "log") "log beta" else "beta"
  label <- if (x$method == "pearson") "Pearson" else "Spearman"
  stat <- if (x$method == "pearson") "r" else "rho"
  level <- attr(x$conf.int, "conf.level")
  ci <- if (anyNA(x$conf.int)) "CI not available (n = 3)" else
    paste0("CI [", f(x$conf.int[1]), ", ", f(x$conf.int[2]), "]")
  p <- if (x$p.value < 0.001) "p < 0.001" else
    paste0("p = ", formatC(x$p.value, format = "f", digits = 3))
  paste0("Validity of ", what, " (", label, ", n = ", x$n, "): ",
         stat, " = ", f(x$estimate), ", ", format(100 * level), "% ", ci,
         ", ", p)
}

#' @rdname cor_validity
#' @export
as.data.frame.rlpsy_validity <- function(x, row.names = NULL, optional = FALSE,
                                         ...) {
  check_dots_empty_rlpsy("as.data.frame()", ..., allow = "stringsAsFactors")
  data.frame(
    method = x$method, scale = x$scale, n = x$n, r = x$estimate,
    lower = x$conf.int[1], upper = x$conf.int[2], p.value = x$p.value,
    n_unmatched_fit = x$n_unmatched_fit,
    n_unmatched_criterion = x$n_unmatched_criterion,
    n_missing = x$n_missing,
    row.names = row.names, stringsAsFactors = FALSE
  )
}
