// Task tools: soft value iteration and simulation of softmax agents in a
// tabular Markov decision process. Plain C++ (no R headers); the random number
// generator is passed in as a functor so the R glue can use R's generator.
//
// Conventions shared by every function here:
//   S states, K actions; a state-action pair (s, a) has the 0-based index
//   p = s + S * a (column-major, the linear index of an S x K R matrix).
//   Transitions are stored in compressed sparse rows over pairs: the entries
//   of pair p are offsets[p] .. offsets[p + 1] - 1, each with a 0-based next
//   state next[i] and probability prob[i] > 0 (P(s' | s, a)).
//   available[p] and terminal[s] are 0/1 flags (R logicals).
#ifndef RLPSY_SIMULATE_H
#define RLPSY_SIMULATE_H

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "equations.h"
#include "parallel.h"

namespace rlpsy {

// A tabular MDP as seen by the kernels (non-owning views).
struct TaskView {
  int n_states;            // S
  int n_actions;           // K
  const int* offsets;      // length S * K + 1, CSR row starts over pairs
  const int* next;         // 0-based next states of the CSR entries
  const double* prob;      // P(s' | s, a) of the CSR entries
  const int* available;    // S x K flags, column-major
  const int* terminal;     // length S flags
};

// Outcome of soft value iteration.
struct SoftQStatus {
  int iterations;          // Bellman backups performed
  bool converged;          // max |Q_new - Q_old| < tol reached
  double max_change;       // last max |Q_new - Q_old|
};

// 0-based index s + S * a of the pair (s, a) in an S x K column-major matrix.
inline std::size_t pair_index(int S, int s, int a) {
  return static_cast<std::size_t>(s) + static_cast<std::size_t>(S) * a;
}

// Copies the entries of state s of a column-major S x K table (and its
// availability) into contiguous rows, for the equations of equations.h.
inline int gather_row(const TaskView& task, const double* X, int s, double* x,
                      uint8_t* av) {
  int n = 0;
  for (int a = 0; a < task.n_actions; ++a) {
    const std::size_t p = pair_index(task.n_states, s, a);
    x[a] = X[p];
    av[a] = task.available[p] != 0;
    n += av[a];
  }
  return n;
}

// Soft value of state s (soft_value_row); 0 for a state without available
// actions. x and av have room for K entries.
inline double soft_value(const TaskView& task, const double* Q, int s,
                         double tau, double* x, uint8_t* av, double* work) {
  if (gather_row(task, Q, s, x, av) == 0) return 0.0;
  return soft_value_row(x, av, task.n_actions, tau, work);
}

// Soft value iteration to the fixed point of
//   Q(s, a) = r(s, a) + gamma * sum_{s'} P(s' | s, a) (1 - terminal(s')) V(s'),
// over available pairs of non-terminal states (all other entries stay 0).
// Q (length S * K, column-major) is the starting point on entry and holds the
// last iterate on exit. Stops when max |Q_new - Q_old| < tol or after
// max_iter backups. Each backup is a contraction with modulus gamma < 1.
// run.poll() is called after every backup (it throws Interrupted when the
// caller asked to stop; Q then holds the last complete iterate).
inline SoftQStatus soft_value_iteration(const TaskView& task,
                                        const double* reward, double gamma,
                                        double tau, double tol, int max_iter,
                                        double* Q,
                                        const Runner& run = Runner()) {
  const int S = task.n_states;
  const std::size_t n_pairs = static_cast<std::size_t>(S) * task.n_actions;
  std::vector<double> V(S, 0.0), x(task.n_actions), work(task.n_actions);
  std::vector<uint8_t> av(task.n_actions);
  SoftQStatus status{0, false, INFINITY};
  while (status.iterations < max_iter) {
    for (int s = 0; s < S; ++s) {
      V[s] = task.terminal[s] ? 0.0
                              : soft_value(task, Q, s, tau, x.data(), av.data(), work.data());
    }
    double change = 0.0;
    for (std::size_t p = 0; p < n_pairs; ++p) {
      const int s = static_cast<int>(p % S);
      if (task.terminal[s] || !task.available[p]) continue;
      double ev = 0.0;
      for (int i = task.offsets[p]; i < task.offsets[p + 1]; ++i) {
        ev += task.prob[i] * V[task.next[i]];
      }
      const double q = reward[p] + gamma * ev;
      change = std::max(change, std::fabs(q - Q[p]));
      Q[p] = q;
    }
    ++status.iterations;
    status.max_change = change;
    run.poll();
    if (!(change >= tol)) {  // also stops on NaN; the caller checks finiteness
      status.converged = (change < tol);
      break;
    }
  }
  return status;
}

// Index of the first cumulative weight exceeding u * total, for cumulative
// weights cum[0..n-1] (non-decreasing, total = cum[n - 1] > 0) and u in [0, 1).
// Entries with zero weight are never returned.
inline int draw_cumulative(const double* cum, int n, double u) {
  const double x = u * cum[n - 1];
  const double* hit = std::upper_bound(cum, cum + n, x);
  int k = static_cast<int>(hit - cum);
  if (k >= n) {  // u * total rounded up to total: take the last positive entry
    k = n - 1;
    while (k > 0 && cum[k] == cum[k - 1]) --k;
  }
  return k;
}

// Draws s' ~ P(. | s, a) for pair p from the CSR entries (which all have
// positive probability); the last entry absorbs rounding.
inline int draw_next_state(const TaskView& task, std::size_t p, double u) {
  const int begin = task.offsets[p], end = task.offsets[p + 1];
  double total = 0.0;
  for (int i = begin; i < end; ++i) total += task.prob[i];
  const double x = u * total;
  double cum = 0.0;
  for (int i = begin; i < end - 1; ++i) {
    cum += task.prob[i];
    if (x < cum) return task.next[i];
  }
  return task.next[end - 1];
}

// Draws a ~ softmax_a(beta * A(s, a)) over the available actions of s (the
// policy of policy_row). work has room for 3 K doubles.
inline int draw_action(const TaskView& task, const double* A, int s, double beta,
                       double u, double* work, uint8_t* av) {
  const int K = task.n_actions;
  double* x = work;
  double* p = work + K;
  double* cum = work + 2 * K;
  gather_row(task, A, s, x, av);
  policy_row(x, av, K, beta, p);
  double total = 0.0;
  int last = -1;
  for (int a = 0; a < K; ++a) {
    total += p[a];
    cum[a] = total;
    if (av[a]) last = a;
  }
  const double v = u * total;
  for (int a = 0; a < last; ++a)
    if (av[a] && v < cum[a]) return a;
  return last;
}

// Simulated decisions, one row per decision (0-based codes), participant-major.
struct SimulationOutput {
  int* state;
  int* action;
  int* next_state;
  int* done;
};

// Simulates n_decisions decisions for each of n_participants agents with
// inverse temperatures beta[j]: each starts in s ~ start, picks
// a ~ softmax(beta_j * A(s, .)) over available actions, moves to
// s' ~ P(. | s, a), and after entering a terminal state restarts from the
// start distribution. start_cum holds the cumulative start probabilities
// (length S, last entry > 0, no mass on terminal states). A is the S x K
// identified advantage (column-major). unif() returns U(0, 1) draws; per
// decision the draws are: start state (only at an episode start), action,
// next state, in that order. run.poll() is called every 1024 decisions (it
// throws Interrupted when the caller asked to stop).
template <class Unif>
void simulate_agents(const TaskView& task, const double* A,
                     const double* start_cum, const double* beta,
                     int n_participants, int n_decisions, Unif& unif,
                     SimulationOutput out, const Runner& run = Runner()) {
  const int S = task.n_states, K = task.n_actions;
  std::vector<double> work(3 * static_cast<std::size_t>(K));
  std::vector<uint8_t> av(K);
  std::size_t row = 0;
  for (int j = 0; j < n_participants; ++j) {
    bool new_episode = true;
    int s = 0;
    for (int t = 0; t < n_decisions; ++t, ++row) {
      if (row % 1024 == 0) run.poll();
      if (new_episode) s = draw_cumulative(start_cum, S, unif());
      const int a = draw_action(task, A, s, beta[j], unif(), work.data(), av.data());
      const std::size_t p = pair_index(S, s, a);
      const int s_next = draw_next_state(task, p, unif());
      out.state[row] = s;
      out.action[row] = a;
      out.next_state[row] = s_next;
      out.done[row] = task.terminal[s_next] ? 1 : 0;
      new_episode = task.terminal[s_next] != 0;
      s = s_next;
    }
  }
}

}  // namespace rlpsy

#endif  // RLPSY_SIMULATE_H
