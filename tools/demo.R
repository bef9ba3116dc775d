# The main job: a demo fit on the bundled example data (a simulated
# gridworld with known beta), with a recovery check.
library(rlpsy)
cat("rlpsy", format(utils::packageVersion("rlpsy")), "demo on the bundled example data\n\n")
data(rlpsy_example, package = "rlpsy")
task <- attr(rlpsy_example, "task")
print(rlpsy_data(rlpsy_example, participant = "participant", state = "state",
                 action = "action", next_state = "next_state", done = "done",
                 reward = "reward", available = task$available))
cat("\n")
t0 <- proc.time()[["elapsed"]]
fit <- rlpsy_fit(rlpsy_example, participant = "participant", state = "state",
                 action = "action", next_state = "next_state", done = "done",
                 reward = "reward", available = task$available,
                 gamma = attr(rlpsy_example, "gamma"),
                 tau = attr(rlpsy_example, "tau"))
elapsed <- proc.time()[["elapsed"]] - t0
print(summary(fit))
truth <- tapply(rlpsy_example$true_beta, rlpsy_example$participant, `[`, 1)
truth <- truth[names(coef(fit))]
ci <- confint(fit)
cat(sprintf(paste0("\nRecovery of the true beta: correlation (log scale) %.3f, ",
                   "median estimate/true %.3f, 95%% interval coverage %.3f\n"),
            cor(log(coef(fit)), log(truth)), stats::median(coef(fit) / truth),
            mean(ci[, 1] <= truth & truth <= ci[, 2])))
cat(sprintf("Fit time: %.2f s for %d decisions\n", elapsed, nobs(fit)))
