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
#include "equations.h"
#include "params.h"

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

inline double max_abs(const double* x, size_t n) {
  double m = 0.0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(x[i]));
  return m;
}

// The fit's shared model: data, settings, the Q and reward
// parameterisations, the person nodes of the behaviour term and the work
// arrays of one objective evaluation.
//
// J splits into the behaviour term, a sum over participants (and over each
// participant's nodes: one node beta_j today, quadrature nodes for a
// marginal fit), which depends on theta only through the advantage A, and
// the penalties (Bellman, CQL, reward L2), which depend on the task's
// statistics only.
class Model {
 public:
  Model(Data data, Settings settings, std::unique_ptr<QModel> q = nullptr,
        std::unique_ptr<RewardModel> r = nullptr)
      : d_(std::move(data)), set_(settings), q_(std::move(q)), r_(std::move(r)) {
    const size_t SK = static_cast<size_t>(d_.S) * d_.K;
    if (!q_) q_.reset(new TableQ(static_cast<long>(SK)));
    if (!r_) r_ = default_reward();
    Q_.resize(SK);
    A_.resize(SK);
    gA_.resize(SK);
    rho_.resize(d_.S);
    amax_.resize(d_.S);
    ms_.resize(d_.S);
    f_state_.resize(d_.S);
    V_.resize(d_.S);
    dV_.resize(d_.S);
    rt_.assign(d_.b_n.size(), 0.0);
    drt_.assign(d_.b_n.size(), 0.0);
    for (const PersonStats& p : d_.shards) {
      f_blk_.emplace_back(p.blk_state.size());
      g_blk_.emplace_back(p.blk_state.size() * d_.K);
    }
    std::vector<double> z(d_.J, 0.0);
    set_beta(z.data());
  }

  const Data& data() const { return d_; }
  const Settings& settings() const { return set_; }
  void set_settings(const Settings& s) { set_ = s; }
  bool learned_reward() const { return !d_.observed_reward; }
  const QModel& q_model() const { return *q_; }
  void reward_values(const double* w, double* r) const { r_->values(w, r); }
  // whether w is the default S x K table of r(s, a)
  bool reward_is_pair_table() const { return reward_pair_table_; }
  // Replace the parameterisations (nullptr: the tabular defaults).
  void set_params(std::unique_ptr<QModel> q, std::unique_ptr<RewardModel> r) {
    q_ = q ? std::move(q) : std::unique_ptr<QModel>(new TableQ(static_cast<long>(d_.S) * d_.K));
    reward_pair_table_ = !r;
    r_ = r ? std::move(r) : default_reward();
  }
  long n_q() const { return q_->n_params(); }
  long n_w() const { return learned_reward() ? r_->n_params() : 0; }
  // parameter vector x = [theta_Q, w (learned reward only)]
  long n_params() const { return n_q() + n_w(); }

  // One node per participant: beta_j = exp(z_j) with weight 1, as in the
  // MAP fit's M-step (called at every profiled evaluation: no temporaries).
  void set_beta(const double* z) {
    node_off_.resize(d_.J + 1);
    for (int j = 0; j <= d_.J; ++j) node_off_[j] = j;
    node_w_.assign(d_.J, 1.0);
    node_beta_.resize(d_.J);
    for (int j = 0; j < d_.J; ++j) node_beta_[j] = std::exp(z[j]);
  }
  // Person nodes: participant j's nodes are [off[j], off[j+1]), node g with
  // beta = exp(z[g]) and weight w[g] (e.g. quadrature nodes and posterior
  // weights of a marginal fit). The behaviour term is
  // sum_j sum_g w_g l_j(beta_g).
  void set_nodes(const int* off, const double* z, const double* w) {
    node_off_.assign(off, off + d_.J + 1);
    const int G = off[d_.J];
    node_beta_.resize(G);
    node_w_.assign(w, w + G);
    for (int g = 0; g < G; ++g) node_beta_[g] = std::exp(z[g]);
  }

  // Identified advantage of the Q given by theta: fills A_, rho_, amax_.
  void advantage(const double* theta, const Runner& run) {
    q_->values(theta, Q_.data());
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
  double value_grad(const double* x, double* g, const Runner& run,
                    Components* comp) {
    const int S = d_.S, K = d_.K;
    const double* w = learned_reward() ? x + n_q() : nullptr;
    const bool grad = g != nullptr;
    q_->values(x, Q_.data());
    run(S, 64, [&](size_t b, size_t e) {
      std::vector<double> p(K);
      for (size_t s = b; s < e; ++s) state_values(s, p.data());
    });
    normalise_globally();
    Components c;
    c.behaviour = behaviour(grad, run);
    std::fill(dV_.begin(), dV_.end(), 0.0);
    std::vector<double> dQ(grad ? static_cast<size_t>(S) * K : 0, 0.0);
    run.poll();  // the serial passes below are O(tuples) and O(S K)
    penalties(w, grad ? dQ.data() : nullptr, grad && w ? g + n_q() : nullptr, c);
    if (grad) {
      // global normalisation couples the states through rho: G = sum A gA
      double G = 0.0;
      if (set_.global_norm)
        for (size_t i = 0; i < A_.size(); ++i) G += A_[i] * gA_[i];
      run(S, 64, [&](size_t b, size_t e) {
        std::vector<double> p(K);
        for (size_t s = b; s < e; ++s) state_grad(s, G, dQ.data(), p.data());
      });
      q_->backprop(x, dQ.data(), g);
    }
    c.total = c.behaviour + set_.lambda_bell * c.bellman +
              set_.lambda_cql * c.cql + set_.lambda_r * c.reward_l2;
    if (comp) *comp = c;
    return c.total;
  }

  // The behaviour term at the current advantage (A_, amax_) and person
  // nodes: sum over the shards in order, then over each state's blocks in
  // order. Leaves d(behaviour)/dA in gA_ when grad.
  double behaviour(bool grad, const Runner& run) {
    const int S = d_.S, K = d_.K;
    for (size_t k = 0; k < d_.shards.size(); ++k) {
      const size_t nblk = d_.shards[k].blk_state.size();
      run(nblk, 1, [&](size_t b, size_t e) {
        std::vector<double> p(K);
        for (size_t i = b; i < e; ++i) behaviour_block(k, i, grad, p.data());
      });
    }
    // each state sums its own blocks (own slots), in parallel; the states'
    // totals are then added serially in state order
    run(S, 16, [&](size_t b, size_t e) {
      for (size_t s = b; s < e; ++s) f_state_[s] = reduce_state(static_cast<int>(s));
    });
    double f = 0.0;
    for (int s = 0; s < S; ++s) f += f_state_[s];
    return f;
  }

  // The penalties at the current Q_ (and V_): Bellman, CQL and the reward's
  // L2 into c (unweighted); their gradient with respect to Q into dQ, with
  // respect to V into dV_, and with respect to w into gw (when not null).
  void penalties(const double* w, double* dQ, double* gw, Components& c) {
    if (w) r_->values(w, rt_.data());
    c.bellman = bellman_pass(w != nullptr, dQ, gw ? drt_.data() : nullptr);
    c.cql = cql_value();
    if (!w) return;
    if (gw) r_->backprop(w, drt_.data(), gw);
    for (long i = 0; i < n_w(); ++i) {
      if (!r_->free(i)) continue;  // fixed entries are not parameters
      c.reward_l2 += w[i] * w[i];
      if (gw) gw[i] += 2.0 * set_.lambda_r * w[i];
    }
  }

  // A positive diagonal estimate of the curvature of J at x (current person
  // nodes), used to precondition L-BFGS: states differ in how often they are
  // visited and in rho(s), so the curvature differs across Q's entries by
  // orders of magnitude. For Q(s, a):
  //   sum_u n_u beta_u^2 / (rho^2 K_s) + 2 lambda_bell (n_sa + gamma^2 in_s / K_s)
  //   + lambda_cql n_s / K_s,
  // with in_s the non-terminal arrivals into s, mapped to theta by the Q
  // parameterisation's Gauss-Newton diagonal; for the reward, each tuple's
  // 2 lambda_bell n_t through the reward parameterisation, + 2 lambda_r.
  // Writes 1/curvature.
  void curvature_inverse(const double* x, double* hinv) {
    const int S = d_.S, K = d_.K;
    advantage(x, Runner());
    const std::vector<double> in = arrivals();
    std::vector<double> b2(S, 0.0);
    for (const PersonStats& p : d_.shards)
      for (int s = 0; s < S; ++s)
        for (int u = p.su_off[s]; u < p.su_off[s + 1]; ++u) {
          const int j = p.j0 + p.su_part[u];
          for (int g = node_off_[j]; g < node_off_[j + 1]; ++g)
            b2[s] += p.su_n[u] * node_w_[g] * node_beta_[g] * node_beta_[g];
        }
    std::vector<double> hQ(static_cast<size_t>(S) * K);
    for (int s = 0; s < S; ++s) {
      const double Ks = d_.n_avail[s];
      const double common = b2[s] / (rho_[s] * rho_[s] * Ks) +
                            2.0 * set_.lambda_bell * set_.gamma * set_.gamma * in[s] / Ks +
                            set_.lambda_cql * d_.n_s[s] / Ks;
      for (int a = 0; a < K; ++a) {
        const size_t i = static_cast<size_t>(s) * K + a;
        hQ[i] = common + 2.0 * set_.lambda_bell * d_.n_sa[i];
      }
    }
    q_->curvature(x, hQ.data(), hinv);
    for (long i = 0; i < n_q(); ++i) hinv[i] = 1.0 / (hinv[i] + 1e-6);
    if (learned_reward()) {
      const double* w = x + n_q();
      std::vector<double> hr(d_.b_n.size());
      for (size_t t = 0; t < hr.size(); ++t) hr[t] = 2.0 * set_.lambda_bell * d_.b_n[t];
      r_->curvature(w, hr.data(), hinv + n_q());
      for (long i = 0; i < n_w(); ++i)
        hinv[n_q() + i] = 1.0 / (hinv[n_q() + i] + 2.0 * set_.lambda_r + 1e-6);
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
        V[s] = soft_value_row(Q + static_cast<size_t>(s) * K,
                              &d_.avail[static_cast<size_t>(s) * K], K, set_.tau,
                              p.data());
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
    if (!q_->is_table()) return false;
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
    q_->values(x, Q_.data());
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

  // Prior term sum_j (z_j - mu_j)^2 / (2 sigma^2).
  double prior(const double* z, const double* mu, double sigma) const {
    return prior_term(z, d_.J, mu, sigma);
  }

 private:
  // tabular r(s, a) = tanh(w(s, a)) for a learned reward; none when observed
  std::unique_ptr<RewardModel> default_reward() const {
    if (!learned_reward()) return nullptr;
    std::vector<long> idx(d_.b_n.size());
    for (size_t t = 0; t < idx.size(); ++t)
      idx[t] = static_cast<long>(d_.b_s[t]) * d_.K + d_.b_a[t];
    return std::unique_ptr<RewardModel>(
        new TableReward(static_cast<long>(d_.S) * d_.K, std::move(idx), d_.avail));
  }

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
    std::vector<uint8_t> in(S);
    for (int s = 0; s < S; ++s) in[s] = d_.N == 0 || d_.n_s[s] > 0;
    double den = 0.0;
    const double rho = global_rho(ms_.data(), in.data(), S, set_.eps, &den);
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
    V_[s] = soft_value_row(&Q_[s * K], &d_.avail[s * K], K, set_.tau, p);
  }

  // Behaviour term of block i of shard k (units all in one state s), over
  // each unit's person nodes g with weight omega_g and beta_g:
  // sum_u sum_g omega_g [n_u log sum_a exp(beta_g A(s,a))
  //                      - beta_g sum_cells n_c A(s, a_c)],
  // and its gradient with respect to A(s, .),
  // sum_u sum_g omega_g beta_g (n_u softmax(beta_g A(s,.)) - n_u(.)), into
  // the block's slots.
  void behaviour_block(size_t k, size_t i, bool grad, double* p) {
    const PersonStats& ps = d_.shards[k];
    const int K = d_.K;
    const size_t s = ps.blk_state[i];
    const uint8_t* av = &d_.avail[s * K];
    const double* As = &A_[s * K];
    const double am = amax_[s];
    double* gs = &g_blk_[k][i * K];
    std::fill(gs, gs + K, 0.0);
    double f = 0.0;
    for (int u = ps.blk_off[i]; u < ps.blk_off[i + 1]; ++u) {
      const int j = ps.j0 + ps.su_part[u];
      for (int g = node_off_[j]; g < node_off_[j + 1]; ++g) {
        const double n = ps.su_n[u] * node_w_[g];
        if (n == 0.0) continue;
        const double b = node_beta_[g], m = b * am;
        double z = 0.0;
        for (int a = 0; a < K; ++a) {
          p[a] = av[a] ? std::exp(b * As[a] - m) : 0.0;
          z += p[a];
        }
        f += n * (m + std::log(z));
        const double bw = b * node_w_[g];
        for (int c = ps.sc_off[u]; c < ps.sc_off[u + 1]; ++c)
          f -= bw * ps.sc_n[c] * As[ps.sc_action[c]];
        if (grad) {
          const double wgt = n * b / z;
          for (int a = 0; a < K; ++a) gs[a] += wgt * p[a];
          for (int c = ps.sc_off[u]; c < ps.sc_off[u + 1]; ++c)
            gs[ps.sc_action[c]] -= bw * ps.sc_n[c];
        }
      }
    }
    f_blk_[k][i] = f;
  }

  // Sum the blocks of state s, shard by shard, in order; leaves
  // d(behaviour)/dA(s, .) in gA_. Returns the behaviour term of state s.
  double reduce_state(int s) {
    const int K = d_.K;
    const size_t row = static_cast<size_t>(s) * K;
    double f = 0.0;
    double* gs = &gA_[row];
    std::fill(gs, gs + K, 0.0);
    for (size_t k = 0; k < d_.shards.size(); ++k) {
      const PersonStats& ps = d_.shards[k];
      for (int i = ps.sb_off[s]; i < ps.sb_off[s + 1]; ++i) {
        f += f_blk_[k][i];
        for (int a = 0; a < K; ++a) gs[a] += g_blk_[k][static_cast<size_t>(i) * K + a];
      }
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
  // The target's reward is the observed mean reward of the tuple, or the
  // learned reward rt_ (learned = true), whose gradient goes to drt (when
  // not null).
  double bellman_pass(bool learned, double* dQ, double* drt) {
    const int K = d_.K;
    const double lam2 = 2.0 * set_.lambda_bell;
    const double* rt = learned ? rt_.data() : d_.b_rbar.data();
    double total = 0.0;
    const size_t nb = d_.b_n.size();
    for (size_t i = 0; i < nb;) {
      const size_t sa = static_cast<size_t>(d_.b_s[i]) * K + d_.b_a[i];
      size_t e = i;
      double n = 0.0, tgt = 0.0;
      for (; e < nb && static_cast<size_t>(d_.b_s[e]) * K + d_.b_a[e] == sa; ++e) {
        const double disc = d_.b_done[e] ? 0.0 : set_.gamma;
        n += d_.b_n[e];
        tgt += d_.b_n[e] * (rt[e] + disc * V_[d_.b_next[e]]);
      }
      const double dbar = Q_[sa] - tgt / n;
      total += n * dbar * dbar;
      if (dQ) {
        dQ[sa] += lam2 * n * dbar;
        for (size_t t = i; t < e; ++t) {
          if (!d_.b_done[t]) dV_[d_.b_next[t]] -= lam2 * dbar * d_.b_n[t] * set_.gamma;
          if (drt) drt[t] = -lam2 * dbar * d_.b_n[t];
        }
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
  std::unique_ptr<QModel> q_;
  std::unique_ptr<RewardModel> r_;
  bool reward_pair_table_ = true;
  std::vector<double> Q_, A_, gA_, rho_, ms_, amax_, V_, dV_;
  std::vector<double> f_state_;             // behaviour term per state
  std::vector<int> node_off_;               // person nodes, see set_nodes
  std::vector<double> node_beta_, node_w_;
  std::vector<double> rt_, drt_;            // learned reward per tuple, gradient
  std::vector<double> pc_pi_, pc_w_, pc_dinv_;  // Bellman preconditioner
  int pc_sweeps_ = 1;
  std::vector<double> gw_global_;  // 1 / #visited (0 unvisited), global norm.
  // per-shard, per-block behaviour partials
  std::vector<std::vector<double>> f_blk_, g_blk_;
};

}  // namespace rlpsy

#endif
