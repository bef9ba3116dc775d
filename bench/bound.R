# How close one objective + gradient evaluation is to the work it cannot
# avoid.
#
#   Rscript bench/bound.R [--quick]
#
# On the 10^6-decision problem (quick: 10^5) compares, single-threaded,
# rlpsy:::core_objective (value only, and value + gradient) with a tight C++
# loop (bench/bound.cpp, compiled with Rcpp::sourceCpp at R's usual -O2)
# that makes one pass over the same units (participant x state) computing K
# exponentials and one log each, and with the same loop plus the gradient
# accumulation. Also checks that the loop's value matches the package's
# behaviour term. Writes results/bound.*.
source(local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  file.path(if (length(f)) dirname(f[1]) else "bench", "common.R")
}))

quick <- is_quick()
label <- if (quick) "1e5" else "1e6"
reps <- if (quick) 5L else 9L
message("bound: compiling bench/bound.cpp")
Rcpp::sourceCpp(file.path(BENCH_DIR, "bound.cpp"), cacheDir = tempfile("bound-"))

prob <- bench_problem(label)
enc <- bench_encode(prob)
ctrl <- rlpsy_control(threads = 1)
prep <- bench_core(enc, ctrl, gamma = 0.9)
settings <- prep$settings
core <- prep$core
st <- prep$state
enc <- prep$enc  # with the fit's choice sets as `available`
z <- rlpsy:::core_estep(core, st$theta, st$z, 0, 1, 1L, 100L, 1e-8)$z
info <- rlpsy:::core_info(core)

# the units, state-major like the package: (state, participant) with counts
S <- enc$n_states
K <- enc$n_actions
J <- enc$n_participants
key <- enc$state * J + enc$participant
ukey <- sort(unique(key))
u_n <- as.double(tabulate(match(key, ukey), length(ukey)))
u_state <- as.integer(ukey %/% J)
u_beta <- exp(z)[ukey %% J + 1]
stopifnot(length(ukey) == info$n_units)
A <- rlpsy:::identified_advantage(st$theta, enc$available, ctrl$eps)
# actions outside a state's choice set (never taken there) are not in its
# softmax: -Inf makes their exponential 0 (still computed, as K per unit)
A_bound <- A
A_bound[!enc$available] <- -Inf
A_rows <- as.vector(t(A_bound))
amax <- apply(A_bound, 1, max)

# check: behaviour term = sum_u n_u lse_u - sum_t beta_j A(s_t, a_t)
lse <- bound_value(u_state, u_beta, u_n, A_rows, amax, K)
chosen <- sum(exp(z)[enc$participant + 1] * A[cbind(enc$state + 1, enc$action + 1)])
pkg <- rlpsy:::core_objective(core, st$theta, NULL, z, 0, 1, 1L, FALSE)$components[["behaviour"]]
check <- abs((lse - chosen) - pkg) / abs(pkg)
message(sprintf("bound: relative difference of the behaviour term %.2e", check))

fns <- list(
  "bound: K exp + 1 log per unit (bound.cpp)" =
    function() bound_value(u_state, u_beta, u_n, A_rows, amax, K),
  "bound + gradient accumulation (bound.cpp)" =
    function() bound_value_grad(u_state, u_beta, u_n, A_rows, amax, K),
  "rlpsy core_objective, value only" =
    function() rlpsy:::core_objective(core, st$theta, NULL, z, 0, 1, 1L, FALSE),
  "rlpsy core_objective, value + gradient" =
    function() rlpsy:::core_objective(core, st$theta, NULL, z, 0, 1, 1L, TRUE)
)
# one CPU for every loop (the machine's vCPUs differ in speed)
cpu <- max(0L, parallel::detectCores() - 1L)
pinned <- pin_main_thread(cpu)
inner <- vapply(fns, calibrate_inner, 1L, min_time = 0.1)
times <- matrix(NA_real_, reps, length(fns))
for (i in seq_len(reps)) for (k in seq_along(fns)) times[i, k] <- time_call(fns[[k]], inner[k])
t_med <- apply(times, 2, med)
res <- data.frame(
  loop = names(fns), threads = 1L, time_ms = 1000 * t_med,
  ns_per_unit = 1e9 * t_med / info$n_units,
  ns_per_decision = 1e9 * t_med / enc$n_decisions,
  ratio_to_bound = t_med / t_med[1], stringsAsFactors = FALSE)
write_table(res, "bound", "One objective evaluation against the unavoidable work",
  notes = c(
    sprintf("Problem `%s`: %s decisions, %s units (participant, state), %d states x %d actions, %s Bellman tuples; single thread.",
            label, format(enc$n_decisions, big.mark = ","),
            format(info$n_units, big.mark = ","), S, K,
            format(info$n_tuples, big.mark = ",")),
    "The bound makes one pass over the units in the package's state-major order with K exponentials and one log each, and nothing else; the package's objective also computes the advantage and soft values per state, the Bellman pass over the tuples, the CQL term, the gradient through the normalisation, and converts Q and the gradient between R and C++.",
    sprintf("The bound's log-normaliser sum minus the chosen-action term equals the package's behaviour term to a relative %.1e.", check),
    sprintf("Times are medians of %d repeats (each of `calls` back-to-back calls, about 0.1 s), the loops interleaved in one process%s; calls: %s.",
            reps, if (pinned) sprintf(", its main thread pinned to CPU %d", cpu) else "",
            paste(inner, collapse = ", "))))
