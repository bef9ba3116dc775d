# Run the whole rlpsy benchmark suite.
#
#   Rscript bench/run.R            # full benchmark (about 30-40 minutes)
#   Rscript bench/run.R --quick    # smoke version for CI (about a minute)
#
# Runs each script in its own R process (each also runs on its own, see
# bench/README.md), then bench/summary.R. Full results go to bench/results/,
# quick ones to bench/results/quick/. Simulated problems are cached for the
# duration of the run in a temporary directory (RLPSY_BENCH_CACHE) so the
# scripts share them. rlpsy is loaded with library(rlpsy), so R_LIBS decides
# which installed copy is measured.
args <- commandArgs(TRUE)
quick <- "--quick" %in% args
here <- local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  normalizePath(if (length(f)) dirname(f[1]) else "bench")
})
scripts <- if (quick) {
  c("scaling.R", "threads.R", "qtypes.R", "bound.R", "peers.R", "realdata.R",
    "minibatch.R", "measurement.R")
} else {
  # scaling last: its 10^7 fit is the longest and may hit its time limit
  c("threads.R", "qtypes.R", "bound.R", "peers.R", "realdata.R", "minibatch.R",
    "measurement.R", "arena.R", "scaling.R")
}
cache <- tempfile("rlpsy-bench-cache-")
dir.create(cache)
on.exit(unlink(cache, recursive = TRUE), add = TRUE)
Sys.setenv(RLPSY_BENCH_CACHE = cache)
rscript <- file.path(R.home("bin"), "Rscript")
status <- integer(0)
t_all <- Sys.time()
for (s in scripts) {
  message(sprintf("== %s%s", s, if (quick) " --quick" else ""))
  t0 <- Sys.time()
  status[s] <- system2(rscript, c(file.path(here, s), if (quick) "--quick"))
  message(sprintf("== %s: exit status %d, %.1f s", s, status[s],
                  as.numeric(difftime(Sys.time(), t0, units = "secs"))))
}
system2(rscript, c(file.path(here, "summary.R"), if (quick) "--quick"))
message(sprintf("== all done in %.1f s", as.numeric(difftime(Sys.time(), t_all, units = "secs"))))
if (any(status != 0)) {
  message("failed: ", paste(names(status)[status != 0], collapse = ", "))
  quit(save = "no", status = 1)
}
