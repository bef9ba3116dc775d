# Progress of the EM loop: a cli progress bar (the iteration and the change
# of the objective J) in interactive sessions, never in knitr unless asked,
# and with `verbose` a compact line every k iterations. R/fit.R's
# em_progress() and em_report() are the entry points.

#' The progress object of one EM run
#' @param ctrl the control object: `progress` (TRUE/FALSE) and `verbose`
#'   (0 = off, or print every k-th iteration, the first and the last).
#' @param envir the frame of the EM loop, which owns the progress bar.
#' @return list(update(tr), close())
#' @noRd
progress_em <- function(ctrl, envir) {
  every <- as.integer(ctrl$verbose)
  bar <- if (isTRUE(ctrl$progress)) {
    cli::cli_progress_bar(
      format = "EM iteration {cli::pb_current} {cli::pb_spin} {cli::pb_status}",
      total = NA, clear = TRUE, .envir = envir)
  }
  prev_J <- NA_real_
  last <- NULL
  printed <- 0L
  update <- function(tr) {
    it <- as.integer(tr[["iter"]])
    dJ <- tr[["total"]] - prev_J
    if (every > 0L && (it == 1L || it %% every == 0L)) {
      em_report(tr, dJ)
      printed <<- it
    }
    if (!is.null(bar)) {
      cli::cli_progress_update(id = bar, set = it, .envir = envir,
                               status = paste0(sprintf("| J = %.8g", tr[["total"]]),
                                               if (!is.na(dJ)) sprintf(" | change %.2e", dJ)))
    }
    prev_J <<- tr[["total"]]
    last <<- list(tr = tr, dJ = dJ)
  }
  close <- function() {
    if (!is.null(bar)) cli::cli_progress_done(id = bar, .envir = envir)
    if (every > 0L && !is.null(last) && printed != as.integer(last$tr[["iter"]])) {
      em_report(last$tr, last$dJ)
    }
  }
  list(update = update, close = close)
}

#' `verbose` of rlpsy_control(): TRUE (every 10 iterations), FALSE (0), or
#' a whole number k >= 0 (every k iterations; 0 is off); returns k
#' @noRd
check_verbose <- function(x) {
  if (is.logical(x) && length(x) == 1L && !is.na(x)) return(if (x) 10L else 0L)
  ok <- is.numeric(x) && length(x) == 1L && !is.na(x) && x >= 0 && x == round(x) &&
    x <= 1e6
  if (!ok) {
    rlpsy_abort("`verbose` must be TRUE, FALSE or a whole number of iterations ",
                "(print every k-th), not ", describe_value(x), ".")
  }
  as.integer(x)
}

#' Whether to show a progress bar by default: in interactive sessions,
#' except while knitr is knitting a document
#' @noRd
default_progress <- function(verbose) {
  interactive() && !isTRUE(getOption("knitr.in.progress")) &&
    check_verbose(verbose) == 0L
}
