// Rcpp glue for the tables of l_j with several dimensions of beta: each
// (pseudo-)participant's behaviour log-likelihood with its first two
// derivatives on an equally spaced grid of z = log beta, and the quintic
// Hermite interpolation of those tables that stands in for the core on the
// interval grids and in the Metropolis chains of R/scores.R
// (pair_table() in R/person.R). Apart from core_person_grid() (scores.cpp)
// so that its loop compiles as before.
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

// l_i(x) of (pseudo-)participant i (global index; j its index in its
// shard p) from its row of the tables (`tab`, J x 3n, null for none;
// table_interp()) where they cover x, else by the core, with T_i
// (chosen_advantage()) computed on first use into T / have_T. Non-finite x
// gives NA.
static double table_or_core(const rlpsy::Data& d, const rlpsy::PersonStats& p, int j,
                            const double* A, const double* amax, const double* tab,
                            int n, const double* lo, const double* h, size_t i,
                            double x, double& T, bool& have_T) {
  if (!std::isfinite(x)) return NA_REAL;
  double r = R_NaN;
  if (tab && std::isfinite(lo[i]) && std::isfinite(h[i]) && h[i] > 0)
    r = table_interp(tab, d.J, n, i, lo[i], h[i], x);
  if (!std::isnan(r)) return r;
  if (!have_T) {
    T = rlpsy::chosen_advantage(d, p, A, j);
    have_T = true;
  }
  return rlpsy::person_loglik(d, p, A, amax, j, T, x);
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
      const rlpsy::PersonStats& p = d.shard_of(static_cast<int>(i));
      const int j = static_cast<int>(i) - p.j0;
      bool have_T = false;
      double T = 0.0;
      for (int g = 0; g < G; ++g) {
        const size_t k = i + static_cast<size_t>(g) * J;
        res[k] = table_or_core(d, p, j, A, amax, t0, n, lo_, h_, i, z[k], T, have_T);
      }
    }
  });
  return out;
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

// The log marginal posterior of z_jd on the interval grids with D > 1
// dimensions (marginal_log_posterior() in R/scores.R, which this computes
// for the rows `jj` (0-based participants) of dimension d (0-based) when
// the tables of core_person_table() are there): at each t in row r of Tz,
// l_jd(t) + log sum_g exp(sum_o l_jo(z_o) + log N(z; mu_j, Sigma) +
// lrule_rg), z_d = t and z_o = nodes[r, g, k] + B[r, k] (t - centre[r]) for
// the other coordinates o (k-th of them), every l from the tables where
// they cover z and from the core elsewhere, 0 for pairs in `dropped`
// (length J * D). L is Sigma's lower Cholesky factor; mu has the rows of
// jj (length(jj) x D). Returns length(jj) x ncol(Tz).
// [[Rcpp::export(rng = false)]]
NumericMatrix core_conditional_grid(SEXP ptr, SEXP theta, NumericMatrix tab,
                                    NumericVector lo, NumericVector h, int d,
                                    IntegerVector jj, NumericMatrix Tz,
                                    NumericVector nodes, NumericMatrix B,
                                    NumericVector centre, NumericMatrix mu,
                                    NumericMatrix L, NumericMatrix lrule,
                                    LogicalVector dropped, int threads) {
  return rlpsy_glue::with_interrupts([&]() -> NumericMatrix {
    Core* core = core_of(ptr);
    const rlpsy::Data& dat = core->model.data();
    const int JD = dat.J, D = L.nrow(), R = jj.size(), NT = Tz.ncol();
    const int G = lrule.ncol(), n = tab.ncol() / 3;
    if (tab.nrow() != JD || lo.size() != JD || h.size() != JD || dropped.size() != JD ||
        n < 2 || Tz.nrow() != R || B.nrow() != R || B.ncol() != D - 1 ||
        mu.nrow() != R || mu.ncol() != D || lrule.nrow() != R ||
        nodes.size() != static_cast<R_xlen_t>(R) * G * (D - 1) || centre.size() != R)
      stop("internal: inconsistent arguments of core_conditional_grid");
    ParallelRunner run = core->runner(threads);
    const rlpsy::Model& m = advantage_at(core, theta, run);
    const double* A = m.A().data();
    const double* amax = m.amax().data();
    double logdet = 0.0;
    for (int a = 0; a < D; ++a) logdet += std::log(L(a, a));
    const double cst = -logdet - 0.5 * D * std::log(2.0 * M_PI);
    const double* t0 = tab.begin();
    const double* lo_ = lo.begin();
    const double* h_ = h.begin();
    const int* drop_ = dropped.begin();
    const double* nd = nodes.begin();
    const double* Bp = B.begin();
    const double* Lp = L.begin();
    const double* mup = mu.begin();
    const double* lr = lrule.begin();
    const double* tz = Tz.begin();
    const double* cp = centre.begin();
    NumericMatrix out(R, NT);
    double* res = out.begin();  // written by the workers, no R API touched
    run(R, 1, [&](size_t b, size_t e) {
      std::vector<double> z(D), w(D), lg(G);
      std::vector<double> T(D);
      std::vector<bool> have(D);
      std::vector<const rlpsy::PersonStats*> shard(D);
      for (size_t r = b; r < e; ++r) {
        const int j = jj[r];
        std::fill(have.begin(), have.end(), false);
        for (int a = 0; a < D; ++a) shard[a] = &dat.shard_of(j * D + a);
        // l of pair (j, a) at x: the table, else the core; 0 when dropped
        auto lval = [&](int a, double x) -> double {
          const size_t pp = static_cast<size_t>(j) * D + a;
          if (drop_[pp]) return 0.0;
          bool hv = have[a];
          const double v = table_or_core(dat, *shard[a], static_cast<int>(pp) - shard[a]->j0,
                                         A, amax, t0, n, lo_, h_, pp, x, T[a], hv);
          have[a] = hv;
          return v;
        };
        for (int c = 0; c < NT; ++c) {
          const double t = tz[r + static_cast<size_t>(c) * R];
          const double shift = t - cp[r];
          double top = -std::numeric_limits<double>::infinity();
          for (int g = 0; g < G; ++g) {
            double s = 0.0;
            for (int a = 0, k = 0; a < D; ++a) {
              if (a == d) {
                z[a] = t;
                continue;
              }
              z[a] = nd[r + static_cast<size_t>(g) * R + static_cast<size_t>(k) * R * G] +
                     Bp[r + static_cast<size_t>(k) * R] * shift;
              s += lval(a, z[a]);
              ++k;
            }
            double quad = 0.0;
            for (int a = 0; a < D; ++a) {
              double x = z[a] - mup[r + static_cast<size_t>(a) * R];
              for (int q = 0; q < a; ++q) x -= Lp[a + q * D] * w[q];
              w[a] = x / Lp[a + a * D];
              quad += w[a] * w[a];
            }
            lg[g] = s - 0.5 * quad + cst + lr[r + static_cast<size_t>(g) * R];
            if (lg[g] > top) top = lg[g];
          }
          double sum = 0.0;
          for (int g = 0; g < G; ++g) sum += std::exp(lg[g] - top);
          res[r + static_cast<size_t>(c) * R] = lval(d, t) + top + std::log(sum);
        }
      }
    });
    return out;
  });
}
