# Column arguments of rlpsy_data() and rlpsy_fit(): a bare name or a string
# (data masking in the manner of the tidyverse, with base R's substitute()).

#' The column arguments of a call, resolved to column names
#'
#' Reads `participant`, `state`, `action`, `next_state`, `done` and `reward`
#' from the frame `env` of rlpsy_data() or rlpsy_fit(): each may be a bare
#' name or an expression giving a string (see resolve_column()). Checks
#' `data` first and stops for a missing required argument, as before.
#' @return named list of the six column names (NULL for done/reward unused),
#'   not yet checked against `data`
#' @noRd
decision_columns <- function(data, env) {
  check_data_frame(data, "data")
  if (nrow(data) == 0L) {
    rlpsy_abort("`data` has no rows: there are no decisions to encode.")
  }
  args <- c("participant", "state", "action", "next_state", "done", "reward")
  for (arg in args[1:4]) {
    if (eval(call("missing", as.name(arg)), env)) abort_missing_column_arg(arg)
  }
  cols <- lapply(args, function(arg) {
    expr <- eval(call("substitute", as.name(arg)), env)
    resolve_column(expr, function() get(arg, envir = env, inherits = FALSE), names(data))
  })
  stats::setNames(cols, args)
}

#' One column argument. Not a bare name: its value. A bare name: its value
#' when that is NULL or the name of a column of `data` (a wrapper passing
#' its own argument on, or a variable holding a column name); else the
#' column of that name when `data` has one; else its value (so a number
#' gets the usual type error) or, when it cannot be evaluated, the name (so
#' a misspelt column gets the usual "does not have" error).
#' @param expr the unevaluated argument; @param value forces it.
#' @noRd
resolve_column <- function(expr, value, columns) {
  if (!is.symbol(expr)) return(value())
  name <- as.character(expr)
  v <- tryCatch(value(), error = function(e) e)
  ok <- !inherits(v, "error") && !is.function(v)
  if (ok && (is.null(v) || (is.character(v) && length(v) == 1L && v %in% columns))) {
    return(v)
  }
  if (name %in% columns || !ok) return(name)
  v
}
