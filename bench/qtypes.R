# Cost of one objective + gradient evaluation per Q parameterisation, in one
# process, on the 10^6-decision problem (10,000 participants x 100
# decisions, 500 states, 5 actions; quick mode: the 10^5 problem).
#
#   Rscript bench/qtypes.R [--quick]
#
# The behaviour pass over the data is the same for every Q type (it sees
# only the S x K table of values); what differs is mapping theta to the
# table and the gradient back (O(S K P) for a linear Q in P features,
# O(S K P H) for a network with H hidden units). Times each type with 1 and
# 2 threads (alternating, medians) and checks that 1 and 2 threads give
# identical values and gradients. Writes results/qtypes.*.
source(local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  file.path(if (length(f)) dirname(f[1]) else "bench", "common.R")
}))

quick <- is_quick()
label <- if (quick) "1e5" else "1e6"
reps <- if (quick) 5L else 9L
prob <- bench_problem(label)
enc <- bench_encode(prob)
ctrl <- rlpsy_control(threads = 2)

# features of every (state, action): 8 random columns (a stand-in for task
# descriptors; the cost does not depend on their values)
set.seed(1)
pairs <- which(enc$available, arr.ind = TRUE)
feats <- data.frame(state = enc$states[pairs[, 1]], action = enc$actions[pairs[, 2]],
                    matrix(rnorm(nrow(pairs) * 8), nrow(pairs),
                           dimnames = list(NULL, paste0("x", 1:8))))
types <- list(
  "table" = rlpsy_q_table(),
  "linear (8 features)" = rlpsy_q_linear(feats),
  "mlp (8 features, 16 hidden)" = rlpsy_q_mlp(feats, hidden = 16)
)

rows <- list()
for (nm in names(types)) {
  message("qtypes: ", nm)
  prep <- bench_core(enc, ctrl, gamma = 0.9, q = types[[nm]])
  core <- prep$core
  theta <- prep$state$theta
  z <- numeric(enc$n_participants)
  f <- function(threads) rlpsy:::core_objective(core, theta, NULL, z, 0, 1, threads, TRUE)
  same <- identical(f(1L), f(2L))
  inner <- calibrate_inner(function() f(1L), 0.2)
  t <- matrix(NA_real_, reps, 2L)
  for (i in seq_len(reps)) for (th in 1:2) t[i, th] <- time_call(function() f(th), inner)
  rows[[nm]] <- data.frame(q = nm, parameters = length(theta),
                           seconds_1_thread = med(t[, 1]), seconds_2_threads = med(t[, 2]),
                           identical_1_2 = same, stringsAsFactors = FALSE)
}
res <- do.call(rbind, rows)
res$relative_to_table <- res$seconds_2_threads / res$seconds_2_threads[1]
rownames(res) <- NULL
print(res)
write_table(res, "qtypes",
  paste0("One objective + gradient evaluation per Q parameterisation, ", label,
         " decisions"),
  notes = c(paste0("Problem `", label, "`: ", format(enc$n_decisions, big.mark = ","),
                   " decisions, ", enc$n_participants, " participants, ", enc$n_states,
                   " states x ", enc$n_actions, " actions, observed reward."),
            "`seconds_*`: median over repeats of one rlpsy:::core_objective() call with the gradient, at the starting theta of a fit and z = 0.",
            "`identical_1_2`: value and gradient identical at 1 and 2 threads.",
            "Compare the rows with each other (same process, alternating); the thread speedup of this run depends on what else the 2-core machine ran (see the load average) and is measured properly by threads.R."))
