# Soft value iteration and simulation of softmax participants in an
# rlpsy_task (kernels in inst/include/rlpsy/simulate.h).

#' Soft Q-values of a task by soft value iteration
#'
#' Iterates the soft Bellman backup to its fixed point:
#' \deqn{Q(s, a) = r(s, a) + \gamma \sum_{s'} P(s' \mid s, a)\,
#'   (1 - d(s'))\, V(s'),}
#' \deqn{V(s) = \tau \log \sum_{a\ \mathrm{available}} \exp(Q(s, a) / \tau),}
#' where \eqn{d(s')} flags terminal states (their value is 0: entering one
#' ends the episode). The log-sum-exp is computed stably. The backup is a
#' contraction with modulus \eqn{\gamma}, so the iteration converges from
#' any start for \eqn{0 \le \gamma < 1}; it stops when no entry of Q changes
#' by `tol` or more, so the returned Q satisfies the soft Bellman equation to
#' within \eqn{\gamma \cdot} `tol`. The number of backups needed grows like
#' \eqn{\log(\mathrm{tol}) / \log(\gamma)}.
#'
#' The soft value includes an entropy bonus of up to \eqn{\tau \log K_s}
#' per step. When it outweighs the rewards (e.g. \eqn{\tau = 1} with rewards
#' in \eqn{[-1, 1]}), the soft Q-values favour never ending an episode; see
#' the section on soft values in [rlpsy_gridworld()].
#'
#' @param task an [rlpsy_task()].
#' @param gamma discount factor, \eqn{0 \le \gamma < 1}.
#' @param tau soft-max temperature of the backup, \eqn{\tau > 0} (1 by
#'   default, the value [rlpsy_fit()] assumes unless told otherwise).
#' @param tol convergence tolerance on the largest change of Q between two
#'   backups.
#' @param max_iter maximum number of backups.
#'
#' @return A numeric \eqn{S \times K} matrix of soft Q-values with dimnames
#'   (states x actions). Entries of unavailable actions in non-terminal
#'   states are `NA`; rows of terminal states are 0 (they have no decisions).
#'
#' @section Errors and warnings:
#' `rlpsy_error_input` if `task` is not an `rlpsy_task`, `gamma` is not in
#' \eqn{[0, 1)}, `tau` is not positive and finite, or `tol` / `max_iter` are
#' not positive. `rlpsy_error_numerical` if the iteration has not converged
#' after `max_iter` backups (raise `max_iter`, or `tol` when `gamma` is near
#' one) or produced non-finite values (for example with rewards near the
#' largest double, or `tau` so small that `Q / tau` overflows). There are no
#' warnings.
#'
#' `gamma = 1` is not allowed, even in tasks where every episode ends: the
#' backup is then no longer a contraction, and with the entropy bonus of the
#' soft value (up to \eqn{\tau \log K} per step) an undiscounted soft value
#' is finite only if every policy reaches a terminal state surely; use a
#' `gamma` such as 0.999 instead (the number of backups grows like
#' \eqn{1 / (1 - \gamma)}, so raise `max_iter` too).
#'
#' @seealso [rlpsy_simulate()], which acts on the identified advantage of
#'   this Q.
#' @examples
#' grid <- rlpsy_gridworld(3, 3, goal = c(3, 3), trap = c(2, 3))
#' round(rlpsy_soft_q(grid, gamma = 0.9), 3)  # tau = 1: terminal cells avoided
#' round(rlpsy_soft_q(grid, gamma = 0.9, tau = 0.05), 3)  # goal-directed
#' @export
rlpsy_soft_q <- function(task, gamma, tau = 1, tol = 1e-10, max_iter = 10000) {
  task_check(task)
  if (missing(gamma)) {
    rlpsy_abort("`gamma` (the discount factor, in [0, 1)) must be given.")
  }
  sim_check_number(gamma, "gamma", "a single number in [0, 1)",
                   gamma >= 0 && gamma < 1)
  sim_check_number(tau, "tau", "a single positive, finite number",
                   tau > 0 && is.finite(tau))
  sim_check_number(tol, "tol", "a single positive number", tol > 0)
  sim_check_number(max_iter, "max_iter", "a single positive whole number",
                   max_iter >= 1 && max_iter == round(max_iter) &&
                     max_iter <= .Machine$integer.max)
  S <- task$n_states
  K <- task$n_actions
  tr <- task$transitions
  res <- task_soft_q_cpp(S, K, tr$offsets, tr$next_state, tr$prob,
                         task$available, task$terminal, task$reward,
                         numeric(S * K), gamma, tau, tol, as.integer(max_iter))
  if (!res$converged || any(!is.finite(res$Q))) {
    rlpsy_abort("Soft value iteration did not converge: after ", res$iterations,
                " backups the largest change in Q was ",
                format(res$max_change, digits = 3), " (tol = ", format(tol),
                "). Increase `max_iter` or `tol`, or lower `gamma`.",
                class = "numerical")
  }
  Q <- matrix(res$Q, S, K, dimnames = list(task$states, task$actions))
  Q[!task$available] <- NA_real_
  Q[task$terminal, ] <- 0
  Q
}

#' Simulate participants acting in a task
#'
#' Each participant \eqn{j} acts with the softmax policy of the model,
#' \eqn{\pi(a \mid s, \beta_j) = \mathrm{softmax}_a(\beta_j A(s, a))} over
#' the available actions of \eqn{s}, where \eqn{A} is the identified advantage
#' (per state: Q centred over the available actions and scaled to unit
#' root-mean-square) of the task's soft Q-values ([rlpsy_soft_q()]) or of a
#' given `Q`. Every participant makes exactly `n_decisions` decisions (one
#' number for everyone, or one per participant): an
#' episode starts in a state drawn from the task's start distribution, each
#' decision moves the participant by the transition probabilities, and after
#' entering a terminal state the next episode starts afresh. The last episode
#' is usually cut off by the end of the decisions.
#'
#' Random numbers come from R's generator, so `set.seed()` makes the result
#' reproducible. The loop runs in C++; 10,000 participants with 200 decisions
#' each take well under a second.
#'
#' @param task an [rlpsy_task()].
#' @param beta positive inverse temperatures, one per participant. Its names,
#'   if any, are the participant ids; otherwise ids `"p0001"`, `"p0002"`, ...
#'   are generated.
#' @param n_decisions number of decisions per participant: a positive whole
#'   number for everyone, or one per participant (in the order of `beta`).
#' @param gamma,tau discount factor and temperature for [rlpsy_soft_q()];
#'   ignored when `Q` is given.
#' @param Q optional numeric \eqn{S \times K} matrix of Q-values to act on
#'   instead of the task's soft Q (matched by dimnames when it has them);
#'   entries of unavailable actions and terminal states are ignored and may
#'   be `NA`.
#' @param eps the small constant of the advantage normalisation
#'   (\eqn{A = c / \sqrt{\mathrm{mean}(c^2) + \varepsilon}}).
#' @param normalise `"state"` (default) scales the centred Q to unit
#'   root-mean-square in each state; `"global"` uses one root-mean-square
#'   over all non-terminal states (as [rlpsy_fit()] with
#'   `normalise = "global"` does over the states with decisions).
#'
#' @return A data frame with one row per decision, participant by
#'   participant in time order, with columns
#'   * `participant` (character): the participant id;
#'   * `state`, `action`, `next_state` (character): the task's labels;
#'   * `done` (logical): whether `next_state` is terminal (ends the episode);
#'   * `reward` (numeric): the expected reward \eqn{r(s, a)} of the decision.
#'
#'   It has the layout [rlpsy_fit()] takes, with `participant = "participant"`,
#'   `state = "state"`, `action = "action"`, `next_state = "next_state"`,
#'   `done = "done"` and `reward = "reward"`. Attributes: `"beta"` (the true
#'   inverse temperatures, named by participant id), `"Q"` (the Q-values used)
#'   and `"advantage"` (the identified advantage the policy used; 0 for
#'   unavailable actions and terminal states).
#'
#' @section Errors and warnings:
#' `rlpsy_error_input` if `task` is not an `rlpsy_task`, `beta` is empty, not
#' positive and finite, or has missing or duplicated names, `n_decisions` is
#' not a positive whole number or a vector of them of length `length(beta)`, `Q` has the wrong shape or non-finite entries
#' for available actions of non-terminal states, or `eps` is not positive.
#' `rlpsy_error_memory`, before anything is allocated, when the result (about
#' 100 bytes per decision) would not fit in the memory available.
#' Errors of [rlpsy_soft_q()] are passed on. There are no warnings.
#'
#' @seealso [rlpsy_gridworld()], [rlpsy_task()], [rlpsy_fit()] to estimate
#'   the betas back.
#' @examples
#' grid <- rlpsy_gridworld(4, 4, walls = c(2, 2), goal = c(4, 4),
#'                         trap = c(3, 4))
#' set.seed(1)
#' beta <- exp(rnorm(20, log(2), 0.5))
#' # a small tau makes the soft values goal-directed (see ?rlpsy_gridworld)
#' sim <- rlpsy_simulate(grid, beta, n_decisions = 50, gamma = 0.9, tau = 0.05)
#' head(sim)
#' table(sim$done)
#' head(attr(sim, "beta"))
#' # sequences of different lengths
#' sim2 <- rlpsy_simulate(grid, c(a = 1, b = 3), n_decisions = c(10, 40),
#'                        gamma = 0.9, tau = 0.05)
#' table(sim2$participant)
#' @export
rlpsy_simulate <- function(task, beta, n_decisions, gamma = 0.9, tau = 1,
                           Q = NULL, eps = 1e-8, normalise = c("state", "global")) {
  task_check(task)
  beta <- sim_check_beta(beta)
  n_decisions <- sim_check_lengths(n_decisions, length(beta))
  sim_check_number(eps, "eps", "a single positive, finite number",
                   eps > 0 && is.finite(eps))
  rows <- sum(as.double(n_decisions))
  if (rows > .Machine$integer.max) {
    rlpsy_abort("`length(beta) * n_decisions` (", format(rows), " rows) exceeds ",
                "the largest supported data size.")
  }
  check_memory(96 * rows + 64 * as.double(task$n_states) * task$n_actions,
               paste0("Simulating ", format(rows, big.mark = ",", scientific = FALSE,
                                            trim = TRUE), " decisions"),
               "Simulate fewer participants or decisions at a time.")
  Q <- if (is.null(Q)) rlpsy_soft_q(task, gamma, tau) else sim_check_q(Q, task)
  normalise <- check_choice(normalise, c("state", "global"), "normalise")
  A <- identified_advantage(Q, task$available, eps,
                            global = if (normalise == "global") !task$terminal)
  A[task$terminal, ] <- 0
  A[!task$available] <- 0
  data <- simulate_runs(task, A, beta, n_decisions)
  attr(data, "beta") <- beta
  attr(data, "Q") <- Q
  attr(data, "advantage") <- A
  data
}

#' A single number satisfying a condition
#'
#' @param ok the condition, evaluated only once `x` is known to be a single
#'   non-missing number.
#' @noRd
sim_check_number <- function(x, arg, what, ok) {
  if (!is.numeric(x) || length(x) != 1L || is.na(x) || !isTRUE(ok)) {
    rlpsy_abort("`", arg, "` must be ", what, "; got ",
                if (length(x) == 0L) "nothing" else if (!is.atomic(x))
                  paste0("a ", class(x)[1]) else show_values(x), ".")
  }
}

#' `n_decisions` of rlpsy_simulate(): one positive whole number, or one per
#' participant; returns one per participant (integer)
#' @noRd
sim_check_lengths <- function(n_decisions, J) {
  ok <- is.numeric(n_decisions) && length(n_decisions) %in% c(1L, J) &&
    !anyNA(n_decisions) && all(n_decisions >= 1) &&
    all(n_decisions == round(n_decisions)) &&
    all(n_decisions <= .Machine$integer.max)
  if (!ok) {
    rlpsy_abort("`n_decisions` must be a ", if (J == 1L) "single positive whole number"
                else paste0("positive whole number (for everyone) or one per ",
                            "participant (", J, " here)"), "; got ",
                if (length(n_decisions) == 0L) "nothing" else if (!is.atomic(n_decisions))
                  paste0("a ", class(n_decisions)[1]) else show_values(n_decisions),
                if (length(n_decisions) > 1L) paste0(" (length ", length(n_decisions), ")"),
                ".")
  }
  rep_len(as.integer(n_decisions), J)
}

#' Run the C++ simulator (inst/include/rlpsy/simulate.h) for participants with
#' inverse temperatures `beta` and `n` decisions each (one per participant):
#' one call per distinct length, rows returned participant by participant in
#' the order of `beta`. A is the S x K advantage the policy uses.
#' @return the data frame of rlpsy_simulate() (without attributes)
#' @noRd
simulate_runs <- function(task, A, beta, n) {
  tr <- task$transitions
  groups <- split(seq_along(beta), factor(n, levels = unique(n)))
  parts <- lapply(groups, function(j) {
    out <- task_simulate_cpp(task$n_states, task$n_actions, tr$offsets,
                             tr$next_state, tr$prob, task$available,
                             task$terminal, A, cumsum(task$start),
                             unname(beta[j]), as.integer(n[j[1L]]))
    out$participant <- rep(j, each = n[j[1L]])
    out
  })
  col <- function(f) unlist(lapply(parts, `[[`, f), use.names = FALSE)
  p <- col("participant")
  o <- order(p, method = "radix")  # stable: time order within participant
  s <- col("state")[o]
  a <- col("action")[o]
  data.frame(
    participant = names(beta)[p[o]],
    state = task$states[s],
    action = task$actions[a],
    next_state = task$states[col("next_state")[o]],
    done = col("done")[o],
    reward = task$reward[s + task$n_states * (a - 1L)],
    stringsAsFactors = FALSE
  )
}

#' Validate beta and give it participant ids as names
#' @noRd
sim_check_beta <- function(beta) {
  if (!is.numeric(beta) || length(beta) == 0L) {
    rlpsy_abort("`beta` must be a non-empty numeric vector of inverse ",
                "temperatures, one per participant.")
  }
  bad <- which(is.na(beta) | !is.finite(beta) | beta <= 0)
  if (length(bad)) {
    rlpsy_abort("`beta` must be positive and finite; offending element",
                if (length(bad) > 1) "s", " ", show_values(bad), " (values ",
                show_values(beta[bad]), ").")
  }
  ids <- names(beta)
  if (is.null(ids)) {
    width <- max(4L, nchar(length(beta)))
    ids <- sprintf("p%0*d", width, seq_along(beta))
  }
  if (anyNA(ids) || any(ids == "")) {
    bad <- which(is.na(ids) | ids == "")
    rlpsy_abort("`beta` has empty or missing names (element",
                if (length(bad) > 1L) "s", " ", show_values(bad),
                "); name every element or none.")
  }
  dup <- unique(ids[duplicated(ids)])
  if (length(dup)) {
    rlpsy_abort("The names of `beta` are participant ids and must be unique; ",
                "duplicated: ", show_values(dup), ".")
  }
  stats::setNames(as.numeric(beta), ids)
}

#' Validate a user Q matrix against the task
#' @noRd
sim_check_q <- function(Q, task) {
  if (!is.numeric(Q)) {
    rlpsy_abort("`Q` must be a numeric matrix; got ", task_describe(Q), ".")
  }
  Q <- task_align_matrix(Q, list(task$states, task$actions), "Q")
  used <- task$available & !task$terminal
  bad <- which(used & !is.finite(Q), arr.ind = TRUE)
  if (nrow(bad)) {
    lab <- paste0("(", task_quote(task$states[bad[, 1]]), ", ",
                  task_quote(task$actions[bad[, 2]]), ")")
    rlpsy_abort("`Q` must be finite for every available action of every ",
                "non-terminal state; not finite at ", show_plain(lab), ".")
  }
  storage.mode(Q) <- "double"
  Q
}
