// Rcpp glue for person scores: each participant's behaviour log-likelihood
// on a grid of z = log beta values, the input of the quadrature and the
// posterior grids of R/scores.R. No numerics here beyond the loop.
#include "core.h"

using namespace Rcpp;
using namespace rlpsy_glue;

// Behaviour log-likelihoods l_j(z) (no prior; rlpsy::person_loglik) of every
// participant j at the z values in row j of Z (J x G), with the identified
// advantage of Q under the fit's settings. Returns a J x G matrix; a
// non-finite z gives NA (so R can ask for a subset of the participants).
// Parallel over participants with the fit's runner; each participant writes
// only its own row, so the result does not depend on `threads`.
// [[Rcpp::export(rng = false)]]
NumericMatrix core_person_grid(SEXP ptr, SEXP theta, NumericMatrix Z,
                               int threads) {
  return rlpsy_glue::with_interrupts([&]() -> NumericMatrix {
    Core* core = core_of(ptr);
    rlpsy::Model& m = core->model;
    const rlpsy::Data& d = m.data();
    if (Z.nrow() != d.J) stop("internal: Z must have one row per participant");
    const int J = d.J, G = Z.ncol();
    std::vector<double> th(m.n_q());
    params_in(m, theta, true, th.data());
    ParallelRunner run = core->runner(threads);
    m.advantage(th.data(), run);
    const double* A = m.A().data();
    const double* amax = m.amax().data();
    NumericMatrix out(J, G);
    const double* z = Z.begin();
    double* res = out.begin();  // written by the workers, no R API touched
    run(J, 4, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) {
        const rlpsy::PersonStats& p = d.shard_of(static_cast<int>(i));
        const int j = static_cast<int>(i) - p.j0;
        const double T = rlpsy::chosen_advantage(d, p, A, j);
        for (int g = 0; g < G; ++g) {
          const size_t k = i + static_cast<size_t>(g) * J;
          res[k] = std::isfinite(z[k]) ? rlpsy::person_loglik(d, p, A, amax, j, T, z[k])
                                       : NA_REAL;
        }
      }
    });
    return out;
  });
}
