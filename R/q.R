# Parameterisations of the task value function Q_theta and of a learned
# reward: constructors, feature validation and encoding, starting values.
# The values and gradients are computed in C++ (inst/include/rlpsy/params.h).

#' Parameterisations of the task value function
#'
#' How `rlpsy_fit()` represents the task's value function Q(s, a) when it is
#' estimated (`q = "joint"`, the default, is `rlpsy_q_table()`):
#' * `rlpsy_q_table()`: one free value per (state, action) pair.
#' * `rlpsy_q_linear(features)`: Q(s, a) = theta_0 + sum_p phi_p(s, a)
#'   theta_p, linear in features of the pair, with an intercept (the level
#'   of Q, which the Bellman term needs and the advantage ignores). With features that describe any task of a
#'   family (distances, counts, the values of a planner), the fitted theta
#'   applies to new and larger state spaces: `predict(fit, newdata, features
#'   = new_features)` scores people on a task they were never fitted on.
#' * `rlpsy_q_mlp(features, hidden = 16)`: one hidden layer of `hidden` tanh
#'   units, Q(s, a) = b + sum_k v_k tanh(b_k + sum_p W_kp phi_p(s, a)); the
#'   features are standardised with their mean and standard deviation over
#'   the fitting task's rows, and the same standardisation is applied to
#'   new features.
#'
#' The identified advantage (Q centred and scaled per state) is what the
#' behaviour term sees, so only differences of Q between actions of a state
#' matter to beta; the Bellman term ties the level and scale of Q to the
#' reward.
#'
#' @param features a data frame with columns `state` and `action` (the labels
#'   used in the decisions) and one or more numeric feature columns, one row
#'   per (state, action) pair that can occur. Every pair in the fit's choice
#'   sets needs a row; rows of other states are allowed (they are ignored in
#'   the fit). Values must be finite, and no column may be constant.
#' @param hidden number of hidden units (at least 1).
#' @param seed seed of the random starting weights of the hidden layer (the
#'   fit is deterministic given it).
#' @return an object of class `rlpsy_q`, to pass as `q` to [rlpsy_fit()].
#' @seealso [rlpsy_reward_table()] for the learned reward's form.
#' @examples
#' task <- rlpsy_gridworld(3, 3)
#' Qt <- rlpsy_soft_q(task, gamma = 0.9, tau = 1)
#' feats <- data.frame(state = rep(rownames(Qt), ncol(Qt)),
#'                     action = rep(colnames(Qt), each = nrow(Qt)),
#'                     value = as.vector(Qt))
#' feats <- feats[!is.na(feats$value), ]
#' feats$noise <- rnorm(nrow(feats))
#' rlpsy_q_linear(feats)
#' @export
rlpsy_q_table <- function() {
  structure(list(type = "table"), class = "rlpsy_q")
}

#' @rdname rlpsy_q_table
#' @export
rlpsy_q_linear <- function(features) {
  f <- check_features(features, "features", c("state", "action"))
  structure(list(type = "linear", features = f), class = "rlpsy_q")
}

#' @rdname rlpsy_q_table
#' @export
rlpsy_q_mlp <- function(features, hidden = 16, seed = 1) {
  f <- check_features(features, "features", c("state", "action"))
  hidden <- check_count(hidden, "hidden", min = 1, max = 1e4)
  seed <- check_count(seed, "seed")
  structure(list(type = "mlp", features = f, hidden = hidden, seed = seed),
            class = "rlpsy_q")
}

#' @export
print.rlpsy_q <- function(x, ...) {
  if (x$type == "table") {
    cat("<rlpsy_q> tabular: one value per (state, action)\n")
  } else {
    f <- x$features
    cat("<rlpsy_q> ", if (x$type == "linear") "linear" else
          paste0("one-hidden-layer network (", x$hidden, " tanh units)"),
        " in ", length(f$names), " features (", paste(f$names, collapse = ", "),
        ") of ", nrow(f$keys), " (state, action) pairs\n", sep = "")
  }
  invisible(x)
}

#' The form of a learned reward
#'
#' When `rlpsy_fit()` learns the reward (no `reward` column), the reward of a
#' transition is
#' * `rlpsy_reward_table()` (the default): tabular, r(s, a) = tanh(w(s, a));
#'   with `next_state = TRUE`, r(s, a, s') = tanh(w(s, a, s')), one parameter
#'   per observed (state, action, next state);
#' * `rlpsy_reward_linear(features)`: r(s, a, s') = sum_p f_p(s, a, s') w_p,
#'   linear in features of the transition.
#'
#' Either way w has the L2 penalty `lambda_r` ||w||^2 (see
#' [rlpsy_control()]).
#'
#' @param next_state whether the tabular reward depends on the next state.
#' @param features a data frame with columns `state`, `action`, `next_state`
#'   (labels as in the decisions) and numeric feature columns, one row per
#'   (state, action, next state) that occurs in the data. Values must be
#'   finite, and no column may be constant.
#' @return an object of class `rlpsy_reward`, to pass as `reward_model` to
#'   [rlpsy_fit()].
#' @examples
#' rlpsy_reward_table(next_state = TRUE)
#' @export
rlpsy_reward_table <- function(next_state = FALSE) {
  structure(list(type = "table", next_state = check_flag(next_state, "next_state")),
            class = "rlpsy_reward")
}

#' @rdname rlpsy_reward_table
#' @export
rlpsy_reward_linear <- function(features) {
  f <- check_features(features, "features", c("state", "action", "next_state"))
  structure(list(type = "linear", features = f), class = "rlpsy_reward")
}

#' @export
print.rlpsy_reward <- function(x, ...) {
  cat("<rlpsy_reward> ", switch(x$type,
    table = if (x$next_state) "tabular r(s, a, s') = tanh(w)" else
      "tabular r(s, a) = tanh(w)",
    linear = paste0("linear in ", length(x$features$names), " features (",
                    paste(x$features$names, collapse = ", "), ")")), "\n", sep = "")
  invisible(x)
}

#' Validate a feature table: key columns as labels, numeric, finite,
#' non-constant feature columns, no duplicated keys.
#' @return list(keys = data frame of character key columns, X = numeric
#'   matrix, names = feature names)
#' @noRd
check_features <- function(features, arg, keys) {
  check_data_frame(features, arg)
  miss <- setdiff(keys, names(features))
  if (length(miss)) {
    rlpsy_abort("`", arg, "` needs the column", if (length(miss) > 1L) "s", " ",
                show_values(miss), " (the labels used in the decisions).")
  }
  fcols <- setdiff(names(features), keys)
  if (!length(fcols)) {
    rlpsy_abort("`", arg, "` has no feature columns besides ", show_values(keys), ".")
  }
  if (nrow(features) == 0L) rlpsy_abort("`", arg, "` has no rows.")
  bad <- fcols[!vapply(features[fcols], is_plain_number, TRUE)]
  if (length(bad)) {
    rlpsy_abort("`", arg, "` feature columns must be numeric; ", show_values(bad),
                if (length(bad) == 1L) " is" else " are", " not.")
  }
  X <- as.matrix(features[fcols])
  storage.mode(X) <- "double"
  nonfinite <- which(!is.finite(X), arr.ind = TRUE)
  if (nrow(nonfinite)) {
    cols <- unique(fcols[nonfinite[, 2L]])
    rlpsy_abort("`", arg, "` has non-finite values (NA, NaN or Inf) in column",
                if (length(cols) > 1L) "s", " ", show_values(cols), ": ",
                show_rows(unique(nonfinite[, 1L])), ".")
  }
  const <- fcols[apply(X, 2L, function(x) max(x) - min(x) <= 1e-12 * max(1, abs(x)))]
  if (length(const) && nrow(X) > 1L) {
    rlpsy_abort("`", arg, "` has constant feature column", if (length(const) > 1L) "s",
                " ", show_values(const), ": a constant carries no information ",
                "(the advantage is centred within each state, and the model has ",
                "its own intercept); drop ", if (length(const) > 1L) "them." else "it.")
  }
  kd <- as.data.frame(lapply(features[keys], function(x) {
    if (anyNA(x)) rlpsy_abort("`", arg, "` has missing labels in its key columns.")
    as.character(x)
  }), stringsAsFactors = FALSE)
  dup <- which(duplicated(kd))
  if (length(dup)) {
    rlpsy_abort("`", arg, "` has more than one row for the same ",
                paste(keys, collapse = ", "), ": ", show_rows(dup), ".")
  }
  list(keys = kd, X = X, names = fcols)
}

#' The (S*K) x P feature matrix of a Q parameterisation for the given state
#' and action labels (rows in row-major (state, action) order, 0 for pairs
#' without a row). Stops when a pair of `need` (S x K logical) has no row.
#' @noRd
q_feature_matrix <- function(f, states, actions, need, arg = "features") {
  S <- length(states)
  K <- length(actions)
  s <- match(f$keys$state, states)
  a <- match(f$keys$action, actions)
  ok <- !is.na(s) & !is.na(a)
  have <- matrix(FALSE, S, K)
  have[cbind(s[ok], a[ok])] <- TRUE
  miss <- which(need & !have, arr.ind = TRUE)
  if (nrow(miss)) {
    pairs <- paste0("(", states[miss[, 1L]], ", ", actions[miss[, 2L]], ")")
    rlpsy_abort("`", arg, "` has no row for the (state, action) pair",
                if (length(pairs) > 1L) "s", " ", show_plain(pairs), " that ",
                if (length(pairs) > 1L) "occur" else "occurs", " in the decisions.",
                class = "features")
  }
  X <- matrix(0, S * K, ncol(f$X), dimnames = list(NULL, f$names))
  X[(s[ok] - 1L) * K + a[ok], ] <- f$X[ok, , drop = FALSE]
  X
}

#' The C++ description of a Q parameterisation on given labels: list(type,
#' features = (S*K) x P matrix, hidden). MLP features are standardised with
#' the centre and scale stored in `q` (computed on the fitting task).
#' @noRd
q_params <- function(q, states, actions, need, arg = "features") {
  if (q$type == "table") return(list(type = "table"))
  X <- q_feature_matrix(q$features, states, actions, need, arg)
  if (q$type == "linear") {
    X <- cbind("(Intercept)" = as.numeric(as.vector(t(need))), X)
  }
  if (q$type == "mlp") {
    rows <- as.vector(t(need))
    X[rows, ] <- sweep(sweep(X[rows, , drop = FALSE], 2L, q$center), 2L, q$scale, "/")
    X[!rows, ] <- 0
  }
  list(type = q$type, features = X, hidden = q$hidden)
}

#' Fix the MLP's standardisation on the fitting task's rows
#' @noRd
q_standardise <- function(q, states, actions, need) {
  if (q$type != "mlp") return(q)
  X <- q_feature_matrix(q$features, states, actions, need)[as.vector(t(need)), , drop = FALSE]
  q$center <- colMeans(X)
  sc <- apply(X, 2L, stats::sd)
  q$scale <- ifelse(is.finite(sc) & sc > 0, sc, 1)
  q
}

#' Starting theta for a Q parameterisation: the table itself, or the least-
#' squares fit of the features to the starting table over the choice sets
#' (for the MLP, of its output layer, over seeded random hidden weights).
#' @noRd
q_start <- function(q, qp, Q0, available) {
  if (q$type == "table") return(Q0)
  rows <- as.vector(t(available))
  y <- as.vector(t(Q0))[rows]
  X <- qp$features
  if (q$type == "linear") {
    return(unname(ridge_ls(X[rows, , drop = FALSE], y)))
  }
  P <- ncol(X)
  H <- q$hidden
  W <- seeded_stream(q$seed)(stats::rnorm(H * P, sd = 1 / sqrt(P)))
  b1 <- numeric(H)
  S <- nrow(Q0)
  K <- ncol(Q0)
  # the hidden activations, from the C++ network itself (output weight e_k)
  Hk <- vapply(seq_len(H), function(k) {
    th <- c(W, b1, replace(numeric(H), k, 1), 0)
    as.vector(t(q_values_cpp(qp, th, S, K)))[rows]
  }, numeric(sum(rows)))
  vb <- ridge_ls(cbind(matrix(Hk, ncol = H), 1), y)
  c(W, b1, vb)
}

#' Least squares with a tiny ridge (features may be collinear on one task)
#' @noRd
ridge_ls <- function(X, y) {
  XtX <- crossprod(X)
  lam <- 1e-8 * max(1, mean(diag(XtX)))
  solve(XtX + diag(lam, ncol(X)), crossprod(X, y))[, 1L]
}

#' The C++ description of the learned reward's parameterisation for a core:
#' NULL (tabular r(s, a)), a tuple index (tabular r(s, a, s')), or per-tuple
#' features. `tuples` from core_tuples().
#' @noRd
reward_params <- function(rm, tuples, enc) {
  if (is.null(rm) || (rm$type == "table" && !rm$next_state)) return(NULL)
  key <- paste(tuples$state, tuples$action, tuples$next_state)
  if (rm$type == "table") {
    u <- unique(key)
    return(list(type = "table", index = match(key, u) - 1L, n = length(u)))
  }
  f <- rm$features
  fk <- paste(match(f$keys$state, enc$states) - 1L, match(f$keys$action, enc$actions) - 1L,
              match(f$keys$next_state, enc$states) - 1L)
  at <- match(key, fk)
  if (anyNA(at)) {
    miss <- unique(which(is.na(at)))
    trip <- paste0("(", enc$states[tuples$state[miss] + 1L], ", ",
                   enc$actions[tuples$action[miss] + 1L], ", ",
                   enc$states[tuples$next_state[miss] + 1L], ")")
    rlpsy_abort("`reward_model` features have no row for the (state, action, ",
                "next_state) transition", if (length(trip) > 1L) "s", " ",
                show_plain(unique(trip)), " that ",
                if (length(trip) > 1L) "occur" else "occurs", " in the decisions.",
                class = "features")
  }
  list(type = "linear", features = f$X[at, , drop = FALSE])
}

#' A core for encoded data with the fit's parameterisations
#' @noRd
make_core <- function(enc, settings, params, shards = 1L) {
  core <- core_new(core_encoding(enc), settings, shards)
  if (!is.null(params)) {
    rp <- if (!is.null(params$reward)) reward_params(params$reward, core_tuples(core), enc)
    core_set_params(core, params$q, rp)
  }
  core
}
