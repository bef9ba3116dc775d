# A simulated latent regression: 300 participants x 100 decisions on a
# 10-state, 3-action task, log beta = 0.3 + 0.6 x + N(0, 0.3^2); person
# data with x, a factor g and a pure-noise covariate. Cached.
latent_sims <- local({
  cache <- NULL
  function() {
    if (is.null(cache)) {
      task <- random_task(S = 10, K = 3, seed = 1)
      set.seed(3)
      J <- 300
      x <- rnorm(J)
      g <- factor(sample(c("a", "b"), J, replace = TRUE))
      noise <- rnorm(J)
      z <- 0.3 + 0.6 * x + rnorm(J, 0, 0.3)
      beta <- stats::setNames(exp(z), sprintf("p%03d", seq_len(J)))
      sims <- rlpsy_simulate(task, beta, 100, gamma = 0.9, tau = 1)
      pd <- data.frame(participant = names(beta), x = x, g = g, noise = noise,
                       stringsAsFactors = FALSE)
      cache <<- list(sims = sims, pd = pd, z = stats::setNames(z, names(beta)))
    }
    cache
  }
})
