# Task tools: a tabular Markov decision process (rlpsy_task) and a gridworld
# constructor. Transitions are stored sparsely, in compressed sparse rows over
# state-action pairs; pair (s, a) has the 1-based index s + S * (a - 1), the
# linear index of an S x K matrix.

#' Define a task as a Markov decision process
#'
#' Builds the task object used by [rlpsy_soft_q()] and [rlpsy_simulate()]: a
#' tabular Markov decision process with states, actions, transition
#' probabilities \eqn{P(s' \mid s, a)}, expected rewards \eqn{r(s, a)},
#' terminal states, a start distribution and the actions available in each
#' state.
#'
#' Terminal states have no decisions: entering one ends the episode. Their
#' rows of `transitions`, `reward` and `available` are ignored, as are the
#' transitions and rewards of unavailable actions. For every available action
#' of every non-terminal state the transition probabilities must sum to 1
#' (within 1e-8).
#'
#' Transitions are stored sparsely, so a data-frame specification of a task
#' with thousands of states never builds a dense \eqn{S \times K \times S}
#' array.
#'
#' @param transitions either a numeric array of dimension
#'   \eqn{S \times K \times S} with `transitions[s, a, s2]` = \eqn{P(s2 \mid
#'   s, a)} (its dimnames, if any, give the state and action labels), or a data
#'   frame with columns `state`, `action`, `next_state` and `prob`, one row per
#'   non-zero probability (pairs not listed have probability 0).
#' @param reward expected reward \eqn{r(s, a)}: a single number for every
#'   pair, or a numeric \eqn{S \times K} matrix (matched by dimnames when it
#'   has them).
#' @param terminal which states are terminal: a logical vector of length
#'   \eqn{S} or a vector of state labels. `NULL` (default): none.
#' @param start the start distribution: a numeric vector of probabilities of
#'   length \eqn{S} (matched by names when named; unnamed states then get 0),
#'   or a vector of state labels (uniform over them). `NULL` (default):
#'   uniform over the non-terminal states.
#' @param available logical \eqn{S \times K} matrix: which actions exist in
#'   which state (matched by dimnames when it has them). `NULL` (default):
#'   all actions everywhere. Rows of terminal states are ignored (stored as
#'   all `TRUE`, so that `task$available` can be passed on to [rlpsy_fit()]).
#' @param states,actions optional labels. With an array they name its
#'   dimensions (overriding dimnames); with a data frame they fix the full
#'   set and order of states and actions (e.g. to include states that appear
#'   in no row). Otherwise the labels come from the dimnames, the factor
#'   levels, the sorted numeric values or the order of first appearance
#'   (`state` column, then `next_state`) of the data frame's columns.
#'
#' @return An object of class `rlpsy_task`, a list with
#'   * `states`, `actions`: character labels (\eqn{S} and \eqn{K} of them);
#'   * `n_states`, `n_actions`: \eqn{S} and \eqn{K};
#'   * `transitions`: the sparse transitions, a list of `offsets` (integer,
#'     length \eqn{SK + 1}; the entries of pair \eqn{p = s + S(a - 1)} are
#'     `offsets[p] + 1` to `offsets[p + 1]`), `next_state` (0-based integer
#'     state index) and `prob` (positive probabilities). Terminal states and
#'     unavailable pairs have no entries;
#'   * `reward`: numeric \eqn{S \times K} matrix (0 for terminal states and
#'     unavailable actions);
#'   * `terminal`: named logical vector;
#'   * `start`: named numeric vector of start probabilities;
#'   * `available`: logical \eqn{S \times K} matrix with dimnames (all
#'     `TRUE` in terminal states). Passing it as `available` to [rlpsy_fit()]
#'     makes the fit use the task's states and actions, in the task's order,
#'     even those never visited;
#'   * `layout`: `NULL`, or for [rlpsy_gridworld()] the grid geometry.
#'
#'   `as.data.frame()` turns the transitions back into a data frame with
#'   columns `state`, `action`, `next_state` and `prob`.
#'
#' @section Errors and warnings:
#' All input errors have class `rlpsy_error_input` and name the argument and
#' the offending values: a `transitions` that is neither a 3-d array nor a data
#' frame, mismatched dimensions, missing columns, unknown or duplicated
#' labels, negative or missing probabilities, transition rows of available
#' pairs of non-terminal states that do not sum to 1, non-finite rewards, a
#' non-terminal state without an available action, and a start distribution
#' that does not sum to 1 or puts mass on terminal states. A data-frame
#' `transitions` whose labels would make the dense state x action tables too
#' large for the memory available gives an error of class
#' `rlpsy_error_memory` before they are allocated. There are no warnings.
#'
#' @seealso [rlpsy_gridworld()] for a ready-made task, [rlpsy_soft_q()],
#'   [rlpsy_simulate()].
#' @examples
#' # A two-state chain: "go" moves on (and ends the episode from "b"),
#' # "stay" stays put.
#' P <- array(0, c(3, 2, 3),
#'            dimnames = list(c("a", "b", "end"), c("stay", "go"),
#'                            c("a", "b", "end")))
#' P["a", "stay", "a"] <- 1
#' P["a", "go", "b"] <- 1
#' P["b", "stay", "b"] <- 1
#' P["b", "go", "end"] <- 1
#' R <- matrix(c(0, 0, 0, 1, 0, 0), 3, 2)
#' task <- rlpsy_task(P, reward = R, terminal = "end", start = "a")
#' task
#'
#' # The same task from a sparse data frame
#' tr <- data.frame(state = c("a", "a", "b", "b"),
#'                  action = c("stay", "go", "stay", "go"),
#'                  next_state = c("a", "b", "b", "end"),
#'                  prob = 1)
#' rlpsy_task(tr, reward = R, terminal = "end", start = "a")
#' @export
rlpsy_task <- function(transitions, reward = 0, terminal = NULL, start = NULL,
                       available = NULL, states = NULL, actions = NULL) {
  entries <- task_entries(transitions, states, actions)
  S <- length(entries$states)
  K <- length(entries$actions)
  labels <- list(entries$states, entries$actions)
  terminal <- task_terminal(terminal, labels[[1]])
  available <- task_available(available, labels, terminal)
  used <- available & !terminal
  task <- list(
    states = labels[[1]], actions = labels[[2]], n_states = S, n_actions = K,
    transitions = task_csr(entries, used),
    reward = task_reward(reward, labels, used),
    terminal = terminal,
    start = task_start(start, labels[[1]], terminal),
    available = available,
    layout = NULL
  )
  structure(task, class = "rlpsy_task")
}

#' Transition entries of a task specification, with labels
#'
#' Turns an array or a data frame into 1-based integer codes (state, action,
#' next) and probabilities, checking dimensions, columns and labels.
#' @return list(states, actions, state, action, next_state, prob, where) with
#'   `where` a function giving a readable location for entry indices.
#' @noRd
task_entries <- function(transitions, states, actions) {
  task_check_labels(states, "states")
  task_check_labels(actions, "actions")
  if (is.data.frame(transitions)) {
    return(task_entries_df(transitions, states, actions))
  }
  if (is.array(transitions) && length(dim(transitions)) == 3L &&
      (is.numeric(transitions) || is.logical(transitions))) {
    return(task_entries_array(transitions, states, actions))
  }
  rlpsy_abort("`transitions` must be a numeric S x K x S array or a data ",
              "frame with columns state, action, next_state and prob; got ",
              task_describe(transitions), ".")
}

#' Short description of an object's type and shape for messages, such as
#' "a numeric matrix with dimensions 2 x 3" or "a character vector of length 1"
#' @noRd
task_describe <- function(x) {
  d <- dim(x)
  if (is.data.frame(x)) {
    return(paste0("a data frame with ", nrow(x), " rows"))
  }
  if (is.atomic(x) && !is.object(x)) {
    type <- if (is.numeric(x)) "numeric" else typeof(x)
    shape <- if (is.null(d)) "vector of length " else if (length(d) == 2L)
      "matrix with dimensions " else "array with dimensions "
    size <- if (is.null(d)) length(x) else paste(d, collapse = " x ")
    return(paste0("a ", type, " ", shape, size))
  }
  if (is.list(x) && !is.object(x)) return(paste0("a list of length ", length(x)))
  paste0("an object of class \"", class(x)[1], "\" and length ", length(x))
}

#' Check an optional label vector (`states` / `actions`)
#' @noRd
task_check_labels <- function(x, arg) {
  if (is.null(x)) return(invisible())
  if (!is.atomic(x) || length(x) == 0L || anyNA(x)) {
    rlpsy_abort("`", arg, "` must be a vector of labels without NA.")
  }
  dup <- unique(as.character(x)[duplicated(as.character(x))])
  if (length(dup)) {
    rlpsy_abort("`", arg, "` must not contain duplicated labels; duplicated: ",
                show_values(dup), ".")
  }
}

#' Transition entries from an S x K x S array
#' @noRd
task_entries_array <- function(transitions, states, actions) {
  d <- dim(transitions)
  if (d[1] != d[3] || d[1] == 0L || d[2] == 0L) {
    rlpsy_abort("`transitions` must be an S x K x S array (S states, K ",
                "actions, S next states); its dimensions are ",
                paste(d, collapse = " x "), ".")
  }
  dn <- dimnames(transitions)
  if (!is.null(dn[[1]]) && !is.null(dn[[3]]) && !identical(dn[[1]], dn[[3]])) {
    rlpsy_abort("`transitions` has different dimnames for states (dimension ",
                "1) and next states (dimension 3).")
  }
  from_dimnames <- if (is.null(dn[[1]])) dn[[3]] else dn[[1]]
  states <- task_array_labels(states, from_dimnames, d[1], "states", 1L)
  actions <- task_array_labels(actions, dn[[2]], d[2], "actions", 2L)
  probs <- as.vector(transitions) + 0
  nz <- which(is.na(probs) | probs != 0)
  idx <- arrayInd(nz, d)
  list(states = states, actions = actions, state = idx[, 1],
       action = idx[, 2], next_state = idx[, 3], prob = probs[nz],
       where = function(i) paste0("transitions[", task_quote(states[idx[i, 1]]),
                                  ", ", task_quote(actions[idx[i, 2]]), ", ",
                                  task_quote(states[idx[i, 3]]), "]"))
}

#' Labels of one array dimension: `given`, else dimnames, else 1..n
#' @noRd
task_array_labels <- function(given, from_dimnames, n, arg, dimension) {
  if (!is.null(given)) {
    if (length(given) != n) {
      rlpsy_abort("`", arg, "` has ", length(given), " labels but dimension ",
                  dimension, " of `transitions` has ", n, ".")
    }
    return(as.character(given))
  }
  if (!is.null(from_dimnames)) {
    task_check_labels(from_dimnames,
                      paste0("dimnames(transitions)[[", dimension, "]]"))
    return(as.character(from_dimnames))
  }
  as.character(seq_len(n))
}

#' Quote a label for messages
#' @noRd
task_quote <- function(x) encodeString(as.character(x), quote = "\"")

#' Transition entries from a sparse data frame
#' @noRd
task_entries_df <- function(transitions, states, actions) {
  needed <- c("state", "action", "next_state", "prob")
  missing <- setdiff(needed, names(transitions))
  if (length(missing)) {
    rlpsy_abort("`transitions` is a data frame but lacks column",
                if (length(missing) > 1L) "s", " ", show_values(missing),
                "; it needs state, action, next_state and prob.")
  }
  if (!is.numeric(transitions$prob) && !is.logical(transitions$prob)) {
    rlpsy_abort("Column `prob` of `transitions` must be numeric.")
  }
  if (nrow(transitions) == 0L) {
    rlpsy_abort("`transitions` is a data frame with no rows.")
  }
  if (is.null(states)) {
    states <- task_infer_labels(list(transitions$state, transitions$next_state))
  }
  if (is.null(actions)) actions <- task_infer_labels(list(transitions$action))
  SK <- as.double(length(states)) * length(actions)
  check_memory(64 * SK + 64 * nrow(transitions),
               paste0("A task with ", length(states), " states and ",
                      length(actions), " actions"),
               "Check the state and action columns of `transitions`.")
  state <- task_encode_column(transitions$state, states, "state", "states")
  nxt <- task_encode_column(transitions$next_state, states, "next_state", "states")
  action <- task_encode_column(transitions$action, actions, "action", "actions")
  key <- state + length(states) * ((action - 1) + length(actions) * (nxt - 1))
  dup <- which(duplicated(key))
  if (length(dup)) {
    rlpsy_abort("`transitions` lists the same (state, action, next_state) ",
                "more than once: ", show_rows(dup), ".")
  }
  list(states = as.character(states), actions = as.character(actions),
       state = state, action = action, next_state = nxt,
       prob = as.numeric(transitions$prob),
       where = function(i) show_rows(i))
}

#' Labels of one or more columns: factor levels, sorted numbers, or order of
#' first appearance
#' @noRd
task_infer_labels <- function(cols) {
  if (all(vapply(cols, is.factor, logical(1)))) {
    return(unique(unlist(lapply(cols, levels), use.names = FALSE)))
  }
  values <- unlist(lapply(cols, function(x) {
    if (is.factor(x)) as.character(x) else x
  }), use.names = FALSE)
  values <- values[!is.na(values)]
  if (is.numeric(values)) sort(unique(values)) else unique(as.character(values))
}

#' Encode a column to 1-based codes of `labels`, erroring on NA or unknown
#' values
#' @noRd
task_encode_column <- function(x, labels, column, label_arg) {
  code <- match(as.character(x), as.character(labels))
  bad <- which(is.na(code))
  if (length(bad)) {
    rlpsy_abort("Column `", column, "` of `transitions` has values that are ",
                "missing or not in `", label_arg, "`: ",
                show_values(unique(as.character(x[bad]))), " (", show_rows(bad),
                ").")
  }
  code
}

#' Terminal flags from NULL, a logical vector or state labels
#' @noRd
task_terminal <- function(terminal, states) {
  S <- length(states)
  if (is.null(terminal)) return(stats::setNames(rep(FALSE, S), states))
  if (is.logical(terminal)) {
    if (length(terminal) != S || anyNA(terminal)) {
      rlpsy_abort("`terminal` must be a logical vector of length ", S,
                  " (one per state) without NA, or a vector of state labels; ",
                  "got a logical vector of length ", length(terminal),
                  if (anyNA(terminal)) " with NA", ".")
    }
    return(stats::setNames(terminal, states))
  }
  if (!is.atomic(terminal)) {
    rlpsy_abort("`terminal` must be a logical vector or state labels.")
  }
  unknown <- setdiff(as.character(terminal), states)
  if (length(unknown)) {
    rlpsy_abort("`terminal` names states that are not in the task: ",
                show_values(unknown), ".")
  }
  stats::setNames(states %in% as.character(terminal), states)
}

#' Align an S x K matrix argument with the task's labels
#'
#' A matrix with dimnames is reordered to the labels (it must have the same
#' labels); one without dimnames must have the right dimensions.
#' @noRd
task_align_matrix <- function(x, labels, arg) {
  S <- length(labels[[1]])
  K <- length(labels[[2]])
  if (!is.matrix(x) || nrow(x) != S || ncol(x) != K) {
    rlpsy_abort("`", arg, "` must be a ", S, " x ", K, " matrix (states x ",
                "actions); got ", task_describe(x), ".")
  }
  dn <- dimnames(x)
  for (i in 1:2) {
    if (is.null(dn[[i]])) next
    idx <- match(labels[[i]], dn[[i]])
    if (anyNA(idx) || anyDuplicated(dn[[i]])) {
      what <- c("row", "column")[i]
      rlpsy_abort("The ", what, " names of `", arg, "` do not match the ",
                  c("states", "actions")[i], " of the task; not found: ",
                  show_values(setdiff(labels[[i]], dn[[i]])), ".")
    }
    x <- if (i == 1L) x[idx, , drop = FALSE] else x[, idx, drop = FALSE]
  }
  dimnames(x) <- labels
  x
}

#' Available-action matrix: default all TRUE; every non-terminal state needs
#' at least one available action
#' @noRd
task_available <- function(available, labels, terminal) {
  S <- length(labels[[1]])
  K <- length(labels[[2]])
  if (is.null(available)) {
    return(matrix(TRUE, S, K, dimnames = labels))
  }
  if (!is.logical(available)) {
    rlpsy_abort("`available` must be a logical matrix; got ",
                task_describe(available), ".")
  }
  available <- task_align_matrix(available, labels, "available")
  if (anyNA(available)) {
    rlpsy_abort("`available` must not contain NA (states ",
                show_values(labels[[1]][unique(which(is.na(available),
                                                     arr.ind = TRUE)[, 1])]),
                ").")
  }
  none <- which(rowSums(available) == 0 & !terminal)
  if (length(none)) {
    rlpsy_abort("`available` leaves non-terminal state", if (length(none) > 1) "s",
                " ", show_values(labels[[1]][none]), " without any available ",
                "action.")
  }
  storage.mode(available) <- "logical"
  available[terminal, ] <- TRUE  # no decisions there; keeps rlpsy_fit() happy
  available
}

#' Validate probabilities and build the CSR over state-action pairs
#'
#' Keeps the entries of `used` pairs (available actions of non-terminal
#' states) with positive probability; their rows must sum to 1.
#' @noRd
task_csr <- function(entries, used) {
  S <- length(entries$states)
  K <- length(entries$actions)
  pair <- entries$state + S * (entries$action - 1L)
  keep <- which(used[pair])
  p <- entries$prob[keep]
  bad <- keep[is.na(p) | p < 0 | p > 1]
  if (length(bad)) {
    rlpsy_abort("Probabilities in `transitions` must be in [0, 1] and not ",
                "NA; offending: ", show_plain(entries$where(bad), 3L),
                " (values ", show_values(entries$prob[bad], 3L), ").")
  }
  sums <- rep(0, S * K)
  sums[sort(unique(pair[keep]))] <- as.vector(rowsum(p, pair[keep]))
  off <- which(used & abs(sums - 1) > 1e-8)
  if (length(off)) {
    lab <- paste0("(", task_quote(entries$states[(off - 1L) %% S + 1L]), ", ",
                  task_quote(entries$actions[(off - 1L) %/% S + 1L]), ")")
    rlpsy_abort("Transition probabilities must sum to 1 for every available ",
                "action of every non-terminal state; (state, action) pairs ",
                "that do not: ", show_plain(lab), " (sums ",
                show_values(sums[off], 5L), ").",
                if (any(sums[off] == 0)) paste0(
                  " A pair without any transition must belong to a terminal ",
                  "state (see `terminal`) or be unavailable (see `available`)."))
  }
  keep <- keep[p > 0]
  ord <- keep[order(pair[keep], entries$next_state[keep])]
  counts <- tabulate(pair[ord], nbins = S * K)
  list(offsets = c(0L, cumsum(counts)),
       next_state = as.integer(entries$next_state[ord] - 1L),
       prob = entries$prob[ord])
}

#' Expected reward matrix: scalar or S x K; finite where used, 0 elsewhere
#' @noRd
task_reward <- function(reward, labels, used) {
  S <- length(labels[[1]])
  K <- length(labels[[2]])
  if (!is.numeric(reward)) {
    rlpsy_abort("`reward` must be a number or a numeric ", S, " x ", K,
                " matrix; got ", task_describe(reward), ".")
  }
  if (is.matrix(reward)) {
    reward <- task_align_matrix(reward, labels, "reward")
  } else if (length(reward) == 1L) {
    reward <- matrix(reward, S, K, dimnames = labels)
  } else {
    rlpsy_abort("`reward` must be a single number or a ", S, " x ", K,
                " matrix (states x actions); got ", task_describe(reward), ".")
  }
  storage.mode(reward) <- "double"
  bad <- which(used & !is.finite(reward), arr.ind = TRUE)
  if (nrow(bad)) {
    lab <- paste0("(", task_quote(labels[[1]][bad[, 1]]), ", ",
                  task_quote(labels[[2]][bad[, 2]]), ")")
    rlpsy_abort("`reward` must be finite for every available action of every ",
                "non-terminal state; not finite at ", show_plain(lab), ".")
  }
  reward[!used] <- 0
  reward
}

#' Start distribution: default uniform over non-terminal states
#' @noRd
task_start <- function(start, states, terminal) {
  S <- length(states)
  if (is.null(start)) {
    if (all(terminal)) {
      rlpsy_abort("Every state is terminal, so the task has no decisions; ",
                  "`terminal` must leave at least one state non-terminal.")
    }
    return(stats::setNames(as.numeric(!terminal) / sum(!terminal), states))
  }
  if (is.character(start) || is.factor(start)) {
    unknown <- setdiff(as.character(start), states)
    if (length(unknown)) {
      rlpsy_abort("`start` names states that are not in the task: ",
                  show_values(unknown), ".")
    }
    in_start <- states %in% as.character(start)
    start <- stats::setNames(in_start / sum(in_start), states)
  } else {
    start <- task_start_numeric(start, states)
  }
  task_check_start(start, terminal)
  start
}

#' Numeric start vector: length S or named (matched to states)
#' @noRd
task_start_numeric <- function(start, states) {
  S <- length(states)
  if (!is.numeric(start)) {
    rlpsy_abort("`start` must be a numeric vector of probabilities or state ",
                "labels; got ", task_describe(start), ".")
  }
  if (!is.null(names(start))) {
    unknown <- setdiff(names(start), states)
    if (length(unknown)) {
      rlpsy_abort("`start` has names that are not states of the task: ",
                  show_values(unknown), ".")
    }
    out <- stats::setNames(numeric(S), states)
    out[names(start)] <- start
    return(out)
  }
  if (length(start) != S) {
    rlpsy_abort("`start` must have one probability per state (", S,
                "); got ", length(start), ".")
  }
  stats::setNames(as.numeric(start), states)
}

#' Check start probabilities: valid, sum to 1, none on terminal states
#' @noRd
task_check_start <- function(start, terminal) {
  bad <- which(is.na(start) | start < 0)
  if (length(bad)) {
    rlpsy_abort("`start` probabilities must be non-negative and not NA; ",
                "offending states: ", show_values(names(start)[bad]),
                " (values ", show_values(unname(start[bad])), ").")
  }
  if (abs(sum(start) - 1) > 1e-8) {
    rlpsy_abort("`start` probabilities must sum to 1; they sum to ",
                format(sum(start), digits = 10), ".")
  }
  on_terminal <- which(terminal & start > 0)
  if (length(on_terminal)) {
    rlpsy_abort("`start` puts probability on terminal state",
                if (length(on_terminal) > 1) "s", " ",
                show_values(names(start)[on_terminal]),
                "; episodes must start in non-terminal states.")
  }
}

#' @export
print.rlpsy_task <- function(x, ...) {
  check_dots_empty_rlpsy("print()", ...)
  n_term <- sum(x$terminal)
  cat("<rlpsy_task> ", x$n_states, " states (", n_term, " terminal) x ",
      x$n_actions, " actions\n", sep = "")
  if (!is.null(x$layout)) {
    cat("Gridworld: ", x$layout$nrow, " x ", x$layout$ncol, ", ",
        nrow(x$layout$walls), " wall cell", if (nrow(x$layout$walls) != 1) "s",
        ", slip ", format(x$layout$slip), "\n", sep = "")
  }
  cat("States:   ", show_values(x$states, 8L), "\n", sep = "")
  cat("Actions:  ", show_values(x$actions, 8L), "\n", sep = "")
  if (n_term) {
    cat("Terminal: ", show_values(x$states[x$terminal], 8L), "\n", sep = "")
  }
  s0 <- x$start[x$start > 0]
  cat("Start:    ", if (length(s0) == 1L) show_values(names(s0)) else
    paste0(length(s0), " states (", show_values(names(s0), 3L), ")"), "\n",
    sep = "")
  rng <- range(x$reward[x$available & !x$terminal])
  cat("Reward:   r(s, a) in [", format(rng[1], digits = 4), ", ",
      format(rng[2], digits = 4), "]\n", sep = "")
  cat("Sparse:   ", sum(x$available[!x$terminal, , drop = FALSE]),
      " available state-action pairs, ", length(x$transitions$prob),
      " non-zero transitions\n", sep = "")
  invisible(x)
}

#' @rdname rlpsy_task
#' @param x an `rlpsy_task`.
#' @param row.names,optional,... ignored (for compatibility with the generic).
#' @export
as.data.frame.rlpsy_task <- function(x, row.names = NULL, optional = FALSE, ...) {
  check_dots_empty_rlpsy("as.data.frame()", ..., allow = "stringsAsFactors")
  tr <- x$transitions
  pair <- rep.int(seq_len(x$n_states * x$n_actions), diff(tr$offsets))
  data.frame(state = x$states[(pair - 1L) %% x$n_states + 1L],
             action = x$actions[(pair - 1L) %/% x$n_states + 1L],
             next_state = x$states[tr$next_state + 1L],
             prob = tr$prob, stringsAsFactors = FALSE)
}

#' Check that an argument is an rlpsy_task
#' @noRd
task_check <- function(task, arg = "task") {
  if (!inherits(task, "rlpsy_task")) {
    rlpsy_abort("`", arg, "` must be an rlpsy_task (see rlpsy_task() or ",
                "rlpsy_gridworld()); got ", task_describe(task), ".")
  }
}

#' A gridworld task
#'
#' Builds the classic gridworld as an [rlpsy_task()]: an agent moves between
#' the cells of an `nrow` x `ncol` grid with the actions `"up"`, `"down"`,
#' `"left"` and `"right"`. With probability `1 - slip` it moves in the chosen
#' direction; with probability `slip` it moves in one of the three other
#' directions, chosen uniformly. A move into a wall or off the grid leaves
#' the agent where it is. Goal and trap cells are terminal: entering one ends
#' the episode, and the next starts again from `start`.
#'
#' Row 1 is the top row, so `"up"` decreases the row number and `"right"`
#' increases the column number. States are the non-wall cells, labelled
#' `"r<row>c<col>"` and ordered row by row. The reward of a move is
#' `goal_reward` when it enters a goal cell, `trap_reward` when it enters a
#' trap cell and `-step_cost` otherwise; the task stores its expectation
#' \eqn{r(s, a)} over the slip, so all rewards lie in \eqn{[-1, 1]}.
#'
#' @section Soft values and terminal states:
#' The soft value \eqn{V(s) = \tau \log \sum_a \exp(Q(s, a) / \tau)}
#' contains an entropy bonus of up to \eqn{\tau \log K} per step (about 1.39
#' for \eqn{\tau = 1} and four actions), larger than any reward in
#' \eqn{[-1, 1]}. With \eqn{\tau = 1}, the soft Q-values of a gridworld
#' therefore favour staying in the grid over entering the goal, and simulated
#' participants avoid terminal cells. For goal-directed behaviour use a small
#' temperature such as `tau = 0.05` in [rlpsy_soft_q()] and
#' [rlpsy_simulate()] (and the same `tau` when fitting).
#'
#' @param nrow,ncol size of the grid.
#' @param walls,goal,trap,start cells, each given as one `c(row, col)` pair, a
#'   two-column matrix (or data frame) of rows and columns, or a list of
#'   pairs. `walls` are not states; `goal` and `trap` cells are terminal
#'   (`goal` may be `NULL`, then episodes only end in traps, if any); episodes
#'   start uniformly in the `start` cells.
#' @param step_cost cost of a move that enters neither a goal nor a trap, in
#'   \eqn{[0, 1]} (the reward is `-step_cost`).
#' @param goal_reward,trap_reward rewards for entering a goal or a trap cell,
#'   in \eqn{[-1, 1]}.
#' @param slip probability in \eqn{[0, 1]} that a move goes in one of the
#'   other three directions.
#'
#' @return An [rlpsy_task()] whose `layout` element holds the grid geometry:
#'   `nrow`, `ncol`, `row` and `col` (the cell of each state), `walls`,
#'   `goal`, `trap` and `start` (two-column matrices of cells) and `slip`.
#'
#' @section Errors and warnings:
#' Errors of class `rlpsy_error_input` for a grid size that is not a positive
#' whole number (`NA`, `Inf`, a string, ...), cells outside the grid or not
#' given as (row, col) pairs, overlapping walls, goals, traps and start cells,
#' and rewards, step cost or slip outside their ranges. An error of class
#' `rlpsy_error_memory`, before anything is allocated, when the grid is too
#' large for the memory available (about 2 kB per cell). There are no
#' warnings.
#'
#' @seealso [rlpsy_soft_q()] for its soft values, [rlpsy_simulate()] to
#'   simulate participants in it.
#' @examples
#' grid <- rlpsy_gridworld(4, 4, walls = rbind(c(2, 2), c(3, 2)),
#'                         goal = c(4, 4), trap = c(3, 4))
#' grid
#' head(as.data.frame(grid))
#' @export
rlpsy_gridworld <- function(nrow = 5, ncol = 5, walls = NULL,
                            goal = c(nrow, ncol), trap = NULL,
                            step_cost = 0.04, goal_reward = 1,
                            trap_reward = -1, slip = 0.1, start = c(1, 1)) {
  nrow <- grid_check_size(nrow, "nrow")
  ncol <- grid_check_size(ncol, "ncol")
  cells <- as.double(nrow) * ncol
  check_memory(2000 * cells, paste0("A ", nrow, " x ", ncol, " gridworld (",
                                    format(cells, big.mark = ",", trim = TRUE),
                                    " cells)"), "Use a smaller grid.")
  grid_check_number(step_cost, "step_cost", 0, 1)
  grid_check_number(goal_reward, "goal_reward", -1, 1)
  grid_check_number(trap_reward, "trap_reward", -1, 1)
  grid_check_number(slip, "slip", 0, 1)
  cells <- list(walls = grid_cells(walls, "walls", nrow, ncol),
                goal = grid_cells(goal, "goal", nrow, ncol),
                trap = grid_cells(trap, "trap", nrow, ncol),
                start = grid_cells(start, "start", nrow, ncol))
  if (nrow(cells$start) == 0L) rlpsy_abort("`start` must give at least one cell.")
  grid_check_overlap(cells, ncol)
  id <- lapply(cells, function(m) (m[, 1] - 1L) * ncol + m[, 2])
  open <- setdiff(seq_len(nrow * ncol), id$walls)
  row <- (open - 1L) %/% ncol + 1L
  col <- (open - 1L) %% ncol + 1L
  states <- paste0("r", row, "c", col)
  terminal <- open %in% c(id$goal, id$trap)
  cell_reward <- ifelse(open %in% id$goal, goal_reward,
                        ifelse(open %in% id$trap, trap_reward, -step_cost))
  moves <- grid_moves(row, col, open, terminal, nrow, ncol, slip)
  reward <- matrix(0, length(open), 4L)
  pair <- moves$state + length(open) * (moves$action - 1L)
  reward[sort(unique(pair))] <- rowsum(moves$prob * cell_reward[moves$next_state],
                                       pair)[, 1]
  actions <- c("up", "down", "left", "right")
  tr <- data.frame(state = states[moves$state], action = actions[moves$action],
                   next_state = states[moves$next_state], prob = moves$prob,
                   stringsAsFactors = FALSE)
  task <- rlpsy_task(tr, reward = reward, terminal = terminal,
                     start = states[match(id$start, open)], states = states,
                     actions = actions)
  task$layout <- list(nrow = nrow, ncol = ncol, row = row, col = col,
                      walls = cells$walls, goal = cells$goal, trap = cells$trap,
                      start = cells$start, slip = slip)
  task
}

#' Sparse gridworld transitions from the non-terminal states
#'
#' @return data frame of 1-based state, action and next_state indices (into
#'   the open cells) and positive probabilities, one row per distinct
#'   (state, action, next_state).
#' @noRd
grid_moves <- function(row, col, open, terminal, nrow, ncol, slip) {
  dr <- c(-1L, 1L, 0L, 0L)  # up, down, left, right
  dc <- c(0L, 0L, -1L, 1L)
  g <- expand.grid(s = which(!terminal), a = 1:4, d = 1:4)
  prob <- ifelse(g$a == g$d, 1 - slip, slip / 3)
  r2 <- row[g$s] + dr[g$d]
  c2 <- col[g$s] + dc[g$d]
  inside <- r2 >= 1L & r2 <= nrow & c2 >= 1L & c2 <= ncol
  target <- match((r2 - 1L) * ncol + c2, open)
  target[!inside | is.na(target)] <- g$s[!inside | is.na(target)]
  S <- as.double(length(open))  # double: 16 S^2 overflows integers from S = 11586
  key <- g$s + S * ((g$a - 1L) + 4L * (target - 1L))
  summed <- rowsum(prob, key)
  key <- as.numeric(rownames(summed)) - 1
  out <- data.frame(state = as.integer(key %% S) + 1L,
                    action = as.integer((key %/% S) %% 4) + 1L,
                    next_state = as.integer(key %/% (4 * S)) + 1L,
                    prob = summed[, 1])
  out[out$prob > 0, , drop = FALSE]
}

#' Grid size: a positive whole number
#' @noRd
grid_check_size <- function(x, arg) {
  if (!is.numeric(x) || length(x) != 1L || is.na(x) || !is.finite(x) || x < 1 ||
      x != round(x) || x > .Machine$integer.max) {
    rlpsy_abort("`", arg, "` must be a positive whole number; got ",
                describe_value(x), ".")
  }
  as.integer(x)
}

#' A single number within [lower, upper]
#' @noRd
grid_check_number <- function(x, arg, lower, upper) {
  if (!is.numeric(x) || length(x) != 1L || is.na(x) || x < lower || x > upper) {
    rlpsy_abort("`", arg, "` must be a single number in [", lower, ", ",
                upper, "]; got ", if (length(x) == 0L) "nothing" else
                  describe_value(x), ".")
  }
}

#' Cells as a two-column integer matrix (row, col), checked to lie in the grid
#' @noRd
grid_cells <- function(x, arg, nrow, ncol) {
  if (is.null(x)) return(matrix(integer(0), 0L, 2L))
  if (is.list(x) && !is.data.frame(x)) {
    ok <- vapply(x, function(p) is.numeric(p) && length(p) == 2L, logical(1))
    if (!all(ok)) {
      rlpsy_abort("`", arg, "` is a list, so each element must be a ",
                  "c(row, col) pair; element", if (sum(!ok) > 1) "s", " ",
                  show_values(which(!ok)), if (sum(!ok) > 1) " are" else " is",
                  " not.")
    }
    x <- do.call(rbind, x)
  }
  if (is.data.frame(x)) x <- as.matrix(x)
  if (is.numeric(x) && is.null(dim(x)) && length(x) == 2L) x <- matrix(x, 1L)
  if (!is.numeric(x) || !is.matrix(x) || ncol(x) != 2L) {
    rlpsy_abort("`", arg, "` must be a c(row, col) pair or a two-column ",
                "matrix of cells; got ", task_describe(x), ".")
  }
  bad <- which(is.na(x[, 1]) | is.na(x[, 2]) | x[, 1] != round(x[, 1]) |
                 x[, 2] != round(x[, 2]) | x[, 1] < 1 | x[, 1] > nrow |
                 x[, 2] < 1 | x[, 2] > ncol)
  if (length(bad)) {
    rlpsy_abort("`", arg, "` has cells outside the ", nrow, " x ", ncol,
                " grid: ", show_plain(grid_cell_text(x[bad, , drop = FALSE])),
                ".")
  }
  storage.mode(x) <- "integer"
  dimnames(x) <- list(NULL, c("row", "col"))
  unique(x)
}

#' "(row, col)" strings for messages
#' @noRd
grid_cell_text <- function(m) paste0("(", m[, 1], ", ", m[, 2], ")")

#' Walls, goals, traps and start cells must not overlap
#' @noRd
grid_check_overlap <- function(cells, ncol) {
  id <- lapply(cells, function(m) (m[, 1] - 1L) * ncol + m[, 2])
  pairs <- list(c("goal", "walls"), c("trap", "walls"), c("goal", "trap"),
                c("start", "walls"), c("start", "goal"), c("start", "trap"))
  for (p in pairs) {
    both <- which(id[[p[1]]] %in% id[[p[2]]])
    if (length(both)) {
      rlpsy_abort("`", p[1], "` and `", p[2], "` share cell",
                  if (length(both) > 1) "s", " ",
                  show_plain(grid_cell_text(cells[[p[1]]][both, , drop = FALSE])),
                  "; a cell can be only one of wall, goal, trap or start.")
    }
  }
}
