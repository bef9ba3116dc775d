// rlpsy core: the model's equations for one state, the one home of each:
// the log-sum-exp and softmax, the identified advantage (spec section 4),
// the global normalisation's RMS, the softmax policy, the soft value and the
// prior term. The likelihood passes (model.h, estep.h), the task tools
// (simulate.h) and the R glue all call these. Plain C++, no R headers; rows
// are the K entries of one state, contiguous.
#ifndef RLPSY_EQUATIONS_H
#define RLPSY_EQUATIONS_H

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace rlpsy {

// Log-sum-exp of x[a] * scale over the available actions of one state, and
// the softmax weights (0 for unavailable actions) written to p.
inline double lse_softmax(const double* x, const uint8_t* av, int K,
                          double scale, double* p) {
  double m = -std::numeric_limits<double>::infinity();
  for (int a = 0; a < K; ++a)
    if (av[a] && x[a] * scale > m) m = x[a] * scale;
  double z = 0.0;
  for (int a = 0; a < K; ++a) {
    p[a] = av[a] ? std::exp(x[a] * scale - m) : 0.0;
    z += p[a];
  }
  for (int a = 0; a < K; ++a) p[a] /= z;
  return m + std::log(z);
}

// Identified advantage of one state: writes A (0 for unavailable actions) and
// returns rho(s) = sqrt(mean c^2 + eps). Implements spec section 4.
inline double advantage_row(const double* Q, const uint8_t* av, int K, int Ks,
                            double eps, double* A) {
  double mean = 0.0;
  for (int a = 0; a < K; ++a)
    if (av[a]) mean += Q[a];
  mean /= Ks;
  double ss = 0.0;
  for (int a = 0; a < K; ++a) {
    A[a] = av[a] ? Q[a] - mean : 0.0;
    ss += A[a] * A[a];
  }
  double rho = std::sqrt(ss / Ks + eps);
  for (int a = 0; a < K; ++a) A[a] /= rho;
  return rho;
}

// The prior term of J: sum_j (z_j - mu_j)^2 / (2 sigma^2), mu_j the
// participant's prior mean.
inline double prior_term(const double* z, int J, const double* mu, double sigma) {
  double p = 0.0;
  for (int j = 0; j < J; ++j) p += (z[j] - mu[j]) * (z[j] - mu[j]);
  return p / (2.0 * sigma * sigma);
}

// The one RMS of global normalisation: sqrt(mean over the states marked in
// `in` of ms_s + eps), ms_s = mean_a c(s, a)^2; den = the number marked.
inline double global_rho(const double* ms, const uint8_t* in, int S, double eps,
                         double* den) {
  double num = 0.0;
  *den = 0.0;
  for (int s = 0; s < S; ++s)
    if (in[s]) {
      num += ms[s];
      *den += 1.0;
    }
  return std::sqrt(num / *den + eps);
}

// The identified advantage of a whole table Q (S x K, row-major) outside a
// fit: per state (global = nullptr), or with one RMS over the states marked
// in `global`. Writes A (0 for unavailable actions).
inline void advantage_table(const double* Q, const uint8_t* avail, int S, int K,
                            double eps, const uint8_t* global, double* A) {
  std::vector<double> ms(S), rho(S);
  for (int s = 0; s < S; ++s) {
    const size_t row = static_cast<size_t>(s) * K;
    int Ks = 0;
    for (int a = 0; a < K; ++a) Ks += avail[row + a] != 0;
    if (Ks == 0) {
      std::fill(A + row, A + row + K, 0.0);
      rho[s] = 1.0;
      ms[s] = 0.0;
      continue;
    }
    rho[s] = advantage_row(Q + row, avail + row, K, Ks, eps, A + row);
    ms[s] = rho[s] * rho[s] - eps;
  }
  if (!global) return;
  double den = 0.0;
  const double r = global_rho(ms.data(), global, S, eps, &den);
  for (int s = 0; s < S; ++s)
    for (int a = 0; a < K; ++a) A[static_cast<size_t>(s) * K + a] *= rho[s] / r;
}

// Softmax policy of one decision: p = softmax(beta A(s, .)) over the
// available actions (0 elsewhere). The one home of the policy outside the
// likelihood passes.
inline void policy_row(const double* As, const uint8_t* av, int K, double beta,
                       double* p) {
  lse_softmax(As, av, K, beta, p);
}

// Soft value V(s) = tau log sum_a exp(Q(s, a) / tau) of one state.
inline double soft_value_row(const double* Qs, const uint8_t* av, int K,
                             double tau, double* work) {
  return tau * lse_softmax(Qs, av, K, 1.0 / tau, work);
}

}  // namespace rlpsy

#endif
