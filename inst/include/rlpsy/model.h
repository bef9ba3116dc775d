// rlpsy core: the penalised objective J and its exact gradient.
//
// Notation (DESIGN.md section 1). Per state s, over its K_s available actions:
//   c(s,a) = Q(s,a) - mean_a Q(s,a),  rho(s) = sqrt(mean_a c(s,a)^2 + eps),
//   A(s,a) = c(s,a) / rho(s)                     (identified advantage)
// or, with global normalisation, one rho for all states:
//   rho^2 = mean over the states with decisions of mean_a c(s,a)^2, + eps
//   V(s)   = tau * log sum_a exp(Q(s,a) / tau)    (soft value; 0 after d = 1)
//   dbar(s,a) = Q(s,a) - mean over the pair's decisions of r + gamma (1 - d) V(s')
//   J = sum_t -log softmax(beta_j A(s_t, .))[a_t]
//     + lambda_bell sum_{s,a} n_sa dbar(s,a)^2
//     + lambda_cql sum_t [log sum_b exp Q(s_t,b) - Q(s_t,a_t)]
//     + lambda_r ||w||^2 + sum_j (z_j - mu)^2 / (2 sigma^2)
// with r = tanh(w(s,a)) when the reward is learned. Plain C++, no R headers.
#ifndef RLPSY_MODEL_H
#define RLPSY_MODEL_H

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "data.h"
#include "parallel.h"

namespace rlpsy {

struct Settings {
  double gamma = 0.9, tau = 1.0, eps = 1e-8;
  double lambda_bell = 1.0, lambda_cql = 0.0, lambda_r = 0.0;
  bool global_norm = false;  // one RMS over all visited states
};

// Components of J. `bellman` and `cql` are unweighted sums over decisions;
// `total` applies the lambdas and adds the prior.
struct Components {
  double behaviour = 0, bellman = 0, cql = 0, reward_l2 = 0, prior = 0,
         total = 0;
};

// Tabular Q: the parameters are Q itself (S x K, row-major). A feature-based
// or neural Q implements the same two maps (values and the chain rule back to
// its parameters) and the likelihood code stays as it is.
struct TabularQ {
  int S, K;
  long n_params() const { return static_cast<long>(S) * K; }
  void values(const double* theta, double* Q) const {
    std::copy(theta, theta + n_params(), Q);
  }
  void backprop(const double* dQ, double* dtheta) const {
    std::copy(dQ, dQ + n_params(), dtheta);
  }
};

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

inline double max_abs(const double* x, size_t n) {
  double m = 0.0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(x[i]));
  return m;
}

// The fit's shared model: data, settings, current beta and the work arrays
// of one objective evaluation.
class Model {
 public:
  Model(Data data, Settings settings)
      : d_(std::move(data)), set_(settings), q_{d_.S, d_.K} {
    const size_t SK = static_cast<size_t>(d_.S) * d_.K;
    Q_.resize(SK);
    A_.resize(SK);
    gA_.resize(SK);
    rho_.resize(d_.S);
    amax_.resize(d_.S);
    ms_.resize(d_.S);
    V_.resize(d_.S);
    dV_.resize(d_.S);
    f_blk_.resize(d_.blk_state.size());
    g_blk_.resize(d_.blk_state.size() * d_.K);
    beta_.assign(d_.J, 1.0);
    weight_.assign(d_.J, 1.0);
  }

  const Data& data() const { return d_; }
  const Settings& settings() const { return set_; }
  void set_settings(const Settings& s) { set_ = s; }
  bool learned_reward() const { return !d_.observed_reward; }
  long n_q() const { return q_.n_params(); }
  // parameter vector x = [theta_Q, w (learned reward only)]
  long n_params() const { return n_q() + (learned_reward() ? n_q() : 0); }

  // Fix beta_j = exp(z_j) for the M-step, and the participant weights
  // omega_j (nullptr: all 1), the seam for quadrature nodes and shards.
  void set_beta(const double* z, const double* weight = nullptr) {
    for (int j = 0; j < d_.J; ++j) {
      beta_[j] = std::exp(z[j]);
      weight_[j] = weight ? weight[j] : 1.0;
    }
  }

  // Identified advantage of the Q given by theta: fills A_, rho_, amax_.
  void advantage(const double* theta, const Runner& run) {
    q_.values(theta, Q_.data());
    const int K = d_.K;
    run(d_.S, 64, [&](size_t b, size_t e) {
      for (size_t s = b; s < e; ++s) advantage_state(s, K);
    });
    normalise_globally();
  }
  const std::vector<double>& A() const { return A_; }
  const std::vector<double>& amax() const { return amax_; }
  const std::vector<double>& Q() const { return Q_; }

  // J without the prior term at x, and its gradient (if g is not null).
  // Per-state work and the behaviour term (in fixed blocks of units) run in
  // parallel; the Bellman tuples and all reductions run serially in a fixed
  // order, so the result does not depend on the number of threads.
  double value_grad(const double* x, double* g, const Runner& run,
                    Components* comp) {
    const int S = d_.S, K = d_.K;
    const double* w = learned_reward() ? x + n_q() : nullptr;
    const bool grad = g != nullptr;
    q_.values(x, Q_.data());
    run(S, 64, [&](size_t b, size_t e) {
      std::vector<double> p(K);
      for (size_t s = b; s < e; ++s) state_values(s, p.data());
    });
    normalise_globally();
    const size_t nblk = d_.blk_state.size();
    run(nblk, 1, [&](size_t b, size_t e) {
      std::vector<double> p(K);
      for (size_t i = b; i < e; ++i) behaviour_block(i, grad, p.data());
    });
    Components c;
    for (int s = 0; s < S; ++s) c.behaviour += reduce_state(s);
    std::fill(dV_.begin(), dV_.end(), 0.0);
    std::vector<double> dQ(grad ? static_cast<size_t>(S) * K : 0, 0.0);
    if (grad && w) std::fill(g + n_q(), g + n_params(), 0.0);
    run.poll();  // the serial passes below are O(tuples) and O(S K)
    c.bellman = bellman_pass(w, grad ? dQ.data() : nullptr,
                             grad && w ? g + n_q() : nullptr);
    c.cql = cql_value();
    if (w) {
      for (long i = 0; i < n_q(); ++i) {
        if (!d_.avail[i]) continue;  // unavailable entries are not parameters
        c.reward_l2 += w[i] * w[i];
        if (grad) g[n_q() + i] += 2.0 * set_.lambda_r * w[i];
      }
    }
    if (grad) {
      // global normalisation couples the states through rho: G = sum A gA
      double G = 0.0;
      if (set_.global_norm)
        for (size_t i = 0; i < A_.size(); ++i) G += A_[i] * gA_[i];
      run(S, 64, [&](size_t b, size_t e) {
        std::vector<double> p(K);
        for (size_t s = b; s < e; ++s) state_grad(s, G, dQ.data(), p.data());
      });
      q_.backprop(dQ.data(), g);
    }
    c.total = c.behaviour + set_.lambda_bell * c.bellman +
              set_.lambda_cql * c.cql + set_.lambda_r * c.reward_l2;
    if (comp) *comp = c;
    return c.total;
  }

  // A positive diagonal estimate of the curvature of J at x (current beta),
  // used to precondition L-BFGS: states differ in how often they are
  // visited and in rho(s), so the curvature differs across Q's entries by
  // orders of magnitude. For Q(s, a):
  //   sum_u n_u beta_u^2 / (rho^2 K_s) + 2 lambda_bell (n_sa + gamma^2 in_s / K_s)
  //   + lambda_cql n_s / K_s,
  // with in_s the non-terminal arrivals into s; for w(s, a):
  //   2 lambda_bell n_sa (1 - r^2)^2 + 2 lambda_r. Writes 1/curvature.
  void curvature_inverse(const double* x, double* hinv) {
    const int S = d_.S, K = d_.K;
    advantage(x, Runner());
    const std::vector<double> in = arrivals();
    const double* w = learned_reward() ? x + n_q() : nullptr;
    for (int s = 0; s < S; ++s) {
      double b2 = 0.0;
      for (int u = d_.su_off[s]; u < d_.su_off[s + 1]; ++u) {
        const int j = d_.su_part[u];
        b2 += d_.su_n[u] * weight_[j] * beta_[j] * beta_[j];
      }
      const double Ks = d_.n_avail[s];
      const double common = b2 / (rho_[s] * rho_[s] * Ks) +
                            2.0 * set_.lambda_bell * set_.gamma * set_.gamma * in[s] / Ks +
                            set_.lambda_cql * d_.n_s[s] / Ks;
      for (int a = 0; a < K; ++a) {
        const size_t i = static_cast<size_t>(s) * K + a;
        const double nsa = d_.n_sa[i];
        hinv[i] = 1.0 / (common + 2.0 * set_.lambda_bell * nsa + 1e-6);
        if (w) {
          const double r = std::tanh(w[i]);
          hinv[n_q() + i] = 1.0 / (2.0 * set_.lambda_bell * nsa * (1 - r * r) * (1 - r * r) +
                                   2.0 * set_.lambda_r + 1e-6);
        }
      }
    }
  }

  // The task's values: the soft-Q fixed point of the observed reward under
  // the empirical transitions, Q(s,a) = rbar(s,a) + gamma sum_{s'} Phat(s', d
  // | s, a) (1 - d) V(s'), by soft value iteration (a gamma-contraction) over
  // the Bellman tuples, from Q = 0. Pairs without tuples keep Q = 0. Writes
  // Q (S x K, row-major); returns the iterations used, or -1 when the largest
  // change was still above tol after max_iter sweeps. Polls run for
  // interrupts between sweeps.
  int task_values(double* Q, int max_iter, double tol,
                  const Runner& run = Runner()) const {
    const int S = d_.S, K = d_.K;
    const size_t SK = static_cast<size_t>(S) * K;
    std::vector<double> V(S), next(SK), p(K);
    std::fill(Q, Q + SK, 0.0);
    for (int it = 1; it <= max_iter; ++it) {
      run.poll();  // a sweep is O(tuples): cheap enough to ask every time
      for (int s = 0; s < S; ++s)
        V[s] = set_.tau * lse_softmax(Q + static_cast<size_t>(s) * K,
                                      &d_.avail[static_cast<size_t>(s) * K], K,
                                      1.0 / set_.tau, p.data());
      std::fill(next.begin(), next.end(), 0.0);
      for (size_t i = 0; i < d_.b_n.size(); ++i) {
        const size_t sa = static_cast<size_t>(d_.b_s[i]) * K + d_.b_a[i];
        const double disc = d_.b_done[i] ? 0.0 : set_.gamma;
        next[sa] += d_.b_n[i] * (d_.b_rbar[i] + disc * V[d_.b_next[i]]);
      }
      double change = 0.0;
      for (size_t sa = 0; sa < SK; ++sa) {
        if (d_.n_sa[sa] == 0) continue;
        const double q = next[sa] / d_.n_sa[sa];
        change = std::max(change, std::fabs(q - Q[sa]));
        Q[sa] = q;
      }
      if (change <= tol * (1.0 + max_abs(Q, SK))) return it;
    }
    return -1;
  }

  // Preconditioner for the Bellman-dominated M-step (observed reward, Q
  // parameters only). Near the task's values the curvature of J in Q is
  // about H = B' D B with B = I - gamma P pi the Jacobian of the mean
  // residuals dbar (P the empirical transitions of each (s, a) pair with
  // (1 - d), pi = softmax(Q(s', .) / tau)) and D the diagonal of
  // 2 lambda_bell n_sa plus the behaviour and CQL curvature (hinv of
  // curvature_inverse()). M^-1 = T D^-1 T' with T = sum_{k < m} (gamma P pi)^k,
  // the truncated Neumann series of B^-1 (m sweeps bring the truncation error
  // to 1e-8; at most 1000): symmetric positive definite by construction, so
  // L-BFGS keeps its guarantees, and far better conditioned than the
  // diagonal when gamma is near 1 and lambda_bell is large. Sets up pi and
  // the per-tuple weights at x; hinv is the diagonal D^-1. Returns whether
  // the Bellman term dominates the curvature (at least 90% of the diagonal
  // for at least 90% of the pairs with data): only then is this a good
  // preconditioner; with a weak Bellman weight the diagonal alone is better.
  bool bellman_precond_setup(const double* x, const double* hinv) {
    const int S = d_.S, K = d_.K;
    // the Bellman part of curvature_inverse's diagonal: its own pair and
    // the arrivals into the state (through V)
    const std::vector<double> in = arrivals();
    long bell = 0, all = 0;  // pairs with data, and those Bellman-dominated
    for (long i = 0; i < n_q(); ++i) {
      const int s = static_cast<int>(i / K);
      if (!d_.avail[i] || d_.n_sa[i] == 0) continue;
      const double b = 2.0 * set_.lambda_bell *
                       (d_.n_sa[i] + set_.gamma * set_.gamma * in[s] / d_.n_avail[s]);
      ++all;
      bell += b * hinv[i] >= 0.9;
    }
    if (!(bell >= 0.9 * all) || all == 0) return false;
    q_.values(x, Q_.data());
    pc_pi_.assign(static_cast<size_t>(S) * K, 0.0);
    for (int s = 0; s < S; ++s)
      lse_softmax(&Q_[static_cast<size_t>(s) * K], &d_.avail[static_cast<size_t>(s) * K],
                  K, 1.0 / set_.tau, &pc_pi_[static_cast<size_t>(s) * K]);
    pc_w_.resize(d_.b_n.size());
    for (size_t i = 0; i < d_.b_n.size(); ++i) {
      const size_t sa = static_cast<size_t>(d_.b_s[i]) * K + d_.b_a[i];
      pc_w_[i] = d_.b_done[i] ? 0.0 : set_.gamma * d_.b_n[i] / d_.n_sa[sa];
    }
    pc_dinv_.assign(hinv, hinv + n_q());
    pc_sweeps_ = set_.gamma > 0.0
        ? static_cast<int>(std::min(1000.0, std::ceil(std::log(1e-8) / std::log(set_.gamma))))
        : 1;
    return true;
  }

  // out = M^-1 in (see bellman_precond_setup); in and out have n_q() entries.
  void bellman_precond_apply(const double* in, double* out) const {
    const size_t n = static_cast<size_t>(n_q());
    std::vector<double> u(in, in + n), t(in, in + n);
    for (int k = 1; k < pc_sweeps_; ++k) {  // u = T' in
      apply_gpp(t.data(), true);
      for (size_t i = 0; i < n; ++i) u[i] += t[i];
    }
    for (size_t i = 0; i < n; ++i) u[i] *= pc_dinv_[i];
    std::copy(u.begin(), u.end(), out);  // out = T u
    t = u;
    for (int k = 1; k < pc_sweeps_; ++k) {
      apply_gpp(t.data(), false);
      for (size_t i = 0; i < n; ++i) out[i] += t[i];
    }
  }

  // Prior term sum_j (z_j - mu)^2 / (2 sigma^2).
  double prior(const double* z, double mu, double sigma) const {
    double p = 0.0;
    for (int j = 0; j < d_.J; ++j) p += (z[j] - mu) * (z[j] - mu);
    return p / (2.0 * sigma * sigma);
  }

 private:
  void advantage_state(size_t s, int K) {
    const uint8_t* av = &d_.avail[s * K];
    double* As = &A_[s * K];
    rho_[s] = advantage_row(&Q_[s * K], av, K, d_.n_avail[s], set_.eps, As);
    ms_[s] = rho_[s] * rho_[s] - set_.eps;  // mean_a c(s, a)^2
    double m = -std::numeric_limits<double>::infinity();
    for (int a = 0; a < K; ++a)
      if (av[a] && As[a] > m) m = As[a];
    amax_[s] = m;
  }

  // With global normalisation, rescale every state's A from its own rho(s)
  // to the one rho of all visited states, each weighing the same:
  // rho^2 = mean over states with decisions of ms_s + eps (over all states
  // when no decision was logged). Serial and in state order, so the result
  // does not depend on the number of threads.
  void normalise_globally() {
    if (!set_.global_norm) return;
    const int S = d_.S, K = d_.K;
    double num = 0.0, den = 0.0;
    for (int s = 0; s < S; ++s) {
      const double wt = d_.N == 0 || d_.n_s[s] > 0 ? 1.0 : 0.0;
      num += wt * ms_[s];
      den += wt;
    }
    const double rho = std::sqrt(num / den + set_.eps);
    for (int s = 0; s < S; ++s) {
      const double f = rho_[s] / rho;
      for (int a = 0; a < K; ++a) A_[static_cast<size_t>(s) * K + a] *= f;
      amax_[s] *= f;
      rho_[s] = rho;
    }
    gw_global_.resize(S);
    for (int s = 0; s < S; ++s)
      gw_global_[s] = (d_.N == 0 || d_.n_s[s] > 0 ? 1.0 : 0.0) / den;
  }

  // Advantage and soft value V(s) of state s.
  void state_values(size_t s, double* p) {
    const int K = d_.K;
    advantage_state(s, K);
    V_[s] = set_.tau * lse_softmax(&Q_[s * K], &d_.avail[s * K], K,
                                   1.0 / set_.tau, p);
  }

  // Behaviour term of one block of units (all in one state s), weighted by
  // omega_j: sum_u omega n_u log sum_a exp(beta_u A(s,a))
  //        - sum_cells omega n_c beta_u A(s, a_c),
  // and its gradient with respect to A(s, .),
  // sum_u omega beta_u (n_u softmax(beta_u A(s,.)) - n_u(.)), into the
  // block's slots.
  void behaviour_block(size_t i, bool grad, double* p) {
    const int K = d_.K;
    const size_t s = d_.blk_state[i];
    const uint8_t* av = &d_.avail[s * K];
    const double* As = &A_[s * K];
    const double am = amax_[s];
    double* gs = &g_blk_[i * K];
    std::fill(gs, gs + K, 0.0);
    double f = 0.0;
    for (int u = d_.blk_off[i]; u < d_.blk_off[i + 1]; ++u) {
      const int j = d_.su_part[u];
      const double n = d_.su_n[u] * weight_[j];
      if (n == 0.0) continue;
      const double b = beta_[j], m = b * am;
      double z = 0.0;
      for (int a = 0; a < K; ++a) {
        p[a] = av[a] ? std::exp(b * As[a] - m) : 0.0;
        z += p[a];
      }
      f += n * (m + std::log(z));
      const double bw = b * weight_[j];
      for (int c = d_.sc_off[u]; c < d_.sc_off[u + 1]; ++c)
        f -= bw * d_.sc_n[c] * As[d_.sc_action[c]];
      if (grad) {
        const double wgt = n * b / z;
        for (int a = 0; a < K; ++a) gs[a] += wgt * p[a];
        for (int c = d_.sc_off[u]; c < d_.sc_off[u + 1]; ++c)
          gs[d_.sc_action[c]] -= bw * d_.sc_n[c];
      }
    }
    f_blk_[i] = f;
  }

  // Sum the blocks of state s in order; leaves d(behaviour)/dA(s, .) in gA_.
  // Returns the behaviour term of state s.
  double reduce_state(int s) {
    const int K = d_.K;
    const size_t row = static_cast<size_t>(s) * K;
    double f = 0.0;
    double* gs = &gA_[row];
    std::fill(gs, gs + K, 0.0);
    for (int i = d_.sb_off[s]; i < d_.sb_off[s + 1]; ++i) {
      f += f_blk_[i];
      for (int a = 0; a < K; ++a) gs[a] += g_blk_[static_cast<size_t>(i) * K + a];
    }
    return f;
  }

  // Soft Bellman consistency over the compressed (s, a, s', d) tuples, per
  // state-action pair: sum_{s,a} n_sa dbar(s,a)^2 with the mean residual
  //   dbar(s,a) = Q(s,a) - mean_t [r_t + gamma (1 - d_t) V(s'_t)] over the
  // pair's decisions. (The specification's sum_t delta_t^2 equals this plus
  // the within-pair variance of the target; that variance depends on Q
  // through V(s') and pulls Q away from the Bellman fixed point whenever the
  // transitions are stochastic: the double-sampling bias of residual
  // minimisation. Without it the minimum, dbar = 0, is the soft-Q fixed
  // point under the empirical transitions.) Tuples of one pair are
  // contiguous. Accumulates d/dQ(s,a) into dQ, d/dV(s') into dV_ and d/dw
  // into gw.
  double bellman_pass(const double* w, double* dQ, double* gw) {
    const int K = d_.K;
    const double lam2 = 2.0 * set_.lambda_bell;
    double total = 0.0;
    const size_t nb = d_.b_n.size();
    for (size_t i = 0; i < nb;) {
      const size_t sa = static_cast<size_t>(d_.b_s[i]) * K + d_.b_a[i];
      size_t e = i;
      double n = 0.0, tgt = 0.0;
      for (; e < nb && static_cast<size_t>(d_.b_s[e]) * K + d_.b_a[e] == sa; ++e) {
        const double disc = d_.b_done[e] ? 0.0 : set_.gamma;
        n += d_.b_n[e];
        tgt += d_.b_n[e] * ((w ? 0.0 : d_.b_rbar[e]) + disc * V_[d_.b_next[e]]);
      }
      const double r = w ? std::tanh(w[sa]) : 0.0;
      const double dbar = Q_[sa] - r - tgt / n;
      total += n * dbar * dbar;
      if (dQ) {
        dQ[sa] += lam2 * n * dbar;
        for (size_t t = i; t < e; ++t)
          if (!d_.b_done[t]) dV_[d_.b_next[t]] -= lam2 * dbar * d_.b_n[t] * set_.gamma;
        if (gw) gw[sa] -= lam2 * n * dbar * (1.0 - r * r);
      }
      i = e;
    }
    return total;
  }

  // CQL term sum_s n_s log sum_a exp Q(s,a) - sum_{s,a} n_sa Q(s,a).
  double cql_value() const {
    const int K = d_.K;
    std::vector<double> p(K);
    double total = 0.0;
    for (int s = 0; s < d_.S; ++s) {
      if (d_.n_s[s] == 0) continue;
      total += d_.n_s[s] * lse_softmax(&Q_[static_cast<size_t>(s) * K],
                                       &d_.avail[static_cast<size_t>(s) * K],
                                       K, 1.0, p.data());
      for (int a = 0; a < K; ++a)
        total -= d_.n_sa[static_cast<size_t>(s) * K + a] *
                 Q_[static_cast<size_t>(s) * K + a];
    }
    return total;
  }

  // Gradient with respect to Q(s, .): behaviour through the normalisation
  // Jacobian, dQ_b = (gA_b - A_b sum_k(A_k gA_k) / K_s) / rho(s) per state,
  // or dQ_b = (gA_b - A_b w_s G / K_s) / rho with global normalisation
  // (G = sum over all states of A gA, w_s = 1 / #visited states); soft value
  // dV(s) * softmax(Q(s,.)/tau); CQL lambda_cql (n_s softmax(Q) - n_sa).
  void state_grad(size_t s, double G, double* dQ, double* p) const {
    const int K = d_.K;
    const uint8_t* av = &d_.avail[s * K];
    const double* As = &A_[s * K];
    const double* gs = &gA_[s * K];
    double* out = &dQ[s * K];
    double ag = 0.0;
    if (set_.global_norm) {
      ag = gw_global_[s] * G;
    } else {
      for (int a = 0; a < K; ++a) ag += As[a] * gs[a];
    }
    ag /= d_.n_avail[s];
    for (int a = 0; a < K; ++a)
      if (av[a]) out[a] += (gs[a] - As[a] * ag) / rho_[s];
    if (dV_[s] != 0.0) {
      lse_softmax(&Q_[s * K], av, K, 1.0 / set_.tau, p);
      for (int a = 0; a < K; ++a) out[a] += dV_[s] * p[a];
    }
    if (set_.lambda_cql != 0.0 && d_.n_s[s] > 0) {
      lse_softmax(&Q_[s * K], av, K, 1.0, p);
      for (int a = 0; a < K; ++a)
        out[a] += set_.lambda_cql * (d_.n_s[s] * p[a] - d_.n_sa[s * K + a]);
    }
  }

  // Non-terminal arrivals into each state: sum of the tuple counts with
  // s' = s and d = 0 (how strongly V(s) enters the Bellman term)
  std::vector<double> arrivals() const {
    std::vector<double> in(d_.S, 0.0);
    for (size_t i = 0; i < d_.b_n.size(); ++i)
      if (!d_.b_done[i]) in[d_.b_next[i]] += d_.b_n[i];
    return in;
  }

  // v <- (gamma P pi) v, or its transpose, in place (one sweep over the
  // Bellman tuples and the S x K table)
  void apply_gpp(double* v, bool transpose) const {
    const int S = d_.S, K = d_.K;
    const size_t SK = static_cast<size_t>(S) * K;
    std::vector<double> vs(S, 0.0), out(SK, 0.0);
    if (!transpose) {  // (P pi v)(s, a) = sum_i w_i sum_b pi(b | s'_i) v(s'_i, b)
      for (size_t sb = 0; sb < SK; ++sb) vs[sb / K] += pc_pi_[sb] * v[sb];
      for (size_t i = 0; i < d_.b_n.size(); ++i)
        out[static_cast<size_t>(d_.b_s[i]) * K + d_.b_a[i]] += pc_w_[i] * vs[d_.b_next[i]];
    } else {  // (P pi)' v: each tuple sends w_i v(s, a) to s', spread by pi
      for (size_t i = 0; i < d_.b_n.size(); ++i)
        vs[d_.b_next[i]] += pc_w_[i] * v[static_cast<size_t>(d_.b_s[i]) * K + d_.b_a[i]];
      for (size_t sb = 0; sb < SK; ++sb) out[sb] = pc_pi_[sb] * vs[sb / K];
    }
    std::copy(out.begin(), out.end(), v);
  }

  Data d_;
  Settings set_;
  TabularQ q_;
  std::vector<double> Q_, A_, gA_, rho_, ms_, amax_, V_, dV_, beta_, weight_;
  std::vector<double> pc_pi_, pc_w_, pc_dinv_;  // Bellman preconditioner
  int pc_sweeps_ = 1;
  std::vector<double> gw_global_;  // 1 / #visited (0 unvisited), global norm.
  std::vector<double> f_blk_, g_blk_;  // per-block behaviour partials
};

}  // namespace rlpsy

#endif
