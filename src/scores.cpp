// Rcpp glue for person scores: each participant's behaviour log-likelihood
// on a grid of z = log beta values, the input of the quadrature and the
// posterior grids of R/scores.R. No numerics here beyond the loop, and
// the quintic Hermite interpolation of the tables of l_j (value and two
// derivatives at equally spaced z) that stand in for the core with several
// dimensions of beta (pair_table() in R/person.R).
#include "core.h"

using namespace Rcpp;
using namespace rlpsy_glue;

// The fit's model with the identified advantage of Q (theta) under the
// fit's settings, computed with `run`: what the per-participant loops below
// read A and amax from.
static const rlpsy::Model& advantage_at(Core* core, SEXP theta, ParallelRunner& run) {
  rlpsy::Model& m = core->model;
  std::vector<double> th(m.n_q());
  params_in(m, theta, true, th.data());
  m.advantage(th.data(), run);
  return m;
}

// Each participant's behaviour log-likelihood l_j with its first and second
// derivatives in z (rlpsy::estep_eval without prior) on the n equally
// spaced points lo[j] + i h[j], i = 0, ..., n - 1: a J x 3n matrix, columns
// l at the n points, then l', then l''. Rows with a non-finite lo[j] or
// h[j] are NA (so R can ask for a subset of the participants). The tables
// of core_person_grid_table(); parallel over participants as
// core_person_grid().
// [[Rcpp::export(rng = false)]]
NumericMatrix core_person_table(SEXP ptr, SEXP theta, NumericVector lo,
                                NumericVector h, int n, int threads) {
  return rlpsy_glue::with_interrupts([&]() -> NumericMatrix {
    Core* core = core_of(ptr);
    const rlpsy::Data& d = core->model.data();
    if (lo.size() != d.J || h.size() != d.J || n < 2)
      stop("internal: lo and h must have one value per participant, n >= 2");
    const int J = d.J;
    ParallelRunner run = core->runner(threads);
    const rlpsy::Model& m = advantage_at(core, theta, run);
    const double* A = m.A().data();
    const double* amax = m.amax().data();
    NumericMatrix out(J, 3 * n);
    const double* lo_ = lo.begin();
    const double* h_ = h.begin();
    double* res = out.begin();  // written by the workers, no R API touched
    const double inf = std::numeric_limits<double>::infinity();
    run(J, 1, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) {
        const bool ok = std::isfinite(lo_[i]) && std::isfinite(h_[i]);
        const rlpsy::PersonStats& p = d.shard_of(static_cast<int>(i));
        const int j = static_cast<int>(i) - p.j0;
        const double T = ok ? rlpsy::chosen_advantage(d, p, A, j) : 0.0;
        for (int g = 0; g < n; ++g) {
          const size_t k = i + static_cast<size_t>(g) * J;
          const size_t step = static_cast<size_t>(n) * J;
          if (!ok) {
            res[k] = res[k + step] = res[k + 2 * step] = NA_REAL;
            continue;
          }
          const rlpsy::EEval v = rlpsy::estep_eval(d, p, A, amax, j, T,
                                                   lo_[i] + g * h_[i], 0.0, inf);
          res[k] = v.l;
          res[k + step] = v.g;
          res[k + 2 * step] = v.H;
        }
      }
    });
    return out;
  });
}

// Quintic Hermite interpolation on the cell of row j's table (J x 3n of
// core_person_table(): values, first and second derivatives at lo + i h)
// that holds z: the polynomial of degree 5 matching the value and both
// derivatives at the cell's ends (error O(h^6)). NaN where z is outside
// the table.
static double table_interp(const double* tab, size_t J, int n, size_t j, double lo,
                           double h, double z) {
  const double x = (z - lo) / h;
  if (!(x >= 0.0 && x <= n - 1)) return R_NaN;
  int i = static_cast<int>(x);
  if (i > n - 2) i = n - 2;
  const double t = x - i;
  const size_t step = static_cast<size_t>(n) * J;
  const size_t k0 = j + static_cast<size_t>(i) * J, k1 = k0 + J;
  const double f0 = tab[k0], f1 = tab[k1];
  const double d0 = tab[k0 + step] * h, d1 = tab[k1 + step] * h;
  const double s0 = tab[k0 + 2 * step] * h * h, s1 = tab[k1 + 2 * step] * h * h;
  const double t2 = t * t, t3 = t2 * t, t4 = t3 * t, t5 = t4 * t;
  return f0 * (1.0 - 10.0 * t3 + 15.0 * t4 - 6.0 * t5) +
         d0 * (t - 6.0 * t3 + 8.0 * t4 - 3.0 * t5) +
         s0 * 0.5 * (t2 - 3.0 * t3 + 3.0 * t4 - t5) +
         s1 * 0.5 * (t3 - 2.0 * t4 + t5) +
         d1 * (-4.0 * t3 + 7.0 * t4 - 3.0 * t5) +
         f1 * (10.0 * t3 - 15.0 * t4 + 6.0 * t5);
}

// l_j(z) at the z values in row j of Z (J x G), from row j's table (`tab`,
// J x 3n, with `lo` and `h`, of core_person_table(); table_interp()) where
// the table covers z, and by the core (rlpsy::person_loglik) elsewhere, or
// everywhere without tables (`tab` null) or where row j has none
// (non-finite lo[j] or h[j]). Non-finite z gives NA. Parallel over
// participants with the fit's runner; each participant writes only its
// own row, so the result does not depend on `threads`.
static NumericMatrix person_grid(SEXP ptr, SEXP theta, const NumericMatrix& Z,
                                 const NumericMatrix* tab, const NumericVector* lo,
                                 const NumericVector* h, int threads) {
  Core* core = core_of(ptr);
  const rlpsy::Data& d = core->model.data();
  const int J = d.J, G = Z.ncol(), n = tab ? tab->ncol() / 3 : 0;
  if (Z.nrow() != J) stop("internal: Z must have one row per participant");
  if (tab && (tab->nrow() != J || lo->size() != J || h->size() != J || n < 2))
    stop("internal: the table must have one row per participant");
  ParallelRunner run = core->runner(threads);
  const rlpsy::Model& m = advantage_at(core, theta, run);
  const double* A = m.A().data();
  const double* amax = m.amax().data();
  NumericMatrix out(J, G);
  const double* z = Z.begin();
  const double* t0 = tab ? tab->begin() : nullptr;
  const double* lo_ = tab ? lo->begin() : nullptr;
  const double* h_ = tab ? h->begin() : nullptr;
  double* res = out.begin();  // written by the workers, no R API touched
  run(J, 4, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) {
      const bool has = tab && std::isfinite(lo_[i]) && std::isfinite(h_[i]) && h_[i] > 0;
      const rlpsy::PersonStats& p = d.shard_of(static_cast<int>(i));
      const int j = static_cast<int>(i) - p.j0;
      bool have_T = false;
      double T = 0.0;
      for (int g = 0; g < G; ++g) {
        const size_t k = i + static_cast<size_t>(g) * J;
        if (!std::isfinite(z[k])) {
          res[k] = NA_REAL;
          continue;
        }
        double r = has ? table_interp(t0, J, n, i, lo_[i], h_[i], z[k]) : R_NaN;
        if (std::isnan(r)) {
          if (!have_T) {
            T = rlpsy::chosen_advantage(d, p, A, j);
            have_T = true;
          }
          r = rlpsy::person_loglik(d, p, A, amax, j, T, z[k]);
        }
        res[k] = r;
      }
    }
  });
  return out;
}

// Behaviour log-likelihoods l_j(z) (no prior; rlpsy::person_loglik) of every
// participant j at the z values in row j of Z (J x G), with the identified
// advantage of Q under the fit's settings (person_grid() without tables).
// Returns a J x G matrix; a non-finite z gives NA (so R can ask for a
// subset of the participants); the result does not depend on `threads`.
// [[Rcpp::export(rng = false)]]
NumericMatrix core_person_grid(SEXP ptr, SEXP theta, NumericMatrix Z,
                               int threads) {
  return rlpsy_glue::with_interrupts([&]() -> NumericMatrix {
    return person_grid(ptr, theta, Z, nullptr, nullptr, nullptr, threads);
  });
}

// core_person_grid() from the tables of core_person_table() (`tab`, `lo`,
// `h`): each l_j(z) is interpolated from row j's table where the table
// covers z and evaluated by the core elsewhere (person_grid()).
// [[Rcpp::export(rng = false)]]
NumericMatrix core_person_grid_table(SEXP ptr, SEXP theta, NumericMatrix Z,
                                     NumericMatrix tab, NumericVector lo,
                                     NumericVector h, int threads) {
  return rlpsy_glue::with_interrupts([&]() -> NumericMatrix {
    return person_grid(ptr, theta, Z, &tab, &lo, &h, threads);
  });
}
