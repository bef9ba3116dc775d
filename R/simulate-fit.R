# simulate() for rlpsy_fit: new actions at the observed states from the
# fitted policy (stats::simulate conventions).

#' Simulate choices from a fitted RL psychometric model
#'
#' Draws new actions for the fitted decisions from the fitted policy
#' \eqn{\pi(a \mid s_t, \hat\beta_{j(t)}) = \mathrm{softmax}_a(\hat\beta_{j(t)}
#' A(s_t, a))}: each decision keeps its participant and state, and only the
#' action is drawn again (the states that would follow are not simulated;
#' use [rlpsy_simulate()] to simulate whole trajectories in a task). Useful
#' for posterior predictive checks and parametric bootstraps.
#'
#' The random number generator is handled as in [stats::simulate()]: with
#' `seed = NULL` the current stream is used; otherwise [set.seed()] is called
#' with `seed` and the previous state of the generator is restored on exit.
#' Either way the result has the attribute `"seed"` needed to reproduce it.
#'
#' @param object an `rlpsy_fit` object.
#' @param nsim number of simulated choices per decision, a whole number of
#'   at least 1.
#' @param seed `NULL` or a single whole number passed to [set.seed()].
#' @param ... not used.
#' @return A data frame with one row per decision of the fitted data, in
#'   its original row order, and `nsim` columns `sim_1`, ..., `sim_<nsim>`,
#'   each a factor of action labels (levels: all actions of the fit). Its
#'   attribute `"seed"` is `seed` (with attribute `kind`, the
#'   [RNGkind()]) or, when `seed = NULL`, the value of `.Random.seed` before
#'   the simulation.
#' @section Errors and warnings: An error of class `rlpsy_error_input` when
#'   `nsim` is not a single whole number >= 1 (`NA`, `Inf`, a string, ...)
#'   or `seed` is neither `NULL` nor a single whole number within the
#'   integer range. An error of class `rlpsy_error_memory`, before anything
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
#' @importFrom stats simulate
#' @export
simulate.rlpsy_fit <- function(object, nsim = 1, seed = NULL, ...) {
  nsim <- check_count(nsim, "nsim", min = 1)
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
  P <- predict_prob(object, NULL)
  acts <- object$data$actions
  draw <- sampler(P)
  out <- lapply(seq_len(nsim), function(i) {
    structure(draw(), levels = acts, class = "factor")
  })
  names(out) <- paste0("sim_", seq_len(nsim))
  out <- as.data.frame(out, stringsAsFactors = FALSE)
  attr(out, "seed") <- rng_state
  out
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
