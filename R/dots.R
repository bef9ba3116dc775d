# Arguments in `...` that a method does not use are errors: a misspelt
# argument (predict(fit, se.fitt = TRUE)) must never be ignored silently.

#' Stop when `...` holds arguments the method does not use
#'
#' The `...` of S3 methods exist only to match their generic; anything
#' passed there would be ignored, so it is an error of class
#' `rlpsy_error_input` naming the arguments. The dots are not evaluated.
#' @param fun the call to name in the message, such as `"predict()"`.
#' @param ... the method's dots.
#' @param allow names that may be given and are ignored (as `stringsAsFactors`
#'   of as.data.frame(), which data.frame() passes on).
#' @noRd
check_dots_empty_rlpsy <- function(fun, ..., allow = character()) {
  if (...length() == 0L) return(invisible())
  exprs <- as.list(substitute(list(...)))[-1L]
  nm <- names(exprs)
  if (is.null(nm)) nm <- character(length(exprs))
  bad <- !nm %in% allow | nm == ""
  if (!any(bad)) return(invisible())
  named <- nm[bad & nm != ""]
  n_unnamed <- sum(bad & nm == "")
  n_bad <- length(named) + n_unnamed
  what <- c(if (length(named)) paste0("`", named, "`"),
            if (n_unnamed) paste0(n_unnamed, " unnamed argument", if (n_unnamed > 1L) "s"))
  rlpsy_abort(if (length(named)) paste0("Unknown argument", if (length(named) > 1L) "s", " "),
              show_plain(what, max = 5L), " to ", fun, ": ",
              if (n_bad == 1L) "it is" else "they are", " not used, and a misspelt ",
              "argument is never ignored silently. See the help page of ",
              fun, " for its arguments.")
}
