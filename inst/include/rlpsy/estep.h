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

}  // namespace rlpsy

#endif
