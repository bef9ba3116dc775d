// rlpsy core: the E-step, a safeguarded 1-D Newton on z_j = log beta_j.
//
// With the advantage A fixed (spec 5.1 and 6.2, DESIGN.md section 1):
//   l_j(z) = beta T_j - sum_u n_u log sum_a exp(beta A(s_u, a))
//            - (z - mu_j)^2 / (2 sigma^2),        beta = exp(z),
// (mu_j the participant's prior mean: one mu for all, or x_j' Gamma under a
// latent regression; written mu below),
//   T_j = sum over j's decisions of A(s_t, a_t),
//   g = beta S1 - (z - mu) / sigma^2,   S1 = T_j - sum_u n_u E_p[A(s_u, .)],
//   H = beta S1 - beta^2 sum_u n_u Var_p[A(s_u, .)] - 1 / sigma^2,
// where p = softmax(beta A(s_u, .)). l_j is concave in beta but not always in
// z, so where H >= 0 the step uses H_F = -beta^2 sum n Var - 1/sigma^2 < 0,
// steps are capped and halved until l_j increases. Plain C++, no R headers.
#ifndef RLPSY_ESTEP_H
#define RLPSY_ESTEP_H

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "data.h"
#include "parallel.h"

namespace rlpsy {

enum EStatus { kConverged = 0, kMaxIter = 1, kNonFinite = 2, kStalled = 3 };

struct EStepOptions {
  int max_iter = 100;
  double tol = 1e-8;     // |g| below which z is converged
  double max_step = 2.0; // largest Newton step in z
};

struct EStepResult {
  std::vector<double> z, se, loglik;  // mode, SE of z (exact H), l_j(mode)
  std::vector<int> iter, status;
};

// l_j, g and H at z for one participant. T is T_j.
struct EEval {
  double l, g, H, HF;
};

// Participant j is local to the shard p.
inline EEval estep_eval(const TaskStats& t, const PersonStats& d, const double* A,
                        const double* amax, int j, double T, double z, double mu,
                        double sigma) {
  const int K = t.K;
  const double beta = std::exp(z), prec = 1.0 / (sigma * sigma);
  double lse_sum = 0.0, mean_sum = 0.0, var_sum = 0.0;
  for (int u = d.pu_off[j]; u < d.pu_off[j + 1]; ++u) {
    const size_t row = static_cast<size_t>(d.u_state[u]) * K;
    const uint8_t* av = &t.avail[row];
    const double* As = A + row;
    const double m = beta * amax[d.u_state[u]];
    // one pass: Z = sum e_a, sum e_a A_a, sum e_a A_a^2 (A is O(1), unit
    // RMS, so E[A^2] - E[A]^2 loses no accuracy that matters for H)
    double zs = 0.0, s1 = 0.0, s2 = 0.0;
    for (int a = 0; a < K; ++a) {
      const double e = av[a] ? std::exp(beta * As[a] - m) : 0.0;
      zs += e;
      s1 += e * As[a];
      s2 += e * As[a] * As[a];
    }
    const double ea = s1 / zs;
    const double va = std::max(0.0, s2 / zs - ea * ea);
    const double n = d.u_n[u];
    lse_sum += n * (m + std::log(zs));
    mean_sum += n * ea;
    var_sum += n * va;
  }
  const double S1 = T - mean_sum;
  EEval e;
  e.l = beta * T - lse_sum - 0.5 * (z - mu) * (z - mu) * prec;
  e.g = beta * S1 - (z - mu) * prec;
  e.HF = -beta * beta * var_sum - prec;
  e.H = beta * S1 + e.HF;
  return e;
}

// T_j = sum over participant j's decisions of A(s_t, a_t).
inline double chosen_advantage(const TaskStats& t, const PersonStats& d,
                               const double* A, int j) {
  double T = 0.0;
  for (int u = d.pu_off[j]; u < d.pu_off[j + 1]; ++u) {
    const size_t row = static_cast<size_t>(d.u_state[u]) * t.K;
    for (int c = d.uc_off[u]; c < d.uc_off[u + 1]; ++c)
      T += d.c_n[c] * A[row + d.c_action[c]];
  }
  return T;
}

// Behaviour log-likelihood of participant j (local to shard d) at
// z = log beta, without the prior: l_j(z) = beta T_j - sum_u n_u log sum_a
// exp(beta A(s_u, a)), with T = chosen_advantage(t, d, A, j) computed once by
// the caller. The prior term of estep_eval vanishes for sigma = infinity, so
// this is its one loop.
inline double person_loglik(const TaskStats& t, const PersonStats& d, const double* A,
                            const double* amax, int j, double T, double z) {
  return estep_eval(t, d, A, amax, j, T, z, 0.0,
                    std::numeric_limits<double>::infinity()).l;
}

// Safeguarded Newton for participant j (global index) from z0. Writes the
// result into slot j of `out` (and nothing else).
inline void estep_one(const Data& data, const double* A, const double* amax,
                      int j, double z0, double mu, double sigma,
                      const EStepOptions& opt, EStepResult& out) {
  const PersonStats& d = data.shard_of(j);
  const int jl = j - d.j0;
  const double T = chosen_advantage(data, d, A, jl);
  double z = z0;
  EEval e = estep_eval(data, d, A, amax, jl, T, z, mu, sigma);
  int status = kMaxIter, it = 0;
  for (; it < opt.max_iter; ++it) {
    if (!std::isfinite(e.l) || !std::isfinite(e.g)) {
      status = kNonFinite;
      break;
    }
    if (std::fabs(e.g) <= opt.tol) {
      status = kConverged;
      break;
    }
    const double h = e.H < 0.0 ? e.H : e.HF;
    double step = -e.g / h;
    if (std::fabs(step) > opt.max_step) step = std::copysign(opt.max_step, step);
    bool accepted = false;
    for (int halve = 0; halve < 60; ++halve, step *= 0.5) {
      EEval t = estep_eval(data, d, A, amax, jl, T, z + step, mu, sigma);
      // Near the mode the gain g^2 / (2|H|) falls below the rounding error
      // of l_j; there a step that keeps l_j within rounding and shrinks |g|
      // is accepted too, so z converges to the tolerance on g.
      const double round_l = 64.0 * std::numeric_limits<double>::epsilon() *
                             std::fabs(e.l);
      if (std::isfinite(t.l) &&
          (t.l >= e.l ||
           (t.l >= e.l - round_l && std::fabs(t.g) < std::fabs(e.g)))) {
        z += step;
        e = t;
        accepted = true;
        break;
      }
    }
    if (!accepted) {
      status = kStalled;
      break;
    }
    // steps below the resolution of z: l_j is flat at double precision
    if (std::fabs(step) <= 1e-13 * (1.0 + std::fabs(z))) {
      status = kConverged;
      ++it;
      break;
    }
  }
  out.z[j] = z;
  out.loglik[j] = e.l;
  out.iter[j] = it;
  const double h = e.H < 0.0 ? e.H : e.HF;
  out.se[j] = 1.0 / std::sqrt(-h);
  if (status == kConverged && !(e.H < 0.0)) status = kStalled;
  out.status[j] = status;
}

// E-step for the participants in `active` (all when it is empty), in
// parallel; each writes only its own slot. Inactive participants keep z0
// and get se = NaN, iter = 0. mu[j] is participant j's prior mean.
inline EStepResult estep(const Data& d, const double* A, const double* amax,
                         const double* z0, const double* mu, double sigma,
                         const EStepOptions& opt, const Runner& run,
                         const std::vector<int>& active = {}) {
  EStepResult out;
  out.z.assign(z0, z0 + d.J);
  out.se.assign(d.J, std::numeric_limits<double>::quiet_NaN());
  out.loglik.assign(d.J, std::numeric_limits<double>::quiet_NaN());
  out.iter.assign(d.J, 0);
  out.status.assign(d.J, kConverged);
  const size_t n = active.empty() ? d.J : active.size();
  run(n, 16, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) {
      const int j = active.empty() ? static_cast<int>(i) : active[i];
      estep_one(d, A, amax, j, z0[j], mu[j], sigma, opt, out);
    }
  });
  return out;
}

// --- several temperatures per participant ------------------------------------
//
// With D dimensions, participant j has z_j in R^D; its decisions of dimension
// d are the core's pseudo-participant j * D + d (beta = exp(z_jd)), so the
// behaviour term is a sum over pseudo-participants and its derivatives in z_j
// are diagonal. The prior z_j ~ N(m_j, Sigma) couples the coordinates:
//   l_j(z) = sum_d l_jd(z_d) - (z - m_j)' P (z - m_j) / 2,   P = Sigma^-1,
//   g = (beta_d S1_d)_d - P (z - m_j),
//   H = diag(beta_d S1_d - beta_d^2 V_d) - P,   H_F = diag(-beta_d^2 V_d) - P,
// with l_jd, S1_d, V_d those of estep_eval() without prior. The Newton step
// solves -H s = g when -H is positive definite, else -H_F s = g (H_F is
// always negative definite); |s| is capped (largest coordinate) and halved
// until l_j increases, as in the scalar case. SEs: sqrt(diag((-H)^-1)).

struct EStepMvnResult {
  std::vector<double> z, se, cov, loglik;  // z, se: J*D; cov: J*D*D; loglik: J
  std::vector<int> iter, status;             // J
};

// Cholesky of the D x D symmetric matrix M (row-major) into L (lower);
// false when M is not positive definite.
inline bool small_cholesky(const std::vector<double>& M, int D, std::vector<double>& L) {
  L.assign(static_cast<size_t>(D) * D, 0.0);
  for (int i = 0; i < D; ++i)
    for (int k = 0; k <= i; ++k) {
      double s = M[i * D + k];
      for (int m = 0; m < k; ++m) s -= L[i * D + m] * L[k * D + m];
      if (i == k) {
        if (!(s > 0.0) || !std::isfinite(s)) return false;
        L[i * D + i] = std::sqrt(s);
      } else {
        L[i * D + k] = s / L[k * D + k];
      }
    }
  return true;
}

// x = M^-1 b from the Cholesky factor L of M.
inline void cholesky_solve(const std::vector<double>& L, int D, const double* b, double* x) {
  for (int i = 0; i < D; ++i) {
    double s = b[i];
    for (int m = 0; m < i; ++m) s -= L[i * D + m] * x[m];
    x[i] = s / L[i * D + i];
  }
  for (int i = D - 1; i >= 0; --i) {
    double s = x[i];
    for (int m = i + 1; m < D; ++m) s -= L[m * D + i] * x[m];
    x[i] = s / L[i * D + i];
  }
}

// l_j, g, -H and -H_F of participant j at z (length D). T: the D chosen
// advantages; mu: the D prior means; P: D x D precision, row-major.
struct EEvalMvn {
  double l;
  std::vector<double> g, negH, negHF;
};

inline EEvalMvn estep_eval_mvn(const Data& data, const double* A, const double* amax,
                               int j, int D, const double* T, const double* z,
                               const double* mu, const double* P) {
  EEvalMvn e;
  e.l = 0.0;
  e.g.assign(D, 0.0);
  e.negH.assign(static_cast<size_t>(D) * D, 0.0);
  e.negHF.assign(static_cast<size_t>(D) * D, 0.0);
  const double inf = std::numeric_limits<double>::infinity();
  for (int d = 0; d < D; ++d) {
    const int q = j * D + d;
    const PersonStats& ps = data.shard_of(q);
    EEval ed = estep_eval(data, ps, A, amax, q - ps.j0, T[d], z[d], 0.0, inf);
    e.l += ed.l;
    e.g[d] = ed.g;
    e.negH[d * D + d] = -ed.H;
    e.negHF[d * D + d] = -ed.HF;
  }
  for (int a = 0; a < D; ++a) {
    double pr = 0.0;
    for (int b = 0; b < D; ++b) {
      pr += P[a * D + b] * (z[b] - mu[b]);
      e.negH[a * D + b] += P[a * D + b];
      e.negHF[a * D + b] += P[a * D + b];
    }
    e.g[a] -= pr;
    e.l -= 0.5 * (z[a] - mu[a]) * pr;
  }
  return e;
}

// Safeguarded D-dimensional Newton for participant j from z0 (length D);
// writes slot j of `out` only.
inline void estep_mvn_one(const Data& data, const double* A, const double* amax,
                          int j, int D, const double* z0, const double* mu,
                          const double* P, const EStepOptions& opt,
                          EStepMvnResult& out) {
  std::vector<double> T(D), z(z0, z0 + D), step(D), zt(D), L;
  for (int d = 0; d < D; ++d) {
    const int q = j * D + d;
    const PersonStats& ps = data.shard_of(q);
    T[d] = chosen_advantage(data, ps, A, q - ps.j0);
  }
  auto maxabs = [](const std::vector<double>& v) {
    double m = 0.0;
    for (double x : v) m = std::max(m, std::fabs(x));
    return m;
  };
  EEvalMvn e = estep_eval_mvn(data, A, amax, j, D, T.data(), z.data(), mu, P);
  int status = kMaxIter, it = 0;
  for (; it < opt.max_iter; ++it) {
    bool finite = std::isfinite(e.l);
    for (double x : e.g) finite = finite && std::isfinite(x);
    if (!finite) {
      status = kNonFinite;
      break;
    }
    const double gmax = maxabs(e.g);
    if (gmax <= opt.tol) {
      status = kConverged;
      break;
    }
    if (!small_cholesky(e.negH, D, L)) small_cholesky(e.negHF, D, L);
    cholesky_solve(L, D, e.g.data(), step.data());
    const double smax = maxabs(step);
    if (smax > opt.max_step)
      for (double& s : step) s *= opt.max_step / smax;
    bool accepted = false;
    for (int halve = 0; halve < 60; ++halve) {
      for (int d = 0; d < D; ++d) zt[d] = z[d] + step[d];
      EEvalMvn t = estep_eval_mvn(data, A, amax, j, D, T.data(), zt.data(), mu, P);
      const double round_l = 64.0 * std::numeric_limits<double>::epsilon() *
                             std::fabs(e.l);
      if (std::isfinite(t.l) &&
          (t.l >= e.l || (t.l >= e.l - round_l && maxabs(t.g) < gmax))) {
        z = zt;
        e = t;
        accepted = true;
        break;
      }
      for (double& s : step) s *= 0.5;
    }
    if (!accepted) {
      status = kStalled;
      break;
    }
    if (maxabs(step) <= 1e-13 * (1.0 + maxabs(z))) {
      status = kConverged;
      ++it;
      break;
    }
  }
  const bool nd = small_cholesky(e.negH, D, L);
  if (!nd) small_cholesky(e.negHF, D, L);
  // (-H)^-1 column by column
  std::vector<double> unit(D, 0.0), col(D);
  for (int b = 0; b < D; ++b) {
    std::fill(unit.begin(), unit.end(), 0.0);
    unit[b] = 1.0;
    cholesky_solve(L, D, unit.data(), col.data());
    for (int a = 0; a < D; ++a)
      out.cov[(static_cast<size_t>(j) * D + a) * D + b] = col[a];
  }
  for (int d = 0; d < D; ++d) {
    out.z[static_cast<size_t>(j) * D + d] = z[d];
    out.se[static_cast<size_t>(j) * D + d] =
        std::sqrt(out.cov[(static_cast<size_t>(j) * D + d) * D + d]);
  }
  out.loglik[j] = e.l;
  out.iter[j] = it;
  if (status == kConverged && !nd) status = kStalled;
  out.status[j] = status;
}

// The MVN E-step for all J = data.J / D participants in parallel. z0, mu:
// J*D (participant-major); P: D x D precision, row-major.
inline EStepMvnResult estep_mvn(const Data& d, const double* A, const double* amax,
                                int D, const double* z0, const double* mu,
                                const double* P, const EStepOptions& opt,
                                const Runner& run) {
  const int J = d.J / D;
  EStepMvnResult out;
  out.z.assign(z0, z0 + d.J);
  out.se.assign(d.J, std::numeric_limits<double>::quiet_NaN());
  out.cov.assign(static_cast<size_t>(d.J) * D, std::numeric_limits<double>::quiet_NaN());
  out.loglik.assign(J, std::numeric_limits<double>::quiet_NaN());
  out.iter.assign(J, 0);
  out.status.assign(J, kConverged);
  run(J, 16, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) {
      const int j = static_cast<int>(i);
      estep_mvn_one(d, A, amax, j, D, z0 + static_cast<size_t>(j) * D,
                    mu + static_cast<size_t>(j) * D, P, opt, out);
    }
  });
  return out;
}

// The prior term of the objective: sum_j (z_j - m_j)' P (z_j - m_j) / 2.
inline double prior_term_mvn(const double* z, const double* mu, const double* P,
                             int J, int D) {
  double s = 0.0;
  for (int j = 0; j < J; ++j)
    for (int a = 0; a < D; ++a)
      for (int b = 0; b < D; ++b)
        s += (z[j * D + a] - mu[j * D + a]) * P[a * D + b] * (z[j * D + b] - mu[j * D + b]);
  return 0.5 * s;
}

}  // namespace rlpsy

#endif
