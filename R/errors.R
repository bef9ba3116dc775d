# Conditions raised by rlpsy. Every error carries the class
# "rlpsy_error_<kind>" and "rlpsy_error"; every warning "rlpsy_warning_<kind>"
# and "rlpsy_warning", so callers can catch them selectively.

#' Signal an rlpsy error
#'
#' @param ... message pieces, pasted together with no separator.
#' @param class kind of error: "input" (bad argument or data), "numerical",
#'   "memory" or "internal".
#' @param call the call to report, or NULL.
#' @noRd
rlpsy_abort <- function(..., class = "input", call = NULL) {
  cond <- structure(
    class = c(paste0("rlpsy_error_", class), "rlpsy_error", "error", "condition"),
    list(message = paste0(...), call = call)
  )
  stop(cond)
}

#' Signal an rlpsy warning
#' @inheritParams rlpsy_abort
#' @noRd
rlpsy_warn <- function(..., class = "numerical", call = NULL) {
  cond <- structure(
    class = c(paste0("rlpsy_warning_", class), "rlpsy_warning", "warning", "condition"),
    list(message = paste0(...), call = call)
  )
  warning(cond)
}

#' Signal an rlpsy message (a classed condition: muffle it with
#' suppressMessages(), or catch it by its class "rlpsy_message_<kind>")
#' @inheritParams rlpsy_abort
#' @noRd
rlpsy_inform <- function(..., class) {
  cond <- structure(
    class = c(paste0("rlpsy_message_", class), "rlpsy_message", "message", "condition"),
    list(message = paste0(..., "\n"), call = NULL)
  )
  message(cond)
}

#' Format the first few offending values for a message
#'
#' @param x values (any atomic vector).
#' @param max how many to show before "and N more".
#' @return one string such as `"a", "b" and 3 more`.
#' @noRd
show_values <- function(x, max = 5L) {
  shown <- x[seq_len(min(length(x), max))]
  txt <- if (is.character(shown) || is.factor(shown)) {
    encodeString(as.character(shown), quote = "\"")
  } else {
    format(shown, trim = TRUE, digits = 6)
  }
  show_plain(txt, max, n = length(x))
}

#' Join strings without quoting them, showing at most `max` of them
#' @param txt character vector.
#' @param n how many items `txt` stands for (its first elements).
#' @return one string such as `a, b and 3 more`.
#' @noRd
show_plain <- function(txt, max = 5L, n = length(txt)) {
  out <- paste(txt[seq_len(min(n, max))], collapse = ", ")
  if (n > max) out <- paste0(out, " and ", n - max, " more")
  out
}

#' Format offending row numbers for a message
#' @param rows integer row indices (1-based).
#' @noRd
show_rows <- function(rows, max = 5L) {
  paste0(if (length(rows) == 1L) "row " else "rows ", show_values(rows, max))
}
