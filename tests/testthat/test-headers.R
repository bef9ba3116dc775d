# The numerical core is plain C++ (inst/include/rlpsy): it compiles and runs
# without R, Rcpp or TBB, and gives the same objective as the package.

test_that("the core headers compile and run without the R glue", {
  skip_on_cran()
  cxx <- tryCatch(system2(file.path(R.home("bin"), "R"), c("CMD", "config", "CXX17"),
                          stdout = TRUE, stderr = FALSE), error = function(e) "")
  cxx <- trimws(cxx[length(cxx)])
  skip_if(!nzchar(cxx), "no C++17 compiler configured for R")
  inc <- system.file("include", package = "rlpsy")
  # lbfgs.h needs Eigen's headers (not R); R CMD check --as-cran hides
  # packages that are only LinkingTo, so it is left out when they are not found
  eigen <- system.file("include", package = "RcppEigen")
  dir <- tempfile("headers-")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE), add = TRUE)
  src <- file.path(dir, "main.cpp")
  writeLines(c(
    '#include "rlpsy/data.h"', '#include "rlpsy/model.h"', '#include "rlpsy/estep.h"',
    if (nzchar(eigen)) '#include "rlpsy/lbfgs.h"', '#include "rlpsy/simulate.h"',
    '#include <cstdio>',
    'int main() {',
    '  // 3 participants, 2 states, 2 actions; observed reward',
    '  int off[] = {0, 2, 5, 6}, st[] = {0, 1, 0, 1, 0, 1}, ac[] = {0, 1, 1, 0, 0, 1};',
    '  int nx[] = {1, 0, 1, 0, 1, 0}, dn[] = {0, 1, 0, 1, 0, 1}, av[] = {1, 1, 1, 1};',
    '  double rw[] = {0.5, -1, 0.2, 1, 0.5, -1};',
    '  rlpsy::RawDecisions raw;',
    '  raw.n_participants = 3; raw.n_states = 2; raw.n_actions = 2; raw.offsets = off;',
    '  raw.state = st; raw.action = ac; raw.next_state = nx; raw.done = dn; raw.reward = rw;',
    '  raw.available = av;',
    '  rlpsy::Settings set; set.gamma = 0.9; set.tau = 1; set.lambda_bell = 2;',
    '  rlpsy::Model m(rlpsy::compress(raw, rlpsy::Runner(), 2), set);',
    '  double theta[] = {0.3, -0.2, 0.1, 0.4}, z[] = {0.1, -0.3, 0.5}, g[4];',
    '  double mu[] = {0.2, 0.2, 0.2};',
    '  m.set_beta(z);',
    '  double f = m.value_grad(theta, g, rlpsy::Runner(), nullptr) + m.prior(z, mu, 0.8);',
    '  std::printf("%.17g\\n", f);',
    '  return 0;',
    '}'), src)
  exe <- file.path(dir, "core-test")
  out <- suppressWarnings(system2(strsplit(cxx, " ")[[1]][1],
    c(strsplit(cxx, " ")[[1]][-1], "-std=gnu++17", "-O1", paste0("-I", inc),
      if (nzchar(eigen)) c("-isystem", eigen), src, "-o", exe), stdout = TRUE, stderr = TRUE))
  expect_true(file.exists(exe), info = paste(c(cxx, inc, eigen, src, out), collapse = "\n"))
  standalone <- as.numeric(system2(exe, stdout = TRUE))
  d <- data.frame(id = c(1, 1, 2, 2, 2, 3), s = c(0, 1, 0, 1, 0, 1), a = c(0, 1, 1, 0, 0, 1),
                  s2 = c(1, 0, 1, 0, 1, 0), done = c(0, 1, 0, 1, 0, 1),
                  r = c(0.5, -1, 0.2, 1, 0.5, -1))
  enc <- rlpsy_data(d, "id", "s", "a", "s2", done = "done", reward = "r")
  core <- rlpsy:::core_new(enc, list(gamma = 0.9, tau = 1, eps = 1e-8, lambda_bell = 2,
                                     lambda_cql = 0, lambda_r = 0, normalise = "state"))
  Q <- matrix(c(0.3, 0.1, -0.2, 0.4), 2)
  pkg <- rlpsy:::core_objective(core, Q, NULL, c(0.1, -0.3, 0.5), 0.2, 0.8, 1L, FALSE)$value
  expect_equal(standalone, pkg, tolerance = 1e-14)
})
