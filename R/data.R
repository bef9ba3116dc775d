# The data contract: validate a data frame of decisions and encode it once
# into 0-based integer codes (ordered by participant, CSR offsets) that the
# C++ core maps without copying. Labels are kept for every output.

#' Validate and encode decision data
#'
#' Checks a data frame with one row per decision and encodes it for fitting:
#' participants, states and actions become 0-based integer codes, decisions
#' are grouped by participant (keeping their original order within each
#' participant, since they are sequences), and the labels are kept so that
#' every output can be reported in the data's own terms.
#' [rlpsy_fit()] calls this function; call it yourself to check data before a
#' long fit or to see how labels were encoded.
#'
#' @section Labels:
#' Participant, state and action columns may be integer, double holding whole
#' numbers, factor or character.
#' * Participants are the values that occur, in numeric order for numbers, in
#'   level order for factors (unused levels are dropped) and in C-locale
#'   (`sort(method = "radix")`) order for strings.
#' * States are the union of the `state` and `next_state` values: a label seen
#'   only as a next state is a state in which no decision was logged. If both
#'   columns hold whole numbers that are all at least 1, the states are
#'   `1, ..., max`, so an integer-coded task keeps its unvisited states. For
#'   factors, all levels are kept (those of `state` first, then new levels of
#'   `next_state`). Otherwise the states are the sorted unique values.
#' * Actions follow the same rules (factor levels kept; whole numbers
#'   `>= 1` give `1, ..., max`; otherwise sorted unique values), except
#'   that, when `available` is `NULL`, actions never chosen anywhere in the
#'   data (unused factor levels, gaps in integer codes such as 1, 2, 10) are
#'   dropped, with a message: such an action would exist in every state and
#'   never be chosen, its advantage would drift towards minus infinity and,
#'   through the unit-RMS scaling of the others, beta would grow without
#'   bound. The remaining actions keep their labels (codes 1, 2, 10 stay
#'   "1", "2", "10"; they are not renumbered). To keep an action that exists
#'   but was never chosen, give `available`.
#' * If `available` has row (column) names, they are the state (action)
#'   labels, in that order; every label seen in the data must be among them.
#'
#' All labels are stored as character strings.
#'
#' @section Column arguments:
#' Each column argument is a bare name or a string: `participant = id` and
#' `participant = "id"` are the same. The rule for a bare name: if it is a
#' variable whose value is `NULL` or the name of a column of `data`, that
#' value is used (so `col <- "id"; rlpsy_data(d, col, ...)` works, and so
#' does a wrapper function that passes its own `reward = NULL` or
#' `reward = "r"` on as `reward = reward`); otherwise, if `data` has a
#' column of that name, that column; otherwise the name is taken as a
#' column name (and a misspelt one gets the error for a column `data` does
#' not have). Anything other than a bare name is evaluated and must give a
#' single string (or `NULL` for `done` and `reward`).
#'
#' @section Errors and warnings:
#' All errors have class `"rlpsy_error_input"` (and `"rlpsy_error"`); their
#' messages name the argument, the column and the first offending rows or
#' values. `rlpsy_data()` stops when
#' * `data` is not a data frame or has no rows;
#' * a column argument is not a bare column name or a single string, or names a column that `data`
#'   does not have (the message lists the columns it has);
#' * a used column has missing values (`NA` or `NaN`): no row is ever dropped
#'   silently, so remove or fix such rows first;
#' * a participant, state or action column is of an unsupported type (list,
#'   complex, logical, date, matrix, `integer64`, ...), holds numbers that
#'   are not whole, or numbers of 2^53 or more in absolute value (doubles
#'   cannot tell such labels apart: pass them as character);
#' * a label column has empty strings `""` (the message names the rows);
#' * `done` is neither logical nor numeric with values 0 and 1 only;
#' * `reward` is not numeric, has infinite values or values larger than
#'   1e100 in absolute value (rescale such rewards);
#' * `available` is not a logical (or 0/1) matrix, has the wrong dimensions,
#'   has dimnames that do not cover the labels seen in the data, has missing
#'   values, leaves a state without any available action, or marks as
#'   unavailable an action that was chosen in the data.
#'
#' An error of class `"rlpsy_error_memory"` (and `"rlpsy_error"`) is raised,
#' before anything large is allocated, when a size estimate of encoding and
#' fitting the data (about 128 bytes per decision and 600 bytes per
#' (state, action) pair) exceeds the memory available (`MemAvailable` on
#' Linux; set `options(rlpsy.memory_limit = <bytes>)` to impose a limit).
#' Numeric state codes such as 1 and 1e9 count as 1e9 states, because whole
#' numbers >= 1 are taken to be the codes 1..max; pass such labels as
#' character instead. There are no warnings.
#'
#' A message of class `"rlpsy_message_actions"` (and `"rlpsy_message"`)
#' names the actions dropped because they were never chosen (see Labels);
#' silence it with [suppressMessages()], or avoid it with [droplevels()] on
#' the action column or by giving `available`.
#'
#' @param data a data frame (tibbles and other data frame subclasses are
#'   fine) with one row per decision.
#' @param participant,state,action,next_state the columns of `data`
#'   holding the participant, the state in which the decision was made, the
#'   action chosen and the state that followed: bare column names
#'   (`participant`) or strings (`"participant"`); see "Column arguments".
#' @param done `NULL` (no transition ends an episode) or the column (bare
#'   name or string) of a logical column (or numeric with values 0/1) that
#'   is `TRUE` when the next state ends the episode, so that its value
#'   counts as 0.
#' @param reward `NULL` (the reward is learned) or the column (bare name or
#'   string) of a numeric column with the observed reward of each decision.
#' @param available `NULL` (every action is available in every state) or a
#'   logical matrix (0/1 accepted) with one row per state and one column per
#'   action, `TRUE` where the action exists in the state. Row and column
#'   names, if present, are the state and action labels.
#'
#' @return An object of class `"rlpsy_data"`: a list with
#' * `participants`, `states`, `actions`: character label vectors of lengths
#'   J, S and K;
#' * `n_decisions`, `n_participants`, `n_states`, `n_actions`: N, J, S, K;
#' * `offsets`: integer vector of length J + 1; the decisions of participant
#'   `j` are positions `offsets[j] + 1` to `offsets[j + 1]` of the vectors
#'   below;
#' * `participant`, `state`, `action`, `next_state`: 0-based integer codes of
#'   each decision, ordered by participant (original order kept within a
#'   participant);
#' * `done`: integer 0/1 vector; `reward`: double vector, or `NULL` when the
#'   reward is learned;
#' * `available`: logical S x K matrix with dimnames
#'   `list(state = states, action = actions)`;
#' * `row`: for each encoded decision, its row number in `data`;
#' * `columns`: named list of the column names used (`participant`, `state`,
#'   `action`, `next_state`, `done`, `reward`; `NULL` when not used).
#'
#' @seealso [rlpsy_fit()]
#' @examples
#' d <- data.frame(
#'   id     = c("ann", "ann", "bob", "bob", "ann"),
#'   room   = c(1, 2, 1, 3, 3),
#'   move   = c("left", "right", "right", "left", "left"),
#'   next_room = c(2, 4, 3, 4, 4),
#'   end    = c(FALSE, TRUE, FALSE, TRUE, TRUE)
#' )
#' enc <- rlpsy_data(d, participant = "id", state = "room", action = "move",
#'                   next_state = "next_room", done = "end")
#' enc
#' enc$states          # "1" "2" "3" "4": room 4 is only ever a next state
#' enc$participant     # 0-based codes, decisions grouped by participant
#' enc$row             # where each encoded decision came from in `d`
#' # bare column names work as well
#' rlpsy_data(d, id, room, move, next_room, done = end)
#'
#' # Action "right" does not exist in room 3:
#' av <- matrix(TRUE, 4, 2, dimnames = list(1:4, c("left", "right")))
#' av["3", "right"] <- FALSE
#' rlpsy_data(d, "id", "room", "move", "next_room", "end", available = av)
#' @export
rlpsy_data <- function(data, participant, state, action, next_state,
                       done = NULL, reward = NULL, available = NULL) {
  encode_decision_data(data, decision_columns(data, environment()), available)
}

#' rlpsy_data() once the column arguments are resolved to names
#' @noRd
encode_decision_data <- function(data, columns, available) {
  for (arg in names(columns)) {
    check_column_name(data, columns[[arg]], arg, optional = arg %in% c("done", "reward"))
  }
  check_available_type(available)
  x <- read_columns(data, columns)
  lab <- encode_labels(x, available)
  if (is.null(available)) lab <- drop_unchosen_actions(lab, columns)
  avail <- check_available(available, lab, columns)
  build_encoding(x, lab, avail, columns)
}

# --- argument and column checks ----------------------------------------------

#' Stop unless `x` is a data frame
#' @noRd
check_data_frame <- function(x, arg) {
  if (!is.data.frame(x)) {
    rlpsy_abort("`", arg, "` must be a data frame with one row per decision, not ",
                describe_type(x), ".")
  }
}

#' Stop for a column argument that was not supplied
#' @noRd
abort_missing_column_arg <- function(arg) {
  rlpsy_abort("`", arg, "` is missing: give the name of the column of `data` ",
              "that holds the ", gsub("_", " ", arg), " of each decision.")
}

#' Stop unless `col` is a single string naming one column of `data`
#' @noRd
check_column_name <- function(data, col, arg, optional = FALSE) {
  if (is.null(col) && optional) return(invisible())
  if (!is.character(col) || length(col) != 1L || is.na(col)) {
    rlpsy_abort("`", arg, "` must be a single column name (a string)",
                if (optional) " or NULL", ", not ", describe_type(col), ".")
  }
  hits <- sum(names(data) == col, na.rm = TRUE)
  if (hits == 0L) {
    rlpsy_abort("`", arg, "` names column \"", col, "\", which `data` does not have. ",
                "Columns of `data`: ", show_values(names(data), max = 20L), ".")
  }
  if (hits > 1L) {
    rlpsy_abort("`", arg, "` names column \"", col, "\", which appears ", hits,
                " times in `data`: give the columns unique names.")
  }
}

#' Describe the type of an object for a message ("a list", "a complex vector")
#' @noRd
describe_type <- function(x) {
  if (is.null(x)) return("NULL")
  if (is.data.frame(x)) return("a data frame")
  if (is.matrix(x)) return(paste0("a ", typeof(x), " matrix"))
  if (is.object(x)) return(paste0("an object of class <", class(x)[1L], ">"))
  if (is.list(x)) return("a list")
  if (!is.atomic(x)) return(paste0("an object of type ", typeof(x)))
  if (length(x) == 1L && is.na(x)) return("NA")
  len <- length(x)
  paste0("a ", typeof(x), " vector", if (len != 1L) paste0(" of length ", len))
}

#' TRUE for a plain integer or double vector (no dim, not a date/factor,
#' not a bit64::integer64, whose doubles hold the bits of 64-bit integers)
#' @noRd
is_plain_number <- function(x) {
  (is.integer(x) || is.double(x)) && is.numeric(x) && is.null(dim(x)) &&
    !inherits(x, "integer64")
}

#' Largest whole number up to which every whole double is exact: labels
#' beyond it would silently merge (2^53 + 1 is stored as 2^53).
#' @noRd
max_exact_whole <- 2^53

#' Where a column lives, for messages: "`state` column \"s\""
#' @noRd
column_where <- function(arg, col, newdata = FALSE) {
  if (newdata) paste0("`newdata` column \"", col, "\" (", arg, ")")
  else paste0("`", arg, "` column \"", col, "\"")
}

#' Stop if `x` has missing values, naming the rows
#' @noRd
check_no_na <- function(x, where) {
  if (!anyNA(x) && !(is.factor(x) && anyNA(levels(x)))) return(invisible())
  rows <- which(is.na(x))
  if (is.factor(x)) rows <- sort(unique(c(rows, which(is.na(levels(x))[x]))))
  rlpsy_abort(where, " has missing values (NA) in ", show_rows(rows), ". ",
              "rlpsy never drops rows: remove or fix them first.")
}

#' Check a participant/state/action column: supported type, no NA, whole numbers
#' @noRd
check_label_column <- function(x, where) {
  if (is.logical(x) && is.null(dim(x)) && length(x) > 0L && all(is.na(x))) {
    check_no_na(x, where)
  }
  if (inherits(x, "integer64")) {
    rlpsy_abort(where, " is of class <integer64> (package bit64), which rlpsy ",
                "does not read: convert it with as.character() first.")
  }
  if (!(is.factor(x) || (is.character(x) && is.null(dim(x))) || is_plain_number(x))) {
    rlpsy_abort(where, " must be integer, whole-number double, factor or ",
                "character, not ", describe_type(x), ".")
  }
  check_no_na(x, where)
  check_no_empty_label(x, where)
  if (is.double(x) && length(x) > 0L &&
      (any(is.infinite(c(min(x), max(x)))) || any(x != trunc(x)))) {
    bad <- which(!is.finite(x) | x != trunc(x))
    rlpsy_abort(where, " must hold whole numbers (or labels), but ",
                show_rows(bad), " ", if (length(bad) == 1L) "has " else "have ",
                show_values(x[bad]), ".")
  }
  if (is.double(x) && length(x) > 0L && max(abs(range(x))) >= max_exact_whole) {
    bad <- which(abs(x) >= max_exact_whole)
    rlpsy_abort(where, " holds numbers of 2^53 (9007199254740992) or more in ",
                "absolute value, which doubles cannot tell apart (2^53 + 1 is ",
                "stored as 2^53), so different labels would merge: ", show_rows(bad),
                " ", if (length(bad) == 1L) "has " else "have ",
                show_plain(format_whole(x[bad])), ". Pass such labels as character.")
  }
  invisible(x)
}

#' Stop if a character or factor label column has empty strings ""
#' @noRd
check_no_empty_label <- function(x, where) {
  empty <- if (is.factor(x)) {
    lev <- which(levels(x) == "")
    if (length(lev) == 0L) return(invisible())
    which(unclass(x) %in% lev)
  } else if (is.character(x)) {
    if (!any(x == "")) return(invisible())
    which(x == "")
  }
  if (length(empty) == 0L) return(invisible())
  rlpsy_abort(where, " has empty labels (\"\") in ", show_rows(empty), ": every ",
              "label must be a non-empty string; recode them first.")
}

#' Check and convert a done column to integer 0/1
#' @noRd
check_done_column <- function(x, where) {
  if (is.logical(x) && is.null(dim(x))) {
    check_no_na(x, where)
    return(as.integer(x))
  }
  if (!is_plain_number(x)) {
    rlpsy_abort(where, " must be logical (or numeric 0/1), not ", describe_type(x), ".")
  }
  check_no_na(x, where)
  bad <- which(x != 0 & x != 1)
  if (length(bad) > 0L) {
    rlpsy_abort(where, " must be logical or hold only 0 and 1, but ",
                show_rows(bad), " ", if (length(bad) == 1L) "has " else "have ",
                show_values(x[bad]), ".")
  }
  as.integer(x)
}

#' Check and convert a reward column to finite doubles
#' @noRd
check_reward_column <- function(x, where) {
  if (!is_plain_number(x)) {
    rlpsy_abort(where, " must be numeric, not ", describe_type(x), ".")
  }
  check_no_na(x, where)
  if (length(x) > 0L && any(is.infinite(c(min(x), max(x))))) {
    bad <- which(!is.finite(x))
    rlpsy_abort(where, " must hold finite numbers, but ", show_rows(bad), " ",
                if (length(bad) == 1L) "has " else "have ", show_values(x[bad]), ".")
  }
  if (length(x) > 0L && max(abs(range(x))) > max_abs_reward) {
    bad <- which(abs(x) > max_abs_reward)
    rlpsy_abort(where, " must hold numbers no larger than ", format(max_abs_reward),
                " in absolute value (squared Bellman residuals would overflow), but ",
                show_rows(bad), " ", if (length(bad) == 1L) "has " else "have ",
                show_values(x[bad]), ". Rescale the reward.")
  }
  as.double(x)
}

#' Largest absolute observed reward accepted (see the Errors section of
#' rlpsy_data): its square times any weight up to 1e10 and any data size stays
#' far from the double overflow.
#' @noRd
max_abs_reward <- 1e100

#' Pull and check the used columns of `data`
#' @return list with the raw label columns, `done` (integer 0/1) and `reward`
#'   (double or NULL).
#' @noRd
read_columns <- function(data, columns) {
  out <- list()
  for (arg in c("participant", "state", "action", "next_state")) {
    out[[arg]] <- check_label_column(data[[columns[[arg]]]], column_where(arg, columns[[arg]]))
  }
  n <- nrow(data)
  out["done"] <- list(if (is.null(columns$done)) integer(n) else
    check_done_column(data[[columns$done]], column_where("done", columns$done)))
  out["reward"] <- list(if (!is.null(columns$reward))
    check_reward_column(data[[columns$reward]], column_where("reward", columns$reward)))
  out
}

# --- labels --------------------------------------------------------------------

#' Format whole numbers as labels ("3", "100000", never "1e+05" or "-0")
#' @noRd
format_whole <- function(v) {
  v <- as.double(v)
  v[v == 0] <- 0
  sprintf("%.0f", v)
}

#' Labels of a participant, state or action vector as rlpsy writes them,
#' the same for the data of a fit and for anything matched against it
#' (newdata, a criterion): factors by level, whole-number doubles as
#' "100000" (never "1e+05"), after the checks of the data columns.
#' @param where where the vector comes from, for messages.
#' @noRd
label_strings <- function(x, where) {
  check_label_column(x, where)
  if (is.factor(x)) return(as.character(x))
  if (is.character(x)) return(x)
  format_whole(x)
}

#' Index a label column by its distinct values
#'
#' Numbers in a moderate range are indexed through a dense table over
#' min..max (no hashing, no sorting); other columns through unique() and
#' match().
#'
#' @param x a checked factor, character or whole-number vector.
#' @return list with `kind` ("factor", "character" or "number"), `values`
#'   (factor levels, sorted unique strings, or sorted numbers covering those
#'   in `x`), `idx` (integer, index of each element of `x` in `values`) and
#'   `used` (logical, which `values` occur in `x`).
#' @noRd
index_labels <- function(x) {
  if (is.factor(x)) {
    idx <- as.integer(unclass(x))
    lev <- levels(x)
    return(list(kind = "factor", values = lev, idx = idx,
                used = tabulate(idx, length(lev)) > 0L))
  }
  if (is.character(x)) {
    u <- sort(unique(x), method = "radix")
    return(list(kind = "character", values = u, idx = match(x, u),
                used = rep(TRUE, length(u))))
  }
  x <- as.vector(x)
  rng <- if (length(x) > 0L) c(min(x), max(x)) else c(Inf, -Inf)
  span <- rng[2L] - rng[1L] + 1
  if (all(abs(rng) < 2^30) && span <= max(1e6, length(x))) {
    lo <- as.integer(rng[1L])
    idx <- if (is.integer(x)) x else as.integer(x)
    if (lo != 1L) idx <- idx - (lo - 1L)
    return(list(kind = "number", values = seq(rng[1L], rng[2L]), idx = idx,
                used = tabulate(idx, span) > 0L))
  }
  num <- sort(unique(x), method = "radix")
  list(kind = "number", values = num, idx = match(x, num), used = rep(TRUE, length(num)))
}

#' The labels of an indexed column that occur in the data, as strings
#' @noRd
used_labels <- function(piece) {
  v <- piece$values[piece$used]
  if (piece$kind == "number") format_whole(v) else v
}

#' Labels spanned by one or more indexed columns
#'
#' @param pieces list of [index_labels()] results.
#' @param what "participant", "state" or "action", for messages.
#' @param fill if all pieces are numbers that are all >= 1, return `1..max`.
#' @param drop_unused drop factor levels that do not occur.
#' @return list with `labels` (character) and, when all pieces are numbers,
#'   `num` (the labels as numbers).
#' @noRd
combine_labels <- function(pieces, what, fill = TRUE, drop_unused = FALSE) {
  kinds <- vapply(pieces, function(p) p$kind, "")
  if (all(kinds == "number")) {
    num <- sort(unique(unlist(lapply(pieces, function(p) p$values[p$used]))), method = "radix")
    if (fill && num[1L] >= 1) {
      top <- num[length(num)]
      if (top > .Machine$integer.max) {
        rlpsy_abort("The ", what, " codes go up to ", format_whole(top), ", beyond ",
                    "the largest supported code ", .Machine$integer.max,
                    ": renumber them, or pass them as character or factor.")
      }
      num <- seq_len(top)
    }
    return(list(labels = format_whole(num), num = num))
  }
  u <- unlist(lapply(pieces, function(p) {
    if (p$kind == "factor" && !drop_unused) p$values else used_labels(p)
  }))
  if (all(kinds == "character")) u <- sort(unique(u), method = "radix")
  list(labels = unique(u))
}

#' The labels that occur in the data, over several indexed columns
#' @noRd
observed_labels <- function(pieces) {
  unique(unlist(lapply(pieces, used_labels)))
}

#' Labels from dimnames of `available`, checked against the observed labels
#' @noRd
labels_from_dimnames <- function(names, pieces, what, dimname) {
  if (anyNA(names) || any(names == "")) {
    rlpsy_abort("`available` has missing or empty ", dimname, " names; they must ",
                "be the ", what, " labels.")
  }
  dup <- unique(names[duplicated(names)])
  if (length(dup) > 0L) {
    rlpsy_abort("`available` has duplicated ", dimname, " names ", show_values(dup),
                "; they must be the distinct ", what, " labels.")
  }
  miss <- setdiff(observed_labels(pieces), names)
  if (length(miss) > 0L) {
    rlpsy_abort("The ", dimname, " names of `available` must include every ", what,
                " in the data, but lack ", show_values(miss), ".")
  }
  list(labels = names)
}

#' 0-based codes of an indexed column against a label set
#'
#' @param piece an [index_labels()] result.
#' @param lab a [combine_labels()] result.
#' @return integer vector.
#' @noRd
codes_of <- function(piece, lab) {
  lut <- rep(NA_integer_, length(piece$values))
  lut[piece$used] <- if (piece$kind == "number" && !is.null(lab$num)) {
    match(piece$values[piece$used], lab$num)
  } else {
    match(used_labels(piece), lab$labels)
  }
  if (all(piece$used) && identical(lut, seq_along(lut))) return(piece$idx - 1L)
  lut[piece$idx] - 1L
}

#' Build the label sets and 0-based codes of all label columns
#' @noRd
encode_labels <- function(x, available) {
  pp <- index_labels(x$participant)
  sp <- list(index_labels(x$state), index_labels(x$next_state))
  ap <- list(index_labels(x$action))
  dn <- if (is.matrix(available)) dimnames(available)
  check_fit_memory(
    n = length(pp$idx), J = sum(pp$used),
    S = if (!is.null(dn[[1L]])) nrow(available) else count_labels(sp),
    K = if (!is.null(dn[[2L]])) ncol(available) else count_labels(ap))
  participants <- combine_labels(list(pp), "participant", fill = FALSE, drop_unused = TRUE)
  states <- if (!is.null(dn[[1L]])) {
    labels_from_dimnames(as.character(dn[[1L]]), sp, "state", "row")
  } else combine_labels(sp, "state")
  actions <- if (!is.null(dn[[2L]])) {
    labels_from_dimnames(as.character(dn[[2L]]), ap, "action", "column")
  } else combine_labels(ap, "action")
  list(participants = participants$labels, states = states$labels,
       actions = actions$labels,
       participant = codes_of(pp, participants), state = codes_of(sp[[1L]], states),
       next_state = codes_of(sp[[2L]], states), action = codes_of(ap[[1L]], actions),
       action_kind = ap[[1L]]$kind)
}

#' Drop the actions never chosen anywhere in the data (used when `available`
#' is NULL: such an action would be available in every state and never
#' chosen, so its advantage drifts to -Inf and the unit-RMS scaling of the
#' others lets beta grow without bound). The remaining actions keep their
#' labels (integer codes are not renumbered); a classed message
#' ("rlpsy_message_actions") names the dropped ones.
#' @param lab an [encode_labels()] result.
#' @return `lab` with `actions` and the `action` codes reduced.
#' @noRd
drop_unchosen_actions <- function(lab, columns) {
  chosen <- tabulate(lab$action + 1L, length(lab$actions)) > 0L
  if (all(chosen)) return(lab)
  dropped <- lab$actions[!chosen]
  lut <- cumsum(chosen) - 1L
  lab$action <- lut[lab$action + 1L]
  lab$actions <- lab$actions[chosen]
  codes <- identical(lab$action_kind, "number")
  one <- length(dropped) == 1L
  rlpsy_inform(
    if (codes) paste0("Action code", if (!one) "s") else
      paste0("Action", if (!one) "s"), " ",
    if (codes) show_plain(dropped, max = 10L) else show_values(dropped, max = 10L),
    " of `action` column \"", columns$action, "\" ", if (one) "is" else "are",
    " never chosen in the data and ", if (one) "was" else "were",
    " dropped from the action set (with `available = NULL` every action exists in ",
    "every state, and one never chosen would inflate beta without bound). ",
    if (codes) paste0("The other actions keep their codes as labels (",
                      show_values(lab$actions), "); codes are not renumbered. ")
    else "Drop unused factor levels with droplevels(), or ",
    if (codes) "Give" else "give",
    " `available` to keep actions that exist but were never chosen.",
    class = "actions")
  lab
}

# --- size estimates --------------------------------------------------------------

#' Number of labels combine_labels() will make from indexed columns, computed
#' without building them (numbers >= 1 are filled to 1..max)
#' @noRd
count_labels <- function(pieces) {
  kinds <- vapply(pieces, function(p) p$kind, "")
  if (all(kinds == "number")) {
    lo <- min(vapply(pieces, function(p) min(p$values[p$used]), 0))
    if (lo >= 1) return(max(vapply(pieces, function(p) max(p$values[p$used]), 0)))
    return(length(unique(unlist(lapply(pieces, function(p) p$values[p$used])))))
  }
  length(unique(unlist(lapply(pieces, function(p) {
    if (p$kind == "factor") p$values else used_labels(p)
  }))))
}

#' Memory available to this process, in bytes: the option
#' `rlpsy.memory_limit` if set, else MemAvailable of /proc/meminfo (Linux),
#' else Inf (no check).
#' @noRd
memory_available <- function() {
  opt <- getOption("rlpsy.memory_limit")
  if (!is.null(opt)) return(as.double(opt))
  read <- function(path, n = -1L) {
    tryCatch(suppressWarnings(readLines(path, n = n, warn = FALSE)),
             error = function(e) character())
  }
  number <- function(txt) {
    v <- suppressWarnings(as.double(gsub("[^0-9]", "", txt)))
    if (length(v) == 1L && !is.na(v)) v else Inf
  }
  # physical memory not in use
  avail <- number(grep("^MemAvailable:", read("/proc/meminfo", 5L), value = TRUE)) * 1024
  # address-space limit of this process (ulimit -v) less what it uses
  lim <- grep("^Max address space", read("/proc/self/limits"), value = TRUE)
  if (length(lim) == 1L) {
    soft <- strsplit(trimws(sub("^Max address space", "", lim)), "[[:space:]]+")[[1L]][1L]
    used <- number(grep("^VmSize:", read("/proc/self/status"), value = TRUE)) * 1024
    if (!identical(soft, "unlimited") && is.finite(used)) {
      avail <- min(avail, number(soft) - used)
    }
  }
  # cgroup v2 memory limit (containers)
  cg_max <- read("/sys/fs/cgroup/memory.max", 1L)
  if (length(cg_max) == 1L && cg_max != "max") {
    cur <- number(read("/sys/fs/cgroup/memory.current", 1L))
    if (is.finite(cur)) avail <- min(avail, number(cg_max) - cur)
  }
  avail
}

#' "3.2 GB", "512 MB"
#' @noRd
format_bytes <- function(b) {
  if (!is.finite(b)) return(format(b))
  units <- c("bytes", "kB", "MB", "GB", "TB", "PB", "EB")
  i <- max(1L, min(length(units), floor(log(max(b, 1), 1024)) + 1L))
  paste(format(signif(b / 1024^(i - 1L), 3), big.mark = ",", scientific = FALSE,
               trim = TRUE), units[i])
}

#' Stop with an error of class rlpsy_error_memory when `bytes` (an estimate
#' of what a step would allocate) exceeds the memory available, before
#' anything is allocated.
#' @param what what needs the memory, e.g. "Fitting 1e9 decisions".
#' @param hint advice appended to the message.
#' @noRd
check_memory <- function(bytes, what, hint = "") {
  avail <- memory_available()
  if (!is.na(bytes) && bytes <= avail) return(invisible())
  rlpsy_abort(what, " would need about ", format_bytes(bytes),
              " of memory, more than the ", format_bytes(avail), " available",
              " (estimate made before allocating anything). ", hint,
              class = "memory")
}

#' Size estimate of a fit: about 128 bytes per decision (codes, compressed
#' counts, work arrays), 600 bytes per (state, action) cell (Q, reward,
#' advantage, gradients, L-BFGS memory) and 200 bytes per label.
#' @noRd
fit_bytes <- function(n, J, S, K) {
  128 * n + 600 * as.double(S) * K + 200 * (as.double(J) + S + K)
}

#' Stop early when encoding and fitting data of this size cannot fit in memory
#' @noRd
check_fit_memory <- function(n, J, S, K) {
  check_memory(
    fit_bytes(n, J, S, K),
    paste0("Fitting ", format(n, big.mark = ",", scientific = FALSE, trim = TRUE),
           " decisions with ", format(S, big.mark = ",", scientific = FALSE, trim = TRUE),
           " states and ", format(K, big.mark = ",", scientific = FALSE, trim = TRUE),
           " actions"),
    paste0("States and actions coded as whole numbers >= 1 span 1..max: ",
           "renumber them, or pass them as character or factor columns, ",
           "or fit a subset of the data."))
}

# --- available -----------------------------------------------------------------

#' Check `available` and the chosen actions against it
#' @return logical S x K matrix with dimnames list(state = , action = ).
#' @noRd
check_available <- function(available, lab, columns) {
  S <- length(lab$states)
  K <- length(lab$actions)
  dn <- list(state = lab$states, action = lab$actions)
  if (is.null(available)) return(matrix(TRUE, S, K, dimnames = dn))
  if (nrow(available) != S || ncol(available) != K) {
    rlpsy_abort("`available` must be a ", S, " x ", K, " matrix (", S, " states x ",
                K, " actions), not ", nrow(available), " x ", ncol(available), ".")
  }
  check_available_values(available, dn)
  avail <- matrix(as.logical(available), S, K, dimnames = dn)
  empty <- which(rowSums(avail) == 0)
  if (length(empty) > 0L) {
    rlpsy_abort("`available` leaves no available action in ",
                if (length(empty) == 1L) "state " else "states ",
                show_values(lab$states[empty]), ": every state needs at least one.")
  }
  check_chosen_available(avail, lab, columns)
  avail
}

#' Stop unless `available` is NULL or a logical/numeric matrix
#' @noRd
check_available_type <- function(available) {
  if (is.null(available)) return(invisible())
  if (!is.matrix(available) || !(is.logical(available) || is.numeric(available))) {
    rlpsy_abort("`available` must be NULL or a logical matrix (states in rows, ",
                "actions in columns), not ", describe_type(available), ".")
  }
}

#' Stop if `available` has NA or values other than 0/1
#' @noRd
check_available_values <- function(available, dn) {
  bad <- which(is.na(available) | (!is.logical(available) & available != 0 & available != 1))
  if (length(bad) == 0L) return(invisible())
  S <- length(dn$state)
  q <- function(v) encodeString(v, quote = "\"")
  cells <- paste0("[", q(dn$state[(bad - 1L) %% S + 1L]), ", ",
                  q(dn$action[(bad - 1L) %/% S + 1L]), "]")
  what <- if (anyNA(available[bad])) "missing values (NA)" else "values other than 0/1"
  rlpsy_abort("`available` must be TRUE/FALSE (or 1/0) in every cell, but has ",
              what, " at [state, action] ", show_plain(cells), ".")
}

#' Stop if an action was chosen in a state where it is not available
#' @noRd
check_chosen_available <- function(avail, lab, columns) {
  if (all(avail)) return(invisible())
  ok <- avail[lab$state + nrow(avail) * lab$action + 1L]
  bad <- which(!ok)
  if (length(bad) == 0L) return(invisible())
  rlpsy_abort("`available` marks chosen actions as unavailable (columns \"",
              columns$action, "\" and \"", columns$state, "\"): ", show_rows(bad),
              " choose ", if (length(bad) == 1L) "action " else "actions ",
              show_values(lab$actions[lab$action[bad] + 1L]), " in ",
              if (length(bad) == 1L) "state " else "states ",
              show_values(lab$states[lab$state[bad] + 1L]), ".")
}

# --- the encoded object --------------------------------------------------------

#' Order the decisions by participant and assemble the rlpsy_data object
#' @noRd
build_encoding <- function(x, lab, avail, columns) {
  n <- length(lab$participant)
  J <- length(lab$participants)
  ord <- if (is.unsorted(lab$participant)) order(lab$participant, method = "radix")
  take <- function(v) {
    if (!is.null(ord)) v <- v[ord]
    if (!is.integer(v)) v <- as.integer(v)
    attributes(v) <- NULL
    v
  }
  counts <- tabulate(lab$participant + 1L, J)
  structure(list(
    participants = lab$participants, states = lab$states, actions = lab$actions,
    n_decisions = n, n_participants = J,
    n_states = length(lab$states), n_actions = length(lab$actions),
    offsets = as.integer(cumsum(c(0, counts))),
    participant = take(lab$participant), state = take(lab$state),
    action = take(lab$action), next_state = take(lab$next_state),
    done = take(x$done),
    reward = if (!is.null(x$reward)) { if (is.null(ord)) x$reward else x$reward[ord] },
    available = avail, row = if (is.null(ord)) seq_len(n) else ord, columns = columns
  ), class = "rlpsy_data")
}

#' @export
print.rlpsy_data <- function(x, ...) {
  check_dots_empty_rlpsy("print()", ...)
  count <- function(n, word) {
    paste0(format(n, big.mark = ",", scientific = FALSE, trim = TRUE), " ", word,
           if (n != 1) "s")
  }
  unvisited <- sum(tabulate(x$state + 1L, x$n_states) == 0L)
  n_unavail <- sum(!x$available)
  txt <- paste0(
    "<rlpsy_data> ", count(x$n_decisions, "decision"), " by ",
    count(x$n_participants, "participant"), "; ", count(x$n_states, "state"),
    " (", unvisited, " without decisions) and ", count(x$n_actions, "action"), "; ",
    count(sum(x$done), "terminal transition"), "; reward ",
    if (is.null(x$reward)) "to be learned" else
      paste0("observed (column \"", x$columns$reward, "\")"), "; ",
    if (n_unavail == 0L) "all actions available in all states." else
      paste0(n_unavail, " of ", length(x$available),
             " (state, action) pairs unavailable.")
  )
  cat(strwrap(txt), sep = "\n")
  invisible(x)
}

# --- internal helpers for outputs and predict() ----------------------------------

#' Labels of 0-based codes
#'
#' @param enc an `rlpsy_data` object (or a list with its label fields).
#' @param what which labels.
#' @param codes0 0-based integer codes; NA gives NA.
#' @return character vector.
#' @noRd
decode_labels <- function(enc, what = c("participant", "state", "action"), codes0) {
  what <- match.arg(what)
  labels <- enc[[paste0(what, "s")]]
  labels[codes0 + 1L]
}

#' Encode new data with the labels of a fit
#'
#' @param enc an `rlpsy_data` object (e.g. the data of a fit).
#' @param newdata a data frame with the columns named in `enc$columns` for
#'   the fields in `need`.
#' @param need fields to encode, any of "participant", "state", "action",
#'   "next_state", "done", "reward".
#' @param allow_new_participants if TRUE, participants that are not in `enc`
#'   get code NA; if FALSE, they are an error.
#' @return list with `n` (rows of `newdata`) and, for each needed field, the
#'   0-based codes in the original row order (`done`: integer 0/1, zeros if
#'   the fit used no done column; `reward`: double or NULL). With
#'   "participant" also `participant_label` (character label of every row,
#'   new participants included) and `new_participant` (logical).
#' @noRd
encode_newdata <- function(enc, newdata, need = c("participant", "state"),
                           allow_new_participants = TRUE) {
  fields <- c("participant", "state", "action", "next_state", "done", "reward")
  need <- match.arg(need, fields, several.ok = TRUE)
  check_data_frame(newdata, "newdata")
  out <- list(n = nrow(newdata))
  for (f in need) {
    col <- enc$columns[[f]]
    if (is.null(col)) {
      out[f] <- list(if (f == "done") integer(nrow(newdata)))
      next
    }
    out <- c(out, encode_newdata_field(enc, newdata, f, col, allow_new_participants))
  }
  out
}

#' The column `col` (the fit's `field` column) of newdata; stops unless
#' newdata has exactly one column of that name
#' @noRd
newdata_column <- function(newdata, col, field) {
  if (sum(names(newdata) == col, na.rm = TRUE) != 1L) {
    rlpsy_abort("`newdata` must have one column \"", col, "\" (the ", field,
                " column of the fit). Columns of `newdata`: ",
                show_values(names(newdata), max = 20L), ".")
  }
  newdata[[col]]
}

#' Encode one field of newdata (see encode_newdata)
#' @noRd
encode_newdata_field <- function(enc, newdata, field, col, allow_new) {
  x <- newdata_column(newdata, col, field)
  where <- column_where(field, col, newdata = TRUE)
  if (field == "done") return(list(done = check_done_column(x, where)))
  if (field == "reward") return(list(reward = check_reward_column(x, where)))
  check_label_column(x, where)
  p <- index_labels(x)
  kind <- if (field == "next_state") "state" else field
  used <- used_labels(p)
  m <- match(used, enc[[paste0(kind, "s")]])
  unseen <- used[is.na(m)]
  if (length(unseen) > 0L && !(field == "participant" && allow_new)) {
    rlpsy_abort(where, " has ", if (length(unseen) == 1L) paste(kind, "") else
                paste0(kind, "s "), show_values(unseen), " not seen in the fitted data.")
  }
  lut <- rep(NA_integer_, length(p$values))
  lut[p$used] <- m - 1L
  out <- list(lut[p$idx])
  names(out) <- field
  if (field == "participant") {
    lab <- rep(NA_character_, length(p$values))
    lab[p$used] <- used
    out$participant_label <- lab[p$idx]
    out$new_participant <- is.na(out$participant)
  }
  out
}
