# Re-validation of an rlpsy_data object handed back to rlpsy (it may have
# been modified after rlpsy_data() made it): cheap checks of what the C++
# core reads, so that a corrupted object is an input error, never an
# out-of-bounds read or an "internal" error.

#' Cheap re-validation of an rlpsy_data object made elsewhere: field types
#' and lengths here (O(J + S + K)), then values in one pass of C++
#' (inst/include/rlpsy/checks.h: offsets, participant codes, code ranges,
#' done flags, rewards, `available` and the chosen actions), about 30 ms for
#' 10^7 decisions.
#' @param enc the object; @param arg its argument name, for messages.
#' @return `enc`, invisibly (with `reward = NULL` added when absent).
#' @noRd
check_encoding <- function(enc, arg = "data") {
  bad <- function(...) {
    rlpsy_abort("`", arg, "` is an rlpsy_data object that is not valid ",
                "(was it modified after rlpsy_data() made it?): ", ...,
                " Rebuild it with rlpsy_data().")
  }
  need <- c("participants", "states", "actions", "n_decisions", "n_participants",
            "n_states", "n_actions", "offsets",
            "participant", "state", "action", "next_state", "done", "available")
  if (!is.list(enc)) bad("it is ", describe_type(unclass(enc)), ", not a list.")
  miss <- setdiff(need, names(enc))
  if (length(miss) > 0L) bad("it lacks the field", if (length(miss) > 1L) "s", " ",
                             show_values(miss), ".")
  J <- check_encoding_labels(enc, "participants", bad)
  S <- check_encoding_labels(enc, "states", bad)
  K <- check_encoding_labels(enc, "actions", bad)
  N <- enc$n_decisions
  if (!is_plain_number(N) || length(N) != 1L || is.na(N) || N < 1 ||
      N != trunc(N) || N > .Machine$integer.max) {
    bad("field `n_decisions` must be a positive count, not ", describe_type(N), ".")
  }
  for (f in c("n_participants", "n_states", "n_actions")) {
    v <- enc[[f]]
    want <- c(n_participants = J, n_states = S, n_actions = K)[[f]]
    if (!is_plain_number(v) || length(v) != 1L || is.na(v) || v != want) {
      bad("field `", f, "` must be ", want, " (the number of labels), not ",
          if (is_plain_number(v) && length(v) == 1L) v else describe_type(v), ".")
    }
  }
  if (!is.integer(enc$offsets) || length(enc$offsets) != J + 1L || anyNA(enc$offsets)) {
    bad("field `offsets` must be J + 1 = ", J + 1L, " integers, not ",
        describe_type(enc$offsets), ".")
  }
  for (f in c("participant", "state", "action", "next_state", "done")) {
    v <- enc[[f]]
    if (!is.integer(v) || length(v) != N || !is.null(dim(v))) {
      bad("field `", f, "` must be an integer vector of length ", N, " (one per ",
          "decision), not ", describe_type(v), ".")
    }
  }
  r <- enc$reward
  if (!is.null(r) && (!is_plain_number(r) || !is.double(r) || length(r) != N)) {
    bad("field `reward` must be NULL or a double vector of length ", N, " (one per ",
        "decision), not ", describe_type(r), ".")
  }
  av <- enc$available
  if (!is.logical(av) || !is.matrix(av) || nrow(av) != S || ncol(av) != K) {
    bad("field `available` must be a logical ", S, " x ", K, " matrix, not ",
        describe_type(av), if (is.matrix(av)) paste0(" (", nrow(av), " x ",
        ncol(av), ")"), ".")
  }
  problem <- encoding_problem_cpp(enc, max_abs_reward)
  if (nzchar(problem)) bad(problem)
  if (!"reward" %in% names(enc)) enc["reward"] <- list(NULL)  # learned reward
  invisible(enc)
}

#' Check one label field of an encoding; returns its length
#' @noRd
check_encoding_labels <- function(enc, f, bad) {
  v <- enc[[f]]
  if (!is.character(v) || length(v) < 1L || anyNA(v) || any(v == "") ||
      anyDuplicated(v) > 0L) {
    bad("field `", f, "` must be distinct non-empty strings, not ", describe_type(v), ".")
  }
  length(v)
}
