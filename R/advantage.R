#' Identified advantage of a Q matrix
#'
#' Spec section 4: per state, centre Q over the available actions and scale
#' to unit root-mean-square, A = c / sqrt(mean(c^2) + eps). Unavailable
#' actions get A = 0 (they are never chosen). Computed by the core's
#' advantage_table() (one home for the equation).
#'
#' @param Q numeric S x K matrix.
#' @param available logical S x K matrix (default: all TRUE).
#' @param eps small positive constant of the normalisation.
#' @param global `NULL` for the per-state scaling, or a logical vector over
#'   the states: one RMS over the states marked TRUE (each weighing the same)
#'   scales every state (`normalise = "global"`).
#' @return numeric S x K matrix with the dimnames of `Q`.
#' @noRd
identified_advantage <- function(Q, available = NULL, eps = 1e-8, global = NULL) {
  if (is.null(available)) available <- matrix(TRUE, nrow(Q), ncol(Q))
  storage.mode(Q) <- "double"
  advantage_cpp(Q, available, eps, if (!is.null(global)) as.logical(global))
}
