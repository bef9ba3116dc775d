# Peer: the same generalised EM written as a careful R user would, in plain
# R (no compiled code beyond base R and stats).
#
#   Rscript bench/peer_plain_r.R <exchange-dir>      # check + fit, CSV out
#   source("bench/peer_plain_r.R")                   # just the functions
#
# Same model and objective as R/reference.R (DESIGN.md section 1; the
# Bellman term per (state, action) pair, n_sa * mean residual^2, with the
# effective weights the core uses: lambda_bell already divided by the task's
# value unit squared), the same starting values as rlpsy_fit() (read from
# start_Q.csv), and the plain generalised EM that rlpsy replaced with its
# profiled M-step: a safeguarded Newton E-step on z_j = log beta_j
# (vectorised over decisions and participants: all still-active
# participants take their Newton step together, with step halving), the
# empirical-Bayes prior update, an M-step of `mstep_iter` iterations of
# stats::optim(method = "L-BFGS-B") on Q (and w) with beta fixed, using the
# analytic gradient written in R (vectorised over decisions; value and
# gradient computed in one pass and cached); stop when J changed by less
# than tol per decision (tol * N) and max |dz| < tol_z, then a final
# E-step. Reads the decisions and settings from the CSV files that
# bench/peers.R writes (see peer_read()).

# --- data ----------------------------------------------------------------------

#' Read an exchange directory: decisions.csv (0-based codes), available.csv
#' (S x K of 0/1, no header: the fit's choice sets), settings.csv (name,
#' value) and start_Q.csv (S x K starting Q, no header).
peer_read <- function(dir) {
  set <- utils::read.csv(file.path(dir, "settings.csv"), stringsAsFactors = FALSE)
  set <- stats::setNames(as.list(set$value), set$name)
  d <- utils::read.csv(file.path(dir, "decisions.csv"))
  av <- unname(as.matrix(utils::read.csv(file.path(dir, "available.csv"),
                                         header = FALSE))) == 1
  dat <- peer_prepare(d$participant + 1L, d$state + 1L, d$action + 1L,
                      d$next_state + 1L, d$done,
                      if (set$learned == 1) NULL else d$reward, av, set)
  dat$Q0 <- unname(as.matrix(utils::read.csv(file.path(dir, "start_Q.csv"),
                                             header = FALSE)))
  dat
}

#' Index vectors and counts computed once (1-based codes).
peer_prepare <- function(p, s, a, s2, done, reward, av, set) {
  S <- nrow(av)
  K <- ncol(av)
  sa <- s + S * (a - 1L)
  list(p = p, s = s, a = a, s2 = s2, sa = sa, done = as.numeric(done),
       reward = reward, av = av, avs = av[s, , drop = FALSE], Ks = rowSums(av),
       S = S, K = K, J = as.integer(set$J), N = length(p),
       n_s = tabulate(s, S), n_sa = tabulate(sa, S * K),
       disc = set$gamma * (1 - as.numeric(done)), set = set)
}

# --- objective and gradient ----------------------------------------------------

#' Identified advantage per state over the available actions.
peer_advantage <- function(Q, dat) {
  av <- dat$av
  cc <- (Q - rowSums(Q * av) / dat$Ks) * av
  rho <- sqrt(rowSums(cc^2) / dat$Ks + dat$set$eps)
  list(A = cc / rho, rho = rho)
}

#' Row-wise log-sum-exp over the entries where `mask` is TRUE, with the
#' softmax weights (0 where masked out).
peer_lse <- function(X, mask) {
  X[!mask] <- -Inf
  m <- X[cbind(seq_len(nrow(X)), max.col(X, ties.method = "first"))]
  P <- exp(X - m)
  z <- rowSums(P)
  list(lse = m + log(z), P = P / z)
}

#' Add the group sums rowsum(x, g) into `into`: into rows g when x is a
#' matrix, into the (linear) entries g when x is a vector.
add_rowsum <- function(into, x, g) {
  rs <- rowsum(x, g, reorder = TRUE)
  idx <- as.integer(rownames(rs))
  if (is.matrix(x)) into[idx, ] <- into[idx, ] + rs else into[idx] <- into[idx] + rs
  into
}

#' J without the prior term at (Q, w) for per-decision beta `bt`, and its
#' gradient with respect to Q (and w).
peer_objective <- function(Q, w, bt, dat, grad = TRUE) {
  set <- dat$set
  S <- dat$S
  K <- dat$K
  ad <- peer_advantage(Q, dat)
  A <- ad$A
  As <- A[dat$s, , drop = FALSE]
  L <- peer_lse(bt * As, dat$avs)
  beh <- sum(L$lse - bt * A[dat$sa])
  LV <- peer_lse(Q / set$tau, dat$av)
  V <- set$tau * LV$lse
  learned <- is.null(dat$reward)
  r <- if (learned) tanh(w[dat$sa]) else dat$reward
  delta <- Q[dat$sa] - r - dat$disc * V[dat$s2]
  # Bellman term per (s, a) pair: n_sa * (mean residual of the pair)^2
  dsum <- numeric(S * K)
  dsum <- add_rowsum(dsum, delta, dat$sa)
  dbar <- ifelse(dat$n_sa > 0, dsum / pmax(dat$n_sa, 1), 0)
  bell <- sum(dat$n_sa * dbar^2)
  LQ <- peer_lse(Q, dat$av)
  cql <- sum(LQ$lse[dat$s] - Q[dat$sa])
  rl2 <- if (learned) sum(w[dat$av]^2) else 0
  value <- beh + set$lambda_bell * bell + set$lambda_cql * cql + set$lambda_r * rl2
  comp <- c(behaviour = beh, bellman = bell, cql = cql, reward_l2 = rl2)
  if (!grad) return(list(value = value, components = comp))
  # behaviour: d/dA(s, .) = sum_t beta_t (p_t - 1[a_t]), then the Jacobian
  # of the per-state normalisation
  gA <- add_rowsum(matrix(0, S, K), bt * L$P, dat$s)
  gA <- add_rowsum(gA, -bt, dat$sa)
  ag <- rowSums(A * gA) / dat$Ks
  dQ <- (gA - A * ag) / ad$rho * dat$av
  # Bellman: d/dtheta n_sa dbar^2 = 2 dbar sum_t d delta_t / dtheta, so each
  # decision carries its pair's mean residual
  e2 <- 2 * set$lambda_bell * dbar[dat$sa]
  dQ <- add_rowsum(dQ, e2, dat$sa)
  dV <- add_rowsum(numeric(S), -e2 * dat$disc, dat$s2)
  dQ <- dQ + dV * LV$P
  # CQL
  dQ <- dQ + set$lambda_cql * (dat$n_s * LQ$P - dat$n_sa)
  gw <- NULL
  if (learned) {
    gw <- add_rowsum(matrix(0, S, K), -e2 * (1 - r^2), dat$sa)
    gw <- (gw + 2 * set$lambda_r * w) * dat$av
  }
  list(value = value, components = comp, grad_Q = dQ, grad_w = gw)
}

# --- E-step --------------------------------------------------------------------

#' l_j, g_j, H_j and the Fisher fallback for the participants in `parts`
#' (sorted) at their z, with A fixed; T = sum of chosen advantages.
peer_estep_eval <- function(z, parts, A, T, mu, sigma, dat) {
  J <- dat$J
  if (length(parts) == J) {
    idx <- seq_len(dat$N)
  } else {
    keep <- logical(J)
    keep[parts] <- TRUE
    idx <- which(keep[dat$p])
  }
  pj <- dat$p[idx]
  beta <- exp(z)
  bt <- beta[match(pj, parts)]
  As <- A[dat$s[idx], , drop = FALSE]
  L <- peer_lse(bt * As, dat$avs[idx, , drop = FALSE])
  EA <- rowSums(L$P * As)
  VA <- rowSums(L$P * (As - EA)^2)
  agg <- rowsum(cbind(L$lse, EA, VA), pj, reorder = TRUE)
  prec <- 1 / sigma^2
  S1 <- T - agg[, 2]
  HF <- -beta^2 * agg[, 3] - prec
  list(l = beta * T - agg[, 1] - 0.5 * (z - mu)^2 * prec,
       g = beta * S1 - (z - mu) * prec, H = beta * S1 + HF, HF = HF)
}

#' The safeguarded Newton E-step of rlpsy (estep.h), all participants at once.
peer_estep <- function(Q, z0, mu, sigma, dat, max_iter = 100L, tol = 1e-8,
                       max_step = 2) {
  A <- peer_advantage(Q, dat)$A
  J <- dat$J
  T <- as.vector(rowsum(A[dat$sa], dat$p, reorder = TRUE))
  z <- z0
  e <- peer_estep_eval(z, seq_len(J), A, T, mu, sigma, dat)
  status <- rep(1L, J)  # 0 converged, 1 max_iter, 2 non-finite, 3 stalled
  iter <- rep(as.integer(max_iter), J)
  active <- rep(TRUE, J)
  sub <- function(e, i) lapply(e, `[`, i)
  for (it in seq_len(max_iter) - 1L) {
    act <- which(active)
    if (!length(act)) break
    bad <- act[!is.finite(e$l[act]) | !is.finite(e$g[act])]
    status[bad] <- 2L
    conv <- setdiff(act[abs(e$g[act]) <= tol], bad)
    status[conv] <- 0L
    done <- c(bad, conv)
    iter[done] <- it
    active[done] <- FALSE
    act <- which(active)
    if (!length(act)) break
    h <- ifelse(e$H[act] < 0, e$H[act], e$HF[act])
    step <- numeric(J)
    step[act] <- pmin(pmax(-e$g[act] / h, -max_step), max_step)
    pending <- act
    for (halve in 0:59) {
      if (!length(pending)) break
      t <- peer_estep_eval(z[pending] + step[pending], pending, A, T[pending],
                           mu, sigma, dat)
      round_l <- 64 * .Machine$double.eps * abs(e$l[pending])
      ok <- is.finite(t$l) & (t$l >= e$l[pending] |
              (t$l >= e$l[pending] - round_l & abs(t$g) < abs(e$g[pending])))
      acc <- pending[ok]
      z[acc] <- z[acc] + step[acc]
      for (k in names(e)) e[[k]][acc] <- t[[k]][ok]
      pending <- pending[!ok]
      step[pending] <- step[pending] * 0.5
    }
    status[pending] <- 3L
    iter[pending] <- it
    active[pending] <- FALSE
    acc <- setdiff(act, pending)
    tiny <- acc[abs(step[acc]) <= 1e-13 * (1 + abs(z[acc]))]
    status[tiny] <- 0L
    iter[tiny] <- it + 1L
    active[tiny] <- FALSE
  }
  h <- ifelse(e$H < 0, e$H, e$HF)
  status[status == 0L & !(e$H < 0)] <- 3L
  list(z = z, se = 1 / sqrt(-h), loglik = e$l, iter = iter, status = status)
}

# --- M-step and EM -------------------------------------------------------------

#' `max_iter` iterations of optim's L-BFGS-B on Q (and w) with beta fixed;
#' optim stops early when J decreased by less than `abs_tol` (relative to J,
#' as factr needs) in an iteration.
peer_mstep <- function(Q, w, z, dat, max_iter, abs_tol) {
  bt <- exp(z)[dat$p]
  S <- dat$S
  K <- dat$K
  learned <- is.null(dat$reward)
  unpack <- function(x) list(Q = matrix(x[seq_len(S * K)], S, K),
                             w = if (learned) matrix(x[S * K + seq_len(S * K)], S, K))
  cache <- new.env()
  fg <- function(x) {
    if (!identical(x, cache$x)) {
      u <- unpack(x)
      o <- peer_objective(u$Q, u$w, bt, dat)
      cache$x <- x
      cache$value <- o$value
      cache$grad <- c(o$grad_Q, o$grad_w)
      cache$n <- (if (is.null(cache$n)) 0 else cache$n) + 1
    }
    cache
  }
  x0 <- c(Q, if (learned) w)
  o <- stats::optim(x0, function(x) fg(x)$value, function(x) fg(x)$grad,
                    method = "L-BFGS-B",
                    control = list(maxit = max_iter, lmm = 10, pgtol = 0,
                                   factr = abs_tol / max(1, abs(fg(x0)$value)) /
                                     .Machine$double.eps))
  u <- unpack(o$par)
  list(Q = u$Q, w = u$w, value = o$value, n_eval = cache$n,
       components = peer_objective(u$Q, u$w, bt, dat, grad = FALSE)$components)
}

#' Starting values of rlpsy_fit: its starting Q (the task's values with an
#' observed reward), w = 0, z = 0, prior N(0, 1).
peer_init <- function(dat) {
  Q <- dat$Q0
  Q[!dat$av] <- 0
  list(Q = Q, w = if (is.null(dat$reward)) matrix(0, dat$S, dat$K),
       z = numeric(dat$J), prior = c(mu = 0, sigma = 1))
}

#' The plain GEM (empirical-Bayes prior), in plain R. Gives up, not
#' converged, after `max_time` seconds (setting; Inf when absent).
peer_fit <- function(dat, verbose = FALSE) {
  set <- dat$set
  max_time <- if (is.null(set$max_time)) Inf else set$max_time
  t_start <- Sys.time()
  st <- peer_init(dat)
  J_old <- Inf
  converged <- FALSE
  trace <- numeric(0)
  for (it in seq_len(set$max_iter)) {
    e <- peer_estep(st$Q, st$z, st$prior[["mu"]], st$prior[["sigma"]], dat,
                    set$estep_iter, set$estep_tol)
    max_dz <- max(abs(e$z - st$z))
    st$z <- e$z
    mu <- mean(e$z)
    st$prior <- c(mu = mu, sigma = sqrt(mean((e$z - mu)^2 + e$se^2)))
    m <- peer_mstep(st$Q, st$w, st$z, dat, set$mstep_iter, set$tol * dat$N * 1e-2)
    st$Q <- m$Q
    st$w <- m$w
    total <- m$value + sum((st$z - st$prior[["mu"]])^2) / (2 * st$prior[["sigma"]]^2)
    trace <- c(trace, total)
    if (verbose) cat(sprintf("plain R: iter %d  J = %.10g  max|dz| = %.2e\n", it, total, max_dz))
    change <- abs(J_old - total)
    J_old <- total
    if (change < set$tol * dat$N && max_dz < set$tol_z) {
      converged <- TRUE
      break
    }
    if (as.numeric(difftime(Sys.time(), t_start, units = "secs")) > max_time) break
  }
  e <- peer_estep(st$Q, st$z, st$prior[["mu"]], st$prior[["sigma"]], dat,
                  set$estep_iter, set$estep_tol)
  st$z <- e$z
  c(st, list(se = e$se, iterations = it, converged = converged, trace = trace))
}

#' Objective with the prior term, as core_objective reports it.
peer_total <- function(Q, w, z, mu, sigma, dat) {
  o <- peer_objective(Q, w, exp(z)[dat$p], dat, grad = TRUE)
  prior <- sum((z - mu)^2) / (2 * sigma^2)
  list(total = o$value + prior, components = c(o$components, prior = prior),
       grad_Q = o$grad_Q, grad_w = o$grad_w)
}

# --- command line ----------------------------------------------------------------

#' Check at the common point (`what` "check" or "both") and fit ("fit" or
#' "both"); write plain_r_* files into `dir`.
peer_plain_r_main <- function(dir, what = "both") {
  dat <- peer_read(dir)
  set <- dat$set
  Qc <- unname(as.matrix(utils::read.csv(file.path(dir, "check_Q.csv"), header = FALSE)))
  zc <- utils::read.csv(file.path(dir, "check_z.csv"))$z
  wc <- if (is.null(dat$reward)) unname(as.matrix(utils::read.csv(
    file.path(dir, "check_w.csv"), header = FALSE)))
  if (what %in% c("check", "both")) {
    chk <- peer_total(Qc, wc, zc, set$check_mu, set$check_sigma, dat)
    ec <- peer_estep(Qc, zc, set$check_mu, set$check_sigma, dat, set$estep_iter, set$estep_tol)
    utils::write.csv(data.frame(name = c("total", names(chk$components)),
                                value = c(chk$total, chk$components)),
                     file.path(dir, "plain_r_check.csv"), row.names = FALSE)
    utils::write.table(chk$grad_Q, file.path(dir, "plain_r_check_grad.csv"),
                       sep = ",", row.names = FALSE, col.names = FALSE)
    utils::write.csv(data.frame(z = ec$z), file.path(dir, "plain_r_check_estep.csv"),
                     row.names = FALSE)
  }
  if (what == "check") return(invisible())
  t0 <- Sys.time()
  fit <- peer_fit(dat)
  secs <- as.numeric(difftime(Sys.time(), t0, units = "secs"))
  fin <- peer_total(fit$Q, fit$w, fit$z, fit$prior[["mu"]], fit$prior[["sigma"]], dat)
  utils::write.csv(data.frame(
    name = c("time_s", "iterations", "converged", "objective", "mu", "sigma"),
    value = c(secs, fit$iterations, fit$converged, fin$total, fit$prior)),
    file.path(dir, "plain_r_fit.csv"), row.names = FALSE)
  utils::write.table(fit$Q, file.path(dir, "plain_r_Q.csv"), sep = ",",
                     row.names = FALSE, col.names = FALSE)
  if (!is.null(fit$w)) utils::write.table(fit$w, file.path(dir, "plain_r_w.csv"),
                                          sep = ",", row.names = FALSE, col.names = FALSE)
  utils::write.csv(data.frame(z = fit$z), file.path(dir, "plain_r_z.csv"), row.names = FALSE)
  invisible(fit)
}

if (sys.nframe() == 0L && length(commandArgs(TRUE)) >= 1L) {
  peer_plain_r_main(commandArgs(TRUE)[1])
}
