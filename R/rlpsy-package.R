#' rlpsy: reinforcement-learning psychometrics from decision logs
#'
#' Each participant's decisions (state, action, next state) in a task written
#' as a Markov decision process are explained by a softmax policy over a
#' shared, identified task value function; one inverse temperature
#' \eqn{\beta_j} per participant measures how decisively and consistently that
#' person acts on the task's values.
#'
#' @keywords internal
#' @useDynLib rlpsy, .registration = TRUE
#' @importFrom Rcpp evalCpp
#' @importFrom RcppParallel RcppParallelLibs
#' @importFrom rlang .data
"_PACKAGE"
