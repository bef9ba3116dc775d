# simulate(fit, type = "trajectory"): whole sequences of decisions rolled
# forward with each participant's beta through the empirical transition
# model of the fitted data, or through a given rlpsy_task. The loop is the
# C++ simulator of rlpsy_simulate() (simulate_runs() in R/simulate.R).

#' The task and the advantage a trajectory simulation uses
#' @return list(task = an rlpsy_task, A = its S x K advantage)
#' @noRd
trajectory_model <- function(fit, task) {
  check_one_dimension(fit, "simulate(type = \"trajectory\")")
  if (is.null(task)) {
    task <- empirical_task(fit)
    return(list(task = task, A = fit_advantage_on(fit, task)))
  }
  if (!inherits(task, "rlpsy_task")) {
    rlpsy_abort("`task` must be NULL (the empirical transitions of the fitted ",
                "data) or an rlpsy_task() object, not ", describe_type(task), ".")
  }
  task_check(task)
  miss <- setdiff(fit$data$actions, task$actions)
  if (length(miss)) {
    rlpsy_abort("`task` lacks actions of the fit: ", show_values(miss),
                ". Its action labels must include the fit's.")
  }
  # in the states the fit knows, choose among its choice set only
  d <- fit$data
  known <- intersect(task$states[!task$terminal], d$states[visited_states(d)])
  if (length(known)) {
    av <- task$available[known, , drop = FALSE]
    fit_av <- matrix(FALSE, length(known), task$n_actions,
                     dimnames = list(known, task$actions))
    fit_av[, d$actions] <- d$available[known, , drop = FALSE]
    both <- av & fit_av
    ok <- rowSums(both) > 0L
    task$available[known[ok], ] <- both[ok, , drop = FALSE]
  }
  list(task = task, A = fit_advantage_on(fit, task))
}

#' Which states of an encoding have decisions (logical, length S)
#' @noRd
visited_states <- function(d) {
  tabulate(d$state + 1L, d$n_states) > 0L
}

#' The fit's advantage on the labels of `task`: 0 for states and actions
#' the fit does not know (a uniform choice there), for terminal states and
#' for unavailable actions
#' @noRd
fit_advantage_on <- function(fit, task) {
  A <- matrix(0, task$n_states, task$n_actions,
              dimnames = list(task$states, task$actions))
  s <- intersect(task$states, rownames(fit$advantage))
  a <- intersect(task$actions, colnames(fit$advantage))
  A[s, a] <- fit$advantage[s, a, drop = FALSE]
  A[task$terminal, ] <- 0
  A[!task$available] <- 0
  unname(A)
}

#' The empirical Markov decision process of a fit's data: transition
#' shares per (state, action), episode starts in proportion, states without
#' decisions terminal, choice sets as available actions, the mean observed
#' (or the learned) reward per pair.
#' @noRd
empirical_task <- function(fit) {
  d <- fit$data
  S <- d$n_states
  K <- d$n_actions
  visited <- visited_states(d)
  taken <- matrix(tabulate(d$action * S + d$state + 1L, S * K) > 0L, S, K)
  av <- d$available & taken
  key <- (as.double(d$state) * K + d$action) * S + d$next_state
  k <- sort(unique(key))
  n_key <- tabulate(match(key, k), length(k))
  pair <- k %/% S
  n_pair <- tabulate(d$state * K + d$action + 1L, S * K)
  tr <- data.frame(state = d$states[pair %/% K + 1L],
                   action = d$actions[pair %% K + 1L],
                   next_state = d$states[k %% S + 1L],
                   prob = n_key / n_pair[pair + 1L],
                   stringsAsFactors = FALSE)
  reward <- predict_reward(fit)
  reward[is.na(reward)] <- 0
  dimnames(av) <- dimnames(reward) <- list(d$states, d$actions)
  av[!visited, ] <- TRUE
  rlpsy_task(tr, reward = reward, terminal = !visited,
             start = episode_starts(d), available = av, states = d$states,
             actions = d$actions)
}

#' Start distribution: the states of the decisions that begin a logged
#' episode (a participant's first decision, or one after a terminal
#' transition or after a transition to another state than the next
#' decision's), as shares, named by state
#' @noRd
episode_starts <- function(d) {
  n <- d$n_decisions
  first <- rep(FALSE, n)
  first[d$offsets[-length(d$offsets)] + 1L] <- TRUE
  prev <- c(NA_integer_, seq_len(n - 1L))
  gap <- !first
  gap[!first] <- d$done[prev[!first]] == 1L |
    d$next_state[prev[!first]] != d$state[!first]
  counts <- tabulate(d$state[first | gap] + 1L, d$n_states)
  stats::setNames(counts / sum(counts), d$states)
}

#' nsim data sets of trajectories, each participant with their beta and
#' number of decisions, in the fit's column names
#' @noRd
simulate_trajectories <- function(fit, traj, nsim) {
  d <- fit$data
  n_j <- diff(d$offsets)
  beta <- stats::setNames(unname(fit$beta), d$participants)
  sims <- lapply(seq_len(nsim), function(i) {
    cbind(sim = rep.int(i, sum(n_j)), simulate_runs(traj$task, traj$A, beta, n_j))
  })
  out <- do.call(rbind, sims)
  out$done <- as.logical(out$done)
  cols <- d$columns
  names(out) <- c("sim", cols$participant, cols$state, cols$action,
                  cols$next_state, if (is.null(cols$done)) "done" else cols$done,
                  if (is.null(cols$reward)) "reward" else cols$reward)
  rownames(out) <- NULL
  out
}
