# Coverage of confint(method = "boot") against the Wald intervals where the
# latter under-cover (issue 13, item 5): few decisions per state and a
# learned reward, so the estimated advantage is noisy and attenuates beta.
#
#   Rscript bench/coverage.R [--quick]
#
# Each data set: a random task (35 states, "harsh", or 30, "mild", x 4
# actions, 3 successors per pair; tests/testthat/helper-recovery.R), 100
# participants with
# log beta ~ N(log 2, 0.5^2), 30 decisions each (about 0.2 decisions per
# (state, action) pair per participant), fitted without the reward column
# (learned reward). One participant bootstrap (boot_scores(), R replicates)
# gives both the shipped interval (the basic, reflected interval of
# confint(method = "boot")) and the plain percentile interval of the same
# mixture, for comparison; and confint(method = "sandwich"). Coverage is
# the share of participants whose true beta lies in their 95% interval,
# pooled over participants and data sets; width is the mean of
# log(upper / lower). Writes results/coverage.*.
source(local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  file.path(if (length(f)) dirname(f[1]) else "bench", "common.R")
}))
source(file.path(BENCH_DIR, "..", "tests", "testthat", "helper-recovery.R"))

quick <- is_quick()
n_sets <- if (quick) 1L else 5L
R <- if (quick) 40L else 200L
level <- 0.95
# scenario: states of the random task, decisions per participant
scenarios <- list(harsh = c(S = 35, n = 30), mild = c(S = 30, n = 30))

one_set <- function(k, scen) {
  task <- random_task(S = scen[["S"]], K = 4, seed = 3)
  sims <- simulate_people(task, n_participants = 100, n_decisions = scen[["n"]],
                          seed = 100 + k)
  fit <- suppressWarnings(fit_people(sims, reward = NULL))
  truth <- log(attr(sims, "beta")[names(coef(fit))])
  t0 <- proc.time()[["elapsed"]]
  bs <- suppressWarnings(rlpsy:::boot_scores(fit, R = R, seed = k))
  boot_s <- proc.time()[["elapsed"]] - t0
  probs <- c((1 - level) / 2, (1 + level) / 2)
  mix <- t(vapply(seq_along(fit$z), function(i) {
    rlpsy:::mixture_quantiles(bs$z[, i], bs$se[, i], probs)
  }, numeric(2)))
  basic <- cbind(2 * fit$z - mix[, 2], 2 * fit$z - mix[, 1])
  wald <- log(confint(fit, level = level))
  t0 <- proc.time()[["elapsed"]]
  sand <- log(confint(fit, level = level, method = "sandwich"))
  sand_s <- proc.time()[["elapsed"]] - t0
  stat <- function(lim) c(cover = mean(lim[, 1] <= truth & truth <= lim[, 2]),
                          width = mean(lim[, 2] - lim[, 1]))
  data.frame(scenario = "", states = scen[["S"]], set = as.character(k),
             participants = length(truth),
             decisions = fit$data$n_decisions, R = R,
             bias_z = mean(fit$z - truth),
             boot_bias_z = mean(colMeans(bs$z) - fit$z),
             wald_cover = stat(wald)[["cover"]], wald_width = stat(wald)[["width"]],
             pct_cover = stat(mix)[["cover"]], pct_width = stat(mix)[["width"]],
             boot_cover = stat(basic)[["cover"]], boot_width = stat(basic)[["width"]],
             sand_cover = stat(sand)[["cover"]], sand_width = stat(sand)[["width"]],
             boot_s = boot_s, sand_s = sand_s, stringsAsFactors = FALSE)
}

run_scenario <- function(name) {
  rows <- do.call(rbind, lapply(seq_len(n_sets), function(k) {
    r <- one_set(k, scenarios[[name]])
    message(name, " ", paste(names(r), format(r, digits = 3), collapse = " "))
    r
  }))
  rows$scenario <- name
  pooled <- rows[1, ]
  pooled$set <- "pooled"
  for (v in setdiff(names(rows), c("scenario", "states", "set", "R"))) {
    pooled[[v]] <- if (v %in% c("participants", "decisions", "boot_s", "sand_s")) sum(rows[[v]]) else
      stats::weighted.mean(rows[[v]], rows$participants)
  }
  rbind(rows, pooled)
}
rows <- do.call(rbind, lapply(names(scenarios), run_scenario))
write_table(rows, "coverage",
            "Coverage of 95% intervals for beta: Wald vs participant bootstrap",
            notes = c(
              "Task: random_task(S = states, K = 4, seed = 3) (harsh: 35 states, mild: 30); 100 participants per data set, log beta ~ N(log 2, 0.5^2), 30 decisions each; learned reward (no reward column), gamma = 0.9, tau = 1, threads = 2.",
              "cover: share of participants whose true beta is inside their 95% interval; width: mean log(upper / lower).",
              "bias_z: mean(z_hat - true z) (attenuation from the noise in A); boot_bias_z: mean over participants of mean_b(z_b) - z_hat, the bootstrap's estimate of it.",
              "wald: exp(z_hat +- 1.96 SE), conditional on Q. pct: 2.5/97.5% quantiles of the mixture of the replicates' N(z_b, se_b^2) (the pre-fix confint(method = \"boot\")). boot: the shipped confint(method = \"boot\"), the same mixture reflected about z_hat ([2 z_hat - q_hi, 2 z_hat - q_lo]).",
              "sand: confint(method = \"sandwich\") (delta method through z*(theta, w), sandwich covariance of the task parameters: 280 (harsh) or 240 (mild), prior fixed, no bias correction).",
              "boot_s, sand_s: wall time of the R bootstrap refits and re-scorings, and of the sandwich, for one data set (pooled row: total).",
              "Why boot stays below 0.95 in the harsh scenario: the bootstrap sees the sampling spread of the penalised Q around Q_hat, not the bias of Q_hat itself. On harsh data set 4 the decision-weighted mean squared error of A_hat against the true advantage is 0.37, the bootstrap spread of A_b around A_hat 0.12, so boot_bias_z recovers about half of bias_z (pooled -0.10 vs -0.22). In the mild scenario (Wald 0.88, the issue's regime) the reflected interval reaches 0.944."),
            quick = quick)
