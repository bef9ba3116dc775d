# simulate() for rlpsy_fit: new actions at the observed states from the
# fitted policy, or whole trajectories (R/simulate-trajectory.R)
# (stats::simulate conventions).

#' Simulate choices from a fitted RL psychometric model
#'
#' With `type = "actions"` (default), draws new actions for the fitted
#' decisions from the fitted policy
#' \eqn{\pi(a \mid s_t, \hat\beta_{j(t)}) = \mathrm{softmax}_a(\hat\beta_{j(t)}
#' A(s_t, a))}: each decision keeps its participant and state, and only the
#' action is drawn again. With `type = "trajectory"`, rolls whole
#' trajectories forward instead: each participant, with their
#' \eqn{\hat\beta_j}, makes as many decisions as they made in the data,
#' visiting the states the chosen actions lead to (see "Trajectories").
#' Useful for posterior predictive checks and parametric bootstraps.
#'
#' @section Trajectories:
#' The states follow the transition model of `task` when it is given, else
#' the *empirical* one of the fitted data: \eqn{P(s' \mid s, a)} is the
#' share of the decisions (s, a) that led to \eqn{s'}; episodes start in the
#' states in which the participants' logged episodes started (a first
#' decision, or one after a terminal transition or a gap in the log), in
#' proportion; and a state in which no decision was logged is terminal (an
#' episode that reaches it starts again). The actions available in a state
#' are its choice set in the fit (actions never taken there have no
#' empirical transitions). The expected reward of a move is the mean
#' observed reward of the pair, or the learned reward \eqn{\tanh(w)}.
#'
#' With a `task` ([rlpsy_task()]), its transitions, start distribution,
#' terminal states and rewards are used; in a state the fit has decisions
#' for, the actions are those available in both the task and the fit's
#' choice set, chosen by the fitted advantage; in a task state the fit never
#' saw (no advantage), the choice is uniform over the task's available
#' actions. The task's action labels must include the fit's.
#'
#' The random number generator is handled as in [stats::simulate()]: with
#' `seed = NULL` the current stream is used; otherwise [set.seed()] is called
#' with `seed` and the previous state of the generator is restored on exit.
#' Either way the result has the attribute `"seed"` needed to reproduce it.
#'
#' @param object an `rlpsy_fit` object.
#' @param nsim number of simulated choices per decision (`"actions"`) or of
#'   simulated data sets (`"trajectory"`), a whole number of at least 1.
#' @param seed `NULL` or a single whole number passed to [set.seed()].
#' @param type `"actions"` (new actions at the observed states) or
#'   `"trajectory"` (whole sequences of decisions; see "Trajectories").
#' @param task `NULL` (the empirical transition model) or, with
#'   `type = "trajectory"`, an [rlpsy_task()] to simulate in.
#' @param ... not used: any other argument is an error.
#' @return For `"actions"`, a data frame with one row per decision of the
#'   fitted data, in its original row order, and `nsim` columns `sim_1`,
#'   ..., `sim_<nsim>`, each a factor of action labels (levels: all actions
#'   of the fit). For `"trajectory"`, a data frame of decisions in the
#'   layout of the fitted data, ready for [rlpsy_fit()] with the fit's
#'   column names: a column `sim` (1 to `nsim`), then the participant,
#'   state, action and next-state columns (character labels), the done
#'   column (logical; named `"done"` when the fit had none) and the reward
#'   column (the expected reward of each move; named `"reward"` when the
#'   reward was learned); one block of decisions per participant and
#'   simulation, as many as the participant made. Either way, the attribute
#'   `"seed"` is `seed` (with attribute `kind`, the [RNGkind()]) or, when
#'   `seed = NULL`, the value of `.Random.seed` before the simulation.
#' @section Errors and warnings: An error of class `rlpsy_error_input` when
#'   `nsim` is not a single whole number >= 1 (`NA`, `Inf`, a string, ...)
#'   or `seed` is neither `NULL` nor a single whole number within the
#'   integer range, `type` is not one of its values, `task` is given with
#'   `type = "actions"` or is not an [rlpsy_task()] whose action labels
#'   include the fit's, or `...` is not empty. An error of class `rlpsy_error_memory`, before anything
#'   is allocated, when the result (about 8 bytes per decision and
#'   simulation) would not fit in the memory available. There are no
#'   warnings.
#' @seealso [predict.rlpsy_fit()] for the probabilities themselves.
#' @examples
#' fit <- rlpsy_fit(rlpsy_example, participant = "participant",
#'                  state = "state", action = "action",
#'                  next_state = "next_state", done = "done",
#'                  reward = "reward", gamma = 0.9, tau = 0.05,
#'                  control = rlpsy_control(threads = 1))
#' sims <- simulate(fit, nsim = 3, seed = 1)
#' head(sims)
#' # share of simulated choices equal to the observed ones
#' mean(sims$sim_1 == rlpsy_example$action)
#'
#' # whole trajectories through the empirical transitions
#' traj <- simulate(fit, type = "trajectory", seed = 1)
#' head(traj)
#' # observed and simulated visits per state
#' head(cbind(observed = table(rlpsy_example$state),
#'            simulated = table(factor(traj$state,
#'                                     levels = names(table(rlpsy_example$state))))))
#' @importFrom stats simulate
#' @export
simulate.rlpsy_fit <- function(object, nsim = 1, seed = NULL,
                               type = c("actions", "trajectory"), task = NULL,
                               ...) {
  check_dots_empty_rlpsy("simulate()", ...)
  nsim <- check_count(nsim, "nsim", min = 1)
  type <- check_choice(type, c("actions", "trajectory"), "type")
  if (type == "actions" && !is.null(task)) {
    rlpsy_abort("`task` is used with type = \"trajectory\" only; type = ",
                "\"actions\" redraws the actions at the observed states.")
  }
  traj <- if (type == "trajectory") trajectory_model(object, task)
  n <- object$data$n_decisions
  check_memory(8 * as.double(n) * (nsim + 4 * object$data$n_actions),
               paste0("simulate() with nsim = ", nsim, " for ",
                      format(n, big.mark = ",", scientific = FALSE, trim = TRUE),
                      " decisions"), "Use a smaller `nsim`, or simulate in batches.")
  rng_state <- simulate_seed(seed)
  old_seed <- attr(rng_state, "restore")
  if (!is.null(old_seed)) {
    on.exit(assign(".Random.seed", old_seed, envir = globalenv()))
    attr(rng_state, "restore") <- NULL
  }
  out <- if (type == "trajectory") simulate_trajectories(object, traj, nsim) else
    simulate_actions(object, nsim)
  attr(out, "seed") <- rng_state
  out
}

#' nsim new actions per fitted decision from the fitted policy
#' @noRd
simulate_actions <- function(object, nsim) {
  P <- predict_prob(object, NULL)
  acts <- object$data$actions
  draw <- sampler(P)
  out <- lapply(seq_len(nsim), function(i) {
    structure(draw(), levels = acts, class = "factor")
  })
  names(out) <- paste0("sim_", seq_len(nsim))
  as.data.frame(out, stringsAsFactors = FALSE)
}

#' Seed handling of stats:::simulate.lm. Returns the RNG state to record;
#' when a seed is set, its attribute "restore" holds the state to put back.
#' @noRd
simulate_seed <- function(seed) {
  if (!exists(".Random.seed", envir = globalenv(), inherits = FALSE)) stats::runif(1)
  if (is.null(seed)) return(get(".Random.seed", envir = globalenv()))
  ok <- is.numeric(seed) && length(seed) == 1L && is.finite(seed) &&
    seed == round(seed) && abs(seed) <= .Machine$integer.max
  if (!ok) {
    rlpsy_abort("`seed` must be NULL or a single whole number (at most ",
                .Machine$integer.max, " in absolute value), not ",
                describe_value(seed), ".")
  }
  old <- get(".Random.seed", envir = globalenv())
  set.seed(seed)
  structure(seed, kind = as.list(RNGkind()), restore = old)
}

#' A function drawing one action code (1-based) per row of P, vectorised:
#' the first column whose cumulative probability reaches a uniform draw.
#' Cumulative sums are normalised by their last column, so it is exactly 1
#' and an action of probability 0 is never drawn.
#' @noRd
sampler <- function(P) {
  K <- ncol(P)
  C <- P %*% (row(diag(K)) <= col(diag(K)))
  C <- C / C[, K]
  n <- nrow(P)
  function() 1L + as.integer(rowSums(C < stats::runif(n)))
}
