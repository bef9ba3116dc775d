# A short, seeded fuzz run (the long one is tools/fuzz.R): random malformed
# or extreme inputs to the public functions, executed in a child R process.
# Each must end in a value or an R error, never in a crash (a signal, an
# abort or a hang); and every error must be an rlpsy error.

test_that("random malformed and extreme inputs never crash R", {
  skip_on_cran()
  skip_if(nzchar(Sys.getenv("RLPSY_SKIP_FUZZ")))
  lib <- dirname(find.package("rlpsy"))
  res <- fuzz_run(500, seed = 20240501L, lib = lib, helper = test_path("helper-fuzz.R"),
                  timeout = 120)
  expect_equal(nrow(res), 500L)
  crashes <- res[res$outcome == "crash", , drop = FALSE]
  expect_equal(nrow(crashes), 0L,
               info = paste("crashed cases:", paste(crashes$case, collapse = ", ")))
  other <- res[res$outcome %in% c("r_error", "gen_error", "nonfinite"), , drop = FALSE]
  expect_equal(nrow(other), 0L,
               info = paste(other$fun, other$message, sep = ": ", collapse = "\n"))
  # the run exercises both outcomes
  expect_gt(sum(res$outcome == "value"), 20)
  expect_gt(sum(res$outcome == "rlpsy_error"), 20)
})

test_that("the fuzz cases are reproducible", {
  a <- fuzz_case(17, 3)
  b <- fuzz_case(17, 3)
  expect_identical(a$fun, b$fun)
  expect_identical(names(a$args), names(b$args))
})
