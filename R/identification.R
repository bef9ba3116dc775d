# Which participants' beta the data cannot identify, and how a fit reports
# them (status "not_identified" and one warning).

#' Participants whose beta the data cannot identify
#'
#' Finds the participants whose decisions carry no information about their
#' inverse temperature \eqn{\beta_j}: for them the likelihood does not have
#' an interior maximum, so the fitted \eqn{\beta_j} is set by the prior (and,
#' for private states, by \eqn{Q} fitted to the participant's own choices),
#' not by their behaviour. [rlpsy_fit()] marks them in
#' `fit$participants$status` as `"not_identified"` and warns.
#'
#' @section Rules:
#' A participant is reported, with the first reason that applies, when
#' * `"no_choice"`: none of their decisions was made in a state with more
#'   than one available action (the policy does not depend on \eqn{\beta});
#' * `"single_decision"`: they made a single decision (one choice cannot
#'   tell a decisive from a random chooser: the likelihood is monotone in
#'   \eqn{\beta});
#' * `"private_states"`: every decision of theirs with a real choice was
#'   made in a state in which no other participant made a decision, and in
#'   each such state they always chose the same action (for instance, each
#'   state visited once). The advantage of a state only they visited is
#'   fitted to their own choices, so it can agree with every one of them and
#'   the likelihood keeps increasing with \eqn{\beta}: an estimate such as
#'   5.3 \eqn{\pm} 0.06 for a random chooser is the prior's and the
#'   penalties' doing. Private states visited repeatedly with different
#'   actions do inform \eqn{\beta} (as within-state consistency) and are
#'   not reported.
#'
#' States with a single available action never inform \eqn{\beta}; they are
#' ignored by the last rule.
#'
#' @param enc an `rlpsy_data` object made by [rlpsy_data()] (for a fit,
#'   `fit$data`).
#' @return A data frame with one row per participant reported, in
#'   participant order: `participant` (index into `enc$participants`),
#'   `label` (the participant's label) and `reason` (one of `"no_choice"`,
#'   `"single_decision"`, `"private_states"`). No rows when every
#'   participant is identified.
#' @section Errors and warnings: An error of class `rlpsy_error_input` when
#'   `enc` is not a valid `rlpsy_data` object. There are no warnings.
#' @seealso [rlpsy_fit()]
#' @examples
#' d <- data.frame(id = c("a", "a", "b", "c", "c"), s = c(1, 2, 1, 3, 1),
#'                 a = c(1, 2, 2, 1, 1), s2 = c(2, 3, 3, 1, 2))
#' enc <- rlpsy_data(d, "id", "s", "a", "s2")
#' identification_participants(enc)
#' @export
identification_participants <- function(enc) {
  if (!inherits(enc, "rlpsy_data")) {
    rlpsy_abort("`enc` must be an rlpsy_data object (made by rlpsy_data(), or ",
                "`fit$data`), not ", describe_type(enc), ".")
  }
  enc <- check_encoding(enc, "enc")
  n_j <- diff(enc$offsets)
  counts <- identification_counts_cpp(enc)
  n_choice <- counts$n_choice
  n_info <- counts$n_info
  reason <- ifelse(n_choice == 0L, "no_choice",
            ifelse(n_j == 1L, "single_decision",
            ifelse(n_info == 0L, "private_states", NA_character_)))
  idx <- which(!is.na(reason))
  data.frame(participant = idx, label = enc$participants[idx], reason = reason[idx],
             stringsAsFactors = FALSE)
}

#' The fit's hook: mark the participants whose beta is not identified as
#' "not_identified" in the status factor, with one warning of class
#' rlpsy_warning_identification naming up to 5 of them and the remedy.
#' @param status the E-step status factor of all participants.
#' @return the status factor, with the level "not_identified" added when
#'   some participant has it (the levels stay those of the E-step otherwise).
#' @noRd
mark_not_identified <- function(status, enc) {
  ni <- identification_participants(enc)
  if (nrow(ni) == 0L) return(status)
  status <- factor(status, levels = union(levels(status), "not_identified"))
  status[ni$participant] <- "not_identified"
  why <- c(no_choice = "no decision with more than one available action",
           single_decision = "a single decision",
           private_states = "choices only in states no other participant visited")
  tab <- table(factor(ni$reason, levels = names(why)))
  tab <- tab[tab > 0L]
  attr(status, "identification_message") <- paste0(
    "The data cannot identify beta for ", nrow(ni), " of ", enc$n_participants,
    " participants (", paste0(why[names(tab)], ": ", tab, collapse = "; "), "): ",
    show_values(ni$label), ". Their beta reflects the prior, not their ",
    "behaviour; they are marked \"not_identified\" in `fit$participants$status`. ",
    "Leave them out of analyses of beta, or collect more decisions with a real ",
    "choice in states other participants also visit (see ",
    "identification_participants()).")
  status
}
